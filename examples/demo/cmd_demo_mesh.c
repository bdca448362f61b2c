/*
 * `peermesh demo` — a mesh in a few lines of C, shown end to end: an
 * embedded signaling server on loopback, N peers (pm_signal_client) that
 * join one lobby and build the full WebRTC mesh, the host seals the lobby
 * (signaling closes, the mesh stays), then every peer sends a message on
 * every channel to every other peer and measures round trips. Prints a
 * table per link and exits 0 only if every link connected and every message
 * arrived. `peermesh demo --pair` is the older two-peer data-channel tour.
 */
#include "cli.h"
#include "loop.h"
#include "mesh_util.h"

#include "peermesh/signaling.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PEERS 4
#define MAX_PEERS     16
#define PINGS         10
#define CHANNELS      3 /* Godot's reliable, ordered, unreliable */
#define SEAL_DELAY    PM_MS(200)
#define DEMO_LOBBY    "demo"   /* created by name: the demo's server has named lobbies on */
#define STEP_WAIT     PM_MS(1) /* longest sleep while signaling is active */

static const pm_mp_transfer_mode MODES[CHANNELS] = {
    PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE};
static const char *const MODE_NAMES[CHANNELS] = {"reliable", "ordered", "unreliable"};

typedef struct link_stat {
    pm_time announced;    /* first time either side heard of the other */
    pm_time connected[2]; /* PEER_CONNECTED at each side (index by lower/higher node) */
    int delivered[CHANNELS];
    pm_time rtt[2 * PINGS];
    int nrtt;
} link_stat;

typedef struct node {
    pm_signal_client *client;
    int32_t id;
    bool closed;
    int close_code;
    int pings_sent[MAX_PEERS];
    pm_time ping_at[MAX_PEERS];
    bool ping_out[MAX_PEERS];
} node;

typedef struct demo {
    int n;
    pm_time start;
    pm_signal_server *server;
    node nodes[MAX_PEERS];
    link_stat links[MAX_PEERS][MAX_PEERS]; /* [i][j], i < j */
    char lobby[80];
    pm_cli_loop loop;
    int problems;
} demo;

static link_stat *link_of(demo *d, int a, int b)
{
    return a < b ? &d->links[a][b] : &d->links[b][a];
}

static int index_of(const demo *d, int32_t id)
{
    for (int i = 0; i < d->n; i++)
        if (d->nodes[i].id == id)
            return i;
    return -1;
}

static double ms(pm_time t)
{
    return (double)t / 1000.0;
}

/* ---- driving ---- */

static void on_packet(demo *d, int me, const pm_mp_packet *pkt, pm_multiplayer *mp)
{
    int from = index_of(d, pkt->from);
    if (from < 0 || pkt->len < 2)
        return;
    char kind = (char)pkt->data[0];
    if (kind == 'M') { /* a channel message: "M<channel>" */
        int ch = pkt->data[1] - '0';
        if (ch >= 0 && ch < CHANNELS && (int)pkt->mode == (int)MODES[ch])
            link_of(d, me, from)->delivered[ch]++;
    } else if (kind == 'P') { /* ping: echo it */
        uint8_t echo[16];
        size_t n = pkt->len < sizeof echo ? pkt->len : sizeof echo;
        memcpy(echo, pkt->data, n);
        echo[0] = 'E';
        pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
        pm_mp_set_target_peer(mp, pkt->from);
        (void)pm_mp_put_packet(mp, echo, n);
    } else if (kind == 'E') { /* our ping came back */
        node *nd = &d->nodes[me];
        if (!nd->ping_out[from])
            return;
        link_stat *l = link_of(d, me, from);
        if (l->nrtt < 2 * PINGS)
            l->rtt[l->nrtt++] = pm_now() - nd->ping_at[from];
        nd->ping_out[from] = false;
    }
}

