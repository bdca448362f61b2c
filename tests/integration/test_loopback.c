/*
 * Integration: two peer connections in socket mode on 127.0.0.1, driven by
 * the real clock. Fingerprint mismatch, oversize messages, garbage datagrams,
 * closing channels from either side, closing the connection.
 */
#include "testutil.h"

#include "peermesh/rtc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct lpair {
    pm_rtc_peer *pc[2];
    pm_rtc_channel *chans[2][8];
    int nchans[2];
    int opens[2], closes[2], msgs[2];
    bool failed[2], closed_state[2];
    /* Optional rewrite of descriptions in transit (attack / limit tests). */
    void (*tamper)(char *sdp, size_t cap);
} lpair;

static void lp_init_at(lpair *p, const char *bind, uint16_t port_min, uint16_t port_max)
{
    memset(p, 0, sizeof *p);
    for (int s = 0; s < 2; s++) {
        pm_rtc_config cfg;
        pm_rtc_config_default(&cfg);
        cfg.bind_address = bind;
        cfg.port_min = port_min;
        cfg.port_max = port_max;
        assert_int_equal(pm_rtc_peer_new(&cfg, &p->pc[s]), PM_OK);
        assert_true(pm_rtc_peer_fd(p->pc[s]) >= 0);
        assert_true(pm_rtc_peer_local_port(p->pc[s]) > 0);
    }
}

static void lp_init(lpair *p)
{
    lp_init_at(p, "127.0.0.1", 0, 0);
}

static void lp_free(lpair *p)
{
    for (int s = 0; s < 2; s++)
        pm_rtc_peer_free(p->pc[s]);
}

static pm_rtc_channel *lp_chan(lpair *p, int s, const char *label)
{
    for (int i = 0; i < p->nchans[s]; i++)
        if (strcmp(pm_rtc_channel_get_label(p->chans[s][i]), label) == 0)
            return p->chans[s][i];
    return NULL;
}

static void lp_pump(lpair *p)
{
    for (int s = 0; s < 2; s++) {
        pm_rtc_peer_poll(p->pc[s]);
        pm_rtc_event ev;
        while (pm_rtc_peer_next_event(p->pc[s], &ev)) {
            pm_rtc_peer *o = p->pc[1 - s];
            switch (ev.type) {
            case PM_RTC_EVENT_DESCRIPTION: {
                static char sdp[8192];
                snprintf(sdp, sizeof sdp, "%s", ev.sdp);
                if (p->tamper)
                    p->tamper(sdp, sizeof sdp);
                pm_rtc_peer_set_remote_description(o, ev.sdp_type, sdp);
                break;
            }
            case PM_RTC_EVENT_CANDIDATE:
                pm_rtc_peer_add_ice_candidate(o, ev.mid, ev.mline_index, ev.candidate);
                break;
            case PM_RTC_EVENT_CHANNEL_OPEN:
                p->opens[s]++;
                if (p->nchans[s] < 8)
                    p->chans[s][p->nchans[s]++] = ev.channel;
                break;
            case PM_RTC_EVENT_CHANNEL_CLOSED:
                p->closes[s]++;
                break;
            case PM_RTC_EVENT_CHANNEL_MESSAGE:
                p->msgs[s]++;
                break;
            case PM_RTC_EVENT_STATE:
                if (ev.state == PM_RTC_STATE_FAILED)
                    p->failed[s] = true;
                if (ev.state == PM_RTC_STATE_CLOSED)
                    p->closed_state[s] = true;
                break;
            default:
                break;
            }
        }
    }
}

