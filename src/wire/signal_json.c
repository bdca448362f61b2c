/*
 * The 4.x JSON signaling format of Godot's demo: {"type","id","data"}
 * (GODOT-SEMANTICS.md section 3.2), plus the ice_servers extension.
 * Decoding: the demo's flat messages here, anything else through a JSON
 * parser (signal_json_jansson.c natively; the browser's JSON.parse in the
 * WebAssembly build, src/web/json_web.c). Encoding is written out by hand
 * so numbers are always JSON integers (godot#103374: the 4.4 demo choked
 * on "1.0").
 */
#include "wire/signal_msg.h"

/* ---- the fast path: the demo's flat messages, without jansson ----
 *
 * Nearly every message is {"type":N,"id":N,"data":"..."}. This reads just
 * that shape (keys in any order, a repeated key: the last wins, JSON escapes
 * in the string) and gives up (PM_ERR_AGAIN) on anything else: other keys,
 * other value types, fractions, exponents, \u0000, anything malformed.
 * jansson then decides, so what the fast path accepts decodes as it would
 * with jansson alone (fuzz_signal checks it). */

static const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex4(const uint8_t *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = (*v << 4) | (uint32_t)d;
    }
    return 0;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* The \uXXXX escape at p (after the backslash-u), with its low surrogate
 * when it is a high one, appended to o. Returns the position after it. */
static const uint8_t *fast_escape_u(const uint8_t *p, const uint8_t *end, uint8_t *o, size_t *n)
{
    uint32_t cp, lo;
    if (end - p < 4 || hex4(p, &cp))
        return NULL;
    p += 4;
    if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return NULL; /* NUL and lone low surrogates: jansson's call */
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
            return NULL;
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *n += put_utf8(o + *n, cp); /* six input bytes or more become at most four */
    return p;
}

/* A string from after its opening quote, decoded into o (room for end - p
 * bytes). Returns the position after the closing quote, or NULL. */
static const uint8_t *fast_string(const uint8_t *p, const uint8_t *end, uint8_t *o, size_t *olen)
{
    size_t n = 0;
    const uint8_t *run = p;
    for (; p < end; p++) {
        uint8_t c = *p;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        if (c < 0x20)
            return NULL; /* RFC 8259 section 7: control characters are escaped */
        if (!pm_utf8_valid(run, (size_t)(p - run)))
            return NULL;
        memcpy(o + n, run, (size_t)(p - run));
        n += (size_t)(p - run);
        if (c == '"') {
            *olen = n;
            return p + 1;
        }
        if (end - p < 2)
            return NULL;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = memchr(from, p[1], sizeof from - 1);
        if (k) {
            o[n++] = (uint8_t)to[k - from];
            p += 1;
        } else if (p[1] == 'u') {
            p = fast_escape_u(p + 2, end, o, &n);
            if (!p)
                return NULL;
            p -= 1;
        } else {
            return NULL;
        }
        run = p + 1;
    }
    return NULL;
}

/* A non-negative integer without fraction or exponent, at most 2^53. */
static const uint8_t *fast_number(const uint8_t *p, const uint8_t *end, int64_t *v)
{
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
        return NULL; /* leading zero: not JSON */
    int64_t x = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (++digits > 16)
            return NULL;
        x = x * 10 + (*p++ - '0');
    }
    if ((p < end && (*p == '.' || *p == 'e' || *p == 'E')) || x > ((int64_t)1 << 53))
        return NULL;
    *v = x;
    return p;
}

/* One "key": value member; *data_len is set when the key is "data". */
static const uint8_t *fast_member(const uint8_t *p, const uint8_t *end, int64_t *type, int64_t *id,
                                  uint8_t *data, size_t *data_len, bool *have_data)
{
    if (p == end || *p++ != '"')
        return NULL;
    const uint8_t *key = p;
    while (p < end && *p != '"' && *p != '\\')
        p++;
    if (p == end || *p != '"')
        return NULL;
    size_t klen = (size_t)(p - key);
    p = skip_ws(p + 1, end);
    if (p == end || *p++ != ':')
        return NULL;
    p = skip_ws(p, end);
    if (klen == 4 && memcmp(key, "type", 4) == 0)
        return fast_number(p, end, type);
    if (klen == 2 && memcmp(key, "id", 2) == 0)
        return fast_number(p, end, id);
    if (klen == 4 && memcmp(key, "data", 4) == 0 && p < end && *p == '"') {
        *have_data = true;
        return fast_string(p + 1, end, data, data_len);
    }
    return NULL; /* another key, or a data that is not a string */
}

static int decode_fast(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                       pm_sigmsg *out)
{
    const uint8_t *end = in + len, *p = skip_ws(in, end);
    if (p == end || *p++ != '{' || pm_buf_reserve(env, scratch, len + 1) != PM_OK)
        return PM_ERR_AGAIN;
    int64_t type = -1, id = -1;
    size_t data_len = 0;
    bool have_data = false;
    for (;;) {
        p = fast_member(skip_ws(p, end), end, &type, &id, scratch->data, &data_len, &have_data);
        if (!p)
            return PM_ERR_AGAIN;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p == end || *p++ != '}')
            return PM_ERR_AGAIN;
        break;
    }
    if (skip_ws(p, end) != end || type < 0 || id < 0)
        return PM_ERR_AGAIN;
    scratch->len = have_data ? data_len : 0;
    scratch->data[scratch->len] = 0;
    memset(out, 0, sizeof *out);
    out->type = type > 0x7fffffff ? 0x7fffffff : (int)type;
    out->id = id;
    out->data = (const char *)scratch->data;
    out->data_len = scratch->len;
    return PM_OK;
}

