/* The WebRTC mesh: lifecycle, set-up (Godot 3.2 and 4.x), the peers table, events. */
#include "mesh_internal.h"

#include <stdio.h>
#include <string.h>

/* Godot: ~(1 << 31). */
#define ID_MAX INT32_MAX
/* maxPacketLifeTime: RFC 8832 section 5.1 carries 32 bits; our channels take 16 (rtc.h). */
#define LIFETIME_MAX 65535

static const pm_multiplayer_ops MESH_OPS;

void pm_mesh_config_default(pm_mesh_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

int pm_mesh_new(const pm_mesh_config *cfg, pm_mesh **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_mesh_config defaults;
    if (!cfg) {
        pm_mesh_config_default(&defaults);
        cfg = &defaults;
    }
    if (cfg->connect_timeout < 0 || cfg->disconnect_grace < 0)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_mesh *m = pm_calloc(&env, sizeof *m);
    if (!m)
        return PM_ERR_NOMEM;
    m->env = env;
    m->connect_timeout = cfg->connect_timeout;
    m->disconnect_grace = cfg->disconnect_grace;
    m->status = PM_MP_DISCONNECTED;
    m->waitset = -1;
    int rc = pm_multiplayer_new_env(&env, &MESH_OPS, m, &m->mp);
    /* No socket driver (a browser): no descriptors, pm_mesh_fd says PM_ERR_UNSUPPORTED. */
    if (rc == PM_OK && env.sockets && env.sockets->waitset_new &&
        (m->waitset = env.sockets->waitset_new()) < 0) {
        PM_ERROR(&env, "mesh", "cannot create the mesh's wait set: %s", pm_strerror(m->waitset));
        rc = m->waitset;
    }
    if (rc != PM_OK) {
        pm_multiplayer_free(m->mp);
        pm_free(&env, m);
        return rc;
    }
    *out = m;
    return PM_OK;
}

void pm_mesh_free(pm_mesh *m)
{
    if (!m)
        return;
    pm_mesh_close(m);
    if (m->waitset >= 0)
        m->env.sockets->waitset_close(m->waitset);
    pm_multiplayer_free(m->mp);
    pm_free(&m->env, m->peers);
    pm_free(&m->env, m->events);
    pm_envr env = m->env;
    pm_free(&env, m);
}

pm_multiplayer *pm_mesh_multiplayer(pm_mesh *m)
{
    return m ? m->mp : NULL;
}

int pm_mesh_fd(const pm_mesh *m)
{
    if (!m)
        return PM_ERR_INVALID;
    return m->waitset >= 0 ? m->waitset : PM_ERR_UNSUPPORTED;
}

/* A link's descriptor joins the mesh's wait set for as long as the link is in the mesh. */
static int link_fd(const pm_mesh *m, const pm_mesh_peer *p)
{
    return m->waitset >= 0 && p->ops->fd ? p->ops->fd(p->link) : -1;
}

/* ---- set-up ------------------------------------------------------------ */

static int setup(pm_mesh *m, pm_mesh_mode mode, bool compat, int32_t id,
                 const pm_mp_transfer_mode *extra, size_t n_extra)
{
    if (!m)
        return PM_ERR_INVALID;
    if (m->mode != PM_MESH_MODE_NONE) {
        PM_ERROR(&m->env, "mesh", "already set up as node %d: close() first", (int)m->unique_id);
        return PM_ERR_STATE;
    }
    if (id < 1 || id > ID_MAX || n_extra > PM_MESH_MAX_EXTRA_CHANNELS || (n_extra && !extra))
        return PM_ERR_INVALID;
    for (size_t i = 0; i < n_extra; i++)
        if (extra[i] < PM_MP_TRANSFER_UNRELIABLE || extra[i] > PM_MP_TRANSFER_RELIABLE) {
            PM_ERROR(&m->env, "mesh", "extra channel %zu: %d is not a transfer mode", i + 1,
                     (int)extra[i]);
            return PM_ERR_INVALID;
        }
    m->chan_modes[PM_MESH_CH_RELIABLE] = PM_MP_TRANSFER_RELIABLE;
    m->chan_modes[PM_MESH_CH_ORDERED] = PM_MP_TRANSFER_UNRELIABLE_ORDERED;
    m->chan_modes[PM_MESH_CH_UNRELIABLE] = PM_MP_TRANSFER_UNRELIABLE;
    for (size_t i = 0; i < n_extra; i++)
        m->chan_modes[PM_MESH_CH_RESERVED + i] = extra[i];
    m->chan_count = PM_MESH_CH_RESERVED + (int)n_extra;
    m->mode = mode;
    m->server_compat = compat;
    m->unique_id = id;
    m->host_id = PM_MP_TARGET_SERVER;
    /* Godot: mesh and server are always connected; a client waits for peer 1. */
    m->status = pm_mesh_is_client(m) && id != 1 ? PM_MP_CONNECTING : PM_MP_CONNECTED;
    m->setup_at = pm_env_now(&m->env);
    return PM_OK;
}

int pm_mesh_initialize(pm_mesh *m, int32_t id, bool server_compatibility)
{
    return setup(m, PM_MESH_MODE_LEGACY, server_compatibility, id, NULL, 0);
}

int pm_mesh_create_mesh(pm_mesh *m, int32_t id, const pm_mp_transfer_mode *extra, size_t n_extra)
{
    return setup(m, PM_MESH_MODE_MESH, false, id, extra, n_extra);
}

int pm_mesh_create_server(pm_mesh *m, const pm_mp_transfer_mode *extra, size_t n_extra)
{
    return setup(m, PM_MESH_MODE_SERVER, false, PM_MP_TARGET_SERVER, extra, n_extra);
}

int pm_mesh_create_client(pm_mesh *m, int32_t id, const pm_mp_transfer_mode *extra, size_t n_extra)
{
    if (id == PM_MP_TARGET_SERVER)
        return PM_ERR_INVALID;
    return setup(m, PM_MESH_MODE_CLIENT, false, id, extra, n_extra);
}

bool pm_mesh_counts_unconnected(const pm_mesh *m)
{
    return m->mode == PM_MESH_MODE_LEGACY;
}

/* ---- the peers table (sorted by id) ------------------------------------ */

static size_t lower_bound(const pm_mesh *m, int32_t id)
{
    size_t lo = 0, hi = m->peer_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->peers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

pm_mesh_peer *pm_mesh_find(const pm_mesh *m, int32_t id)
{
    size_t i = lower_bound(m, id);
    return i < m->peer_count && m->peers[i].id == id ? &m->peers[i] : NULL;
}

static const char *const DEFAULT_LABELS[PM_MESH_CH_RESERVED] = {"reliable", "ordered",
                                                                "unreliable"};

static int create_channels(pm_mesh *m, const pm_mesh_link_ops *ops, void *link, int lifetime)
{
    for (int i = 0; i < m->chan_count; i++) {
        char label[16];
        pm_mesh_chan_spec spec = {.stream_id = i + 1, .ordered = true, .max_packet_lifetime = -1};
        if (i < PM_MESH_CH_RESERVED) {
            spec.label = DEFAULT_LABELS[i];
        } else {
            snprintf(label, sizeof label, "%d", i + 1); /* Godot: str(id) */
            spec.label = label;
        }
        if (m->chan_modes[i] != PM_MP_TRANSFER_RELIABLE)
            spec.max_packet_lifetime = lifetime;
        if (m->chan_modes[i] == PM_MP_TRANSFER_UNRELIABLE)
            spec.ordered = false;
        int rc = ops->create_channel(link, i, &spec);
        if (rc != PM_OK) {
            PM_ERROR(&m->env, "mesh", "cannot create channel '%s': %s", spec.label,
                     pm_strerror(rc));
            return rc;
        }
    }
    return PM_OK;
}

/* Godot 4 add_peer's checks, in its order; 3.2 (LEGACY) accepts any id but our own. */
static int check_new_peer(pm_mesh *m, const pm_mesh_link_ops *ops, void *link, int32_t id,
                          int lifetime)
{
    if (m->mode == PM_MESH_MODE_NONE)
        return PM_ERR_STATE;
    if ((m->mode == PM_MESH_MODE_CLIENT && id != PM_MP_TARGET_SERVER) ||
        (m->mode == PM_MESH_MODE_SERVER && id == PM_MP_TARGET_SERVER)) {
        PM_ERROR(&m->env, "mesh", "a %s cannot add peer %d",
                 m->mode == PM_MESH_MODE_CLIENT ? "client" : "server", (int)id);
        return PM_ERR_INVALID;
    }
    if (id < 1 || id > ID_MAX || id == m->unique_id || lifetime < PM_MESH_LIFETIME_RELIABLE ||
        lifetime > LIFETIME_MAX || !ops || !link)
        return PM_ERR_INVALID;
    if (m->refuse) {
        PM_INFO(&m->env, "mesh", "refusing new peer %d", (int)id);
        return PM_ERR_STATE;
    }
    if (ops->state(link) != PM_RTC_STATE_NEW) {
        PM_ERROR(&m->env, "mesh", "peer %d: the connection must be NEW", (int)id);
        return PM_ERR_STATE;
    }
    if (pm_mesh_find(m, id)) {
        PM_ERROR(&m->env, "mesh", "peer %d is already in the mesh", (int)id);
        return PM_ERR_EXISTS;
    }
    return PM_OK;
}

int pm_mesh_add_link(pm_mesh *m, const pm_mesh_link_ops *ops, void *link, int32_t id,
                     int unreliable_lifetime)
{
    if (!m)
        return PM_ERR_INVALID;
    int rc = check_new_peer(m, ops, link, id, unreliable_lifetime);
    if (rc != PM_OK)
        return rc;
    if (m->peer_count == m->peer_cap) {
        size_t cap = m->peer_cap ? m->peer_cap * 2 : 8;
        pm_mesh_peer *p = pm_realloc(&m->env, m->peers, cap * sizeof *p);
        if (!p)
            return PM_ERR_NOMEM;
        m->peers = p;
        m->peer_cap = cap;
    }
    if ((rc = create_channels(m, ops, link, unreliable_lifetime)) != PM_OK)
        return rc;
    size_t at = lower_bound(m, id);
    memmove(&m->peers[at + 1], &m->peers[at], (m->peer_count - at) * sizeof *m->peers);
    pm_mesh_peer *p = &m->peers[at];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->ops = ops;
    p->link = link;
    p->disconnected_since = -1;
    p->st.connected_at = -1;
    p->st.rtt = -1;
    m->peer_count++;
    int fd = link_fd(m, p);
    if (fd >= 0 && (rc = m->env.sockets->waitset_watch(m->waitset, fd, false)) != PM_OK) {
        PM_ERROR(&m->env, "mesh", "peer %d: cannot watch its socket: %s", (int)id, pm_strerror(rc));
        memmove(&m->peers[at], &m->peers[at + 1], (m->peer_count - at - 1) * sizeof *m->peers);
        m->peer_count--;
        return rc;
    }
    PM_DEBUG(&m->env, "mesh", "node %d: peer %d added", (int)m->unique_id, (int)id);
    return PM_OK;
}

void pm_mesh_erase(pm_mesh *m, int32_t id)
{
    size_t i = lower_bound(m, id);
    if (i >= m->peer_count || m->peers[i].id != id)
        return;
    pm_mesh_peer gone = m->peers[i];
    int fd = link_fd(m, &gone);
    if (fd >= 0)
        m->env.sockets->waitset_forget(m->waitset, fd);
    memmove(&m->peers[i], &m->peers[i + 1], (m->peer_count - i - 1) * sizeof *m->peers);
    m->peer_count--;
    if (m->next_packet_peer == id)
        m->next_packet_peer = 0;
    /* Godot drops its last reference: the connection's destructor closes it. */
    gone.ops->destroy(gone.link);
}

int pm_mesh_remove_peer(pm_mesh *m, int32_t id)
{
    if (!m)
        return PM_ERR_INVALID;
    pm_mesh_peer *p = pm_mesh_find(m, id);
    if (!p) {
        PM_ERROR(&m->env, "mesh", "remove_peer: no peer %d", (int)id);
        return PM_ERR_NOT_FOUND;
    }
    bool was_connected = p->connected;
    pm_mesh_erase(m, id);
    if (!was_connected)
        return PM_OK;
    pm_mesh_emit(m, PM_MP_EVENT_PEER_DISCONNECTED, id);
    if (pm_mesh_is_our_server(m, id)) {
        /* Godot's code (not its 3.2 doc): the status becomes DISCONNECTED. */
        pm_mesh_emit(m, PM_MP_EVENT_SERVER_DISCONNECTED, id);
        m->status = PM_MP_DISCONNECTED;
    }
    return PM_OK;
}

int pm_mesh_set_host(pm_mesh *m, int32_t id)
{
    if (!m || id < 1)
        return PM_ERR_INVALID;
    if (m->mode != PM_MESH_MODE_LEGACY && m->mode != PM_MESH_MODE_MESH)
        return PM_ERR_STATE;
    if (id == m->host_id)
        return PM_OK;
    PM_INFO(&m->env, "mesh", "node %d: peer %d is the host now (was %d)", (int)m->unique_id,
            (int)id, (int)m->host_id);
    m->host_id = id;
    pm_mesh_emit(m, PM_MP_EVENT_HOST_CHANGED, id);
    if (!pm_mesh_is_client(m) || m->status == PM_MP_CONNECTED)
        return PM_OK;
    /* A server compatibility mesh without its server: the new one brings it
     * back as the first one did (mesh_poll.c, announce_legacy). */
    if (id == m->unique_id) {
        m->status = PM_MP_CONNECTED;
        pm_mesh_emit(m, PM_MP_EVENT_CONNECTION_SUCCEEDED, id);
        for (size_t j = 0; j < m->peer_count; j++) {
            m->peers[j].to_announce = false;
            if (m->peers[j].connected)
                pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, m->peers[j].id);
        }
        return PM_OK;
    }
    m->status = PM_MP_CONNECTING;
    m->setup_at = pm_env_now(&m->env);
    pm_mesh_peer *p = pm_mesh_find(m, id);
    if (p && p->connected)
        p->to_announce = true; /* up already: announced at the next poll */
    return PM_OK;
}

int32_t pm_mesh_get_host(const pm_mesh *m)
{
    return m && m->mode != PM_MESH_MODE_NONE ? m->host_id : 0;
}

bool pm_mesh_has_peer(const pm_mesh *m, int32_t id)
{
    return m && pm_mesh_find(m, id) != NULL;
}

int pm_mesh_get_peer(const pm_mesh *m, int32_t id, pm_mesh_peer_info *out)
{
    if (!m || !out)
        return PM_ERR_INVALID;
    const pm_mesh_peer *p = pm_mesh_find(m, id);
    if (!p)
        return PM_ERR_NOT_FOUND;
    out->id = id;
    out->connection = p->ops->connection ? p->ops->connection(p->link) : NULL;
    out->channels = p->ops->channels ? p->ops->channels(p->link) : NULL;
    out->channel_count = (size_t)m->chan_count;
    out->connected = p->connected;
    return PM_OK;
}

size_t pm_mesh_get_peers(const pm_mesh *m, int32_t *ids, size_t cap)
{
    if (!m)
        return 0;
    for (size_t i = 0; i < m->peer_count && i < cap && ids; i++)
        ids[i] = m->peers[i].id;
    return m->peer_count;
}

void pm_mesh_close(pm_mesh *m)
{
    if (!m)
        return;
    while (m->peer_count)
        pm_mesh_erase(m, m->peers[m->peer_count - 1].id);
    m->mode = PM_MESH_MODE_NONE;
    m->server_compat = false;
    m->unique_id = 0;
    m->status = PM_MP_DISCONNECTED;
    m->chan_count = 0;
    m->next_packet_peer = 0;
    pm_mp_set_target_peer(m->mp, 0);
}

/* ---- events ------------------------------------------------------------ */

void pm_mesh_emit(pm_mesh *m, pm_mp_event_type type, int32_t peer_id)
{
    if (m->ev_count == m->ev_cap) {
        size_t cap = m->ev_cap ? m->ev_cap * 2 : 16;
        pm_mp_event *e = pm_alloc(&m->env, cap * sizeof *e);
        if (!e) {
            PM_ERROR(&m->env, "mesh", "out of memory: event %d for peer %d lost", (int)type,
                     (int)peer_id);
            return;
        }
        for (size_t i = 0; i < m->ev_count; i++)
            e[i] = m->events[(m->ev_head + i) % m->ev_cap];
        pm_free(&m->env, m->events);
        m->events = e;
        m->ev_head = 0;
        m->ev_cap = cap;
    }
    m->events[(m->ev_head + m->ev_count) % m->ev_cap] = (pm_mp_event){type, peer_id};
    m->ev_count++;
    PM_DEBUG(&m->env, "mesh", "node %d: event %d peer %d", (int)m->unique_id, (int)type,
             (int)peer_id);
}

static bool next_event(void *impl, pm_mp_event *ev)
{
    pm_mesh *m = impl;
    if (!m->ev_count)
        return false;
    *ev = m->events[m->ev_head];
    m->ev_head = (m->ev_head + 1) % m->ev_cap;
    m->ev_count--;
    return true;
}

/* ---- the multiplayer-peer interface ------------------------------------ */

static int op_poll(void *impl)
{
    return pm_mesh_poll(impl);
}

static int op_put(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                  const uint8_t *data, size_t len)
{
    return pm_mesh_put(impl, target, mode, channel, data, len);
}

static int op_get(void *impl, pm_mp_packet *out)
{
    return pm_mesh_get(impl, out);
}

static int op_available(const void *impl)
{
    return pm_mesh_available(impl);
}

static int32_t op_unique_id(const void *impl)
{
    const pm_mesh *m = impl;
    /* Godot prints an error and returns 1 while DISCONNECTED; we return the
     * real id (0 when not set up), so is_server() stays truthful. */
    return m->unique_id;
}

static pm_mp_status op_status(const void *impl)
{
    return ((const pm_mesh *)impl)->status;
}

static void op_set_refuse(void *impl, bool refuse)
{
    ((pm_mesh *)impl)->refuse = refuse;
}

static bool op_is_refusing(const void *impl)
{
    return ((const pm_mesh *)impl)->refuse;
}

/* Godot 4 disconnect_peer: close (removed by the next poll) or erase at once without event. */
static int op_disconnect(void *impl, int32_t id, bool force)
{
    pm_mesh *m = impl;
    pm_mesh_peer *p = pm_mesh_find(m, id);
    if (!p) {
        PM_ERROR(&m->env, "mesh", "disconnect_peer: no peer %d", (int)id);
        return PM_ERR_NOT_FOUND;
    }
    if (!force) {
        p->ops->close(p->link);
        return PM_OK;
    }
    pm_mesh_erase(m, id);
    if (pm_mesh_is_our_server(m, id))
        m->status = PM_MP_DISCONNECTED;
    return PM_OK;
}

static void op_close(void *impl)
{
    pm_mesh_close(impl);
}

static bool op_relay(const void *impl)
{
    const pm_mesh *m = impl;
    return m->mode == PM_MESH_MODE_SERVER || m->mode == PM_MESH_MODE_CLIENT;
}

/* What a broadcast put_packet takes (mesh_route.c refuses more than any peer's limit). */
static size_t op_max_packet(const void *impl)
{
    const pm_mesh *m = impl;
    size_t limit = m->peer_count ? SIZE_MAX : PM_MESH_DEFAULT_MAX_MESSAGE;
    for (size_t i = 0; i < m->peer_count; i++)
        limit = PM_MIN(limit, m->peers[i].ops->max_message(m->peers[i].link));
    return limit;
}

static const pm_multiplayer_ops MESH_OPS = {
    .poll = op_poll,
    .put_packet = op_put,
    .get_packet = op_get,
    .get_available_packet_count = op_available,
    .next_event = next_event,
    .get_unique_id = op_unique_id,
    .get_connection_status = op_status,
    .set_refuse_new_connections = op_set_refuse,
    .is_refusing_new_connections = op_is_refusing,
    .disconnect_peer = op_disconnect,
    .close = op_close,
    .is_server_relay_supported = op_relay,
    .get_max_packet_size = op_max_packet,
};
