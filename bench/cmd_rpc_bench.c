/*
 * `peermesh bench rpc` — the cost of a typical position update through
 * Godot 3.2's high-level multiplayer:
 *
 *   rpc_unreliable_id(1, "update_position", Vector2) on /root/World/Player
 *
 * once its node path is cached (the steady state of a game).
 *
 *   rpc_encode   our RPC layer alone (a multiplayer peer that only counts):
 *                calls encoded per second and MultiplayerAPI bytes per call
 *   rpc_decode   the receiving side alone: calls decoded into events per second
 *   rpc_enet     the same call sent over ENet (Godot 3 format) on loopback to
 *                an in-process peermesh server, first by a peermesh client,
 *                then by Debian's Godot 3.2.3 (a GDScript loop of the same
 *                call): calls per second of the sending loop, MultiplayerAPI
 *                bytes and UDP bytes per call as the server received them
 *   rpc_compare  the ratios, and whether both sent the very same bytes
 */
#include "bench_godot.h"
#include "cli.h"
#include "json_out.h"

#include "peermesh/enet.h"
#include "peermesh/rpc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char USAGE[] =
    "usage: peermesh bench rpc [--count N] [--no-godot]\n"
    "\n"
    "  --count N    calls per measurement (default 200000 in memory, N/20 over ENet)\n"
    "  --no-godot   skip the Godot 3.2.3 comparison\n"
    "  Godot binary: $PEERMESH_GODOT, else godot3-server, else godot3 under xvfb-run.\n";

#define NODE   "/root/World/Player"
#define METHOD "update_position"
#define CALL   "rpc_unreliable_id(1, \"update_position\", Vector2) on /root/World/Player"

static const pm_cli_expect EXPECTS[] = {{'n', "a number of calls 1000..100000000"}, {0, NULL}};

static const pm_cli_command CMD = {.name = "bench rpc", .usage = USAGE, .expects = EXPECTS};

/*
 * The same call from GDScript, in a loop once the path is confirmed: the
 * server calls `go` on the node when it has seen the first update (its
 * CONFIRM_PATH was sent before, on the same reliable channel).
 */
static const char GODOT_SENDER[] =
    "extends SceneTree\n"
    "var n = 0\n"
    "var player\n"
    "var done_at = 0\n"
    "func _init():\n"
    "\tOS.low_processor_usage_mode_sleep_usec = 0\n"
    "\tvar port = 0\n"
    "\tfor a in OS.get_cmdline_args():\n"
    "\t\tif a.begins_with(\"port=\"):\n"
    "\t\t\tport = int(a.substr(5, -1))\n"
    "\t\tif a.begins_with(\"n=\"):\n"
    "\t\t\tn = int(a.substr(2, -1))\n"
    "\tvar peer = NetworkedMultiplayerENet.new()\n"
    "\tpeer.create_client(\"127.0.0.1\", port)\n"
    "\tset_network_peer(peer)\n"
    "\tvar world = Node.new()\n"
    "\tworld.name = \"World\"\n"
    "\tplayer = Node.new()\n"
    "\tplayer.name = \"Player\"\n"
    "\tplayer.set_script(load(\"res://player.gd\"))\n"
    "\tworld.add_child(player)\n"
    "\troot.add_child(world)\n"
    "\tconnect(\"connected_to_server\", self, \"_connected\")\n"
    "func _connected():\n"
    "\tplayer.rpc_unreliable_id(1, \"update_position\", Vector2(0, 0))\n"
    "func bench():\n"
    "\tvar t0 = OS.get_ticks_usec()\n"
    "\tfor i in range(n):\n"
    "\t\tplayer.rpc_unreliable_id(1, \"update_position\", Vector2(1.5, -2.5))\n"
    "\tvar t1 = OS.get_ticks_usec()\n"
    "\tprint(\"GODOT_LOOP_US \", t1 - t0)\n"
    "\tdone_at = OS.get_ticks_msec()\n"
    "func _idle(_d):\n"
    "\tif done_at and OS.get_ticks_msec() > done_at + 500:\n"
    "\t\tquit(0)\n";

