/*
 * Integration: "one way to wait" (common.h). Programs that sleep only on an
 * object's descriptor until its deadline, on loopback and the real clock:
 *
 *  - two signaling clients (pm_signal_client_fd / _next_timeout) with a
 *    server in another thread: a lone host idles through many server pings
 *    (it must answer them while asleep, or the server closes it with 4004)
 *    without being woken every few milliseconds (and its descriptor says
 *    when its connect completed); a second client joins, the
 *    mesh forms and carries packets; after the seal signaling closes and the
 *    same descriptor keeps serving the mesh;
 *  - two signaling clients on the ENet transport: hole punching, ENet's
 *    handshake and packets with the same one descriptor each;
 *  - an ENet server and client (pm_enet_fd / _next_timeout): connect,
 *    reliable packets both ways, an idle second with ENet's pings;
 *  - pm_wait itself.
 */
#include "sigthread.h"
#include "testutil.h"

#include "peermesh/enet.h"
#include "peermesh/signaling.h"

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#define LIMIT PM_SEC(15)

/* ---- helpers ---------------------------------------------------------- */

/* Sleep on every fd at once until the earliest deadline; count the wake-ups. */
static int wakeups;

static void sleep_on(const int *fds, const pm_time *deadlines, size_t n)
{
    struct pollfd p[8];
    pm_time until = PM_TIME_NEVER;
    for (size_t i = 0; i < n; i++) {
        assert_true(fds[i] >= 0);
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        until = PM_MIN(until, deadlines[i]);
    }
    pm_time left = until == PM_TIME_NEVER ? PM_SEC(1) : PM_MAX(until - pm_now(), 0);
    int ms = (int)((left + 999) / 1000); /* round up: waking early is a wasted round */
    assert_true(poll(p, n, ms) >= 0);
    wakeups++;
}

/* ---- the signaling client --------------------------------------------- */

typedef struct node {
    pm_signal_client *c;
    char lobby[64];
    bool closed;
    int close_code;
    int peers;    /* connected mesh peers */
    int received; /* packets */
} node;

static void drain(node *n)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(n->c, &ev)) {
        if (ev.type == PM_SIGNAL_EVENT_JOINED)
            snprintf(n->lobby, sizeof n->lobby, "%s", ev.lobby);
        if (ev.type == PM_SIGNAL_EVENT_CLOSED) {
            n->closed = true;
            n->close_code = ev.close_code;
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(n->c);
    pm_mp_event mev;
    while (mp && pm_mp_next_event(mp, &mev)) {
        if (mev.type == PM_MP_EVENT_PEER_CONNECTED)
            n->peers++;
        if (mev.type == PM_MP_EVENT_PEER_DISCONNECTED)
            n->peers--;
    }
    pm_mp_packet pkt;
    while (mp && pm_mp_get_packet(mp, &pkt) == PM_OK)
        n->received++;
}

typedef bool (*cond_fn)(node *nodes, size_t n);

/* Sleep on the clients' descriptors until cond, or until `limit` has passed (cond NULL). */
static bool run(node *nodes, size_t n, cond_fn cond, pm_time limit)
{
    pm_time end = pm_now() + limit;
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            (void)pm_signal_client_poll(nodes[i].c);
            drain(&nodes[i]);
        }
        if (cond && cond(nodes, n))
            return true;
        if (pm_now() >= end)
            return cond == NULL;
        int fds[8];
        pm_time deadlines[8];
        for (size_t i = 0; i < n; i++) {
            fds[i] = pm_signal_client_fd(nodes[i].c);
            deadlines[i] = PM_MIN(pm_signal_client_next_timeout(nodes[i].c), end);
        }
        sleep_on(fds, deadlines, n);
    }
}

static bool host_joined(node *nodes, size_t n)
{
    return nodes[0].lobby[0] != 0;
}

static bool all_connected(node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i].peers != (int)n - 1)
            return false;
    return true;
}

static bool all_received(node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i].received < 1)
            return false;
    return true;
}

static bool all_closed(node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!nodes[i].closed)
            return false;
    return true;
}

static void start_client_on(node *n, const char *url, const char *lobby,
                            pm_signal_transport transport)
{
    memset(n, 0, sizeof *n);
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = url;
    cfg.lobby = lobby;
    cfg.rtc.bind_address = "127.0.0.1";
    cfg.transport = transport;
    cfg.enet.bind_ip = "127.0.0.1";
    assert_int_equal(pm_signal_client_new(&cfg, &n->c), PM_OK);
}

static void start_client(node *n, const char *url, const char *lobby)
{
    start_client_on(n, url, lobby, PM_SIGNAL_TRANSPORT_WEBRTC);
}

static void broadcast(node *n)
{
    pm_multiplayer *mp = pm_signal_client_multiplayer(n->c);
    assert_non_null(mp);
    assert_int_equal(pm_mp_put_packet(mp, (const uint8_t *)"hi", 2), PM_OK);
}

