/*
 * loop.h — sleep until one of several socket-mode peers has work.
 *
 * The library never blocks; it exposes each peer's UDP socket
 * (pm_rtc_peer_fd) and its next deadline (pm_rtc_peer_next_timeout). This
 * helper waits on all of them with one poll(2) call, plus one optional extra
 * descriptor (stdin for `peermesh peer`). Driving the peers (pm_rtc_peer_poll)
 * stays with the caller, so one thread can run any number of peers.
 */
#ifndef PM_CLI_LOOP_H
#define PM_CLI_LOOP_H

#include "peermesh/rtc.h"

#include <stdbool.h>
#include <stddef.h>

struct pollfd;

typedef struct pm_cli_loop {
    pm_rtc_peer **peers; /* borrowed handles, polled in this order */
    size_t count;
    size_t capacity;
    struct pollfd *slots; /* capacity + 1 entries: the peers, then the extra fd */
} pm_cli_loop;

/** Prepare a loop for up to `capacity` peers. PM_ERR_NOMEM on failure. */
int pm_cli_loop_init(pm_cli_loop *loop, size_t capacity);
void pm_cli_loop_destroy(pm_cli_loop *loop);

/** Add a peer (borrowed). PM_ERR_FULL when the loop is at capacity. */
int pm_cli_loop_add(pm_cli_loop *loop, pm_rtc_peer *pc);

/** Forget every peer (e.g. before they are freed). */
void pm_cli_loop_clear(pm_cli_loop *loop);

/** The earliest pm_rtc_peer_next_timeout() of the loop's peers. */
pm_time pm_cli_loop_next_timeout(const pm_cli_loop *loop);

/**
 * Wait until a peer's socket is readable, a peer's timer is due, `extra_fd`
 * (or -1) is readable, hung up or invalid, or `deadline` passes — whichever
 * is first. Returns at once when a timer is already due. *extra_ready (may
 * be NULL) tells whether extra_fd needs a read(2). PM_OK, or PM_ERR_IO if
 * poll failed.
 */
int pm_cli_loop_wait(pm_cli_loop *loop, int extra_fd, pm_time deadline, bool *extra_ready);

/**
 * Wait until `fd` (an object's one descriptor, e.g. pm_signal_client_fd) or
 * `extra_fd` (or -1) is readable, or `deadline` passes. *extra_ready as
 * pm_cli_loop_wait. PM_OK, or PM_ERR_IO if poll failed.
 */
int pm_cli_wait(int fd, int extra_fd, pm_time deadline, bool *extra_ready);

#endif
