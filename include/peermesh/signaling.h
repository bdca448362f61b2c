/*
 * peermesh/signaling.h — the WebSocket signaling server and the client that
 * builds a WebRTC mesh through it: a mesh in a few lines of C.
 *
 * Protocols (docs/signaling.md): the server speaks both protocols of Godot's
 * WebRTC signaling demo, the 4.x JSON messages {"type","id","data"} and the
 * 3.x text commands "J: ", "I: ", "N: ", ... (chosen per connection from its
 * first message), so Godot games use it unchanged. Lobbies are created
 * (random 16-character name) or joined by name; the creator (host) is peer
 * 1, the others get random unique ids in 2..2^31-1. Offers, answers and
 * candidates are relayed only within a lobby, stamped with the sender's id.
 *
 * The client: pm_signal_client connects to a server URL, creates or joins a
 * lobby, creates the mesh (mesh.h) in the right mode when its id arrives,
 * creates a peer connection for every announced peer, decides who offers,
 * relays descriptions and candidates, and removes peers that leave. Once
 * the host seals the lobby the server closes every signaling connection and
 * the mesh lives on without it.
 *
 *     pm_signal_client_config cfg;
 *     pm_signal_client_config_default(&cfg);
 *     cfg.url = "ws://127.0.0.1:9080";
 *     cfg.lobby = argc > 1 ? argv[1] : NULL;   // NULL: create a lobby
 *     pm_signal_client *c;
 *     pm_signal_client_new(&cfg, &c);
 *     for (;;) {
 *         pm_wait(pm_signal_client_fd(c), pm_signal_client_next_timeout(c));
 *         pm_signal_client_poll(c);
 *         pm_multiplayer *mp = pm_signal_client_multiplayer(c); // NULL until our id came
 *         ... pm_mp_next_event(mp, &ev), pm_mp_get_packet(mp, &pkt), pm_mp_put_packet(...)
 *     }
 *
 * Threading: like every peermesh object, single-threaded and never calling
 * back; the server and the client are driven by their poll functions.
 *
 * In a web page (the WebAssembly build, docs/web.md) the client is the same
 * code on the browser's WebSocket, and its peers are RTCPeerConnections:
 * poll it every frame. The browser decides TLS trust (ca_file and
 * allow_self_signed are not used), pm_signal_client_fd() is -1, and an
 * abort (the connect timeout) closes the WebSocket with a close frame. The
 * server cannot run in a page: pm_signal_server_new() returns
 * PM_ERR_UNSUPPORTED (pm_signal_server_config_default and
 * pm_signal_token_make work). Calls
 * from callbacks (common.h): from inside the pm_env functions of a server
 * call nothing on it; of a client, nothing on it, its mesh, its interface
 * or its connections. The one exception is pm_signal_server_wake(): any
 * thread, a signal handler, even while the server polls.
 */
#ifndef PEERMESH_SIGNALING_H
#define PEERMESH_SIGNALING_H

#include "peermesh/common.h"
#include "peermesh/enet.h"
#include "peermesh/mesh.h"
#include "peermesh/multiplayer.h"
#include "peermesh/rtc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== close codes the server uses (docs/signaling.md) ==================== */

#define PM_SIGNAL_CLOSE_NORMAL       1000 /**< "Seal complete" */
#define PM_SIGNAL_CLOSE_GOING_AWAY   1001 /**< "Server shutting down" */
#define PM_SIGNAL_CLOSE_ABNORMAL     1006 /**< no close frame: the connection failed or was lost */
#define PM_SIGNAL_CLOSE_TOO_BIG      1009 /**< "Message too big" (RFC 6455 section 7.4.1) */
#define PM_SIGNAL_CLOSE_PROTOCOL     4000 /**< the demo's code for every protocol error */
#define PM_SIGNAL_CLOSE_UNAUTHORIZED 4001 /**< missing, wrong or expired token */
#define PM_SIGNAL_CLOSE_RATE         4002 /**< message rate limit exceeded */
#define PM_SIGNAL_CLOSE_ADDRESS      4003 /**< too many connections from one address */
#define PM_SIGNAL_CLOSE_TIMEOUT      4004 /**< no pong to the server's ping */
#define PM_SIGNAL_CLOSE_CLUSTER      4005 /**< the Redis cluster was unavailable, or lost the lobby */

/* ==== server =============================================================== */

typedef struct pm_signal_server pm_signal_server;

