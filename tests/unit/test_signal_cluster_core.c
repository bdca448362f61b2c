/*
 * Unit tests: the signaling core's cluster side (src/signaling/sig_cluster.c),
 * sans-I/O. Redis is played by the test: the core's REDIS outputs are read
 * (which script, which arguments), replies and channel messages are written
 * by hand. Checked: a lobby's events are applied in sequence order whichever
 * way they arrive, relays to and from other nodes, joins refused while the
 * link is down, leaves kept and replayed, replicas resynchronised (members
 * gained, lost, and ours lost: 4005), a join answered after its connection
 * left, Redis's refusals with the demo's reasons.
 */
#include "testutil.h"

#include "signaling/sig_cluster.h"
#include "signaling/sig_core.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_OUT 64
#define OTHER   "00000000000000aa" /* another node */
#define PREFIX  "pm:"

typedef struct out_rec {
    pm_sigsrv_out_kind kind;
    uint64_t tid;
    int code;
    char text[1024];
    int argc;
    char argv[24][160]; /* the script argument is summarised: see body_of */
    const char *body;   /* REDIS EVAL: which script */
} out_rec;

static pm_envr env;
static pm_sigsrv *s;
static pm_time now;
static out_rec out[MAX_OUT];
static int nout;
static char node[17];

static const char *const BODIES[] = {"JOIN", "LEAVE", "QUIET", "SEAL", "SYNC", "HEARTBEAT", "REAP"};

static const char *body_of(const char *script, size_t len)
{
    const char *const bodies[] = {PM_SIG_LUA_JOIN, PM_SIG_LUA_LEAVE, PM_SIG_LUA_QUIET,
                                  PM_SIG_LUA_SEAL, PM_SIG_LUA_SYNC,  PM_SIG_LUA_HEARTBEAT,
                                  PM_SIG_LUA_REAP};
    for (size_t i = 0; i < PM_ARRAY_LEN(bodies); i++) {
        size_t n = strlen(bodies[i]);
        if (len >= n && memcmp(script + len - n, bodies[i], n) == 0)
            return BODIES[i];
    }
    return "?";
}

static int drain(void)
{
    nout = 0;
    pm_sigsrv_output o;
    while (pm_sigsrv_poll_output(s, &o)) {
        assert_true(nout < MAX_OUT);
        out_rec *r = &out[nout++];
        memset(r, 0, sizeof *r);
        r->kind = o.kind;
        r->tid = o.tid;
        r->code = o.code;
        if (o.kind == PM_SIGSRV_OUT_REDIS) {
            r->argc = o.argc;
            for (int i = 0; i < o.argc; i++)
                snprintf(r->argv[i], sizeof r->argv[i], "%.*s", (int)PM_MIN(o.argv_len[i], 159),
                         o.argv[i]);
            if (o.argc > 1 && strcmp(r->argv[0], "EVAL") == 0)
                r->body = body_of(o.argv[1], o.argv_len[1]);
        } else {
            snprintf(r->text, sizeof r->text, "%.*s", (int)o.len, (const char *)o.data);
        }
    }
    return nout;
}

/* The k-th REDIS output running `body` (NULL: none). */
static out_rec *eval(const char *body, int k)
{
    for (int i = 0; i < nout; i++)
        if (out[i].kind == PM_SIGSRV_OUT_REDIS && out[i].body && !strcmp(out[i].body, body) &&
            k-- == 0)
            return &out[i];
    return NULL;
}

static out_rec *for_tid(uint64_t tid, int k)
{
    for (int i = 0; i < nout; i++)
        if (out[i].kind != PM_SIGSRV_OUT_REDIS && out[i].tid == tid && k-- == 0)
            return &out[i];
    return NULL;
}

static void start(bool migrate)
{
    pm_test_envr(&env, 9);
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.redis_url = "redis://127.0.0.1";
    cfg.redis_prefix = PREFIX;
    cfg.host_migration = migrate;
    cfg.named_lobbies = true;
    cfg.ping_interval = 0;
    now = PM_SEC(100);
    assert_int_equal(pm_sigsrv_new(&env, &cfg, now, 0, &s), PM_OK);
    const char *ch = pm_sigsrv_cluster_channel(s);
    assert_non_null(ch);
    assert_int_equal(strncmp(ch, PREFIX "c:", 5), 0);
    snprintf(node, sizeof node, "%s", ch + 5);
    pm_sigsrv_cluster_state(s, now, true);
    drain();
    assert_non_null(eval("HEARTBEAT", 0));
}

