/*
 * `peermesh bench relay` — what a TURN relay costs: two socket-mode peers
 * in one process, connected directly over loopback and then relay-only
 * through a loopback coturn (`turnserver`, started here with its own
 * temporary configuration and self-signed certificate, stopped at the end)
 * over UDP, TCP and TLS. For each path one JSON line: connection setup
 * (offer created -> channel open; with TURN that includes the two Allocate
 * round trips, permissions and the checks through the relay), goodput of
 * 65535-byte messages on one reliable channel, and the round trip of
 * 100-byte messages; plus the selected pair's candidate types.
 *
 * Loopback numbers: the relay's cost in CPU and copies, not a network's.
 */
#include "bench_measure.h"
#include "bench_stats.h"
#include "cli.h"
#include "json_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char USAGE[] =
    "usage: peermesh bench relay [--seconds S] [--connections N] [--paths LIST]\n"
    "                            [--turnserver PATH]\n"
    "\n"
    "Direct against relay-only through a loopback coturn, started and stopped here.\n"
    "  --seconds S       throughput and latency: measuring time per path (default 3)\n"
    "  --connections N   setup: connections made per path, after one warm-up (default 10)\n"
    "  --paths LIST      of direct,udp,tcp,tls (default all four)\n"
    "  --turnserver P    coturn's turnserver binary (default: turnserver in PATH)\n";

static const pm_cli_command CMD = {.name = "bench relay", .usage = USAGE};

#define TURN_USER  "bench"
#define TURN_PASS  "bench-pass"
#define TURN_REALM "bench.test"
#define MAX_CONN   100

typedef struct relay_opts {
    double seconds;
    long connections;
    const char *paths;
    const char *turnserver;
} relay_opts;

typedef struct coturn {
    char dir[64];
    pid_t pid;
    uint16_t port, tls_port;
    bool tls; /* a certificate could be made */
} coturn;

/* ---- the loopback coturn ---- */

/* 0 when `name` (a path, or a program in PATH) can be executed. */
static int access_in_path(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK);
    const char *path = getenv("PATH");
    char buf[512];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
        if (access(buf, X_OK) == 0)
            return 0;
        p += n + (e ? 1 : 0);
    }
    return -1;
}

/* A port that was free a moment ago, on UDP and TCP both. */
static uint16_t free_port(void)
{
    for (int tries = 0; tries < 20; tries++) {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (u < 0)
            return 0;
        if (bind(u, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(u, (struct sockaddr *)&a, &len) != 0) {
            close(u);
            return 0;
        }
        int t = socket(AF_INET, SOCK_STREAM, 0);
        bool ok = t >= 0 && bind(t, (struct sockaddr *)&a, sizeof a) == 0;
        if (t >= 0)
            close(t);
        close(u);
        if (ok)
            return ntohs(a.sin_port);
    }
    return 0;
}

/* Run a program quietly and wait for it. True when it exited with 0. */
static bool run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return false;
    int st = 0;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void path_in(const coturn *t, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", t->dir, name);
}

/* Does a STUN Binding request to the server get an answer within `ms`? */
static bool answers_stun(uint16_t port, int ms)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 'p', 'e',
                       'e',  'r',  'm',  'e',  's',  'h',  'b',  'e',  'n', 'c'};
    bool ok = false;
    if (sendto(fd, req, sizeof req, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)sizeof req) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint8_t buf[256];
        ok = poll(&p, 1, ms) == 1 && recv(fd, buf, sizeof buf, 0) >= 20 && buf[0] == 0x01;
    }
    close(fd);
    return ok;
}

static void coturn_stop(coturn *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        int st;
        for (int i = 0; i < 50 && waitpid(t->pid, &st, WNOHANG) == 0; i++)
            usleep(100000);
        if (waitpid(t->pid, &st, WNOHANG) == 0) {
            kill(t->pid, SIGKILL);
            waitpid(t->pid, &st, 0);
        }
        t->pid = 0;
    }
    if (t->dir[0]) {
        static const char *const files[] = {"turnserver.conf", "cert.pem", "key.pem",
                                            "turn.log",        "turndb",   "turnserver.pid"};
        char p[128];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            path_in(t, files[i], p, sizeof p);
            unlink(p);
        }
        rmdir(t->dir);
        t->dir[0] = 0;
    }
}

