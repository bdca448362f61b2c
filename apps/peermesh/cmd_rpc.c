/*
 * `peermesh rpc serve` — a C server that Godot 3.2 games talk to with their
 * ordinary rpc, rset and send_bytes (peermesh/rpc.h), over ENet
 * (NetworkedMultiplayerENet) or WebSocket (WebSocketServer as network_peer).
 * It declares the node /root/Echo (network master: the server, id 1) and
 * answers as the usage text says; one JSON object per line on stdout for
 * every event, drop and summary. Runs until SIGINT/SIGTERM or --seconds.
 */
#include "cli.h"
#include "json_out.h"
#include "rpc_util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: peermesh rpc serve (--enet PORT | --ws PORT) [--bind IP] [--cert FILE --key FILE]\n"
    "                          [--seconds S] [--verbose]\n"
    "\n"
    "  --enet PORT   Godot 3.2 NetworkedMultiplayerENet server (0 = any free port)\n"
    "  --ws PORT     Godot 3.2 WebSocketServer multiplayer server (wss with --cert/--key)\n"
    "  --bind IP     address to listen on (default 127.0.0.1)\n"
    "  --seconds S   stop after S seconds (default: until SIGINT/SIGTERM)\n"
    "  --verbose     also print the library's info lines\n"
    "\n"
    "The node /root/Echo (master: the server, id 1) has, as Godot scripts would say:\n"
    "  remote func echo(...)       rpc_id(caller, \"echo_reply\", ...) with the same arguments\n"
    "  remote var value            on rset: rpc(\"value_changed\", value, caller) to everyone\n"
    "  remote func ping(n)         rpc_unreliable_id(caller, \"pong\", n)\n"
    "  raw bytes (send_bytes)      sent back to the sender unchanged\n"
    "and, to try Godot's RPC modes, calls answered with\n"
    "rpc_id(caller, \"mode_reply\", name, x) when the mode lets them run here:\n"
    "  master func master_call(x), mastersync func mastersync_call(x),\n"
    "  remotesync func sync_call(x), puppet func puppet_call(x),\n"
    "  puppetsync func puppetsync_call(x)\n"
    "  remote func probe_modes()   rpc_id(caller, \"to_puppet\" / \"to_master\" / \"to_remote\" /\n"
    "                              \"to_remotesync\", k), rset(\"shared\", caller) to everyone,\n"
    "                              rpc(\"sync_all\", caller) (remotesync: it runs here too),\n"
    "                              then rpc_id(caller, \"probe_done\")\n"
    "Calls a mode forbids are dropped and logged ({\"event\":\"log\",...}).\n";

#define ECHO "/root/Echo"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct serve_options {
    long enet_port, ws_port;
    const char *bind, *cert, *key;
    double seconds;
    int verbose;
} serve_options;

static const pm_cli_expect EXPECTS[] = {
    {'e', "a port number 0..65535"},
    {'w', "a port number 0..65535"},
    {'b', PM_CLI_EXPECT_IP},
    {'c', "a PEM certificate file"},
    {'k', "a PEM key file"},
    {'s', "seconds, 0.01..86400"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "rpc", .usage = USAGE, .expects = EXPECTS};

static int parse_value(void *ud, int code, const char *arg)
{
    serve_options *o = ud;
    bool ok = true;
    switch (code) {
    case 'e':
        ok = pm_cli_parse_long(arg, 0, 65535, &o->enet_port);
        break;
    case 'w':
        ok = pm_cli_parse_long(arg, 0, 65535, &o->ws_port);
        break;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &o->bind);
    case 'c':
        o->cert = arg;
        break;
    case 'k':
        o->key = arg;
        break;
    case 's':
        ok = pm_cli_parse_seconds(arg, 0.01, 86400, &o->seconds);
        break;
    default:
        break;
    }
    return ok ? -1 : PM_CLI_OPTION_BAD;
}

