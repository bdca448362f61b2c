/*
 * Unit tests: the ICE agent (src/ice). Two agents wired back to back through
 * a tiny in-memory network on the virtual clock, with loss, silence, NAT-like
 * address rewriting, a fake STUN server and packet filters.
 */
#include "testutil.h"
#include "ice/ice.h"
#include "wire/candidate.h"
#include "wire/mdns.h"
#include "wire/stun.h"

#include <stdio.h>
#include <stdlib.h>

#define MAXQ 4096

typedef struct peer {
    pm_envr env;
    pm_ice_agent *ag;
    pm_addr host; /* where its socket is */
    pm_addr pub;  /* the source address others see */
    pm_ice_state states[128];
    int nstates;
    char cands[16][PM_CAND_LINE_MAX];
    int ncands;
    bool gathered;
    int role_changes, selected_events;
    bool silent; /* drop everything it sends or is sent */
    pm_time completed_at;
    size_t sent;
} peer;

typedef struct pkt {
    pm_time at;
    int dst; /* 0/1 peers, 2 the STUN server */
    pm_addr from, to;
    size_t len;
    uint8_t data[700];
} pkt;

typedef struct sim sim;
typedef bool (*pkt_filter)(sim *s, int src, pkt *p); /* false: drop */

struct sim {
    peer p[2];
    pkt q[MAXQ];
    size_t nq;
    uint64_t rng;
    unsigned loss_pct;
    pm_time delay;
    pm_addr stun_addr;
    bool stun_on;
    pkt_filter filter;
    int filter_state;
    size_t stun_requests;
};

static sim S; /* large: keep it off the stack */

/* The agent's next datagram for its UDP socket (nothing else is expected
 * without relays or mDNS). */
static bool poll_tx(pm_ice_agent *ag, pm_addr *to, const uint8_t **d, size_t *len)
{
    pm_ice_transmit t;
    if (!pm_ice_poll_transmit(ag, &t))
        return false;
    assert_int_equal(t.kind, PM_ICE_TX_DATAGRAM);
    assert_int_equal(t.stream, PM_ICE_STREAM_UDP);
    *to = t.to;
    *d = t.data;
    *len = t.len;
    return true;
}

static void drain_events(sim *s, int i)
{
    peer *p = &s->p[i];
    pm_ice_event ev;
    while (pm_ice_poll_event(p->ag, &ev)) {
        switch (ev.type) {
        case PM_ICE_EV_STATE:
            assert_true(p->nstates < 128);
            p->states[p->nstates++] = ev.state;
            if (ev.state == PM_ICE_COMPLETED && p->completed_at < 0)
                p->completed_at = pm_test_clock_now;
            break;
        case PM_ICE_EV_LOCAL_CANDIDATE:
            assert_non_null(ev.candidate);
            assert_true(p->ncands < 16);
            snprintf(p->cands[p->ncands++], PM_CAND_LINE_MAX, "%s", ev.candidate);
            break;
        case PM_ICE_EV_GATHERING_DONE:
            assert_false(p->gathered);
            p->gathered = true;
            break;
        case PM_ICE_EV_ROLE_CHANGED:
            p->role_changes++;
            break;
        case PM_ICE_EV_SELECTED_PAIR:
            p->selected_events++;
            break;
        case PM_ICE_EV_SERVER_ERROR:
            fail_msg("unexpected server error event");
            break;
        }
    }
}

static int route(sim *s, int src, const pm_addr *to)
{
    if (s->stun_on && pm_addr_equal(to, &s->stun_addr))
        return 2;
    int other = 1 - src;
    if (pm_addr_equal(to, &s->p[other].host) || pm_addr_equal(to, &s->p[other].pub))
        return other;
    return -1;
}

static void enqueue(sim *s, int src, int dst, const pm_addr *from, const pm_addr *to,
                    const uint8_t *d, size_t len)
{
    if (dst < 0 || (src < 2 && s->p[src].silent) || (dst < 2 && s->p[dst].silent))
        return;
    if (s->loss_pct && pm_test_rand(&s->rng) % 100 < s->loss_pct)
        return;
    assert_true(s->nq < MAXQ);
    assert_true(len <= sizeof s->q[0].data);
    pkt *k = &s->q[s->nq];
    k->at = pm_test_clock_now + s->delay;
    k->dst = dst;
    k->from = *from;
    k->to = *to;
    k->len = len;
    memcpy(k->data, d, len);
    if (s->filter && src < 2 && !s->filter(s, src, k))
        return;
    s->nq++;
}

static void collect(sim *s)
{
    for (int i = 0; i < 2; i++) {
        pm_addr to;
        const uint8_t *d;
        size_t len;
        while (poll_tx(s->p[i].ag, &to, &d, &len)) {
            assert_true(pm_stun_is_stun(d, len));
            s->p[i].sent++;
            enqueue(s, i, route(s, i, &to), &s->p[i].pub, &to, d, len);
        }
        drain_events(s, i);
    }
}

/* The fake STUN server: answers Binding requests with the source it saw. */
static void stun_server(sim *s, const pkt *k)
{
    pm_stun_msg m;
    if (pm_stun_parse(&m, k->data, k->len) != PM_OK || m.cls != PM_STUN_REQUEST)
        return;
    s->stun_requests++;
    uint8_t buf[128];
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &k->from);
    int n = pm_stun_finish(&b, NULL, 0, true);
    assert_true(n > 0);
    int dst = pm_addr_equal(&k->from, &s->p[0].pub) ? 0 : 1;
    enqueue(s, 2, dst, &s->stun_addr, &k->from, buf, (size_t)n);
}

static void deliver_due(sim *s)
{
    for (int guard = 0; guard < 100000; guard++) {
        collect(s);
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s->nq; i++)
            if (s->q[i].at <= pm_test_clock_now && (best == SIZE_MAX || s->q[i].at < s->q[best].at))
                best = i;
        if (best == SIZE_MAX)
            return;
        pkt k = s->q[best];
        memmove(&s->q[best], &s->q[best + 1], (s->nq - best - 1) * sizeof s->q[0]);
        s->nq--;
        if (k.dst == 2)
            stun_server(s, &k);
        else
            (void)pm_ice_handle_stun(s->p[k.dst].ag, pm_test_clock_now, &k.from, k.data, k.len);
    }
    fail_msg("packet storm");
}

/* One step: deliver what is due, run due timers, else advance the clock to
 * the next deadline. Also checks that a timer call before the deadline does
 * nothing at all (next_timeout is exact and nothing fires early). */
static bool step(sim *s, pm_time limit)
{
    deliver_due(s);
    pm_time now = pm_test_clock_now, next = PM_TIME_NEVER;
    pm_time nt[2];
    for (int i = 0; i < 2; i++) {
        nt[i] = pm_ice_next_timeout(s->p[i].ag);
        next = PM_MIN(next, nt[i]);
    }
    for (size_t i = 0; i < s->nq; i++)
        next = PM_MIN(next, s->q[i].at);
    if (next <= now) {
        for (int i = 0; i < 2; i++)
            if (nt[i] <= now)
                assert_int_equal(pm_ice_handle_timeout(s->p[i].ag, now), PM_OK);
        return true;
    }
    for (int i = 0; i < 2; i++) {
        if (nt[i] > now) {
            size_t sent = s->p[i].sent;
            int nstates = s->p[i].nstates;
            pm_ice_state st = pm_ice_get_state(s->p[i].ag);
            pm_ice_handle_timeout(s->p[i].ag, now);
            assert_int_equal(pm_ice_next_timeout(s->p[i].ag), nt[i]);
            collect(s);
            assert_int_equal(s->p[i].sent, sent);
            assert_int_equal(s->p[i].nstates, nstates);
            assert_int_equal(pm_ice_get_state(s->p[i].ag), st);
        }
    }
    if (next > limit) {
        pm_test_clock_now = limit;
        return false;
    }
    pm_test_clock_now = next;
    return true;
}

typedef bool (*sim_pred)(sim *s);

