/*
 * pm_enet_packet_peer: Godot 4's ENetPacketPeer, one per ENet peer slot of a
 * host; and the packet queue shared with the multiplayer peer.
 */
#include "multiplayer/enet_internal.h"

/* ---- the queue ---- */

int pm_enet_rxq_push(const pm_envr *env, pm_enet_rxq *q, const pm_enet_rx *rx)
{
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        pm_enet_rx *n = pm_alloc(env, ncap * sizeof *n);
        if (!n)
            return PM_ERR_NOMEM;
        for (size_t i = 0; i < q->count; i++)
            n[i] = q->items[(q->head + i) % q->cap];
        pm_free(env, q->items);
        q->items = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->items[(q->head + q->count) % q->cap] = *rx;
    q->count++;
    return PM_OK;
}

bool pm_enet_rxq_pop(pm_enet_rxq *q, pm_enet_rx *out)
{
    if (!q->count)
        return false;
    *out = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return true;
}

void pm_enet_rxq_clear(pm_enet_rxq *q)
{
    pm_enet_rx rx;
    while (pm_enet_rxq_pop(q, &rx))
        enet_packet_destroy(rx.packet);
    q->head = 0;
}

void pm_enet_rxq_free(const pm_envr *env, pm_enet_rxq *q)
{
    pm_enet_rxq_clear(q);
    pm_free(env, q->items);
    *q = (pm_enet_rxq){0};
}

/* ---- packet peer ---- */

bool pm_enet_flags_valid(int flags)
{
    return (flags & ~(PM_ENET_FLAG_RELIABLE | PM_ENET_FLAG_UNSEQUENCED |
                      PM_ENET_FLAG_UNRELIABLE_FRAGMENT)) == 0;
}

void pm_enet_pp_release(pm_enet_packet_peer *pp)
{
    if (pp->current) {
        enet_packet_destroy(pp->current);
        pp->current = NULL;
    }
}

void pm_enet_pp_clear(pm_enet_packet_peer *pp)
{
    pm_enet_pp_release(pp);
    pm_enet_rxq_clear(&pp->rx);
}

int pm_enet_packet_peer_send(pm_enet_packet_peer *pp, int channel, const uint8_t *data, size_t len,
                             int flags)
{
    if (!pp || (!data && len) || !pm_enet_flags_valid(flags) || channel < 0)
        return PM_ERR_INVALID;
    if (pp->peer->state != ENET_PEER_STATE_CONNECTED)
        return PM_ERR_STATE;
    if ((size_t)channel >= pp->peer->channelCount)
        return PM_ERR_INVALID;
    if (len > pp->host->host->maximumPacketSize)
        return PM_ERR_TOO_BIG;
    ENetPacket *pkt = enet_packet_create(data, len, (enet_uint32)flags);
    if (!pkt)
        return PM_ERR_NOMEM;
    if (enet_peer_send(pp->peer, (enet_uint8)channel, pkt) < 0) {
        enet_packet_destroy(pkt);
        return PM_ERR_FULL; /* ENet refused: too much data waiting or too many fragments */
    }
    return PM_OK;
}

int pm_enet_packet_peer_put_packet(pm_enet_packet_peer *pp, const uint8_t *data, size_t len)
{
    return pm_enet_packet_peer_send(pp, 0, data, len, PM_ENET_FLAG_RELIABLE);
}

int pm_enet_packet_peer_get_packet(pm_enet_packet_peer *pp, const uint8_t **data, size_t *len,
                                   int *channel, int *flags)
{
    if (!pp || !data || !len)
        return PM_ERR_INVALID;
    pm_enet_pp_release(pp);
    pm_enet_rx rx;
    if (!pm_enet_rxq_pop(&pp->rx, &rx))
        return PM_ERR_AGAIN;
    pp->current = rx.packet;
    pp->host->borrowed++;
    *data = rx.packet->data ? rx.packet->data : (const uint8_t *)""; /* NULL when empty */
    *len = rx.packet->dataLength;
    if (channel)
        *channel = rx.enet_channel;
    if (flags)
        *flags = (int)rx.packet->flags & (PM_ENET_FLAG_RELIABLE | PM_ENET_FLAG_UNSEQUENCED |
                                          PM_ENET_FLAG_UNRELIABLE_FRAGMENT);
    return PM_OK;
}

int pm_enet_packet_peer_get_available_packet_count(const pm_enet_packet_peer *pp)
{
    return pp ? (int)pp->rx.count : 0;
}

void pm_enet_packet_peer_disconnect(pm_enet_packet_peer *pp, uint32_t data)
{
    if (pp)
        enet_peer_disconnect(pp->peer, data);
}

