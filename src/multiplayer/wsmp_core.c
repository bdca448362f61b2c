/*
 * WebSocket multiplayer peer, sans-I/O core (wsmp_core.h): Godot 3.2's
 * WebSocketMultiplayerPeer with WSLServer / WSLClient's connection events
 * (websocket_multiplayer_peer.cpp, websocket_server.cpp,
 * websocket_client.cpp). Differences from Godot are listed in
 * peermesh/websocket.h and each is marked "Godot:" where it is made.
 */
#include "multiplayer/wsmp_core.h"

#include "wire/godot_wsmp.h"

#define SERVER_ID   1
#define ID_MASK     0x7FFFFFFFu
#define ID_ATTEMPTS 64
#define CONN_LEN    8

void pm_wsmp_init(pm_wsmp *c, const pm_envr *env, size_t max_packet, size_t max_queued)
{
    memset(c, 0, sizeof *c);
    c->env = *env;
    c->max_packet = max_packet;
    c->status = PM_MP_DISCONNECTED;
    pm_fifo_init(&c->in, max_queued);
    pm_fifo_init(&c->out, 0);
}

void pm_wsmp_free(pm_wsmp *c)
{
    pm_fifo_free(&c->env, &c->in);
    pm_fifo_free(&c->env, &c->out);
    pm_free(&c->env, c->members);
    pm_free(&c->env, c->events);
    memset(c, 0, sizeof *c);
}

static void push_event(pm_wsmp *c, pm_mp_event_type type, int32_t peer)
{
    if (c->ev_count == c->ev_cap) {
        size_t cap = c->ev_cap ? 2 * c->ev_cap : 16;
        pm_mp_event *n = pm_alloc(&c->env, cap * sizeof *n);
        if (!n) {
            PM_ERROR(&c->env, PM_WSMP_COMPONENT, "out of memory: event %d of peer %d lost",
                     (int)type, (int)peer);
            return;
        }
        for (size_t i = 0; i < c->ev_count; i++)
            n[i] = c->events[(c->ev_head + i) % c->ev_cap];
        pm_free(&c->env, c->events);
        c->events = n;
        c->ev_cap = cap;
        c->ev_head = 0;
    }
    c->events[(c->ev_head + c->ev_count++) % c->ev_cap] =
        (pm_mp_event){.type = type, .peer_id = peer};
}

/* Queue an action for the transport: [conn][header][payload]. */
static int push_action(pm_wsmp *c, pm_wsmp_action action, uint64_t conn, const uint8_t *head,
                       size_t head_len, const uint8_t *payload, size_t len)
{
    uint8_t rec[CONN_LEN + PM_GWS_SYS_LEN];
    memcpy(rec, &conn, CONN_LEN);
    if (head_len)
        memcpy(rec + CONN_LEN, head, head_len);
    int rc = pm_fifo_push(&c->env, &c->out, action, rec, CONN_LEN + head_len, payload, len);
    if (rc != PM_OK)
        PM_ERROR(&c->env, PM_WSMP_COMPONENT, "cannot queue a message (%s)", pm_strerror(rc));
    return rc;
}

static void send_sys(pm_wsmp *c, uint64_t conn, uint8_t type, int32_t peer)
{
    uint8_t m[PM_GWS_SYS_LEN];
    pm_gws_sys_write(m, type, peer);
    push_action(c, PM_WSMP_SEND, conn, m, sizeof m, NULL, 0);
}

static pm_wsmp_member *find_id(pm_wsmp *c, int32_t id)
{
    for (size_t i = 0; i < c->n_members; i++)
        if (c->members[i].id == id)
            return &c->members[i];
    return NULL;
}

static pm_wsmp_member *find_conn(pm_wsmp *c, uint64_t conn)
{
    for (size_t i = 0; i < c->n_members; i++)
        if (c->members[i].conn == conn)
            return &c->members[i];
    return NULL;
}

static int add_member(pm_wsmp *c, int32_t id, uint64_t conn)
{
    pm_wsmp_member *m = pm_grow(&c->env, c->members, &c->cap_members, c->n_members + 1, sizeof *m);
    if (!m)
        return PM_ERR_NOMEM;
    c->members = m;
    c->members[c->n_members++] = (pm_wsmp_member){.id = id, .conn = conn};
    return PM_OK;
}

