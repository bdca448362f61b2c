/* Measurements on one link (bench_measure.h). */
#include "bench_measure.h"

#include "cli.h"

#include <stdio.h>
#include <string.h>

/* ---- link helpers ---- */

int pm_cli_open_link(pm_cli_link *link, pm_cli_loop *loop, const pm_rtc_config *cfg)
{
    return pm_cli_open_link_rewritten(link, loop, cfg, NULL, NULL);
}

int pm_cli_open_link_rewritten(pm_cli_link *link, pm_cli_loop *loop, const pm_rtc_config *cfg,
                               pm_cli_candidate_fn rewrite, void *rewrite_ud)
{
    int rc = pm_cli_link_new_cfg(link, cfg);
    if (rc < 0)
        return rc;
    link->pair.rewrite = rewrite;
    link->pair.rewrite_ud = rewrite_ud;
    pm_cli_loop_clear(loop);
    rc = pm_cli_pair_watch(&link->pair, loop);
    if (rc == PM_OK)
        rc = pm_cli_links_open(link, 1, loop, pm_now() + OPEN_TIMEOUT);
    if (rc < 0) {
        fprintf(stderr, "peermesh bench: connecting a pair failed: %s\n", pm_strerror(rc));
        pm_cli_link_free(link);
        pm_cli_loop_clear(loop);
    }
    return rc;
}

void pm_cli_close_link(pm_cli_link *link, pm_cli_loop *loop)
{
    pm_cli_loop_clear(loop);
    pm_cli_link_free(link);
}

/* ---- throughput ---- */

/* Keep the sender's buffer topped up: 1 when the budget (not the window) stopped us, 0, or <0. */
static int top_up(pm_cli_link *link, const uint8_t *message, size_t size)
{
    pm_rtc_channel *tx = link->ch[PM_CLI_OFFERER];
    for (size_t queued = 0; queued < SEND_BUDGET; queued += size) {
        if (!pm_cli_may_queue(tx, &link->paused, size))
            return 0;
        int rc = pm_rtc_channel_put_packet(tx, message, size);
        if (rc < 0)
            return rc;
    }
    return 1;
}

static int throughput_step(pm_cli_link *link, pm_cli_throughput *st, pm_cli_loop *loop,
                           pm_time deadline)
{
    int events = pm_cli_link_step(link);
    if (events < 0)
        return events;
    int sending = top_up(link, st->message, st->size);
    if (sending < 0)
        return sending;
    int taken = pm_cli_link_drain(link->ch[PM_CLI_ANSWERER], RECEIVE_BUDGET, &st->bytes);
    if (taken < 0)
        return taken;
    if (taken > 0 && st->first_rx == 0) {
        /* The window opens with the first arrival: what came with it is not counted. */
        st->first_rx = pm_now();
        st->bytes = 0;
    }
    if (events == 0 && sending == 0 && taken == 0)
        return pm_cli_loop_wait(loop, -1, deadline, NULL);
    return PM_OK;
}

/* Stream for `span` from the first arrival on; st->bytes/first_rx say what arrived. */
int pm_cli_measure_throughput(pm_cli_link *link, pm_cli_loop *loop, pm_cli_throughput *st,
                              pm_time span)
{
    pm_rtc_channel_set_buffered_amount_low_threshold(link->ch[PM_CLI_OFFERER], PM_CLI_LOW_WATER);
    pm_time deadline = pm_now() + span + OPEN_TIMEOUT;
    int rc = PM_OK;
    while (rc == PM_OK && (st->first_rx == 0 || pm_now() - st->first_rx < span)) {
        if (pm_now() >= deadline)
            return PM_ERR_TIMEOUT;
        rc = throughput_step(link, st, loop, deadline);
    }
    st->stopped = pm_now();
    return rc;
}

/* ---- latency ---- */

/* The answerer sends back everything it received: how many, or a negative pm_err. */
static int echo_all(pm_rtc_channel *ch)
{
    for (int echoed = 0;; echoed++) {
        const uint8_t *data;
        size_t len;
        int rc = pm_rtc_channel_get_packet(ch, &data, &len);
        if (rc == PM_ERR_AGAIN)
            return echoed;
        if (rc == PM_OK)
            rc = pm_rtc_channel_put_packet(ch, data, len);
        if (rc < 0)
            return rc;
    }
}

/* One ping from the offerer, echoed by the answerer in the same loop. */
static int round_trip(pm_cli_link *link, pm_cli_loop *loop, const uint8_t *ping, pm_time *rtt)
{
    pm_time sent_at = pm_now();
    pm_time deadline = sent_at + ECHO_TIMEOUT;
    int rc = pm_rtc_channel_put_packet(link->ch[PM_CLI_OFFERER], ping, LATENCY_MESSAGE);
    while (rc >= 0) {
        int events = pm_cli_link_step(link);
        int echoed = events < 0 ? events : echo_all(link->ch[PM_CLI_ANSWERER]);
        if (echoed < 0)
            return echoed;
        const uint8_t *data;
        size_t len;
        rc = pm_rtc_channel_get_packet(link->ch[PM_CLI_OFFERER], &data, &len);
        if (rc == PM_OK) {
            *rtt = pm_now() - sent_at;
            return len == LATENCY_MESSAGE && memcmp(data, ping, len) == 0 ? PM_OK : PM_ERR_PARSE;
        }
        if (rc != PM_ERR_AGAIN)
            return rc;
        if (pm_now() >= deadline)
            return PM_ERR_TIMEOUT;
        rc = events == 0 && echoed == 0 ? pm_cli_loop_wait(loop, -1, deadline, NULL) : PM_OK;
    }
    return rc;
}

/* A recognisable ping: the sequence number, then filler that changes per ping. */
static void fill_ping(uint8_t *ping, uint32_t seq)
{
    memset(ping, (int)(seq & 0xff), LATENCY_MESSAGE);
    for (int k = 0; k < 4; k++)
        ping[k] = (uint8_t)(seq >> (24 - 8 * k));
}

int pm_cli_measure_latency(pm_cli_link *link, pm_cli_loop *loop, double seconds, pm_time *samples,
                           size_t *count)
{
    uint8_t ping[LATENCY_MESSAGE];
    pm_time stop = pm_now() + (pm_time)(seconds * 1e6);
    *count = 0;
    for (uint32_t i = 0; *count < LATENCY_SAMPLES && pm_now() < stop; i++) {
        fill_ping(ping, i);
        pm_time rtt = 0;
        int rc = round_trip(link, loop, ping, &rtt);
        if (rc < 0)
            return rc;
        if (i >= LATENCY_WARMUP)
            samples[(*count)++] = rtt;
    }
    return *count > 0 ? PM_OK : PM_ERR_TIMEOUT;
}
