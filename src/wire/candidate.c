/* ICE candidate attribute codec (RFC 8839 section 5.1). */
#include "candidate.h"

#include <stdio.h>

#define MAX_LINE   1024 /* longer lines are not candidates anyone sends */
#define MAX_TOKENS 64

typedef struct tok {
    const char *p;
    size_t n;
} tok;

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive token comparison: ABNF literals are case-insensitive. */
static bool tok_is(tok t, const char *s)
{
    size_t n = strlen(s);
    if (t.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(t.p[i]) != lower(s[i]))
            return false;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 8839: ice-char = ALPHA / DIGIT / "+" / "/" */
static bool is_ice_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}

static int parse_uint(tok t, size_t max_digits, uint64_t max, uint64_t *out)
{
    if (t.n == 0 || t.n > max_digits)
        return PM_ERR_PARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (!is_digit(t.p[i]))
            return PM_ERR_PARSE;
        v = v * 10 + (uint64_t)(t.p[i] - '0');
    }
    if (v > max)
        return PM_ERR_PARSE;
    *out = v;
    return PM_OK;
}

/* RFC 1035/1123 host name: dot-separated labels of letters, digits and
 * hyphens, not all-numeric (that would be a malformed IPv4 address). */
static bool is_hostname(tok t)
{
    if (t.n == 0 || t.n > PM_CAND_HOSTNAME_MAX)
        return false;
    size_t label = 0;
    bool has_alpha = false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (c == '.') {
            if (label == 0 || t.p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alpha(c) && !is_digit(c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (is_alpha(c) || c == '-')
            has_alpha = true;
        if (++label > 63)
            return false;
    }
    return has_alpha && t.p[t.n - 1] != '-';
}

/* Numeric IP (PM_OK), hostname (PM_ERR_NOT_FOUND, copied into `host`), or PM_ERR_PARSE. */
static int parse_address(tok t, pm_addr *addr, char *host, size_t hostcap)
{
    char tmp[PM_CAND_HOSTNAME_MAX + 1];
    if (t.n == 0 || t.n >= sizeof tmp)
        return PM_ERR_PARSE;
    memcpy(tmp, t.p, t.n);
    tmp[t.n] = '\0';
    if (pm_addr_parse(addr, tmp, 0) == PM_OK)
        return PM_OK;
    if (!is_hostname(t))
        return PM_ERR_PARSE;
    if (host) {
        if (t.n >= hostcap)
            return PM_ERR_PARSE;
        memcpy(host, tmp, t.n + 1);
    }
    return PM_ERR_NOT_FOUND;
}

static int tokenize(const char *s, tok *toks, size_t *count)
{
    size_t n = 0;
    while (*s) {
        while (is_space(*s))
            s++;
        if (!*s)
            break;
        if (n == MAX_TOKENS)
            return PM_ERR_PARSE;
        toks[n].p = s;
        while (*s && !is_space(*s))
            s++;
        toks[n].n = (size_t)(s - toks[n].p);
        n++;
    }
    *count = n;
    return PM_OK;
}

static int parse_type(tok t, pm_cand_type *type)
{
    static const char *names[] = {"host", "srflx", "prflx", "relay"};
    for (int i = 0; i < 4; i++)
        if (tok_is(t, names[i])) {
            *type = (pm_cand_type)i;
            return PM_OK;
        }
    return PM_ERR_PARSE;
}

/* The part after "typ <type>": raddr/rport/tcptype and ignored extensions. */
static int parse_tail(pm_candidate *c, const tok *t, size_t n)
{
    if (n % 2)
        return PM_ERR_PARSE; /* every extension is a name-value pair */
    bool raddr_numeric = false, have_rport = false;
    uint64_t v;
    for (size_t i = 0; i < n; i += 2) {
        if (tok_is(t[i], "raddr")) {
            int rc = parse_address(t[i + 1], &c->related, NULL, 0);
            if (rc == PM_ERR_PARSE)
                return rc;
            raddr_numeric = rc == PM_OK;
        } else if (tok_is(t[i], "rport")) {
            if (parse_uint(t[i + 1], 5, 65535, &v))
                return PM_ERR_PARSE;
            have_rport = true;
            c->related.port = (uint16_t)v;
        } else if (tok_is(t[i], "tcptype")) {
            if (!tok_is(t[i + 1], "active") && !tok_is(t[i + 1], "passive") &&
                !tok_is(t[i + 1], "so"))
                return PM_ERR_PARSE;
            for (size_t k = 0; k < t[i + 1].n; k++)
                c->tcptype[k] = lower(t[i + 1].p[k]);
            c->tcptype[t[i + 1].n] = '\0';
        }
        /* Anything else (generation, ufrag, network-id, network-cost, ...) is
         * an extension we may ignore (RFC 8839 5.1). */
    }
    c->has_related = raddr_numeric && have_rport;
    if (!c->has_related)
        memset(&c->related, 0, sizeof c->related);
    return PM_OK;
}

int pm_candidate_parse(pm_candidate *c, const char *line)
{
    if (!c || !line || strnlen(line, MAX_LINE + 1) > MAX_LINE)
        return PM_ERR_PARSE;
    memset(c, 0, sizeof *c);
    while (is_space(*line))
        line++;
    if (strncmp(line, "a=", 2) == 0)
        line += 2;
    static const char prefix[] = "candidate:";
    tok pre = {line, sizeof prefix - 1};
    if (strnlen(line, sizeof prefix - 1) == sizeof prefix - 1 && tok_is(pre, prefix))
        line += sizeof prefix - 1;

    tok t[MAX_TOKENS];
    size_t n;
    if (tokenize(line, t, &n) || n < 8)
        return PM_ERR_PARSE;
    if (t[0].n > PM_CAND_FOUNDATION_MAX)
        return PM_ERR_PARSE;
    for (size_t i = 0; i < t[0].n; i++)
        if (!is_ice_char(t[0].p[i]))
            return PM_ERR_PARSE;
    memcpy(c->foundation, t[0].p, t[0].n);
    c->foundation[t[0].n] = '\0';

    uint64_t v;
    if (parse_uint(t[1], 3, 256, &v) || v == 0)
        return PM_ERR_PARSE;
    c->component = (uint16_t)v;
    if (tok_is(t[2], "udp"))
        c->transport = PM_CAND_UDP;
    else if (tok_is(t[2], "tcp"))
        c->transport = PM_CAND_TCP;
    else
        c->transport = PM_CAND_OTHER;
    if (parse_uint(t[3], 10, 0xFFFFFFFFu, &v))
        return PM_ERR_PARSE;
    c->priority = (uint32_t)v;
    int rc = parse_address(t[4], &c->addr, c->hostname, sizeof c->hostname);
    if (rc == PM_ERR_PARSE)
        return rc;
    if (parse_uint(t[5], 5, 65535, &v))
        return PM_ERR_PARSE;
    if (rc != PM_OK) /* a hostname candidate keeps its port in addr.port, family 0 */
        memset(&c->addr, 0, sizeof c->addr);
    c->addr.port = (uint16_t)v;
    if (!tok_is(t[6], "typ") || parse_type(t[7], &c->type))
        return PM_ERR_PARSE;
    return parse_tail(c, t + 8, n - 8);
}

const char *pm_cand_type_name(pm_cand_type t)
{
    switch (t) {
    case PM_CAND_HOST:
        return "host";
    case PM_CAND_SRFLX:
        return "srflx";
    case PM_CAND_PRFLX:
        return "prflx";
    case PM_CAND_RELAY:
        return "relay";
    }
    return "host";
}

/* Addresses in SDP carry no IPv6 zone index. */
static const char *format_ip(const pm_addr *a, char *buf, size_t cap)
{
    pm_addr tmp = *a;
    tmp.scope_id = 0;
    return pm_addr_format_ip(&tmp, buf, cap);
}

int pm_candidate_format(const pm_candidate *c, char *buf, size_t cap)
{
    if (!c || !buf || c->foundation[0] == '\0' || c->component == 0 ||
        c->transport == PM_CAND_OTHER || (c->addr.family == 0 && c->hostname[0] == '\0'))
        return PM_ERR_INVALID;
    char ip[PM_ADDR_STRLEN];
    const char *addr = c->addr.family ? format_ip(&c->addr, ip, sizeof ip) : c->hostname;
    int n = snprintf(buf, cap, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
                     c->transport == PM_CAND_TCP ? "tcp" : "udp", c->priority, addr, c->addr.port,
                     pm_cand_type_name(c->type));
    if (n < 0 || (size_t)n >= cap)
        return PM_ERR_TOO_BIG;
    size_t off = (size_t)n;
    if (c->has_related) {
        char rip[PM_ADDR_STRLEN];
        n = snprintf(buf + off, cap - off, " raddr %s rport %u",
                     format_ip(&c->related, rip, sizeof rip), c->related.port);
        if (n < 0 || (size_t)n >= cap - off)
            return PM_ERR_TOO_BIG;
        off += (size_t)n;
    }
    if (c->tcptype[0]) {
        n = snprintf(buf + off, cap - off, " tcptype %s", c->tcptype);
        if (n < 0 || (size_t)n >= cap - off)
            return PM_ERR_TOO_BIG;
        off += (size_t)n;
    }
    return (int)off;
}
