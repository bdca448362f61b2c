/*
 * The 3.x text signaling format of Godot's demo ("<C>: <arg>\n<payload>",
 * GODOT-SEMANTICS.md section 3.1), format detection and the candidate
 * payload shared by both formats.
 */
#include "wire/signal_msg.h"

#include <limits.h>

/* Largest integer either format carries exactly: JSON numbers are doubles
 * for the demo's JavaScript and GDScript peers (2^53). */
#define SIG_MAX_INT ((int64_t)1 << 53)

pm_sigproto pm_sigmsg_detect(const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
            continue;
        return in[i] == '{' ? PM_SIGPROTO_JSON : PM_SIGPROTO_TEXT;
    }
    return PM_SIGPROTO_TEXT;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1]))
        (*n)--;
}

/* A whole unsigned decimal integer <= 2^53, or -1. The demo's parseInt took
 * "12abc" as 12; a destination that is not exactly a number is refused. */
static int64_t parse_id(const char *s, size_t n)
{
    trim(&s, &n);
    if (n == 0 || n > 16)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= SIG_MAX_INT ? v : -1;
}

static int letter_type(char c)
{
    switch (c) {
    case 'J':
        return PM_SIGMSG_JOIN;
    case 'I':
        return PM_SIGMSG_ID;
    case 'N':
        return PM_SIGMSG_PEER_CONNECT;
    case 'D':
        return PM_SIGMSG_PEER_DISCONNECT;
    case 'O':
        return PM_SIGMSG_OFFER;
    case 'A':
        return PM_SIGMSG_ANSWER;
    case 'C':
        return PM_SIGMSG_CANDIDATE;
    case 'S':
        return PM_SIGMSG_SEAL;
    case 'L':
        return PM_SIGMSG_CREATE;
    case 'H':
        return PM_SIGMSG_HOST;
    default:
        return PM_SIGMSG_UNKNOWN;
    }
}

static char type_letter(int type)
{
    /* By type: J I N D O A C S, then our extensions L (8) and H (9). */
    static const char letters[] = "JINDOACSLH";
    return type >= 0 && type <= PM_SIGMSG_HOST ? letters[type] : 0;
}

bool pm_sig_lobby_name_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > PM_SIG_MAX_LOBBY_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

int pm_sigmsg_decode_text(const uint8_t *in, size_t len, pm_sigmsg *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!in)
        return PM_ERR_PARSE;
    const uint8_t *nl = memchr(in, '\n', len);
    /* The demo: a newline is mandatory and the command line has >= 3 chars. */
    if (!nl || nl - in < 3 || in[1] != ':' || in[2] != ' ')
        return PM_ERR_PARSE;
    if (!pm_utf8_valid(in, len))
        return PM_ERR_PARSE;
    const char *arg = (const char *)in + 3;
    size_t arg_len = (size_t)(nl - in) - 3;
    out->type = letter_type((char)in[0]);
    out->data = (const char *)nl + 1;
    out->data_len = len - (size_t)(nl - in) - 1;
    switch (out->type) {
    case PM_SIGMSG_JOIN:
    case PM_SIGMSG_CREATE:
        /* The lobby name is the argument; the 3.x protocol has no mode, its
         * lobbies are meshes (id 0 as in a 4.x mesh JOIN). */
        trim(&arg, &arg_len);
        out->id = 0;
        out->data = arg;
        out->data_len = arg_len;
        break;
    case PM_SIGMSG_SEAL:
        out->id = 0;
        break;
    case PM_SIGMSG_ID:
        /* Our extension: the payload the 3.x client ignores holds the ICE servers. */
        out->id = parse_id(arg, arg_len);
        if (out->data_len) {
            out->ice = out->data;
            out->ice_len = out->data_len;
        }
        break;
    default:
        out->id = parse_id(arg, arg_len);
        break;
    }
    return PM_OK;
}

int pm_sigmsg_encode_text(const pm_envr *env, const pm_sigmsg *m, pm_buf *out)
{
    char letter = m ? type_letter(m->type) : 0;
    if (!letter || (m->data_len && !m->data))
        return PM_ERR_INVALID;
    int rc;
    switch (m->type) {
    case PM_SIGMSG_JOIN:
    case PM_SIGMSG_CREATE:
        /* A lobby name that holds a newline would end the command line. */
        if (m->data_len && memchr(m->data, '\n', m->data_len))
            return PM_ERR_INVALID;
        rc =
            pm_buf_printf(env, out, "%c: %.*s\n", letter, (int)m->data_len, m->data ? m->data : "");
        return rc;
    case PM_SIGMSG_SEAL:
        return pm_buf_append(env, out, "S: \n", 4);
    case PM_SIGMSG_ID:
        rc = pm_buf_printf(env, out, "I: %lld\n", (long long)m->id);
        if (rc == PM_OK && m->ice && m->ice_len)
            rc = pm_buf_append(env, out, m->ice, m->ice_len);
        return rc;
    default:
        rc = pm_buf_printf(env, out, "%c: %lld\n", letter, (long long)m->id);
        if (rc == PM_OK && m->data_len)
            rc = pm_buf_append(env, out, m->data, m->data_len);
        return rc;
    }
}

int pm_sigmsg_decode(const pm_envr *env, pm_sigproto proto, const uint8_t *in, size_t len,
                     pm_buf *scratch, pm_sigmsg *out)
{
    if (proto == PM_SIGPROTO_JSON)
        return pm_sigmsg_decode_json(env, in, len, scratch, out);
    if (proto == PM_SIGPROTO_TEXT)
        return pm_sigmsg_decode_text(in, len, out);
    return PM_ERR_INVALID;
}

int pm_sigmsg_encode(const pm_envr *env, pm_sigproto proto, const pm_sigmsg *m, pm_buf *out)
{
    if (proto == PM_SIGPROTO_JSON)
        return pm_sigmsg_encode_json(env, m, out);
    if (proto == PM_SIGPROTO_TEXT)
        return pm_sigmsg_encode_text(env, m, out);
    return PM_ERR_INVALID;
}

/* ---- candidate payload ---- */

int pm_sig_candidate_parse(const char *data, size_t len, pm_sig_candidate *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!data)
        return PM_ERR_PARSE;
    const char *part[3];
    size_t part_len[3];
    size_t parts = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n')
            continue;
        if (i > start) { /* Godot's split(..., false): empty parts dropped */
            if (parts == 3)
                return PM_ERR_PARSE;
            part[parts] = data + start;
            part_len[parts] = i - start;
            parts++;
        }
        start = i + 1;
    }
    if (parts != 3)
        return PM_ERR_PARSE;
    /* String.is_valid_integer(): an optional sign, then digits. */
    const char *s = part[1];
    size_t n = part_len[1];
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s++;
        n--;
    }
    if (n == 0 || n > 10)
        return PM_ERR_PARSE;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PM_ERR_PARSE;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < INT_MIN || v > INT_MAX)
        return PM_ERR_PARSE;
    out->mid = part[0];
    out->mid_len = part_len[0];
    out->index = (int)v;
    out->candidate = part[2];
    out->candidate_len = part_len[2];
    return PM_OK;
}

int pm_sig_candidate_format(const pm_envr *env, const char *mid, int index, const char *candidate,
                            pm_buf *out)
{
    if (!mid || !candidate || strchr(mid, '\n') || strchr(candidate, '\n') || !*mid || !*candidate)
        return PM_ERR_INVALID;
    return pm_buf_printf(env, out, "\n%s\n%d\n%s", mid, index, candidate);
}
