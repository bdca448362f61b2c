/*
 * pm_enet_host: Godot 4's ENetConnection over libenet 1.3.17. A thin layer:
 * argument checks Godot makes, numeric-only addresses, and packet peers that
 * queue what service() receives (Godot's ENetConnection does the same).
 */
#include "multiplayer/enet_internal.h"

#include "wire/stun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The host whose enet_host_service() runs now: ENet's intercept callback
 * has no user pointer. */
static _Thread_local pm_enet_host *tl_servicing;

static void update_intercept(pm_enet_host *h);

int pm_enet_parse_ip(const char *ip, bool any_ok, uint32_t *out)
{
    if (!ip || strcmp(ip, "*") == 0) {
        if (!any_ok)
            return PM_ERR_INVALID;
        *out = ENET_HOST_ANY;
        return PM_OK;
    }
    pm_addr a;
    /* Upstream ENet is IPv4-only (GODOT-SEMANTICS.md 4.2); names are never resolved. */
    if (pm_addr_parse(&a, ip, 0) != PM_OK || a.family != 4)
        return PM_ERR_INVALID;
    if (!any_ok && a.ip[0] == 0 && a.ip[1] == 0 && a.ip[2] == 0 && a.ip[3] == 0)
        return PM_ERR_INVALID;
    memcpy(out, a.ip, 4); /* ENetAddress.host is in network byte order */
    return PM_OK;
}

static int host_new(const pm_env *env, const ENetAddress *bind, int max_peers, int max_channels,
                    uint32_t in_bw, uint32_t out_bw, pm_enet_host **out)
{
    if (!out || max_peers < 1 || max_peers > PM_ENET_MAX_PEERS || max_channels < 0 ||
        max_channels > PM_ENET_MAX_CHANNELS)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_envr envr;
    pm_env_resolve(&envr, env);
    if (enet_initialize() != 0) { /* a no-op on Unix; kept for other ports */
        PM_ERROR(&envr, PM_ENET_COMPONENT, "enet_initialize failed");
        return PM_ERR_IO;
    }
    pm_enet_host *h = pm_calloc(&envr, sizeof *h);
    if (!h)
        return PM_ERR_NOMEM;
    h->env = envr;
    h->waitset = -1;
    h->peers = pm_calloc(&envr, (size_t)max_peers * sizeof *h->peers);
    if (!h->peers) {
        pm_free(&envr, h);
        return PM_ERR_NOMEM;
    }
    /* 0 channels means "as many as ENet allows" (Godot's convention). */
    size_t channels = max_channels ? (size_t)max_channels : PM_ENET_MAX_CHANNELS;
    h->host = enet_host_create(bind, (size_t)max_peers, channels, in_bw, out_bw);
    if (!h->host) {
        int why = errno;
        char ip[PM_ADDR_STRLEN] = "*";
        if (bind && bind->host != ENET_HOST_ANY) {
            pm_addr a = {.family = 4, .port = bind->port};
            memcpy(a.ip, &bind->host, 4);
            pm_addr_format_ip(&a, ip, sizeof ip);
        }
        PM_WARN(&envr, PM_ENET_COMPONENT, "cannot open a UDP socket on %s port %u: %s", ip,
                bind ? bind->port : 0, why ? strerror(why) : "unknown error");
        pm_free(&envr, h->peers);
        pm_free(&envr, h);
        return PM_ERR_IO;
    }
    for (int i = 0; i < max_peers; i++) {
        h->peers[i].host = h;
        h->peers[i].peer = &h->host->peers[i];
        /* ENet leaves `data` to us: the way back from ENet's callbacks. */
        h->host->peers[i].data = &h->peers[i];
    }
    *out = h;
    return PM_OK;
}

/* ---- connections not finished yet ---- */

/* An incoming connection between its CONNECT and its first event. */
static bool pending_guest(const pm_enet_packet_peer *pp)
{
    ENetPeerState s = pp->peer->state;
    return !pp->outgoing && s >= ENET_PEER_STATE_ACKNOWLEDGING_CONNECT &&
           s <= ENET_PEER_STATE_CONNECTION_SUCCEEDED;
}

