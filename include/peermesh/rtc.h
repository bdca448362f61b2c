/*
 * peermesh/rtc.h — WebRTC peer connections and data channels.
 *
 * Semantics follow Godot's WebRTCPeerConnection / WebRTCDataChannel (enum
 * values included) on top of a native stack: ICE (RFC 8445, trickle RFC
 * 8838, consent RFC 7675), DTLS 1.2 (OpenSSL), SCTP (RFC 9260 as RFC 8831
 * profiles it: our own, or usrsctp in a PM_SCTP=usrsctp build) and DCEP
 * (RFC 8832).
 *
 * Driving model. A peer connection is single-threaded and never calls back
 * into user code; everything it has to say comes out as events drained with
 * pm_rtc_peer_next_event() after a call that drives it. Two ways to drive it:
 *
 *  - Socket mode (default): the peer owns its UDP socket. Sleep on
 *    pm_rtc_peer_fd() until pm_rtc_peer_next_timeout() (pm_wait(), or your
 *    own poll loop), then call pm_rtc_peer_poll(): it receives, runs timers
 *    and sends.
 *  - Sans-I/O mode (config.external_transport = true): no socket. The
 *    caller feeds received datagrams to pm_rtc_peer_handle_datagram(), calls
 *    pm_rtc_peer_handle_timeout() at pm_rtc_peer_next_timeout(), and sends
 *    whatever pm_rtc_peer_poll_transmit() returns. Time comes from the
 *    caller, so a test can run many peers on a virtual clock.
 *
 * Calls from callbacks (common.h): the only application code a peer runs is
 * its pm_env functions; from inside them call neither the peer nor its
 * channels. Certificates are reference-counted atomically: the
 * pm_rtc_certificate_* functions may be called from any thread.
 *
 * In a web page (the WebAssembly build, `make wasm`, docs/web.md) the same
 * API runs on the browser's RTCPeerConnection and RTCDataChannel, with the
 * same enum values, error codes and poll model: browser callbacks only
 * queue; pm_rtc_peer_poll() applies what they queued (states change only
 * there) and pm_rtc_peer_next_event() hands the events out. Poll every
 * frame. What a page cannot do returns PM_ERR_UNSUPPORTED: sans-I/O mode
 * (config.external_transport), our own certificates (config.certificate,
 * pm_rtc_certificate_generate), pm_rtc_peer_handle_datagram() and
 * pm_rtc_peer_handle_timeout(); pm_rtc_peer_poll_transmit() has nothing,
 * pm_rtc_peer_fd() is -1 and the socket options (bind_address, ports,
 * enable_ipv6, include_loopback, consent timers) are the browser's. Also
 * the browser's: messages_abandoned is 0 (not reported), unread messages
 * are not bounded (a page cannot push back), text messages must be UTF-8
 * (PM_ERR_INVALID otherwise), and the round trip comes from getStats().
 *
 * Ownership. Strings in events are borrowed until the next
 * pm_rtc_peer_next_event() call on the same peer. Channel handles belong to
 * the peer: they stay valid until pm_rtc_peer_free(), or until
 * pm_rtc_channel_release(). A released handle must not be used again, and
 * no event names it any more: events about it that were still queued are
 * dropped (the channel is freed at a later pm_rtc_peer_next_event(), once
 * it is CLOSED).
 */
#ifndef PEERMESH_RTC_H
#define PEERMESH_RTC_H

#include "peermesh/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_rtc_peer pm_rtc_peer;
typedef struct pm_rtc_channel pm_rtc_channel;
typedef struct pm_rtc_certificate pm_rtc_certificate;

/** Godot WebRTCPeerConnection.ConnectionState. */
typedef enum pm_rtc_state {
    PM_RTC_STATE_NEW = 0,
    PM_RTC_STATE_CONNECTING = 1,
    PM_RTC_STATE_CONNECTED = 2,
    PM_RTC_STATE_DISCONNECTED = 3,
    PM_RTC_STATE_FAILED = 4,
    PM_RTC_STATE_CLOSED = 5,
} pm_rtc_state;

