/*
 * Integration: signaling nodes sharing lobbies through a redis-server of the
 * test's own on loopback (docs/signaling.md, "Scale-out on Redis").
 *
 *  - three nodes in this process, raw clients of both protocols spread over
 *    them in one lobby: ids, join order, relay (translated between formats),
 *    bad destinations, who may seal, the seal and its 1000 — all as on one
 *    node;
 *  - pm_signal_clients spread over three nodes form WebRTC meshes through
 *    them, one lobby per protocol;
 *  - a node killed with SIGKILL (peermesh-signal processes): its members
 *    are announced gone to the others within node-ttl + 1 s, and the lobby
 *    carries on;
 *  - a Redis link cut (CLIENT KILL): the nodes reconnect, resubscribe,
 *    replay a leave that happened meanwhile and resynchronise; a Redis
 *    restart (empty): the lost lobby's members are closed with 4005 and new
 *    lobbies work;
 *  - host migration across nodes, with the mesh carrying on.
 */
#include "sigtest.h"

#include "wire/signal_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NODES      3
#define SEAL_DELAY PM_SEC(1)

static st_redis R;
static bool have_redis;
static int prefix_seq;

static pm_signal_server *node_with(const char *prefix, bool migrate)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    cfg.port = 0;
    cfg.redis_url = R.url;
    cfg.redis_prefix = prefix;
    cfg.seal_delay = SEAL_DELAY;
    cfg.node_ttl = PM_SEC(1);
    cfg.host_migration = migrate;
    pm_signal_server *srv = NULL;
    assert_int_equal(pm_signal_server_new(&cfg, &srv), PM_OK);
    return srv;
}

/* Every test its own namespace in the one Redis. */
static void new_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "t%d:%d:", (int)getpid(), ++prefix_seq);
}

static bool all_up(void *ud)
{
    st_world *w = ud;
    for (size_t i = 0; i < w->nsrv; i++) {
        pm_signal_server_stats st;
        pm_signal_server_get_stats(w->srv[i], &st);
        if (!st.cluster_up)
            return false;
    }
    return true;
}

static void start_nodes(st_world *w, const char *prefix, bool migrate)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < NODES; i++)
        w->srv[w->nsrv++] = node_with(prefix, migrate);
    assert_true(st_pump_until(w, all_up, w, ST_DEADLINE));
}

/* Skip without Redis; else three nodes in a namespace of their own. */
static void start_cluster(st_world *w, char prefix[32], bool migrate)
{
    st_need_redis(have_redis);
    new_prefix(prefix, 32);
    start_nodes(w, prefix, migrate);
}

static void stop_nodes(st_world *w)
{
    for (size_t i = 0; i < w->nsrv; i++)
        pm_signal_server_free(w->srv[i]);
    for (size_t i = 0; i < w->ncl; i++)
        if (w->cl[i])
            st_client_free(w->cl[i]);
    w->nsrv = w->ncl = 0;
}

static st_client *client(st_world *w, int node)
{
    st_client *c = calloc(1, sizeof *c);
    char url[64];
    st_url(w->srv[node], url, sizeof url);
    st_client_connect(c, url);
    w->cl[w->ncl++] = c;
    st_wait_open(w, c);
    return c;
}

static void free_clients(st_world *w)
{
    for (size_t i = 0; i < w->ncl; i++) {
        st_client_free(w->cl[i]);
        free(w->cl[i]);
    }
    w->ncl = 0;
}

/* The JSON message c got k-th: type, id, and data (NULL: not checked). */
static void expect_json(const st_client *c, int k, int type, int64_t id, const char *data)
{
    pm_envr env;
    pm_test_envr(&env, 1);
    pm_buf scratch = {0};
    pm_sigmsg m;
    assert_true(k < c->nmsg);
    if (pm_sigmsg_decode_json(&env, (const uint8_t *)c->msg[k], strlen(c->msg[k]), &scratch, &m) !=
        PM_OK)
        fail_msg("not JSON: %s", c->msg[k]);
    if (m.type != type || m.id != id)
        fail_msg("message %d: %s, want type %d id %lld", k, c->msg[k], type, (long long)id);
    if (data && (m.data_len != strlen(data) || memcmp(m.data, data, m.data_len) != 0))
        fail_msg("message %d: %s, want data %s", k, c->msg[k], data);
    pm_buf_free(&env, &scratch);
}