static bool run_until(sim *s, pm_time dur, sim_pred done)
{
    pm_time end = pm_test_clock_now + dur;
    for (long it = 0; it < 2000000; it++) {
        collect(s);
        if (done && done(s))
            return true;
        if (!step(s, end))
            return done ? done(s) : true;
    }
    fail_msg("simulation did not settle");
    return false;
}

static pm_ice_state st(sim *s, int i)
{
    return pm_ice_get_state(s->p[i].ag);
}

static bool both_completed(sim *s)
{
    return st(s, 0) == PM_ICE_COMPLETED && st(s, 1) == PM_ICE_COMPLETED;
}

static bool a_failed(sim *s)
{
    return st(s, 0) == PM_ICE_FAILED;
}

static bool both_gathered(sim *s)
{
    return s->p[0].gathered && s->p[1].gathered;
}

typedef struct sim_opts {
    bool ctrl[2];
    const pm_addr *stun;
    size_t nstun;
    pm_time consent_interval;
} sim_opts;

static void sim_init(sim *s, uint64_t seed, const sim_opts *o)
{
    memset(s, 0, sizeof *s);
    pm_test_clock_now = 1000000;
    s->rng = seed * 7919 + 1;
    s->delay = 100; /* 0.1 ms one way: loopback */
    pm_addr_parse(&s->stun_addr, "192.0.2.1", 3478);
    const char *ips[2] = {"10.0.0.1", "10.0.0.2"};
    for (int i = 0; i < 2; i++) {
        peer *p = &s->p[i];
        pm_test_envr(&p->env, seed * 2 + (uint64_t)i + 1);
        pm_addr_parse(&p->host, ips[i], (uint16_t)(1000 * (i + 1)));
        p->pub = p->host;
        p->completed_at = -1;
        pm_ice_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.controlling = o->ctrl[i];
        cfg.host_addrs = &p->host;
        cfg.host_addr_count = 1;
        if (i == 0) {
            cfg.stun_servers = o->stun;
            cfg.stun_server_count = o->nstun;
        }
        cfg.consent_interval = o->consent_interval;
        assert_int_equal(pm_ice_agent_new(&p->env, &cfg, &p->ag), PM_OK);
    }
}

static void sim_free(sim *s)
{
    for (int i = 0; i < 2; i++)
        pm_ice_agent_free(s->p[i].ag);
}

static void give_creds(sim *s, int from, int to)
{
    assert_int_equal(pm_ice_set_remote_credentials(s->p[to].ag, pm_ice_local_ufrag(s->p[from].ag),
                                                   pm_ice_local_pwd(s->p[from].ag), false),
                     PM_OK);
}

static void give_cands(sim *s, int from, int to)
{
    for (int k = 0; k < s->p[from].ncands; k++)
        assert_int_equal(
            pm_ice_add_remote_candidate(s->p[to].ag, s->p[from].cands[k], pm_test_clock_now),
            PM_OK);
}

static void gather_both(sim *s)
{
    for (int i = 0; i < 2; i++)
        assert_int_equal(pm_ice_gather(s->p[i].ag, pm_test_clock_now), PM_OK);
    collect(s);
}

static bool saw_state(const peer *p, pm_ice_state want)
{
    for (int i = 0; i < p->nstates; i++)
        if (p->states[i] == want)
            return true;
    return false;
}

static void assert_connected_to_each_other(sim *s)
{
    for (int i = 0; i < 2; i++) {
        pm_addr r;
        assert_true(pm_ice_selected_remote(s->p[i].ag, &r));
        assert_true(pm_addr_equal(&r, &s->p[1 - i].pub));
        assert_true(pm_ice_is_valid_remote(s->p[i].ag, &s->p[1 - i].pub));
        assert_false(pm_ice_is_valid_remote(s->p[i].ag, &s->stun_addr));
        assert_true(pm_ice_rtt(s->p[i].ag) >= 0);
        assert_true(s->p[i].selected_events >= 1);
    }
    assert_true(pm_ice_is_controlling(s->p[0].ag) != pm_ice_is_controlling(s->p[1].ag));
}

/* ---- tests ---- */

static void connect_basic(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 1, &o);
    assert_int_equal(strlen(pm_ice_local_ufrag(s->p[0].ag)), 8);
    assert_int_equal(strlen(pm_ice_local_pwd(s->p[0].ag)), 24);
    assert_int_equal(st(s, 0), PM_ICE_NEW);
    assert_int_equal(pm_ice_next_timeout(s->p[0].ag), PM_TIME_NEVER);
    gather_both(s);
    /* Host candidate: typepref 126, IPv4 localpref, component 1, udp. */
    assert_true(both_gathered(s));
    assert_int_equal(s->p[0].ncands, 1);
    pm_candidate c;
    assert_int_equal(pm_candidate_parse(&c, s->p[0].cands[0]), PM_OK);
    assert_true(strncmp(s->p[0].cands[0], "candidate:", 10) == 0);
    assert_int_equal(c.type, PM_CAND_HOST);
    assert_int_equal(c.component, 1);
    assert_int_equal(c.transport, PM_CAND_UDP);
    assert_int_equal(c.priority >> 24, 126);
    assert_int_equal(c.priority & 0xff, 255);
    assert_true(pm_addr_equal(&c.addr, &s->p[0].host));
    assert_int_equal(pm_ice_gather(s->p[0].ag, pm_test_clock_now), PM_OK); /* idempotent */
    collect(s);
    assert_int_equal(s->p[0].ncands, 1);

    pm_time t0 = pm_test_clock_now;
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    /* Setup latency on loopback: well under 3 ms. */
    assert_true(s->p[0].completed_at - t0 < PM_MS(3));
    assert_true(s->p[1].completed_at - t0 < PM_MS(3));
    assert_connected_to_each_other(s);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s->p[i].states[0], PM_ICE_CHECKING);
        assert_true(saw_state(&s->p[i], PM_ICE_CONNECTED));
        assert_int_equal(s->p[i].states[s->p[i].nstates - 1], PM_ICE_COMPLETED);
        assert_int_equal(s->p[i].role_changes, 0);
    }
    /* Stable for a minute: consent keeps it completed, no state changes. */
    int n0 = s->p[0].nstates, n1 = s->p[1].nstates;
    size_t sent = s->p[0].sent;
    run_until(s, PM_SEC(60), NULL);
    assert_true(both_completed(s));
    assert_int_equal(s->p[0].nstates, n0);
    assert_int_equal(s->p[1].nstates, n1);
    /* Consent every 4-6 s: 10..15 requests plus their answers in 60 s. */
    size_t extra = s->p[0].sent - sent;
    assert_true(extra >= 20 && extra <= 32);
    pm_ice_close(s->p[0].ag);
    drain_events(s, 0);
    assert_int_equal(st(s, 0), PM_ICE_CLOSED);
    assert_int_equal(s->p[0].states[s->p[0].nstates - 1], PM_ICE_CLOSED);
    assert_int_equal(pm_ice_next_timeout(s->p[0].ag), PM_TIME_NEVER);
    assert_false(pm_ice_selected_remote(s->p[0].ag, NULL));
    assert_int_equal(pm_ice_handle_timeout(s->p[0].ag, pm_test_clock_now), PM_ERR_CLOSED);
    sim_free(s);
}

static void connect_reverse_roles_and_trickle(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {false, true}};
    sim_init(s, 2, &o);
    gather_both(s);
    /* Candidates before credentials are held; nothing is sent. */
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    run_until(s, PM_MS(100), NULL);
    assert_int_equal(s->p[0].sent + s->p[1].sent, 0);
    assert_int_equal(st(s, 1), PM_ICE_NEW);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    assert_connected_to_each_other(s);
    assert_true(pm_ice_is_controlling(s->p[1].ag));
    /* Duplicate candidates are ignored. */
    give_cands(s, 0, 1);
    run_until(s, PM_MS(10), NULL);
    assert_true(both_completed(s));
    sim_free(s);
}

/* B learns A only from A's checks (like a browser's mDNS candidate). The
 * checks arrive before B even knows A's credentials. */