/** Godot 4 WebRTCPeerConnection.GatheringState. */
typedef enum pm_rtc_gathering_state {
    PM_RTC_GATHERING_NEW = 0,
    PM_RTC_GATHERING_GATHERING = 1,
    PM_RTC_GATHERING_COMPLETE = 2,
} pm_rtc_gathering_state;

/** Godot 4 WebRTCPeerConnection.SignalingState. */
typedef enum pm_rtc_signaling_state {
    PM_RTC_SIGNALING_STABLE = 0,
    PM_RTC_SIGNALING_HAVE_LOCAL_OFFER = 1,
    PM_RTC_SIGNALING_HAVE_REMOTE_OFFER = 2,
    PM_RTC_SIGNALING_HAVE_LOCAL_PRANSWER = 3,
    PM_RTC_SIGNALING_HAVE_REMOTE_PRANSWER = 4,
    PM_RTC_SIGNALING_CLOSED = 5,
} pm_rtc_signaling_state;

/** Godot WebRTCDataChannel.ChannelState. */
typedef enum pm_rtc_channel_state {
    PM_RTC_CHANNEL_CONNECTING = 0,
    PM_RTC_CHANNEL_OPEN = 1,
    PM_RTC_CHANNEL_CLOSING = 2,
    PM_RTC_CHANNEL_CLOSED = 3,
} pm_rtc_channel_state;

/** Godot WebRTCDataChannel.WriteMode. The default is BINARY. */
typedef enum pm_rtc_write_mode {
    PM_RTC_WRITE_TEXT = 0,
    PM_RTC_WRITE_BINARY = 1,
} pm_rtc_write_mode;

/** One entry of RTCConfiguration.iceServers. */
typedef struct pm_ice_server {
    const char *const *urls; /**< "stun:host[:port]", "turn:host[:port][?transport=udp|tcp]",
                                  "turns:..."; host may be an IP literal or a name */
    size_t url_count;
    const char *username;   /**< TURN only; may be NULL */
    const char *credential; /**< TURN only; may be NULL */
} pm_ice_server;

/** A parsed ICE server URL (RFC 7064 / RFC 7065). */
typedef struct pm_ice_url {
    enum { PM_ICE_URL_STUN, PM_ICE_URL_STUNS, PM_ICE_URL_TURN, PM_ICE_URL_TURNS } scheme;
    char host[256];
    uint16_t port;      /**< default 3478, or 5349 for stuns:/turns: */
    bool transport_tcp; /**< "?transport=tcp" */
} pm_ice_url;

/**
 * Parse and validate one ICE server URL. Returns PM_OK, or PM_ERR_PARSE for
 * a malformed URL (unknown scheme, empty host, bad port, unknown query).
 */
PM_API int pm_ice_url_parse(const char *url, pm_ice_url *out);

/**
 * Validate an ice server entry: every URL parses, and TURN URLs come with
 * both a username and a credential. PM_OK or PM_ERR_INVALID / PM_ERR_PARSE.
 */
PM_API int pm_ice_server_validate(const pm_ice_server *server);

/** RTCConfiguration.iceTransportPolicy. */
typedef enum pm_rtc_ice_policy {
    PM_RTC_ICE_POLICY_ALL = 0, /**< every candidate type */
    PM_RTC_ICE_POLICY_RELAY =
        1, /**< only relayed (TURN) candidates are gathered, signalled, paired */
} pm_rtc_ice_policy;

