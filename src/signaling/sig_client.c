/*
 * The signaling client core (sig_client.h): the protocol of the demo's
 * clients (ws_webrtc_client.gd / multiplayer_client.gd, GODOT-SEMANTICS.md
 * section 3), the output queue for the transport and the event queue. The
 * mesh side is in sig_client_mesh.c.
 */
#include "signaling/sig_client_internal.h"

#include <stdio.h>

/* The next record of a queue whose records are lent out until the next call. */
static bool next_record(pm_fifo *f, bool *lent, uint32_t *tag, const uint8_t **rec, size_t *len)
{
    if (*lent) {
        pm_fifo_pop(f);
        *lent = false;
    }
    if (!pm_fifo_peek(f, tag, rec, len))
        return false;
    *lent = true;
    return true;
}

/* ---- events ---- */

static void push_event(pm_sigcl *c, pm_signal_event_type type, const event_rec *r, const char *text)
{
    size_t n = text ? strlen(text) + 1 : 0;
    if (pm_fifo_push(&c->env, &c->events, type, r, sizeof *r, text, n) != PM_OK)
        PM_ERROR(&c->env, "signal", "out of memory: event %d lost", (int)type);
}

void pm_sigcl_event(pm_sigcl *c, pm_signal_event_type type, int32_t peer_id, int code,
                    const char *text)
{
    event_rec r = {.peer_id = peer_id, .close_code = code};
    push_event(c, type, &r, text);
}

void pm_sigcl_event_closed(pm_sigcl *c, int code, int error, const char *text)
{
    event_rec r = {.close_code = code, .error = error};
    push_event(c, PM_SIGNAL_EVENT_CLOSED, &r, text);
}

bool pm_sigcl_next_event(pm_sigcl *c, pm_signal_event *ev)
{
    uint32_t tag;
    const uint8_t *rec;
    size_t len;
    if (!next_record(&c->events, &c->event_peeked, &tag, &rec, &len))
        return false;
    event_rec r;
    memcpy(&r, rec, sizeof r);
    memset(ev, 0, sizeof *ev);
    ev->type = (pm_signal_event_type)tag;
    ev->peer_id = r.peer_id;
    ev->close_code = r.close_code;
    ev->error = r.error;
    const char *text = len > sizeof r ? (const char *)rec + sizeof r : "";
    if (ev->type == PM_SIGNAL_EVENT_JOINED)
        ev->lobby = text;
    if (ev->type == PM_SIGNAL_EVENT_CLOSED || ev->type == PM_SIGNAL_EVENT_PEER_FAILED)
        ev->reason = text;
    return true;
}

/* ---- outputs ---- */

static void output(pm_sigcl *c, pm_sigcl_out_kind kind, int code, const void *data, size_t len)
{
    int32_t rec = code;
    if (pm_fifo_push(&c->env, &c->out, kind, &rec, sizeof rec, data, len) != PM_OK)
        PM_ERROR(&c->env, "signal", "out of memory: output %d lost", (int)kind);
}

bool pm_sigcl_poll_output(pm_sigcl *c, pm_sigcl_output *out)
{
    uint32_t tag;
    const uint8_t *rec;
    size_t len;
    if (!next_record(&c->out, &c->out_peeked, &tag, &rec, &len))
        return false;
    int32_t code;
    memcpy(&code, rec, sizeof code);
    out->kind = (pm_sigcl_out_kind)tag;
    out->code = code;
    out->data = rec + sizeof code;
    out->len = len - sizeof code;
    return true;
}

int pm_sigcl_send(pm_sigcl *c, int type, int64_t id, const char *data, size_t len)
{
    if (c->link != LINK_OPEN)
        return PM_ERR_CLOSED; /* after a seal the mesh needs no more signaling */
    pm_sigmsg m = {.type = type, .id = id, .data = data, .data_len = len};
    c->enc.len = 0;
    int rc = pm_sigmsg_encode(&c->env, c->proto, &m, &c->enc);
    if (rc == PM_OK)
        output(c, PM_SIGCL_OUT_SEND, 0, c->enc.data, c->enc.len);
    else
        PM_WARN(&c->env, "signal", "cannot send message type %d to %lld: %s", type, (long long)id,
                pm_strerror(rc));
    return rc;
}

void pm_sigcl_close_with(pm_sigcl *c, int code)
{
    if (c->link == LINK_CLOSING || c->link == LINK_DONE)
        return;
    c->link = LINK_CLOSING;
    output(c, PM_SIGCL_OUT_CLOSE, code, NULL, 0);
}

/* ---- transport input ---- */

