/*
 * peermesh/enet.h — the ENet multiplayer peer and its low-level wrappers.
 *
 * The model is Godot: NetworkedMultiplayerENet (3.2) and ENetMultiplayerPeer
 * with ENetConnection / ENetPacketPeer (4.x), over ENet 1.3.17, the library
 * Debian's Godot links. Both wire formats are spoken (docs/enet.md):
 *
 *  - PM_ENET_FORMAT_GODOT3: every data packet starts with an 8-byte header
 *    (source id, target id, little-endian); channel 0 carries the server's
 *    ADD_PEER / REMOVE_PEER messages; 1 is reliable, 2 unreliable, 3+ extra;
 *    the server relays client-to-client packets.
 *  - PM_ENET_FORMAT_GODOT4: no header; channel 0 reliable, 1 unreliable,
 *    2+ extra; the transport does not relay (Godot 4 relays in
 *    SceneMultiplayer).
 *
 * In both a client's id travels in the 32-bit data of ENet's CONNECT.
 * IPv4 only (upstream ENet), no checksum, compression none or range coder.
 *
 * In a web page (the WebAssembly build, docs/web.md) there are no UDP
 * sockets: pm_enet_host_create(), pm_enet_host_create_bound() and
 * pm_enet_new() return PM_ERR_UNSUPPORTED (pm_enet_config_default works).
 *
 * Driving: like every peermesh object, single-threaded and poll-driven;
 * nothing is called back. Between polls, sleep on pm_enet_fd() until
 * pm_enet_next_timeout() (common.h, "One way to wait"). ENet owns its
 * sockets and reads the OS clock itself, so these objects take no clock
 * from pm_env (allocator and log sink are used): their deadlines are on
 * pm_now()'s clock. Calls from callbacks (common.h): from inside those pm_env
 * functions call nothing on the host, its packet peers, the pm_enet or its
 * interface. Packet peers and hosts owned by a pm_enet may be used between
 * its calls, never freed.
 */
#ifndef PEERMESH_ENET_H
#define PEERMESH_ENET_H

#include "peermesh/common.h"
#include "peermesh/multiplayer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== */
/* Low level: a host (Godot 4's ENetConnection) and its packet peers.     */
/* ====================================================================== */

typedef struct pm_enet_host pm_enet_host;
typedef struct pm_enet_packet_peer pm_enet_packet_peer;

#define PM_ENET_MAX_PEERS    4095 /**< ENET_PROTOCOL_MAXIMUM_PEER_ID */
#define PM_ENET_MAX_CHANNELS 255  /**< ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT */

/** ENet packet flags accepted by send/broadcast (Godot's ENetPacketPeer flags). */
#define PM_ENET_FLAG_RELIABLE            1
#define PM_ENET_FLAG_UNSEQUENCED         2
#define PM_ENET_FLAG_UNRELIABLE_FRAGMENT 8

/** ENetConnection.EventType. */
typedef enum pm_enet_event_type {
    PM_ENET_EVENT_ERROR = -1,
    PM_ENET_EVENT_NONE = 0,
    PM_ENET_EVENT_CONNECT = 1,
    PM_ENET_EVENT_DISCONNECT = 2,
    PM_ENET_EVENT_RECEIVE = 3,
} pm_enet_event_type;

typedef struct pm_enet_event {
    pm_enet_event_type type;
    pm_enet_packet_peer *peer; /**< owned by the host */
    uint32_t data;             /**< CONNECT / DISCONNECT data */
    int channel;               /**< RECEIVE: the ENet channel */
} pm_enet_event;

/** ENetConnection.CompressionMode. Only NONE and RANGE_CODER are implemented. */
typedef enum pm_enet_compression {
    PM_ENET_COMPRESS_NONE = 0,
    PM_ENET_COMPRESS_RANGE_CODER = 1,
    PM_ENET_COMPRESS_FASTLZ = 2,
    PM_ENET_COMPRESS_ZLIB = 3,
    PM_ENET_COMPRESS_ZSTD = 4,
} pm_enet_compression;

