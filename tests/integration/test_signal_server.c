/*
 * Integration: the signaling server on 127.0.0.1 with real WebSocket
 * clients, on the real clock.
 *
 *  - raw clients (src/io/ws.c) speaking both protocols: join, relay,
 *    errors with their close codes, a too-big message, /healthz, /metrics;
 *  - eight pm_signal_clients forming a full WebRTC mesh through it,
 *    exchanging a message on every link, then the seal: signaling closes
 *    with 1000 and the mesh lives on;
 *  - a client that vanishes without closing (it stops answering pings) is
 *    detected and announced to the others;
 *  - wss with a self-signed certificate; the client in client/server mode;
 *  - four clients building an ENet mesh through it (the ENet transport:
 *    addresses exchanged, holes punched, ENet connected), which outlives
 *    the seal and the server; an ENet client whose peer sends no address
 *    reports the link failed with the reason.
 */
#include "sigtest.h"
#include "tls_cert.h"

#include "io/ws.h"
#include "peermesh/signaling.h"
#include "wire/signal_msg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEADLINE PM_SEC(10)

static pm_signal_server *start_server(pm_signal_server_config *cfg)
{
    cfg->bind_address = "127.0.0.1";
    cfg->port = 0;
    pm_signal_server *srv = NULL;
    assert_int_equal(pm_signal_server_new(cfg, &srv), PM_OK);
    assert_true(pm_signal_server_port(srv) > 0);
    return srv;
}

static void url_of(const pm_signal_server *srv, const char *scheme, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s://127.0.0.1:%u/", scheme, (unsigned)pm_signal_server_port(srv));
}

/* ---- raw WebSocket test clients (tests/support/sigtest.h) ---- */

typedef st_client rawc;

/* Drive the server and the raw clients until cond() or the deadline. */
static bool pump_raw(pm_signal_server *srv, rawc **rs, size_t n, st_cond cond, void *ud,
                     pm_time limit)
{
    st_world w = {.nsrv = 1, .ncl = n};
    w.srv[0] = srv;
    for (size_t i = 0; i < n && i < PM_ARRAY_LEN(w.cl); i++)
        w.cl[i] = rs[i];
    return st_pump_until(&w, cond, ud, limit);
}

static bool is_open(void *ud)
{
    return ((rawc *)ud)->open;
}
static bool is_closed(void *ud)
{
    return ((rawc *)ud)->closed;
}

typedef struct want_msgs {
    rawc *r;
    int n;
} want_msgs;

static bool has_msgs(void *ud)
{
    want_msgs *w = ud;
    return w->r->nmsg >= w->n;
}

static bool size_rejected(void *ud)
{
    pm_signal_server_stats st;
    pm_signal_server_get_stats(ud, &st);
    return st.rejected_size == 1;
}

static void wait_msgs(pm_signal_server *srv, rawc **rs, size_t n, rawc *r, int count)
{
    want_msgs w = {r, count};
    if (!pump_raw(srv, rs, n, has_msgs, &w, DEADLINE))
        fail_msg("waited for %d messages, got %d", count, r->nmsg);
}

static void wait_closed(pm_signal_server *srv, rawc **rs, size_t n, rawc *r)
{
    if (!pump_raw(srv, rs, n, is_closed, r, DEADLINE))
        fail_msg("connection not closed");
}

