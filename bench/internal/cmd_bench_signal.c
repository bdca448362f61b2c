/*
 * `peermesh bench signal` — load generator for the signaling server.
 *
 * Opens N WebSocket clients (4.x JSON protocol) in lobbies of K, then has
 * them relay OFFER messages to each other through the server at a target
 * aggregate rate, each stamped with its send time, and measures what comes
 * back out: connections held, relayed messages per second, p50/p99 relay
 * latency (send by one client -> receipt by another, same clock).
 *
 * Unless --server is given, the server is this program's own embedded
 * pm_signal_server in a child process (its own core under a 2-core box, its
 * own descriptor table), bound to loopback on a free port; its CPU time is
 * reported too. With --servers the clients go round-robin over several
 * servers (nodes of one cluster: a lobby's members on different nodes), and
 * --watch-pids reports the CPU time of the processes that serve them
 * (nodes, redis-server): the cost per message. --server-cpu pins the
 * embedded server. Both processes raise RLIMIT_NOFILE to the hard limit.
 *
 * Internal view (`view bench/internal` in src/layers.txt): the clients are
 * the library's own WebSocket transport (io/ws.h), signaling codec
 * (wire/signal_msg.h) and id map (base/map.h), internal pieces
 * with no public API, so this file sees the signaling layer's include root
 * and the tool links the static library, where their symbols are.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "json_out.h"

#include "io/ws.h"
#include "peermesh/signaling.h"
#include "base/map.h"
#include "wire/signal_msg.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LOBBY_SIZE 64
#define MAX_SERVERS    8
#define MAX_WATCHED    8
#define TICK_SENDS_MAX 20000 /* sends per loop iteration at most (bounded bursts) */

typedef struct bclient {
    uint64_t conn;
    int lobby;
    int32_t id;
    bool open, joined, closed;
    int32_t peers[MAX_LOBBY_SIZE]; /* ids announced to us */
    int npeers;
} bclient;

typedef struct bench {
    /* options */
    long clients, lobby_size, connect_window, size;
    double seconds, rate, ping_interval;
    const char *server_url, *bind;
    char urls[MAX_SERVERS][160];
    int nurls;
    long server_cpu; /* -1: not pinned */
    pid_t watched[MAX_WATCHED];
    int nwatched;
    int64_t watched_cpu0[MAX_WATCHED];
    /* state */
    pm_envr env;
    pm_ws *ws;
    bclient *c;
    char **lobby_names;
    long opened, joined, closed, connecting, next_to_connect;
    pm_buf scratch, msg;
    bool measuring;
    uint64_t sent, received, received_total;
    pm_time *lat;
    size_t nlat, lat_cap;
    pm_time start_measure;
    char url[128];
    pid_t server_pid;
    int64_t server_cpu0;
    pm_map by_conn; /* WebSocket connection id -> client index */
} bench;

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- the embedded server, in a child process ---- */

static volatile sig_atomic_t child_stop;
static pm_signal_server *child_server;

static void child_signal(int sig)
{
    (void)sig;
    child_stop = 1;
    if (child_server)
        pm_signal_server_wake(child_server);
}

static void run_child_server(bench *b, int report_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    raise_fd_limit();
    signal(SIGTERM, child_signal);
    signal(SIGPIPE, SIG_IGN);
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.bind_address = b->bind;
    cfg.port = 0;
    cfg.max_peers = (uint32_t)b->clients + 64;
    cfg.max_lobbies = (uint32_t)(b->clients / b->lobby_size + 64);
    cfg.max_lobby_peers = (uint32_t)b->lobby_size;
    cfg.rate_limit = 0;                          /* the load is the point */
    cfg.max_handshakes_per_address = UINT32_MAX; /* every client comes from one address */
    cfg.join_rate = 0;
    cfg.join_timeout = PM_SEC(60); /* thousands of handshakes queue up */
    cfg.http_endpoints = false;
    cfg.ping_interval = (pm_time)(b->ping_interval * 1e6);
    if (b->server_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)b->server_cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            fprintf(stderr, "peermesh bench signal: cannot pin the server to CPU %ld\n",
                    b->server_cpu);
    }
    uint16_t port = 0;
    if (pm_signal_server_new(&cfg, &child_server) == PM_OK)
        port = pm_signal_server_port(child_server);
    if (write(report_fd, &port, sizeof port) != sizeof port || !port)
        _exit(1);
    close(report_fd);
    while (!child_stop)
        (void)pm_signal_server_poll(child_server, -1);
    pm_signal_server_free(child_server);
    _exit(0);
}

