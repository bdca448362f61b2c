/*
 * `peermesh chat --server URL [--lobby NAME]` — an interactive chat over a
 * WebRTC mesh built through a signaling server. Lines typed are broadcast
 * to every peer (reliable channel); lines received are printed with their
 * sender's id. Commands: /peers, /seal (the host), /quit. End of input
 * quits too.
 */
#include "cli.h"
#include "loop.h"
#include "mesh_util.h"

#include "peermesh/signaling.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1000 /* below the mesh's advisory 1200-byte packet size */

static const char USAGE[] =
    "usage: peermesh chat --server URL [--lobby NAME] [--client-server] [--protocol json|text]\n"
    "                     [--bind IP] [--insecure] [--ice-server URL]... [--relay-only]\n"
    "                     [--ice-tls-insecure]\n"
    "\n"
    "  --server URL      signaling server, ws://HOST:PORT or wss://... (e.g. peermesh-signal)\n"
    "  --lobby NAME      join this lobby (default: create one and print its name)\n"
    "  --client-server   when creating: a client/server lobby instead of a mesh\n"
    "  --protocol P      json (Godot 4, default) or text (Godot 3)\n"
    "  --bind IP         address for the WebRTC connections (default: every interface)\n"
    "  --insecure        wss: accept a self-signed certificate\n"
    "  --ice-server URL  a STUN server (stun:HOST[:PORT]) besides those the server gives\n"
    "  --relay-only      use TURN relays only (the server hands out TURN credentials)\n"
    "  --ice-tls-insecure  accept a turns: server's certificate unverified\n"
    "\n"
    "Type a line to send it to everyone. Commands: /peers (with each link's candidate\n"
    "types), /seal (host only), /quit.\n";

typedef struct chat {
    pm_signal_client *client;
    pm_cli_loop loop;
    char pending[4096]; /* stdin bytes not yet ending in a newline */
    size_t pending_len;
    bool quit;
    bool failed;
} chat;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("* ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    va_end(ap);
}

static void list_peers(chat *c)
{
    pm_mesh *m = pm_signal_client_mesh(c->client);
    int32_t ids[64];
    size_t n = m ? pm_mesh_get_peers(m, ids, 64) : 0;
    printf("* we are peer %d; %zu peer(s):", (int)pm_signal_client_id(c->client), n);
    for (size_t i = 0; i < n && i < 64; i++) {
        pm_mesh_peer_info info;
        pm_mesh_peer_stats st;
        bool up = pm_mesh_get_peer(m, ids[i], &info) == PM_OK && info.connected;
        printf(" %d%s", (int)ids[i], up ? "" : " (connecting)");
        if (pm_mesh_get_peer_stats(m, ids[i], &st) == PM_OK && st.has_pair)
            printf(" [%s/%s%s%s]", pm_rtc_candidate_type_name(st.pair.local_type),
                   pm_rtc_candidate_type_name(st.pair.remote_type),
                   st.pair.relay_protocol ? " relay over " : "",
                   st.pair.relay_protocol ? st.pair.relay_protocol : "");
    }
    putchar('\n');
    fflush(stdout);
}

static void on_line(chat *c, char *line)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = 0;
    if (!n)
        return;
    if (!strcmp(line, "/quit")) {
        c->quit = true;
        return;
    }
    if (!strcmp(line, "/peers")) {
        list_peers(c);
        return;
    }
    if (!strcmp(line, "/seal")) {
        int rc = pm_signal_client_seal(c->client);
        if (rc != PM_OK)
            say("cannot seal: only the lobby's host (peer 1) can, once joined");
        return;
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(c->client);
    if (!mp) {
        say("not in a lobby yet");
        return;
    }
    if (n > LINE_MAX_BYTES)
        n = LINE_MAX_BYTES;
    pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    if (pm_mp_put_packet(mp, (const uint8_t *)line, n) != PM_OK)
        say("not sent: not connected");
}

static void read_input(chat *c)
{
    ssize_t k =
        read(STDIN_FILENO, c->pending + c->pending_len, sizeof c->pending - 1 - c->pending_len);
    if (k <= 0) {
        if (k == 0 || (errno != EINTR && errno != EAGAIN))
            c->quit = true;
        return;
    }
    c->pending_len += (size_t)k;
    c->pending[c->pending_len] = 0;
    char *start = c->pending, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = 0;
        on_line(c, start);
        start = nl + 1;
    }
    size_t rest = c->pending_len - (size_t)(start - c->pending);
    if (rest == sizeof c->pending - 1) { /* a line longer than the buffer: take it */
        on_line(c, c->pending);
        rest = 0;
    }
    memmove(c->pending, start, rest);
    c->pending_len = rest;
}

