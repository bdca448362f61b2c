/*
 * `peermesh rpc probe` — a C client of an Echo server (`peermesh rpc serve`,
 * or the Godot 3.2 server of tests/godot/rpc3/server.gd, also as the host of
 * a WebRTC mesh lobby) that runs the whole
 * conversation and checks every answer: rpc_id with every Variant type
 * echoed back, rset answered by an rpc to everyone, unreliable ping/pong,
 * raw bytes, the RPC modes on both sides (which calls run, which are
 * dropped), a local remotesync call. One JSON line per event, then
 * {"event":"result","ok":...}; exit 0 when every check passed.
 */
#include "cli.h"
#include "enet_util.h"
#include "json_out.h"
#include "rpc_util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: peermesh rpc probe (--enet IP:PORT | --ws URL | --signal URL --lobby NAME)\n"
    "                          [--others N] [--timeout S] [--quiet]\n"
    "\n"
    "  --enet IP:PORT  Godot 3.2 NetworkedMultiplayerENet server\n"
    "  --ws URL        Godot 3.2 WebSocket multiplayer server (ws:// or wss://)\n"
    "  --signal URL    a signaling server (4.x protocol): join --lobby NAME, a WebRTC\n"
    "                  mesh whose host (peer 1) is the Echo server\n"
    "  --others N      also greet N other members (rpc_id(id, \"hello\", our id)) and\n"
    "                  expect as many greetings back (default 0)\n"
    "  --timeout S     give up after S seconds (default 20)\n"
    "  --quiet         print only the result line\n";

#define ECHO "/root/Echo"

static const pm_cli_command CMD = {.name = "rpc probe", .usage = USAGE};

typedef struct probe_options {
    const char *enet, *ws, *signal, *lobby;
    long others;
    double timeout;
    int quiet;
} probe_options;

static int parse_value(void *ud, int code, const char *arg)
{
    probe_options *o = ud;
    if (code == 'e')
        o->enet = arg;
    else if (code == 'w')
        o->ws = arg;
    else if (code == 's')
        o->signal = arg;
    else if (code == 'l')
        o->lobby = arg;
    else if (code == 'o' && !pm_cli_parse_long(arg, 0, 16, &o->others))
        return pm_cli_usage_error(&CMD, "bad value: ", arg);
    else if (code == 't' && !pm_cli_parse_seconds(arg, 0.1, 3600, &o->timeout))
        return pm_cli_usage_error(&CMD, "bad value: ", arg);
    return -1;
}

/* The client side of the Echo node: the modes a Godot client script declares. */
static const struct {
    const char *name;
    pm_rpc_mode mode;
} MODES[] = {
    {"echo_reply", PM_RPC_MODE_REMOTE},    {"pong", PM_RPC_MODE_REMOTE},
    {"value_changed", PM_RPC_MODE_PUPPET}, {"mode_reply", PM_RPC_MODE_REMOTE},
    {"to_puppet", PM_RPC_MODE_PUPPET},     {"to_master", PM_RPC_MODE_MASTER},
    {"to_remote", PM_RPC_MODE_REMOTE},     {"to_remotesync", PM_RPC_MODE_REMOTESYNC},
    {"sync_all", PM_RPC_MODE_REMOTESYNC},  {"probe_done", PM_RPC_MODE_REMOTE},
    {"sync_call", PM_RPC_MODE_REMOTESYNC}, {"hello", PM_RPC_MODE_REMOTE},
};

/* What has come back. */
typedef struct seen {
    int32_t me;
    bool connected, lost;
    size_t echoes;        /* echo_reply calls matching what was sent, in order */
    size_t echo_mismatch; /* echo_reply calls that did not */
    int value_changed, pongs, raw;
    char modes[8][24]; /* mode_reply names, in order */
    int n_modes;
    bool fence; /* the echo after the mode calls came back */
    int modes_before_fence;
    bool local_sync, to_puppet, to_remote, to_remotesync, to_master, sync_all, probe_done;
    int32_t shared;
    int hellos; /* greetings from other members, each naming its sender */
} seen;

