/*
 * peermesh/rpc.h — Godot 3.2's high-level multiplayer (MultiplayerAPI) in C:
 * rpc, rpc_id, rpc_unreliable(_id), rset(_id), rset_unreliable(_id) and
 * send_bytes, over any multiplayer peer (peermesh/multiplayer.h: the
 * WebRTC mesh, ENet, WebSocket), so a C program can take part in a Godot 3
 * game as a dedicated server, a bot, a relay or a tool.
 *
 * The model is one SceneTree's MultiplayerAPI. Instead of a scene tree, you
 * declare the nodes that take part: their paths ("/root/Game" or "Game",
 * relative to the scene root as Godot sends them), each node's network
 * master (Godot's default is 1, the server) and the RPC mode of each remote
 * method and property (what `remote func`, `puppet var`, rpc_config and
 * rset_config declare in Godot). Incoming calls are checked against those
 * modes exactly as Godot 3.2 checks them; a call the mode forbids is dropped
 * with a log line and never reaches you. Calls that pass come out of
 * pm_rpc_next_event() with the sender's id and the decoded arguments.
 *
 * Wire format, path caching, what differs from Godot 4: docs/rpc.md.
 *
 * Driving: pm_rpc_poll() polls the multiplayer peer; then call
 * pm_rpc_next_event() until it returns false. The rpc object reads the
 * peer's events and packets itself: do not call pm_mp_next_event() or
 * pm_mp_get_packet() on a peer an rpc object uses. It sets the peer's
 * target, transfer mode and channel before each packet it sends.
 * Single-threaded, never calls back.
 *
 * Bad input from the network (truncated packets, unknown cache ids, paths
 * never declared, malformed Variants, deep nesting, huge counts, calls the
 * mode forbids) is dropped with a log line (component "rpc", level WARN)
 * and counted in pm_rpc_stats; the sender stays connected and its later
 * valid calls work, as in Godot. Memory per packet and per peer is bounded
 * (pm_rpc_config).
 */
#ifndef PEERMESH_RPC_H
#define PEERMESH_RPC_H

#include "peermesh/common.h"
#include "peermesh/multiplayer.h"
#include "peermesh/variant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_rpc pm_rpc;

/** Godot 3.2 MultiplayerAPI.RPCMode (the GDScript keywords in brackets). */
typedef enum pm_rpc_mode {
    PM_RPC_MODE_DISABLED = 0,   /**< not callable remotely (no keyword) */
    PM_RPC_MODE_REMOTE = 1,     /**< anyone may call it [remote] */
    PM_RPC_MODE_MASTER = 2,     /**< runs only on the node's master [master] */
    PM_RPC_MODE_PUPPET = 3,     /**< runs on puppets, called by the master [puppet] */
    PM_RPC_MODE_REMOTESYNC = 4, /**< remote, and rpc() also runs it locally [remotesync] */
    PM_RPC_MODE_MASTERSYNC = 5, /**< master, and runs locally [mastersync] */
    PM_RPC_MODE_PUPPETSYNC = 6, /**< puppet, and runs locally [puppetsync] */
} pm_rpc_mode;

typedef enum pm_rpc_event_type {
    /* The multiplayer peer's signals, in order (MultiplayerAPI re-emits them). */
    PM_RPC_EVENT_PEER_CONNECTED = 1,  /**< network_peer_connected(peer_id) */
    PM_RPC_EVENT_PEER_DISCONNECTED,   /**< network_peer_disconnected(peer_id) */
    PM_RPC_EVENT_CONNECTED_TO_SERVER, /**< connected_to_server */
    PM_RPC_EVENT_CONNECTION_FAILED,   /**< connection_failed */
    PM_RPC_EVENT_SERVER_DISCONNECTED, /**< server_disconnected */
    PM_RPC_EVENT_HOST_CHANGED,        /**< beyond Godot: the lobby's host is now peer_id
                                           (signaling host migration, mesh.h) */
    /* Calls. */
    PM_RPC_EVENT_CALL = 16, /**< a method call allowed by its mode */
    PM_RPC_EVENT_SET,       /**< a property set allowed by its mode; args[0] is the value */
    PM_RPC_EVENT_RAW,       /**< send_bytes: network_peer_packet(peer_id, data) */
} pm_rpc_event_type;

/**
 * An event. Every pointer is borrowed until the next pm_rpc_* call on the
 * same object (copy what you keep).
 */
