/* Internals shared by the signaling core's files (sig_core.c, sig_lobby.c). */
#ifndef PM_SIG_CORE_INTERNAL_H
#define PM_SIG_CORE_INTERNAL_H

#include "signaling/sig_core.h"
#include "base/map.h"
#include "wire/signal_msg.h"

/* Reasons, word for word the demo server's (server_node/server.js). */
#define STR_NO_LOBBY              "Have not joined lobby yet"
#define STR_HOST_DISCONNECTED     "Room host has disconnected"
#define STR_ONLY_HOST_CAN_SEAL    "Only host can seal the lobby"
#define STR_SEAL_COMPLETE         "Seal complete"
#define STR_TOO_MANY_LOBBIES      "Too many lobbies open, disconnecting"
#define STR_ALREADY_IN_LOBBY      "Already in a lobby"
#define STR_LOBBY_DOES_NOT_EXISTS "Lobby does not exists"
#define STR_LOBBY_IS_SEALED       "Lobby is sealed"
#define STR_INVALID_FORMAT        "Invalid message format"
#define STR_NEED_LOBBY            "Invalid message when not in a lobby"
#define STR_INVALID_DEST          "Invalid destination"
#define STR_INVALID_CMD           "Invalid command"
#define STR_TOO_MANY_PEERS        "Too many peers connected"
#define STR_INVALID_TRANSFER_MODE "Invalid transfer mode, must be text"
/* Ours, for what the demo does not check. */
#define STR_LOBBY_FULL   "Lobby is full"
#define STR_UNAUTHORIZED "Unauthorized"
#define STR_RATE         "Rate limit exceeded"
#define STR_ADDRESS      "Too many connections from this address"
#define STR_PING_TIMEOUT "Ping timeout"
#define STR_TOO_BIG      "Message too big"
#define STR_SHUTDOWN     "Server shutting down"
#define STR_JOIN_RATE    "Too many joins from this address"
#define STR_CLUSTER_DOWN "Signaling cluster unavailable"
#define STR_CLUSTER_LOST "Lobby lost by the signaling cluster"
/* Named lobbies (our extension). */
#define STR_LOBBY_EXISTS   "Lobby already exists"
#define STR_LOBBY_NAME_BAD "Invalid lobby name"

#define SIG_LOBBY_NAME_LEN 16 /* the demo's random lobby names */
#define SIG_ID_MAX         0x7fffffff

typedef struct sig_lobby sig_lobby;
typedef struct sig_cluster sig_cluster;
typedef struct sig_replica sig_replica;

/* What the core keeps per address (IPv4, IPv6 /64). */
typedef struct sig_addr {
    uint32_t conns;      /* connections counted against it */
    bool lingering;      /* no connection, kept until its join bucket refills */
    int64_t join_tokens; /* join bucket, in millionths of a join */
    pm_time join_at;
} sig_addr;

typedef enum sig_conn_state { CONN_OPEN = 0, CONN_CLOSING = 1 } sig_conn_state;

typedef struct sig_conn {
    uint64_t id;
    uint64_t tid;
    sig_conn_state state;
    pm_sigproto proto; /* fixed by the first message */
    uint64_t addr_key; /* per-address accounting; 0 = not counted */
    bool counted;      /* counts against max_peers */
    sig_lobby *lobby;
    int32_t peer_id; /* 1 for the host */
    pm_time opened_at;
    /* Waiting to join: a FIFO in connection order, so its head has the
     * earliest join deadline (every connection gets the same timeout). */
    struct sig_conn *pend_prev, *pend_next;
    bool pending;
    bool awaiting_pong; /* pinged at its last turn, no sign of life since */
    int64_t tokens;     /* rate limit bucket, in millionths of a message */
    pm_time tokens_at;
    /* Cluster. A member of a lobby replica that is not a connection of
     * ours (remote: on node `node`, its connection `rconn` there), or one
     * of ours that left while Redis has not said so yet (departed). */
    bool remote, departed;
    bool joining; /* its JOIN is with Redis */
    char node[17];
    uint64_t rconn;
} sig_conn;

