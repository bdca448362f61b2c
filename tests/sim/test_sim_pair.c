/*
 * Simulation: two peer connections over a simulated lossy network on a
 * virtual clock (loss up to 20 %, duplication, jittered delay that reorders).
 * Every channel's DCEP properties must arrive as created. A reliable
 * channel must deliver everything, intact and in order; unreliable channels
 * must honour their limits (never duplicate, never reorder an ordered one,
 * never block) and, without loss, deliver everything too; under loss they
 * must still deliver most messages.
 */
#include "rtcpair.h"

#include <stdio.h>

#define MAX_MSGS 4096

typedef struct stream_check {
    int next_expected; /* reliable: index of the next message */
    int last_index;    /* ordered lossy: index of the last identified message */
    int received;
    int received_small;     /* of at most PR_MAX_MESSAGE bytes: partial reliability applies */
    uint8_t seen[MAX_MSGS]; /* lossy: duplicate detection */
    bool bad;
} stream_check;

/* Sizes cover: tiny, one packet, a few fragments, many fragments, empty. */
static const size_t SIZES[] = {1, 100, 1200, 3000, 17000, 0, 40000};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

static size_t msg_size(int i)
{
    return SIZES[i % NSIZES];
}

/* Messages that fit one SCTP packet: under loss each is lost with the
 * probability of one datagram. With our own SCTP partial reliability applies
 * to larger messages too; in the usrsctp build (PM_SCTP=usrsctp) they are
 * sent reliably (include/peermesh/rtc.h, pm_rtc_channel_init). */
#define PR_MAX_MESSAGE 1156

static bool large_sent_reliably(void)
{
    return strcmp(pm_rtc_sctp_implementation(), "usrsctp") == 0;
}

static int small_among(int count)
{
    int n = 0;
    for (int i = 0; i < count; i++)
        n += msg_size(i) <= PR_MAX_MESSAGE;
    return n;
}

/* Message i: from 4 bytes on, its index (u32) then a pattern; shorter ones
 * carry i / NSIZES in each byte (their size fixes i % NSIZES, so that names
 * i); an empty one carries nothing. */
static void fill(uint8_t *b, size_t n, int i)
{
    if (n >= 4) {
        pm_wr32(b, (uint32_t)i);
        for (size_t j = 4; j < n; j++)
            b[j] = (uint8_t)(i + j);
    } else {
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)(i / NSIZES + 0x40 * j);
    }
}

static bool is_message(const uint8_t *d, size_t n, int i)
{
    static uint8_t want[65536];
    if (i < 0 || i >= MAX_MSGS || msg_size(i) != n)
        return false;
    fill(want, n, i);
    return memcmp(d, want, n) == 0;
}

/* The index of a received message; -1 for an empty one (it has none), -2
 * when it is no message we send. */
static int msg_index(const uint8_t *d, size_t n)
{
    if (n == 0)
        return -1;
    int i = -2;
    if (n >= 4) {
        i = (int)PM_MIN(pm_rd32(d), (uint32_t)MAX_MSGS);
    } else {
        for (int k = 0; k < NSIZES; k++)
            if (SIZES[k] == n)
                i = d[0] * NSIZES + k;
    }
    return is_message(d, n, i) ? i : -2;
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
    bool reliable, ordered, lifetime;
} xfer;

static void drain_rx(xfer *x)
{
    const uint8_t *d;
    size_t n;
    while (pm_rtc_channel_get_packet(x->rx, &d, &n) == PM_OK) {
        stream_check *c = &x->chk;
        c->received++;
        c->received_small += n <= PR_MAX_MESSAGE;
        int i = msg_index(d, n);
        if (i == -2 || i >= x->sent) {
            c->bad = true; /* corrupted, or never sent */
            continue;
        }
        if (x->reliable) {
            /* Message by message, empty ones included, in send order. */
            if (n != msg_size(c->next_expected) || (i >= 0 && i != c->next_expected))
                c->bad = true;
            c->next_expected++;
            continue;
        }
        if (i < 0)
            continue; /* an empty message: nothing to identify it by */
        if (c->seen[i])
            c->bad = true; /* delivered twice */
        c->seen[i] = 1;
        if (x->ordered && i <= c->last_index)
            c->bad = true; /* an ordered channel went backwards */
        c->last_index = i;
    }
}

