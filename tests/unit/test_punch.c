/*
 * Unit tests: UDP hole punching for one link (src/signaling/punch.c) on a
 * small model of the Internet: two peers, each behind a NAT (cone:
 * endpoint-independent mapping with port-restricted filtering, as Linux
 * MASQUERADE; symmetric: a new port per destination, as SNAT
 * --random-fully) or none, and a STUN server that answers with the mapping
 * it sees. Packets are delivered at once, in order.
 */
#include "signaling/punch.h"
#include "testutil.h"
#include "wire/stun.h"

#include <stdio.h>

enum { NAT_NONE, NAT_CONE, NAT_SYMMETRIC };

#define MAX_MAP 32

typedef struct nat_map {
    pm_addr inside, dest, outside; /* dest unused for cone */
} nat_map;

typedef struct side {
    int nat;
    pm_addr host;   /* the peer's socket */
    pm_addr public; /* the NAT's address (port 0) */
    nat_map maps[MAX_MAP];
    int nmaps;
    pm_addr sent_to[MAX_MAP]; /* filtering: who we sent to, as (ip, port) */
    int nsent;
    uint16_t next_port;
    pm_punch *p;
} side;

typedef struct net {
    side s[2];
    pm_addr stun;
    bool stun_on;
    int stun_drop; /* STUN requests to lose first */
    int stun_requests;
    int delivered[2];
} net;

static pm_envr ENV;

static const pm_addr *map_out(side *s, const pm_addr *dest)
{
    if (s->nat == NAT_NONE)
        return &s->host;
    for (int i = 0; i < s->nmaps; i++)
        if (s->nat == NAT_CONE || pm_addr_equal(&s->maps[i].dest, dest))
            return &s->maps[i].outside;
    assert_true(s->nmaps < MAX_MAP);
    nat_map *m = &s->maps[s->nmaps++];
    m->inside = s->host;
    m->dest = *dest;
    m->outside = s->public;
    m->outside.port = s->next_port++;
    return &m->outside;
}

/* Inbound to `to` from `from`: the inside address, or NULL when the NAT drops it. */
static const pm_addr *map_in(side *s, const pm_addr *to, const pm_addr *from)
{
    if (s->nat == NAT_NONE)
        return pm_addr_equal(to, &s->host) ? &s->host : NULL;
    for (int i = 0; i < s->nmaps; i++) {
        if (!pm_addr_equal(&s->maps[i].outside, to))
            continue;
        if (s->nat == NAT_SYMMETRIC)
            return pm_addr_equal(&s->maps[i].dest, from) ? &s->host : NULL;
        for (int k = 0; k < s->nsent; k++) /* port-restricted filtering */
            if (pm_addr_equal(&s->sent_to[k], from))
                return &s->host;
        return NULL;
    }
    return NULL;
}

static void stun_answer(net *n, int from_side, const pm_addr *src, const uint8_t *d, size_t len)
{
    pm_stun_msg m;
    assert_int_equal(pm_stun_parse(&m, d, len), PM_OK);
    assert_int_equal(m.method, PM_STUN_BINDING);
    n->stun_requests++;
    if (n->stun_drop > 0) {
        n->stun_drop--;
        return;
    }
    uint8_t b[64];
    pm_stun_builder sb;
    pm_stun_begin(&sb, b, sizeof b, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&sb, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, src);
    int r = pm_stun_finish(&sb, NULL, 0, true);
    assert_true(r > 0);
    side *s = &n->s[from_side];
    const pm_addr *in = map_in(s, src, &n->stun);
    if (in)
        pm_punch_datagram(s->p, pm_test_clock_now, &n->stun, b, (size_t)r);
}