struct sig_lobby {
    char name[PM_SIG_MAX_LOBBY_NAME + 1];
    uint64_t key;
    bool mesh;
    bool sealed;
    int32_t host_id; /* 1, unless the host left and another took over */
    pm_time sealed_at;
    sig_conn **members; /* members[0] is the host while the lobby lives */
    size_t count, cap;
    /* Sealed lobbies in seal order: the head closes first (same delay for all). */
    sig_lobby *seal_prev, *seal_next;
    sig_replica *replica; /* cluster: how far this copy follows Redis */
};

#define SIG_REDIS_MAX_ARGS 24

struct pm_sigsrv {
    pm_envr env;
    pm_signal_server_config cfg; /* strings point into `strings` */
    pm_buf strings;
    pm_time unix_offset;
    bool shutting_down;

    sig_conn **slots; /* connection id = generation << 32 | slot + 1 */
    uint32_t *gens;
    uint32_t *free_slots;
    size_t nslots, nfree;
    size_t nconns;   /* known (open or closing) */
    size_t ncounted; /* counting against max_peers */

    sig_conn *pend_head, *pend_tail;
    sig_lobby *seal_head, *seal_tail;
    /* Pings go round the slot table once per ping_interval, a slice at a
     * time: slot k at ping_cycle + k * interval / nslots. */
    pm_time ping_cycle;
    size_t ping_pos;
    pm_time next_ping;

    pm_map lobbies;   /* name hash -> sig_lobby * */
    pm_map addresses; /* address key -> sig_addr * */
    size_t lingering; /* addresses without connections, kept for their join bucket */
    pm_time next_addr_gc;
    pm_time now; /* the latest time an entry point was given */
    /* Lobby events logged at info level: at most a few a second. */
    pm_time log_window;
    unsigned log_lines;
    uint64_t log_suppressed;

    sig_cluster *cluster; /* NULL: one node, lobbies here only */

    pm_fifo out; /* records: [header][bytes] */
    bool out_peeked;
    const char *out_argv[SIG_REDIS_MAX_ARGS]; /* a REDIS output, taken apart */
    size_t out_lens[SIG_REDIS_MAX_ARGS];
    pm_buf scratch; /* decode scratch */
    pm_buf enc;     /* encode buffer */
    pm_signal_server_stats stats;
};

/* sig_core.c */
/** A connection of ours by id (NULL: gone). */
sig_conn *pm_sigsrv_conn(const pm_sigsrv *s, uint64_t id);
/** Queue a REDIS output: argc lengths (u32) then the bytes, in `cmd`. */
int pm_sigsrv_push_redis(pm_sigsrv *s, uint64_t cookie, int argc, const void *cmd, size_t len);
void pm_sigsrv_close_conn(pm_sigsrv *s, sig_conn *c, int code, const char *reason);
void pm_sigsrv_send(pm_sigsrv *s, sig_conn *c, int type, int64_t id, const char *data,
                    size_t data_len, const char *ice, size_t ice_len);
void pm_sigsrv_unpend(pm_sigsrv *s, sig_conn *c);
int64_t pm_sigsrv_unix_now(const pm_sigsrv *s, pm_time now);

/* sig_guard.c */
bool pm_sigsrv_bucket_take(int64_t *tokens, pm_time *at, pm_time now, uint32_t rate,
                           uint32_t burst);
sig_addr *pm_sigsrv_addr(pm_sigsrv *s, uint64_t key);
void pm_sigsrv_addr_hold(pm_sigsrv *s, sig_addr *a);
void pm_sigsrv_addr_release(pm_sigsrv *s, uint64_t key);
bool pm_sigsrv_join_allowed(pm_sigsrv *s, pm_time now, const sig_conn *c);
void pm_sigsrv_addr_gc(pm_sigsrv *s, pm_time now);
void pm_sigsrv_addresses_free(pm_sigsrv *s);
bool pm_sigsrv_info_allowed(pm_sigsrv *s);

