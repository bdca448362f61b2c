/*
 * DCEP, the Data Channel Establishment Protocol (RFC 8832), and the PPIDs
 * of RFC 8831. Pure codec.
 */
#ifndef PM_DCEP_H
#define PM_DCEP_H

#include "base/base.h"

/* RFC 8831 section 8 / RFC 8832 section 8.1 payload protocol identifiers. */
#define PM_PPID_DCEP           50
#define PM_PPID_STRING         51
#define PM_PPID_BINARY_PARTIAL 52 /* deprecated */
#define PM_PPID_BINARY         53
#define PM_PPID_STRING_PARTIAL 54 /* deprecated */
#define PM_PPID_STRING_EMPTY   56
#define PM_PPID_BINARY_EMPTY   57

#define PM_DCEP_OPEN 0x03
#define PM_DCEP_ACK  0x02

/* RFC 8832 section 8.2.1 channel types. */
#define PM_DCEP_RELIABLE            0x00
#define PM_DCEP_RELIABLE_UNORDERED  0x80
#define PM_DCEP_PR_REXMIT           0x01
#define PM_DCEP_PR_REXMIT_UNORDERED 0x81
#define PM_DCEP_PR_TIMED            0x02
#define PM_DCEP_PR_TIMED_UNORDERED  0x82

typedef struct pm_dcep_open {
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability; /**< retransmits or lifetime ms, per type */
    const uint8_t *label; /**< borrowed from the parsed buffer, not NUL-terminated */
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
} pm_dcep_open;

/** Message type of a DCEP payload (first byte), or PM_ERR_PARSE if empty. */
int pm_dcep_type(const uint8_t *p, size_t n);
/** Parse DATA_CHANNEL_OPEN. PM_ERR_PARSE on truncation, bad type or length mismatch. */
int pm_dcep_parse_open(const uint8_t *p, size_t n, pm_dcep_open *out);
/** Encode DATA_CHANNEL_OPEN; returns length or PM_ERR_TOO_BIG. */
int pm_dcep_build_open(const pm_dcep_open *o, uint8_t *buf, size_t cap);
/** Encode DATA_CHANNEL_ACK (one byte); returns 1 or PM_ERR_TOO_BIG. */
int pm_dcep_build_ack(uint8_t *buf, size_t cap);
/** True if the ppid is one we deliver as a string message. */
bool pm_ppid_is_string(uint32_t ppid);

#endif