static int coturn_start(coturn *t, const char *binary)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/pm-bench-relay.XXXXXX");
    if (!mkdtemp(t->dir)) {
        t->dir[0] = 0;
        return PM_ERR_IO;
    }
    t->port = free_port();
    t->tls_port = free_port();
    if (!t->port || !t->tls_port || t->port == t->tls_port)
        return PM_ERR_IO;
    char conf[128], cert[128], key[128], log[128], db[128], pidf[128];
    path_in(t, "turnserver.conf", conf, sizeof conf);
    path_in(t, "cert.pem", cert, sizeof cert);
    path_in(t, "key.pem", key, sizeof key);
    path_in(t, "turn.log", log, sizeof log);
    path_in(t, "turndb", db, sizeof db);
    path_in(t, "turnserver.pid", pidf, sizeof pidf);
    char *openssl[] = {"openssl",
                       "req",
                       "-x509",
                       "-newkey",
                       "ec",
                       "-pkeyopt",
                       "ec_paramgen_curve:prime256v1",
                       "-nodes",
                       "-days",
                       "2",
                       "-subj",
                       "/CN=127.0.0.1",
                       "-keyout",
                       key,
                       "-out",
                       cert,
                       NULL};
    t->tls = run_quiet(openssl);
    FILE *f = fopen(conf, "w");
    if (!f)
        return PM_ERR_IO;
    fprintf(f,
            "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port=%u\n"
            "tls-listening-port=%u\nallow-loopback-peers\nno-cli\nno-dtls\nno-rfc5780\n"
            "lt-cred-mech\nrealm=" TURN_REALM "\nuser=" TURN_USER ":" TURN_PASS "\n"
            "fingerprint\nuserdb=%s\npidfile=%s\nlog-file=%s\nsimple-log\nno-stdout-log\n",
            (unsigned)t->port, (unsigned)t->tls_port, db, pidf, log);
    if (t->tls)
        fprintf(f, "cert=%s\npkey=%s\n", cert, key);
    else
        fprintf(f, "no-tls\n");
    fclose(f);
    if (access_in_path(binary) != 0) {
        fprintf(stderr,
                "peermesh bench relay: cannot run %s; install coturn "
                "(apt-get install --no-install-recommends coturn)\n",
                binary);
        return PM_ERR_IO;
    }
    char *argv[] = {(char *)binary, "-c", conf, NULL};
    pid_t parent = getpid();
    t->pid = fork();
    if (t->pid < 0) {
        t->pid = 0;
        return PM_ERR_IO;
    }
    if (t->pid == 0) {
        /* The server goes with us, however we end (an interrupted run). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(binary, argv);
        _exit(127);
    }
    for (int i = 0; i < 50; i++) {
        int st;
        if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
            t->pid = 0;
            fprintf(stderr, "peermesh bench relay: turnserver exited at start (see %s)\n", log);
            return PM_ERR_IO;
        }
        if (answers_stun(t->port, 100))
            return PM_OK;
    }
    fprintf(stderr, "peermesh bench relay: turnserver does not answer on 127.0.0.1:%u\n",
            (unsigned)t->port);
    return PM_ERR_TIMEOUT;
}

/* ---- one path ---- */

typedef struct path {
    const char *name;
    const char *url; /* NULL: direct */
} path;

static int measure_path(const path *p, const coturn *t, const relay_opts *o, pm_cli_loop *loop,
                        const uint8_t *message)
{
    char url[96];
    const char *urls[1] = {url};
    pm_ice_server server = {urls, 1, TURN_USER, TURN_PASS};
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    if (p->url) {
        snprintf(url, sizeof url, p->url,
                 (unsigned)(strcmp(p->name, "tls") == 0 ? t->tls_port : t->port));
        cfg.ice_servers = &server;
        cfg.ice_server_count = 1;
        cfg.ice_transport_policy = PM_RTC_ICE_POLICY_RELAY;
        cfg.turn_tls_insecure = true; /* the certificate was made a moment ago */
    }
    size_t n = (size_t)o->connections;
    pm_time setup[MAX_CONN];
    int rc = PM_OK;
    for (size_t i = 0; i <= n && rc == PM_OK; i++) { /* connection 0 warms up */
        pm_cli_link link;
        rc = pm_cli_open_link(&link, loop, &cfg);
        if (rc == PM_OK && i > 0)
            setup[i - 1] = link.open_at - link.offer_at;
        if (rc == PM_OK)
            pm_cli_close_link(&link, loop);
    }
    if (rc != PM_OK)
        return rc;
    pm_cli_link link;
    rc = pm_cli_open_link(&link, loop, &cfg);
    if (rc != PM_OK)
        return rc;
    pm_rtc_candidate_pair cp;
    char types[64] = "?";
    if (pm_rtc_peer_get_selected_pair(link.pair.peer[PM_CLI_OFFERER], &cp) == PM_OK)
        snprintf(types, sizeof types, "%s/%s%s%s", pm_rtc_candidate_type_name(cp.local_type),
                 pm_rtc_candidate_type_name(cp.remote_type), cp.relay_protocol ? " over " : "",
                 cp.relay_protocol ? cp.relay_protocol : "");
    pm_cli_throughput st = {.message = message, .size = THROUGHPUT_MESSAGE};
    pm_time span = (pm_time)(o->seconds * 1e6);
    rc = pm_cli_measure_throughput(&link, loop, &st, span);
    pm_cli_close_link(&link, loop);
    /* Round trips on a link of their own: nothing of the stream is still queued. */
    pm_time *rtt = calloc(LATENCY_SAMPLES, sizeof *rtt);
    size_t nrtt = 0;
    if (rc == PM_OK && !rtt)
        rc = PM_ERR_NOMEM;
    if (rc == PM_OK && (rc = pm_cli_open_link(&link, loop, &cfg)) == PM_OK) {
        rc = pm_cli_measure_latency(&link, loop, o->seconds, rtt, &nrtt);
        pm_cli_close_link(&link, loop);
    }
    if (rc == PM_OK) {
        pm_cli_sort_times(setup, n);
        pm_cli_sort_times(rtt, nrtt);
        double secs = (double)(st.stopped - st.first_rx) / 1e6;
        pm_cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:i}", "bench", "relay", "path", p->name,
            "pair", types, "setup_median_ms", pm_cli_json_rounded(pm_cli_median(setup, n) / 1e3, 2),
            "setup_p99_ms", pm_cli_json_rounded((double)pm_cli_percentile(setup, n, 99) / 1e3, 2),
            "mb_per_s", pm_cli_json_rounded((double)st.bytes / secs / 1e6, 2), "rtt_median_us",
            pm_cli_json_rounded(pm_cli_median(rtt, nrtt), 1), "rtt_p99_us",
            pm_cli_json_rounded((double)pm_cli_percentile(rtt, nrtt, 99), 1), "rtt_samples",
            (json_int_t)nrtt, "connections", (int)n));
    }
    free(rtt);
    return rc;
}

