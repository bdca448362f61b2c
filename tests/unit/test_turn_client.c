/*
 * Unit tests: the TURN client of the ICE agent (src/ice/turn.c) against the
 * test TURN server (tests/support/turnsim.c) on the virtual clock. Agent A
 * reaches the server over UDP or a TCP stream (fed back in random slices);
 * agent B is a plain host whose direct path to A can be cut, so that only
 * the relay connects them. Faults: stale nonce, wrong password, quota, a
 * silent server, a server that drops the stream.
 */
#include "testutil.h"
#include "ice/ice.h"
#include "turnsim.h"
#include "wire/candidate.h"
#include "wire/stun.h"
#include "wire/turn.h"

#include <stdio.h>
#include <stdlib.h>

#define MAXQ  4096
#define NODES 3 /* A, B, C (a second TURN client for the quota) */

typedef struct node {
    pm_envr env;
    pm_ice_agent *ag;
    pm_addr host, pub;
    bool active;
    char cands[16][PM_CAND_LINE_MAX];
    int ncands;
    bool gathered;
    int errors, last_error;
    char last_error_text[160];
    int opens, closes;
    uint32_t open_stream;
    int app_in;
    uint8_t last_app[64];
    size_t last_app_len;
    pm_ice_state state;
} node;

typedef struct pkt {
    pm_time at;
    int kind; /* 0: datagram to a node, 1: datagram to the server, 2: stream to the server, 3:
                 stream to a node, 4: stream closed by a node */
    int node;
    uint32_t conn;
    pm_addr from, to;
    size_t len;
    uint8_t data[1600];
} pkt;

typedef struct world {
    node n[NODES];
    pm_turnsim *ts;
    pm_turnsim_config tcfg;
    pkt q[MAXQ];
    size_t nq;
    bool direct_blocked;
    pm_time delay;
    uint64_t rng;
} world;

static world W;
static const char *USER = "alice", *PASS = "wonderland", *REALM = "sim.test";

static void push(world *w, int kind, int dst, uint32_t conn, const pm_addr *from, const pm_addr *to,
                 const uint8_t *d, size_t n)
{
    assert_true(w->nq < MAXQ);
    assert_true(n <= sizeof w->q[0].data);
    pkt *p = &w->q[w->nq++];
    p->at = pm_test_clock_now + w->delay;
    p->kind = kind;
    p->node = dst;
    p->conn = conn;
    p->from = *from;
    p->to = *to;
    p->len = n;
    if (n)
        memcpy(p->data, d, n);
}

static int node_at(world *w, const pm_addr *a)
{
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active && (pm_addr_equal(a, &w->n[i].pub) || pm_addr_equal(a, &w->n[i].host)))
            return i;
    return -1;
}

static bool is_relay_addr(const world *w, const pm_addr *a)
{
    return a->family == 4 && memcmp(a->ip, w->tcfg.relay_ip.ip, 4) == 0;
}

static void drain_events(world *w, int i)
{
    node *n = &w->n[i];
    pm_ice_event ev;
    while (pm_ice_poll_event(n->ag, &ev)) {
        switch (ev.type) {
        case PM_ICE_EV_LOCAL_CANDIDATE:
            assert_true(n->ncands < 16);
            snprintf(n->cands[n->ncands++], PM_CAND_LINE_MAX, "%s", ev.candidate);
            break;
        case PM_ICE_EV_GATHERING_DONE:
            n->gathered = true;
            break;
        case PM_ICE_EV_SERVER_ERROR:
            n->errors++;
            n->last_error = ev.error_code;
            snprintf(n->last_error_text, sizeof n->last_error_text, "%s", ev.text);
            assert_non_null(ev.url);
            break;
        case PM_ICE_EV_STATE:
            n->state = ev.state;
            break;
        default:
            break;
        }
    }
}

