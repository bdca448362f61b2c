/*
 * SDP codec for data-channel sessions (RFC 8866 syntax, RFC 8841 SCTP over
 * DTLS, RFC 8839 ICE attributes, RFC 8122 fingerprint, RFC 4145 setup,
 * RFC 8829 JSEP). See sdp.h for the contract.
 *
 * The parser never allocates and never NUL-scans its input: every access is
 * bounded by the caller's length, so it can be fed arbitrary bytes.
 */
#include "wire/sdp.h"

#include <inttypes.h>
#include <stdio.h>

/* RFC 8841 section 5: SCTP port implied when a=sctp-port is absent. */
#define SDP_DEFAULT_SCTP_PORT 5000
/* Advertised in the legacy a=sctpmap "streams" field; we limit SCTP to 1024
 * streams (WEBRTC-NOTES 4.4). */
#define SDP_LEGACY_MAX_STREAMS 1024

/* A borrowed slice of the input. */
typedef struct sdp_span {
    const char *p;
    size_t n;
} sdp_span;

/* Where the attribute being parsed lives. Media-level attributes of the
 * data-channel m-line override session-level ones; attributes of any other
 * m-line are ignored (apart from a=mid). */
typedef enum sdp_level {
    SDP_LEVEL_SESSION,
    SDP_LEVEL_DC,
    SDP_LEVEL_OTHER,
} sdp_level;

typedef struct sdp_parser {
    pm_sdp *out;
    sdp_level level;
    int fp_level;        /* 0: no fingerprint yet, 1: session, 2: media */
    bool fp_sha256;      /* the stored fingerprint is sha-256 */
    bool sctp_port_attr; /* a=sctp-port seen: it beats the legacy fmt/sctpmap */
} sdp_parser;

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool span_eq(sdp_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static sdp_span span_trim(sdp_span s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* Next token separated by spaces/tabs (or also `extra` if non-zero); an empty
 * span when none is left. */
static sdp_span span_token(sdp_span *rest, char extra)
{
    size_t i = 0;
    while (i < rest->n && (is_space(rest->p[i]) || (extra && rest->p[i] == extra)))
        i++;
    size_t start = i;
    while (i < rest->n && !is_space(rest->p[i]) && !(extra && rest->p[i] == extra))
        i++;
    sdp_span tok = {rest->p + start, i - start};
    rest->p += i;
    rest->n -= i;
    return tok;
}

/* Copy into a fixed field; values that do not fit are malformed, not cut. */
static int copy_span(char *dst, size_t cap, sdp_span s)
{
    if (s.n >= cap)
        return PM_ERR_PARSE;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return PM_OK;
}

/* Decimal digits only. With `saturate`, overflow clamps to UINT64_MAX
 * (a limit larger than anything we can send is still "huge"). */
static int parse_u64(sdp_span s, uint64_t *v, bool saturate)
{
    if (s.n == 0)
        return PM_ERR_PARSE;
    uint64_t x = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c < '0' || c > '9')
            return PM_ERR_PARSE;
        unsigned d = (unsigned)(c - '0');
        if (x > (UINT64_MAX - d) / 10) {
            if (!saturate)
                return PM_ERR_PARSE;
            x = UINT64_MAX;
            continue;
        }
        x = x * 10 + d;
    }
    *v = x;
    return PM_OK;
}