static void test_signal_client_sleeps_on_fd(void **state)
{
    pm_test_server st;
    pm_signal_server_config scfg;
    pm_signal_server_config_default(&scfg);
    scfg.ping_interval = PM_MS(150); /* a client that does not answer is closed within 300 ms */
    scfg.seal_delay = PM_MS(100);
    char url[64];
    pm_test_server_start(&st, &scfg, url, sizeof url);

    node nodes[2];
    start_client(&nodes[0], url, NULL);
    int fd0 = pm_signal_client_fd(nodes[0].c);
    assert_true(fd0 >= 0);
    /* The connect completes without a word from the server (the client speaks first once its
     * socket is writable): the descriptor alone must say so, whatever the deadline says. */
    assert_int_equal(pm_wait(fd0, pm_now() + PM_SEC(5)), 1);
    assert_true(run(nodes, 1, host_joined, LIMIT));

    /* Alone in the lobby for 1.5 s: ten server pings, each answered while asleep. With the old
     * 10 ms polling this was 150 wake-ups; pings cost one or two each. */
    wakeups = 0;
    assert_true(run(nodes, 1, NULL, PM_MS(1500)));
    assert_false(nodes[0].closed);
    assert_int_equal(pm_signal_client_state(nodes[0].c), PM_SIGNAL_JOINED);
    printf("lone client: %d wake-ups in 1.5 s\n", wakeups);
    assert_true(wakeups >= 5);  /* the pings did wake it */
    assert_true(wakeups <= 60); /* nothing else did */

    start_client(&nodes[1], url, nodes[0].lobby);
    assert_true(run(nodes, 2, all_connected, LIMIT));
    broadcast(&nodes[0]);
    broadcast(&nodes[1]);
    assert_true(run(nodes, 2, all_received, LIMIT));

    /* The seal: the server closes signaling (1000), the mesh stays on the same descriptor. */
    assert_int_equal(pm_signal_client_seal(nodes[0].c), PM_OK);
    assert_true(run(nodes, 2, all_closed, LIMIT));
    assert_int_equal(nodes[0].close_code, PM_SIGNAL_CLOSE_NORMAL);
    assert_int_equal(pm_signal_client_fd(nodes[0].c), fd0);
    nodes[0].received = nodes[1].received = 0;
    broadcast(&nodes[0]);
    broadcast(&nodes[1]);
    assert_true(run(nodes, 2, all_received, LIMIT));
    assert_true(all_connected(nodes, 2));

    pm_signal_client_free(nodes[0].c);
    pm_signal_client_free(nodes[1].c);
    pm_test_server_stop(&st);
}

/* The ENet transport: hole punching and ENet's handshake between two clients that only sleep
 * on their descriptors (the links' hosts, then the ENet mesh's), and packets both ways. */
static void test_signal_enet_sleeps_on_fd(void **state)
{
    pm_test_server st;
    pm_signal_server_config scfg;
    pm_signal_server_config_default(&scfg);
    char url[64];
    pm_test_server_start(&st, &scfg, url, sizeof url);
    node nodes[2];
    start_client_on(&nodes[0], url, NULL, PM_SIGNAL_TRANSPORT_ENET);
    assert_true(run(nodes, 1, host_joined, LIMIT));
    start_client_on(&nodes[1], url, nodes[0].lobby, PM_SIGNAL_TRANSPORT_ENET);
    assert_true(run(nodes, 2, all_connected, LIMIT));
    assert_non_null(pm_signal_client_enet(nodes[0].c));
    broadcast(&nodes[0]);
    broadcast(&nodes[1]);
    assert_true(run(nodes, 2, all_received, LIMIT));
    /* A packet for a client with nothing else pending makes its descriptor readable. */
    int fd0 = pm_signal_client_fd(nodes[0].c);
    for (int i = 0; i < 100 && pm_wait(fd0, pm_now()) == 1; i++) {
        (void)pm_signal_client_poll(nodes[0].c);
        drain(&nodes[0]);
    }
    assert_int_equal(pm_wait(fd0, pm_now()), 0);
    broadcast(&nodes[1]);
    (void)pm_signal_client_poll(nodes[1].c); /* ENet sends in its service */
    assert_int_equal(pm_wait(fd0, pm_now() + PM_SEC(2)), 1);
    assert_true(run(nodes, 2, all_received, LIMIT));
    /* Idle: ENet's pings (every 500 ms) and the server's, not a poll every few milliseconds. */
    wakeups = 0;
    assert_true(run(nodes, 2, NULL, PM_MS(1000)));
    printf("ENet transport, two clients: %d wake-ups in 1 s of idling\n", wakeups);
    assert_true(wakeups <= 40);
    assert_true(all_connected(nodes, 2));
    pm_signal_client_free(nodes[0].c);
    pm_signal_client_free(nodes[1].c);
    pm_test_server_stop(&st);
}

/* ---- the mesh and ENet ------------------------------------------------ */

