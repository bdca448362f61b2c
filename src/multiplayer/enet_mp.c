/*
 * pm_enet: the ENet multiplayer peer — lifecycle (create_server, create_client,
 * create_mesh, add_mesh_peer, close), the member table, the event and packet
 * queues, and the multiplayer-interface ops. Receiving is in enet_poll.c,
 * sending and relaying in enet_send.c. Behaviour: GODOT-SEMANTICS.md 4.1-4.4.
 */
#include "multiplayer/enet_internal.h"

#include <stdlib.h>

static const pm_multiplayer_ops enet_ops;

void pm_enet_config_default(pm_enet_config *cfg)
{
    if (!cfg)
        return;
    *cfg = (pm_enet_config){
        .format = PM_ENET_FORMAT_GODOT3,
        .compression = PM_ENET_COMPRESS_NONE,
        .server_relay = true,
        .max_pending_per_address = 4,
        .pending_timeout_ms = 5000,
    };
}

int pm_enet_new(const pm_enet_config *cfg, pm_enet **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_enet_config def;
    if (!cfg) {
        pm_enet_config_default(&def);
        cfg = &def;
    }
    if (cfg->format != PM_ENET_FORMAT_GODOT3 && cfg->format != PM_ENET_FORMAT_GODOT4)
        return PM_ERR_INVALID;
    if (cfg->compression != PM_ENET_COMPRESS_NONE &&
        cfg->compression != PM_ENET_COMPRESS_RANGE_CODER)
        return cfg->compression <= PM_ENET_COMPRESS_ZSTD ? PM_ERR_UNSUPPORTED : PM_ERR_INVALID;
    uint32_t any;
    if (cfg->bind_ip && pm_enet_parse_ip(cfg->bind_ip, true, &any) != PM_OK)
        return PM_ERR_INVALID;
    if (cfg->max_pending_per_address < 0 || cfg->max_pending < 0)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_enet *e = pm_calloc(&env, sizeof *e);
    if (!e)
        return PM_ERR_NOMEM;
    e->env = env;
    e->fmt = cfg->format == PM_ENET_FORMAT_GODOT3 ? PM_GENET_GODOT3 : PM_GENET_GODOT4;
    e->compression = cfg->compression;
    e->server_relay = cfg->server_relay;
    e->always_ordered = cfg->always_ordered;
    e->pending_per_address = cfg->max_pending_per_address;
    e->pending_total = cfg->max_pending;
    e->pending_timeout_ms = cfg->pending_timeout_ms;
    if (cfg->bind_ip && !(e->bind_ip = pm_strdup(&env, cfg->bind_ip))) {
        pm_free(&env, e);
        return PM_ERR_NOMEM;
    }
    e->waitset = -1;
    int r = pm_multiplayer_new_env(&env, &enet_ops, e, &e->mp);
    if (r == PM_OK && env.sockets && env.sockets->waitset_new &&
        (e->waitset = env.sockets->waitset_new()) < 0) {
        PM_ERROR(&env, PM_ENET_COMPONENT, "cannot create a wait set: %s", pm_strerror(e->waitset));
        r = e->waitset;
    }
    if (r != PM_OK) {
        pm_multiplayer_free(e->mp);
        pm_free(&env, e->bind_ip);
        pm_free(&env, e);
        return r;
    }
    *out = e;
    return PM_OK;
}

void pm_enet_free(pm_enet *e)
{
    if (!e)
        return;
    pm_enet_shutdown(e, true);
    if (e->waitset >= 0)
        e->env.sockets->waitset_close(e->waitset);
    pm_enet_rxq_free(&e->env, &e->incoming);
    pm_multiplayer_free(e->mp);
    pm_envr env = e->env;
    pm_free(&env, e->members);
    pm_free(&env, e->events);
    pm_free(&env, e->bind_ip);
    pm_free(&env, e);
}

pm_multiplayer *pm_enet_multiplayer(pm_enet *e)
{
    return e ? e->mp : NULL;
}

/* ---- members and events ---- */

pm_enet_member *pm_enet_find(pm_enet *e, int32_t id)
{
    for (size_t i = 0; i < e->n_members; i++)
        if (e->members[i].id == id)
            return &e->members[i];
    return NULL;
}

int pm_enet_add_member(pm_enet *e, int32_t id, pm_enet_packet_peer *pp, pm_enet_host *mesh_host)
{
    if (e->n_members == e->cap_members) {
        size_t ncap = e->cap_members ? e->cap_members * 2 : 8;
        pm_enet_member *n = pm_realloc(&e->env, e->members, ncap * sizeof *n);
        if (!n)
            return PM_ERR_NOMEM;
        e->members = n;
        e->cap_members = ncap;
    }
    e->members[e->n_members++] = (pm_enet_member){.id = id, .pp = pp, .mesh_host = mesh_host};
    if (pp)
        pp->mp_id = id;
    return PM_OK;
}