/* Poll both sockets until cond or the wall-clock timeout. */
static bool lp_run(lpair *p, bool (*cond)(lpair *, void *), void *ud, pm_time timeout)
{
    pm_time end = pm_now() + timeout;
    while (pm_now() < end) {
        lp_pump(p);
        if (cond(p, ud))
            return true;
        pm_time next =
            PM_MIN(pm_rtc_peer_next_timeout(p->pc[0]), pm_rtc_peer_next_timeout(p->pc[1]));
        pm_time wait = PM_MIN(next, end) - pm_now();
        struct pollfd fds[2] = {{pm_rtc_peer_fd(p->pc[0]), POLLIN, 0},
                                {pm_rtc_peer_fd(p->pc[1]), POLLIN, 0}};
        poll(fds, 2, wait <= 0 ? 0 : (int)((wait + 999) / 1000));
    }
    lp_pump(p);
    return cond(p, ud);
}

static bool opens_ge(lpair *p, void *ud)
{
    int n = *(int *)ud;
    return (p->opens[0] >= n && p->opens[1] >= n) || p->failed[0] || p->failed[1];
}

static bool failed_any(lpair *p, void *ud)
{
    (void)ud;
    return p->failed[0] && p->failed[1];
}

static void connect_with(lpair *p, const char *label)
{
    pm_rtc_channel *ch;
    assert_int_equal(pm_rtc_peer_create_channel(p->pc[0], label, NULL, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p->pc[0]), PM_OK);
    int one = 1;
    assert_true(lp_run(p, opens_ge, &one, PM_SEC(10)));
    assert_false(p->failed[0] || p->failed[1]);
}

typedef struct want_msgs {
    int side, count;
} want_msgs;

static bool msgs_ge(lpair *p, void *ud)
{
    want_msgs *w = ud;
    return p->msgs[w->side] >= w->count;
}

static void exchange_every_kind(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    connect_with(&p, "data");
    assert_int_equal(pm_rtc_peer_get_state(p.pc[0]), PM_RTC_STATE_CONNECTED);
    pm_rtc_channel *a = lp_chan(&p, 0, "data"), *b = lp_chan(&p, 1, "data");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(pm_rtc_channel_get_id(a), pm_rtc_channel_get_id(b));
    /* The offerer is the DTLS server here (we answer active): odd ids. */
    assert_int_equal(pm_rtc_channel_get_id(a) % 2, 1);
    static uint8_t big[262144];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    pm_rtc_channel_set_write_mode(a, PM_RTC_WRITE_TEXT);
    assert_int_equal(pm_rtc_channel_put_packet(a, (const uint8_t *)"hello", 5), PM_OK);
    assert_int_equal(pm_rtc_channel_put_packet(a, NULL, 0), PM_OK); /* empty string */
    pm_rtc_channel_set_write_mode(a, PM_RTC_WRITE_BINARY);
    assert_int_equal(pm_rtc_channel_put_packet(a, NULL, 0), PM_OK); /* empty binary */
    assert_int_equal(pm_rtc_channel_put_packet(a, big, sizeof big), PM_OK);
    want_msgs w = {1, 4};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(10)));
    const uint8_t *d;
    size_t n;
    assert_int_equal(pm_rtc_channel_get_available_packet_count(b), 4);
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    assert_true(pm_rtc_channel_was_string_packet(b));
    assert_int_equal(pm_rtc_channel_get_available_packet_count(b), 3); /* the lent one is taken */
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_OK);
    assert_int_equal(n, 0);
    assert_true(pm_rtc_channel_was_string_packet(b));
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_OK);
    assert_int_equal(n, 0);
    assert_false(pm_rtc_channel_was_string_packet(b));
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_OK);
    assert_int_equal(n, sizeof big);
    assert_memory_equal(d, big, sizeof big);
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_ERR_AGAIN);
    /* Oversize: one byte above the negotiated limit is refused whole. */
    assert_int_equal(pm_rtc_peer_max_message_size(p.pc[0]), 262144);
    static uint8_t huge[262145];
    assert_int_equal(pm_rtc_channel_put_packet(a, huge, sizeof huge), PM_ERR_TOO_BIG);
    /* And the reverse direction works. */
    assert_int_equal(pm_rtc_channel_put_packet(b, (const uint8_t *)"back", 4), PM_OK);
    want_msgs w0 = {0, 1};
    assert_true(lp_run(&p, msgs_ge, &w0, PM_SEC(5)));
    assert_true(pm_rtc_peer_rtt(p.pc[0]) >= 0);
    lp_free(&p);
}

