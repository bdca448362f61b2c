/*
 * peermesh/mesh.h — the WebRTC mesh: a full peer-to-peer mesh of WebRTC
 * connections used as a multiplayer transport.
 *
 * The model, behaviour for behaviour, is Godot's WebRTCMultiplayer (3.2) and
 * WebRTCMultiplayerPeer (4.x); docs/mesh.md lists every documented
 * difference. A peermesh mesh node and a Godot node can share one mesh: the
 * wire format is Godot's.
 *
 * What the mesh does and does not do. The application does the signaling:
 * for each remote node it creates a pm_rtc_peer (socket or sans-I/O mode),
 * hands it to pm_mesh_add_peer() while it is still NEW, then creates the
 * offer (or applies the remote offer) and relays descriptions and candidates
 * as usual. The mesh creates the data channels, polls the connections, and
 * reports which peers are connected. It never drains a connection's events
 * (pm_rtc_peer_next_event): the application keeps doing that, for the
 * DESCRIPTION and CANDIDATE events it must relay; the rest can be ignored.
 *
 * Channels. Every connection gets these negotiated data channels (no DCEP),
 * each message one binary packet with no header; the sender is known from
 * the connection it arrived on:
 *
 *   stream id  label         transfer mode        options
 *   1          "reliable"    RELIABLE             ordered, reliable
 *   2          "ordered"     UNRELIABLE_ORDERED   ordered, maxPacketLifeTime
 *   3          "unreliable"  UNRELIABLE           unordered, maxPacketLifeTime
 *   4, 5, ...  "4", "5", ... the configured extras (pm_mesh_create_*): their mode
 *
 * maxPacketLifeTime is add_peer's unreliable_lifetime (ms). DIFFERENCE FROM
 * GODOT: Godot spells the option "maxPacketLifetime" (lower-case t), which
 * every WebRTC implementation ignores, so Godot's "ordered" and
 * "unreliable" channels are in fact reliable (ordered and unordered). Ours
 * really are partially reliable: a message still unsent or unacknowledged
 * after unreliable_lifetime ms is abandoned. Pass unreliable_lifetime = -1
 * (PM_MESH_LIFETIME_RELIABLE) to get Godot's effective behaviour. Either way
 * the two sides interoperate: reliability is a sender-side choice. (A
 * library built with usrsctp applies partial reliability only to messages
 * of at most 1156 bytes and sends larger ones reliably, see rtc.h.)
 *
 * Driving. Call pm_mesh_poll() (or pm_mp_poll() on the interface), then
 * drain events with pm_mp_next_event() and packets with pm_mp_get_packet().
 * Between polls, sleep on pm_mesh_fd() until pm_mesh_next_timeout():
 *
 *     for (;;) {
 *         pm_wait(pm_mesh_fd(mesh), pm_mesh_next_timeout(mesh));
 *         pm_mesh_poll(mesh);
 *         ... events, packets ...
 *     }
 *
 * (or put pm_mesh_fd() in your own epoll set). Single-threaded; nothing is ever called
 * back. Calls from callbacks (common.h): from inside the pm_env functions of
 * the mesh or of its connections call neither the mesh, its interface nor
 * its connections.
 *
 * Ownership. pm_mesh_add_peer() takes the connection on success: it is freed
 * (closed first) when its peer leaves the mesh, however that happens
 * (pm_mesh_remove_peer, failure seen by poll, disconnect_peer, close, free).
 * Do not keep the pointer across mesh calls: look it up by peer id with
 * pm_mesh_get_peer() (as Godot's signaling demo does with get_peer(id)).
 */
#ifndef PEERMESH_MESH_H
#define PEERMESH_MESH_H

#include "peermesh/common.h"
#include "peermesh/multiplayer.h"
#include "peermesh/rtc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_mesh pm_mesh;

/** Most extra channels pm_mesh_create_*() accepts (stream ids 4..35). */
#define PM_MESH_MAX_EXTRA_CHANNELS 32
/** Godot's default unreliable_lifetime, in milliseconds. */
#define PM_MESH_LIFETIME_DEFAULT 1
/** unreliable_lifetime that makes every channel reliable (Godot's effective behaviour). */
#define PM_MESH_LIFETIME_RELIABLE (-1)
/**
 * What Godot's WebRTCMultiplayer.get_max_packet_size() always returns
 * (advisory). pm_mp_get_max_packet_size() on a mesh returns the real limit
 * instead: the smallest maximum message size of its peers' connections
 * (what SDP negotiated: the remote's a=max-message-size and ours), or
 * PM_MESH_DEFAULT_MAX_MESSAGE while there is no peer. Packets of at most
 * 1156 bytes are the ones partial reliability applies to (rtc.h).
 */