/* A plain HTTP GET on the server's port. */
static int http_get(pm_signal_server *srv, const char *path, char *body, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(pm_signal_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    pm_time end = pm_now() + DEADLINE;
    for (;;) {
        pm_signal_server_poll(srv, 1);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            ssize_t k = read(fd, body + got, cap - 1 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        assert_true(pm_now() < end);
    }
    close(fd);
    body[got] = 0;
    int status = 0;
    sscanf(body, "HTTP/1.1 %d", &status);
    return status;
}

static void raw_protocols(void **st)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.max_message_size = 4096;
    pm_signal_server *srv = start_server(&cfg);
    char url[64];
    url_of(srv, "ws", url, sizeof url);
    rawc a, b, t;
    rawc *all[] = {&a, &b, &t};
    st_client_connect(&a, url);
    st_client_connect(&b, url);
    st_client_connect(&t, url);
    assert_true(pump_raw(srv, all, 3, is_open, &t, DEADLINE));

    st_client_send(&a, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    wait_msgs(srv, all, 3, &a, 2);
    assert_string_equal(a.msg[0], "{\"type\":1,\"id\":1,\"data\":\"true\"}");
    pm_envr env;
    pm_test_envr(&env, 1);
    pm_buf scratch = {0};
    pm_sigmsg m;
    assert_int_equal(
        pm_sigmsg_decode_json(&env, (uint8_t *)a.msg[1], strlen(a.msg[1]), &scratch, &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_JOIN);
    char lobby[32];
    snprintf(lobby, sizeof lobby, "%.*s", (int)m.data_len, m.data);
    assert_int_equal(strlen(lobby), 16);

    /* A 3.x text client joins the same lobby. */
    char msg[256];
    snprintf(msg, sizeof msg, "J: %s\n", lobby);
    st_client_send(&t, msg);
    wait_msgs(srv, all, 3, &t, 3);
    int tid = 0;
    assert_int_equal(sscanf(t.msg[0], "I: %d", &tid), 1);
    assert_true(tid >= 2);
    assert_string_equal(t.msg[1], "N: 1\n");
    wait_msgs(srv, all, 3, &a, 3);
    snprintf(msg, sizeof msg, "{\"type\":2,\"id\":%d,\"data\":\"\"}", tid);
    assert_string_equal(a.msg[2], msg);

    /* Relay both ways, translated between formats. */
    st_client_send(&t, "O: 1\nv=0 from text");
    wait_msgs(srv, all, 3, &a, 4);
    snprintf(msg, sizeof msg, "{\"type\":4,\"id\":%d,\"data\":\"v=0 from text\"}", tid);
    assert_string_equal(a.msg[3], msg);
    snprintf(msg, sizeof msg, "{\"type\":5,\"id\":%d,\"data\":\"v=0 from json\"}", tid);
    st_client_send(&a, msg);
    wait_msgs(srv, all, 3, &t, 4);
    assert_string_equal(t.msg[3], "A: 1\nv=0 from json");

    /* b: a message over the size limit: 1009. */
    char *big = calloc(1, 5000);
    memset(big, 'x', 4999);
    st_client_send(&b, big);
    free(big);
    wait_closed(srv, all, 3, &b);
    assert_int_equal(b.code, PM_SIGNAL_CLOSE_TOO_BIG);
    st_client_free(&b);
    /* The server counts it once its side of the connection is gone (the
     * close frame goes first, the socket a moment later). */
    assert_true(pump_raw(srv, all, 0, size_rejected, srv, DEADLINE));

    /* /healthz and /metrics on the same port. */
    char body[8192];
    assert_int_equal(http_get(srv, "/healthz", body, sizeof body), 200);
    assert_non_null(strstr(body, "\r\n\r\nok\n"));
    assert_int_equal(http_get(srv, "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "peermesh_signal_lobbies 1\n"));
    assert_non_null(strstr(body, "peermesh_signal_lobby_peers 2\n"));
    assert_non_null(strstr(body, "peermesh_signal_messages_relayed_total{type=\"offer\"} 1\n"));
    assert_non_null(strstr(body, "peermesh_signal_rejections_total{reason=\"size\"} 1\n"));
    assert_int_equal(http_get(srv, "/nope", body, sizeof body), 404);

    /* Binary frames: 4000 with the demo's reason; the text peer is told. */
    assert_int_equal(pm_ws_send(t.ws, t.conn, "J: \n", 4, true), PM_OK);
    wait_closed(srv, all, 3, &t);
    assert_int_equal(t.code, PM_SIGNAL_CLOSE_PROTOCOL);
    assert_string_equal(t.reason, "Invalid transfer mode, must be text");
    wait_msgs(srv, all, 3, &a, 5);
    snprintf(msg, sizeof msg, "{\"type\":3,\"id\":%d,\"data\":\"\"}", tid);
    assert_string_equal(a.msg[4], msg);

    /* Shutdown: 1001 for everyone, then poll says closed. */
    pm_signal_server_shutdown(srv);
    wait_closed(srv, all, 3, &a);
    assert_int_equal(a.code, PM_SIGNAL_CLOSE_GOING_AWAY);
    assert_string_equal(a.reason, "Server shutting down");
    pm_time end = pm_now() + DEADLINE;
    int rc = PM_OK;
    while (rc == PM_OK && pm_now() < end)
        rc = pm_signal_server_poll(srv, 1);
    assert_int_equal(rc, PM_ERR_CLOSED);
    st_client_free(&a);
    st_client_free(&t);
    pm_buf_free(&env, &scratch);
    pm_signal_server_free(srv);
}

static void vanished_client_is_announced(void **st)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.ping_interval = PM_MS(300);
    pm_signal_server *srv = start_server(&cfg);
    char url[64];
    url_of(srv, "ws", url, sizeof url);
    rawc a, b, v;
    rawc *all[] = {&a, &b, &v};
    st_client_connect(&a, url);
    st_client_connect(&b, url);
    st_client_connect(&v, url);
    assert_true(pump_raw(srv, all, 3, is_open, &v, DEADLINE));
    assert_true(pump_raw(srv, all, 3, is_open, &b, DEADLINE));
    st_client_send(&a, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    wait_msgs(srv, all, 3, &a, 2);
    char lobby[32], msg[128];
    assert_int_equal(sscanf(a.msg[1], "{\"type\":0,\"id\":0,\"data\":\"%16s", lobby), 1);
    snprintf(msg, sizeof msg, "{\"type\":0,\"id\":0,\"data\":\"%s\"}", lobby);
    st_client_send(&b, msg);
    st_client_send(&v, msg);
    wait_msgs(srv, all, 3, &v, 4);
    int vid = 0;
    assert_int_equal(sscanf(v.msg[0], "{\"type\":1,\"id\":%d", &vid), 1);
    wait_msgs(srv, all, 3, &a, 4);
    /* Pings come and are answered for a while: nobody is dropped. */
    pm_time t0 = pm_now();
    rawc *live[] = {&a, &b, &v};
    want_msgs never = {&a, 100};
    pump_raw(srv, live, 3, has_msgs, &never, PM_MS(800));
    assert_int_equal(a.nmsg, 4);
    /* v vanishes: its process stops (no close, no pong); the TCP
     * connection stays up. */
    rawc *others[] = {&a, &b};
    wait_msgs(srv, others, 2, &a, 5);
    pm_time detected = pm_now();
    snprintf(msg, sizeof msg, "{\"type\":3,\"id\":%d,\"data\":\"\"}", vid);
    assert_string_equal(a.msg[4], msg);
    /* b: ID, PEER_CONNECT(1), JOIN, PEER_CONNECT(v), then this. */
    wait_msgs(srv, others, 2, &b, 5);
    assert_string_equal(b.msg[4], msg);
    /* Within two ping periods of vanishing. */
    assert_true(detected - t0 <=
                PM_MS(800) + PM_SEC(3)); /* ~2 ping periods; slack for slow machines */
    pm_signal_server_stats s;
    pm_signal_server_get_stats(srv, &s);
    assert_int_equal(s.ping_timeouts, 1);
    st_client_free(&a);
    st_client_free(&b);
    st_client_free(&v);
    pm_signal_server_free(srv);
}

/* ---- a mesh of pm_signal_clients ---- */

static void run_mesh(pm_signal_protocol proto, int peers, pm_signal_transport transport)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.seal_delay = PM_MS(300);
    st_mesh m;
    memset(&m, 0, sizeof m);
    m.transport = transport;
    st_world w = {.nsrv = 1, .extra = st_mesh_pump, .extra_ud = &m};
    w.srv[0] = start_server(&cfg);
    char url[64];
    url_of(w.srv[0], "ws", url, sizeof url);
    st_mesh_add(&m, url, NULL, proto);
    assert_true(st_pump_until(&w, st_mesh_lobby_known, &m, DEADLINE));
    assert_int_equal(pm_signal_client_id(m.c[0]), 1);
    for (int i = 1; i < peers; i++)
        st_mesh_add(&m, url, m.lobby, proto);
    pm_time t0 = pm_now();
    /* A bound on a hang, not a speed goal (bench mesh measures that): ASan on a
     * loaded 2-core machine needs far more than the ~1 s this takes idle. */
    if (!st_pump_until(&w, st_mesh_full, &m, PM_SEC(60))) {
        for (int i = 0; i < m.n; i++)
            fprintf(stderr, "client %d (id %d): %d connected\n", i,
                    (int)pm_signal_client_id(m.c[i]), m.connected[i]);
        fail_msg("no full mesh");
    }
    fprintf(stderr, "full %s mesh of %d in %.1f ms\n",
            transport == PM_SIGNAL_TRANSPORT_ENET ? "ENet" : "WebRTC", peers,
            (double)(pm_now() - t0) / 1000.0);
    for (int i = 0; i < m.n; i++) {
        assert_int_equal(m.failed[i], 0);
        assert_int_equal(m.connected[i], peers - 1);
        if (transport == PM_SIGNAL_TRANSPORT_ENET) {
            assert_non_null(pm_signal_client_enet(m.c[i]));
            assert_null(pm_signal_client_mesh(m.c[i]));
        }
        assert_int_equal(pm_signal_client_state(m.c[i]), PM_SIGNAL_JOINED);
        assert_string_equal(pm_signal_client_lobby(m.c[i]), m.lobby);
        assert_true(pm_signal_client_is_mesh_lobby(m.c[i]));
        for (int k = 0; k < i; k++)
            assert_int_not_equal(pm_signal_client_id(m.c[i]), pm_signal_client_id(m.c[k]));
    }
    st_mesh_send_everywhere(&m);
    assert_true(st_pump_until(&w, st_mesh_all_got, &m, DEADLINE));

    /* Only the host can seal. */
    assert_int_equal(pm_signal_client_seal(m.c[1]), PM_ERR_STATE);
    assert_int_equal(pm_signal_client_seal(m.c[0]), PM_OK);
    assert_true(st_pump_until(&w, st_mesh_all_closed, &m, DEADLINE));
    for (int i = 0; i < m.n; i++) {
        assert_true(m.sealed[i]);
        assert_int_equal(m.close_code[i], PM_SIGNAL_CLOSE_NORMAL);
        assert_int_equal(pm_signal_client_state(m.c[i]), PM_SIGNAL_CLOSED);
    }
    /* The server goes away; the mesh lives on. */
    pm_signal_server_free(w.srv[0]);
    w.nsrv = 0;
    st_mesh_send_everywhere(&m);
    assert_true(st_pump_until(&w, st_mesh_all_got, &m, DEADLINE));
    assert_true(st_mesh_full(&m));
    for (int i = 0; i < m.n; i++)
        assert_int_equal(pm_signal_client_poll(m.c[i]), PM_OK);
    st_mesh_free_all(&m);
}

static void mesh_of_eight_json(void **st)
{
    run_mesh(PM_SIGNAL_PROTOCOL_JSON, 8, PM_SIGNAL_TRANSPORT_WEBRTC);
}

static void mesh_of_four_text(void **st)
{
    /* 3.x: server compatibility, the lower id offers. Four keeps it short. */
    run_mesh(PM_SIGNAL_PROTOCOL_TEXT, 4, PM_SIGNAL_TRANSPORT_WEBRTC);
}

static void enet_mesh_of_four(void **st)
{
    run_mesh(PM_SIGNAL_PROTOCOL_JSON, 4, PM_SIGNAL_TRANSPORT_ENET);
}

static bool host_failed(void *ud)
{
    return ((st_mesh *)ud)->failed[0] > 0;
}

/* An ENet host whose peer is a WebRTC client: no address ever comes, and
 * the link is reported failed (punch_timeout 500 ms) with why. */
static void enet_link_failure_is_reported(void **st)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    st_mesh m;
    memset(&m, 0, sizeof m);
    st_world w = {.nsrv = 1, .extra = st_mesh_pump, .extra_ud = &m};
    w.srv[0] = start_server(&cfg);
    char url[64];
    url_of(w.srv[0], "ws", url, sizeof url);
    m.transport = PM_SIGNAL_TRANSPORT_ENET;
    st_mesh_add(&m, url, NULL, PM_SIGNAL_PROTOCOL_JSON);
    assert_true(st_pump_until(&w, st_mesh_lobby_known, &m, DEADLINE));
    m.transport = PM_SIGNAL_TRANSPORT_WEBRTC;
    st_mesh_add(&m, url, m.lobby, PM_SIGNAL_PROTOCOL_JSON);
    assert_true(st_pump_until(&w, host_failed, &m, DEADLINE));
    fprintf(stderr, "reason: %s\n", m.failure[0]);
    char want[96];
    snprintf(want, sizeof want, "peer %d sent no address in 0.5 s",
             (int)pm_signal_client_id(m.c[1]));
    assert_non_null(strstr(m.failure[0], want));
    assert_int_equal(m.connected[0], 0);
    st_mesh_free_all(&m);
    pm_signal_server_free(w.srv[0]);
}

/* ---- client/server lobby, host leaving ---- */

static bool cs_ready(void *ud)
{
    st_mesh *m = ud;
    return m->connected[0] == 2 && m->connected[1] == 1 && m->connected[2] == 1;
}

static void client_server_and_host_leaves(void **st)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    st_mesh m;
    memset(&m, 0, sizeof m);
    st_world w = {.nsrv = 1, .extra = st_mesh_pump, .extra_ud = &m};
    w.srv[0] = start_server(&cfg);
    char url[64];
    url_of(w.srv[0], "ws", url, sizeof url);
    st_mesh_add_cs(&m, url, NULL);
    assert_true(st_pump_until(&w, st_mesh_lobby_known, &m, DEADLINE));
    assert_false(pm_signal_client_is_mesh_lobby(m.c[0]));
    st_mesh_add_cs(&m, url, m.lobby);
    st_mesh_add_cs(&m, url, m.lobby);
    assert_true(st_pump_until(&w, cs_ready, &m, DEADLINE));
    assert_true(pm_mp_is_server(pm_signal_client_multiplayer(m.c[0])));
    for (int i = 1; i < 3; i++) {
        pm_multiplayer *mp = pm_signal_client_multiplayer(m.c[i]);
        assert_int_equal(pm_mp_get_connection_status(mp), PM_MP_CONNECTED);
        assert_false(pm_signal_client_is_mesh_lobby(m.c[i]));
        /* A client knows only the server. */
        assert_int_equal(pm_mesh_get_peers(pm_signal_client_mesh(m.c[i]), NULL, 0), 1);
        assert_true(pm_mesh_has_peer(pm_signal_client_mesh(m.c[i]), 1));
    }
    /* The host leaves without sealing: the clients' signaling is closed
     * with 4000 and, as the demo clients do, their meshes too. */
    st_mesh_drop(&m, 0);
    assert_true(st_pump_until(&w, st_mesh_all_closed, &m, DEADLINE));
    for (int i = 1; i < 3; i++) {
        assert_int_equal(m.close_code[i], PM_SIGNAL_CLOSE_PROTOCOL);
        assert_string_equal(m.reason[i], "Room host has disconnected");
        assert_int_equal(pm_mp_get_connection_status(pm_signal_client_multiplayer(m.c[i])),
                         PM_MP_DISCONNECTED);
        assert_int_equal(pm_signal_client_poll(m.c[i]), PM_ERR_CLOSED);
    }
    st_mesh_free_all(&m);
    pm_signal_server_free(w.srv[0]);
}

/* ---- the transport under back-pressure ---- */

typedef struct bp_side {
    pm_ws *ws;
    uint64_t conn;
    bool open;
    int got;     /* messages received in order */
    bool broken; /* one came out of order or corrupted */
} bp_side;

static void bp_fill(uint8_t *buf, size_t len, int seq)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 31 + (int)i * 7);
}