/** Peer connection configuration. Initialise with pm_rtc_config_default(). */
typedef struct pm_rtc_config {
    const pm_env *env; /**< effects (allocator, clock, random, log); NULL = defaults */
    /**
     * STUN and TURN servers. Every turn:/turns: URL (at most 4) gets an
     * allocation whose relayed address becomes a relay candidate: turn: over
     * UDP (or TCP with ?transport=tcp), turns: over TLS. Its certificate is
     * verified against the system's CA store and the URL's host unless
     * turn_tls_insecure.
     */
    const pm_ice_server *ice_servers;
    size_t ice_server_count;
    pm_rtc_ice_policy ice_transport_policy; /**< default ALL */
    bool turn_tls_insecure; /**< accept any turns: certificate (self-signed test servers) */
    /**
     * Resolve remote ".local" host candidates (browsers hide their addresses
     * behind such mDNS names) with mDNS questions; default true. In sans-I/O
     * mode the questions come out as PM_RTC_TX_MDNS transmits and the answers
     * go to pm_rtc_peer_handle_mdns(); set false if you cannot route them.
     */
    bool resolve_mdns;

    /* Socket mode. */
    const char *bind_address; /**< numeric IP to bind and advertise; NULL = every interface */
    uint16_t port_min;        /**< first port to try; 0 = ephemeral */
    uint16_t port_max;        /**< last port to try (inclusive); 0 = port_min */
    bool enable_ipv6;         /**< gather IPv6 host candidates (default true) */
    bool include_loopback;    /**< advertise loopback addresses (default true) */

    /* Sans-I/O mode. */
    bool external_transport;    /**< true: no socket; see the header comment */
    const pm_addr *local_addrs; /**< host candidates to advertise in sans-I/O mode */
    size_t local_addr_count;

    /* Tuning. */
    uint32_t max_message_size;       /**< what we accept and advertise (default 262144) */
    pm_rtc_certificate *certificate; /**< NULL = the process-wide generated one */
    pm_time consent_timeout;         /**< RFC 7675 consent expiry (default 30 s) */
    pm_time disconnected_after;      /**< no consent for this long: DISCONNECTED (default 5 s) */
} pm_rtc_config;

/** Fill cfg with defaults. */
PM_API void pm_rtc_config_default(pm_rtc_config *cfg);

/**
 * Options of pm_rtc_peer_create_channel(); Godot's create_data_channel options.
 *
 * Partial reliability (max_packet_lifetime / max_retransmits) applies to
 * messages of any size. max_packet_lifetime counts from put_packet (time
 * spent queued included, as in browsers): a message still unsent when it
 * runs out is dropped unsent. Only in a library built with usrsctp (CMake
 * PM_SCTP=usrsctp, see pm_rtc_sctp_implementation) does it apply just to
 * messages of up to 1156 bytes, which fit one SCTP packet, larger ones going
 * reliably (still unordered if the channel is): the usrsctp 0.9.5 of Debian
 * 12 aborts the whole association when a partly sent message is abandoned
 * (usrsctp issue 592). See docs/webrtc.md.
 */
typedef struct pm_rtc_channel_init {
    bool negotiated;         /**< both sides create it with `id`; no DCEP */
    int id;                  /**< required iff negotiated (0..1023); else -1 */
    bool ordered;            /**< default true */
    int max_packet_lifetime; /**< ms, or -1 (unset); exclusive with max_retransmits */
    int max_retransmits;     /**< or -1 (unset) */
    const char *protocol;    /**< sub-protocol, may be NULL */
} pm_rtc_channel_init;

/** Fill init with the defaults: in-band (DCEP), id -1, ordered, reliable, no protocol. */
PM_API void pm_rtc_channel_init_default(pm_rtc_channel_init *init);

