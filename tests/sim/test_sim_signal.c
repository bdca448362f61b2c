/*
 * Simulation: signaling and the mesh together, in one process on the
 * virtual clock. The signaling server's protocol core (sig_core), eight
 * signaling client cores (sig_client) and the meshes they build: the
 * clients' peer factory makes sans-I/O peer connections whose datagrams
 * cross simnet (5 % loss, 1 % duplication, 5-25 ms jitter); the WebSocket
 * between each client and the server is an in-order queue with seeded
 * delays. Everything follows from the seed.
 *
 * The story, with exact outcomes checked at each step:
 *  1. the host creates a lobby and six peers join one after the other; the
 *     mesh of seven connects (every link; offers by the protocol's rule)
 *     and every node's broadcasts arrive on every channel;
 *  2. a peer leaves: everyone is told (PEER_LEFT, PEER_DISCONNECTED);
 *  3. two peers join late (one in the slot of the one who left): the mesh
 *     of eight connects and carries every channel again;
 *  4. a non-host cannot seal; the host seals: SEALED for all, then after
 *     the seal delay CLOSED 1000 "Seal complete"; the mesh lives on and
 *     still carries every channel;
 *  5. a second lobby of four connects; one peer closes its signaling (the
 *     others are told it left; its own mesh stays); then the host leaves:
 *     the others are closed with 4000 "Room host has disconnected", their
 *     meshes with it, and the server has no lobby left.
 * And on a server with host migration: the host of a lobby of four leaves,
 * the lowest id takes over, the meshes follow (3.x server compatibility: the
 * new host is their server), the mesh of three carries every channel, only
 * the new host can seal.
 * Every signaling event of every client must be exactly the sequence the
 * story implies. Every observable thing (messages on the signaling queue,
 * events, packets, with their virtual times) feeds a trace hash: the same
 * seed twice must give the same trace, another seed another one.
 *
 * Apart from the story: the network of a lobby of four goes away while
 * signaling stays up; on every link the side that offered restarts ICE
 * through the server, the links come back within the meshes' grace and
 * nobody leaves (run_outage).
 */
#include "signaling/sig_client.h"
#include "signaling/sig_core.h"
#include "simnet.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <stdlib.h>

#define SLOTS           8
#define MAX_EPS         256
#define MAX_EVENTS      48
#define PER_CHANNEL     3 /* broadcasts per node per channel per round */
#define SEAL_DELAY      PM_SEC(1)
#define PHASE_LIMIT     PM_SEC(30)
#define HOST_ID         1
#define OUTAGE          PM_SEC(35) /* > consent's 30 s timeout: only a restart recovers */
#define GRACE           PM_SEC(60) /* the meshes' disconnect_grace */
#define SIG_ID_MAX_TEST 0x7fffffff

enum { CH_R = 0, CH_O, CH_U, CH_X, CH_COUNT }; /* reliable, ordered, unreliable, extra 1 */
static const pm_mp_transfer_mode CH_MODE[CH_COUNT] = {
    PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE,
    PM_MP_TRANSFER_RELIABLE};
static const pm_mp_transfer_mode EXTRA[] = {PM_MP_TRANSFER_RELIABLE};

typedef struct sig_ev {
    pm_signal_event_type type;
    int32_t peer;
    int code;
} sig_ev;

typedef struct slot {
    int index;
    int gen; /* bumped for every core that lives in this slot */
    pm_sigcl *core;
    uint64_t conn; /* the server core's id for its connection */
    bool ws_open;  /* the client side of the WebSocket is up */
    uint64_t rng;
    pm_env env;
    int32_t id;
    char reason[128]; /* of the last CLOSED */
    sig_ev got[MAX_EVENTS], want[MAX_EVENTS];
    int ngot, nwant;
    int connected;   /* PEER_CONNECTED minus PEER_DISCONNECTED */
    int succeeded;   /* CONNECTION_SUCCEEDED */
    int mp_other;    /* any other multiplayer event */
    int32_t gone_id; /* the last PEER_DISCONNECTED */
    int recv[SLOTS][CH_COUNT];
    int next_seq[SLOTS][CH_COUNT];
    uint8_t seen[SLOTS][CH_COUNT][PER_CHANNEL];
    int bad;
} slot;

/* A peer connection on simnet, found through its mesh by (slot, gen, peer id). */
typedef struct endpoint {
    int slot, gen;
    int32_t peer;
    pm_rtc_peer *pc;
    bool dead;
    pm_addr addr;
} endpoint;

/* The WebSocket: in-order per connection and direction, seeded delays. */
enum { TO_SERVER, TO_CLIENT };
enum { WS_MSG, WS_CLOSE, WS_GONE, WS_PING, WS_PONG };
typedef struct ws_item {
    pm_time at;
    uint64_t seq;
    int dir, slot, gen, kind, code;
    uint64_t conn;
    uint8_t *data;
    size_t len;
} ws_item;

typedef struct offer_rec {
    int32_t from, to;
} offer_rec;

typedef struct sim {
    pm_signal_protocol proto;
    uint64_t seed;
    pm_simnet *net;
    pm_sigsrv *srv;
    pm_env srv_env;
    uint64_t srv_rng, ws_rng;
    slot s[SLOTS];
    endpoint eps[MAX_EPS];
    int neps;
    ws_item *q;
    size_t nq, qcap;
    uint64_t qseq;
    pm_time last_at[2][SLOTS];
    int32_t members[SLOTS]; /* the lobby's ids in the server's member order */
    int nmembers;
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    offer_rec offers[128];
    int noffers, nanswers;
    int restarts; /* offers on a link that had one (ICE restarts) */
    pm_sim_link link;
    int sent_round; /* packets carry the round, so old ones are told apart */
    pm_time t0;
    uint64_t trace; /* FNV-1a over everything observable */
    uint64_t trace_records;
} sim;

static sim S;

/* ---- trace ---------------------------------------------------------------------- */

static void trace_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        S.trace ^= b[i];
        S.trace *= 0x100000001b3ull;
    }
}

