/*
 * Helpers for the signaling server's integration tests: raw WebSocket
 * clients (src/io/ws.c) that record what they receive, a "world" of
 * servers and clients pumped together on the real clock, and a redis-server
 * of the test's own on loopback (its own port and temporary directory, no
 * persistence, stopped by its pid).
 */
#ifndef PM_SIGTEST_H
#define PM_SIGTEST_H

#include "testutil.h"

#include "io/ws.h"
#include "peermesh/signaling.h"
#include "wire/signal_msg.h"

#include <sys/types.h>

#define ST_MSGS     128
#define ST_MSG_SIZE 2048
#define ST_DEADLINE PM_SEC(10)

typedef struct st_client {
    pm_ws *ws;
    uint64_t conn;
    bool open, closed;
    int code;
    char reason[128];
    char msg[ST_MSGS][ST_MSG_SIZE];
    int nmsg;
} st_client;

/** Connect a raw client to url (ws:// or wss://, self-signed accepted). */
void st_client_connect(st_client *c, const char *url);
void st_client_send(st_client *c, const char *text);
void st_client_free(st_client *c);

/** What a test drives: servers and clients pumped together. */
typedef struct st_world {
    pm_signal_server *srv[8];
    size_t nsrv;
    st_client *cl[32];
    size_t ncl;
    /* Pumped too (e.g. pm_signal_clients): called with ud on every round. */
    void (*extra)(void *ud);
    void *extra_ud;
} st_world;

typedef bool (*st_cond)(void *ud);

/** Pump everything until cond(ud) or `limit` passes; whether cond held. */
bool st_pump_until(st_world *w, st_cond cond, void *ud, pm_time limit);
/** Pump for `span`. */
void st_pump_for(st_world *w, pm_time span);
/** Until c has `count` messages (fails the test otherwise). */
void st_wait_msgs(st_world *w, st_client *c, int count);
void st_wait_closed(st_world *w, st_client *c);
void st_wait_open(st_world *w, st_client *c);

/** "ws://127.0.0.1:<port>/" of a server. */
void st_url(const pm_signal_server *srv, char *buf, size_t cap);

/** pm_signal_clients forming a mesh (at most ST_PEERS; a slot NULL once freed). */
#define ST_PEERS 8
typedef struct st_mesh {
    pm_signal_client *c[ST_PEERS];
    int n;
    int got[ST_PEERS];       /* "from <id>" packets received from their sender */
    int connected[ST_PEERS]; /* PEER_CONNECTED minus PEER_DISCONNECTED of its mesh */
    bool sealed[ST_PEERS], closed[ST_PEERS];
    int close_code[ST_PEERS];
    char reason[ST_PEERS][128];
    int32_t host[ST_PEERS];    /* the last HOST_CHANGED (0: none) */
    int server_lost[ST_PEERS]; /* SERVER_DISCONNECTED seen by its mesh */
    int failed[ST_PEERS];      /* PEER_FAILED (ENet transport), the last one's reason: */
    char failure[ST_PEERS][512];
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    /* The transport of the clients added next (default: WebRTC). */
    pm_signal_transport transport;
} st_mesh;

/** Add a client of `url` joining `lobby` (NULL: create one), on 127.0.0.1
 *  (ENet transport: punch_timeout 500 ms). */
void st_mesh_add(st_mesh *m, const char *url, const char *lobby, pm_signal_protocol proto);
/** The same, creating a client/server lobby when lobby is NULL. */
void st_mesh_add_cs(st_mesh *m, const char *url, const char *lobby);
/** Poll every client and drain its events and packets (an st_world's extra). */
void st_mesh_pump(void *m);
/** Conditions: the lobby name is known (client 0 joined); every live client's
 *  mesh (WebRTC or ENet) has all the others connected; every live client got one packet from
 *  each other; every live client's signaling closed. */
bool st_mesh_lobby_known(void *m);
bool st_mesh_full(void *m);
bool st_mesh_all_got(void *m);
bool st_mesh_all_closed(void *m);
/** Every live client broadcasts "from <its id>" (counts start again at 0). */
void st_mesh_send_everywhere(st_mesh *m);
/** Free client i (its mesh goes with it); free_all: every one. */
void st_mesh_drop(st_mesh *m, int i);
void st_mesh_free_all(st_mesh *m);

/** A redis-server of our own. */
typedef struct st_redis {
    pid_t pid;
    int port;
    char dir[64];
    char url[64];
} st_redis;

/**
 * Start one on 127.0.0.1 (port 0: a free one), in a fresh temporary
 * directory, with no persistence; wait until it answers. False when
 * redis-server is not installed (the caller skips, or fails under CI=true).
 */
bool st_redis_start(st_redis *r, int port);
/** Kill it (SIGKILL, by its pid) and wait for it; st_redis_start(r, r->port) restarts it. */
void st_redis_kill(st_redis *r);
/** Kill it and remove its directory. */
void st_redis_stop(st_redis *r);
/** Run a Redis command on it (hiredis, synchronous); its integer or array length, or -1. */
long long st_redis_command(const st_redis *r, const char *cmd);

/** Skip the current test when redis-server is missing, or fail when CI=true. */
void st_need_redis(bool have);

#endif
