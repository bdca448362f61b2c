/*
 * Integration: the ENet multiplayer peer as a server with C clients on
 * loopback — 16 Godot-3-format clients (connect, every transfer mode, extra
 * channels, targeted / broadcast / exclude-one packets relayed by the
 * server, disconnects, forced disconnects, timeouts, refused connections),
 * and a smaller Godot-4-format run (no header, no relay).
 */
#include "enet_testnode.h"

#include <stdio.h>

#define NCLIENTS 16
#define WAIT_MS  5000

static tn_node nodes[1 + NCLIENTS]; /* [0] is the server */

static int32_t id_of(size_t i)
{
    return pm_mp_get_unique_id(nodes[i].mp);
}

/* Every client connected, and knows every other client (3.2 ADD_PEER) when relay is on. */
static bool all_connected(tn_node *v, size_t n, void *ud)
{
    bool g3 = *(bool *)ud;
    if (tn_count_events(&v[0], PM_MP_EVENT_PEER_CONNECTED, 0) != n - 1)
        return false;
    for (size_t i = 1; i < n; i++) {
        if (pm_mp_get_connection_status(v[i].mp) != PM_MP_CONNECTED)
            return false;
        size_t want = g3 ? n - 1 : 1;
        if (tn_count_events(&v[i], PM_MP_EVENT_PEER_CONNECTED, 0) != want)
            return false;
    }
    return true;
}

typedef struct want_rx {
    size_t node;
    size_t count;
} want_rx;

static bool has_packets(tn_node *v, size_t n, void *ud)
{
    const want_rx *w = ud;
    (void)n;
    for (; w->count; w++)
        if (v[w->node].nrx < w->count)
            return false;
    return true;
}

static void clear_all(size_t n)
{
    for (size_t i = 0; i < n; i++)
        tn_clear(&nodes[i]);
}

static uint16_t start(pm_enet_format fmt, size_t nclients, int extra)
{
    tn_init(&nodes[0], fmt);
    assert_int_equal(pm_enet_create_server(nodes[0].e, 0, 32, extra, 0, 0), PM_OK);
    assert_int_equal(pm_enet_create_server(nodes[0].e, 0, 32, extra, 0, 0), PM_ERR_STATE);
    uint16_t port = pm_enet_get_local_port(nodes[0].e);
    assert_true(port > 0);
    assert_int_equal(pm_mp_get_unique_id(nodes[0].mp), 1);
    assert_true(pm_mp_is_server(nodes[0].mp));
    assert_int_equal(pm_mp_get_connection_status(nodes[0].mp), PM_MP_CONNECTED);
    for (size_t i = 1; i <= nclients; i++) {
        tn_init(&nodes[i], fmt);
        assert_int_equal(pm_enet_create_client(nodes[i].e, "127.0.0.1", port, extra, 0, 0, 0),
                         PM_OK);
        assert_int_equal(pm_mp_get_connection_status(nodes[i].mp), PM_MP_CONNECTING);
        int32_t id = id_of(i);
        assert_true(id >= 2);
        /* Nothing can be sent before the connection is up (Godot: ERR_UNCONFIGURED). */
        assert_int_equal(tn_send(&nodes[i], 1, PM_MP_TRANSFER_RELIABLE, 0, "early"), PM_ERR_STATE);
    }
    bool g3 = fmt == PM_ENET_FORMAT_GODOT3;
    assert_true(tn_pump(nodes, 1 + nclients, all_connected, &g3, WAIT_MS));
    for (size_t i = 1; i <= nclients; i++) {
        /* Client order: peer_connected(1), then connection_succeeded. */
        assert_int_equal(nodes[i].ev[0].type, PM_MP_EVENT_PEER_CONNECTED);
        assert_int_equal(nodes[i].ev[0].peer_id, 1);
        assert_int_equal(nodes[i].ev[1].type, PM_MP_EVENT_CONNECTION_SUCCEEDED);
        assert_false(pm_mp_is_server(nodes[i].mp));
        for (size_t j = 1; j < i; j++)
            assert_int_not_equal(id_of(i), id_of(j));
        /* The server knows this client by its id and can reach its packet peer. */
        pm_enet_packet_peer *pp = pm_enet_get_peer(nodes[0].e, id_of(i));
        assert_non_null(pp);
        assert_int_equal(pm_enet_packet_peer_get_state(pp), PM_ENET_PEER_CONNECTED);
        tn_no_throttle(pp);
        tn_no_throttle(pm_enet_get_peer(nodes[i].e, 1));
    }
    clear_all(1 + nclients);
    return port;
}

