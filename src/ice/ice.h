/*
 * ICE agent (RFC 8445 full agent, trickle RFC 8838, consent RFC 7675,
 * restart RFC 8445 section 9) with a TURN client (RFC 8656) and mDNS
 * resolution of ".local" remote candidates. Sans-I/O: datagrams, stream
 * bytes and time in; datagrams, stream bytes, events and a deadline out.
 * Never touches sockets or clocks.
 *
 * Local paths ("via"). All host candidates share one UDP socket (as in
 * libjuice), so the local side of a pair is a path: via 0 is that socket;
 * via k (1..PM_ICE_MAX_TURN) is the relayed address allocated on the k-th
 * TURN server. A check list pairs every path with every remote candidate of
 * its address family. Server-reflexive candidates come from STUN Binding
 * requests (and TURN Allocate responses) sent through the socket.
 *
 * Output routes. Every transmit names where it goes: a datagram on the UDP
 * socket (stream PM_ICE_STREAM_UDP), a datagram for the mDNS multicast socket
 * (PM_ICE_STREAM_MDNS), or bytes on the TCP/TLS connection to TURN server k
 * (stream k; opened and closed with STREAM_OPEN / STREAM_CLOSE records). TLS
 * is the caller's: the agent reads and writes the plaintext TURN stream.
 */
#ifndef PM_ICE_H
#define PM_ICE_H

#include "base/base.h"
#include "wire/candidate.h"

typedef struct pm_ice_agent pm_ice_agent;

#define PM_ICE_MAX_TURN    4
#define PM_ICE_STREAM_UDP  0u
#define PM_ICE_STREAM_MDNS 0xFFFFFFFFu
/* Bytes pm_ice_relay_frame may put before application data. */
#define PM_ICE_RELAY_HDR_MAX 48

typedef enum pm_ice_state {
    PM_ICE_NEW = 0,
    PM_ICE_CHECKING,
    PM_ICE_CONNECTED,    /**< at least one valid pair; data may flow */
    PM_ICE_COMPLETED,    /**< a pair is nominated */
    PM_ICE_DISCONNECTED, /**< no consent for disconnected_after (may recover) */
    PM_ICE_FAILED,       /**< all checks failed, or consent expired */
    PM_ICE_CLOSED,
} pm_ice_state;

/** How the agent reaches a TURN server (the relayed side is always UDP). */
typedef enum pm_ice_turn_transport {
    PM_ICE_TURN_UDP = 0,
    PM_ICE_TURN_TCP,
    PM_ICE_TURN_TLS, /**< TCP with TLS done by the caller on stream k */
} pm_ice_turn_transport;

typedef struct pm_ice_turn_server {
    pm_addr addr;
    pm_ice_turn_transport transport;
    const char *username; /**< long-term credentials (copied); required */
    const char *password;
    const char *url; /**< for logs and error events (copied); may be NULL */
} pm_ice_turn_server;

typedef struct pm_ice_config {
    bool controlling;          /**< initial role (offerer = controlling) */
    const pm_addr *host_addrs; /**< local host candidate addresses (socket port included) */
    size_t host_addr_count;
    const pm_addr *stun_servers; /**< resolved STUN server addresses for srflx gathering */
    size_t stun_server_count;
    const pm_ice_turn_server *turn_servers; /**< at most PM_ICE_MAX_TURN are used */
    size_t turn_server_count;
    bool relay_only;            /**< ICE transport policy "relay": only relayed paths */
    bool resolve_mdns;          /**< resolve ".local" remote candidates (else unsupported) */
    pm_time ta;                 /**< check pacing (default 50 ms; 0 = default) */
    pm_time consent_interval;   /**< default 5 s, randomised x0.8..1.2 */
    pm_time consent_timeout;    /**< default 30 s */
    pm_time disconnected_after; /**< default 5 s without any consent response */
} pm_ice_config;

typedef enum pm_ice_event_type {
    PM_ICE_EV_LOCAL_CANDIDATE = 1, /**< `candidate`: "candidate:..." attribute value */
    PM_ICE_EV_GATHERING_DONE,
    PM_ICE_EV_STATE,         /**< `state` */
    PM_ICE_EV_SELECTED_PAIR, /**< the pair data should use changed */
    PM_ICE_EV_ROLE_CHANGED,  /**< role conflict flipped our role */
    PM_ICE_EV_SERVER_ERROR,  /**< a STUN/TURN server failed us: `server`, `error_code`, `text` */
} pm_ice_event_type;

