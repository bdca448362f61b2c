/*
 * Integration: the RPC layer (Godot 3.2 MultiplayerAPI) end to end over
 * real loopback transports — the WebSocket multiplayer peer (ws and wss)
 * and the ENet peer in Godot 3 format — with a C server and two C clients:
 * rpc_id with every Variant type echoed back, rset answered by an rpc to
 * all, client-to-client calls relayed by the server, rset to all from the
 * master, raw bytes, unreliable calls, and a client leaving.
 * (tests/godot/rpc.sh runs the same conversation against Godot 3.2.3.)
 */
#include "testutil.h"

#include "peermesh/enet.h"
#include "peermesh/rpc.h"
#include "peermesh/websocket.h"
#include "tls_cert.h"
#include "variant_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef enum transport { T_WS, T_WSS, T_ENET } transport;

typedef struct endpoint {
    pm_websocket *ws;
    pm_enet *enet;
    pm_rpc *rpc;
    int32_t id;
    /* What a client saw. */
    bool connected;
    int32_t other; /* the other client, once announced */
    uint8_t echoed[4096];
    size_t echoed_len;
    int value_changed, hello, shared, raw, pongs, left;
} endpoint;

static char cert[64], key[64];

static void quiet(void *ud, pm_log_level l, const char *c, const char *m)
{
    (void)ud, (void)l, (void)c, (void)m;
}
static pm_env quiet_env = {.log = quiet};

static void declare(endpoint *e, bool server)
{
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.env = &quiet_env;
    pm_multiplayer *mp = e->ws ? pm_websocket_multiplayer(e->ws) : pm_enet_multiplayer(e->enet);
    assert_int_equal(pm_rpc_new(&cfg, mp, &e->rpc), PM_OK);
    assert_int_equal(pm_rpc_add_node(e->rpc, "/root/Echo", 1), PM_OK);
    static const char *const server_methods[] = {"echo", "ping"};
    static const char *const client_methods[] = {"echo_reply", "hello", "pong"};
    for (size_t i = 0; server && i < 2; i++)
        pm_rpc_set_method_mode(e->rpc, "Echo", server_methods[i], PM_RPC_MODE_REMOTE);
    for (size_t i = 0; !server && i < 3; i++)
        pm_rpc_set_method_mode(e->rpc, "Echo", client_methods[i], PM_RPC_MODE_REMOTE);
    pm_rpc_set_property_mode(e->rpc, "Echo", "value", PM_RPC_MODE_REMOTE);
    pm_rpc_set_method_mode(e->rpc, "Echo", "value_changed", PM_RPC_MODE_PUPPET);
    pm_rpc_set_property_mode(e->rpc, "Echo", "shared", PM_RPC_MODE_PUPPET);
}

static uint16_t start_server(endpoint *e, transport t)
{
    memset(e, 0, sizeof *e);
    if (t == T_ENET) {
        pm_enet_config cfg;
        pm_enet_config_default(&cfg);
        cfg.env = &quiet_env;
        cfg.bind_ip = "127.0.0.1";
        assert_int_equal(pm_enet_new(&cfg, &e->enet), PM_OK);
        assert_int_equal(pm_enet_create_server(e->enet, 0, 8, 0, 0, 0), PM_OK);
        declare(e, true);
        return pm_enet_get_local_port(e->enet);
    }
    pm_websocket_config cfg;
    pm_websocket_config_default(&cfg);
    cfg.env = &quiet_env;
    cfg.bind_ip = "127.0.0.1";
    if (t == T_WSS) {
        cfg.cert_file = cert;
        cfg.key_file = key;
    }
    assert_int_equal(pm_websocket_new(&cfg, &e->ws), PM_OK);
    assert_int_equal(pm_websocket_create_server(e->ws, 0), PM_OK);
    assert_int_equal(pm_websocket_create_server(e->ws, 0), PM_ERR_STATE);
    declare(e, true);
    return pm_websocket_get_local_port(e->ws);
}

static void start_client(endpoint *e, transport t, uint16_t port)
{
    memset(e, 0, sizeof *e);
    if (t == T_ENET) {
        pm_enet_config cfg;
        pm_enet_config_default(&cfg);
        cfg.env = &quiet_env;
        assert_int_equal(pm_enet_new(&cfg, &e->enet), PM_OK);
        assert_int_equal(pm_enet_create_client(e->enet, "127.0.0.1", port, 0, 0, 0, 0), PM_OK);
    } else {
        pm_websocket_config cfg;
        pm_websocket_config_default(&cfg);
        cfg.env = &quiet_env;
        cfg.allow_self_signed = true;
        assert_int_equal(pm_websocket_new(&cfg, &e->ws), PM_OK);
        char url[64];
        snprintf(url, sizeof url, "%s://127.0.0.1:%u/", t == T_WSS ? "wss" : "ws", port);
        assert_int_equal(pm_websocket_create_client(e->ws, url), PM_OK);
    }
    declare(e, false);
}