void pm_sigcl_open(pm_sigcl *c, pm_time now)
{
    if (c->link != LINK_CONNECTING)
        return;
    c->link = LINK_OPEN;
    c->state = PM_SIGNAL_OPEN;
    c->opened = true;
    /* The demo clients join at once. 4.x: id 0 asks for a mesh lobby when
     * creating, 1 for client/server; 3.x has no mode. */
    const char *lobby = c->cfg.lobby ? c->cfg.lobby : "";
    int type = c->cfg.create_lobby ? PM_SIGMSG_CREATE : PM_SIGMSG_JOIN;
    if (pm_sigcl_send(c, type, c->cfg.mesh ? 0 : 1, lobby, strlen(lobby)) != PM_OK)
        pm_sigcl_close_with(c, SIGCL_CLOSE_INTERNAL);
    PM_DEBUG(&c->env, "signal", "connected to %s, %s %s", c->cfg.url ? c->cfg.url : "server",
             c->cfg.create_lobby ? "creating" : "joining", *lobby ? lobby : "a new lobby");
    pm_sigcl_event(c, PM_SIGNAL_EVENT_OPEN, 0, 0, NULL);
}

static void handle(pm_sigcl *c, const pm_sigmsg *m)
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
    case PM_SIGMSG_HOST:
        /* Ours: host migration. The WebRTC mesh learns it first, then the
         * user (an ENet mesh, Godot 4's, has no host role to move). */
        if (!has_id || !c->id || id == c->host_id)
            return;
        c->host_id = id;
        if (c->mesh && pm_mesh_set_host(c->mesh, id) != PM_OK)
            PM_DEBUG(&c->env, "signal", "the mesh has no host role to move (client/server)");
        pm_sigcl_event(c, PM_SIGNAL_EVENT_HOST_CHANGED, id, 0, NULL);
        return;
    default:
        PM_DEBUG(&c->env, "signal", "ignoring message type %d", m->type);
        return;
    }
}

static const char *terminated(pm_sigcl *c, const char *data, size_t len)
{
    c->text.len = 0;
    if (pm_buf_append(&c->env, &c->text, data, len) != PM_OK || !c->text.data)
        return NULL;
    return (const char *)c->text.data;
}

void pm_sigcl_receive(pm_sigcl *c, pm_time now, const uint8_t *data, size_t len, bool binary)
{
    c->enet_now = now;
    if (c->link != LINK_OPEN)
        return; /* closing: what the server still says does not matter */
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
    pm_sigcl_relay(c, now);
    if (c->enet)
        pm_sigcl_enet_poll(c, now);
}

void pm_sigcl_failed(pm_sigcl *c, int err, const char *why)
{
    if (c->link == LINK_DONE || err >= 0)
        return;
    c->fail_err = err;
    snprintf(c->fail_why, sizeof c->fail_why, "%s", why ? why : pm_strerror(err));
}

/* Why the connection ended, when it did not end by a close frame. */
static int closed_error(pm_sigcl *c, int code, const char **reason)
{
    if (c->fail_err) {
        *reason = c->fail_why;
        return c->fail_err;
    }
    /* A server without named lobbies refuses CREATE as the demo refuses an
     * unknown type: say what that means. */
    if (c->cfg.create_lobby && !c->lobby[0] && code == PM_SIGNAL_CLOSE_PROTOCOL &&
        (!strcmp(*reason, "Invalid command") ||
         !strcmp(*reason, "Invalid message when not in a lobby"))) {
        snprintf(c->fail_why, sizeof c->fail_why,
                 "%s does not offer named lobbies (%s); start peermesh-signal with "
                 "--named-lobbies, or join or create a lobby without a name",
                 c->cfg.url ? c->cfg.url : "the server", *reason);
        *reason = c->fail_why;
        return PM_ERR_UNSUPPORTED;
    }
    if (code != PM_SIGNAL_CLOSE_ABNORMAL)
        return PM_OK; /* a close frame from either side: code and reason say why */
    snprintf(c->fail_why, sizeof c->fail_why, "%s %s",
             c->opened ? "lost the connection to" : "could not connect to",
             c->cfg.url ? c->cfg.url : "the server");
    *reason = c->fail_why;
    return PM_ERR_IO;
}

void pm_sigcl_closed(pm_sigcl *c, pm_time now, int code, const char *reason)
{
    if (c->link == LINK_DONE)
        return;
    c->link = LINK_DONE;
    c->state = PM_SIGNAL_CLOSED;
    reason = reason ? reason : "";
    int error = closed_error(c, code, &reason);
    PM_INFO(&c->env, "signal", "signaling closed: %d %s%s", code, reason,
            c->sealed ? " (sealed: the mesh stays)" : "");
    /* As the demo clients: without a seal the mesh goes with the signaling
     * (unless our own user closed it, asking to keep the mesh). */
    if (!c->sealed && !c->user_closed && c->mesh)
        pm_mesh_close(c->mesh);
    if (!c->sealed && !c->user_closed && c->enet)
        pm_sigcl_enet_close(c);
    pm_sigcl_event_closed(c, code, error, reason);
}