int pm_sigmsg_decode_json(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                          pm_sigmsg *out)
{
    if (!out || !scratch)
        return PM_ERR_INVALID;
    if (in && decode_fast(env, in, len, scratch, out) == PM_OK)
        return PM_OK;
    return pm_sigmsg_decode_json_slow(env, in, len, scratch, out);
}

int pm_sig_json_string(const pm_envr *env, pm_buf *out, const char *s, size_t n)
{
    if (n && !s)
        return PM_ERR_INVALID;
    if (!pm_utf8_valid((const uint8_t *)s, n))
        return PM_ERR_INVALID; /* JSON text is Unicode (RFC 8259 section 8.1) */
    /* Worst case: every byte becomes \u00XX. */
    int rc = pm_buf_reserve(env, out, out->len + n * 6 + 3);
    if (rc)
        return rc;
    char *w = (char *)out->data + out->len;
    *w++ = '"';
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *w++ = '\\';
            *w++ = '"';
            break;
        case '\\':
            *w++ = '\\';
            *w++ = '\\';
            break;
        case '\n':
            *w++ = '\\';
            *w++ = 'n';
            break;
        case '\r':
            *w++ = '\\';
            *w++ = 'r';
            break;
        case '\t':
            *w++ = '\\';
            *w++ = 't';
            break;
        default:
            if (c < 0x20) { /* RFC 8259 section 7: control characters escaped */
                memcpy(w, "\\u00", 4);
                w[4] = hex[c >> 4];
                w[5] = hex[c & 15];
                w += 6;
            } else {
                *w++ = (char)c;
            }
        }
    }
    *w++ = '"';
    out->len = (size_t)(w - (char *)out->data);
    out->data[out->len] = 0;
    return PM_OK;
}

/* Decimal digits of v >= 0 (without printf: this is the relay's hot path). */
static size_t fmt_int(char *o, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        o[i] = tmp[n - 1 - i];
    return n;
}

int pm_sigmsg_encode_json(const pm_envr *env, const pm_sigmsg *m, pm_buf *out)
{
    if (!m || m->type < 0 || m->id < 0)
        return PM_ERR_INVALID;
    size_t start = out->len;
    char head[64];
    size_t hn = 8;
    memcpy(head, "{\"type\":", 8);
    hn += fmt_int(head + hn, m->type);
    memcpy(head + hn, ",\"id\":", 6);
    hn += 6;
    hn += fmt_int(head + hn, m->id);
    memcpy(head + hn, ",\"data\":", 8);
    hn += 8;
    int rc = pm_buf_append(env, out, head, hn);
    if (rc == PM_OK)
        rc = pm_sig_json_string(env, out, m->data ? m->data : "", m->data ? m->data_len : 0);
    if (rc == PM_OK && m->ice && m->ice_len) {
        rc = pm_buf_append(env, out, ",\"ice_servers\":", 15);
        if (rc == PM_OK)
            rc = pm_buf_append(env, out, m->ice, m->ice_len);
    }
    if (rc == PM_OK)
        rc = pm_buf_append(env, out, "}", 1);
    if (rc != PM_OK && out->data) {
        out->len = start;
        out->data[start] = 0;
    }
    return rc;
}

/* ---- ICE server list ---- */

void pm_sig_ice_list_free(const pm_envr *env, pm_sig_ice_list *list)
{
    if (!list)
        return;
    pm_buf_free(env, &list->store);
    memset(list, 0, sizeof *list);
}

int pm_sig_ice_json_append(const pm_envr *env, pm_buf *out, const char *const *urls, size_t n,
                           const char *username, const char *credential)
{
    int rc = PM_OK;
    if (out->len > 0 && out->data[out->len - 1] != '[')
        rc = pm_buf_append(env, out, ",", 1);
    if (rc == PM_OK)
        rc = pm_buf_append(env, out, "{\"urls\":[", 9);
    for (size_t i = 0; rc == PM_OK && i < n; i++) {
        if (i)
            rc = pm_buf_append(env, out, ",", 1);
        if (rc == PM_OK)
            rc = pm_sig_json_string(env, out, urls[i], strlen(urls[i]));
    }
    if (rc == PM_OK)
        rc = pm_buf_append(env, out, "]", 1);
    if (rc == PM_OK && username) {
        rc = pm_buf_append(env, out, ",\"username\":", 12);
        if (rc == PM_OK)
            rc = pm_sig_json_string(env, out, username, strlen(username));
    }
    if (rc == PM_OK && credential) {
        rc = pm_buf_append(env, out, ",\"credential\":", 14);
        if (rc == PM_OK)
            rc = pm_sig_json_string(env, out, credential, strlen(credential));
    }
    if (rc == PM_OK)
        rc = pm_buf_append(env, out, "}", 1);
    return rc;
}
