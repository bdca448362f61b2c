/*
 * `peermesh chat --server URL [--lobby NAME | --create NAME]` — an
 * interactive chat over a WebRTC mesh built through a signaling server.
 * Lines typed are broadcast to every peer (reliable channel); lines
 * received are printed with their sender's id. Commands: /peers, /seal (the
 * host), /quit; "//" sends a line that starts with "/". A line longer than
 * one packet goes as several, each printed on its own line. End of input
 * quits once what was typed has left, and leaves the lobby cleanly.
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

#define CHUNK_BYTES  1000        /* per packet: below Godot's advisory 1200 bytes */
#define DRAIN_LIMIT  PM_SEC(5)   /* end of input: at most this long for the sends */
#define LEAVE_LINGER PM_MS(300)  /* then this long for the last acknowledgements */
#define INPUT_BUF    (64u << 10) /* stdin bytes held while a line has no newline yet */

static const char USAGE[] =
    "usage: peermesh chat --server URL [--lobby NAME | --create NAME] [--client-server]\n"
    "                     [--protocol json|text] [--bind IP] [--insecure]\n"
    "                     [--ice-server URL]... [--relay-only] [--ice-tls-insecure]\n"
    "\n"
    "  --server URL      signaling server, ws://HOST:PORT or wss://... (e.g. peermesh-signal)\n"
    "  --lobby NAME      join this lobby (default: create one with a random name)\n"
    "  --create NAME     create the lobby NAME (the server needs --named-lobbies)\n"
    "  --client-server   when creating: a client/server lobby instead of a mesh\n"
    "  --protocol P      json (Godot 4, default) or text (Godot 3)\n"
    "  --bind IP         address for the WebRTC connections (default: every interface)\n"
    "  --insecure        wss: accept a self-signed certificate\n"
    "  --ice-server URL  a STUN server (stun:HOST[:PORT]) besides those the server gives\n"
    "  --relay-only      use TURN relays only (the server hands out TURN credentials)\n"
    "  --ice-tls-insecure  accept a turns: server's certificate unverified\n"
    "\n"
    "Type a line to send it to everyone. Commands: /peers (with each link's candidate\n"
    "types), /seal (host only), /quit; start a line with // to send one that begins\n"
    "with /. End of input (Ctrl-D) leaves.\n";

