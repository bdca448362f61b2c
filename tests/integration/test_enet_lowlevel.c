/*
 * Integration: the low-level wrappers (Godot 4's ENetConnection and
 * ENetPacketPeer) on loopback — host creation and its errors, connect data,
 * channels and flags, fragmentation, broadcast, statistics that pop and
 * reset, compression, channel limits, timeouts, throttle, disconnect kinds.
 */
#include "enet_testnode.h"

#define WAIT_MS 5000

typedef struct hosts {
    pm_enet_host *h[3];
    size_t n;
    pm_enet_event last[3][4]; /* the latest event of each type per host, not yet waited for */
    bool has[3][4];
} hosts;

/* Service every host until host `which` has had an event of `type` (remembered across calls). */
static bool wait_event(hosts *hs, size_t which, pm_enet_event_type type, pm_enet_event *out)
{
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (!hs->has[which][type] && pm_now() < deadline) {
        for (size_t i = 0; i < hs->n; i++) {
            pm_enet_event ev;
            while (pm_enet_host_service(hs->h[i], 0, &ev) > 0) {
                hs->last[i][ev.type] = ev;
                hs->has[i][ev.type] = true;
            }
        }
        tn_sleep_us(200);
    }
    if (!hs->has[which][type])
        return false;
    hs->has[which][type] = false;
    if (out)
        *out = hs->last[which][type];
    return true;
}

static void creation_errors(void **st)
{
    (void)st;
    pm_enet_host *h;
    assert_int_equal(pm_enet_host_create(NULL, 0, 0, 0, 0, &h), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_create(NULL, 4096, 0, 0, 0, &h), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_create(NULL, 1, 256, 0, 0, &h), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_create(NULL, 1, -1, 0, 0, &h), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_create_bound(NULL, "::1", 0, 1, 0, 0, 0, &h), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_create_bound(NULL, "localhost", 0, 1, 0, 0, 0, &h),
                     PM_ERR_INVALID);
    pm_enet_host *a;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 0, 0, 0, &a), PM_OK);
    assert_int_equal(pm_enet_host_get_max_channels(a), 255);
    uint16_t port = pm_enet_host_get_local_port(a);
    assert_true(port > 0);
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", port, 1, 0, 0, 0, &h), PM_ERR_IO);
    assert_int_equal(pm_enet_host_connect(a, "localhost", 1, 0, 0, NULL), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_connect(a, "0.0.0.0", 1, 0, 0, NULL), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_connect(a, "127.0.0.1", 0, 0, 0, NULL), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_connect(a, "127.0.0.1", 9, 256, 0, NULL), PM_ERR_INVALID);
    /* One peer slot: the second connection has nowhere to go. */
    assert_int_equal(pm_enet_host_connect(a, "127.0.0.1", 9, 0, 0, NULL), PM_OK);
    assert_int_equal(pm_enet_host_connect(a, "127.0.0.1", 9, 0, 0, NULL), PM_ERR_FULL);
    assert_int_equal(pm_enet_host_socket_send(a, "localhost", 9, (const uint8_t *)"x", 1),
                     PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_compress(a, PM_ENET_COMPRESS_ZLIB), PM_ERR_UNSUPPORTED);
    assert_int_equal(pm_enet_host_compress(a, PM_ENET_COMPRESS_FASTLZ), PM_ERR_UNSUPPORTED);
    assert_int_equal(pm_enet_host_broadcast(a, 0, (const uint8_t *)"x", 1, 4), PM_ERR_INVALID);
    assert_int_equal(pm_enet_host_wait(a, 1), 0);
    pm_enet_host_free(a);
    pm_enet_host_free(NULL);
}