static void trace_rec(int kind, int who, int64_t a, int64_t b, const void *data, size_t len)
{
    int64_t rec[4] = {pm_test_clock_now - S.t0, kind, who, a};
    trace_bytes(rec, sizeof rec);
    trace_bytes(&b, sizeof b);
    trace_bytes(data, len);
    S.trace_records++;
}

/* ---- environments ---------------------------------------------------------------- */

static pm_time virtual_now(void *ud)
{
    (void)ud;
    return pm_test_clock_now;
}

static int seeded_random(void *ud, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(pm_test_rand(ud) >> 56);
    return PM_OK;
}

/* Each object has its own random stream, seeded from the run's seed. */
static void make_env(pm_env *env, uint64_t *rng, uint64_t salt)
{
    memset(env, 0, sizeof *env);
    *rng = S.seed * 0x9E3779B97F4A7C15ull + salt;
    env->now = virtual_now;
    env->random = seeded_random;
    env->random_ud = rng;
    env->log_level = PM_LOG_ERROR;
    env->log_level_set = true;
}

/* ---- peers on simnet -------------------------------------------------------------- */

static pm_rtc_peer *ep_peer(endpoint *e)
{
    slot *sl = &S.s[e->slot];
    if (e->dead || sl->gen != e->gen || !sl->core || !pm_sigcl_mesh(sl->core)) {
        e->dead = true;
        return NULL;
    }
    pm_mesh_peer_info info;
    if (pm_mesh_get_peer(pm_sigcl_mesh(sl->core), e->peer, &info) != PM_OK ||
        info.connection != e->pc) {
        e->dead = true; /* the peer left: this connection is gone for good */
        return NULL;
    }
    return e->pc;
}

static int ep_datagram(void *ep, pm_time now, const pm_addr *local, const pm_addr *from,
                       const uint8_t *data, size_t len)
{
    pm_rtc_peer *pc = ep_peer(ep);
    return pc ? pm_rtc_peer_handle_datagram(pc, now, local, from, data, len) : PM_OK;
}

static int ep_timeout(void *ep, pm_time now)
{
    pm_rtc_peer *pc = ep_peer(ep);
    return pc ? pm_rtc_peer_handle_timeout(pc, now) : PM_OK;
}

static bool ep_transmit(void *ep, pm_rtc_transmit *out)
{
    pm_rtc_peer *pc = ep_peer(ep);
    return pc && pm_rtc_peer_poll_transmit(pc, out);
}

static pm_time ep_next(const void *ep)
{
    pm_rtc_peer *pc = ep_peer((endpoint *)(uintptr_t)ep);
    return pc ? pm_rtc_peer_next_timeout(pc) : PM_TIME_NEVER;
}

static const pm_sim_ops EP_OPS = {ep_datagram, ep_timeout, ep_transmit, ep_next};

/* The client cores' peer factory: sans-I/O peers, each at its own address. */
static int sim_new_peer(void *ud, int32_t peer_id, const pm_rtc_config *cfg, pm_rtc_peer **out)
{
    slot *sl = ud;
    assert_true(S.neps < MAX_EPS);
    endpoint *e = &S.eps[S.neps];
    *e = (endpoint){.slot = sl->index, .gen = sl->gen, .peer = peer_id};
    char ip[32];
    snprintf(ip, sizeof ip, "10.%d.%d.%d", 1 + sl->index, S.neps / 200, 1 + S.neps % 200);
    assert_int_equal(pm_addr_parse(&e->addr, ip, 5000), PM_OK);
    pm_rtc_config c = *cfg;
    c.external_transport = true;
    c.local_addrs = &e->addr;
    c.local_addr_count = 1;
    int rc = pm_rtc_peer_new(&c, out);
    if (rc != PM_OK)
        return rc;
    e->pc = *out;
    S.neps++;
    pm_simnet_add(S.net, e, &EP_OPS, &e->addr);
    return PM_OK;
}

/* ---- the WebSocket queue --------------------------------------------------------- */

static void ws_push(int dir, int sl, int gen, uint64_t conn, int kind, int code, const void *data,
                    size_t len)
{
    if (S.nq == S.qcap) {
        S.qcap = S.qcap ? S.qcap * 2 : 256;
        S.q = realloc(S.q, S.qcap * sizeof *S.q);
        assert_non_null(S.q);
    }
    /* 1-20 ms one way, never overtaking what went before on this connection. */
    pm_time at = pm_test_clock_now + PM_MS(1) + (pm_time)(pm_test_rand(&S.ws_rng) % 19000);
    at = PM_MAX(at, S.last_at[dir][sl]);
    S.last_at[dir][sl] = at;
    ws_item *it = &S.q[S.nq++];
    *it = (ws_item){.at = at,
                    .seq = S.qseq++,
                    .dir = dir,
                    .slot = sl,
                    .gen = gen,
                    .kind = kind,
                    .code = code,
                    .conn = conn,
                    .data = malloc(len + 1),
                    .len = len};
    assert_non_null(it->data);
    if (len)
        memcpy(it->data, data, len);
    it->data[len] = 0;
}

static int ws_next_index(void)
{
    int best = -1;
    for (size_t i = 0; i < S.nq; i++)
        if (best < 0 || S.q[i].at < S.q[best].at ||
            (S.q[i].at == S.q[best].at && S.q[i].seq < S.q[best].seq))
            best = (int)i;
    return best;
}

static uint64_t tid_of(const slot *sl)
{
    return (uint64_t)sl->gen << 8 | (uint64_t)sl->index;
}

static void drain_server(void)
{
    pm_sigsrv_output o;
    while (pm_sigsrv_poll_output(S.srv, &o)) {
        int sl = (int)(o.tid & 0xff), gen = (int)(o.tid >> 8);
        int kind = o.kind == PM_SIGSRV_OUT_SEND   ? WS_MSG
                   : o.kind == PM_SIGSRV_OUT_PING ? WS_PING
                                                  : WS_CLOSE;
        ws_push(TO_CLIENT, sl, gen, o.conn, kind, o.code, o.data, o.len);
    }
}