void pm_enet_remove_member(pm_enet *e, size_t index)
{
    if (index >= e->n_members)
        return;
    if (e->members[index].pp)
        e->members[index].pp->mp_id = 0;
    e->members[index] = e->members[--e->n_members];
}

void pm_enet_push_event(pm_enet *e, pm_mp_event_type type, int32_t peer_id)
{
    if (e->ev_count == e->ev_cap) {
        size_t ncap = e->ev_cap ? e->ev_cap * 2 : 16;
        pm_mp_event *n = pm_alloc(&e->env, ncap * sizeof *n);
        if (!n) {
            PM_ERROR(&e->env, PM_ENET_COMPONENT, "out of memory: event %d for peer %d lost",
                     (int)type, (int)peer_id);
            return;
        }
        for (size_t i = 0; i < e->ev_count; i++)
            n[i] = e->events[(e->ev_head + i) % e->ev_cap];
        pm_free(&e->env, e->events);
        e->events = n;
        e->ev_cap = ncap;
        e->ev_head = 0;
    }
    e->events[(e->ev_head + e->ev_count) % e->ev_cap] =
        (pm_mp_event){.type = type, .peer_id = peer_id};
    e->ev_count++;
}

void pm_enet_shutdown(pm_enet *e, bool notify)
{
    /* 3.2's close_connection() tells each peer with its own id as data; 4.x with 0. */
    uint32_t data = e->fmt == PM_GENET_GODOT3 ? (uint32_t)e->unique_id : 0;
    for (size_t i = 0; i < e->n_members; i++) {
        pm_enet_member *m = &e->members[i];
        if (notify && m->pp && m->pp->peer->state != ENET_PEER_STATE_DISCONNECTED)
            enet_peer_disconnect_now(m->pp->peer, data);
        if (m->mesh_host)
            pm_enet_host_free(m->mesh_host);
    }
    if (e->host) {
        /* Refused or half-open connections get a notice too. */
        for (size_t i = 0; notify && i < e->host->host->peerCount; i++)
            if (e->host->host->peers[i].state != ENET_PEER_STATE_DISCONNECTED)
                enet_peer_disconnect_now(&e->host->host->peers[i], data);
        pm_enet_host_free(e->host);
        e->host = NULL;
    }
    e->n_members = 0;
    pm_enet_release_current(e);
    pm_enet_rxq_clear(&e->incoming);
    e->mode = PM_ENET_MODE_NONE;
    e->status = PM_MP_DISCONNECTED;
    e->unique_id = 0;
    e->refuse = false;
}

/* ---- creation ---- */

static int channel_count_for(pm_enet *e, int extra, size_t *out)
{
    /* Godot 4's default (0 extra) requests ENet's maximum, 255. */
    if (e->fmt == PM_GENET_GODOT4 && extra == 0) {
        *out = PM_GENET_MAX_CHANNELS;
        return PM_OK;
    }
    int n = pm_genet_channel_count(e->fmt, extra);
    if (n < 0)
        return n;
    *out = (size_t)n;
    return PM_OK;
}

static int setup_host(pm_enet *e, const char *bind_ip, uint16_t port, int peers, uint32_t in_bw,
                      uint32_t out_bw)
{
    pm_enet_host *h;
    int r = pm_enet_host_create_bound(&e->env.e, bind_ip, port, peers, (int)e->channel_count, in_bw,
                                      out_bw, &h);
    if (r != PM_OK)
        return r;
    r = pm_enet_host_compress(h, e->compression);
    if (r == PM_OK)
        r = pm_enet_host_watch(h, e->waitset);
    if (r != PM_OK) {
        pm_enet_host_free(h);
        return r;
    }
    e->host = h;
    return PM_OK;
}

int pm_enet_create_server(pm_enet *e, uint16_t port, int max_clients, int extra_channels,
                          uint32_t in_bandwidth, uint32_t out_bandwidth)
{
    if (!e || max_clients < 1 || max_clients > PM_ENET_MAX_PEERS)
        return PM_ERR_INVALID;
    if (e->mode != PM_ENET_MODE_NONE)
        return PM_ERR_STATE;
    int r = channel_count_for(e, extra_channels, &e->channel_count);
    if (r != PM_OK)
        return r;
    r = setup_host(e, e->bind_ip, port, max_clients, in_bandwidth, out_bandwidth);
    if (r != PM_OK)
        return r;
    /* Half the slots at most for connections not finished yet: the rest
     * stay for those that do finish. */
    int total = e->pending_total ? e->pending_total : (max_clients + 1) / 2;
    (void)pm_enet_host_limit_pending(e->host, e->pending_per_address, total, e->pending_timeout_ms);
    e->mode = PM_ENET_MODE_SERVER;
    e->status = PM_MP_CONNECTED;
    e->unique_id = PM_GENET_SERVER_ID;
    e->refuse = false;
    PM_INFO(&e->env, PM_ENET_COMPONENT, "godot%d server on port %u", (int)e->fmt,
            pm_enet_host_get_local_port(e->host));
    return PM_OK;
}