/* Move every queued datagram through the NATs until nothing is left. */
static void pump(net *n)
{
    for (int round = 0; round < 100; round++) {
        bool any = false;
        for (int i = 0; i < 2; i++) {
            side *s = &n->s[i];
            pm_addr to;
            uint8_t b[64];
            size_t len;
            while (pm_punch_poll_datagram(s->p, &to, b, sizeof b, &len)) {
                any = true;
                assert_true(pm_punch_is_ours(b, len));
                const pm_addr *src = map_out(s, &to);
                if (s->nsent < MAX_MAP)
                    s->sent_to[s->nsent++] = to;
                if (n->stun_on && pm_addr_equal(&to, &n->stun)) {
                    stun_answer(n, i, src, b, len);
                    continue;
                }
                side *o = &n->s[1 - i];
                const pm_addr *in = map_in(o, &to, src);
                if (in) {
                    n->delivered[1 - i]++;
                    pm_punch_datagram(o->p, pm_test_clock_now, src, b, len);
                }
            }
        }
        if (!any)
            return;
    }
    fail_msg("datagrams did not settle");
}

/* Relay the candidate lines both ways (the signaling server). */
static void relay_lines(net *n)
{
    char line[PM_PUNCH_LINE_MAX];
    for (int i = 0; i < 2; i++)
        while (pm_punch_poll_line(n->s[i].p, line, sizeof line))
            assert_int_equal(pm_punch_remote_line(n->s[1 - i].p, pm_test_clock_now, line), PM_OK);
}

static bool settled(net *n)
{
    for (int i = 0; i < 2; i++) {
        pm_punch_state st = pm_punch_get_state(n->s[i].p);
        if (st != PM_PUNCH_REACHABLE && st != PM_PUNCH_FAILED)
            return false;
    }
    return true;
}

/* Run on the virtual clock until both sides settled or `limit` passed. */
static void run(net *n, pm_time limit)
{
    pm_time end = pm_test_clock_now + limit;
    while (pm_test_clock_now < end) {
        pump(n);
        relay_lines(n);
        pump(n);
        if (settled(n))
            return;
        pm_time t = PM_MIN(pm_punch_next_timeout(n->s[0].p), pm_punch_next_timeout(n->s[1].p));
        if (t == PM_TIME_NEVER)
            return;
        pm_test_clock_now = PM_MAX(t, pm_test_clock_now);
        for (int i = 0; i < 2; i++)
            pm_punch_timeout(n->s[i].p, pm_test_clock_now);
    }
}

static void setup_side(side *s, int nat, const char *host_ip, const char *public_ip)
{
    memset(s, 0, sizeof *s);
    s->nat = nat;
    assert_int_equal(pm_addr_parse(&s->host, host_ip, 40000), PM_OK);
    assert_int_equal(pm_addr_parse(&s->public, public_ip, 0), PM_OK);
    s->next_port = 50000;
}

static void start(net *n, bool with_stun)
{
    pm_test_envr(&ENV, 99);
    assert_int_equal(pm_addr_parse(&n->stun, "203.0.113.10", 3478), PM_OK);
    n->stun_on = true;
    for (int i = 0; i < 2; i++) {
        pm_punch_config cfg = {
            .peer_id = 2 - i,
            .stun = with_stun ? &n->stun : NULL,
            .stun_name = with_stun ? "stun:203.0.113.10:3478" : NULL,
            .hosts = &n->s[i].host,
            .host_count = 1,
        };
        n->s[i].p = pm_punch_new(&ENV, &cfg, pm_test_clock_now);
        assert_non_null(n->s[i].p);
    }
}

static void finish(net *n)
{
    for (int i = 0; i < 2; i++)
        pm_punch_free(n->s[i].p);
}

/* Two cone NATs: each side learns its public address by STUN, the
 * simultaneous punches open both NATs, and each reaches the other at the
 * other's public mapping. */
static void two_cone_nats(void **st)
{
    (void)st;
    net n = {0};
    setup_side(&n.s[0], NAT_CONE, "10.0.1.2", "198.51.100.1");
    setup_side(&n.s[1], NAT_CONE, "10.0.2.2", "198.51.100.2");
    start(&n, true);
    pm_time t0 = pm_test_clock_now;
    run(&n, PM_SEC(20));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pm_punch_get_state(n.s[i].p), PM_PUNCH_REACHABLE);
        const pm_addr *pub = pm_punch_public_addr(n.s[i].p);
        assert_non_null(pub);
        assert_true(pm_addr_equal(pub, &n.s[i].maps[0].outside));
        /* Reached at the other side's one mapping. */
        assert_true(pm_addr_equal(pm_punch_peer_addr(n.s[i].p), &n.s[1 - i].maps[0].outside));
    }
    assert_true(pm_test_clock_now - t0 < PM_SEC(1));
    /* Reachable sides go on punching the one address, as a keep-alive. */
    int before = n.delivered[1];
    pm_test_clock_now += PM_SEC(1);
    pm_punch_timeout(n.s[0].p, pm_test_clock_now);
    pump(&n);
    assert_true(n.delivered[1] > before);
    finish(&n);
}

