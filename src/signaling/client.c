/*
 * pm_signal_client: the signaling connection (a WebSocket client on
 * src/io/ws.c), the protocol of the demo's clients (ws_webrtc_client.gd /
 * multiplayer_client.gd, GODOT-SEMANTICS.md section 3), and the event
 * queue. The mesh side is in client_mesh.c.
 */
#include "signaling/client_internal.h"

#include <stdio.h>

#define DEFAULT_CONNECT_TIMEOUT PM_SEC(10)
#define ACTIVE_POLL             PM_MS(10) /* how often to look at the WebSocket when asked to sleep */

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

/* ---- events ---- */

void pm_sigcl_event(pm_signal_client *c, pm_signal_event_type type, int32_t peer_id, int code,
                    const char *text)
{
    event_rec r = {.peer_id = peer_id, .close_code = code};
    size_t n = text ? strlen(text) + 1 : 0;
    if (pm_fifo_push(&c->env, &c->events, type, &r, sizeof r, text, n) != PM_OK)
        PM_ERROR(&c->env, "signal", "out of memory: event %d lost", (int)type);
}

bool pm_signal_client_next_event(pm_signal_client *c, pm_signal_event *ev)
{
    if (!c || !ev)
        return false;
    if (c->event_peeked) {
        pm_fifo_pop(&c->events);
        c->event_peeked = false;
    }
    uint32_t tag;
    const uint8_t *rec;
    size_t len;
    if (!pm_fifo_peek(&c->events, &tag, &rec, &len))
        return false;
    event_rec r;
    memcpy(&r, rec, sizeof r);
    memset(ev, 0, sizeof *ev);
    ev->type = (pm_signal_event_type)tag;
    ev->peer_id = r.peer_id;
    ev->close_code = r.close_code;
    const char *text = len > sizeof r ? (const char *)rec + sizeof r : "";
    if (ev->type == PM_SIGNAL_EVENT_JOINED)
        ev->lobby = text;
    if (ev->type == PM_SIGNAL_EVENT_CLOSED)
        ev->reason = text;
    c->event_peeked = true;
    return true;
}

/* ---- sending ---- */

int pm_sigcl_send(pm_signal_client *c, int type, int64_t id, const char *data, size_t len)
{
    if (!c->conn_live)
        return PM_ERR_CLOSED; /* after a seal the mesh needs no more signaling */
    pm_sigmsg m = {.type = type, .id = id, .data = data, .data_len = len};
    c->enc.len = 0;
    int rc = pm_sigmsg_encode(&c->env, c->proto, &m, &c->enc);
    if (rc == PM_OK)
        rc = pm_ws_send(c->ws, c->conn, c->enc.data, c->enc.len, false);
    if (rc != PM_OK)
        PM_WARN(&c->env, "signal", "cannot send message type %d to %lld: %s", type, (long long)id,
                pm_strerror(rc));
    return rc;
}

/* ---- the WebSocket ---- */

static void on_open(void *ud, uint64_t conn, const pm_addr *remote, const char *token)
{
    pm_signal_client *c = ud;
    c->state = PM_SIGNAL_OPEN;
    /* The demo clients join at once. 4.x: id 0 asks for a mesh lobby when
     * creating, 1 for client/server; 3.x has no mode. */
    const char *lobby = c->cfg.lobby ? c->cfg.lobby : "";
    int rc = pm_sigcl_send(c, PM_SIGMSG_JOIN, c->cfg.mesh ? 0 : 1, lobby, strlen(lobby));
    if (rc != PM_OK)
        (void)pm_ws_close(c->ws, c->conn, 1011, "", 0);
    PM_DEBUG(&c->env, "signal", "connected to %s, joining %s", c->cfg.url,
             *lobby ? lobby : "a new lobby");
    pm_sigcl_event(c, PM_SIGNAL_EVENT_OPEN, 0, 0, NULL);
}

static const char *terminated(pm_signal_client *c, const char *data, size_t len)
{
    c->text.len = 0;
    if (pm_buf_append(&c->env, &c->text, data, len) != PM_OK || !c->text.data)
        return NULL;
    return (const char *)c->text.data;
}