static int start_server(bench *b)
{
    int fds[2];
    if (pipe(fds) != 0)
        return PM_ERR_IO;
    pid_t pid = fork();
    if (pid < 0)
        return PM_ERR_IO;
    if (pid == 0) {
        close(fds[0]);
        run_child_server(b, fds[1]);
    }
    close(fds[1]);
    uint16_t port = 0;
    ssize_t k = read(fds[0], &port, sizeof port);
    close(fds[0]);
    if (k != sizeof port || !port) {
        waitpid(pid, NULL, 0);
        return PM_ERR_IO;
    }
    b->server_pid = pid;
    bool v6 = strchr(b->bind, ':') != NULL;
    snprintf(b->url, sizeof b->url, "ws://%s%s%s:%u/", v6 ? "[" : "", b->bind, v6 ? "]" : "",
             (unsigned)port);
    snprintf(b->urls[0], sizeof b->urls[0], "%s", b->url);
    b->nurls = 1;
    return PM_OK;
}

/* utime + stime of a process in microseconds (Linux /proc), or -1. */
static int64_t cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (int64_t)(ut + st) * 1000000 / sysconf(_SC_CLK_TCK);
}

/* ---- clients ---- */

static bclient *client_of(bench *b, uint64_t conn)
{
    uintptr_t i;
    return pm_map_get(&b->by_conn, conn, &i) ? &b->c[i] : NULL;
}

static void send_text(bench *b, bclient *c, const char *text, size_t len)
{
    if (pm_ws_send(b->ws, c->conn, text, len, false) != PM_OK)
        c->closed = true;
}

static void join(bench *b, bclient *c)
{
    const char *name = b->lobby_names[c->lobby];
    char msg[128];
    int n = snprintf(msg, sizeof msg, "{\"type\":0,\"id\":0,\"data\":\"%s\"}", name ? name : "");
    send_text(b, c, msg, (size_t)n);
}

static void on_open(void *ud, uint64_t conn, const pm_addr *remote, const char *token)
{
    bench *b = ud;
    bclient *c = client_of(b, conn);
    if (!c)
        return;
    c->open = true;
    b->opened++;
    b->connecting--;
    join(b, c);
}

static void record_latency(bench *b, const uint8_t *data, size_t len)
{
    /* Fast path for our own relays: {"type":4,"id":N,"data":"<t> ..."} */
    const char *p = memmem(data, len, "\"data\":\"", 8);
    if (!p)
        return;
    pm_time sent_at = strtoll(p + 8, NULL, 10);
    if (sent_at <= 0)
        return;
    b->received_total++;
    if (!b->measuring)
        return;
    b->received++;
    if (b->nlat == b->lat_cap) {
        size_t n = b->lat_cap ? b->lat_cap * 2 : 1 << 16;
        pm_time *l = realloc(b->lat, n * sizeof *l);
        if (!l)
            return;
        b->lat = l;
        b->lat_cap = n;
    }
    b->lat[b->nlat++] = pm_now() - sent_at;
}

static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    bench *b = ud;
    bclient *c = client_of(b, conn);
    if (!c)
        return;
    if (len > 10 && memcmp(data, "{\"type\":4,", 10) == 0) {
        record_latency(b, data, len);
        return;
    }
    pm_sigmsg m;
    if (pm_sigmsg_decode_json(&b->env, data, len, &b->scratch, &m) != PM_OK)
        return;
    if (m.type == PM_SIGMSG_ID) {
        c->id = (int32_t)m.id;
    } else if (m.type == PM_SIGMSG_PEER_CONNECT && c->npeers < MAX_LOBBY_SIZE) {
        c->peers[c->npeers++] = (int32_t)m.id;
    } else if (m.type == PM_SIGMSG_PEER_DISCONNECT) {
        for (int i = 0; i < c->npeers; i++)
            if (c->peers[i] == (int32_t)m.id)
                c->peers[i] = c->peers[--c->npeers];
    } else if (m.type == PM_SIGMSG_JOIN) {
        c->joined = true;
        b->joined++;
        if (!b->lobby_names[c->lobby]) {
            char *name = malloc(m.data_len + 1);
            if (name) {
                memcpy(name, m.data, m.data_len);
                name[m.data_len] = 0;
            }
            b->lobby_names[c->lobby] = name;
        }
    }
}