/* ---- time ---- */

static bool awaiting_id(const pm_sigcl *c)
{
    return c->link != LINK_DONE && c->id == 0;
}

void pm_sigcl_timeout(pm_sigcl *c, pm_time now)
{
    c->enet_now = now;
    if (awaiting_id(c) && now >= c->deadline) {
        PM_WARN(&c->env, "signal", "no id from %s in time: giving up",
                c->cfg.url ? c->cfg.url : "the server");
        c->link = LINK_DONE;
        c->state = PM_SIGNAL_CLOSED;
        output(c, PM_SIGCL_OUT_ABORT, 0, NULL, 0);
        char why[256];
        snprintf(why, sizeof why, "%s %s within %.1f s",
                 c->opened ? "no peer id from" : "no WebSocket connection to",
                 c->cfg.url ? c->cfg.url : "the server", (double)c->cfg.connect_timeout / 1e6);
        pm_sigcl_event_closed(c, 0, PM_ERR_TIMEOUT, why);
    }
    if (c->mesh) {
        (void)pm_mesh_poll(c->mesh);
        pm_sigcl_relay(c, now);
    }
    if (c->enet)
        pm_sigcl_enet_poll(c, now);
}

pm_time pm_sigcl_next_deadline(const pm_sigcl *c)
{
    pm_time t = c->mesh ? pm_mesh_next_timeout(c->mesh) : PM_TIME_NEVER;
    t = PM_MIN(t, pm_sigcl_next_restart(c));
    t = PM_MIN(t, pm_sigcl_enet_deadline(c));
    return awaiting_id(c) ? PM_MIN(t, c->deadline) : t;
}

/* ---- requests ---- */

int pm_sigcl_seal(pm_sigcl *c)
{
    if (!c->id || c->id != c->host_id || c->link != LINK_OPEN || c->state < PM_SIGNAL_JOINED)
        return PM_ERR_STATE;
    return pm_sigcl_send(c, PM_SIGMSG_SEAL, 0, "", 0);
}

void pm_sigcl_close(pm_sigcl *c)
{
    if (c->link == LINK_CLOSING || c->link == LINK_DONE)
        return;
    c->user_closed = true;
    pm_sigcl_close_with(c, PM_SIGNAL_CLOSE_NORMAL);
}

/* ---- life ---- */

static char *dup_opt(pm_sigcl *c, const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = pm_strdup(&c->env, s);
    if (!d)
        *fail = true;
    return d;
}

/* Copies of what the caller may free; the shell's own options are dropped. */
static int copy_config(pm_sigcl *c, const pm_signal_client_config *cfg)
{
    bool fail = false;
    c->cfg = *cfg;
    c->cfg.url = dup_opt(c, cfg->url, &fail); /* for log lines */
    c->cfg.lobby = dup_opt(c, cfg->lobby, &fail);
    c->cfg.ca_file = NULL;
    c->cfg.extra_channels = NULL;
    c->cfg.enet.bind_ip = dup_opt(c, cfg->enet.bind_ip, &fail);
    if (cfg->extra_channel_count) {
        size_t n = cfg->extra_channel_count * sizeof *cfg->extra_channels;
        pm_mp_transfer_mode *x = pm_alloc(&c->env, n);
        if (x)
            memcpy(x, cfg->extra_channels, n);
        else
            fail = true;
        c->cfg.extra_channels = x;
    }
    /* The caller's env may not outlive this call (pm_env is copied on
     * creation, common.h): peers and the mesh get our copy. */
    c->cfg.env = &c->env.e;
    if (!c->cfg.rtc.env)
        c->cfg.rtc.env = &c->env.e;
    if (!c->cfg.mesh_config.env)
        c->cfg.mesh_config.env = &c->env.e;
    if (!c->cfg.enet.env)
        c->cfg.enet.env = &c->env.e;
    return fail ? PM_ERR_NOMEM : PM_OK;
}