/* Same network, no NAT between: the host lines do it without STUN. */
static void same_network(void **st)
{
    (void)st;
    net n = {0};
    setup_side(&n.s[0], NAT_NONE, "10.0.1.2", "10.0.1.2");
    setup_side(&n.s[1], NAT_NONE, "10.0.1.3", "10.0.1.3");
    start(&n, false);
    run(&n, PM_SEC(20));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pm_punch_get_state(n.s[i].p), PM_PUNCH_REACHABLE);
        assert_true(pm_addr_equal(pm_punch_peer_addr(n.s[i].p), &n.s[1 - i].host));
        assert_null(pm_punch_public_addr(n.s[i].p));
    }
    finish(&n);
}

/* A symmetric NAT on one side: the mapping STUN saw is not the one the
 * other side would have to reach, and the cone side filters the symmetric
 * side's new ports: both fail, saying why. */
static void symmetric_nat_fails_with_reason(void **st)
{
    (void)st;
    net n = {0};
    setup_side(&n.s[0], NAT_CONE, "10.0.1.2", "198.51.100.1");
    setup_side(&n.s[1], NAT_SYMMETRIC, "10.0.2.2", "198.51.100.2");
    start(&n, true);
    pm_time t0 = pm_test_clock_now;
    run(&n, PM_SEC(20));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pm_punch_get_state(n.s[i].p), PM_PUNCH_FAILED);
        const char *r = pm_punch_reason(n.s[i].p);
        print_message("side %d: %s\n", i, r);
        assert_non_null(strstr(r, "hole punching failed"));
        assert_non_null(strstr(r, "symmetric NAT"));
        assert_non_null(strstr(r, "srflx 198.51.100."));
        assert_non_null(strstr(r, "our public address 198.51.100."));
        assert_null(pm_punch_peer_addr(n.s[i].p));
    }
    assert_true(pm_test_clock_now - t0 >= PM_SEC(10));
    assert_true(pm_test_clock_now - t0 < PM_SEC(11));
    finish(&n);
}

/* A symmetric NAT facing a peer with a public address works: the public
 * side learns the NAT's per-destination port from the punch itself. */
static void symmetric_nat_to_public_peer(void **st)
{
    (void)st;
    net n = {0};
    setup_side(&n.s[0], NAT_NONE, "203.0.113.20", "203.0.113.20");
    setup_side(&n.s[1], NAT_SYMMETRIC, "10.0.2.2", "198.51.100.2");
    start(&n, true);
    run(&n, PM_SEC(20));
    for (int i = 0; i < 2; i++)
        assert_int_equal(pm_punch_get_state(n.s[i].p), PM_PUNCH_REACHABLE);
    /* Not the address STUN saw: a port mapped for the public peer only. */
    const pm_addr *seen = pm_punch_peer_addr(n.s[0].p);
    assert_false(pm_addr_equal(seen, pm_punch_public_addr(n.s[1].p)));
    assert_true(pm_addr_equal(seen, map_out(&n.s[1], &n.s[0].host)));
    finish(&n);
}