static void on_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    bench *b = ud;
    bclient *c = client_of(b, conn);
    if (!c)
        return;
    if (!c->open)
        b->connecting--;
    if (!c->closed && b->closed < 5)
        fprintf(stderr, "peermesh bench signal: a connection closed: %d %s\n", code, reason);
    c->closed = true;
    c->open = false;
    b->closed++;
}

/* Start connections, at most connect_window handshakes at once; a lobby's
 * members only after its host has the lobby's name. */
static void connect_more(bench *b)
{
    while (b->next_to_connect < b->clients && b->connecting < b->connect_window) {
        long i = b->next_to_connect;
        bclient *c = &b->c[i];
        bool host = i % b->lobby_size == 0;
        if (!host && !b->lobby_names[c->lobby])
            return;
        /* Round-robin over the servers: a lobby's members on different nodes. */
        if (pm_ws_connect(b->ws, b->urls[i % b->nurls], &c->conn) != PM_OK) {
            c->closed = true;
            b->closed++;
        } else if (pm_map_put(&b->env, &b->by_conn, c->conn, (uintptr_t)i) == PM_OK) {
            b->connecting++;
        } else {
            (void)pm_ws_drop(b->ws, c->conn);
            c->closed = true;
            b->closed++;
        }
        b->next_to_connect++;
    }
}

/* ---- the relay phase ---- */

static void send_relay(bench *b, long i)
{
    bclient *c = &b->c[i];
    if (!c->open || !c->joined || c->npeers == 0)
        return;
    int32_t to = c->peers[(b->sent + (uint64_t)i) % (uint64_t)c->npeers];
    b->msg.len = 0;
    char head[96];
    int n = snprintf(head, sizeof head, "{\"type\":4,\"id\":%d,\"data\":\"%lld ", (int)to,
                     (long long)pm_now());
    (void)pm_buf_append(&b->env, &b->msg, head, (size_t)n);
    /* Pad with SDP-ish text to the configured size. */
    static const char pad[] = "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host ";
    while ((long)b->msg.len < b->size - 2) {
        size_t k = PM_MIN(sizeof pad - 1, (size_t)(b->size - 2) - b->msg.len);
        (void)pm_buf_append(&b->env, &b->msg, pad, k);
    }
    (void)pm_buf_append(&b->env, &b->msg, "\"}", 2);
    send_text(b, c, (const char *)b->msg.data, b->msg.len);
    b->sent++;
}

static int compare_time(const void *x, const void *y)
{
    pm_time a = *(const pm_time *)x, c = *(const pm_time *)y;
    return (a > c) - (a < c);
}

static double pct(const pm_time *sorted, size_t n, double p)
{
    if (!n)
        return -1;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return (double)sorted[rank ? rank - 1 : 0] / 1000.0;
}

