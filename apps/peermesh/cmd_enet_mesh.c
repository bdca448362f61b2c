/*
 * `peermesh enet mesh` — an ENet mesh through a signaling server, through
 * NATs by hole punching (pm_signal_client with PM_SIGNAL_TRANSPORT_ENET,
 * signaling.h). Joins (or creates) a lobby, waits until the mesh has
 * --peers nodes, sends --send numbered reliable packets to every other
 * node and waits for theirs. One JSON object per line on stdout:
 *
 *   {"event":"joined","id":N,"lobby":"..."}
 *   {"event":"peer_connected","peer":N,"address":"ip:port","ms":T}
 *   {"event":"peer_failed","peer":N,"reason":"..."}
 *   {"event":"result","ok":B,"id":N,"connected":K,"failed":F,"received":R,"expected":E,
 *    "mesh_ms":T}
 */
#include "cli.h"
#include "json_out.h"
#include "peermesh/signaling.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: peermesh enet mesh --server URL [--lobby NAME] [--peers N] [--send K] [--size B]\n"
    "                          [--stun URL] [--bind IP] [--punch-timeout S] [--timeout S]\n"
    "                          [--linger S]\n"
    "\n"
    "An ENet mesh (Godot 4 format) built through a signaling server by UDP hole punching.\n"
    "  --server URL         signaling server (ws:// or wss://)\n"
    "  --lobby NAME         lobby to join (default: create one; its name is printed)\n"
    "  --peers N            nodes in the mesh, us included (default 2)\n"
    "  --send K             reliable packets to every other node once all are there (default 5)\n"
    "  --size B             bytes per packet (default 100, min 12)\n"
    "  --stun URL           STUN server (stun:HOST[:PORT]), in addition to the server's list\n"
    "  --bind IP            numeric IPv4 address for the ENet sockets\n"
    "  --punch-timeout S    per link, from the peer's first address (default 10)\n"
    "  --timeout S          overall (default 30)\n"
    "  --linger S           stay that long after our part is done, for the others (default 2)\n";

static const pm_cli_expect EXPECTS[] = {
    {'u', "a ws:// or wss:// URL of a signaling server"},
    {'n', "a number of nodes 2..64"},
    {'k', "a number of packets 0..100000"},
    {'B', "bytes per packet, 12..1048576"},
    {'s', "a STUN server URL, stun:HOST[:PORT]"},
    {'b', PM_CLI_EXPECT_IP},
    {'p', "seconds, 0.1..3600"},
    {'t', "seconds, 0.1..86400"},
    {'L', "seconds, 0..3600"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "enet mesh", .usage = USAGE, .expects = EXPECTS};

#define MIN_SIZE 12          /* magic (4), sender (4), sequence (4) */
#define MAGIC    0x504d454eu /* "PMEN" */

typedef struct mesh_opts {
    const char *server, *lobby, *stun, *bind;
    long peers, send, size;
    double punch_timeout, timeout, linger;
} mesh_opts;

static volatile sig_atomic_t stop_requested;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int parse_value(void *ud, int code, const char *arg)
{
    mesh_opts *o = ud;
    bool ok = true;
    switch (code) {
    case 'u':
        o->server = arg;
        ok = pm_cli_is_ws_url(arg);
        break;
    case 'l':
        o->lobby = arg;
        break;
    case 'n':
        ok = pm_cli_parse_long(arg, 2, 64, &o->peers);
        break;
    case 'k':
        ok = pm_cli_parse_long(arg, 0, 100000, &o->send);
        break;
    case 'B':
        ok = pm_cli_parse_long(arg, MIN_SIZE, 1 << 20, &o->size);
        break;
    case 's': {
        pm_ice_server stun = {.urls = &arg, .url_count = 1};
        pm_ice_url u;
        o->stun = arg;
        ok = pm_ice_server_validate(&stun) == PM_OK && pm_ice_url_parse(arg, &u) == PM_OK &&
             u.scheme == PM_ICE_URL_STUN;
        break;
    }
    case 'b':
        ok = pm_cli_is_numeric_ip(arg);
        o->bind = arg;
        break;
    case 'p':
        ok = pm_cli_parse_seconds(arg, 0.1, 3600, &o->punch_timeout);
        break;
    case 't':
        ok = pm_cli_parse_seconds(arg, 0.1, 86400, &o->timeout);
        break;
    case 'L':
        ok = pm_cli_parse_seconds(arg, 0, 3600, &o->linger);
        break;
    default:
        break;
    }
    return ok ? -1 : PM_CLI_OPTION_BAD;
}

/* The state of one run. */
typedef struct mesh_run {
    const mesh_opts *o;
    pm_signal_client *client;
    int32_t id;
    int connected, failed;
    long received, expected, sent_rounds;
    bool sent, bad;
    pm_time start, mesh_at;
    int32_t peers[64];
    int npeers;
} mesh_run;

static void drain_signal(mesh_run *r)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(r->client, &ev)) {
        if (ev.type == PM_SIGNAL_EVENT_JOINED) {
            r->id = pm_signal_client_id(r->client);
            pm_cli_print_json(json_pack("{s:s, s:i, s:s}", "event", "joined", "id", (int)r->id,
                                        "lobby", ev.lobby));
        } else if (ev.type == PM_SIGNAL_EVENT_PEER_FAILED) {
            r->failed++;
            pm_cli_print_json(json_pack("{s:s, s:i, s:s}", "event", "peer_failed", "peer",
                                        (int)ev.peer_id, "reason", ev.reason));
        } else if (ev.type == PM_SIGNAL_EVENT_CLOSED && ev.close_code != PM_SIGNAL_CLOSE_NORMAL &&
                   !r->id) {
            fprintf(stderr, "peermesh enet mesh: signaling closed (%d %s)\n", ev.close_code,
                    ev.reason);
            r->bad = true;
        }
    }
}

