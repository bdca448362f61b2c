/* Allocation, random and logging helpers over a resolved environment. */
#include "base.h"

#include <stdio.h>

void pm_env_resolve(pm_envr *out, const pm_env *in)
{
    pm_env sys;
    pm_env_platform(&sys, &out->sockets);
    pm_env e;
    if (in)
        e = *in;
    else
        memset(&e, 0, sizeof e);
    if (!e.alloc || !e.realloc || !e.free) {
        e.alloc = sys.alloc;
        e.realloc = sys.realloc;
        e.free = sys.free;
        e.alloc_ud = sys.alloc_ud;
    }
    if (!e.now) {
        e.now = sys.now;
        e.clock_ud = sys.clock_ud;
    }
    if (!e.random) {
        e.random = sys.random;
        e.random_ud = sys.random_ud;
    }
    if (!e.log) {
        e.log = sys.log;
        e.log_ud = sys.log_ud;
    }
    if (!e.log_level_set) {
        e.log_level = sys.log_level;
        e.log_level_set = true;
    }
    out->e = e;
}

void *pm_calloc(const pm_envr *env, size_t n)
{
    void *p = pm_alloc(env, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

char *pm_strndup(const pm_envr *env, const char *s, size_t n)
{
    char *d = pm_alloc(env, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *pm_strdup(const pm_envr *env, const char *s)
{
    return s ? pm_strndup(env, s, strlen(s)) : NULL;
}

int pm_random(const pm_envr *env, void *buf, size_t len)
{
    return env->e.random(env->e.random_ud, buf, len);
}

uint32_t pm_random_u32(const pm_envr *env)
{
    uint8_t b[4] = {0};
    (void)pm_random(env, b, sizeof b);
    return pm_rd32(b);
}

uint64_t pm_random_u64(const pm_envr *env)
{
    uint8_t b[8] = {0};
    (void)pm_random(env, b, sizeof b);
    return pm_rd64(b);
}

void pm_random_ice_chars(const pm_envr *env, char *out, size_t n)
{
    /* RFC 8839 ice-char = ALPHA / DIGIT / "+" / "/"; 64 symbols, so a byte
     * masked to 6 bits is uniform. */
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t rnd[256];
    if (n > sizeof rnd)
        n = sizeof rnd;
    (void)pm_random(env, rnd, n);
    for (size_t i = 0; i < n; i++)
        out[i] = set[rnd[i] & 63];
    out[n] = '\0';
}

void pm_log(const pm_envr *env, pm_log_level lvl, const char *comp, const char *fmt, ...)
{
    if (lvl > env->e.log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->e.log(env->e.log_ud, lvl, comp, msg);
}
