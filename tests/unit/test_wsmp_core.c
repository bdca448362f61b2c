/*
 * Unit tests: src/multiplayer/wsmp_core (Godot 3.2 WebSocketMultiplayerPeer,
 * sans-I/O) and src/wire/godot_wsmp (its 9-byte framing). Connections are
 * plain numbers; the tests read the actions the core asks for.
 */
#include "testutil.h"

#include "multiplayer/wsmp_core.h"
#include "wire/godot_wsmp.h"

typedef struct action {
    pm_wsmp_action what;
    uint64_t conn;
    uint8_t data[256];
    size_t len;
} action;

static size_t take(pm_wsmp *c, action *out, size_t cap)
{
    size_t n = 0;
    pm_wsmp_action a;
    uint64_t conn;
    const uint8_t *d;
    size_t len;
    while (pm_wsmp_next_output(c, &a, &conn, &d, &len)) {
        assert_true(n < cap);
        assert_true(len <= sizeof out[n].data);
        out[n] = (action){.what = a, .conn = conn, .len = len};
        memcpy(out[n].data, d, len);
        n++;
    }
    return n;
}

static void quiet(void *ud, pm_log_level l, const char *c, const char *m)
{
    (void)ud, (void)l, (void)c, (void)m;
}

static void init(pm_wsmp *c, bool server)
{
    pm_env e;
    pm_test_env(&e, 7);
    e.log = quiet;
    pm_envr env;
    pm_env_resolve(&env, &e);
    pm_wsmp_init(c, &env, 1000, 1 << 20);
    pm_wsmp_start(c, server);
}

static bool is_sys(const action *a, uint64_t conn, uint8_t type, int32_t id)
{
    uint8_t t;
    int32_t got;
    return a->what == PM_WSMP_SEND && a->conn == conn &&
           pm_gws_sys_read(a->data, a->len, &t, &got) == PM_OK && t == type && got == id &&
           pm_rd32le(a->data + 1) == 1 && pm_rd32le(a->data + 5) == 0;
}

static void framing(void **st)
{
    (void)st;
    uint8_t h[PM_GWS_HEADER_LEN];
    pm_gws_header_write(h, 0, 0x01020304, -2);
    static const uint8_t want[] = {0, 4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff};
    assert_memory_equal(h, want, sizeof want);
    pm_gws_header r;
    assert_int_equal(pm_gws_header_read(h, sizeof h, &r), PM_OK);
    assert_int_equal(r.from, 0x01020304);
    assert_int_equal(r.to, -2);
    assert_int_equal(pm_gws_header_read(h, 8, &r), PM_ERR_PARSE);
    uint8_t s[PM_GWS_SYS_LEN];
    pm_gws_sys_write(s, PM_GWS_SYS_ID, 77);
    static const uint8_t sys[] = {3, 1, 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0};
    assert_memory_equal(s, sys, sizeof sys);
    uint8_t t;
    int32_t id;
    assert_int_equal(pm_gws_sys_read(s, sizeof s, &t, &id), PM_OK);
    assert_int_equal(id, 77);
    assert_int_equal(pm_gws_sys_read(s, 12, &t, &id), PM_ERR_PARSE);
    s[0] = 4;
    assert_int_equal(pm_gws_sys_read(s, sizeof s, &t, &id), PM_ERR_PARSE);
    s[0] = 0;
    assert_int_equal(pm_gws_sys_read(s, sizeof s, &t, &id), PM_ERR_PARSE);
}

