/*
 * Integration: malformed and spoofed input from a raw ENet peer (built with
 * the low-level host API, so it can send anything on any channel) and raw
 * UDP garbage. The multiplayer peer must drop it with a log line, count it,
 * keep working, and never crash (run under ASan/UBSan too). And CONNECTs
 * never acknowledged must not fill a server's slots.
 */
#include "enet_testnode.h"

#include "wire/godot_enet.h"

#define WAIT_MS 5000

static tn_node nodes[2];

static bool pump_raw_until(pm_enet_host *raw, pm_enet_event_type want, pm_enet_event *got,
                           size_t nnodes)
{
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (pm_now() < deadline) {
        for (size_t i = 0; i < nnodes; i++)
            tn_poll(&nodes[i]);
        pm_enet_event ev;
        while (pm_enet_host_service(raw, 0, &ev) > 0) {
            if (ev.type == want) {
                if (got)
                    *got = ev;
                return true;
            }
        }
        tn_sleep_us(200);
    }
    return false;
}

static void raw_send(pm_enet_packet_peer *pp, int ch, const void *data, size_t len)
{
    assert_int_equal(pm_enet_packet_peer_send(pp, ch, data, len, PM_ENET_FLAG_RELIABLE), PM_OK);
    pm_enet_host_flush(pm_enet_packet_peer_get_host(pp));
}

static void raw_data(pm_enet_packet_peer *pp, uint32_t source, int32_t target, const char *text)
{
    uint8_t b[64];
    size_t n = strlen(text);
    pm_genet_header_write(b, source, target);
    memcpy(b + 8, text, n);
    raw_send(pp, PM_GENET3_CH_RELIABLE, b, 8 + n);
}

static bool stats_reach(tn_node *v, size_t n, void *ud)
{
    const pm_enet_stats *want = ud;
    pm_enet_stats st;
    (void)n;
    pm_enet_get_stats(v[0].e, &st);
    return st.dropped_malformed >= want->dropped_malformed &&
           st.dropped_spoofed >= want->dropped_spoofed &&
           st.connections_refused >= want->connections_refused &&
           st.packets_received >= want->packets_received;
}

static bool has_rx(tn_node *v, size_t n, void *ud)
{
    (void)n;
    return v[1].nrx >= *(size_t *)ud;
}