static int parse_u16(sdp_span s, uint16_t *v)
{
    uint64_t x;
    if (parse_u64(s, &x, false) < 0 || x > UINT16_MAX)
        return PM_ERR_PARSE;
    *v = (uint16_t)x;
    return PM_OK;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
 * (RFC 8866 section 5.2). JSEP makes the id a 64-bit number. */
static int parse_origin(sdp_parser *ps, sdp_span v)
{
    sdp_span user = span_token(&v, 0);
    sdp_span id = span_token(&v, 0);
    sdp_span ver = span_token(&v, 0);
    if (user.n == 0 || parse_u64(id, &ps->out->session_id, false) < 0 ||
        parse_u64(ver, &ps->out->session_version, false) < 0)
        return PM_ERR_PARSE;
    return PM_OK;
}

/* Copy the format list, keeping as many whole tokens as fit. Chrome's video
 * m-lines list dozens of payload types; an answer only needs one of them to
 * reject the line (RFC 3264 section 6), so a cut list is harmless. */
static int copy_fmt(char *dst, size_t cap, sdp_span rest)
{
    size_t len = 0;
    for (;;) {
        sdp_span tok = span_token(&rest, 0);
        if (tok.n == 0)
            break;
        size_t need = tok.n + (len ? 1 : 0);
        if (len + need >= cap)
            break;
        if (len)
            dst[len++] = ' ';
        memcpy(dst + len, tok.p, tok.n);
        len += tok.n;
    }
    dst[len] = '\0';
    return len ? PM_OK : PM_ERR_PARSE;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool fmt_is_datachannel(const char *fmt)
{
    size_t n = strlen("webrtc-datachannel");
    return strncmp(fmt, "webrtc-datachannel", n) == 0 && (fmt[n] == '\0' || fmt[n] == ' ');
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 8866 section 5.14). */
static int parse_mline(sdp_parser *ps, sdp_span v)
{
    pm_sdp *out = ps->out;
    /* An answer must mirror every offered m-line, so dropping extras would
     * produce a wrong answer; refuse instead. */
    if (out->mline_count >= PM_SDP_MAX_MLINES)
        return PM_ERR_PARSE;
    pm_sdp_mline *m = &out->mlines[out->mline_count];
    memset(m, 0, sizeof *m);

    sdp_span media = span_token(&v, 0);
    sdp_span port = span_token(&v, 0);
    sdp_span proto = span_token(&v, 0);
    if (media.n == 0 || proto.n == 0)
        return PM_ERR_PARSE;
    if (copy_span(m->media, sizeof m->media, media) < 0 ||
        copy_span(m->proto, sizeof m->proto, proto) < 0)
        return PM_ERR_PARSE;
    const char *slash = memchr(port.p, '/', port.n);
    sdp_span port_num = {port.p, slash ? (size_t)(slash - port.p) : port.n};
    if (parse_u16(port_num, &m->port) < 0)
        return PM_ERR_PARSE;
    if (slash) {
        uint16_t count;
        sdp_span cnt = {slash + 1, port.n - port_num.n - 1};
        if (parse_u16(cnt, &count) < 0)
            return PM_ERR_PARSE;
    }
    if (copy_fmt(m->fmt, sizeof m->fmt, v) < 0)
        return PM_ERR_PARSE;

    int idx = out->mline_count++;
    /* The first application m-line carrying SCTP is ours: either the RFC 8841
     * form ("UDP/DTLS/SCTP webrtc-datachannel") or the pre-RFC one
     * ("DTLS/SCTP 5000", where the format is the SCTP port). */
    bool dc = strcmp(m->media, "application") == 0 &&
              (fmt_is_datachannel(m->fmt) || ends_with(m->proto, "DTLS/SCTP"));
    if (dc && out->dc_index < 0) {
        m->is_datachannel = true;
        out->dc_index = idx;
        ps->level = SDP_LEVEL_DC;
        if (!fmt_is_datachannel(m->fmt)) {
            sdp_span rest = {m->fmt, strlen(m->fmt)};
            uint16_t sport;
            if (parse_u16(span_token(&rest, 0), &sport) == PM_OK)
                out->sctp_port = sport;
        }
    } else {
        ps->level = SDP_LEVEL_OTHER;
    }
    return PM_OK;
}

/* a=fingerprint:<hash-func> <fingerprint> (RFC 8122 section 5). Several
 * lines may be present (aiortc writes sha-256, sha-384 and sha-512): a
 * media-level one beats session level, and at one level sha-256 is preferred
 * because that is what our DTLS layer verifies first. */
static int parse_fingerprint(sdp_parser *ps, sdp_span v)
{
    pm_sdp *out = ps->out;
    sdp_span algo = span_token(&v, 0);
    sdp_span fp = span_trim(v);
    if (algo.n == 0 || fp.n == 0)
        return PM_ERR_PARSE;
    char algo_lc[sizeof out->fingerprint_algo];
    if (copy_span(algo_lc, sizeof algo_lc, algo) < 0 || fp.n >= sizeof out->fingerprint)
        return PM_ERR_PARSE;
    for (char *c = algo_lc; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    int lvl = ps->level == SDP_LEVEL_DC ? 2 : 1;
    bool sha256 = strcmp(algo_lc, "sha-256") == 0;
    if (lvl > ps->fp_level || (lvl == ps->fp_level && sha256 && !ps->fp_sha256)) {
        memcpy(out->fingerprint_algo, algo_lc, sizeof algo_lc);
        copy_span(out->fingerprint, sizeof out->fingerprint, fp);
        ps->fp_level = lvl;
        ps->fp_sha256 = sha256;
    }
    return PM_OK;
}

static int parse_setup(pm_sdp *out, sdp_span v)
{
    if (span_eq(v, "actpass"))
        out->setup = PM_SDP_SETUP_ACTPASS;
    else if (span_eq(v, "active"))
        out->setup = PM_SDP_SETUP_ACTIVE;
    else if (span_eq(v, "passive"))
        out->setup = PM_SDP_SETUP_PASSIVE;
    else if (span_eq(v, "holdconn"))
        out->setup = PM_SDP_SETUP_HOLDCONN;
    else
        return PM_ERR_PARSE;
    return PM_OK;
}

/* RFC 8839 section 5.6 makes ice-options space-separated; libjuice writes
 * "ice2,trickle", so commas are accepted too. */
static void parse_ice_options(pm_sdp *out, sdp_span v)
{
    out->ice_trickle = false;
    for (;;) {
        sdp_span tok = span_token(&v, ',');
        if (tok.n == 0)
            break;
        if (span_eq(tok, "trickle"))
            out->ice_trickle = true;
    }
}

/* Attributes understood at session level and on the data-channel m-line. */
static int parse_shared_attr(sdp_parser *ps, sdp_span name, sdp_span v)
{
    pm_sdp *out = ps->out;
    if (span_eq(name, "ice-ufrag"))
        return copy_span(out->ice_ufrag, sizeof out->ice_ufrag, v);
    if (span_eq(name, "ice-pwd"))
        return copy_span(out->ice_pwd, sizeof out->ice_pwd, v);
    if (span_eq(name, "ice-options")) {
        parse_ice_options(out, v);
        return PM_OK;
    }
    if (span_eq(name, "ice-lite")) {
        out->ice_lite = true;
        return PM_OK;
    }
    if (span_eq(name, "fingerprint"))
        return parse_fingerprint(ps, v);
    if (span_eq(name, "setup"))
        return parse_setup(out, v);
    if (span_eq(name, "end-of-candidates")) {
        out->end_of_candidates = true; /* RFC 8840 section 8.2: either level */
        return PM_OK;
    }
    return PM_OK; /* unknown: ignored */
}

/* Attributes only meaningful on the data-channel m-line. `raw` is the whole
 * attribute ("candidate:..."), stored as written for the ICE layer. */
static int parse_dc_attr(sdp_parser *ps, sdp_span name, sdp_span v, sdp_span raw)
{
    pm_sdp *out = ps->out;
    if (span_eq(name, "sctp-port")) {
        ps->sctp_port_attr = true;
        return parse_u16(v, &out->sctp_port);
    }
    if (span_eq(name, "sctpmap")) {
        /* Legacy "a=sctpmap:5000 webrtc-datachannel 1024": the number is the
         * SCTP port; the last field is a stream count, not a message size. */
        uint16_t port;
        if (!ps->sctp_port_attr && parse_u16(span_token(&v, 0), &port) == PM_OK)
            out->sctp_port = port;
        return PM_OK;
    }
    if (span_eq(name, "max-message-size")) {
        out->has_max_message_size = true;
        return parse_u64(v, &out->max_message_size, true);
    }
    if (span_eq(name, "peermesh-zero-checksum")) {
        out->zero_checksum = true;
        return PM_OK;
    }
    if (span_eq(name, "candidate")) {
        /* Overlong or surplus candidates are skipped, not fatal: losing one
         * candidate only costs a path, failing would cost the session. */
        if (raw.n < PM_SDP_CANDIDATE_MAX && out->candidate_count < PM_SDP_MAX_CANDIDATES) {
            char *dst = out->candidates[out->candidate_count++];
            memcpy(dst, raw.p, raw.n);
            dst[raw.n] = '\0';
        }
        return PM_OK;
    }
    return parse_shared_attr(ps, name, v);
}

/* a=<attribute>[:<value>] (RFC 8866 section 5.13). */
static int parse_attr(sdp_parser *ps, sdp_span line)
{
    pm_sdp *out = ps->out;
    const char *colon = memchr(line.p, ':', line.n);
    sdp_span name = {line.p, colon ? (size_t)(colon - line.p) : line.n};
    sdp_span v = {colon ? colon + 1 : line.p + line.n, colon ? line.n - name.n - 1 : 0};
    v = span_trim(v);

    if (span_eq(name, "mid")) {
        if (ps->level == SDP_LEVEL_SESSION)
            return PM_OK;
        pm_sdp_mline *m = &out->mlines[out->mline_count - 1];
        return copy_span(m->mid, sizeof m->mid, v);
    }
    switch (ps->level) {
    case SDP_LEVEL_SESSION:
        if (span_eq(name, "group")) {
            /* RFC 8843 section 7.1: a=group:BUNDLE <mid> ... */
            if (span_eq(span_token(&v, 0), "BUNDLE"))
                out->bundle = true;
            return PM_OK;
        }
        return parse_shared_attr(ps, name, v);
    case SDP_LEVEL_DC:
        return parse_dc_attr(ps, name, v, line);
    case SDP_LEVEL_OTHER:
        break;
    }
    return PM_OK;
}

int pm_sdp_parse(const char *text, size_t len, pm_sdp *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->dc_index = -1;
    if (!text || len == 0)
        return PM_ERR_PARSE;
    if (memchr(text, '\0', len))
        return PM_ERR_PARSE;

    sdp_parser ps = {.out = out, .level = SDP_LEVEL_SESSION};
    size_t pos = 0;
    bool first = true;
    while (pos < len) {
        const char *ls = text + pos;
        const char *nl = memchr(ls, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - ls) : len - pos;
        pos += ll + (nl ? 1 : 0);
        /* CRLF or bare LF; trailing blanks are noise some writers leave. */
        while (ll && (ls[ll - 1] == '\r' || is_space(ls[ll - 1])))
            ll--;
        if (ll == 0) {
            if (first)
                return PM_ERR_PARSE; /* RFC 8866 section 5: v= comes first */
            continue;                /* tolerate blank lines (e.g. a final CRLFCRLF) */
        }
        /* RFC 8866 section 9: a bare CR inside a line is not allowed. */
        if (memchr(ls, '\r', ll))
            return PM_ERR_PARSE;
        if (ll < 2 || ls[1] != '=' || ls[0] < 'a' || ls[0] > 'z')
            return PM_ERR_PARSE;
        sdp_span v = {ls + 2, ll - 2};
        if (first) {
            if (ls[0] != 'v' || !span_eq(v, "0"))
                return PM_ERR_PARSE;
            first = false;
            continue;
        }
        int rc = PM_OK;
        switch (ls[0]) {
        case 'v':
            rc = PM_ERR_PARSE; /* only one description per text */
            break;
        case 'o':
            rc = parse_origin(&ps, v);
            break;
        case 'm':
            rc = parse_mline(&ps, v);
            break;
        case 'a':
            rc = parse_attr(&ps, v);
            break;
        default:
            break; /* s=, t=, c=, b=, ... carry nothing we use */
        }
        if (rc < 0)
            return rc;
    }
    return first ? PM_ERR_PARSE : PM_OK;
}

/* ---- builder ---- */

typedef struct sdp_writer {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
} sdp_writer;

__attribute__((format(printf, 2, 3))) static void w_line(sdp_writer *w, const char *fmt, ...)
{
    if (w->overflow)
        return;
    size_t room = w->cap > w->len ? w->cap - w->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? w->buf + w->len : NULL, room, fmt, ap);
    va_end(ap);
    /* +2 for CRLF, +1 for the terminating NUL. */
    if (n < 0 || (size_t)n + 3 > room) {
        w->overflow = true;
        return;
    }
    w->len += (size_t)n;
    w->buf[w->len++] = '\r';
    w->buf[w->len++] = '\n';
    w->buf[w->len] = '\0';
}

/* Values go into the text verbatim, so a CR or LF would inject lines. */
static bool text_ok(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

/* A fixed-size field of an offer struct: NUL-terminated inside its array
 * and free of line breaks. */
static bool field_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) && text_ok(s);
}

const char *pm_sdp_setup_name(pm_sdp_setup s)
{
    switch (s) {
    case PM_SDP_SETUP_ACTPASS:
        return "actpass";
    case PM_SDP_SETUP_ACTIVE:
        return "active";
    case PM_SDP_SETUP_PASSIVE:
        return "passive";
    case PM_SDP_SETUP_HOLDCONN:
        return "holdconn";
    case PM_SDP_SETUP_NONE:
        break;
    }
    return NULL;
}

/* "<hash-func> <hex>", each part short enough for pm_sdp to hold, so that
 * whatever we write our own parser reads back. */
static bool fingerprint_ok(const char *s)
{
    if (!text_ok(s))
        return false;
    sdp_span rest = {s, strlen(s)};
    sdp_span algo = span_token(&rest, 0);
    rest = span_trim(rest);
    return algo.n > 0 && algo.p == s && algo.n < sizeof(((pm_sdp *)0)->fingerprint_algo) &&
           rest.n > 0 && rest.n < sizeof(((pm_sdp *)0)->fingerprint);
}

static bool ice_cred_ok(const char *s)
{
    return text_ok(s) && s[0] && strlen(s) < sizeof(((pm_sdp *)0)->ice_ufrag);
}

static int check_local(const pm_sdp_local *in)
{
    if (!text_ok(in->mid) || strlen(in->mid) >= sizeof(((pm_sdp_mline *)0)->mid) ||
        !ice_cred_ok(in->ice_ufrag) || !ice_cred_ok(in->ice_pwd) ||
        !fingerprint_ok(in->fingerprint))
        return PM_ERR_INVALID;
    if (in->setup != PM_SDP_SETUP_NONE && !pm_sdp_setup_name(in->setup))
        return PM_ERR_INVALID;
    if (in->candidate_count < 0 || (in->candidate_count > 0 && !in->candidates))
        return PM_ERR_INVALID;
    for (int i = 0; i < in->candidate_count; i++)
        if (!text_ok(in->candidates[i]))
            return PM_ERR_INVALID;
    const pm_sdp *o = in->offer;
    if (o) {
        if (o->mline_count < 1 || o->mline_count > PM_SDP_MAX_MLINES || o->dc_index < 0 ||
            o->dc_index >= o->mline_count)
            return PM_ERR_INVALID;
        for (int i = 0; i < o->mline_count; i++) {
            const pm_sdp_mline *m = &o->mlines[i];
            if (!field_ok(m->media, sizeof m->media) || !field_ok(m->proto, sizeof m->proto) ||
                !field_ok(m->fmt, sizeof m->fmt) || !field_ok(m->mid, sizeof m->mid) ||
                !m->media[0] || !m->proto[0] || !m->fmt[0])
                return PM_ERR_INVALID;
        }
    }
    return PM_OK;
}

/* A rejected m-line of the offer: port 0 and its mid, nothing else
 * (RFC 3264 section 6, RFC 8829 section 5.3.1). */
static void write_rejected(sdp_writer *w, const pm_sdp_mline *m)
{
    w_line(w, "m=%s 0 %s %s", m->media, m->proto, m->fmt);
    w_line(w, "c=IN IP4 0.0.0.0");
    if (m->mid[0])
        w_line(w, "a=mid:%s", m->mid);
}

static void write_datachannel(sdp_writer *w, const pm_sdp_local *in)
{
    uint16_t port = in->sctp_port ? in->sctp_port : SDP_DEFAULT_SCTP_PORT;
    const char *proto = "UDP/DTLS/SCTP";
    bool legacy = false;
    if (in->offer) {
        /* RFC 3264 section 6: the answer keeps the offer's transport. An offer
         * in the pre-RFC 8841 form ("DTLS/SCTP 5000" + a=sctpmap) gets an
         * answer in that form, as old Firefox and some aiortc versions expect. */
        const pm_sdp_mline *om = &in->offer->mlines[in->offer->dc_index];
        if (ends_with(om->proto, "DTLS/SCTP"))
            proto = om->proto;
        legacy = !fmt_is_datachannel(om->fmt);
    }
    /* Port 9 (discard) and 0.0.0.0 until a default candidate is known
     * (RFC 8840 section 4.1.1). */
    if (legacy)
        w_line(w, "m=application 9 %s %u", proto, (unsigned)port);
    else
        w_line(w, "m=application 9 %s webrtc-datachannel", proto);
    w_line(w, "c=IN IP4 0.0.0.0");
    w_line(w, "a=ice-ufrag:%s", in->ice_ufrag);
    w_line(w, "a=ice-pwd:%s", in->ice_pwd);
    w_line(w, "a=ice-options:trickle");
    w_line(w, "a=fingerprint:%s", in->fingerprint);
    const char *setup = pm_sdp_setup_name(in->setup);
    if (setup)
        w_line(w, "a=setup:%s", setup);
    if (in->mid[0])
        w_line(w, "a=mid:%s", in->mid);
    if (legacy)
        w_line(w, "a=sctpmap:%u webrtc-datachannel %u", (unsigned)port,
               (unsigned)SDP_LEGACY_MAX_STREAMS);
    else
        w_line(w, "a=sctp-port:%u", (unsigned)port);
    w_line(w, "a=max-message-size:%" PRIu64, in->max_message_size);
    if (in->zero_checksum)
        w_line(w, "a=peermesh-zero-checksum");
    for (int i = 0; i < in->candidate_count; i++) {
        const char *c = in->candidates[i];
        /* Accept both "candidate:..." and the bare value. */
        if (strncmp(c, "candidate:", 10) == 0)
            w_line(w, "a=%s", c);
        else
            w_line(w, "a=candidate:%s", c);
    }
    if (in->end_of_candidates)
        w_line(w, "a=end-of-candidates");
}

int pm_sdp_build(const pm_sdp_local *in, char *buf, size_t cap)
{
    if (!in || !buf)
        return PM_ERR_INVALID;
    int rc = check_local(in);
    if (rc < 0)
        return rc;
    sdp_writer w = {.buf = buf, .cap = cap};
    if (cap)
        buf[0] = '\0';
    w_line(&w, "v=0");
    w_line(&w, "o=- %" PRIu64 " %" PRIu64 " IN IP4 127.0.0.1", in->session_id, in->session_version);
    w_line(&w, "s=-");
    w_line(&w, "t=0 0");
    if (in->bundle && in->mid[0])
        w_line(&w, "a=group:BUNDLE %s", in->mid);
    if (in->offer) {
        for (int i = 0; i < in->offer->mline_count; i++) {
            if (i == in->offer->dc_index)
                write_datachannel(&w, in);
            else
                write_rejected(&w, &in->offer->mlines[i]);
        }
    } else {
        write_datachannel(&w, in);
    }
    if (w.overflow)
        return PM_ERR_TOO_BIG;
    return (int)w.len;
}