static void collect(world *w)
{
    for (int i = 0; i < NODES; i++) {
        node *n = &w->n[i];
        if (!n->active)
            continue;
        pm_ice_transmit t;
        while (pm_ice_poll_transmit(n->ag, &t)) {
            switch (t.kind) {
            case PM_ICE_TX_STREAM_OPEN:
                n->opens++;
                n->open_stream = t.stream;
                break;
            case PM_ICE_TX_STREAM_CLOSE:
                n->closes++;
                push(w, 4, i, t.stream, &n->pub, &w->tcfg.server, NULL, 0);
                break;
            case PM_ICE_TX_STREAM_DATA:
                push(w, 2, i, t.stream, &n->pub, &w->tcfg.server, t.data, t.len);
                break;
            case PM_ICE_TX_DATAGRAM:
                assert_int_equal(t.stream, PM_ICE_STREAM_UDP);
                if (pm_addr_equal(&t.to, &w->tcfg.server) || is_relay_addr(w, &t.to)) {
                    push(w, 1, -1, 0, &n->pub, &t.to, t.data, t.len);
                } else {
                    int dst = node_at(w, &t.to);
                    if (dst >= 0 && !w->direct_blocked)
                        push(w, 0, dst, 0, &n->pub, &t.to, t.data, t.len);
                }
                break;
            }
        }
        drain_events(w, i);
    }
    pm_turnsim_out o;
    while (pm_turnsim_poll(w->ts, &o)) {
        if (o.conn) { /* back over the stream of node conn % 16 */
            int i = (int)(o.conn % 16);
            push(w, 3, i, o.conn / 16, &o.from, &o.to, o.data, o.len);
            continue;
        }
        int dst = node_at(w, &o.to);
        if (dst >= 0)
            push(w, 0, dst, 0, &o.from, &o.to, o.data, o.len);
    }
}

static void on_app(world *w, int i, const pm_ice_app *app)
{
    node *n = &w->n[i];
    n->app_in++;
    n->last_app_len = PM_MIN(app->len, sizeof n->last_app);
    memcpy(n->last_app, app->data, n->last_app_len);
}

static void deliver(world *w, const pkt *p)
{
    pm_time now = pm_test_clock_now;
    if (p->kind == 1) {
        pm_turnsim_datagram(w->ts, now, &p->to, &p->from, p->data, p->len);
    } else if (p->kind == 4) {
        pm_turnsim_stream_closed(w->ts, p->conn * 16 + (uint32_t)p->node);
    } else if (p->kind == 2) {
        pm_turnsim_stream(w->ts, now, p->conn * 16 + (uint32_t)p->node, &p->from, p->data, p->len);
    } else if (p->kind == 0) {
        pm_ice_app app;
        (void)pm_ice_handle_datagram(w->n[p->node].ag, now, &p->from, p->data, p->len, &app);
        if (app.len)
            on_app(w, p->node, &app);
    } else {
        /* Stream bytes arrive in random slices: framing must not care. */
        node *n = &w->n[p->node];
        size_t off = 0;
        while (off < p->len) {
            size_t take = 1 + (size_t)(pm_test_rand(&w->rng) % 9);
            take = PM_MIN(take, p->len - off);
            (void)pm_ice_handle_stream(n->ag, now, p->conn, p->data + off, take);
            off += take;
        }
        pm_ice_app app;
        while (pm_ice_poll_app(n->ag, &app))
            on_app(w, p->node, &app);
    }
}

static bool step(world *w, pm_time limit)
{
    collect(w);
    pm_time next = PM_TIME_NEVER;
    for (size_t i = 0; i < w->nq; i++)
        next = PM_MIN(next, w->q[i].at);
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active)
            next = PM_MIN(next, pm_ice_next_timeout(w->n[i].ag));
    if (next > limit) {
        pm_test_clock_now = limit;
        return false;
    }
    pm_test_clock_now = PM_MAX(pm_test_clock_now, next);
    for (size_t i = 0; i < w->nq;) {
        if (w->q[i].at <= pm_test_clock_now) {
            pkt p = w->q[i];
            memmove(&w->q[i], &w->q[i + 1], (w->nq - i - 1) * sizeof w->q[0]);
            w->nq--;
            deliver(w, &p);
            collect(w);
        } else {
            i++;
        }
    }
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active && pm_ice_next_timeout(w->n[i].ag) <= pm_test_clock_now)
            pm_ice_handle_timeout(w->n[i].ag, pm_test_clock_now);
    return true;
}

typedef bool (*pred)(world *w);

static bool run(world *w, pm_time dur, pred done)
{
    pm_time end = pm_test_clock_now + dur;
    for (long it = 0; it < 3000000; it++) {
        collect(w);
        if (done && done(w))
            return true;
        if (!step(w, end))
            return done ? done(w) : true;
    }
    fail_msg("simulation did not settle");
    return false;
}