/* A client's offers and answers as the server will see them (the offer rule). */
static void note_relay(const slot *sl, const uint8_t *data, size_t len)
{
    pm_envr env;
    pm_env_resolve(&env, &sl->env);
    pm_buf scratch = {0};
    pm_sigmsg m;
    pm_sigproto proto = S.proto == PM_SIGNAL_PROTOCOL_TEXT ? PM_SIGPROTO_TEXT : PM_SIGPROTO_JSON;
    assert_int_equal(pm_sigmsg_decode(&env, proto, data, len, &scratch, &m), PM_OK);
    if (m.type == PM_SIGMSG_OFFER) {
        offer_rec o = {pm_sigcl_id(sl->core), (int32_t)m.id};
        bool again = false;
        for (int k = 0; k < S.noffers; k++) {
            offer_rec p = S.offers[k];
            if ((p.from == o.from && p.to == o.to) || (p.from == o.to && p.to == o.from)) {
                assert_int_equal(p.from, o.from); /* an ICE restart, by the same side */
                again = true;
            }
        }
        if (again) {
            S.restarts++;
        } else {
            assert_true(S.noffers < (int)PM_ARRAY_LEN(S.offers));
            S.offers[S.noffers++] = o;
        }
    }
    if (m.type == PM_SIGMSG_ANSWER)
        S.nanswers++;
    pm_buf_free(&env, &scratch);
}

static void drain_client(slot *sl)
{
    pm_sigcl_output o;
    while (pm_sigcl_poll_output(sl->core, &o)) {
        switch (o.kind) {
        case PM_SIGCL_OUT_SEND:
            note_relay(sl, o.data, o.len);
            ws_push(TO_SERVER, sl->index, sl->gen, sl->conn, WS_MSG, 0, o.data, o.len);
            break;
        case PM_SIGCL_OUT_CLOSE: /* the server's transport reports it gone, then we hear back */
            ws_push(TO_SERVER, sl->index, sl->gen, sl->conn, WS_GONE, o.code, NULL, 0);
            break;
        case PM_SIGCL_OUT_ABORT:
            sl->ws_open = false;
            ws_push(TO_SERVER, sl->index, sl->gen, sl->conn, WS_GONE, 0, NULL, 0);
            break;
        }
    }
}

static void deliver(ws_item *it)
{
    pm_time now = pm_test_clock_now;
    slot *sl = &S.s[it->slot];
    trace_rec(100 + it->dir * 10 + it->kind, it->slot, it->code, (int64_t)it->len, it->data,
              it->len);
    if (it->dir == TO_SERVER) {
        if (it->kind == WS_MSG) {
            pm_sigsrv_receive(S.srv, now, it->conn, it->data, it->len, false);
        } else if (it->kind == WS_PONG) {
            pm_sigsrv_pong(S.srv, now, it->conn);
        } else if (it->kind == WS_GONE) {
            pm_sigsrv_gone(S.srv, now, it->conn);
            /* A close we started comes back to us as done (our code, no reason). */
            if (it->code && sl->gen == it->gen && sl->core && sl->ws_open)
                ws_push(TO_CLIENT, it->slot, it->gen, it->conn, WS_CLOSE, it->code, NULL, 0);
        }
        drain_server();
        return;
    }
    if (sl->gen != it->gen || !sl->core || !sl->ws_open)
        return; /* that client is gone */
    if (it->kind == WS_MSG) {
        pm_sigcl_receive(sl->core, now, it->data, it->len, false);
    } else if (it->kind == WS_PING) {
        ws_push(TO_SERVER, it->slot, it->gen, it->conn, WS_PONG, 0, NULL, 0);
    } else if (it->kind == WS_CLOSE) {
        sl->ws_open = false;
        pm_sigcl_closed(sl->core, now, it->code, (const char *)it->data);
        /* The server's side ends once the close handshake is done. */
        ws_push(TO_SERVER, it->slot, it->gen, it->conn, WS_GONE, 0, NULL, 0);
    }
    drain_client(sl);
}

/* ---- observing the clients --------------------------------------------------------- */

static int slot_of_id(int32_t id)
{
    for (int i = 0; i < SLOTS; i++)
        if (S.s[i].core && S.s[i].id == id)
            return i;
    return -1;
}

/* [round][sender slot][channel][seq] then a pattern; sizes per seq. */
static size_t packet_size(int seq)
{
    static const size_t sizes[] = {4, 1150, 3000};
    return sizes[seq % 3];
}

static void check_packet(slot *rx, const pm_mp_packet *p)
{
    const uint8_t *d = p->data;
    if (p->len < 4) {
        rx->bad++;
        return;
    }
    int round = d[0], from = d[1], ch = d[2], seq = d[3];
    bool ok = round == S.sent_round && from < SLOTS && S.s[from].core && S.s[from].id == p->from &&
              ch < CH_COUNT && seq < PER_CHANNEL && p->len == packet_size(seq) &&
              p->mode == CH_MODE[ch] && p->channel == (ch == CH_X ? 1 : 0);
    for (size_t k = 4; ok && k < p->len; k++)
        ok = d[k] == (uint8_t)(k * 13 + seq + from);
    if (!ok || rx->seen[from][ch][seq]) {
        rx->bad++; /* malformed, misattributed or a duplicate */
        return;
    }
    rx->seen[from][ch][seq] = 1;
    if (ch != CH_U) { /* ordered channels keep the send order */
        if (seq != rx->next_seq[from][ch])
            rx->bad++;
        rx->next_seq[from][ch] = seq + 1;
    }
    rx->recv[from][ch]++;
}