/* What was sent with echo, encoded, in order. */
typedef struct sent_echo {
    uint8_t bytes[2048];
    size_t len;
} sent_echo;

static sent_echo sent[40];
static size_t n_sent;

static void encode_args(const pm_variant *args, size_t argc, uint8_t *out, size_t cap, size_t *len)
{
    pm_variant all = pm_variant_array(args, argc);
    if (pm_variant_encode(&all, out, cap, len) != PM_OK)
        *len = 0;
}

/*
 * Did `got` come back as `want` went out? An object travels as an instance
 * id, and a Godot server answers with the id of the EncodedObjectAsID it
 * made of ours: any object id matches an object id.
 */
static bool same(const pm_variant *want, const pm_variant *got)
{
    if (want->type != got->type)
        return false;
    if (want->type == PM_VARIANT_OBJECT)
        return true;
    if (want->type != PM_VARIANT_ARRAY && want->type != PM_VARIANT_DICTIONARY)
        return pm_variant_equal(want, got);
    bool array = want->type == PM_VARIANT_ARRAY;
    size_t n = array ? want->array.count : 2 * want->dict.count;
    if ((array ? got->array.count : 2 * got->dict.count) != n)
        return false;
    const pm_variant *a = array ? want->array.items : want->dict.items;
    const pm_variant *b = array ? got->array.items : got->dict.items;
    for (size_t i = 0; i < n; i++)
        if (!same(&a[i], &b[i]))
            return false;
    return true;
}

static bool echo_matches(size_t k, const pm_rpc_event *ev)
{
    pm_variant *want;
    if (k >= n_sent || pm_variant_decode_new(sent[k].bytes, sent[k].len, &want, NULL) != PM_OK)
        return false;
    pm_variant got = pm_variant_array(ev->args, ev->argc);
    bool match = same(want, &got);
    pm_variant_free(want);
    return match;
}

static void on_call(seen *s, const pm_rpc_event *ev)
{
    const char *n = ev->name;
    if (strcmp(n, "echo_reply") == 0) {
        size_t k = s->echoes + s->echo_mismatch;
        bool match = echo_matches(k, ev);
        if (match)
            s->echoes++;
        else
            s->echo_mismatch++;
        if (ev->argc == 1 && ev->args[0].type == PM_VARIANT_STRING &&
            strcmp(ev->args[0].s.ptr, "fence") == 0) {
            s->fence = true;
            s->modes_before_fence = s->n_modes;
        }
    } else if (strcmp(n, "value_changed") == 0) {
        s->value_changed += ev->argc == 2 && ev->args[0].type == PM_VARIANT_INT &&
                            ev->args[0].i == 5 && ev->args[1].i == s->me;
    } else if (strcmp(n, "pong") == 0) {
        s->pongs++;
    } else if (strcmp(n, "mode_reply") == 0 && s->n_modes < 8 && ev->argc >= 1 &&
               ev->args[0].type == PM_VARIANT_STRING) {
        snprintf(s->modes[s->n_modes++], sizeof s->modes[0], "%s", ev->args[0].s.ptr);
    } else if (strcmp(n, "hello") == 0) {
        s->hellos +=
            ev->argc == 1 && ev->args[0].type == PM_VARIANT_INT && ev->args[0].i == ev->peer_id;
    } else if (strcmp(n, "sync_call") == 0) {
        s->local_sync |= ev->local && ev->peer_id == s->me;
    } else {
        bool from_server = ev->peer_id == 1;
        s->to_puppet |= from_server && strcmp(n, "to_puppet") == 0;
        s->to_remote |= from_server && strcmp(n, "to_remote") == 0;
        s->to_remotesync |= from_server && strcmp(n, "to_remotesync") == 0;
        s->to_master |= strcmp(n, "to_master") == 0;
        s->sync_all |= from_server && strcmp(n, "sync_all") == 0;
        s->probe_done |= from_server && strcmp(n, "probe_done") == 0;
    }
}