typedef struct opts {
    pm_ice_turn_transport transport;
    bool relay_only;
    const char *pass;
    bool stale;
    int quota;
    bool with_c; /* C is a second TURN client */
} opts;

static void add_node(world *w, int i, const char *host, const char *pub, uint16_t port, bool ctrl,
                     bool turn, const opts *o)
{
    node *n = &w->n[i];
    memset(n, 0, sizeof *n);
    n->active = true;
    pm_test_envr(&n->env, 100 + (uint64_t)i);
    pm_addr_parse(&n->host, host, port);
    pm_addr_parse(&n->pub, pub, (uint16_t)(port + 30000));
    pm_ice_turn_server ts = {.addr = w->tcfg.server,
                             .transport = o->transport,
                             .username = USER,
                             .password = o->pass ? o->pass : PASS,
                             .url = "turn:192.0.2.10:3478"};
    pm_ice_config cfg = {.controlling = ctrl,
                         .host_addrs = &n->host,
                         .host_addr_count = 1,
                         .turn_servers = turn ? &ts : NULL,
                         .turn_server_count = turn ? 1 : 0,
                         .relay_only = turn && o->relay_only};
    assert_int_equal(pm_ice_agent_new(&n->env, &cfg, &n->ag), PM_OK);
}

static void world_init(world *w, const opts *o)
{
    memset(w, 0, sizeof *w);
    pm_test_clock_now = PM_SEC(1);
    w->delay = PM_MS(1);
    w->rng = 77;
    w->tcfg.realm = REALM;
    w->tcfg.user = USER;
    w->tcfg.pass = PASS;
    w->tcfg.stale_nonce_once = o->stale;
    w->tcfg.max_allocations = o->quota;
    pm_addr_parse(&w->tcfg.server, "192.0.2.10", 3478);
    pm_addr_parse(&w->tcfg.relay_ip, "192.0.2.10", 50000);
    w->ts = pm_turnsim_new(&w->tcfg);
    add_node(w, 0, "10.0.0.1", "203.0.113.1", 1000, true, true, o);
    add_node(w, 1, "10.0.1.2", "10.0.1.2", 2000, false, false, o);
    w->n[1].pub = w->n[1].host;
    if (o->with_c)
        add_node(w, 2, "10.0.2.3", "203.0.113.3", 3000, true, true, o);
}

static void world_free(world *w)
{
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active)
            pm_ice_agent_free(w->n[i].ag);
    pm_turnsim_free(w->ts);
}

static void gather_all(world *w)
{
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active)
            assert_int_equal(pm_ice_gather(w->n[i].ag, pm_test_clock_now), PM_OK);
}

static bool all_gathered(world *w)
{
    for (int i = 0; i < NODES; i++)
        if (w->n[i].active && !w->n[i].gathered)
            return false;
    return true;
}

static void exchange(world *w)
{
    for (int i = 0; i < 2; i++) {
        int o = 1 - i;
        assert_int_equal(pm_ice_set_remote_credentials(w->n[o].ag, pm_ice_local_ufrag(w->n[i].ag),
                                                       pm_ice_local_pwd(w->n[i].ag), false),
                         PM_OK);
        for (int k = 0; k < w->n[i].ncands; k++)
            assert_int_equal(
                pm_ice_add_remote_candidate(w->n[o].ag, w->n[i].cands[k], pm_test_clock_now),
                PM_OK);
        pm_ice_remote_gathering_done(w->n[o].ag);
    }
}

static bool both_completed(world *w)
{
    return pm_ice_get_state(w->n[0].ag) == PM_ICE_COMPLETED &&
           pm_ice_get_state(w->n[1].ag) == PM_ICE_COMPLETED;
}

static int find_cand(const node *n, pm_cand_type type, pm_candidate *out)
{
    for (int k = 0; k < n->ncands; k++) {
        pm_candidate c;
        assert_int_equal(pm_candidate_parse(&c, n->cands[k]), PM_OK);
        if (c.type == type) {
            *out = c;
            return k;
        }
    }
    return -1;
}