static void finish(void)
{
    pm_sigsrv_free(s);
    s = NULL;
}

/* ---- replies, built by hand ---- */

typedef struct tree {
    pm_redis_reply n[64];
    size_t used;
} tree;

static pm_redis_reply *node_new(tree *t)
{
    assert_true(t->used < PM_ARRAY_LEN(t->n));
    pm_redis_reply *r = &t->n[t->used++];
    memset(r, 0, sizeof *r);
    return r;
}

static pm_redis_reply *rstr(tree *t, const char *str)
{
    pm_redis_reply *r = node_new(t);
    r->type = PM_REDIS_STRING;
    r->str = str;
    r->len = strlen(str);
    return r;
}

static pm_redis_reply *rnum(tree *t, long long v)
{
    pm_redis_reply *r = node_new(t);
    r->type = PM_REDIS_INTEGER;
    r->integer = v;
    return r;
}

/* An array of the nodes [first, first + count): they must be consecutive. */
static pm_redis_reply *rarr(tree *t, const pm_redis_reply *first, size_t count)
{
    pm_redis_reply *r = node_new(t);
    r->type = PM_REDIS_ARRAY;
    r->elements = first;
    r->count = count;
    return r;
}

/* A JOIN's "OK": seq, the id given, host "1", mesh; snapshot pairs (id, where). */
static pm_redis_reply *join_ok(tree *t, long long seq, const char *peer, const char *const *snap,
                               size_t nsnap)
{
    pm_redis_reply *e = rstr(t, "OK");
    rnum(t, seq);
    rstr(t, peer);
    rstr(t, "1");
    rstr(t, "1");
    pm_redis_reply *list = rarr(t, NULL, 0);
    pm_redis_reply *x = rarr(t, e, 6);
    for (size_t i = 0; i < nsnap; i++) {
        pm_redis_reply *v = rstr(t, snap[i]);
        if (i == 0)
            list->elements = v;
    }
    list->count = nsnap;
    return x;
}

static uint64_t open_conn(uint64_t tid)
{
    uint64_t id = pm_sigsrv_open(s, now, NULL, NULL, tid);
    assert_true(id != 0);
    return id;
}

static void say(uint64_t c, const char *text)
{
    pm_sigsrv_receive(s, now, c, (const uint8_t *)text, strlen(text), false);
}

static void hear(const char *msg)
{
    pm_sigsrv_cluster_message(s, now, (const uint8_t *)msg, strlen(msg));
}

static void expect_json(const out_rec *r, int type, int64_t id)
{
    assert_non_null(r);
    assert_int_equal(r->kind, PM_SIGSRV_OUT_SEND);
    int t = -1, i = -1;
    assert_int_equal(sscanf(r->text, "{\"type\":%d,\"id\":%d", &t, &i), 2);
    assert_int_equal(t, type);
    assert_int_equal(i, id);
}

