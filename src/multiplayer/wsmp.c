/*
 * pm_websocket (peermesh/websocket.h): the WebSocket multiplayer peer's
 * shell. It owns the WebSocket transport (src/io/ws.c, the only code that
 * sees libwebsockets), turns its handler calls into inputs of the sans-I/O
 * core (wsmp_core.c), and carries out the core's sends and closes.
 */
#include "io/ws.h"
#include "multiplayer/wsmp_core.h"

#define DEFAULT_MAX_QUEUED ((size_t)16 << 20)
#define CLOSE_NORMAL       1000

struct pm_websocket {
    pm_envr env;
    char *bind_ip, *cert_file, *key_file, *ca_file;
    bool allow_self_signed;
    size_t max_packet;
    pm_ws *ws;
    pm_wsmp core;
    pm_multiplayer *mp;
};

static const pm_multiplayer_ops ws_ops;

void pm_websocket_config_default(pm_websocket_config *cfg)
{
    if (cfg)
        *cfg = (pm_websocket_config){
            .max_packet = PM_WEBSOCKET_DEFAULT_MAX_PACKET,
            .max_queued = DEFAULT_MAX_QUEUED,
        };
}

static void free_strings(pm_websocket *w)
{
    pm_free(&w->env, w->bind_ip);
    pm_free(&w->env, w->cert_file);
    pm_free(&w->env, w->key_file);
    pm_free(&w->env, w->ca_file);
}

/* Copy an optional string; false only when out of memory. */
static bool copy_opt(const pm_envr *env, const char *s, char **out)
{
    *out = s ? pm_strdup(env, s) : NULL;
    return !s || *out;
}

int pm_websocket_new(const pm_websocket_config *cfg, pm_websocket **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_websocket_config def;
    if (!cfg) {
        pm_websocket_config_default(&def);
        cfg = &def;
    }
    if (!cfg->max_packet || cfg->max_packet > UINT32_MAX - 64 || !cfg->key_file != !cfg->cert_file)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_websocket *w = pm_calloc(&env, sizeof *w);
    if (!w)
        return PM_ERR_NOMEM;
    w->env = env;
    w->allow_self_signed = cfg->allow_self_signed;
    w->max_packet = cfg->max_packet;
    if (!copy_opt(&env, cfg->bind_ip, &w->bind_ip) ||
        !copy_opt(&env, cfg->cert_file, &w->cert_file) ||
        !copy_opt(&env, cfg->key_file, &w->key_file) ||
        !copy_opt(&env, cfg->ca_file, &w->ca_file) ||
        pm_multiplayer_new(&ws_ops, w, &w->mp) != PM_OK) {
        free_strings(w);
        pm_free(&env, w);
        return PM_ERR_NOMEM;
    }
    pm_wsmp_init(&w->core, &env, cfg->max_packet,
                 cfg->max_queued ? cfg->max_queued : DEFAULT_MAX_QUEUED);
    *out = w;
    return PM_OK;
}

static void shutdown_all(pm_websocket *w)
{
    pm_wsmp_stop(&w->core);
    pm_ws_free(w->ws); /* closes every connection at once, without handler calls */
    w->ws = NULL;
    pm_wsmp_action a;
    uint64_t conn;
    const uint8_t *d;
    size_t n;
    while (pm_wsmp_next_output(&w->core, &a, &conn, &d, &n))
        ; /* nothing left to send them through */
}

void pm_websocket_free(pm_websocket *w)
{
    if (!w)
        return;
    shutdown_all(w);
    pm_wsmp_free(&w->core);
    pm_multiplayer_free(w->mp);
    free_strings(w);
    pm_envr env = w->env;
    pm_free(&env, w);
}

pm_multiplayer *pm_websocket_multiplayer(pm_websocket *w)
{
    return w ? w->mp : NULL;
}

/* ---- the transport's handler calls, into the core ---- */

static void on_open(void *ud, uint64_t conn, const pm_addr *remote, const char *token)
{
    (void)remote, (void)token;
    pm_wsmp_on_open(&((pm_websocket *)ud)->core, conn);
}

static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    (void)binary; /* Godot sends binary frames but reads either */
    pm_wsmp_on_message(&((pm_websocket *)ud)->core, conn, data, len);
}

static void on_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    (void)code, (void)reason, (void)local;
    pm_wsmp_on_closed(&((pm_websocket *)ud)->core, conn);
}

/* Carry out what the core asked for. */
static void flush(pm_websocket *w)
{
    pm_wsmp_action a;
    uint64_t conn;
    const uint8_t *d;
    size_t n;
    while (pm_wsmp_next_output(&w->core, &a, &conn, &d, &n)) {
        if (!w->ws)
            continue;
        int rc = PM_OK;
        if (a == PM_WSMP_SEND)
            rc = pm_ws_send(w->ws, conn, d, n, true);
        else if (a == PM_WSMP_CLOSE)
            rc = pm_ws_close(w->ws, conn, CLOSE_NORMAL, "", 0);
        else
            rc = pm_ws_drop(w->ws, conn);
        /* A connection already gone reports its end through on_closed. */
        if (rc != PM_OK && rc != PM_ERR_NOT_FOUND)
            PM_WARN(&w->env, PM_WSMP_COMPONENT, "connection %llu: %s", (unsigned long long)conn,
                    pm_strerror(rc));
    }
}