typedef enum pm_rtc_event_type {
    PM_RTC_EVENT_DESCRIPTION = 1,     /**< session_description_created(type, sdp) */
    PM_RTC_EVENT_CANDIDATE,           /**< ice_candidate_created(mid, index, candidate) */
    PM_RTC_EVENT_DATA_CHANNEL,        /**< data_channel_received(channel): in-band only. Read it,
                                           or pm_rtc_channel_release() it: an unread channel
                                           that fills up pauses the whole connection */
    PM_RTC_EVENT_STATE,               /**< connection state changed */
    PM_RTC_EVENT_GATHERING_STATE,     /**< gathering state changed */
    PM_RTC_EVENT_SIGNALING_STATE,     /**< signaling state changed */
    PM_RTC_EVENT_CHANNEL_OPEN,        /**< a channel became OPEN */
    PM_RTC_EVENT_CHANNEL_CLOSED,      /**< a channel became CLOSED */
    PM_RTC_EVENT_CHANNEL_MESSAGE,     /**< a channel has a new packet available */
    PM_RTC_EVENT_BUFFERED_AMOUNT_LOW, /**< buffered amount fell to the low threshold */
    PM_RTC_EVENT_ICE_CANDIDATE_ERROR, /**< a STUN/TURN server failed (W3C icecandidateerror):
                                           `url`, `error_code` (STUN code, or 701 when the
                                           server could not be reached), `error_text`.
                                           Gathering goes on without it. */
    PM_RTC_EVENT_SELECTED_PAIR,       /**< the candidate pair carrying data changed; see
                                           pm_rtc_peer_get_selected_pair() */
} pm_rtc_event_type;

typedef struct pm_rtc_event {
    pm_rtc_event_type type;
    pm_rtc_channel *channel; /**< channel events and DATA_CHANNEL */
    int state;               /**< the new state for *_STATE events */
    const char *sdp_type;    /**< DESCRIPTION: "offer" or "answer" */
    const char *sdp;         /**< DESCRIPTION */
    const char *mid;         /**< CANDIDATE ("0") */
    int mline_index;         /**< CANDIDATE */
    const char *candidate;   /**< CANDIDATE: "candidate:..." or "" at end of gathering */
    const char *url;         /**< ICE_CANDIDATE_ERROR */
    int error_code;          /**< ICE_CANDIDATE_ERROR */
    const char *error_text;  /**< ICE_CANDIDATE_ERROR */
} pm_rtc_event;

/** What a pm_rtc_transmit asks for. */
typedef enum pm_rtc_transmit_kind {
    PM_RTC_TX_DATAGRAM = 0, /**< send `data` to `to` from the peer's UDP socket */
    PM_RTC_TX_MDNS,         /**< send `data` (an mDNS question) to the multicast group `to`
                                 from an mDNS socket; answers go to pm_rtc_peer_handle_mdns() */
    PM_RTC_TX_STREAM_OPEN,  /**< open TCP connection `stream` to `to` (a TURN server); bytes
                                 read from it go to pm_rtc_peer_handle_stream(), its failure
                                 or end to pm_rtc_peer_stream_closed() */
    PM_RTC_TX_STREAM_DATA,  /**< write `data` on connection `stream` (queue it until connected) */
    PM_RTC_TX_STREAM_CLOSE, /**< close connection `stream` once what was written is sent */
} pm_rtc_transmit_kind;

/**
 * Output in sans-I/O mode. `data` stays valid until the next call on the
 * peer other than pm_rtc_peer_poll_transmit(), so a batch of datagrams can
 * be taken and then sent together (sendmmsg, GSO).
 */
typedef struct pm_rtc_transmit {
    pm_rtc_transmit_kind kind;
    uint32_t stream; /**< STREAM_*: the connection (small positive id) */
    pm_addr from;    /**< DATAGRAM: local address the datagram belongs to */
    pm_addr to;
    const uint8_t *data;
    size_t len;
} pm_rtc_transmit;

/** Candidate types (RTCIceCandidateType). */
typedef enum pm_rtc_candidate_type {
    PM_RTC_CANDIDATE_HOST = 0,
    PM_RTC_CANDIDATE_SRFLX,
    PM_RTC_CANDIDATE_PRFLX,
    PM_RTC_CANDIDATE_RELAY,
} pm_rtc_candidate_type;

/** "host", "srflx", "prflx", "relay". */
PM_API const char *pm_rtc_candidate_type_name(pm_rtc_candidate_type type);

