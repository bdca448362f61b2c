/*
 * `peermesh bench mesh --peers N` — N mesh nodes in one process, each with a
 * socket-mode connection to every other node over loopback UDP (N(N-1)/2
 * links, N(N-1) connections), signaling handed over in-process, one thread
 * polling everything. One JSON line on stdout:
 *
 *   {"bench":"mesh","peers":N,"links":L,"connected":C,"connect_ms":T,"links_p50_ms":A,"links_p90_ms":B,
 *    "broadcast_packets":P,"broadcast_pps":R,"rss_mb":M,"rss_per_link_kb":K}
 *
 * links: expected; connected: links whose both ends saw PEER_CONNECTED;
 * connect_ms: first offer -> every link connected (or the timeout);
 * links_p50_ms / links_p90_ms: first offer -> half / 90 % of the links
 * connected (-1 when fewer did). Then
 * every node broadcasts 100-byte reliable packets for --seconds;
 * broadcast_pps counts packets received by all nodes per second. rss: the
 * resident-set growth of the whole mesh, and per link.
 */
#include "bench_stats.h"
#include "cli.h"
#include "json_out.h"
#include "mesh_util.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS   64 /* 4032 sockets */
#define PACKET      100
#define SEND_BUDGET 8 /* broadcasts per node per round: keeps every queue short */

static const char USAGE[] = "usage: peermesh bench mesh [--peers N] [--seconds S] [--timeout S] "
                            "[--bind IP]\n"
                            "\n"
                            "  --peers N     mesh nodes in this process, 2..64 (default 8)\n"
                            "  --seconds S   broadcast phase (default 1)\n"
                            "  --timeout S   give up connecting after S (default 30)\n"
                            "  --bind IP     address the connections bind to (default 127.0.0.1)\n";

typedef struct mesh_bench {
    long peers;
    double seconds, timeout;
    const char *bind_address;
    pm_mesh *mesh[MAX_PEERS + 1]; /* node id = index */
    int connected_events[MAX_PEERS + 1];
    pm_time t0;                                  /* first offer */
    pm_time up_at[MAX_PEERS + 1][MAX_PEERS + 1]; /* node, peer: PEER_CONNECTED, 0 before */
    bool signal_error;
    uint64_t received;
    pm_cli_loop loop;
    bool busy[MAX_PEERS + 1];    /* a connection of the node has input or a timer due */
    size_t slots[MAX_PEERS + 2]; /* node i's connections are loop slots slots[i]..slots[i+1]-1 */
} mesh_bench;

static const pm_cli_expect EXPECTS[] = {
    {'p', "a number of peers 2..64"},
    {'s', "seconds, 0..600"},
    {'t', "seconds, 0.1..600"},
    {'b', PM_CLI_EXPECT_IP},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "bench mesh", .usage = USAGE, .expects = EXPECTS};

/* 0 when unreadable: the rss fields then read 0 rather than failing the run. */
static long resident_kb(void)
{
    long bytes = pm_cli_resident_bytes();
    return bytes < 0 ? 0 : bytes / 1024;
}

static int take_option(void *ud, int code, const char *arg)
{
    mesh_bench *b = ud;
    switch (code) {
    case 'p':
        return pm_cli_parse_long(arg, 2, MAX_PEERS, &b->peers) ? -1 : PM_CLI_OPTION_BAD;
    case 's':
        return pm_cli_parse_seconds(arg, 0, 600, &b->seconds) ? -1 : PM_CLI_OPTION_BAD;
    case 't':
        return pm_cli_parse_seconds(arg, 0.1, 600, &b->timeout) ? -1 : PM_CLI_OPTION_BAD;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &b->bind_address);
    }
    return -1;
}