/* STUN: retransmitted until answered; without an answer the reason says so. */
static void stun_retransmits_and_gives_up(void **st)
{
    (void)st;
    net n = {0};
    setup_side(&n.s[0], NAT_CONE, "10.0.1.2", "198.51.100.1");
    setup_side(&n.s[1], NAT_CONE, "10.0.2.2", "198.51.100.2");
    n.stun_drop = 4; /* each side's first two requests */
    start(&n, true);
    run(&n, PM_SEC(20));
    assert_true(n.stun_requests >= 6);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pm_punch_get_state(n.s[i].p), PM_PUNCH_REACHABLE);
    finish(&n);

    net m = {0};
    setup_side(&m.s[0], NAT_CONE, "10.0.1.2", "198.51.100.1");
    setup_side(&m.s[1], NAT_CONE, "10.0.2.2", "198.51.100.2");
    m.stun_drop = 1000;
    start(&m, true);
    run(&m, PM_SEC(20));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pm_punch_get_state(m.s[i].p), PM_PUNCH_FAILED);
        assert_non_null(strstr(pm_punch_reason(m.s[i].p), "no answer from STUN server "
                                                          "stun:203.0.113.10:3478"));
    }
    /* 250 ms, doubling, given up at 3 s: 4 requests each. */
    assert_int_equal(m.stun_requests, 8);
    finish(&m);
}

/* The peer never sends a line; bad lines and foreign packets are refused. */
static void silence_and_garbage(void **st)
{
    (void)st;
    pm_test_envr(&ENV, 7);
    pm_addr host;
    pm_addr_parse(&host, "10.0.1.2", 40000);
    pm_punch_config cfg = {.peer_id = 5, .hosts = &host, .host_count = 1};
    pm_time t0 = pm_test_clock_now;
    pm_punch *p = pm_punch_new(&ENV, &cfg, t0);
    char line[PM_PUNCH_LINE_MAX];
    assert_true(pm_punch_poll_line(p, line, sizeof line));
    assert_int_equal(strncmp(line, "pmpunch1 ", 9), 0);
    assert_non_null(strstr(line, " host 10.0.1.2 40000"));
    assert_false(pm_punch_poll_line(p, line, sizeof line));
    const char *bad[] = {"",
                         "pmpunch1",
                         "pmpunch1 zz host 10.0.0.1 1",
                         "pmpunch2 1 host 10.0.0.1 1",
                         "pmpunch1 1 relay 10.0.0.1 1",
                         "pmpunch1 1 host 10.0.0.1 0",
                         "pmpunch1 1 host 10.0.0.1 70000",
                         "pmpunch1 1 host nohost 1"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_punch_remote_line(p, t0, bad[i]), PM_ERR_PARSE);
    assert_int_equal(pm_punch_remote_line(p, t0, "pmpunch1 1 host 2001:db8::1 5"),
                     PM_ERR_UNSUPPORTED);
    /* A punch packet with someone else's nonce changes nothing. */
    uint8_t pkt[PM_PUNCH_PACKET_LEN] = "PMPUNCH1";
    pkt[8] = 0;
    assert_true(pm_punch_is_ours(pkt, sizeof pkt));
    assert_false(pm_punch_is_ours(pkt, sizeof pkt - 1));
    pm_addr from;
    pm_addr_parse(&from, "192.0.2.9", 9);
    pm_punch_datagram(p, t0, &from, pkt, sizeof pkt);
    assert_int_equal(pm_punch_get_state(p), PM_PUNCH_WAITING);
    pm_punch_timeout(p, t0 + PM_SEC(10) - 1);
    assert_int_equal(pm_punch_get_state(p), PM_PUNCH_WAITING);
    assert_int_equal(pm_punch_next_timeout(p), t0 + PM_SEC(10));
    pm_punch_timeout(p, t0 + PM_SEC(10));
    assert_int_equal(pm_punch_get_state(p), PM_PUNCH_FAILED);
    assert_string_equal(pm_punch_reason(p),
                        "peer 5 sent no address in 10 s (no STUN server, so only our host "
                        "addresses were sent)");
    assert_int_equal(pm_punch_next_timeout(p), PM_TIME_NEVER);
    assert_int_equal(pm_punch_remote_line(p, t0, "pmpunch1 1 host 10.0.0.1 1"), PM_ERR_STATE);
    pm_punch_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_cone_nats),
        cmocka_unit_test(same_network),
        cmocka_unit_test(symmetric_nat_fails_with_reason),
        cmocka_unit_test(symmetric_nat_to_public_peer),
        cmocka_unit_test(stun_retransmits_and_gives_up),
        cmocka_unit_test(silence_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