int pm_enet_create_client(pm_enet *e, const char *address, uint16_t port, int extra_channels,
                          uint32_t in_bandwidth, uint32_t out_bandwidth, uint16_t local_port)
{
    if (!e || !address || port == 0)
        return PM_ERR_INVALID;
    if (e->mode != PM_ENET_MODE_NONE)
        return PM_ERR_STATE;
    uint32_t ip;
    if (pm_enet_parse_ip(address, false, &ip) != PM_OK)
        return PM_ERR_INVALID;
    int r = channel_count_for(e, extra_channels, &e->channel_count);
    if (r != PM_OK)
        return r;
    r = setup_host(e, e->bind_ip, local_port, 1, in_bandwidth, out_bandwidth);
    if (r != PM_OK)
        return r;
    /* The id travels in CONNECT's data; the server rejects < 2 and duplicates. */
    uint32_t id = pm_genet_id_from_random(pm_random_u32(&e->env));
    pm_enet_packet_peer *server;
    r = pm_enet_host_connect(e->host, address, port, (int)e->channel_count, id, &server);
    if (r != PM_OK) {
        pm_enet_host_free(e->host);
        e->host = NULL;
        return r;
    }
    enet_host_flush(e->host->host);
    e->mode = PM_ENET_MODE_CLIENT;
    e->status = PM_MP_CONNECTING;
    e->unique_id = (int32_t)id;
    e->refuse = false;
    return PM_OK;
}

int pm_enet_create_mesh(pm_enet *e, int32_t unique_id)
{
    if (!e || unique_id <= 0)
        return PM_ERR_INVALID;
    if (e->mode != PM_ENET_MODE_NONE)
        return PM_ERR_STATE;
    e->mode = PM_ENET_MODE_MESH;
    e->status = PM_MP_CONNECTED;
    e->unique_id = unique_id;
    e->refuse = false;
    e->channel_count = PM_GENET_MAX_CHANNELS; /* per host; checked against each peer */
    return PM_OK;
}

int pm_enet_add_mesh_peer(pm_enet *e, int32_t peer_id, pm_enet_host *host)
{
    if (!e || !host || peer_id <= 0 || peer_id == e->unique_id)
        return PM_ERR_INVALID;
    if (e->mode != PM_ENET_MODE_MESH)
        return PM_ERR_STATE;
    if (pm_enet_find(e, peer_id))
        return PM_ERR_EXISTS;
    for (size_t i = 0; i < e->n_members; i++)
        if (e->members[i].mesh_host == host)
            return PM_ERR_INVALID;
    pm_enet_packet_peer *pp = NULL;
    if (pm_enet_host_get_peers(host, &pp, 1) != 1 || pp->peer->state != ENET_PEER_STATE_CONNECTED) {
        PM_WARN(&e->env, PM_ENET_COMPONENT,
                "add_mesh_peer %d: the host needs exactly one connected peer", (int)peer_id);
        return PM_ERR_INVALID;
    }
    int r = pm_enet_host_watch(host, e->waitset);
    if (r == PM_OK)
        r = pm_enet_add_member(e, peer_id, pp, host);
    if (r != PM_OK) {
        if (host->waitset >= 0)
            e->env.sockets->waitset_forget(host->waitset, host->host->socket);
        host->waitset = -1;
        return r;
    }
    pm_enet_push_event(e, PM_MP_EVENT_PEER_CONNECTED, peer_id);
    /* Whatever the application had not read yet goes through our receive path. */
    pm_enet_pp_release(pp);
    pm_enet_rx rx;
    while (pm_enet_rxq_pop(&pp->rx, &rx))
        pm_enet_on_receive(e, pp, rx.enet_channel, rx.packet);
    return PM_OK;
}

pm_enet_host *pm_enet_get_host(pm_enet *e)
{
    return e && e->mode != PM_ENET_MODE_MESH ? e->host : NULL;
}

pm_enet_packet_peer *pm_enet_get_peer(pm_enet *e, int32_t peer_id)
{
    if (!e)
        return NULL;
    pm_enet_member *m = pm_enet_find(e, peer_id);
    return m ? m->pp : NULL;
}

uint16_t pm_enet_get_local_port(const pm_enet *e)
{
    return e && e->host ? pm_enet_host_get_local_port(e->host) : 0;
}

pm_enet_format pm_enet_get_format(const pm_enet *e)
{
    return e && e->fmt == PM_GENET_GODOT4 ? PM_ENET_FORMAT_GODOT4 : PM_ENET_FORMAT_GODOT3;
}