static void bp_open(void *ud, uint64_t conn, const pm_addr *a, const char *t)
{
    bp_side *s = ud;
    s->conn = conn;
    s->open = true;
}

static void bp_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    bp_side *s = ud;
    static uint8_t expect[70000];
    size_t want = s->ws && binary ? 60000 : 1000;
    bp_fill(expect, len, s->got);
    if (len != want || memcmp(data, expect, len) != 0)
        s->broken = true;
    s->got++;
}

static void bp_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    ((bp_side *)ud)->open = false;
}

/* Frames that the kernel takes only in part (sent straight to the socket,
 * the rest queued) must arrive whole and in order, both ways: 200 messages
 * of 60000 bytes from the server while the client does not read, 2000 of
 * 1000 bytes from the client while the server does not read. */
static void transport_backpressure(void **st)
{
    bp_side srv = {0}, cli = {0};
    pm_ws_handler hs = {
        .ud = &srv, .on_open = bp_open, .on_message = bp_message, .on_closed = bp_closed};
    pm_ws_handler hc = {
        .ud = &cli, .on_open = bp_open, .on_message = bp_message, .on_closed = bp_closed};
    pm_ws_config sc = {.listen = true,
                       .bind_address = "127.0.0.1",
                       .max_message = 1 << 20,
                       .max_queued = 64u << 20};
    pm_ws_config cc = {.max_message = 1 << 20, .max_queued = 64u << 20};
    assert_int_equal(pm_ws_new(&sc, &hs, &srv.ws), PM_OK);
    assert_int_equal(pm_ws_new(&cc, &hc, &cli.ws), PM_OK);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)pm_ws_port(srv.ws));
    uint64_t id;
    assert_int_equal(pm_ws_connect(cli.ws, url, &id), PM_OK);
    pm_time end = pm_now() + DEADLINE;
    while (!(srv.open && cli.open) && pm_now() < end) {
        pm_ws_service(srv.ws, 1);
        pm_ws_service(cli.ws, 0);
    }
    assert_true(srv.open && cli.open);
    static uint8_t big[60000], small[1000];
    for (int i = 0; i < 200; i++) {
        bp_fill(big, sizeof big, i);
        assert_int_equal(pm_ws_send(srv.ws, srv.conn, big, sizeof big, true), PM_OK);
    }
    for (int i = 0; i < 2000; i++) {
        bp_fill(small, sizeof small, i);
        assert_int_equal(pm_ws_send(cli.ws, cli.conn, small, sizeof small, false), PM_OK);
    }
    /* Now both read and write until everything is through. */
    end = pm_now() + DEADLINE;
    while ((cli.got < 200 || srv.got < 2000) && pm_now() < end && !cli.broken && !srv.broken) {
        pm_ws_service(srv.ws, 0);
        pm_ws_service(cli.ws, 0);
    }
    assert_false(cli.broken);
    assert_false(srv.broken);
    assert_int_equal(cli.got, 200);
    assert_int_equal(srv.got, 2000);
    pm_ws_free(cli.ws);
    pm_ws_free(srv.ws);
}

