/*
 * Integration: two peer connections in socket mode on 127.0.0.1, driven by
 * the real clock. Every message is checked for content, type and order;
 * unreliable and lifetime-limited channels deliver everything on loopback.
 * Fingerprint mismatch (with data offered during the handshake), oversize
 * messages, garbage datagrams, closing channels from either side, closing
 * the connection.
 */
#include "testutil.h"

#include "peermesh/rtc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOSSY_MESSAGES 700 /* per channel in lossy_channels_deliver_everything */

typedef struct lpair {
    pm_rtc_peer *pc[2];
    pm_rtc_channel *chans[2][8];
    int nchans[2];
    int opens[2], closes[2], msgs[2];
    int states[2][8]; /* STATE events seen, by state */
    bool failed[2], closed_state[2];
    /* Optional rewrite of descriptions in transit (attack / limit tests),
     * of every description or only those of type tamper_only. */
    void (*tamper)(char *sdp, size_t cap);
    const char *tamper_only;
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
                if (p->tamper && (!p->tamper_only || strcmp(p->tamper_only, ev.sdp_type) == 0))
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
                if (ev.state >= 0 && ev.state < 8)
                    p->states[s][ev.state]++;
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

static bool has_packet(lpair *p, void *ud)
{
    (void)p;
    return pm_rtc_channel_get_available_packet_count(ud) > 0;
}

/* Wait for the next message on `rx` and check it is exactly this one. */
static void expect_message(lpair *p, pm_rtc_channel *rx, const void *data, size_t len,
                           bool is_string)
{
    assert_non_null(rx);
    assert_true(lp_run(p, has_packet, rx, PM_SEC(5)));
    const uint8_t *d;
    size_t n;
    assert_int_equal(pm_rtc_channel_get_packet(rx, &d, &n), PM_OK);
    assert_int_equal(n, len);
    if (len)
        assert_memory_equal(d, data, len);
    assert_int_equal(pm_rtc_channel_was_string_packet(rx), is_string);
}

/* Message i of a numbered stream: 4-byte index, then a pattern. */
static void numbered(uint8_t *b, size_t n, uint32_t i)
{
    for (size_t j = 0; j < n; j++)
        b[j] = (uint8_t)(i * 13 + j);
    if (n >= 4)
        pm_wr32(b, i);
}

static bool is_numbered(const uint8_t *d, size_t n, uint32_t i)
{
    static uint8_t want[65536];
    if (n > sizeof want)
        return false;
    numbered(want, n, i);
    return memcmp(d, want, n) == 0;
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
    /* And the reverse direction works: the accepted channel writes binary
     * by default (Godot's WriteMode), then text once asked. */
    assert_int_equal(pm_rtc_channel_put_packet(b, (const uint8_t *)"back", 4), PM_OK);
    pm_rtc_channel_set_write_mode(b, PM_RTC_WRITE_TEXT);
    assert_int_equal(pm_rtc_channel_put_packet(b, (const uint8_t *)"text back", 9), PM_OK);
    expect_message(&p, a, "back", 4, false);
    expect_message(&p, a, "text back", 9, true);
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

/* Both sides keep offering data while the handshake runs. */
typedef struct mismatch_run {
    pm_rtc_channel *ch[2];
    int attempts, accepted;
} mismatch_run;

static bool both_failed_while_sending(lpair *p, void *ud)
{
    mismatch_run *m = ud;
    for (int s = 0; s < 2; s++) {
        m->attempts++;
        if (pm_rtc_channel_put_packet(m->ch[s], (const uint8_t *)"secret", 6) != PM_ERR_STATE)
            m->accepted++;
    }
    return p->failed[0] && p->failed[1];
}

/* A wrong fingerprint in the offer (seen by the answerer), in the answer
 * (seen by the offerer) or in both: neither side may ever report CONNECTED,
 * open a channel, accept data or deliver any, though both try to send from
 * the start; both end FAILED. */
static void fingerprint_mismatch(const char *tampered)
{
    lpair p;
    lp_init(&p);
    p.tamper = flip_fingerprint;
    p.tamper_only = tampered;
    mismatch_run m = {0};
    pm_rtc_channel_init neg;
    pm_rtc_channel_init_default(&neg);
    neg.negotiated = true;
    neg.id = 0;
    for (int s = 0; s < 2; s++)
        assert_int_equal(pm_rtc_peer_create_channel(p.pc[s], "x", &neg, &m.ch[s]), PM_OK);
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    assert_true(lp_run(&p, both_failed_while_sending, &m, PM_SEC(10)));
    print_message("fingerprint wrong in %s: both FAILED; %d sends refused\n",
                  tampered ? tampered : "offer and answer", m.attempts);
    assert_true(m.attempts > 2);
    assert_int_equal(m.accepted, 0);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(p.states[s][PM_RTC_STATE_CONNECTED], 0);
        assert_int_equal(p.states[s][PM_RTC_STATE_FAILED], 1);
        assert_int_equal(p.opens[s], 0);
        assert_int_equal(p.msgs[s], 0);
        assert_int_equal(pm_rtc_channel_get_available_packet_count(m.ch[s]), 0);
        assert_int_equal(pm_rtc_peer_get_state(p.pc[s]), PM_RTC_STATE_FAILED);
        assert_int_equal(pm_rtc_channel_put_packet(m.ch[s], (const uint8_t *)"x", 1), PM_ERR_STATE);
    }
    lp_free(&p);
}

static void fingerprint_mismatch_fails(void **st)
{
    (void)st;
    fingerprint_mismatch("offer");
    fingerprint_mismatch("answer");
    fingerprint_mismatch(NULL);
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
    numbered(buf, sizeof buf, 7);
    assert_int_equal(pm_rtc_channel_put_packet(a, buf, 1001), PM_ERR_TOO_BIG);
    assert_int_equal(pm_rtc_channel_put_packet(a, buf, 1000), PM_OK);
    expect_message(&p, lp_chan(&p, 1, "lim"), buf, 1000, false);
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
    expect_message(&p, lp_chan(&p, 1, "g"), "still", 5, false);
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
    expect_message(&p, lp_chan(&p, 0, "three"), "3", 1, false);
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

/* One partially reliable channel of the lossless-loopback test. */
typedef struct lossy_stream {
    const char *label;
    pm_rtc_channel *tx, *rx;
    uint32_t sent, received;
    bool ordered;
    uint8_t seen[LOSSY_MESSAGES];
    bool bad;
} lossy_stream;

/* Sizes that fit one SCTP packet (partial reliability applies to those,
 * include/peermesh/rtc.h), empty and tiny ones, and one larger (sent
 * reliably on any channel). */
static size_t lossy_size(uint32_t i)
{
    static const size_t sizes[] = {1100, 0, 100, 4, 1156, 3, 4000};
    return sizes[i % 7];
}

/* Message i: its index in the first 4 bytes when it has them; 1 to 3 bytes
 * carry i / 7 (their size fixes i % 7, so that names i); empty ones nothing. */
static void lossy_fill(uint8_t *b, uint32_t i)
{
    size_t n = lossy_size(i);
    if (n >= 4) {
        numbered(b, n, i);
        return;
    }
    for (size_t j = 0; j < n; j++)
        b[j] = (uint8_t)(i / 7);
}

/* Which message this is, or LOSSY_MESSAGES when it cannot be one. */
static uint32_t lossy_index(const lossy_stream *ls, const uint8_t *d, size_t n)
{
    uint32_t i = LOSSY_MESSAGES;
    if (ls->ordered) {
        i = ls->received; /* nothing is lost: the next one, exactly */
    } else if (n >= 4) {
        i = pm_rd32(d);
    } else if (n > 0) {
        for (uint32_t k = 0; k < 7; k++)
            if (lossy_size(k) == n)
                i = d[0] * 7u + k;
    } else { /* empty ones are alike: the first not yet seen */
        for (uint32_t k = 1; k < ls->sent && i == LOSSY_MESSAGES; k += 7)
            if (!ls->seen[k])
                i = k;
    }
    return i;
}

static void lossy_drain(lossy_stream *ls)
{
    const uint8_t *d;
    size_t n;
    while (pm_rtc_channel_get_packet(ls->rx, &d, &n) == PM_OK) {
        uint32_t i = lossy_index(ls, d, n);
        uint8_t want[4000];
        if (i >= ls->sent || lossy_size(i) != n || ls->seen[i]) {
            ls->bad = true; /* never sent, wrong size, or a repeat */
        } else {
            lossy_fill(want, i);
            ls->bad |= n && memcmp(d, want, n) != 0;
            ls->seen[i] = 1;
        }
        ls->received++;
    }
}

typedef struct lossy_run {
    lossy_stream *s;
    int n;
} lossy_run;

/* Keep a few messages in flight per channel (the sockets' buffers never
 * fill), drain the receivers; done when everything arrived. */
static bool lossy_progress(lpair *p, void *ud)
{
    (void)p;
    lossy_run *r = ud;
    bool done = true;
    for (int k = 0; k < r->n; k++) {
        lossy_stream *ls = &r->s[k];
        lossy_drain(ls);
        while (ls->sent < LOSSY_MESSAGES && ls->sent - ls->received < 16) {
            uint8_t buf[4000];
            lossy_fill(buf, ls->sent);
            assert_int_equal(pm_rtc_channel_put_packet(ls->tx, buf, lossy_size(ls->sent)), PM_OK);
            ls->sent++;
        }
        done &= ls->received == LOSSY_MESSAGES;
    }
    return done;
}

/* Loopback loses nothing: unreliable (maxRetransmits 0) and lifetime-limited
 * channels, ordered or not, must deliver every message, intact. */
static void lossy_channels_deliver_everything(void **st)
{
    (void)st;
    lpair p;
    lp_init(&p);
    lossy_stream s[3] = {{.label = "rtx0"}, {.label = "ttl-ordered"}, {.label = "ttl"}};
    pm_rtc_channel_init init[3];
    for (int k = 0; k < 3; k++)
        pm_rtc_channel_init_default(&init[k]);
    init[0].ordered = false;
    init[0].max_retransmits = 0;
    init[1].max_packet_lifetime = 500;
    init[2].ordered = false;
    init[2].max_packet_lifetime = 500;
    for (int k = 0; k < 3; k++) {
        s[k].ordered = init[k].ordered;
        assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], s[k].label, &init[k], &s[k].tx),
                         PM_OK);
    }
    assert_int_equal(pm_rtc_peer_create_offer(p.pc[0]), PM_OK);
    int three = 3;
    assert_true(lp_run(&p, opens_ge, &three, PM_SEC(10)));
    for (int k = 0; k < 3; k++) {
        s[k].rx = lp_chan(&p, 1, s[k].label);
        assert_non_null(s[k].rx);
        assert_int_equal(pm_rtc_channel_get_max_retransmits(s[k].rx), init[k].max_retransmits);
        assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(s[k].rx),
                         init[k].max_packet_lifetime);
    }
    lossy_run r = {s, 3};
    bool all = lp_run(&p, lossy_progress, &r, PM_SEC(30));
    for (int k = 0; k < 3; k++) {
        print_message("%s: %u of %u delivered\n", s[k].label, s[k].received, s[k].sent);
        assert_false(s[k].bad);
        assert_int_equal(s[k].received, LOSSY_MESSAGES);
        assert_int_equal(pm_rtc_channel_get_messages_abandoned(s[k].tx), 0);
    }
    assert_true(all);
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
    for (uint32_t i = 0; i < 40; i++) { /* 800 KB: under the unread limit */
        numbered(big, sizeof big, i);
        assert_int_equal(pm_rtc_channel_put_packet(a, big, sizeof big), PM_OK);
    }
    want_msgs w2 = {1, 41};
    assert_true(lp_run(&p, msgs_ge, &w2, PM_SEC(5)));
    assert_int_equal(n, 5);
    assert_memory_equal(d, "first", 5); /* ASan would flag a freed block here */
    assert_int_equal(pm_rtc_channel_get_available_packet_count(b), 40);
    for (uint32_t i = 0; i < 40; i++) {
        const uint8_t *m;
        size_t mn;
        assert_int_equal(pm_rtc_channel_get_packet(b, &m, &mn), PM_OK);
        assert_int_equal(mn, sizeof big);
        assert_true(is_numbered(m, mn, i));
    }
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
    for (uint32_t i = 0; i < 40; i++) { /* more than usrsctp's 1 MiB send buffer */
        numbered(msg, sizeof msg, i);
        assert_int_equal(pm_rtc_channel_put_packet(a, msg, sizeof msg), PM_OK);
    }
    pm_rtc_channel *late;
    assert_int_equal(pm_rtc_peer_create_channel(p.pc[0], "late", NULL, &late), PM_OK);
    int two = 2;
    uint32_t next = 0;
    pm_time end = pm_now() + PM_SEC(10);
    while (pm_now() < end && !(p.opens[0] >= 2 && p.opens[1] >= 2)) {
        lp_pump(&p);
        const uint8_t *d;
        size_t n;
        pm_rtc_channel *b = lp_chan(&p, 1, "bulk");
        while (b && pm_rtc_channel_get_packet(b, &d, &n) == PM_OK) {
            assert_int_equal(n, sizeof msg);
            assert_true(is_numbered(d, n, next));
            next++;
        }
    }
    assert_true(opens_ge(&p, &two));
    pm_rtc_channel *late_rx = lp_chan(&p, 1, "late");
    assert_non_null(late_rx);
    /* The late channel carries data, behind nothing of the bulk one. */
    assert_int_equal(pm_rtc_channel_put_packet(late, (const uint8_t *)"late", 4), PM_OK);
    end = pm_now() + PM_SEC(10);
    while (pm_now() < end && (next < 40 || !pm_rtc_channel_get_available_packet_count(late_rx))) {
        lp_pump(&p);
        const uint8_t *d;
        size_t n;
        while (pm_rtc_channel_get_packet(lp_chan(&p, 1, "bulk"), &d, &n) == PM_OK) {
            assert_int_equal(n, sizeof msg);
            assert_true(is_numbered(d, n, next));
            next++;
        }
    }
    assert_int_equal(next, 40);
    expect_message(&p, late_rx, "late", 4, false);
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
    if (!ipv6_loopback_available())
        pm_test_skip("no IPv6 loopback (::1) on this host");
    lpair p;
    lp_init_at(&p, "::1", 0, 0);
    connect_with(&p, "v6");
    pm_rtc_channel *a = lp_chan(&p, 0, "v6");
    assert_int_equal(pm_rtc_channel_put_packet(a, (const uint8_t *)"six", 3), PM_OK);
    expect_message(&p, lp_chan(&p, 1, "v6"), "six", 3, false);
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
        pm_test_skip("no block of 4 free UDP ports in 42000..42999 on 127.0.0.1");
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
    assert_int_equal(pm_rtc_channel_put_packet(lp_chan(&p, 0, "range"), (const uint8_t *)"r", 1),
                     PM_OK);
    expect_message(&p, lp_chan(&p, 1, "range"), "r", 1, false);
    lp_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exchange_every_kind),
        cmocka_unit_test(lossy_channels_deliver_everything),
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
