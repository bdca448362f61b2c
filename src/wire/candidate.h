/*
 * ICE candidate attribute codec (RFC 8839 section 5.1):
 *   candidate:<foundation> <component> <transport> <priority> <address> <port>
 *   typ <host|srflx|prflx|relay> [raddr <addr> rport <port>] [tcptype <t>]
 *   [<extension-name> <extension-value>]*
 * Pure; no allocation.
 */
#ifndef PM_CANDIDATE_H
#define PM_CANDIDATE_H

#include "base/base.h"

#define PM_CAND_FOUNDATION_MAX 32  /* RFC 8839: 1*32ice-char */
#define PM_CAND_HOSTNAME_MAX   253 /* RFC 1035 name length */
#define PM_CAND_LINE_MAX       320 /* enough for any line pm_candidate_format writes */

typedef enum pm_cand_type {
    PM_CAND_HOST = 0,
    PM_CAND_SRFLX,
    PM_CAND_PRFLX,
    PM_CAND_RELAY,
} pm_cand_type;

typedef enum pm_cand_transport {
    PM_CAND_UDP = 0,
    PM_CAND_TCP,
    PM_CAND_OTHER, /**< a transport token we do not know */
} pm_cand_transport;

typedef struct pm_candidate {
    char foundation[PM_CAND_FOUNDATION_MAX + 1];
    uint16_t component; /**< 1..256 */
    pm_cand_transport transport;
    uint32_t priority;
    pm_cand_type type;
    /** Numeric connection address; family 0 when `hostname` is set instead. */
    pm_addr addr;
    /** FQDN connection address (e.g. an mDNS "<uuid>.local"), else "". */
    char hostname[PM_CAND_HOSTNAME_MAX + 1];
    bool has_related; /**< raddr/rport present and numeric */
    pm_addr related;
    char tcptype[8]; /**< "active", "passive", "so" or "" */
} pm_candidate;

/**
 * Parse a candidate attribute value, with or without the "candidate:"
 * prefix (and an optional leading "a="). Keywords and the transport are
 * case-insensitive; unknown extension pairs (generation, ufrag, network-id,
 * network-cost, ...) are ignored. A hostname address is accepted and
 * reported in `hostname`; TCP is reported in `transport`. A hostname raddr
 * (or none) leaves has_related false.
 * Returns PM_OK or PM_ERR_PARSE.
 */
int pm_candidate_parse(pm_candidate *c, const char *line);

/**
 * Format "candidate:..." (with prefix, transport in lower case, raddr/rport
 * when has_related, tcptype when set). Returns the length written (NUL
 * excluded), PM_ERR_TOO_BIG when cap is too small, PM_ERR_INVALID for an
 * unformattable candidate.
 */
int pm_candidate_format(const pm_candidate *c, char *buf, size_t cap);

const char *pm_cand_type_name(pm_cand_type t);

#endif