typedef struct pm_rpc_event {
    pm_rpc_event_type type;
    /** PEER_*: the peer. CALL/SET/RAW: the sender (get_rpc_sender_id); our
     * own id for a call that ran locally (sync modes). Server events: 1. */
    int32_t peer_id;
    bool local;       /**< CALL/SET: made by our own pm_rpc_call/pm_rpc_set */
    const char *path; /**< CALL/SET: the node, absolute ("/root/Game") */
    const char *name; /**< CALL/SET: the method or property */
    const pm_variant *args;
    size_t argc;              /**< CALL: 0..255 arguments; SET: 1 */
    const uint8_t *data;      /**< RAW: the bytes (at least one) */
    size_t len;               /**< RAW */
    pm_mp_transfer_mode mode; /**< CALL/SET/RAW: how it arrived (RELIABLE for local ones) */
} pm_rpc_event;

/** Configuration. Initialise with pm_rpc_config_default(). */
typedef struct pm_rpc_config {
    const pm_env *env; /**< allocator and log sink; NULL = defaults */
    /** Memory one incoming call's decoded arguments may take (default 16 MiB);
     * a packet needing more is dropped. */
    size_t max_decode_memory;
    /** Bytes of node paths one peer may make us cache with SIMPLIFY_PATH
     * (default 256 KiB); beyond, its new paths are not confirmed, so it keeps
     * sending them inline, which still works. */
    size_t max_path_cache_bytes;
} pm_rpc_config;

/** Counters, for monitoring and tests. Every drop was also logged. */
typedef struct pm_rpc_stats {
    uint64_t calls_received;        /**< CALL events from the network */
    uint64_t sets_received;         /**< SET events from the network */
    uint64_t raw_received;          /**< RAW events */
    uint64_t paths_cached;          /**< SIMPLIFY_PATH accepted (and confirmed) */
    uint64_t packets_sent;          /**< packets handed to the multiplayer peer */
    uint64_t dropped_malformed;     /**< truncated / unparsable packets, bad Variants */
    uint64_t dropped_unknown_path;  /**< a node path never declared */
    uint64_t dropped_unknown_cache; /**< a cache id (or peer cache) we do not have */
    uint64_t dropped_mode;          /**< calls / sets the RPC mode forbids (or none declared) */
    uint64_t dropped_too_big;       /**< over max_decode_memory, too deep, or cache full */
    uint64_t dropped_object;        /**< arguments carrying full objects (as Godot refuses) */
} pm_rpc_stats;

PM_API void pm_rpc_config_default(pm_rpc_config *cfg);

/**
 * A new rpc object over `mp`, which it borrows (mp must outlive it, and is
 * driven only through it from now on). PM_ERR_INVALID, PM_ERR_NOMEM.
 * It learns the connected peers from mp's PEER_CONNECTED events, including
 * those still queued: create it before anything drains mp's events.
 */
PM_API int pm_rpc_new(const pm_rpc_config *cfg, pm_multiplayer *mp, pm_rpc **out);
PM_API void pm_rpc_free(pm_rpc *r);
/** The multiplayer peer (borrowed). */
PM_API pm_multiplayer *pm_rpc_multiplayer(pm_rpc *r);

/* ---- the node registry ---- */

/**
 * Declare a node: `path` is "/root/A/B" or "A/B" (relative to the scene
 * root), without ".", "..", empty parts or ':' subpaths; `network_master`
 * is a peer id (Godot's default: 1). PM_ERR_INVALID for a bad path or
 * master, PM_ERR_EXISTS, PM_ERR_NOMEM.
 */
PM_API int pm_rpc_add_node(pm_rpc *r, const char *path, int32_t network_master);
/** Forget a node and its modes. PM_ERR_NOT_FOUND. */
PM_API int pm_rpc_remove_node(pm_rpc *r, const char *path);
/** Node.set_network_master. PM_ERR_NOT_FOUND, PM_ERR_INVALID for master <= 0. */
PM_API int pm_rpc_set_network_master(pm_rpc *r, const char *path, int32_t network_master);
/** Node.get_network_master; 0 when the node is not declared. */
PM_API int32_t pm_rpc_get_network_master(const pm_rpc *r, const char *path);
/** Node.is_network_master: the node's master is our unique id. */
PM_API bool pm_rpc_is_network_master(const pm_rpc *r, const char *path);
/**
 * Node.rpc_config: the mode of a method (DISABLED removes it). Only
 * declared methods can be called remotely. PM_ERR_NOT_FOUND (node),
 * PM_ERR_INVALID (empty name, unknown mode), PM_ERR_NOMEM.
 */
