/*
 * Unit tests: the signaling server's protocol core (src/signaling/sig_core),
 * sans-I/O. Every message type of both protocols, every error path with its
 * close code and reason, seal timing, limits, liveness, tokens, TURN
 * credentials, spoofing attempts.
 */
#include "testutil.h"

#include "signaling/sig_core.h"
#include "signaling/token.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- harness ---- */

#define MAX_OUT 256

typedef struct out_rec {
    pm_sigsrv_out_kind kind;
    uint64_t tid;
    int code;
    char text[2048];
    size_t len;
} out_rec;

/* Random source: scripted 32-bit values when present, else a PRNG. */
typedef struct script_rand {
    uint32_t values[16];
    size_t n, at;
    uint64_t state;
} script_rand;

static int script_random(void *ud, uint8_t *buf, size_t len)
{
    script_rand *r = ud;
    if (r->at < r->n && len == 4) {
        pm_wr32(buf, r->values[r->at++]);
        return PM_OK;
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(pm_test_rand(&r->state) >> 56);
    return PM_OK;
}

typedef struct harness {
    pm_envr env;
    script_rand rnd;
    pm_signal_server_config cfg;
    pm_sigsrv *s;
    pm_time now;
    out_rec out[MAX_OUT];
    int nout;
} harness;

static void h_start(harness *h, const pm_signal_server_config *cfg)
{
    pm_env e;
    pm_test_env(&e, 42);
    h->rnd.state = 7;
    e.random = script_random;
    e.random_ud = &h->rnd;
    pm_env_resolve(&h->env, &e);
    h->now = PM_SEC(100);
    assert_int_equal(pm_sigsrv_new(&h->env, cfg, h->now, PM_SEC(1700000000), &h->s), PM_OK);
}

static int setup(void **st)
{
    harness *h = calloc(1, sizeof *h);
    pm_signal_server_config_default(&h->cfg);
    h_start(h, &h->cfg);
    *st = h;
    return 0;
}

static int teardown(void **st)
{
    harness *h = *st;
    pm_sigsrv_free(h->s);
    free(h);
    return 0;
}

/* Restart with a changed configuration. */
static void reconfigure(harness *h)
{
    pm_sigsrv_free(h->s);
    h_start(h, &h->cfg);
}

/* Collect every output queued so far (previous ones are forgotten). */
static int drain(harness *h)
{
    h->nout = 0;
    pm_sigsrv_output o;
    while (pm_sigsrv_poll_output(h->s, &o)) {
        if (h->nout >= MAX_OUT)
            fail_msg("more than %d outputs; last: kind %d tid %llu %.*s", MAX_OUT, (int)o.kind,
                     (unsigned long long)o.tid, (int)o.len, (const char *)o.data);
        out_rec *r = &h->out[h->nout++];
        r->kind = o.kind;
        r->tid = o.tid;
        r->code = o.code;
        assert_true(o.len < sizeof r->text);
        memcpy(r->text, o.data, o.len);
        r->text[o.len] = 0;
        r->len = o.len;
    }
    return h->nout;
}

static uint64_t conn_from(harness *h, uint64_t tid, uint8_t last_octet)
{
    pm_addr a;
    char ip[32];
    snprintf(ip, sizeof ip, "10.0.0.%u", last_octet);
    assert_int_equal(pm_addr_parse(&a, ip, 5000), PM_OK);
    uint64_t id = pm_sigsrv_open(h->s, h->now, &a, NULL, tid);
    assert_true(id != 0);
    return id;
}

static uint64_t conn(harness *h, uint64_t tid)
{
    return conn_from(h, tid, (uint8_t)tid);
}

static void say(harness *h, uint64_t c, const char *text)
{
    pm_sigsrv_receive(h->s, h->now, c, (const uint8_t *)text, strlen(text), false);
}

static void say_json(harness *h, uint64_t c, int type, long long id, const char *data)
{
    char buf[1024];
    int n =
        snprintf(buf, sizeof buf, "{\"type\":%d,\"id\":%lld,\"data\":\"%.900s\"}", type, id, data);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    say(h, c, buf);
}

/* Find the k-th output for tid (0-based); NULL if none. */
static const out_rec *nth_for(harness *h, uint64_t tid, int k)
{
    for (int i = 0; i < h->nout; i++)
        if (h->out[i].tid == tid && k-- == 0)
            return &h->out[i];
    return NULL;
}

static int count_for(harness *h, uint64_t tid)
{
    int n = 0;
    for (int i = 0; i < h->nout; i++)
        n += h->out[i].tid == tid;
    return n;
}

/* Decode a JSON SEND output. */
static pm_sigmsg decoded(harness *h, const out_rec *r, pm_buf *scratch)
{
    assert_non_null(r);
    assert_int_equal(r->kind, PM_SIGSRV_OUT_SEND);
    pm_sigmsg m;
    assert_int_equal(pm_sigmsg_decode_json(&h->env, (const uint8_t *)r->text, r->len, scratch, &m),
                     PM_OK);
    return m;
}

static void expect_json(harness *h, const out_rec *r, int type, long long id, const char *data)
{
    pm_buf scratch = {0};
    pm_sigmsg m = decoded(h, r, &scratch);
    assert_int_equal(m.type, type);
    if (id >= 0)
        assert_int_equal(m.id, id);
    if (data) {
        assert_int_equal(m.data_len, strlen(data));
        assert_memory_equal(m.data, data, m.data_len);
    }
    pm_buf_free(&h->env, &scratch);
}

static void expect_close(const out_rec *r, int code, const char *reason)
{
    assert_non_null(r);
    assert_int_equal(r->kind, PM_SIGSRV_OUT_CLOSE);
    assert_int_equal(r->code, code);
    assert_string_equal(r->text, reason);
}

/* The only output is a close of tid with this code and reason. */
static void expect_only_close(harness *h, uint64_t tid, int code, const char *reason)
{
    drain(h);
    assert_int_equal(h->nout, 1);
    assert_int_equal(h->out[0].tid, tid);
    expect_close(&h->out[0], code, reason);
}

static int32_t peer_id_of(harness *h, uint64_t c)
{
    return pm_sigsrv_conn_peer_id(h->s, c);
}

/* Create a lobby with connection tid (JSON, mesh unless cs). Returns the name. */
static const char *host_lobby(harness *h, uint64_t c, bool mesh)
{
    say_json(h, c, PM_SIGMSG_JOIN, mesh ? 0 : 1, "");
    drain(h);
    return pm_sigsrv_conn_lobby(h->s, c);
}

/* ---- tests: 4.x JSON protocol ---- */

static void json_create_and_join_order(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    say_json(h, a, PM_SIGMSG_JOIN, 0, "");
    drain(h);
    assert_int_equal(h->nout, 2);
    expect_json(h, &h->out[0], PM_SIGMSG_ID, 1, "true");
    const char *name = pm_sigsrv_conn_lobby(h->s, a);
    assert_non_null(name);
    assert_int_equal(strlen(name), 16);
    for (const char *p = name; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9'));
    expect_json(h, &h->out[1], PM_SIGMSG_JOIN, 0, name);
    /* Integers on the wire, never "1.0" (godot#103374). */
    assert_string_equal(h->out[0].text, "{\"type\":1,\"id\":1,\"data\":\"true\"}");

    char lobby[32];
    strcpy(lobby, name);
    say_json(h, b, PM_SIGMSG_JOIN, 0, lobby);
    drain(h);
    int32_t idb = peer_id_of(h, b);
    assert_true(idb >= 2);
    /* ID to b, PEER_CONNECT(b) to a, PEER_CONNECT(1) to b, JOIN to b. */
    assert_int_equal(h->nout, 4);
    assert_int_equal(h->out[0].tid, 2);
    expect_json(h, &h->out[0], PM_SIGMSG_ID, idb, "true");
    assert_int_equal(h->out[1].tid, 1);
    expect_json(h, &h->out[1], PM_SIGMSG_PEER_CONNECT, idb, "");
    assert_int_equal(h->out[2].tid, 2);
    expect_json(h, &h->out[2], PM_SIGMSG_PEER_CONNECT, 1, "");
    assert_int_equal(h->out[3].tid, 2);
    expect_json(h, &h->out[3], PM_SIGMSG_JOIN, 0, lobby);

    say_json(h, c, PM_SIGMSG_JOIN, 0, lobby);
    drain(h);
    int32_t idc = peer_id_of(h, c);
    assert_true(idc >= 2 && idc != idb);
    assert_int_equal(count_for(h, 1), 1);
    assert_int_equal(count_for(h, 2), 1);
    assert_int_equal(count_for(h, 3), 4);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_CONNECT, idc, "");
    expect_json(h, nth_for(h, 2, 0), PM_SIGMSG_PEER_CONNECT, idc, "");
    expect_json(h, nth_for(h, 3, 1), PM_SIGMSG_PEER_CONNECT, 1, "");
    expect_json(h, nth_for(h, 3, 2), PM_SIGMSG_PEER_CONNECT, idb, "");

    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.lobbies, 1);
    assert_int_equal(s.peers_in_lobbies, 3);
    assert_int_equal(s.connections, 3);
}