static void prflx_before_credentials(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        sim *s = &S;
        sim_opts o = {.ctrl = {variant == 0, variant != 0}};
        sim_init(s, 3 + (uint64_t)variant, &o);
        s->p[0].pub.port = 4444; /* NAT: A is seen from a port it never signals */
        pm_ice_set_controlling(s->p[0].ag, variant == 0);
        gather_both(s);
        give_creds(s, 1, 0);
        give_cands(s, 1, 0);
        run_until(s, PM_MS(200), NULL);
        /* B answered A's checks without knowing A; A has a valid pair. */
        assert_true(st(s, 0) == PM_ICE_CONNECTED || st(s, 0) == PM_ICE_COMPLETED);
        assert_int_equal(st(s, 1), PM_ICE_NEW);
        assert_false(pm_ice_is_valid_remote(s->p[1].ag, &s->p[0].pub));
        give_creds(s, 0, 1);
        assert_true(run_until(s, PM_SEC(5), both_completed));
        assert_connected_to_each_other(s);
        sim_free(s);
    }
}

/* B knows A's credentials but never gets A's candidates. */
static void prflx_after_credentials(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 5, &o);
    s->p[0].pub.port = 4445;
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    assert_connected_to_each_other(s);
    /* The signalled host candidate later is just another (unreachable) pair. */
    give_cands(s, 0, 1);
    run_until(s, PM_SEC(1), NULL);
    assert_true(both_completed(s));
    sim_free(s);
}

static void role_conflict(void **state)
{
    (void)state;
    for (int both = 0; both < 2; both++) {
        for (uint64_t seed = 10; seed < 16; seed++) {
            sim *s = &S;
            sim_opts o = {.ctrl = {both == 0, both == 0}};
            sim_init(s, seed, &o);
            gather_both(s);
            give_creds(s, 0, 1);
            give_creds(s, 1, 0);
            give_cands(s, 0, 1);
            give_cands(s, 1, 0);
            assert_true(run_until(s, PM_SEC(5), both_completed));
            assert_connected_to_each_other(s);
            assert_int_equal(s->p[0].role_changes + s->p[1].role_changes, 1);
            sim_free(s);
        }
    }
}

/* Hold USE-CANDIDATE requests for 200 ms: the controlled side is CONNECTED
 * (valid pair, data may flow) but not COMPLETED until it is nominated. */
static bool hold_use_candidate(sim *s, int src, pkt *k)
{
    (void)s;
    pm_stun_msg m;
    if (src == 0 && pm_stun_parse(&m, k->data, k->len) == PM_OK && m.use_candidate)
        k->at += PM_MS(200);
    return true;
}

static void nomination_states(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 20, &o);
    s->filter = hold_use_candidate;
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    run_until(s, PM_MS(100), NULL);
    assert_int_equal(st(s, 0), PM_ICE_CONNECTED);
    assert_int_equal(st(s, 1), PM_ICE_CONNECTED);
    pm_addr r;
    assert_true(pm_ice_selected_remote(s->p[1].ag, &r)); /* best valid pair before nomination */
    assert_true(pm_addr_equal(&r, &s->p[0].pub));
    assert_true(run_until(s, PM_SEC(2), both_completed));
    assert_true(s->p[1].completed_at - 1000000 >= PM_MS(200));
    sim_free(s);
}

/* Two remote candidates; the better one (a higher priority than any real
 * host candidate) never answers. The controlling side nominates the other
 * pair after a short wait, not 2 s. (Pairs need a local address of the
 * remote's family: an IPv6 candidate would not be paired with this IPv4-only
 * agent at all.) */
static void nominate_despite_pending_better_pair(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 21, &o);
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    assert_int_equal(pm_ice_add_remote_candidate(s->p[0].ag,
                                                 "candidate:9 1 udp 2147483647 10.0.0.99 2000 "
                                                 "typ host",
                                                 pm_test_clock_now),
                     PM_OK);
    give_cands(s, 1, 0);
    give_cands(s, 0, 1);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    assert_true(s->p[0].completed_at - 1000000 < PM_MS(400));
    assert_true(s->p[0].completed_at - 1000000 >= PM_MS(250));
    assert_connected_to_each_other(s);
    sim_free(s);
}

static void srflx_gathering(void **state)
{
    (void)state;
    sim *s = &S;
    pm_addr servers[2];
    pm_addr_parse(&servers[0], "192.0.2.1", 3478);
    pm_addr_parse(&servers[1], "2001:db8::3478", 3478); /* no IPv6 host: skipped */
    sim_opts o = {.ctrl = {true, false}, .stun = servers, .nstun = 2};
    sim_init(s, 30, &o);
    s->stun_on = true;
    pm_addr_parse(&s->p[0].pub, "203.0.113.5", 40000); /* behind a NAT */
    gather_both(s);
    assert_int_equal(s->p[0].ncands, 1); /* host at once; srflx needs the server */
    assert_false(s->p[0].gathered);
    assert_true(run_until(s, PM_SEC(1), both_gathered));
    assert_int_equal(s->p[0].ncands, 2);
    pm_candidate c;
    assert_int_equal(pm_candidate_parse(&c, s->p[0].cands[1]), PM_OK);
    assert_int_equal(c.type, PM_CAND_SRFLX);
    assert_int_equal(c.priority >> 24, 100);
    assert_true(pm_addr_equal(&c.addr, &s->p[0].pub));
    assert_true(c.has_related);
    assert_true(pm_addr_equal(&c.related, &s->p[0].host));
    assert_true(strstr(s->p[0].cands[1], "raddr 10.0.0.1 rport 1000") != NULL);
    assert_true(pm_ice_gather(s->p[0].ag, pm_test_clock_now) == PM_OK);
    /* The srflx candidate is what B can use: connect through it. */
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    assert_int_equal(pm_ice_add_remote_candidate(s->p[1].ag, s->p[0].cands[1], pm_test_clock_now),
                     PM_OK);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    assert_connected_to_each_other(s);
    sim_free(s);

    /* No NAT: the mapping equals the host candidate and is not emitted. */
    sim_init(s, 31, &o);
    s->stun_on = true;
    gather_both(s);
    assert_true(run_until(s, PM_SEC(1), both_gathered));
    assert_int_equal(s->p[0].ncands, 1);
    sim_free(s);

    /* A server that never answers: gathering still ends, after ~9.5 s. */
    sim_init(s, 32, &o);
    s->stun_on = false;
    gather_both(s);
    pm_time t0 = pm_test_clock_now;
    assert_true(run_until(s, PM_SEC(60), both_gathered));
    pm_time took = pm_test_clock_now - t0;
    assert_true(took >= PM_SEC(8) && took <= PM_SEC(11));
    assert_int_equal(s->p[0].ncands, 1);
    sim_free(s);
}

static void lossy_connect(void **state)
{
    (void)state;
    int flaps = 0;
    for (uint64_t seed = 100; seed < 130; seed++) {
        sim *s = &S;
        sim_opts o = {.ctrl = {seed & 1, !(seed & 1)}};
        sim_init(s, seed, &o);
        s->loss_pct = 20;
        s->delay = PM_MS(20);
        gather_both(s);
        give_creds(s, 0, 1);
        give_creds(s, 1, 0);
        give_cands(s, 0, 1);
        give_cands(s, 1, 0);
        if (!run_until(s, PM_SEC(30), both_completed))
            fail_msg("seed %llu did not connect: %d %d", (unsigned long long)seed, st(s, 0),
                     st(s, 1));
        assert_connected_to_each_other(s);
        /* And it stays up under loss (consent is retransmitted); a rare
         * DISCONNECTED blip may be in progress at the end, never FAILED. */
        run_until(s, PM_SEC(60), NULL);
        for (int i = 0; i < 2; i++) {
            assert_true(st(s, i) == PM_ICE_COMPLETED || st(s, i) == PM_ICE_DISCONNECTED);
            for (int k = 0; k < s->p[i].nstates; k++)
                flaps += s->p[i].states[k] == PM_ICE_DISCONNECTED;
        }
        sim_free(s);
    }
    print_message("lossy_connect: %d DISCONNECTED blips in 30 x 60 s\n", flaps);
    assert_true(flaps <= 10);
}

