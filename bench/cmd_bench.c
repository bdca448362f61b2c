/*
 * `peermesh bench` — measurements in one process over UDP loopback: two
 * socket-mode peers per connection, signaling handed over directly, one
 * thread polling every peer (it sleeps in poll(2) only when no peer and no
 * benchmark step has work). One JSON line per benchmark on stdout.
 *
 *   throughput  goodput of 65535-byte messages on one reliable channel,
 *               measured at the receiver from the first byte received;
 *               with --rtt/--loss through a delaying, lossy UDP forwarder
 *               (bench_netem.c) that lengthens and damages the path
 *   setup       offer created -> channel open on both sides, sequential
 *               connections, each a new pair (process-wide certificate)
 *   latency     round trip of 100-byte messages, one at a time
 *   memory      resident-set growth per peer connection object (--godot:
 *               with the three channels of Godot's WebRTC mesh)
 */
#include "bench_link.h"
#include "bench_measure.h"
#include "bench_netem.h"
#include "bench_stats.h"
#include "bench_threads.h"
#include "cli.h"
#include "json_out.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SECONDS     10.0
#define DEFAULT_CONNECTIONS 50
#define MAX_CONNECTIONS     400    /* memory opens 2 sockets per pair: stay under 1024 fds */
#define MAX_MESSAGE         262144 /* the peers' default maximum message size */

static const char USAGE[] =
    "usage: peermesh bench [throughput|setup|latency|memory|all] [--seconds S] [--connections N]\n"
    "                      [--bind IP] [--threads 1|2] [--size B] [--samples]\n"
    "                      [--rtt MS] [--loss PCT] [--godot]\n"
    "       peermesh bench mesh --peers N (see `peermesh bench mesh --help`)\n"
    "       peermesh bench enet (see `peermesh bench enet --help`)\n"
    "       peermesh bench rpc (see `peermesh bench rpc --help`)\n"
    "       peermesh bench signal (see `peermesh bench signal --help`)\n"
    "       peermesh bench relay: direct vs TURN over UDP/TCP/TLS through a loopback coturn\n"
    "\n"
    "  --seconds S      throughput: measuring time; latency: time limit (default 10)\n"
    "  --threads T      throughput: 2 = sender and receiver on their own threads (default),\n"
    "                   1 = both peers polled by one thread\n"
    "  --connections N  setup: connections made; memory: pairs opened (default 50)\n"
    "  --bind IP        address the peers bind to (default 127.0.0.1)\n"
    "  --size B         throughput: message size in bytes, 1..262144 (default 65535)\n"
    "  --samples        setup: every connection's time too (samples_ms, sorted)\n"
    "  --rtt MS         throughput: through a forwarder adding MS of round trip (0..1000)\n"
    "  --loss PCT       throughput: the forwarder drops PCT percent of datagrams each way\n"
    "                   (0..50; e.g. 0.1); either option puts it in the path\n"
    "  --godot          memory: each pair with the three negotiated channels of Godot's\n"
    "                   WebRTC mesh instead of one in-band channel\n";

typedef struct bench_options {
    double seconds;
    long connections;
    const char *bind_address;
    long threads;
    long message_size;
    int samples;
    double rtt_ms, loss_pct;
    bool netem; /* --rtt or --loss given */
    bool godot; /* --godot: memory pairs carry Godot's mesh channels */
} bench_options;

typedef int (*bench_fn)(const bench_options *opt);

static const pm_cli_expect EXPECTS[] = {
    {'s', "seconds, 0.01..3600"},
    {'c', "a number of connections 1..400"},
    {'b', PM_CLI_EXPECT_IP},
    {'t', "1 or 2 threads"},
    {'z', "a message size in bytes 1..262144"},
    {'r', "a round trip in ms, 0..1000"},
    {'l', "a loss in percent, 0..50"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "bench", .usage = USAGE, .expects = EXPECTS};

/* ---- link helpers ---- */

static bool netem_rewrite(void *ud, int side, char *candidate, size_t cap)
{
    return pm_cli_netem_rewrite(ud, side, candidate, cap);
}

/* Open one link (through `netem` when not NULL). */
static int open_link_via(pm_cli_link *link, pm_cli_loop *loop, const bench_options *opt,
                         pm_cli_netem *netem)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = opt->bind_address;
    return pm_cli_open_link_rewritten(link, loop, &cfg, netem ? netem_rewrite : NULL, netem);
}