static void stop(endpoint *e)
{
    pm_rpc_free(e->rpc);
    pm_websocket_free(e->ws);
    pm_enet_free(e->enet);
    e->rpc = NULL;
    e->ws = NULL;
    e->enet = NULL;
}

/* The server's side of the conversation (what `peermesh rpc serve` does). */
static void serve(endpoint *s, const pm_rpc_event *ev)
{
    if (ev->type == PM_RPC_EVENT_CALL && strcmp(ev->name, "echo") == 0) {
        assert_int_equal(
            pm_rpc_call(s->rpc, "Echo", ev->peer_id, false, "echo_reply", ev->args, ev->argc),
            PM_OK);
    } else if (ev->type == PM_RPC_EVENT_CALL && strcmp(ev->name, "ping") == 0) {
        pm_rpc_call(s->rpc, "Echo", ev->peer_id, true, "pong", ev->args, ev->argc);
    } else if (ev->type == PM_RPC_EVENT_SET && strcmp(ev->name, "value") == 0) {
        pm_variant args[] = {ev->args[0], pm_variant_int(ev->peer_id)};
        assert_int_equal(pm_rpc_call(s->rpc, "Echo", 0, false, "value_changed", args, 2), PM_OK);
    } else if (ev->type == PM_RPC_EVENT_RAW) {
        assert_int_equal(pm_rpc_send_bytes(s->rpc, ev->peer_id, ev->mode, ev->data, ev->len),
                         PM_OK);
    }
}

static void client_event(endpoint *c, const pm_rpc_event *ev)
{
    switch (ev->type) {
    case PM_RPC_EVENT_CONNECTED_TO_SERVER:
        c->connected = true;
        c->id = pm_rpc_get_unique_id(c->rpc);
        break;
    case PM_RPC_EVENT_PEER_CONNECTED:
        if (ev->peer_id != 1)
            c->other = ev->peer_id;
        break;
    case PM_RPC_EVENT_PEER_DISCONNECTED:
        c->left++;
        break;
    case PM_RPC_EVENT_RAW:
        assert_int_equal(ev->len, 3);
        assert_memory_equal(ev->data, "\x00\xff\x01", 3);
        c->raw++;
        break;
    case PM_RPC_EVENT_SET:
        assert_string_equal(ev->name, "shared");
        assert_int_equal(ev->peer_id, 1);
        assert_int_equal(ev->args[0].i, 7);
        c->shared++;
        break;
    case PM_RPC_EVENT_CALL: {
        if (strcmp(ev->name, "echo_reply") == 0) {
            pm_variant all = pm_variant_array(ev->args, ev->argc);
            assert_int_equal(pm_variant_encode(&all, c->echoed, sizeof c->echoed, &c->echoed_len),
                             PM_OK);
        } else if (strcmp(ev->name, "value_changed") == 0) {
            assert_int_equal(ev->argc, 2);
            assert_int_equal(ev->args[0].i, 5);
            c->value_changed++;
        } else if (strcmp(ev->name, "hello") == 0) {
            assert_string_equal(ev->args[0].s.ptr, "hi");
            c->hello++;
        } else if (strcmp(ev->name, "pong") == 0) {
            c->pongs++;
        }
        break;
    }
    default:
        break;
    }
}

/* Drive everything for a while, or until `done` says so. */
static bool run(endpoint *s, endpoint *c, size_t nc, bool (*done)(endpoint *, size_t))
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pm_rpc_event ev;
        if (s->rpc) {
            pm_rpc_poll(s->rpc);
            while (pm_rpc_next_event(s->rpc, &ev))
                serve(s, &ev);
        }
        for (size_t i = 0; i < nc; i++) {
            if (!c[i].rpc)
                continue;
            pm_rpc_poll(c[i].rpc);
            while (pm_rpc_next_event(c[i].rpc, &ev))
                client_event(&c[i], &ev);
        }
        if (done(c, nc))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > 10000)
            return false;
        usleep(500);
    }
}

static bool all_connected(endpoint *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!c[i].connected || !c[i].other)
            return false;
    return true;
}
static bool echoed(endpoint *c, size_t n)
{
    (void)n;
    return c[0].echoed_len > 0;
}
static bool conversation_done(endpoint *c, size_t n)
{
    (void)n;
    return c[0].value_changed && c[1].value_changed && c[1].hello && c[1].raw && c[0].shared &&
           c[1].shared && c[0].pongs;
}
static bool other_left(endpoint *c, size_t n)
{
    (void)n;
    return c[0].left == 1;
}