/* Application bytes from A through its relay to B, and back. */
static void app_round_trip(world *w)
{
    uint8_t via;
    pm_addr remote;
    assert_true(pm_ice_selected_path(w->n[0].ag, &via, &remote));
    assert_int_equal(via, 1);
    assert_true(pm_addr_equal(&remote, &w->n[1].host));
    uint8_t hdr[PM_ICE_RELAY_HDR_MAX];
    size_t hlen, pad;
    uint32_t stream;
    pm_addr to;
    const uint8_t payload[] = {23, 1, 2, 3, 4}; /* looks like a DTLS record */
    assert_int_equal(pm_ice_relay_frame(w->n[0].ag, via, &remote, sizeof payload, hdr, &hlen, &pad,
                                        &stream, &to),
                     PM_OK);
    uint8_t msg[128] = {0};
    memcpy(msg, hdr, hlen);
    memcpy(msg + hlen, payload, sizeof payload);
    size_t total = hlen + sizeof payload + pad;
    if (stream == PM_ICE_STREAM_UDP)
        push(w, 1, -1, 0, &w->n[0].pub, &to, msg, total);
    else
        push(w, 2, 0, stream, &w->n[0].pub, &to, msg, total);
    int before = w->n[1].app_in;
    run(w, PM_MS(20), NULL);
    assert_int_equal(w->n[1].app_in, before + 1);
    assert_int_equal(w->n[1].last_app_len, sizeof payload);
    assert_memory_equal(w->n[1].last_app, payload, sizeof payload);
    /* B answers to A's relayed address (plain UDP: B knows nothing of TURN). */
    pm_addr b_remote;
    assert_true(pm_ice_selected_path(w->n[1].ag, &via, &b_remote));
    assert_int_equal(via, 0);
    assert_true(is_relay_addr(w, &b_remote));
    assert_true(pm_ice_is_valid_path(w->n[1].ag, 0, &b_remote));
    const uint8_t back[] = {23, 9, 9};
    push(w, 1, -1, 0, &w->n[1].host, &b_remote, back, sizeof back);
    before = w->n[0].app_in;
    run(w, PM_MS(20), NULL);
    assert_int_equal(w->n[0].app_in, before + 1);
    assert_memory_equal(w->n[0].last_app, back, sizeof back);
}

static void relay_connects(pm_ice_turn_transport transport)
{
    world *w = &W;
    opts o = {.transport = transport, .relay_only = true};
    world_init(w, &o);
    w->direct_blocked = true;
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    /* Relay-only: one relay candidate, nothing else; raddr is how the server saw us. */
    assert_int_equal(w->n[0].ncands, 1);
    pm_candidate c;
    assert_int_equal(find_cand(&w->n[0], PM_CAND_RELAY, &c), 0);
    assert_true(is_relay_addr(w, &c.addr));
    assert_int_equal(c.priority >> 24, 0);
    assert_int_equal(c.transport, PM_CAND_UDP);
    if (transport == PM_ICE_TURN_UDP) {
        assert_true(c.has_related);
        assert_true(pm_addr_equal(&c.related, &w->n[0].pub));
    }
    assert_int_equal(w->n[0].opens, transport == PM_ICE_TURN_UDP ? 0 : 1);
    pm_turnsim_stats st = pm_turnsim_get_stats(w->ts);
    assert_int_equal(st.challenges, 1);
    assert_int_equal(st.allocations, 1);

    exchange(w);
    assert_true(run(w, PM_SEC(10), both_completed));
    pm_ice_pair_info info;
    assert_true(pm_ice_selected_info(w->n[0].ag, &info));
    assert_int_equal(info.local_type, PM_CAND_RELAY);
    assert_int_equal(info.remote_type, PM_CAND_HOST);
    assert_int_equal(info.relay_transport, (int)transport);
    assert_true(pm_ice_selected_info(w->n[1].ag, &info));
    assert_int_equal(info.remote_type, PM_CAND_RELAY);
    st = pm_turnsim_get_stats(w->ts);
    assert_true(st.permissions >= 1);
    assert_int_equal(st.channel_binds, 1); /* bound once the relayed pair was valid */
    assert_int_equal(st.dropped_no_permission, 0);
    assert_true(st.send_indications >= 1);
    app_round_trip(w);
    /* After the bind, data uses ChannelData both ways. */
    st = pm_turnsim_get_stats(w->ts);
    assert_true(st.channel_data_in >= 1 && st.channel_data_out >= 1);

    /* 20 minutes: Refresh before 600 s runs out (twice), permissions every
     * 240 s, the channel every 540 s, consent through the relay: still up. */
    run(w, PM_SEC(1200), NULL);
    assert_true(both_completed(w));
    pm_turnsim_stats later = pm_turnsim_get_stats(w->ts);
    assert_int_equal(later.refreshes, 2);
    assert_true(later.permissions >= st.permissions + 4);
    assert_true(later.channel_binds >= 3);
    assert_int_equal(pm_turnsim_allocations(w->ts), 1);
    app_round_trip(w);

    /* Close: the allocation is released (Refresh with lifetime 0). */
    pm_ice_close(w->n[0].ag);
    run(w, PM_MS(50), NULL);
    assert_int_equal(pm_turnsim_get_stats(w->ts).deallocations, 1);
    assert_int_equal(pm_turnsim_allocations(w->ts), 0);
    assert_int_equal(w->n[0].closes, transport == PM_ICE_TURN_UDP ? 0 : 1);
    world_free(w);
}