static void remote_never_answers(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    for (int done = 0; done < 2; done++) {
        sim_init(s, 40 + (uint64_t)done, &o);
        s->p[1].silent = true;
        gather_both(s);
        give_creds(s, 1, 0);
        give_cands(s, 1, 0);
        if (done)
            pm_ice_remote_gathering_done(s->p[0].ag);
        pm_time t0 = pm_test_clock_now;
        assert_true(run_until(s, PM_SEC(60), a_failed));
        pm_time took = pm_test_clock_now - t0;
        if (done) /* every pair failed after its retransmissions (~8 s) */
            assert_true(took >= PM_SEC(6) && took <= PM_SEC(10));
        else /* no end-of-candidates: the generous timeout */
            assert_true(took >= PM_SEC(29) && took <= PM_SEC(31));
        assert_int_equal(s->p[0].states[0], PM_ICE_CHECKING);
        assert_int_equal(s->p[0].states[s->p[0].nstates - 1], PM_ICE_FAILED);
        assert_int_equal(pm_ice_next_timeout(s->p[0].ag), PM_TIME_NEVER);
        /* 7 transmissions of one check, nothing more after failing. */
        assert_int_equal(s->p[0].sent, 7);
        assert_false(pm_ice_selected_remote(s->p[0].ag, NULL));
        assert_int_equal(pm_ice_add_remote_candidate(s->p[0].ag, "1 1 udp 1 10.9.9.9 9 typ host",
                                                     pm_test_clock_now),
                         PM_ERR_STATE);
        sim_free(s);
    }
}

static bool a_disconnected(sim *s)
{
    return st(s, 0) == PM_ICE_DISCONNECTED;
}

/* Remember when the last success response to A was delivered. */
static pm_time last_resp_to_a;
static bool track_responses(sim *s, int src, pkt *k)
{
    (void)s;
    pm_stun_msg m;
    if (src == 1 && pm_stun_parse(&m, k->data, k->len) == PM_OK && m.cls == PM_STUN_SUCCESS)
        last_resp_to_a = k->at;
    return true;
}

static void consent_loss_and_recovery(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    for (int recover = 0; recover < 2; recover++) {
        sim_init(s, 50 + (uint64_t)recover, &o);
        s->filter = track_responses;
        gather_both(s);
        give_creds(s, 0, 1);
        give_creds(s, 1, 0);
        give_cands(s, 0, 1);
        give_cands(s, 1, 0);
        assert_true(run_until(s, PM_SEC(5), both_completed));
        run_until(s, PM_SEC(12), NULL); /* some consent rounds */
        assert_true(both_completed(s));
        /* B goes silent. */
        s->p[1].silent = true;
        assert_true(run_until(s, PM_SEC(20), a_disconnected));
        pm_time took = pm_test_clock_now - last_resp_to_a;
        assert_true(took >= PM_SEC(5) && took <= PM_MS(8500));
        assert_true(pm_ice_selected_remote(s->p[0].ag, NULL)); /* may recover */
        if (recover) {
            run_until(s, PM_SEC(10), NULL);
            assert_int_equal(st(s, 0), PM_ICE_DISCONNECTED);
            s->p[1].silent = false;
            assert_true(run_until(s, PM_SEC(8), both_completed));
            run_until(s, PM_SEC(60), NULL);
            assert_true(both_completed(s));
            assert_int_equal(s->p[0].states[s->p[0].nstates - 2], PM_ICE_DISCONNECTED);
        } else {
            assert_true(run_until(s, PM_SEC(40), a_failed));
            took = pm_test_clock_now - last_resp_to_a;
            assert_true(took >= PM_SEC(30) && took <= PM_SEC(30) + PM_MS(1));
            assert_false(pm_ice_selected_remote(s->p[0].ag, NULL));
            assert_false(pm_ice_is_valid_remote(s->p[0].ag, &s->p[1].pub));
            run_until(s, PM_SEC(1), NULL);
            assert_int_equal(st(s, 1), PM_ICE_FAILED); /* B lost consent too */
        }
        sim_free(s);
    }
}

/* ---- hand-crafted messages ---- */

static int build_req(uint8_t *buf, size_t cap, const char *user, const char *key, bool prio,
                     bool controlling, uint64_t tb, bool use, uint16_t extra_attr)
{
    uint8_t tid[12];
    for (int i = 0; i < 12; i++)
        tid[i] = (uint8_t)(0xA0 + i);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, cap, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), tid);
    if (user)
        pm_stun_add_str(&b, PM_STUN_ATTR_USERNAME, user);
    if (prio)
        pm_stun_add_u32(&b, PM_STUN_ATTR_PRIORITY, 0x6e0001ff);
    pm_stun_add_u64(&b, controlling ? PM_STUN_ATTR_ICE_CONTROLLING : PM_STUN_ATTR_ICE_CONTROLLED,
                    tb);
    if (use)
        pm_stun_add_flag(&b, PM_STUN_ATTR_USE_CANDIDATE);
    if (extra_attr)
        pm_stun_add_u32(&b, extra_attr, 1);
    return pm_stun_finish(&b, (const uint8_t *)key, key ? strlen(key) : 0, true);
}

/* Pop the single reply an agent queued; parse it. */
static bool one_reply(pm_ice_agent *ag, pm_stun_msg *m, uint8_t *copy)
{
    pm_addr to;
    const uint8_t *d;
    size_t len;
    if (!poll_tx(ag, &to, &d, &len))
        return false;
    memcpy(copy, d, len);
    assert_int_equal(pm_stun_parse(m, copy, len), PM_OK);
    return true;
}

/* A Binding request that passes B's authentication, as anyone who saw the
 * SDP can build it, from `from` with a transaction id of its own. */
static void forge_check(sim *s, int victim, const pm_addr *from, uint32_t seq)
{
    peer *v = &s->p[victim];
    char user[128];
    snprintf(user, sizeof user, "%s:%s", pm_ice_local_ufrag(v->ag),
             pm_ice_local_ufrag(s->p[1 - victim].ag));
    uint8_t tid[12] = {0xF0};
    pm_wr32(tid + 4, seq);
    uint8_t buf[256];
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), tid);
    pm_stun_add_str(&b, PM_STUN_ATTR_USERNAME, user);
    pm_stun_add_u32(&b, PM_STUN_ATTR_PRIORITY, 0x6e0001ff); /* better than any host pair */
    pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLING, 1);
    const char *pwd = pm_ice_local_pwd(v->ag);
    int n = pm_stun_finish(&b, (const uint8_t *)pwd, strlen(pwd), true);
    assert_true(n > 0);
    assert_int_equal(pm_ice_handle_stun(v->ag, pm_test_clock_now, from, buf, (size_t)n), PM_OK);
}

/* Issue 14 item 3.4: ~2,900 valid checks from 200 ports (and a few other
 * hosts) reach B after it has A's credentials but before A's candidates.
 * Every source would be learned as a peer-reflexive pair; the table must
 * not fill with them, so that A's real candidates still get in and ICE
 * connects. The flood keeps going while A's candidates arrive. */
static void prflx_flood_cannot_crowd_out_real_candidates(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 60, &o);
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    uint32_t seq = 0;
    for (int round = 0; round < 14; round++) {
        for (uint16_t port = 0; port < 200; port++) {
            pm_addr from;
            pm_addr_parse(&from, "198.51.100.7", (uint16_t)(20000 + port));
            forge_check(s, 1, &from, seq++);
        }
        for (int h = 0; h < 8; h++) { /* more hosts: the cap is global too */
            char ip[32];
            snprintf(ip, sizeof ip, "198.51.100.%d", 100 + h);
            pm_addr from;
            pm_addr_parse(&from, ip, (uint16_t)(30000 + round));
            forge_check(s, 1, &from, seq++);
        }
        /* Let B's triggered checks to the forged sources run (and time out). */
        run_until(s, PM_MS(20), NULL);
    }
    assert_true(seq >= 2900);
    give_cands(s, 1, 0);
    give_cands(s, 0, 1);
    for (uint16_t port = 0; port < 200; port++) {
        pm_addr from;
        pm_addr_parse(&from, "198.51.100.7", (uint16_t)(40000 + port));
        forge_check(s, 1, &from, seq++);
    }
    assert_true(run_until(s, PM_SEC(10), both_completed));
    assert_connected_to_each_other(s);
    sim_free(s);
}