static const char GODOT_PLAYER[] = "extends Node\n"
                                   "remote func go():\n"
                                   "\tget_tree().bench()\n";

typedef struct opts {
    long count;
    int godot;
} opts;

/* ---- in memory: a multiplayer peer that counts what it is given ---- */

typedef struct counter {
    int32_t id;
    uint64_t packets, bytes;
    uint8_t last[64];
    size_t last_len;
    const uint8_t *feed; /* packet handed out by get_packet, `feed_left` more times */
    size_t feed_len;
    long feed_left;
    int32_t feed_from;
    pm_mp_event ev;
    bool has_ev;
} counter;

static int c_poll(void *impl)
{
    (void)impl;
    return PM_OK;
}
static int c_put(void *impl, int32_t t, pm_mp_transfer_mode m, int ch, const uint8_t *d, size_t n)
{
    counter *c = impl;
    (void)t, (void)m, (void)ch;
    c->packets++;
    c->bytes += n;
    c->last_len = n < sizeof c->last ? n : sizeof c->last;
    memcpy(c->last, d, c->last_len);
    return PM_OK;
}
static int c_get(void *impl, pm_mp_packet *out)
{
    counter *c = impl;
    if (!c->feed_left)
        return PM_ERR_AGAIN;
    c->feed_left--;
    *out = (pm_mp_packet){.data = c->feed, .len = c->feed_len, .from = c->feed_from};
    return PM_OK;
}
static bool c_event(void *impl, pm_mp_event *ev)
{
    counter *c = impl;
    if (!c->has_ev)
        return false;
    c->has_ev = false;
    *ev = c->ev;
    return true;
}
static int32_t c_id(const void *impl)
{
    return ((const counter *)impl)->id;
}
static pm_mp_status c_status(const void *impl)
{
    (void)impl;
    return PM_MP_CONNECTED;
}
static const pm_multiplayer_ops COUNTER_OPS = {
    .poll = c_poll,
    .put_packet = c_put,
    .get_packet = c_get,
    .next_event = c_event,
    .get_unique_id = c_id,
    .get_connection_status = c_status,
};

/* An rpc object over a counter, peer `other` connected, the Player node declared. */
static int counter_rpc(counter *c, int32_t id, int32_t other, pm_multiplayer **mp, pm_rpc **r)
{
    *c = (counter){
        .id = id, .has_ev = true, .ev = {.type = PM_MP_EVENT_PEER_CONNECTED, .peer_id = other}};
    int rc = pm_multiplayer_new(&COUNTER_OPS, c, mp);
    if (rc == PM_OK)
        rc = pm_rpc_new(NULL, *mp, r);
    if (rc == PM_OK)
        rc = pm_rpc_add_node(*r, NODE, other == 1 ? 1 : id);
    if (rc == PM_OK)
        rc = pm_rpc_set_method_mode(*r, NODE, METHOD, PM_RPC_MODE_REMOTE);
    pm_rpc_event ev;
    while (rc == PM_OK && pm_rpc_next_event(*r, &ev))
        ;
    return rc;
}

static void drain(pm_rpc *r)
{
    pm_rpc_event ev;
    while (pm_rpc_next_event(r, &ev))
        ;
}

