/* Default effects for pm_env: system allocator, OS clock, OS random, stderr log,
 * and the UDP socket driver. */
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

void pm_env_resolve(pm_envr *out, const pm_env *in)
{
    pm_env e;
    if (in)
        e = *in;
    else
        memset(&e, 0, sizeof e);
    if (!e.alloc || !e.realloc || !e.free) {
        e.alloc = sys_alloc;
        e.realloc = sys_realloc;
        e.free = sys_free;
        e.alloc_ud = NULL;
    }
    if (!e.now)
        e.now = sys_now;
    if (!e.random)
        e.random = sys_random;
    if (!e.log)
        e.log = sys_log;
    if (!e.log_level_set) {
        e.log_level = level_from_env();
        e.log_level_set = true;
    }
    out->e = e;
    out->sockets = &pm_io_udp_driver;
}