static void stop(size_t n)
{
    for (size_t i = 0; i < n; i++)
        tn_free(&nodes[i]);
}

static void every_mode_to_server(void)
{
    static const pm_mp_transfer_mode modes[] = {
        PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE};
    for (size_t m = 0; m < 3; m++)
        for (int ch = 0; ch <= 1; ch++)
            assert_int_equal(tn_send(&nodes[1], 1, modes[m], ch, "mode"), PM_OK);
    /* Only one extra channel was configured. */
    assert_int_equal(tn_send(&nodes[1], 1, PM_MP_TRANSFER_RELIABLE, 2, "x"), PM_ERR_INVALID);
    want_rx w[] = {{0, 6}, {0, 0}};
    assert_true(tn_pump(nodes, 2, has_packets, w, WAIT_MS));
    size_t seen[3][2] = {{0}};
    for (size_t i = 0; i < nodes[0].nrx; i++) {
        tn_packet *p = &nodes[0].rx[i];
        assert_int_equal(p->from, id_of(1));
        assert_int_equal(p->len, 4);
        assert_memory_equal(p->data, "mode", 4);
        assert_true(p->channel == 0 || p->channel == 1);
        seen[p->mode][p->channel]++;
    }
    for (size_t m = 0; m < 3; m++)
        for (int ch = 0; ch <= 1; ch++)
            assert_int_equal(seen[m][ch], 1);
}