static int bench_memory(const opts *o)
{
    counter sc, rc_;
    pm_multiplayer *smp = NULL, *rmp = NULL;
    pm_rpc *s = NULL, *r = NULL;
    int rc = counter_rpc(&sc, 2, 1, &smp, &s);
    if (rc == PM_OK)
        rc = counter_rpc(&rc_, 1, 2, &rmp, &r);
    /* The first call offers the path; the receiver's confirmation caches it. */
    pm_variant pos = pm_variant_vector2(1, 2);
    if (rc == PM_OK)
        rc = pm_rpc_call(s, NODE, 1, true, METHOD, &pos, 1);
    static const uint8_t confirm[] = "\x03World/Player";
    sc.feed = confirm;
    sc.feed_len = sizeof confirm;
    sc.feed_from = 1;
    sc.feed_left = 1;
    if (rc == PM_OK)
        drain(s);
    /* Encoding. */
    uint64_t before = sc.bytes;
    pm_time t0 = pm_now();
    for (long i = 0; rc == PM_OK && i < o->count; i++) {
        pos.f[0] = (float)i;
        rc = pm_rpc_call(s, NODE, 1, true, METHOD, &pos, 1);
    }
    double enc_s = (double)(pm_now() - t0) / 1e6;
    double bytes = (double)(sc.bytes - before) / (double)o->count;
    /* Decoding: the receiver learns the id, then gets the same packet count times. */
    uint8_t simplify[64] = {2, 1, 0, 0, 0};
    memcpy(simplify + 5, "World/Player", 13);
    rc_.feed = simplify;
    rc_.feed_len = 18;
    rc_.feed_from = 2;
    rc_.feed_left = 1;
    if (rc == PM_OK)
        drain(r);
    uint8_t call[64];
    memcpy(call, sc.last, sc.last_len);
    rc_.feed = call;
    rc_.feed_len = sc.last_len;
    rc_.feed_left = o->count;
    long events = 0;
    t0 = pm_now();
    pm_rpc_event ev;
    while (rc == PM_OK && pm_rpc_next_event(r, &ev))
        events += ev.type == PM_RPC_EVENT_CALL && ev.argc == 1;
    double dec_s = (double)(pm_now() - t0) / 1e6;
    pm_rpc_free(s);
    pm_rpc_free(r);
    pm_multiplayer_free(smp);
    pm_multiplayer_free(rmp);
    if (rc != PM_OK || events != o->count) {
        fprintf(stderr, "peermesh bench rpc: in-memory run failed: %s\n", pm_strerror(rc));
        return PM_ERR_STATE;
    }
    pm_cli_print_json(json_pack("{s:s, s:s, s:o, s:o, s:i}", "bench", "rpc_encode", "call", CALL,
                                "rpcs_per_s", pm_cli_json_rounded((double)o->count / enc_s, 0),
                                "bytes_per_rpc", pm_cli_json_rounded(bytes, 2), "count",
                                (int)o->count));
    pm_cli_print_json(json_pack("{s:s, s:o, s:i}", "bench", "rpc_decode", "rpcs_per_s",
                                pm_cli_json_rounded((double)events / dec_s, 0), "count",
                                (int)events));
    return PM_OK;
}

/* ---- over ENet: a server that measures what it receives ---- */

typedef struct server {
    pm_enet *enet;
    pm_rpc *rpc;
    long calls;     /* update_position calls received since the last reset */
    int32_t caller; /* who sent the first one */
    bool go_sent;
    uint8_t sample[64]; /* one cached-path call as received, MultiplayerAPI bytes */
    size_t sample_len;
} server;

/* The multiplayer interface under the server's rpc object, recording packet sizes. */
typedef struct tap {
    pm_multiplayer *inner;
    server *srv;
} tap;

static int t_poll(void *impl)
{
    return pm_mp_poll(((tap *)impl)->inner);
}
static int t_put(void *impl, int32_t t, pm_mp_transfer_mode m, int ch, const uint8_t *d, size_t n)
{
    pm_multiplayer *mp = ((tap *)impl)->inner;
    pm_mp_set_target_peer(mp, t);
    pm_mp_set_transfer_mode(mp, m);
    pm_mp_set_transfer_channel(mp, ch);
    return pm_mp_put_packet(mp, d, n);
}
static int t_get(void *impl, pm_mp_packet *out)
{
    tap *t = impl;
    int rc = pm_mp_get_packet(t->inner, out);
    /* A call by cache id (bit 31 of the target clear): the steady-state bytes. */
    if (rc == PM_OK && out->len > 5 && out->len <= sizeof t->srv->sample && out->data[0] == 0 &&
        !(out->data[4] & 0x80)) {
        memcpy(t->srv->sample, out->data, out->len);
        t->srv->sample_len = out->len;
    }
    return rc;
}
static bool t_event(void *impl, pm_mp_event *ev)
{
    return pm_mp_next_event(((tap *)impl)->inner, ev);
}
static int32_t t_id(const void *impl)
{
    return pm_mp_get_unique_id(((const tap *)impl)->inner);
}
static pm_mp_status t_status(const void *impl)
{
    return pm_mp_get_connection_status(((const tap *)impl)->inner);
}
static const pm_multiplayer_ops TAP_OPS = {
    .poll = t_poll,
    .put_packet = t_put,
    .get_packet = t_get,
    .next_event = t_event,
    .get_unique_id = t_id,
    .get_connection_status = t_status,
};