static void json_relay_stamps_sender(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    drain(h);
    int32_t idb = peer_id_of(h, b), idc = peer_id_of(h, c);

    /* b -> host (1): the host sees b's id. */
    say_json(h, b, PM_SIGMSG_OFFER, 1, "v=0 offer");
    drain(h);
    assert_int_equal(h->nout, 1);
    assert_int_equal(h->out[0].tid, 1);
    expect_json(h, &h->out[0], PM_SIGMSG_OFFER, idb, "v=0 offer");

    /* host -> c: c sees 1. */
    say_json(h, a, PM_SIGMSG_ANSWER, idc, "v=0 answer");
    drain(h);
    assert_int_equal(h->out[0].tid, 3);
    expect_json(h, &h->out[0], PM_SIGMSG_ANSWER, 1, "v=0 answer");

    /* A candidate, with extra keys trying to name a source: ignored. */
    char msg[256];
    snprintf(msg, sizeof msg,
             "{\"type\":6,\"id\":%d,\"data\":\"\\n0\\n0\\ncandidate:1 1 udp 1 1.2.3.4 5 typ "
             "host\",\"from\":1,\"src\":1}",
             (int)idc);
    say(h, b, msg);
    drain(h);
    assert_int_equal(h->nout, 1);
    assert_int_equal(h->out[0].tid, 3);
    expect_json(h, &h->out[0], PM_SIGMSG_CANDIDATE, idb,
                "\n0\n0\ncandidate:1 1 udp 1 1.2.3.4 5 typ host");

    /* Fractions are floored (as Node), and data that is not a string is "". */
    snprintf(msg, sizeof msg, "{\"type\":4.0,\"id\":%d.7,\"data\":42}", (int)idc);
    say(h, b, msg);
    drain(h);
    expect_json(h, &h->out[0], PM_SIGMSG_OFFER, idb, "");

    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.relayed[0], 2);
    assert_int_equal(s.relayed[1], 1);
    assert_int_equal(s.relayed[2], 1);
}

