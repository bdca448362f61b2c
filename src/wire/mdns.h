/*
 * Multicast DNS (RFC 6762) for resolving the ".local" host names that
 * browsers put in ICE candidates instead of their addresses (RFC 8838 and
 * draft-ietf-mmusic-mdns-ice-candidates): build a question for a name's A
 * and AAAA records and pick those records out of responses. Pure: no
 * allocation, no sockets; every name is bounded (RFC 1035 limits) and
 * compression pointers are followed a bounded number of times.
 */
#ifndef PM_MDNS_H
#define PM_MDNS_H

#include "base/base.h"

#define PM_MDNS_PORT      5353
#define PM_MDNS_GROUP_V4  "224.0.0.251"
#define PM_MDNS_GROUP_V6  "ff02::fb"
#define PM_MDNS_NAME_MAX  253 /* RFC 1035 section 2.3.4, in text form */
#define PM_MDNS_TYPE_A    1
#define PM_MDNS_TYPE_AAAA 28

/**
 * True for a name an mDNS candidate may carry: dot-separated labels of
 * letters, digits, '-' and '_' (1..63 bytes each, 253 in all), the last
 * label "local" (any case), at least one label before it.
 */
bool pm_mdns_is_local_name(const char *name);

/**
 * Build one query message asking for `name`'s A and AAAA records (class IN,
 * with the QU bit when `unicast_response`: RFC 6762 section 5.4). The id is
 * zero, as RFC 6762 section 18.1 asks of multicast queries. Returns the
 * length, PM_ERR_INVALID for a name pm_mdns_is_local_name rejects, or
 * PM_ERR_TOO_BIG when cap is too small (300 bytes always suffice).
 */
int pm_mdns_build_query(uint8_t *buf, size_t cap, const char *name, bool unicast_response);

/**
 * Parse a response (QR set; queries give PM_ERR_NOT_FOUND) and collect the
 * addresses of every A/AAAA record for `name` (compared case-insensitively)
 * in its answer, authority and additional sections, up to `cap` of them
 * (port 0). A record with TTL 0 (a goodbye, RFC 6762 section 10.1) is
 * skipped. Returns PM_OK with *count set (possibly 0: nothing for that
 * name), or PM_ERR_PARSE for a malformed message.
 */
int pm_mdns_parse_response(const uint8_t *buf, size_t len, const char *name, pm_addr *out,
                           size_t cap, size_t *count);

#endif
