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
    if (!t->pattern)
        return PM_ERR_NOMEM;
    for (size_t k = 0; k < largest + t->period; k++)
        t->pattern[k] = (uint8_t)(t->first + k % t->period);
    return PM_OK;
}

void pm_cli_traffic_free(pm_cli_traffic *t)
{
    free(t->pattern);
    t->pattern = NULL;
}

size_t pm_cli_traffic_size(const pm_cli_traffic *t, uint64_t i)
{
    return t->sizes[i % t->size_count];
}

const uint8_t *pm_cli_traffic_payload(const pm_cli_traffic *t, uint64_t i)
{
    return t->pattern + i % t->period;
}

bool pm_cli_traffic_parse_ack(const uint8_t *data, size_t len, uint64_t *bytes)
{
    if (len <= ACK_PREFIX_LEN || len > ACK_PREFIX_LEN + ACK_MAX_DIGITS ||
        memcmp(data, ACK_PREFIX, ACK_PREFIX_LEN) != 0)
        return false;
    uint64_t v = 0;
    for (size_t k = ACK_PREFIX_LEN; k < len; k++) {
        if (data[k] < '0' || data[k] > '9')
            return false;
        v = v * 10 + (uint64_t)(data[k] - '0');
    }
    *bytes = v;
    return true;
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

bool pm_cli_traffic_check_reply(const pm_cli_traffic *t, uint64_t k, bool strict,
                                const uint8_t *data, size_t len, bool is_string, char *err,
                                size_t cap)
{
    bool is_ack =
        is_string && len >= ACK_PREFIX_LEN && memcmp(data, ACK_PREFIX, ACK_PREFIX_LEN) == 0;
    uint64_t n = len;
    if (is_ack && !pm_cli_traffic_parse_ack(data, len, &n)) {
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
    return true;
}