static int open_link(pm_cli_link *link, pm_cli_loop *loop, const bench_options *opt)
{
    return open_link_via(link, loop, opt, NULL);
}

/* ---- throughput ---- */

static int bench_throughput(const bench_options *opt)
{
    pm_cli_loop loop;
    pm_cli_link link;
    size_t size = (size_t)opt->message_size;
    uint8_t *message = malloc(size);
    if (!message || pm_cli_loop_init(&loop, 2) < 0) {
        free(message);
        return PM_ERR_NOMEM;
    }
    for (size_t i = 0; i < size; i++)
        message[i] = (uint8_t)i;
    pm_cli_throughput st = {.message = message, .size = size};
    pm_time span = (pm_time)(opt->seconds * 1e6), window = 0;
    pm_cli_netem *netem = NULL;
    int rc = opt->netem ? pm_cli_netem_new(opt->bind_address, (pm_time)(opt->rtt_ms * 1000),
                                           opt->loss_pct / 100, 1, &netem)
                        : PM_OK;
    if (rc == PM_OK)
        rc = open_link_via(&link, &loop, opt, netem);
    if (rc == PM_OK) {
        if (opt->threads == 2) {
            /* Each peer is then polled only by its own thread. */
            pm_cli_loop_clear(&loop);
            rc = pm_cli_throughput_threaded(&link, message, size, span, &st.bytes, &window);
        } else {
            rc = pm_cli_measure_throughput(&link, &loop, &st, span);
            window = st.stopped - st.first_rx;
        }
        pm_cli_close_link(&link, &loop);
    }
    if (rc == PM_OK) {
        double seconds = (double)window / 1e6;
        json_t *out = json_pack("{s:s, s:o, s:I, s:o, s:i, s:i}", "bench", "throughput", "mb_per_s",
                                pm_cli_json_rounded((double)st.bytes / seconds / 1e6, 2), "bytes",
                                (json_int_t)st.bytes, "seconds", pm_cli_json_rounded(seconds, 3),
                                "message_size", (int)size, "threads", (int)opt->threads);
        if (netem) {
            pm_cli_netem_stats ns = pm_cli_netem_get_stats(netem);
            json_object_set_new(out, "rtt_ms", pm_cli_json_rounded(opt->rtt_ms, 1));
            json_object_set_new(out, "loss_pct", pm_cli_json_rounded(opt->loss_pct, 3));
            json_object_set_new(out, "netem_forwarded", json_integer((json_int_t)ns.forwarded));
            json_object_set_new(out, "netem_dropped", json_integer((json_int_t)ns.dropped));
            json_object_set_new(out, "netem_overflowed", json_integer((json_int_t)ns.overflowed));
        }
        pm_cli_print_json(out);
    }
    pm_cli_netem_free(netem);
    pm_cli_loop_destroy(&loop);
    free(message);
    return rc;
}

/* ---- setup ---- */

static int bench_setup(const bench_options *opt)
{
    size_t n = (size_t)opt->connections;
    pm_time *samples = calloc(n, sizeof *samples);
    pm_cli_loop loop;
    if (!samples || pm_cli_loop_init(&loop, 2) < 0) {
        free(samples);
        return PM_ERR_NOMEM;
    }
    int rc = PM_OK;
    /* Connection 0 warms up: certificate generation and one-time initialisation. */
    for (size_t i = 0; i <= n && rc == PM_OK; i++) {
        pm_cli_link link;
        rc = open_link(&link, &loop, opt);
        if (rc < 0)
            break;
        if (i > 0)
            samples[i - 1] = link.open_at - link.offer_at;
        pm_cli_close_link(&link, &loop);
    }
    if (rc == PM_OK) {
        pm_cli_sort_times(samples, n);
        json_t *line =
            json_pack("{s:s, s:o, s:o, s:o, s:o, s:i}", "bench", "setup", "median_ms",
                      pm_cli_json_rounded(pm_cli_median(samples, n) / 1e3, 3), "p99_ms",
                      pm_cli_json_rounded((double)pm_cli_percentile(samples, n, 99) / 1e3, 3),
                      "min_ms", pm_cli_json_rounded((double)samples[0] / 1e3, 3), "max_ms",
                      pm_cli_json_rounded((double)samples[n - 1] / 1e3, 3), "connections", (int)n);
        json_t *all = opt->samples ? json_array() : NULL;
        for (size_t i = 0; all && i < n; i++)
            json_array_append_new(all, pm_cli_json_rounded((double)samples[i] / 1e3, 3));
        if (all)
            json_object_set_new(line, "samples_ms", all);
        pm_cli_print_json(line);
    }
    pm_cli_loop_destroy(&loop);
    free(samples);
    return rc;
}