static void relay_over_udp(void **st)
{
    (void)st;
    relay_connects(PM_ICE_TURN_UDP);
}

static void relay_over_tcp(void **st)
{
    (void)st;
    relay_connects(PM_ICE_TURN_TCP);
}

static void stale_nonce(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.relay_only = true, .stale = true};
    world_init(w, &o);
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    pm_turnsim_stats s = pm_turnsim_get_stats(w->ts);
    assert_int_equal(s.stale, 1);
    assert_int_equal(s.allocations, 1);
    assert_int_equal(w->n[0].errors, 0);
    pm_candidate c;
    assert_true(find_cand(&w->n[0], PM_CAND_RELAY, &c) >= 0);
    world_free(w);
}

/* Wrong password: a clear error, and with the "all" policy the host and
 * server-reflexive candidates still connect. */
static void wrong_password_falls_back(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.pass = "not-it"};
    world_init(w, &o);
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    assert_int_equal(w->n[0].errors, 1);
    assert_int_equal(w->n[0].last_error, 401);
    assert_non_null(strstr(w->n[0].last_error_text, "password"));
    pm_turnsim_stats s = pm_turnsim_get_stats(w->ts);
    assert_int_equal(s.challenges, 1);
    assert_int_equal(s.wrong_credentials, 1); /* asked once with them, then gave up */
    pm_candidate c;
    assert_int_equal(find_cand(&w->n[0], PM_CAND_RELAY, &c), -1);
    assert_true(find_cand(&w->n[0], PM_CAND_HOST, &c) >= 0);
    exchange(w);
    assert_true(run(w, PM_SEC(5), both_completed));
    pm_ice_pair_info info;
    assert_true(pm_ice_selected_info(w->n[0].ag, &info));
    /* A is behind a NAT and learned no server-reflexive address (the TURN
     * server refused it): B sees it at an address A never signalled. */
    assert_int_equal(info.local_type, PM_CAND_PRFLX);
    assert_true(pm_addr_equal(&info.local, &w->n[0].pub));
    assert_true(pm_ice_selected_info(w->n[1].ag, &info));
    assert_int_equal(info.remote_type, PM_CAND_PRFLX);
    world_free(w);
}

/* Relay-only with a wrong password: nothing can connect, and ICE says so. */
static void wrong_password_relay_only_fails(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.pass = "not-it", .relay_only = true};
    world_init(w, &o);
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    assert_int_equal(w->n[0].ncands, 0);
    /* No relayed candidate under the relay policy: FAILED at once, not
     * after the 30 s checking timeout. */
    collect(w);
    assert_int_equal(pm_ice_get_state(w->n[0].ag), PM_ICE_FAILED);
    assert_int_equal(w->n[0].state, PM_ICE_FAILED);
    assert_int_equal(pm_ice_add_remote_candidate(w->n[0].ag, "1 1 udp 1 10.0.1.2 2000 typ host",
                                                 pm_test_clock_now),
                     PM_ERR_STATE);
    world_free(w);
}

static void quota(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.quota = 1, .with_c = true, .relay_only = true};
    world_init(w, &o);
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    /* One of A and C got the allocation, the other a 486. */
    int got = (w->n[0].ncands == 1) + (w->n[2].ncands == 1);
    assert_int_equal(got, 1);
    int errs = w->n[0].errors + w->n[2].errors;
    assert_int_equal(errs, 1);
    assert_int_equal(w->n[0].errors ? w->n[0].last_error : w->n[2].last_error, 486);
    assert_int_equal(pm_turnsim_get_stats(w->ts).quota, 1);
    world_free(w);
}

