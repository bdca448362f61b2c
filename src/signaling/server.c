/*
 * pm_signal_server: the protocol core (sig_core.c) on the WebSocket
 * transport (src/io/ws.c), and in a cluster on a Redis link (src/io/redis.c)
 * waiting on the same loop. Every transport event is handed to the core
 * with the current time, then the core's outputs are carried out at once;
 * the core's next deadline bounds how long pm_signal_server_poll() sleeps.
 */
#include "io/redis.h"
#include "io/static_files.h"
#include "io/ws.h"
#include "peermesh/signaling.h"
#include "signaling/metrics.h"
#include "signaling/sig_core.h"
#include "base/map.h"

struct pm_signal_server {
    pm_envr env;
    pm_ws *ws;
    pm_redis *redis; /* NULL on one node */
    pm_sigsrv *core;
    /* Commands the link refused while draining, answered after the drain. */
    uint64_t failed[64];
    size_t nfailed;
    pm_map conns; /* transport id -> core id */
    bool http_endpoints;
    char *web_root; /* canonical folder of --web-root, or NULL */
    bool shutting_down;
    int64_t start_unix;
    pm_buf page;
};

static pm_time now_of(const pm_signal_server *srv)
{
    return pm_env_now(&srv->env);
}

/* Carry out what the core decided. */
static void drain(pm_signal_server *srv)
{
    pm_sigsrv_output o;
    for (;;) {
        if (!pm_sigsrv_poll_output(srv->core, &o)) {
            if (!srv->nfailed)
                return;
            /* Commands the link could not take (it just went down): the
             * core hears of them as failed, which may queue more output. */
            size_t n = srv->nfailed;
            srv->nfailed = 0;
            for (size_t i = 0; i < n; i++)
                pm_sigsrv_cluster_reply(srv->core, now_of(srv), srv->failed[i], NULL);
            continue;
        }
        int rc = PM_OK;
        switch (o.kind) {
        case PM_SIGSRV_OUT_SEND:
            rc = pm_ws_send(srv->ws, o.tid, o.data, o.len, false);
            break;
        case PM_SIGSRV_OUT_PING:
            rc = pm_ws_ping(srv->ws, o.tid);
            break;
        case PM_SIGSRV_OUT_CLOSE:
            rc = pm_ws_close(srv->ws, o.tid, o.code, (const char *)o.data, o.len);
            break;
        case PM_SIGSRV_OUT_REDIS:
            rc = pm_redis_command(srv->redis, o.tid, o.argc, o.argv, o.argv_len);
            if (rc != PM_OK && o.tid && srv->nfailed < PM_ARRAY_LEN(srv->failed))
                srv->failed[srv->nfailed++] = o.tid;
            break;
        }
        if (rc != PM_OK && rc != PM_ERR_NOT_FOUND)
            PM_DEBUG(&srv->env, "signal", "output %d to %llx: %s", (int)o.kind,
                     (unsigned long long)o.tid, pm_strerror(rc));
    }
}

static uint64_t core_id(const pm_signal_server *srv, uint64_t tid)
{
    uintptr_t v = 0;
    return pm_map_get(&srv->conns, tid, &v) ? (uint64_t)v : 0;
}

static void on_open(void *ud, uint64_t tid, const pm_addr *remote, const char *token)
{
    pm_signal_server *srv = ud;
    uint64_t id = pm_sigsrv_open(srv->core, now_of(srv), remote, token, tid);
    if (!id || pm_map_put(&srv->env, &srv->conns, tid, (uintptr_t)id) != PM_OK) {
        if (id)
            pm_sigsrv_gone(srv->core, now_of(srv), id);
        (void)pm_ws_drop(srv->ws, tid);
        return;
    }
    if (PM_LOG_ON(&srv->env, PM_LOG_DEBUG) && remote) {
        char a[PM_ADDR_STRLEN];
        PM_DEBUG(&srv->env, "signal", "connection %llx from %s", (unsigned long long)id,
                 pm_addr_format(remote, a, sizeof a));
    }
    drain(srv);
}

static void on_message(void *ud, uint64_t tid, const uint8_t *data, size_t len, bool binary)
{
    pm_signal_server *srv = ud;
    uint64_t id = core_id(srv, tid);
    if (!id)
        return;
    pm_sigsrv_receive(srv->core, now_of(srv), id, data, len, binary);
    drain(srv);
}