static const pm_cli_expect EXPECTS[] = {
    {'s', "a ws:// or wss:// URL of a signaling server (e.g. ws://127.0.0.1:9080)"},
    {'l', "a lobby name"},
    {'n', "a lobby name of 1..64 letters, digits, '-', '_' or '.'"},
    {'p', "json or text"},
    {'b', PM_CLI_EXPECT_IP},
    {'i', "a STUN server URL, stun:HOST[:PORT] (at most 8)"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "chat", .usage = USAGE, .expects = EXPECTS};

typedef struct chat {
    pm_signal_client *client;
    char *pending; /* stdin bytes not yet ending in a newline */
    size_t pending_len;
    bool input_done; /* end of input (or /quit): leave once the sends are out */
    bool quit;       /* leave now */
    bool failed;
    bool told_alone; /* "nobody else here yet" said since the last peer left */
    char why[320];   /* what failed, for stderr */
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

static size_t connected_peers(chat *c, int32_t *ids, size_t cap)
{
    pm_mesh *m = pm_signal_client_mesh(c->client);
    int32_t all[64];
    size_t n = m ? pm_mesh_get_peers(m, all, 64) : 0, up = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        pm_mesh_peer_info info;
        if (pm_mesh_get_peer(m, all[i], &info) == PM_OK && info.connected && up < cap)
            ids[up++] = all[i];
    }
    return up;
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
    printf("%s\n", n ? "" : " nobody else here yet");
    fflush(stdout);
}

/* Cut before a UTF-8 continuation byte, never inside a character. */
static size_t chunk_end(const char *s, size_t n)
{
    if (n <= CHUNK_BYTES)
        return n;
    size_t k = CHUNK_BYTES;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k ? k : CHUNK_BYTES;
}

static void send_line(chat *c, const char *line, size_t n)
{
    pm_multiplayer *mp = pm_signal_client_multiplayer(c->client);
    int32_t ids[1];
    if (!mp) {
        say("not in a lobby yet: wait for \"in lobby ...\", then type again");
        return;
    }
    if (connected_peers(c, ids, 1) == 0) {
        say("nobody else here yet: not sent (others join with --lobby %s)",
            pm_signal_client_lobby(c->client));
        return;
    }
    pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    while (n > 0) {
        size_t k = chunk_end(line, n);
        int rc = pm_mp_put_packet(mp, (const uint8_t *)line, k);
        if (rc != PM_OK) {
            say("not sent: %s", pm_strerror(rc));
            return;
        }
        line += k;
        n -= k;
    }
}

static void on_line(chat *c, char *line, size_t n)
{
    if (n && line[n - 1] == '\r')
        line[--n] = 0;
    if (!n)
        return;
    if (line[0] == '/' && line[1] != '/') {
        if (!strcmp(line, "/quit")) {
            c->input_done = true;
        } else if (!strcmp(line, "/peers")) {
            list_peers(c);
        } else if (!strcmp(line, "/seal")) {
            if (pm_signal_client_seal(c->client) != PM_OK)
                say("cannot seal: only the lobby's host (peer 1) can, once joined");
        } else {
            say("unknown command %s: /peers, /seal (host), /quit; // sends a line starting "
                "with /",
                line);
        }
        return;
    }
    if (line[0] == '/') /* "//...": the text is "/..." */
        send_line(c, line + 1, n - 1);
    else
        send_line(c, line, n);
}

static void read_input(chat *c)
{
    ssize_t k = read(STDIN_FILENO, c->pending + c->pending_len, INPUT_BUF - 1 - c->pending_len);
    if (k <= 0) {
        if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
            if (c->pending_len) /* a last line without a newline */
                on_line(c, c->pending, c->pending_len);
            c->pending_len = 0;
            c->input_done = true;
        }
        return;
    }
    c->pending_len += (size_t)k;
    c->pending[c->pending_len] = 0;
    char *start = c->pending, *nl;
    while ((nl = memchr(start, '\n', c->pending_len - (size_t)(start - c->pending)))) {
        *nl = 0;
        on_line(c, start, (size_t)(nl - start));
        start = nl + 1;
    }
    size_t rest = c->pending_len - (size_t)(start - c->pending);
    if (rest == INPUT_BUF - 1) { /* a line longer than the buffer: send what came */
        on_line(c, c->pending, rest);
        rest = 0;
    }
    memmove(c->pending, start, rest);
    c->pending_len = rest;
}

static void on_signal_event(chat *c, const pm_signal_event *ev)
{
    switch (ev->type) {
    case PM_SIGNAL_EVENT_OPEN:
        say("connected to the signaling server");
        break;
    case PM_SIGNAL_EVENT_ID:
        say("we are peer %d", (int)ev->peer_id);
        break;
    case PM_SIGNAL_EVENT_JOINED:
        say("in lobby %s (others join with: peermesh chat --server URL --lobby %s)", ev->lobby,
            ev->lobby);
        if (pm_mesh_get_peers(pm_signal_client_mesh(c->client), NULL, 0) == 0 && !c->told_alone) {
            say("nobody else here yet");
            c->told_alone = true;
        }
        break;
    case PM_SIGNAL_EVENT_PEER_ANNOUNCED:
        say("peer %d is here, connecting", (int)ev->peer_id);
        break;
    case PM_SIGNAL_EVENT_PEER_LEFT:
        say("peer %d left the lobby", (int)ev->peer_id);
        break;
    case PM_SIGNAL_EVENT_SEALED:
        say("the lobby is sealed: signaling will close, the mesh stays");
        break;
    case PM_SIGNAL_EVENT_CLOSED:
        if (ev->error != PM_OK)
            say("signaling failed: %s", ev->reason);
        else
            say("signaling closed (%d%s%s)", ev->close_code, *ev->reason ? " " : "", ev->reason);
        if ((ev->error != PM_OK || ev->close_code != PM_SIGNAL_CLOSE_NORMAL) &&
            !pm_signal_client_multiplayer(c->client)) {
            c->failed = true;
            snprintf(c->why, sizeof c->why, "%s%s", *ev->reason ? "" : "signaling closed with ",
                     *ev->reason ? ev->reason : pm_strerror(ev->error));
        }
        break;
    case PM_SIGNAL_EVENT_ICE_SERVERS:
        say("the server gave us %d ICE server(s)", (int)ev->peer_id);
        break;
    case PM_SIGNAL_EVENT_HOST_CHANGED:
        say("peer %d is the host now", (int)ev->peer_id);
        break;
    case PM_SIGNAL_EVENT_PEER_FAILED:
        say("no link to peer %d: %s", (int)ev->peer_id, ev->reason);
        break;
    }
}