static void remove_member(pm_wsmp *c, pm_wsmp_member *m)
{
    *m = c->members[--c->n_members];
}

void pm_wsmp_start(pm_wsmp *c, bool server)
{
    c->server = server;
    c->active = true;
    c->refuse = false;
    c->announced = false;
    c->server_conn = 0;
    c->unique_id = server ? SERVER_ID : 0;
    c->status = server ? PM_MP_CONNECTED : PM_MP_CONNECTING;
}

void pm_wsmp_stop(pm_wsmp *c)
{
    c->active = false;
    c->status = PM_MP_DISCONNECTED;
    c->unique_id = 0;
    c->n_members = 0;
    c->announced = false;
    c->server_conn = 0;
    while (c->in.count)
        pm_fifo_pop(&c->in);
    c->in_held = false;
}

/* ---- server ---- */

/* Godot's _gen_unique_id: 31 random bits, never 0 or 1; ours also never in use. */
static int32_t new_client_id(pm_wsmp *c)
{
    for (int i = 0; i < ID_ATTEMPTS; i++) {
        int32_t id = (int32_t)(pm_random_u32(&c->env) & ID_MASK);
        if (id > SERVER_ID && !find_id(c, id))
            return id;
    }
    return 0;
}

/* Godot's _send_add: the id, the server, then everyone to the newcomer and back. */
static void server_on_open(pm_wsmp *c, uint64_t conn)
{
    if (c->refuse) {
        c->stats.refused++;
        push_action(c, PM_WSMP_DROP, conn, NULL, 0, NULL, 0);
        return;
    }
    int32_t id = new_client_id(c);
    if (!id || add_member(c, id, conn) != PM_OK) {
        PM_ERROR(&c->env, PM_WSMP_COMPONENT, "no id for a new client; connection closed");
        push_action(c, PM_WSMP_DROP, conn, NULL, 0, NULL, 0);
        return;
    }
    send_sys(c, conn, PM_GWS_SYS_ID, id);
    send_sys(c, conn, PM_GWS_SYS_ADD, SERVER_ID);
    for (size_t i = 0; i < c->n_members; i++) {
        if (c->members[i].id == id)
            continue;
        send_sys(c, c->members[i].conn, PM_GWS_SYS_ADD, id);
        send_sys(c, conn, PM_GWS_SYS_ADD, c->members[i].id);
    }
    push_event(c, PM_MP_EVENT_PEER_CONNECTED, id);
}

static void store(pm_wsmp *c, int32_t from, const uint8_t *payload, size_t len)
{
    int rc = pm_fifo_push(&c->env, &c->in, (uint32_t)from, payload, len, NULL, 0);
    if (rc == PM_OK) {
        c->stats.packets_received++;
        return;
    }
    c->stats.dropped_full++;
    PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a packet of %zu bytes from %d: %s", len, (int)from,
            rc == PM_ERR_FULL ? "receive queue full" : pm_strerror(rc));
}

/* Godot's _server_relay: forward a whole message (header kept) from `from` to `to`. */
static int relay(pm_wsmp *c, int32_t from, int32_t to, const uint8_t *msg, size_t len)
{
    if (to == SERVER_ID)
        return PM_OK;
    if (to > SERVER_ID) {
        pm_wsmp_member *m = find_id(c, to);
        if (!m || to == from)
            return PM_ERR_INVALID;
        if (from != SERVER_ID)
            c->stats.packets_relayed++;
        return push_action(c, PM_WSMP_SEND, m->conn, NULL, 0, msg, len);
    }
    for (size_t i = 0; i < c->n_members; i++) {
        int32_t id = c->members[i].id;
        if (id == from || (to < 0 && id == -to))
            continue;
        if (from != SERVER_ID)
            c->stats.packets_relayed++;
        push_action(c, PM_WSMP_SEND, c->members[i].conn, NULL, 0, msg, len);
    }
    return PM_OK;
}