static void observe(slot *sl)
{
    pm_signal_event ev;
    while (pm_sigcl_next_event(sl->core, &ev)) {
        assert_true(sl->ngot < MAX_EVENTS);
        sl->got[sl->ngot++] = (sig_ev){ev.type, ev.peer_id, ev.close_code};
        if (ev.type == PM_SIGNAL_EVENT_ID)
            sl->id = ev.peer_id;
        if (ev.type == PM_SIGNAL_EVENT_JOINED && sl->index == 0 && sl->id == HOST_ID)
            snprintf(S.lobby, sizeof S.lobby, "%s", ev.lobby);
        if (ev.type == PM_SIGNAL_EVENT_CLOSED)
            snprintf(sl->reason, sizeof sl->reason, "%s", ev.reason);
        const char *text = ev.type == PM_SIGNAL_EVENT_CLOSED   ? ev.reason
                           : ev.type == PM_SIGNAL_EVENT_JOINED ? ev.lobby
                                                               : "";
        trace_rec(1, sl->index, ev.type, ev.peer_id * 10000LL + ev.close_code, text, strlen(text));
    }
    pm_mesh *mesh = pm_sigcl_mesh(sl->core);
    if (!mesh)
        return;
    pm_multiplayer *mp = pm_mesh_multiplayer(mesh);
    pm_mp_event mev;
    while (pm_mp_next_event(mp, &mev)) {
        trace_rec(2, sl->index, mev.type, mev.peer_id, NULL, 0);
        if (mev.type == PM_MP_EVENT_PEER_CONNECTED) {
            sl->connected++;
        } else if (mev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
            sl->connected--;
            sl->gone_id = mev.peer_id;
        } else if (mev.type == PM_MP_EVENT_CONNECTION_SUCCEEDED) {
            sl->succeeded++;
        } else {
            sl->mp_other++;
        }
    }
    pm_mp_packet p;
    while (pm_mp_get_packet(mp, &p) == PM_OK) {
        trace_rec(3, sl->index, p.from, p.channel * 10 + p.mode, p.data, p.len);
        check_packet(sl, &p);
    }
}

/* ---- driving ---------------------------------------------------------------------- */

static void service(void)
{
    pm_time now = pm_test_clock_now;
    for (int i; (i = ws_next_index()) >= 0 && S.q[i].at <= now;) {
        ws_item it = S.q[i];
        S.q[i] = S.q[--S.nq];
        deliver(&it);
        free(it.data);
    }
    if (pm_sigsrv_next_deadline(S.srv) <= now) {
        pm_sigsrv_timeout(S.srv, now);
        drain_server();
    }
    for (int i = 0; i < SLOTS; i++) {
        slot *sl = &S.s[i];
        if (!sl->core)
            continue;
        pm_sigcl_timeout(sl->core, now);
        drain_client(sl);
        observe(sl);
    }
}

static pm_time next_wake(void)
{
    pm_time t = pm_sigsrv_next_deadline(S.srv);
    int i = ws_next_index();
    if (i >= 0)
        t = PM_MIN(t, S.q[i].at);
    for (int k = 0; k < SLOTS; k++)
        if (S.s[k].core)
            t = PM_MIN(t, pm_sigcl_next_deadline(S.s[k].core));
    return t;
}

typedef bool (*cond_fn)(int arg);

/* Run until cond(arg) holds or `span` of virtual time passed; every loop bounded. */
static bool run_until(cond_fn cond, int arg, pm_time span)
{
    pm_time end = pm_test_clock_now + span;
    for (long iter = 0; iter < 5000000; iter++) {
        service();
        if (cond && cond(arg))
            return true;
        pm_time limit = PM_MAX(PM_MIN(next_wake(), end), pm_test_clock_now);
        if (!pm_simnet_step(S.net, limit) && pm_test_clock_now >= end) {
            service();
            return cond ? cond(arg) : true;
        }
    }
    fail_msg("simulation did not settle");
    return false;
}

static void run_for(pm_time span)
{
    (void)run_until(NULL, 0, span);
}

/* ---- the story's steps ------------------------------------------------------------- */

static void want(slot *sl, pm_signal_event_type type, int32_t peer, int code)
{
    assert_true(sl->nwant < MAX_EVENTS);
    sl->want[sl->nwant++] = (sig_ev){type, peer, code};
}

static void check_events(void)
{
    for (int i = 0; i < SLOTS; i++) {
        slot *sl = &S.s[i];
        if (!sl->core)
            continue;
        if (sl->ngot != sl->nwant) {
            for (int k = 0; k < sl->ngot; k++)
                fprintf(stderr, "slot %d got %d: type %d peer %d code %d\n", i, k,
                        (int)sl->got[k].type, (int)sl->got[k].peer, sl->got[k].code);
            for (int k = 0; k < sl->nwant; k++)
                fprintf(stderr, "slot %d want %d: type %d peer %d code %d\n", i, k,
                        (int)sl->want[k].type, (int)sl->want[k].peer, sl->want[k].code);
        }
        assert_int_equal(sl->ngot, sl->nwant);
        for (int k = 0; k < sl->ngot; k++) {
            assert_int_equal(sl->got[k].type, sl->want[k].type);
            assert_int_equal(sl->got[k].peer, sl->want[k].peer);
            assert_int_equal(sl->got[k].code, sl->want[k].code);
        }
    }
}

static bool joined(int i)
{
    return S.s[i].ngot > 0 && S.s[i].got[S.s[i].ngot - 1].type == PM_SIGNAL_EVENT_JOINED;
}