/** ENetConnection.HostStatistic. */
typedef enum pm_enet_host_statistic {
    PM_ENET_HOST_TOTAL_SENT_DATA = 0,
    PM_ENET_HOST_TOTAL_SENT_PACKETS = 1,
    PM_ENET_HOST_TOTAL_RECEIVED_DATA = 2,
    PM_ENET_HOST_TOTAL_RECEIVED_PACKETS = 3,
} pm_enet_host_statistic;

/** ENetPacketPeer.PeerState (ENet's ENetPeerState). */
typedef enum pm_enet_peer_state {
    PM_ENET_PEER_DISCONNECTED = 0,
    PM_ENET_PEER_CONNECTING = 1,
    PM_ENET_PEER_ACKNOWLEDGING_CONNECT = 2,
    PM_ENET_PEER_CONNECTION_PENDING = 3,
    PM_ENET_PEER_CONNECTION_SUCCEEDED = 4,
    PM_ENET_PEER_CONNECTED = 5,
    PM_ENET_PEER_DISCONNECT_LATER = 6,
    PM_ENET_PEER_DISCONNECTING = 7,
    PM_ENET_PEER_ACKNOWLEDGING_DISCONNECT = 8,
    PM_ENET_PEER_ZOMBIE = 9,
} pm_enet_peer_state;

/** ENetPacketPeer.PeerStatistic: the raw ENetPeer fields. */
typedef enum pm_enet_peer_statistic {
    PM_ENET_PEER_PACKET_LOSS = 0,
    PM_ENET_PEER_PACKET_LOSS_VARIANCE = 1,
    PM_ENET_PEER_PACKET_LOSS_EPOCH = 2,
    PM_ENET_PEER_ROUND_TRIP_TIME = 3,
    PM_ENET_PEER_ROUND_TRIP_TIME_VARIANCE = 4,
    PM_ENET_PEER_LAST_ROUND_TRIP_TIME = 5,
    PM_ENET_PEER_LAST_ROUND_TRIP_TIME_VARIANCE = 6,
    PM_ENET_PEER_PACKET_THROTTLE = 7,
    PM_ENET_PEER_PACKET_THROTTLE_LIMIT = 8,
    PM_ENET_PEER_PACKET_THROTTLE_COUNTER = 9,
    PM_ENET_PEER_PACKET_THROTTLE_EPOCH = 10,
    PM_ENET_PEER_PACKET_THROTTLE_ACCELERATION = 11,
    PM_ENET_PEER_PACKET_THROTTLE_DECELERATION = 12,
    PM_ENET_PEER_PACKET_THROTTLE_INTERVAL = 13,
} pm_enet_peer_statistic;

#define PM_ENET_PACKET_LOSS_SCALE     65536 /**< ENET_PEER_PACKET_LOSS_SCALE */
#define PM_ENET_PACKET_THROTTLE_SCALE 32    /**< ENET_PEER_PACKET_THROTTLE_SCALE */

/**
 * Create an unbound host (create_host): the OS picks the port on first send.
 * max_peers 1..4095; max_channels 0..255 (0 = 255); bandwidths in bytes per
 * second, 0 = unlimited. `env` may be NULL. PM_ERR_INVALID, PM_ERR_NOMEM,
 * PM_ERR_IO when ENet cannot create the socket.
 */
PM_API int pm_enet_host_create(const pm_env *env, int max_peers, int max_channels,
                               uint32_t in_bandwidth, uint32_t out_bandwidth, pm_enet_host **out);
/**
 * Create a host bound to a numeric IPv4 address ("*" or NULL = any) and
 * port (0 = ephemeral) (create_host_bound). PM_ERR_IO when the bind fails.
 */
PM_API int pm_enet_host_create_bound(const pm_env *env, const char *bind_ip, uint16_t port,
                                     int max_peers, int max_channels, uint32_t in_bandwidth,
                                     uint32_t out_bandwidth, pm_enet_host **out);
/** Destroy the host, its socket and every packet peer (no disconnect is sent). */
PM_API void pm_enet_host_free(pm_enet_host *host);

/**
 * Start connecting to a numeric IPv4 address (never resolves names).
 * channels 0 = 255. `data` goes in the CONNECT command. *out (optional) is
 * the new packet peer, owned by the host. PM_ERR_FULL when the host has no
 * free peer slot.
 */
PM_API int pm_enet_host_connect(pm_enet_host *host, const char *ip, uint16_t port, int channels,
                                uint32_t data, pm_enet_packet_peer **out);
