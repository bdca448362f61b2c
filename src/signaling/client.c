/*
 * pm_signal_client: the signaling client core (sig_client.c) on the
 * WebSocket transport (src/io/ws.c). Every transport event is handed to the
 * core with the current time, then the core's outputs are carried out at
 * once; the core makes socket-mode peers (its default peer factory). The
 * rest of the API is client_api.c.
 */
#include "io/io.h"
#include "io/ws.h"
#include "peermesh/signaling.h"
#include "signaling/client_shell.h"

/*
 * One wait set holds everything the client drives (pm_signal_client_fd):
 * libwebsockets' sockets, mirrored by ws.c with the events lws waits for
 * (its automatic pongs make a socket wait for output), and the mesh's own
 * wait set once the mesh exists (with the ENet transport, the core's set of
 * ENet sockets). The deadline adds lws's timers
 * (pm_ws_next_deadline) to the core's, so a program that sleeps on the
 * descriptor until the deadline misses nothing and is not woken for nothing.
 */

struct pm_signal_client {
    pm_envr env;
    pm_sigcl *core;
    pm_ws *ws;
    uint64_t conn;
    bool conn_live; /* the WebSocket connection is ours to use (not gone, not aborted) */
    char *url, *ca_file;
    int waitset;
    const pm_mesh *watched_mesh; /* whose descriptor is in the wait set */
    int watched_enet;            /* the ENet transport's descriptor in it, or -1 */
};

/* ---- the core's outputs on the WebSocket ---- */

static void drain(pm_signal_client *c)
{
    pm_sigcl_output o;
    while (pm_sigcl_poll_output(c->core, &o)) {
        int rc = PM_OK;
        switch (o.kind) {
        case PM_SIGCL_OUT_SEND:
            rc = pm_ws_send(c->ws, c->conn, o.data, o.len, false);
            break;
        case PM_SIGCL_OUT_CLOSE:
            rc = pm_ws_close(c->ws, c->conn, o.code, (const char *)o.data, o.len);
            break;
        case PM_SIGCL_OUT_ABORT:
            rc = pm_ws_drop(c->ws, c->conn);
            c->conn_live = false;
            break;
        }
        /* A close or drop may find the connection already gone: no matter. */
        if (rc != PM_OK && o.kind == PM_SIGCL_OUT_SEND)
            PM_WARN(&c->env, "signal", "cannot send a signaling message: %s", pm_strerror(rc));
    }
}

static void on_open(void *ud, uint64_t conn, const pm_addr *remote, const char *token)
{
    pm_signal_client *c = ud;
    pm_sigcl_open(c->core, pm_env_now(&c->env));
    drain(c);
}

static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    pm_signal_client *c = ud;
    pm_sigcl_receive(c->core, pm_env_now(&c->env), data, len, binary);
    drain(c);
}

static void on_failed(void *ud, uint64_t conn, int err, const char *why)
{
    pm_signal_client *c = ud;
    pm_sigcl_failed(c->core, err, why);
}

static void on_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    pm_signal_client *c = ud;
    c->conn_live = false;
    pm_sigcl_closed(c->core, pm_env_now(&c->env), code, reason);
    drain(c);
}

/* The mesh comes with our id, inside a core call: its sockets join ours. */
static void watch_mesh(pm_signal_client *c)
{
    const pm_mesh *mesh = pm_sigcl_mesh(c->core);
    int enet_fd = pm_sigcl_enet_fd(c->core);
    if (enet_fd >= 0 && enet_fd != c->watched_enet) { /* the ENet transport's sockets */
        if (pm_io_waitset_watch(c->waitset, enet_fd, false) != PM_OK)
            PM_ERROR(&c->env, "signal", "cannot watch the ENet sockets");
        c->watched_enet = enet_fd;
    }
    if (!mesh || mesh == c->watched_mesh)
        return;
    int fd = pm_mesh_fd(mesh);
    int rc = fd >= 0 ? pm_io_waitset_watch(c->waitset, fd, false) : fd;
    if (rc != PM_OK)
        PM_ERROR(&c->env, "signal", "cannot watch the mesh's sockets: %s", pm_strerror(rc));
    c->watched_mesh = mesh;
}

/* ---- client_shell.h ---- */

pm_sigcl *pm_signal_client_core(const pm_signal_client *c)
{
    return c->core;
}

void pm_signal_client_flush(pm_signal_client *c)
{
    drain(c);
}

/* ---- API ---- */

static int start(pm_signal_client *c, const pm_signal_client_config *cfg)
{
    c->url = pm_strdup(&c->env, cfg->url);
    c->ca_file = cfg->ca_file ? pm_strdup(&c->env, cfg->ca_file) : NULL;
    if (!c->url || (cfg->ca_file && !c->ca_file))
        return PM_ERR_NOMEM;
    pm_ws_config wc = {.env = cfg->env,
                       .client_tls = strncmp(cfg->url, "wss://", 6) == 0,
                       .ca_file = c->ca_file,
                       .allow_self_signed = cfg->allow_self_signed,
                       .max_message = 1u << 20,
                       .watch = true,
                       .waitset = c->waitset};
    pm_ws_handler h = {.ud = c,
                       .on_open = on_open,
                       .on_message = on_message,
                       .on_failed = on_failed,
                       .on_closed = on_closed};
    int rc = pm_ws_new(&wc, &h, &c->ws);
    if (rc == PM_OK)
        rc = pm_ws_connect(c->ws, c->url, &c->conn);
    if (rc == PM_OK)
        c->conn_live = true;
    return rc;
}

int pm_signal_client_new(const pm_signal_client_config *cfg, pm_signal_client **out)
{
    if (!cfg || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_signal_client *c = pm_calloc(&env, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    c->env = env;
    c->watched_enet = -1;
    c->waitset = pm_io_waitset_new();
    int rc = c->waitset < 0 ? c->waitset : pm_signal_client_new_core(&env, cfg, &c->core);
    if (rc == PM_OK)
        rc = start(c, cfg);
    if (rc != PM_OK) {
        pm_signal_client_free(c);
        return rc;
    }
    *out = c;
    return PM_OK;
}

void pm_signal_client_free(pm_signal_client *c)
{
    if (!c)
        return;
    pm_ws_free(c->ws);
    pm_sigcl_free(c->core);
    pm_io_waitset_close(c->waitset);
    pm_free(&c->env, c->url);
    pm_free(&c->env, c->ca_file);
    pm_envr env = c->env;
    pm_free(&env, c);
}

int pm_signal_client_poll(pm_signal_client *c)
{
    if (!c)
        return PM_ERR_INVALID;
    if (c->ws && pm_ws_count(c->ws))
        (void)pm_ws_service(c->ws, 0);
    pm_sigcl_timeout(c->core, pm_env_now(&c->env));
    drain(c);
    watch_mesh(c);
    return pm_signal_client_status(c);
}

pm_time pm_signal_client_next_timeout(const pm_signal_client *c)
{
    if (!c)
        return PM_TIME_NEVER;
    pm_time t = pm_sigcl_next_deadline(c->core);
    if (c->ws && pm_ws_count(c->ws))
        t = PM_MIN(t, pm_ws_next_deadline(c->ws));
    return t;
}

int pm_signal_client_fd(const pm_signal_client *c)
{
    return c ? c->waitset : PM_ERR_INVALID;
}
