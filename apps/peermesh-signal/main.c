/*
 * peermesh-signal — the WebSocket signaling server (docs/signaling.md).
 *
 * Runs one pm_signal_server until SIGTERM or SIGINT, then closes every
 * connection with 1001 and waits up to shutdown-grace seconds for the
 * closes to complete. Logs go to stderr (the journal, under systemd).
 */
#include "options.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;
static pm_signal_server *running;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (running)
        pm_signal_server_wake(running);
}

/* Every connection is a file descriptor: take all the kernel allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int make_token(const sig_options *o)
{
    if (!o->server.token_secret) {
        fprintf(stderr, "peermesh-signal: --make-token needs --token-secret (the secret the "
                        "server checks tokens with)\n");
        return 64;
    }
    char token[160];
    int64_t expiry = (int64_t)time(NULL) + (int64_t)o->token_ttl;
    int rc = pm_signal_token_make(o->server.token_secret, o->make_token_user, expiry, token,
                                  sizeof token);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh-signal: cannot make a token for \"%s\": %s\n", o->make_token_user,
                pm_strerror(rc));
        return 64;
    }
    printf("%s\n", token);
    return 0;
}

static int serve(sig_options *o)
{
    raise_fd_limit();
    pm_signal_server *srv = NULL;
    int rc = pm_signal_server_new(&o->server, &srv);
    if (rc != PM_OK) {
        fprintf(stderr, "peermesh-signal: cannot listen on %s port %u: %s%s\n",
                o->server.bind_address ? o->server.bind_address : "every interface",
                (unsigned)o->server.port, pm_strerror(rc),
                rc == PM_ERR_IO       ? " (port in use, or below 1024 without the right?)"
                : rc == PM_ERR_CRYPTO ? " (unreadable or unusable --cert/--key?)"
                                      : "");
        return 1;
    }
    if (o->check_only) {
        printf("peermesh-signal: configuration OK (port %u)\n",
               (unsigned)pm_signal_server_port(srv));
        pm_signal_server_free(srv);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    running = srv;
    fprintf(stderr, "peermesh-signal %s: listening on %s port %u (%s)\n", PM_VERSION_STRING,
            o->server.bind_address ? o->server.bind_address : "*",
            (unsigned)pm_signal_server_port(srv), o->server.cert_file ? "wss" : "ws");
    if (o->server.web_root) {
        const char *host = o->server.bind_address ? o->server.bind_address : "localhost";
        bool v6 = strchr(host, ':') != NULL;
        fprintf(stderr, "peermesh-signal: serving %s at %s://%s%s%s:%u/\n", o->server.web_root,
                o->server.cert_file ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
                (unsigned)pm_signal_server_port(srv));
    }
    pm_time grace_end = PM_TIME_NEVER;
    for (;;) {
        rc = pm_signal_server_poll(srv, stop_requested ? 50 : -1);
        if (stop_requested && grace_end == PM_TIME_NEVER) {
            fprintf(stderr, "peermesh-signal: shutting down\n");
            pm_signal_server_shutdown(srv);
            grace_end = pm_now() + (pm_time)(o->shutdown_grace * 1e6);
        }
        if (rc == PM_ERR_CLOSED || (grace_end != PM_TIME_NEVER && pm_now() >= grace_end))
            break;
        if (rc != PM_OK && rc != PM_ERR_CLOSED) {
            fprintf(stderr, "peermesh-signal: service failed: %s\n", pm_strerror(rc));
            break;
        }
    }
    running = NULL;
    pm_signal_server_free(srv);
    fprintf(stderr, "peermesh-signal: stopped\n");
    return rc == PM_OK || rc == PM_ERR_CLOSED ? 0 : 1;
}

int main(int argc, char **argv)
{
    sig_options o;
    int rc = sig_options_parse(&o, argc, argv);
    if (rc == 0 && o.help) {
        sig_options_usage(stdout);
    } else if (rc == 0 && o.version) {
        printf("peermesh-signal %s\n", PM_VERSION_STRING);
    } else if (rc == 0 && o.make_token_user) {
        rc = make_token(&o);
    } else if (rc == 0) {
        rc = serve(&o);
    } else {
        fputs("peermesh-signal: see --help\n", stderr);
    }
    sig_options_free(&o);
    return rc;
}