static void send_some(xfer *x)
{
    static uint8_t buf[65536];
    /* A message's lifetime counts from put_packet, and our own SCTP drops
     * one still queued when it runs out (as browsers do): on a lifetime
     * channel keep two messages under way at most (the buffered amount
     * does not count what SCTP holds), or 40 ms would run out in the queue. */
    bool pace = x->lifetime && !large_sent_reliably();
    while (x->sent < x->to_send && pm_rtc_channel_get_buffered_amount(x->tx) < 512 * 1024) {
        if (pace &&
            x->sent - x->chk.received - (int)pm_rtc_channel_get_messages_abandoned(x->tx) >= 2)
            break;
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

/* What the receiving side must report for a channel: the creator's options,
 * carried by DATA_CHANNEL_OPEN (RFC 8832 section 5.1) or, negotiated, agreed
 * out of band; and the same stream id on both sides. */
static void expect_channel(pm_rtc_channel *rx, pm_rtc_channel *tx, const char *label,
                           const pm_rtc_channel_init *init)
{
    assert_string_equal(pm_rtc_channel_get_label(rx), label);
    assert_string_equal(pm_rtc_channel_get_protocol(rx), init->protocol ? init->protocol : "");
    assert_int_equal(pm_rtc_channel_is_ordered(rx), init->ordered);
    assert_int_equal(pm_rtc_channel_get_max_retransmits(rx), init->max_retransmits);
    assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(rx), init->max_packet_lifetime);
    assert_int_equal(pm_rtc_channel_is_negotiated(rx), init->negotiated);
    assert_int_equal(pm_rtc_channel_get_id(rx), pm_rtc_channel_get_id(tx));
    if (init->negotiated)
        assert_int_equal(pm_rtc_channel_get_id(rx), init->id);
    else /* the offerer answers passive here: the DTLS server takes odd ids (RFC 8832 6) */
        assert_int_equal(pm_rtc_channel_get_id(rx) % 2, 1);
}

#define NCHAN 4

static bool large_delivered(pm_test_pair *p, void *ud)
{
    (void)p;
    xfers *xs = ud;
    int large = xs->x[0].to_send - small_among(xs->x[0].to_send);
    for (int i = 0; i < xs->n; i++) {
        drain_rx(&xs->x[i]);
        if (xs->x[i].chk.received - xs->x[i].chk.received_small < large)
            return false;
    }
    return true;
}

static void run_lossy(double loss, uint64_t seed, int count)
{
    pm_test_pair p;
    pm_sim_link link = {.loss = loss,
                        .duplicate = 0.05,
                        .delay_min = PM_MS(5),
                        .delay_max = PM_MS(25),
                        .mtu = 1500};
    if (loss == 0.0) {
        /* Lossless: no duplicates and a fixed delay, so no reordering either
         * (a reordered datagram looks lost to SCTP, which then abandons a
         * maxRetransmits=0 message the receiver would still have got). */
        link.duplicate = 0.0;
        link.delay_min = link.delay_max = PM_MS(10);
    }
    pm_test_pair_init(&p, seed, &link);

    /* Labels and sub-protocols of every length class DCEP carries: empty,
     * short, UTF-8, and one of 300 bytes (past a one-byte length). */
    static char long_protocol[301];
    memset(long_protocol, 'p', 300);
    const char *labels[NCHAN] = {"rel", "unrel-\xc3\xbc", "", "neg"};
    pm_rtc_channel_init init[NCHAN];
    for (int i = 0; i < NCHAN; i++)
        pm_rtc_channel_init_default(&init[i]);
    init[0].protocol = "chat.v2";
    init[1].ordered = false;
    init[1].max_retransmits = 0;
    init[1].protocol = long_protocol;
    init[2].max_packet_lifetime = 40;
    init[2].protocol = "\xe2\x9c\x93";
    init[3].negotiated = true;
    init[3].id = 8;
    init[3].protocol = "neg";
    pm_rtc_channel *c;
    for (int i = 0; i < NCHAN; i++)
        assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], labels[i], &init[i], &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[1], "neg", &init[3], &c), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);

    assert_true(pm_test_pair_run(&p, connected_or_failed, NULL, PM_SEC(60)));
    assert_false(p.failed[0] || p.failed[1]);
    int want = NCHAN;
    assert_true(pm_test_pair_run(&p, all_open, &want, PM_SEC(60)));

    xfer x[NCHAN];
    memset(x, 0, sizeof x);
    for (int i = 0; i < NCHAN; i++) {
        x[i].tx = pm_test_pair_channel(&p, 0, labels[i]);
        x[i].rx = pm_test_pair_channel(&p, 1, labels[i]);
        assert_non_null(x[i].tx);
        assert_non_null(x[i].rx);
        assert_ptr_not_equal(x[i].tx, x[i].rx);
        expect_channel(x[i].rx, x[i].tx, labels[i], &init[i]);
        x[i].to_send = count;
        x[i].reliable = init[i].max_retransmits < 0 && init[i].max_packet_lifetime < 0;
        x[i].ordered = init[i].ordered;
        x[i].lifetime = init[i].max_packet_lifetime >= 0;
        x[i].chk.last_index = -1;
    }

    /* Until its DCEP ACK arrives the opener sends ordered and reliably (RFC
     * 8832 section 6); let the ACKs through first, so that the partially
     * reliable channels are partially reliable for the whole transfer. */
    pm_test_pair_run(&p, NULL, NULL, PM_SEC(3));
    xfers xs = {x, NCHAN};
    pm_time t0 = pm_test_clock_now;
    assert_true(pm_test_pair_run(&p, transfers_done, &xs, PM_SEC(600)));
    /* In the usrsctp build the lossy channels' large messages travel
     * reliably: wait for them (retransmissions back off up to 3 s), then for
     * stragglers. */
    if (large_sent_reliably())
        pm_test_pair_run(&p, large_delivered, &xs, PM_SEC(60)); /* judged below */
    pm_test_pair_run(&p, NULL, NULL, PM_SEC(2));
    for (int i = 0; i < NCHAN; i++)
        drain_rx(&x[i]);

    pm_sim_stats st = pm_simnet_stats(p.net);
    print_message("loss %.0f%%: datagrams sent %llu lost %llu dup %llu; received rel %d unrel "
                  "%d ttl %d neg %d of %d (abandoned unrel %llu ttl %llu; virtual %.1f s)\n",
                  loss * 100, (unsigned long long)st.sent, (unsigned long long)st.lost,
                  (unsigned long long)st.duplicated, x[0].chk.received, x[1].chk.received,
                  x[2].chk.received, x[3].chk.received, count,
                  (unsigned long long)pm_rtc_channel_get_messages_abandoned(x[1].tx),
                  (unsigned long long)pm_rtc_channel_get_messages_abandoned(x[2].tx),
                  (double)(pm_test_clock_now - t0) / 1e6);
    int small = small_among(count);
    for (int i = 0; i < NCHAN; i++) {
        const stream_check *chk = &x[i].chk;
        assert_false(chk->bad);
        assert_int_equal(x[i].sent, count);
        if (x[i].reliable || loss == 0.0) {
            /* Reliable channels, and every channel of a lossless link. */
            assert_int_equal(chk->received, count);
            continue;
        }
        /* Messages over PR_MAX_MESSAGE bytes are delivered reliably in the
         * usrsctp build, and may be abandoned with our own SCTP. Each other
         * one crosses in one datagram, lost with probability `loss`;
         * reordering adds spurious abandonments (a late datagram looks lost
         * to SCTP): allow three times the loss rate, no more. */
        print_message("  %s: %d of %d small, %d of %d large\n", labels[i], chk->received_small,
                      small, chk->received - chk->received_small, count - small);
        if (large_sent_reliably()) {
            assert_int_equal(chk->received - chk->received_small, count - small);
        } else {
            /* Every message arrives or its sender reports it abandoned. */
            uint64_t gone = pm_rtc_channel_get_messages_abandoned(x[i].tx);
            assert_true((uint64_t)chk->received + gone >= (uint64_t)count);
            if (x[i].lifetime) {
                /* 40 ms lifetimes run out while the other channels' bulk
                 * fills the window or a retransmission waits: no share of
                 * the small ones is certain, only that some arrive. */
                assert_in_range(chk->received_small, 1, small);
                continue;
            }
        }
        assert_in_range(chk->received_small, (int)(small * (1.0 - 3.0 * loss)), small);
    }
    if (loss >= 0.1) {
        /* maxRetransmits=0 cannot recover lost packets: some messages must be gone. */
        assert_true(x[1].chk.received < count);
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

static bool announced_released(pm_test_pair *p, void *ud)
{
    (void)ud;
    return p->nreleased[1] >= 1;
}

static bool first_closed(pm_test_pair *p, void *ud)
{
    (void)ud;
    return p->closes[0] >= 1;
}

/*
 * A channel released as soon as it is announced (as the mesh's signaling
 * client does with in-band channels) already has its CHANNEL_OPEN queued.
 * That event must not come out: this pair, like any program that tracks
 * channels from CHANNEL_OPEN, would keep the handle, and the channel is
 * freed once its release has closed it (a use after free under ASan).
 */
static void released_channel_is_never_named(void **st)
{
    (void)st;
    pm_test_pair p;
    pm_sim_link link = {.delay_min = PM_MS(5), .delay_max = PM_MS(5)};
    pm_test_pair_init(&p, 55, &link);
    p.release_announced[1] = true;
    pm_rtc_channel_init neg;
    pm_rtc_channel_init_default(&neg);
    neg.negotiated = true;
    neg.id = 6;
    pm_rtc_channel *announced, *kept[2];
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "announced", NULL, &announced), PM_OK);
    for (int s = 0; s < 2; s++)
        assert_int_equal(pm_rtc_peer_create_channel(p.pc[s], "kept", &neg, &kept[s]), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    assert_true(pm_test_pair_run(&p, announced_released, NULL, PM_SEC(10)));
    /* The release closes the channel (stream reset both ways); then side 1
     * frees it at its next next_event with nothing queued. */
    assert_true(pm_test_pair_run(&p, first_closed, NULL, PM_SEC(10)));
    assert_ptr_equal(pm_test_pair_channel(&p, 0, "announced"), announced);
    assert_int_equal(pm_rtc_channel_get_ready_state(announced), PM_RTC_CHANNEL_CLOSED);
    pm_test_pair_run(&p, NULL, NULL, PM_SEC(1));
    /* Side 1 uses every channel it tracked: only "kept" may be among them. */
    for (int i = 0; i < p.nchans[1]; i++)
        assert_int_equal(pm_rtc_channel_get_ready_state(p.chans[1][i]), PM_RTC_CHANNEL_OPEN);
    assert_int_equal(p.named_released[1], 0);
    assert_int_equal(p.nchans[1], 1);
    assert_ptr_equal(p.chans[1][0], kept[1]);
    /* The kept channel still carries data both ways. */
    assert_int_equal(pm_rtc_channel_put_packet(kept[0], (const uint8_t *)"ping", 4), PM_OK);
    pm_test_pair_run(&p, NULL, NULL, PM_SEC(1));
    const uint8_t *d;
    size_t n;
    assert_int_equal(pm_rtc_channel_get_packet(kept[1], &d, &n), PM_OK);
    assert_memory_equal(d, "ping", 4);
    pm_test_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lossless),
        cmocka_unit_test(loss_10),
        cmocka_unit_test(loss_20),
        cmocka_unit_test(consent_expiry),
        cmocka_unit_test(released_channel_is_never_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