static void handle(pm_signal_client *c, const pm_sigmsg *m)
{
    bool has_id = m->id >= 1 && m->id <= INT32_MAX;
    int32_t id = has_id ? (int32_t)m->id : 0;
    switch (m->type) {
    case PM_SIGMSG_ID:
        if (has_id && c->id == 0)
            pm_sigcl_on_id(c, m);
        return;
    case PM_SIGMSG_JOIN: {
        size_t n = PM_MIN(m->data_len, (size_t)PM_SIG_MAX_LOBBY_NAME);
        memcpy(c->lobby, m->data, n);
        c->lobby[n] = 0;
        if (c->state < PM_SIGNAL_JOINED)
            c->state = PM_SIGNAL_JOINED;
        pm_sigcl_event(c, PM_SIGNAL_EVENT_JOINED, 0, 0, c->lobby);
        return;
    }
    case PM_SIGMSG_PEER_CONNECT:
        if (has_id)
            pm_sigcl_on_peer(c, id);
        return;
    case PM_SIGMSG_PEER_DISCONNECT:
        if (has_id)
            pm_sigcl_on_peer_left(c, id);
        return;
    case PM_SIGMSG_OFFER:
    case PM_SIGMSG_ANSWER:
        if (has_id)
            pm_sigcl_on_description(c, id, m->type == PM_SIGMSG_OFFER ? "offer" : "answer", m->data,
                                    m->data_len);
        return;
    case PM_SIGMSG_CANDIDATE:
        if (has_id)
            pm_sigcl_on_candidate(c, id, m->data, m->data_len);
        return;
    case PM_SIGMSG_SEAL:
        c->sealed = true;
        c->state = PM_SIGNAL_SEALED;
        pm_sigcl_event(c, PM_SIGNAL_EVENT_SEALED, 0, 0, NULL);
        return;
    default:
        PM_DEBUG(&c->env, "signal", "ignoring message type %d", m->type);
        return;
    }
}

static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    pm_signal_client *c = ud;
    pm_sigmsg m;
    if (binary || pm_sigmsg_decode(&c->env, c->proto, data, len, &c->scratch, &m) != PM_OK) {
        PM_WARN(&c->env, "signal", "ignoring a malformed message from the server (%zu bytes)", len);
        return;
    }
    /* SDP strings must be NUL-terminated for the rtc API; a text message
     * borrows from the receive buffer, so copy. */
    if (m.data_len && (m.type == PM_SIGMSG_OFFER || m.type == PM_SIGMSG_ANSWER)) {
        const char *t = terminated(c, m.data, m.data_len);
        if (!t)
            return;
        m.data = t;
    }
    handle(c, &m);
    pm_sigcl_relay(c);
}

static void on_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    pm_signal_client *c = ud;
    c->conn_live = false;
    c->state = PM_SIGNAL_CLOSED;
    PM_INFO(&c->env, "signal", "signaling closed: %d %s%s", code, reason,
            c->sealed ? " (sealed: the mesh stays)" : "");
    /* As the demo clients: without a seal the mesh goes with the signaling
     * (unless our own user closed it, asking to keep the mesh). */
    if (!c->sealed && !c->user_closed && c->mesh)
        pm_mesh_close(c->mesh);
    pm_sigcl_event(c, PM_SIGNAL_EVENT_CLOSED, 0, code, reason);
}

/* ---- API ---- */

static char *dup_opt(pm_signal_client *c, const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = pm_strdup(&c->env, s);
    if (!d)
        *fail = true;
    return d;
}

static int copy_config(pm_signal_client *c, const pm_signal_client_config *cfg)
{
    bool fail = false;
    c->cfg = *cfg;
    c->cfg.url = dup_opt(c, cfg->url, &fail);
    c->cfg.lobby = dup_opt(c, cfg->lobby, &fail);
    c->cfg.ca_file = dup_opt(c, cfg->ca_file, &fail);
    c->cfg.extra_channels = NULL;
    if (cfg->extra_channel_count) {
        size_t n = cfg->extra_channel_count * sizeof *cfg->extra_channels;
        pm_mp_transfer_mode *x = pm_alloc(&c->env, n);
        if (x)
            memcpy(x, cfg->extra_channels, n);
        else
            fail = true;
        c->cfg.extra_channels = x;
    }
    if (!c->cfg.rtc.env)
        c->cfg.rtc.env = cfg->env;
    if (!c->cfg.mesh_config.env)
        c->cfg.mesh_config.env = cfg->env;
    return fail ? PM_ERR_NOMEM : PM_OK;
}

static bool config_valid(const pm_signal_client_config *cfg)
{
    if (!cfg->url || (strncmp(cfg->url, "ws://", 5) != 0 && strncmp(cfg->url, "wss://", 6) != 0))
        return false;
    if (cfg->lobby && strlen(cfg->lobby) > PM_SIG_MAX_LOBBY_NAME)
        return false;
    if (cfg->lobby && (strchr(cfg->lobby, '\n') ||
                       !pm_utf8_valid((const uint8_t *)cfg->lobby, strlen(cfg->lobby))))
        return false;
    if (cfg->protocol != PM_SIGNAL_PROTOCOL_JSON && cfg->protocol != PM_SIGNAL_PROTOCOL_TEXT)
        return false;
    if (cfg->offer_rule < PM_SIGNAL_OFFER_AUTO || cfg->offer_rule > PM_SIGNAL_OFFER_LOWER)
        return false;
    if (cfg->extra_channel_count && !cfg->extra_channels)
        return false;
    return cfg->connect_timeout >= 0;
}