static int start(pm_websocket *w, bool server, uint16_t port, const char *url)
{
    if (w->ws)
        return PM_ERR_STATE;
    pm_ws_config cfg = {
        .env = &w->env.e,
        .listen = server,
        .bind_address = w->bind_ip,
        .port = port,
        .cert_file = server ? w->cert_file : NULL,
        .key_file = server ? w->key_file : NULL,
        .max_message = w->max_packet + 9,
        .client_tls = url && strncmp(url, "wss://", 6) == 0,
        .ca_file = w->ca_file,
        .allow_self_signed = w->allow_self_signed,
    };
    pm_ws_handler h = {
        .ud = w, .on_open = on_open, .on_message = on_message, .on_closed = on_closed};
    int rc = pm_ws_new(&cfg, &h, &w->ws);
    if (rc != PM_OK)
        return rc;
    pm_wsmp_start(&w->core, server);
    if (!server) {
        uint64_t conn;
        rc = pm_ws_connect(w->ws, url, &conn);
        if (rc != PM_OK) {
            shutdown_all(w);
            return rc;
        }
    }
    return PM_OK;
}

int pm_websocket_create_server(pm_websocket *w, uint16_t port)
{
    return w ? start(w, true, port, NULL) : PM_ERR_INVALID;
}

int pm_websocket_create_client(pm_websocket *w, const char *url)
{
    if (!w || !url || (strncmp(url, "ws://", 5) != 0 && strncmp(url, "wss://", 6) != 0))
        return PM_ERR_INVALID;
    return start(w, false, 0, url);
}

uint16_t pm_websocket_get_local_port(const pm_websocket *w)
{
    return w && w->ws && w->core.server ? pm_ws_port(w->ws) : 0;
}

int pm_websocket_wait(pm_websocket *w, int timeout_ms)
{
    if (!w)
        return PM_ERR_INVALID;
    if (!w->ws)
        return PM_ERR_STATE;
    int rc = pm_ws_service(w->ws, timeout_ms);
    flush(w);
    return rc;
}

void pm_websocket_get_stats(const pm_websocket *w, pm_websocket_stats *out)
{
    if (out)
        *out = w ? w->core.stats : (pm_websocket_stats){0};
}

/* ---- interface ops ---- */

static int op_poll(void *impl)
{
    pm_websocket *w = impl;
    if (!w->ws)
        return PM_OK;
    flush(w);
    int rc = pm_ws_service(w->ws, 0);
    flush(w);
    return rc;
}

static int op_put_packet(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                         const uint8_t *data, size_t len)
{
    pm_websocket *w = impl;
    (void)mode; /* TCP: everything is reliable (Godot ignores the mode too) */
    if (channel != 0)
        return PM_ERR_INVALID;
    int rc = pm_wsmp_put_packet(&w->core, target, data, len);
    if (rc == PM_OK)
        flush(w);
    return rc;
}

static int op_get_packet(void *impl, pm_mp_packet *out)
{
    return pm_wsmp_get_packet(&((pm_websocket *)impl)->core, out);
}

static int op_get_available_packet_count(const void *impl)
{
    return (int)((const pm_websocket *)impl)->core.in.count;
}

static bool op_next_event(void *impl, pm_mp_event *ev)
{
    return pm_wsmp_next_event(&((pm_websocket *)impl)->core, ev);
}

static int32_t op_get_unique_id(const void *impl)
{
    return ((const pm_websocket *)impl)->core.unique_id;
}

static pm_mp_status op_get_connection_status(const void *impl)
{
    return ((const pm_websocket *)impl)->core.status;
}

static void op_set_refuse_new_connections(void *impl, bool refuse)
{
    ((pm_websocket *)impl)->core.refuse = refuse;
}

static bool op_is_refusing_new_connections(const void *impl)
{
    return ((const pm_websocket *)impl)->core.refuse;
}

static int op_disconnect_peer(void *impl, int32_t peer_id, bool force)
{
    pm_websocket *w = impl;
    int rc = pm_wsmp_disconnect_peer(&w->core, peer_id, force);
    flush(w);
    if (rc == PM_OK && force && !w->core.server)
        shutdown_all(w);
    return rc;
}

static void op_close(void *impl)
{
    shutdown_all(impl);
}

static bool op_is_server_relay_supported(const void *impl)
{
    return ((const pm_websocket *)impl)->core.active;
}

static size_t op_get_max_packet_size(const void *impl)
{
    return ((const pm_websocket *)impl)->max_packet;
}

static const pm_multiplayer_ops ws_ops = {
    .poll = op_poll,
    .put_packet = op_put_packet,
    .get_packet = op_get_packet,
    .get_available_packet_count = op_get_available_packet_count,
    .next_event = op_next_event,
    .get_unique_id = op_get_unique_id,
    .get_connection_status = op_get_connection_status,
    .set_refuse_new_connections = op_set_refuse_new_connections,
    .is_refusing_new_connections = op_is_refusing_new_connections,
    .disconnect_peer = op_disconnect_peer,
    .close = op_close,
    .is_server_relay_supported = op_is_server_relay_supported,
    .get_max_packet_size = op_get_max_packet_size,
};