/* ---- wss ---- */

static void wss_with_self_signed_certificate(void **st)
{
    char dir[] = "/tmp/pm-signal-wss-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    assert_true(pm_test_write_self_signed(cert, key));
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.cert_file = cert;
    cfg.key_file = key;
    pm_signal_server *srv = start_server(&cfg);
    char url[64];
    url_of(srv, "wss", url, sizeof url);
    rawc a;
    rawc *all[] = {&a};
    st_client_connect(&a, url);
    st_client_send(&a, "J: \n");
    wait_msgs(srv, all, 1, &a, 2);
    assert_string_equal(a.msg[0], "I: 1\n");
    st_client_free(&a);
    pm_signal_server_free(srv);
    /* A missing key file: the server does not start. */
    cfg.key_file = "/nonexistent/key.pem";
    pm_signal_server *bad = NULL;
    assert_int_not_equal(pm_signal_server_new(&cfg, &bad), PM_OK);
    assert_null(bad);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_protocols),
        cmocka_unit_test(vanished_client_is_announced),
        cmocka_unit_test(mesh_of_eight_json),
        cmocka_unit_test(mesh_of_four_text),
        cmocka_unit_test(enet_mesh_of_four),
        cmocka_unit_test(enet_link_failure_is_reported),
        cmocka_unit_test(client_server_and_host_leaves),
        cmocka_unit_test(transport_backpressure),
        cmocka_unit_test(wss_with_self_signed_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
