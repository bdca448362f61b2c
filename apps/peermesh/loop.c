/* One poll(2) over many socket-mode peers (see loop.h). */
#define _GNU_SOURCE /* ppoll: poll with a microsecond-capable timeout */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

int pm_cli_loop_init(pm_cli_loop *loop, size_t capacity)
{
    loop->count = 0;
    loop->capacity = capacity;
    loop->peers = calloc(capacity ? capacity : 1, sizeof *loop->peers);
    loop->slots = calloc(capacity + 1, sizeof *loop->slots);
    if (!loop->peers || !loop->slots) {
        pm_cli_loop_destroy(loop);
        return PM_ERR_NOMEM;
    }
    return PM_OK;
}

void pm_cli_loop_destroy(pm_cli_loop *loop)
{
    free(loop->peers);
    free(loop->slots);
    loop->peers = NULL;
    loop->slots = NULL;
    loop->count = loop->capacity = 0;
}

int pm_cli_loop_add(pm_cli_loop *loop, pm_rtc_peer *pc)
{
    if (loop->count == loop->capacity)
        return PM_ERR_FULL;
    loop->peers[loop->count++] = pc;
    return PM_OK;
}

void pm_cli_loop_clear(pm_cli_loop *loop)
{
    loop->count = 0;
}

pm_time pm_cli_loop_next_timeout(const pm_cli_loop *loop)
{
    pm_time earliest = PM_TIME_NEVER;
    for (size_t i = 0; i < loop->count; i++) {
        pm_time t = pm_rtc_peer_next_timeout(loop->peers[i]);
        if (t < earliest)
            earliest = t;
    }
    return earliest;
}

/* NULL means "no limit"; a deadline already passed becomes a zero wait. */
static const struct timespec *wait_span(pm_time until, struct timespec *ts)
{
    if (until == PM_TIME_NEVER)
        return NULL;
    pm_time left = until - pm_now();
    if (left < 0)
        left = 0;
    ts->tv_sec = (time_t)(left / 1000000);
    ts->tv_nsec = (long)(left % 1000000) * 1000;
    return ts;
}

static nfds_t fill_slots(pm_cli_loop *loop, int extra_fd)
{
    nfds_t n = 0;
    for (size_t i = 0; i < loop->count; i++) {
        /* A negative fd (closed peer) is ignored by poll(2) itself. */
        loop->slots[n++] = (struct pollfd){.fd = pm_rtc_peer_fd(loop->peers[i]), .events = POLLIN};
    }
    loop->slots[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
    return n;
}

int pm_cli_loop_wait(pm_cli_loop *loop, int extra_fd, pm_time deadline, bool *extra_ready)
{
    pm_time until = pm_cli_loop_next_timeout(loop);
    if (deadline < until)
        until = deadline;
    struct timespec ts;
    const struct timespec *span = wait_span(until, &ts);
    nfds_t n = fill_slots(loop, extra_fd);
    int rc = ppoll(loop->slots, n, span, NULL);
    if (extra_ready)
        *extra_ready = rc > 0 && extra_fd >= 0 &&
                       (loop->slots[n - 1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
    if (rc < 0 && errno != EINTR)
        return PM_ERR_IO;
    return PM_OK;
}

int pm_cli_wait(int fd, int extra_fd, pm_time deadline, bool *extra_ready)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = extra_fd, .events = POLLIN}};
    struct timespec ts;
    int rc = ppoll(p, 2, wait_span(deadline, &ts), NULL);
    if (extra_ready)
        *extra_ready =
            rc > 0 && extra_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
    if (rc < 0 && errno != EINTR)
        return PM_ERR_IO;
    return PM_OK;
}