static void drain_node(demo *d, int i)
{
    node *nd = &d->nodes[i];
    pm_signal_event sev;
    while (pm_signal_client_next_event(nd->client, &sev)) {
        switch (sev.type) {
        case PM_SIGNAL_EVENT_ID:
            nd->id = sev.peer_id;
            break;
        case PM_SIGNAL_EVENT_JOINED:
            if (i == 0)
                snprintf(d->lobby, sizeof d->lobby, "%s", sev.lobby);
            break;
        case PM_SIGNAL_EVENT_PEER_ANNOUNCED: {
            int j = index_of(d, sev.peer_id);
            if (j >= 0 && !link_of(d, i, j)->announced)
                link_of(d, i, j)->announced = pm_now();
            break;
        }
        case PM_SIGNAL_EVENT_CLOSED:
            nd->closed = true;
            nd->close_code = sev.close_code;
            break;
        default:
            break;
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(nd->client);
    if (!mp)
        return;
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        int j = index_of(d, ev.peer_id);
        if (j < 0)
            continue;
        link_stat *l = link_of(d, i, j);
        if (ev.type == PM_MP_EVENT_PEER_CONNECTED)
            l->connected[i < j ? 0 : 1] = pm_now();
        else if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
            fprintf(stderr, "peermesh demo: node %d lost peer %d\n", (int)nd->id, (int)ev.peer_id);
            d->problems++;
        }
    }
    pm_mp_packet pkt;
    while (pm_mp_get_packet(mp, &pkt) == PM_OK)
        on_packet(d, i, &pkt, mp);
}

static void step(demo *d)
{
    if (d->server)
        (void)pm_signal_server_poll(d->server, 0);
    pm_time deadline = pm_now() + STEP_WAIT * 20;
    pm_mesh *meshes[MAX_PEERS];
    size_t nm = 0;
    for (int i = 0; i < d->n; i++) {
        (void)pm_signal_client_poll(d->nodes[i].client);
        drain_node(d, i);
        deadline = min_time(deadline, pm_signal_client_next_timeout(d->nodes[i].client));
        pm_mesh *m = pm_signal_client_mesh(d->nodes[i].client);
        if (m)
            meshes[nm++] = m;
    }
    if (d->server)
        deadline = min_time(deadline, pm_now() + STEP_WAIT);
    if (pm_cli_mesh_watch(&d->loop, meshes, nm) == PM_OK)
        (void)pm_cli_loop_wait(&d->loop, -1, deadline, NULL);
}

typedef bool (*demo_cond)(demo *d);

static bool run_until(demo *d, demo_cond cond, pm_time limit)
{
    pm_time end = pm_now() + limit;
    while (!cond(d)) {
        if (pm_now() >= end)
            return false;
        step(d);
    }
    return true;
}

/* ---- phases ---- */

static bool host_joined(demo *d)
{
    return d->lobby[0] != 0;
}

static bool mesh_complete(demo *d)
{
    for (int i = 0; i < d->n; i++)
        for (int j = i + 1; j < d->n; j++)
            if (!d->links[i][j].connected[0] || !d->links[i][j].connected[1])
                return false;
    return true;
}

static bool signaling_closed(demo *d)
{
    for (int i = 0; i < d->n; i++)
        if (!d->nodes[i].closed)
            return false;
    return true;
}

static bool all_delivered(demo *d)
{
    for (int i = 0; i < d->n; i++)
        for (int j = i + 1; j < d->n; j++)
            for (int c = 0; c < CHANNELS; c++)
                if (d->links[i][j].delivered[c] < 2)
                    return false;
    return true;
}