/* A chat line: no control characters but tab (and no NUL). */
static bool is_text(const uint8_t *d, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((d[i] < 0x20 && d[i] != '\t') || d[i] == 0x7f)
            return false;
    return true;
}

static void drain(chat *c)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(c->client, &ev))
        on_signal_event(c, &ev);
    pm_multiplayer *mp = pm_signal_client_multiplayer(c->client);
    pm_mp_event mev;
    while (mp && pm_mp_next_event(mp, &mev)) {
        if (mev.type == PM_MP_EVENT_PEER_CONNECTED) {
            say("peer %d connected", (int)mev.peer_id);
            c->told_alone = false;
        } else if (mev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
            say("peer %d disconnected", (int)mev.peer_id);
            int32_t ids[1];
            if (!c->input_done && connected_peers(c, ids, 1) == 0 && !c->told_alone) {
                say("nobody else here now");
                c->told_alone = true;
            }
        } else {
            say("%s", pm_mp_event_type_to_string(mev.type));
        }
    }
    pm_mp_packet pkt;
    while (mp && pm_mp_get_packet(mp, &pkt) == PM_OK) {
        if (is_text(pkt.data, pkt.len))
            printf("[%d] %.*s\n", (int)pkt.from, (int)pkt.len, (const char *)pkt.data);
        else /* another program's packets: its control bytes never reach the terminal */
            printf("[%d] (%zu bytes that are not text)\n", (int)pkt.from, pkt.len);
        fflush(stdout);
    }
}

/* Bytes our channels still hold for their connections. */
static size_t unsent(chat *c)
{
    pm_mesh *m = pm_signal_client_mesh(c->client);
    int32_t ids[64];
    size_t n = m ? pm_mesh_get_peers(m, ids, 64) : 0, bytes = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        pm_mesh_peer_info info;
        if (pm_mesh_get_peer(m, ids[i], &info) != PM_OK || !info.connected)
            continue;
        for (size_t k = 0; k < info.channel_count; k++)
            bytes += pm_rtc_channel_get_buffered_amount(info.channels[k]);
    }
    return bytes;
}

/* The configuration, and the STUN servers of --ice-server it points to. */
typedef struct chat_options {
    pm_signal_client_config cfg;
    const char *urls[8];
    pm_ice_server stun;
} chat_options;

static int take_option(void *ud, int code, const char *arg)
{
    chat_options *o = ud;
    pm_signal_client_config *cfg = &o->cfg;
    switch (code) {
    case 's':
        cfg->url = arg;
        return pm_cli_is_ws_url(arg) ? -1 : PM_CLI_OPTION_BAD;
    case 'l':
    case 'n':
        cfg->lobby = arg;
        cfg->create_lobby = code == 'n';
        return *arg ? -1 : PM_CLI_OPTION_BAD;
    case 'c':
        cfg->mesh = false;
        return -1;
    case 'k':
        cfg->allow_self_signed = true;
        return -1;
    case 'p':
        if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0)
            return PM_CLI_OPTION_BAD;
        cfg->protocol = !strcmp(arg, "json") ? PM_SIGNAL_PROTOCOL_JSON : PM_SIGNAL_PROTOCOL_TEXT;
        return -1;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &cfg->rtc.bind_address);
    case 'i': {
        pm_ice_url u;
        if (o->stun.url_count >= sizeof o->urls / sizeof o->urls[0] ||
            pm_ice_url_parse(arg, &u) != PM_OK || u.scheme != PM_ICE_URL_STUN)
            return PM_CLI_OPTION_BAD;
        o->urls[o->stun.url_count++] = arg;
        cfg->rtc.ice_servers = &o->stun;
        cfg->rtc.ice_server_count = 1;
        return -1;
    }
    case 'r':
        cfg->rtc.ice_transport_policy = PM_RTC_ICE_POLICY_RELAY;
        return -1;
    case 't':
        cfg->rtc.turn_tls_insecure = true;
        return -1;
    default:
        return -1;
    }
}