/*
 * Every datagram, before ENet reads it. A datagram addressed to no peer
 * (peer id 0xFFF) is a connection attempt; from an endpoint ENet does not
 * know yet, it would take a slot and hold it for ~30 s of VERIFY_CONNECT
 * retransmissions if never acknowledged. So it is dropped when its address
 * already has pending_per_address connections pending, or the host
 * pending_total.
 */
static int refuse_connect(pm_enet_host *h, ENetHost *eh)
{
    if (!h->pending_per_address && !h->pending_total)
        return 0;
    if (eh->receivedDataLength < 2 || (pm_rd16(eh->receivedData) & ENET_PROTOCOL_MAXIMUM_PEER_ID) !=
                                          ENET_PROTOCOL_MAXIMUM_PEER_ID)
        return 0;
    size_t from_address = 0, total = 0;
    for (size_t i = 0; i < eh->peerCount; i++) {
        const ENetPeer *p = &eh->peers[i];
        if (p->state == ENET_PEER_STATE_DISCONNECTED)
            continue;
        if (p->address.host == eh->receivedAddress.host &&
            p->address.port == eh->receivedAddress.port)
            return 0; /* a retransmission, or that endpoint's own business */
        if (pending_guest(&h->peers[i])) {
            total++;
            from_address += p->address.host == eh->receivedAddress.host;
        }
    }
    if ((h->pending_per_address && from_address >= h->pending_per_address) ||
        (h->pending_total && total >= h->pending_total)) {
        h->pending_refused++;
        return 1; /* handled: dropped */
    }
    return 0;
}

void pm_enet_host_expire_pending(pm_enet_host *h)
{
    if (!h->pending_timeout)
        return;
    pm_time now = pm_env_now(&h->env);
    if (now < h->next_pending_check)
        return;
    h->next_pending_check = now + PM_MS(100);
    for (size_t i = 0; i < h->host->peerCount; i++) {
        pm_enet_packet_peer *pp = &h->peers[i];
        if (pp->peer->state == ENET_PEER_STATE_DISCONNECTED)
            pp->outgoing = false; /* the slot is free for anyone */
        if (!pending_guest(pp)) {
            pp->pending_since = 0;
            continue;
        }
        if (!pp->pending_since) {
            pp->pending_since = now;
        } else if (now - pp->pending_since >= h->pending_timeout) {
            /* Never reported to the application: no event to owe it. */
            enet_peer_reset(pp->peer);
            pp->pending_since = 0;
            h->pending_refused++;
        }
    }
}

int pm_enet_host_limit_pending(pm_enet_host *h, int per_address, int total, uint32_t timeout_ms)
{
    if (!h || per_address < 0 || total < 0)
        return PM_ERR_INVALID;
    h->pending_per_address = (size_t)per_address;
    h->pending_total = (size_t)total;
    h->pending_timeout = PM_MS(timeout_ms);
    update_intercept(h);
    return PM_OK;
}

uint64_t pm_enet_host_pending_refused(const pm_enet_host *h)
{
    return h ? h->pending_refused : 0;
}

int pm_enet_host_create(const pm_env *env, int max_peers, int max_channels, uint32_t in_bandwidth,
                        uint32_t out_bandwidth, pm_enet_host **out)
{
    return host_new(env, NULL, max_peers, max_channels, in_bandwidth, out_bandwidth, out);
}

int pm_enet_host_create_bound(const pm_env *env, const char *bind_ip, uint16_t port, int max_peers,
                              int max_channels, uint32_t in_bandwidth, uint32_t out_bandwidth,
                              pm_enet_host **out)
{
    ENetAddress a = {.port = port};
    if (pm_enet_parse_ip(bind_ip, true, &a.host) != PM_OK)
        return PM_ERR_INVALID;
    return host_new(env, &a, max_peers, max_channels, in_bandwidth, out_bandwidth, out);
}

