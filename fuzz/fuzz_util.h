/*
 * fuzz_util.h — what several fuzz targets share: a seeded xorshift random
 * source and a silent log sink for pm_env, and a reader that takes bytes
 * from the input (zeros once it runs out).
 */
#ifndef PM_FUZZ_UTIL_H
#define PM_FUZZ_UTIL_H

#include "peermesh/common.h"

#include <string.h>

static uint64_t fuzz_rng_state;

/* pm_env.random: reproducible for a given fuzz_rng_state. */
static inline int fuzz_random(void *ud, uint8_t *buf, size_t len)
{
    (void)ud;
    for (size_t i = 0; i < len; i++) {
        fuzz_rng_state ^= fuzz_rng_state << 13;
        fuzz_rng_state ^= fuzz_rng_state >> 7;
        fuzz_rng_state ^= fuzz_rng_state << 17;
        buf[i] = (uint8_t)fuzz_rng_state;
    }
    return PM_OK;
}

/* pm_env.log: every line is formatted (log_level decides), none is kept. */
static inline void fuzz_log(void *ud, pm_log_level level, const char *component, const char *msg)
{
    (void)ud;
    (void)level;
    (void)component;
    (void)msg;
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static inline uint8_t rd8(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static inline uint16_t rd16(reader *r)
{
    uint16_t hi = rd8(r);
    return (uint16_t)(hi << 8 | rd8(r));
}

/* Up to `want` bytes: *out points at them, the count is returned. */
static inline size_t take(reader *r, size_t want, const uint8_t **out)
{
    size_t n = want < r->n ? want : r->n;
    *out = r->p;
    r->p += n;
    r->n -= n;
    return n;
}

#endif