void pm_enet_packet_peer_disconnect_later(pm_enet_packet_peer *pp, uint32_t data)
{
    if (pp)
        enet_peer_disconnect_later(pp->peer, data);
}

void pm_enet_packet_peer_disconnect_now(pm_enet_packet_peer *pp, uint32_t data)
{
    if (pp)
        enet_peer_disconnect_now(pp->peer, data);
}

void pm_enet_packet_peer_reset(pm_enet_packet_peer *pp)
{
    if (!pp)
        return;
    enet_peer_reset(pp->peer);
    pm_enet_pp_clear(pp);
}

void pm_enet_packet_peer_ping(pm_enet_packet_peer *pp)
{
    if (pp)
        enet_peer_ping(pp->peer);
}

void pm_enet_packet_peer_ping_interval(pm_enet_packet_peer *pp, uint32_t ms)
{
    if (pp)
        enet_peer_ping_interval(pp->peer, ms);
}

int pm_enet_packet_peer_set_timeout(pm_enet_packet_peer *pp, uint32_t limit, uint32_t min_ms,
                                    uint32_t max_ms)
{
    /* Godot's check, odd as it is (a count against milliseconds): limit <= min <= max. */
    if (!pp || limit > min_ms || min_ms > max_ms)
        return PM_ERR_INVALID;
    enet_peer_timeout(pp->peer, limit, min_ms, max_ms);
    return PM_OK;
}

void pm_enet_packet_peer_throttle_configure(pm_enet_packet_peer *pp, uint32_t interval,
                                            uint32_t acceleration, uint32_t deceleration)
{
    if (pp)
        enet_peer_throttle_configure(pp->peer, interval, acceleration, deceleration);
}

double pm_enet_packet_peer_get_statistic(const pm_enet_packet_peer *pp, pm_enet_peer_statistic stat)
{
    if (!pp)
        return 0;
    const ENetPeer *p = pp->peer;
    switch (stat) {
    case PM_ENET_PEER_PACKET_LOSS:
        return p->packetLoss;
    case PM_ENET_PEER_PACKET_LOSS_VARIANCE:
        return p->packetLossVariance;
    case PM_ENET_PEER_PACKET_LOSS_EPOCH:
        return p->packetLossEpoch;
    case PM_ENET_PEER_ROUND_TRIP_TIME:
        return p->roundTripTime;
    case PM_ENET_PEER_ROUND_TRIP_TIME_VARIANCE:
        return p->roundTripTimeVariance;
    case PM_ENET_PEER_LAST_ROUND_TRIP_TIME:
        return p->lastRoundTripTime;
    case PM_ENET_PEER_LAST_ROUND_TRIP_TIME_VARIANCE:
        return p->lastRoundTripTimeVariance;
    case PM_ENET_PEER_PACKET_THROTTLE:
        return p->packetThrottle;
    case PM_ENET_PEER_PACKET_THROTTLE_LIMIT:
        return p->packetThrottleLimit;
    case PM_ENET_PEER_PACKET_THROTTLE_COUNTER:
        return p->packetThrottleCounter;
    case PM_ENET_PEER_PACKET_THROTTLE_EPOCH:
        return p->packetThrottleEpoch;
    case PM_ENET_PEER_PACKET_THROTTLE_ACCELERATION:
        return p->packetThrottleAcceleration;
    case PM_ENET_PEER_PACKET_THROTTLE_DECELERATION:
        return p->packetThrottleDeceleration;
    case PM_ENET_PEER_PACKET_THROTTLE_INTERVAL:
        return p->packetThrottleInterval;
    }
    return 0;
}

pm_enet_peer_state pm_enet_packet_peer_get_state(const pm_enet_packet_peer *pp)
{
    /* ENetPeerState and PeerState share their values 0..9. */
    return pp ? (pm_enet_peer_state)pp->peer->state : PM_ENET_PEER_DISCONNECTED;
}

bool pm_enet_packet_peer_is_active(const pm_enet_packet_peer *pp)
{
    return pp && pp->peer->state != ENET_PEER_STATE_DISCONNECTED;
}

int pm_enet_packet_peer_get_remote_address(const pm_enet_packet_peer *pp, pm_addr *out)
{
    if (!pp || !out)
        return PM_ERR_INVALID;
    *out = (pm_addr){.family = 4, .port = pp->peer->address.port};
    memcpy(out->ip, &pp->peer->address.host, 4);
    return PM_OK;
}

int pm_enet_packet_peer_get_channels(const pm_enet_packet_peer *pp)
{
    return pp ? (int)pp->peer->channelCount : 0;
}

pm_enet_host *pm_enet_packet_peer_get_host(const pm_enet_packet_peer *pp)
{
    return pp ? pp->host : NULL;
}