/* A raw client against a Godot 3 server and a well-behaved client. */
static void attacker_client(void **st)
{
    (void)st;
    tn_init(&nodes[0], PM_ENET_FORMAT_GODOT3);
    assert_int_equal(pm_enet_create_server(nodes[0].e, 0, 8, 0, 0, 0), PM_OK);
    uint16_t port = pm_enet_get_local_port(nodes[0].e);
    tn_init(&nodes[1], PM_ENET_FORMAT_GODOT3);
    assert_int_equal(pm_enet_create_client(nodes[1].e, "127.0.0.1", port, 0, 0, 0, 0), PM_OK);
    int32_t victim = pm_mp_get_unique_id(nodes[1].mp);

    pm_enet_host *raw;
    assert_int_equal(pm_enet_host_create(NULL, 4, 3, 0, 0, &raw), PM_OK);
    pm_enet_packet_peer *pp;
    const uint32_t me = 0x1234;
    assert_int_equal(pm_enet_host_connect(raw, "127.0.0.1", port, 3, me, &pp), PM_OK);
    assert_true(pump_raw_until(raw, PM_ENET_EVENT_CONNECT, NULL, 2));
    pm_enet_stats want = {.packets_received = 0};
    /* Wait until the server has accepted both and told the victim about us. */
    pm_mp_event ev = {0};
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (!tn_count_events(&nodes[1], PM_MP_EVENT_PEER_CONNECTED, (int32_t)me) &&
           pm_now() < deadline) {
        tn_poll(&nodes[0]);
        tn_poll(&nodes[1]);
        pm_enet_event e2;
        (void)pm_enet_host_service(raw, 0, &e2);
        tn_sleep_us(200);
    }
    assert_int_equal(tn_count_events(&nodes[1], PM_MP_EVENT_PEER_CONNECTED, (int32_t)me), 1);
    (void)ev;

    /* Short packets, a system message to the server, spoofed sources. */
    raw_send(pp, PM_GENET3_CH_RELIABLE, "", 0);
    raw_send(pp, PM_GENET3_CH_UNRELIABLE, "1234567", 7);
    uint8_t sys[8];
    assert_int_equal(pm_genet_sysmsg_write(sys, PM_GENET_SYSMSG_REMOVE_PEER, (uint32_t)victim),
                     PM_OK);
    raw_send(pp, PM_GENET3_CH_CONFIG, sys, sizeof sys);
    raw_data(pp, (uint32_t)victim, 0, "spoof-victim");
    raw_data(pp, 1, (int32_t)victim, "spoof-server");
    raw_data(pp, me, 0x7777, "to-nobody");
    raw_data(pp, me, victim, "legit");
    want = (pm_enet_stats){.dropped_malformed = 3, .dropped_spoofed = 2};
    /* Raw UDP garbage at the server port, including ENet-looking headers. */
    uint64_t seed = 42;
    for (int i = 0; i < 200; i++) {
        uint8_t junk[64];
        size_t n = 1 + pm_test_rand(&seed) % sizeof junk;
        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)pm_test_rand(&seed);
        if (i % 2) /* peer id 0, with or without the sent-time flag */
            junk[0] &= 0x80, junk[1] = 0;
        assert_int_equal(pm_enet_host_socket_send(raw, "127.0.0.1", port, junk, n), PM_OK);
    }
    size_t one = 1;
    assert_true(tn_pump(nodes, 2, stats_reach, &want, WAIT_MS));
    assert_true(tn_pump(nodes, 2, has_rx, &one, WAIT_MS));
    tn_settle(nodes, 2, 50);
    assert_int_equal(nodes[1].nrx, 1);
    assert_int_equal(tn_count_rx(&nodes[1], (int32_t)me, "legit"), 1);
    assert_int_equal(nodes[0].nrx, 0);
    assert_int_equal(tn_count_events(&nodes[1], PM_MP_EVENT_PEER_DISCONNECTED, 0), 0);
    pm_enet_stats got;
    pm_enet_get_stats(nodes[0].e, &got);
    assert_int_equal(got.dropped_spoofed, 2);
    assert_int_equal(got.dropped_malformed, 3);

    /* Still working: the victim reaches the server. */
    assert_int_equal(tn_send(&nodes[1], 1, PM_MP_TRANSFER_RELIABLE, 0, "still ok"), PM_OK);
    want = (pm_enet_stats){.packets_received = got.packets_received + 1};
    assert_true(tn_pump(nodes, 2, stats_reach, &want, WAIT_MS));
    assert_int_equal(tn_count_rx(&nodes[0], victim, "still ok"), 1);

    /* CONNECT with ids the server must refuse: 0, 1, a duplicate, beyond 2^31-1. */
    static const uint32_t bad_ids[] = {0, 1, 0, 0x80000000u};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad_ids); i++) {
        uint32_t id = i == 2 ? (uint32_t)victim : bad_ids[i];
        pm_enet_packet_peer *bp;
        assert_int_equal(pm_enet_host_connect(raw, "127.0.0.1", port, 3, id, &bp), PM_OK);
        pm_enet_event de;
        assert_true(pump_raw_until(raw, PM_ENET_EVENT_DISCONNECT, &de, 2));
        assert_ptr_equal(de.peer, bp);
    }
    pm_enet_get_stats(nodes[0].e, &got);
    assert_int_equal(got.connections_refused, 4);
    assert_int_equal(tn_count_events(&nodes[0], PM_MP_EVENT_PEER_CONNECTED, 0), 2);

    pm_enet_host_free(raw);
    tn_free(&nodes[0]);
    tn_free(&nodes[1]);
}