/**
 * Service the host: send and receive, then return at most one event
 * (timeout_ms 0 = do not wait). RECEIVE packets are queued on the peer
 * (pm_enet_packet_peer_get_packet). Returns 1 with an event, 0 with none
 * (ev->type NONE), or PM_ERR_IO (ev->type ERROR).
 */
PM_API int pm_enet_host_service(pm_enet_host *host, int timeout_ms, pm_enet_event *ev);
/** Send everything queued now, without waiting for the next service. */
PM_API void pm_enet_host_flush(pm_enet_host *host);
/** Bandwidth limits in bytes per second (0 = unlimited), as create. */
PM_API void pm_enet_host_bandwidth_limit(pm_enet_host *host, uint32_t in_bandwidth,
                                         uint32_t out_bandwidth);
/** Limit the channels of future connections (0 or above 255 = 255). */
PM_API void pm_enet_host_channel_limit(pm_enet_host *host, int limit);
/** Recompute the peers' bandwidth shares now (ENet does it every second anyway). */
PM_API void pm_enet_host_bandwidth_throttle(pm_enet_host *host);
/** PM_ERR_UNSUPPORTED for FASTLZ, ZLIB and ZSTD (Godot-only compressors). */
PM_API int pm_enet_host_compress(pm_enet_host *host, pm_enet_compression mode);
/** Queue a packet to every connected peer. PM_ERR_INVALID for a bad channel or flags. */
PM_API int pm_enet_host_broadcast(pm_enet_host *host, int channel, const uint8_t *data, size_t len,
                                  int flags);
/** Return a counter and reset it to 0 (pop_statistic). */
PM_API uint32_t pm_enet_host_pop_statistic(pm_enet_host *host, pm_enet_host_statistic stat);
/** Channel limit of future connections. */
PM_API int pm_enet_host_get_max_channels(const pm_enet_host *host);
/** Local UDP port (0 while an unbound host has not sent yet). */
PM_API uint16_t pm_enet_host_get_local_port(const pm_enet_host *host);
/** Send one raw UDP datagram from the host's socket (NAT punching). PM_ERR_IO on failure. */
PM_API int pm_enet_host_socket_send(pm_enet_host *host, const char *ip, uint16_t port,
                                    const uint8_t *data, size_t len);
/**
 * Hole punching on the host's socket (what pm_signal_client does for an
 * ENet mesh, signaling.h): while on, received datagrams that are STUN
 * messages (RFC 8489: magic cookie, length) or start with "PMPUNCH" are
 * kept from ENet and queued, at most 16 (more are dropped), for
 * pm_enet_host_next_raw(); they arrive while the host is serviced. Off by
 * default; off frees the queue. PM_ERR_INVALID, PM_ERR_NOMEM.
 */
PM_API int pm_enet_host_capture_raw(pm_enet_host *host, bool on);
/**
 * Take the next captured datagram: its IPv4 source and bytes. PM_ERR_AGAIN
 * when none, PM_ERR_TOO_BIG when it does not fit `cap` (it is dropped).
 */
PM_API int pm_enet_host_next_raw(pm_enet_host *host, pm_addr *from, uint8_t *buf, size_t cap,
                                 size_t *len);
/**
 * Fill `peers` with up to `cap` packet peers that are not DISCONNECTED
 * (get_peers); returns how many there are in total.
 */
PM_API size_t pm_enet_host_get_peers(pm_enet_host *host, pm_enet_packet_peer **peers, size_t cap);
/** Wait up to timeout_ms for the socket to become readable. 1 ready, 0 timeout, PM_ERR_IO. */
PM_API int pm_enet_host_wait(pm_enet_host *host, int timeout_ms);
/** The host's UDP socket, to wait on for input (PM_ERR_INVALID for NULL). */
PM_API int pm_enet_host_fd(const pm_enet_host *host);
/**
 * When pm_enet_host_service() is needed next at the latest without any
 * input (absolute, pm_now()'s clock): a retransmission or timeout of
 * reliable data in flight, a ping of an idle peer (every 500 ms by
 * default), something queued and not sent yet (now), the reset of an
 * unfinished connection (pm_enet_host_limit_pending); PM_TIME_NEVER when no
 * peer is active. At most 1 s ahead (ENet's clock is the wall clock).
 */
