/* ICE server URLs: RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:); candidate type names. */
#include "base/base.h"
#include "peermesh/rtc.h"

#include <stdlib.h>
#include <strings.h>

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5)
        return PM_ERR_PARSE;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PM_ERR_PARSE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return PM_ERR_PARSE;
    *port = (uint16_t)v;
    return PM_OK;
}

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

int pm_ice_url_parse(const char *url, pm_ice_url *out)
{
    if (!url || !out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    static const struct {
        const char *prefix;
        int scheme;
        uint16_t port;
    } schemes[] = {{"stun:", PM_ICE_URL_STUN, 3478},
                   {"stuns:", PM_ICE_URL_STUNS, 5349},
                   {"turn:", PM_ICE_URL_TURN, 3478},
                   {"turns:", PM_ICE_URL_TURNS, 5349}};
    const char *p = NULL;
    for (size_t i = 0; i < PM_ARRAY_LEN(schemes); i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncasecmp(url, schemes[i].prefix, n) == 0) {
            out->scheme = schemes[i].scheme;
            out->port = schemes[i].port;
            p = url + n;
            break;
        }
    }
    if (!p)
        return PM_ERR_PARSE;
    const char *query = strchr(p, '?');
    size_t auth_len = query ? (size_t)(query - p) : strlen(p);
    if (auth_len == 0)
        return PM_ERR_PARSE;
    const char *host = p, *host_end;
    const char *port_s = NULL;
    if (*p == '[') { /* IPv6 literal */
        const char *rb = memchr(p, ']', auth_len);
        if (!rb)
            return PM_ERR_PARSE;
        host = p + 1;
        host_end = rb;
        if (rb + 1 < p + auth_len) {
            if (rb[1] != ':')
                return PM_ERR_PARSE;
            port_s = rb + 2;
        }
        pm_addr tmp;
        char lit[64];
        size_t hl = (size_t)(host_end - host);
        if (hl == 0 || hl >= sizeof lit)
            return PM_ERR_PARSE;
        memcpy(lit, host, hl);
        lit[hl] = '\0';
        if (pm_addr_parse(&tmp, lit, 0) != PM_OK || tmp.family != 6)
            return PM_ERR_PARSE;
    } else {
        const char *colon = memchr(p, ':', auth_len);
        host_end = colon ? colon : p + auth_len;
        if (colon)
            port_s = colon + 1;
        for (const char *c = host; c < host_end; c++)
            if (!host_char_ok(*c))
                return PM_ERR_PARSE;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof out->host)
        return PM_ERR_PARSE;
    memcpy(out->host, host, hl);
    out->host[hl] = '\0';
    if (port_s && parse_port(port_s, (size_t)(p + auth_len - port_s), &out->port) != PM_OK)
        return PM_ERR_PARSE;
    if (query) {
        bool turn = out->scheme == PM_ICE_URL_TURN || out->scheme == PM_ICE_URL_TURNS;
        if (!turn)
            return PM_ERR_PARSE; /* RFC 7064: stun URIs take no query */
        if (strcasecmp(query, "?transport=udp") == 0)
            out->transport_tcp = false;
        else if (strcasecmp(query, "?transport=tcp") == 0)
            out->transport_tcp = true;
        else
            return PM_ERR_PARSE;
    }
    return PM_OK;
}

int pm_ice_server_validate(const pm_ice_server *s)
{
    if (!s || (s->url_count > 0 && !s->urls))
        return PM_ERR_INVALID;
    if (s->url_count == 0)
        return PM_ERR_INVALID;
    for (size_t i = 0; i < s->url_count; i++) {
        pm_ice_url u;
        int rc = pm_ice_url_parse(s->urls[i], &u);
        if (rc != PM_OK)
            return rc;
        if ((u.scheme == PM_ICE_URL_TURN || u.scheme == PM_ICE_URL_TURNS) &&
            (!s->username || !s->credential))
            return PM_ERR_INVALID; /* W3C: InvalidAccessError */
    }
    return PM_OK;
}

/* Pure, like the URL parser: the web build has it too. */
const char *pm_rtc_candidate_type_name(pm_rtc_candidate_type type)
{
    switch (type) {
    case PM_RTC_CANDIDATE_HOST:
        return "host";
    case PM_RTC_CANDIDATE_SRFLX:
        return "srflx";
    case PM_RTC_CANDIDATE_PRFLX:
        return "prflx";
    case PM_RTC_CANDIDATE_RELAY:
        return "relay";
    }
    return "?";
}
