/*
 * pm_signal_client: the signaling client core (sig_client.c) on the
 * WebSocket transport (src/io/ws.c). Every transport event is handed to the
 * core with the current time, then the core's outputs are carried out at
 * once; the core makes socket-mode peers (its default peer factory).
 */
#include "io/io.h"
#include "io/ws.h"
#include "peermesh/signaling.h"
#include "signaling/sig_client.h"

#include <stdlib.h>

#define DEFAULT_CONNECT_TIMEOUT PM_SEC(10)

/*
 * One wait set holds everything the client drives (pm_signal_client_fd):
 * libwebsockets' sockets, mirrored by ws.c with the events lws waits for
 * (its automatic pongs make a socket wait for output), and the mesh's own
 * wait set once the mesh exists. The deadline adds lws's timers
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
};

void pm_signal_client_config_default(pm_signal_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mesh = true;
    cfg->protocol = PM_SIGNAL_PROTOCOL_JSON;
    cfg->offer_rule = PM_SIGNAL_OFFER_AUTO;
    cfg->server_compatibility = true;
    cfg->unreliable_lifetime = PM_MESH_LIFETIME_DEFAULT;
    pm_rtc_config_default(&cfg->rtc);
    pm_mesh_config_default(&cfg->mesh_config);
    cfg->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
}

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
    if (!mesh || mesh == c->watched_mesh)
        return;
    int fd = pm_mesh_fd(mesh);
    int rc = fd >= 0 ? pm_io_waitset_watch(c->waitset, fd, false) : fd;
    if (rc != PM_OK)
        PM_ERROR(&c->env, "signal", "cannot watch the mesh's sockets: %s", pm_strerror(rc));
    c->watched_mesh = mesh;
}

/* ---- API ---- */

/*
 * The URL, checked before anything connects, so a typo is an error that
 * says what is wrong rather than a connection that fails later: ws:// or
 * wss://, a host (a name, an IPv4 address or [IPv6]), an optional port of
 * 1..65535, then an optional /path or ?query; no spaces, no user@.
 */
static bool url_valid(const pm_envr *env, const char *url)
{
    const char *why = NULL;
    const char *p = url;
    if (!url) {
        PM_ERROR(env, "signal", "no signaling URL: set url to ws://HOST:PORT");
        return false;
    }
    if (strncmp(p, "ws://", 5) == 0)
        p += 5;
    else if (strncmp(p, "wss://", 6) == 0)
        p += 6;
    else
        why = "it must start with ws:// or wss://";
    size_t host = 0;
    if (!why && *p == '[') {
        host = strcspn(p, "]");
        why = p[host] != ']' || host < 3 ? "an IPv6 address needs [brackets]" : NULL;
        host++;
    } else if (!why) {
        host = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
        why = host == 0 ? "it has no host name or address" : NULL;
    }
    p += host;
    if (!why && *p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        why = end == p + 1 || port < 1 || port > 65535 ? "the port must be a number in 1..65535"
                                                       : NULL;
        p = end;
    }
    if (!why && *p && *p != '/' && *p != '?')
        why = *p == '@' ? "user@ is not supported" : "unexpected characters after the host";
    for (const char *q = p; !why && *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            why = "it contains spaces or control characters";
    if (why)
        PM_ERROR(env, "signal", "bad signaling URL \"%s\": %s", url, why);
    return why == NULL;
}

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
    c->waitset = pm_io_waitset_new();
    int rc = url_valid(&env, cfg->url) ? pm_sigcl_new(&env, cfg, NULL, pm_env_now(&env), &c->core)
                                       : PM_ERR_INVALID;
    if (c->waitset < 0 && rc == PM_OK)
        rc = c->waitset;
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
    pm_mesh *mesh = pm_sigcl_mesh(c->core);
    bool mesh_alive =
        mesh && pm_mp_get_connection_status(pm_mesh_multiplayer(mesh)) != PM_MP_DISCONNECTED;
    return pm_sigcl_state(c->core) == PM_SIGNAL_CLOSED && !mesh_alive ? PM_ERR_CLOSED : PM_OK;
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

pm_signal_state pm_signal_client_state(const pm_signal_client *c)
{
    return c ? pm_sigcl_state(c->core) : PM_SIGNAL_CLOSED;
}

int32_t pm_signal_client_id(const pm_signal_client *c)
{
    return c ? pm_sigcl_id(c->core) : 0;
}

const char *pm_signal_client_lobby(const pm_signal_client *c)
{
    return c ? pm_sigcl_lobby(c->core) : "";
}

bool pm_signal_client_is_mesh_lobby(const pm_signal_client *c)
{
    return c && pm_sigcl_is_mesh_lobby(c->core);
}

pm_mesh *pm_signal_client_mesh(pm_signal_client *c)
{
    return c ? pm_sigcl_mesh(c->core) : NULL;
}

pm_multiplayer *pm_signal_client_multiplayer(pm_signal_client *c)
{
    pm_mesh *mesh = pm_signal_client_mesh(c);
    return mesh ? pm_mesh_multiplayer(mesh) : NULL;
}

int pm_signal_client_seal(pm_signal_client *c)
{
    if (!c)
        return PM_ERR_STATE;
    int rc = pm_sigcl_seal(c->core);
    drain(c);
    return rc;
}

void pm_signal_client_close(pm_signal_client *c)
{
    if (!c)
        return;
    pm_sigcl_close(c->core);
    drain(c);
}

bool pm_signal_client_next_event(pm_signal_client *c, pm_signal_event *ev)
{
    return c && ev && pm_sigcl_next_event(c->core, ev);
}