/** Server options. Initialise with pm_signal_server_config_default(). */
typedef struct pm_signal_server_config {
    const pm_env *env; /**< NULL = defaults (the log level also comes from here) */

    /* Listening. */
    /** Numeric IP to listen on. The default is "127.0.0.1": a server is
     *  reachable from other machines only when told so ("0.0.0.0" or "::",
     *  or NULL for every interface), and behind a reverse proxy that
     *  terminates TLS (docs/production.md) loopback is what it needs. */
    const char *bind_address;
    uint16_t port;         /**< default 9080 (the demo's); 0 = any free port */
    const char *cert_file; /**< PEM certificate chain: with key_file, wss:// */
    const char *key_file;  /**< PEM private key */
    bool http_endpoints;   /**< serve GET /metrics and /healthz (default true) */
    /** Serve the files of this folder over plain HTTP GET on the same port (http, or https
     *  with a certificate): "/" is index.html, media types by extension (.wasm is
     *  application/wasm); paths that would leave the folder get 403. NULL = none. (The
     *  web demo: peermesh-signal --web-root build-wasm/web, docs/web.md.) */
    const char *web_root;

    /* The demo server's limits (defaults are its values). */
    uint32_t max_peers; /**< connections at once (4096); beyond: 4000 "Too many peers connected" */
    uint32_t max_lobbies; /**< open lobbies (1024) */
    pm_time join_timeout; /**< to join after connecting (1 s), else 4000 */
    pm_time seal_delay;   /**< from SEAL to closing everyone with 1000 (10 s) */

    /* What the demo lacks (0 = off unless said otherwise). */
    uint32_t max_lobby_peers;            /**< peers in one lobby (default 4096) */
    pm_time ping_interval;               /**< WebSocket ping period (10 s); a peer that has not
                                              answered the previous ping is closed (4004) */
    size_t max_message_size;             /**< largest message (64 KiB), beyond: 1009 */
    uint32_t max_per_address;            /**< connections from one IPv4 address or IPv6 /64 */
    uint32_t max_handshakes_per_address; /**< connections from one address still in their
                                              WebSocket handshake (default 32); more are
                                              refused at accept (UINT32_MAX: any) */
    pm_time handshake_timeout; /**< to finish the WebSocket handshake (default 10 s; 1 s while
                                    more than 128 handshakes are unfinished) */
    uint32_t rate_limit;       /**< messages per second per connection (default 100) */
    uint32_t rate_burst;       /**< token bucket depth (default 500) */
    uint32_t join_rate;        /**< joins per second from one address (default 10; 0 = any): each
                                    join and leave is told to the whole lobby */
    uint32_t join_burst;       /**< joins one address may make at once (default 50) */
    /** Our extension: clients may create lobbies with a name of their own
     *  (pm_signal_client_config.create_lobby). Off by default: a server in
     *  strict Godot-demo mode refuses it as the demo does (4000). */
    bool named_lobbies;
    const char *auth_secret;      /**< joining needs ?token=<this secret> in the URL */
    const char *token_secret;     /**< joining needs ?token=<expiry>:<user>:<hmac> (see
                                       pm_signal_token_make) */
    const char *turn_secret;      /**< coturn static-auth-secret: TURN REST credentials */
    const char *const *turn_urls; /**< handed to peers with their id, with credentials */
    size_t turn_url_count;
    const char *const *stun_urls; /**< handed to peers with their id */
    size_t stun_url_count;
    pm_time turn_ttl; /**< lifetime of TURN credentials (default 24 h) */
    /** Host migration (off by default: the Godot demo closes a lobby whose
     *  host leaves, with 4000). On: when the host of a mesh lobby leaves
     *  and others remain, the lowest remaining id becomes the host; every
     *  member gets PEER_DISCONNECT for the old host, then our HOST message
     *  (JSON type 9, text "H: <id>") with the new one, which may seal.
     *  Client/server lobbies still close. */
    bool host_migration;

    /* Scale-out (docs/signaling.md): nodes sharing one namespace of lobbies
     * through Redis. NULL: one process, lobbies in memory (the default). */
    const char *redis_url;    /**< "redis://IP[:PORT]" or "unix:PATH" */
    const char *redis_prefix; /**< key and channel prefix (default "peermesh:") */
    pm_time node_ttl;         /**< a node silent this long is dead: its members are announced gone
                                   within node_ttl + 1 s (default 3 s) */
} pm_signal_server_config;

/**
 * Fill cfg with the defaults: 127.0.0.1 port 9080, the demo server's limits,
 * the ones listed above.
 */