/* Keep one ping in flight per ordered pair until PINGS came back each way. */
static bool pings_done(demo *d)
{
    bool done = true;
    for (int i = 0; i < d->n; i++) {
        node *nd = &d->nodes[i];
        pm_multiplayer *mp = pm_signal_client_multiplayer(nd->client);
        for (int j = 0; j < d->n; j++) {
            if (j == i)
                continue;
            if (nd->pings_sent[j] < PINGS || nd->ping_out[j])
                done = false;
            if (nd->ping_out[j] || nd->pings_sent[j] >= PINGS)
                continue;
            uint8_t ping[8] = {'P', (uint8_t)nd->pings_sent[j]};
            pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
            pm_mp_set_target_peer(mp, d->nodes[j].id);
            if (pm_mp_put_packet(mp, ping, sizeof ping) == PM_OK) {
                nd->ping_at[j] = pm_now();
                nd->ping_out[j] = true;
                nd->pings_sent[j]++;
            }
        }
    }
    return done;
}

static void send_channel_messages(demo *d)
{
    for (int i = 0; i < d->n; i++) {
        pm_multiplayer *mp = pm_signal_client_multiplayer(d->nodes[i].client);
        for (int c = 0; c < CHANNELS; c++) {
            uint8_t msg[2] = {'M', (uint8_t)('0' + c)};
            pm_mp_set_transfer_mode(mp, MODES[c]);
            pm_mp_set_transfer_channel(mp, 0);
            pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
            if (pm_mp_put_packet(mp, msg, sizeof msg) != PM_OK)
                d->problems++;
        }
    }
}

/* ---- report ---- */

static int compare_time(const void *a, const void *b)
{
    pm_time x = *(const pm_time *)a, y = *(const pm_time *)b;
    return (x > y) - (x < y);
}

static void print_table(demo *d)
{
    printf("\n  %-25s %-9s %9s %9s %9s  %s\n", "link", "connected", "setup ms", "rtt ms", "ice rtt",
           "messages (reliable/ordered/unreliable, both ways)");
    int links = 0, up = 0, complete = 0;
    for (int i = 0; i < d->n; i++) {
        for (int j = i + 1; j < d->n; j++) {
            link_stat *l = &d->links[i][j];
            links++;
            bool ok = l->connected[0] && l->connected[1];
            up += ok;
            pm_time done = max_time(l->connected[0], l->connected[1]);
            char who[48], setup[16] = "-", rtt[16] = "-", ice[16] = "-";
            snprintf(who, sizeof who, "%d <-> %d", (int)d->nodes[i].id, (int)d->nodes[j].id);
            if (ok && l->announced)
                snprintf(setup, sizeof setup, "%.1f", ms(done - l->announced));
            if (l->nrtt) {
                qsort(l->rtt, (size_t)l->nrtt, sizeof l->rtt[0], compare_time);
                snprintf(rtt, sizeof rtt, "%.3f", ms(l->rtt[l->nrtt / 2]));
            }
            pm_mesh_peer_stats st;
            pm_mesh *m = pm_signal_client_mesh(d->nodes[i].client);
            if (m && pm_mesh_get_peer_stats(m, d->nodes[j].id, &st) == PM_OK && st.rtt >= 0)
                snprintf(ice, sizeof ice, "%.3f", ms(st.rtt));
            bool all = true;
            for (int c = 0; c < CHANNELS; c++)
                all = all && l->delivered[c] == 2;
            complete += all;
            printf("  %-25s %-9s %9s %9s %9s  %d/%d/%d%s\n", who, ok ? "yes" : "NO", setup, rtt,
                   ice, l->delivered[0], l->delivered[1], l->delivered[2],
                   all ? "" : "  <- missing");
        }
    }
    printf("\n  %d/%d links connected, %d/%d links exchanged on all %d channels (%s, %s, %s)\n", up,
           links, complete, links, CHANNELS, MODE_NAMES[0], MODE_NAMES[1], MODE_NAMES[2]);
    printf(
        "\n  The columns:\n"
        "    link       the two peers, by peer id (1 is the lobby's host)\n"
        "    connected  each side counts the other as connected: connection up, every channel "
        "open\n"
        "    setup ms   from the server announcing the two to each other until both are "
        "connected\n"
        "               (offer and answer through the server, ICE checks, DTLS and SCTP "
        "handshakes)\n"
        "    rtt ms     median round trip of %d pings on the reliable channel, program to "
        "program\n"
        "    ice rtt    round trip ICE measured with its own checks on the pair it chose; taken "
        "while\n"
        "               both sides were busy setting up, so it is often higher than rtt ms\n"
        "    messages   messages that arrived on each channel, both ways (2/2/2: one each way on "
        "each)\n",
        2 * PINGS);
}

