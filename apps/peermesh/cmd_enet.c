/*
 * `peermesh enet server|connect` — the ENet multiplayer peer from the
 * command line, speaking Godot 3.2's NetworkedMultiplayerENet format by
 * default (--format godot4 for ENetMultiplayerPeer). One JSON object per
 * line on stdout.
 *
 *   server   listen, announce peers, relay (Godot 3), optionally echo every
 *            packet back to its sender; stops on SIGINT/SIGTERM or --seconds
 *   connect  connect, send --send numbered packets of --size bytes prefixed
 *            with the MultiplayerAPI raw command byte (so a Godot game sees
 *            them as send_bytes), and time their echoes
 */
#include "cli.h"
#include "enet_util.h"
#include "json_out.h"
#include "mesh_util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: peermesh enet server --port P [--bind IP] [--echo] [--format godot3|godot4]\n"
    "                            [--max-clients N] [--channels K] [--no-relay]\n"
    "                            [--compress none|range] [--seconds S]\n"
    "                            [--max-pending-per-address N] [--max-pending N]\n"
    "                            [--pending-timeout S]\n"
    "       peermesh enet connect IP:PORT [--send N] [--size B] [--unreliable | --ordered]\n"
    "                            [--format godot3|godot4] [--window W] [--timeout S]\n"
    "                            [--expect M] [--no-wait] [--no-command] [--channels K]\n"
    "                            [--compress none|range] [--linger S]\n"
    "\n"
    "  --port P        server port (0 = any free port; the chosen one is printed)\n"
    "  --echo          server: send every packet back to its sender, same mode and channel\n"
    "  --format F      wire format: godot3 (default, NetworkedMultiplayerENet 3.2) or godot4\n"
    "  --channels K    extra channels (both sides must agree; default 0)\n"
    "  --no-relay      Godot 3 server: do not relay packets between clients\n"
    "  --seconds S     server: stop after S seconds (default: until SIGINT/SIGTERM)\n"
    "  --max-clients N server: client slots (default 32)\n"
    "  --max-pending-per-address N  server: connections not finished yet per IPv4 address\n"
    "                  (default 4; 0 = any); more CONNECTs from it are dropped\n"
    "  --max-pending N server: connections not finished yet at once (default 0 = half the slots)\n"
    "  --pending-timeout S  server: an unfinished connection is dropped after S (default 5)\n"
    "  --send N        connect: packets to send (default 10)\n"
    "  --size B        connect: payload bytes after the command byte (default 100, min 5)\n"
    "  --unreliable    connect: transfer mode UNRELIABLE (default RELIABLE)\n"
    "  --ordered       connect: transfer mode UNRELIABLE_ORDERED\n"
    "  --window W      connect: packets in flight at most (default 1: ping-pong)\n"
    "  --timeout S     connect: overall time limit (default 10)\n"
    "  --expect M      connect: echoes needed for success (default N if reliable, else 0)\n"
    "  --no-wait       connect: do not wait for echoes\n"
    "  --no-command    connect: no MultiplayerAPI raw command byte (0x04 / 0x03)\n"
    "  --linger S      connect: stay connected S seconds after sending, printing events\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The switches without a value are ints that getopt_long sets itself (struct option.flag). */
typedef struct enet_options {
    bool server;
    long port;
    const char *bind;
    int echo;
    pm_enet_format format;
    long max_clients;
    long channels;
    int relay;
    pm_enet_compression compression;
    double seconds;
    char ip[64];
    uint16_t remote_port;
    long send;
    long size;
    int mode; /* pm_mp_transfer_mode */
    long window;
    double timeout;
    long expect;
    int no_wait;
    int command;
    double linger;
    long pending_per_address, pending_total;
    double pending_timeout;
} enet_options;

