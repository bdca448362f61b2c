/*
 * Internal interface of the ENet peer: the only files that include ENet's
 * headers (ARCHITECTURE.md, "only the ENet peer sees ENet").
 *
 *   enet_host.c     pm_enet_host: ENetConnection (create, connect, service, ...)
 *   enet_pp.c       pm_enet_packet_peer: ENetPacketPeer, and the packet queues
 *   enet_mp.c       pm_enet: lifecycle, create_server/client/mesh, close, interface ops
 *   enet_poll.c     pm_enet: receiving (events, system messages, spoof checks)
 *   enet_send.c     pm_enet: put_packet, disconnect_peer, the 3.2 server relay
 */
#ifndef PM_ENET_INTERNAL_H
#define PM_ENET_INTERNAL_H

#include "base/base.h"
#include "base/driver.h"
#include "multiplayer/multiplayer_internal.h"
#include "peermesh/enet.h"
#include "wire/godot_enet.h"

#include <enet/enet.h>
#include <enet/time.h>

#define PM_ENET_COMPONENT "enet"

/* Godot 3's get_max_packet_size() ("anything is good"); ENet's own limit is 32 MiB. */
#define PM_ENET_MAX_PACKET_SIZE ((size_t)1 << 24)

/* Events handled per host and poll: bounds the time one poll can take under a flood. */
#define PM_ENET_POLL_BUDGET 4096

/** A received packet waiting in a queue. */
typedef struct pm_enet_rx {
    ENetPacket *packet;
    int32_t from;             /* multiplayer: sender id */
    uint8_t enet_channel;     /* ENet channel it came on */
    uint8_t offset;           /* bytes of Godot header to skip */
    int channel;              /* multiplayer: interface channel */
    pm_mp_transfer_mode mode; /* multiplayer: derived from the flags */
} pm_enet_rx;

/** A growable ring of pm_enet_rx; owns the packets in it. */
typedef struct pm_enet_rxq {
    pm_enet_rx *items;
    size_t head;
    size_t count;
    size_t cap;
} pm_enet_rxq;

int pm_enet_rxq_push(const pm_envr *env, pm_enet_rxq *q, const pm_enet_rx *rx);
bool pm_enet_rxq_pop(pm_enet_rxq *q, pm_enet_rx *out);
/** Destroy every queued packet; keep the storage. */
void pm_enet_rxq_clear(pm_enet_rxq *q);
void pm_enet_rxq_free(const pm_envr *env, pm_enet_rxq *q);

struct pm_enet_packet_peer {
    pm_enet_host *host;
    ENetPeer *peer;
    pm_enet_rxq rx;        /* packets queued by pm_enet_host_service */
    ENetPacket *current;   /* the packet handed out by get_packet (borrowed) */
    int32_t mp_id;         /* the multiplayer peer's id for this connection, 0 = none */
    bool outgoing;         /* we connected (pm_enet_host_connect); not a pending guest */
    pm_time pending_since; /* an incoming connection not finished yet: seen since */
};

/* Datagrams kept from ENet while capturing (pm_enet_host_capture_raw). */
#define PM_ENET_RAW_SLOTS 16
#define PM_ENET_RAW_MAX   576
typedef struct pm_enet_raw {
    pm_addr from;
    size_t len;
    uint8_t data[PM_ENET_RAW_MAX];
} pm_enet_raw;

struct pm_enet_host {
    pm_envr env;
    ENetHost *host;
    int waitset;                /* the owner's wait set holding our socket, or -1 */
    pm_enet_packet_peer *peers; /* one per ENet peer slot, same index */
    size_t borrowed;            /* packet peers whose `current` is set */
    /* Incoming connections not finished yet (pm_enet_host_limit_pending). */
    size_t pending_per_address, pending_total; /* 0 = no limit */
    pm_time pending_timeout;                   /* 0 = ENet's own (~30 s) */
    pm_time next_pending_check;
    uint64_t pending_refused; /* CONNECTs dropped, or pending guests reset, by those limits */
    pm_enet_raw *raw;         /* capture ring (PM_ENET_RAW_SLOTS), NULL when off */
    size_t raw_head, raw_count;
    uint64_t raw_dropped;
};

