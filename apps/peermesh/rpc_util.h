/*
 * rpc_util.h — pieces shared by `peermesh rpc serve` and the commands that
 * talk to it (`rpc probe`, `bench rpc`): the multiplayer peer under an rpc
 * object (ENet in Godot 3 format, or WebSocket), Variants and RPC events as
 * JSON, and a log sink that prints the library's log lines as JSON.
 */
#ifndef PM_CLI_RPC_UTIL_H
#define PM_CLI_RPC_UTIL_H

#include "peermesh/enet.h"
#include "peermesh/rpc.h"
#include "peermesh/signaling.h"
#include "peermesh/websocket.h"

#include "json_out.h"

/**
 * The transport under an rpc object: exactly one of enet / ws / sig is set.
 * With sig (a WebRTC mesh found through a signaling lobby) mp stays NULL
 * until the server gave us our id: see pm_cli_rpc_net_poll.
 */
typedef struct pm_cli_rpc_net {
    pm_enet *enet;
    pm_websocket *ws;
    pm_signal_client *sig;
    pm_multiplayer *mp;
} pm_cli_rpc_net;

/** Where to listen or connect, and how. */
typedef struct pm_cli_rpc_where {
    bool server;
    bool ws;           /* else ENet */
    const char *bind;  /* server: numeric IP */
    uint16_t port;     /* server: port (0 = any); ENet client: server port */
    const char *host;  /* ENet client: numeric IPv4 */
    const char *url;   /* WebSocket client; with `lobby`, the signaling server */
    const char *lobby; /* join this lobby of a signaling server (a WebRTC mesh) */
    const char *cert;  /* WebSocket server: wss with cert and key */
    const char *key;
    const pm_env *env; /* NULL = defaults */
} pm_cli_rpc_where;

/* The address a mesh's peer connections bind to (the tool stays on loopback by default). */
#define PM_CLI_RPC_MESH_BIND "127.0.0.1"

/** Start the transport; PM_OK or the library's error (nothing is left open then). */
int pm_cli_rpc_net_start(pm_cli_rpc_net *net, const pm_cli_rpc_where *w);
void pm_cli_rpc_net_free(pm_cli_rpc_net *net);
/** Drive a signaling client (the others need nothing) and update net->mp. */
void pm_cli_rpc_net_poll(pm_cli_rpc_net *net);
/** The server's port (0 for a client). */
uint16_t pm_cli_rpc_net_port(const pm_cli_rpc_net *net);
/** Sleep until the transport has work, at most timeout_ms. */
void pm_cli_rpc_net_wait(pm_cli_rpc_net *net, int timeout_ms);

/**
 * A Variant as JSON: null, booleans, integers, reals and strings as
 * themselves; arrays as arrays; every other type as {"Type": value}
 * ({"Vector2": [x, y]}, {"Dictionary": [[k, v], ...]}, {"PoolByteArray":
 * "hex"}, {"NodePath": "text"}, {"Object": id}, {"RID": null}).
 */
json_t *pm_cli_variant_json(const pm_variant *v);
/** An RPC event as one JSON object ({"event": "call", "from": ..., ...}). */
json_t *pm_cli_rpc_event_json(const pm_rpc_event *ev);

/** A pm_env log sink that prints {"event":"log",...} lines on stdout (ud unused). */
void pm_cli_json_log(void *ud, pm_log_level level, const char *component, const char *msg);

#endif