static void relay_patterns(size_t n)
{
    char text[32];
    /* Targeted: client i sends to client i+1 (ring), through the server's relay. */
    for (size_t i = 1; i < n; i++) {
        size_t to = i + 1 < n ? i + 1 : 1;
        snprintf(text, sizeof text, "ring %zu", i);
        assert_int_equal(tn_send(&nodes[i], id_of(to), PM_MP_TRANSFER_RELIABLE, 0, text), PM_OK);
    }
    want_rx ring[NCLIENTS + 1];
    for (size_t i = 1; i < n; i++)
        ring[i - 1] = (want_rx){i, 1};
    ring[n - 1] = (want_rx){0, 0};
    assert_true(tn_pump(nodes, n, has_packets, ring, WAIT_MS));
    tn_settle(nodes, n, 50);
    assert_int_equal(nodes[0].nrx, 0); /* targeted packets are not for the server */
    for (size_t i = 1; i < n; i++) {
        size_t from = i == 1 ? n - 1 : i - 1;
        snprintf(text, sizeof text, "ring %zu", from);
        assert_int_equal(nodes[i].nrx, 1);
        assert_int_equal(tn_count_rx(&nodes[i], id_of(from), text), 1);
    }
    clear_all(n);

    /* Broadcast from client 1: the server and every other client. */
    assert_int_equal(tn_send(&nodes[1], 0, PM_MP_TRANSFER_RELIABLE, 0, "all"), PM_OK);
    /* Exclude-one from client 2: everyone but client 5 (and the sender). */
    assert_int_equal(tn_send(&nodes[2], -id_of(5), PM_MP_TRANSFER_UNRELIABLE_ORDERED, 0, "but5"),
                     PM_OK);
    /* Exclude the server: the other clients only. */
    assert_int_equal(tn_send(&nodes[3], -1, PM_MP_TRANSFER_RELIABLE, 0, "noserver"), PM_OK);
    /* Unknown targets are refused at the sender (Godot: "Invalid target peer"). */
    assert_int_equal(tn_send(&nodes[1], 0x7ffffff0, PM_MP_TRANSFER_RELIABLE, 0, "x"),
                     PM_ERR_INVALID);
    assert_int_equal(tn_send(&nodes[1], INT32_MIN, PM_MP_TRANSFER_RELIABLE, 0, "x"),
                     PM_ERR_INVALID);
    want_rx w[NCLIENTS + 2];
    w[0] = (want_rx){0, 2};
    for (size_t i = 1; i < n; i++)
        w[i] = (want_rx){i, (size_t)(i == 1 || i == 2 || i == 3 || i == 5 ? 2 : 3)};
    w[n] = (want_rx){0, 0};
    assert_true(tn_pump(nodes, n, has_packets, w, WAIT_MS));
    tn_settle(nodes, n, 50);
    assert_int_equal(tn_count_rx(&nodes[0], id_of(1), "all"), 1);
    assert_int_equal(tn_count_rx(&nodes[0], id_of(2), "but5"), 1);
    assert_int_equal(tn_count_rx(&nodes[0], 0, "noserver"), 0);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(tn_count_rx(&nodes[i], id_of(1), "all"), i == 1 ? 0 : 1);
        assert_int_equal(tn_count_rx(&nodes[i], id_of(2), "but5"), i == 2 || i == 5 ? 0 : 1);
        assert_int_equal(tn_count_rx(&nodes[i], id_of(3), "noserver"), i == 3 ? 0 : 1);
    }
    pm_enet_stats st;
    pm_enet_get_stats(nodes[0].e, &st);
    assert_true(st.packets_relayed >= (n - 2) * 3);
    assert_int_equal(st.dropped_spoofed, 0);
    clear_all(n);

    /* The server's own sends: broadcast, exclude-one, targeted. */
    assert_int_equal(tn_send(&nodes[0], 0, PM_MP_TRANSFER_UNRELIABLE, 0, "s-all"), PM_OK);
    assert_int_equal(tn_send(&nodes[0], -id_of(4), PM_MP_TRANSFER_RELIABLE, 1, "s-but4"), PM_OK);
    assert_int_equal(tn_send(&nodes[0], id_of(6), PM_MP_TRANSFER_RELIABLE, 0, "s-to6"), PM_OK);
    assert_int_equal(tn_send(&nodes[0], 1, PM_MP_TRANSFER_RELIABLE, 0, "self"), PM_ERR_INVALID);
    for (size_t i = 1; i < n; i++)
        w[i - 1] = (want_rx){i, (size_t)(1 + (i != 4) + (i == 6))};
    w[n - 1] = (want_rx){0, 0};
    assert_true(tn_pump(nodes, n, has_packets, w, WAIT_MS));
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(tn_count_rx(&nodes[i], 1, "s-all"), 1);
        assert_int_equal(tn_count_rx(&nodes[i], 1, "s-but4"), i == 4 ? 0 : 1);
        assert_int_equal(tn_count_rx(&nodes[i], 1, "s-to6"), i == 6 ? 1 : 0);
        for (size_t k = 0; k < nodes[i].nrx; k++)
            if (nodes[i].rx[k].len == 6 && memcmp(nodes[i].rx[k].data, "s-but4", 6) == 0)
                assert_int_equal(nodes[i].rx[k].channel, 1);
    }
    clear_all(n);
}

typedef struct gone {
    int32_t id;
    size_t except; /* node that is not expected to report it */
    size_t except2;
} gone;

static bool everyone_saw_leave(tn_node *v, size_t n, void *ud)
{
    const gone *g = ud;
    for (size_t i = 0; i < n; i++) {
        if (i == g->except || i == g->except2 || !v[i].e)
            continue;
        if (i != 0 && pm_mp_get_connection_status(v[i].mp) != PM_MP_CONNECTED)
            continue; /* clients that left earlier */
        if (!tn_count_events(&v[i], PM_MP_EVENT_PEER_DISCONNECTED, g->id))
            return false;
    }
    return true;
}