void pm_enet_host_free(pm_enet_host *h)
{
    if (!h)
        return;
    if (h->waitset >= 0)
        h->env.sockets->waitset_forget(h->waitset, h->host->socket);
    pm_free(&h->env, h->raw);
    for (size_t i = 0; i < h->host->peerCount; i++) {
        pm_enet_pp_release(&h->peers[i]);
        pm_enet_rxq_free(&h->env, &h->peers[i].rx);
    }
    enet_host_destroy(h->host);
    pm_envr env = h->env;
    pm_free(&env, h->peers);
    pm_free(&env, h);
}

int pm_enet_host_connect(pm_enet_host *h, const char *ip, uint16_t port, int channels,
                         uint32_t data, pm_enet_packet_peer **out)
{
    if (!h || port == 0 || channels < 0 || channels > PM_ENET_MAX_CHANNELS)
        return PM_ERR_INVALID;
    ENetAddress a = {.port = port};
    if (pm_enet_parse_ip(ip, false, &a.host) != PM_OK)
        return PM_ERR_INVALID;
    ENetPeer *p =
        enet_host_connect(h->host, &a, channels ? (size_t)channels : PM_ENET_MAX_CHANNELS, data);
    if (!p)
        return PM_ERR_FULL;
    pm_enet_packet_peer *pp = pm_enet_pp_of(h, p);
    pm_enet_pp_clear(pp);
    pp->mp_id = 0;
    pp->outgoing = true;
    if (out)
        *out = pp;
    return PM_OK;
}

static void release_borrowed(pm_enet_host *h)
{
    if (!h->borrowed)
        return;
    for (size_t i = 0; i < h->host->peerCount; i++)
        pm_enet_pp_release(&h->peers[i]);
    h->borrowed = 0;
}

int pm_enet_host_service(pm_enet_host *h, int timeout_ms, pm_enet_event *ev)
{
    if (!h || !ev)
        return PM_ERR_INVALID;
    *ev = (pm_enet_event){.type = PM_ENET_EVENT_NONE};
    release_borrowed(h);
    pm_enet_host_expire_pending(h);
    ENetEvent e;
    pm_enet_host *outer = tl_servicing;
    tl_servicing = h;
    int r = enet_host_service(h->host, &e, timeout_ms > 0 ? (enet_uint32)timeout_ms : 0);
    tl_servicing = outer;
    if (r < 0) {
        ev->type = PM_ENET_EVENT_ERROR;
        return PM_ERR_IO;
    }
    if (r == 0)
        return 0;
    pm_enet_packet_peer *pp = pm_enet_pp_of(h, e.peer);
    ev->peer = pp;
    ev->data = e.data;
    ev->channel = e.channelID;
    switch (e.type) {
    case ENET_EVENT_TYPE_CONNECT:
        pm_enet_pp_clear(pp); /* a reused slot starts empty */
        ev->type = PM_ENET_EVENT_CONNECT;
        break;
    case ENET_EVENT_TYPE_DISCONNECT:
        ev->type = PM_ENET_EVENT_DISCONNECT;
        break;
    case ENET_EVENT_TYPE_RECEIVE: {
        pm_enet_rx rx = {.packet = e.packet, .enet_channel = e.channelID};
        if (pm_enet_rxq_push(&h->env, &pp->rx, &rx) != PM_OK) {
            enet_packet_destroy(e.packet);
            ev->type = PM_ENET_EVENT_ERROR;
            return PM_ERR_NOMEM;
        }
        ev->type = PM_ENET_EVENT_RECEIVE;
        break;
    }
    default:
        return 0;
    }
    return 1;
}

void pm_enet_host_flush(pm_enet_host *h)
{
    if (h)
        enet_host_flush(h->host);
}

void pm_enet_host_bandwidth_limit(pm_enet_host *h, uint32_t in_bandwidth, uint32_t out_bandwidth)
{
    if (h)
        enet_host_bandwidth_limit(h->host, in_bandwidth, out_bandwidth);
}

void pm_enet_host_channel_limit(pm_enet_host *h, int limit)
{
    if (h)
        enet_host_channel_limit(h->host, limit > 0 && limit <= PM_ENET_MAX_CHANNELS
                                             ? (size_t)limit
                                             : PM_ENET_MAX_CHANNELS);
}