static int parse(int argc, char **argv, chat_options *o)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 's'},   {"lobby", required_argument, NULL, 'l'},
        {"create", required_argument, NULL, 'n'},   {"client-server", no_argument, NULL, 'c'},
        {"protocol", required_argument, NULL, 'p'}, {"bind", required_argument, NULL, 'b'},
        {"insecure", no_argument, NULL, 'k'},       {"ice-server", required_argument, NULL, 'i'},
        {"relay-only", no_argument, NULL, 'r'},     {"ice-tls-insecure", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    pm_signal_client_config_default(&o->cfg);
    /* A chat outlives a NAT hiccup: peers that lose their path are kept
     * while the signaling client restarts ICE (ice_restart_interval). */
    o->cfg.mesh_config.disconnect_grace = PM_SEC(40);
    o->stun.urls = o->urls;
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    if (!o->cfg.url)
        return pm_cli_usage_errorf(&CMD, "needs --server URL: %s", EXPECTS[0].expected);
    return -1;
}

/* After the last line: until what was typed has left (bounded), then a moment for its acks. */
static bool may_leave(chat *c, pm_time *drained_at, pm_time input_end)
{
    pm_time now = pm_now();
    if (*drained_at < 0 && (unsent(c) == 0 || now - input_end > DRAIN_LIMIT))
        *drained_at = now;
    return *drained_at >= 0 && now - *drained_at >= LEAVE_LINGER;
}

int pm_cli_chat(int argc, char **argv)
{
    chat_options o;
    int status = parse(argc, argv, &o);
    if (status >= 0)
        return status;
    pm_signal_client_config cfg = o.cfg;
    chat c = {.pending = malloc(INPUT_BUF)};
    if (!c.pending)
        return PM_CLI_EXIT_FAIL;
    int rc = pm_signal_client_new(&cfg, &c.client);
    if (rc != PM_OK) {
        /* The library logged what is wrong (a malformed URL, ...). */
        fprintf(stderr, "peermesh chat: cannot connect to '%s': %s\n", cfg.url, pm_strerror(rc));
        free(c.pending);
        return rc == PM_ERR_INVALID ? PM_CLI_EXIT_USAGE : PM_CLI_EXIT_FAIL;
    }
    pm_time input_end = -1, drained_at = -1;
    while (!c.quit && !c.failed) {
        rc = pm_signal_client_poll(c.client);
        drain(&c);
        if (rc == PM_ERR_CLOSED && !c.input_done) {
            say("no signaling and no mesh left: bye");
            break;
        }
        if (c.input_done && input_end < 0)
            input_end = pm_now();
        if (c.input_done && may_leave(&c, &drained_at, input_end))
            break;
        pm_time deadline = pm_signal_client_next_timeout(c.client);
        if (c.input_done)
            deadline = min_time(deadline, pm_now() + PM_MS(20)); /* watch the sends drain */
        bool input = false;
        (void)pm_cli_wait(pm_signal_client_fd(c.client), c.input_done ? -1 : STDIN_FILENO, deadline,
                          &input);
        if (input)
            read_input(&c);
    }
    if (c.input_done && !c.failed) {
        /* Leave the lobby properly: the server tells the others at once. */
        say("leaving");
        pm_signal_client_close(c.client);
        pm_time end = pm_now() + PM_SEC(1);
        while (pm_signal_client_state(c.client) != PM_SIGNAL_CLOSED && pm_now() < end) {
            (void)pm_wait(pm_signal_client_fd(c.client),
                          min_time(pm_signal_client_next_timeout(c.client), end));
            (void)pm_signal_client_poll(c.client);
        }
    }
    pm_signal_client_free(c.client); /* closes every connection */
    free(c.pending);
    if (c.failed)
        fprintf(stderr, "peermesh chat: %s\n", c.why);
    return c.failed ? PM_CLI_EXIT_FAIL : PM_CLI_EXIT_OK;
}