static void answering_rules(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 77);
    pm_addr host, from;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_addr_parse(&from, "10.0.0.9", 9999);
    pm_ice_config cfg = {.controlling = true, .host_addrs = &host, .host_addr_count = 1};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    const char *lpwd = pm_ice_local_pwd(ag);
    char user[64];
    snprintf(user, sizeof user, "%s:remote1", pm_ice_local_ufrag(ag));
    uint8_t buf[512], reply[512];
    pm_stun_msg m;
    pm_time now = PM_SEC(1);

    /* Valid check before remote credentials: success with XOR-MAPPED-ADDRESS,
     * integrity with our pwd, fingerprint. */
    int n = build_req(buf, sizeof buf, user, lpwd, true, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.cls, PM_STUN_SUCCESS);
    assert_true(m.has_fingerprint);
    assert_true(pm_addr_equal(&m.xor_mapped, &from));
    assert_int_equal(pm_stun_check_integrity(&m, (const uint8_t *)lpwd, strlen(lpwd)), PM_OK);
    assert_false(one_reply(ag, &m, reply));
    assert_false(pm_ice_is_valid_remote(ag, &from));

    /* Wrong pwd: 401 without integrity, dropped. */
    n = build_req(buf, sizeof buf, user, "wrongwrongwrongwrongwrong", true, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_AUTH);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.cls, PM_STUN_ERROR);
    assert_int_equal(m.error_code, 401);
    assert_int_equal(m.integrity_off, 0);
    /* Wrong ufrag: 401. */
    n = build_req(buf, sizeof buf, "nope:remote1", lpwd, true, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_AUTH);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 401);
    /* No USERNAME / no integrity: 400. */
    n = build_req(buf, sizeof buf, NULL, lpwd, true, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_PARSE);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 400);
    n = build_req(buf, sizeof buf, user, NULL, true, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_PARSE);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 400);
    /* No PRIORITY: 400 (authenticated). */
    n = build_req(buf, sizeof buf, user, lpwd, false, false, 5, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_PARSE);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 400);
    assert_int_equal(pm_stun_check_integrity(&m, (const uint8_t *)lpwd, strlen(lpwd)), PM_OK);
    /* Unknown comprehension-required attribute: 420 listing it. Optional
     * unknown attributes (GOOG-NETWORK-INFO) are ignored. */
    n = build_req(buf, sizeof buf, user, lpwd, true, false, 5, false, 0x0042);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_ERR_UNSUPPORTED);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 420);
    assert_int_equal(m.unknown_list.len, 2);
    assert_int_equal(pm_rd16(m.unknown_list.p), 0x0042);
    n = build_req(buf, sizeof buf, user, lpwd, true, false, 5, false, 0xC057);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.cls, PM_STUN_SUCCESS);

    /* Role conflict, we are controlling: remote controlling with tie-breaker 0
     * (ours is larger) -> 487; with UINT64_MAX -> we switch to controlled. */
    n = build_req(buf, sizeof buf, user, lpwd, true, true, 0, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 487);
    assert_true(pm_ice_is_controlling(ag));
    n = build_req(buf, sizeof buf, user, lpwd, true, true, UINT64_MAX, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.cls, PM_STUN_SUCCESS);
    assert_false(pm_ice_is_controlling(ag));
    pm_ice_event ev;
    bool role_ev = false;
    while (pm_ice_poll_event(ag, &ev))
        role_ev |= ev.type == PM_ICE_EV_ROLE_CHANGED;
    assert_true(role_ev);
    /* Now controlled: remote controlled with tie-breaker UINT64_MAX -> 487;
     * with 0 -> we switch back to controlling. */
    n = build_req(buf, sizeof buf, user, lpwd, true, false, UINT64_MAX, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.error_code, 487);
    n = build_req(buf, sizeof buf, user, lpwd, true, false, 0, false, 0);
    assert_int_equal(pm_ice_handle_stun(ag, now, &from, buf, (size_t)n), PM_OK);
    assert_true(pm_ice_is_controlling(ag));
    while (poll_tx(ag, &from, &(const uint8_t *){0}, &(size_t){0}))
        ;
    pm_addr_parse(&from, "10.0.0.9", 9999);

    /* Remote credentials: the remembered source becomes a prflx pair and
     * gets a triggered check keyed with the remote pwd. */
    assert_int_equal(pm_ice_set_remote_credentials(ag, "remote1", "short", false), PM_ERR_INVALID);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "re", "0123456789012345678901", false),
                     PM_ERR_INVALID);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rem-1", "0123456789012345678901", false),
                     PM_ERR_INVALID);
    const char *rpwd = "0123456789012345678901";
    assert_int_equal(pm_ice_set_remote_credentials(ag, "remote1", rpwd, false), PM_OK);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "remote1", rpwd, false), PM_OK);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "remote2", rpwd, false), PM_ERR_STATE);
    assert_true(pm_ice_next_timeout(ag) <= now);
    assert_int_equal(pm_ice_handle_timeout(ag, now), PM_OK);
    assert_true(one_reply(ag, &m, reply));
    assert_int_equal(m.cls, PM_STUN_REQUEST);
    assert_true(m.has_controlling);
    assert_true(m.has_priority);
    assert_int_equal(m.priority >> 24, 110);
    assert_int_equal(pm_stun_check_integrity(&m, (const uint8_t *)rpwd, strlen(rpwd)), PM_OK);
    char want_user[64];
    snprintf(want_user, sizeof want_user, "remote1:%s", pm_ice_local_ufrag(ag));
    assert_int_equal(m.username.len, strlen(want_user));
    assert_memory_equal(m.username.p, want_user, m.username.len);

    /* A response with bad integrity is dropped; the right one validates. */
    uint8_t resp[256];
    pm_stun_builder b;
    pm_stun_begin(&b, resp, sizeof resp, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &host);
    n = pm_stun_finish(&b, (const uint8_t *)"wrong", 5, true);
    assert_int_equal(pm_ice_handle_stun(ag, now + 10, &from, resp, (size_t)n), PM_ERR_AUTH);
    assert_false(pm_ice_is_valid_remote(ag, &from));
    pm_stun_begin(&b, resp, sizeof resp, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &host);
    n = pm_stun_finish(&b, NULL, 0, true); /* no integrity at all */
    assert_int_equal(pm_ice_handle_stun(ag, now + 10, &from, resp, (size_t)n), PM_ERR_AUTH);
    assert_false(pm_ice_is_valid_remote(ag, &from));
    /* From the wrong address: non-symmetric, the pair fails. Use a copy of
     * the agent state? Simpler: answer correctly from the right address. */
    pm_stun_begin(&b, resp, sizeof resp, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &host);
    n = pm_stun_finish(&b, (const uint8_t *)rpwd, strlen(rpwd), true);
    assert_int_equal(pm_ice_handle_stun(ag, now + 10, &from, resp, (size_t)n), PM_OK);
    assert_true(pm_ice_is_valid_remote(ag, &from));
    assert_int_equal(pm_ice_rtt(ag), 10);
    assert_int_equal(pm_ice_get_state(ag), PM_ICE_CONNECTED);
    /* Nomination goes out at once with USE-CANDIDATE. */
    assert_true(one_reply(ag, &m, reply));
    assert_true(m.use_candidate);
    assert_true(m.has_controlling);
    pm_ice_agent_free(ag);
}