static bool node_saw(tn_node *v, size_t n, void *ud)
{
    const pm_mp_event *want = ud;
    (void)n;
    return tn_count_events(&v[want->peer_id], want->type, 0) > 0;
}

/*
 * After clients left (left[i]), everyone else must be unaffected: still
 * connected, told of no departure but those (no SERVER_DISCONNECTED, no
 * PEER_DISCONNECTED for anyone else), still a member on the server, and
 * still reachable both ways: a server broadcast reaches each exactly once
 * and each one's packet reaches the server.
 */
static void bystanders_stay(size_t n, const int32_t *ids, const bool *left, int round)
{
    char from_server[32], to_server[32];
    snprintf(from_server, sizeof from_server, "still-here-%d", round);
    assert_int_equal(tn_send(&nodes[0], 0, PM_MP_TRANSFER_RELIABLE, 0, from_server), PM_OK);
    want_rx w[NCLIENTS + 2];
    size_t nw = 0, bystanders = 0;
    for (size_t i = 1; i < n; i++) {
        if (left[i])
            continue;
        bystanders++;
        snprintf(to_server, sizeof to_server, "here-%zu-%d", i, round);
        assert_int_equal(tn_send(&nodes[i], 1, PM_MP_TRANSFER_RELIABLE, 0, to_server), PM_OK);
        w[nw++] = (want_rx){i, nodes[i].nrx + 1};
    }
    w[nw++] = (want_rx){0, nodes[0].nrx + bystanders};
    w[nw] = (want_rx){0, 0};
    (void)tn_pump(nodes, n, has_packets, w, WAIT_MS); /* judged one by one below */
    tn_settle(nodes, n, 50);
    for (size_t i = 1; i < n; i++) {
        if (left[i])
            continue;
        tn_node *b = &nodes[i];
        assert_int_equal(pm_mp_get_connection_status(b->mp), PM_MP_CONNECTED);
        assert_int_equal(id_of(i), ids[i]);
        assert_int_equal(tn_count_events(b, PM_MP_EVENT_SERVER_DISCONNECTED, 0), 0);
        for (size_t k = 0; k < b->nev; k++)
            if (b->ev[k].type == PM_MP_EVENT_PEER_DISCONNECTED)
                for (size_t j = 1; j < n; j++)
                    if (b->ev[k].peer_id == ids[j])
                        assert_true(left[j]); /* only those who left */
        pm_enet_packet_peer *pp = pm_enet_get_peer(nodes[0].e, ids[i]);
        assert_non_null(pp);
        assert_int_equal(pm_enet_packet_peer_get_state(pp), PM_ENET_PEER_CONNECTED);
        assert_int_equal(tn_count_events(&nodes[0], PM_MP_EVENT_PEER_DISCONNECTED, ids[i]), 0);
        assert_int_equal(tn_count_rx(b, 1, from_server), 1);
        snprintf(to_server, sizeof to_server, "here-%zu-%d", i, round);
        assert_int_equal(tn_count_rx(&nodes[0], ids[i], to_server), 1);
    }
}

