/*
 * pm_enet receiving: servicing the host(s), CONNECT / DISCONNECT handling,
 * the 3.2 config channel, and the checks that drop spoofed and malformed
 * packets (GODOT-SEMANTICS.md 4.1 "Server receive logic", 4.3, 4.4).
 */
#include "multiplayer/enet_internal.h"

#include <errno.h>
#include <string.h>

/* Log the first drops of each kind loudly, then quietly: a flood must not flood the log. */
#define LOUD_DROPS 16

static void drop(pm_enet *e, ENetPacket *pkt, uint64_t *counter, const char *what, int32_t peer)
{
    ++*counter;
    if (*counter <= LOUD_DROPS)
        PM_WARN(&e->env, PM_ENET_COMPONENT, "dropped %s from peer %d (%zu bytes)", what, (int)peer,
                pkt->dataLength);
    else
        PM_DEBUG(&e->env, PM_ENET_COMPONENT, "dropped %s from peer %d", what, (int)peer);
    enet_packet_destroy(pkt);
}

void pm_enet_queue_packet(pm_enet *e, ENetPacket *pkt, int32_t from, uint8_t channel,
                          uint8_t offset)
{
    pm_genet_class c;
    pm_genet_classify(e->fmt, channel, pkt->flags, &c);
    pm_enet_rx rx = {.packet = pkt,
                     .from = from,
                     .enet_channel = channel,
                     .offset = offset,
                     .channel = c.channel,
                     .mode = c.mode};
    if (pm_enet_rxq_push(&e->env, &e->incoming, &rx) != PM_OK) {
        PM_ERROR(&e->env, PM_ENET_COMPONENT, "out of memory: packet from %d lost", (int)from);
        enet_packet_destroy(pkt);
        return;
    }
    e->stats.packets_received++;
}

/* A 3.2 client: ADD_PEER / REMOVE_PEER from the server on channel 0. */
static void on_config(pm_enet *e, ENetPacket *pkt)
{
    pm_genet_sysmsg m;
    if (pm_genet_sysmsg_read(pkt->data, pkt->dataLength, &m) != PM_OK) {
        drop(e, pkt, &e->stats.dropped_malformed, "a malformed system message", 1);
        return;
    }
    int32_t id = (int32_t)m.peer_id;
    pm_enet_member *known = pm_enet_find(e, id);
    if (m.type == PM_GENET_SYSMSG_ADD_PEER) {
        if (known || id == e->unique_id) {
            drop(e, pkt, &e->stats.dropped_malformed, "ADD_PEER of a known id", 1);
            return;
        }
        if (pm_enet_add_member(e, id, NULL, NULL) == PM_OK)
            pm_enet_push_event(e, PM_MP_EVENT_PEER_CONNECTED, id);
    } else {
        if (!known) {
            drop(e, pkt, &e->stats.dropped_malformed, "REMOVE_PEER of an unknown id", 1);
            return;
        }
        pm_enet_remove_member(e, (size_t)(known - e->members));
        pm_enet_push_event(e, PM_MP_EVENT_PEER_DISCONNECTED, id);
    }
    enet_packet_destroy(pkt);
}

/* Godot 3 data packet: check the header's source, then deliver or relay. */
static void on_godot3_data(pm_enet *e, pm_enet_packet_peer *pp, uint8_t channel, ENetPacket *pkt)
{
    pm_genet_header h;
    if (pm_genet_header_read(pkt->data, pkt->dataLength, &h) != PM_OK) {
        drop(e, pkt, &e->stats.dropped_malformed, "a packet shorter than the header", pp->mp_id);
        return;
    }
    switch (e->mode) {
    case PM_ENET_MODE_SERVER:
    case PM_ENET_MODE_MESH:
        /* The connection tells who sent it; a header claiming otherwise is forged. */
        if (h.source != (uint32_t)pp->mp_id) {
            drop(e, pkt, &e->stats.dropped_spoofed, "a spoofed source id", pp->mp_id);
            return;
        }
        if (e->mode == PM_ENET_MODE_SERVER)
            pm_enet_relay(e, pp, channel, pkt, h.target);
        else
            pm_enet_queue_packet(e, pkt, pp->mp_id, channel, PM_GENET_HEADER_LEN);
        return;
    default:
        /*
         * A client trusts its server for the source, as Godot does, but never
         * accepts one that cannot be a peer. An unannounced but valid id is
         * accepted: ENet orders each channel separately, so a relayed packet
         * may overtake the ADD_PEER on channel 0.
         */
        if (h.source == 0 || h.source > PM_GENET_MAX_ID || h.source == (uint32_t)e->unique_id) {
            drop(e, pkt, &e->stats.dropped_spoofed, "an impossible source id", 1);
            return;
        }
        pm_enet_queue_packet(e, pkt, (int32_t)h.source, channel, PM_GENET_HEADER_LEN);
        return;
    }
}