PM_API pm_time pm_enet_host_next_timeout(const pm_enet_host *host);
/**
 * Guard the host's slots against connections that never finish: an ENet
 * CONNECT takes a slot at once and keeps it for ~30 s of retransmitted
 * VERIFY_CONNECTs unless acknowledged, so a few datagrams a second could
 * keep every slot full. A connection attempt from a new endpoint is dropped
 * when its IPv4 address already has `per_address` unfinished incoming
 * connections, or the host `total`; an unfinished one is reset (silently:
 * it never produced an event) after timeout_ms. 0 = no such limit. Checked
 * in pm_enet_host_service. PM_ERR_INVALID for negative limits.
 */
PM_API int pm_enet_host_limit_pending(pm_enet_host *host, int per_address, int total,
                                      uint32_t timeout_ms);
/** Connection attempts dropped and unfinished connections reset by those limits. */
PM_API uint64_t pm_enet_host_pending_refused(const pm_enet_host *host);

/**
 * Queue a packet (send). channel < the peer's channel count; flags a
 * combination of PM_ENET_FLAG_*. PM_ERR_STATE unless the peer is connected,
 * PM_ERR_INVALID for a bad channel or flag, PM_ERR_NOMEM.
 */
PM_API int pm_enet_packet_peer_send(pm_enet_packet_peer *peer, int channel, const uint8_t *data,
                                    size_t len, int flags);
/** PacketPeer.put_packet: reliably on channel 0. Errors as pm_enet_packet_peer_send(). */
PM_API int pm_enet_packet_peer_put_packet(pm_enet_packet_peer *peer, const uint8_t *data,
                                          size_t len);
/**
 * Take the next received packet; *data is borrowed until the next
 * get_packet on this peer or the next service of its host. PM_ERR_AGAIN
 * when none. *channel and *flags (optional) describe it.
 */
PM_API int pm_enet_packet_peer_get_packet(pm_enet_packet_peer *peer, const uint8_t **data,
                                          size_t *len, int *channel, int *flags);
/** Received packets not yet taken with get_packet. */
PM_API int pm_enet_packet_peer_get_available_packet_count(const pm_enet_packet_peer *peer);
/** Graceful disconnect; DISCONNECT event once acknowledged. */
PM_API void pm_enet_packet_peer_disconnect(pm_enet_packet_peer *peer, uint32_t data);
/** Disconnect once every queued packet is sent. */
PM_API void pm_enet_packet_peer_disconnect_later(pm_enet_packet_peer *peer, uint32_t data);
/** Disconnect at once: one notice is sent, no event is generated. */
PM_API void pm_enet_packet_peer_disconnect_now(pm_enet_packet_peer *peer, uint32_t data);
/** Forget the peer without telling it. */
PM_API void pm_enet_packet_peer_reset(pm_enet_packet_peer *peer);
/** Send a ping now (ENet also pings by itself, see ping_interval). */
PM_API void pm_enet_packet_peer_ping(pm_enet_packet_peer *peer);
/** Interval between pings in ms (0 = ENet's default, 500). */
PM_API void pm_enet_packet_peer_ping_interval(pm_enet_packet_peer *peer, uint32_t ms);
/**
 * Timeouts in ms (set_timeout): PM_ERR_INVALID unless limit <= min <= max.
 * 0 values select ENet's defaults (32, 5000, 30000).
 */
PM_API int pm_enet_packet_peer_set_timeout(pm_enet_packet_peer *peer, uint32_t limit,
                                           uint32_t min_ms, uint32_t max_ms);
/** ENet's unreliable-packet throttle: interval in ms, steps in PM_ENET_PACKET_THROTTLE_SCALE. */
PM_API void pm_enet_packet_peer_throttle_configure(pm_enet_packet_peer *peer, uint32_t interval,
                                                   uint32_t acceleration, uint32_t deceleration);
/** One raw ENetPeer field (0 for NULL or an unknown statistic). */
PM_API double pm_enet_packet_peer_get_statistic(const pm_enet_packet_peer *peer,
                                                pm_enet_peer_statistic stat);