static void connect_send_receive(void **st)
{
    (void)st;
    hosts hs = {.n = 3, .has = {{false}}};
    pm_enet_host *srv, *cli, *cli2;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 8, 8, 0, 0, &srv), PM_OK);
    assert_int_equal(pm_enet_host_create(NULL, 1, 0, 0, 0, &cli), PM_OK);
    assert_int_equal(pm_enet_host_create(NULL, 1, 0, 0, 0, &cli2), PM_OK);
    hs.h[0] = srv, hs.h[1] = cli, hs.h[2] = cli2;
    uint16_t port = pm_enet_host_get_local_port(srv);
    pm_enet_packet_peer *to_srv, *to_srv2;
    assert_int_equal(pm_enet_host_connect(cli, "127.0.0.1", port, 4, 0xabcdef, &to_srv), PM_OK);
    assert_int_equal(pm_enet_packet_peer_get_state(to_srv), PM_ENET_PEER_CONNECTING);
    assert_true(pm_enet_packet_peer_is_active(to_srv));
    pm_enet_event ev;
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_CONNECT, &ev));
    assert_int_equal(ev.data, 0xabcdef); /* CONNECT data: Godot's client id slot */
    pm_enet_packet_peer *to_cli = ev.peer;
    assert_ptr_equal(pm_enet_packet_peer_get_host(to_cli), srv);
    assert_true(wait_event(&hs, 1, PM_ENET_EVENT_CONNECT, NULL));
    assert_int_equal(pm_enet_packet_peer_get_channels(to_srv), 4);
    assert_int_equal(pm_enet_packet_peer_get_channels(to_cli), 4);
    assert_true(pm_enet_host_get_local_port(cli) > 0); /* bound by its first send */
    pm_addr ra;
    assert_int_equal(pm_enet_packet_peer_get_remote_address(to_cli, &ra), PM_OK);
    assert_int_equal(ra.family, 4);
    assert_int_equal(ra.ip[0], 127);
    assert_int_equal(ra.port, pm_enet_host_get_local_port(cli));
    assert_int_equal(pm_enet_host_get_peers(srv, NULL, 0), 1);

    /* Flags and channels, and a fragmented reliable packet. */
    static uint8_t big[10000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(
        pm_enet_packet_peer_send(to_srv, 3, (const uint8_t *)"rel", 3, PM_ENET_FLAG_RELIABLE),
        PM_OK);
    assert_int_equal(
        pm_enet_packet_peer_send(to_srv, 2, (const uint8_t *)"unseq", 5, PM_ENET_FLAG_UNSEQUENCED),
        PM_OK);
    assert_int_equal(pm_enet_packet_peer_send(to_srv, 1, big, sizeof big, PM_ENET_FLAG_RELIABLE),
                     PM_OK);
    assert_int_equal(pm_enet_packet_peer_put_packet(to_srv, (const uint8_t *)"put", 3), PM_OK);
    assert_int_equal(pm_enet_packet_peer_send(to_srv, 4, (const uint8_t *)"x", 1, 0),
                     PM_ERR_INVALID);
    assert_int_equal(pm_enet_packet_peer_send(to_srv, 0, (const uint8_t *)"x", 1, 16),
                     PM_ERR_INVALID);
    pm_enet_host_flush(cli);
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (pm_enet_packet_peer_get_available_packet_count(to_cli) < 4 && pm_now() < deadline) {
        for (size_t i = 0; i < hs.n; i++)
            (void)pm_enet_host_service(hs.h[i], 0, &ev);
        tn_sleep_us(200);
    }
    assert_int_equal(pm_enet_packet_peer_get_available_packet_count(to_cli), 4);
    int seen = 0;
    for (int k = 0; k < 4; k++) {
        const uint8_t *d;
        size_t len;
        int ch, fl;
        assert_int_equal(pm_enet_packet_peer_get_packet(to_cli, &d, &len, &ch, &fl), PM_OK);
        if (ch == 3) {
            assert_int_equal(len, 3);
            assert_memory_equal(d, "rel", 3);
            assert_int_equal(fl, PM_ENET_FLAG_RELIABLE);
            seen |= 1;
        } else if (ch == 2) {
            assert_memory_equal(d, "unseq", 5);
            assert_int_equal(fl, PM_ENET_FLAG_UNSEQUENCED);
            seen |= 2;
        } else if (ch == 1) {
            assert_int_equal(len, sizeof big);
            assert_memory_equal(d, big, sizeof big);
            seen |= 4;
        } else {
            assert_int_equal(ch, 0);
            assert_memory_equal(d, "put", 3);
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
    const uint8_t *d;
    size_t len;
    assert_int_equal(pm_enet_packet_peer_get_packet(to_cli, &d, &len, NULL, NULL), PM_ERR_AGAIN);

    /* Statistics pop and reset. */
    assert_true(pm_enet_host_pop_statistic(cli, PM_ENET_HOST_TOTAL_SENT_DATA) > sizeof big);
    assert_int_equal(pm_enet_host_pop_statistic(cli, PM_ENET_HOST_TOTAL_SENT_DATA), 0);
    assert_true(pm_enet_host_pop_statistic(srv, PM_ENET_HOST_TOTAL_RECEIVED_PACKETS) >= 4);
    assert_int_equal(pm_enet_host_pop_statistic(srv, PM_ENET_HOST_TOTAL_RECEIVED_PACKETS), 0);
    assert_true(pm_enet_host_pop_statistic(srv, PM_ENET_HOST_TOTAL_SENT_PACKETS) > 0);
    assert_true(pm_enet_host_pop_statistic(srv, PM_ENET_HOST_TOTAL_RECEIVED_DATA) > 0);

    /* Peer configuration is visible through the statistics Godot exposes. */
    pm_enet_packet_peer_throttle_configure(to_cli, 1234, 3, 4);
    assert_true(pm_enet_packet_peer_get_statistic(to_cli, PM_ENET_PEER_PACKET_THROTTLE_INTERVAL) ==
                1234);
    assert_true(
        pm_enet_packet_peer_get_statistic(to_cli, PM_ENET_PEER_PACKET_THROTTLE_ACCELERATION) == 3);
    assert_true(
        pm_enet_packet_peer_get_statistic(to_cli, PM_ENET_PEER_PACKET_THROTTLE_DECELERATION) == 4);
    assert_true(pm_enet_packet_peer_get_statistic(to_cli, PM_ENET_PEER_ROUND_TRIP_TIME) > 0);
    assert_true(pm_enet_packet_peer_get_statistic(to_cli, PM_ENET_PEER_PACKET_THROTTLE_LIMIT) ==
                PM_ENET_PACKET_THROTTLE_SCALE);
    for (int s = PM_ENET_PEER_PACKET_LOSS; s <= PM_ENET_PEER_PACKET_THROTTLE_INTERVAL; s++)
        assert_true(pm_enet_packet_peer_get_statistic(to_cli, (pm_enet_peer_statistic)s) >= 0);
    pm_enet_packet_peer_ping_interval(to_cli, 100);
    pm_enet_packet_peer_ping(to_cli);
    assert_int_equal(pm_enet_packet_peer_set_timeout(to_cli, 10, 5, 100), PM_ERR_INVALID);
    assert_int_equal(pm_enet_packet_peer_set_timeout(to_cli, 5, 100, 50), PM_ERR_INVALID);
    assert_int_equal(pm_enet_packet_peer_set_timeout(to_cli, 32, 5000, 30000), PM_OK);

    /* Channel limit for later connections, then a broadcast to both clients. */
    pm_enet_host_channel_limit(srv, 2);
    assert_int_equal(pm_enet_host_get_max_channels(srv), 2);
    pm_enet_host_bandwidth_limit(srv, 0, 0);
    pm_enet_host_bandwidth_throttle(srv);
    assert_int_equal(pm_enet_host_connect(cli2, "127.0.0.1", port, 0, 7, &to_srv2), PM_OK);
    assert_true(wait_event(&hs, 2, PM_ENET_EVENT_CONNECT, NULL));
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_CONNECT, &ev)); /* broadcast needs it CONNECTED */
    assert_int_equal(ev.data, 7);
    assert_int_equal(pm_enet_packet_peer_get_channels(to_srv2), 2);
    assert_int_equal(pm_enet_host_get_peers(srv, NULL, 0), 2);
    assert_int_equal(
        pm_enet_host_broadcast(srv, 1, (const uint8_t *)"bc", 2, PM_ENET_FLAG_RELIABLE), PM_OK);
    pm_enet_host_flush(srv);
    assert_true(wait_event(&hs, 1, PM_ENET_EVENT_RECEIVE, &ev));
    assert_int_equal(ev.channel, 1);
    assert_true(wait_event(&hs, 2, PM_ENET_EVENT_RECEIVE, &ev));
    assert_int_equal(pm_enet_packet_peer_get_packet(to_srv2, &d, &len, NULL, NULL), PM_OK);
    assert_memory_equal(d, "bc", 2);

    /* Disconnects: graceful with data, and "now" (the remote hears, we get no event). */
    pm_enet_packet_peer_disconnect(to_srv, 77);
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_DISCONNECT, &ev));
    assert_int_equal(ev.data, 77);
    pm_enet_packet_peer_disconnect_now(to_srv2, 88);
    assert_int_equal(pm_enet_packet_peer_get_state(to_srv2), PM_ENET_PEER_DISCONNECTED);
    assert_false(pm_enet_packet_peer_is_active(to_srv2));
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_DISCONNECT, &ev));
    assert_int_equal(ev.data, 88);
    assert_int_equal(pm_enet_host_get_peers(srv, NULL, 0), 0);
    assert_int_equal(pm_enet_packet_peer_send(to_srv2, 0, (const uint8_t *)"x", 1, 0),
                     PM_ERR_STATE);
    for (size_t i = 0; i < hs.n; i++)
        pm_enet_host_free(hs.h[i]);
}