static int run(bench *b)
{
    pm_ws_config wc = {.max_message = 1 << 20,
                       .client_tls = strncmp(b->url, "wss:", 4) == 0,
                       .allow_self_signed = true};
    pm_ws_handler h = {
        .ud = b, .on_open = on_open, .on_message = on_message, .on_closed = on_closed};
    int rc = pm_ws_new(&wc, &h, &b->ws);
    if (rc != PM_OK)
        return rc;
    /* Phase 1: connect and join. */
    pm_time t0 = pm_now(), limit = t0 + PM_SEC(120);
    while (b->joined + b->closed < b->clients && pm_now() < limit) {
        connect_more(b);
        (void)pm_ws_service(b->ws, 1);
    }
    /* Let the last PEER_CONNECTs arrive. */
    for (pm_time end = pm_now() + PM_MS(300); pm_now() < end;)
        (void)pm_ws_service(b->ws, 1);
    double setup_s = (double)(pm_now() - t0) / 1e6;
    fprintf(stderr, "peermesh bench signal: %ld/%ld clients joined %ld lobbies in %.1f s\n",
            b->joined, b->clients, (b->clients + b->lobby_size - 1) / b->lobby_size, setup_s);
    if (b->joined < b->clients)
        return PM_ERR_TIMEOUT;

    /* Phase 2: a short warm-up, then relay at the target rate. */
    int64_t cpu_self0 = cpu_us(getpid());
    b->server_cpu0 = b->server_pid ? cpu_us(b->server_pid) : -1;
    for (int i = 0; i < b->nwatched; i++)
        b->watched_cpu0[i] = cpu_us(b->watched[i]);
    pm_time start = pm_now(), end = start + (pm_time)(b->seconds * 1e6);
    pm_time warm = start + PM_MS(500);
    long next = 0;
    uint64_t due_base = 0;
    while (pm_now() < end) {
        pm_time now = pm_now();
        if (!b->measuring && now >= warm) {
            b->measuring = true;
            b->start_measure = now;
        }
        uint64_t due = (uint64_t)((double)(now - start) / 1e6 * b->rate);
        uint64_t burst = 0;
        while (due_base < due && burst < TICK_SENDS_MAX) {
            send_relay(b, next);
            next = (next + 1) % b->clients;
            due_base++;
            burst++;
        }
        /* Sleep (at most a millisecond: the next sends fall due) unless behind. */
        (void)pm_ws_service(b->ws, burst >= TICK_SENDS_MAX ? 0 : 1);
    }
    pm_time measured = pm_now() - b->start_measure;
    uint64_t received = b->received;
    b->measuring = false;
    /* Drain what is in flight (not counted in the rate). */
    for (pm_time stop = pm_now() + PM_MS(500); pm_now() < stop;)
        (void)pm_ws_service(b->ws, 1);
    int64_t cpu_self = cpu_us(getpid()) - cpu_self0;
    int64_t cpu_srv = b->server_pid ? cpu_us(b->server_pid) - b->server_cpu0 : -1;
    int64_t cpu_watched = 0;
    for (int i = 0; i < b->nwatched; i++) {
        int64_t now_cpu = cpu_us(b->watched[i]);
        if (now_cpu >= 0 && b->watched_cpu0[i] >= 0)
            cpu_watched += now_cpu - b->watched_cpu0[i];
    }
    double wall = b->seconds;

    qsort(b->lat, b->nlat, sizeof *b->lat, compare_time);
    long held = b->opened - b->closed;
    double mps = (double)received / ((double)measured / 1e6);
    json_t *res = json_pack("{s:s, s:i, s:i, s:i, s:i, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:f}",
                            "bench", "signal", "clients", (int)b->clients, "connections_held",
                            (int)held, "lobby_size", (int)b->lobby_size, "message_bytes",
                            (int)b->size, "target_rate", b->rate, "seconds", b->seconds, "sent",
                            (json_int_t)b->sent, "received", (json_int_t)b->received_total,
                            "messages_per_second", round(mps), "p50_ms", pct(b->lat, b->nlat, 50),
                            "p99_ms", pct(b->lat, b->nlat, 99), "setup_seconds", setup_s);
    if (res && cpu_srv >= 0)
        json_object_set_new(res, "server_cpu",
                            json_real(round((double)cpu_srv / 1e4 / wall) / 100));
    if (res && cpu_self >= 0)
        json_object_set_new(res, "client_cpu",
                            json_real(round((double)cpu_self / 1e4 / wall) / 100));
    if (res && b->nwatched)
        json_object_set_new(res, "watched_cpu",
                            json_real(round((double)cpu_watched / 1e4 / wall) / 100));
    /* Server CPU time per relayed message, over the whole relay phase. */
    int64_t serving = b->nwatched ? cpu_watched : cpu_srv;
    if (res && serving >= 0 && b->received_total)
        json_object_set_new(
            res, "server_us_per_message",
            json_real(round((double)serving / (double)b->received_total * 100) / 100));
    if (res)
        json_object_set_new(res, "servers", json_integer(b->nurls));
    if (res)
        (void)pm_cli_write_json_line(stdout, res);
    json_decref(res);
    fprintf(stderr,
            "peermesh bench signal: %ld connections held, %.0f relayed messages/s, p50 %.2f ms, "
            "p99 %.2f ms\n",
            held, mps, pct(b->lat, b->nlat, 50), pct(b->lat, b->nlat, 99));
    return held == b->clients ? PM_OK : PM_ERR_CLOSED;
}