static int parse(int argc, char **argv, mesh_bench *b)
{
    static const struct option longs[] = {
        {"peers", required_argument, NULL, 'p'},   {"seconds", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'}, {"bind", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    b->peers = 8;
    b->seconds = 1;
    b->timeout = 30;
    b->bind_address = PM_CLI_DEFAULT_BIND;
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, b);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    return -1;
}

/* In-process signaling: node `self`'s connection to `peer` hands its event to
 * `peer`'s connection to `self`. */
typedef struct relay_ctx {
    mesh_bench *b;
    int32_t self;
} relay_ctx;

static void relay(void *ud, int32_t peer, const pm_rtc_event *ev)
{
    relay_ctx *r = ud;
    int rc = pm_cli_mesh_apply(pm_cli_mesh_connection(r->b->mesh[peer], r->self), ev);
    if (rc < 0) {
        fprintf(stderr, "peermesh bench mesh: signaling %d -> %d: %s\n", (int)r->self, (int)peer,
                pm_strerror(rc));
        r->b->signal_error = true;
    }
}

/* Poll the nodes (all, or those with work: polling a mesh polls every one of
 * its connections, a system call each), relay signaling, count events and packets. */
static void round_all(mesh_bench *b, bool only_busy)
{
    for (int32_t i = 1; i <= b->peers; i++) {
        if (!only_busy || b->busy[i])
            pm_mesh_poll(b->mesh[i]);
        relay_ctx r = {b, i};
        pm_cli_mesh_drain(b->mesh[i], relay, &r);
        pm_multiplayer *mp = pm_mesh_multiplayer(b->mesh[i]);
        pm_mp_event ev;
        while (pm_mp_next_event(mp, &ev))
            if (ev.type == PM_MP_EVENT_PEER_CONNECTED) {
                b->connected_events[i]++;
                if (ev.peer_id >= 1 && ev.peer_id <= b->peers && !b->up_at[i][ev.peer_id])
                    b->up_at[i][ev.peer_id] = pm_now();
            }
        pm_mp_packet p;
        while (pm_mp_get_packet(mp, &p) == PM_OK)
            b->received++;
    }
}

static long links_connected(const mesh_bench *b)
{
    long links = 0;
    for (int32_t i = 1; i <= b->peers; i++)
        for (int32_t j = i + 1; j <= b->peers; j++) {
            pm_mesh_peer_info x, y;
            links += pm_mesh_get_peer(b->mesh[i], j, &x) == PM_OK &&
                     pm_mesh_get_peer(b->mesh[j], i, &y) == PM_OK && x.connected && y.connected;
        }
    return links;
}

/* One side of a link as "state/open channels/channels" for the report of
 * links that did not connect. */
static void describe_side(const mesh_bench *b, int32_t self, int32_t peer, char *out, size_t cap)
{
    pm_mesh_peer_info x;
    if (pm_mesh_get_peer(b->mesh[self], peer, &x) != PM_OK || !x.connection) {
        snprintf(out, cap, "gone");
        return;
    }
    size_t open = 0;
    for (size_t k = 0; k < x.channel_count; k++)
        open +=
            x.channels[k] && pm_rtc_channel_get_ready_state(x.channels[k]) == PM_RTC_CHANNEL_OPEN;
    snprintf(out, cap, "state %d, %zu/%zu channels open", (int)pm_rtc_peer_get_state(x.connection),
             open, x.channel_count);
}

/* On stderr: per node, how many of its connections are up; then the first
 * links that did not connect and where each side is. */
static void report_unconnected(const mesh_bench *b)
{
    for (int32_t i = 1; i <= b->peers; i++) {
        int up = 0;
        for (int32_t j = 1; j <= b->peers; j++) {
            pm_mesh_peer_info x;
            up += j != i && pm_mesh_get_peer(b->mesh[i], j, &x) == PM_OK && x.connected;
        }
        if (up < b->peers - 1)
            fprintf(stderr, "peermesh bench mesh: node %d has %d of %ld connections up\n", (int)i,
                    up, b->peers - 1);
    }
    int shown = 0;
    for (int32_t i = 1; i <= b->peers && shown < 10; i++)
        for (int32_t j = i + 1; j <= b->peers && shown < 10; j++) {
            pm_mesh_peer_info x, y;
            if (pm_mesh_get_peer(b->mesh[i], j, &x) == PM_OK &&
                pm_mesh_get_peer(b->mesh[j], i, &y) == PM_OK && x.connected && y.connected)
                continue;
            char a[96], c[96];
            describe_side(b, i, j, a, sizeof a);
            describe_side(b, j, i, c, sizeof c);
            fprintf(stderr, "peermesh bench mesh: link %d-%d not connected: %d: %s; %d: %s\n",
                    (int)i, (int)j, (int)i, a, (int)j, c);
            shown++;
        }
}

static int cmp_time(const void *a, const void *b)
{
    pm_time x = *(const pm_time *)a, y = *(const pm_time *)b;
    return x < y ? -1 : x > y;
}

/* When the links came up (both sides saw PEER_CONNECTED), from the first
 * offer: the given percentile in ms, or -1 when fewer links came up. */
static double link_percentile(const mesh_bench *b, int pct)
{
    long links = b->peers * (b->peers - 1) / 2, n = 0;
    pm_time *t = malloc((size_t)links * sizeof *t);
    if (!t)
        return -1;
    for (int32_t i = 1; i <= b->peers; i++)
        for (int32_t j = i + 1; j <= b->peers; j++)
            if (b->up_at[i][j] && b->up_at[j][i])
                t[n++] =
                    (b->up_at[i][j] > b->up_at[j][i] ? b->up_at[i][j] : b->up_at[j][i]) - b->t0;
    qsort(t, (size_t)n, sizeof *t, cmp_time);
    long k = (links * pct + 99) / 100;
    double ms = k >= 1 && k <= n ? (double)t[k - 1] / 1000.0 : -1;
    free(t);
    return ms;
}

static bool all_connected(const mesh_bench *b)
{
    for (int32_t i = 1; i <= b->peers; i++)
        if (b->connected_events[i] < b->peers - 1)
            return false;
    return true;
}

static void wait_for_work(mesh_bench *b, pm_time until)
{
    pm_cli_mesh_watch(&b->loop, &b->mesh[1], (size_t)b->peers);
    b->slots[1] = 0;
    for (int32_t i = 1; i <= b->peers; i++)
        b->slots[i + 1] = b->slots[i] + pm_mesh_get_peers(b->mesh[i], NULL, 0);
    pm_cli_loop_wait(&b->loop, -1, until, NULL);
    pm_time now = pm_now();
    for (int32_t i = 1; i <= b->peers; i++) {
        b->busy[i] = pm_mesh_next_timeout(b->mesh[i]) <= now;
        for (size_t k = b->slots[i]; !b->busy[i] && k < b->slots[i + 1]; k++)
            b->busy[i] = b->loop.slots[k].revents != 0;
    }
}

static int build(mesh_bench *b)
{
    for (int32_t i = 1; i <= b->peers; i++) {
        int rc = pm_mesh_new(NULL, &b->mesh[i]);
        if (rc == PM_OK)
            rc = pm_mesh_create_mesh(b->mesh[i], i, NULL, 0);
        for (int32_t j = 1; rc == PM_OK && j <= b->peers; j++)
            if (j != i)
                rc = pm_cli_mesh_connect(b->mesh[i], j, b->bind_address, PM_MESH_LIFETIME_DEFAULT);
        if (rc < 0)
            return rc;
    }
    return PM_OK;
}

static int offer_all(mesh_bench *b)
{
    for (int32_t i = 1; i <= b->peers; i++)
        for (int32_t j = i + 1; j <= b->peers; j++) {
            int rc = pm_rtc_peer_create_offer(pm_cli_mesh_connection(b->mesh[i], j));
            if (rc < 0)
                return rc;
        }
    return PM_OK;
}

static uint64_t broadcast_phase(mesh_bench *b)
{
    uint8_t packet[PACKET];
    memset(packet, 0xAB, sizeof packet);
    uint64_t start_count = b->received;
    pm_time end = pm_now() + (pm_time)(b->seconds * 1e6);
    while (pm_now() < end) {
        for (int32_t i = 1; i <= b->peers; i++) {
            pm_multiplayer *mp = pm_mesh_multiplayer(b->mesh[i]);
            pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
            for (int k = 0; k < SEND_BUDGET; k++)
                pm_mp_put_packet(mp, packet, sizeof packet);
        }
        round_all(b, false);
    }
    /* Let what was sent arrive (it counts: it was sent within the phase). */
    pm_time drain = pm_now() + PM_MS(500);
    while (pm_now() < drain) {
        round_all(b, false);
        wait_for_work(b, min_time(drain, pm_now() + PM_MS(10)));
    }
    return b->received - start_count;
}

int pm_cli_bench_mesh(int argc, char **argv)
{
    mesh_bench *b = calloc(1, sizeof *b);
    if (!b)
        return PM_CLI_EXIT_FAIL;
    int status = parse(argc, argv, b);
    if (status >= 0) {
        free(b);
        return status;
    }
    long links = b->peers * (b->peers - 1) / 2;
    long rss0 = resident_kb();
    int rc = pm_cli_loop_init(&b->loop, (size_t)(b->peers * (b->peers - 1)));
    if (rc == PM_OK)
        rc = build(b);
    pm_time t0 = pm_now();
    b->t0 = t0;
    if (rc == PM_OK)
        rc = offer_all(b);
    pm_time deadline = t0 + (pm_time)(b->timeout * 1e6);
    bool first = true;
    while (rc == PM_OK && !all_connected(b) && !b->signal_error && pm_now() < deadline) {
        round_all(b, !first);
        first = false;
        if (!all_connected(b))
            wait_for_work(b, deadline);
    }
    pm_time connect_time = pm_now() - t0;
    long connected = rc == PM_OK ? links_connected(b) : 0;
    if (rc == PM_OK && connected < links)
        report_unconnected(b);
    long rss1 = resident_kb();
    uint64_t packets = connected == links && b->seconds > 0 ? broadcast_phase(b) : 0;
    if (rc < 0)
        fprintf(stderr, "peermesh bench mesh: %s\n", pm_strerror(rc));
    double per_link = links ? (double)(rss1 - rss0) / (double)links : 0.0;
    json_t *out = json_pack(
        "{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "bench", "mesh", "peers",
        (json_int_t)b->peers, "links", (json_int_t)links, "connected", (json_int_t)connected,
        "connect_ms", pm_cli_json_rounded((double)connect_time / 1000.0, 1), "links_p50_ms",
        pm_cli_json_rounded(link_percentile(b, 50), 1), "links_p90_ms",
        pm_cli_json_rounded(link_percentile(b, 90), 1), "broadcast_packets", (json_int_t)packets,
        "broadcast_pps",
        pm_cli_json_rounded(b->seconds > 0 ? (double)packets / b->seconds : 0.0, 0), "rss_mb",
        pm_cli_json_rounded((double)(rss1 - rss0) / 1024.0, 1), "rss_per_link_kb",
        pm_cli_json_rounded(per_link, 1));
    pm_cli_print_json(out);
    for (int32_t i = 1; i <= b->peers; i++)
        pm_mesh_free(b->mesh[i]);
    pm_cli_loop_destroy(&b->loop);
    status = rc == PM_OK && connected == links ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
    free(b);
    return status;
}