/** The candidate pair carrying data (RTCIceCandidatePairStats and its candidates). */
typedef struct pm_rtc_candidate_pair {
    pm_rtc_candidate_type local_type;  /**< host, srflx or prflx: how the remote sees us */
    pm_rtc_candidate_type remote_type; /**< as signalled, or prflx when learned from a check */
    pm_addr local;              /**< the local candidate's address (the relayed one for relay) */
    pm_addr remote;             /**< where data goes */
    const char *relay_protocol; /**< relay: "udp", "tcp" or "tls" to the TURN server; else NULL */
    pm_time rtt;                /**< smoothed round trip in microseconds, or -1 */
} pm_rtc_candidate_pair;

/**
 * Create a peer connection in state NEW. Socket mode binds its UDP socket
 * here (PM_ERR_IO when no port in the range is free). Invalid ICE servers
 * give PM_ERR_PARSE / PM_ERR_INVALID. *out is NULL on failure.
 */
PM_API int pm_rtc_peer_new(const pm_rtc_config *cfg, pm_rtc_peer **out);

/** Close (if needed) and free the peer and all its channels. NULL is fine. */
PM_API void pm_rtc_peer_free(pm_rtc_peer *pc);

/**
 * Create a data channel. Allowed until the peer is closed; a channel created
 * after the connection is up opens at once (in-band: via DCEP).
 * PM_ERR_INVALID: bad options (id given iff negotiated, both reliability
 * limits set, id out of range); PM_ERR_EXISTS: negotiated id already used;
 * PM_ERR_STATE: peer closed. The handle belongs to the peer.
 */
PM_API int pm_rtc_peer_create_channel(pm_rtc_peer *pc, const char *label,
                                      const pm_rtc_channel_init *init, pm_rtc_channel **out);

/**
 * Create an offer; it is set as the local description and reported as a
 * DESCRIPTION event ("offer"). Gathering starts, and local candidates are
 * reported as CANDIDATE events after it. PM_ERR_STATE unless signaling is
 * STABLE and the peer is not already negotiated; PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_create_offer(pm_rtc_peer *pc);

/**
 * Apply the local description. Descriptions are set automatically when
 * created (as in Godot's native implementation); this accepts the same
 * type/sdp again and returns PM_OK, PM_ERR_STATE when there is no pending
 * local description of that type, PM_ERR_UNSUPPORTED for a modified SDP,
 * PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_set_local_description(pm_rtc_peer *pc, const char *type, const char *sdp);

/**
 * Apply the remote description ("offer" or "answer"). An offer produces an
 * answer (DESCRIPTION event). PM_ERR_PARSE: unusable SDP (no data-channel
 * m-line, missing ICE credentials, fingerprint or setup); PM_ERR_STATE: wrong
 * signaling state; PM_ERR_UNSUPPORTED: re-negotiation with another DTLS
 * fingerprint or swapped DTLS roles (a later offer with new ICE credentials
 * is an ICE restart, pm_rtc_peer_restart_ice; one with the same is a no-op);
 * PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_set_remote_description(pm_rtc_peer *pc, const char *type, const char *sdp);

/**
 * Add a remote ICE candidate ("candidate:..." with or without the prefix; an
 * empty string means end of candidates). Candidates that arrive before the
 * remote description are held (at most 64: PM_ERR_FULL beyond). mid/index
 * may be NULL/-1. PM_ERR_PARSE for a malformed line; TCP candidates are
 * ignored with PM_OK and a log line; mDNS ".local" names are resolved
 * (resolve_mdns; else ignored the same way). PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_add_ice_candidate(pm_rtc_peer *pc, const char *mid, int mline_index,
                                         const char *candidate);

/**
 * Socket mode: receive pending datagrams, run due timers, send. Sans-I/O
 * mode: same as pm_rtc_peer_handle_timeout(pc, env.now()). Returns PM_OK or
 * PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_poll(pm_rtc_peer *pc);

/** Next event, or false when none is queued. See the header comment. */
PM_API bool pm_rtc_peer_next_event(pm_rtc_peer *pc, pm_rtc_event *ev);