/* A new client core in slot i joins (lobby NULL: creates one). */
static void join(int i, const char *lobby)
{
    slot *sl = &S.s[i];
    assert_null(sl->core);
    int gen = sl->gen + 1;
    memset(sl, 0, sizeof *sl);
    sl->index = i;
    sl->gen = gen;
    make_env(&sl->env, &sl->rng, (uint64_t)(i * 1000 + gen));
    pm_envr env;
    pm_env_resolve(&env, &sl->env);
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = "ws://simulated";
    cfg.lobby = lobby;
    cfg.protocol = S.proto;
    cfg.extra_channels = EXTRA;
    cfg.extra_channel_count = 1;
    /* Every channel reliable, so every message must arrive (partial
     * reliability under loss is test_sim_mesh's subject). */
    cfg.unreliable_lifetime = PM_MESH_LIFETIME_RELIABLE;
    cfg.mesh_config.disconnect_grace = GRACE; /* so an ICE restart can save a link */
    pm_sigcl_peer_factory factory = {.new_peer = sim_new_peer, .ud = sl};
    assert_int_equal(pm_sigcl_new(&env, &cfg, &factory, pm_test_clock_now, &sl->core), PM_OK);
    pm_addr remote;
    char ip[32];
    snprintf(ip, sizeof ip, "192.0.2.%d", 1 + i);
    assert_int_equal(pm_addr_parse(&remote, ip, (uint16_t)(40000 + gen)), PM_OK);
    sl->conn = pm_sigsrv_open(S.srv, pm_test_clock_now, &remote, NULL, tid_of(sl));
    assert_true(sl->conn != 0);
    drain_server();
    sl->ws_open = true;
    pm_sigcl_open(sl->core, pm_test_clock_now);
    drain_client(sl);
    assert_true(run_until(joined, i, PM_SEC(2)));
    /* The server's order: ID, the members there, then JOIN. */
    want(sl, PM_SIGNAL_EVENT_OPEN, 0, 0);
    want(sl, PM_SIGNAL_EVENT_ID, sl->id, 0);
    for (int k = 0; k < S.nmembers; k++)
        want(sl, PM_SIGNAL_EVENT_PEER_ANNOUNCED, S.members[k], 0);
    want(sl, PM_SIGNAL_EVENT_JOINED, 0, 0);
    if (!lobby) {
        assert_int_equal(sl->id, HOST_ID);
        assert_true(strlen(S.lobby) > 0);
    } else {
        assert_true(sl->id >= 2);
        assert_string_equal(pm_sigcl_lobby(sl->core), S.lobby);
    }
    for (int k = 0; k < S.nmembers; k++) {
        assert_int_not_equal(S.members[k], sl->id);
        want(&S.s[slot_of_id(S.members[k])], PM_SIGNAL_EVENT_PEER_ANNOUNCED, sl->id, 0);
    }
    S.members[S.nmembers++] = sl->id;
    assert_int_equal(pm_sigcl_state(sl->core), PM_SIGNAL_JOINED);
    assert_true(pm_sigcl_is_mesh_lobby(sl->core));
}

static void forget_member(int32_t id)
{
    int k = 0;
    while (k < S.nmembers && S.members[k] != id)
        k++;
    if (k == S.nmembers)
        return; /* not in the lobby any more (sealed, or its host left) */
    memmove(&S.members[k], &S.members[k + 1], (size_t)(S.nmembers - k - 1) * sizeof *S.members);
    S.nmembers--;
}

/* The client in slot i goes away (freed with its mesh, its WebSocket dropped). */
static void leave(int i)
{
    slot *sl = &S.s[i];
    pm_sigcl_free(sl->core);
    sl->core = NULL;
    sl->ws_open = false;
    ws_push(TO_SERVER, i, sl->gen, sl->conn, WS_GONE, 0, NULL, 0);
    forget_member(sl->id);
}

static bool full_mesh(int n)
{
    for (int i = 0; i < SLOTS; i++)
        if (S.s[i].core && S.s[i].connected != n - 1)
            return false;
    return true;
}

static void check_full_mesh(int n)
{
    for (int i = 0; i < SLOTS; i++) {
        slot *sl = &S.s[i];
        if (!sl->core)
            continue;
        pm_mesh *mesh = pm_sigcl_mesh(sl->core);
        assert_int_equal(sl->connected, n - 1);
        assert_int_equal(pm_mesh_get_peers(mesh, NULL, 0), (size_t)(n - 1));
        for (int k = 0; k < S.nmembers; k++) {
            pm_mesh_peer_info info;
            if (S.members[k] == sl->id)
                continue;
            assert_int_equal(pm_mesh_get_peer(mesh, S.members[k], &info), PM_OK);
            assert_true(info.connected);
        }
        assert_int_equal(pm_mp_get_connection_status(pm_mesh_multiplayer(mesh)), PM_MP_CONNECTED);
        assert_int_equal(sl->mp_other, 0);
        /* 3.x server compatibility: a client hears CONNECTION_SUCCEEDED once peer 1 is up. */
        bool legacy_client = S.proto == PM_SIGNAL_PROTOCOL_TEXT && sl->id != HOST_ID;
        assert_int_equal(sl->succeeded, legacy_client ? 1 : 0);
    }
}

/* Each pair of the lobby: exactly one offer and one answer, by the protocol's rule. */
static void check_offers(int pairs)
{
    assert_int_equal(S.noffers, pairs);
    assert_int_equal(S.nanswers, pairs + S.restarts);
    for (int k = 0; k < S.noffers; k++) {
        offer_rec o = S.offers[k];
        /* 4.x: the peer with the higher id offers; 3.x: the lower. */
        if (S.proto == PM_SIGNAL_PROTOCOL_JSON)
            assert_true(o.from > o.to);
        else
            assert_true(o.from < o.to);
        for (int j = 0; j < k; j++) {
            offer_rec p = S.offers[j];
            assert_false((p.from == o.from && p.to == o.to) || (p.from == o.to && p.to == o.from));
        }
    }
}

static bool all_delivered(int unused)
{
    for (int r = 0; r < SLOTS; r++) {
        slot *rx = &S.s[r];
        if (!rx->core)
            continue;
        for (int t = 0; t < SLOTS; t++)
            for (int ch = 0; ch < CH_COUNT; ch++) {
                bool carried =
                    S.s[t].core && t != r && (ch != CH_X || S.proto == PM_SIGNAL_PROTOCOL_JSON);
                if (rx->recv[t][ch] != (carried ? PER_CHANNEL : 0))
                    return false;
            }
    }
    return true;
}