static const char USAGE[] =
    "usage: peermesh bench signal [--clients N] [--lobby-size K] [--rate R] [--seconds S]\n"
    "                             [--size B] [--connect-window W] [--server URL] [--bind IP]\n"
    "                             [--servers URL,URL,...] [--watch-pids PID,PID,...]\n"
    "                             [--server-cpu N] [--ping-interval S]\n"
    "\n"
    "  --clients N         concurrent WebSocket clients (default 1000)\n"
    "  --lobby-size K      clients per lobby, 2..64 (default 8)\n"
    "  --rate R            relayed messages per second, all clients together (default 20000)\n"
    "  --seconds S         relay phase (default 10; the first 0.5 s is not measured)\n"
    "  --size B            bytes per relayed message (default 256)\n"
    "  --connect-window W  handshakes in flight at once (default 256)\n"
    "  --server URL        load this server (its rate limit must allow the load) instead of\n"
    "                      an embedded one in a child process\n"
    "  --servers URLS      several servers (nodes of one cluster), clients round-robin over\n"
    "                      them: a lobby's members on different nodes; their limits (rate,\n"
    "                      join-rate, max-handshakes-per-address, max-peers) must allow the load\n"
    "  --watch-pids PIDS   report these processes' CPU time (nodes, redis-server): watched_cpu\n"
    "                      and server_us_per_message\n"
    "  --server-cpu N      pin the embedded server to CPU N (pin this program with taskset)\n"
    "  --ping-interval S   the embedded server's WebSocket pings (default 10, 0 = none)\n"
    "  --bind IP           address of the embedded server (default 127.0.0.1)\n";

static bool parse_urls(bench *b, const char *list)
{
    b->nurls = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (b->nurls == MAX_SERVERS || n == 0 || n >= sizeof b->urls[0])
            return false;
        memcpy(b->urls[b->nurls], p, n);
        b->urls[b->nurls][n] = 0;
        if (!pm_cli_is_ws_url(b->urls[b->nurls]))
            return false;
        b->nurls++;
        p += n + (p[n] == ',');
    }
    return b->nurls > 0;
}

static bool parse_pids(bench *b, const char *list)
{
    b->nwatched = 0;
    for (const char *p = list; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || b->nwatched == MAX_WATCHED || (*end && *end != ','))
            return false;
        b->watched[b->nwatched++] = (pid_t)v;
        p = *end ? end + 1 : end;
    }
    return b->nwatched > 0;
}

static const pm_cli_expect EXPECTS[] = {
    {'n', "a number of clients 2..1000000"},
    {'k', "a lobby size 2..64"},
    {'r', "messages per second 1..10000000"},
    {'s', "seconds, 1..3600"},
    {'b', "a message size in bytes 64..60000"},
    {'w', "a number of handshakes 1..100000"},
    {'u', "a ws:// or wss:// URL"},
    {'i', PM_CLI_EXPECT_IP},
    {'U', "ws:// or wss:// URLs separated by commas (at most 8)"},
    {'P', "process ids separated by commas"},
    {'C', "a CPU number 0..1023"},
    {'I', "seconds, 0..3600"},
    {0, NULL},
};

static const pm_cli_command CMD = {.name = "bench signal", .usage = USAGE, .expects = EXPECTS};

static int take_option(void *ud, int code, const char *arg)
{
    bench *b = ud;
    long v;
    bool ok = true;
    switch (code) {
    case 'n':
        ok = pm_cli_parse_long(arg, 2, 1000000, &b->clients);
        break;
    case 'k':
        ok = pm_cli_parse_long(arg, 2, MAX_LOBBY_SIZE, &b->lobby_size);
        break;
    case 'r':
        ok = pm_cli_parse_long(arg, 1, 10000000, &v);
        b->rate = (double)v;
        break;
    case 's':
        ok = pm_cli_parse_seconds(arg, 1, 3600, &b->seconds);
        break;
    case 'b':
        ok = pm_cli_parse_long(arg, 64, 60000, &b->size);
        break;
    case 'w':
        ok = pm_cli_parse_long(arg, 1, 100000, &b->connect_window);
        break;
    case 'u':
        b->server_url = arg;
        ok = pm_cli_is_ws_url(arg);
        break;
    case 'i':
        b->bind = arg;
        ok = pm_cli_is_numeric_ip(arg);
        break;
    case 'U':
        ok = parse_urls(b, arg);
        break;
    case 'P':
        ok = parse_pids(b, arg);
        break;
    case 'C':
        ok = pm_cli_parse_long(arg, 0, 1023, &b->server_cpu);
        break;
    case 'I':
        ok = pm_cli_parse_seconds(arg, 0, 3600, &b->ping_interval);
        break;
    default:
        break;
    }
    return ok ? -1 : PM_CLI_OPTION_BAD;
}

