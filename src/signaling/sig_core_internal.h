/* Internals shared by the signaling core's files (sig_core.c, sig_lobby.c). */
#ifndef PM_SIG_CORE_INTERNAL_H
#define PM_SIG_CORE_INTERNAL_H

#include "signaling/sig_core.h"
#include "signaling/sig_map.h"
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
/* Named lobbies (our extension). */
#define STR_LOBBY_EXISTS   "Lobby already exists"
#define STR_LOBBY_NAME_BAD "Invalid lobby name"

#define SIG_LOBBY_NAME_LEN 16 /* the demo's random lobby names */
#define SIG_ID_MAX         0x7fffffff

typedef struct sig_lobby sig_lobby;

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
    bool awaiting_pong; /* pinged at the last sweep, no sign of life since */
    int64_t tokens;     /* rate limit bucket, in millionths of a message */
    pm_time tokens_at;
} sig_conn;

struct sig_lobby {
    char name[PM_SIG_MAX_LOBBY_NAME + 1];
    uint64_t key;
    bool mesh;
    bool sealed;
    pm_time sealed_at;
    sig_conn **members; /* members[0] is the host while the lobby lives */
    size_t count, cap;
    /* Sealed lobbies in seal order: the head closes first (same delay for all). */
    sig_lobby *seal_prev, *seal_next;
};

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
    pm_time next_sweep;

    pm_sig_map lobbies;   /* name hash -> sig_lobby * */
    pm_sig_map addresses; /* address key -> connection count */

    pm_fifo out; /* records: [header][bytes] */
    bool out_peeked;
    pm_buf scratch; /* decode scratch */
    pm_buf enc;     /* encode buffer */
    pm_signal_server_stats stats;
};

/* sig_core.c */
void pm_sigsrv_close_conn(pm_sigsrv *s, sig_conn *c, int code, const char *reason);
void pm_sigsrv_send(pm_sigsrv *s, sig_conn *c, int type, int64_t id, const char *data,
                    size_t data_len, const char *ice, size_t ice_len);
void pm_sigsrv_unpend(pm_sigsrv *s, sig_conn *c);
int64_t pm_sigsrv_unix_now(const pm_sigsrv *s, pm_time now);

/* sig_lobby.c */
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

#endif