static void on_event(seen *s, pm_rpc *r, const pm_rpc_event *ev, bool quiet)
{
    if (!quiet)
        pm_cli_print_json(pm_cli_rpc_event_json(ev));
    switch (ev->type) {
    case PM_RPC_EVENT_PEER_CONNECTED:
        /* The server (a mesh has no CONNECTED_TO_SERVER), or another member to greet. */
        if (ev->peer_id == 1) {
            s->connected = true;
            s->me = pm_rpc_get_unique_id(r);
        } else {
            pm_variant me = pm_variant_int(pm_rpc_get_unique_id(r));
            (void)pm_rpc_call(r, ECHO, ev->peer_id, false, "hello", &me, 1);
        }
        break;
    case PM_RPC_EVENT_CONNECTION_FAILED:
    case PM_RPC_EVENT_SERVER_DISCONNECTED:
        s->lost = true;
        break;
    case PM_RPC_EVENT_RAW:
        s->raw += ev->len == 4 && memcmp(ev->data, "\x00\x01\x02\xff", 4) == 0;
        break;
    case PM_RPC_EVENT_SET:
        if (strcmp(ev->name, "shared") == 0 && ev->args[0].type == PM_VARIANT_INT)
            s->shared = (int32_t)ev->args[0].i;
        break;
    case PM_RPC_EVENT_CALL:
        on_call(s, ev);
        break;
    default:
        break;
    }
}

/* Every type, as the Godot test client sends them (tests/godot/rpc3/client.gd). */
static size_t samples(pm_variant *v)
{
    static const float f[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t bytes[] = {0, 1, 255};
    static const int32_t ints[] = {1, -2, 2147483647};
    static const float reals[] = {1.5f, -2.5f};
    static const pm_variant_str strs[] = {{"a", 1}, {"", 0}, {"\xc3\xbc", 2}};
    static const float c[] = {1, 0, 0, 1};
    static pm_variant inner[5];
    inner[0] = pm_variant_string("a");
    inner[1] = pm_variant_int(1);
    inner[2] = pm_variant_int(2);
    inner[3] = pm_variant_array(inner + 4, 1);
    inner[4] = pm_variant_real(3.5);
    size_t n = 0;
    v[n++] = pm_variant_nil();
    v[n++] = pm_variant_bool(true);
    v[n++] = pm_variant_int(42);
    v[n++] = pm_variant_int((int64_t)1 << 40);
    v[n++] = pm_variant_real(-1.5);
    v[n++] = pm_variant_real(0.1);
    v[n++] = pm_variant_string("h\xc3\xa9llo");
    for (int t = PM_VARIANT_VECTOR2; t <= PM_VARIANT_COLOR; t++)
        v[n++] = pm_variant_math((pm_variant_type)t, f);
    v[n++] = pm_variant_node_path("/root/Echo:x");
    v[n] = pm_variant_nil();
    v[n++].type = PM_VARIANT_RID;
    v[n++] = pm_variant_object_id(12345);
    v[n++] = pm_variant_dictionary(inner, 2);
    v[n++] = pm_variant_array(inner + 2, 2);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_BYTE_ARRAY, bytes, 3);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_INT_ARRAY, ints, 3);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_REAL_ARRAY, reals, 2);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_STRING_ARRAY, strs, 3);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_VECTOR2_ARRAY, f, 1);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_VECTOR3_ARRAY, f, 1);
    v[n++] = pm_variant_pool(PM_VARIANT_POOL_COLOR_ARRAY, c, 1);
    return n;
}

static int echo(pm_rpc *r, const pm_variant *args, size_t argc)
{
    if (n_sent == sizeof sent / sizeof sent[0])
        return PM_ERR_FULL;
    encode_args(args, argc, sent[n_sent].bytes, sizeof sent[n_sent].bytes, &sent[n_sent].len);
    n_sent++;
    return pm_rpc_call(r, ECHO, 1, false, "echo", args, argc);
}