static void non_symmetric_response(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 78);
    pm_addr host, remote, other;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_addr_parse(&remote, "10.0.0.2", 2000);
    pm_addr_parse(&other, "10.0.0.3", 2000);
    pm_ice_config cfg = {.controlling = true, .host_addrs = &host, .host_addr_count = 1};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    const char *rpwd = "0123456789012345678901";
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", rpwd, false), PM_OK);
    assert_int_equal(
        pm_ice_add_remote_candidate(ag, "1 1 udp 2130706431 10.0.0.2 2000 typ host", PM_SEC(1)),
        PM_OK);
    pm_ice_remote_gathering_done(ag);
    uint8_t copy[512];
    pm_stun_msg m;
    assert_true(one_reply(ag, &m, copy)); /* first check goes out at once */
    assert_int_equal(m.cls, PM_STUN_REQUEST);
    uint8_t resp[256];
    pm_stun_builder b;
    pm_stun_begin(&b, resp, sizeof resp, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), m.tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &host);
    int n = pm_stun_finish(&b, (const uint8_t *)rpwd, strlen(rpwd), true);
    assert_int_equal(pm_ice_handle_stun(ag, PM_SEC(1) + 5, &other, resp, (size_t)n), PM_OK);
    assert_false(pm_ice_is_valid_remote(ag, &remote));
    assert_false(pm_ice_is_valid_remote(ag, &other));
    /* The only pair failed and the remote is done: FAILED. */
    assert_int_equal(pm_ice_get_state(ag), PM_ICE_FAILED);
    /* A 487 answer in another agent: role flips and the pair is retried. */
    pm_ice_agent_free(ag);

    cfg.controlling = true;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", rpwd, false), PM_OK);
    assert_int_equal(
        pm_ice_add_remote_candidate(ag, "1 1 udp 2130706431 10.0.0.2 2000 typ host", PM_SEC(1)),
        PM_OK);
    assert_true(one_reply(ag, &m, copy));
    pm_stun_begin(&b, resp, sizeof resp, pm_stun_type(PM_STUN_BINDING, PM_STUN_ERROR), m.tid);
    pm_stun_add_error(&b, 487, NULL);
    n = pm_stun_finish(&b, (const uint8_t *)rpwd, strlen(rpwd), true);
    assert_int_equal(pm_ice_handle_stun(ag, PM_SEC(1) + 5, &remote, resp, (size_t)n), PM_OK);
    assert_false(pm_ice_is_controlling(ag));
    assert_int_equal(pm_ice_handle_timeout(ag, pm_ice_next_timeout(ag)), PM_OK);
    assert_true(one_reply(ag, &m, copy)); /* retried as controlled */
    assert_true(m.has_controlled);
    assert_false(m.has_controlling);
    pm_ice_agent_free(ag);
}

static void remote_candidate_rules(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 79);
    pm_addr host;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_ice_config cfg = {.controlling = false, .host_addrs = &host, .host_addr_count = 1};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    pm_time now = PM_SEC(1);
    assert_int_equal(pm_ice_add_remote_candidate(ag, "garbage", now), PM_ERR_PARSE);
    assert_int_equal(pm_ice_add_remote_candidate(ag, "", now), PM_ERR_PARSE);
    assert_int_equal(pm_ice_add_remote_candidate(
                         ag, "candidate:1 1 udp 2113937151 abcd-1234.local 5000 typ host", now),
                     PM_ERR_UNSUPPORTED);
    assert_int_equal(
        pm_ice_add_remote_candidate(
            ag, "candidate:1 1 tcp 2113937151 10.0.0.2 9 typ host tcptype active", now),
        PM_ERR_UNSUPPORTED);
    assert_int_equal(pm_ice_add_remote_candidate(ag, "1 2 udp 1 10.0.0.2 5000 typ host", now),
                     PM_ERR_UNSUPPORTED);
    assert_int_equal(pm_ice_add_remote_candidate(ag, "1 1 udp 1 0.0.0.0 5000 typ host", now),
                     PM_ERR_UNSUPPORTED);
    assert_int_equal(pm_ice_add_remote_candidate(ag, "1 1 udp 1 10.0.0.2 0 typ host", now),
                     PM_ERR_UNSUPPORTED);
    char line[128];
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 udp %d 10.1.%d.%d 5000 typ host", i, 1000 + i,
                 i / 200, i % 200 + 1);
        int rc = pm_ice_add_remote_candidate(ag, line, now);
        assert_int_equal(rc, i < 32 ? PM_OK : PM_ERR_FULL);
        /* Duplicates are accepted and ignored. */
        if (i < 32)
            assert_int_equal(pm_ice_add_remote_candidate(ag, line, now), PM_OK);
    }
    /* Held: nothing goes out without credentials. */
    assert_int_equal(pm_ice_next_timeout(ag), PM_TIME_NEVER);
    pm_addr to;
    const uint8_t *d;
    size_t len;
    assert_false(poll_tx(ag, &to, &d, &len));
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", "0123456789012345678901", false),
                     PM_OK);
    /* Paced: one check per Ta (50 ms), the first at once, highest priority
     * first. */
    pm_ice_handle_timeout(ag, now);
    int sent = 0;
    while (poll_tx(ag, &to, &d, &len))
        sent++;
    assert_int_equal(sent, 1);
    pm_addr want;
    pm_addr_parse(&want, "10.1.0.32", 5000);
    assert_true(pm_addr_equal(&to, &want)); /* priority 1031: the largest */
    assert_int_equal(pm_ice_next_timeout(ag), now + PM_MS(50));
    pm_ice_handle_timeout(ag, now + PM_MS(49));
    assert_false(poll_tx(ag, &to, &d, &len));
    pm_ice_handle_timeout(ag, now + PM_MS(50));
    sent = 0;
    while (poll_tx(ag, &to, &d, &len))
        sent++;
    assert_int_equal(sent, 1);
    /* The first retransmission of the first check comes 100 ms after it. */
    assert_int_equal(pm_ice_next_timeout(ag), now + PM_MS(100));
    pm_ice_agent_free(ag);
}

/* The candidate, pair and transaction tables start small and grow as they
 * are used, up to their limits: 8 host addresses (one more is ignored) all
 * become candidates; 32 remote candidates (one more is refused) all get a
 * pair, and every pair's check is sent and retransmitted its 7 times while
 * the others are in flight (up to 32 live transactions). */
static void tables_grow_to_their_limits(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 83);
    pm_addr hosts[9];
    for (int i = 0; i < 9; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.%d.1", i + 1);
        pm_addr_parse(&hosts[i], ip, 1000);
    }
    pm_ice_config cfg = {.controlling = false, .host_addrs = hosts, .host_addr_count = 9};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    assert_int_equal(pm_ice_gather(ag, PM_SEC(1)), PM_OK);
    pm_ice_event ev;
    int ncands = 0;
    bool done = false;
    while (pm_ice_poll_event(ag, &ev)) {
        if (ev.type == PM_ICE_EV_GATHERING_DONE) {
            done = true;
            continue;
        }
        assert_int_equal(ev.type, PM_ICE_EV_LOCAL_CANDIDATE);
        pm_candidate c;
        assert_int_equal(pm_candidate_parse(&c, ev.candidate), PM_OK);
        assert_true(ncands < 8);
        assert_true(pm_addr_equal(&c.addr, &hosts[ncands]));
        ncands++;
    }
    assert_true(done);
    assert_int_equal(ncands, 8);

    pm_time now = PM_SEC(1);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", "0123456789012345678901", false),
                     PM_OK);
    enum { REMOTES = 32 };
    pm_addr remotes[REMOTES];
    int sends[REMOTES] = {0};
    char line[128];
    for (int i = 0; i <= REMOTES; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 udp %d 10.9.0.%d 5000 typ host", i, 1000 + i,
                 i + 1);
        assert_int_equal(pm_ice_add_remote_candidate(ag, line, now),
                         i < REMOTES ? PM_OK : PM_ERR_FULL);
        if (i < REMOTES) {
            char ip[32];
            snprintf(ip, sizeof ip, "10.9.0.%d", i + 1);
            pm_addr_parse(&remotes[i], ip, 5000);
        }
    }
    /* Nobody answers: 32 checks paced 50 ms apart, each sent 7 times over
     * ~6.3 s, so most of them are in flight together. */
    pm_time end = now + PM_SEC(12);
    for (int guard = 0; guard < 100000 && now < end; guard++) {
        pm_ice_handle_timeout(ag, now);
        pm_addr to;
        const uint8_t *d;
        size_t len;
        while (poll_tx(ag, &to, &d, &len)) {
            int k = -1;
            for (int i = 0; i < REMOTES; i++)
                if (pm_addr_equal(&to, &remotes[i]))
                    k = i;
            assert_true(k >= 0);
            sends[k]++;
        }
        pm_time next = pm_ice_next_timeout(ag);
        if (next == PM_TIME_NEVER)
            break;
        now = PM_MAX(now, next);
    }
    for (int i = 0; i < REMOTES; i++)
        assert_int_equal(sends[i], 7);
    pm_ice_agent_free(ag);
}