/* Every node broadcasts PER_CHANNEL packets on every channel; all must arrive. */
static void exchange(void)
{
    S.sent_round++;
    for (int i = 0; i < SLOTS; i++) {
        memset(S.s[i].recv, 0, sizeof S.s[i].recv);
        memset(S.s[i].next_seq, 0, sizeof S.s[i].next_seq);
        memset(S.s[i].seen, 0, sizeof S.s[i].seen);
    }
    static uint8_t buf[4096];
    for (int i = 0; i < SLOTS; i++) {
        if (!S.s[i].core)
            continue;
        pm_multiplayer *mp = pm_mesh_multiplayer(pm_sigcl_mesh(S.s[i].core));
        pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
        for (int ch = 0; ch < CH_COUNT; ch++) {
            /* 3.x meshes have no extra channels. */
            if (ch == CH_X && S.proto == PM_SIGNAL_PROTOCOL_TEXT)
                continue;
            pm_mp_set_transfer_mode(mp, CH_MODE[ch]);
            pm_mp_set_transfer_channel(mp, ch == CH_X ? 1 : 0);
            for (int seq = 0; seq < PER_CHANNEL; seq++) {
                size_t n = packet_size(seq);
                buf[0] = (uint8_t)S.sent_round;
                buf[1] = (uint8_t)i;
                buf[2] = (uint8_t)ch;
                buf[3] = (uint8_t)seq;
                for (size_t k = 4; k < n; k++)
                    buf[k] = (uint8_t)(k * 13 + seq + i);
                assert_int_equal(pm_mp_put_packet(mp, buf, n), PM_OK);
            }
        }
    }
    bool done = run_until(all_delivered, 0, PHASE_LIMIT);
    run_for(PM_MS(200)); /* anything extra (a duplicate) would show now */
    for (int i = 0; i < SLOTS; i++)
        assert_int_equal(S.s[i].bad, 0);
    assert_true(done);
    assert_true(all_delivered(0));
}

static bool left_seen(int gone_id)
{
    for (int i = 0; i < SLOTS; i++) {
        slot *sl = &S.s[i];
        if (sl->core && (sl->ngot < sl->nwant || (sl->id != gone_id && sl->gone_id != gone_id)))
            return false;
    }
    return true;
}

static bool events_complete(int unused)
{
    for (int i = 0; i < SLOTS; i++)
        if (S.s[i].core && S.s[i].ngot < S.s[i].nwant)
            return false;
    return true;
}

static void leave_and_check(int i)
{
    int32_t id = S.s[i].id;
    leave(i);
    for (int k = 0; k < SLOTS; k++)
        if (S.s[k].core)
            want(&S.s[k], PM_SIGNAL_EVENT_PEER_LEFT, id, 0);
    assert_true(run_until(left_seen, id, PM_SEC(5)));
    check_events();
    for (int k = 0; k < SLOTS; k++)
        if (S.s[k].core)
            assert_false(pm_mesh_has_peer(pm_sigcl_mesh(S.s[k].core), id));
}

static void connect_all(int n, int pairs_before)
{
    pm_time t = pm_test_clock_now;
    bool ok = run_until(full_mesh, n, PHASE_LIMIT);
    printf("# %s: mesh of %d after %.2f virtual s\n",
           S.proto == PM_SIGNAL_PROTOCOL_JSON ? "json" : "text", n,
           (double)(pm_test_clock_now - t) / 1e6);
    assert_true(ok);
    check_full_mesh(n);
    check_offers(pairs_before);
}

static void free_all(void)
{
    for (int i = 0; i < SLOTS; i++) {
        if (S.s[i].core)
            leave(i);
    }
}

/* ---- the run ------------------------------------------------------------------------ */

static bool all_closed(int unused)
{
    for (int i = 0; i < SLOTS; i++)
        if (S.s[i].core && pm_sigcl_state(S.s[i].core) != PM_SIGNAL_CLOSED)
            return false;
    return events_complete(0);
}

static void seal(void)
{
    assert_int_equal(pm_sigcl_seal(S.s[1].core), PM_ERR_STATE); /* only the host */
    assert_int_equal(pm_sigcl_seal(S.s[0].core), PM_OK);
    drain_client(&S.s[0]);
    pm_time sealed_at = pm_test_clock_now;
    for (int i = 0; i < SLOTS; i++) {
        want(&S.s[i], PM_SIGNAL_EVENT_SEALED, 0, 0);
        want(&S.s[i], PM_SIGNAL_EVENT_CLOSED, 0, PM_SIGNAL_CLOSE_NORMAL);
    }
    assert_true(run_until(all_closed, 0, SEAL_DELAY + PM_SEC(2)));
    assert_true(pm_test_clock_now - sealed_at >= SEAL_DELAY);
    check_events();
    for (int i = 0; i < SLOTS; i++) {
        assert_string_equal(S.s[i].reason, "Seal complete");
        assert_false(S.s[i].ws_open);
    }
    pm_signal_server_stats st;
    pm_sigsrv_get_stats(S.srv, &st);
    assert_int_equal(st.seals, 1);
    assert_int_equal(st.lobbies, 0);
    /* The mesh lives on without signaling. */
    check_full_mesh(SLOTS);
    exchange();
}

static bool links_up(int unused)
{
    for (int i = 0; i < SLOTS; i++) {
        if (!S.s[i].core)
            continue;
        pm_mesh *mesh = pm_sigcl_mesh(S.s[i].core);
        for (int k = 0; k < S.nmembers; k++) {
            pm_mesh_peer_info info;
            if (S.members[k] == S.s[i].id)
                continue;
            if (pm_mesh_get_peer(mesh, S.members[k], &info) != PM_OK)
                return false;
            if (pm_rtc_peer_get_state(info.connection) != PM_RTC_STATE_CONNECTED ||
                pm_rtc_peer_get_signaling_state(info.connection) != PM_RTC_SIGNALING_STABLE)
                return false;
        }
    }
    return true;
}

/* Nothing crosses the network for OUTAGE while signaling stays up. Every
 * link goes DISCONNECTED, then FAILED (consent expired: it cannot come
 * back by itself); the side that offered restarts ICE (the same direction
 * as its first offer, note_relay checks), at least once per link, and
 * again every ice_restart_interval while it is down; once the network is
 * back every link is CONNECTED again, within the meshes' grace, so nobody
 * leaves and no event is seen. */
