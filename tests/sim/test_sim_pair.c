/*
 * Simulation: two peer connections over a simulated lossy network on a
 * virtual clock (loss up to 20 %, duplication, jittered delay that reorders).
 * A reliable channel must deliver everything in order; unreliable channels
 * must honour their limits (lose some, never duplicate, never block).
 */
#include "rtcpair.h"

#include <stdio.h>

typedef struct stream_check {
    int next_expected; /* reliable: index of the next message */
    int received;
    uint8_t seen[4096]; /* unreliable: duplicate detection */
    bool bad;
} stream_check;

/* Sizes cover: tiny, one packet, a few fragments, many fragments, empty. */
static size_t msg_size(int i)
{
    static const size_t sizes[] = {1, 100, 1200, 3000, 17000, 0, 40000};
    return sizes[i % 7];
}

static void fill(uint8_t *b, size_t n, int i)
{
    if (n >= 4) {
        pm_wr32(b, (uint32_t)i);
        for (size_t j = 4; j < n; j++)
            b[j] = (uint8_t)(i + j);
    } else {
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)(0xA0 + j);
    }
}

/* Every message carries its index in its first 4 bytes (sizes >= 4 only). */
static int check_msg(const uint8_t *d, size_t n)
{
    if (n < 4)
        return -1;
    int i = (int)pm_rd32(d);
    if (msg_size(i) != n)
        return -2;
    for (size_t j = 4; j < n; j++)
        if (d[j] != (uint8_t)(i + j))
            return -2;
    return i;
}

static bool all_open(pm_test_pair *p, void *ud)
{
    int want = *(int *)ud;
    return p->opens[0] >= want && p->opens[1] >= want;
}

static bool connected_or_failed(pm_test_pair *p, void *ud)
{
    (void)ud;
    return p->failed[0] || p->failed[1] ||
           (pm_rtc_peer_get_state(p->pc[0]) == PM_RTC_STATE_CONNECTED &&
            pm_rtc_peer_get_state(p->pc[1]) == PM_RTC_STATE_CONNECTED);
}

typedef struct xfer {
    pm_rtc_channel *tx, *rx;
    int to_send, sent;
    stream_check chk;
    bool reliable;
} xfer;

static void drain_rx(xfer *x)
{
    const uint8_t *d;
    size_t n;
    while (pm_rtc_channel_get_packet(x->rx, &d, &n) == PM_OK) {
        x->chk.received++;
        if (n < 4) {
            if (x->reliable) /* tiny messages keep their place in order */
                x->chk.next_expected++;
            continue;
        }
        int i = check_msg(d, n);
        if (i < 0) {
            x->chk.bad = true;
            continue;
        }
        if (x->reliable) {
            if (i != x->chk.next_expected)
                x->chk.bad = true;
            x->chk.next_expected = i + 1;
        } else {
            if (x->chk.seen[i % 4096])
                x->chk.bad = true; /* duplicate delivered */
            x->chk.seen[i % 4096] = 1;
        }
    }
}

static void send_some(xfer *x)
{
    static uint8_t buf[65536];
    while (x->sent < x->to_send && pm_rtc_channel_get_buffered_amount(x->tx) < 512 * 1024) {
        size_t n = msg_size(x->sent);
        fill(buf, n, x->sent);
        int rc = pm_rtc_channel_put_packet(x->tx, buf, n);
        assert_int_equal(rc, PM_OK);
        x->sent++;
    }
}

typedef struct xfers {
    xfer *x;
    int n;
} xfers;

static bool transfers_done(pm_test_pair *p, void *ud)
{
    (void)p;
    xfers *xs = ud;
    bool done = true;
    for (int i = 0; i < xs->n; i++) {
        xfer *x = &xs->x[i];
        send_some(x);
        drain_rx(x);
        if (x->reliable && x->chk.received < x->to_send)
            done = false;
        if (!x->reliable && x->sent < x->to_send)
            done = false;
    }
    return done;
}

