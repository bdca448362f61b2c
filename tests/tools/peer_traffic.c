/* Interop test traffic: payload pattern and reply checks (see peer_traffic.h). */
#include "peer_traffic.h"

#include "peermesh/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BINARY_PERIOD  256
#define TEXT_PERIOD    95 /* printable ASCII ' '..'~' */
#define TEXT_FIRST     32
#define ACK_PREFIX     "ack:"
#define ACK_PREFIX_LEN 4
#define ACK_MAX_DIGITS 19 /* fits in uint64_t */
#define ACK_CRC_DIGITS 8

int pm_cli_traffic_init(pm_cli_traffic *t, const size_t *sizes, size_t size_count, bool text)
{
    memset(t, 0, sizeof *t);
    if (size_count == 0)
        return PM_ERR_INVALID;
    size_t largest = 0;
    for (size_t i = 0; i < size_count; i++)
        if (sizes[i] > largest)
            largest = sizes[i];
    t->sizes = sizes;
    t->size_count = size_count;
    t->text = text;
    t->period = text ? TEXT_PERIOD : BINARY_PERIOD;
    t->first = text ? TEXT_FIRST : 0;
    t->pattern = malloc(largest + t->period);
    t->crc = calloc(size_count * t->period, sizeof *t->crc);
    t->crc_known = calloc(size_count * t->period, 1);
    if (!t->pattern || !t->crc || !t->crc_known) {
        pm_cli_traffic_free(t);
        return PM_ERR_NOMEM;
    }
    for (size_t k = 0; k < largest + t->period; k++)
        t->pattern[k] = (uint8_t)(t->first + k % t->period);
    return PM_OK;
}

void pm_cli_traffic_free(pm_cli_traffic *t)
{
    free(t->pattern);
    free(t->crc);
    free(t->crc_known);
    t->pattern = NULL;
    t->crc = NULL;
    t->crc_known = NULL;
}

size_t pm_cli_traffic_size(const pm_cli_traffic *t, uint64_t i)
{
    return t->sizes[i % t->size_count];
}

const uint8_t *pm_cli_traffic_payload(const pm_cli_traffic *t, uint64_t i)
{
    return t->pattern + i % t->period;
}

uint32_t pm_cli_crc32(const uint8_t *data, size_t n)
{
    static uint32_t table[256];
    if (!table[1]) /* racy only in the harmless sense: every thread writes the same */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int b = 0; b < 8; b++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

size_t pm_cli_traffic_format_ack(const uint8_t *data, size_t len, char *out, size_t cap)
{
    int n = snprintf(out, cap, ACK_PREFIX "%zu:%08" PRIx32, len, pm_cli_crc32(data, len));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

bool pm_cli_traffic_parse_ack(const uint8_t *data, size_t len, uint64_t *bytes, uint32_t *crc)
{
    if (len < ACK_PREFIX_LEN + 2 + ACK_CRC_DIGITS || memcmp(data, ACK_PREFIX, ACK_PREFIX_LEN) != 0)
        return false;
    size_t digits = len - ACK_PREFIX_LEN - 1 - ACK_CRC_DIGITS;
    if (digits == 0 || digits > ACK_MAX_DIGITS || data[ACK_PREFIX_LEN + digits] != ':')
        return false;
    uint64_t v = 0;
    for (size_t k = ACK_PREFIX_LEN; k < ACK_PREFIX_LEN + digits; k++) {
        if (data[k] < '0' || data[k] > '9')
            return false;
        v = v * 10 + (uint64_t)(data[k] - '0');
    }
    uint32_t c = 0;
    for (size_t k = len - ACK_CRC_DIGITS; k < len; k++) {
        uint8_t h = data[k];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
        if (d < 0)
            return false;
        c = c << 4 | (uint32_t)d;
    }
    *bytes = v;
    *crc = c;
    return true;
}

/* CRC-32 of message i (it depends only on i's size and pattern offset). */
static uint32_t message_crc(pm_cli_traffic *t, uint64_t i)
{
    size_t slot = (size_t)(i % t->size_count) * t->period + (size_t)(i % t->period);
    if (!t->crc_known[slot]) {
        t->crc[slot] = pm_cli_crc32(pm_cli_traffic_payload(t, i), pm_cli_traffic_size(t, i));
        t->crc_known[slot] = 1;
    }
    return t->crc[slot];
}

/* Does an ack of `n` bytes with this CRC answer message k (strict) or any
 * message sent so far (the (size, offset) pairs repeat after size_count x
 * period messages)? */
static bool ack_matches(pm_cli_traffic *t, uint64_t k, uint64_t sent, bool strict, uint64_t n,
                        uint32_t crc)
{
    if (strict)
        return message_crc(t, k) == crc;
    uint64_t distinct = (uint64_t)t->size_count * t->period;
    for (uint64_t i = 0; i < sent && i < distinct; i++)
        if (pm_cli_traffic_size(t, i) == n && message_crc(t, i) == crc)
            return true;
    return false;
}

static bool size_listed(const pm_cli_traffic *t, uint64_t n)
{
    for (size_t i = 0; i < t->size_count; i++)
        if (t->sizes[i] == n)
            return true;
    return false;
}

/* Is `data` a stretch of the pattern? Strict replies must start where message k did. */
static bool pattern_intact(const pm_cli_traffic *t, uint64_t k, bool strict, const uint8_t *data,
                           size_t len)
{
    if (len == 0)
        return true;
    unsigned offset;
    if (strict) {
        offset = (unsigned)(k % t->period);
    } else {
        if (data[0] < t->first || data[0] - t->first >= t->period)
            return false;
        offset = data[0] - t->first;
    }
    return memcmp(data, t->pattern + offset, len) == 0;
}

bool pm_cli_traffic_check_reply(pm_cli_traffic *t, uint64_t k, uint64_t sent, bool strict,
                                const uint8_t *data, size_t len, bool is_string, char *err,
                                size_t cap)
{
    bool is_ack =
        is_string && len >= ACK_PREFIX_LEN && memcmp(data, ACK_PREFIX, ACK_PREFIX_LEN) == 0;
    uint64_t n = len;
    uint32_t crc = 0;
    if (is_ack && !pm_cli_traffic_parse_ack(data, len, &n, &crc)) {
        snprintf(err, cap, "reply %" PRIu64 ": malformed ack \"%.*s\"", k, len > 32 ? 32 : (int)len,
                 (const char *)data);
        return false;
    }
    if (!is_ack && is_string != t->text) {
        snprintf(err, cap, "reply %" PRIu64 ": wrong message type (%s)", k,
                 is_string ? "string" : "binary");
        return false;
    }
    size_t want = pm_cli_traffic_size(t, k);
    if ((strict && n != want) || !size_listed(t, n)) {
        snprintf(err, cap, "reply %" PRIu64 ": size %" PRIu64 ", expected %zu", k, n, want);
        return false;
    }
    if (!is_ack && !pattern_intact(t, k, strict, data, len)) {
        snprintf(err, cap, "reply %" PRIu64 ": payload mismatch", k);
        return false;
    }
    if (is_ack && !ack_matches(t, k, sent, strict, n, crc)) {
        snprintf(err, cap, "reply %" PRIu64 ": ack CRC %08" PRIx32 " matches no message sent", k,
                 crc);
        return false;
    }
    return true;
}
