/*
 * The platform's defaults in the WebAssembly build (what src/io/env_default.c
 * and clock.c are natively; base/env.c resolves with them): malloc, the page's monotonic clock
 * (performance.now), crypto.getRandomValues, and the browser console, each
 * level to its console method (errors to console.error).
 */
#include "base/base.h"

#include <emscripten.h>
#include <stdlib.h>
#include <unistd.h>

pm_time pm_now(void)
{
    return (pm_time)(emscripten_get_now() * 1000.0);
}

static void *web_alloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void *web_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n);
}

static void web_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static pm_time web_now(void *ud)
{
    (void)ud;
    return pm_now();
}

/* emscripten's getentropy is crypto.getRandomValues, at most 256 bytes a call. */
static int web_random(void *ud, uint8_t *buf, size_t len)
{
    (void)ud;
    while (len > 0) {
        size_t n = len < 256 ? len : 256;
        if (getentropy(buf, n) != 0)
            return PM_ERR_IO;
        buf += n;
        len -= n;
    }
    return PM_OK;
}

static void web_log(void *ud, pm_log_level lvl, const char *comp, const char *msg)
{
    (void)ud;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    int flags = lvl == PM_LOG_ERROR  ? EM_LOG_ERROR
                : lvl == PM_LOG_WARN ? EM_LOG_WARN
                : lvl == PM_LOG_INFO ? EM_LOG_INFO
                                     : EM_LOG_DEBUG;
    emscripten_log(flags | EM_LOG_CONSOLE, "peermesh %s [%s] %s",
                   names[lvl <= PM_LOG_TRACE ? lvl : 4], comp, msg);
}

void pm_env_platform(pm_env *d, const pm_socket_driver **sockets)
{
    memset(d, 0, sizeof *d);
    d->alloc = web_alloc;
    d->realloc = web_realloc;
    d->free = web_free;
    d->now = web_now;
    d->random = web_random;
    d->log = web_log;
    d->log_level = PM_LOG_WARN; /* a page has no environment variables */
    d->log_level_set = true;
    *sockets = NULL; /* the browser owns the sockets */
}

/* common.h: a page never blocks; its loop is the browser's animation frame. */
int pm_wait(int fd, pm_time deadline)
{
    return PM_ERR_UNSUPPORTED;
}