static void run_lossy(double loss, uint64_t seed, int count)
{
    pm_test_pair p;
    pm_sim_link link = {.loss = loss,
                        .duplicate = 0.05,
                        .delay_min = PM_MS(5),
                        .delay_max = PM_MS(25),
                        .mtu = 1500};
    pm_test_pair_init(&p, seed, &link);

    pm_rtc_channel_init rel, unrel, ttl, neg;
    pm_rtc_channel_init_default(&rel);
    pm_rtc_channel_init_default(&unrel);
    unrel.ordered = false;
    unrel.max_retransmits = 0;
    pm_rtc_channel_init_default(&ttl);
    ttl.max_packet_lifetime = 40;
    pm_rtc_channel_init_default(&neg);
    neg.negotiated = true;
    neg.id = 8;
    pm_rtc_channel *c;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "rel", &rel, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "unrel", &unrel, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "ttl", &ttl, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "neg", &neg, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[1], "neg", &neg, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);

    assert_true(pm_test_pair_run(&p, connected_or_failed, NULL, PM_SEC(60)));
    assert_false(p.failed[0] || p.failed[1]);
    int want = 4;
    assert_true(pm_test_pair_run(&p, all_open, &want, PM_SEC(60)));

    xfer x[4];
    memset(x, 0, sizeof x);
    const char *labels[4] = {"rel", "unrel", "ttl", "neg"};
    for (int i = 0; i < 4; i++) {
        x[i].tx = pm_test_pair_channel(&p, 0, labels[i]);
        x[i].rx = pm_test_pair_channel(&p, 1, labels[i]);
        assert_non_null(x[i].tx);
        assert_non_null(x[i].rx);
        x[i].to_send = count;
        x[i].reliable = i == 0 || i == 3;
    }
    /* Properties travel with DCEP. */
    assert_false(pm_rtc_channel_is_ordered(x[1].rx));
    assert_int_equal(pm_rtc_channel_get_max_retransmits(x[1].rx), 0);
    assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(x[2].rx), 40);
    assert_true(pm_rtc_channel_is_negotiated(x[3].rx));
    assert_int_equal(pm_rtc_channel_get_id(x[3].rx), 8);

    xfers xs = {x, 4};
    pm_time t0 = pm_test_clock_now;
    assert_true(pm_test_pair_run(&p, transfers_done, &xs, PM_SEC(600)));
    /* Let stragglers of the unreliable channels arrive. */
    pm_test_pair_run(&p, NULL, NULL, PM_SEC(2));
    for (int i = 0; i < 4; i++)
        drain_rx(&x[i]);

    pm_sim_stats st = pm_simnet_stats(p.net);
    print_message("loss %.0f%%: datagrams sent %llu lost %llu dup %llu; received rel %d unrel "
                  "%d ttl %d neg %d of %d (virtual %.1f s)\n",
                  loss * 100, (unsigned long long)st.sent, (unsigned long long)st.lost,
                  (unsigned long long)st.duplicated, x[0].chk.received, x[1].chk.received,
                  x[2].chk.received, x[3].chk.received, count,
                  (double)(pm_test_clock_now - t0) / 1e6);
    for (int i = 0; i < 4; i++)
        assert_false(x[i].chk.bad);
    assert_int_equal(x[0].chk.received, count);
    assert_int_equal(x[3].chk.received, count);
    assert_true(x[1].chk.received <= count);
    assert_true(x[2].chk.received <= count);
    if (loss >= 0.1) {
        /* maxRetransmits=0 cannot recover lost packets: some messages must be gone. */
        assert_true(x[1].chk.received < count);
        assert_true(x[1].chk.received > 0);
    }
    pm_test_pair_free(&p);
}

static void lossless(void **st)
{
    (void)st;
    run_lossy(0.0, 11, 400);
}

static void loss_10(void **st)
{
    (void)st;
    run_lossy(0.10, 22, 300);
}

static void loss_20(void **st)
{
    (void)st;
    run_lossy(0.20, 33, 150);
}

static bool both_failed(pm_test_pair *p, void *ud)
{
    (void)ud;
    return p->failed[0] && p->failed[1];
}

/* RFC 7675: when the path dies, DISCONNECTED after ~5 s, FAILED at ~30 s. */
static void consent_expiry(void **st)
{
    (void)st;
    pm_test_pair p;
    pm_sim_link link = {.delay_min = PM_MS(2), .delay_max = PM_MS(2)};
    pm_test_pair_init(&p, 44, &link);
    pm_rtc_channel *c;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "x", NULL, &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    int one = 1;
    assert_true(pm_test_pair_run(&p, all_open, &one, PM_SEC(10)));
    pm_sim_link dead = {.loss = 1.0};
    pm_simnet_set_link(p.net, &dead);
    pm_time cut = pm_test_clock_now;
    assert_true(pm_test_pair_run(&p, both_failed, NULL, PM_SEC(60)));
    pm_time took = pm_test_clock_now - cut;
    print_message("consent lost: FAILED after %.1f s of virtual time\n", (double)took / 1e6);
    for (int s = 0; s < 2; s++)
        assert_int_equal(p.states[s][PM_RTC_STATE_DISCONNECTED], 1);
    assert_true(took >= PM_SEC(25) && took <= PM_SEC(40));
    /* ICE failed but DTLS and SCTP did not: as in browsers the channels stay
     * (an ICE restart can bring the connection back, see test_sim_restart);
     * closing the connection closes them and they refuse data. */
    assert_int_equal(pm_rtc_channel_get_ready_state(c), PM_RTC_CHANNEL_OPEN);
    pm_rtc_peer_close(p.pc[0]);
    assert_int_equal(pm_rtc_channel_get_ready_state(c), PM_RTC_CHANNEL_CLOSED);
    assert_int_equal(pm_rtc_channel_put_packet(c, (const uint8_t *)"x", 1), PM_ERR_STATE);
    pm_test_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lossless),
        cmocka_unit_test(loss_10),
        cmocka_unit_test(loss_20),
        cmocka_unit_test(consent_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