/* Range-coder compression on both sides; disconnect_later lets queued data go first. */
static void compression_and_later(void **st)
{
    (void)st;
    hosts hs = {.n = 2, .has = {{false}}};
    pm_enet_host *srv, *cli;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 2, 0, 0, &srv), PM_OK);
    assert_int_equal(pm_enet_host_create(NULL, 1, 2, 0, 0, &cli), PM_OK);
    assert_int_equal(pm_enet_host_compress(srv, PM_ENET_COMPRESS_RANGE_CODER), PM_OK);
    assert_int_equal(pm_enet_host_compress(cli, PM_ENET_COMPRESS_RANGE_CODER), PM_OK);
    hs.h[0] = srv, hs.h[1] = cli;
    pm_enet_packet_peer *pp;
    assert_int_equal(
        pm_enet_host_connect(cli, "127.0.0.1", pm_enet_host_get_local_port(srv), 2, 0, &pp), PM_OK);
    pm_enet_event ev;
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_CONNECT, &ev));
    pm_enet_packet_peer *to_cli = ev.peer;
    assert_true(wait_event(&hs, 1, PM_ENET_EVENT_CONNECT, NULL));
    (void)pm_enet_host_pop_statistic(cli, PM_ENET_HOST_TOTAL_SENT_DATA);
    static uint8_t text[1000];
    memset(text, 'a', sizeof text);
    assert_int_equal(pm_enet_packet_peer_send(pp, 1, text, sizeof text, PM_ENET_FLAG_RELIABLE),
                     PM_OK);
    pm_enet_packet_peer_disconnect_later(pp, 5);
    pm_enet_host_flush(cli);
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_RECEIVE, &ev));
    const uint8_t *d;
    size_t len;
    assert_int_equal(pm_enet_packet_peer_get_packet(to_cli, &d, &len, NULL, NULL), PM_OK);
    assert_int_equal(len, sizeof text);
    assert_memory_equal(d, text, sizeof text);
    /* 1000 repeated bytes travel in far fewer. */
    assert_true(pm_enet_host_pop_statistic(cli, PM_ENET_HOST_TOTAL_SENT_DATA) < 200);
    assert_true(wait_event(&hs, 0, PM_ENET_EVENT_DISCONNECT, &ev));
    assert_int_equal(ev.data, 5);
    assert_int_equal(pm_enet_host_compress(srv, PM_ENET_COMPRESS_NONE), PM_OK);
    for (size_t i = 0; i < hs.n; i++)
        pm_enet_host_free(hs.h[i]);
}

