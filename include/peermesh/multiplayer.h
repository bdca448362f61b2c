/*
 * peermesh/multiplayer.h — the multiplayer-peer interface.
 *
 * One interface, Godot's MultiplayerPeer (NetworkedMultiplayerPeer in 3.2),
 * that every transport implements (the WebRTC mesh in mesh.h, the ENet peer
 * in enet.h, and later ones), so game code is written once. Enum values are
 * Godot's.
 *
 * Driving: call pm_mp_poll() often; then drain events with
 * pm_mp_next_event() and packets with pm_mp_get_packet(). Nothing is ever
 * called back. Single-threaded, like every peermesh object.
 *
 * Calls from callbacks (common.h): an interface object belongs to its
 * transport; from inside the transport's pm_env functions call neither.
 * A transport of your own (pm_multiplayer_ops) is called only from inside
 * the pm_mp_* wrapper of the same name, on that call's thread; from inside
 * an op call no pm_mp_* function on the same interface object and do not
 * free it.
 *
 * Addressing: peer ids are positive 32-bit integers; the server is 1.
 * Target 0 is broadcast; a negative target -N means everyone except N.
 *
 * Channels: channel 0 picks the transport's default channel for the
 * transfer mode; channel k > 0 is the k-th extra channel the transport was
 * configured with (PM_ERR_INVALID if there is none).
 */
#ifndef PEERMESH_MULTIPLAYER_H
#define PEERMESH_MULTIPLAYER_H

#include "peermesh/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_MP_TARGET_BROADCAST 0
#define PM_MP_TARGET_SERVER    1

/** Godot MultiplayerPeer.TransferMode. The default is RELIABLE. */
typedef enum pm_mp_transfer_mode {
    PM_MP_TRANSFER_UNRELIABLE = 0,
    PM_MP_TRANSFER_UNRELIABLE_ORDERED = 1,
    PM_MP_TRANSFER_RELIABLE = 2,
} pm_mp_transfer_mode;

/** Godot MultiplayerPeer.ConnectionStatus. */
typedef enum pm_mp_status {
    PM_MP_DISCONNECTED = 0,
    PM_MP_CONNECTING = 1,
    PM_MP_CONNECTED = 2,
} pm_mp_status;

/** Godot's signals, in the order the transport emitted them. */
typedef enum pm_mp_event_type {
    PM_MP_EVENT_PEER_CONNECTED = 1,
    PM_MP_EVENT_PEER_DISCONNECTED,
    PM_MP_EVENT_CONNECTION_SUCCEEDED,
    PM_MP_EVENT_CONNECTION_FAILED,
    PM_MP_EVENT_SERVER_DISCONNECTED,
    /** Beyond Godot: the lobby's host is now peer_id (pm_mesh_set_host). */
    PM_MP_EVENT_HOST_CHANGED,
} pm_mp_event_type;

typedef struct pm_mp_event {
    pm_mp_event_type type;
    int32_t peer_id; /**< PEER_CONNECTED / PEER_DISCONNECTED; 1 for the server events */
} pm_mp_event;

/** A received packet. `data` is borrowed until the next get_packet or poll. */
typedef struct pm_mp_packet {
    const uint8_t *data;
    size_t len;
    int32_t from;             /**< sender's peer id */
    int channel;              /**< 0 for the default channels, k for extra channel k */
    pm_mp_transfer_mode mode; /**< the mode of the channel it arrived on */
} pm_mp_packet;

/**
 * What a transport implements. `impl` is the transport object. Every
 * function must follow the contract of the pm_mp_* wrapper of the same name,
 * which calls it with the same arguments (put_packet gets the current
 * target, mode and channel). poll, put_packet, get_packet and next_event are
 * required; a NULL optional op makes its wrapper return the neutral value
 * (0, false, DISCONNECTED; PM_ERR_UNSUPPORTED for disconnect_peer).
 */
typedef struct pm_multiplayer_ops {
    int (*poll)(void *impl);
    int (*put_packet)(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                      const uint8_t *data, size_t len);
    int (*get_packet)(void *impl, pm_mp_packet *out);
    int (*get_available_packet_count)(const void *impl);
    bool (*next_event)(void *impl, pm_mp_event *ev);
    int32_t (*get_unique_id)(const void *impl);
    pm_mp_status (*get_connection_status)(const void *impl);
    void (*set_refuse_new_connections)(void *impl, bool refuse);
    bool (*is_refusing_new_connections)(const void *impl);
    int (*disconnect_peer)(void *impl, int32_t peer_id, bool force);
    void (*close)(void *impl);
    bool (*is_server_relay_supported)(const void *impl);
    size_t (*get_max_packet_size)(const void *impl);
} pm_multiplayer_ops;

/** The interface object: a transport plus the current target, mode and channel. */
typedef struct pm_multiplayer pm_multiplayer;

/**
 * Wrap a transport (for implementers; the built-in transports give you
 * theirs, e.g. pm_mesh_multiplayer()). The wrapper does not own `impl`;
 * `ops` is borrowed for the wrapper's life. Target 0, mode RELIABLE,
 * channel 0. PM_ERR_INVALID when a required op is missing; PM_ERR_NOMEM.
 */