/* A raw "server" feeding a Godot 3 client bad system messages and headers. */
static void attacker_server(void **st)
{
    (void)st;
    pm_enet_host *raw;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 4, 3, 0, 0, &raw), PM_OK);
    uint16_t port = pm_enet_host_get_local_port(raw);
    memset(nodes, 0, sizeof nodes);
    tn_init(&nodes[1], PM_ENET_FORMAT_GODOT3);
    assert_int_equal(pm_enet_create_client(nodes[1].e, "127.0.0.1", port, 0, 0, 0, 0), PM_OK);
    uint32_t me = (uint32_t)pm_mp_get_unique_id(nodes[1].mp);
    /* nodes[0] stays empty: the "server" is the raw host, serviced by pump_raw_until. */
    tn_node *client = &nodes[1];
    pm_enet_event ev;
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    bool connected = false;
    pm_enet_packet_peer *pp = NULL;
    while (!connected && pm_now() < deadline) {
        tn_poll(client);
        while (pm_enet_host_service(raw, 0, &ev) > 0)
            if (ev.type == PM_ENET_EVENT_CONNECT) {
                assert_int_equal(ev.data, me); /* the client id travels in CONNECT data */
                connected = true;
                pp = ev.peer;
            }
        tn_sleep_us(200);
    }
    assert_true(connected);
    deadline = pm_now() + PM_MS(WAIT_MS);
    while (pm_mp_get_connection_status(client->mp) != PM_MP_CONNECTED && pm_now() < deadline) {
        tn_poll(client);
        (void)pm_enet_host_service(raw, 0, &ev);
    }
    assert_int_equal(pm_mp_get_connection_status(client->mp), PM_MP_CONNECTED);
    tn_clear(client);

    /* Malformed system messages: wrong sizes, unknown type, bad ids, unknown REMOVE. */
    uint8_t m[9] = {0, 0, 0, 0, 0x00, 0x06, 0, 0, 0};
    raw_send(pp, 0, m, 7);
    raw_send(pp, 0, m, 9);
    uint8_t t5[8] = {5, 0, 0, 0, 0x00, 0x06, 0, 0};
    raw_send(pp, 0, t5, 8);
    uint8_t b[8];
    pm_genet_wr32le(b, PM_GENET_SYSMSG_ADD_PEER);
    pm_genet_wr32le(b + 4, 0);
    raw_send(pp, 0, b, 8);
    pm_genet_wr32le(b + 4, 1);
    raw_send(pp, 0, b, 8);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, me), PM_OK);
    raw_send(pp, 0, b, 8);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_REMOVE_PEER, 0x555), PM_OK);
    raw_send(pp, 0, b, 8);
    /* Then a valid ADD, a duplicate ADD, a valid REMOVE. */
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, 0x600), PM_OK);
    raw_send(pp, 0, b, 8);
    raw_send(pp, 0, b, 8);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_REMOVE_PEER, 0x600), PM_OK);
    raw_send(pp, 0, b, 8);
    /* Data: too short, impossible sources, then valid ones. */
    raw_send(pp, 1, "abc", 3);
    raw_data(pp, 0, 0, "src0");
    raw_data(pp, me, 0, "srcme");
    raw_data(pp, 0x80000001u, 0, "srcbig");
    raw_data(pp, 1, (int32_t)me, "from-server");
    raw_data(pp, 0x700, 0, "from-unannounced");

    size_t two = 2;
    /* nodes[0] is unused here; pump only the client. */
    deadline = pm_now() + PM_MS(WAIT_MS);
    while (client->nrx < two && pm_now() < deadline) {
        tn_poll(client);
        (void)pm_enet_host_service(raw, 0, &ev);
        tn_sleep_us(200);
    }
    for (int i = 0; i < 50; i++) { /* let anything that should not arrive have its chance */
        tn_poll(client);
        (void)pm_enet_host_service(raw, 0, &ev);
        tn_sleep_us(200);
    }
    assert_int_equal(client->nrx, 2);
    assert_int_equal(tn_count_rx(client, 1, "from-server"), 1);
    assert_int_equal(tn_count_rx(client, 0x700, "from-unannounced"), 1);
    assert_int_equal(client->nev, 2);
    assert_int_equal(client->ev[0].type, PM_MP_EVENT_PEER_CONNECTED);
    assert_int_equal(client->ev[0].peer_id, 0x600);
    assert_int_equal(client->ev[1].type, PM_MP_EVENT_PEER_DISCONNECTED);
    assert_int_equal(client->ev[1].peer_id, 0x600);
    pm_enet_stats cs;
    pm_enet_get_stats(client->e, &cs);
    assert_int_equal(cs.dropped_malformed, 9); /* 7 bad sysmsgs + duplicate ADD + short data */
    assert_int_equal(cs.dropped_spoofed, 3);
    assert_int_equal(pm_mp_get_connection_status(client->mp), PM_MP_CONNECTED);

    tn_free(client);
    pm_enet_host_free(raw);
}