static void test_mesh_fd(void **state)
{
    assert_int_equal(pm_mesh_fd(NULL), PM_ERR_INVALID);
    pm_mesh *m;
    assert_int_equal(pm_mesh_new(NULL, &m), PM_OK);
    int fd = pm_mesh_fd(m);
    assert_true(fd >= 0);
    assert_int_equal(pm_wait(fd, pm_now()), 0); /* an empty mesh has nothing to read */
    assert_int_equal(pm_mesh_next_timeout(m), PM_TIME_NEVER);
    pm_mesh_free(m);
}

typedef struct enet_side {
    pm_enet *e;
    int peers;
    int received;
} enet_side;

static void enet_drain(enet_side *s)
{
    pm_multiplayer *mp = pm_enet_multiplayer(s->e);
    assert_int_equal(pm_mp_poll(mp), PM_OK);
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        if (ev.type == PM_MP_EVENT_PEER_CONNECTED)
            s->peers++;
        if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED)
            s->peers--;
    }
    pm_mp_packet p;
    while (pm_mp_get_packet(mp, &p) == PM_OK)
        s->received++;
}

static void enet_run(enet_side *s, pm_time limit, int want_received)
{
    pm_time end = pm_now() + limit;
    for (;;) {
        enet_drain(&s[0]);
        enet_drain(&s[1]);
        if (want_received >= 0 && s[0].received >= want_received &&
            s[1].received >= want_received && s[0].peers == 1 && s[1].peers == 1)
            return;
        if (pm_now() >= end) {
            assert_true(want_received < 0);
            return;
        }
        int fds[2] = {pm_enet_fd(s[0].e), pm_enet_fd(s[1].e)};
        pm_time d[2] = {PM_MIN(pm_enet_next_timeout(s[0].e), end),
                        PM_MIN(pm_enet_next_timeout(s[1].e), end)};
        sleep_on(fds, d, 2);
    }
}

static void test_enet_sleeps_on_fd(void **state)
{
    enet_side s[2] = {{0}};
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.bind_ip = "127.0.0.1";
    assert_int_equal(pm_enet_new(&cfg, &s[0].e), PM_OK);
    assert_int_equal(pm_enet_new(&cfg, &s[1].e), PM_OK);
    int fd = pm_enet_fd(s[0].e);
    assert_true(fd >= 0);
    assert_int_equal(pm_enet_next_timeout(s[0].e), PM_TIME_NEVER); /* inactive */
    assert_int_equal(pm_enet_create_server(s[0].e, 0, 4, 0, 0, 0), PM_OK);
    assert_int_equal(pm_enet_fd(s[0].e), fd);
    assert_int_equal(pm_enet_next_timeout(s[0].e), PM_TIME_NEVER); /* no peer yet */
    assert_int_equal(
        pm_enet_create_client(s[1].e, "127.0.0.1", pm_enet_get_local_port(s[0].e), 0, 0, 0, 0),
        PM_OK);
    assert_true(pm_enet_next_timeout(s[1].e) <= pm_now() + PM_SEC(1)); /* CONNECT in flight */

    enet_run(s, LIMIT, 0);
    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < 2; k++) {
            pm_multiplayer *mp = pm_enet_multiplayer(s[k].e);
            pm_mp_set_target_peer(mp, k == 0 ? pm_mp_get_unique_id(pm_enet_multiplayer(s[1].e))
                                             : PM_MP_TARGET_SERVER);
            assert_int_equal(pm_mp_put_packet(mp, (const uint8_t *)"packet", 6), PM_OK);
        }
    }
    enet_run(s, LIMIT, 50);
    assert_int_equal(s[0].received, 50);
    assert_int_equal(s[1].received, 50);

    /* Idle: ENet pings every 500 ms and the peers stay connected; no spinning. */
    wakeups = 0;
    enet_run(s, PM_MS(1200), -1);
    printf("enet: %d wake-ups in 1.2 s of idling\n", wakeups);
    assert_true(wakeups >= 2);
    assert_true(wakeups <= 40);
    assert_int_equal(s[0].peers, 1);
    assert_int_equal(s[1].peers, 1);
    pm_enet_free(s[1].e);
    pm_enet_free(s[0].e);
}

/* ---- pm_wait ----------------------------------------------------------- */

static void test_pm_wait(void **state)
{
    assert_int_equal(pm_wait(-1, PM_TIME_NEVER), PM_ERR_INVALID);
    pm_time t0 = pm_now();
    assert_int_equal(pm_wait(-1, t0 + PM_MS(20)), 0);
    assert_true(pm_now() - t0 >= PM_MS(20));
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pm_wait(p[0], pm_now()), 0); /* a deadline already past: no wait */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(pm_wait(p[0], PM_TIME_NEVER), 1);
    close(p[0]);
    close(p[1]);
    assert_int_equal(pm_wait(p[0], pm_now() + PM_MS(5)), PM_ERR_INVALID); /* not open */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pm_wait),
        cmocka_unit_test(test_mesh_fd),
        cmocka_unit_test(test_enet_sleeps_on_fd),
        cmocka_unit_test(test_signal_client_sleeps_on_fd),
        cmocka_unit_test(test_signal_enet_sleeps_on_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