/* ---- options ---- */

static int pair_demo(int argc, char **argv)
{
    /* The two-peer tour takes the same arguments minus --pair. */
    char *args[64];
    int n = 0;
    for (int i = 0; i < argc && n < 63; i++)
        if (strcmp(argv[i], "--pair") != 0)
            args[n++] = argv[i];
    args[n] = NULL;
    return pm_cli_demo_pair(n, args);
}

static const char USAGE[] =
    "usage: peermesh demo [--peers N] [--bind IP] [--protocol json|text] [--timeout S]\n"
    "       peermesh demo --pair [--bind IP]     (the two-peer data-channel tour)\n"
    "\n"
    "  --peers N      peers in the mesh, 2..16 (default 4)\n"
    "  --bind IP      address of the signaling server and the peers (default 127.0.0.1)\n"
    "  --protocol P   signaling protocol: json (Godot 4, default) or text (Godot 3)\n"
    "  --timeout S    give up after S seconds (default 30)\n";

typedef struct demo_options {
    int peers;
    const char *bind;
    pm_signal_protocol protocol;
    double timeout;
} demo_options;

static const pm_cli_expect EXPECTS[] = {
    {'n', "a number of peers 2..16"},
    {'b', PM_CLI_EXPECT_IP},
    {'p', "json or text"},
    {'t', "seconds, 1..3600"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "demo", .usage = USAGE, .expects = EXPECTS};

static int take_option(void *ud, int code, const char *arg)
{
    demo_options *o = ud;
    long v;
    switch (code) {
    case 'n':
        if (!pm_cli_parse_long(arg, 2, MAX_PEERS, &v))
            return PM_CLI_OPTION_BAD;
        o->peers = (int)v;
        return -1;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &o->bind);
    case 'p':
        if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0)
            return PM_CLI_OPTION_BAD;
        o->protocol = !strcmp(arg, "json") ? PM_SIGNAL_PROTOCOL_JSON : PM_SIGNAL_PROTOCOL_TEXT;
        return -1;
    case 't':
        return pm_cli_parse_seconds(arg, 1, 3600, &o->timeout) ? -1 : PM_CLI_OPTION_BAD;
    default:
        return -1;
    }
}

static int parse_options(int argc, char **argv, demo_options *o)
{
    static const struct option longs[] = {
        {"peers", required_argument, NULL, 'n'},    {"bind", required_argument, NULL, 'b'},
        {"protocol", required_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    *o = (demo_options){DEFAULT_PEERS, PM_CLI_DEFAULT_BIND, PM_SIGNAL_PROTOCOL_JSON, 30};
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, o);
    if (status >= 0)
        return status;
    return optind < argc ? pm_cli_unexpected(&CMD, argv[optind]) : -1;
}

/* ---- main ---- */

static int start(demo *d, const demo_options *o)
{
    pm_signal_server_config sc;
    pm_signal_server_config_default(&sc);
    sc.bind_address = o->bind;
    sc.port = 0;
    sc.seal_delay = SEAL_DELAY;
    sc.named_lobbies = true;
    int rc = pm_signal_server_new(&sc, &d->server);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh demo: cannot start the signaling server: %s\n", pm_strerror(rc));
        return rc;
    }
    return pm_cli_loop_init(&d->loop, (size_t)(d->n * (d->n - 1)));
}