/* The multiplayer peer with range-coder compression on both ends. */
static void multiplayer_compressed(void **st)
{
    (void)st;
    tn_node v[2];
    pm_enet_config cfg;
    for (int i = 0; i < 2; i++) {
        memset(&v[i], 0, sizeof v[i]);
        pm_enet_config_default(&cfg);
        cfg.compression = PM_ENET_COMPRESS_RANGE_CODER;
        assert_int_equal(pm_enet_new(&cfg, &v[i].e), PM_OK);
        v[i].mp = pm_enet_multiplayer(v[i].e);
    }
    assert_int_equal(pm_enet_create_server(v[0].e, 0, 4, 0, 0, 0), PM_OK);
    assert_int_equal(
        pm_enet_create_client(v[1].e, "127.0.0.1", pm_enet_get_local_port(v[0].e), 0, 0, 0, 0),
        PM_OK);
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (pm_mp_get_connection_status(v[1].mp) != PM_MP_CONNECTED && pm_now() < deadline)
        tn_pump(v, 2, NULL, NULL, 1);
    assert_int_equal(pm_mp_get_connection_status(v[1].mp), PM_MP_CONNECTED);
    assert_int_equal(tn_send(&v[1], 1, PM_MP_TRANSFER_RELIABLE, 0, "compressed hello"), PM_OK);
    deadline = pm_now() + PM_MS(WAIT_MS);
    while (v[0].nrx == 0 && pm_now() < deadline)
        tn_pump(v, 2, NULL, NULL, 1);
    assert_int_equal(tn_count_rx(&v[0], pm_mp_get_unique_id(v[1].mp), "compressed hello"), 1);
    assert_int_equal(pm_enet_wait(v[0].e, 1), 0);
    tn_free(&v[0]);
    tn_free(&v[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creation_errors),
        cmocka_unit_test(connect_send_receive),
        cmocka_unit_test(compression_and_later),
        cmocka_unit_test(multiplayer_compressed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
