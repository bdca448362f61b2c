/*
 * pm_enet sending: put_packet for server, client and mesh in both formats,
 * disconnect_peer, the 3.2 system messages and the 3.2 server relay
 * (GODOT-SEMANTICS.md 4.1 "Sending", "Server receive logic", 4.3, 4.4).
 *
 * One ENetPacket is shared by every recipient of a broadcast: ENet counts
 * references and frees it when the last send completes.
 */
#include "multiplayer/enet_internal.h"

/* Queue `pkt` to one connection; false (and a log line) when ENet refuses. */
static bool send_one(pm_enet *e, pm_enet_packet_peer *pp, uint8_t channel, ENetPacket *pkt)
{
    if (!pp || pp->peer->state != ENET_PEER_STATE_CONNECTED)
        return false;
    if (enet_peer_send(pp->peer, channel, pkt) < 0) {
        PM_WARN(&e->env, PM_ENET_COMPONENT, "ENet refused a packet to peer %d on channel %u",
                (int)pp->mp_id, channel);
        return false;
    }
    return true;
}

/* Free a shared packet nobody took. */
static void release_unsent(ENetPacket *pkt)
{
    if (pkt->referenceCount == 0)
        enet_packet_destroy(pkt);
}

static void flush_all(pm_enet *e)
{
    if (e->host) {
        enet_host_flush(e->host->host);
        return;
    }
    for (size_t i = 0; i < e->n_members; i++)
        if (e->members[i].mesh_host)
            enet_host_flush(e->members[i].mesh_host->host);
}

void pm_enet_send_sysmsg(pm_enet *e, pm_enet_packet_peer *to, uint32_t type, int32_t about)
{
    uint8_t msg[PM_GENET_SYSMSG_LEN];
    if (!to || pm_genet_sysmsg_write(msg, type, (uint32_t)about) != PM_OK)
        return;
    ENetPacket *pkt = enet_packet_create(msg, sizeof msg, ENET_PACKET_FLAG_RELIABLE);
    if (!pkt)
        return;
    if (!send_one(e, to, PM_GENET3_CH_CONFIG, pkt))
        enet_packet_destroy(pkt);
}

void pm_enet_relay(pm_enet *e, pm_enet_packet_peer *from, uint8_t channel, ENetPacket *pkt,
                   int32_t target)
{
    pm_genet_relay plan;
    int32_t source = from->mp_id;
    pm_genet_relay_plan((uint32_t)source, target, e->server_relay, &plan);
    if (!plan.local && !plan.forward) {
        PM_DEBUG(&e->env, PM_ENET_COMPONENT, "relay off: dropped a packet from %d to %d",
                 (int)source, (int)target);
        enet_packet_destroy(pkt);
        return;
    }
    if (plan.forward) {
        /* Forwarded copies keep the original bytes, flags and channel (as 3.2). */
        ENetPacket *fwd = pkt;
        if (plan.local) {
            fwd = enet_packet_create(pkt->data, pkt->dataLength,
                                     pkt->flags &
                                         (ENET_PACKET_FLAG_RELIABLE | ENET_PACKET_FLAG_UNSEQUENCED |
                                          ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT));
            if (!fwd) {
                PM_ERROR(&e->env, PM_ENET_COMPONENT, "out of memory: relay from %d lost",
                         (int)source);
                fwd = NULL;
            }
        }
        if (fwd && plan.to) {
            pm_enet_member *m = pm_enet_find(e, plan.to);
            if (m && send_one(e, m->pp, channel, fwd))
                e->stats.packets_relayed++;
            else
                PM_DEBUG(&e->env, PM_ENET_COMPONENT, "relay from %d to unknown peer %d dropped",
                         (int)source, (int)plan.to);
        } else if (fwd) {
            for (size_t i = 0; i < e->n_members; i++) {
                pm_enet_member *m = &e->members[i];
                if (m->id == source || m->id == plan.exclude)
                    continue;
                if (send_one(e, m->pp, channel, fwd))
                    e->stats.packets_relayed++;
            }
        }
        if (fwd)
            release_unsent(fwd);
    }
    if (plan.local)
        pm_enet_queue_packet(e, pkt, source, channel, PM_GENET_HEADER_LEN);
}

/* Is `target` addressable from here (0, a known peer, or -known)? */
static bool target_known(pm_enet *e, int32_t target)
{
    if (target == 0)
        return true;
    if (target == INT32_MIN)
        return false;
    int32_t id = target < 0 ? -target : target;
    return pm_enet_find(e, id) != NULL;
}