/* NULL when cfg is usable, else what is wrong with it. */
static const char *config_problem(const pm_signal_client_config *cfg)
{
    size_t lobby_len = cfg->lobby ? strlen(cfg->lobby) : 0;
    if (lobby_len > PM_SIG_MAX_LOBBY_NAME)
        return "the lobby name is longer than 64 bytes";
    if (cfg->lobby &&
        (strchr(cfg->lobby, '\n') || !pm_utf8_valid((const uint8_t *)cfg->lobby, lobby_len)))
        return "the lobby name holds a newline or invalid UTF-8";
    if (cfg->create_lobby && !pm_sig_lobby_name_valid(cfg->lobby, lobby_len))
        return "create_lobby needs a lobby name of 1..64 letters, digits, '-', '_' or '.'";
    if (cfg->protocol != PM_SIGNAL_PROTOCOL_JSON && cfg->protocol != PM_SIGNAL_PROTOCOL_TEXT)
        return "protocol is neither JSON nor TEXT";
    if (cfg->offer_rule < PM_SIGNAL_OFFER_AUTO || cfg->offer_rule > PM_SIGNAL_OFFER_LOWER)
        return "offer_rule is not one of pm_signal_offer_rule";
    if (cfg->extra_channel_count && !cfg->extra_channels)
        return "extra_channel_count without extra_channels";
    if (cfg->transport != PM_SIGNAL_TRANSPORT_WEBRTC && cfg->transport != PM_SIGNAL_TRANSPORT_ENET)
        return "transport is neither WEBRTC nor ENET";
    if (cfg->connect_timeout < 0)
        return "connect_timeout is negative";
    if (cfg->ice_restart_interval < 0)
        return "ice_restart_interval is negative";
    return cfg->punch_timeout < 0 ? "punch_timeout is negative" : NULL;
}

int pm_sigcl_new(const pm_envr *env, const pm_signal_client_config *cfg,
                 const pm_sigcl_peer_factory *factory, pm_time now, pm_sigcl **out)
{
    *out = NULL;
    const char *problem = config_problem(cfg);
    if (problem) {
        PM_ERROR(env, "signal", "bad client configuration: %s", problem);
        return PM_ERR_INVALID;
    }
    pm_sigcl *c = pm_calloc(env, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    c->env = *env;
    if (factory)
        c->factory = *factory;
    pm_fifo_init(&c->out, 0);
    pm_fifo_init(&c->events, 0);
    c->proto = cfg->protocol == PM_SIGNAL_PROTOCOL_TEXT ? PM_SIGPROTO_TEXT : PM_SIGPROTO_JSON;
    c->state = PM_SIGNAL_CONNECTING;
    c->link = LINK_CONNECTING;
    c->deadline = cfg->connect_timeout ? now + cfg->connect_timeout : PM_TIME_NEVER;
    c->enet_waitset = -1;
    if (copy_config(c, cfg) != PM_OK) {
        pm_sigcl_free(c);
        return PM_ERR_NOMEM;
    }
    *out = c;
    return PM_OK;
}

void pm_sigcl_free(pm_sigcl *c)
{
    if (!c)
        return;
    pm_mesh_free(c->mesh);
    pm_sigcl_enet_free(c);
    pm_sigcl_free_ice(c);
    pm_fifo_free(&c->env, &c->out);
    pm_fifo_free(&c->env, &c->events);
    pm_buf_free(&c->env, &c->scratch);
    pm_buf_free(&c->env, &c->enc);
    pm_buf_free(&c->env, &c->text);
    pm_free(&c->env, c->ids);
    pm_free(&c->env, c->restarts);
    pm_free(&c->env, (void *)c->cfg.url);
    pm_free(&c->env, (void *)c->cfg.lobby);
    pm_free(&c->env, (void *)c->cfg.extra_channels);
    pm_free(&c->env, (void *)c->cfg.enet.bind_ip);
    pm_envr env = c->env;
    pm_free(&env, c);
}

/* ---- state ---- */

pm_signal_state pm_sigcl_state(const pm_sigcl *c)
{
    return c->state;
}

int32_t pm_sigcl_id(const pm_sigcl *c)
{
    return c->id;
}

int32_t pm_sigcl_host(const pm_sigcl *c)
{
    return c->id ? c->host_id : 0;
}

const char *pm_sigcl_lobby(const pm_sigcl *c)
{
    return c->lobby;
}

bool pm_sigcl_is_mesh_lobby(const pm_sigcl *c)
{
    return c->mesh_lobby;
}

pm_mesh *pm_sigcl_mesh(pm_sigcl *c)
{
    return c->mesh;
}

pm_enet *pm_sigcl_enet(pm_sigcl *c)
{
    return c->enet;
}

pm_multiplayer *pm_sigcl_multiplayer(pm_sigcl *c)
{
    if (c->enet)
        return pm_enet_multiplayer(c->enet);
    return c->mesh ? pm_mesh_multiplayer(c->mesh) : NULL;
}