static int parse_options(int argc, char **argv, serve_options *o)
{
    *o = (serve_options){.enet_port = -1, .ws_port = -1, .bind = PM_CLI_DEFAULT_BIND};
    const struct option longs[] = {
        {"enet", required_argument, NULL, 'e'},
        {"ws", required_argument, NULL, 'w'},
        {"bind", required_argument, NULL, 'b'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"seconds", required_argument, NULL, 's'},
        {"verbose", no_argument, &o->verbose, 1},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return pm_cli_usage_errorf(&CMD, "needs a subcommand: serve");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return pm_cli_help(&CMD);
    if (strcmp(argv[1], "serve") != 0)
        return pm_cli_usage_errorf(&CMD, "unknown subcommand '%s': serve", argv[1]);
    int status = pm_cli_parse_options(&CMD, argc, argv, 2, longs, parse_value, o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    if ((o->enet_port < 0) == (o->ws_port < 0))
        return pm_cli_usage_error(&CMD, "serve needs one of --enet PORT and --ws PORT", NULL);
    if (!o->cert != !o->key || (o->cert && o->ws_port < 0))
        return pm_cli_usage_error(&CMD, "--cert and --key go together, with --ws", NULL);
    return -1;
}

/* The Echo node's remote methods and their modes. */
static const struct {
    const char *name;
    pm_rpc_mode mode;
} METHODS[] = {
    {"echo", PM_RPC_MODE_REMOTE},
    {"ping", PM_RPC_MODE_REMOTE},
    {"probe_modes", PM_RPC_MODE_REMOTE},
    {"master_call", PM_RPC_MODE_MASTER},
    {"mastersync_call", PM_RPC_MODE_MASTERSYNC},
    {"sync_call", PM_RPC_MODE_REMOTESYNC},
    {"puppet_call", PM_RPC_MODE_PUPPET},
    {"puppetsync_call", PM_RPC_MODE_PUPPETSYNC},
    {"sync_all", PM_RPC_MODE_REMOTESYNC},
};

static int declare_echo(pm_rpc *r)
{
    int rc = pm_rpc_add_node(r, ECHO, 1);
    for (size_t i = 0; rc == PM_OK && i < sizeof METHODS / sizeof METHODS[0]; i++)
        rc = pm_rpc_set_method_mode(r, ECHO, METHODS[i].name, METHODS[i].mode);
    return rc == PM_OK ? pm_rpc_set_property_mode(r, ECHO, "value", PM_RPC_MODE_REMOTE) : rc;
}

/* probe_modes: calls whose fate on the caller depends on its modes, then sets and syncs. */
static void probe_modes(pm_rpc *r, int32_t caller)
{
    static const char *const calls[] = {"to_puppet", "to_master", "to_remote", "to_remotesync"};
    for (int i = 0; i < 4; i++) {
        pm_variant k = pm_variant_int(i + 1);
        (void)pm_rpc_call(r, ECHO, caller, false, calls[i], &k, 1);
    }
    pm_variant who = pm_variant_int(caller);
    (void)pm_rpc_set(r, ECHO, 0, false, "shared", &who);
    (void)pm_rpc_call(r, ECHO, 0, false, "sync_all", &who, 1);
    (void)pm_rpc_call(r, ECHO, caller, false, "probe_done", NULL, 0);
}

/* Answer one event as the usage text says. */
static void answer(pm_rpc *r, const pm_rpc_event *ev)
{
    int32_t caller = ev->peer_id;
    if (ev->type == PM_RPC_EVENT_RAW) {
        (void)pm_rpc_send_bytes(r, caller, ev->mode, ev->data, ev->len);
        return;
    }
    if (ev->local)
        return;
    if (ev->type == PM_RPC_EVENT_SET) {
        pm_variant args[] = {ev->args[0], pm_variant_int(caller)};
        (void)pm_rpc_call(r, ECHO, 0, false, "value_changed", args, 2);
        return;
    }
    if (ev->type != PM_RPC_EVENT_CALL)
        return;
    if (strcmp(ev->name, "echo") == 0) {
        (void)pm_rpc_call(r, ECHO, caller, false, "echo_reply", ev->args, ev->argc);
    } else if (strcmp(ev->name, "ping") == 0) {
        (void)pm_rpc_call(r, ECHO, caller, true, "pong", ev->args, ev->argc);
    } else if (strcmp(ev->name, "probe_modes") == 0) {
        probe_modes(r, caller);
    } else if (strstr(ev->name, "_call")) {
        pm_variant args[] = {pm_variant_string(ev->name),
                             ev->argc ? ev->args[0] : pm_variant_nil()};
        (void)pm_rpc_call(r, ECHO, caller, false, "mode_reply", args, 2);
    }
}

static void print_summary(const pm_rpc *r)
{
    pm_rpc_stats s;
    pm_rpc_get_stats(r, &s);
    pm_cli_print_json(
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "summary", "calls",
                  (json_int_t)s.calls_received, "sets", (json_int_t)s.sets_received, "raw",
                  (json_int_t)s.raw_received, "sent", (json_int_t)s.packets_sent, "dropped_mode",
                  (json_int_t)s.dropped_mode, "dropped_malformed", (json_int_t)s.dropped_malformed,
                  "dropped_unknown_path", (json_int_t)s.dropped_unknown_path,
                  "dropped_unknown_cache", (json_int_t)s.dropped_unknown_cache, "dropped_too_big",
                  (json_int_t)(s.dropped_too_big + s.dropped_object)));
}

int pm_cli_rpc(int argc, char **argv)
{
    serve_options o;
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    pm_env env = {.log = pm_cli_json_log,
                  .log_level = o.verbose ? PM_LOG_INFO : PM_LOG_WARN,
                  .log_level_set = true};
    pm_cli_rpc_where where = {
        .server = true,
        .ws = o.ws_port >= 0,
        .bind = o.bind,
        .port = (uint16_t)(o.ws_port >= 0 ? o.ws_port : o.enet_port),
        .cert = o.cert,
        .key = o.key,
        .env = &env,
    };
    pm_cli_rpc_net net;
    int rc = pm_cli_rpc_net_start(&net, &where);
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.env = &env;
    pm_rpc *r = NULL;
    if (rc == PM_OK && (rc = pm_rpc_new(&cfg, net.mp, &r)) == PM_OK)
        rc = declare_echo(r);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh rpc serve: %s\n", pm_strerror(rc));
        pm_rpc_free(r);
        pm_cli_rpc_net_free(&net);
        return PM_CLI_EXIT_FAIL;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pm_cli_print_json(json_pack("{s:s, s:s, s:i, s:s, s:b}", "event", "listening", "transport",
                                where.ws ? "websocket" : "enet", "port",
                                (int)pm_cli_rpc_net_port(&net), "node", ECHO, "tls",
                                o.cert != NULL));
    pm_time end = o.seconds > 0 ? pm_now() + (pm_time)(o.seconds * 1e6) : PM_TIME_NEVER;
    while (!stop_requested && pm_now() < end) {
        (void)pm_rpc_poll(r);
        pm_rpc_event ev;
        while (pm_rpc_next_event(r, &ev)) {
            pm_cli_print_json(pm_cli_rpc_event_json(&ev));
            answer(r, &ev);
        }
        pm_cli_rpc_net_wait(&net, 10);
    }
    print_summary(r);
    pm_rpc_free(r);
    pm_cli_rpc_net_free(&net);
    return PM_CLI_EXIT_OK;
}
