/*
 * Simulation: two sans-I/O peer connections (a) through a TURN relay only
 * (tests/support/turnsim.c on the simnet), (b) following the other side to
 * its new address when its NAT rebinds mid-transfer, without a restart,
 * and (c) recovering with an ICE restart after an outage during which one
 * side's address changed, from DISCONNECTED and from FAILED. The reliable
 * ordered channel must deliver every message once, in order.
 */
#include "rtcpair.h"
#include "turnsim.h"

#include <stdio.h>

#define TURN_URL "turn:192.0.2.10:3478"

static void relay_only_cfg(pm_rtc_config *cfg, int side, void *ud)
{
    (void)side;
    cfg->ice_servers = ud;
    cfg->ice_server_count = 1;
    cfg->ice_transport_policy = PM_RTC_ICE_POLICY_RELAY;
}

/* ---- a numbered stream of messages on one channel ---- */

typedef struct transfer {
    pm_rtc_channel *tx, *rx;
    uint32_t total, sent, got;
    bool out_of_order;
} transfer;

static void pump_transfer(transfer *t)
{
    uint8_t msg[600];
    while (t->tx && t->sent < t->total &&
           pm_rtc_channel_get_ready_state(t->tx) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_buffered_amount(t->tx) < 64 * 1024) {
        memset(msg, (int)(t->sent & 0xff), sizeof msg);
        pm_wr32(msg, t->sent);
        assert_int_equal(pm_rtc_channel_put_packet(t->tx, msg, sizeof msg), PM_OK);
        t->sent++;
    }
    const uint8_t *d;
    size_t n;
    while (t->rx && pm_rtc_channel_get_packet(t->rx, &d, &n) == PM_OK) {
        assert_int_equal(n, 600);
        if (pm_rd32(d) != t->got)
            t->out_of_order = true;
        t->got++;
    }
}

static bool transfer_step(pm_test_pair *p, void *ud)
{
    transfer *t = ud;
    if (!t->rx)
        t->rx = pm_test_pair_channel(p, 1, "data");
    pump_transfer(t);
    return false;
}

typedef struct waiter {
    transfer *t;
    bool (*done)(pm_test_pair *p, transfer *t);
} waiter;

static bool wait_step(pm_test_pair *p, void *ud)
{
    waiter *w = ud;
    transfer_step(p, w->t);
    return w->done(p, w->t);
}

static bool run_until(pm_test_pair *p, transfer *t, bool (*done)(pm_test_pair *, transfer *),
                      pm_time timeout)
{
    waiter w = {t, done};
    return pm_test_pair_run(p, wait_step, &w, timeout);
}

static bool channel_open(pm_test_pair *p, transfer *t)
{
    (void)t;
    return p->opens[0] >= 1 && p->opens[1] >= 1;
}

static bool half_done(pm_test_pair *p, transfer *t)
{
    (void)p;
    return t->got >= t->total / 3;
}

static bool all_received(pm_test_pair *p, transfer *t)
{
    (void)p;
    return t->got == t->total;
}

static bool any_disconnected(pm_test_pair *p, transfer *t)
{
    (void)t;
    return p->states[0][PM_RTC_STATE_DISCONNECTED] || p->states[1][PM_RTC_STATE_DISCONNECTED];
}

/* The side that did not move stops hearing the other and its consent
 * expires; the moved side still hears answers to its own requests. */
static bool any_failed(pm_test_pair *p, transfer *t)
{
    (void)t;
    return p->states[0][PM_RTC_STATE_FAILED] || p->states[1][PM_RTC_STATE_FAILED];
}

static void start_transfer(pm_test_pair *p, transfer *t, uint32_t total)
{
    memset(t, 0, sizeof *t);
    t->total = total;
    assert_int_equal(pm_rtc_peer_create_channel(p->pc[0], "data", NULL, &t->tx), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p->pc[0]), PM_OK);
    assert_true(run_until(p, t, channel_open, PM_SEC(10)));
}