static void spoofing_and_bad_destinations(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), x = conn(h, 9), y = conn(h, 10);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    drain(h);
    int32_t idb = peer_id_of(h, b);
    /* Another lobby: its peers are not reachable from ours. */
    host_lobby(h, x, true);
    char other[32];
    strcpy(other, pm_sigsrv_conn_lobby(h->s, x));
    say_json(h, y, 0, 0, other);
    drain(h);
    int32_t idy = peer_id_of(h, y);

    /* To oneself: closed, and the host is told it left. */
    say_json(h, b, PM_SIGMSG_OFFER, idb, "x");
    drain(h);
    expect_close(nth_for(h, 2, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_DISCONNECT, idb, "");
    /* b left: the host was told. */
    b = conn(h, 3);
    say_json(h, b, 0, 0, lobby);
    drain(h);
    /* To a peer of another lobby (even if the id happened to exist there). */
    say_json(h, b, PM_SIGMSG_OFFER, idy, "x");
    drain(h);
    expect_close(nth_for(h, 3, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    assert_int_equal(count_for(h, 10), 0);
    /* id 0 (the demo could match a random id 0). */
    b = conn(h, 4);
    say_json(h, b, 0, 0, lobby);
    drain(h);
    say_json(h, b, PM_SIGMSG_OFFER, 0, "x");
    drain(h);
    expect_close(nth_for(h, 4, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    /* Beyond 2^31-1. */
    b = conn(h, 5);
    say_json(h, b, 0, 0, lobby);
    drain(h);
    say_json(h, b, PM_SIGMSG_OFFER, 4294967297LL, "x");
    drain(h);
    expect_close(nth_for(h, 5, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    /* Host relaying to itself. */
    say_json(h, a, PM_SIGMSG_OFFER, 1, "x");
    drain(h);
    expect_close(nth_for(h, 1, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    (void)idb;
}

static void client_server_lobby(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    say_json(h, a, 0, 1, ""); /* id != 0: client/server */
    drain(h);
    expect_json(h, &h->out[0], PM_SIGMSG_ID, 1, "");
    char lobby[32];
    strcpy(lobby, pm_sigsrv_conn_lobby(h->s, a));
    say_json(h, b, 0, 0, lobby); /* the mode is the creator's */
    drain(h);
    int32_t idb = peer_id_of(h, b);
    expect_json(h, nth_for(h, 2, 0), PM_SIGMSG_ID, idb, "");
    say_json(h, c, 0, 0, lobby);
    drain(h);
    int32_t idc = peer_id_of(h, c);
    /* c is told of the host only; the host of c; b of nobody. */
    assert_int_equal(count_for(h, 2), 0);
    assert_int_equal(count_for(h, 1), 1);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_CONNECT, idc, "");
    assert_int_equal(count_for(h, 3), 3);
    expect_json(h, nth_for(h, 3, 1), PM_SIGMSG_PEER_CONNECT, 1, "");
    /* Host to a client: fine. Client to client: refused. */
    say_json(h, a, PM_SIGMSG_OFFER, idc, "o");
    drain(h);
    expect_json(h, nth_for(h, 3, 0), PM_SIGMSG_OFFER, 1, "o");
    say_json(h, c, PM_SIGMSG_OFFER, idb, "o");
    drain(h);
    expect_close(nth_for(h, 3, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    /* c leaving: only the host hears of it. */
    assert_int_equal(count_for(h, 2), 0);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_DISCONNECT, idc, "");
}

static void leave_and_host_leave(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    drain(h);
    int32_t idb = peer_id_of(h, b);
    pm_sigsrv_gone(h->s, h->now, b);
    drain(h);
    assert_int_equal(h->nout, 2);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_DISCONNECT, idb, "");
    expect_json(h, nth_for(h, 3, 0), PM_SIGMSG_PEER_DISCONNECT, idb, "");
    /* Unknown and repeated "gone" are harmless. */
    pm_sigsrv_gone(h->s, h->now, b);
    pm_sigsrv_gone(h->s, h->now, 0xdead);
    /* Host leaves: everyone closed, lobby deleted. */
    pm_sigsrv_gone(h->s, h->now, a);
    expect_only_close(h, 3, PM_SIGNAL_CLOSE_PROTOCOL, "Room host has disconnected");
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.lobbies, 0);
    assert_int_equal(s.peers_in_lobbies, 0);
    /* The lobby is gone for newcomers. */
    uint64_t d = conn(h, 4);
    say_json(h, d, 0, 0, lobby);
    expect_only_close(h, 4, PM_SIGNAL_CLOSE_PROTOCOL, "Lobby does not exists");
    /* Input from a closing connection is ignored. */
    say_json(h, c, 0, 0, "");
    assert_int_equal(drain(h), 0);
    pm_sigsrv_gone(h->s, h->now, c);
    pm_sigsrv_gone(h->s, h->now, d);
    assert_int_equal(pm_sigsrv_connection_count(h->s), 0);
}

static void seal_timing(void **st)
{
    harness *h = *st;
    h->cfg.ping_interval = 0; /* only the timers under test */
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    drain(h);
    int32_t idc = peer_id_of(h, c);
    /* Only the host may seal. */
    say_json(h, b, PM_SIGMSG_SEAL, 0, "");
    drain(h);
    expect_close(nth_for(h, 2, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Only host can seal the lobby");
    pm_sigsrv_gone(h->s, h->now, b);
    drain(h);
    pm_time sealed_at = h->now;
    say_json(h, a, PM_SIGMSG_SEAL, 0, "");
    drain(h);
    assert_int_equal(h->nout, 2);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_SEAL, 0, "");
    expect_json(h, nth_for(h, 3, 0), PM_SIGMSG_SEAL, 0, "");
    assert_int_equal(pm_sigsrv_next_deadline(h->s), sealed_at + PM_SEC(10));
    /* Joining a sealed lobby is refused. */
    uint64_t d = conn(h, 4);
    say_json(h, d, 0, 0, lobby);
    expect_only_close(h, 4, PM_SIGNAL_CLOSE_PROTOCOL, "Lobby is sealed");
    /* A second seal: nothing, and the timer keeps its time. */
    h->now += PM_SEC(3);
    say_json(h, a, PM_SIGMSG_SEAL, 0, "");
    assert_int_equal(drain(h), 0);
    assert_int_equal(pm_sigsrv_next_deadline(h->s), sealed_at + PM_SEC(10));
    /* Relay still works before the delay. */
    say_json(h, c, PM_SIGMSG_CANDIDATE, 1, "\\n0\\n0\\ncandidate:x");
    drain(h);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_CANDIDATE, idc, "\n0\n0\ncandidate:x");
    h->now = sealed_at + PM_SEC(10) - 1;
    pm_sigsrv_timeout(h->s, h->now);
    assert_int_equal(drain(h), 0);
    h->now = sealed_at + PM_SEC(10);
    pm_sigsrv_timeout(h->s, h->now);
    drain(h);
    assert_int_equal(h->nout, 2);
    expect_close(nth_for(h, 1, 0), PM_SIGNAL_CLOSE_NORMAL, "Seal complete");
    expect_close(nth_for(h, 3, 0), PM_SIGNAL_CLOSE_NORMAL, "Seal complete");
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.lobbies, 0);
    assert_int_equal(s.seals, 1);
}

static void seal_then_leave_then_host_leave(void **st)
{
    harness *h = *st;
    h->cfg.join_rate = 0; /* no address records left to expire: only timers of lobbies */
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    say_json(h, a, PM_SIGMSG_SEAL, 0, "");
    drain(h);
    int32_t idb = peer_id_of(h, b);
    /* A leave after the seal is still announced (Node's behaviour). */
    pm_sigsrv_gone(h->s, h->now, b);
    drain(h);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_DISCONNECT, idb, "");
    expect_json(h, nth_for(h, 3, 0), PM_SIGMSG_PEER_DISCONNECT, idb, "");
    /* The host leaving cancels the seal timer: the lobby is gone now. */
    pm_sigsrv_gone(h->s, h->now, a);
    expect_only_close(h, 3, PM_SIGNAL_CLOSE_PROTOCOL, "Room host has disconnected");
    pm_sigsrv_gone(h->s, h->now, c);
    assert_int_equal(pm_sigsrv_connection_count(h->s), 0);
    assert_int_equal(pm_sigsrv_next_deadline(h->s), PM_TIME_NEVER); /* no seal timer left */
    h->now += PM_SEC(20);
    pm_sigsrv_timeout(h->s, h->now);
    assert_int_equal(drain(h), 0);
}

static void join_timeout(void **st)
{
    harness *h = *st;
    h->cfg.ping_interval = 0; /* only the timers under test */
    reconfigure(h);
    pm_time t0 = h->now;
    conn(h, 1);
    h->now += PM_MS(500);
    uint64_t b = conn(h, 2);
    assert_int_equal(pm_sigsrv_next_deadline(h->s), t0 + PM_SEC(1));
    h->now = t0 + PM_SEC(1) - 1;
    pm_sigsrv_timeout(h->s, h->now);
    assert_int_equal(drain(h), 0);
    h->now = t0 + PM_SEC(1);
    pm_sigsrv_timeout(h->s, h->now);
    expect_only_close(h, 1, PM_SIGNAL_CLOSE_PROTOCOL, "Have not joined lobby yet");
    /* b joins in time: no timeout for it. */
    host_lobby(h, b, true);
    h->now += PM_SEC(5);
    pm_sigsrv_timeout(h->s, h->now);
    drain(h);
    for (int i = 0; i < h->nout; i++)
        assert_int_not_equal(h->out[i].kind, PM_SIGSRV_OUT_CLOSE);
}

static void protocol_errors(void **st)
{
    harness *h = *st;
    struct {
        const char *msg;
        bool binary;
        const char *reason;
    } cases[] = {
        {"not json", false, "Invalid message format"},
        {"{\"type\":0,\"id\":0", false, "Invalid message format"},
        {"[0,0,\"\"]", false, "Invalid message format"},
        {"{\"type\":-1,\"id\":0,\"data\":\"\"}", false, "Invalid message format"},
        {"{\"type\":0,\"id\":-3,\"data\":\"\"}", false, "Invalid message format"},
        {"{\"type\":\"0\",\"id\":0,\"data\":\"\"}", false, "Invalid message format"},
        {"{\"id\":0,\"data\":\"\"}", false, "Invalid message format"},
        {"{\"type\":0,\"id\":0,\"data\":\"\"}", true, "Invalid transfer mode, must be text"},
        {"{\"type\":4,\"id\":1,\"data\":\"x\"}", false, "Invalid message when not in a lobby"},
        {"{\"type\":7,\"id\":0,\"data\":\"\"}", false, "Invalid message when not in a lobby"},
        {"{\"type\":0,\"id\":0,\"data\":\"NoSuchLobby\"}", false, "Lobby does not exists"},
        {"{\"type\":0,\"id\":0,\"data\":"
         "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
         false, "Lobby does not exists"},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        uint64_t c = conn(h, 100 + i);
        pm_sigsrv_receive(h->s, h->now, c, (const uint8_t *)cases[i].msg, strlen(cases[i].msg),
                          cases[i].binary);
        expect_only_close(h, 100 + i, PM_SIGNAL_CLOSE_PROTOCOL, cases[i].reason);
        pm_sigsrv_gone(h->s, h->now, c);
    }
    /* In a lobby: commands a client may not send, and a second JOIN. */
    uint64_t a = conn(h, 1);
    host_lobby(h, a, true);
    const char *in_lobby[] = {
        "{\"type\":1,\"id\":0,\"data\":\"\"}",
        "{\"type\":2,\"id\":5,\"data\":\"\"}",
        "{\"type\":3,\"id\":5,\"data\":\"\"}",
        "{\"type\":99,\"id\":0,\"data\":\"\"}",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(in_lobby); i++) {
        uint64_t c = conn(h, 200 + i);
        say_json(h, c, 0, 0, pm_sigsrv_conn_lobby(h->s, a));
        drain(h);
        say(h, c, in_lobby[i]);
        drain(h);
        expect_close(nth_for(h, 200 + i, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid command");
    }
    uint64_t c = conn(h, 300);
    say_json(h, c, 0, 0, pm_sigsrv_conn_lobby(h->s, a));
    drain(h);
    say_json(h, c, 0, 0, "");
    drain(h);
    expect_close(nth_for(h, 300, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Already in a lobby");
    say_json(h, a, 0, 0, "");
    drain(h);
    expect_close(nth_for(h, 1, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Already in a lobby");
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_true(s.rejected_protocol >= PM_ARRAY_LEN(cases) + PM_ARRAY_LEN(in_lobby) + 2);
}

/* ---- 3.x text protocol ---- */

static void text_protocol(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), j = conn(h, 3);
    say(h, a, "J: \n");
    drain(h);
    assert_int_equal(h->nout, 2);
    assert_string_equal(h->out[0].text, "I: 1\n");
    char lobby[32];
    strcpy(lobby, pm_sigsrv_conn_lobby(h->s, a));
    char expect[64];
    snprintf(expect, sizeof expect, "J: %s\n", lobby);
    assert_string_equal(h->out[1].text, expect);

    char join[64];
    snprintf(join, sizeof join, "J: %s\n", lobby);
    say(h, b, join);
    drain(h);
    int32_t idb = peer_id_of(h, b);
    snprintf(expect, sizeof expect, "I: %d\n", (int)idb);
    assert_string_equal(nth_for(h, 2, 0)->text, expect);
    assert_string_equal(nth_for(h, 2, 1)->text, "N: 1\n");
    snprintf(expect, sizeof expect, "J: %s\n", lobby);
    assert_string_equal(nth_for(h, 2, 2)->text, expect);
    snprintf(expect, sizeof expect, "N: %d\n", (int)idb);
    assert_string_equal(nth_for(h, 1, 0)->text, expect);

    /* A 4.x JSON peer in the same lobby: messages are translated. */
    say_json(h, j, 0, 0, lobby);
    drain(h);
    int32_t idj = peer_id_of(h, j);
    expect_json(h, nth_for(h, 3, 1), PM_SIGMSG_PEER_CONNECT, 1, "");
    snprintf(expect, sizeof expect, "N: %d\n", (int)idj);
    assert_string_equal(nth_for(h, 1, 0)->text, expect);

    /* Offer, answer and the candidate payload with its leading newline. */
    say(h, b, "O: 1\nv=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
    drain(h);
    snprintf(expect, sizeof expect, "O: %d\nv=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", (int)idb);
    assert_string_equal(nth_for(h, 1, 0)->text, expect);
    say(h, a, "A: 1\n");
    drain(h);
    expect_close(nth_for(h, 1, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Invalid destination");
    a = 0;
    (void)a;
    say(h, b, "C: 1\n\n0\n0\ncandidate:1 1 udp 9 1.2.3.4 5 typ host");
    assert_int_equal(drain(h), 0); /* the host is gone; the lobby too */
}

static void text_translation_and_errors(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2);
    say(h, a, "J: \n");
    drain(h);
    char lobby[32], join[64], expect[128];
    strcpy(lobby, pm_sigsrv_conn_lobby(h->s, a));
    /* Names are trimmed as the demo's .trim(). */
    snprintf(join, sizeof join, "J:  %s \n", lobby);
    say(h, b, join);
    drain(h);
    int32_t idb = peer_id_of(h, b);
    assert_true(idb >= 2);
    say(h, b, "C: 1\n\n0\n0\ncandidate:1 1 udp 9 1.2.3.4 5 typ host");
    drain(h);
    snprintf(expect, sizeof expect, "C: %d\n\n0\n0\ncandidate:1 1 udp 9 1.2.3.4 5 typ host",
             (int)idb);
    assert_string_equal(nth_for(h, 1, 0)->text, expect);
    say(h, a, "S: \n");
    drain(h);
    assert_string_equal(nth_for(h, 1, 0)->text, "S: \n");
    assert_string_equal(nth_for(h, 2, 0)->text, "S: \n");

    struct {
        const char *msg;
        const char *reason;
        bool join_first;
    } cases[] = {
        {"J: ", "Invalid message format", false}, /* no newline */
        {"J:\n", "Invalid message format", false},
        {"Jx \n", "Invalid message format", false},
        {"O: 1\nsdp", "Invalid message when not in a lobby", false},
        {"O: 12abc\nsdp", "Invalid destination", true}, /* parseInt would say 12 */
        {"O: \nsdp", "Invalid destination", true},
        {"O: -1\nsdp", "Invalid destination", true},
        {"X: 1\nsdp", "Invalid command", true},
        {"I: 1\n", "Invalid command", true},
        {"N: 1\n", "Invalid command", true},
        {"S: \n", "Only host can seal the lobby", true},
        {"O: 1\n\xff\xfe", "Invalid message format", true},                      /* not UTF-8 */
        {"{\"type\":0,\"id\":0,\"data\":\"\"}", "Invalid message format", true}, /* JSON */
    };
    /* A fresh unsealed lobby for the cases that need one. */
    uint64_t host = conn(h, 50);
    say(h, host, "J: \n");
    drain(h);
    strcpy(lobby, pm_sigsrv_conn_lobby(h->s, host));
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        uint64_t c = conn(h, 100 + i);
        if (cases[i].join_first) {
            snprintf(join, sizeof join, "J: %s\n", lobby);
            say(h, c, join);
            drain(h);
            assert_true(peer_id_of(h, c) >= 2);
        }
        say(h, c, cases[i].msg);
        drain(h);
        const out_rec *r = nth_for(h, 100 + i, 0);
        if (!r || r->kind != PM_SIGSRV_OUT_CLOSE || strcmp(r->text, cases[i].reason) != 0)
            fail_msg("case %zu (%s): expected close '%s'", i, cases[i].msg, cases[i].reason);
        assert_int_equal(r->code, PM_SIGNAL_CLOSE_PROTOCOL);
        pm_sigsrv_gone(h->s, h->now, c);
        drain(h);
    }
}

/* ---- limits ---- */

static void limits_peers_lobbies(void **st)
{
    harness *h = *st;
    h->cfg.max_peers = 3;
    h->cfg.max_lobbies = 2;
    h->cfg.max_lobby_peers = 2;
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    assert_int_equal(drain(h), 0);
    uint64_t d = conn(h, 4);
    expect_only_close(h, 4, PM_SIGNAL_CLOSE_PROTOCOL, "Too many peers connected");
    pm_sigsrv_gone(h->s, h->now, d);
    host_lobby(h, a, true);
    host_lobby(h, b, true);
    say_json(h, c, 0, 0, "");
    expect_only_close(h, 3, PM_SIGNAL_CLOSE_PROTOCOL, "Too many lobbies open, disconnecting");
    pm_sigsrv_gone(h->s, h->now, c);
    /* A place is free again. */
    c = conn(h, 5);
    say_json(h, c, 0, 0, pm_sigsrv_conn_lobby(h->s, a));
    drain(h);
    assert_true(peer_id_of(h, c) >= 2);
    pm_sigsrv_gone(h->s, h->now, b);
    uint64_t e = conn(h, 6);
    say_json(h, e, 0, 0, pm_sigsrv_conn_lobby(h->s, a));
    expect_only_close(h, 6, PM_SIGNAL_CLOSE_PROTOCOL, "Lobby is full");
}

static void limits_size_rate_address(void **st)
{
    harness *h = *st;
    h->cfg.max_message_size = 1000;
    h->cfg.rate_limit = 10;
    h->cfg.rate_burst = 5;
    h->cfg.max_per_address = 2;
    reconfigure(h);
    uint64_t a = conn_from(h, 1, 7), b = conn_from(h, 2, 7);
    uint64_t c = conn_from(h, 3, 7);
    expect_only_close(h, 3, PM_SIGNAL_CLOSE_ADDRESS, "Too many connections from this address");
    pm_sigsrv_gone(h->s, h->now, c);
    conn_from(h, 4, 8); /* another address is fine */
    assert_int_equal(drain(h), 0);
    /* After one leaves, the address has room again. */
    pm_sigsrv_gone(h->s, h->now, b);
    b = conn_from(h, 5, 7);
    assert_int_equal(drain(h), 0);

    host_lobby(h, a, true);
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pm_sigsrv_receive(h->s, h->now, b, (const uint8_t *)big, 1001, false);
    expect_only_close(h, 5, PM_SIGNAL_CLOSE_TOO_BIG, "Message too big");

    /* Rate: a burst of 5 then 10/s. host_lobby used one token. */
    char lobby[32];
    strcpy(lobby, pm_sigsrv_conn_lobby(h->s, a));
    uint64_t r = conn_from(h, 6, 9);
    say_json(h, r, 0, 0, lobby);
    drain(h);
    for (int i = 0; i < 4; i++) {
        say_json(h, r, PM_SIGMSG_CANDIDATE, 1, "\\n0\\n0\\ncandidate:x");
        drain(h);
        assert_int_equal(h->nout, 1);
        assert_int_equal(h->out[0].kind, PM_SIGSRV_OUT_SEND);
    }
    /* 100 ms later one more token has come. */
    h->now += PM_MS(100);
    say_json(h, r, PM_SIGMSG_CANDIDATE, 1, "x");
    drain(h);
    assert_int_equal(h->out[0].kind, PM_SIGSRV_OUT_SEND);
    say_json(h, r, PM_SIGMSG_CANDIDATE, 1, "x");
    drain(h);
    expect_close(nth_for(h, 6, 0), PM_SIGNAL_CLOSE_RATE, "Rate limit exceeded");
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.rejected_rate, 1);
    assert_int_equal(s.rejected_size, 1);
    assert_int_equal(s.rejected_address, 1);
}

/* Count pings and closes per connection while time runs to `until`. */
static void run_pings(harness *h, pm_time until, int *pings, int *closes, int n)
{
    while (h->now < until) {
        h->now = PM_MIN(until, pm_sigsrv_next_deadline(h->s));
        pm_sigsrv_timeout(h->s, h->now);
        drain(h);
        for (int i = 0; i < h->nout; i++) {
            assert_true(h->out[i].tid >= 1 && h->out[i].tid <= (uint64_t)n);
            if (h->out[i].kind == PM_SIGSRV_OUT_PING)
                pings[h->out[i].tid - 1]++;
            else if (h->out[i].kind == PM_SIGSRV_OUT_CLOSE) {
                expect_close(&h->out[i], PM_SIGNAL_CLOSE_TIMEOUT, "Ping timeout");
                closes[h->out[i].tid - 1]++;
            }
        }
    }
}

static void ping_pong_liveness(void **st)
{
    harness *h = *st;
    h->cfg.ping_interval = PM_SEC(2);
    reconfigure(h);
    pm_time t0 = h->now;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    drain(h);
    int32_t idc = peer_id_of(h, c);
    /* Pings come in slices of the interval, never more than 1/100 of it
     * (20 ms) apart; each connection is pinged once per interval. */
    pm_time first = pm_sigsrv_next_deadline(h->s);
    assert_true(first > t0 && first <= t0 + PM_MS(20));
    int pings[3] = {0}, closes[3] = {0};
    run_pings(h, t0 + PM_SEC(2), pings, closes, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pings[i], 1);
        assert_int_equal(closes[i], 0);
    }
    /* a answers with a pong, b with a message, c vanished: c is closed at
     * its next turn, and the others told at once. */
    pm_sigsrv_pong(h->s, h->now, a);
    say_json(h, b, PM_SIGMSG_CANDIDATE, 1, "x");
    drain(h);
    bool told[2] = {false, false};
    while (h->now < t0 + PM_SEC(4) && !closes[2]) {
        h->now = pm_sigsrv_next_deadline(h->s);
        pm_sigsrv_timeout(h->s, h->now);
        drain(h);
        for (int i = 0; i < h->nout; i++) {
            if (h->out[i].kind == PM_SIGSRV_OUT_CLOSE) {
                assert_int_equal(h->out[i].tid, 3);
                expect_close(&h->out[i], PM_SIGNAL_CLOSE_TIMEOUT, "Ping timeout");
                closes[2]++;
            } else if (h->out[i].kind == PM_SIGSRV_OUT_SEND) {
                assert_true(h->out[i].tid == 1 || h->out[i].tid == 2);
                expect_json(h, &h->out[i], PM_SIGMSG_PEER_DISCONNECT, idc, "");
                told[h->out[i].tid - 1] = true;
            }
        }
    }
    assert_int_equal(closes[2], 1);
    assert_true(told[0] && told[1]);
    assert_true(h->now > t0 + PM_SEC(2) && h->now <= t0 + PM_SEC(4));
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.ping_timeouts, 1);
}

/* 1,000 connections: the pings of one interval are spread over it (no
 * tenth of the interval holds more than a few percent more than its share),
 * and every connection gets exactly one. */
static void pings_are_spread(void **st)
{
    harness *h = *st;
    h->cfg.ping_interval = PM_SEC(10);
    h->cfg.max_per_address = 0;
    reconfigure(h);
    enum { N = 1000 };
    for (uint64_t tid = 1; tid <= N; tid++) {
        uint64_t c = conn(h, tid);
        say_json(h, c, PM_SIGMSG_JOIN, 0, ""); /* joined: no join timeout */
        drain(h);
    }
    pm_time t0 = h->now;
    int per_tenth[10] = {0};
    static int pings[N];
    memset(pings, 0, sizeof pings);
    while (h->now < t0 + PM_SEC(10)) {
        h->now = PM_MIN(t0 + PM_SEC(10), pm_sigsrv_next_deadline(h->s));
        pm_sigsrv_timeout(h->s, h->now);
        drain(h);
        for (int i = 0; i < h->nout; i++) {
            assert_int_equal(h->out[i].kind, PM_SIGSRV_OUT_PING);
            pings[h->out[i].tid - 1]++;
            per_tenth[PM_MIN(9, (h->now - t0 - 1) / PM_SEC(1))]++;
        }
        assert_true(h->nout <= 2 * N / 100); /* one tick's share, rounding aside */
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pings[i], 1);
    /* The slot table has 1,024 slots: 1,000 used, the free ones at the end. */
    for (int k = 0; k < 9; k++)
        assert_true(per_tenth[k] >= 90 && per_tenth[k] <= 115);
}

static void unique_ids_in_range(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    /* The random source offers 0, 1, 0x80000001 (high bit cleared: 1),
     * 5, then 5 again (taken), 0xFFFFFFFF (-> 2^31-1). */
    script_rand *r = &h->rnd;
    uint32_t script[] = {0, 1, 0x80000001u, 5, 5, 0xFFFFFFFFu};
    memcpy(r->values, script, sizeof script);
    r->n = PM_ARRAY_LEN(script);
    r->at = 0;
    say_json(h, b, 0, 0, lobby);
    drain(h);
    assert_int_equal(peer_id_of(h, b), 5);
    say_json(h, c, 0, 0, lobby);
    drain(h);
    assert_int_equal(peer_id_of(h, c), 0x7fffffff);
    r->n = 0;
}

/* ---- auth, TURN ---- */

static void auth_shared_secret(void **st)
{
    harness *h = *st;
    h->cfg.auth_secret = "s3cret";
    reconfigure(h);
    pm_addr addr;
    pm_addr_parse(&addr, "10.1.1.1", 1);
    uint64_t a = pm_sigsrv_open(h->s, h->now, &addr, NULL, 1);
    expect_only_close(h, 1, PM_SIGNAL_CLOSE_UNAUTHORIZED, "Unauthorized");
    uint64_t b = pm_sigsrv_open(h->s, h->now, &addr, "s3cre", 2);
    expect_only_close(h, 2, PM_SIGNAL_CLOSE_UNAUTHORIZED, "Unauthorized");
    uint64_t c = pm_sigsrv_open(h->s, h->now, &addr, "s3cret", 3);
    assert_int_equal(drain(h), 0);
    host_lobby(h, c, true);
    assert_int_equal(peer_id_of(h, c), 1);
    (void)a;
    (void)b;
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.rejected_auth, 2);
}

static void auth_hmac_token(void **st)
{
    harness *h = *st;
    h->cfg.token_secret = "k3y";
    reconfigure(h);
    int64_t unix_now = (h->now + PM_SEC(1700000000)) / 1000000;
    char good[PM_SIG_TOKEN_MAX], expired[PM_SIG_TOKEN_MAX], other[PM_SIG_TOKEN_MAX];
    assert_int_equal(pm_signal_token_make("k3y", "alice", unix_now + 60, good, sizeof good), PM_OK);
    assert_int_equal(pm_signal_token_make("k3y", "alice", unix_now, expired, sizeof expired),
                     PM_OK);
    assert_int_equal(pm_signal_token_make("nope", "alice", unix_now + 60, other, sizeof other),
                     PM_OK);
    char tampered[PM_SIG_TOKEN_MAX];
    strcpy(tampered, good);
    tampered[strlen(tampered) - 1] ^= 1;
    char renamed[PM_SIG_TOKEN_MAX];
    snprintf(renamed, sizeof renamed, "%lld:mallory:%s", (long long)(unix_now + 60),
             strrchr(good, ':') + 1);
    const char *bad[] = {NULL, "", expired, other, tampered, renamed, "1:2:3", good + 1};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        pm_sigsrv_open(h->s, h->now, NULL, bad[i], 10 + i);
        expect_only_close(h, 10 + i, PM_SIGNAL_CLOSE_UNAUTHORIZED, "Unauthorized");
    }
    uint64_t ok = pm_sigsrv_open(h->s, h->now, NULL, good, 99);
    assert_int_equal(drain(h), 0);
    host_lobby(h, ok, true);
    assert_int_equal(peer_id_of(h, ok), 1);
    /* Bad users are refused by the maker. */
    char t[PM_SIG_TOKEN_MAX];
    assert_int_equal(pm_signal_token_make("k3y", "a:b", 1, t, sizeof t), PM_ERR_INVALID);
    assert_int_equal(pm_signal_token_make("k3y", "", 1, t, sizeof t), PM_ERR_INVALID);
    assert_int_equal(pm_signal_token_make("k3y", "alice", 1, t, 10), PM_ERR_TOO_BIG);
}

static void turn_credentials_with_id(void **st)
{
    harness *h = *st;
    static const char *turn[] = {"turn:127.0.0.1:3478?transport=udp"};
    static const char *stun[] = {"stun:127.0.0.1:3478"};
    h->cfg.turn_secret = "north";
    h->cfg.turn_urls = turn;
    h->cfg.turn_url_count = 1;
    h->cfg.stun_urls = stun;
    h->cfg.stun_url_count = 1;
    h->cfg.turn_ttl = PM_SEC(3600);
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2);
    say_json(h, a, 0, 0, "");
    drain(h);
    pm_buf scratch = {0};
    pm_sigmsg m = decoded(h, &h->out[0], &scratch);
    assert_int_equal(m.type, PM_SIGMSG_ID);
    assert_non_null(m.ice);
    pm_sig_ice_list list;
    assert_int_equal(pm_sig_ice_list_parse(&h->env, m.ice, m.ice_len, &list), PM_OK);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.servers[0].urls[0], "stun:127.0.0.1:3478");
    assert_null(list.servers[0].username);
    assert_string_equal(list.servers[1].urls[0], turn[0]);
    int64_t expiry = (h->now + PM_SEC(1700000000)) / 1000000 + 3600;
    char user[64], pass[64];
    snprintf(user, sizeof user, "%lld:1", (long long)expiry);
    assert_string_equal(list.servers[1].username, user);
    char euser[64];
    assert_int_equal(
        pm_sig_turn_credentials("north", "1", expiry, euser, sizeof euser, pass, sizeof pass),
        PM_OK);
    assert_string_equal(list.servers[1].credential, pass);
    assert_int_equal(strlen(pass), 28); /* base64 of 20 bytes */
    pm_sig_ice_list_free(&h->env, &list);
    pm_buf_free(&h->env, &scratch);

    /* A 3.x peer gets the same list as the payload of "I:". */
    char join[64];
    snprintf(join, sizeof join, "J: %s\n", pm_sigsrv_conn_lobby(h->s, a));
    say(h, b, join);
    drain(h);
    const out_rec *id = nth_for(h, 2, 0);
    pm_sigmsg t;
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)id->text, id->len, &t), PM_OK);
    assert_int_equal(t.type, PM_SIGMSG_ID);
    assert_non_null(t.ice);
    assert_int_equal(pm_sig_ice_list_parse(&h->env, t.ice, t.ice_len, &list), PM_OK);
    assert_int_equal(list.count, 2);
    pm_sig_ice_list_free(&h->env, &list);
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.turn_credentials, 2);
}

