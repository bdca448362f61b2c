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
    if (pm_sigmsg_decode_json(&env, (const uint8_t *)c->msg[k], strlen(c->msg[k]), &scratch,
                              &m) != PM_OK)
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

static void send_json(st_client *c, int type, int64_t id, const char *data)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"type\":%d,\"id\":%lld,\"data\":\"%s\"}", type, (long long)id,
             data);
    st_client_send(c, buf);
}

/* ---- the protocol, spread over three nodes ---- */

static void protocol_across_nodes(void **st)
{
    st_need_redis(have_redis);
    char prefix[32];
    new_prefix(prefix, sizeof prefix);
    st_world w;
    start_nodes(&w, prefix, false);

    /* The host on node 0 (JSON). */
    st_client *a = client(&w, 0);
    send_json(a, PM_SIGMSG_JOIN, 0, "");
    st_wait_msgs(&w, a, 2);
    expect_json(a, 0, PM_SIGMSG_ID, 1, "true");
    char lobby[32];
    assert_int_equal(sscanf(a->msg[1], "{\"type\":0,\"id\":0,\"data\":\"%16[A-Za-z0-9]\"}", lobby),
                     1);
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
        cmocka_unit_test(protocol_across_nodes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
