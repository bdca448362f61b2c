/*
 * `peermesh bench enet` — round trip and throughput of the ENet multiplayer
 * peer (Godot 3 format) over loopback, against two echo servers in the same
 * run, each in its own process so both sides pay the same process hop:
 *
 *   peermesh  `pm_enet` server forked from this process, echoing (busy-polling)
 *   godot3    Debian's Godot 3.2.3 (godot3-server, or godot3 --no-window
 *             under xvfb-run) running a NetworkedMultiplayerENet echo
 *             script written to a temporary project
 *
 * The client is always ours. Round trip: 100-byte reliable packets (plus
 * the raw command byte and the 8-byte header), one at a time, median.
 * Throughput: 1000-byte reliable packets, 64 in flight, echoed bytes per
 * second. The result lines carry godot/peermesh ratios.
 */
#include "bench_godot.h"
#include "cli.h"
#include "enet_util.h"
#include "json_out.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LATENCY_SIZE 100
#define TP_SIZE      1000
#define TP_WINDOW    64
#define WARMUP       200
#define SERVER_LIFE  PM_SEC(600) /* a forked server never outlives a stuck parent by long */
#define GODOT_START  PM_SEC(20)

static const char USAGE[] =
    "usage: peermesh bench enet [--samples N] [--seconds S] [--no-godot]\n"
    "\n"
    "  --samples N   round trips measured per server (default 2000)\n"
    "  --seconds S   throughput measuring time per server (default 3)\n"
    "  --no-godot    skip the Godot 3.2.3 comparison\n"
    "  Godot binary: $PEERMESH_GODOT, else godot3-server, else godot3 under xvfb-run.\n";

/*
 * Echo every raw packet back in the mode named by payload byte 4 (enet_util.h).
 * A headless Godot 3 sleeps low_processor_usage_mode_sleep_usec (6900 us by
 * default) after every frame, which alone would dominate the round trip; the
 * script turns it off so Godot's networking, not its frame pacing, is measured.
 */
static const char GODOT_ECHO[] =
    "extends SceneTree\n"
    "func _init():\n"
    "\tOS.low_processor_usage_mode_sleep_usec = 0\n"
    "\tvar port = 0\n"
    "\tvar ready_path = \"\"\n"
    "\tfor a in OS.get_cmdline_args():\n"
    "\t\tif a.begins_with(\"port=\"):\n"
    "\t\t\tport = int(a.substr(5, -1))\n"
    "\t\tif a.begins_with(\"ready=\"):\n"
    "\t\t\tready_path = a.substr(6, -1)\n"
    "\tvar peer = NetworkedMultiplayerENet.new()\n"
    "\tif peer.create_server(port, 32) != OK:\n"
    "\t\tquit(2)\n"
    "\t\treturn\n"
    "\tset_network_peer(peer)\n"
    "\tmultiplayer.connect(\"network_peer_packet\", self, \"_on_packet\")\n"
    "\tvar f = File.new()\n"
    "\tf.open(ready_path, File.WRITE)\n"
    "\tf.store_string(str(port))\n"
    "\tf.close()\n"
    "func _on_packet(id, bytes):\n"
    "\tvar mode = 2\n"
    "\tif bytes.size() >= 5:\n"
    "\t\tmode = bytes[4]\n"
    "\tmultiplayer.send_bytes(bytes, id, mode)\n";