int pm_signal_client_new(const pm_signal_client_config *cfg, pm_signal_client **out)
{
    if (!cfg || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    if (!config_valid(cfg)) {
        PM_ERROR(&env, "signal", "bad client configuration (url %s)", cfg->url ? cfg->url : "-");
        return PM_ERR_INVALID;
    }
    pm_signal_client *c = pm_calloc(&env, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    c->env = env;
    pm_fifo_init(&c->events, 0);
    c->proto = cfg->protocol == PM_SIGNAL_PROTOCOL_TEXT ? PM_SIGPROTO_TEXT : PM_SIGPROTO_JSON;
    c->state = PM_SIGNAL_CONNECTING;
    int rc = copy_config(c, cfg);
    if (rc == PM_OK) {
        pm_ws_config wc = {.env = cfg->env,
                           .client_tls = strncmp(cfg->url, "wss://", 6) == 0,
                           .ca_file = c->cfg.ca_file,
                           .allow_self_signed = cfg->allow_self_signed,
                           .max_message = 1u << 20};
        pm_ws_handler h = {
            .ud = c, .on_open = on_open, .on_message = on_message, .on_closed = on_closed};
        rc = pm_ws_new(&wc, &h, &c->ws);
    }
    if (rc == PM_OK)
        rc = pm_ws_connect(c->ws, c->cfg.url, &c->conn);
    if (rc != PM_OK) {
        pm_signal_client_free(c);
        return rc;
    }
    c->conn_live = true;
    c->deadline = cfg->connect_timeout ? pm_env_now(&env) + cfg->connect_timeout : PM_TIME_NEVER;
    *out = c;
    return PM_OK;
}

void pm_signal_client_free(pm_signal_client *c)
{
    if (!c)
        return;
    pm_ws_free(c->ws);
    pm_mesh_free(c->mesh);
    pm_sigcl_free_ice(c);
    pm_fifo_free(&c->env, &c->events);
    pm_buf_free(&c->env, &c->scratch);
    pm_buf_free(&c->env, &c->enc);
    pm_buf_free(&c->env, &c->text);
    pm_free(&c->env, c->ids);
    pm_free(&c->env, (void *)c->cfg.url);
    pm_free(&c->env, (void *)c->cfg.lobby);
    pm_free(&c->env, (void *)c->cfg.ca_file);
    pm_free(&c->env, (void *)c->cfg.extra_channels);
    pm_envr env = c->env;
    pm_free(&env, c);
}

int pm_signal_client_poll(pm_signal_client *c)
{
    if (!c)
        return PM_ERR_INVALID;
    if (c->ws && pm_ws_count(c->ws))
        (void)pm_ws_service(c->ws, 0);
    if (c->conn_live && c->id == 0 && pm_env_now(&c->env) >= c->deadline) {
        PM_WARN(&c->env, "signal", "no id from %s in time: giving up", c->cfg.url);
        (void)pm_ws_drop(c->ws, c->conn);
        c->conn_live = false;
        c->state = PM_SIGNAL_CLOSED;
        pm_sigcl_event(c, PM_SIGNAL_EVENT_CLOSED, 0, 0, "timeout");
    }
    if (c->mesh) {
        (void)pm_mesh_poll(c->mesh);
        pm_sigcl_relay(c);
    }
    bool mesh_alive =
        c->mesh && pm_mp_get_connection_status(pm_mesh_multiplayer(c->mesh)) != PM_MP_DISCONNECTED;
    return c->state == PM_SIGNAL_CLOSED && !mesh_alive ? PM_ERR_CLOSED : PM_OK;
}

pm_time pm_signal_client_next_timeout(const pm_signal_client *c)
{
    if (!c)
        return PM_TIME_NEVER;
    pm_time t = c->mesh ? pm_mesh_next_timeout(c->mesh) : PM_TIME_NEVER;
    if (c->conn_live || (c->ws && pm_ws_count(c->ws)))
        t = PM_MIN(t, pm_env_now(&c->env) + ACTIVE_POLL);
    return t;
}

int pm_signal_client_fd(const pm_signal_client *c)
{
    return c && c->conn_live ? pm_ws_fd(c->ws, c->conn) : -1;
}

pm_signal_state pm_signal_client_state(const pm_signal_client *c)
{
    return c ? c->state : PM_SIGNAL_CLOSED;
}

int32_t pm_signal_client_id(const pm_signal_client *c)
{
    return c ? c->id : 0;
}

const char *pm_signal_client_lobby(const pm_signal_client *c)
{
    return c ? c->lobby : "";
}

bool pm_signal_client_is_mesh_lobby(const pm_signal_client *c)
{
    return c && c->mesh_lobby;
}

pm_mesh *pm_signal_client_mesh(pm_signal_client *c)
{
    return c ? c->mesh : NULL;
}

pm_multiplayer *pm_signal_client_multiplayer(pm_signal_client *c)
{
    return c && c->mesh ? pm_mesh_multiplayer(c->mesh) : NULL;
}

int pm_signal_client_seal(pm_signal_client *c)
{
    if (!c || c->id != 1 || !c->conn_live || c->state < PM_SIGNAL_JOINED)
        return PM_ERR_STATE;
    return pm_sigcl_send(c, PM_SIGMSG_SEAL, 0, "", 0);
}

void pm_signal_client_close(pm_signal_client *c)
{
    if (!c || !c->conn_live)
        return;
    c->user_closed = true;
    (void)pm_ws_close(c->ws, c->conn, 1000, "", 0);
}