static void server_down(void **st)
{
    (void)st;
    world *w = &W;
    for (int tcp = 0; tcp < 2; tcp++) {
        opts o = {.relay_only = true, .transport = tcp ? PM_ICE_TURN_TCP : PM_ICE_TURN_UDP};
        world_init(w, &o);
        pm_turnsim_set_silent(w->ts, true);
        gather_all(w);
        pm_time t0 = pm_test_clock_now;
        assert_true(run(w, PM_SEC(30), all_gathered));
        pm_time took = pm_test_clock_now - t0;
        assert_true(took >= PM_SEC(8) && took <= PM_SEC(11)); /* both: ~9.5 s / 10 s */
        assert_int_equal(w->n[0].errors, 1);
        assert_int_equal(w->n[0].last_error, 701);
        assert_int_equal(w->n[0].ncands, 0);
        assert_int_equal(w->n[0].closes, tcp ? 1 : 0);
        world_free(w);
    }
}

/* The server closes the TCP connection of a working relay: the error is
 * reported and the relayed pairs fail; ICE ends FAILED (relay-only). */
static void stream_lost(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.transport = PM_ICE_TURN_TCP, .relay_only = true};
    world_init(w, &o);
    w->direct_blocked = true;
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    exchange(w);
    assert_true(run(w, PM_SEC(10), both_completed));
    pm_ice_stream_closed(w->n[0].ag, pm_test_clock_now, w->n[0].open_stream, "reset by peer");
    collect(w);
    assert_int_equal(w->n[0].errors, 1);
    assert_int_equal(w->n[0].last_error, 701);
    assert_non_null(strstr(w->n[0].last_error_text, "reset by peer"));
    uint8_t via;
    assert_false(pm_ice_selected_path(w->n[0].ag, &via, NULL) && via == 1 &&
                 pm_ice_get_state(w->n[0].ag) == PM_ICE_COMPLETED);
    /* Garbage from a server stream is not TURN: rejected. */
    world_free(w);
    world_init(w, &o);
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    const uint8_t junk[] = {0x16, 0x03, 0x01, 0x00, 0x20, 0, 0, 0};
    assert_int_equal(
        pm_ice_handle_stream(w->n[0].ag, pm_test_clock_now, w->n[0].open_stream, junk, sizeof junk),
        PM_ERR_PARSE);
    collect(w);
    assert_int_equal(w->n[0].errors, 1);
    assert_int_equal(pm_ice_handle_stream(w->n[0].ag, pm_test_clock_now, 9, junk, sizeof junk),
                     PM_ERR_NOT_FOUND);
    world_free(w);
}

/* ICE restart keeps the allocation: a Refresh, then the same relay
 * candidate again (no new Allocate). */
static void restart_refreshes(void **st)
{
    (void)st;
    world *w = &W;
    opts o = {.relay_only = true};
    world_init(w, &o);
    w->direct_blocked = true;
    gather_all(w);
    assert_true(run(w, PM_SEC(2), all_gathered));
    exchange(w);
    assert_true(run(w, PM_SEC(10), both_completed));
    char before[PM_CAND_LINE_MAX];
    memcpy(before, w->n[0].cands[0], sizeof before);
    for (int i = 0; i < 2; i++) {
        w->n[i].ncands = 0;
        w->n[i].gathered = false;
        assert_int_equal(pm_ice_restart(w->n[i].ag, pm_test_clock_now), PM_OK);
    }
    assert_true(run(w, PM_SEC(2), all_gathered));
    assert_int_equal(w->n[0].ncands, 1);
    assert_string_equal(w->n[0].cands[0], before);
    pm_turnsim_stats s = pm_turnsim_get_stats(w->ts);
    assert_int_equal(s.allocations, 1);
    assert_int_equal(s.refreshes, 1);
    exchange(w);
    assert_true(run(w, PM_SEC(10), both_completed));
    app_round_trip(w);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relay_over_udp),
        cmocka_unit_test(relay_over_tcp),
        cmocka_unit_test(stale_nonce),
        cmocka_unit_test(wrong_password_falls_back),
        cmocka_unit_test(wrong_password_relay_only_fails),
        cmocka_unit_test(quota),
        cmocka_unit_test(server_down),
        cmocka_unit_test(stream_lost),
        cmocka_unit_test(restart_refreshes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