void pm_enet_get_stats(const pm_enet *e, pm_enet_stats *out)
{
    if (out)
        *out = e ? e->stats : (pm_enet_stats){0};
    if (e && e->host && out)
        out->connections_pending_refused = pm_enet_host_pending_refused(e->host);
}

int pm_enet_fd(const pm_enet *e)
{
    if (!e)
        return PM_ERR_INVALID;
    return e->waitset >= 0 ? e->waitset : PM_ERR_UNSUPPORTED;
}

pm_time pm_enet_next_timeout(const pm_enet *e)
{
    if (!e)
        return PM_TIME_NEVER;
    pm_time t = pm_enet_host_next_timeout(e->host);
    for (size_t i = 0; i < e->n_members; i++)
        if (e->members[i].mesh_host)
            t = PM_MIN(t, pm_enet_host_next_timeout(e->members[i].mesh_host));
    return t;
}

int pm_enet_wait(pm_enet *e, int timeout_ms)
{
    if (!e)
        return PM_ERR_INVALID;
    if (e->host)
        return pm_enet_host_wait(e->host, timeout_ms);
    if (e->mode != PM_ENET_MODE_MESH)
        return PM_ERR_STATE;
    ENetSocketSet set;
    ENET_SOCKETSET_EMPTY(set);
    ENetSocket max = 0;
    for (size_t i = 0; i < e->n_members; i++) {
        ENetSocket s = e->members[i].mesh_host->host->socket;
        ENET_SOCKETSET_ADD(set, s);
        max = s > max ? s : max;
    }
    int r = enet_socketset_select(max, &set, NULL, timeout_ms > 0 ? (enet_uint32)timeout_ms : 0);
    if (r < 0)
        return PM_ERR_IO;
    return r > 0 ? 1 : 0;
}

/* ---- interface ops ---- */

static int op_get_packet(void *impl, pm_mp_packet *out)
{
    pm_enet *e = impl;
    pm_enet_release_current(e);
    pm_enet_rx rx;
    if (!pm_enet_rxq_pop(&e->incoming, &rx))
        return PM_ERR_AGAIN;
    e->current = rx.packet;
    *out = (pm_mp_packet){
        /* ENet leaves data NULL for an empty packet; hand out a valid pointer anyway. */
        .data = rx.packet->data ? rx.packet->data + rx.offset : (const uint8_t *)"",
        .len = rx.packet->dataLength - rx.offset,
        .from = rx.from,
        .channel = rx.channel,
        .mode = rx.mode,
    };
    return PM_OK;
}

static int op_get_available_packet_count(const void *impl)
{
    return (int)((const pm_enet *)impl)->incoming.count;
}

static bool op_next_event(void *impl, pm_mp_event *ev)
{
    pm_enet *e = impl;
    if (!e->ev_count)
        return false;
    *ev = e->events[e->ev_head];
    e->ev_head = (e->ev_head + 1) % e->ev_cap;
    e->ev_count--;
    return true;
}

static int32_t op_get_unique_id(const void *impl)
{
    return ((const pm_enet *)impl)->unique_id;
}

static pm_mp_status op_get_connection_status(const void *impl)
{
    return ((const pm_enet *)impl)->status;
}

static void op_set_refuse_new_connections(void *impl, bool refuse)
{
    ((pm_enet *)impl)->refuse = refuse;
}

static bool op_is_refusing_new_connections(const void *impl)
{
    return ((const pm_enet *)impl)->refuse;
}

static void op_close(void *impl)
{
    pm_enet_shutdown(impl, true);
}

static bool op_is_server_relay_supported(const void *impl)
{
    /* 3.2 relays in the transport; 4.x leaves it to SceneMultiplayer; a mesh never relays. */
    const pm_enet *e = impl;
    return e->fmt == PM_GENET_GODOT3 && e->server_relay &&
           (e->mode == PM_ENET_MODE_SERVER || e->mode == PM_ENET_MODE_CLIENT);
}

static size_t op_get_max_packet_size(const void *impl)
{
    (void)impl;
    return PM_ENET_MAX_PACKET_SIZE;
}

static const pm_multiplayer_ops enet_ops = {
    .poll = pm_enet_poll,
    .put_packet = pm_enet_put_packet,
    .get_packet = op_get_packet,
    .get_available_packet_count = op_get_available_packet_count,
    .next_event = op_next_event,
    .get_unique_id = op_get_unique_id,
    .get_connection_status = op_get_connection_status,
    .set_refuse_new_connections = op_set_refuse_new_connections,
    .is_refusing_new_connections = op_is_refusing_new_connections,
    .disconnect_peer = pm_enet_disconnect_peer,
    .close = op_close,
    .is_server_relay_supported = op_is_server_relay_supported,
    .get_max_packet_size = op_get_max_packet_size,
};