static void bad_configurations(void **st)
{
    harness *h = *st;
    pm_signal_server_config c;
    pm_sigsrv *s = NULL;
    static const char *turn[] = {"turn:127.0.0.1"};
    pm_signal_server_config_default(&c);
    c.max_peers = 0;
    assert_int_equal(pm_sigsrv_new(&h->env, &c, 0, 0, &s), PM_ERR_INVALID);
    pm_signal_server_config_default(&c);
    c.auth_secret = "a";
    c.token_secret = "b";
    assert_int_equal(pm_sigsrv_new(&h->env, &c, 0, 0, &s), PM_ERR_INVALID);
    pm_signal_server_config_default(&c);
    c.turn_urls = turn;
    c.turn_url_count = 1;
    assert_int_equal(pm_sigsrv_new(&h->env, &c, 0, 0, &s), PM_ERR_INVALID);
    pm_signal_server_config_default(&c);
    c.rate_burst = 0;
    assert_int_equal(pm_sigsrv_new(&h->env, &c, 0, 0, &s), PM_ERR_INVALID);
    pm_signal_server_config_default(&c);
    c.max_message_size = 10;
    assert_int_equal(pm_sigsrv_new(&h->env, &c, 0, 0, &s), PM_ERR_INVALID);
    assert_null(s);
}