static const pm_cli_expect EXPECTS[] = {
    {'n', "a number of samples 10..1000000"},
    {'s', "seconds, 0.1..600"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "bench enet", .usage = USAGE, .expects = EXPECTS};

typedef struct bench_opts {
    long samples;
    double seconds;
    bool godot;
} bench_opts;

typedef struct bench_result {
    double rtt_min, rtt_median, rtt_p99;
    long samples;
    double mbyte_per_s;
    double packets_per_s;
} bench_result;

/* ---- measuring against a server on 127.0.0.1:port ---- */

static int drive(pm_enet *e, pm_cli_probe *pr, pm_time deadline)
{
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    while (pm_now() < deadline && !pm_cli_probe_done(pr)) {
        int rc = pm_cli_probe_step(pr, mp, pm_now());
        if (rc < 0)
            return rc;
        (void)pm_mp_poll(mp);
        if (pm_mp_get_connection_status(mp) != PM_MP_CONNECTED)
            return PM_ERR_CLOSED;
        pm_mp_packet p;
        pm_time now = pm_now();
        while (pm_mp_get_packet(mp, &p) == PM_OK)
            (void)pm_cli_probe_on_packet(pr, &p, now);
        if (pr->in_flight >= pr->window || pr->sent == pr->total)
            (void)pm_enet_wait(e, 1);
    }
    return PM_OK;
}

static int connect_client(uint16_t port, pm_enet **out)
{
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.bind_ip = PM_CLI_DEFAULT_BIND;
    pm_enet *e = NULL;
    int rc = pm_enet_new(&cfg, &e);
    if (rc == PM_OK)
        rc = pm_enet_create_client(e, PM_CLI_DEFAULT_BIND, port, 0, 0, 0, 0);
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    pm_time deadline = pm_now() + PM_SEC(5);
    while (rc == PM_OK && pm_mp_get_connection_status(mp) != PM_MP_CONNECTED) {
        if (pm_now() > deadline || pm_mp_get_connection_status(mp) == PM_MP_DISCONNECTED)
            rc = PM_ERR_TIMEOUT;
        (void)pm_mp_poll(mp);
        (void)pm_enet_wait(e, 2);
    }
    if (rc != PM_OK) {
        pm_enet_free(e);
        return rc;
    }
    *out = e;
    return PM_OK;
}

static int measure(const bench_opts *o, uint16_t port, bench_result *r)
{
    pm_enet *e;
    int rc = connect_client(port, &e);
    if (rc != PM_OK)
        return rc;
    *r = (bench_result){0};
    pm_cli_probe pr;
    /* Warm-up: first allocations, ENet's RTT estimate, caches. */
    rc = pm_cli_probe_init(&pr, LATENCY_SIZE, 0x04, PM_MP_TRANSFER_RELIABLE, WARMUP, 1, PM_SEC(1));
    if (rc == PM_OK) {
        rc = drive(e, &pr, pm_now() + PM_SEC(10));
        pm_cli_probe_free(&pr);
    }
    if (rc == PM_OK)
        rc = pm_cli_probe_init(&pr, LATENCY_SIZE, 0x04, PM_MP_TRANSFER_RELIABLE, o->samples, 1,
                               PM_SEC(1));
    if (rc == PM_OK) {
        rc = drive(e, &pr, pm_now() + PM_SEC(60));
        pm_cli_probe_rtt_ms(&pr, &r->rtt_min, &r->rtt_median, &r->rtt_p99);
        r->samples = pr.received;
        pm_cli_probe_free(&pr);
    }
    long total = 2000000;
    if (rc == PM_OK)
        rc = pm_cli_probe_init(&pr, TP_SIZE, 0x04, PM_MP_TRANSFER_RELIABLE, total, TP_WINDOW,
                               PM_SEC(5));
    if (rc == PM_OK) {
        pm_time t0 = pm_now();
        rc = drive(e, &pr, t0 + (pm_time)(o->seconds * 1e6));
        double secs = (double)(pm_now() - t0) / 1e6;
        r->mbyte_per_s = (double)pr.bytes_echoed / secs / 1e6;
        r->packets_per_s = (double)pr.received / secs;
        pm_cli_probe_free(&pr);
    }
    pm_enet_free(e);
    return rc;
}

/* ---- our server, forked ---- */

static volatile sig_atomic_t child_stop;

static void child_on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

static void serve_echo(int report_fd)
{
    signal(SIGTERM, child_on_term);
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.bind_ip = PM_CLI_DEFAULT_BIND;
    pm_enet *e = NULL;
    uint16_t port = 0;
    if (pm_enet_new(&cfg, &e) == PM_OK && pm_enet_create_server(e, 0, 32, 0, 0, 0) == PM_OK)
        port = pm_enet_get_local_port(e);
    if (write(report_fd, &port, sizeof port) != (ssize_t)sizeof port || !port)
        _exit(1);
    close(report_fd);
    pm_multiplayer *mp = pm_enet_multiplayer(e);
    pm_time end = pm_now() + SERVER_LIFE;
    while (!child_stop && pm_now() < end) {
        (void)pm_mp_poll(mp);
        pm_mp_packet p;
        while (pm_mp_get_packet(mp, &p) == PM_OK)
            (void)pm_cli_enet_echo(mp, &p);
        /* Busy-poll, as Godot's main loop does with its low-processor sleep off. */
    }
    pm_enet_free(e);
    _exit(0);
}

static int start_ours(pid_t *pid, uint16_t *port)
{
    int fds[2];
    if (pipe(fds) != 0)
        return PM_ERR_IO;
    fflush(stdout);
    *pid = fork();
    if (*pid < 0)
        return PM_ERR_IO;
    if (*pid == 0) {
        close(fds[0]);
        serve_echo(fds[1]);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], port, sizeof *port);
    close(fds[0]);
    if (n != (ssize_t)sizeof *port || !*port) {
        pm_bench_stop_child(*pid, false);
        return PM_ERR_IO;
    }
    return PM_OK;
}

/* ---- Godot ---- */

static uint16_t free_port(void)
{
    pm_enet_host *h;
    if (pm_enet_host_create_bound(NULL, PM_CLI_DEFAULT_BIND, 0, 1, 0, 0, 0, &h) != PM_OK)
        return 0;
    uint16_t port = pm_enet_host_get_local_port(h);
    pm_enet_host_free(h);
    return port;
}