static void flip_fingerprint(char *sdp, size_t cap)
{
    (void)cap;
    char *fp = strstr(sdp, "a=fingerprint:sha-256 ");
    assert_non_null(fp);
    fp += strlen("a=fingerprint:sha-256 ");
    *fp = *fp == 'A' ? 'B' : 'A'; /* one hex digit changed */
}

static void fingerprint_mismatch_fails(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    p.tamper = flip_fingerprint;
    pm_rtc_channel *ch;
    pm_rtc_channel_init neg;
    pm_rtc_channel_init_default(&neg);
    neg.negotiated = true;
    neg.id = 0;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "x", &neg, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[1], "x", &neg, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    assert_true(lp_run(&p, failed_any, NULL, PM_SEC(10)));
    assert_int_equal(p.opens[0] + p.opens[1], 0);
    assert_int_equal(p.msgs[0] + p.msgs[1], 0);
    assert_int_equal(pm_rtc_peer_get_state(p.pc[0]), PM_RTC_STATE_FAILED);
    assert_int_equal(pm_rtc_channel_put_packet(ch, (const uint8_t *)"x", 1), PM_ERR_STATE);
    lp_free(&p);
}

static void small_max_message(char *sdp, size_t cap)
{
    char *m = strstr(sdp, "a=max-message-size:262144");
    assert_non_null(m);
    char rest[8192];
    snprintf(rest, sizeof rest, "%s", m + strlen("a=max-message-size:262144"));
    snprintf(m, cap - (size_t)(m - sdp), "a=max-message-size:1000%s", rest);
}

static void remote_limit_enforced(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    p.tamper = small_max_message; /* both sides see a peer that accepts 1000 bytes */
    connect_with(&p, "lim");
    pm_rtc_channel *a = lp_chan(&p, 0, "lim");
    assert_int_equal(pm_rtc_peer_max_message_size(p.pc[0]), 1000);
    static uint8_t buf[1001];
    assert_int_equal(pm_rtc_channel_put_packet(a, buf, 1001), PM_ERR_TOO_BIG);
    assert_int_equal(pm_rtc_channel_put_packet(a, buf, 1000), PM_OK);
    want_msgs w = {1, 1};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(5)));
    lp_free(&p);
}

static void send_garbage(uint16_t port, uint64_t *rng)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t buf[1500];
    for (int i = 0; i < 300; i++) {
        size_t n = 1 + pm_test_rand(rng) % sizeof buf;
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)pm_test_rand(rng);
        /* Cover every RFC 7983 range: STUN, DTLS, TURN, RTP. */
        buf[0] = (uint8_t)((i % 4 == 0)   ? i % 4
                           : (i % 4 == 1) ? 20 + i % 44
                           : (i % 4 == 2) ? 64 + i % 16
                                          : 128 + i % 64);
        sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof to);
    }
    close(fd);
}

static void garbage_is_ignored(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    uint64_t rng = 99;
    send_garbage(pm_rtc_peer_local_port(p.pc[1]), &rng); /* before connecting */
    connect_with(&p, "g");
    send_garbage(pm_rtc_peer_local_port(p.pc[0]), &rng); /* while connected */
    send_garbage(pm_rtc_peer_local_port(p.pc[1]), &rng);
    pm_rtc_channel *a = lp_chan(&p, 0, "g");
    assert_int_equal(pm_rtc_channel_put_packet(a, (const uint8_t *)"still", 5), PM_OK);
    want_msgs w = {1, 1};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(5)));
    assert_int_equal(pm_rtc_peer_get_state(p.pc[0]), PM_RTC_STATE_CONNECTED);
    assert_int_equal(pm_rtc_peer_get_state(p.pc[1]), PM_RTC_STATE_CONNECTED);
    lp_free(&p);
}