typedef struct pm_ice_event {
    pm_ice_event_type type;
    pm_ice_state state;
    const char *candidate; /**< borrowed until the next pm_ice_* call */
    int server;            /**< SERVER_ERROR: TURN server index (0-based) */
    int error_code;        /**< SERVER_ERROR: STUN error code, or 701 (unreachable, W3C) */
    const char *text;      /**< SERVER_ERROR: reason (borrowed like `candidate`) */
    const char *url;       /**< SERVER_ERROR: the server's URL, or "" */
} pm_ice_event;

/** Where a transmit goes; see the header comment. */
typedef enum pm_ice_tx_kind {
    PM_ICE_TX_DATAGRAM = 0, /**< `data` to `to` on the socket named by `stream` */
    PM_ICE_TX_STREAM_OPEN,  /**< open stream `stream` (TCP) to `to` */
    PM_ICE_TX_STREAM_DATA,  /**< write `data` on stream `stream` */
    PM_ICE_TX_STREAM_CLOSE, /**< close stream `stream` once written */
} pm_ice_tx_kind;

typedef struct pm_ice_transmit {
    pm_ice_tx_kind kind;
    uint32_t stream;
    pm_addr to;
    const uint8_t *data; /**< borrowed until the next pm_ice_* call */
    size_t len;
} pm_ice_transmit;

/** Application (non-STUN) bytes that arrived on a path. */
typedef struct pm_ice_app {
    uint8_t via;
    pm_addr from;
    const uint8_t *data; /**< borrowed until the next pm_ice_* call */
    size_t len;
} pm_ice_app;

/** The selected pair, for statistics. */
typedef struct pm_ice_pair_info {
    pm_cand_type local_type, remote_type;
    pm_addr local, remote; /**< local: the candidate's address (the relayed one for relay) */
    int relay_transport;   /**< pm_ice_turn_transport of a relay path, else -1 */
    pm_time rtt;           /**< smoothed, or -1 */
} pm_ice_pair_info;

/** Local ufrag/pwd are generated (ufrag 8 chars, pwd 24 chars). The
 * candidate, pair and transaction tables grow as they are used (a few KB
 * for a peer with a few candidates). PM_ERR_INVALID, PM_ERR_NOMEM. */
int pm_ice_agent_new(const pm_envr *env, const pm_ice_config *cfg, pm_ice_agent **out);
void pm_ice_agent_free(pm_ice_agent *a);

const char *pm_ice_local_ufrag(const pm_ice_agent *a);
const char *pm_ice_local_pwd(const pm_ice_agent *a);
bool pm_ice_is_controlling(const pm_ice_agent *a);
void pm_ice_set_controlling(pm_ice_agent *a, bool controlling);

/** Emit host candidates and start STUN/TURN gathering. Idempotent. */
int pm_ice_gather(pm_ice_agent *a, pm_time now);

/**
 * Remote credentials from the remote description. Checks start once these
 * are known and there is a remote candidate. ice_lite: remote is lite (we
 * must be controlling). PM_ERR_INVALID for out-of-grammar ufrag/pwd;
 * PM_ERR_STATE for new credentials without pm_ice_restart() first.
 */
int pm_ice_set_remote_credentials(pm_ice_agent *a, const char *ufrag, const char *pwd,
                                  bool ice_lite);

/**
 * ICE restart (RFC 8445 section 9): new local credentials, gathering runs
 * again (every local candidate is reported anew, then GATHERING_DONE), TURN
 * allocations are refreshed (re-allocated when the server lost them). The
 * current pair keeps carrying data, and checks with the old credentials are
 * still answered, until the remote's new credentials arrive; then the check
 * list starts over and the first newly selected pair takes over.
 * PM_ERR_CLOSED after close; PM_ERR_STATE once FAILED is not an error here:
 * a restart is how a failed agent recovers.
 */
int pm_ice_restart(pm_ice_agent *a, pm_time now);
/** True when these are the remote credentials in use. */
bool pm_ice_has_remote_credentials(const pm_ice_agent *a, const char *ufrag, const char *pwd);
/** True between pm_ice_restart() and the remote's new credentials. */
bool pm_ice_restarting(const pm_ice_agent *a);

/**
 * Add a remote candidate ("candidate:..." prefix optional). Held until
 * remote credentials are known. A ".local" host name is resolved with mDNS
 * when the configuration allows it (PM_OK; dropped with a log line when no
 * answer comes). PM_ERR_PARSE: malformed; PM_ERR_UNSUPPORTED: a valid
 * candidate we cannot use (TCP, other names) — caller logs and ignores;
 * PM_ERR_FULL: 32 remote candidates already; PM_ERR_NOMEM.
 */