static void serve_once(server *s, int wait_ms)
{
    (void)pm_rpc_poll(s->rpc);
    pm_rpc_event ev;
    while (pm_rpc_next_event(s->rpc, &ev)) {
        if (ev.type != PM_RPC_EVENT_CALL || strcmp(ev.name, METHOD) != 0)
            continue;
        s->calls++;
        if (!s->caller)
            s->caller = ev.peer_id;
        if (!s->go_sent && pm_rpc_call(s->rpc, NODE, ev.peer_id, false, "go", NULL, 0) == PM_OK)
            s->go_sent = true;
    }
    if (wait_ms)
        (void)pm_enet_wait(s->enet, wait_ms);
}

typedef struct enet_result {
    long sent, received;
    double loop_s;
    double payload_bytes, wire_bytes;
} enet_result;

static void print_enet(const char *sender, const enet_result *r)
{
    pm_cli_print_json(json_pack("{s:s, s:s, s:s, s:o, s:i, s:i, s:o, s:o}", "bench", "rpc_enet",
                                "sender", sender, "call", CALL, "rpcs_per_s",
                                pm_cli_json_rounded((double)r->sent / r->loop_s, 0), "sent",
                                (int)r->sent, "received", (int)r->received, "payload_bytes_per_rpc",
                                pm_cli_json_rounded(r->payload_bytes, 2), "udp_bytes_per_rpc",
                                pm_cli_json_rounded(r->wire_bytes, 2)));
}

/* Received counters of the server's host for the window measured. */
static void window_start(server *s)
{
    pm_enet_host *h = pm_enet_get_host(s->enet);
    (void)pm_enet_host_pop_statistic(h, PM_ENET_HOST_TOTAL_RECEIVED_DATA);
    s->calls = 0;
}

static void window_end(server *s, enet_result *r)
{
    pm_enet_host *h = pm_enet_get_host(s->enet);
    uint32_t data = pm_enet_host_pop_statistic(h, PM_ENET_HOST_TOTAL_RECEIVED_DATA);
    r->received = s->calls;
    r->payload_bytes = (double)s->sample_len;
    r->wire_bytes = s->calls ? (double)data / (double)s->calls : 0;
}