/* Godot 4 has no header: the connection alone says who sent it, nothing can be spoofed. */
static void godot4_raw_bytes(void **st)
{
    (void)st;
    tn_init(&nodes[0], PM_ENET_FORMAT_GODOT4);
    assert_int_equal(pm_enet_create_server(nodes[0].e, 0, 8, 0, 0, 0), PM_OK);
    uint16_t port = pm_enet_get_local_port(nodes[0].e);
    pm_enet_host *raw;
    assert_int_equal(pm_enet_host_create(NULL, 1, 0, 0, 0, &raw), PM_OK);
    pm_enet_packet_peer *pp;
    assert_int_equal(pm_enet_host_connect(raw, "127.0.0.1", port, 0, 0x4444, &pp), PM_OK);
    assert_true(pump_raw_until(raw, PM_ENET_EVENT_CONNECT, NULL, 1));
    assert_int_equal(pm_enet_packet_peer_get_channels(pp), 255);
    uint8_t hdr[8];
    pm_genet_header_write(hdr, 1, 0); /* looks like a 3.2 header: just payload here */
    raw_send(pp, 7, hdr, sizeof hdr);
    raw_send(pp, 0, "", 0);
    pm_enet_stats want = {.packets_received = 2};
    assert_true(tn_pump(nodes, 1, stats_reach, &want, WAIT_MS));
    assert_int_equal(nodes[0].nrx, 2);
    assert_int_equal(nodes[0].rx[0].from, 0x4444);
    assert_int_equal(nodes[0].rx[0].channel, 6);
    assert_int_equal(nodes[0].rx[0].len, 8);
    assert_int_equal(nodes[0].rx[1].len, 0);
    pm_enet_host_free(raw);
    tn_free(&nodes[0]);
}

/* 40 CONNECTs from one address that are never acknowledged (each would
 * hold a slot for ~30 s) against a 32-slot server: a client from another
 * address still gets in, and the 4 let in are dropped after 1 s. */
static void unfinished_connects_leave_slots_free(void **st)
{
    (void)st;
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.bind_ip = "127.0.0.1";
    cfg.pending_timeout_ms = 1000;
    tn_node *srv = &nodes[0], *cli = &nodes[1];
    memset(nodes, 0, sizeof nodes);
    assert_int_equal(pm_enet_new(&cfg, &srv->e), PM_OK);
    srv->mp = pm_enet_multiplayer(srv->e);
    assert_int_equal(pm_enet_create_server(srv->e, 0, 32, 0, 0, 0), PM_OK);
    uint16_t port = pm_enet_get_local_port(srv->e);
    enum { ATTACK = 40 };
    pm_enet_host *raw[ATTACK];
    for (int i = 0; i < ATTACK; i++) {
        assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 3, 0, 0, &raw[i]),
                         PM_OK);
        assert_int_equal(
            pm_enet_host_connect(raw[i], "127.0.0.1", port, 3, 100 + (uint32_t)i, NULL), PM_OK);
        pm_enet_host_flush(raw[i]);
    }
    for (pm_time end = pm_now() + PM_MS(300); pm_now() < end;) {
        tn_poll(srv);
        tn_sleep_us(1000);
    }
    pm_enet_stats stats;
    pm_enet_get_stats(srv->e, &stats);
    assert_true(stats.connections_pending_refused >= ATTACK - 4);
    /* A client from another address connects at once. */
    cfg.bind_ip = "127.0.0.2";
    assert_int_equal(pm_enet_new(&cfg, &cli->e), PM_OK);
    cli->mp = pm_enet_multiplayer(cli->e);
    assert_int_equal(pm_enet_create_client(cli->e, "127.0.0.1", port, 0, 0, 0, 0), PM_OK);
    pm_time t0 = pm_now();
    while (pm_mp_get_connection_status(cli->mp) != PM_MP_CONNECTED && pm_now() < t0 + PM_SEC(3)) {
        tn_poll(srv);
        tn_poll(cli);
        tn_sleep_us(500);
    }
    assert_int_equal(pm_mp_get_connection_status(cli->mp), PM_MP_CONNECTED);
    print_message("connected in %lld ms\n", (long long)((pm_now() - t0) / 1000));
    /* After the pending timeout only the real client holds a slot. */
    for (pm_time end = pm_now() + PM_MS(1500); pm_now() < end;) {
        tn_poll(srv);
        tn_poll(cli);
        tn_sleep_us(1000);
    }
    pm_enet_packet_peer *held[40];
    assert_int_equal(pm_enet_host_get_peers(pm_enet_get_host(srv->e), held, 40), 1);
    for (int i = 0; i < ATTACK; i++)
        pm_enet_host_free(raw[i]);
    tn_free(cli);
    tn_free(srv);
}