void pm_enet_host_bandwidth_throttle(pm_enet_host *h)
{
    if (h)
        enet_host_bandwidth_throttle(h->host);
}

int pm_enet_host_compress(pm_enet_host *h, pm_enet_compression mode)
{
    if (!h)
        return PM_ERR_INVALID;
    switch (mode) {
    case PM_ENET_COMPRESS_NONE:
        enet_host_compress(h->host, NULL);
        return PM_OK;
    case PM_ENET_COMPRESS_RANGE_CODER:
        return enet_host_compress_with_range_coder(h->host) == 0 ? PM_OK : PM_ERR_NOMEM;
    case PM_ENET_COMPRESS_FASTLZ:
    case PM_ENET_COMPRESS_ZLIB:
    case PM_ENET_COMPRESS_ZSTD:
        /* Godot's own compressor callbacks; not implemented (docs/enet.md). */
        PM_WARN(&h->env, PM_ENET_COMPONENT, "compression mode %d is not supported", (int)mode);
        return PM_ERR_UNSUPPORTED;
    }
    return PM_ERR_INVALID;
}

int pm_enet_host_broadcast(pm_enet_host *h, int channel, const uint8_t *data, size_t len, int flags)
{
    if (!h || (!data && len) || channel < 0 || (size_t)channel >= h->host->channelLimit ||
        !pm_enet_flags_valid(flags))
        return PM_ERR_INVALID;
    if (len > h->host->maximumPacketSize)
        return PM_ERR_TOO_BIG;
    ENetPacket *pkt = enet_packet_create(data, len, (enet_uint32)flags);
    if (!pkt)
        return PM_ERR_NOMEM;
    enet_host_broadcast(h->host, (enet_uint8)channel, pkt); /* destroys it if nobody took it */
    return PM_OK;
}

uint32_t pm_enet_host_pop_statistic(pm_enet_host *h, pm_enet_host_statistic stat)
{
    if (!h)
        return 0;
    enet_uint32 *field;
    switch (stat) {
    case PM_ENET_HOST_TOTAL_SENT_DATA:
        field = &h->host->totalSentData;
        break;
    case PM_ENET_HOST_TOTAL_SENT_PACKETS:
        field = &h->host->totalSentPackets;
        break;
    case PM_ENET_HOST_TOTAL_RECEIVED_DATA:
        field = &h->host->totalReceivedData;
        break;
    case PM_ENET_HOST_TOTAL_RECEIVED_PACKETS:
        field = &h->host->totalReceivedPackets;
        break;
    default:
        return 0;
    }
    uint32_t v = *field;
    *field = 0;
    return v;
}

int pm_enet_host_get_max_channels(const pm_enet_host *h)
{
    return h ? (int)h->host->channelLimit : 0;
}

uint16_t pm_enet_host_get_local_port(const pm_enet_host *h)
{
    if (!h)
        return 0;
    ENetAddress a = {0};
    if (enet_socket_get_address(h->host->socket, &a) < 0)
        return 0;
    return a.port;
}

int pm_enet_host_socket_send(pm_enet_host *h, const char *ip, uint16_t port, const uint8_t *data,
                             size_t len)
{
    if (!h || port == 0 || (!data && len))
        return PM_ERR_INVALID;
    ENetAddress a = {.port = port};
    if (pm_enet_parse_ip(ip, false, &a.host) != PM_OK)
        return PM_ERR_INVALID;
    ENetBuffer buf = {.data = (void *)data, .dataLength = len};
    int r = enet_socket_send(h->host->socket, &a, &buf, 1);
    if (r < 0) {
        PM_WARN(&h->env, PM_ENET_COMPONENT, "socket_send to %s:%u failed", ip, port);
        return PM_ERR_IO;
    }
    return PM_OK;
}

/* ---- raw datagrams for hole punching ---- */

static bool raw_wanted(const uint8_t *d, size_t n)
{
    return (n >= 7 && memcmp(d, "PMPUNCH", 7) == 0) || pm_stun_is_stun(d, n);
}