/* ---- latency ---- */

static int bench_latency(const bench_options *opt)
{
    pm_time *samples = calloc(LATENCY_SAMPLES, sizeof *samples);
    pm_cli_loop loop;
    if (!samples || pm_cli_loop_init(&loop, 2) < 0) {
        free(samples);
        return PM_ERR_NOMEM;
    }
    pm_cli_link link;
    size_t n = 0;
    int rc = open_link(&link, &loop, opt);
    if (rc == PM_OK) {
        rc = pm_cli_measure_latency(&link, &loop, opt->seconds, samples, &n);
        pm_cli_close_link(&link, &loop);
    }
    if (rc == PM_OK) {
        pm_cli_sort_times(samples, n);
        pm_cli_print_json(json_pack("{s:s, s:o, s:o, s:i}", "bench", "latency", "median_us",
                                    pm_cli_json_rounded(pm_cli_median(samples, n), 1), "p99_us",
                                    json_integer(pm_cli_percentile(samples, n, 99)), "samples",
                                    (int)n));
    }
    pm_cli_loop_destroy(&loop);
    free(samples);
    return rc;
}

/* ---- memory ---- */

static int resident_bytes(long *out)
{
    *out = pm_cli_resident_bytes();
    if (*out < 0) {
        fprintf(stderr, "peermesh bench: cannot read /proc/self/statm\n");
        return PM_ERR_IO;
    }
    return PM_OK;
}

/* Heap bytes in use (glibc), with the allocator's free lists given back to
 * the kernel first so that the resident set counts what is held, not what
 * the allocator caches. */
static long heap_in_use(void)
{
    malloc_trim(0);
    struct mallinfo2 mi = mallinfo2();
    return (long)mi.uordblks;
}

/* Keep open links polled (as an application would) until `until`, so the
 * reading is of connections at rest, after their idle-time clean-up. */
#define STEADY_STATE_WAIT PM_MS(1500)
static int idle_links(pm_cli_link *links, size_t n, pm_cli_loop *loop, pm_time until)
{
    while (pm_now() < until) {
        for (size_t i = 0; i < n; i++) {
            int rc = pm_cli_link_step(&links[i]);
            if (rc < 0)
                return rc;
        }
        pm_cli_loop_wait(loop, -1, until, NULL);
    }
    return PM_OK;
}

/* Pairs are opened one after another: the memory a connection holds once
 * open is what is measured, not the transient peak of 50 simultaneous
 * handshakes. */
static int open_many(pm_cli_link *links, size_t pairs, pm_cli_loop *loop, const bench_options *opt)
{
    for (size_t i = 0; i < pairs; i++) {
        int rc = opt->godot ? pm_cli_link_new_godot(&links[i], opt->bind_address)
                            : pm_cli_link_new(&links[i], opt->bind_address);
        if (rc == PM_OK)
            rc = pm_cli_pair_watch(&links[i].pair, loop);
        if (rc == PM_OK)
            rc = pm_cli_links_open(&links[i], 1, loop, pm_now() + OPEN_TIMEOUT);
        if (rc < 0)
            return rc;
    }
    return PM_OK;
}

static int bench_memory(const bench_options *opt)
{
    size_t pairs = (size_t)opt->connections;
    pm_cli_link *links = calloc(pairs, sizeof *links);
    pm_cli_loop loop;
    if (!links || pm_cli_loop_init(&loop, 2 * pairs) < 0) {
        free(links);
        return PM_ERR_NOMEM;
    }
    long before = 0, after = 0, heap_before = 0, heap_after = 0;
    pm_cli_link
        warmup; /* one-time costs (certificate, SCTP stack, TLS tables) are not per connection */
    int rc = open_link(&warmup, &loop, opt);
    if (rc == PM_OK) {
        pm_cli_close_link(&warmup, &loop);
        heap_before = heap_in_use();
        rc = resident_bytes(&before);
    }
    if (rc == PM_OK && (rc = open_many(links, pairs, &loop, opt)) == PM_OK) {
        rc = idle_links(links, pairs, &loop, pm_now() + STEADY_STATE_WAIT);
        heap_after = heap_in_use();
        rc = resident_bytes(&after);
    }
    long peers = (long)(2 * pairs);
    if (rc == PM_OK)
        pm_cli_print_json(json_pack(
            "{s:s, s:I, s:I, s:i, s:b, s:s}", "bench", "memory", "bytes_per_connection",
            (json_int_t)((after - before) / peers), "heap_bytes_per_connection",
            (json_int_t)((heap_after - heap_before) / peers), "pairs", (int)pairs, "godot_channels",
            opt->godot, "note",
            "resident-set growth while the pairs are open (each with an open channel), divided "
            "by the number of pm_rtc_peer objects (2 per pair); pairs opened one after another, "
            "after a warm-up pair, read after 1.5 s of polling at rest, with malloc_trim before "
            "each reading; heap_bytes is glibc's "
            "in-use heap growth on the same basis"));
    else
        fprintf(stderr, "peermesh bench memory: %s\n", pm_strerror(rc));
    pm_cli_loop_clear(&loop);
    for (size_t i = 0; i < pairs; i++)
        pm_cli_link_free(&links[i]);
    pm_cli_loop_destroy(&loop);
    free(links);
    return rc;
}