static void outage(int links)
{
    int before = S.restarts;
    pm_sim_link down = S.link;
    down.loss = 1.0;
    pm_simnet_set_link(S.net, &down);
    run_for(OUTAGE);
    pm_simnet_set_link(S.net, &S.link);
    pm_time back = pm_test_clock_now;
    bool ok = run_until(links_up, 0, GRACE - OUTAGE);
    printf("# %s: %d ICE restarts, every link up %.2f virtual s after the network came back\n",
           S.proto == PM_SIGNAL_PROTOCOL_JSON ? "json" : "text", S.restarts - before,
           (double)(pm_test_clock_now - back) / 1e6);
    assert_true(ok);
    assert_true(S.restarts - before >= links);
    check_events(); /* nothing new: nobody left */
    check_full_mesh(S.nmembers);
}

static void host_leaves(void)
{
    S.nmembers = 0;
    S.noffers = S.nanswers = S.restarts = 0;
    S.lobby[0] = 0;
    join(0, NULL);
    for (int i = 1; i < 4; i++)
        join(i, S.lobby);
    connect_all(4, 6);
    exchange();

    /* A peer closes its own signaling: gone for the others, its mesh stays. */
    slot *quiet = &S.s[3];
    pm_sigcl_close(quiet->core);
    drain_client(quiet);
    assert_int_equal(pm_sigcl_seal(quiet->core), PM_ERR_STATE);
    want(quiet, PM_SIGNAL_EVENT_CLOSED, 0, PM_SIGNAL_CLOSE_NORMAL);
    for (int i = 0; i < 3; i++)
        want(&S.s[i], PM_SIGNAL_EVENT_PEER_LEFT, quiet->id, 0);
    forget_member(quiet->id);
    assert_true(run_until(left_seen, quiet->id, PM_SEC(2)));
    check_events();
    assert_int_equal(pm_sigcl_state(quiet->core), PM_SIGNAL_CLOSED);
    pm_mesh *kept = pm_sigcl_mesh(quiet->core);
    assert_int_equal(pm_mp_get_connection_status(pm_mesh_multiplayer(kept)), PM_MP_CONNECTED);
    assert_int_equal(pm_mesh_get_peers(kept, NULL, 0), 3);
    assert_true(pm_sigcl_next_deadline(quiet->core) < PM_TIME_NEVER);

    /* The host leaves before sealing: the server closes the lobby. */
    leave(0);
    for (int i = 1; i < 3; i++)
        want(&S.s[i], PM_SIGNAL_EVENT_CLOSED, 0, PM_SIGNAL_CLOSE_PROTOCOL);
    assert_true(run_until(all_closed, 0, PM_SEC(2)));
    run_for(PM_MS(200));
    check_events();
    for (int i = 1; i < 3; i++) {
        slot *sl = &S.s[i];
        assert_string_equal(sl->reason, "Room host has disconnected");
        /* As the demo clients: no seal, so the mesh goes with the signaling. */
        pm_mesh *mesh = pm_sigcl_mesh(sl->core);
        assert_int_equal(pm_mp_get_connection_status(pm_mesh_multiplayer(mesh)),
                         PM_MP_DISCONNECTED);
        assert_int_equal(pm_mesh_get_peers(mesh, NULL, 0), 0);
        assert_int_equal(pm_sigcl_next_deadline(sl->core), PM_TIME_NEVER);
    }
    pm_signal_server_stats st;
    pm_sigsrv_get_stats(S.srv, &st);
    assert_int_equal(st.lobbies, 0);
    assert_int_equal(st.peers_in_lobbies, 0);
    assert_int_equal(st.connections, 0);
}

static void sim_start(pm_signal_protocol proto, uint64_t seed, bool host_migration)
{
    memset(&S, 0, sizeof S);
    S.proto = proto;
    S.seed = seed;
    /* Start on a whole second: timers that tick on the clock's own grid
     * (usrsctp's 10 ms) then fall at the same offsets in every run. */
    pm_test_clock_now = (pm_test_clock_now / PM_SEC(1) + 1) * PM_SEC(1);
    S.t0 = pm_test_clock_now;
    S.trace = 0xcbf29ce484222325ull;
    S.ws_rng = seed * 31 + 7;
    S.link = (pm_sim_link){.loss = 0.05,
                           .duplicate = 0.01,
                           .delay_min = PM_MS(5),
                           .delay_max = PM_MS(25),
                           .mtu = 1400};
    S.net = pm_simnet_new(seed, &S.link);
    make_env(&S.srv_env, &S.srv_rng, 424242);
    pm_envr env;
    pm_env_resolve(&env, &S.srv_env);
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.seal_delay = SEAL_DELAY;
    cfg.ping_interval = PM_MS(500); /* pings and pongs happen along the way */
    cfg.host_migration = host_migration;
    assert_int_equal(pm_sigsrv_new(&env, &cfg, pm_test_clock_now, PM_SEC(1700000000), &S.srv),
                     PM_OK);
}

static void sim_end(void)
{
    pm_sigsrv_free(S.srv);
    pm_simnet_free(S.net);
    for (size_t i = 0; i < S.nq; i++)
        free(S.q[i].data);
    free(S.q);
}

static uint64_t run(pm_signal_protocol proto, uint64_t seed)
{
    sim_start(proto, seed, false);

    /* 1. the host and six joiners, one after the other, while links connect. */
    join(0, NULL);
    for (int i = 1; i < 7; i++)
        join(i, S.lobby);
    connect_all(7, 21);
    check_events();
    exchange();

    /* 2. one leaves; 3. two join late, one of them in its slot. */
    leave_and_check(6);
    join(6, S.lobby);
    join(7, S.lobby);
    connect_all(8, 21 + 13);
    check_events();
    exchange();

    /* 4. seal. */
    seal();
    free_all();

    /* 5. a second lobby whose host leaves. */
    host_leaves();
    free_all();
    run_for(PM_MS(100));
    assert_int_equal(pm_sigsrv_connection_count(S.srv), 0);

    pm_sim_stats ns = pm_simnet_stats(S.net);
    printf("# %s seed %llu: %llu trace records, trace %016llx; network %llu sent, %llu lost, "
           "%llu duplicated; %.1f virtual s\n",
           proto == PM_SIGNAL_PROTOCOL_JSON ? "json" : "text", (unsigned long long)seed,
           (unsigned long long)S.trace_records, (unsigned long long)S.trace,
           (unsigned long long)ns.sent, (unsigned long long)ns.lost,
           (unsigned long long)ns.duplicated, (double)(pm_test_clock_now - S.t0) / 1e6);
    assert_true(ns.lost > 0 && ns.duplicated > 0);
    uint64_t trace = S.trace;
    sim_end();
    return trace;
}