/** Connection state (PM_RTC_STATE_CLOSED for NULL). */
PM_API pm_rtc_state pm_rtc_peer_get_state(const pm_rtc_peer *pc);
/** ICE gathering state (NEW for NULL). */
PM_API pm_rtc_gathering_state pm_rtc_peer_get_gathering_state(const pm_rtc_peer *pc);
/** JSEP signaling state (CLOSED for NULL). */
PM_API pm_rtc_signaling_state pm_rtc_peer_get_signaling_state(const pm_rtc_peer *pc);

/** Largest message pm_rtc_channel_put_packet() accepts now (remote and local limit). */
PM_API size_t pm_rtc_peer_max_message_size(const pm_rtc_peer *pc);

/** Round-trip time of the selected ICE pair in microseconds, or -1 if unknown. */
PM_API pm_time pm_rtc_peer_rtt(const pm_rtc_peer *pc);

/**
 * The candidate pair data goes over now. PM_OK, PM_ERR_NOT_FOUND before ICE
 * has one (or after close), PM_ERR_INVALID for NULL arguments;
 * PM_ERR_UNSUPPORTED in the WebAssembly build.
 */
PM_API int pm_rtc_peer_get_selected_pair(const pm_rtc_peer *pc, pm_rtc_candidate_pair *out);

/**
 * ICE restart (RFC 8445 section 9, RTCPeerConnection.restartIce() followed
 * by createOffer()): new ICE credentials, gathering again (CANDIDATE events,
 * then the end-of-candidates one) and a new offer as a DESCRIPTION event,
 * to be answered like the first one. DTLS, SCTP and every data channel stay
 * as they are: the pair in use keeps carrying data until a new one works,
 * so nothing is lost or repeated. Use it when the state went DISCONNECTED
 * or FAILED (a NAT or network change); a FAILED connection whose channels
 * were up becomes CONNECTED again when the new pair works.
 * The side that receives the new offer restarts its own ICE agent when it
 * applies it (pm_rtc_peer_set_remote_description). PM_ERR_STATE unless the
 * connection was negotiated and signaling is STABLE; PM_ERR_CLOSED after
 * close; PM_ERR_UNSUPPORTED in the WebAssembly build (not bridged yet).
 */
PM_API int pm_rtc_peer_restart_ice(pm_rtc_peer *pc);

/**
 * The SCTP under the data channels, fixed when the library is built:
 * "peermesh" (its own, the default) or "usrsctp" (CMake PM_SCTP=usrsctp);
 * "browser" in the WebAssembly build. A static string; never NULL.
 */
PM_API const char *pm_rtc_sctp_implementation(void);

/**
 * Close: channels are closed, DTLS close_notify is sent, state CLOSED.
 * Idempotent. Events already queued can still be drained. A close_notify
 * from the remote closes the peer the same way.
 */
PM_API void pm_rtc_peer_close(pm_rtc_peer *pc);

/**
 * Socket mode: the one descriptor to wait on for input from any of the
 * peer's sockets; the same number for the peer's whole life. -1 in sans-I/O
 * mode (and for NULL).
 */
PM_API int pm_rtc_peer_fd(const pm_rtc_peer *pc);

/** The local UDP port in socket mode (0 in sans-I/O mode). */
PM_API uint16_t pm_rtc_peer_local_port(const pm_rtc_peer *pc);

/**
 * When the peer next needs pm_rtc_peer_handle_timeout()/poll(): absolute, on
 * the peer's env clock (common.h); PM_TIME_NEVER if idle.
 */
PM_API pm_time pm_rtc_peer_next_timeout(const pm_rtc_peer *pc);

/* ---- Sans-I/O entry points ------------------------------------------- */
/* In a web page: PM_ERR_UNSUPPORTED (poll_transmit: false); see the header comment. */

/**
 * Feed one received datagram. `local` is the address it arrived on (one of
 * config.local_addrs; NULL = the first). Garbage is counted and dropped
 * (PM_OK); PM_ERR_STATE in socket mode.
 */