static void shutdown_closes_everyone(void **st)
{
    harness *h = *st;
    uint64_t a = conn(h, 1), b = conn(h, 2);
    conn(h, 3);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    drain(h);
    pm_sigsrv_shutdown(h->s, h->now);
    drain(h);
    assert_int_equal(h->nout, 3);
    for (int i = 0; i < 3; i++)
        expect_close(&h->out[i], PM_SIGNAL_CLOSE_GOING_AWAY, "Server shutting down");
    conn(h, 4);
    expect_only_close(h, 4, PM_SIGNAL_CLOSE_GOING_AWAY, "Server shutting down");
}

static void many_lobbies_and_peers(void **st)
{
    harness *h = *st;
    /* 300 lobbies of 4: names unique, every relay lands right. */
    enum { L = 300, P = 4 };
    static uint64_t ids[L][P];
    static char names[L][20];
    for (int l = 0; l < L; l++) {
        for (int p = 0; p < P; p++)
            ids[l][p] = conn(h, (uint64_t)(l * P + p + 1));
        host_lobby(h, ids[l][0], true);
        strcpy(names[l], pm_sigsrv_conn_lobby(h->s, ids[l][0]));
        for (int k = 0; k < l; k++)
            assert_string_not_equal(names[k], names[l]);
        for (int p = 1; p < P; p++)
            say_json(h, ids[l][p], 0, 0, names[l]);
        drain(h);
    }
    for (int l = 0; l < L; l++) {
        int32_t to = peer_id_of(h, ids[l][2]);
        say_json(h, ids[l][1], PM_SIGMSG_OFFER, to, names[l]);
        drain(h);
        assert_int_equal(h->nout, 1);
        assert_int_equal(h->out[0].tid, (uint64_t)(l * P + 3));
        expect_json(h, &h->out[0], PM_SIGMSG_OFFER, peer_id_of(h, ids[l][1]), names[l]);
    }
    pm_signal_server_stats s;
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.lobbies, L);
    assert_int_equal(s.peers_in_lobbies, L * P);
    for (int l = 0; l < L; l++) {
        for (int p = P - 1; p >= 0; p--)
            pm_sigsrv_gone(h->s, h->now, ids[l][p]);
        drain(h);
        assert_int_equal(h->nout, 3 + 2 + 1); /* PEER_DISCONNECTs to those still there */
    }
    assert_int_equal(pm_sigsrv_connection_count(h->s), 0);
    pm_sigsrv_get_stats(h->s, &s);
    assert_int_equal(s.lobbies, 0);
}