static const pm_cli_expect EXPECTS[] = {
    {'p', "a port number 0..65535"},
    {'b', PM_CLI_EXPECT_IP},
    {'f', "godot3 or godot4"},
    {'m', "a number of clients 1..4095"},
    {'c', "a number of extra channels 0..252"},
    {'z', "none or range"},
    {'s', "seconds, 0.01..86400"},
    {'n', "a number of packets 0..10000000"},
    {'B', "a payload size in bytes 5..1048576"},
    {'w', "a number of packets 1..100000"},
    {'t', "seconds, 0.01..86400"},
    {'e', "a number of echoes 0..10000000"},
    {'L', "seconds, 0..3600"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "enet", .usage = USAGE, .expects = EXPECTS};

/* An option with a value (a switch without one has set its flag: code 0). */
static int parse_value(void *ud, int code, const char *arg)
{
    enet_options *o = ud;
    bool ok = true;
    switch (code) {
    case 'p':
        ok = pm_cli_parse_long(arg, 0, 65535, &o->port);
        break;
    case 'b':
        ok = pm_cli_is_numeric_ip(arg);
        o->bind = arg;
        break;
    case 'f':
        ok = pm_cli_enet_parse_format(arg, &o->format);
        break;
    case 'm':
        ok = pm_cli_parse_long(arg, 1, PM_ENET_MAX_PEERS, &o->max_clients);
        break;
    case 'c':
        ok = pm_cli_parse_long(arg, 0, 252, &o->channels);
        break;
    case 'z':
        ok = strcmp(arg, "none") == 0 || strcmp(arg, "range") == 0;
        o->compression =
            strcmp(arg, "range") == 0 ? PM_ENET_COMPRESS_RANGE_CODER : PM_ENET_COMPRESS_NONE;
        break;
    case 's':
        ok = pm_cli_parse_seconds(arg, 0.01, 86400, &o->seconds);
        break;
    case 'n':
        ok = pm_cli_parse_long(arg, 0, 10000000, &o->send);
        break;
    case 'B':
        ok = pm_cli_parse_long(arg, PM_CLI_PROBE_MIN_SIZE, 1 << 20, &o->size);
        break;
    case 'w':
        ok = pm_cli_parse_long(arg, 1, 100000, &o->window);
        break;
    case 't':
        ok = pm_cli_parse_seconds(arg, 0.01, 86400, &o->timeout);
        break;
    case 'e':
        ok = pm_cli_parse_long(arg, 0, 10000000, &o->expect);
        break;
    case 'L':
        ok = pm_cli_parse_seconds(arg, 0, 3600, &o->linger);
        break;
    case 'A':
        ok = pm_cli_parse_long(arg, 0, PM_ENET_MAX_PEERS, &o->pending_per_address);
        break;
    case 'P':
        ok = pm_cli_parse_long(arg, 0, PM_ENET_MAX_PEERS, &o->pending_total);
        break;
    case 'T':
        ok = pm_cli_parse_seconds(arg, 0, 3600, &o->pending_timeout);
        break;
    default:
        break;
    }
    return ok ? -1 : PM_CLI_OPTION_BAD;
}

static int parse_options(int argc, char **argv, enet_options *o)
{
    *o = (enet_options){.port = -1,
                        .bind = NULL,
                        .format = PM_ENET_FORMAT_GODOT3,
                        .max_clients = 32,
                        .relay = true,
                        .send = 10,
                        .size = 100,
                        .mode = PM_MP_TRANSFER_RELIABLE,
                        .window = 1,
                        .timeout = 10,
                        .expect = -1,
                        .command = true,
                        .pending_per_address = 4,
                        .pending_timeout = 5};
    const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"echo", no_argument, &o->echo, true},
        {"format", required_argument, NULL, 'f'},
        {"max-clients", required_argument, NULL, 'm'},
        {"channels", required_argument, NULL, 'c'},
        {"no-relay", no_argument, &o->relay, false},
        {"compress", required_argument, NULL, 'z'},
        {"seconds", required_argument, NULL, 's'},
        {"send", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'B'},
        {"unreliable", no_argument, &o->mode, PM_MP_TRANSFER_UNRELIABLE},
        {"ordered", no_argument, &o->mode, PM_MP_TRANSFER_UNRELIABLE_ORDERED},
        {"window", required_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 't'},
        {"expect", required_argument, NULL, 'e'},
        {"no-wait", no_argument, &o->no_wait, true},
        {"no-command", no_argument, &o->command, false},
        {"linger", required_argument, NULL, 'L'},
        {"max-pending-per-address", required_argument, NULL, 'A'},
        {"max-pending", required_argument, NULL, 'P'},
        {"pending-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return pm_cli_usage_errorf(&CMD, "needs a subcommand: server or connect");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return pm_cli_help(&CMD);
    o->server = strcmp(argv[1], "server") == 0;
    if (!o->server && strcmp(argv[1], "connect") != 0)
        return pm_cli_usage_errorf(&CMD, "unknown subcommand '%s': server or connect", argv[1]);
    int status = pm_cli_parse_options(&CMD, argc, argv, 2, longs, parse_value, o);
    if (status >= 0)
        return status;
    if (o->server) {
        if (o->port < 0)
            return pm_cli_usage_errorf(&CMD, "server needs --port: %s", EXPECTS[0].expected);
        if (optind < argc)
            return pm_cli_unexpected(&CMD, argv[optind]);
        return -1;
    }
    if (optind >= argc)
        return pm_cli_usage_errorf(&CMD, "connect needs IP:PORT, the server's numeric IPv4 "
                                         "address and port (e.g. 127.0.0.1:7777)");
    if (!pm_cli_parse_hostport(argv[optind], o->ip, sizeof o->ip, &o->remote_port))
        return pm_cli_usage_errorf(&CMD,
                                   "connect needs IP:PORT with a numeric IPv4 address and a port "
                                   "1..65535 (e.g. 127.0.0.1:7777), got '%s'",
                                   argv[optind]);
    if (optind + 1 < argc)
        return pm_cli_unexpected(&CMD, argv[optind + 1]);
    if (o->expect < 0)
        o->expect = o->no_wait || o->mode != PM_MP_TRANSFER_RELIABLE ? 0 : o->send;
    return -1;
}

/* The server or the client the options ask for, stoppable by SIGINT/SIGTERM; NULL (reported). */
static pm_enet *start_peer(const enet_options *o)
{
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.format = o->format;
    cfg.server_relay = o->relay;
    cfg.compression = o->compression;
    cfg.bind_ip = o->bind ? o->bind : PM_CLI_DEFAULT_BIND;
    cfg.max_pending_per_address = (int)o->pending_per_address;
    cfg.max_pending = (int)o->pending_total;
    cfg.pending_timeout_ms = (uint32_t)(o->pending_timeout * 1000);
    pm_enet *e = NULL;
    int rc = pm_enet_new(&cfg, &e);
    if (rc == PM_OK && o->server)
        rc = pm_enet_create_server(e, (uint16_t)o->port, (int)o->max_clients, (int)o->channels, 0,
                                   0);
    else if (rc == PM_OK)
        rc = pm_enet_create_client(e, o->ip, o->remote_port, (int)o->channels, 0, 0, 0);
    if (rc != PM_OK) {
        const char *bind = cfg.bind_ip;
        if (o->server)
            fprintf(stderr, "peermesh enet server: cannot listen on %s port %ld: %s\n", bind,
                    o->port, pm_strerror(rc));
        else
            fprintf(stderr,
                    "peermesh enet connect: cannot open a socket on %s to reach %s:%u: %s\n", bind,
                    o->ip, (unsigned)o->remote_port, pm_strerror(rc));
        pm_enet_free(e);
        return NULL;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    return e;
}

static void print_event(const pm_mp_event *ev)
{
    pm_cli_print_json(json_pack("{s:s, s:i}", "event", pm_mp_event_type_to_string(ev->type), "id",
                                (int)ev->peer_id));
}

/* A socket that failed ends the run: the library logged what the OS said. */
static bool socket_failed(const enet_options *o, pm_enet *e, int rc)
{
    if (rc >= 0)
        return false;
    fprintf(stderr, "peermesh enet %s: the UDP socket on %s port %u failed: %s; stopping\n",
            o->server ? "server" : "connect", o->bind ? o->bind : PM_CLI_DEFAULT_BIND,
            (unsigned)pm_enet_get_local_port(e), pm_strerror(rc));
    return true;
}

/* Poll once and print every event. True when the server went away or the socket failed. */
static bool pump_events(const enet_options *o, pm_enet *e, bool *failed)
{
    bool lost_server = false;
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    *failed |= socket_failed(o, e, pm_mp_poll(mp));
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        print_event(&ev);
        lost_server |= ev.type == PM_MP_EVENT_SERVER_DISCONNECTED;
    }
    return lost_server || *failed;
}

static int run_server(const enet_options *o)
{
    pm_enet *e = start_peer(o);
    if (!e)
        return PM_CLI_EXIT_FAIL;
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    pm_cli_print_json(json_pack("{s:s, s:i, s:s, s:b}", "event", "listening", "port",
                                (int)pm_enet_get_local_port(e), "format",
                                pm_cli_enet_format_name(o->format), "echo", o->echo));
    pm_time start = pm_now(),
            end = o->seconds > 0 ? start + (pm_time)(o->seconds * 1e6) : PM_TIME_NEVER;
    uint64_t packets = 0, bytes = 0, echoed = 0;
    bool failed = false;
    while (!stop_requested && pm_now() < end && !failed) {
        (void)pump_events(o, e, &failed);
        pm_mp_packet p;
        while (pm_mp_get_packet(mp, &p) == PM_OK) {
            packets++;
            bytes += p.len;
            if (o->echo && pm_cli_enet_echo(mp, &p) == PM_OK)
                echoed++;
        }
        (void)pm_wait(pm_enet_fd(e), min_time(pm_enet_next_timeout(e), end));
    }
    pm_enet_stats st;
    pm_enet_get_stats(e, &st);
    pm_cli_print_json(
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "summary", "packets",
                  (json_int_t)packets, "bytes", (json_int_t)bytes, "echoed", (json_int_t)echoed,
                  "relayed", (json_int_t)st.packets_relayed, "dropped_spoofed",
                  (json_int_t)st.dropped_spoofed, "dropped_malformed",
                  (json_int_t)st.dropped_malformed, "refused", (json_int_t)st.connections_refused));
    pm_enet_free(e);
    return failed ? PM_CLI_EXIT_FAIL : PM_CLI_EXIT_OK;
}

