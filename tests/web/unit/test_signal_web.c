/*
 * The signaling client in the WebAssembly build (src/web/signal_client_web.c:
 * the same client core and mesh as natively, on the browser's WebSocket),
 * under Node.js on fake_browser.js: two clients of one page meet through a
 * fake 4.x signaling server and build a mesh of fake RTCPeerConnections;
 * the ICE servers the server hands out reach the browser's configuration
 * (through the JSON.parse adapter); packets both ways; our close keeps the
 * mesh; the server's close code and reason arrive, and without a seal the
 * mesh goes; a connect timeout aborts; bad URLs are refused.
 */
#include "check.h"
#include "peermesh/signaling.h"

#include <emscripten.h>
#include <stdio.h>
#include <string.h>

/* clang-format would split JavaScript operators (=> ===): kept as written. */
// clang-format off
EM_JS(void, fake_server, (int on, int with_ice), {
    fake.server.enabled = !!on;
    fake.server.iceServers = with_ice ? [ { urls: [ "stun:127.0.0.1:3478" ] } ] : null;
});
EM_JS(int, fake_socket_count, (void), { return fake.sockets.length; });
/* The close() the page made on socket i: its code, 0 for none yet, -1 for close() without one. */
EM_JS(int, fake_socket_close_code, (int i), {
    const c = fake.sockets[i].closeCall;
    return c ? (c.code == null ? -1 : c.code) : 0;
});
EM_JS(void, fake_socket_server_close, (int i, int code, const char *reason), {
    fake.sockets[i].serverClose(code, UTF8ToString(reason));
});
EM_JS(int, fake_socket_sent_json_type, (int i, int n), {
    const s = fake.sockets[i].sent[n];
    return s ? JSON.parse(s).type : -1;
});
/* Does the last fake RTCPeerConnection have `url` among its iceServers? */
EM_JS(int, fake_last_pc_has_ice_url, (const char *url), {
    const pc = fake.pcs[fake.pcs.length - 1];
    return JSON.stringify(pc.config.iceServers).indexOf(UTF8ToString(url)) >= 0 ? 1 : 0;
});
// clang-format on

typedef struct player {
    pm_signal_client *c;
    int events[16];
    int close_code;
    char reason[64];
    char lobby[80];
    int ice_count;
    int mp_connected;
    int32_t last_from;
    char last_packet[32];
} player;

