/*
 * Throughput with the sender and the receiver on their own threads.
 *
 * Each pm_rtc_peer stays on one thread for the whole run (the library's
 * contract: an object is used by one thread at a time); the two peers share
 * only process-wide state the library makes thread-safe (usrsctp, OpenSSL).
 * This is how two endpoints run in practice: never on one core.
 */
#include "bench_threads.h"

#include "cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

typedef struct receiver {
    pm_rtc_peer *peer;
    pm_rtc_channel *ch;
    atomic_bool stop;
    atomic_uint_least64_t bytes; /* since first_rx */
    _Atomic pm_time first_rx;    /* 0 until the first message */
    int rc;
} receiver;

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    pm_cli_loop loop;
    if (pm_cli_loop_init(&loop, 1) < 0 || pm_cli_loop_add(&loop, r->peer) < 0) {
        r->rc = PM_ERR_NOMEM;
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        pm_rtc_peer_poll(r->peer);
        pm_rtc_event ev;
        while (pm_rtc_peer_next_event(r->peer, &ev))
            if (ev.type == PM_RTC_EVENT_STATE &&
                (ev.state == PM_RTC_STATE_FAILED || ev.state == PM_RTC_STATE_CLOSED))
                r->rc = PM_ERR_CLOSED;
        uint64_t got = 0;
        int taken = pm_cli_link_drain(r->ch, 1 << 20, &got);
        if (taken > 0 && atomic_load(&r->first_rx) == 0) {
            /* The window opens with the first arrival: it is not counted. */
            atomic_store(&r->first_rx, pm_now());
            got = 0;
        }
        atomic_fetch_add(&r->bytes, got);
        if (taken == 0)
            pm_cli_loop_wait(&loop, -1, pm_now() + PM_MS(5), NULL);
    }
    pm_cli_loop_destroy(&loop);
    return NULL;
}

/* One sender iteration: poll, react to events, keep the buffer topped up. */
static int send_step(pm_cli_link *link, pm_cli_loop *loop, const uint8_t *message, size_t len)
{
    pm_rtc_peer *peer = link->pair.peer[PM_CLI_OFFERER];
    pm_rtc_channel *tx = link->ch[PM_CLI_OFFERER];
    pm_rtc_peer_poll(peer);
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(peer, &ev)) {
        if (ev.type == PM_RTC_EVENT_BUFFERED_AMOUNT_LOW && ev.channel == tx)
            link->paused = false;
        if (ev.type == PM_RTC_EVENT_STATE &&
            (ev.state == PM_RTC_STATE_FAILED || ev.state == PM_RTC_STATE_CLOSED))
            return PM_ERR_CLOSED;
    }
    bool queued = false;
    while (pm_cli_may_queue(tx, &link->paused, len)) {
        int rc = pm_rtc_channel_put_packet(tx, message, len);
        if (rc < 0)
            return rc;
        queued = true;
    }
    if (!queued)
        return pm_cli_loop_wait(loop, -1, pm_now() + PM_MS(5), NULL);
    return PM_OK;
}

int pm_cli_throughput_threaded(pm_cli_link *link, const uint8_t *message, size_t len, pm_time span,
                               uint64_t *bytes, pm_time *window)
{
    receiver r = {.peer = link->pair.peer[PM_CLI_ANSWERER], .ch = link->ch[PM_CLI_ANSWERER]};
    pm_cli_loop loop;
    if (pm_cli_loop_init(&loop, 1) < 0 ||
        pm_cli_loop_add(&loop, link->pair.peer[PM_CLI_OFFERER]) < 0)
        return PM_ERR_NOMEM;
    pm_rtc_channel_set_buffered_amount_low_threshold(link->ch[PM_CLI_OFFERER], PM_CLI_LOW_WATER);
    pthread_t tid;
    if (pthread_create(&tid, NULL, receiver_main, &r) != 0) {
        pm_cli_loop_destroy(&loop);
        return PM_ERR_NOMEM;
    }
    int rc = PM_OK;
    pm_time deadline = pm_now() + span + PM_SEC(10);
    pm_time first = 0, end = 0;
    uint64_t got = 0;
    while (rc == PM_OK && r.rc == PM_OK) {
        first = atomic_load(&r.first_rx);
        end = pm_now();
        got = atomic_load(&r.bytes); /* read together with `end` */
        if (first != 0 && end - first >= span)
            break;
        if (end >= deadline) {
            rc = PM_ERR_TIMEOUT;
            break;
        }
        rc = send_step(link, &loop, message, len);
    }
    *bytes = got;
    *window = end - first;
    atomic_store(&r.stop, true);
    pthread_join(tid, NULL);
    pm_cli_loop_destroy(&loop);
    return rc != PM_OK ? rc : r.rc;
}