/* Keeps a hole-punching datagram (capture on, serviced through
 * pm_enet_host_service). 1 = consumed. */
static int keep_raw(ENetHost *host)
{
    pm_enet_host *h = tl_servicing;
    if (!h || h->host != host || !h->raw ||
        !raw_wanted(host->receivedData, host->receivedDataLength))
        return 0;
    if (h->raw_count == PM_ENET_RAW_SLOTS || host->receivedDataLength > PM_ENET_RAW_MAX) {
        h->raw_dropped++;
        return 1;
    }
    pm_enet_raw *r = &h->raw[(h->raw_head + h->raw_count++) % PM_ENET_RAW_SLOTS];
    r->from.family = 4;
    memcpy(r->from.ip, &host->receivedAddress.host, 4); /* network byte order */
    r->from.port = host->receivedAddress.port;
    r->len = host->receivedDataLength;
    memcpy(r->data, host->receivedData, r->len);
    return 1;
}

/* ENet's one intercept: called for every datagram the host's socket
 * receives, before ENet parses it; hole punching's datagrams first, then the
 * pending-connection limits. 1 = consumed. */
static int ENET_CALLBACK intercept(ENetHost *eh, ENetEvent *ev)
{
    (void)ev;
    if (keep_raw(eh))
        return 1;
    return refuse_connect(((pm_enet_packet_peer *)eh->peers[0].data)->host, eh);
}

static void update_intercept(pm_enet_host *h)
{
    bool wanted = h->raw || h->pending_per_address || h->pending_total;
    h->host->intercept = wanted ? intercept : NULL;
}

int pm_enet_host_capture_raw(pm_enet_host *h, bool on)
{
    if (!h)
        return PM_ERR_INVALID;
    if (on && !h->raw) {
        h->raw = pm_alloc(&h->env, PM_ENET_RAW_SLOTS * sizeof *h->raw);
        if (!h->raw)
            return PM_ERR_NOMEM;
        h->raw_head = h->raw_count = 0;
        update_intercept(h);
    } else if (!on && h->raw) {
        pm_free(&h->env, h->raw);
        h->raw = NULL;
        update_intercept(h);
    }
    return PM_OK;
}

int pm_enet_host_next_raw(pm_enet_host *h, pm_addr *from, uint8_t *buf, size_t cap, size_t *len)
{
    if (!h || !from || !buf || !len)
        return PM_ERR_INVALID;
    if (!h->raw || !h->raw_count)
        return PM_ERR_AGAIN;
    pm_enet_raw *r = &h->raw[h->raw_head];
    h->raw_head = (h->raw_head + 1) % PM_ENET_RAW_SLOTS;
    h->raw_count--;
    if (r->len > cap)
        return PM_ERR_TOO_BIG;
    *from = r->from;
    memcpy(buf, r->data, r->len);
    *len = r->len;
    return PM_OK;
}

size_t pm_enet_host_get_peers(pm_enet_host *h, pm_enet_packet_peer **peers, size_t cap)
{
    size_t n = 0;
    if (!h)
        return 0;
    for (size_t i = 0; i < h->host->peerCount; i++) {
        if (h->host->peers[i].state == ENET_PEER_STATE_DISCONNECTED)
            continue;
        if (peers && n < cap)
            peers[n] = &h->peers[i];
        n++;
    }
    return n;
}

int pm_enet_host_wait(pm_enet_host *h, int timeout_ms)
{
    if (!h)
        return PM_ERR_INVALID;
    enet_uint32 cond = ENET_SOCKET_WAIT_RECEIVE;
    if (enet_socket_wait(h->host->socket, &cond, timeout_ms > 0 ? (enet_uint32)timeout_ms : 0) < 0)
        return PM_ERR_IO;
    return (cond & ENET_SOCKET_WAIT_RECEIVE) ? 1 : 0;
}

int pm_enet_host_watch(pm_enet_host *h, int set)
{
    if (set < 0)
        return PM_OK; /* no wait set (no socket driver): nothing to keep up to date */
    int rc = h->env.sockets->waitset_watch(set, h->host->socket, false);
    if (rc == PM_OK)
        h->waitset = set;
    return rc;
}