static int parse(bench *b, int argc, char **argv)
{
    static const struct option longs[] = {{"clients", required_argument, NULL, 'n'},
                                          {"lobby-size", required_argument, NULL, 'k'},
                                          {"rate", required_argument, NULL, 'r'},
                                          {"seconds", required_argument, NULL, 's'},
                                          {"size", required_argument, NULL, 'b'},
                                          {"connect-window", required_argument, NULL, 'w'},
                                          {"server", required_argument, NULL, 'u'},
                                          {"bind", required_argument, NULL, 'i'},
                                          {"servers", required_argument, NULL, 'U'},
                                          {"watch-pids", required_argument, NULL, 'P'},
                                          {"server-cpu", required_argument, NULL, 'C'},
                                          {"ping-interval", required_argument, NULL, 'I'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    b->clients = 1000;
    b->lobby_size = 8;
    b->rate = 20000;
    b->seconds = 10;
    b->size = 256;
    b->connect_window = 256;
    b->bind = PM_CLI_DEFAULT_BIND;
    b->server_cpu = -1;
    b->ping_interval = 10;
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, b);
    if (status >= 0)
        return status;
    return optind < argc ? pm_cli_unexpected(&CMD, argv[optind]) : -1;
}

int pm_cli_bench_signal(int argc, char **argv)
{
    bench *b = calloc(1, sizeof *b);
    if (!b)
        return PM_CLI_EXIT_FAIL;
    int status = parse(b, argc, argv);
    if (status >= 0) {
        free(b);
        return status;
    }
    pm_env e = {.log_level = PM_LOG_ERROR, .log_level_set = true};
    pm_env_resolve(&b->env, &e);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    long lobbies = (b->clients + b->lobby_size - 1) / b->lobby_size;
    b->c = calloc((size_t)b->clients, sizeof *b->c);
    b->lobby_names = calloc((size_t)lobbies, sizeof *b->lobby_names);
    int rc = b->c && b->lobby_names ? PM_OK : PM_ERR_NOMEM;
    for (long i = 0; rc == PM_OK && i < b->clients; i++)
        b->c[i].lobby = (int)(i / b->lobby_size);
    if (rc == PM_OK && b->nurls) {
        snprintf(b->url, sizeof b->url, "%d server(s)", b->nurls);
    } else if (rc == PM_OK && b->server_url) {
        snprintf(b->url, sizeof b->url, "%s", b->server_url);
        snprintf(b->urls[0], sizeof b->urls[0], "%s", b->server_url);
        b->nurls = 1;
    } else if (rc == PM_OK) {
        rc = start_server(b);
    }
    if (rc == PM_OK) {
        fprintf(stderr,
                "peermesh bench signal: %ld clients in lobbies of %ld, %.0f messages/s "
                "for %.0f s, server %s%s\n",
                b->clients, b->lobby_size, b->rate, b->seconds, b->url,
                b->server_pid ? " (embedded, child process)" : "");
        rc = run(b);
    }
    if (rc != PM_OK)
        fprintf(stderr, "peermesh bench signal: failed: %s\n", pm_strerror(rc));
    pm_ws_free(b->ws);
    if (b->server_pid) {
        kill(b->server_pid, SIGTERM);
        waitpid(b->server_pid, NULL, 0);
    }
    for (long i = 0; b->lobby_names && i < lobbies; i++)
        free(b->lobby_names[i]);
    free(b->lobby_names);
    free(b->c);
    pm_map_free(&b->env, &b->by_conn);
    free(b->lat);
    pm_buf_free(&b->env, &b->scratch);
    pm_buf_free(&b->env, &b->msg);
    free(b);
    return rc == PM_OK ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