/* Start the Godot echo server; *pid is its process group leader. */
static int start_godot(const pm_bench_godot *g, const char *dir, pid_t *pid, uint16_t *port)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        *port = free_port();
        char ready[600], a_port[32], a_ready[620];
        snprintf(ready, sizeof ready, "%s/ready.txt", dir);
        snprintf(a_port, sizeof a_port, "port=%u", *port);
        snprintf(a_ready, sizeof a_ready, "ready=%s", ready);
        unlink(ready);
        const char *args[] = {a_port, a_ready, NULL};
        if (pm_bench_godot_spawn(g, dir, "echo.gd", args, pid) != PM_OK)
            return PM_ERR_IO;
        pm_time deadline = pm_now() + GODOT_START;
        while (pm_now() < deadline) {
            if (access(ready, R_OK) == 0)
                return PM_OK;
            if (waitpid(*pid, NULL, WNOHANG) == *pid)
                break; /* exited: port taken in between, or Godot failed */
            usleep(20000);
        }
        pm_bench_stop_child(*pid, true);
        *pid = 0;
    }
    return PM_ERR_IO;
}

/* ---- output ---- */

static void print_result(const char *server, const bench_result *r)
{
    pm_cli_print_json(json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:i}", "bench", "enet_latency",
                                "server", server, "size", LATENCY_SIZE, "rtt_ms_median",
                                pm_cli_json_rounded(r->rtt_median, 4), "rtt_ms_min",
                                pm_cli_json_rounded(r->rtt_min, 4), "rtt_ms_p99",
                                pm_cli_json_rounded(r->rtt_p99, 4), "samples", (int)r->samples));
    pm_cli_print_json(json_pack("{s:s, s:s, s:i, s:i, s:o, s:o}", "bench", "enet_throughput",
                                "server", server, "size", TP_SIZE, "window", TP_WINDOW,
                                "echoed_mbyte_per_s", pm_cli_json_rounded(r->mbyte_per_s, 3),
                                "packets_per_s", pm_cli_json_rounded(r->packets_per_s, 0)));
}

static int run_godot(const bench_opts *o, const bench_result *ours)
{
    pm_bench_godot g;
    const char *why = NULL;
    if (!pm_bench_godot_find(&g, &why)) {
        pm_cli_print_json(json_pack("{s:s, s:s, s:s}", "bench", "enet_compare", "skipped", why));
        return PM_OK;
    }
    char dir[64];
    int rc = pm_bench_godot_project(dir, sizeof dir);
    if (rc == PM_OK)
        rc = pm_bench_write_file(dir, "echo.gd", GODOT_ECHO);
    pid_t pid = 0;
    uint16_t port = 0;
    bench_result theirs;
    if (rc == PM_OK && (rc = start_godot(&g, dir, &pid, &port)) != PM_OK)
        fprintf(stderr, "peermesh bench enet: Godot did not start (log: %s/godot.log)\n", dir);
    if (rc == PM_OK)
        rc = measure(o, port, &theirs);
    pm_bench_stop_child(pid, true);
    if (rc == PM_OK) {
        print_result("godot3", &theirs);
        double rtt_ratio = ours->rtt_median > 0 ? theirs.rtt_median / ours->rtt_median : 0;
        double tp_ratio = theirs.mbyte_per_s > 0 ? ours->mbyte_per_s / theirs.mbyte_per_s : 0;
        pm_cli_print_json(json_pack(
            "{s:s, s:s, s:o, s:o, s:s}", "bench", "enet_compare", "godot", pm_bench_godot_name(&g),
            "rtt_ratio_godot_over_peermesh", pm_cli_json_rounded(rtt_ratio, 3),
            "throughput_ratio_peermesh_over_godot", pm_cli_json_rounded(tp_ratio, 3), "note",
            "same client (ours), each server in its own process and "
            "busy-polling (Godot with low_processor_usage_mode_sleep_usec=0); "
            "a ratio above 1 means peermesh is faster"));
        pm_bench_remove_tree(dir);
    }
    return rc;
}

static int take_option(void *ud, int code, const char *arg)
{
    bench_opts *o = ud;
    switch (code) {
    case 'n':
        return pm_cli_parse_long(arg, 10, 1000000, &o->samples) ? -1 : PM_CLI_OPTION_BAD;
    case 's':
        return pm_cli_parse_seconds(arg, 0.1, 600, &o->seconds) ? -1 : PM_CLI_OPTION_BAD;
    case 'G':
        o->godot = false;
        break;
    }
    return -1;
}

int pm_cli_bench_enet(int argc, char **argv)
{
    static const struct option longs[] = {
        {"samples", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"no-godot", no_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bench_opts o = {.samples = 2000, .seconds = 3, .godot = true};
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, &o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    pid_t pid;
    uint16_t port;
    bench_result ours;
    int rc = start_ours(&pid, &port);
    if (rc == PM_OK) {
        rc = measure(&o, port, &ours);
        pm_bench_stop_child(pid, false);
    }
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh bench enet: %s\n", pm_strerror(rc));
        return PM_CLI_EXIT_FAIL;
    }
    print_result("peermesh", &ours);
    if (o.godot && (rc = run_godot(&o, &ours)) != PM_OK) {
        fprintf(stderr, "peermesh bench enet: Godot comparison failed: %s\n", pm_strerror(rc));
        return PM_CLI_EXIT_FAIL;
    }
    return PM_CLI_EXIT_OK;
}