typedef struct close_want {
    int side, closes;
} close_want;

static bool closes_ge(lpair *p, void *ud)
{
    close_want *w = ud;
    return p->closes[w->side] >= w->closes;
}

static void close_from_either_side(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    pm_rtc_channel *ch;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "one", NULL, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "two", NULL, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    int two = 2;
    assert_true(lp_run(&p, opens_ge, &two, PM_SEC(10)));
    /* The offerer closes "one": both sides end CLOSED. */
    pm_rtc_channel_close(lp_chan(&p, 0, "one"));
    assert_int_equal(pm_rtc_channel_get_ready_state(lp_chan(&p, 0, "one")), PM_RTC_CHANNEL_CLOSING);
    close_want w1 = {1, 1};
    assert_true(lp_run(&p, closes_ge, &w1, PM_SEC(5)));
    close_want w0 = {0, 1};
    assert_true(lp_run(&p, closes_ge, &w0, PM_SEC(5)));
    assert_int_equal(pm_rtc_channel_get_ready_state(lp_chan(&p, 1, "one")), PM_RTC_CHANNEL_CLOSED);
    /* The answerer closes "two". */
    pm_rtc_channel_close(lp_chan(&p, 1, "two"));
    close_want w2 = {0, 2};
    assert_true(lp_run(&p, closes_ge, &w2, PM_SEC(5)));
    assert_int_equal(pm_rtc_channel_get_ready_state(lp_chan(&p, 0, "two")), PM_RTC_CHANNEL_CLOSED);
    /* A new channel can still be opened on the same connection, and works. */
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[1], "three", NULL, &ch), PM_OK);
    int three = 3;
    assert_true(lp_run(&p, opens_ge, &three, PM_SEC(5)));
    assert_int_equal(pm_rtc_channel_put_packet(ch, (const uint8_t *)"3", 1), PM_OK);
    want_msgs w = {0, 1};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(5)));
    /* Closing the connection tells the other side (DTLS close_notify). */
    pm_rtc_peer_close(p.pc[0]);
    assert_true(p.closed_state[0] || pm_rtc_peer_get_state(p.pc[0]) == PM_RTC_STATE_CLOSED);
    pm_time end = pm_now() + PM_SEC(5);
    while (pm_now() < end && pm_rtc_peer_get_state(p.pc[1]) != PM_RTC_STATE_CLOSED) {
        pm_rtc_peer_poll(p.pc[1]);
        pm_rtc_event ev;
        while (pm_rtc_peer_next_event(p.pc[1], &ev))
            ;
        usleep(1000);
    }
    assert_int_equal(pm_rtc_peer_get_state(p.pc[1]), PM_RTC_STATE_CLOSED);
    lp_free(&p);
}

/* Review finding: a remote could grow our unread queue without bound. */
static void unread_data_is_bounded(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    connect_with(&p, "flood");
    pm_rtc_channel *a = lp_chan(&p, 0, "flood"), *b = lp_chan(&p, 1, "flood");
    static uint8_t msg[65536];
    int sent = 0;
    pm_time end = pm_now() + PM_SEC(2);
    /* B polls but does not read for 2 s while A sends as fast as it may. */
    while (pm_now() < end && sent < 2000) {
        while (pm_rtc_channel_get_buffered_amount(a) < (1u << 20) && sent < 2000) {
            pm_wr32(msg, (uint32_t)sent);
            assert_int_equal(pm_rtc_channel_put_packet(a, msg, sizeof msg), PM_OK);
            sent++;
        }
        lp_pump(&p);
        usleep(200);
    }
    int unread = pm_rtc_channel_get_available_packet_count(b);
    print_message("sent %d, unread at B %d (%d KiB)\n", sent, unread, unread * 64);
    assert_true(unread * sizeof msg <= (1u << 20) + sizeof msg);
    assert_true(sent > unread); /* the sender was held back, not the receiver flooded */
    /* Reading resumes the flow; everything arrives once and in order. */
    int next = 0;
    end = pm_now() + PM_SEC(20);
    while (next < sent && pm_now() < end) {
        lp_pump(&p);
        const uint8_t *d;
        size_t n;
        while (pm_rtc_channel_get_packet(b, &d, &n) == PM_OK) {
            assert_int_equal(n, sizeof msg);
            assert_int_equal(pm_rd32(d), (uint32_t)next);
            next++;
        }
    }
    assert_int_equal(next, sent);
    lp_free(&p);
}