static void server_on_message(pm_wsmp *c, uint64_t conn, const uint8_t *data, size_t len)
{
    pm_wsmp_member *m = find_conn(c, conn);
    pm_gws_header h;
    if (!m)
        return;
    int32_t id = m->id;
    if (pm_gws_header_read(data, len, &h) != PM_OK || h.type != PM_GWS_SYS_NONE) {
        c->stats.dropped_malformed++;
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a %s message from %d",
                len < PM_GWS_HEADER_LEN ? "short" : "system", (int)id);
        return;
    }
    if (h.from != id) {
        c->stats.dropped_spoofed++;
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a packet from %d claiming to be %d", (int)id,
                (int)h.from);
        return;
    }
    /* Godot: for "all but N" it compares N with the sender, so it always keeps it. */
    if (h.to == SERVER_ID || h.to == 0 || (h.to < 0 && h.to != -SERVER_ID))
        store(c, id, data + PM_GWS_HEADER_LEN, len - PM_GWS_HEADER_LEN);
    if (relay(c, id, h.to, data, len) != PM_OK)
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "cannot relay a packet from %d to %d", (int)id,
                (int)h.to);
}

static void server_on_closed(pm_wsmp *c, uint64_t conn)
{
    pm_wsmp_member *m = find_conn(c, conn);
    if (!m)
        return;
    int32_t id = m->id;
    remove_member(c, m);
    for (size_t i = 0; i < c->n_members; i++)
        send_sys(c, c->members[i].conn, PM_GWS_SYS_DEL, id);
    push_event(c, PM_MP_EVENT_PEER_DISCONNECTED, id);
}

/* ---- client ---- */

static void client_sys(pm_wsmp *c, const uint8_t *data, size_t len)
{
    uint8_t type;
    int32_t id;
    /* Godot takes any id; ids below 1, or our own, are nobody's. */
    if (pm_gws_sys_read(data, len, &type, &id) != PM_OK || id < SERVER_ID ||
        (type != PM_GWS_SYS_ID && id == c->unique_id) ||
        (type == PM_GWS_SYS_ID && (id == SERVER_ID || c->unique_id))) {
        c->stats.dropped_malformed++;
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a bad system message from the server");
        return;
    }
    pm_wsmp_member *m = find_id(c, id);
    switch (type) {
    case PM_GWS_SYS_ID:
        c->unique_id = id;
        break;
    case PM_GWS_SYS_ADD:
        if (m || add_member(c, id, 0) != PM_OK)
            return;
        push_event(c, PM_MP_EVENT_PEER_CONNECTED, id);
        if (id == SERVER_ID)
            c->announced = true;
        break;
    case PM_GWS_SYS_DEL:
        if (!m || id == SERVER_ID)
            return;
        remove_member(c, m);
        push_event(c, PM_MP_EVENT_PEER_DISCONNECTED, id);
        return;
    }
    /* Godot: CONNECTED as soon as the socket opens; here once we can be addressed. */
    if (c->status == PM_MP_CONNECTING && c->unique_id && c->announced) {
        c->status = PM_MP_CONNECTED;
        push_event(c, PM_MP_EVENT_CONNECTION_SUCCEEDED, SERVER_ID);
    }
}

static void client_on_message(pm_wsmp *c, uint64_t conn, const uint8_t *data, size_t len)
{
    pm_gws_header h;
    if (conn != c->server_conn)
        return;
    if (pm_gws_header_read(data, len, &h) != PM_OK) {
        c->stats.dropped_malformed++;
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a %zu-byte message from the server", len);
        return;
    }
    if (h.type != PM_GWS_SYS_NONE) {
        client_sys(c, data, len);
        return;
    }
    /* The server vouches for the sender (Godot trusts the header too). */
    if (h.from < SERVER_ID || c->status != PM_MP_CONNECTED) {
        c->stats.dropped_malformed++;
        PM_WARN(&c->env, PM_WSMP_COMPONENT, "dropped a packet from %d before we were connected",
                (int)h.from);
        return;
    }
    store(c, h.from, data + PM_GWS_HEADER_LEN, len - PM_GWS_HEADER_LEN);
}

static void client_on_closed(pm_wsmp *c, uint64_t conn)
{
    if (conn != c->server_conn)
        return;
    /* Godot 3.2 says connection_failed in both cases. */
    bool was = c->status == PM_MP_CONNECTED;
    pm_wsmp_stop(c);
    push_event(c, was ? PM_MP_EVENT_SERVER_DISCONNECTED : PM_MP_EVENT_CONNECTION_FAILED, SERVER_ID);
}

/* ---- transport inputs ---- */

void pm_wsmp_on_open(pm_wsmp *c, uint64_t conn)
{
    if (!c->active)
        return;
    if (c->server)
        server_on_open(c, conn);
    else if (!c->server_conn)
        c->server_conn = conn;
}