PM_API int pm_rtc_peer_handle_datagram(pm_rtc_peer *pc, pm_time now, const pm_addr *local,
                                       const pm_addr *from, const uint8_t *data, size_t len);

/** Run timers due at `now`. PM_OK; PM_ERR_CLOSED after close. */
PM_API int pm_rtc_peer_handle_timeout(pm_rtc_peer *pc, pm_time now);

/**
 * Bytes read from connection `stream` (see PM_RTC_TX_STREAM_OPEN), as they
 * came off the socket (TLS is the peer's business). PM_ERR_NOT_FOUND for an
 * unknown stream, PM_ERR_STATE in socket mode, PM_ERR_CLOSED after close.
 */
PM_API int pm_rtc_peer_handle_stream(pm_rtc_peer *pc, pm_time now, uint32_t stream,
                                     const uint8_t *data, size_t len);
/**
 * Connection `stream` failed to open or was closed by the other side;
 * `reason` (may be NULL) goes into the ICE_CANDIDATE_ERROR event.
 */
PM_API int pm_rtc_peer_stream_closed(pm_rtc_peer *pc, pm_time now, uint32_t stream,
                                     const char *reason);
/** A datagram that arrived on the mDNS socket. PM_ERR_STATE in socket mode. */
PM_API int pm_rtc_peer_handle_mdns(pm_rtc_peer *pc, pm_time now, const uint8_t *data, size_t len);

/**
 * Take the next output (a datagram, or a TURN connection's open, data or
 * close: see pm_rtc_transmit_kind); false when none. `from` is the local
 * address of the destination's family. out->data is borrowed until the next
 * call on the peer other than this one (see pm_rtc_transmit).
 */
PM_API bool pm_rtc_peer_poll_transmit(pm_rtc_peer *pc, pm_rtc_transmit *out);

/* ---- Data channels ---------------------------------------------------- */

/**
 * Send one message (string in TEXT write mode, binary otherwise; empty is
 * allowed). PM_ERR_STATE unless OPEN; PM_ERR_TOO_BIG above
 * pm_rtc_peer_max_message_size(); PM_ERR_FULL when the send buffer already
 * holds 16 MiB (as browsers limit it). Nothing partial is ever sent.
 */
PM_API int pm_rtc_channel_put_packet(pm_rtc_channel *ch, const uint8_t *data, size_t len);

/**
 * Take the next received message. *data is borrowed until the next
 * get_packet on this channel or its release. PM_ERR_AGAIN when none.
 * Unread messages are bounded: once a channel holds 1 MiB unread, the peer
 * stops taking data from SCTP (whose window then closes, slowing the
 * remote) until the application reads.
 */
PM_API int pm_rtc_channel_get_packet(pm_rtc_channel *ch, const uint8_t **data, size_t *len);
/** Received messages not yet taken with get_packet. */
PM_API int pm_rtc_channel_get_available_packet_count(const pm_rtc_channel *ch);
/** Whether the last packet taken by get_packet was a string message. */
PM_API bool pm_rtc_channel_was_string_packet(const pm_rtc_channel *ch);
/**
 * How put_packet sends: TEXT (string messages) or BINARY. PM_ERR_INVALID for
 * any other value (the mode stays as it was).
 */