/* ---- named lobbies (our extension) ---- */

static void named_lobbies(void **st)
{
    harness *h = *st;
    /* Strict mode (the default): CREATE is an unknown type, as the demo has it. */
    uint64_t x = conn(h, 9);
    say_json(h, x, PM_SIGMSG_CREATE, 0, "friday");
    expect_only_close(h, 9, PM_SIGNAL_CLOSE_PROTOCOL, "Invalid message when not in a lobby");
    pm_sigsrv_gone(h->s, h->now, x);

    h->cfg.named_lobbies = true;
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3), d = conn(h, 4), t = conn(h, 5);
    say_json(h, a, PM_SIGMSG_CREATE, 0, "friday");
    drain(h);
    assert_int_equal(h->nout, 2);
    expect_json(h, &h->out[0], PM_SIGMSG_ID, 1, "true"); /* the creator is the host */
    expect_json(h, &h->out[1], PM_SIGMSG_JOIN, 0, "friday");
    assert_string_equal(pm_sigsrv_conn_lobby(h->s, a), "friday");

    /* Others join it by its name, with a plain JOIN. */
    say_json(h, b, PM_SIGMSG_JOIN, 0, "friday");
    drain(h);
    int32_t idb = peer_id_of(h, b);
    assert_true(idb >= 2);
    expect_json(h, nth_for(h, 1, 0), PM_SIGMSG_PEER_CONNECT, idb, "");

    /* A taken name, a bad name, a second lobby for one connection. */
    say_json(h, c, PM_SIGMSG_CREATE, 0, "friday");
    expect_only_close(h, 3, PM_SIGNAL_CLOSE_PROTOCOL, "Lobby already exists");
    say_json(h, d, PM_SIGMSG_CREATE, 0, "fri day");
    expect_only_close(h, 4, PM_SIGNAL_CLOSE_PROTOCOL, "Invalid lobby name");
    say_json(h, b, PM_SIGMSG_CREATE, 0, "saturday");
    drain(h);
    expect_close(nth_for(h, 2, 0), PM_SIGNAL_CLOSE_PROTOCOL, "Already in a lobby");

    /* The text protocol's form, a client/server lobby, and the host leaving frees the name. */
    say(h, t, "L: saturday\n");
    drain(h);
    assert_string_equal(nth_for(h, 5, 0)->text, "I: 1\n");
    assert_string_equal(nth_for(h, 5, 1)->text, "J: saturday\n");
    pm_sigsrv_gone(h->s, h->now, a);
    drain(h);
    uint64_t e = conn(h, 6);
    say_json(h, e, PM_SIGMSG_CREATE, 1, "friday");
    drain(h);
    expect_json(h, nth_for(h, 6, 0), PM_SIGMSG_ID, 1, "");
    uint64_t rest[] = {b, c, d, t, e};
    for (size_t k = 0; k < PM_ARRAY_LEN(rest); k++)
        pm_sigsrv_gone(h->s, h->now, rest[k]);
    pm_signal_server_stats stats;
    pm_sigsrv_get_stats(h->s, &stats);
    assert_int_equal(stats.lobbies, 0);
}