/* ---- command line ---- */

typedef struct bench_entry {
    const char *name;
    bench_fn run;
} bench_entry;

static const bench_entry BENCHES[] = {
    {"throughput", bench_throughput},
    {"setup", bench_setup},
    {"latency", bench_latency},
    {"memory", bench_memory},
};
#define BENCH_COUNT (sizeof BENCHES / sizeof BENCHES[0])

static int take_option(void *ud, int code, const char *arg)
{
    bench_options *opt = ud;
    switch (code) {
    case 's':
        return pm_cli_parse_seconds(arg, 0.01, 3600, &opt->seconds) ? -1 : PM_CLI_OPTION_BAD;
    case 'c':
        return pm_cli_parse_long(arg, 1, MAX_CONNECTIONS, &opt->connections) ? -1
                                                                             : PM_CLI_OPTION_BAD;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &opt->bind_address);
    case 't':
        return pm_cli_parse_long(arg, 1, 2, &opt->threads) ? -1 : PM_CLI_OPTION_BAD;
    case 'z':
        return pm_cli_parse_long(arg, 1, MAX_MESSAGE, &opt->message_size) ? -1 : PM_CLI_OPTION_BAD;
    case 'r':
        if (!pm_cli_parse_seconds(arg, 0, 1000, &opt->rtt_ms))
            return PM_CLI_OPTION_BAD;
        opt->netem = true;
        break;
    case 'l':
        if (!pm_cli_parse_seconds(arg, 0, 50, &opt->loss_pct))
            return PM_CLI_OPTION_BAD;
        opt->netem = true;
        break;
    case 'g':
        opt->godot = true;
        break;
    }
    return -1;
}

/* Returns -1 when the run may go on, else the exit status. */
static int parse_options(int argc, char **argv, bench_options *opt, const char **which)
{
    const struct option longs[] = {
        {"seconds", required_argument, NULL, 's'},
        {"connections", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"size", required_argument, NULL, 'z'},
        {"samples", no_argument, &opt->samples, 1},
        {"rtt", required_argument, NULL, 'r'},
        {"loss", required_argument, NULL, 'l'},
        {"godot", no_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (bench_options){DEFAULT_SECONDS,
                           DEFAULT_CONNECTIONS,
                           PM_CLI_DEFAULT_BIND,
                           2,
                           THROUGHPUT_MESSAGE,
                           0,
                           0,
                           0,
                           false,
                           false};
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, opt);
    if (status >= 0)
        return status;
    *which = optind < argc ? argv[optind++] : "all";
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    return -1;
}

int pm_cli_bench(int argc, char **argv)
{
    bench_options opt;
    const char *which = NULL;
    int status = parse_options(argc, argv, &opt, &which);
    if (status >= 0)
        return status;
    bool all = strcmp(which, "all") == 0, known = all;
    status = PM_CLI_EXIT_OK;
    for (size_t i = 0; i < BENCH_COUNT; i++) {
        if (!all && strcmp(which, BENCHES[i].name) != 0)
            continue;
        known = true;
        int rc = BENCHES[i].run(&opt);
        if (rc < 0) {
            fprintf(stderr, "peermesh bench %s: failed: %s\n", BENCHES[i].name, pm_strerror(rc));
            status = PM_CLI_EXIT_FAIL;
        }
    }
    return known ? status
                 : pm_cli_usage_errorf(&CMD,
                                       "unknown benchmark '%s': throughput, setup, latency, "
                                       "memory, all, mesh, enet, rpc, relay or signal",
                                       which);
}