/* Everything the probe sends, once connected. */
static int send_all(pm_rpc *r)
{
    pm_variant v[40];
    size_t n = samples(v);
    int rc = PM_OK;
    for (size_t i = 0; i < n && rc == PM_OK; i++)
        rc = echo(r, &v[i], 1);
    if (rc == PM_OK)
        rc = echo(r, v, n);
    pm_variant five = pm_variant_int(5);
    if (rc == PM_OK)
        rc = pm_rpc_set(r, ECHO, 1, false, "value", &five);
    for (int i = 0; i < 10 && rc == PM_OK; i++) {
        pm_variant k = pm_variant_int(i);
        rc = pm_rpc_call(r, ECHO, 1, true, "ping", &k, 1);
    }
    if (rc == PM_OK)
        rc = pm_rpc_send_bytes(r, 1, PM_MP_TRANSFER_RELIABLE, (const uint8_t *)"\x00\x01\x02\xff",
                               4);
    static const char *const calls[] = {"master_call", "mastersync_call", "sync_call",
                                        "puppet_call", "puppetsync_call", "disabled_call"};
    for (int i = 0; i < 6 && rc == PM_OK; i++) {
        pm_variant k = pm_variant_int(i + 1);
        rc = pm_rpc_call(r, ECHO, 1, false, calls[i], &k, 1);
    }
    pm_variant fence = pm_variant_string("fence");
    if (rc == PM_OK)
        rc = echo(r, &fence, 1);
    /* remotesync to everyone: runs here too. */
    pm_variant seven = pm_variant_int(7);
    if (rc == PM_OK)
        rc = pm_rpc_call(r, ECHO, 0, false, "sync_call", &seven, 1);
    if (rc == PM_OK)
        rc = pm_rpc_call(r, ECHO, 1, false, "probe_modes", NULL, 0);
    return rc;
}