/* Review finding: lent pointers must survive the queue growing behind them. */
static void lent_data_survives_more_arrivals(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    connect_with(&p, "lend");
    pm_rtc_channel *a = lp_chan(&p, 0, "lend"), *b = lp_chan(&p, 1, "lend");
    assert_int_equal(pm_rtc_channel_put_packet(a, (const uint8_t *)"first", 5), PM_OK);
    want_msgs w = {1, 1};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(5)));
    const uint8_t *d;
    size_t n;
    assert_int_equal(pm_rtc_channel_get_packet(b, &d, &n), PM_OK);
    assert_int_equal(pm_rtc_channel_get_available_packet_count(b), 0);
    static uint8_t big[20000];
    for (int i = 0; i < 40; i++) /* 800 KB: under the unread limit */
        assert_int_equal(pm_rtc_channel_put_packet(a, big, sizeof big), PM_OK);
    want_msgs w2 = {1, 41};
    assert_true(lp_run(&p, msgs_ge, &w2, PM_SEC(5)));
    assert_int_equal(n, 5);
    assert_memory_equal(d, "first", 5); /* ASan would flag a freed block here */
    assert_int_equal(pm_rtc_channel_get_available_packet_count(b), 40);
    /* Event strings stay valid across calls that emit more events. */
    pm_rtc_peer *pc;
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_OK);
    pm_rtc_channel *ch;
    for (int i = 0; i < 100; i++)
        assert_int_equal(pm_rtc_peer_create_channel(pc, "c", NULL, &ch), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(pc), PM_OK);
    pm_rtc_event ev;
    assert_true(pm_rtc_peer_next_event(pc, &ev));
    while (ev.type != PM_RTC_EVENT_DESCRIPTION)
        assert_true(pm_rtc_peer_next_event(pc, &ev));
    pm_rtc_peer_close(pc); /* emits 100 channel-closed events */
    assert_non_null(strstr(ev.sdp, "a=setup:actpass"));
    pm_rtc_peer_free(pc);
    lp_free(&p);
}

/* Review finding: DCEP OPEN refused by a full SCTP buffer must be retried. */
static void open_retried_when_sctp_is_full(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    connect_with(&p, "bulk");
    pm_rtc_channel *a = lp_chan(&p, 0, "bulk");
    static uint8_t msg[65536];
    for (int i = 0; i < 40; i++) /* more than usrsctp's 1 MiB send buffer */
        assert_int_equal(pm_rtc_channel_put_packet(a, msg, sizeof msg), PM_OK);
    pm_rtc_channel *late;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "late", NULL, &late), PM_OK);
    int two = 2;
    pm_time end = pm_now() + PM_SEC(10);
    while (pm_now() < end && !(p.opens[0] >= 2 && p.opens[1] >= 2)) {
        lp_pump(&p);
        const uint8_t *d;
        size_t n;
        pm_rtc_channel *b = lp_chan(&p, 1, "bulk");
        while (b && pm_rtc_channel_get_packet(b, &d, &n) == PM_OK)
            ;
    }
    assert_true(opens_ge(&p, &two));
    assert_non_null(lp_chan(&p, 1, "late"));
    lp_free(&p);
}