/* Poll until connected: PM_CLI_EXIT_OK, or the status of a failure or the timeout (reported). */
static int wait_connected(const enet_options *o, pm_enet *e, pm_time deadline)
{
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    while (pm_now() < deadline && !stop_requested) {
        if (socket_failed(o, e, pm_mp_poll(mp)))
            return PM_CLI_EXIT_FAIL;
        pm_mp_event ev;
        while (pm_mp_next_event(mp, &ev)) {
            if (ev.type == PM_MP_EVENT_PEER_CONNECTED)
                print_event(&ev);
            if (ev.type == PM_MP_EVENT_CONNECTION_SUCCEEDED)
                return PM_CLI_EXIT_OK;
            if (ev.type == PM_MP_EVENT_CONNECTION_FAILED ||
                ev.type == PM_MP_EVENT_SERVER_DISCONNECTED) {
                print_event(&ev);
                fprintf(stderr, "peermesh enet connect: %s:%u did not accept the connection\n",
                        o->ip, (unsigned)o->remote_port);
                return PM_CLI_EXIT_FAIL;
            }
        }
        (void)pm_wait(pm_enet_fd(e), min_time(pm_enet_next_timeout(e), deadline));
    }
    if (!stop_requested)
        fprintf(stderr,
                "peermesh enet connect: no answer from %s:%u within %.1f s (is an ENet server "
                "there, with the same --format?)\n",
                o->ip, (unsigned)o->remote_port, o->timeout);
    return PM_CLI_EXIT_TIMEOUT;
}