void pm_enet_on_receive(pm_enet *e, pm_enet_packet_peer *pp, uint8_t channel, ENetPacket *pkt)
{
    if (!pp->mp_id) { /* refused, or gone: nothing it sends counts */
        enet_packet_destroy(pkt);
        return;
    }
    if (e->fmt == PM_GENET_GODOT4) {
        pm_enet_queue_packet(e, pkt, pp->mp_id, channel, 0);
        return;
    }
    if (channel == PM_GENET3_CH_CONFIG) {
        if (e->mode == PM_ENET_MODE_CLIENT)
            on_config(e, pkt);
        else /* only a server sends system messages */
            drop(e, pkt, &e->stats.dropped_malformed, "a system message to a non-client",
                 pp->mp_id);
        return;
    }
    on_godot3_data(e, pp, channel, pkt);
}

static void refuse(pm_enet *e, pm_enet_packet_peer *pp, const char *why, uint32_t id)
{
    e->stats.connections_refused++;
    PM_INFO(&e->env, PM_ENET_COMPONENT, "refused a connection with id %u: %s", id, why);
    /*
     * Godot resets the peer silently and the client times out; a disconnect
     * notice tells the client at once and is the same on the wire otherwise.
     */
    enet_peer_disconnect_now(pp->peer, 0);
    pm_enet_pp_clear(pp);
}

static void server_on_connect(pm_enet *e, pm_enet_packet_peer *pp, uint32_t id)
{
    if (e->refuse) {
        refuse(e, pp, "refusing new connections", id);
        return;
    }
    if (!pm_genet_id_is_client(id) || pm_enet_find(e, (int32_t)id)) {
        refuse(e, pp, "invalid or duplicate id", id);
        return;
    }
    if (pm_enet_add_member(e, (int32_t)id, pp, NULL) != PM_OK) {
        refuse(e, pp, "out of memory", id);
        return;
    }
    if (e->fmt == PM_GENET_GODOT3 && e->server_relay) {
        /* Tell the newcomer about everyone, and everyone about the newcomer. */
        for (size_t i = 0; i < e->n_members; i++) {
            pm_enet_member *m = &e->members[i];
            if (m->id == (int32_t)id)
                continue;
            pm_enet_send_sysmsg(e, pp, PM_GENET_SYSMSG_ADD_PEER, m->id);
            pm_enet_send_sysmsg(e, m->pp, PM_GENET_SYSMSG_ADD_PEER, (int32_t)id);
        }
    }
    pm_enet_push_event(e, PM_MP_EVENT_PEER_CONNECTED, (int32_t)id);
}

static void server_on_disconnect(pm_enet *e, pm_enet_packet_peer *pp)
{
    int32_t id = pp->mp_id;
    if (!id)
        return; /* never accepted */
    pm_enet_member *m = pm_enet_find(e, id);
    if (m)
        pm_enet_remove_member(e, (size_t)(m - e->members));
    if (e->fmt == PM_GENET_GODOT3 && e->server_relay)
        for (size_t i = 0; i < e->n_members; i++)
            pm_enet_send_sysmsg(e, e->members[i].pp, PM_GENET_SYSMSG_REMOVE_PEER, id);
    pm_enet_push_event(e, PM_MP_EVENT_PEER_DISCONNECTED, id);
}

/* Returns false when the client closed (the host is gone). */
static bool client_on_event(pm_enet *e, const ENetEvent *ev, pm_enet_packet_peer *pp)
{
    if (ev->type == ENET_EVENT_TYPE_CONNECT) {
        if (e->status != PM_MP_CONNECTING) {
            enet_peer_reset(ev->peer);
            return true;
        }
        pm_enet_pp_clear(pp);
        if (pm_enet_add_member(e, PM_GENET_SERVER_ID, pp, NULL) != PM_OK) {
            pm_enet_push_event(e, PM_MP_EVENT_CONNECTION_FAILED, PM_GENET_SERVER_ID);
            pm_enet_shutdown(e, true);
            return false;
        }
        e->status = PM_MP_CONNECTED;
        pm_enet_push_event(e, PM_MP_EVENT_PEER_CONNECTED, PM_GENET_SERVER_ID);
        pm_enet_push_event(e, PM_MP_EVENT_CONNECTION_SUCCEEDED, PM_GENET_SERVER_ID);
        return true;
    }
    /* DISCONNECT: 3.2 emits server_disconnected; 4.x peer_disconnected(1) first. */
    if (e->status == PM_MP_CONNECTING) {
        pm_enet_push_event(e, PM_MP_EVENT_CONNECTION_FAILED, PM_GENET_SERVER_ID);
    } else {
        if (e->fmt == PM_GENET_GODOT4)
            pm_enet_push_event(e, PM_MP_EVENT_PEER_DISCONNECTED, PM_GENET_SERVER_ID);
        pm_enet_push_event(e, PM_MP_EVENT_SERVER_DISCONNECTED, PM_GENET_SERVER_ID);
    }
    pm_enet_shutdown(e, false);
    return false;
}