int pm_ice_add_remote_candidate(pm_ice_agent *a, const char *line, pm_time now);
void pm_ice_remote_gathering_done(pm_ice_agent *a);

/**
 * Feed one datagram received on the UDP socket from `from`: STUN (checks,
 * responses), or anything from a TURN server (responses, relayed data).
 * Application bytes (DTLS), direct or relayed, come back in *app (len 0 when
 * the agent consumed the datagram). Returns PM_OK, or PM_ERR_PARSE/AUTH/...
 * when the datagram was dropped.
 */
int pm_ice_handle_datagram(pm_ice_agent *a, pm_time now, const pm_addr *from, const uint8_t *data,
                           size_t len, pm_ice_app *app);

/**
 * Feed one STUN datagram received on the socket from `from` (via 0). Answers
 * checks (even before remote credentials are known), learns peer-reflexive
 * candidates, processes responses. Returns PM_OK or PM_ERR_PARSE/AUTH when
 * the datagram was dropped (no reply).
 */
int pm_ice_handle_stun(pm_ice_agent *a, pm_time now, const pm_addr *from, const uint8_t *data,
                       size_t len);

/**
 * Bytes read from stream `stream` (a TCP/TLS connection to a TURN server,
 * after TLS). Relayed application bytes are then taken with
 * pm_ice_poll_app(). PM_ERR_PARSE when the stream carries something that is
 * not TURN (the stream is then closed and its relay fails).
 */
int pm_ice_handle_stream(pm_ice_agent *a, pm_time now, uint32_t stream, const uint8_t *data,
                         size_t len);
/** The stream could not be opened or was closed by the other side. */
void pm_ice_stream_closed(pm_ice_agent *a, pm_time now, uint32_t stream, const char *why);
/** Next relayed application datagram that came through a stream. */
bool pm_ice_poll_app(pm_ice_agent *a, pm_ice_app *app);

/** A datagram received on the mDNS socket (answers to our questions). */
int pm_ice_handle_mdns(pm_ice_agent *a, pm_time now, const uint8_t *data, size_t len);

int pm_ice_handle_timeout(pm_ice_agent *a, pm_time now);
pm_time pm_ice_next_timeout(const pm_ice_agent *a);

/** Next output; `data` borrowed until the next pm_ice_* call. */
bool pm_ice_poll_transmit(pm_ice_agent *a, pm_ice_transmit *out);
bool pm_ice_poll_event(pm_ice_agent *a, pm_ice_event *ev);

/**
 * Frame `len` application bytes for relay path `via` (>= 1) to `peer`: the
 * header to put before them (ChannelData once a channel is bound, else a
 * Send indication) goes to hdr (*hlen bytes), *pad zero bytes go after them,
 * and *stream / *to say where the result goes (as pm_ice_transmit).
 * PM_ERR_NOT_FOUND: no such relay; PM_ERR_TOO_BIG: len over 65535.
 */
int pm_ice_relay_frame(pm_ice_agent *a, uint8_t via, const pm_addr *peer, size_t len,
                       uint8_t hdr[PM_ICE_RELAY_HDR_MAX], size_t *hlen, size_t *pad,
                       uint32_t *stream, pm_addr *to);

/**
 * The path data should take (nominated pair, else best valid pair; during a
 * restart, the previous pair until a new one is valid).
 */
bool pm_ice_selected_path(const pm_ice_agent *a, uint8_t *via, pm_addr *remote);
/** Same, via 0 only (compatibility with callers without relays). */
bool pm_ice_selected_remote(const pm_ice_agent *a, pm_addr *remote);
/** True when (via, from) is the remote side of a valid pair (accept non-STUN data from it). */
bool pm_ice_is_valid_path(const pm_ice_agent *a, uint8_t via, const pm_addr *from);
bool pm_ice_is_valid_remote(const pm_ice_agent *a, const pm_addr *from);
/** Types and addresses of the selected pair; false when there is none. */
bool pm_ice_selected_info(const pm_ice_agent *a, pm_ice_pair_info *info);
/** Smoothed RTT of the selected pair, or -1. */
pm_time pm_ice_rtt(const pm_ice_agent *a);
pm_ice_state pm_ice_get_state(const pm_ice_agent *a);
/** Close: TURN allocations are released (Refresh with lifetime 0), streams closed. */
void pm_ice_close(pm_ice_agent *a);

const char *pm_ice_turn_transport_name(int transport);

#endif