static void on_pong(void *ud, uint64_t tid)
{
    pm_signal_server *srv = ud;
    uint64_t id = core_id(srv, tid);
    if (id)
        pm_sigsrv_pong(srv->core, now_of(srv), id);
}

static void on_closed(void *ud, uint64_t tid, int code, const char *reason, bool local)
{
    pm_signal_server *srv = ud;
    uint64_t id = core_id(srv, tid);
    if (!id)
        return;
    (void)pm_map_del(&srv->conns, tid);
    pm_time now = now_of(srv);
    if (local && code == PM_SIGNAL_CLOSE_TOO_BIG)
        pm_sigsrv_closed_by_transport(srv->core, now, id, code);
    PM_DEBUG(&srv->env, "signal", "connection %llx gone: %d %s", (unsigned long long)id, code,
             reason);
    pm_sigsrv_gone(srv->core, now, id);
    drain(srv);
}

static void on_redis_reply(void *ud, uint64_t cookie, const pm_redis_reply *reply)
{
    pm_signal_server *srv = ud;
    pm_sigsrv_cluster_reply(srv->core, now_of(srv), cookie, reply);
    drain(srv);
}

static void on_redis_message(void *ud, const uint8_t *data, size_t len)
{
    pm_signal_server *srv = ud;
    pm_sigsrv_cluster_message(srv->core, now_of(srv), data, len);
    drain(srv);
}

static void on_redis_state(void *ud, bool up)
{
    pm_signal_server *srv = ud;
    pm_sigsrv_cluster_state(srv->core, now_of(srv), up);
    drain(srv);
}

static int start_redis(pm_signal_server *srv, const pm_signal_server_config *cfg)
{
    void *loop = pm_ws_ev_loop(srv->ws);
    if (!loop) {
        PM_ERROR(&srv->env, "signal", "--redis needs libwebsockets' libev support");
        return PM_ERR_UNSUPPORTED;
    }
    pm_redis_config rc = {.env = cfg->env,
                          .url = cfg->redis_url,
                          .channel = pm_sigsrv_cluster_channel(srv->core),
                          .command_timeout = PM_SEC(2)};
    pm_redis_handler h = {.ud = srv,
                          .on_reply = on_redis_reply,
                          .on_message = on_redis_message,
                          .on_state = on_redis_state};
    return pm_redis_new(loop, &rc, &h, &srv->redis);
}

static int on_http(void *ud, const char *path, pm_buf *body, const char **content_type)
{
    pm_signal_server *srv = ud;
    if (!srv->http_endpoints)
        return srv->web_root ? pm_static_serve(&srv->env, srv->web_root, path, body, content_type)
                             : 404;
    if (strcmp(path, "/healthz") == 0) {
        /* A node cut off from its cluster refuses joins: not healthy. */
        bool lost = srv->redis && !pm_redis_up(srv->redis);
        const char *text = srv->shutting_down ? "shutting down\n" : lost ? "redis down\n" : "ok\n";
        (void)pm_buf_append(&srv->env, body, text, strlen(text));
        return srv->shutting_down || lost ? 503 : 200;
    }
    if (strcmp(path, "/metrics") == 0) {
        pm_signal_server_stats st;
        pm_sigsrv_get_stats(srv->core, &st);
        if (pm_sig_metrics_format(&srv->env, &st, srv->start_unix, body) != PM_OK)
            return 500;
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        return 200;
    }
    return srv->web_root ? pm_static_serve(&srv->env, srv->web_root, path, body, content_type)
                         : 404;
}