/* sig_lobby.c: the decisions of one node... */
void pm_sigsrv_join(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name, size_t name_len,
                    bool mesh);
/* CREATE (named lobbies): make lobby `name` and join it as its host. */
void pm_sigsrv_create_named(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                            size_t name_len, bool mesh);
void pm_sigsrv_leave(pm_sigsrv *s, sig_conn *c);
void pm_sigsrv_seal(pm_sigsrv *s, pm_time now, sig_conn *c);
void pm_sigsrv_relay(pm_sigsrv *s, sig_conn *c, const pm_sigmsg *m);
void pm_sigsrv_seal_expire(pm_sigsrv *s, sig_lobby *l);
void pm_sigsrv_lobbies_free(pm_sigsrv *s);
/* ...and the effects, shared with the cluster. */
void pm_sigsrv_random_name(pm_sigsrv *s, char *out, size_t n);
sig_lobby *pm_sigsrv_lobby_find(const pm_sigsrv *s, const char *name, size_t len);
/** A lobby named `name` (NULL: a random name); not counted in lobbies_total. */
sig_lobby *pm_sigsrv_lobby_new(pm_sigsrv *s, const char *name, bool mesh);
void pm_sigsrv_lobby_destroy(pm_sigsrv *s, sig_lobby *l);
sig_conn *pm_sigsrv_member(const sig_lobby *l, int32_t id, size_t *at);
int pm_sigsrv_lobby_add(pm_sigsrv *s, sig_lobby *l, sig_conn *c);
void pm_sigsrv_lobby_remove_at(pm_sigsrv *s, sig_lobby *l, size_t at);
bool pm_sigsrv_announced_to(const sig_lobby *l, const sig_conn *a, const sig_conn *b);
/** c (the last member added) joined: ID... JOIN to it, PEER_CONNECT to the others. */
void pm_sigsrv_announce_join(pm_sigsrv *s, pm_time now, sig_lobby *l, sig_conn *c);
/** c is gone (already taken out): PEER_DISCONNECT to those who knew it. */
void pm_sigsrv_announce_leave(pm_sigsrv *s, sig_lobby *l, const sig_conn *c);
/** `next` is the host: HOST to every member. */
void pm_sigsrv_announce_host(pm_sigsrv *s, sig_lobby *l, int32_t next);
/** Everyone out: ours closed with code and reason, remote records freed. */
void pm_sigsrv_close_members(pm_sigsrv *s, sig_lobby *l, int code, const char *reason);
void pm_sigsrv_mark_sealed(pm_sigsrv *s, pm_time now, sig_lobby *l);

/* sig_cluster.c */
int pm_sigsrv_cluster_new(pm_sigsrv *s);
void pm_sigsrv_cluster_free(pm_sigsrv *s);
void pm_sigsrv_cluster_join(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                            size_t name_len, bool mesh);
/* CREATE: the lobby `name` (valid) made in Redis; taken: refused with STR_LOBBY_EXISTS. */
void pm_sigsrv_cluster_create_named(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                                    size_t name_len, bool mesh);
void pm_sigsrv_cluster_leave(pm_sigsrv *s, sig_conn *c);
void pm_sigsrv_cluster_seal(pm_sigsrv *s, sig_conn *c);
void pm_sigsrv_cluster_seal_expired(pm_sigsrv *s, sig_lobby *l);
void pm_sigsrv_cluster_relay(pm_sigsrv *s, sig_conn *from, sig_conn *to, const pm_sigmsg *m);
void pm_sigsrv_cluster_lobby_free(pm_sigsrv *s, sig_lobby *l);
void pm_sigsrv_cluster_timeout(pm_sigsrv *s, pm_time now);
pm_time pm_sigsrv_cluster_deadline(const pm_sigsrv *s);
void pm_sigsrv_cluster_shutdown(pm_sigsrv *s);

#endif