/** The packet peer of an ENet peer of this host. */
static inline pm_enet_packet_peer *pm_enet_pp_of(pm_enet_host *h, ENetPeer *p)
{
    return &h->peers[p - h->host->peers];
}
/** Put the host's socket in wait set `set` (until the host is freed). PM_ERR_IO. */
int pm_enet_host_watch(pm_enet_host *h, int set);
/** Parse a numeric IPv4 address for ENet (no DNS). "*" and NULL give ENET_HOST_ANY if any_ok. */
int pm_enet_parse_ip(const char *ip, bool any_ok, uint32_t *out);
/** Release the packet a get_packet handed out. */
void pm_enet_pp_release(pm_enet_packet_peer *pp);
/** Forget queued packets (the connection ended or the slot is reused). */
void pm_enet_pp_clear(pm_enet_packet_peer *pp);
/** Drop pending guests past their time (pm_enet_host_limit_pending). */
void pm_enet_host_expire_pending(pm_enet_host *h);
/** ENet packet flags we accept from users. */
bool pm_enet_flags_valid(int flags);

typedef enum pm_enet_mode {
    PM_ENET_MODE_NONE = 0,
    PM_ENET_MODE_SERVER,
    PM_ENET_MODE_CLIENT,
    PM_ENET_MODE_MESH,
} pm_enet_mode;

/** One remote peer the multiplayer layer knows. */
typedef struct pm_enet_member {
    int32_t id;
    pm_enet_packet_peer *pp; /* NULL: a 3.2 client's peer announced by ADD_PEER */
    pm_enet_host *mesh_host; /* mesh: the host owned for this peer */
} pm_enet_member;

struct pm_enet {
    pm_envr env;
    int waitset; /* pm_enet_fd: the sockets of every host we own */
    pm_genet_format fmt;
    pm_enet_compression compression;
    bool server_relay;
    bool always_ordered;
    char *bind_ip;
    pm_multiplayer *mp;
    int pending_per_address, pending_total; /* a server's guard (pm_enet_config) */
    uint32_t pending_timeout_ms;

    pm_enet_mode mode;
    pm_mp_status status;
    int32_t unique_id;
    bool refuse;
    pm_enet_host *host;   /* server or client */
    size_t channel_count; /* ENet channels per connection */

    pm_enet_member *members;
    size_t n_members;
    size_t cap_members;

    pm_enet_rxq incoming;
    ENetPacket *current; /* handed out by get_packet */

    pm_mp_event *events;
    size_t ev_head;
    size_t ev_count;
    size_t ev_cap;

    pm_enet_stats stats;
};

/** Release the packet handed out by the last get_packet. */
static inline void pm_enet_release_current(pm_enet *e)
{
    if (e->current) {
        enet_packet_destroy(e->current);
        e->current = NULL;
    }
}

/* Members (enet_mp.c). */
pm_enet_member *pm_enet_find(pm_enet *e, int32_t id);
int pm_enet_add_member(pm_enet *e, int32_t id, pm_enet_packet_peer *pp, pm_enet_host *mesh_host);
/** Remove by index (order is not kept). */
void pm_enet_remove_member(pm_enet *e, size_t index);
void pm_enet_push_event(pm_enet *e, pm_mp_event_type type, int32_t peer_id);
/** Tear everything down without events; `notify` sends disconnect notices first. */
void pm_enet_shutdown(pm_enet *e, bool notify);

/* Receiving (enet_poll.c). */
int pm_enet_poll(void *impl);
/** Handle one received packet from member/connection `pp`; takes the packet. */
void pm_enet_on_receive(pm_enet *e, pm_enet_packet_peer *pp, uint8_t channel, ENetPacket *packet);

/* Sending (enet_send.c). */
int pm_enet_put_packet(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                       const uint8_t *data, size_t len);
int pm_enet_disconnect_peer(void *impl, int32_t peer_id, bool force);
/** 3.2 server: send an ADD_PEER / REMOVE_PEER about `about` to one client. */
void pm_enet_send_sysmsg(pm_enet *e, pm_enet_packet_peer *to, uint32_t type, int32_t about);
/** 3.2 server relay of a data packet from `from` (header already checked); takes the packet. */
void pm_enet_relay(pm_enet *e, pm_enet_packet_peer *from, uint8_t channel, ENetPacket *packet,
                   int32_t target);

/* Queue a received packet (owned from now on) for get_packet; its payload
 * starts at `offset` (past the Godot 3 header). enet_poll.c */
void pm_enet_queue_packet(pm_enet *e, ENetPacket *pkt, int32_t from, uint8_t channel,
                          uint8_t offset);

#endif
