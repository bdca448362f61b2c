/*
 * Internal interface of the RPC layer (peermesh/rpc.h): Godot 3.2's
 * MultiplayerAPI over the pm_multiplayer interface, sans-I/O (it only ever
 * talks to the multiplayer peer it was given).
 *
 *   rpc.c       lifecycle, the node registry, RPC modes, connected peers
 *   rpc_recv.c  pm_rpc_next_event: the peer's events, packets, path caches
 *   rpc_send.c  pm_rpc_call / pm_rpc_set / pm_rpc_send_bytes, the send cache
 */
#ifndef PM_RPC_INTERNAL_H
#define PM_RPC_INTERNAL_H

#include "base/base.h"
#include "peermesh/rpc.h"

#define PM_RPC_COMPONENT "rpc"
#define PM_RPC_ROOT      "/root/" /* the SceneTree root that Godot's paths are relative to */
#define PM_RPC_ROOT_LEN  6

/* Defaults of pm_rpc_config. */
#define PM_RPC_DEFAULT_MAX_DECODE     ((size_t)16 << 20)
#define PM_RPC_DEFAULT_MAX_PATH_CACHE ((size_t)256 << 10)
/* What one cached path costs against max_path_cache_bytes beyond its text. */
#define PM_RPC_CACHE_ENTRY_COST 32

/** A method's or property's RPC mode. */
typedef struct pm_rpc_member {
    char *name;
    pm_rpc_mode mode;
} pm_rpc_member;

typedef struct pm_rpc_members {
    pm_rpc_member *items;
    size_t count;
    size_t cap;
} pm_rpc_members;

/** Whether a peer has confirmed our cache id of a node (Godot's confirmed_peers). */
typedef struct pm_rpc_confirm {
    int32_t peer;
    bool confirmed;
} pm_rpc_confirm;

typedef struct pm_rpc_node {
    char *rel; /* relative to the root, as on the wire: "Game/Player" */
    size_t rel_len;
    char *abs; /* "/root/Game/Player", for events */
    int32_t master;
    pm_rpc_members methods;
    pm_rpc_members props;
    /* Our send-side path cache (Godot's path_send_cache entry). */
    uint32_t send_id; /* 0 until the first call */
    pm_rpc_confirm *confirms;
    size_t n_confirms;
    size_t cap_confirms;
} pm_rpc_node;

/** One path a peer asked us to cache (Godot's path_get_cache). */
typedef struct pm_rpc_cached {
    uint32_t id;
    char *path;
    size_t len;
} pm_rpc_cached;

typedef struct pm_rpc_peer {
    int32_t id;
    pm_rpc_cached *cache; /* sorted by id */
    size_t n_cache;
    size_t cap_cache;
    size_t cache_bytes;
} pm_rpc_peer;

struct pm_rpc {
    pm_envr env;
    pm_multiplayer *mp;
    size_t max_decode_memory;
    size_t max_path_cache_bytes;

    pm_rpc_node **nodes;
    size_t n_nodes;
    size_t cap_nodes;

    pm_rpc_peer *peers; /* Godot's connected_peers, sorted by id */
    size_t n_peers;
    size_t cap_peers;

    uint32_t last_send_id;
    pm_buf out;  /* the packet being built */
    pm_buf body; /* the encoded arguments of the call being sent */
    pm_buf sys;  /* SIMPLIFY_PATH / CONFIRM_PATH / a local-call record being built */

    /* Calls that ran locally, waiting for next_event: [u32 sender][u8 event type]
     * [path NUL][name NUL][body]. The head is popped at the call after it was
     * handed out, so the event's pointers stay valid until then. */
    pm_fifo local;
    bool local_held;

    uint8_t *scratch; /* decoded arguments of the current event */
    size_t scratch_cap;

    pm_rpc_stats stats;
};

/* Registry (rpc.c). */
/** The node a user path (as pm_rpc_add_node takes it) names, or NULL. */
pm_rpc_node *pm_rpc_declared_node(const pm_rpc *r, const char *path);
/** The node whose wire path (relative, or "/root/..."-absolute) is path[0..len). */
pm_rpc_node *pm_rpc_find_node(const pm_rpc *r, const char *path, size_t len);
/** The mode of a method (props false) or property; DISABLED when none was declared. */
pm_rpc_mode pm_rpc_member_mode(const pm_rpc_node *n, bool props, const char *name, size_t len);
bool pm_rpc_node_is_master(const pm_rpc *r, const pm_rpc_node *n);
pm_rpc_peer *pm_rpc_find_peer(const pm_rpc *r, int32_t id);
int pm_rpc_add_peer(pm_rpc *r, int32_t id);
void pm_rpc_remove_peer(pm_rpc *r, int32_t id);
void pm_rpc_clear_peers(pm_rpc *r);
const char *pm_rpc_mode_name(pm_rpc_mode mode);

/* Godot's _can_call_mode: may `from` run a member of mode `mode` on node `n` here? */
bool pm_rpc_can_call(const pm_rpc *r, const pm_rpc_node *n, pm_rpc_mode mode, int32_t from);
/* Godot's _should_call_local: does a call run locally, and does it skip the network? */
bool pm_rpc_should_call_local(pm_rpc_mode mode, bool is_master, bool *skip_remote);

/* Sending (rpc_send.c). */
/** Hand the built packet to the peer with a target and mode; counts it. */
int pm_rpc_put(pm_rpc *r, int32_t target, pm_mp_transfer_mode mode, const uint8_t *data,
               size_t len);

#endif
