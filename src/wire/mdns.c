/* Multicast DNS questions and answers for ".local" ICE candidates (RFC 6762, RFC 1035). */
#include "mdns.h"

#include <strings.h>

#define DNS_HEADER_LEN   12
#define DNS_FLAG_QR      0x8000
#define DNS_CLASS_IN     1
#define MDNS_QU_BIT      0x8000 /* RFC 6762 section 5.4 (questions) */
#define MDNS_CACHE_FLUSH 0x8000 /* RFC 6762 section 10.2 (records) */
#define DNS_LABEL_MAX    63
#define DNS_MAX_HOPS     32 /* compression pointers followed per name */
#define DNS_MAX_RECORDS  256

static bool label_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool pm_mdns_is_local_name(const char *name)
{
    if (!name)
        return false;
    size_t n = strnlen(name, PM_MDNS_NAME_MAX + 1);
    if (n == 0 || n > PM_MDNS_NAME_MAX || name[n - 1] == '.')
        return false;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && name[i] != '.') {
            if (!label_char_ok(name[i]))
                return false;
            continue;
        }
        size_t l = i - start;
        if (l == 0 || l > DNS_LABEL_MAX)
            return false;
        labels++;
        start = i + 1;
    }
    return labels >= 2 && n >= 6 && strcasecmp(name + n - 6, ".local") == 0;
}

int pm_mdns_build_query(uint8_t *buf, size_t cap, const char *name, bool unicast_response)
{
    if (!buf || !pm_mdns_is_local_name(name))
        return PM_ERR_INVALID;
    size_t n = strlen(name);
    /* Header, then the name once (n + 2 bytes) with A, then a pointer to it with AAAA. */
    size_t need = DNS_HEADER_LEN + (n + 2) + 4 + 2 + 4;
    if (cap < need)
        return PM_ERR_TOO_BIG;
    memset(buf, 0, DNS_HEADER_LEN);
    pm_wr16(buf + 4, 2); /* QDCOUNT */
    uint8_t *p = buf + DNS_HEADER_LEN;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && name[i] != '.')
            continue;
        *p++ = (uint8_t)(i - start);
        memcpy(p, name + start, i - start);
        p += i - start;
        start = i + 1;
    }
    *p++ = 0;
    uint16_t qclass = DNS_CLASS_IN | (unicast_response ? MDNS_QU_BIT : 0);
    pm_wr16(p, PM_MDNS_TYPE_A);
    pm_wr16(p + 2, qclass);
    p += 4;
    pm_wr16(p, 0xC000 | DNS_HEADER_LEN); /* the same name, compressed */
    pm_wr16(p + 2, PM_MDNS_TYPE_AAAA);
    pm_wr16(p + 4, qclass);
    p += 6;
    return (int)(p - buf);
}

/* Read the name at *off into `out` (dotted, NUL-terminated) and move *off
 * past it in the message. RFC 1035 section 4.1.4 compression: a pointer
 * ends the name where it appears; the hops are bounded. */
static int read_name(const uint8_t *buf, size_t len, size_t *off, char *out, size_t cap)
{
    size_t pos = *off, w = 0;
    bool jumped = false;
    for (int hops = 0; hops <= DNS_MAX_HOPS;) {
        if (pos >= len)
            return PM_ERR_PARSE;
        uint8_t l = buf[pos];
        if ((l & 0xC0) == 0xC0) {
            if (pos + 1 >= len)
                return PM_ERR_PARSE;
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = ((size_t)(l & 0x3F) << 8) | buf[pos + 1];
            hops++;
            continue;
        }
        if (l & 0xC0)
            return PM_ERR_PARSE; /* 0x40/0x80: reserved label types */
        if (l == 0) {
            if (!jumped)
                *off = pos + 1;
            out[w] = '\0';
            return PM_OK;
        }
        if (pos + 1 + l > len || w + l + 2 > cap)
            return PM_ERR_PARSE;
        if (w)
            out[w++] = '.';
        memcpy(out + w, buf + pos + 1, l);
        w += l;
        pos += 1 + (size_t)l;
    }
    return PM_ERR_PARSE;
}

int pm_mdns_parse_response(const uint8_t *buf, size_t len, const char *name, pm_addr *out,
                           size_t cap, size_t *count)
{
    if (!buf || !name || !count || (cap && !out))
        return PM_ERR_INVALID;
    *count = 0;
    if (len < DNS_HEADER_LEN)
        return PM_ERR_PARSE;
    if (!(pm_rd16(buf + 2) & DNS_FLAG_QR))
        return PM_ERR_NOT_FOUND;
    size_t qd = pm_rd16(buf + 4);
    size_t rr = (size_t)pm_rd16(buf + 6) + pm_rd16(buf + 8) + pm_rd16(buf + 10);
    if (qd + rr > DNS_MAX_RECORDS)
        return PM_ERR_PARSE;
    size_t off = DNS_HEADER_LEN;
    char got[PM_MDNS_NAME_MAX + 2];
    for (size_t i = 0; i < qd; i++) {
        if (read_name(buf, len, &off, got, sizeof got) != PM_OK || len - off < 4)
            return PM_ERR_PARSE;
        off += 4;
    }
    for (size_t i = 0; i < rr; i++) {
        if (read_name(buf, len, &off, got, sizeof got) != PM_OK || len - off < 10)
            return PM_ERR_PARSE;
        uint16_t type = pm_rd16(buf + off);
        uint16_t cls = pm_rd16(buf + off + 2) & (uint16_t)~MDNS_CACHE_FLUSH;
        uint32_t ttl = pm_rd32(buf + off + 4);
        size_t rdlen = pm_rd16(buf + off + 8);
        off += 10;
        if (rdlen > len - off)
            return PM_ERR_PARSE;
        const uint8_t *rd = buf + off;
        off += rdlen;
        if (cls != DNS_CLASS_IN || ttl == 0 || strcasecmp(got, name) != 0)
            continue;
        pm_addr a;
        memset(&a, 0, sizeof a);
        if (type == PM_MDNS_TYPE_A && rdlen == 4) {
            a.family = 4;
            memcpy(a.ip, rd, 4);
        } else if (type == PM_MDNS_TYPE_AAAA && rdlen == 16) {
            a.family = 6;
            memcpy(a.ip, rd, 16);
        } else {
            continue;
        }
        if (*count < cap)
            out[(*count)++] = a;
    }
    return PM_OK;
}