static int32_t json_id(const st_client *c, int k)
{
    int type = -1, id = -1;
    assert_int_equal(sscanf(c->msg[k], "{\"type\":%d,\"id\":%d", &type, &id), 2);
    return id;
}

/* The lobby name in the JOIN message c got k-th. */
static void lobby_of(const st_client *c, int k, char lobby[32])
{
    assert_int_equal(sscanf(c->msg[k], "{\"type\":0,\"id\":0,\"data\":\"%16[A-Za-z0-9]\"}", lobby),
                     1);
}

static void send_json(st_client *c, int type, int64_t id, const char *data)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"type\":%d,\"id\":%lld,\"data\":\"%s\"}", type, (long long)id,
             data);
    st_client_send(c, buf);
}

/* A client on `node` creates a lobby (JSON): its name in `lobby`. */
static st_client *host_on(st_world *w, int node, char lobby[32])
{
    st_client *a = client(w, node);
    send_json(a, PM_SIGMSG_JOIN, 0, "");
    st_wait_msgs(w, a, 2);
    lobby_of(a, 1, lobby);
    return a;
}

/* ---- the protocol, spread over three nodes ---- */

typedef struct cluster_counts {
    uint64_t lobbies, members, nodes;
    st_world *w;
} cluster_counts;

static bool counts_are(void *ud)
{
    cluster_counts *c = ud;
    for (size_t i = 0; i < c->w->nsrv; i++) {
        pm_signal_server_stats st;
        pm_signal_server_get_stats(c->w->srv[i], &st);
        if (st.cluster_lobbies != c->lobbies || st.cluster_members != c->members ||
            st.cluster_nodes != c->nodes)
            return false;
    }
    return true;
}