/** ENet's state of the peer (DISCONNECTED for NULL). */
PM_API pm_enet_peer_state pm_enet_packet_peer_get_state(const pm_enet_packet_peer *peer);
/** True unless DISCONNECTED. */
PM_API bool pm_enet_packet_peer_is_active(const pm_enet_packet_peer *peer);
/** Remote IPv4 address and port. PM_OK. */
PM_API int pm_enet_packet_peer_get_remote_address(const pm_enet_packet_peer *peer, pm_addr *out);
/** Channels of the connection. */
PM_API int pm_enet_packet_peer_get_channels(const pm_enet_packet_peer *peer);
/** The host that owns the peer. */
PM_API pm_enet_host *pm_enet_packet_peer_get_host(const pm_enet_packet_peer *peer);

/* ====================================================================== */
/* The multiplayer peer (NetworkedMultiplayerENet / ENetMultiplayerPeer). */
/* ====================================================================== */

typedef struct pm_enet pm_enet;

/** The wire format, fixed at creation. */
typedef enum pm_enet_format {
    PM_ENET_FORMAT_GODOT3 = 3, /**< NetworkedMultiplayerENet 3.2 (the default) */
    PM_ENET_FORMAT_GODOT4 = 4, /**< ENetMultiplayerPeer 4.x */
} pm_enet_format;

/** Configuration. Initialise with pm_enet_config_default(). */
typedef struct pm_enet_config {
    const pm_env *env;               /**< NULL = defaults */
    pm_enet_format format;           /**< default PM_ENET_FORMAT_GODOT3 */
    pm_enet_compression compression; /**< both sides must agree; default NONE */
    bool server_relay;               /**< Godot 3 server: relay client packets (default true) */
    bool always_ordered;             /**< Godot 3: send UNRELIABLE sequenced (default false) */
    const char *bind_ip;             /**< numeric IPv4 to bind, NULL or "*" = any (copied) */
    /* A server's guard against connections that never finish (a CONNECT
     * takes a slot for ~30 s unless acknowledged): see
     * pm_enet_host_limit_pending. */
    int max_pending_per_address; /**< unfinished connections per IPv4 address (default 4; 0 = any)
                                  */
    int max_pending;             /**< unfinished connections at once (0 = half the slots) */
    uint32_t pending_timeout_ms; /**< an unfinished connection is dropped after this (default 5000;
                                      0 = ENet's ~30 s) */
} pm_enet_config;

/** Statistics of the multiplayer layer (not ENet's). */
typedef struct pm_enet_stats {
    uint64_t packets_received;            /**< data packets accepted from the network */
    uint64_t packets_relayed;             /**< copies a Godot 3 server forwarded */
    uint64_t dropped_spoofed;             /**< packets whose header claimed another source */
    uint64_t dropped_malformed;           /**< short packets, bad system messages, bad channels */
    uint64_t connections_refused;         /**< CONNECTs rejected (refusing, bad or duplicate id) */
    uint64_t connections_pending_refused; /**< a server's CONNECTs dropped, or unfinished
                                               connections reset, by its pending limits */
} pm_enet_stats;

/** Fill cfg with the defaults: Godot 3 format, no compression, server relay on, any address. */
PM_API void pm_enet_config_default(pm_enet_config *cfg);
/** A new, inactive peer. PM_ERR_INVALID for a bad format or compression; PM_ERR_NOMEM. */
PM_API int pm_enet_new(const pm_enet_config *cfg, pm_enet **out);
/** Close (as pm_mp_close) and free. */
PM_API void pm_enet_free(pm_enet *e);
/** The multiplayer-peer interface of this transport, owned by `e`. */
PM_API pm_multiplayer *pm_enet_multiplayer(pm_enet *e);

/**
 * Become a server with id 1, status CONNECTED, on `port` (0 = ephemeral,
 * see pm_enet_get_local_port). max_clients 1..4095. extra_channels: the
 * number of extra channels (interface channels 1..extra_channels); for
 * Godot 4, 0 means ENet's maximum (Godot's default of 255 ENet channels).
 * Bandwidths in bytes per second, 0 = unlimited. PM_ERR_STATE when already
 * active, PM_ERR_INVALID, PM_ERR_IO when the port cannot be bound.
 */