PM_API void pm_signal_server_config_default(pm_signal_server_config *cfg);

/**
 * Create the server and start listening. cfg NULL means the defaults of
 * pm_signal_server_config_default() (127.0.0.1:9080). PM_ERR_INVALID for bad options
 * (cert without key, both auth_secret and token_secret, TURN URLs without
 * turn_secret, zero limits where one is required, a web_root that is no
 * folder), PM_ERR_IO when the
 * address cannot be bound, PM_ERR_CRYPTO for an unusable certificate.
 * The strings of cfg are copied.
 */
PM_API int pm_signal_server_new(const pm_signal_server_config *cfg, pm_signal_server **out);

/** Close every connection at once and free the server. NULL is fine. */
PM_API void pm_signal_server_free(pm_signal_server *srv);

/** The port the server listens on (useful with port 0). */
PM_API uint16_t pm_signal_server_port(const pm_signal_server *srv);

/**
 * Serve: accept, read, relay, write, run timers. timeout_ms 0 returns at
 * once after handling what is ready; > 0 waits up to that long for work;
 * -1 waits until there is work or a timer is due. PM_OK, or PM_ERR_CLOSED
 * once shut down and every connection is gone.
 */
PM_API int pm_signal_server_poll(pm_signal_server *srv, int timeout_ms);

/**
 * Make a waiting pm_signal_server_poll() return. Async-signal-safe, and may
 * be called from any thread while another polls (until the server is freed).
 */
PM_API void pm_signal_server_wake(pm_signal_server *srv);

/**
 * Graceful stop: stop accepting, close every connection with 1001 "Server
 * shutting down". Keep polling until poll returns PM_ERR_CLOSED.
 */
PM_API void pm_signal_server_shutdown(pm_signal_server *srv);

/** Counters and gauges (also served on /metrics). */
typedef struct pm_signal_server_stats {
    uint64_t connections;       /**< open now */
    uint64_t connections_total; /**< accepted since start */
    uint64_t lobbies;           /**< open now */
    uint64_t lobbies_total;     /**< created since start */
    uint64_t peers_in_lobbies;  /**< joined peers now */
    uint64_t relayed[3];        /**< offers, answers, candidates relayed */
    uint64_t relayed_bytes;     /**< payload bytes relayed */
    uint64_t messages_in;       /**< messages received */
    uint64_t messages_out;      /**< messages sent */
    uint64_t rejected_protocol; /**< closed 4000 for a protocol error or limit */
    uint64_t rejected_auth;     /**< closed 4001 */
    uint64_t rejected_rate;     /**< closed 4002 */
    uint64_t rejected_address;  /**< closed 4003 */
    uint64_t rejected_size;     /**< closed 1009 */
    uint64_t ping_timeouts;     /**< closed 4004 */
    uint64_t seals;             /**< lobbies sealed */
    uint64_t host_migrations;   /**< lobbies whose host left and another took over */
    /* Cluster (zero on one node). */
    uint64_t cluster_up;          /**< 1 while the Redis link is up */
    uint64_t cluster_nodes;       /**< nodes alive (as of the last heartbeat) */
    uint64_t cluster_lobbies;     /**< lobbies in the cluster */
    uint64_t cluster_members;     /**< peers in the cluster's lobbies */
    uint64_t cluster_relays_out;  /**< messages relayed to members on other nodes */
    uint64_t cluster_relays_in;   /**< messages from other nodes for ours */
    uint64_t cluster_relays_lost; /**< relays that could not go (link down, member gone) */
    uint64_t cluster_resyncs;     /**< lobby replicas checked against Redis after a reconnect */
    uint64_t cluster_lost;        /**< members closed with 4005 (lobby or membership lost) */
    uint64_t cluster_dead_nodes;  /**< dead nodes whose members this node announced gone */
    uint64_t turn_credentials;    /**< TURN credentials issued */
} pm_signal_server_stats;

/** Fill *out (all zero for a NULL server). */
PM_API void pm_signal_server_get_stats(const pm_signal_server *srv, pm_signal_server_stats *out);

/**
 * Make a join token for a server with token_secret: "<expiry>:<user>:<hex
 * HMAC-SHA1(secret, "<expiry>:<user>")>", expiry in Unix seconds. `user` may
 * hold only [A-Za-z0-9_.-] (at most 64). Writes at most cap bytes including
 * the NUL. PM_ERR_INVALID for a bad user, PM_ERR_TOO_BIG when cap is short.
 */
PM_API int pm_signal_token_make(const char *secret, const char *user, int64_t expiry_unix,
                                char *out, size_t cap);