/* Our client: connect, warm up, then the loop (the server drained between batches). */
static int ours_over_enet(server *s, long n, enet_result *r)
{
    pm_enet *e = NULL;
    pm_rpc *c = NULL;
    s->go_sent = true; /* `go` is for Godot's loop only */
    int rc = pm_enet_new(NULL, &e);
    if (rc == PM_OK)
        rc = pm_enet_create_client(e, PM_CLI_DEFAULT_BIND, pm_enet_get_local_port(s->enet), 0, 0, 0,
                                   0);
    if (rc == PM_OK)
        rc = pm_rpc_new(NULL, pm_enet_multiplayer(e), &c);
    if (rc == PM_OK)
        rc = pm_rpc_add_node(c, NODE, 1);
    pm_time deadline = pm_now() + PM_SEC(5);
    while (rc == PM_OK && pm_rpc_get_connected_peers(c, NULL, 0) == 0 && pm_now() < deadline) {
        serve_once(s, 0);
        (void)pm_rpc_poll(c);
        drain(c);
        (void)pm_enet_wait(e, 1);
    }
    pm_variant pos = pm_variant_vector2(0, 0);
    if (rc == PM_OK)
        rc = pm_rpc_call(c, NODE, 1, true, METHOD, &pos, 1);
    /* Until the server's confirmation is back, and a little more. */
    for (pm_time until = pm_now() + PM_MS(300); rc == PM_OK && pm_now() < until;) {
        serve_once(s, 0);
        (void)pm_rpc_poll(c);
        drain(c);
        (void)pm_enet_wait(e, 1);
    }
    window_start(s);
    pm_time spent = 0;
    /* The same value as Godot's loop, so that the two sides' bytes can be compared. */
    pos = pm_variant_vector2(1.5f, -2.5f);
    for (long i = 0; rc == PM_OK && i < n; i++) {
        pm_time t0 = pm_now();
        rc = pm_rpc_call(c, NODE, 1, true, METHOD, &pos, 1);
        spent += pm_now() - t0;
        if (i % 64 == 63)
            serve_once(s, 0);
    }
    for (pm_time until = pm_now() + PM_MS(200); pm_now() < until;)
        serve_once(s, 1);
    r->sent = n;
    r->loop_s = (double)spent / 1e6;
    window_end(s, r);
    pm_rpc_free(c);
    pm_enet_free(e);
    return rc;
}

/* Godot's client: wait for its first call, send `go`, measure until it quits. */
static int godot_over_enet(server *s, const pm_bench_godot *g, long n, enet_result *r)
{
    char dir[64];
    int rc = pm_bench_godot_project(dir, sizeof dir);
    if (rc == PM_OK)
        rc = pm_bench_write_file(dir, "sender.gd", GODOT_SENDER);
    if (rc == PM_OK)
        rc = pm_bench_write_file(dir, "player.gd", GODOT_PLAYER);
    char a_port[32], a_n[32], log[96];
    snprintf(a_port, sizeof a_port, "port=%u", pm_enet_get_local_port(s->enet));
    snprintf(a_n, sizeof a_n, "n=%ld", n);
    snprintf(log, sizeof log, "%s/godot.log", dir);
    const char *args[] = {a_port, a_n, NULL};
    s->caller = 0;
    s->go_sent = false;
    s->sample_len = 0;
    pid_t pid = 0;
    if (rc == PM_OK)
        rc = pm_bench_godot_spawn(g, dir, "sender.gd", args, &pid);
    pm_time deadline = pm_now() + PM_SEC(30);
    while (rc == PM_OK && !s->go_sent && pm_now() < deadline)
        serve_once(s, 5);
    if (rc == PM_OK && !s->go_sent)
        rc = PM_ERR_TIMEOUT;
    if (rc == PM_OK)
        window_start(s);
    /* Godot sends its loop, idles half a second and quits. */
    while (rc == PM_OK && pm_now() < deadline && waitpid(pid, NULL, WNOHANG) != pid)
        serve_once(s, 1);
    for (pm_time until = pm_now() + PM_MS(100); rc == PM_OK && pm_now() < until;)
        serve_once(s, 1);
    pm_bench_stop_child(pid, true);
    long us = 0;
    FILE *f = rc == PM_OK ? fopen(log, "r") : NULL;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "GODOT_LOOP_US %ld", &us) == 1)
            break;
    if (f)
        fclose(f);
    if (rc == PM_OK && us <= 0) {
        fprintf(stderr, "peermesh bench rpc: no timing from Godot (log: %s)\n", log);
        return PM_ERR_IO;
    }
    r->sent = n;
    r->loop_s = (double)us / 1e6;
    window_end(s, r);
    if (rc == PM_OK)
        pm_bench_remove_tree(dir);
    return rc;
}