static bool modes_ok(const seen *s)
{
    /* Before the fence: master_call, mastersync_call, sync_call, in that order. */
    static const char *const want[] = {"master_call", "mastersync_call", "sync_call"};
    if (!s->fence || s->modes_before_fence != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (strcmp(s->modes[i], want[i]) != 0)
            return false;
    return true;
}

static long others_wanted;

static bool done(const seen *s)
{
    return s->hellos >= others_wanted && s->echoes + s->echo_mismatch == n_sent &&
           s->value_changed && s->pongs && s->raw && s->fence && s->n_modes >= 4 && s->local_sync &&
           s->probe_done && s->shared;
}

static json_t *report(const seen *s, const pm_rpc *r)
{
    pm_rpc_stats st;
    pm_rpc_get_stats(r, &st);
    bool ok = s->connected && s->echoes == n_sent && !s->echo_mismatch && s->value_changed &&
              s->pongs && s->raw && modes_ok(s) && s->n_modes == 4 &&
              strcmp(s->modes[3], "sync_call") == 0 && s->local_sync && s->to_puppet &&
              s->to_remote && s->to_remotesync && !s->to_master && st.dropped_mode == 1 &&
              s->sync_all && s->probe_done && s->shared != 0 && s->hellos >= others_wanted;
    return json_pack(
        "{s:s, s:b, s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:i, "
        "s:I, s:i}}",
        "event", "result", "ok", ok, "id", (int)s->me, "checks", "echoes", (int)s->echoes,
        "echo_mismatch", (int)s->echo_mismatch, "value_changed", s->value_changed, "pongs",
        s->pongs, "raw", s->raw, "modes_before_fence", s->modes_before_fence, "local_sync",
        s->local_sync, "to_puppet", s->to_puppet, "to_remote", s->to_remote, "to_remotesync",
        s->to_remotesync, "to_master_dropped", !s->to_master, "sync_all", s->sync_all, "probe_done",
        s->probe_done, "shared", (int)s->shared, "dropped_mode", (json_int_t)st.dropped_mode,
        "hellos", s->hellos);
}

static int parse_options(int argc, char **argv, probe_options *o)
{
    *o = (probe_options){.timeout = 20};
    const struct option longs[] = {
        {"enet", required_argument, NULL, 'e'},
        {"ws", required_argument, NULL, 'w'},
        {"signal", required_argument, NULL, 's'},
        {"lobby", required_argument, NULL, 'l'},
        {"others", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, &o->quiet, 1},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, parse_value, o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_usage_error(&CMD, "unexpected argument ", argv[optind]);
    if ((o->enet != NULL) + (o->ws != NULL) + (o->signal != NULL) != 1 || !o->signal != !o->lobby)
        return pm_cli_usage_error(
            &CMD, "give one of --enet IP:PORT, --ws URL, --signal URL --lobby NAME", NULL);
    return -1;
}

int pm_cli_rpc_probe(int argc, char **argv)
{
    probe_options o;
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    char host[64] = "";
    uint16_t port = 0;
    if (o.enet && !pm_cli_parse_hostport(o.enet, host, sizeof host, &port))
        return pm_cli_usage_error(&CMD, "--enet wants a numeric IPv4 IP:PORT, got ", o.enet);
    pm_env env = {.log = pm_cli_json_log};
    others_wanted = o.others;
    pm_cli_rpc_where where = {.ws = o.ws != NULL,
                              .host = host,
                              .port = port,
                              .url = o.signal ? o.signal : o.ws,
                              .lobby = o.lobby,
                              .env = &env};
    pm_cli_rpc_net net;
    pm_rpc *r = NULL;
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.env = &env;
    pm_time deadline = pm_now() + (pm_time)(o.timeout * 1e6);
    int rc = pm_cli_rpc_net_start(&net, &where);
    /* A mesh exists once the signaling server gave us our id. */
    while (rc == PM_OK && !net.mp && pm_now() < deadline) {
        pm_cli_rpc_net_poll(&net);
        pm_cli_rpc_net_wait(&net, 2);
    }
    if (rc == PM_OK && !net.mp)
        rc = PM_ERR_TIMEOUT;
    if (rc == PM_OK && (rc = pm_rpc_new(&cfg, net.mp, &r)) == PM_OK)
        rc = pm_rpc_add_node(r, ECHO, 1);
    for (size_t i = 0; rc == PM_OK && i < sizeof MODES / sizeof MODES[0]; i++)
        rc = pm_rpc_set_method_mode(r, ECHO, MODES[i].name, MODES[i].mode);
    if (rc == PM_OK)
        rc = pm_rpc_set_property_mode(r, ECHO, "shared", PM_RPC_MODE_PUPPET);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh rpc probe: %s\n", pm_strerror(rc));
        pm_rpc_free(r);
        pm_cli_rpc_net_free(&net);
        return PM_CLI_EXIT_FAIL;
    }
    seen s = {0};
    bool started = false;
    while (pm_now() < deadline && !s.lost && !done(&s)) {
        pm_cli_rpc_net_poll(&net);
        (void)pm_rpc_poll(r);
        pm_rpc_event ev;
        while (pm_rpc_next_event(r, &ev))
            on_event(&s, r, &ev, o.quiet);
        if (s.connected && !started) {
            started = true;
            if ((rc = send_all(r)) != PM_OK)
                fprintf(stderr, "peermesh rpc probe: sending failed: %s\n", pm_strerror(rc));
        }
        pm_cli_rpc_net_wait(&net, 5);
    }
    /* A late to_master would show here. */
    for (pm_time until = pm_now() + PM_MS(100); pm_now() < until && !s.lost;) {
        pm_cli_rpc_net_poll(&net);
        (void)pm_rpc_poll(r);
        pm_rpc_event ev;
        while (pm_rpc_next_event(r, &ev))
            on_event(&s, r, &ev, o.quiet);
        pm_cli_rpc_net_wait(&net, 5);
    }
    json_t *res = report(&s, r);
    bool ok = json_is_true(json_object_get(res, "ok"));
    pm_cli_print_json(res);
    if (net.mp)
        pm_mp_close(net.mp);
    pm_rpc_free(r);
    pm_cli_rpc_net_free(&net);
    return ok ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