static void protocol_across_nodes(void **st)
{
    char prefix[32];
    st_world w;
    start_cluster(&w, prefix, false);

    /* The host on node 0 (JSON). */
    char lobby[32];
    st_client *a = host_on(&w, 0, lobby);
    expect_json(a, 0, PM_SIGMSG_ID, 1, "true");
    /* A 3.x text client on node 1. */
    st_client *b = client(&w, 1);
    char msg[256];
    snprintf(msg, sizeof msg, "J: %s\n", lobby);
    st_client_send(b, msg);
    st_wait_msgs(&w, b, 3);
    int idb = 0;
    assert_int_equal(sscanf(b->msg[0], "I: %d", &idb), 1);
    assert_true(idb >= 2);
    assert_string_equal(b->msg[1], "N: 1\n");
    snprintf(msg, sizeof msg, "J: %s\n", lobby);
    assert_string_equal(b->msg[2], msg);
    st_wait_msgs(&w, a, 3);
    expect_json(a, 2, PM_SIGMSG_PEER_CONNECT, idb, "");
    /* A JSON client on node 2: the members there, in join order. */
    st_client *c = client(&w, 2);
    send_json(c, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, c, 4);
    int32_t idc = json_id(c, 0);
    expect_json(c, 0, PM_SIGMSG_ID, idc, "true");
    expect_json(c, 1, PM_SIGMSG_PEER_CONNECT, 1, "");
    expect_json(c, 2, PM_SIGMSG_PEER_CONNECT, idb, "");
    expect_json(c, 3, PM_SIGMSG_JOIN, 0, lobby);
    assert_true(idc >= 2 && idc != idb);
    st_wait_msgs(&w, a, 4);
    expect_json(a, 3, PM_SIGMSG_PEER_CONNECT, idc, "");
    st_wait_msgs(&w, b, 4);
    snprintf(msg, sizeof msg, "N: %d\n", (int)idc);
    assert_string_equal(b->msg[3], msg);

    /* Every node's /metrics has the cluster's counts (as of a heartbeat). */
    cluster_counts want = {.lobbies = 1, .members = 3, .nodes = NODES, .w = &w};
    assert_true(st_pump_until(&w, counts_are, &want, ST_DEADLINE));

    /* Relays between nodes, stamped and translated. */
    snprintf(msg, sizeof msg, "%d", idb);
    send_json(a, PM_SIGMSG_OFFER, idb, "v=0 from a");
    st_wait_msgs(&w, b, 5);
    assert_string_equal(b->msg[4], "O: 1\nv=0 from a");
    snprintf(msg, sizeof msg, "A: %d\nv=0 from b", (int)idc);
    st_client_send(b, msg);
    st_wait_msgs(&w, c, 5);
    expect_json(c, 4, PM_SIGMSG_ANSWER, idb, "v=0 from b");
    send_json(c, PM_SIGMSG_CANDIDATE, 1, "\\n0\\n0\\ncandidate:1");
    st_wait_msgs(&w, a, 5);
    expect_json(a, 4, PM_SIGMSG_CANDIDATE, idc, "\n0\n0\ncandidate:1");

    /* A destination that is not in the lobby: 4000, and the others told. */
    send_json(c, PM_SIGMSG_OFFER, 12345, "x");
    st_wait_closed(&w, c);
    assert_int_equal(c->code, PM_SIGNAL_CLOSE_PROTOCOL);
    assert_string_equal(c->reason, "Invalid destination");
    st_wait_msgs(&w, a, 6);
    expect_json(a, 5, PM_SIGMSG_PEER_DISCONNECT, idc, "");
    st_wait_msgs(&w, b, 6);
    snprintf(msg, sizeof msg, "D: %d\n", (int)idc);
    assert_string_equal(b->msg[5], msg);

    /* Only the host seals; the seal closes everyone with 1000 after the delay. */
    st_client_send(b, "S: \n");
    st_wait_closed(&w, b);
    assert_string_equal(b->reason, "Only host can seal the lobby");
    st_wait_msgs(&w, a, 7);
    expect_json(a, 6, PM_SIGMSG_PEER_DISCONNECT, idb, "");
    st_client *d = client(&w, 1);
    send_json(d, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, d, 3);
    int32_t idd = json_id(d, 0);
    expect_json(d, 1, PM_SIGMSG_PEER_CONNECT, 1, "");
    expect_json(d, 2, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, a, 8);
    expect_json(a, 7, PM_SIGMSG_PEER_CONNECT, idd, "");
    pm_time sealed_at = pm_now();
    send_json(a, PM_SIGMSG_SEAL, 0, "");
    st_wait_msgs(&w, a, 9);
    expect_json(a, 8, PM_SIGMSG_SEAL, 0, "");
    st_wait_msgs(&w, d, 4);
    expect_json(d, 3, PM_SIGMSG_SEAL, 0, "");
    /* Joining a sealed lobby is refused. */
    st_client *e = client(&w, 2);
    send_json(e, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_closed(&w, e);
    assert_string_equal(e->reason, "Lobby is sealed");
    st_wait_closed(&w, a);
    st_wait_closed(&w, d);
    assert_true(pm_now() - sealed_at >= SEAL_DELAY - PM_MS(50));
    assert_int_equal(a->code, PM_SIGNAL_CLOSE_NORMAL);
    assert_string_equal(d->reason, "Seal complete");
    /* Nothing left behind in Redis. */
    st_pump_for(&w, PM_MS(200));
    char q[512];
    snprintf(q, sizeof q, "SCARD %slobbies", prefix);
    assert_int_equal(st_redis_command(&R, q), 0);
    snprintf(q, sizeof q, "EXISTS %sl:%s %sl:%s:m %sl:%s:w %sl:%s:n", prefix, lobby, prefix, lobby,
             prefix, lobby, prefix, lobby);
    assert_int_equal(st_redis_command(&R, q), 0);
    free_clients(&w);
    stop_nodes(&w);
}

/* ---- meshes through the cluster ---- */

/* `peers` pm_signal_clients round-robin over the nodes, one lobby. */
static void mesh_over_nodes(st_world *w, st_mesh *m, pm_signal_protocol proto, int peers)
{
    char url[NODES][64];
    for (int i = 0; i < NODES; i++)
        st_url(w->srv[i], url[i], sizeof url[i]);
    st_mesh_add(m, url[0], NULL, proto);
    assert_true(st_pump_until(w, st_mesh_lobby_known, m, ST_DEADLINE));
    for (int i = 1; i < peers; i++)
        st_mesh_add(m, url[i % NODES], m->lobby, proto);
    pm_time t0 = pm_now();
    if (!st_pump_until(w, st_mesh_full, m, PM_SEC(20))) {
        for (int i = 0; i < m->n; i++)
            fprintf(stderr, "client %d (id %d): %d connected\n", i,
                    (int)pm_signal_client_id(m->c[i]), m->connected[i]);
        fail_msg("no full mesh");
    }
    fprintf(stderr, "mesh of %d over %d nodes in %.1f ms\n", peers, NODES,
            (double)(pm_now() - t0) / 1000.0);
    st_mesh_send_everywhere(m);
    assert_true(st_pump_until(w, st_mesh_all_got, m, ST_DEADLINE));
}

static void meshes_over_nodes(void **st)
{
    char prefix[32];
    st_world w;
    start_cluster(&w, prefix, false);
    for (int proto = 0; proto < 2; proto++) {
        st_mesh m;
        memset(&m, 0, sizeof m);
        w.extra = st_mesh_pump;
        w.extra_ud = &m;
        mesh_over_nodes(&w, &m, proto ? PM_SIGNAL_PROTOCOL_TEXT : PM_SIGNAL_PROTOCOL_JSON,
                        proto ? 4 : 6);
        /* The host seals: everyone's signaling closes with 1000, the mesh stays. */
        assert_int_equal(pm_signal_client_seal(m.c[1]), PM_ERR_STATE);
        assert_int_equal(pm_signal_client_seal(m.c[0]), PM_OK);
        assert_true(st_pump_until(&w, st_mesh_all_closed, &m, ST_DEADLINE));
        for (int i = 0; i < m.n; i++) {
            assert_true(m.sealed[i]);
            assert_int_equal(m.close_code[i], PM_SIGNAL_CLOSE_NORMAL);
        }
        st_mesh_send_everywhere(&m);
        assert_true(st_pump_until(&w, st_mesh_all_got, &m, ST_DEADLINE));
        st_mesh_free_all(&m);
        w.extra = NULL;
    }
    stop_nodes(&w);
}

/* Host migration across nodes: the host (node 0) leaves; the lowest id
 * takes over everywhere, and the mesh (3.x: server compatibility, so the
 * new host becomes the game's server) carries on. */
static void host_migration_over_nodes(void **st)
{
    char prefix[32];
    st_world w;
    start_cluster(&w, prefix, true);
    for (int proto = 0; proto < 2; proto++) {
        st_mesh m;
        memset(&m, 0, sizeof m);
        w.extra = st_mesh_pump;
        w.extra_ud = &m;
        mesh_over_nodes(&w, &m, proto ? PM_SIGNAL_PROTOCOL_TEXT : PM_SIGNAL_PROTOCOL_JSON, 4);
        int32_t low = INT32_MAX;
        for (int i = 1; i < m.n; i++)
            low = PM_MIN(low, pm_signal_client_id(m.c[i]));
        st_mesh_drop(&m, 0);
        bool moved = false;
        for (pm_time end = pm_now() + ST_DEADLINE; !moved && pm_now() < end;) {
            st_pump_for(&w, PM_MS(20));
            moved = true;
            for (int i = 1; i < m.n; i++)
                moved &= m.host[i] == low && pm_signal_client_host(m.c[i]) == low;
        }
        assert_true(moved);
        assert_true(st_pump_until(&w, st_mesh_full, &m, ST_DEADLINE));
        for (int i = 1; i < m.n; i++) {
            assert_false(m.closed[i]);
            assert_int_equal(pm_mesh_get_host(pm_signal_client_mesh(m.c[i])), low);
        }
        st_mesh_send_everywhere(&m);
        assert_true(st_pump_until(&w, st_mesh_all_got, &m, ST_DEADLINE));
        /* The new host may seal. */
        int host = 1;
        while (pm_signal_client_id(m.c[host]) != low)
            host++;
        assert_int_equal(pm_signal_client_seal(m.c[host]), PM_OK);
        assert_true(st_pump_until(&w, st_mesh_all_closed, &m, ST_DEADLINE));
        for (int i = 1; i < m.n; i++)
            assert_int_equal(m.close_code[i], PM_SIGNAL_CLOSE_NORMAL);
        st_mesh_free_all(&m);
        w.extra = NULL;
    }
    stop_nodes(&w);
}

/* ---- failures ---- */

/* A plain HTTP GET on 127.0.0.1:port: the status, or 0. */
static int http_status(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int status = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[128], resp[256] = {0};
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
        if (write(fd, req, (size_t)n) == n && read(fd, resp, sizeof resp - 1) > 0)
            sscanf(resp, "HTTP/1.1 %d", &status);
    }
    close(fd);
    return status;
}

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* peermesh-signal in a process of its own. */
static pid_t spawn_node(int port, const char *prefix)
{
    char exe[512], port_s[16];
    snprintf(exe, sizeof exe, "%s/peermesh-signal", PM_BINARY_DIR);
    snprintf(port_s, sizeof port_s, "%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(exe, exe, "--bind", "127.0.0.1", "--port", port_s, "--redis", R.url, "--redis-prefix",
              prefix, "--node-ttl", "1", "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && http_status(port, "/healthz") != 200; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(http_status(port, "/healthz"), 200);
    return pid;
}

static st_client *client_at(st_world *w, int port)
{
    st_client *c = calloc(1, sizeof *c);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    st_client_connect(c, url);
    w->cl[w->ncl++] = c;
    st_wait_open(w, c);
    return c;
}

/* A node killed with SIGKILL: its members are announced gone within
 * node-ttl (1 s) + 1 s, and the lobby carries on without it. */
static void node_killed(void **st)
{
    st_need_redis(have_redis);
    char prefix[32];
    new_prefix(prefix, sizeof prefix);
    int port[NODES];
    pid_t pid[NODES];
    for (int i = 0; i < NODES; i++) {
        port[i] = free_tcp_port();
        pid[i] = spawn_node(port[i], prefix);
    }
    st_world w;
    memset(&w, 0, sizeof w);
    st_client *a = client_at(&w, port[0]);
    send_json(a, PM_SIGMSG_JOIN, 0, "");
    st_wait_msgs(&w, a, 2);
    char lobby[32];
    lobby_of(a, 1, lobby);
    st_client *b = client_at(&w, port[1]), *b2 = client_at(&w, port[1]);
    st_client *c = client_at(&w, port[2]);
    send_json(b, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, b, 3);
    send_json(b2, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, b2, 4);
    send_json(c, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, c, 5);
    int32_t idb = json_id(b, 0), idb2 = json_id(b2, 0), idc = json_id(c, 0);
    st_wait_msgs(&w, a, 5); /* ID, JOIN, three PEER_CONNECTs */
    /* Node 1 dies without a word. */
    pm_time t0 = pm_now();
    kill(pid[1], SIGKILL);
    waitpid(pid[1], NULL, 0);
    st_wait_msgs(&w, a, 7);
    st_wait_msgs(&w, c, 7);
    pm_time took = pm_now() - t0;
    fprintf(stderr, "members of the dead node announced gone after %lld ms\n",
            (long long)(took / 1000));
    assert_true(took <= PM_SEC(1) + PM_SEC(1) + PM_MS(1500)); /* ttl + reaping + slack */
    for (int k = 5; k < 7; k++) {
        int32_t gone = json_id(a, k);
        assert_true(gone == idb || gone == idb2);
        expect_json(a, k, PM_SIGMSG_PEER_DISCONNECT, gone, "");
        expect_json(c, k, PM_SIGMSG_PEER_DISCONNECT, json_id(c, k), "");
    }
    assert_int_not_equal(json_id(a, 5), json_id(a, 6));
    /* The lobby carries on between the living nodes. */
    send_json(a, PM_SIGMSG_OFFER, idc, "still here");
    st_wait_msgs(&w, c, 8);
    expect_json(c, 7, PM_SIGMSG_OFFER, 1, "still here");
    free_clients(&w);
    for (int i = 0; i < NODES; i++) {
        if (i == 1)
            continue;
        kill(pid[i], SIGTERM);
        waitpid(pid[i], NULL, 0);
    }
}

/* The link to Redis is cut (CLIENT KILL): each node reconnects,
 * resubscribes, sends the leave that happened meanwhile and checks its
 * lobby against Redis; nothing is lost but relays in the gap. Then Redis
 * restarts empty: the lobby is lost, its members are closed with 4005, and
 * new lobbies work. */
static void redis_outage_and_restart(void **st)
{
    char prefix[32];
    st_world w;
    start_cluster(&w, prefix, false);
    char lobby[32];
    st_client *a = host_on(&w, 0, lobby);
    st_client *b = client(&w, 1), *c = client(&w, 2);
    send_json(b, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, b, 3);
    send_json(c, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, c, 4);
    int32_t idb = json_id(b, 0), idc = json_id(c, 0);
    st_wait_msgs(&w, a, 4);
    st_wait_msgs(&w, b, 4); /* ..., PEER_CONNECT c */

    /* Cut every node's subscription; c leaves while its node is cut off. */
    assert_true(st_redis_command(&R, "CLIENT KILL TYPE pubsub") >= 0);
    st_pump_for(&w, PM_MS(50));
    st_client_free(c);
    st_wait_msgs(&w, a, 5);
    expect_json(a, 4, PM_SIGMSG_PEER_DISCONNECT, idc, "");
    st_wait_msgs(&w, b, 5);
    expect_json(b, 4, PM_SIGMSG_PEER_DISCONNECT, idc, "");
    assert_true(st_pump_until(&w, all_up, &w, ST_DEADLINE));
    send_json(a, PM_SIGMSG_OFFER, idb, "after the cut");
    st_wait_msgs(&w, b, 6);
    expect_json(b, 5, PM_SIGMSG_OFFER, 1, "after the cut");
    pm_signal_server_stats stats;
    pm_signal_server_get_stats(w.srv[0], &stats);
    assert_true(stats.cluster_resyncs >= 1);

    /* Redis restarts with nothing: the lobby is gone for everyone. */
    st_redis_kill(&R);
    assert_true(st_redis_start(&R, R.port));
    st_wait_closed(&w, a);
    st_wait_closed(&w, b);
    assert_int_equal(a->code, PM_SIGNAL_CLOSE_CLUSTER);
    assert_string_equal(b->reason, "Lobby lost by the signaling cluster");
    assert_true(st_pump_until(&w, all_up, &w, ST_DEADLINE));
    st_client *d = client(&w, 2), *e = client(&w, 0);
    send_json(d, PM_SIGMSG_JOIN, 0, "");
    st_wait_msgs(&w, d, 2);
    lobby_of(d, 1, lobby);
    send_json(e, PM_SIGMSG_JOIN, 0, lobby);
    st_wait_msgs(&w, e, 3);
    expect_json(e, 1, PM_SIGMSG_PEER_CONNECT, 1, "");
    free_clients(&w);
    stop_nodes(&w);
}

static int group_setup(void **st)
{
    have_redis = st_redis_start(&R, 0);
    return 0;
}

static int group_teardown(void **st)
{
    if (have_redis)
        st_redis_stop(&R);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(protocol_across_nodes),     cmocka_unit_test(meshes_over_nodes),
        cmocka_unit_test(host_migration_over_nodes), cmocka_unit_test(node_killed),
        cmocka_unit_test(redis_outage_and_restart), /* last: it restarts Redis */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