/* A failing socket is worth an error with what the OS said, not a silent retry forever. */
static int socket_failed(pm_enet *e, pm_enet_host *h)
{
    int why = errno;
    PM_ERROR(&e->env, PM_ENET_COMPONENT, "the UDP socket on port %u failed: %s",
             (unsigned)pm_enet_host_get_local_port(h), why ? strerror(why) : "unknown error");
    return PM_ERR_IO;
}

static int poll_host(pm_enet *e)
{
    ENetEvent ev;
    if (e->host)
        pm_enet_host_expire_pending(e->host);
    for (int budget = PM_ENET_POLL_BUDGET; budget > 0 && e->host; budget--) {
        errno = 0;
        int r = enet_host_service(e->host->host, &ev, 0);
        if (r < 0)
            return socket_failed(e, e->host);
        if (r == 0)
            return PM_OK;
        pm_enet_packet_peer *pp = pm_enet_pp_of(e->host, ev.peer);
        switch (ev.type) {
        case ENET_EVENT_TYPE_RECEIVE:
            pm_enet_on_receive(e, pp, ev.channelID, ev.packet);
            break;
        case ENET_EVENT_TYPE_CONNECT:
            if (e->mode == PM_ENET_MODE_SERVER)
                server_on_connect(e, pp, ev.data);
            else if (!client_on_event(e, &ev, pp))
                return PM_OK;
            break;
        case ENET_EVENT_TYPE_DISCONNECT:
            if (e->mode == PM_ENET_MODE_SERVER) {
                server_on_disconnect(e, pp);
            } else if (pp->mp_id == PM_GENET_SERVER_ID || e->status == PM_MP_CONNECTING) {
                client_on_event(e, &ev, pp);
                return PM_OK;
            }
            break;
        default:
            break;
        }
    }
    return PM_OK;
}

/* One mesh peer's host. Returns false when the peer went away (member removed). */
static bool poll_mesh_member(pm_enet *e, size_t index, int *rc)
{
    ENetEvent ev;
    pm_enet_member *m = &e->members[index];
    for (int budget = PM_ENET_POLL_BUDGET; budget > 0; budget--) {
        errno = 0;
        int r = enet_host_service(m->mesh_host->host, &ev, 0);
        if (r < 0)
            *rc = socket_failed(e, m->mesh_host);
        if (r <= 0)
            return true;
        pm_enet_packet_peer *pp = pm_enet_pp_of(m->mesh_host, ev.peer);
        switch (ev.type) {
        case ENET_EVENT_TYPE_CONNECT:
            /* A mesh host talks to its one peer only (Godot resets the others). */
            enet_peer_reset(ev.peer);
            break;
        case ENET_EVENT_TYPE_RECEIVE:
            if (pp == m->pp)
                pm_enet_on_receive(e, pp, ev.channelID, ev.packet);
            else
                enet_packet_destroy(ev.packet);
            break;
        case ENET_EVENT_TYPE_DISCONNECT:
            if (pp != m->pp)
                break;
            {
                int32_t id = m->id;
                pm_enet_host *h = m->mesh_host;
                pm_enet_remove_member(e, index);
                pm_enet_host_free(h);
                pm_enet_push_event(e, PM_MP_EVENT_PEER_DISCONNECTED, id);
            }
            return false;
        default:
            break;
        }
    }
    return true;
}

int pm_enet_poll(void *impl)
{
    pm_enet *e = impl;
    pm_enet_release_current(e);
    int rc = PM_OK;
    switch (e->mode) {
    case PM_ENET_MODE_SERVER:
    case PM_ENET_MODE_CLIENT:
        rc = poll_host(e);
        break;
    case PM_ENET_MODE_MESH:
        for (size_t i = 0; i < e->n_members;)
            if (poll_mesh_member(e, i, &rc))
                i++;
        break;
    default:
        break;
    }
    return rc;
}