static void leave(pm_enet *e)
{
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    if (pm_mp_get_connection_status(mp) != PM_MP_CONNECTED)
        return;
    (void)pm_mp_disconnect_peer(mp, 1, false);
    pm_time deadline = pm_now() + PM_SEC(1);
    while (pm_mp_get_connection_status(mp) != PM_MP_DISCONNECTED && pm_now() < deadline) {
        (void)pm_mp_poll(mp);
        (void)pm_enet_wait(e, 5);
    }
}

static int run_connect(const enet_options *o)
{
    pm_enet *e = start_peer(o);
    if (!e)
        return PM_CLI_EXIT_FAIL;
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    pm_time start = pm_now(), deadline = start + (pm_time)(o->timeout * 1e6);
    int status = wait_connected(o, e, deadline);
    if (status != PM_CLI_EXIT_OK) {
        pm_enet_free(e);
        return status;
    }
    int32_t id = pm_mp_get_unique_id(mp);
    pm_cli_print_json(json_pack("{s:s, s:i, s:s}", "event", "connected", "id", (int)id, "format",
                                pm_cli_enet_format_name(o->format)));

    pm_cli_probe pr;
    int command = o->command ? (o->format == PM_ENET_FORMAT_GODOT3 ? 0x04 : 0x03) : -1;
    int rc = pm_cli_probe_init(&pr, (size_t)o->size, command, (pm_mp_transfer_mode)o->mode, o->send,
                               o->no_wait ? o->send : o->window, PM_SEC(1));
    if (rc != PM_OK) {
        pm_enet_free(e);
        return PM_CLI_EXIT_FAIL;
    }
    pm_time t0 = pm_now();
    long other = 0;
    bool lost_server = false, failed = false;
    while (!stop_requested && pm_now() < deadline && !lost_server) {
        rc = pm_cli_probe_step(&pr, mp, pm_now());
        if (rc < 0)
            break;
        if (o->no_wait && pr.sent == pr.total)
            break;
        lost_server |= pump_events(o, e, &failed);
        pm_mp_packet p;
        pm_time now = pm_now();
        while (pm_mp_get_packet(mp, &p) == PM_OK)
            if (!pm_cli_probe_on_packet(&pr, &p, now))
                other++;
        if (pm_cli_probe_done(&pr))
            break;
        if (pr.in_flight >= pr.window || pr.sent == pr.total) /* else send the next at once */
            (void)pm_wait(pm_enet_fd(e), min_time(pm_enet_next_timeout(e), pm_now() + PM_MS(1)));
    }
    double elapsed = (double)(pm_now() - t0) / 1000.0;
    pm_time linger_end = pm_now() + (pm_time)(o->linger * 1e6);
    while (!lost_server && !stop_requested && pm_now() < linger_end) {
        lost_server |= pump_events(o, e, &failed);
        pm_mp_packet p;
        while (pm_mp_get_packet(mp, &p) == PM_OK)
            other++;
        (void)pm_wait(pm_enet_fd(e), min_time(pm_enet_next_timeout(e), linger_end));
    }
    if (!failed)
        leave(e); /* lets queued packets go, then says goodbye */
    double mn, med, p99;
    pm_cli_probe_rtt_ms(&pr, &mn, &med, &p99);
    static const char *const modes[] = {"unreliable", "unreliable_ordered", "reliable"};
    pm_cli_print_json(json_pack(
        "{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:o, s:o, s:o}}", "event", "result",
        "id", (int)id, "format", pm_cli_enet_format_name(o->format), "mode", modes[o->mode], "size",
        (json_int_t)o->size, "sent", (json_int_t)pr.sent, "received", (json_int_t)pr.received,
        "lost", (json_int_t)pr.lost, "other", (json_int_t)other, "elapsed_ms",
        pm_cli_json_rounded(elapsed, 2), "rtt_ms", "min", pm_cli_json_rounded(mn, 3), "median",
        pm_cli_json_rounded(med, 3), "p99", pm_cli_json_rounded(p99, 3)));
    bool ok =
        rc >= 0 && !failed && pr.received >= o->expect && (o->no_wait ? pr.sent == pr.total : true);
    pm_cli_probe_free(&pr);
    pm_enet_free(e);
    if (rc < 0)
        fprintf(stderr, "peermesh enet connect: send failed: %s\n", pm_strerror(rc));
    return ok ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}

int pm_cli_enet(int argc, char **argv)
{
    enet_options o;
    int st = parse_options(argc, argv, &o);
    if (st >= 0)
        return st;
    return o.server ? run_server(&o) : run_connect(&o);
}