/* (a) Both sides relay-only through one TURN server. */
static void relay_only(void **st)
{
    (void)st;
    pm_turnsim_config tc = {.realm = "sim.test", .user = "u", .pass = "p"};
    pm_addr_parse(&tc.server, "192.0.2.10", 3478);
    pm_addr_parse(&tc.relay_ip, "192.0.2.10", 50000);
    pm_turnsim *ts = pm_turnsim_new(&tc);
    const char *urls[] = {TURN_URL};
    pm_ice_server server = {urls, 1, "u", "p"};
    pm_test_pair p;
    pm_sim_link link = {.delay_min = PM_MS(5), .delay_max = PM_MS(6)};
    pm_test_pair_init_with(&p, 71, &link, relay_only_cfg, &server);
    pm_turnsim_attach(ts, p.net);
    transfer t;
    start_transfer(&p, &t, 2000);
    assert_true(run_until(&p, &t, all_received, PM_SEC(30)));
    assert_false(t.out_of_order);
    for (int s = 0; s < 2; s++) {
        pm_rtc_candidate_pair cp;
        assert_int_equal(pm_rtc_peer_get_selected_pair(p.pc[s], &cp), PM_OK);
        assert_int_equal(cp.local_type, PM_RTC_CANDIDATE_RELAY);
        assert_int_equal(cp.remote_type, PM_RTC_CANDIDATE_RELAY);
        assert_string_equal(cp.relay_protocol, "udp");
        assert_int_equal(cp.local.port >= 50000 && cp.local.port < 50008, 1);
        assert_true(cp.rtt > 0);
    }
    pm_turnsim_stats s = pm_turnsim_get_stats(ts);
    assert_int_equal(s.allocations, 2);
    assert_int_equal(s.dropped_no_permission, 0);
    /* The bulk went as ChannelData, both ways. */
    assert_true(s.channel_data_in > 1000 && s.channel_data_out > 1000);
    print_message("relay-only: %d ChannelData in, %d out, %d Send indications\n", s.channel_data_in,
                  s.channel_data_out, s.send_indications);
    for (int i = 0; i < 2; i++)
        pm_rtc_peer_close(p.pc[i]);
    pm_test_pair_run(&p, NULL, NULL, PM_MS(100));
    assert_int_equal(pm_turnsim_get_stats(ts).deallocations, 2);
    pm_test_pair_free(&p);
    pm_turnsim_free(ts);
}

/* (b) One side's NAT rebinds mid-transfer (its address changes): the other
 * side stops hearing answers on its selected pair but hears the mover's
 * checks and data from the new address, and follows it there (consent.c):
 * no restart, every message once and in order. mover 0 is the offerer
 * (controlling), 1 the answerer (controlled). */
static void rebinding_followed(int mover, uint64_t seed)
{
    pm_test_pair p;
    pm_sim_link link = {.delay_min = PM_MS(10), .delay_max = PM_MS(12)};
    pm_test_pair_init(&p, seed, &link);
    transfer t;
    start_transfer(&p, &t, 6000);
    assert_true(run_until(&p, &t, half_done, PM_SEC(30)));
    pm_addr moved;
    pm_addr_parse(&moved, "127.0.0.3", 40000);
    pm_simnet_move(p.net, p.ep[mover], &moved);
    pm_time cut = pm_test_clock_now;
    assert_true(run_until(&p, &t, all_received, PM_SEC(60)));
    print_message("rebinding of side %d: all %u messages %.1f s after it (%d DISCONNECTED)\n",
                  mover, t.total, (double)(pm_test_clock_now - cut) / 1e6,
                  p.states[0][PM_RTC_STATE_DISCONNECTED] + p.states[1][PM_RTC_STATE_DISCONNECTED]);
    assert_false(t.out_of_order);
    pm_test_pair_run(&p, transfer_step, &t, PM_SEC(40)); /* longer than consent's 30 s */
    assert_int_equal(t.got, t.total);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(p.states[s][PM_RTC_STATE_FAILED], 0);
        assert_int_equal(pm_rtc_peer_get_state(p.pc[s]), PM_RTC_STATE_CONNECTED);
    }
    pm_rtc_candidate_pair cp;
    assert_int_equal(pm_rtc_peer_get_selected_pair(p.pc[1 - mover], &cp), PM_OK);
    assert_true(pm_addr_equal(&cp.remote, &moved));
    assert_int_equal(cp.remote_type, PM_RTC_CANDIDATE_PRFLX);
    assert_int_equal(p.closes[0] + p.closes[1], 0);
    pm_test_pair_free(&p);
}

static void rebinding_of_offerer(void **st)
{
    (void)st;
    rebinding_followed(0, 75);
}

static void rebinding_of_answerer(void **st)
{
    (void)st;
    rebinding_followed(1, 76);
}

/* (c) The network goes away mid-transfer until the link is DISCONNECTED
 * (or, waiting longer, FAILED), and when it comes back A has a new address
 * (its NAT forgot the mapping meanwhile). Consent cannot come back to the
 * old pair: A restarts ICE and the same channel finishes the transfer. */