static int bench_enet(const opts *o)
{
    long n = o->count / 20 > 100 ? o->count / 20 : 100;
    server s = {0};
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.bind_ip = PM_CLI_DEFAULT_BIND;
    tap t = {.srv = &s};
    pm_multiplayer *tmp = NULL;
    int rc = pm_enet_new(&cfg, &s.enet);
    if (rc == PM_OK)
        rc = pm_enet_create_server(s.enet, 0, 8, 0, 0, 0);
    t.inner = pm_enet_multiplayer(s.enet);
    if (rc == PM_OK)
        rc = pm_multiplayer_new(&TAP_OPS, &t, &tmp);
    if (rc == PM_OK)
        rc = pm_rpc_new(NULL, tmp, &s.rpc);
    if (rc == PM_OK)
        rc = pm_rpc_add_node(s.rpc, NODE, 1);
    if (rc == PM_OK)
        rc = pm_rpc_set_method_mode(s.rpc, NODE, METHOD, PM_RPC_MODE_REMOTE);
    enet_result ours = {0}, theirs = {0};
    uint8_t our_bytes[64];
    size_t our_len = 0;
    if (rc == PM_OK)
        rc = ours_over_enet(&s, n, &ours);
    if (rc == PM_OK) {
        print_enet("peermesh", &ours);
        memcpy(our_bytes, s.sample, s.sample_len);
        our_len = s.sample_len;
    }
    pm_bench_godot g;
    const char *why = NULL;
    bool godot = rc == PM_OK && o->godot && pm_bench_godot_find(&g, &why);
    if (rc == PM_OK && o->godot && !godot)
        pm_cli_print_json(json_pack("{s:s, s:s}", "bench", "rpc_compare", "skipped", why));
    if (godot)
        rc = godot_over_enet(&s, &g, n, &theirs);
    if (godot && rc == PM_OK) {
        print_enet("godot3", &theirs);
        /* Bytes 1-4 carry the sender's cache id, which may differ; the rest must not. */
        bool same = our_len == s.sample_len && our_len > 5 && our_bytes[0] == s.sample[0] &&
                    memcmp(our_bytes + 5, s.sample + 5, our_len - 5) == 0;
        pm_cli_print_json(json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "bench", "rpc_compare", "godot",
            pm_bench_godot_name(&g), "payload_bytes_ratio_peermesh_over_godot",
            pm_cli_json_rounded(
                theirs.payload_bytes ? ours.payload_bytes / theirs.payload_bytes : 0, 3),
            "udp_bytes_ratio_peermesh_over_godot",
            pm_cli_json_rounded(theirs.wire_bytes ? ours.wire_bytes / theirs.wire_bytes : 0, 3),
            "rate_ratio_peermesh_over_godot",
            pm_cli_json_rounded(theirs.loop_s > 0 && ours.loop_s > 0
                                    ? ((double)ours.sent / ours.loop_s) /
                                          ((double)theirs.sent / theirs.loop_s)
                                    : 0,
                                3),
            "same_bytes", same, "note",
            "sending loops of the same call over ENet on loopback, bytes as the peermesh "
            "server received them; Godot's rate includes GDScript"));
    }
    pm_rpc_free(s.rpc);
    pm_multiplayer_free(tmp);
    pm_enet_free(s.enet);
    return rc;
}

static int take_option(void *ud, int code, const char *arg)
{
    opts *o = ud;
    if (code == 'n')
        return pm_cli_parse_long(arg, 1000, 100000000, &o->count) ? -1 : PM_CLI_OPTION_BAD;
    return -1;
}

int pm_cli_bench_rpc(int argc, char **argv)
{
    opts o = {.count = 200000, .godot = 1};
    const struct option longs[] = {
        {"count", required_argument, NULL, 'n'},
        {"no-godot", no_argument, &o.godot, 0},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, &o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    int rc = bench_memory(&o);
    if (rc == PM_OK)
        rc = bench_enet(&o);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh bench rpc: %s\n", pm_strerror(rc));
        return PM_CLI_EXIT_FAIL;
    }
    return PM_CLI_EXIT_OK;
}