static void drain(chat *c)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(c->client, &ev)) {
        switch (ev.type) {
        case PM_SIGNAL_EVENT_OPEN:
            say("connected to the signaling server");
            break;
        case PM_SIGNAL_EVENT_ID:
            say("we are peer %d", (int)ev.peer_id);
            break;
        case PM_SIGNAL_EVENT_JOINED:
            say("in lobby %s (others join with: peermesh chat --server URL --lobby %s)", ev.lobby,
                ev.lobby);
            break;
        case PM_SIGNAL_EVENT_PEER_ANNOUNCED:
            say("peer %d is here, connecting", (int)ev.peer_id);
            break;
        case PM_SIGNAL_EVENT_PEER_LEFT:
            say("peer %d left the lobby", (int)ev.peer_id);
            break;
        case PM_SIGNAL_EVENT_SEALED:
            say("the lobby is sealed: signaling will close, the mesh stays");
            break;
        case PM_SIGNAL_EVENT_CLOSED:
            say("signaling closed (%d%s%s)", ev.close_code, *ev.reason ? " " : "", ev.reason);
            if (ev.close_code != PM_SIGNAL_CLOSE_NORMAL && !pm_signal_client_mesh(c->client))
                c->failed = true;
            break;
        case PM_SIGNAL_EVENT_ICE_SERVERS:
            say("the server gave us %d ICE server(s)", (int)ev.peer_id);
            break;
        case PM_SIGNAL_EVENT_HOST_CHANGED:
            say("peer %d is the host now", (int)ev.peer_id);
            break;
        case PM_SIGNAL_EVENT_PEER_FAILED:
            say("no link to peer %d: %s", (int)ev.peer_id, ev.reason);
            break;
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(c->client);
    if (!mp)
        return;
    pm_mp_event mev;
    while (pm_mp_next_event(mp, &mev)) {
        if (mev.type == PM_MP_EVENT_PEER_CONNECTED)
            say("peer %d connected", (int)mev.peer_id);
        else if (mev.type == PM_MP_EVENT_PEER_DISCONNECTED)
            say("peer %d disconnected", (int)mev.peer_id);
        else
            say("%s", pm_cli_mp_event_name(mev.type));
    }
    pm_mp_packet pkt;
    while (pm_mp_get_packet(mp, &pkt) == PM_OK) {
        printf("[%d] %.*s\n", (int)pkt.from, (int)pkt.len, (const char *)pkt.data);
        fflush(stdout);
    }
}

int pm_cli_chat(int argc, char **argv)
{
    static const struct option longs[] = {{"server", required_argument, NULL, 's'},
                                          {"lobby", required_argument, NULL, 'l'},
                                          {"client-server", no_argument, NULL, 'c'},
                                          {"protocol", required_argument, NULL, 'p'},
                                          {"bind", required_argument, NULL, 'b'},
                                          {"insecure", no_argument, NULL, 'k'},
                                          {"ice-server", required_argument, NULL, 'i'},
                                          {"relay-only", no_argument, NULL, 'r'},
                                          {"ice-tls-insecure", no_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    /* A chat outlives a NAT hiccup: peers that lose their path are kept
     * while the signaling client restarts ICE (ice_restart_interval). */
    cfg.mesh_config.disconnect_grace = PM_SEC(40);
    const char *urls[8];
    pm_ice_server stun = {urls, 0, NULL, NULL};
    optind = 1;
    opterr = 0;
    int code;
    while ((code = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (code) {
        case 'h':
            fputs(USAGE, stdout);
            return PM_CLI_EXIT_OK;
        case 's':
            cfg.url = optarg;
            continue;
        case 'l':
            cfg.lobby = optarg;
            continue;
        case 'c':
            cfg.mesh = false;
            continue;
        case 'k':
            cfg.allow_self_signed = true;
            continue;
        case 'p':
            if (!strcmp(optarg, "json") || !strcmp(optarg, "text")) {
                cfg.protocol =
                    !strcmp(optarg, "json") ? PM_SIGNAL_PROTOCOL_JSON : PM_SIGNAL_PROTOCOL_TEXT;
                continue;
            }
            break;
        case 'b':
            if (pm_cli_is_numeric_ip(optarg)) {
                cfg.rtc.bind_address = optarg;
                continue;
            }
            break;
        case 'i': {
            pm_ice_url u;
            if (stun.url_count < 8 && pm_ice_url_parse(optarg, &u) == PM_OK &&
                u.scheme == PM_ICE_URL_STUN) {
                urls[stun.url_count++] = optarg;
                cfg.rtc.ice_servers = &stun;
                cfg.rtc.ice_server_count = 1;
                continue;
            }
            break;
        }
        case 'r':
            cfg.rtc.ice_transport_policy = PM_RTC_ICE_POLICY_RELAY;
            continue;
        case 't':
            cfg.rtc.turn_tls_insecure = true;
            continue;
        default:
            break;
        }
        fprintf(stderr, "peermesh chat: bad option %s\n%s", argv[optind - 1], USAGE);
        return PM_CLI_EXIT_USAGE;
    }
    if (optind < argc || !cfg.url) {
        fprintf(stderr, "peermesh chat: %s\n%s",
                cfg.url ? "unexpected argument" : "--server needed", USAGE);
        return PM_CLI_EXIT_USAGE;
    }
    chat c;
    memset(&c, 0, sizeof c);
    int rc = pm_signal_client_new(&cfg, &c.client);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh chat: cannot connect to %s: %s\n", cfg.url, pm_strerror(rc));
        return rc == PM_ERR_INVALID ? PM_CLI_EXIT_USAGE : PM_CLI_EXIT_FAIL;
    }
    if (pm_cli_loop_init(&c.loop, 256) != PM_OK) {
        pm_signal_client_free(c.client);
        return PM_CLI_EXIT_FAIL;
    }
    while (!c.quit && !c.failed) {
        rc = pm_signal_client_poll(c.client);
        drain(&c);
        if (rc == PM_ERR_CLOSED) {
            say("no signaling and no mesh left: bye");
            break;
        }
        pm_mesh *m = pm_signal_client_mesh(c.client);
        (void)pm_cli_mesh_watch(&c.loop, &m, m ? 1 : 0);
        bool input = false;
        (void)pm_cli_loop_wait(&c.loop, STDIN_FILENO, pm_signal_client_next_timeout(c.client),
                               &input);
        if (input)
            read_input(&c);
    }
    pm_cli_loop_destroy(&c.loop);
    pm_signal_client_free(c.client);
    return c.failed ? PM_CLI_EXIT_FAIL : PM_CLI_EXIT_OK;
}
