/*
 * Wait sets (base/driver.h): an epoll set that an object hands its user as
 * the one descriptor to sleep on, and pm_wait(), the sleep itself. Level-
 * triggered, so whatever a poll leaves unread keeps the set readable, and a
 * set may sit inside another (the signaling client's holds its mesh's, and
 * its WebSocket's set of changes). The one edge-triggered kind, a set of
 * changes (pm_io_waitset_watch_arrivals), is readable while it holds a
 * change nobody took (pm_io_waitset_drain).
 */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int pm_io_waitset_new(void)
{
    int set = epoll_create1(EPOLL_CLOEXEC);
    return set >= 0 ? set : PM_ERR_IO;
}

void pm_io_waitset_close(int set)
{
    if (set >= 0)
        close(set);
}

int pm_io_waitset_watch(int set, int fd, bool out)
{
    if (set < 0 || fd < 0)
        return PM_ERR_INVALID;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.fd = fd};
    if (epoll_ctl(set, EPOLL_CTL_MOD, fd, &ev) == 0)
        return PM_OK;
    if (errno == ENOENT && epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) == 0)
        return PM_OK;
    return PM_ERR_IO;
}

int pm_io_waitset_watch_arrivals(int set, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
    if (set < 0 || fd < 0)
        return PM_ERR_INVALID;
    return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST ? PM_OK : PM_ERR_IO;
}

int pm_io_waitset_drain(int set)
{
    struct epoll_event ev[16];
    int total = 0, n;
    while ((n = epoll_wait(set, ev, 16, 0)) > 0)
        total += n;
    return total;
}

void pm_io_waitset_forget(int set, int fd)
{
    if (set >= 0 && fd >= 0)
        (void)epoll_ctl(set, EPOLL_CTL_DEL, fd, NULL);
}

int pm_wait(int fd, pm_time deadline)
{
    if (fd < 0 && deadline == PM_TIME_NEVER)
        return PM_ERR_INVALID; /* nothing would ever end the wait */
    struct timespec ts, *span = NULL;
    if (deadline != PM_TIME_NEVER) {
        pm_time left = deadline - pm_now();
        if (left < 0)
            left = 0;
        ts.tv_sec = (time_t)(left / 1000000);
        ts.tv_nsec = (long)(left % 1000000) * 1000;
        span = &ts;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = ppoll(&p, fd >= 0 ? 1 : 0, span, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : PM_ERR_IO;
    if (n > 0 && (p.revents & POLLNVAL))
        return PM_ERR_INVALID;
    return n > 0 ? 1 : 0;
}