int pm_enet_host_fd(const pm_enet_host *h)
{
    return h ? (int)h->host->socket : PM_ERR_INVALID;
}

/*
 * When enet_host_service() next has work that no datagram announces, after
 * ENet 1.3.17's protocol.c: events already queued and acknowledgements or
 * commands not sent yet are due now (commands wait only when the reliable
 * window is full, i.e. while reliable data is in flight); reliable data in
 * flight is retransmitted, or the peer timed out, at nextTimeout; an idle
 * peer is pinged pingInterval after it was last heard from; with bandwidth
 * limits the throttle runs every second. Each in ENet's milliseconds.
 */
static bool host_due(const ENetHost *host, enet_uint32 now, enet_uint32 *due)
{
    bool any = false;
    enet_uint32 best = 0;
#define CONSIDER(t)                                                                                \
    do {                                                                                           \
        enet_uint32 t_ = (t);                                                                      \
        if (!any || ENET_TIME_LESS(t_, best))                                                      \
            best = t_;                                                                             \
        any = true;                                                                                \
    } while (0)
    if (!enet_list_empty(&host->dispatchQueue))
        CONSIDER(now);
    if (host->incomingBandwidth || host->outgoingBandwidth)
        CONSIDER(host->bandwidthThrottleEpoch + ENET_HOST_BANDWIDTH_THROTTLE_INTERVAL);
    for (size_t i = 0; i < host->peerCount; i++) {
        ENetPeer *p = &host->peers[i];
        if (p->state == ENET_PEER_STATE_DISCONNECTED || p->state == ENET_PEER_STATE_ZOMBIE)
            continue;
        bool in_flight = !enet_list_empty(&p->sentReliableCommands);
        if (!enet_list_empty(&p->acknowledgements) ||
            (!in_flight && !enet_list_empty(&p->outgoingCommands)))
            CONSIDER(now);
        else if (in_flight)
            CONSIDER(p->nextTimeout);
        else
            CONSIDER(p->lastReceiveTime + p->pingInterval);
    }
#undef CONSIDER
    *due = best;
    return any;
}

/* The most a deadline lies ahead: ENet keeps time on the wall clock, which may jump. */
#define DEADLINE_CAP PM_SEC(1)

/* When pm_enet_host_expire_pending next has work (the env's clock), or PM_TIME_NEVER. */
static pm_time pending_due(const pm_enet_host *h)
{
    pm_time due = PM_TIME_NEVER;
    if (!h->pending_timeout)
        return due;
    for (size_t i = 0; i < h->host->peerCount; i++) {
        const pm_enet_packet_peer *pp = &h->peers[i];
        if (!pending_guest(pp))
            continue;
        /* Not seen yet: its clock starts at the next check. */
        pm_time t =
            pp->pending_since ? pp->pending_since + h->pending_timeout : h->next_pending_check;
        due = PM_MIN(due, PM_MAX(t, h->next_pending_check));
    }
    return due;
}

pm_time pm_enet_host_next_timeout(const pm_enet_host *h)
{
    if (!h)
        return PM_TIME_NEVER;
    enet_uint32 now = enet_time_get(), due;
    pm_time t = pm_now(), result = PM_TIME_NEVER;
    if (host_due(h->host, now, &due)) {
        if (ENET_TIME_LESS_EQUAL(due, now))
            return t;
        /* ENet compares whole milliseconds of its own clock: one more makes sure it sees them. */
        pm_time wait = (pm_time)ENET_TIME_DIFFERENCE(due, now) * 1000 + 1000;
        result = t + PM_MIN(wait, DEADLINE_CAP);
    }
    /* The pending-connection limit resets unfinished guests in time (on the env's clock). */
    pm_time pending = pending_due(h);
    if (pending != PM_TIME_NEVER) {
        pm_time env_now = pm_env_now(&h->env);
        result = PM_MIN(result, pending <= env_now ? t : t + (pending - env_now));
    }
    return result;
}
