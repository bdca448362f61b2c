/*
 * Moving packets: put_packet routing (Godot's target-peer forms) and
 * get_packet's round-robin across peers (Godot's _find_next_peer).
 */
#include "mesh_internal.h"

/* The channel index for a send: extra channel k is index k + 2 (stream id k + 3). */
static int channel_index(const pm_mesh *m, pm_mp_transfer_mode mode, int channel)
{
    if (channel > 0)
        return channel <= m->chan_count - PM_MESH_CH_RESERVED ? channel + PM_MESH_CH_RESERVED - 1
                                                              : -1;
    if (channel < 0)
        return -1;
    switch (mode) {
    case PM_MP_TRANSFER_RELIABLE:
        return PM_MESH_CH_RELIABLE;
    case PM_MP_TRANSFER_UNRELIABLE_ORDERED:
        return PM_MESH_CH_ORDERED;
    case PM_MP_TRANSFER_UNRELIABLE:
        return PM_MESH_CH_UNRELIABLE;
    }
    return -1;
}

static void count_sent(pm_mesh_peer *p, size_t len)
{
    p->st.packets_sent++;
    p->st.bytes_sent += len;
}

static bool excluded(int32_t target, int32_t id)
{
    return target < 0 && id == -(int64_t)target;
}

/* Broadcast and exclude: every peer in the map, connected or not (as Godot); a
 * peer that cannot take the packet is logged and skipped. Size is checked first
 * so a packet goes to all targets or to none. */
static int put_many(pm_mesh *m, int32_t target, int idx, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < m->peer_count; i++) {
        pm_mesh_peer *p = &m->peers[i];
        if (!excluded(target, p->id) && len > p->ops->max_message(p->link)) {
            PM_ERROR(&m->env, "mesh", "packet of %zu bytes is too big for peer %d", len,
                     (int)p->id);
            return PM_ERR_TOO_BIG;
        }
    }
    for (size_t i = 0; i < m->peer_count; i++) {
        pm_mesh_peer *p = &m->peers[i];
        if (excluded(target, p->id))
            continue;
        int rc = p->ops->put(p->link, idx, data, len);
        if (rc == PM_OK) {
            count_sent(p, len);
        } else {
            p->st.packets_send_failed++;
            PM_DEBUG(&m->env, "mesh", "node %d: peer %d could not take a packet: %s",
                     (int)m->unique_id, (int)p->id, pm_strerror(rc));
        }
    }
    return PM_OK;
}

int pm_mesh_put(pm_mesh *m, int32_t target, pm_mp_transfer_mode mode, int channel,
                const uint8_t *data, size_t len)
{
    if (m->status == PM_MP_DISCONNECTED) /* Godot: ERR_UNCONFIGURED */
        return PM_ERR_STATE;
    int idx = channel_index(m, mode, channel);
    if (idx < 0) {
        PM_ERROR(&m->env, "mesh", "unable to send on channel %d (mode %d)", channel, (int)mode);
        return PM_ERR_INVALID;
    }
    if (target <= 0)
        return put_many(m, target, idx, data, len);
    /* Server compatibility after a host migration: "the server" is the host. */
    if (target == PM_MP_TARGET_SERVER && pm_mesh_is_client(m))
        target = m->host_id;
    pm_mesh_peer *p = pm_mesh_find(m, target);
    if (!p) {
        PM_ERROR(&m->env, "mesh", "invalid target peer %d", (int)target);
        return PM_ERR_INVALID;
    }
    int rc = p->ops->put(p->link, idx, data, len);
    if (rc == PM_OK)
        count_sent(p, len);
    return rc;
}

/* ---- receiving ---------------------------------------------------------- */

static bool has_packets(const pm_mesh *m, const pm_mesh_peer *p)
{
    if (!p->connected && !pm_mesh_counts_unconnected(m))
        return false; /* Godot 4 skips peers not yet connected */
    for (int i = 0; i < m->chan_count; i++)
        if (p->ops->available(p->link, i) > 0)
            return true;
    return false;
}

/* Godot's _find_next_peer: the first peer after the current one with a packet,
 * wrapping around to the current one itself; 0 when nobody has one. */
void pm_mesh_find_next_peer(pm_mesh *m)
{
    size_t cur = m->peer_count; /* not found: Godot scans only from the front */
    for (size_t i = 0; i < m->peer_count; i++)
        if (m->peers[i].id == m->next_packet_peer)
            cur = i;
    for (size_t i = cur + 1; i < m->peer_count; i++)
        if (has_packets(m, &m->peers[i])) {
            m->next_packet_peer = m->peers[i].id;
            return;
        }
    for (size_t i = 0; i < m->peer_count; i++) {
        if (has_packets(m, &m->peers[i])) {
            m->next_packet_peer = m->peers[i].id;
            return;
        }
        if (i == cur)
            break;
    }
    m->next_packet_peer = 0;
}

int pm_mesh_get(pm_mesh *m, pm_mp_packet *out)
{
    pm_mesh_peer *p = m->next_packet_peer ? pm_mesh_find(m, m->next_packet_peer) : NULL;
    if (!p) {
        /* Godot fails this call and finds the next peer for the following
         * one; we look first, so a packet that is there is always returned. */
        pm_mesh_find_next_peer(m);
        p = m->next_packet_peer ? pm_mesh_find(m, m->next_packet_peer) : NULL;
        if (!p)
            return PM_ERR_AGAIN;
    }
    /* Reliable first, then ordered, unreliable, extras (Godot's channel order). */
    for (int i = 0; i < m->chan_count; i++) {
        if (p->ops->available(p->link, i) <= 0)
            continue;
        const uint8_t *data;
        size_t len;
        if (p->ops->get(p->link, i, &data, &len) != PM_OK)
            continue;
        out->data = data;
        out->len = len;
        out->from = p->id;
        out->channel = i < PM_MESH_CH_RESERVED ? 0 : i - PM_MESH_CH_RESERVED + 1;
        out->mode = m->chan_modes[i];
        p->st.packets_received++;
        p->st.bytes_received += len;
        pm_mesh_find_next_peer(m);
        return PM_OK;
    }
    pm_mesh_find_next_peer(m);
    return PM_ERR_AGAIN;
}

int pm_mesh_available(const pm_mesh *m)
{
    if (m->next_packet_peer == 0)
        return 0; /* Godot: so that get_packet works whenever this is > 0 */
    int total = 0;
    for (size_t i = 0; i < m->peer_count; i++) {
        const pm_mesh_peer *p = &m->peers[i];
        if (!p->connected && !pm_mesh_counts_unconnected(m))
            continue;
        for (int c = 0; c < m->chan_count; c++)
            total += p->ops->available(p->link, c);
    }
    return total;
}
