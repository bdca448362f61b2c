/* Shared helpers for peermesh tests. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

pm_time pm_test_clock_now = 1000000;
bool pm_test_clock_virtual = false;

/* Interpose gettimeofday: OpenSSL (DTLS timers) and usrsctp (RTT samples) read
 * it; with the virtual clock on they see simulated time. Wall-clock time is
 * offset so it is never near the epoch.
 * OpenSSL 3.0.x's DTLS timer (ssl/d1_lib.c get_current_time) calls
 * gettimeofday() through libssl's PLT, so the executable's definition wins,
 * but only if it is exported: the build uses -fvisibility=hidden, hence the
 * explicit default visibility (a hidden definition silently stays local). */
__attribute__((visibility("default"))) int gettimeofday(struct timeval *restrict tv,
                                                        void *restrict tz)
{
    if (pm_test_clock_virtual) {
        pm_time t = pm_test_clock_now + (pm_time)1700000000 * 1000000;
        tv->tv_sec = t / 1000000;
        tv->tv_usec = t % 1000000;
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    (void)tz;
    return 0;
}

uint64_t pm_test_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static pm_time virt_now(void *ud)
{
    (void)ud;
    return pm_test_clock_now;
}

static int seeded_random(void *ud, uint8_t *buf, size_t len)
{
    uint64_t *st = ud;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(pm_test_rand(st) >> 56);
    return PM_OK;
}

static uint64_t seeds[64];
static int nseeds;

void pm_test_env(pm_env *env, uint64_t seed)
{
    memset(env, 0, sizeof *env);
    env->now = virt_now;
    uint64_t *st = &seeds[nseeds++ % 64];
    *st = seed ? seed : 1;
    env->random = seeded_random;
    env->random_ud = st;
}

void pm_test_envr(pm_envr *env, uint64_t seed)
{
    pm_env e;
    pm_test_env(&e, seed);
    pm_env_resolve(env, &e);
}

bool pm_test_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (strcasecmp(ci, "true") == 0 || strcmp(ci, "1") == 0 || strcmp(ci, "yes") == 0);
}

void pm_test_skip(const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (pm_test_ci())
        fail_msg("%s (CI=true: a missing tool or facility is a failure there; "
                 "scripts/install-deps.sh installs what the tests need)",
                 why);
    print_message("SKIP: %s\n", why);
    skip();
    abort(); /* skip() does not return; this tells the compiler so */
}