void pm_wsmp_on_message(pm_wsmp *c, uint64_t conn, const uint8_t *data, size_t len)
{
    if (!c->active)
        return;
    if (c->server)
        server_on_message(c, conn, data, len);
    else
        client_on_message(c, conn, data, len);
}

void pm_wsmp_on_closed(pm_wsmp *c, uint64_t conn)
{
    if (!c->active)
        return;
    if (c->server)
        server_on_closed(c, conn);
    else
        client_on_closed(c, conn);
}

bool pm_wsmp_next_output(pm_wsmp *c, pm_wsmp_action *action, uint64_t *conn, const uint8_t **data,
                         size_t *len)
{
    if (c->out_held) {
        pm_fifo_pop(&c->out);
        c->out_held = false;
    }
    uint32_t tag;
    const uint8_t *p;
    size_t n;
    if (!pm_fifo_peek(&c->out, &tag, &p, &n))
        return false;
    c->out_held = true;
    *action = (pm_wsmp_action)tag;
    memcpy(conn, p, CONN_LEN);
    *data = p + CONN_LEN;
    *len = n - CONN_LEN;
    return true;
}

/* ---- the multiplayer interface ---- */

int pm_wsmp_put_packet(pm_wsmp *c, int32_t target, const uint8_t *data, size_t len)
{
    if (c->status != PM_MP_CONNECTED)
        return PM_ERR_STATE;
    if (len > c->max_packet)
        return PM_ERR_TOO_BIG;
    /* A server's packet to itself goes nowhere (Godot: "will not send to self"). */
    if (target > 0 && !find_id(c, target) && !(c->server && target == SERVER_ID))
        return PM_ERR_INVALID;
    uint8_t h[PM_GWS_HEADER_LEN];
    pm_gws_header_write(h, PM_GWS_SYS_NONE, c->unique_id, target);
    if (!c->server)
        return push_action(c, PM_WSMP_SEND, c->server_conn, h, sizeof h, data, len);
    /* The server relays its own packet as it would a client's. */
    uint8_t *msg = pm_alloc(&c->env, sizeof h + len);
    if (!msg)
        return PM_ERR_NOMEM;
    memcpy(msg, h, sizeof h);
    if (len)
        memcpy(msg + sizeof h, data, len);
    int rc = relay(c, SERVER_ID, target, msg, sizeof h + len);
    pm_free(&c->env, msg);
    return rc;
}

int pm_wsmp_get_packet(pm_wsmp *c, pm_mp_packet *out)
{
    if (c->in_held) {
        pm_fifo_pop(&c->in);
        c->in_held = false;
    }
    uint32_t from;
    const uint8_t *p;
    size_t n;
    if (!pm_fifo_peek(&c->in, &from, &p, &n))
        return PM_ERR_AGAIN;
    c->in_held = true;
    *out =
        (pm_mp_packet){.data = p, .len = n, .from = (int32_t)from, .mode = PM_MP_TRANSFER_RELIABLE};
    return PM_OK;
}

bool pm_wsmp_next_event(pm_wsmp *c, pm_mp_event *ev)
{
    if (!c->ev_count)
        return false;
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % c->ev_cap;
    c->ev_count--;
    return true;
}

int pm_wsmp_disconnect_peer(pm_wsmp *c, int32_t peer_id, bool force)
{
    if (!c->active)
        return PM_ERR_STATE;
    pm_wsmp_member *m = find_id(c, peer_id);
    if (!m)
        return PM_ERR_INVALID;
    if (!c->server) {
        if (peer_id != SERVER_ID)
            return PM_ERR_INVALID;
        push_action(c, force ? PM_WSMP_DROP : PM_WSMP_CLOSE, c->server_conn, NULL, 0, NULL, 0);
        if (force)
            pm_wsmp_stop(c); /* at once and without events, as close() */
        return PM_OK;
    }
    uint64_t conn = m->conn;
    if (!force)
        return push_action(c, PM_WSMP_CLOSE, conn, NULL, 0, NULL, 0);
    /* At once: no event here, but the others hear of it. */
    remove_member(c, m);
    for (size_t i = 0; i < c->n_members; i++)
        send_sys(c, c->members[i].conn, PM_GWS_SYS_DEL, peer_id);
    return push_action(c, PM_WSMP_DROP, conn, NULL, 0, NULL, 0);
}