PM_API int pm_rpc_set_method_mode(pm_rpc *r, const char *path, const char *method,
                                  pm_rpc_mode mode);
/** Node.rset_config: the mode of a property, as pm_rpc_set_method_mode. */
PM_API int pm_rpc_set_property_mode(pm_rpc *r, const char *path, const char *property,
                                    pm_rpc_mode mode);

/* ---- driving ---- */

/** Poll the multiplayer peer (pm_mp_poll). PM_OK or its error. */
PM_API int pm_rpc_poll(pm_rpc *r);

/**
 * The next event, false when there is none. Packets are processed here, in
 * arrival order after the peer's own events (as Godot processes them after
 * its peer's signals), so path-cache answers go out as you drain; drain
 * after every poll. Calls that ran locally (sync modes) come first.
 */
PM_API bool pm_rpc_next_event(pm_rpc *r, pm_rpc_event *ev);

/* ---- calling ---- */

/**
 * Call `method` on the node at `path` (declared with pm_rpc_add_node):
 * peer_id 0 = rpc() to everyone, N = rpc_id(N), -N = everyone but N;
 * `unreliable` picks rpc_unreliable (transfer mode UNRELIABLE). The
 * arguments are encoded before this returns (nothing is kept).
 *
 * As in Godot: with peer_id 0, our own id or -(someone else), the node's
 * mode for `method` decides whether it also runs locally (REMOTESYNC,
 * PUPPETSYNC, MASTERSYNC, MASTER on the master, PUPPET on a puppet), which
 * queues a CALL event with local = true; MASTER and MASTERSYNC on the
 * master are not sent at all.
 *
 * PM_ERR_NOT_FOUND: node not declared, or peer_id is not a connected peer
 * (then nothing runs locally either, where Godot would still run its local
 * part).
 * PM_ERR_STATE: the peer is not CONNECTED. PM_ERR_INVALID: argc > 255, a
 * NULL or empty name, an argument that cannot be encoded, or a call to
 * ourselves that the mode does not run locally. PM_ERR_NOMEM. A transport
 * error of a send is returned after the other sends were tried.
 */
PM_API int pm_rpc_call(pm_rpc *r, const char *path, int32_t peer_id, bool unreliable,
                       const char *method, const pm_variant *args, size_t argc);

/**
 * rset / rset_id / rset_unreliable(_id): set `property` on the node at
 * `path` to `value`. Targets, local sets (a SET event with local = true)
 * and errors as pm_rpc_call.
 */
PM_API int pm_rpc_set(pm_rpc *r, const char *path, int32_t peer_id, bool unreliable,
                      const char *property, const pm_variant *value);

/**
 * MultiplayerAPI.send_bytes: `len` >= 1 raw bytes to peer_id (0 all, N one,
 * -N all but N) in transfer mode `mode`. PM_ERR_INVALID for no bytes,
 * PM_ERR_STATE when not CONNECTED, else the transport's answer.
 */
PM_API int pm_rpc_send_bytes(pm_rpc *r, int32_t peer_id, pm_mp_transfer_mode mode,
                             const uint8_t *data, size_t len);

/* ---- state ---- */

/** Our network id (get_network_unique_id); 0 before the peer has one. */
PM_API int32_t pm_rpc_get_unique_id(const pm_rpc *r);
/**
 * The connected peers (get_network_connected_peers), ascending: up to
 * `cap` ids into `out` (may be NULL with cap 0); returns how many there are.
 */
PM_API size_t pm_rpc_get_connected_peers(const pm_rpc *r, int32_t *out, size_t cap);
PM_API void pm_rpc_get_stats(const pm_rpc *r, pm_rpc_stats *out);

/*
 * Static names of the enums: the events as pm_mp_event_type_to_string
 * spells the peer's signals ("peer_connected", "connected_to_server", ...,
 * "host_changed"), then "call", "set", "raw"; the modes as the GDScript RPC
 * keywords ("remote", "puppetsync", ...; "disabled"). "unknown" for a value
 * outside the enum. Never NULL; callable anywhere (common.h).
 */
PM_API const char *pm_rpc_event_type_to_string(pm_rpc_event_type type);
PM_API const char *pm_rpc_mode_to_string(pm_rpc_mode mode);

#ifdef __cplusplus
}
#endif
#endif
