/*
 * peermesh/websocket.h — the WebSocket multiplayer peer: Godot 3.2's
 * WebSocketServer / WebSocketClient used as a network_peer (gd_mp_api =
 * true), over ws:// or wss://.
 *
 * Wire format (docs/rpc.md): every WebSocket message is binary and starts
 * with Godot's 9-byte header [type][from][to]; the server assigns each
 * client a random id (SYS_ID), announces peers (SYS_ADD / SYS_DEL) and
 * relays client packets to other clients, so clients reach each other
 * through it. WebSocket is TCP: every transfer mode is reliable and ordered,
 * and a packet's mode reads RELIABLE.
 *
 * Differences from Godot 3.2, all deliberate:
 *  - a client is CONNECTING until the server has given it its id and
 *    announced itself (Godot says CONNECTED as soon as the WebSocket opens,
 *    when the client does not know its id yet and its packets would be
 *    dropped as spoofed);
 *  - a client that loses an established connection reports
 *    SERVER_DISCONNECTED (Godot 3.2 reports connection_failed);
 *  - a server does not deliver to itself a client packet addressed to
 *    "everyone but 1" (Godot 3.2 does, by a slip in its check).
 *
 * Driving: single-threaded and poll-driven like every peermesh object;
 * nothing is called back. The WebSocket transport is libwebsockets, which
 * owns its sockets and reads the OS clock itself (allocator and log sink
 * come from pm_env).
 *
 * In a web page (the WebAssembly build, docs/web.md) there is no
 * libwebsockets: pm_websocket_new() returns PM_ERR_UNSUPPORTED
 * (pm_websocket_config_default works).
 */
#ifndef PEERMESH_WEBSOCKET_H
#define PEERMESH_WEBSOCKET_H

#include "peermesh/common.h"
#include "peermesh/multiplayer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_websocket pm_websocket;

/* Godot's default buffers: 64 KiB per message, header included. */
#define PM_WEBSOCKET_DEFAULT_MAX_PACKET (65536 - 9)

/** Configuration. Initialise with pm_websocket_config_default(). Strings are copied. */
typedef struct pm_websocket_config {
    const pm_env *env;     /**< NULL = defaults */
    const char *bind_ip;   /**< server: numeric IP to listen on; NULL = every interface */
    const char *cert_file; /**< server: with key_file, serve wss:// (PEM files) */
    const char *key_file;
    const char *ca_file;    /**< client wss://: extra trusted CAs (PEM) */
    bool allow_self_signed; /**< client wss://: accept a self-signed server certificate */
    /** Largest packet (after the header) sent or accepted; a bigger message
     * closes the connection (1009). Default PM_WEBSOCKET_DEFAULT_MAX_PACKET. */
    size_t max_packet;
    /** Received packets waiting for get_packet, in bytes (default 16 MiB);
     * beyond, new ones are dropped with a log line. */
    size_t max_queued;
} pm_websocket_config;

/** Counters of the multiplayer layer. */
typedef struct pm_websocket_stats {
    uint64_t packets_received;  /**< data packets accepted */
    uint64_t packets_relayed;   /**< copies a server forwarded between clients */
    uint64_t dropped_spoofed;   /**< a client's packet claiming another sender */
    uint64_t dropped_malformed; /**< short messages, system messages from clients, bad ids */
    uint64_t dropped_full;      /**< the receive queue was full */
    uint64_t refused;           /**< connections closed while refusing new ones */
} pm_websocket_stats;

PM_API void pm_websocket_config_default(pm_websocket_config *cfg);
/** A new, inactive peer. PM_ERR_INVALID for a bad configuration, PM_ERR_NOMEM. */
PM_API int pm_websocket_new(const pm_websocket_config *cfg, pm_websocket **out);
/** Close (as pm_mp_close) and free. */
PM_API void pm_websocket_free(pm_websocket *w);
/** The multiplayer-peer interface of this transport, owned by `w`. */
PM_API pm_multiplayer *pm_websocket_multiplayer(pm_websocket *w);

/**
 * Listen on `port` (0 = a free port, see pm_websocket_get_local_port) as
 * Godot's WebSocketServer.listen(port, [], true): id 1, CONNECTED at once.
 * PM_ERR_STATE when already active, PM_ERR_IO when the port cannot be
 * bound, PM_ERR_CRYPTO for unusable certificate files.
 */
PM_API int pm_websocket_create_server(pm_websocket *w, uint16_t port);
/**
 * Connect to "ws://host:port/path" or "wss://..." as
 * WebSocketClient.connect_to_url(url, [], true): CONNECTING, then
 * PEER_CONNECTED(1) and CONNECTION_SUCCEEDED once the server has given us
 * our id, or CONNECTION_FAILED. PM_ERR_STATE, PM_ERR_INVALID for a bad URL,
 * PM_ERR_IO.
 */
PM_API int pm_websocket_create_client(pm_websocket *w, const char *url);
/** The server's listening port; 0 otherwise. */
PM_API uint16_t pm_websocket_get_local_port(const pm_websocket *w);
/**
 * Wait up to timeout_ms for network activity and handle it (events and
 * packets then wait for the next poll). PM_OK, PM_ERR_STATE when inactive,
 * PM_ERR_IO.
 */
PM_API int pm_websocket_wait(pm_websocket *w, int timeout_ms);
PM_API void pm_websocket_get_stats(const pm_websocket *w, pm_websocket_stats *out);

#ifdef __cplusplus
}
#endif
#endif