/* Review finding: a remote close_notify must close us entirely. */
static void remote_close_closes_everything(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    connect_with(&p, "bye");
    pm_rtc_peer_close(p.pc[0]);
    pm_time end = pm_now() + PM_SEC(5);
    while (pm_now() < end && pm_rtc_peer_get_state(p.pc[1]) != PM_RTC_STATE_CLOSED) {
        pm_rtc_peer_poll(p.pc[1]);
        usleep(500);
    }
    assert_int_equal(pm_rtc_peer_get_state(p.pc[1]), PM_RTC_STATE_CLOSED);
    assert_int_equal(pm_rtc_peer_get_signaling_state(p.pc[1]), PM_RTC_SIGNALING_CLOSED);
    assert_int_equal(pm_rtc_peer_next_timeout(p.pc[1]), PM_TIME_NEVER);
    pm_rtc_channel *ch;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[1], "x", NULL, &ch), PM_ERR_STATE);
    assert_int_equal(pm_rtc_channel_get_ready_state(lp_chan(&p, 1, "bye")), PM_RTC_CHANNEL_CLOSED);
    lp_free(&p);
}

static bool ipv6_loopback_available(void)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void ipv6_loopback(void **st)
{
    (void)st;
    if (!ipv6_loopback_available()) {
        print_message("skipped: no IPv6 loopback on this host\n");
        skip();
    }
    lpair p;
    lp_init_at(&p, "::1", 0, 0);
    connect_with(&p, "v6");
    pm_rtc_channel *a = lp_chan(&p, 0, "v6");
    assert_int_equal(pm_rtc_channel_put_packet(a, (const uint8_t *)"six", 3), PM_OK);
    want_msgs w = {1, 1};
    assert_true(lp_run(&p, msgs_ge, &w, PM_SEC(5)));
    lp_free(&p);
}

static void port_range(void **st)
{
    (void)st;
    /* Find a free block of 4 ports, then let two peers and a third share it. */
    uint16_t base = 0;
    for (uint16_t cand = 42000; cand < 43000 && !base; cand += 16) {
        int fds[4], n = 0;
        for (; n < 4; n++) {
            fds[n] = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(cand + n))};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (bind(fds[n], (struct sockaddr *)&a, sizeof a) != 0) {
                close(fds[n]);
                break;
            }
        }
        for (int i = 0; i < n; i++)
            close(fds[i]);
        if (n == 4)
            base = cand;
    }
    if (!base)
        skip();
    lpair p;
    lp_init_at(&p, "127.0.0.1", base, (uint16_t)(base + 1));
    uint16_t p0 = pm_rtc_peer_local_port(p.pc[0]), p1 = pm_rtc_peer_local_port(p.pc[1]);
    assert_true(p0 >= base && p0 <= base + 1);
    assert_true(p1 >= base && p1 <= base + 1);
    assert_int_not_equal(p0, p1);
    /* The range is exhausted: a third peer cannot bind and says so. */
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    cfg.port_min = base;
    cfg.port_max = (uint16_t)(base + 1);
    pm_rtc_peer *third = (pm_rtc_peer *)1;
    assert_int_equal(pm_rtc_peer_new(&cfg, &third), PM_ERR_IO);
    assert_null(third);
    connect_with(&p, "range");
    lp_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exchange_every_kind),
        cmocka_unit_test(fingerprint_mismatch_fails),
        cmocka_unit_test(remote_limit_enforced),
        cmocka_unit_test(garbage_is_ignored),
        cmocka_unit_test(close_from_either_side),
        cmocka_unit_test(ipv6_loopback),
        cmocka_unit_test(port_range),
        cmocka_unit_test(unread_data_is_bounded),
        cmocka_unit_test(lent_data_survives_more_arrivals),
        cmocka_unit_test(open_retried_when_sctp_is_full),
        cmocka_unit_test(remote_close_closes_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
