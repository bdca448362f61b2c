/*
 * peer_traffic.h — the interop test traffic: which message the sender sends
 * as number i, and whether a reply is acceptable.
 *
 * Message i has size sizes[i % count] and payload byte j = (i + j) mod 256
 * (binary) or the character 32 + (i + j) mod 95 (--text). A reply is an echo
 * (same type and bytes) or the string "ack:<length in bytes>:<CRC-32 of the
 * bytes, 8 lowercase hex digits>" (CRC-32 as zlib's crc32). On an ordered
 * reliable ("strict") channel reply k must answer message k; elsewhere each
 * echo only has to be self-consistent (size in the list, pattern intact) and
 * each ack must match some message sent so far.
 */
#ifndef PM_CLI_PEER_TRAFFIC_H
#define PM_CLI_PEER_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pm_cli_traffic {
    const size_t *sizes; /* borrowed, size_count entries */
    size_t size_count;
    bool text;
    unsigned period;  /* 256 (binary) or 95 (text) */
    unsigned first;   /* byte value of pattern offset 0: 0 or ' ' */
    uint8_t *pattern; /* largest size + period bytes; message i starts at i % period */
    uint32_t *crc;    /* CRC-32 of message i, by (i % size_count, i % period), once known */
    uint8_t *crc_known;
} pm_cli_traffic;

/** Build the pattern. PM_ERR_NOMEM or PM_ERR_INVALID (no sizes). */
int pm_cli_traffic_init(pm_cli_traffic *t, const size_t *sizes, size_t size_count, bool text);
void pm_cli_traffic_free(pm_cli_traffic *t);

size_t pm_cli_traffic_size(const pm_cli_traffic *t, uint64_t i);
/** Payload of message i (pm_cli_traffic_size(t, i) bytes), borrowed from t. */
const uint8_t *pm_cli_traffic_payload(const pm_cli_traffic *t, uint64_t i);

/**
 * Check reply number k, `sent` messages having been sent on its channel.
 * Returns true when acceptable; otherwise writes the reason into err (cap
 * bytes) and returns false.
 */
bool pm_cli_traffic_check_reply(pm_cli_traffic *t, uint64_t k, uint64_t sent, bool strict,
                                const uint8_t *data, size_t len, bool is_string, char *err,
                                size_t cap);

/** CRC-32 (ISO-HDLC, as zlib's crc32) of n bytes. */
uint32_t pm_cli_crc32(const uint8_t *data, size_t n);

/** Write the ack of a received message, "ack:<len>:<crc32>", into out; its length. */
size_t pm_cli_traffic_format_ack(const uint8_t *data, size_t len, char *out, size_t cap);

/** Parse "ack:<decimal>:<8 hex digits>"; false if `data` is not exactly that. */
bool pm_cli_traffic_parse_ack(const uint8_t *data, size_t len, uint64_t *bytes, uint32_t *crc);

#endif
