/* Internals of the signaling client core (sig_client.c: protocol, outputs,
 * events; sig_client_mesh.c: the mesh). */
#ifndef PM_SIG_CLIENT_INTERNAL_H
#define PM_SIG_CLIENT_INTERNAL_H

#include "signaling/sig_client.h"
#include "wire/signal_msg.h"

/* RFC 6455 section 7.4.1: we cannot go on (no memory, no mesh). */
#define SIGCL_CLOSE_INTERNAL 1011

/* The signaling connection as the core sees it. */
typedef enum sigcl_link {
    LINK_CONNECTING = 0, /* the transport is not open yet */
    LINK_OPEN,           /* messages flow */
    LINK_CLOSING,        /* we asked to close; nothing more is sent or read */
    LINK_DONE,           /* gone (closed, or aborted by our timeout) */
} sigcl_link;

struct pm_sigcl {
    pm_envr env;
    pm_signal_client_config cfg; /* lobby and extra_channels point to our copies */
    pm_sigcl_peer_factory factory;
    sigcl_link link;
    pm_signal_state state;
    pm_sigproto proto;
    int32_t id;
    int32_t host_id; /* 1, or the host after a migration (HOST message) */
    bool mesh_lobby;
    bool sealed;
    bool user_closed;
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    pm_time deadline; /* connect timeout: our id by then */
    bool opened;      /* the transport opened once */
    int fail_err;     /* pm_sigcl_failed: why the transport failed (0: it did not) */
    char fail_why[256];
    pm_mesh *mesh;

    /* ICE servers: the user's, then the signaling server's. */
    pm_sig_ice_list server_ice;
    pm_ice_server *ice;
    size_t ice_count;

    pm_fifo out;    /* records: [int code][message or reason] */
    pm_fifo events; /* records: [event_rec][string] */
    bool out_peeked, event_peeked;
    pm_buf scratch, enc, text;
    int32_t *ids; /* scratch for pm_mesh_get_peers */
    size_t ids_cap;
    /* ICE restarts: the peers we offered to whose connection is down, and
     * when we last restarted it (cfg.ice_restart_interval). */
    struct sigcl_restart *restarts;
    size_t nrestarts, restarts_cap;

    /* The ENet transport (sig_client_enet.c): the mesh, the links still
     * being punched or connected, the STUN server, the last time seen. */
    pm_enet *enet;
    struct sigcl_elink *elinks;
    size_t nelinks, elinks_cap;
    bool have_stun;
    pm_addr stun;
    char stun_name[128];
    pm_time enet_now;
    int enet_waitset; /* the links' hosts and the mesh's (pm_enet_fd); -1 before the mesh */
};

typedef struct sigcl_restart {
    int32_t peer;
    pm_time at;
} sigcl_restart;

typedef struct event_rec {
    int32_t peer_id;
    int32_t close_code;
    int32_t error;
} event_rec;

/* sig_client.c */
void pm_sigcl_event(pm_sigcl *c, pm_signal_event_type type, int32_t peer_id, int code,
                    const char *text);
/** The CLOSED event, with the error of a connection that failed or was lost. */
void pm_sigcl_event_closed(pm_sigcl *c, int code, int error, const char *text);
/** Encode and queue one message; PM_ERR_CLOSED unless the link is open. */
int pm_sigcl_send(pm_sigcl *c, int type, int64_t id, const char *data, size_t len);
/** Queue a close of the signaling connection with `code` (no reason). */
void pm_sigcl_close_with(pm_sigcl *c, int code);

/* sig_client_mesh.c */
void pm_sigcl_on_id(pm_sigcl *c, const pm_sigmsg *m);
void pm_sigcl_on_peer(pm_sigcl *c, int32_t peer_id);
void pm_sigcl_on_peer_left(pm_sigcl *c, int32_t peer_id);
void pm_sigcl_on_description(pm_sigcl *c, int32_t from, const char *type, const char *sdp,
                             size_t len);
void pm_sigcl_on_candidate(pm_sigcl *c, int32_t from, const char *data, size_t len);
/**
 * Relay what the peer connections have to say (descriptions, candidates)
 * and restart ICE on those that went down (ice_restart_interval).
 */
void pm_sigcl_relay(pm_sigcl *c, pm_time now);
/** When a connection still down is due for another ICE restart, or PM_TIME_NEVER. */
pm_time pm_sigcl_next_restart(const pm_sigcl *c);
void pm_sigcl_free_ice(pm_sigcl *c);
/** Who sends the offer to `peer` (the offer rule); with ENet, who connects. */
bool pm_sigcl_we_offer(const pm_sigcl *c, int32_t peer);

/* sig_client_enet.c: the ENet transport, called where the WebRTC mesh is. */
/** Create the ENet mesh as node `id` (mesh lobbies only). */
int pm_sigcl_enet_on_id(pm_sigcl *c, int32_t id);
void pm_sigcl_enet_on_peer(pm_sigcl *c, int32_t peer);
void pm_sigcl_enet_on_peer_left(pm_sigcl *c, int32_t peer);
/** A CANDIDATE message with mid "enet". */
void pm_sigcl_enet_on_line(pm_sigcl *c, int32_t from, const char *line);
/** Service the links and the mesh, relay their lines, connect and hand over. */
void pm_sigcl_enet_poll(pm_sigcl *c, pm_time now);
pm_time pm_sigcl_enet_deadline(const pm_sigcl *c);
/** Signaling ended without a seal: the links and the mesh go with it. */
void pm_sigcl_enet_close(pm_sigcl *c);
void pm_sigcl_enet_free(pm_sigcl *c);

#endif