static void leaving(size_t n)
{
    int32_t ids[NCLIENTS + 1] = {1};
    bool left[NCLIENTS + 1] = {false};
    for (size_t i = 1; i < n; i++)
        ids[i] = id_of(i);

    /* A client closes: the server and (via REMOVE_PEER) every other client hear of it. */
    gone g = {id_of(3), 3, 3};
    pm_mp_close(nodes[3].mp);
    assert_int_equal(pm_mp_get_connection_status(nodes[3].mp), PM_MP_DISCONNECTED);
    assert_int_equal(pm_mp_get_unique_id(nodes[3].mp), 0);
    assert_true(tn_pump(nodes, n, everyone_saw_leave, &g, WAIT_MS));
    assert_int_equal(nodes[3].nev, 0); /* close() emits nothing */
    left[3] = true;
    bystanders_stay(n, ids, left, 1);

    /* A client vanishes: the server times it out (short timeouts set through get_peer). */
    g = (gone){id_of(4), 4, 3};
    pm_enet_packet_peer *pp = pm_enet_get_peer(nodes[0].e, g.id);
    assert_non_null(pp);
    assert_int_equal(pm_enet_packet_peer_set_timeout(pp, 300, 200, 500), PM_ERR_INVALID);
    assert_int_equal(pm_enet_packet_peer_set_timeout(pp, 4, 200, 500), PM_OK);
    pm_enet_packet_peer_ping_interval(pp, 50);
    tn_node vanished = nodes[4];
    nodes[4].e = NULL; /* not polled any more */
    pm_time t0 = pm_now();
    assert_true(tn_pump(nodes, n, everyone_saw_leave, &g, WAIT_MS));
    assert_true(pm_now() - t0 < PM_SEC(3));
    pm_enet_free(vanished.e);
    left[4] = true;
    bystanders_stay(n, ids, left, 2);

    /* disconnect_peer (graceful): the client is told, the server reports it once acknowledged. */
    g = (gone){id_of(5), 5, 3};
    assert_int_equal(pm_mp_disconnect_peer(nodes[0].mp, g.id, false), PM_OK);
    assert_true(tn_pump(nodes, n, everyone_saw_leave, &g, WAIT_MS));
    pm_mp_event ev = {PM_MP_EVENT_SERVER_DISCONNECTED, 5};
    assert_true(tn_pump(nodes, n, node_saw, &ev, WAIT_MS));
    assert_int_equal(pm_mp_get_connection_status(nodes[5].mp), PM_MP_DISCONNECTED);
    left[5] = true;
    bystanders_stay(n, ids, left, 3);

    /* disconnect_peer (force): no event on the server, REMOVE_PEER to the others. */
    g = (gone){id_of(6), 6, 0};
    assert_int_equal(pm_mp_disconnect_peer(nodes[0].mp, g.id, true), PM_OK);
    assert_null(pm_enet_get_peer(nodes[0].e, g.id));
    assert_int_equal(pm_mp_disconnect_peer(nodes[0].mp, g.id, true), PM_ERR_INVALID);
    assert_true(tn_pump(nodes, n, everyone_saw_leave, &g, WAIT_MS));
    ev = (pm_mp_event){PM_MP_EVENT_SERVER_DISCONNECTED, 6};
    assert_true(tn_pump(nodes, n, node_saw, &ev, WAIT_MS));
    assert_int_equal(tn_count_events(&nodes[0], PM_MP_EVENT_PEER_DISCONNECTED, g.id), 0);
    /* The peers that left cannot be targeted any more. */
    assert_int_equal(tn_send(&nodes[1], g.id, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    assert_int_equal(tn_send(&nodes[0], -g.id, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    left[6] = true;
    bystanders_stay(n, ids, left, 4);
}

static void refusing(uint16_t port, pm_enet_format fmt)
{
    pm_mp_set_refuse_new_connections(nodes[0].mp, true);
    assert_true(pm_mp_is_refusing_new_connections(nodes[0].mp));
    tn_node late[2];
    tn_init(&late[1], fmt);
    late[0] = nodes[0];
    assert_int_equal(pm_enet_create_client(late[1].e, "127.0.0.1", port, 1, 0, 0, 0), PM_OK);
    pm_mp_event ev = {PM_MP_EVENT_SERVER_DISCONNECTED, 1};
    assert_true(tn_pump(late, 2, node_saw, &ev, WAIT_MS));
    assert_int_equal(tn_count_events(&late[0], PM_MP_EVENT_PEER_CONNECTED, 0), 0);
    pm_enet_stats st;
    pm_enet_get_stats(late[0].e, &st);
    assert_int_equal(st.connections_refused, 1);
    tn_free(&late[1]);
    nodes[0] = late[0];
    pm_mp_set_refuse_new_connections(nodes[0].mp, false);
}

static bool all_server_gone(tn_node *v, size_t n, void *ud)
{
    (void)ud;
    for (size_t i = 1; i < n; i++)
        if (v[i].e && pm_mp_get_connection_status(v[i].mp) != PM_MP_DISCONNECTED)
            return false;
    return true;
}

static void godot3_sixteen_clients(void **st)
{
    (void)st;
    size_t n = 1 + NCLIENTS;
    uint16_t port = start(PM_ENET_FORMAT_GODOT3, NCLIENTS, 1);
    assert_true(pm_mp_is_server_relay_supported(nodes[0].mp));
    assert_true(pm_mp_is_server_relay_supported(nodes[1].mp));
    assert_int_equal(pm_mp_get_max_packet_size(nodes[0].mp), 1 << 24);
    every_mode_to_server();
    clear_all(n);
    relay_patterns(n);
    leaving(n);
    refusing(port, PM_ENET_FORMAT_GODOT3);
    /* The server closes: every remaining client learns it. */
    tn_free(&nodes[0]);
    assert_true(tn_pump(nodes, n, all_server_gone, NULL, WAIT_MS));
    for (size_t i = 1; i < n; i++)
        if (nodes[i].e && i != 3 && i != 5 && i != 6)
            assert_int_equal(tn_count_events(&nodes[i], PM_MP_EVENT_SERVER_DISCONNECTED, 1), 1);
    stop(n);
}

static void godot4_clients(void **st)
{
    (void)st;
    size_t n = 5;
    uint16_t port = start(PM_ENET_FORMAT_GODOT4, n - 1, 1);
    /* 4.x relays in SceneMultiplayer, not in the transport. */
    assert_false(pm_mp_is_server_relay_supported(nodes[0].mp));
    every_mode_to_server();
    clear_all(n);
    /* A client reaches only the server; "everyone but the server" is nobody. */
    assert_int_equal(tn_send(&nodes[1], id_of(2), PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    assert_int_equal(tn_send(&nodes[1], -1, PM_MP_TRANSFER_RELIABLE, 0, "nobody"), PM_OK);
    assert_int_equal(tn_send(&nodes[1], 0, PM_MP_TRANSFER_RELIABLE, 0, "to-server"), PM_OK);
    /* The server addresses clients directly. */
    assert_int_equal(tn_send(&nodes[0], 0, PM_MP_TRANSFER_RELIABLE, 0, "s-all"), PM_OK);
    assert_int_equal(tn_send(&nodes[0], -id_of(2), PM_MP_TRANSFER_UNRELIABLE, 1, "s-but2"), PM_OK);
    want_rx w[] = {{0, 1}, {1, 2}, {2, 1}, {3, 2}, {4, 2}, {0, 0}};
    assert_true(tn_pump(nodes, n, has_packets, w, WAIT_MS));
    tn_settle(nodes, n, 50);
    assert_int_equal(nodes[0].nrx, 1);
    assert_int_equal(tn_count_rx(&nodes[0], id_of(1), "to-server"), 1);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(tn_count_rx(&nodes[i], 1, "s-all"), 1);
        assert_int_equal(tn_count_rx(&nodes[i], 1, "s-but2"), i == 2 ? 0 : 1);
    }
    for (size_t k = 0; k < nodes[3].nrx; k++)
        if (nodes[3].rx[k].len == 6 && memcmp(nodes[3].rx[k].data, "s-but2", 6) == 0) {
            assert_int_equal(nodes[3].rx[k].channel, 1);
            assert_int_equal(nodes[3].rx[k].mode, PM_MP_TRANSFER_UNRELIABLE);
        }
    clear_all(n);

    /* 4.x client on losing the server: peer_disconnected(1), then server_disconnected. */
    gone g = {id_of(2), 2, 2};
    assert_int_equal(pm_mp_disconnect_peer(nodes[0].mp, g.id, false), PM_OK);
    pm_mp_event ev = {PM_MP_EVENT_SERVER_DISCONNECTED, 2};
    assert_true(tn_pump(nodes, n, node_saw, &ev, WAIT_MS));
    assert_int_equal(nodes[2].ev[0].type, PM_MP_EVENT_PEER_DISCONNECTED);
    assert_int_equal(nodes[2].ev[0].peer_id, 1);
    assert_int_equal(nodes[2].ev[1].type, PM_MP_EVENT_SERVER_DISCONNECTED);
    assert_true(tn_pump(nodes, 1, everyone_saw_leave, &g, WAIT_MS));
    /* A client can leave by disconnecting its server peer. */
    g = (gone){id_of(3), 3, 3};
    assert_int_equal(pm_mp_disconnect_peer(nodes[3].mp, 1, false), PM_OK);
    assert_true(tn_pump(nodes, 1, everyone_saw_leave, &g, WAIT_MS));
    ev = (pm_mp_event){PM_MP_EVENT_SERVER_DISCONNECTED, 3};
    assert_true(tn_pump(nodes, n, node_saw, &ev, WAIT_MS));
    refusing(port, PM_ENET_FORMAT_GODOT4);
    stop(n);
}

/* A client whose server never answers fails (short timeouts set on the low-level peer). */
static void connection_failed(void **st)
{
    (void)st;
    tn_node v[2];
    /* Grab a port that is then closed: nothing listens there. */
    pm_enet_host *probe;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 0, 0, 0, &probe), PM_OK);
    uint16_t port = pm_enet_host_get_local_port(probe);
    pm_enet_host_free(probe);
    tn_init(&v[0], PM_ENET_FORMAT_GODOT3);
    assert_int_equal(pm_enet_create_client(v[0].e, "127.0.0.1", port, 0, 0, 0, 0), PM_OK);
    pm_enet_host *h = pm_enet_get_host(v[0].e);
    assert_non_null(h);
    pm_enet_packet_peer *pp = NULL;
    assert_int_equal(pm_enet_host_get_peers(h, &pp, 1), 1);
    assert_int_equal(pm_enet_packet_peer_get_state(pp), PM_ENET_PEER_CONNECTING);
    assert_int_equal(pm_enet_packet_peer_set_timeout(pp, 2, 100, 300), PM_OK);
    pm_mp_event ev = {PM_MP_EVENT_CONNECTION_FAILED, 0};
    assert_true(tn_pump(v, 1, node_saw, &ev, WAIT_MS));
    assert_int_equal(v[0].nev, 1);
    assert_int_equal(pm_mp_get_connection_status(v[0].mp), PM_MP_DISCONNECTED);
    /* Inactive again: it can be used anew, and bad arguments are refused. */
    assert_int_equal(pm_enet_create_client(v[0].e, "localhost", port, 0, 0, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_enet_create_client(v[0].e, "::1", port, 0, 0, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_enet_create_client(v[0].e, "127.0.0.1", 0, 0, 0, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_enet_create_server(v[0].e, 0, 0, 0, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_enet_create_server(v[0].e, 0, 4096, 0, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_enet_create_server(v[0].e, 0, 4, 253, 0, 0), PM_ERR_INVALID);
    assert_int_equal(pm_mp_disconnect_peer(v[0].mp, 1, false), PM_ERR_STATE);
    tn_free(&v[0]);

    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    pm_enet *e;
    cfg.format = (pm_enet_format)5;
    assert_int_equal(pm_enet_new(&cfg, &e), PM_ERR_INVALID);
    pm_enet_config_default(&cfg);
    cfg.compression = PM_ENET_COMPRESS_ZSTD;
    assert_int_equal(pm_enet_new(&cfg, &e), PM_ERR_UNSUPPORTED);
    pm_enet_config_default(&cfg);
    cfg.bind_ip = "not-an-ip";
    assert_int_equal(pm_enet_new(&cfg, &e), PM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(godot3_sixteen_clients),
        cmocka_unit_test(godot4_clients),
        cmocka_unit_test(connection_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