/* Churn amplification: every join and leave is told to the whole lobby, so
 * one address may join only join_burst times at once, then join_rate a
 * second; leaving and reconnecting does not reset its bucket. */
static void join_rate_per_address(void **st)
{
    harness *h = *st;
    h->cfg.join_rate = 10;
    h->cfg.join_burst = 50;
    h->cfg.max_lobby_peers = 1000;
    reconfigure(h);
    uint64_t host = conn_from(h, 1, 200);
    char lobby[32];
    strcpy(lobby, host_lobby(h, host, true));
    /* 50 joins from 10.0.0.9 (the burst); the next is refused. */
    uint64_t tid = 100;
    static uint64_t ids[200];
    int n = 0;
    for (int i = 0; i < 50; i++) {
        ids[n] = conn_from(h, tid++, 9);
        say_json(h, ids[n++], PM_SIGMSG_JOIN, 0, lobby);
        drain(h);
        assert_true(peer_id_of(h, ids[n - 1]) >= 2);
    }
    uint64_t extra = conn_from(h, tid, 9);
    say_json(h, extra, PM_SIGMSG_JOIN, 0, lobby);
    drain(h);
    assert_int_equal(peer_id_of(h, extra), 0);
    expect_close(nth_for(h, tid++, 0), PM_SIGNAL_CLOSE_RATE, "Too many joins from this address");
    /* Another address is not affected. */
    uint64_t other = conn_from(h, tid++, 10);
    say_json(h, other, PM_SIGMSG_JOIN, 0, lobby);
    assert_true(peer_id_of(h, other) >= 2);
    /* Everyone from 10.0.0.9 leaves and comes back: still no tokens. */
    for (int i = 0; i < n; i++) {
        pm_sigsrv_gone(h->s, h->now, ids[i]);
        drain(h);
    }
    pm_sigsrv_gone(h->s, h->now, extra);
    uint64_t back = conn_from(h, tid, 9);
    say_json(h, back, PM_SIGMSG_JOIN, 0, lobby);
    drain(h);
    expect_close(nth_for(h, tid++, 0), PM_SIGNAL_CLOSE_RATE, "Too many joins from this address");
    /* A second later, 10 more. */
    h->now += PM_SEC(1);
    for (int i = 0; i < 10; i++) {
        uint64_t c = conn_from(h, tid++, 9);
        say_json(h, c, PM_SIGMSG_JOIN, 0, lobby);
        drain(h);
        assert_true(peer_id_of(h, c) >= 2);
    }
    uint64_t c = conn_from(h, tid, 9);
    say_json(h, c, PM_SIGMSG_JOIN, 0, lobby);
    assert_int_equal(peer_id_of(h, c), 0);
    pm_signal_server_stats st2;
    pm_sigsrv_get_stats(h->s, &st2);
    assert_int_equal(st2.rejected_rate, 3);
}