static void drain(player *p)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(p->c, &ev)) {
        p->events[ev.type]++;
        if (ev.type == PM_SIGNAL_EVENT_CLOSED) {
            p->close_code = ev.close_code;
            snprintf(p->reason, sizeof p->reason, "%s", ev.reason);
        } else if (ev.type == PM_SIGNAL_EVENT_JOINED) {
            snprintf(p->lobby, sizeof p->lobby, "%s", ev.lobby);
        } else if (ev.type == PM_SIGNAL_EVENT_ICE_SERVERS) {
            p->ice_count = ev.peer_id;
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(p->c);
    pm_mp_event mev;
    while (mp && pm_mp_next_event(mp, &mev))
        p->mp_connected += mev.type == PM_MP_EVENT_PEER_CONNECTED      ? 1
                           : mev.type == PM_MP_EVENT_PEER_DISCONNECTED ? -1
                                                                       : 0;
    pm_mp_packet pkt;
    while (mp && pm_mp_get_packet(mp, &pkt) == PM_OK) {
        p->last_from = pkt.from;
        snprintf(p->last_packet, sizeof p->last_packet, "%.*s", (int)pkt.len,
                 (const char *)pkt.data);
    }
}

typedef struct two {
    player *a, *b;
} two;

static void poll_two(void *ud)
{
    two *t = ud;
    player *ps[2] = {t->a, t->b};
    for (int i = 0; i < 2; i++)
        if (ps[i] && ps[i]->c) {
            pm_signal_client_poll(ps[i]->c);
            drain(ps[i]);
        }
}

static bool a_joined(void *ud)
{
    return ((two *)ud)->a->lobby[0] != 0;
}

static bool both_connected(void *ud)
{
    two *t = ud;
    return t->a->mp_connected == 1 && t->b->mp_connected == 1;
}

static bool b_got_packet(void *ud)
{
    return ((two *)ud)->b->last_packet[0] != 0;
}

static bool a_got_packet(void *ud)
{
    return ((two *)ud)->a->last_packet[0] != 0;
}

static bool b_lost_a(void *ud)
{
    two *t = ud;
    return t->b->events[PM_SIGNAL_EVENT_PEER_LEFT] == 1 && t->b->mp_connected == 0;
}

static bool b_closed(void *ud)
{
    return ((two *)ud)->b->events[PM_SIGNAL_EVENT_CLOSED] > 0;
}

static bool a_closed(void *ud)
{
    return ((two *)ud)->a->events[PM_SIGNAL_EVENT_CLOSED] > 0;
}

static int send_packet(player *p, pm_mp_transfer_mode mode, const char *text)
{
    pm_multiplayer *mp = pm_signal_client_multiplayer(p->c);
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    pm_mp_set_transfer_mode(mp, mode);
    return pm_mp_put_packet(mp, (const uint8_t *)text, strlen(text));
}

static void test_bad_urls(void)
{
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    pm_signal_client *c = (pm_signal_client *)1;
    cfg.url = "http://127.0.0.1:9/";
    CHECK_EQ(pm_signal_client_new(&cfg, &c), PM_ERR_INVALID);
    CHECK(c == NULL);
    int before = fake_socket_count();
    cfg.url = "ws://"; /* the browser's WebSocket refuses it */
    CHECK_EQ(pm_signal_client_new(&cfg, &c), PM_ERR_INVALID);
    CHECK_EQ(fake_socket_count(), before);
    cfg.url = NULL;
    CHECK_EQ(pm_signal_client_new(&cfg, &c), PM_ERR_INVALID);
}

static void test_mesh_through_the_server(void)
{
    fake_server(1, 1);
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = "ws://127.0.0.1:9/";
    player a = {0}, b = {0};
    two t = {&a, &b};
    int sock_a = fake_socket_count();
    CHECK_EQ(pm_signal_client_new(&cfg, &a.c), PM_OK);
    CHECK_EQ(pm_signal_client_state(a.c), PM_SIGNAL_CONNECTING);
    CHECK_EQ(pm_signal_client_fd(a.c), PM_ERR_UNSUPPORTED); /* a page has no descriptors */
    CHECK(pm_signal_client_multiplayer(a.c) == NULL);
    CHECK(wait_until(poll_two, a_joined, &t, 2000));
    CHECK_EQ(fake_socket_sent_json_type(sock_a, 0), 0); /* JOIN first */
    CHECK_EQ(pm_signal_client_id(a.c), 1);
    CHECK_EQ(pm_signal_client_state(a.c), PM_SIGNAL_JOINED);
    CHECK(pm_signal_client_is_mesh_lobby(a.c));
    CHECK_EQ(strcmp(pm_signal_client_lobby(a.c), a.lobby), 0);
    CHECK_EQ(a.events[PM_SIGNAL_EVENT_OPEN], 1);
    CHECK_EQ(a.events[PM_SIGNAL_EVENT_ID], 1);
    CHECK_EQ(a.ice_count, 1); /* the ID message's ice_servers, through JSON.parse */

    cfg.lobby = a.lobby;
    int sock_b = fake_socket_count();
    CHECK_EQ(pm_signal_client_new(&cfg, &b.c), PM_OK);
    CHECK(wait_until(poll_two, both_connected, &t, 3000));
    CHECK(pm_signal_client_id(b.c) > 1);
    CHECK_EQ(b.events[PM_SIGNAL_EVENT_PEER_ANNOUNCED], 1);
    CHECK(fake_last_pc_has_ice_url("stun:127.0.0.1:3478"));

    /* Packets both ways, on the reliable and the unreliable channel. */
    CHECK_EQ(send_packet(&a, PM_MP_TRANSFER_RELIABLE, "from a"), PM_OK);
    CHECK(wait_until(poll_two, b_got_packet, &t, 2000));
    CHECK_EQ(strcmp(b.last_packet, "from a"), 0);
    CHECK_EQ(b.last_from, 1);
    CHECK_EQ(send_packet(&b, PM_MP_TRANSFER_UNRELIABLE, "from b"), PM_OK);
    CHECK(wait_until(poll_two, a_got_packet, &t, 2000));
    CHECK_EQ(a.last_from, pm_signal_client_id(b.c));

    /* Our own close: 1000 on the socket, CLOSED, and our mesh stays; the server
     * tells b that a left its lobby, and b's mesh lets a go. */
    pm_signal_client_close(a.c);
    CHECK_EQ(fake_socket_close_code(sock_a), 1000);
    CHECK(wait_until(poll_two, a_closed, &t, 2000));
    CHECK_EQ(a.close_code, 1000);
    CHECK_EQ(pm_signal_client_state(a.c), PM_SIGNAL_CLOSED);
    CHECK_EQ(pm_signal_client_poll(a.c), PM_OK); /* a's mesh lives on */
    CHECK(wait_until(poll_two, b_lost_a, &t, 2000));

    /* The server closes b with a code and reason: no seal, so b's mesh goes. */
    fake_socket_server_close(sock_b, 4000, "bye");
    CHECK(wait_until(poll_two, b_closed, &t, 2000));
    CHECK_EQ(b.close_code, 4000);
    CHECK_EQ(strcmp(b.reason, "bye"), 0);
    CHECK_EQ(pm_signal_client_poll(b.c), PM_ERR_CLOSED);
    pm_signal_client_free(a.c);
    pm_signal_client_free(b.c);
    fake_server(0, 0);
}

static bool c_closed(void *ud)
{
    return ((player *)ud)->events[PM_SIGNAL_EVENT_CLOSED] > 0;
}

static void poll_one(void *ud)
{
    player *p = ud;
    pm_signal_client_poll(p->c);
    drain(p);
}

static void test_connect_timeout(void)
{
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = "wss://127.0.0.1:9/";
    cfg.connect_timeout = PM_MS(50);
    player p = {0};
    int sock = fake_socket_count();
    CHECK_EQ(pm_signal_client_new(&cfg, &p.c), PM_OK);
    CHECK(pm_signal_client_next_timeout(p.c) <= pm_now() + PM_MS(50));
    CHECK(wait_until(poll_one, c_closed, &p, 2000));
    CHECK_EQ(fake_socket_close_code(sock), -1); /* forgotten: closed without a code */
    CHECK_EQ(pm_signal_client_state(p.c), PM_SIGNAL_CLOSED);
    settle(20);
    poll_one(&p);
    CHECK_EQ(p.events[PM_SIGNAL_EVENT_CLOSED], 1); /* the socket's own close is not reported */
    CHECK_EQ(pm_signal_client_poll(p.c), PM_ERR_CLOSED);
    pm_signal_client_free(p.c);
}

int main(void)
{
    test_bad_urls();
    test_mesh_through_the_server();
    test_connect_timeout();
    return check_summary("test_signal_web");
}