/* Two clients join: ids, announcements both ways, events. Returns their ids. */
static void join_two(pm_wsmp *c, int32_t *a, int32_t *b)
{
    action out[16];
    pm_mp_event ev;
    pm_wsmp_on_open(c, 100);
    size_t n = take(c, out, 16);
    assert_int_equal(n, 2);
    uint8_t t;
    assert_int_equal(pm_gws_sys_read(out[0].data, out[0].len, &t, a), PM_OK);
    assert_int_equal(t, PM_GWS_SYS_ID);
    assert_true(*a >= 2);
    assert_true(is_sys(&out[1], 100, PM_GWS_SYS_ADD, 1));
    assert_true(pm_wsmp_next_event(c, &ev));
    assert_int_equal(ev.type, PM_MP_EVENT_PEER_CONNECTED);
    assert_int_equal(ev.peer_id, *a);

    pm_wsmp_on_open(c, 200);
    n = take(c, out, 16);
    assert_int_equal(n, 4);
    assert_int_equal(pm_gws_sys_read(out[0].data, out[0].len, &t, b), PM_OK);
    assert_true(*b >= 2 && *b != *a);
    assert_true(is_sys(&out[1], 200, PM_GWS_SYS_ADD, 1));
    assert_true(is_sys(&out[2], 100, PM_GWS_SYS_ADD, *b));
    assert_true(is_sys(&out[3], 200, PM_GWS_SYS_ADD, *a));
    assert_true(pm_wsmp_next_event(c, &ev));
    assert_int_equal(ev.peer_id, *b);
    assert_false(pm_wsmp_next_event(c, &ev));
}

static void data(uint8_t *m, int32_t from, int32_t to, const char *payload)
{
    pm_gws_header_write(m, PM_GWS_SYS_NONE, from, to);
    memcpy(m + PM_GWS_HEADER_LEN, payload, strlen(payload));
}

static void server_relays_and_checks(void **st)
{
    (void)st;
    pm_wsmp c;
    init(&c, true);
    assert_int_equal(c.unique_id, 1);
    assert_int_equal(c.status, PM_MP_CONNECTED);
    int32_t a, b;
    join_two(&c, &a, &b);
    action out[16];
    pm_mp_packet p;
    uint8_t m[64];

    /* To the server only. */
    data(m, a, 1, "hi");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 2);
    assert_int_equal(take(&c, out, 16), 0);
    assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_OK);
    assert_int_equal(p.from, a);
    assert_int_equal(p.len, 2);
    assert_memory_equal(p.data, "hi", 2);
    /* To B only: relayed unchanged, not kept. */
    data(m, a, b, "to-b");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 4);
    assert_int_equal(take(&c, out, 16), 1);
    assert_int_equal(out[0].conn, 200);
    assert_int_equal(out[0].len, PM_GWS_HEADER_LEN + 4);
    assert_memory_equal(out[0].data, m, out[0].len);
    /* Broadcast: kept and relayed to B. */
    data(m, a, 0, "all");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 3);
    assert_int_equal(take(&c, out, 16), 1);
    assert_int_equal(out[0].conn, 200);
    /* All but B: kept, relayed to nobody. All but the server: relayed, not kept. */
    data(m, a, -b, "nb");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 2);
    assert_int_equal(take(&c, out, 16), 0);
    data(m, a, -1, "ns");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 2);
    assert_int_equal(take(&c, out, 16), 1);
    const char *want[] = {"all", "nb"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_OK);
        assert_memory_equal(p.data, want[i], strlen(want[i]));
    }
    assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_ERR_AGAIN);

    /* Spoofed sender, system message from a client, short message, unknown target. */
    data(m, b, 1, "x");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 1);
    pm_gws_sys_write(m, PM_GWS_SYS_ADD, 5);
    pm_wsmp_on_message(&c, 100, m, PM_GWS_SYS_LEN);
    pm_wsmp_on_message(&c, 100, m, 3);
    data(m, a, 12345, "x");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 1);
    assert_int_equal(take(&c, out, 16), 0);
    assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_ERR_AGAIN);
    assert_int_equal(c.stats.dropped_spoofed, 1);
    assert_int_equal(c.stats.dropped_malformed, 2);
    /* A still works afterwards. */
    data(m, a, 1, "ok");
    pm_wsmp_on_message(&c, 100, m, PM_GWS_HEADER_LEN + 2);
    assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_OK);

    /* The server's own packets: [0][1][target][data]. */
    assert_int_equal(pm_wsmp_put_packet(&c, a, (const uint8_t *)"yo", 2), PM_OK);
    assert_int_equal(take(&c, out, 16), 1);
    pm_gws_header h;
    pm_gws_header_read(out[0].data, out[0].len, &h);
    assert_int_equal(h.from, 1);
    assert_int_equal(h.to, a);
    assert_int_equal(out[0].conn, 100);
    assert_int_equal(pm_wsmp_put_packet(&c, 0, (const uint8_t *)"yo", 2), PM_OK);
    assert_int_equal(take(&c, out, 16), 2);
    assert_int_equal(pm_wsmp_put_packet(&c, -a, (const uint8_t *)"yo", 2), PM_OK);
    assert_int_equal(take(&c, out, 16), 1);
    assert_int_equal(out[0].conn, 200);
    assert_int_equal(pm_wsmp_put_packet(&c, 999, (const uint8_t *)"yo", 2), PM_ERR_INVALID);
    uint8_t big[1001] = {0};
    assert_int_equal(pm_wsmp_put_packet(&c, 0, big, sizeof big), PM_ERR_TOO_BIG);

    /* A leaves: B hears of it. */
    pm_wsmp_on_closed(&c, 100);
    assert_int_equal(take(&c, out, 16), 1);
    assert_true(is_sys(&out[0], 200, PM_GWS_SYS_DEL, a));
    pm_mp_event ev;
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(ev.type, PM_MP_EVENT_PEER_DISCONNECTED);
    assert_int_equal(ev.peer_id, a);
    /* Refusing: a newcomer is dropped. Forcing B out: no event, a DROP. */
    c.refuse = true;
    pm_wsmp_on_open(&c, 300);
    assert_int_equal(take(&c, out, 16), 1);
    assert_int_equal(out[0].what, PM_WSMP_DROP);
    assert_int_equal(pm_wsmp_disconnect_peer(&c, b, true), PM_OK);
    assert_int_equal(take(&c, out, 16), 1);
    assert_int_equal(out[0].what, PM_WSMP_DROP);
    assert_false(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(pm_wsmp_disconnect_peer(&c, b, false), PM_ERR_INVALID);
    pm_wsmp_free(&c);
}

