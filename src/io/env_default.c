/* The platform's defaults for pm_env (base/env.c resolves with them): system
 * allocator, OS clock, OS random, stderr log, and the UDP socket driver. */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>

static void *sys_alloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}
static void *sys_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n);
}
static void sys_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}
static pm_time sys_now(void *ud)
{
    (void)ud;
    return pm_now();
}
static int sys_random(void *ud, uint8_t *buf, size_t len)
{
    (void)ud;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return PM_ERR_IO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return PM_OK;
}
static void sys_log(void *ud, pm_log_level lvl, const char *comp, const char *msg)
{
    (void)ud;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    fprintf(stderr, "peermesh %s [%s] %s\n", names[lvl <= PM_LOG_TRACE ? lvl : 4], comp, msg);
}

static pm_log_level level_from_env(void)
{
    const char *s = getenv("PEERMESH_LOG");
    if (!s)
        return PM_LOG_WARN;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0)
            return (pm_log_level)i;
    return PM_LOG_WARN;
}

void pm_env_platform(pm_env *d, const pm_socket_driver **sockets)
{
    memset(d, 0, sizeof *d);
    d->alloc = sys_alloc;
    d->realloc = sys_realloc;
    d->free = sys_free;
    d->now = sys_now;
    d->random = sys_random;
    d->log = sys_log;
    d->log_level = level_from_env();
    d->log_level_set = true;
    *sockets = &pm_io_udp_driver;
}