static void conversation(transport t)
{
    endpoint s, c[2];
    uint16_t port = start_server(&s, t);
    assert_true(port > 0);
    for (int i = 0; i < 2; i++)
        start_client(&c[i], t, port);
    assert_true(run(&s, c, 2, all_connected));
    assert_int_equal(c[0].other, c[1].id);
    assert_int_equal(c[1].other, c[0].id);
    assert_int_equal(pm_rpc_get_connected_peers(s.rpc, NULL, 0), 2);

    /* rpc_id(1, "echo", every type...) comes back as echo_reply with the same values. */
    pm_variant args[PM_TEST_VARIANT_SAMPLES];
    size_t n = pm_test_variant_samples(args);
    assert_int_equal(pm_rpc_call(c[0].rpc, "/root/Echo", 1, false, "echo", args, n), PM_OK);
    assert_true(run(&s, c, 2, echoed));
    pm_variant all = pm_variant_array(args, n);
    uint8_t want[4096];
    size_t want_len;
    assert_int_equal(pm_variant_encode(&all, want, sizeof want, &want_len), PM_OK);
    assert_int_equal(c[0].echoed_len, want_len);
    assert_memory_equal(c[0].echoed, want, want_len);

    /* rset -> rpc to all; client to client through the server; raw; rset to all; unreliable. */
    pm_variant five = pm_variant_int(5), hi = pm_variant_string("hi");
    assert_int_equal(pm_rpc_set(c[0].rpc, "Echo", 1, false, "value", &five), PM_OK);
    assert_int_equal(pm_rpc_call(c[0].rpc, "Echo", c[0].other, false, "hello", &hi, 1), PM_OK);
    assert_int_equal(
        pm_rpc_send_bytes(c[1].rpc, 1, PM_MP_TRANSFER_RELIABLE, (const uint8_t *)"\x00\xff\x01", 3),
        PM_OK);
    pm_variant seven = pm_variant_int(7);
    assert_int_equal(pm_rpc_set(s.rpc, "Echo", 0, false, "shared", &seven), PM_OK);
    for (int i = 0; i < 5; i++) {
        pm_variant k = pm_variant_int(i);
        assert_int_equal(pm_rpc_call(c[0].rpc, "Echo", 1, true, "ping", &k, 1), PM_OK);
    }
    assert_true(run(&s, c, 2, conversation_done));
    assert_int_equal(c[0].hello, 0);

    /* One client leaves: the other hears it, the server forgets it. */
    stop(&c[1]);
    assert_true(run(&s, c, 1, other_left));
    assert_int_equal(pm_rpc_get_connected_peers(c[0].rpc, NULL, 0), 1);
    pm_rpc_stats st;
    pm_rpc_get_stats(s.rpc, &st);
    assert_int_equal(st.dropped_malformed + st.dropped_mode + st.dropped_unknown_cache, 0);
    assert_true(st.calls_received >= 2);
    stop(&c[0]);
    stop(&s);
}

static void over_websocket(void **st)
{
    (void)st;
    conversation(T_WS);
}

static void over_secure_websocket(void **st)
{
    (void)st;
    conversation(T_WSS);
}

static void over_enet(void **st)
{
    (void)st;
    conversation(T_ENET);
}

static void websocket_refuses_and_fails(void **st)
{
    (void)st;
    endpoint s, c[1];
    uint16_t port = start_server(&s, T_WS);
    pm_mp_set_refuse_new_connections(pm_websocket_multiplayer(s.ws), true);
    start_client(&c[0], T_WS, port);
    pm_rpc_event ev;
    bool failed = false;
    for (int i = 0; i < 4000 && !failed; i++) {
        pm_rpc_poll(s.rpc);
        while (pm_rpc_next_event(s.rpc, &ev))
            fail_msg("a refused client made a server event");
        pm_rpc_poll(c[0].rpc);
        while (pm_rpc_next_event(c[0].rpc, &ev))
            failed = ev.type == PM_RPC_EVENT_CONNECTION_FAILED;
        usleep(500);
    }
    assert_true(failed);
    pm_websocket_stats ws;
    pm_websocket_get_stats(s.ws, &ws);
    assert_int_equal(ws.refused, 1);
    stop(&c[0]);
    stop(&s);
    /* Nobody listening, and bad URLs. */
    pm_websocket *w;
    assert_int_equal(pm_websocket_new(NULL, &w), PM_OK);
    assert_int_equal(pm_websocket_create_client(w, "http://127.0.0.1:1/"), PM_ERR_INVALID);
    assert_int_equal(pm_websocket_wait(w, 0), PM_ERR_STATE);
    pm_websocket_free(w);
}

static int setup(void **st)
{
    (void)st;
    snprintf(cert, sizeof cert, "/tmp/pm-rpc-cert-%d.pem", (int)getpid());
    snprintf(key, sizeof key, "/tmp/pm-rpc-key-%d.pem", (int)getpid());
    return pm_test_write_self_signed(cert, key) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    unlink(cert);
    unlink(key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(over_websocket),
        cmocka_unit_test(over_secure_websocket),
        cmocka_unit_test(over_enet),
        cmocka_unit_test(websocket_refuses_and_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