/*
 * Beyond the story (not compared by trace: usrsctp's heartbeats carry its
 * own random jitter, and a lost heartbeat changes its timers): a lobby of
 * four connects, the network goes away (outage()), every link restarts ICE
 * through the server and comes back, nobody leaves, everything broadcast
 * afterwards arrives.
 */
static void run_outage(pm_signal_protocol proto, uint64_t seed)
{
    sim_start(proto, seed, false);
    join(0, NULL);
    for (int i = 1; i < 4; i++)
        join(i, S.lobby);
    connect_all(4, 6);
    check_events();
    exchange();
    outage(6);
    exchange();
    free_all();
    run_for(PM_MS(100));
    sim_end();
}

/* ---- host migration ----------------------------------------------------------------- */

static int32_t migrated_to;

/* Every remaining node knows the new host, and its mesh is whole again. */
static bool migrated(int n)
{
    for (int i = 0; i < SLOTS; i++) {
        slot *sl = &S.s[i];
        if (!sl->core)
            continue;
        pm_mesh *mesh = pm_sigcl_mesh(sl->core);
        if (pm_sigcl_host(sl->core) != migrated_to || pm_mesh_get_host(mesh) != migrated_to ||
            pm_mp_get_connection_status(pm_mesh_multiplayer(mesh)) != PM_MP_CONNECTED ||
            pm_mesh_get_peers(mesh, NULL, 0) != (size_t)(n - 1) || sl->ngot < sl->nwant)
            return false;
        for (int k = 0; k < S.nmembers; k++) {
            pm_mesh_peer_info info;
            if (S.members[k] != sl->id &&
                (pm_mesh_get_peer(mesh, S.members[k], &info) != PM_OK || !info.connected))
                return false;
        }
    }
    return true;
}

/*
 * A lobby of four on a server with host migration: the host leaves, the
 * lowest id takes over (everyone hears PEER_LEFT then HOST_CHANGED; the
 * meshes follow, in 3.x server compatibility the new host is their server),
 * the mesh of three carries every channel, only the new host can seal, and
 * after the seal the mesh lives on.
 */
static void host_migration_story(pm_signal_protocol proto, uint64_t seed)
{
    sim_start(proto, seed, true);
    join(0, NULL);
    for (int i = 1; i < 4; i++)
        join(i, S.lobby);
    connect_all(4, 6);
    exchange();

    migrated_to = SIG_ID_MAX_TEST;
    for (int i = 1; i < 4; i++)
        migrated_to = PM_MIN(migrated_to, S.s[i].id);
    leave(0);
    for (int i = 1; i < 4; i++) {
        want(&S.s[i], PM_SIGNAL_EVENT_PEER_LEFT, HOST_ID, 0);
        want(&S.s[i], PM_SIGNAL_EVENT_HOST_CHANGED, migrated_to, 0);
    }
    assert_true(run_until(migrated, 4 - 1, PHASE_LIMIT));
    check_events();
    exchange();
    pm_signal_server_stats st;
    pm_sigsrv_get_stats(S.srv, &st);
    assert_int_equal(st.host_migrations, 1);
    assert_int_equal(st.lobbies, 1);

    /* Only the new host seals; the mesh outlives the signaling. */
    int host = slot_of_id(migrated_to);
    for (int i = 1; i < 4; i++)
        if (i != host)
            assert_int_equal(pm_sigcl_seal(S.s[i].core), PM_ERR_STATE);
    assert_int_equal(pm_sigcl_seal(S.s[host].core), PM_OK);
    drain_client(&S.s[host]);
    for (int i = 1; i < 4; i++) {
        want(&S.s[i], PM_SIGNAL_EVENT_SEALED, 0, 0);
        want(&S.s[i], PM_SIGNAL_EVENT_CLOSED, 0, PM_SIGNAL_CLOSE_NORMAL);
    }
    assert_true(run_until(all_closed, 0, SEAL_DELAY + PM_SEC(2)));
    check_events();
    exchange();
    free_all();
    run_for(PM_MS(100));
    assert_int_equal(pm_sigsrv_connection_count(S.srv), 0);
    sim_end();
}

static void test_host_migration_text(void **state)
{
    (void)state;
    host_migration_story(PM_SIGNAL_PROTOCOL_TEXT, 77);
}

static void test_host_migration_json(void **state)
{
    (void)state;
    host_migration_story(PM_SIGNAL_PROTOCOL_JSON, 78);
}

static void test_json_same_seed_same_trace(void **state)
{
    (void)state;
    uint64_t a = run(PM_SIGNAL_PROTOCOL_JSON, 1234);
    uint64_t b = run(PM_SIGNAL_PROTOCOL_JSON, 1234);
    assert_true(a == b);
}

static void test_text_two_seeds(void **state)
{
    (void)state;
    uint64_t a = run(PM_SIGNAL_PROTOCOL_TEXT, 555);
    uint64_t b = run(PM_SIGNAL_PROTOCOL_TEXT, 31337);
    assert_true(a != b); /* the trace sees what the seed changes */
}

static void test_outage_ice_restarts(void **state)
{
    (void)state;
    run_outage(PM_SIGNAL_PROTOCOL_JSON, 77);
    run_outage(PM_SIGNAL_PROTOCOL_TEXT, 78);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_same_seed_same_trace),
        cmocka_unit_test(test_text_two_seeds),
        cmocka_unit_test(test_host_migration_text),
        cmocka_unit_test(test_host_migration_json),
        cmocka_unit_test(test_outage_ice_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