#define PM_MESH_MAX_PACKET_SIZE 1200
/** RFC 8841's default maximum message size: what any peer takes unless it says otherwise. */
#define PM_MESH_DEFAULT_MAX_MESSAGE 65536

/** Mesh options. Initialise with pm_mesh_config_default(). */
typedef struct pm_mesh_config {
    const pm_env *env; /**< clock (timeouts below) and log; NULL = defaults */
    /**
     * Beyond Godot. A client (pm_mesh_create_client, or pm_mesh_initialize
     * with server compatibility and id != 1) still CONNECTING this long
     * after it was set up gets CONNECTION_FAILED and status DISCONNECTED.
     * Godot has no such timeout and stays CONNECTING forever when the
     * server never connects. 0 (the default) = no timeout, as Godot.
     */
    pm_time connect_timeout;
    /**
     * Beyond Godot. How long a connected peer whose connection reports the
     * transient DISCONNECTED state (no ICE consent for a few seconds) is
     * kept before it is dropped; it stays in the mesh if the connection
     * recovers meanwhile. Godot drops it at once: 0 (the default) = as Godot.
     * A connection FAILED by ICE alone (its channels still open, see
     * pm_rtc_peer_restart_ice) gets the same grace, so an ICE restart (the
     * signaling client does one) can bring it back; FAILED otherwise and
     * CLOSED always drop the peer at once.
     */
    pm_time disconnect_grace;
} pm_mesh_config;

/** Fill cfg with the defaults: default environment, no timeouts (as Godot). */
PM_API void pm_mesh_config_default(pm_mesh_config *cfg);

/**
 * Create an unconfigured mesh (status DISCONNECTED, id 0). cfg may be NULL.
 * PM_ERR_INVALID for a negative timeout; PM_ERR_NOMEM; PM_ERR_IO when the
 * descriptor of pm_mesh_fd() cannot be made (out of file descriptors).
 */
PM_API int pm_mesh_new(const pm_mesh_config *cfg, pm_mesh **out);

/** Free the mesh, its connections and its interface object. NULL is fine. */
PM_API void pm_mesh_free(pm_mesh *mesh);

/**
 * The multiplayer-peer interface of this mesh (owned by the mesh, lives as
 * long as it). Its target peer, transfer mode and transfer channel select
 * where pm_mp_put_packet() sends.
 */
PM_API pm_multiplayer *pm_mesh_multiplayer(pm_mesh *mesh);

/* ---- setting up: Godot 3.2 ------------------------------------------- */

/**
 * Godot 3.2 WebRTCMultiplayer.initialize(peer_id, server_compatibility).
 * Without server compatibility (or with id 1) the status is CONNECTED at
 * once and every peer is announced with PEER_CONNECTED when it connects.
 * With server compatibility and id != 1 the node acts as a client: status
 * CONNECTING, and no PEER_CONNECTED for anyone until peer 1 connects; then,
 * in one poll: PEER_CONNECTED(1), CONNECTION_SUCCEEDED, then PEER_CONNECTED
 * for every other peer already connected, in ascending id order. When a
 * connected peer 1 leaves: PEER_DISCONNECTED(1), SERVER_DISCONNECTED, and
 * status DISCONNECTED (Godot's code does this; its doc says CONNECTED).
 * In this mode packets of peers not yet connected are already delivered
 * (as 3.2 does). add_peer accepts any id but our own.
 *
 * PM_ERR_INVALID: id outside 1..2^31-1 (Godot 3.2 also accepted 0);
 * PM_ERR_STATE: already set up (pm_mesh_close() first; 3.2 re-initialised
 * in place, keeping its peers).
 */
PM_API int pm_mesh_initialize(pm_mesh *mesh, int32_t id, bool server_compatibility);

/* ---- setting up: Godot 4.x ------------------------------------------- */

/**
 * Godot 4 create_mesh(id, channels_config): status CONNECTED; PEER_CONNECTED
 * for each peer once it connects. `extra` lists the transfer mode of each
 * extra channel (channel k = extra[k-1], stream id k+3); NULL/0 for none.
 * Packets are delivered only from connected peers (4.x). The server relay
 * is not supported in this mode.
 * PM_ERR_INVALID: id outside 1..2^31-1, more than PM_MESH_MAX_EXTRA_CHANNELS
 * extras, an unknown transfer mode, or extra == NULL with n > 0;
 * PM_ERR_STATE: already set up.
 */
PM_API int pm_mesh_create_mesh(pm_mesh *mesh, int32_t id, const pm_mp_transfer_mode *extra,
                               size_t n_extra);