/* ==== client =============================================================== */

typedef struct pm_signal_client pm_signal_client;

/** Wire protocol the client speaks. */
typedef enum pm_signal_protocol {
    PM_SIGNAL_PROTOCOL_JSON = 0, /**< Godot 4.x demo (default) */
    PM_SIGNAL_PROTOCOL_TEXT = 1, /**< Godot 3.x demo */
} pm_signal_protocol;

/** Who creates the offer between two peers. */
typedef enum pm_signal_offer_rule {
    PM_SIGNAL_OFFER_AUTO = 0,   /**< the rule of the protocol's Godot client (default) */
    PM_SIGNAL_OFFER_HIGHER = 1, /**< Godot 4.x: the peer with the higher id offers */
    PM_SIGNAL_OFFER_LOWER = 2,  /**< Godot 3.x: the peer with the lower id offers */
} pm_signal_offer_rule;

typedef enum pm_signal_state {
    PM_SIGNAL_CONNECTING = 0, /**< WebSocket not open yet */
    PM_SIGNAL_OPEN = 1,       /**< JOIN sent, waiting for our id */
    PM_SIGNAL_JOINED = 2,     /**< in a lobby, mesh created */
    PM_SIGNAL_SEALED = 3,     /**< the lobby was sealed; signaling will close */
    PM_SIGNAL_CLOSED = 4,     /**< signaling connection gone (the mesh may live on) */
} pm_signal_state;

/** What the client builds through the server. */
typedef enum pm_signal_transport {
    PM_SIGNAL_TRANSPORT_WEBRTC = 0, /**< a WebRTC mesh (mesh.h), as Godot's demo (default) */
    /**
     * Beyond Godot: an ENet mesh (enet.h, ENetMultiplayerPeer.create_mesh)
     * through NATs, without port forwarding. Every link gets its own ENet
     * host (one UDP socket), which learns its public address from a STUN
     * server (the first stun: or turn: URL over UDP of rtc.ice_servers and
     * of the servers the signaling server hands out; a numeric IPv4 host or
     * a name resolved once); the two peers exchange their addresses through
     * the signaling server (CANDIDATE messages, mid "enet") and punch holes
     * in their NATs by sending to each other at the same time (both behind
     * cone NATs, or one with a public address: works; a symmetric NAT
     * facing another NAT: fails). Once a punch packet arrives the side that
     * would offer (offer_rule) connects ENet to where it came from; a link
     * that fails is reported as PM_SIGNAL_EVENT_PEER_FAILED with the
     * reason. Mesh lobbies only; the ENet format is enet.format (Godot 4 by
     * default). ENet owns its sockets and reads the clock itself (enet.h).
     */
    PM_SIGNAL_TRANSPORT_ENET = 1,
} pm_signal_transport;

/** Client options. Initialise with pm_signal_client_config_default(). */
typedef struct pm_signal_client_config {
    const pm_env *env;
    const char *url;   /**< "ws://host:port[/path][?token=...]" or "wss://..." (required) */
    const char *lobby; /**< lobby to join; NULL or "" creates one (random name) */
    /**
     * Create a lobby named `lobby` instead of joining it (1..64 letters,
     * digits, '-', '_', '.'), so people can say "join lobby friday". An
     * extension: the server must offer named lobbies (peermesh-signal
     * --named-lobbies); Godot's demo servers, and ours in its default strict
     * mode, close the connection, which the CLOSED event then explains
     * (error PM_ERR_UNSUPPORTED). A taken name closes it with 4000 "Lobby
     * already exists". Default false.
     */
    bool create_lobby;
    bool mesh; /**< when creating: a mesh lobby (default) or client/server */
    pm_signal_protocol protocol;
    pm_signal_offer_rule offer_rule;
    /** Text protocol only: initialise the mesh with Godot 3.2's server
     *  compatibility, as the 3.x demo client does (default true). */
    bool server_compatibility;
    const pm_mp_transfer_mode *extra_channels; /**< pm_mesh_create_* channels_config */
    size_t extra_channel_count;
    int unreliable_lifetime; /**< add_peer's lifetime (default PM_MESH_LIFETIME_DEFAULT) */
    /** Template for every peer connection (bind address, ICE servers, ...);
     *  ICE servers the signaling server hands out are added to its list.
     *  Its pointers (and mesh_config's env) are borrowed: they must stay
     *  valid as long as the client. Its env NULL = the client's env. */
    pm_rtc_config rtc;
    pm_mesh_config mesh_config;
    const char *ca_file;     /**< wss: trust this PEM CA file in addition to the system's */
    bool allow_self_signed;  /**< wss: accept a self-signed server certificate */
    pm_time connect_timeout; /**< WebSocket open + our id within this (default 10 s) */
    /**
     * Beyond Godot. When a peer's connection goes DISCONNECTED, or FAILED
     * by ICE alone (its channels still open), the side that offered to it
     * restarts ICE (pm_rtc_peer_restart_ice) through the signaling server,
     * and again every this long while the connection stays so and
     * signaling is open (default 5 s; 0 = never). It only helps with
     * mesh_config.disconnect_grace > 0: without a grace the mesh drops the
     * peer at once, as Godot does.
     */
    pm_time ice_restart_interval;
    pm_signal_transport transport; /**< WebRTC (default) or ENet, see pm_signal_transport */
    /** ENet transport: the peer's format, compression and bind address (env
     *  NULL = the client's). Default: pm_enet_config_default with Godot 4's format. */
    pm_enet_config enet;
    /** ENet transport: a link fails this long after the peer's first address
     *  came without a punch from it (default 10 s). */
    pm_time punch_timeout;
} pm_signal_client_config;