/* Hole punching's capture and the pending limits share ENet's one
 * intercept: with both on, a punch datagram is kept and CONNECTs beyond the
 * limit are dropped; with the capture off again the limits still hold. */
static void capture_and_pending_limits_share_the_intercept(void **st)
{
    (void)st;
    pm_enet_host *h = NULL;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 8, 2, 0, 0, &h), PM_OK);
    uint16_t port = pm_enet_host_get_local_port(h);
    assert_int_equal(pm_enet_host_limit_pending(h, 1, 0, 0), PM_OK);
    assert_int_equal(pm_enet_host_capture_raw(h, true), PM_OK);
    enum { N = 4 };
    pm_enet_host *raw[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 2, 0, 0, &raw[i]),
                         PM_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pm_enet_host_connect(raw[i], "127.0.0.1", port, 2, 0, NULL), PM_OK);
        pm_enet_host_flush(raw[i]);
    }
    static const uint8_t punch[] = "PMPUNCH test";
    assert_int_equal(pm_enet_host_socket_send(raw[3], "127.0.0.1", port, punch, sizeof punch),
                     PM_OK);
    pm_enet_event ev;
    for (pm_time end = pm_now() + PM_MS(200); pm_now() < end;) {
        (void)pm_enet_host_service(h, 1, &ev);
    }
    assert_int_equal(pm_enet_host_pending_refused(h), 2);
    pm_addr from;
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(pm_enet_host_next_raw(h, &from, buf, sizeof buf, &len), PM_OK);
    assert_int_equal(len, sizeof punch);
    assert_memory_equal(buf, punch, len);
    assert_int_equal(pm_enet_host_capture_raw(h, false), PM_OK);
    assert_int_equal(pm_enet_host_connect(raw[3], "127.0.0.1", port, 2, 0, NULL), PM_OK);
    pm_enet_host_flush(raw[3]);
    for (pm_time end = pm_now() + PM_MS(200); pm_now() < end;) {
        (void)pm_enet_host_service(h, 1, &ev);
    }
    assert_int_equal(pm_enet_host_pending_refused(h), 3);
    for (int i = 0; i < N; i++)
        pm_enet_host_free(raw[i]);
    pm_enet_host_free(h);
}

/* The limit's reset of an unfinished connection is in the host's deadline:
 * a program sleeping on pm_enet_host_fd() until pm_enet_host_next_timeout()
 * resets it in time, not at ENet's next retransmission (~0.5 s, then ~1 s
 * later). */
static void pending_reset_is_in_the_deadline(void **state)
{
    (void)state;
    pm_enet_host *h = NULL, *guest = NULL;
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 8, 2, 0, 0, &h), PM_OK);
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, 2, 0, 0, &guest), PM_OK);
    assert_int_equal(pm_enet_host_limit_pending(h, 0, 0, 200), PM_OK);
    /* A CONNECT whose sender never answers the VERIFY_CONNECT (never serviced). */
    assert_int_equal(
        pm_enet_host_connect(guest, "127.0.0.1", pm_enet_host_get_local_port(h), 2, 0, NULL),
        PM_OK);
    pm_enet_host_flush(guest);
    pm_time start = pm_now(), end = start + PM_SEC(5);
    int wakeups = 0;
    pm_enet_event ev;
    while (pm_enet_host_pending_refused(h) == 0 && pm_now() < end) {
        pm_time deadline = PM_MIN(pm_enet_host_next_timeout(h), end);
        assert_true(pm_wait(pm_enet_host_fd(h), deadline) >= 0);
        wakeups++;
        while (pm_enet_host_service(h, 0, &ev) > 0)
            ;
    }
    pm_time took = pm_now() - start;
    print_message("pending connection reset after %.3f s, %d wake-ups\n", (double)took / 1e6,
                  wakeups);
    assert_int_equal(pm_enet_host_pending_refused(h), 1);
    assert_true(took >= PM_MS(200));
    assert_true(took < PM_SEC(1)); /* ENet's own timers alone: ~1.5 s */
    pm_enet_host_free(guest);
    pm_enet_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attacker_client),
        cmocka_unit_test(pending_reset_is_in_the_deadline),
        cmocka_unit_test(attacker_server),
        cmocka_unit_test(godot4_raw_bytes),
        cmocka_unit_test(unfinished_connects_leave_slots_free),
        cmocka_unit_test(capture_and_pending_limits_share_the_intercept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
