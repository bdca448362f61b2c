/* pm_addr: numeric parsing and formatting without OS socket headers. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>

static int parse_v4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return PM_ERR_PARSE;
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return PM_ERR_PARSE;
        }
        out[i] = (uint8_t)v;
        if (i < 3 && *s++ != '.')
            return PM_ERR_PARSE;
    }
    return *s == '\0' ? PM_OK : PM_ERR_PARSE;
}

/* RFC 4291 section 2.2 text forms, including "::" and a trailing dotted quad. */
static int parse_v6(const char *s, uint8_t out[16], uint32_t *scope)
{
    uint16_t words[8] = {0};
    int n = 0, gap = -1;
    const char *pct = strchr(s, '%');
    size_t len = pct ? (size_t)(pct - s) : strlen(s);
    if (len == 0 || len > 45)
        return PM_ERR_PARSE;
    char tmp[46];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *scope = 0;
    if (pct) {
        char *end;
        unsigned long v = strtoul(pct + 1, &end, 10);
        if (*end != '\0' || end == pct + 1 || v > 0xffffffffUL)
            return PM_ERR_PARSE;
        *scope = (uint32_t)v;
    }
    const char *p = tmp;
    if (p[0] == ':') {
        if (p[1] != ':')
            return PM_ERR_PARSE;
        gap = 0;
        p += 2;
    }
    while (*p) {
        if (n >= 8)
            return PM_ERR_PARSE;
        /* Embedded IPv4 at the end. */
        if (strchr(p, '.') && !strchr(p, ':')) {
            uint8_t v4[4];
            if (n > 6 || parse_v4(p, v4) != PM_OK)
                return PM_ERR_PARSE;
            words[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
            words[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
            p += strlen(p);
            break;
        }
        unsigned v = 0;
        int digits = 0, h;
        while ((h = pm_hex_digit(*p)) >= 0) {
            v = (v << 4) | (unsigned)h;
            p++;
            if (++digits > 4)
                return PM_ERR_PARSE;
        }
        if (digits == 0)
            return PM_ERR_PARSE;
        words[n++] = (uint16_t)v;
        if (*p == ':') {
            p++;
            if (*p == ':') {
                if (gap >= 0)
                    return PM_ERR_PARSE;
                gap = n;
                p++;
            } else if (*p == '\0') {
                return PM_ERR_PARSE;
            }
        } else if (*p != '\0') {
            return PM_ERR_PARSE;
        }
    }
    if (gap >= 0) {
        int tail = n - gap;
        if (n == 8)
            return PM_ERR_PARSE;
        memmove(&words[8 - tail], &words[gap], (size_t)tail * sizeof words[0]);
        for (int i = gap; i < 8 - tail; i++)
            words[i] = 0;
    } else if (n != 8) {
        return PM_ERR_PARSE;
    }
    for (int i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(words[i] >> 8);
        out[2 * i + 1] = (uint8_t)words[i];
    }
    return PM_OK;
}

int pm_addr_parse(pm_addr *out, const char *ip, uint16_t port)
{
    if (!out || !ip)
        return PM_ERR_INVALID;
    pm_addr a;
    memset(&a, 0, sizeof a);
    a.port = port;
    size_t len = strlen(ip);
    char tmp[64];
    if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']' && len - 2 < sizeof tmp) {
        memcpy(tmp, ip + 1, len - 2);
        tmp[len - 2] = '\0';
        ip = tmp;
    }
    if (parse_v4(ip, a.ip) == PM_OK) {
        a.family = 4;
    } else if (parse_v6(ip, a.ip, &a.scope_id) == PM_OK) {
        a.family = 6;
    } else {
        return PM_ERR_PARSE;
    }
    *out = a;
    return PM_OK;
}

const char *pm_addr_format_ip(const pm_addr *a, char *buf, size_t cap)
{
    if (!a || cap == 0)
        return "";
    if (a->family == 4) {
        snprintf(buf, cap, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
        return buf;
    }
    if (a->family != 6) {
        snprintf(buf, cap, "?");
        return buf;
    }
    /* RFC 5952: lower case, longest run (>= 2) of zero words as "::". */
    uint16_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    size_t off = 0;
    bool after_gap = false;
    for (int i = 0; i < 8 && off < cap; i++) {
        if (i == best) {
            off += (size_t)snprintf(buf + off, cap - off, "::");
            i += best_len - 1;
            after_gap = true;
            continue;
        }
        const char *sep = (i > 0 && !after_gap) ? ":" : "";
        after_gap = false;
        off += (size_t)snprintf(buf + off, cap - off, "%s%x", sep, w[i]);
    }
    if (a->scope_id && off < cap)
        snprintf(buf + off, cap - off, "%%%u", a->scope_id);
    return buf;
}

const char *pm_addr_format(const pm_addr *a, char *buf, size_t cap)
{
    char ip[PM_ADDR_STRLEN];
    pm_addr_format_ip(a, ip, sizeof ip);
    if (a && a->family == 6)
        snprintf(buf, cap, "[%s]:%u", ip, a->port);
    else
        snprintf(buf, cap, "%s:%u", ip, a ? a->port : 0);
    return buf;
}

bool pm_addr_equal(const pm_addr *a, const pm_addr *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

bool pm_addr_is_loopback(const pm_addr *a)
{
    static const uint8_t v6lo[16] = {[15] = 1};
    if (!a)
        return false;
    if (a->family == 4)
        return a->ip[0] == 127;
    return a->family == 6 && memcmp(a->ip, v6lo, 16) == 0;
}

uint64_t pm_addr_key(const pm_addr *a)
{
    if (!a || !a->family)
        return 0;
    if (a->family == 4)
        return 0x100000000ull | pm_rd32(a->ip);
    uint64_t k = pm_rd64(a->ip) ^ 0xA5A5000000000000ull;
    return k ? k : 1;
}