static int send_to_members(pm_enet *e, int32_t target, uint8_t channel, ENetPacket *pkt)
{
    if (target > 0) {
        pm_enet_member *m = pm_enet_find(e, target);
        bool ok = m && send_one(e, m->pp, channel, pkt);
        release_unsent(pkt);
        return ok ? PM_OK : PM_ERR_STATE;
    }
    int32_t exclude = target < 0 ? -target : 0;
    for (size_t i = 0; i < e->n_members; i++) {
        pm_enet_member *m = &e->members[i];
        if (m->id != exclude && m->pp)
            (void)send_one(e, m->pp, channel, pkt); /* broadcasts never fail (as Godot) */
    }
    release_unsent(pkt);
    return PM_OK;
}

int pm_enet_put_packet(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                       const uint8_t *data, size_t len)
{
    pm_enet *e = impl;
    if (e->status != PM_MP_CONNECTED)
        return PM_ERR_STATE;
    if (len > PM_ENET_MAX_PACKET_SIZE)
        return PM_ERR_TOO_BIG;
    pm_genet_route route;
    if (pm_genet_route_for_send(e->fmt, mode, channel, e->always_ordered, e->channel_count,
                                &route) != PM_OK)
        return PM_ERR_INVALID;
    if (!target_known(e, target))
        return PM_ERR_INVALID;
    bool g3 = e->fmt == PM_GENET_GODOT3;
    if (e->mode == PM_ENET_MODE_CLIENT && !g3) {
        /* 4.x has no header: only the server can be addressed. */
        if (target < 0)
            return PM_OK; /* "everyone but the server" is nobody */
        target = PM_GENET_SERVER_ID;
    }
    /* A single recipient must have the channel (mesh links and clients may have fewer). */
    pm_enet_member *one =
        pm_enet_find(e, e->mode == PM_ENET_MODE_CLIENT ? PM_GENET_SERVER_ID : target);
    if (one && one->pp && (e->mode == PM_ENET_MODE_CLIENT || target > 0) &&
        route.channel >= one->pp->peer->channelCount)
        return PM_ERR_INVALID;
    size_t off = g3 ? PM_GENET_HEADER_LEN : 0;
    ENetPacket *pkt = enet_packet_create(NULL, off + len, route.flags);
    if (!pkt)
        return PM_ERR_NOMEM;
    if (g3)
        pm_genet_header_write(pkt->data, (uint32_t)e->unique_id, target);
    if (len)
        memcpy(pkt->data + off, data, len);
    int r;
    if (e->mode == PM_ENET_MODE_CLIENT) {
        /* A 3.2 client sends everything to the server, which relays. */
        pm_enet_member *server = pm_enet_find(e, PM_GENET_SERVER_ID);
        bool ok = server && send_one(e, server->pp, route.channel, pkt);
        release_unsent(pkt);
        r = ok ? PM_OK : PM_ERR_STATE;
    } else {
        r = send_to_members(e, target, route.channel, pkt);
    }
    flush_all(e);
    return r;
}

int pm_enet_disconnect_peer(void *impl, int32_t peer_id, bool force)
{
    pm_enet *e = impl;
    if (e->mode == PM_ENET_MODE_NONE)
        return PM_ERR_STATE;
    pm_enet_member *m = pm_enet_find(e, peer_id);
    if (!m || !m->pp)
        return PM_ERR_INVALID;
    if (e->mode == PM_ENET_MODE_CLIENT) {
        if (force) {
            pm_enet_shutdown(e, true); /* no events, as close() */
        } else {
            enet_peer_disconnect(m->pp->peer, 0);
            enet_host_flush(e->host->host);
        }
        return PM_OK;
    }
    if (!force) {
        /* 3.2 lets queued packets go first; 4.x disconnects at once. Events follow. */
        if (e->fmt == PM_GENET_GODOT3)
            enet_peer_disconnect_later(m->pp->peer, 0);
        else
            enet_peer_disconnect(m->pp->peer, 0);
        flush_all(e);
        return PM_OK;
    }
    enet_peer_disconnect_now(m->pp->peer, 0);
    size_t index = (size_t)(m - e->members);
    if (e->mode == PM_ENET_MODE_MESH) {
        pm_enet_host *h = m->mesh_host;
        pm_enet_remove_member(e, index);
        pm_enet_host_free(h);
        return PM_OK;
    }
    pm_enet_pp_clear(m->pp);
    pm_enet_remove_member(e, index);
    if (e->fmt == PM_GENET_GODOT3 && e->server_relay)
        for (size_t i = 0; i < e->n_members; i++)
            pm_enet_send_sysmsg(e, e->members[i].pp, PM_GENET_SYSMSG_REMOVE_PEER, peer_id);
    flush_all(e);
    return PM_OK;
}