int pm_signal_server_new(const pm_signal_server_config *cfg, pm_signal_server **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_signal_server_config defaults;
    if (!cfg) {
        pm_signal_server_config_default(&defaults);
        cfg = &defaults;
    }
    if (!cfg->cert_file != !cfg->key_file)
        return PM_ERR_INVALID;
    if (cfg->redis_url && pm_redis_url_check(cfg->redis_url) != PM_OK)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_signal_server *srv = pm_calloc(&env, sizeof *srv);
    if (!srv)
        return PM_ERR_NOMEM;
    srv->env = env;
    srv->http_endpoints = cfg->http_endpoints;
    pm_time now = pm_env_now(&env);
    int64_t unix_us = pm_io_unix_time_us();
    srv->start_unix = unix_us / 1000000;
    int rc = cfg->web_root ? pm_static_root(&env, cfg->web_root, &srv->web_root) : PM_OK;
    if (rc == PM_ERR_NOT_FOUND) {
        PM_ERROR(&env, "signal", "web root %s is not a folder", cfg->web_root);
        rc = PM_ERR_INVALID;
    }
    if (rc == PM_OK)
        rc = pm_sigsrv_new(&env, cfg, now, unix_us - now, &srv->core);
    if (rc == PM_OK) {
        pm_ws_config wc = {
            .env = cfg->env,
            .listen = true,
            .bind_address = cfg->bind_address,
            .port = cfg->port,
            .cert_file = cfg->cert_file,
            .key_file = cfg->key_file,
            .max_message = cfg->max_message_size,
            .max_handshakes_per_address = cfg->max_handshakes_per_address,
            .handshake_timeout = cfg->handshake_timeout,
        };
        pm_ws_handler h = {.ud = srv,
                           .on_open = on_open,
                           .on_message = on_message,
                           .on_pong = on_pong,
                           .on_closed = on_closed,
                           .on_http = on_http};
        rc = pm_ws_new(&wc, &h, &srv->ws);
    }
    if (rc == PM_OK && cfg->redis_url)
        rc = start_redis(srv, cfg);
    if (rc != PM_OK) {
        pm_signal_server_free(srv);
        return rc;
    }
    PM_DEBUG(&env, "signal", "listening on %s port %u (%s)",
             cfg->bind_address ? cfg->bind_address : "*", (unsigned)pm_ws_port(srv->ws),
             cfg->cert_file ? "wss" : "ws");
    *out = srv;
    return PM_OK;
}

void pm_signal_server_free(pm_signal_server *srv)
{
    if (!srv)
        return;
    pm_redis_free(srv->redis); /* on the transport's loop: first */
    pm_ws_free(srv->ws);
    pm_sigsrv_free(srv->core);
    pm_map_free(&srv->env, &srv->conns);
    pm_buf_free(&srv->env, &srv->page);
    pm_free(&srv->env, srv->web_root);
    pm_envr env = srv->env;
    pm_free(&env, srv);
}

uint16_t pm_signal_server_port(const pm_signal_server *srv)
{
    return srv ? pm_ws_port(srv->ws) : 0;
}

static pm_time next_deadline(const pm_signal_server *srv)
{
    return PM_MIN(pm_sigsrv_next_deadline(srv->core), pm_redis_next_deadline(srv->redis));
}

static void run_timers(pm_signal_server *srv)
{
    pm_time now = now_of(srv);
    if (srv->redis && pm_redis_next_deadline(srv->redis) <= now)
        pm_redis_tick(srv->redis, now); /* may report the link's state: drained below */
    if (pm_sigsrv_next_deadline(srv->core) <= now || srv->nfailed) {
        pm_sigsrv_timeout(srv->core, now);
        drain(srv);
    }
}

int pm_signal_server_poll(pm_signal_server *srv, int timeout_ms)
{
    if (!srv)
        return PM_ERR_INVALID;
    run_timers(srv);
    int wait = timeout_ms;
    pm_time deadline = next_deadline(srv);
    if (wait != 0 && deadline != PM_TIME_NEVER) {
        pm_time left = deadline - now_of(srv);
        int64_t ms = left <= 0 ? 0 : (left + 999) / 1000;
        if (wait < 0 || ms < wait)
            wait = ms > INT32_MAX ? INT32_MAX : (int)ms;
    }
    int rc = pm_ws_service(srv->ws, wait);
    run_timers(srv);
    if (rc != PM_OK)
        return rc;
    if (srv->shutting_down && pm_ws_count(srv->ws) == 0)
        return PM_ERR_CLOSED;
    return PM_OK;
}

void pm_signal_server_wake(pm_signal_server *srv)
{
    if (srv)
        pm_ws_wake(srv->ws);
}

void pm_signal_server_shutdown(pm_signal_server *srv)
{
    if (!srv || srv->shutting_down)
        return;
    srv->shutting_down = true;
    pm_ws_stop_listening(srv->ws);
    pm_sigsrv_shutdown(srv->core, now_of(srv));
    drain(srv);
}

void pm_signal_server_get_stats(const pm_signal_server *srv, pm_signal_server_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (srv)
        pm_sigsrv_get_stats(srv->core, out);
}