PM_API int pm_enet_create_server(pm_enet *e, uint16_t port, int max_clients, int extra_channels,
                                 uint32_t in_bandwidth, uint32_t out_bandwidth);
/**
 * Connect to a server at a numeric IPv4 address; status CONNECTING, then
 * CONNECTED with PEER_CONNECTED(1) and CONNECTION_SUCCEEDED, or
 * CONNECTION_FAILED. The random client id is chosen now (pm_mp_get_unique_id).
 * local_port 0 = ephemeral. Channels as for the server (both sides must use
 * the same number). PM_ERR_STATE when already active; PM_ERR_INVALID for a
 * non-numeric address, port 0 or a bad channel count; PM_ERR_IO when the
 * local port cannot be bound; PM_ERR_NOMEM.
 */
PM_API int pm_enet_create_client(pm_enet *e, const char *address, uint16_t port, int extra_channels,
                                 uint32_t in_bandwidth, uint32_t out_bandwidth,
                                 uint16_t local_port);
/**
 * Mesh mode with our id (> 0): status CONNECTED at once; peers come from
 * add_mesh_peer. PM_ERR_INVALID for an id <= 0; PM_ERR_STATE when active.
 */
PM_API int pm_enet_create_mesh(pm_enet *e, int32_t unique_id);
/**
 * Add a host the application connected itself (e.g. after hole punching).
 * The host must have exactly one peer, in state CONNECTED. On success the
 * host is owned by `e` (do not free it) and PEER_CONNECTED(peer_id) is
 * queued. Packets already queued on the host's peer are kept.
 * PM_ERR_STATE unless in mesh mode, PM_ERR_INVALID for a bad host or id,
 * PM_ERR_EXISTS when peer_id is taken.
 */
PM_API int pm_enet_add_mesh_peer(pm_enet *e, int32_t peer_id, pm_enet_host *host);
/** The host of a server or client (NULL in mesh mode or when inactive); owned by `e`. */
PM_API pm_enet_host *pm_enet_get_host(pm_enet *e);
/** The packet peer of a connected peer id (NULL if none); owned by `e`. */
PM_API pm_enet_packet_peer *pm_enet_get_peer(pm_enet *e, int32_t peer_id);
/** Local UDP port of the server or client host; 0 otherwise. */
PM_API uint16_t pm_enet_get_local_port(const pm_enet *e);
/** The wire format fixed at creation. */
PM_API pm_enet_format pm_enet_get_format(const pm_enet *e);
/** Fill *out (all zero for a NULL peer). */
PM_API void pm_enet_get_stats(const pm_enet *e, pm_enet_stats *out);
/**
 * Wait up to timeout_ms until one of the peer's sockets is readable (so a
 * program need not spin between polls). 1 ready, 0 timeout, PM_ERR_STATE
 * when inactive, PM_ERR_IO. pm_wait(pm_enet_fd(e), pm_enet_next_timeout(e))
 * waits exactly as long as needed instead.
 */
PM_API int pm_enet_wait(pm_enet *e, int timeout_ms);

/**
 * One descriptor for every socket of the peer (the server's or client's
 * host, or each host added with pm_enet_add_mesh_peer): readable when any
 * has input. The same number for e's whole life (also before create_* and
 * after close), so it can sit in your own poll/epoll set; closed by
 * pm_enet_free(). PM_ERR_INVALID for NULL; PM_ERR_UNSUPPORTED where there
 * are no descriptors (the WebAssembly build has no ENet at all).
 */
PM_API int pm_enet_fd(const pm_enet *e);

/**
 * When pm_mp_poll() is needed next at the latest (absolute, pm_now()'s
 * clock): the earliest pm_enet_host_next_timeout() of its hosts;
 * PM_TIME_NEVER when inactive or when no peer is connected or connecting.
 */
PM_API pm_time pm_enet_next_timeout(const pm_enet *e);

/*
 * Static names of the enums ("receive", "connected", "acknowledging_connect");
 * "unknown" for a value outside the enum. Never NULL; callable anywhere.
 */
PM_API const char *pm_enet_event_type_to_string(pm_enet_event_type type);
PM_API const char *pm_enet_peer_state_to_string(pm_enet_peer_state state);

#ifdef __cplusplus
}
#endif
#endif