PM_API int pm_rtc_channel_set_write_mode(pm_rtc_channel *ch, pm_rtc_write_mode mode);
PM_API pm_rtc_write_mode pm_rtc_channel_get_write_mode(const pm_rtc_channel *ch);
/** CONNECTING, OPEN, CLOSING or CLOSED (CLOSED for NULL). */
PM_API pm_rtc_channel_state pm_rtc_channel_get_ready_state(const pm_rtc_channel *ch);
/** The label and the sub-protocol ("" if none); borrowed, live as long as the channel. */
PM_API const char *pm_rtc_channel_get_label(const pm_rtc_channel *ch);
PM_API const char *pm_rtc_channel_get_protocol(const pm_rtc_channel *ch);
/** Stream id, or 65535 while an in-band channel has none yet (as Godot). */
PM_API int pm_rtc_channel_get_id(const pm_rtc_channel *ch);
/** The options the channel was created or announced with. */
PM_API bool pm_rtc_channel_is_ordered(const pm_rtc_channel *ch);
PM_API bool pm_rtc_channel_is_negotiated(const pm_rtc_channel *ch);
/** ms, or -1 when unset (libdatachannel's convention; Godot 3.2 JS says 65535). */
PM_API int pm_rtc_channel_get_max_packet_lifetime(const pm_rtc_channel *ch);
/** Retransmissions allowed, or -1 when unset. */
PM_API int pm_rtc_channel_get_max_retransmits(const pm_rtc_channel *ch);
/**
 * Messages sent on this channel that partial reliability abandoned instead
 * of delivering (their lifetime or retransmissions ran out), as counted by
 * our SCTP stack; 0 for reliable channels and before the connection is up.
 */
PM_API uint64_t pm_rtc_channel_get_messages_abandoned(const pm_rtc_channel *ch);
/** Bytes accepted by put_packet and not yet handed to the transport. */
PM_API size_t pm_rtc_channel_get_buffered_amount(const pm_rtc_channel *ch);
/** BUFFERED_AMOUNT_LOW fires when the amount falls from above to at or below this. */
PM_API void pm_rtc_channel_set_buffered_amount_low_threshold(pm_rtc_channel *ch, size_t bytes);
/** User pointer attached to the channel (NULL until set); the channel never touches it. */
PM_API void pm_rtc_channel_set_userdata(pm_rtc_channel *ch, void *ud);
PM_API void *pm_rtc_channel_get_userdata(const pm_rtc_channel *ch);
/** The peer connection the channel belongs to. */
PM_API pm_rtc_peer *pm_rtc_channel_get_peer(const pm_rtc_channel *ch);
/** Start closing (stream reset, RFC 8831 section 6.7); queued data is sent first. */
PM_API void pm_rtc_channel_close(pm_rtc_channel *ch);
/**
 * Give the handle back: the channel is closed if needed and freed once
 * CLOSED. From this call on the handle is invalid: no later
 * pm_rtc_peer_next_event() returns an event naming it, not even one that was
 * queued before the release (its CHANNEL_OPEN, MESSAGE or CLOSED).
 */
PM_API void pm_rtc_channel_release(pm_rtc_channel *ch);

/* ---- Names ------------------------------------------------------------ */

/*
 * Static names of the enums, the W3C spellings ("connected",
 * "have-local-offer", "open", "channel-open"); "unknown" for a value outside
 * the enum. Never NULL; callable anywhere (common.h).
 */
PM_API const char *pm_rtc_state_to_string(pm_rtc_state state);
PM_API const char *pm_rtc_gathering_state_to_string(pm_rtc_gathering_state state);
PM_API const char *pm_rtc_signaling_state_to_string(pm_rtc_signaling_state state);
PM_API const char *pm_rtc_channel_state_to_string(pm_rtc_channel_state state);
PM_API const char *pm_rtc_event_type_to_string(pm_rtc_event_type type);

/* ---- Certificates ----------------------------------------------------- */

/**
 * Generate a self-signed ECDSA P-256 certificate (valid 30 days), with one
 * reference for the caller. PM_ERR_NOMEM; PM_ERR_CRYPTO when OpenSSL fails;
 * PM_ERR_UNSUPPORTED in a web page (the browser makes its own).
 */
PM_API int pm_rtc_certificate_generate(pm_rtc_certificate **out);
/** Drop a reference; the last one frees it (peers using it hold their own). */
PM_API void pm_rtc_certificate_free(pm_rtc_certificate *cert);
/** "sha-256 AB:CD:..." (borrowed, lives as long as the certificate). */
PM_API const char *pm_rtc_certificate_fingerprint(const pm_rtc_certificate *cert);

#ifdef __cplusplus
}
#endif
#endif