/* ---- command line ---- */

static int take_option(void *ud, int code, const char *arg)
{
    relay_opts *o = ud;
    switch (code) {
    case 's':
        if (!pm_cli_parse_seconds(arg, 0.1, 3600, &o->seconds))
            return pm_cli_usage_error(&CMD, "--seconds wants 0.1..3600, got ", arg);
        break;
    case 'c':
        if (!pm_cli_parse_long(arg, 1, MAX_CONN, &o->connections))
            return pm_cli_usage_error(&CMD, "--connections wants 1..100, got ", arg);
        break;
    case 'p':
        o->paths = arg;
        break;
    case 't':
        o->turnserver = arg;
        break;
    }
    return -1;
}

static bool wanted(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; s && *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && strncmp(s, name, n) == 0)
            return true;
        s = e ? e + 1 : NULL;
    }
    return false;
}

int pm_cli_bench_relay(int argc, char **argv)
{
    relay_opts o = {3.0, 10, "direct,udp,tcp,tls", "turnserver"};
    static const struct option longs[] = {
        {"seconds", required_argument, NULL, 's'}, {"connections", required_argument, NULL, 'c'},
        {"paths", required_argument, NULL, 'p'},   {"turnserver", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, &o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_usage_error(&CMD, "unexpected argument ", argv[optind]);
    static const path paths[] = {
        {"direct", NULL},
        {"udp", "turn:127.0.0.1:%u"},
        {"tcp", "turn:127.0.0.1:%u?transport=tcp"},
        {"tls", "turns:127.0.0.1:%u?transport=tcp"},
    };
    for (const char *s = o.paths; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        bool known = false;
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            known |= strlen(paths[i].name) == len && strncmp(paths[i].name, s, len) == 0;
        if (!known)
            return pm_cli_usage_error(&CMD, "--paths wants direct,udp,tcp,tls, got ", o.paths);
        s = e ? e + 1 : s + len;
    }
    uint8_t *message = malloc(THROUGHPUT_MESSAGE);
    pm_cli_loop loop;
    if (!message || pm_cli_loop_init(&loop, 2) < 0) {
        free(message);
        return PM_CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < THROUGHPUT_MESSAGE; i++)
        message[i] = (uint8_t)i;
    coturn t = {0};
    int rc = PM_OK;
    bool relays = wanted(o.paths, "udp") || wanted(o.paths, "tcp") || wanted(o.paths, "tls");
    if (relays)
        rc = coturn_start(&t, o.turnserver);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0] && rc == PM_OK; i++) {
        if (!wanted(o.paths, paths[i].name))
            continue;
        if (strcmp(paths[i].name, "tls") == 0 && !t.tls) {
            fprintf(stderr,
                    "peermesh bench relay: no certificate (openssl missing): tls skipped\n");
            continue;
        }
        rc = measure_path(&paths[i], &t, &o, &loop, message);
        if (rc != PM_OK)
            fprintf(stderr, "peermesh bench relay: %s: %s\n", paths[i].name, pm_strerror(rc));
    }
    coturn_stop(&t);
    pm_cli_loop_destroy(&loop);
    free(message);
    return rc == PM_OK ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