/* Create a lobby with `c` (tid 1): the JOIN script is answered OK at seq 1. */
static void host(uint64_t c, char *lobby)
{
    say(c, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    drain();
    out_rec *j = eval("JOIN", 0);
    assert_non_null(j);
    assert_string_equal(j->argv[3], PREFIX);
    strcpy(lobby, j->argv[4]);
    assert_int_equal(strlen(lobby), 16);
    assert_string_equal(j->argv[5], node);
    assert_string_equal(j->argv[7], "1"); /* create */
    assert_int_equal(j->argc, 12 + 8);    /* 8 candidate ids */
    tree t = {0};
    pm_sigsrv_cluster_reply(s, now, j->tid, join_ok(&t, 1, "1", NULL, 0));
    drain();
    expect_json(for_tid(1, 0), PM_SIGMSG_ID, 1);
    expect_json(for_tid(1, 1), PM_SIGMSG_JOIN, 0);
}

static void events_in_sequence_order(void **st)
{
    start(false);
    uint64_t a = open_conn(1);
    char lobby[32], msg[256];
    host(a, lobby);
    /* Seq 3 (777 leaves) comes before seq 2 (777 joins on another node). */
    snprintf(msg, sizeof msg, "E%s\n3 L 777", lobby);
    hear(msg);
    assert_int_equal(drain(), 0);
    snprintf(msg, sizeof msg, "E%s\n2 J 777 " OTHER " 00000000000000b7", lobby);
    hear(msg);
    drain();
    assert_int_equal(nout, 2);
    expect_json(&out[0], PM_SIGMSG_PEER_CONNECT, 777);
    expect_json(&out[1], PM_SIGMSG_PEER_DISCONNECT, 777);
    /* Twice is nothing; and a later one applies at once. */
    hear(msg);
    assert_int_equal(drain(), 0);
    snprintf(msg, sizeof msg, "E%s\n4 J 888 " OTHER " 00000000000000b8", lobby);
    hear(msg);
    drain();
    expect_json(&out[0], PM_SIGMSG_PEER_CONNECT, 888);
    /* A relay to 888 goes to its node's channel, stamped. */
    say(a, "{\"type\":4,\"id\":888,\"data\":\"v=0\"}");
    drain();
    assert_int_equal(nout, 1);
    assert_int_equal(out[0].kind, PM_SIGSRV_OUT_REDIS);
    assert_string_equal(out[0].argv[0], "PUBLISH");
    assert_string_equal(out[0].argv[1], PREFIX "c:" OTHER);
    assert_string_equal(out[0].argv[2], "R00000000000000b8 1 4\nv=0");
    /* One for us from there: to our connection, stamped with its sender. */
    snprintf(msg, sizeof msg, "R%016llx 888 5\nv=1", (unsigned long long)a);
    hear(msg);
    drain();
    assert_int_equal(nout, 1);
    assert_string_equal(out[0].text, "{\"type\":5,\"id\":888,\"data\":\"v=1\"}");
    /* Malformed or unknown messages change nothing. */
    hear("E");
    hear("Enolobby\n5 L 2");
    snprintf(msg, sizeof msg, "E%s\nzz", lobby);
    hear(msg);
    hear("R0000000000000000 1 4\nx");
    hear("Rnot-hex");
    hear("Q");
    assert_int_equal(drain(), 0);
    pm_signal_server_stats stats;
    pm_sigsrv_get_stats(s, &stats);
    assert_int_equal(stats.cluster_relays_out, 1);
    assert_int_equal(stats.cluster_relays_in, 1);
    finish();
}

static void link_down_refuses_joins_and_keeps_leaves(void **st)
{
    start(false);
    uint64_t a = open_conn(1), b = open_conn(2);
    char lobby[32], msg[256];
    host(a, lobby);
    snprintf(msg, sizeof msg, "E%s\n2 J 555 " OTHER " 00000000000000c1", lobby);
    hear(msg);
    drain();
    pm_sigsrv_cluster_state(s, now, false);
    /* A join: refused. */
    say(b, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    drain();
    assert_int_equal(for_tid(2, 0)->kind, PM_SIGSRV_OUT_CLOSE);
    assert_int_equal(for_tid(2, 0)->code, PM_SIGNAL_CLOSE_CLUSTER);
    assert_string_equal(for_tid(2, 0)->text, "Signaling cluster unavailable");
    /* A relay to another node: lost, counted. */
    say(a, "{\"type\":4,\"id\":555,\"data\":\"x\"}");
    /* The host leaves: nothing can go out yet. */
    pm_sigsrv_gone(s, now, a);
    assert_int_equal(drain(), 0);
    /* Back: heartbeat, the leave, then no sync (nobody of ours is left). */
    pm_sigsrv_cluster_state(s, now, true);
    drain();
    assert_non_null(eval("HEARTBEAT", 0));
    out_rec *l = eval("LEAVE", 0);
    assert_non_null(l);
    assert_string_equal(l->argv[4], lobby);
    assert_string_equal(l->argv[5], "1");
    assert_null(eval("SYNC", 0));
    /* If that leave fails again, it is kept again. */
    pm_sigsrv_cluster_state(s, now, false);
    pm_sigsrv_cluster_reply(s, now, l->tid, NULL);
    pm_sigsrv_cluster_state(s, now, true);
    drain();
    assert_non_null(eval("LEAVE", 0));
    pm_signal_server_stats stats;
    pm_sigsrv_get_stats(s, &stats);
    assert_int_equal(stats.cluster_relays_lost, 1);
    finish();
}

static void resync_after_the_link_came_back(void **st)
{
    start(false);
    uint64_t a = open_conn(1);
    char lobby[32], msg[256];
    host(a, lobby);
    snprintf(msg, sizeof msg, "E%s\n2 J 555 " OTHER " 00000000000000c1", lobby);
    hear(msg);
    drain();
    pm_sigsrv_cluster_state(s, now, false);
    pm_sigsrv_cluster_state(s, now, true);
    drain();
    out_rec *sy = eval("SYNC", 0);
    assert_non_null(sy);
    /* Meanwhile 555 left and 666 joined: Redis says so at seq 9. An event
     * of the gap that arrives late changes nothing; one after seq 9 waits
     * for the sync and applies after it. */
    snprintf(msg, sizeof msg, "E%s\n10 J 999 " OTHER " 00000000000000c9", lobby);
    hear(msg);
    snprintf(msg, sizeof msg, "E%s\n5 L 555", lobby);
    hear(msg);
    assert_int_equal(drain(), 0);
    tree t = {0};
    char where[40], where_a[40];
    snprintf(where, sizeof where, OTHER " 00000000000000c6");
    snprintf(where_a, sizeof where_a, "%s %016llx", node, (unsigned long long)a);
    pm_redis_reply *f = rnum(&t, 9);
    rstr(&t, "1");
    rstr(&t, "1");
    rstr(&t, "0");
    pm_redis_reply *snap = rarr(&t, NULL, 0);
    pm_redis_reply *x = rarr(&t, f, 5);
    pm_redis_reply *m0 = rstr(&t, "1");
    rstr(&t, where_a);
    rstr(&t, "666");
    rstr(&t, where);
    snap->elements = m0;
    snap->count = 4;
    pm_sigsrv_cluster_reply(s, now, sy->tid, x);
    drain();
    assert_int_equal(nout, 3);
    expect_json(&out[0], PM_SIGMSG_PEER_DISCONNECT, 555);
    expect_json(&out[1], PM_SIGMSG_PEER_CONNECT, 666);
    expect_json(&out[2], PM_SIGMSG_PEER_CONNECT, 999);
    /* Redis lost our member (a Redis restart, or we were reaped): 4005. */
    pm_sigsrv_cluster_state(s, now, false);
    pm_sigsrv_cluster_state(s, now, true);
    drain();
    sy = eval("SYNC", 0);
    assert_non_null(sy);
    tree gone = {0};
    pm_redis_reply *empty = rarr(&gone, NULL, 0);
    pm_sigsrv_cluster_reply(s, now, sy->tid, empty);
    drain();
    assert_int_equal(for_tid(1, 0)->kind, PM_SIGSRV_OUT_CLOSE);
    assert_int_equal(for_tid(1, 0)->code, PM_SIGNAL_CLOSE_CLUSTER);
    assert_string_equal(for_tid(1, 0)->text, "Lobby lost by the signaling cluster");
    pm_signal_server_stats stats;
    pm_sigsrv_get_stats(s, &stats);
    assert_int_equal(stats.lobbies, 0);
    assert_int_equal(stats.cluster_lost, 1);
    finish();
}

static void joins_answered_late_or_refused(void **st)
{
    start(true);
    uint64_t a = open_conn(1);
    /* Joining an unknown lobby: the demo's reason. */
    say(a, "{\"type\":0,\"id\":0,\"data\":\"NoSuchLobby12345\"}");
    drain();
    out_rec *j = eval("JOIN", 0);
    assert_non_null(j);
    assert_string_equal(j->argv[7], "0");
    tree t = {0};
    pm_redis_reply *v = rstr(&t, "NOLOBBY");
    pm_sigsrv_cluster_reply(s, now, j->tid, rarr(&t, v, 1));
    drain();
    assert_string_equal(for_tid(1, 0)->text, "Lobby does not exists");
    /* A name that cannot be ours is refused without asking. */
    uint64_t b = open_conn(2);
    say(b, "{\"type\":0,\"id\":0,\"data\":\"a b\"}");
    drain();
    assert_null(eval("JOIN", 0));
    assert_string_equal(for_tid(2, 0)->text, "Lobby does not exists");
    /* A join whose connection left before the answer: Redis is told. */
    uint64_t c = open_conn(3);
    say(c, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    drain();
    j = eval("JOIN", 0);
    pm_sigsrv_gone(s, now, c);
    drain();
    tree ok = {0};
    pm_sigsrv_cluster_reply(s, now, j->tid, join_ok(&ok, 1, "1", NULL, 0));
    drain();
    out_rec *l = eval("LEAVE", 0);
    assert_non_null(l);
    assert_string_equal(l->argv[5], "1");
    /* A connection with a join in flight may not join again. */
    uint64_t d = open_conn(4);
    say(d, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    say(d, "{\"type\":0,\"id\":0,\"data\":\"\"}");
    drain();
    assert_string_equal(for_tid(4, 0)->text, "Already in a lobby");
    finish();
}

/* Two of ours in one lobby; Redis decides the host migration: the LEAVE's
 * answer carries "L 1" then "H <new>", which our other member hears. */
static void host_change_from_redis(void **st)
{
    start(true);
    uint64_t a = open_conn(1), b = open_conn(2);
    char lobby[32], msg[160], where_a[40];
    host(a, lobby);
    snprintf(msg, sizeof msg, "{\"type\":0,\"id\":0,\"data\":\"%s\"}", lobby);
    say(b, msg);
    drain();
    out_rec *j = eval("JOIN", 0);
    assert_non_null(j);
    snprintf(where_a, sizeof where_a, "%s %016llx", node, (unsigned long long)a);
    tree t = {0};
    const char *snap[] = {"1", where_a};
    pm_sigsrv_cluster_reply(s, now, j->tid, join_ok(&t, 2, "40", snap, 2));
    drain();
    expect_json(for_tid(2, 0), PM_SIGMSG_ID, 40);
    expect_json(for_tid(2, 1), PM_SIGMSG_PEER_CONNECT, 1);
    expect_json(for_tid(2, 2), PM_SIGMSG_JOIN, 0);
    expect_json(for_tid(1, 0), PM_SIGMSG_PEER_CONNECT, 40);
    /* The host goes; Redis says who follows. */
    pm_sigsrv_gone(s, now, a);
    assert_int_equal(drain(), 1); /* the LEAVE, nothing told yet */
    out_rec *l = eval("LEAVE", 0);
    assert_non_null(l);
    tree r = {0};
    pm_redis_reply *s3 = rnum(&r, 3);
    rstr(&r, "L 1");
    rnum(&r, 4);
    rstr(&r, "H 40");
    pm_sigsrv_cluster_reply(s, now, l->tid, rarr(&r, s3, 4));
    drain();
    assert_int_equal(nout, 2);
    expect_json(&out[0], PM_SIGMSG_PEER_DISCONNECT, 1);
    expect_json(&out[1], PM_SIGMSG_HOST, 40);
    /* The new host may seal: the SEAL script goes out. */
    say(b, "{\"type\":7,\"id\":0,\"data\":\"\"}");
    drain();
    out_rec *sl = eval("SEAL", 0);
    assert_non_null(sl);
    assert_string_equal(sl->argv[5], "40");
    finish();
}

/* Named lobbies in a cluster: CREATE asks Redis to create that name (no
 * random name drawn again when it is taken: the client is told). */
static void named_lobby_in_redis(void **st)
{
    start(false);
    uint64_t a = open_conn(1);
    say(a, "{\"type\":8,\"id\":0,\"data\":\"friday.night-1\"}");
    drain();
    out_rec *j = eval("JOIN", 0);
    assert_non_null(j);
    assert_string_equal(j->argv[4], "friday.night-1");
    assert_string_equal(j->argv[7], "1"); /* create */
    tree t = {0};
    pm_sigsrv_cluster_reply(s, now, j->tid, join_ok(&t, 1, "1", NULL, 0));
    drain();
    expect_json(for_tid(1, 0), PM_SIGMSG_ID, 1);
    expect_json(for_tid(1, 1), PM_SIGMSG_JOIN, 0);
    assert_non_null(strstr(for_tid(1, 1)->text, "friday.night-1"));
    /* Taken on another node: refused with its reason, not retried. */
    uint64_t b = open_conn(2);
    say(b, "{\"type\":8,\"id\":0,\"data\":\"saturday\"}");
    drain();
    j = eval("JOIN", 0);
    assert_non_null(j);
    tree x = {0};
    pm_redis_reply *v = rstr(&x, "EXISTS");
    pm_sigsrv_cluster_reply(s, now, j->tid, rarr(&x, v, 1));
    drain();
    assert_null(eval("JOIN", 0));
    assert_string_equal(for_tid(2, 0)->text, "Lobby already exists");
    /* A bad name never reaches Redis. */
    uint64_t c = open_conn(3);
    say(c, "{\"type\":8,\"id\":0,\"data\":\"a b\"}");
    drain();
    assert_null(eval("JOIN", 0));
    assert_string_equal(for_tid(3, 0)->text, "Invalid lobby name");
    finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_in_sequence_order),
        cmocka_unit_test(link_down_refuses_joins_and_keeps_leaves),
        cmocka_unit_test(resync_after_the_link_came_back),
        cmocka_unit_test(joins_answered_late_or_refused),
        cmocka_unit_test(host_change_from_redis),
        cmocka_unit_test(named_lobby_in_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