/**
 * Godot 4 create_server(channels_config): id 1, status CONNECTED; add_peer
 * refuses id 1. Same errors as pm_mesh_create_mesh() (PM_ERR_INVALID for bad
 * extras; PM_ERR_STATE when already set up).
 */
PM_API int pm_mesh_create_server(pm_mesh *mesh, const pm_mp_transfer_mode *extra, size_t n_extra);

/**
 * Godot 4 create_client(id, channels_config): id 2..2^31-1, status
 * CONNECTING; add_peer accepts only id 1. When peer 1 connects:
 * PEER_CONNECTED(1) then CONNECTION_SUCCEEDED and status CONNECTED (Godot 4
 * leaves the last event to SceneMultiplayer; we emit it here). When a
 * connected peer 1 leaves: PEER_DISCONNECTED(1), SERVER_DISCONNECTED,
 * status DISCONNECTED. Same errors as pm_mesh_create_mesh(), and
 * PM_ERR_INVALID for id 1.
 */
PM_API int pm_mesh_create_client(pm_mesh *mesh, int32_t id, const pm_mp_transfer_mode *extra,
                                 size_t n_extra);

/* ---- peers ------------------------------------------------------------ */

/**
 * Add the connection to remote node `id` and create its data channels (see
 * the header comment). `unreliable_lifetime` is the maxPacketLifeTime of
 * the partially reliable channels in ms (Godot's default is 1), or
 * PM_MESH_LIFETIME_RELIABLE. On PM_OK the mesh owns `connection`.
 *
 * Errors (nothing changes, the caller keeps the connection):
 *  PM_ERR_STATE     the mesh is not set up (no initialize/create_*: Godot 4's
 *                   ERR_UNCONFIGURED), new connections are refused (Godot's
 *                   ERR_UNAUTHORIZED), or the connection is not NEW;
 *  PM_ERR_INVALID   NULL connection, id outside 1..2^31-1, id equal to our
 *                   own id, unreliable_lifetime below -1 or above 65535, a
 *                   client adding an id other than 1, a server adding id 1;
 *  PM_ERR_EXISTS    a peer with this id is already in the mesh (Godot
 *                   silently replaced it);
 *  other            creating a data channel failed (PM_ERR_NOMEM, ...).
 */
PM_API int pm_mesh_add_peer(pm_mesh *mesh, pm_rtc_peer *connection, int32_t id,
                            int unreliable_lifetime);

/**
 * Remove peer `id`; its connection is closed and freed. PEER_DISCONNECTED
 * (and for peer 1 of a client, SERVER_DISCONNECTED with status
 * DISCONNECTED) only if it was connected. PM_ERR_NOT_FOUND for an unknown id.
 */
PM_API int pm_mesh_remove_peer(pm_mesh *mesh, int32_t id);

/** True when `id` is in the mesh, connected or not. */
PM_API bool pm_mesh_has_peer(const pm_mesh *mesh, int32_t id);

/** Godot's get_peer(id): {connection, channels, connected}. */
typedef struct pm_mesh_peer_info {
    int32_t id;
    pm_rtc_peer *connection; /**< owned by the mesh; NULL for non-WebRTC links (tests) */
    /** The channels in index order (reliable, ordered, unreliable, extras);
     *  borrowed like the connection. NULL entries for non-WebRTC links. */
    pm_rtc_channel *const *channels;
    size_t channel_count;
    bool connected; /**< the connection is CONNECTED and every channel was OPEN */
} pm_mesh_peer_info;

/** Fill *out for peer `id`. PM_ERR_NOT_FOUND for an unknown id. Valid until the peer leaves. */
PM_API int pm_mesh_get_peer(const pm_mesh *mesh, int32_t id, pm_mesh_peer_info *out);

/**
 * Godot's get_peers(): write up to `cap` peer ids in ascending order to
 * `ids` (may be NULL when cap is 0). Returns how many peers there are.
 */
PM_API size_t pm_mesh_get_peers(const pm_mesh *mesh, int32_t *ids, size_t cap);

/**
 * Beyond Godot: per-peer statistics. Packets and bytes count what the mesh
 * handed to the peer's channels (put) and what the application took (get).
 */