/* The host creates the lobby by name (the server's named-lobbies extension), the others join. */
static int add_node(demo *d, const demo_options *o, const char *url, const char *lobby, bool create)
{
    pm_signal_client_config cc;
    pm_signal_client_config_default(&cc);
    cc.url = url;
    cc.lobby = lobby;
    cc.create_lobby = create;
    cc.protocol = o->protocol;
    cc.rtc.bind_address = o->bind;
    int rc = pm_signal_client_new(&cc, &d->nodes[d->n].client);
    if (rc == PM_OK)
        d->n++;
    else
        fprintf(stderr, "peermesh demo: cannot start a peer: %s\n", pm_strerror(rc));
    return rc;
}

static bool run(demo *d, const demo_options *o, int peers)
{
    char url[96];
    bool v6 = strchr(o->bind, ':') != NULL;
    snprintf(url, sizeof url, "ws://%s%s%s:%u/", v6 ? "[" : "", o->bind, v6 ? "]" : "",
             (unsigned)pm_signal_server_port(d->server));
    pm_time limit = (pm_time)(o->timeout * 1e6);
    printf("peermesh %s demo: %d peers, signaling server %s (%s protocol)\n", PM_VERSION_STRING,
           peers, url, o->protocol == PM_SIGNAL_PROTOCOL_JSON ? "Godot 4 JSON" : "Godot 3 text");
    if (add_node(d, o, url, DEMO_LOBBY, true) != PM_OK || !run_until(d, host_joined, limit)) {
        fprintf(stderr, "peermesh demo: the host could not create a lobby\n");
        return false;
    }
    printf("  %8.1f ms  peer 1 created lobby %s\n", ms(pm_now() - d->start), d->lobby);
    for (int i = 1; i < peers; i++)
        if (add_node(d, o, url, d->lobby, false) != PM_OK)
            return false;
    printf("  %8.1f ms  %d more peers joining\n", ms(pm_now() - d->start), peers - 1);
    if (!run_until(d, mesh_complete, limit)) {
        fprintf(stderr, "peermesh demo: the mesh did not complete in time\n");
        return false;
    }
    printf("  %8.1f ms  full mesh: %d links\n", ms(pm_now() - d->start), peers * (peers - 1) / 2);
    if (pm_signal_client_seal(d->nodes[0].client) != PM_OK ||
        !run_until(d, signaling_closed, limit)) {
        fprintf(stderr, "peermesh demo: sealing the lobby failed\n");
        return false;
    }
    for (int i = 0; i < d->n; i++)
        if (d->nodes[i].close_code != PM_SIGNAL_CLOSE_NORMAL) {
            fprintf(stderr, "peermesh demo: peer %d: signaling closed with %d\n",
                    (int)d->nodes[i].id, d->nodes[i].close_code);
            return false;
        }
    pm_signal_server_free(d->server);
    d->server = NULL;
    printf("  %8.1f ms  lobby sealed, signaling closed with 1000, server stopped: the mesh "
           "lives on\n",
           ms(pm_now() - d->start));
    send_channel_messages(d);
    bool delivered = run_until(d, all_delivered, PM_SEC(5));
    bool pinged = run_until(d, pings_done, PM_SEC(10));
    printf("  %8.1f ms  messages exchanged on every channel, %d round trips per link\n",
           ms(pm_now() - d->start), 2 * PINGS);
    return delivered && pinged;
}

int pm_cli_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--pair") == 0)
            return pair_demo(argc, argv);
    demo_options o;
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    demo *d = calloc(1, sizeof *d);
    if (!d)
        return PM_CLI_EXIT_FAIL;
    d->start = pm_now();
    int peers = o.peers;
    d->n = peers; /* for the loop's size */
    bool ok = start(d, &o) == PM_OK;
    d->n = 0;
    ok = ok && run(d, &o, peers);
    print_table(d);
    ok = ok && mesh_complete(d) && all_delivered(d) && d->problems == 0;
    printf("\n  %s\n",
           ok ? "PASS: every link connected and carried every message" : "FAIL: see above");
    for (int i = 0; i < d->n; i++)
        pm_signal_client_free(d->nodes[i].client);
    pm_signal_server_free(d->server);
    pm_cli_loop_destroy(&d->loop);
    free(d);
    return ok ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