/* An address with no connection is kept only until its bucket is full
 * again: then the next collection forgets it. */
static void address_records_expire(void **st)
{
    harness *h = *st;
    uint64_t a = conn_from(h, 1, 9);
    host_lobby(h, a, true);
    pm_sigsrv_gone(h->s, h->now, a);
    drain(h);
    pm_time gc = pm_sigsrv_next_deadline(h->s);
    assert_true(gc > h->now && gc != PM_TIME_NEVER);
    h->now = gc;
    pm_sigsrv_timeout(h->s, h->now);
    assert_int_equal(pm_sigsrv_next_deadline(h->s), PM_TIME_NEVER);
}

static int log_lines;
static void count_log(void *ud, pm_log_level level, const char *component, const char *msg)
{
    if (level == PM_LOG_INFO)
        log_lines++;
}

/* Lobby events are logged at info level, at most 20 a second, then counted. */
static void info_logging_is_rate_limited(void **st)
{
    harness *h = *st;
    pm_sigsrv_free(h->s);
    pm_env e;
    pm_test_env(&e, 42);
    e.log = count_log;
    e.log_level = PM_LOG_INFO;
    e.log_level_set = true;
    pm_env_resolve(&h->env, &e);
    assert_int_equal(pm_sigsrv_new(&h->env, &h->cfg, h->now, 0, &h->s), PM_OK);
    log_lines = 0;
    for (uint64_t tid = 1; tid <= 200; tid++) {
        uint64_t c = conn(h, tid);
        host_lobby(h, c, true);
        pm_sigsrv_gone(h->s, h->now, c);
        drain(h);
    }
    assert_int_equal(log_lines, 20); /* 400 events in the same second */
    h->now += PM_SEC(1);
    uint64_t c = conn(h, 1);
    host_lobby(h, c, true);
    assert_int_equal(log_lines, 22); /* "380 lobby events not logged", then this one */
}

/* Host migration (our extension, off by default): the lowest remaining id
 * becomes the host of a mesh lobby, everyone is told (PEER_DISCONNECT of
 * the old host, then HOST), the new host may seal, newcomers learn who it
 * is; client/server lobbies still close. */
static void host_migration(void **st)
{
    harness *h = *st;
    h->cfg.host_migration = true;
    reconfigure(h);
    uint64_t a = conn(h, 1), b = conn(h, 2), c = conn(h, 3), d = conn(h, 4);
    char lobby[32];
    strcpy(lobby, host_lobby(h, a, true));
    say_json(h, b, 0, 0, lobby);
    say_json(h, c, 0, 0, lobby);
    char join[64];
    snprintf(join, sizeof join, "J: %s\n", lobby);
    say(h, d, join); /* 3.x text protocol */
    drain(h);
    int32_t ids[3] = {peer_id_of(h, b), peer_id_of(h, c), peer_id_of(h, d)};
    int32_t low = PM_MIN(ids[0], PM_MIN(ids[1], ids[2]));
    pm_sigsrv_gone(h->s, h->now, a);
    drain(h);
    for (uint64_t tid = 2; tid <= 3; tid++) {
        assert_int_equal(count_for(h, tid), 2);
        expect_json(h, nth_for(h, tid, 0), PM_SIGMSG_PEER_DISCONNECT, 1, "");
        expect_json(h, nth_for(h, tid, 1), PM_SIGMSG_HOST, low, "");
    }
    char want[32];
    snprintf(want, sizeof want, "H: %d\n", (int)low);
    assert_int_equal(count_for(h, 4), 2);
    assert_string_equal(nth_for(h, 4, 0)->text, "D: 1\n");
    assert_string_equal(nth_for(h, 4, 1)->text, want);
    pm_signal_server_stats stats;
    pm_sigsrv_get_stats(h->s, &stats);
    assert_int_equal(stats.host_migrations, 1);
    assert_int_equal(stats.lobbies, 1);
    /* A newcomer is told who the host is, before JOIN. */
    uint64_t e = conn(h, 5);
    say_json(h, e, 0, 0, lobby);
    drain(h);
    assert_int_equal(count_for(h, 5), 1 + 3 + 1 + 1);
    expect_json(h, nth_for(h, 5, 4), PM_SIGMSG_HOST, low, "");
    expect_json(h, nth_for(h, 5, 5), PM_SIGMSG_JOIN, 0, lobby);
    /* Only the new host may seal. */
    uint64_t host = ids[0] == low ? b : ids[1] == low ? c : d;
    uint64_t other = host == b ? c : b;
    uint64_t other_tid = other == b ? 2 : 3;
    say_json(h, other, PM_SIGMSG_SEAL, 0, "");
    drain(h);
    expect_close(nth_for(h, other_tid, 0), PM_SIGNAL_CLOSE_PROTOCOL,
                 "Only host can seal the lobby");
    if (host == d)
        say(h, d, "S: \n");
    else
        say_json(h, host, PM_SIGMSG_SEAL, 0, "");
    drain(h);
    pm_sigsrv_get_stats(h->s, &stats);
    assert_int_equal(stats.seals, 1);
    /* The new host leaving hands over again. */
    pm_sigsrv_gone(h->s, h->now, host);
    drain(h);
    pm_sigsrv_get_stats(h->s, &stats);
    assert_int_equal(stats.host_migrations, 2);
    assert_int_equal(stats.lobbies, 1);
    /* A client/server lobby still closes with its host. */
    uint64_t f = conn(h, 6), g = conn(h, 7);
    strcpy(lobby, host_lobby(h, f, false));
    say_json(h, g, 0, 0, lobby);
    drain(h);
    pm_sigsrv_gone(h->s, h->now, f);
    expect_only_close(h, 7, PM_SIGNAL_CLOSE_PROTOCOL, "Room host has disconnected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(json_create_and_join_order, setup, teardown),
        cmocka_unit_test_setup_teardown(json_relay_stamps_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(spoofing_and_bad_destinations, setup, teardown),
        cmocka_unit_test_setup_teardown(client_server_lobby, setup, teardown),
        cmocka_unit_test_setup_teardown(leave_and_host_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_timing, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_then_leave_then_host_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(join_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(text_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(text_translation_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_peers_lobbies, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_size_rate_address, setup, teardown),
        cmocka_unit_test_setup_teardown(ping_pong_liveness, setup, teardown),
        cmocka_unit_test_setup_teardown(pings_are_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(unique_ids_in_range, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_shared_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_hmac_token, setup, teardown),
        cmocka_unit_test_setup_teardown(turn_credentials_with_id, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_configurations, setup, teardown),
        cmocka_unit_test_setup_teardown(shutdown_closes_everyone, setup, teardown),
        cmocka_unit_test_setup_teardown(many_lobbies_and_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(named_lobbies, setup, teardown),
        cmocka_unit_test_setup_teardown(join_rate_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(address_records_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(info_logging_is_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(host_migration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
