/* Internals of pm_signal_client (client.c: connection, events; client_mesh.c: the mesh). */
#ifndef PM_SIG_CLIENT_INTERNAL_H
#define PM_SIG_CLIENT_INTERNAL_H

#include "base/base.h"
#include "io/ws.h"
#include "peermesh/signaling.h"
#include "wire/signal_msg.h"

#define CLIENT_REASON_MAX 124

struct pm_signal_client {
    pm_envr env;
    pm_signal_client_config cfg; /* url, lobby, ca_file, extras point to our copies */
    pm_ws *ws;
    uint64_t conn;
    bool conn_live;
    pm_signal_state state;
    pm_sigproto proto;
    int32_t id;
    bool mesh_lobby;
    bool sealed;
    bool user_closed;
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    pm_time deadline; /* connect timeout: id by then */
    pm_mesh *mesh;

    /* ICE servers: the user's, then the signaling server's. */
    pm_sig_ice_list server_ice;
    pm_ice_server *ice;
    size_t ice_count;

    pm_fifo events; /* records: [event_rec][string] */
    bool event_peeked;
    pm_buf scratch, enc, text;
    int32_t *ids; /* scratch for pm_mesh_get_peers */
    size_t ids_cap;
};

typedef struct event_rec {
    int32_t peer_id;
    int32_t close_code;
} event_rec;

/* client.c */
void pm_sigcl_event(pm_signal_client *c, pm_signal_event_type type, int32_t peer_id, int code,
                    const char *text);
int pm_sigcl_send(pm_signal_client *c, int type, int64_t id, const char *data, size_t len);

/* client_mesh.c */
void pm_sigcl_on_id(pm_signal_client *c, const pm_sigmsg *m);
void pm_sigcl_on_peer(pm_signal_client *c, int32_t peer_id);
void pm_sigcl_on_peer_left(pm_signal_client *c, int32_t peer_id);
void pm_sigcl_on_description(pm_signal_client *c, int32_t from, const char *type, const char *sdp,
                             size_t len);
void pm_sigcl_on_candidate(pm_signal_client *c, int32_t from, const char *data, size_t len);
/** Relay what the peer connections have to say (descriptions, candidates). */
void pm_sigcl_relay(pm_signal_client *c);
void pm_sigcl_free_ice(pm_signal_client *c);

#endif