/* The tables grow while checks are in flight: B is given 31 candidates
 * that lead nowhere, better than A's real one, which comes last (32nd
 * remote, pair index 31); A and B still connect to each other. */
static void connect_after_tables_grew(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 84, &o);
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    char line[128];
    for (int i = 0; i < 31; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 udp %d 10.9.0.%d 5000 typ host", 100 + i,
                 2130706431 - i, i + 1);
        assert_int_equal(pm_ice_add_remote_candidate(s->p[1].ag, line, pm_test_clock_now), PM_OK);
        run_until(s, PM_MS(20), NULL); /* checks go out while the table grows */
    }
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(10), both_completed));
    assert_connected_to_each_other(s);
    sim_free(s);
}

/* A browser's ".local" host candidate: an mDNS question goes out on the
 * mDNS route, the answer makes it an ordinary candidate that gets checked.
 * A name nobody answers is dropped after 5 s, after 4 questions. */
static void mdns_candidates(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 81);
    pm_addr host;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_ice_config cfg = {
        .controlling = true, .host_addrs = &host, .host_addr_count = 1, .resolve_mdns = true};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    pm_time now = PM_SEC(1);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", "0123456789012345678901", false),
                     PM_OK);
    const char *name = "9b6b7c3f-2d3c-4bd4-a0d0-6f3b6f0ed1aa.local";
    char line[256];
    snprintf(line, sizeof line, "candidate:1 1 udp 2122260223 %s 5000 typ host", name);
    assert_int_equal(pm_ice_add_remote_candidate(ag, line, now), PM_OK);
    assert_int_equal(pm_ice_add_remote_candidate(ag, line, now), PM_OK); /* again: one question */
    assert_int_equal(pm_ice_add_remote_candidate(
                         ag, "candidate:1 1 udp 2122260223 host.example.com 5000 typ host", now),
                     PM_ERR_UNSUPPORTED);
    pm_ice_transmit t;
    assert_true(pm_ice_poll_transmit(ag, &t));
    assert_int_equal(t.kind, PM_ICE_TX_DATAGRAM);
    assert_int_equal(t.stream, PM_ICE_STREAM_MDNS);
    char group[PM_ADDR_STRLEN];
    assert_string_equal(pm_addr_format(&t.to, group, sizeof group), "224.0.0.251:5353");
    uint8_t q[512];
    size_t qlen = t.len;
    memcpy(q, t.data, qlen);
    assert_false(pm_ice_poll_transmit(ag, &t));
    /* Our question looped back is ignored; the answer is not a check yet. */
    assert_int_equal(pm_ice_handle_mdns(ag, now, q, qlen), PM_OK);
    assert_false(pm_ice_poll_transmit(ag, &t));
    /* The answer: the question's name with an A record. */
    uint8_t r[512];
    memcpy(r, q, qlen);
    pm_wr16(r + 2, 0x8400);
    pm_wr16(r + 4, 0);
    pm_wr16(r + 6, 1);
    size_t off = 12;
    memcpy(r + off, q + 12, strlen(name) + 2);
    off += strlen(name) + 2;
    const uint8_t ip[4] = {10, 0, 0, 77};
    pm_wr16(r + off, PM_MDNS_TYPE_A);
    pm_wr16(r + off + 2, 0x8001);
    pm_wr32(r + off + 4, 120);
    pm_wr16(r + off + 8, 4);
    memcpy(r + off + 10, ip, 4);
    off += 14;
    assert_int_equal(pm_ice_handle_mdns(ag, now, r, off), PM_OK);
    assert_int_equal(pm_ice_handle_timeout(ag, now), PM_OK);
    assert_true(pm_ice_poll_transmit(ag, &t)); /* the check */
    assert_int_equal(t.stream, PM_ICE_STREAM_UDP);
    char to[PM_ADDR_STRLEN];
    assert_string_equal(pm_addr_format(&t.to, to, sizeof to), "10.0.0.77:5000");

    /* Nobody answers another name: 4 questions, dropped at 5 s. */
    snprintf(line, sizeof line, "candidate:2 1 udp 2122260223 other-%s 5001 typ host", name);
    assert_int_equal(pm_ice_add_remote_candidate(ag, line, now), PM_OK);
    int questions = 0;
    pm_time t0 = now;
    while (now < t0 + PM_SEC(8)) {
        while (pm_ice_poll_transmit(ag, &t))
            questions += t.stream == PM_ICE_STREAM_MDNS;
        pm_time next = pm_ice_next_timeout(ag);
        if (next > t0 + PM_SEC(8))
            break;
        now = PM_MAX(next, now + 1);
        pm_ice_handle_timeout(ag, now);
    }
    assert_int_equal(questions, 4);
    pm_ice_agent_free(ag);
}

/* A remote candidate of a family we have no address of gets no pair. */
static void no_pair_across_families(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 82);
    pm_addr host;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_ice_config cfg = {.controlling = true, .host_addrs = &host, .host_addr_count = 1};
    pm_ice_agent *ag;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    assert_int_equal(pm_ice_set_remote_credentials(ag, "rrrr", "0123456789012345678901", false),
                     PM_OK);
    assert_int_equal(pm_ice_add_remote_candidate(
                         ag, "candidate:1 1 udp 2130706431 2001:db8::2 2000 typ host", PM_SEC(1)),
                     PM_OK);
    pm_ice_remote_gathering_done(ag);
    pm_ice_handle_timeout(ag, PM_SEC(1));
    pm_ice_transmit t;
    assert_false(pm_ice_poll_transmit(ag, &t));
    assert_int_equal(pm_ice_get_state(ag), PM_ICE_NEW);
    pm_ice_agent_free(ag);
}

/* ICE restart (RFC 8445 9): new credentials; until the remote restarts
 * too, its checks with our old credentials are still answered (consent
 * holds); then a new check list connects again. */
static void restart_keeps_consent(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 83, &o);
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    char old_ufrag[16];
    snprintf(old_ufrag, sizeof old_ufrag, "%s", pm_ice_local_ufrag(s->p[0].ag));
    s->p[0].ncands = 0;
    s->p[0].gathered = false;
    assert_int_equal(pm_ice_restart(s->p[0].ag, pm_test_clock_now), PM_OK);
    assert_true(pm_ice_restarting(s->p[0].ag));
    assert_string_not_equal(pm_ice_local_ufrag(s->p[0].ag), old_ufrag);
    collect(s);
    assert_int_equal(s->p[0].ncands, 1); /* the host candidate, reported again */
    /* 20 s before the remote hears of it: B's consent keeps working. */
    run_until(s, PM_SEC(20), NULL);
    assert_true(both_completed(s));
    /* New credentials without a restart are refused; with one, checks start over. */
    s->p[1].ncands = 0;
    s->p[1].gathered = false;
    assert_int_equal(pm_ice_set_remote_credentials(s->p[1].ag, pm_ice_local_ufrag(s->p[0].ag),
                                                   pm_ice_local_pwd(s->p[0].ag), false),
                     PM_ERR_STATE);
    assert_int_equal(pm_ice_restart(s->p[1].ag, pm_test_clock_now), PM_OK);
    collect(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    assert_false(pm_ice_restarting(s->p[0].ag));
    /* Data keeps its path while the new check list runs. */
    assert_true(pm_ice_selected_remote(s->p[0].ag, NULL));
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    assert_connected_to_each_other(s);
    /* Old credentials are forgotten now. */
    uint8_t buf[512];
    char user[64];
    snprintf(user, sizeof user, "%s:%s", old_ufrag, pm_ice_local_ufrag(s->p[1].ag));
    int n =
        build_req(buf, sizeof buf, user, pm_ice_local_pwd(s->p[0].ag), true, false, 5, false, 0);
    assert_int_equal(
        pm_ice_handle_stun(s->p[0].ag, pm_test_clock_now, &s->p[1].pub, buf, (size_t)n),
        PM_ERR_AUTH);
    sim_free(s);
}