/**
 * Fill cfg with the defaults: a mesh lobby, JSON protocol, the protocol's
 * offer rule, server compatibility, Godot's lifetime, default rtc and mesh
 * configurations, 10 s connect timeout, ICE restarts every 5 s, the
 * WebRTC transport (ENet: Godot 4 format, 10 s punch timeout). url is
 * NULL: set it.
 */
PM_API void pm_signal_client_config_default(pm_signal_client_config *cfg);

/**
 * Create the client and start connecting. PM_ERR_INVALID for a missing or
 * malformed URL (logged: what is wrong with it; the URL must be ws://HOST
 * or wss://HOST with an optional :PORT of 1..65535 and /PATH, no spaces or
 * user info), bad options; when the connection fails at once, the code a
 * CLOSED event would carry (PM_ERR_REFUSED, PM_ERR_UNREACHABLE, PM_ERR_IO,
 * see pm_signal_event.error). Later failures come as the CLOSED event.
 * url, lobby, ca_file and extra_channels are copied; see `rtc` for what is
 * borrowed.
 */
PM_API int pm_signal_client_new(const pm_signal_client_config *cfg, pm_signal_client **out);

/** Close the signaling connection, free the mesh and everything. NULL is fine. */
PM_API void pm_signal_client_free(pm_signal_client *c);

/**
 * Drive everything without blocking: the WebSocket (read, relay, write),
 * the mesh and its connections (pm_mesh_poll), the peer connections'
 * signaling events. PM_OK; PM_ERR_CLOSED once signaling is closed and there
 * is no mesh left to drive.
 */
PM_API int pm_signal_client_poll(pm_signal_client *c);

/**
 * When pm_signal_client_poll() is needed next at the latest: absolute, on
 * the env clock (common.h). The earliest of the connect timeout, the
 * WebSocket library's own timers (connect, close handshake) and the mesh's
 * deadline; now when the WebSocket library holds input it has not handled
 * yet. Exact: no polling interval is added, so an idle client sleeps until
 * there is something to do.
 */
PM_API pm_time pm_signal_client_next_timeout(const pm_signal_client *c);

/**
 * One descriptor for everything the client drives: readable when the
 * WebSocket has input or, while a frame waits to go out (e.g. the answer to
 * the server's ping), can take output; or when the mesh's sockets have
 * input (pm_mesh_fd, added when the mesh is created). The same number from
 * pm_signal_client_new() to pm_signal_client_free(), also after signaling
 * closed, when only the mesh is left. Sleep on it until
 * pm_signal_client_next_timeout(), then poll: nothing is missed (common.h).
 * PM_ERR_INVALID for NULL; PM_ERR_UNSUPPORTED in the WebAssembly build.
 */
PM_API int pm_signal_client_fd(const pm_signal_client *c);

/** Where the signaling connection stands (CLOSED for NULL). */
PM_API pm_signal_state pm_signal_client_state(const pm_signal_client *c);

/** Our peer id (1 for the lobby host), 0 before the server assigned it. */
PM_API int32_t pm_signal_client_id(const pm_signal_client *c);

/** The lobby name once joined ("" before). Borrowed; lives as long as the client. */
PM_API const char *pm_signal_client_lobby(const pm_signal_client *c);