static void drain_mesh(mesh_run *r, pm_multiplayer *mp)
{
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        if (ev.type == PM_MP_EVENT_PEER_CONNECTED) {
            r->connected++;
            if (r->npeers < (int)(sizeof r->peers / sizeof r->peers[0]))
                r->peers[r->npeers++] = ev.peer_id;
            pm_addr a = {0};
            char as[PM_ADDR_STRLEN] = "";
            pm_enet *e = pm_signal_client_enet(r->client);
            if (pm_enet_packet_peer_get_remote_address(pm_enet_get_peer(e, ev.peer_id), &a) ==
                PM_OK)
                pm_addr_format(&a, as, sizeof as);
            pm_cli_print_json(json_pack("{s:s, s:i, s:s, s:o}", "event", "peer_connected", "peer",
                                        (int)ev.peer_id, "address", as, "ms",
                                        pm_cli_json_rounded((pm_now() - r->start) / 1e3, 1)));
        } else if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
            r->connected--;
            pm_cli_print_json(
                json_pack("{s:s, s:i}", "event", "peer_disconnected", "peer", (int)ev.peer_id));
        }
    }
    pm_mp_packet p;
    while (pm_mp_get_packet(mp, &p) == PM_OK) {
        if (p.len >= MIN_SIZE && get32(p.data) == MAGIC && (int32_t)get32(p.data + 4) == p.from)
            r->received++;
        else
            r->bad = true;
    }
}

static void send_all(mesh_run *r, pm_multiplayer *mp)
{
    uint8_t *buf = calloc(1, (size_t)r->o->size);
    if (!buf)
        return;
    put32(buf, MAGIC);
    put32(buf + 4, (uint32_t)r->id);
    pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    for (long i = 0; i < r->o->send; i++) {
        put32(buf + 8, (uint32_t)i);
        if (pm_mp_put_packet(mp, buf, (size_t)r->o->size) != PM_OK)
            r->bad = true;
    }
    free(buf);
    r->sent = true;
}

int pm_cli_enet_mesh(int argc, char **argv)
{
    mesh_opts o = {
        .peers = 2, .send = 5, .size = 100, .punch_timeout = 10, .timeout = 30, .linger = 2};
    const struct option longs[] = {
        {"server", required_argument, NULL, 'u'},  {"lobby", required_argument, NULL, 'l'},
        {"peers", required_argument, NULL, 'n'},   {"send", required_argument, NULL, 'k'},
        {"size", required_argument, NULL, 'B'},    {"stun", required_argument, NULL, 's'},
        {"bind", required_argument, NULL, 'b'},    {"punch-timeout", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'}, {"linger", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, parse_value, &o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    if (!o.server)
        return pm_cli_usage_errorf(&CMD, "needs --server URL: %s", EXPECTS[0].expected);
    pm_ice_server stun = {.urls = &o.stun, .url_count = 1};

    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = o.server;
    cfg.lobby = o.lobby;
    cfg.transport = PM_SIGNAL_TRANSPORT_ENET;
    cfg.enet.bind_ip = o.bind;
    cfg.punch_timeout = (pm_time)(o.punch_timeout * 1e6);
    if (o.stun) {
        cfg.rtc.ice_servers = &stun;
        cfg.rtc.ice_server_count = 1;
    }
    mesh_run r = {.o = &o, .start = pm_now(), .expected = (o.peers - 1) * o.send};
    int rc = pm_signal_client_new(&cfg, &r.client);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh enet mesh: cannot start: %s\n", pm_strerror(rc));
        return PM_CLI_EXIT_FAIL;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pm_time deadline = r.start + (pm_time)(o.timeout * 1e6), linger_end = PM_TIME_NEVER;
    while (!stop_requested && !r.bad && pm_now() < deadline && pm_now() < linger_end) {
        if (pm_signal_client_poll(r.client) == PM_ERR_CLOSED && !pm_signal_client_enet(r.client))
            break;
        drain_signal(&r);
        pm_multiplayer *mp = pm_signal_client_multiplayer(r.client);
        if (mp) {
            drain_mesh(&r, mp);
            if (!r.sent && r.connected == o.peers - 1) {
                r.mesh_at = pm_now();
                send_all(&r, mp);
            }
        }
        if (linger_end == PM_TIME_NEVER && ((r.sent && r.received >= r.expected) ||
                                            (r.failed && r.connected + r.failed >= o.peers - 1)))
            linger_end = pm_now() + (pm_time)(o.linger * 1e6);
        /* Everything the client drives is behind its descriptor (common.h). */
        pm_time until = pm_signal_client_next_timeout(r.client);
        until = until < deadline ? until : deadline;
        until = until < linger_end ? until : linger_end;
        (void)pm_wait(pm_signal_client_fd(r.client), until);
    }
    bool ok = !r.bad && !r.failed && r.sent && r.received == r.expected;
    pm_cli_print_json(
        json_pack("{s:s, s:b, s:i, s:i, s:i, s:I, s:I, s:o}", "event", "result", "ok", ok, "id",
                  (int)r.id, "connected", r.connected, "failed", r.failed, "received",
                  (json_int_t)r.received, "expected", (json_int_t)r.expected, "mesh_ms",
                  r.mesh_at ? pm_cli_json_rounded((r.mesh_at - r.start) / 1e3, 1) : json_null()));
    pm_signal_client_free(r.client);
    return ok ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