static void local_candidates(void **state)
{
    (void)state;
    pm_envr env;
    pm_test_envr(&env, 80);
    pm_addr hosts[4];
    pm_addr_parse(&hosts[0], "192.168.1.2", 5000);
    pm_addr_parse(&hosts[1], "2001:db8::2", 5000);
    pm_addr_parse(&hosts[2], "10.0.0.2", 5000);
    hosts[3] = hosts[0]; /* duplicate: one candidate */
    pm_ice_config cfg = {.controlling = false, .host_addrs = hosts, .host_addr_count = 4};
    pm_ice_agent *ag, *ag2;
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag), PM_OK);
    assert_int_equal(pm_ice_agent_new(&env, &cfg, &ag2), PM_OK);
    assert_int_equal(pm_ice_gather(ag, 0), PM_OK);
    assert_int_equal(pm_ice_gather(ag2, 0), PM_OK);
    pm_ice_event ev, ev2;
    pm_candidate c[3];
    int n = 0;
    bool done = false;
    while (pm_ice_poll_event(ag, &ev)) {
        assert_true(pm_ice_poll_event(ag2, &ev2));
        assert_int_equal(ev.type, ev2.type);
        if (ev.type == PM_ICE_EV_GATHERING_DONE) {
            done = true;
            continue;
        }
        assert_int_equal(ev.type, PM_ICE_EV_LOCAL_CANDIDATE);
        assert_false(done);
        assert_true(n < 3);
        assert_int_equal(pm_candidate_parse(&c[n], ev.candidate), PM_OK);
        /* Foundations are a function of type and base IP only. */
        assert_string_equal(ev.candidate, ev2.candidate);
        n++;
    }
    assert_true(done);
    assert_int_equal(n, 3);
    assert_true(c[1].priority > c[0].priority); /* IPv6 above IPv4 */
    assert_true(c[0].priority > c[2].priority); /* first address of a family first */
    assert_string_not_equal(c[0].foundation, c[2].foundation);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].priority >> 24, 126);
        assert_int_equal(c[i].priority & 0xff, 255);
        assert_int_equal(c[i].addr.port, 5000);
    }
    /* A lite remote makes us controlling. */
    assert_false(pm_ice_is_controlling(ag));
    assert_int_equal(pm_ice_set_remote_credentials(ag, "lite", "0123456789012345678901", true),
                     PM_OK);
    assert_true(pm_ice_is_controlling(ag));
    pm_ice_agent_free(ag);
    pm_ice_agent_free(ag2);
}

static void garbage_input(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 60, &o);
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    uint64_t rng = 99;
    uint8_t buf[600];
    for (int i = 0; i < 20000; i++) {
        size_t len = pm_test_rand(&rng) % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)pm_test_rand(&rng);
        if (len >= 20 && i % 2) { /* make it look like STUN */
            buf[0] &= 0x01;
            pm_wr16(buf + 2, (uint16_t)((len - 20) & ~3u));
            pm_wr32(buf + 4, PM_STUN_MAGIC);
            len = 20 + ((len - 20) & ~(size_t)3);
        }
        int rc = pm_ice_handle_stun(s->p[0].ag, pm_test_clock_now, &s->p[1].pub, buf, len);
        assert_true(rc <= 0);
    }
    assert_int_equal(pm_ice_handle_stun(s->p[0].ag, pm_test_clock_now, &s->p[1].pub, buf, 0),
                     PM_ERR_PARSE);
    /* Unsolicited but well-formed responses and indications are ignored. */
    uint8_t tid[12] = {1};
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, PM_STUN_SUCCESS), tid);
    int n = pm_stun_finish(&b, NULL, 0, true);
    assert_int_equal(
        pm_ice_handle_stun(s->p[0].ag, pm_test_clock_now, &s->p[1].pub, buf, (size_t)n), PM_OK);
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, PM_STUN_INDICATION), tid);
    n = pm_stun_finish(&b, NULL, 0, true);
    assert_int_equal(
        pm_ice_handle_stun(s->p[0].ag, pm_test_clock_now, &s->p[1].pub, buf, (size_t)n), PM_OK);
    /* Still fine afterwards. */
    while (poll_tx(s->p[0].ag, &(pm_addr){0}, &(const uint8_t *){0}, &(size_t){0}))
        ;
    run_until(s, PM_SEC(20), NULL);
    assert_true(both_completed(s));
    sim_free(s);
}

/* ---- steady state allocates nothing ---- */

static size_t allocs;
static void *count_alloc(void *ud, size_t n)
{
    (void)ud;
    allocs++;
    return malloc(n);
}
static void *count_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    allocs++;
    return realloc(p, n);
}
static void count_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void no_steady_state_malloc(void **state)
{
    (void)state;
    sim *s = &S;
    sim_opts o = {.ctrl = {true, false}};
    sim_init(s, 70, &o);
    for (int i = 0; i < 2; i++) {
        pm_env e;
        pm_test_env(&e, 700 + (uint64_t)i);
        e.alloc = count_alloc;
        e.realloc = count_realloc;
        e.free = count_free;
        pm_env_resolve(&s->p[i].env, &e);
        pm_ice_agent_free(s->p[i].ag);
        pm_ice_config cfg = {
            .controlling = i == 0, .host_addrs = &s->p[i].host, .host_addr_count = 1};
        assert_int_equal(pm_ice_agent_new(&s->p[i].env, &cfg, &s->p[i].ag), PM_OK);
    }
    gather_both(s);
    give_creds(s, 0, 1);
    give_creds(s, 1, 0);
    give_cands(s, 0, 1);
    give_cands(s, 1, 0);
    assert_true(run_until(s, PM_SEC(5), both_completed));
    run_until(s, PM_SEC(10), NULL);
    size_t before = allocs;
    run_until(s, PM_SEC(120), NULL);
    assert_true(both_completed(s));
    assert_int_equal(allocs, before);
    sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_basic),
        cmocka_unit_test(connect_reverse_roles_and_trickle),
        cmocka_unit_test(prflx_before_credentials),
        cmocka_unit_test(prflx_after_credentials),
        cmocka_unit_test(role_conflict),
        cmocka_unit_test(nomination_states),
        cmocka_unit_test(nominate_despite_pending_better_pair),
        cmocka_unit_test(srflx_gathering),
        cmocka_unit_test(lossy_connect),
        cmocka_unit_test(remote_never_answers),
        cmocka_unit_test(consent_loss_and_recovery),
        cmocka_unit_test(prflx_flood_cannot_crowd_out_real_candidates),
        cmocka_unit_test(answering_rules),
        cmocka_unit_test(non_symmetric_response),
        cmocka_unit_test(remote_candidate_rules),
        cmocka_unit_test(tables_grow_to_their_limits),
        cmocka_unit_test(connect_after_tables_grew),
        cmocka_unit_test(mdns_candidates),
        cmocka_unit_test(no_pair_across_families),
        cmocka_unit_test(restart_keeps_consent),
        cmocka_unit_test(local_candidates),
        cmocka_unit_test(garbage_input),
        cmocka_unit_test(no_steady_state_malloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
