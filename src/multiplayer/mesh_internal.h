/*
 * Internal state of the WebRTC mesh (include/peermesh/mesh.h).
 *
 * The mesh core (the Godot state machine, routing, fairness, events) is
 * sans-I/O and never sees a pm_rtc_peer: it talks to each connection
 * through a "link", a small table of operations. mesh_link_rtc.c implements
 * it over pm_rtc_peer/pm_rtc_channel; the state-machine tests implement it
 * with scripted states. Files:
 *   mesh.c          lifecycle, set-up (3.2 and 4.x), peers table, interface ops
 *   mesh_poll.c     poll: the "connected" rule, removal, events, timeouts
 *   mesh_route.c    put_packet routing, get_packet fairness, counts
 *   mesh_stats.c    per-peer statistics
 *   mesh_link_rtc.c the link over a WebRTC peer connection
 */
#ifndef PM_MESH_INTERNAL_H
#define PM_MESH_INTERNAL_H

#include "base/base.h"
#include "base/driver.h"
#include "multiplayer/multiplayer_internal.h"
#include "peermesh/mesh.h"

/* Godot's three default channels, then the extras. */
enum {
    PM_MESH_CH_RELIABLE = 0,
    PM_MESH_CH_ORDERED = 1,
    PM_MESH_CH_UNRELIABLE = 2,
    PM_MESH_CH_RESERVED = 3
};
#define PM_MESH_MAX_CHANNELS (PM_MESH_CH_RESERVED + PM_MESH_MAX_EXTRA_CHANNELS)

/** One negotiated channel to create on a link. */
typedef struct pm_mesh_chan_spec {
    const char *label;
    int stream_id;
    bool ordered;
    int max_packet_lifetime; /* ms, or -1: reliable */
} pm_mesh_chan_spec;

/** What the link tells the statistics. */
typedef struct pm_mesh_link_stats {
    pm_time rtt;        /* -1 if unknown */
    uint64_t abandoned; /* messages abandoned on partially reliable channels */
    bool has_pair;      /* the selected ICE pair (WebRTC links) */
    pm_rtc_candidate_pair pair;
} pm_mesh_link_stats;

/**
 * A connection as the mesh core sees it. Channel `index` is the position in
 * the mesh's channel list (0 reliable, 1 ordered, 2 unreliable, 3.. extras).
 */
typedef struct pm_mesh_link_ops {
    /** Connection state (pm_rtc_state). */
    pm_rtc_state (*state)(const void *link);
    /** Create negotiated channel `index`; only called while the state is NEW. */
    int (*create_channel)(void *link, int index, const pm_mesh_chan_spec *spec);
    pm_rtc_channel_state (*channel_state)(const void *link, int index);
    /** Send one binary message: PM_OK or the channel's error. */
    int (*put)(void *link, int index, const uint8_t *data, size_t len);
    /** Take one message (borrowed until the next get on the channel). PM_ERR_AGAIN when none. */
    int (*get)(void *link, int index, const uint8_t **data, size_t *len);
    int (*available)(const void *link, int index);
    size_t (*max_message)(const void *link);
    /** Let the connection do its work (pm_rtc_peer_poll). */
    void (*poll)(void *link);
    pm_time (*next_timeout)(const void *link);
    /** The descriptor to wait on for the link's input, or -1 (optional op: NULL = none). */
    int (*fd)(const void *link);
    /** Close the connection; it stays allocated. */
    void (*close)(void *link);
    /** Close and free everything. */
    void (*destroy)(void *link);
    void (*stats)(const void *link, pm_mesh_link_stats *out);
    /** The WebRTC objects for pm_mesh_get_peer (may be NULL). */
    pm_rtc_peer *(*connection)(const void *link);
    pm_rtc_channel *const *(*channels)(const void *link);
} pm_mesh_link_ops;

typedef struct pm_mesh_peer {
    int32_t id;
    const pm_mesh_link_ops *ops;
    void *link;
    bool connected;
    bool to_remove;             /* poll: scheduled for removal */
    bool to_announce;           /* poll: newly connected */
    pm_time disconnected_since; /* grace period: when DISCONNECTED was first seen, or -1 */
    pm_mesh_peer_stats st;      /* counters (rtt/lost filled in on demand) */
} pm_mesh_peer;

typedef enum pm_mesh_mode {
    PM_MESH_MODE_NONE = 0,
    PM_MESH_MODE_LEGACY, /* 3.2 initialize(id, server_compatibility) */
    PM_MESH_MODE_MESH,   /* 4.x create_mesh */
    PM_MESH_MODE_SERVER, /* 4.x create_server */
    PM_MESH_MODE_CLIENT, /* 4.x create_client */
} pm_mesh_mode;

struct pm_mesh {
    pm_envr env;
    int waitset; /* pm_mesh_fd: every link's descriptor; -1 without a socket driver */
    pm_time connect_timeout;
    pm_time disconnect_grace;
    pm_multiplayer *mp;

    pm_mesh_mode mode;
    bool server_compat; /* LEGACY only */
    int32_t unique_id;
    int32_t host_id; /* the server of a client: 1, or the host after a migration */
    pm_mp_status status;
    bool refuse;
    pm_time setup_at; /* when the client started CONNECTING (connect_timeout) */

    pm_mp_transfer_mode chan_modes[PM_MESH_MAX_CHANNELS];
    int chan_count; /* 3 + extras */

    pm_mesh_peer *peers; /* sorted by ascending id (Godot's ordered map) */
    size_t peer_count;
    size_t peer_cap;
    int32_t next_packet_peer; /* 0 = none */

    pm_mp_event *events; /* ring */
    size_t ev_head, ev_count, ev_cap;
};

/** A client: waits for peer 1 (4.x create_client, or 3.2 server compatibility). */
static inline bool pm_mesh_is_client(const pm_mesh *m)
{
    return m->mode == PM_MESH_MODE_CLIENT || (m->mode == PM_MESH_MODE_LEGACY && m->server_compat);
}

/** Is `id` the server this client waits for (peer 1, or the host that took over)? */
static inline bool pm_mesh_is_our_server(const pm_mesh *m, int32_t id)
{
    return pm_mesh_is_client(m) && id == m->host_id && id != m->unique_id;
}

/* mesh.c */
pm_mesh_peer *pm_mesh_find(const pm_mesh *m, int32_t id);
/** Add a link (the core of pm_mesh_add_peer); on success the mesh owns it. */
int pm_mesh_add_link(pm_mesh *m, const pm_mesh_link_ops *ops, void *link, int32_t id,
                     int unreliable_lifetime);
/** Erase a peer without any event (destroys its link). */
void pm_mesh_erase(pm_mesh *m, int32_t id);
void pm_mesh_emit(pm_mesh *m, pm_mp_event_type type, int32_t peer_id);
/** True when packets of unconnected peers count (3.2) — false in 4.x modes. */
bool pm_mesh_counts_unconnected(const pm_mesh *m);

/* mesh_poll.c */
int pm_mesh_poll_at(pm_mesh *m, pm_time now);

/* mesh_route.c */
int pm_mesh_put(pm_mesh *m, int32_t target, pm_mp_transfer_mode mode, int channel,
                const uint8_t *data, size_t len);
int pm_mesh_get(pm_mesh *m, pm_mp_packet *out);
int pm_mesh_available(const pm_mesh *m);
void pm_mesh_find_next_peer(pm_mesh *m);

/* mesh_link_rtc.c */
int pm_mesh_link_rtc_new(const pm_envr *env, pm_rtc_peer *pc, const pm_mesh_link_ops **ops,
                         void **link);

#endif
