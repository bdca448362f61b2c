/*
 * The sans-I/O core of the WebSocket multiplayer peer (peermesh/websocket.h):
 * Godot 3.2's WebSocketMultiplayerPeer logic — ids, system messages, the
 * server relay, spoof checks, packet and event queues — with connections as
 * opaque 64-bit handles. The shell (wsmp.c) feeds it what the WebSocket
 * transport reports and carries out what it asks: messages to send and
 * connections to close. No sockets, no clock, no libwebsockets here.
 */
#ifndef PM_WSMP_CORE_H
#define PM_WSMP_CORE_H

#include "base/base.h"
#include "peermesh/multiplayer.h"
#include "peermesh/websocket.h"

#define PM_WSMP_COMPONENT "websocket"

/* What the core asks of the transport (pm_wsmp_next_output). */
typedef enum pm_wsmp_action {
    PM_WSMP_SEND = 0,  /**< send `data` as one binary message */
    PM_WSMP_CLOSE = 1, /**< close gracefully (1000) after what is queued */
    PM_WSMP_DROP = 2,  /**< drop at once */
} pm_wsmp_action;

typedef struct pm_wsmp_member {
    int32_t id;
    uint64_t conn; /* server: the client's connection; client: 0 (reached through the server) */
} pm_wsmp_member;

typedef struct pm_wsmp {
    pm_envr env;
    bool server;
    bool active;
    pm_mp_status status;
    int32_t unique_id;
    bool refuse;
    bool announced;       /* client: the server announced itself (SYS_ADD 1) */
    uint64_t server_conn; /* client */
    size_t max_packet;

    pm_wsmp_member *members;
    size_t n_members;
    size_t cap_members;

    pm_fifo in;  /* received packets: tag = sender, payload */
    pm_fifo out; /* actions: tag = pm_wsmp_action, [u64 conn][message] */
    bool in_held, out_held;

    pm_mp_event *events;
    size_t ev_head, ev_count, ev_cap;

    pm_websocket_stats stats;
} pm_wsmp;

/** Initialise an inactive core. max_queued bounds the receive queue in bytes. */
void pm_wsmp_init(pm_wsmp *c, const pm_envr *env, size_t max_packet, size_t max_queued);
void pm_wsmp_free(pm_wsmp *c);
/** Become a server (id 1, CONNECTED) or a client (CONNECTING). */
void pm_wsmp_start(pm_wsmp *c, bool server);
/** Forget everything: no events, status DISCONNECTED (close()). Queued actions stay. */
void pm_wsmp_stop(pm_wsmp *c);

/* ---- what the transport reports ---- */
/** Server: a client connected. Client: the connection to the server opened. */
void pm_wsmp_on_open(pm_wsmp *c, uint64_t conn);
void pm_wsmp_on_message(pm_wsmp *c, uint64_t conn, const uint8_t *data, size_t len);
void pm_wsmp_on_closed(pm_wsmp *c, uint64_t conn);

/* ---- what the transport must do ---- */
/**
 * The oldest pending action; data (for SEND) is borrowed until the next
 * call. False when none.
 */
bool pm_wsmp_next_output(pm_wsmp *c, pm_wsmp_action *action, uint64_t *conn, const uint8_t **data,
                         size_t *len);

/* ---- the multiplayer interface (multiplayer.h contracts) ---- */
int pm_wsmp_put_packet(pm_wsmp *c, int32_t target, const uint8_t *data, size_t len);
int pm_wsmp_get_packet(pm_wsmp *c, pm_mp_packet *out);
bool pm_wsmp_next_event(pm_wsmp *c, pm_mp_event *ev);
int pm_wsmp_disconnect_peer(pm_wsmp *c, int32_t peer_id, bool force);

#endif