static void restart_after_outage(bool wait_for_failed)
{
    pm_test_pair p;
    pm_sim_link link = {.delay_min = PM_MS(10), .delay_max = PM_MS(12)};
    pm_test_pair_init(&p, wait_for_failed ? 73 : 72, &link);
    transfer t;
    start_transfer(&p, &t, 6000);
    assert_true(run_until(&p, &t, half_done, PM_SEC(30)));
    pm_sim_link down = link;
    down.loss = 1.0;
    pm_simnet_set_link(p.net, &down);
    pm_time cut = pm_test_clock_now;
    assert_true(run_until(&p, &t, wait_for_failed ? any_failed : any_disconnected, PM_SEC(60)));
    print_message("link lost: %s after %.1f s, %u of %u delivered\n",
                  wait_for_failed ? "FAILED" : "DISCONNECTED",
                  (double)(pm_test_clock_now - cut) / 1e6, t.got, t.total);
    assert_true(t.got < t.total);
    assert_int_equal(pm_rtc_channel_get_ready_state(t.tx), PM_RTC_CHANNEL_OPEN);
    pm_addr moved;
    pm_addr_parse(&moved, "127.0.0.3", 40000);
    pm_simnet_move(p.net, p.ep[0], &moved);
    pm_simnet_set_link(p.net, &link);
    pm_time restart = pm_test_clock_now;
    assert_int_equal(pm_rtc_peer_restart_ice(p.pc[0]), PM_OK);
    assert_int_equal(pm_rtc_peer_restart_ice(p.pc[0]), PM_ERR_STATE); /* offer outstanding */
    assert_true(run_until(&p, &t, all_received, PM_SEC(60)));
    print_message("restart: all %u messages %.1f s after it\n", t.total,
                  (double)(pm_test_clock_now - restart) / 1e6);
    assert_false(t.out_of_order);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(pm_rtc_peer_get_state(p.pc[s]), PM_RTC_STATE_CONNECTED);
        assert_int_equal(pm_rtc_peer_get_signaling_state(p.pc[s]), PM_RTC_SIGNALING_STABLE);
    }
    pm_rtc_candidate_pair cp;
    assert_int_equal(pm_rtc_peer_get_selected_pair(p.pc[1], &cp), PM_OK);
    assert_true(pm_addr_equal(&cp.remote, &moved)); /* learned from A's checks */
    assert_int_equal(cp.remote_type, PM_RTC_CANDIDATE_PRFLX);
    assert_int_equal(p.closes[0] + p.closes[1], 0);
    /* Nothing more arrives: every message exactly once. */
    pm_test_pair_run(&p, transfer_step, &t, PM_SEC(2));
    assert_int_equal(t.got, t.total);
    pm_test_pair_free(&p);
}

static void restart_from_disconnected(void **st)
{
    (void)st;
    restart_after_outage(false);
}

static void restart_from_failed(void **st)
{
    (void)st;
    restart_after_outage(true);
}

/* Restart rules: only once negotiated and stable; the answering side
 * accepts a re-offer without a restart (same credentials) unchanged. */
static void restart_rules(void **st)
{
    (void)st;
    pm_test_pair p;
    pm_test_pair_init(&p, 74, NULL);
    assert_int_equal(pm_rtc_peer_restart_ice(p.pc[0]), PM_ERR_STATE); /* not negotiated */
    transfer t;
    start_transfer(&p, &t, 10);
    assert_int_equal(pm_rtc_peer_restart_ice(NULL), PM_ERR_INVALID);
    /* The answerer may restart too. */
    assert_int_equal(pm_rtc_peer_restart_ice(p.pc[1]), PM_OK);
    assert_true(run_until(&p, &t, all_received, PM_SEC(10)));
    pm_test_pair_run(&p, transfer_step, &t, PM_SEC(1));
    for (int s = 0; s < 2; s++)
        assert_int_equal(pm_rtc_peer_get_state(p.pc[s]), PM_RTC_STATE_CONNECTED);
    pm_rtc_peer_close(p.pc[0]);
    assert_int_equal(pm_rtc_peer_restart_ice(p.pc[0]), PM_ERR_CLOSED);
    pm_test_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relay_only),
        cmocka_unit_test(rebinding_of_offerer),
        cmocka_unit_test(rebinding_of_answerer),
        cmocka_unit_test(restart_from_disconnected),
        cmocka_unit_test(restart_from_failed),
        cmocka_unit_test(restart_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
