/* Interface enumeration and name resolution for ICE host/server addresses. */
#define _GNU_SOURCE
#include "io.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

static bool addr_from_sa(const struct sockaddr *sa, pm_addr *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        a->family = 4;
        memcpy(a->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a->family = 6;
        memcpy(a->ip, &s6->sin6_addr, 16);
        a->scope_id = s6->sin6_scope_id;
        return true;
    }
    return false;
}

size_t pm_io_host_addrs(bool include_loopback, bool ipv6, uint16_t port, pm_addr *out, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return 0;
    size_t n = 0;
    /* IPv4 first, then IPv6: two passes keep a stable, predictable order. */
    for (int pass = 0; pass < 2; pass++) {
        for (struct ifaddrs *i = ifs; i && n < cap; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
                continue;
            pm_addr a;
            if (!addr_from_sa(i->ifa_addr, &a))
                continue;
            if ((pass == 0) != (a.family == 4))
                continue;
            if (a.family == 6 && !ipv6)
                continue;
            if (a.family == 6 && a.ip[0] == 0xfe && (a.ip[1] & 0xc0) == 0x80)
                continue; /* link-local: needs scope ids, useless across hosts */
            if (pm_addr_is_loopback(&a) != false && !include_loopback)
                continue;
            if (!include_loopback && (i->ifa_flags & IFF_LOOPBACK))
                continue;
            a.port = port;
            a.scope_id = 0;
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                dup |= pm_addr_equal(&out[k], &a);
            if (!dup)
                out[n++] = a;
        }
    }
    freeifaddrs(ifs);
    return n;
}

int pm_io_resolve(const char *host, uint16_t port, pm_addr *out, size_t cap)
{
    pm_addr lit;
    if (pm_addr_parse(&lit, host, port) == PM_OK) {
        if (cap == 0)
            return 0;
        out[0] = lit;
        return 1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return PM_ERR_NOT_FOUND;
    int n = 0;
    for (struct addrinfo *r = res; r && (size_t)n < cap; r = r->ai_next) {
        if (addr_from_sa(r->ai_addr, &out[n])) {
            out[n].port = port;
            n++;
        }
    }
    freeaddrinfo(res);
    return n;
}