PM_API int pm_multiplayer_new(const pm_multiplayer_ops *ops, void *impl, pm_multiplayer **out);
/** Free a wrapper made by pm_multiplayer_new (never a transport's own); `impl` is untouched. */
PM_API void pm_multiplayer_free(pm_multiplayer *mp);

/** Drive the transport. PM_OK, or the transport's error. */
PM_API int pm_mp_poll(pm_multiplayer *mp);

/** Target of later put_packet calls: 0 broadcast, N peer N, -N all but N. Default 0. */
PM_API void pm_mp_set_target_peer(pm_multiplayer *mp, int32_t target);
PM_API int32_t pm_mp_get_target_peer(const pm_multiplayer *mp);
/**
 * Mode of later put_packet calls (default RELIABLE). PM_ERR_INVALID for a
 * value outside the enum (the mode stays as it was).
 */
PM_API int pm_mp_set_transfer_mode(pm_multiplayer *mp, pm_mp_transfer_mode mode);
PM_API pm_mp_transfer_mode pm_mp_get_transfer_mode(const pm_multiplayer *mp);
/**
 * Channel of later put_packet calls: 0 = the default channel for the mode;
 * k > 0 = extra channel k (put_packet says PM_ERR_INVALID when the transport
 * has no such channel). PM_ERR_INVALID for a negative channel (it stays as
 * it was).
 */
PM_API int pm_mp_set_transfer_channel(pm_multiplayer *mp, int channel);
PM_API int pm_mp_get_transfer_channel(const pm_multiplayer *mp);

/**
 * Send one packet to the current target with the current mode and channel.
 * PM_ERR_STATE when DISCONNECTED (Godot's ERR_UNCONFIGURED); PM_ERR_INVALID
 * for an unknown target peer or channel; PM_ERR_TOO_BIG above the
 * transport's limit; other errors from the transport for a single target.
 * Broadcasts return PM_OK even if some peer could not take the packet (as
 * Godot), and log it.
 */
PM_API int pm_mp_put_packet(pm_multiplayer *mp, const uint8_t *data, size_t len);

/**
 * Take the next packet. PM_ERR_AGAIN when none. The order across peers is
 * the transport's, as in Godot: the WebRTC mesh goes round-robin across peers
 * (WebRTCMultiplayerPeer), ENet hands packets out in arrival order
 * (ENetMultiplayerPeer). Within one peer and channel, order is the channel's.
 */
PM_API int pm_mp_get_packet(pm_multiplayer *mp, pm_mp_packet *out);
/** Packets get_packet would hand out now. */
PM_API int pm_mp_get_available_packet_count(const pm_multiplayer *mp);

/** Next event, false when none. */
PM_API bool pm_mp_next_event(pm_multiplayer *mp, pm_mp_event *ev);

/** Our id (1 for a server); 0 before the transport is set up. */
PM_API int32_t pm_mp_get_unique_id(const pm_multiplayer *mp);
/** True when our id is 1. */
PM_API bool pm_mp_is_server(const pm_multiplayer *mp);
/** DISCONNECTED, CONNECTING or CONNECTED (DISCONNECTED for NULL). */
PM_API pm_mp_status pm_mp_get_connection_status(const pm_multiplayer *mp);
/** Refuse (or accept again) peers that are not connected yet; see the transport. */
PM_API void pm_mp_set_refuse_new_connections(pm_multiplayer *mp, bool refuse);
PM_API bool pm_mp_is_refusing_new_connections(const pm_multiplayer *mp);
/**
 * Disconnect one peer: gracefully (PEER_DISCONNECTED follows from a later
 * poll), or at once without an event when force. PM_ERR_NOT_FOUND (mesh) or
 * PM_ERR_INVALID (ENet) for an unknown peer; PM_ERR_STATE when the
 * transport is not set up (ENet); PM_ERR_UNSUPPORTED without the op.
 */
PM_API int pm_mp_disconnect_peer(pm_multiplayer *mp, int32_t peer_id, bool force);
/** Close everything; no events (as Godot). */
PM_API void pm_mp_close(pm_multiplayer *mp);
/** Godot's is_server_relay_supported: whether the server relays between clients. */
PM_API bool pm_mp_is_server_relay_supported(const pm_multiplayer *mp);
/**
 * The largest packet pm_mp_put_packet() accepts now (bigger ones get
 * PM_ERR_TOO_BIG): for a mesh the smallest limit its connections negotiated
 * (mesh.h), for ENet 16 MiB (ENet fragments it). 0 for NULL.
 */
PM_API size_t pm_mp_get_max_packet_size(const pm_multiplayer *mp);

/*
 * Static names of the enums, Godot's spellings ("peer_connected",
 * "connecting", "unreliable_ordered"); "unknown" for a value outside the
 * enum. Never NULL; callable anywhere (common.h).
 */
PM_API const char *pm_mp_event_type_to_string(pm_mp_event_type type);
PM_API const char *pm_mp_status_to_string(pm_mp_status status);
PM_API const char *pm_mp_transfer_mode_to_string(pm_mp_transfer_mode mode);

#ifdef __cplusplus
}
#endif
#endif