typedef struct pm_mesh_peer_stats {
    pm_time rtt;           /**< round trip of the selected ICE pair (us), -1 if unknown */
    uint64_t packets_sent; /**< packets accepted for this peer */
    uint64_t bytes_sent;
    uint64_t packets_received; /**< packets from this peer taken with get_packet */
    uint64_t bytes_received;
    uint64_t packets_send_failed; /**< broadcasts this peer could not take (channel not open...) */
    /**
     * Messages lost on the unreliable channels, seen from the sender: the
     * messages we sent to this peer on its partially reliable channels that
     * our SCTP stack abandoned (RFC 3758) because their lifetime ran out
     * before they were acknowledged. An upper bound of the messages the peer
     * never got: one abandoned while in flight may still arrive (with a 1 ms
     * lifetime, most messages outlive their lifetime in flight). Messages
     * never abandoned were all delivered. 0 with PM_MESH_LIFETIME_RELIABLE.
     */
    uint64_t unreliable_abandoned;
    pm_time connected_at; /**< when it counted as connected, or -1 */
    /**
     * The ICE candidate pair carrying this peer's traffic (types host,
     * srflx, prflx, relay, and the relay's transport): valid when has_pair.
     */
    bool has_pair;
    pm_rtc_candidate_pair pair;
} pm_mesh_peer_stats;

/** Statistics of peer `id`. PM_ERR_NOT_FOUND for an unknown id. */
PM_API int pm_mesh_get_peer_stats(const pm_mesh *mesh, int32_t id, pm_mesh_peer_stats *out);

/* ---- driving ---------------------------------------------------------- */

/**
 * Poll every connection, apply Godot's rules (a peer is connected when its
 * connection is CONNECTED and every channel is OPEN; a connection that is
 * DISCONNECTED, FAILED or CLOSED, or a channel that is CLOSING or CLOSED,
 * removes the peer), queue the events, run the timeouts of pm_mesh_config.
 * Same as pm_mp_poll() on the mesh's interface. PM_OK.
 */
PM_API int pm_mesh_poll(pm_mesh *mesh);

/**
 * When pm_mesh_poll() is needed next at the latest: an absolute pm_time on
 * the mesh's env clock (common.h), the earliest deadline of the mesh and
 * its connections; PM_TIME_NEVER when nothing is pending.
 */
PM_API pm_time pm_mesh_next_timeout(const pm_mesh *mesh);

/**
 * One descriptor for every socket of the mesh: readable when any
 * socket-mode connection in the mesh has input (an epoll set holding
 * pm_rtc_peer_fd() of each connection, kept up to date as peers come and
 * go; sans-I/O connections have nothing to add). The same number for the
 * mesh's whole life, so it can sit in your own poll/epoll set; the mesh
 * closes it in pm_mesh_free(). With pm_mesh_next_timeout() it is all a loop
 * has to wait for (common.h, "One way to wait").
 * PM_ERR_INVALID for NULL; PM_ERR_UNSUPPORTED where there are no
 * descriptors (the WebAssembly build).
 */
PM_API int pm_mesh_fd(const pm_mesh *mesh);

/**
 * Godot's close(): drop (close and free) every peer, id 0, target peer 0,
 * status DISCONNECTED; the extra channel configuration is forgotten and the
 * mesh can be set up again. Emits no event; events already queued stay.
 * Refusing new connections stays as it was (as Godot).
 */
PM_API void pm_mesh_close(pm_mesh *mesh);

/**
 * The lobby's host is now peer `host_id` (which may be us): the signaling
 * server's host migration (docs/signaling.md; pm_signal_client calls this
 * on the server's HOST message). Queues PM_MP_EVENT_HOST_CHANGED(host_id).
 *
 * Server compatibility (pm_mesh_initialize(id, true)): `host_id` takes peer
 * 1's part, ids are not renumbered.
 *  - PM_MP_TARGET_SERVER (1) addresses it (put_packet; sending to it while
 *    we are the host is an error, as sending to oneself);
 *  - losing it is PEER_DISCONNECTED then SERVER_DISCONNECTED(host_id), as
 *    losing peer 1 was (status DISCONNECTED);
 *  - a mesh that lost its server (the old host left before the signaling
 *    told us of the new one) or still waits for one becomes CONNECTED as at
 *    the start: at once with CONNECTION_SUCCEEDED(host_id) when we are the
 *    host, else once the host's connection is up (PEER_CONNECTED(host_id),
 *    CONNECTION_SUCCEEDED(host_id)), each followed by PEER_CONNECTED for
 *    every other connected peer: the game learns its peers anew, as after
 *    connecting. Until then put_packet fails (status).
 * Mesh mode: only the event, and pm_mesh_get_host.
 *
 * PM_ERR_INVALID for a NULL mesh or host_id < 1; PM_ERR_STATE before setup
 * and in client/server modes (their server is peer 1 by construction: the
 * server closes such lobbies with their host). The same host again: PM_OK,
 * no event.
 */
PM_API int pm_mesh_set_host(pm_mesh *mesh, int32_t host_id);

/** The lobby's host: 1 unless pm_mesh_set_host said otherwise; 0 before setup. */
PM_API int32_t pm_mesh_get_host(const pm_mesh *mesh);

#ifdef __cplusplus
}
#endif
#endif