static void client_follows_the_server(void **st)
{
    (void)st;
    pm_wsmp c;
    init(&c, false);
    assert_int_equal(c.status, PM_MP_CONNECTING);
    pm_wsmp_on_open(&c, 9);
    assert_int_equal(pm_wsmp_put_packet(&c, 1, (const uint8_t *)"x", 1), PM_ERR_STATE);
    uint8_t m[64];
    pm_gws_sys_write(m, PM_GWS_SYS_ID, 42);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    assert_int_equal(c.unique_id, 42);
    assert_int_equal(c.status, PM_MP_CONNECTING);
    pm_gws_sys_write(m, PM_GWS_SYS_ADD, 1);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    assert_int_equal(c.status, PM_MP_CONNECTED);
    pm_mp_event ev;
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_true(ev.type == PM_MP_EVENT_PEER_CONNECTED && ev.peer_id == 1);
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(ev.type, PM_MP_EVENT_CONNECTION_SUCCEEDED);
    pm_gws_sys_write(m, PM_GWS_SYS_ADD, 7);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_true(ev.type == PM_MP_EVENT_PEER_CONNECTED && ev.peer_id == 7);
    /* Bad system messages: a second ID, our own id, id 0, unknown type. */
    pm_gws_sys_write(m, PM_GWS_SYS_ID, 43);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    pm_gws_sys_write(m, PM_GWS_SYS_ADD, 42);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    pm_gws_sys_write(m, PM_GWS_SYS_DEL, 0);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    m[0] = 9;
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    assert_int_equal(c.unique_id, 42);
    assert_false(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(c.stats.dropped_malformed, 4);

    /* Sending: [0][42][target][data] to the server's connection. */
    action out[8];
    assert_int_equal(pm_wsmp_put_packet(&c, 7, (const uint8_t *)"hey", 3), PM_OK);
    assert_int_equal(pm_wsmp_put_packet(&c, 8, (const uint8_t *)"hey", 3), PM_ERR_INVALID);
    assert_int_equal(take(&c, out, 8), 1);
    assert_int_equal(out[0].conn, 9);
    static const uint8_t want[] = {0, 42, 0, 0, 0, 7, 0, 0, 0, 'h', 'e', 'y'};
    assert_int_equal(out[0].len, sizeof want);
    assert_memory_equal(out[0].data, want, sizeof want);
    /* Receiving: the header's sender. */
    data(m, 7, 42, "yo");
    pm_wsmp_on_message(&c, 9, m, PM_GWS_HEADER_LEN + 2);
    pm_mp_packet p;
    assert_int_equal(pm_wsmp_get_packet(&c, &p), PM_OK);
    assert_int_equal(p.from, 7);
    assert_memory_equal(p.data, "yo", 2);
    pm_gws_sys_write(m, PM_GWS_SYS_DEL, 7);
    pm_wsmp_on_message(&c, 9, m, PM_GWS_SYS_LEN);
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_true(ev.type == PM_MP_EVENT_PEER_DISCONNECTED && ev.peer_id == 7);
    /* The server goes away. */
    pm_wsmp_on_closed(&c, 9);
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(ev.type, PM_MP_EVENT_SERVER_DISCONNECTED);
    assert_int_equal(c.status, PM_MP_DISCONNECTED);
    pm_wsmp_free(&c);

    /* A connection that ends before the id came: CONNECTION_FAILED. */
    init(&c, false);
    pm_wsmp_on_open(&c, 9);
    pm_wsmp_on_closed(&c, 9);
    assert_true(pm_wsmp_next_event(&c, &ev));
    assert_int_equal(ev.type, PM_MP_EVENT_CONNECTION_FAILED);
    pm_wsmp_free(&c);
}

/* A server core and client cores wired back to back: what one sends the other reads. */
static void pump(pm_wsmp *server, pm_wsmp *clients, size_t n)
{
    for (bool moved = true; moved;) {
        moved = false;
        action out[32];
        size_t k = take(server, out, 32);
        for (size_t i = 0; i < k; i++, moved = true)
            pm_wsmp_on_message(&clients[out[i].conn - 1], 1, out[i].data, out[i].len);
        for (size_t c = 0; c < n; c++) {
            k = take(&clients[c], out, 32);
            for (size_t i = 0; i < k; i++, moved = true)
                pm_wsmp_on_message(server, c + 1, out[i].data, out[i].len);
        }
    }
}

static void server_and_clients_back_to_back(void **st)
{
    (void)st;
    pm_wsmp s, cl[2];
    init(&s, true);
    for (int i = 0; i < 2; i++)
        init(&cl[i], false);
    for (int i = 0; i < 2; i++) {
        pm_wsmp_on_open(&cl[i], 1);
        pm_wsmp_on_open(&s, (uint64_t)i + 1);
        pump(&s, cl, 2);
        assert_int_equal(cl[i].status, PM_MP_CONNECTED);
    }
    /* Client 0 learnt of client 1 and reaches it through the server. */
    int32_t id1 = cl[1].unique_id;
    assert_int_equal(pm_wsmp_put_packet(&cl[0], id1, (const uint8_t *)"via", 3), PM_OK);
    pump(&s, cl, 2);
    pm_mp_packet p;
    assert_int_equal(pm_wsmp_get_packet(&cl[1], &p), PM_OK);
    assert_int_equal(p.from, cl[0].unique_id);
    assert_memory_equal(p.data, "via", 3);
    assert_int_equal(pm_wsmp_get_packet(&s, &p), PM_ERR_AGAIN);
    assert_int_equal(s.stats.packets_relayed, 1);
    for (int i = 0; i < 2; i++)
        pm_wsmp_free(&cl[i]);
    pm_wsmp_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing),
        cmocka_unit_test(server_relays_and_checks),
        cmocka_unit_test(client_follows_the_server),
        cmocka_unit_test(server_and_clients_back_to_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