/** True when the lobby is a mesh (false: client/server), once the id came. */
PM_API bool pm_signal_client_is_mesh_lobby(const pm_signal_client *c);

/** The WebRTC mesh, created when our id arrives (NULL before, and with the ENet transport). Owned
 * by the client. */
PM_API pm_mesh *pm_signal_client_mesh(pm_signal_client *c);

/** ENet transport: the ENet mesh, created when our id arrives (NULL before). Owned by the client.
 */
PM_API pm_enet *pm_signal_client_enet(pm_signal_client *c);

/** The mesh's multiplayer interface (WebRTC or ENet), or NULL before our id. */
PM_API pm_multiplayer *pm_signal_client_multiplayer(pm_signal_client *c);

/** The lobby's host: 1, or who took over after a host migration; 0 before our id came. */
PM_API int32_t pm_signal_client_host(const pm_signal_client *c);

/** Host only: seal the lobby. PM_ERR_STATE when not joined or not the host. */
PM_API int pm_signal_client_seal(pm_signal_client *c);

/** Close the signaling connection now (code 1000); the mesh lives on. */
PM_API void pm_signal_client_close(pm_signal_client *c);

typedef enum pm_signal_event_type {
    PM_SIGNAL_EVENT_OPEN = 1,       /**< WebSocket open, JOIN sent */
    PM_SIGNAL_EVENT_ID,             /**< peer_id = our id; the mesh now exists */
    PM_SIGNAL_EVENT_JOINED,         /**< lobby = the lobby's name */
    PM_SIGNAL_EVENT_PEER_ANNOUNCED, /**< peer_id joined (or was there); connection created */
    PM_SIGNAL_EVENT_PEER_LEFT,      /**< peer_id left the lobby; removed from the mesh */
    PM_SIGNAL_EVENT_SEALED,         /**< the host sealed the lobby */
    PM_SIGNAL_EVENT_CLOSED,         /**< signaling closed: close_code, reason, error */
    PM_SIGNAL_EVENT_ICE_SERVERS,    /**< the server handed out ICE servers (count in peer_id) */
    /** ENet transport: the link to peer_id could not be made; reason says why
     *  (hole punching failed, ENet did not connect). The peer stays in the
     *  lobby, out of the mesh. */
    PM_SIGNAL_EVENT_PEER_FAILED,
    /** Host migration: peer_id is the lobby's host now (maybe us); a WebRTC
     *  mesh got pm_mesh_set_host first. */
    PM_SIGNAL_EVENT_HOST_CHANGED,
} pm_signal_event_type;

typedef struct pm_signal_event {
    pm_signal_event_type type;
    int32_t peer_id;
    const char *lobby; /**< JOINED; borrowed until the next next_event call */
    /**
     * CLOSED: the close code, from the close frame of either side (1000
     * after a seal, 4000 for the protocol errors of docs/signaling.md, ...),
     * 1006 when there was none (the connection failed or was lost), 0 when
     * our connect timeout gave up.
     */
    int close_code;
    /**
     * CLOSED: PM_OK when either side closed with a close frame (close_code
     * and reason say why); else why the connection failed, each cause its
     * own code: PM_ERR_REFUSED (nothing listens at the address),
     * PM_ERR_UNREACHABLE (no route), PM_ERR_TIMEOUT (no answer, or no id,
     * within connect_timeout), PM_ERR_CRYPTO (TLS handshake), PM_ERR_AUTH
     * (untrusted certificate, HTTP 401/403), PM_ERR_PROTOCOL (another HTTP
     * status instead of the WebSocket upgrade, e.g. 404 for a wrong path),
     * PM_ERR_IO (anything else, or the connection was lost once open).
     */
    int error;
    /**
     * CLOSED: the close frame's reason, or when `error` is set a sentence
     * that says what failed ("connection refused by 127.0.0.1:9080: nothing
     * listens there ..."). PEER_FAILED: why the link could not be made.
     * Borrowed until the next next_event call.
     */
    const char *reason;
} pm_signal_event;

/** Next signaling event (mesh events come from the mesh's interface). */
PM_API bool pm_signal_client_next_event(pm_signal_client *c, pm_signal_event *ev);

/*
 * Static names of the enums ("joined", "peer_announced"); "unknown" for a
 * value outside the enum. Never NULL; callable anywhere (common.h).
 */
PM_API const char *pm_signal_state_to_string(pm_signal_state state);
PM_API const char *pm_signal_event_type_to_string(pm_signal_event_type type);

#ifdef __cplusplus
}
#endif
#endif
