/*
 * Internal state of a peer connection and its data channels.
 *
 * The peer connection is sans-I/O: datagrams, time and API calls in;
 * datagrams, events and a deadline out. Socket mode (socket_mode.c) hands
 * those same entry points to the socket driver of the environment
 * (base/driver.h), which owns the socket, the clock and the batching.
 *
 * Data path (all synchronous, single-threaded):
 *   datagram -> demux (RFC 7983) -> ICE (STUN) | DTLS -> SCTP
 *   SCTP event -> DCEP / channel receive queue -> get_packet (lent, not copied)
 *   put_packet -> channel send queue -> SCTP -> DTLS -> tx queue -> driver/user
 * Copies of a received message of ours: one, into the channel's receive
 * queue (SCTP lends its events only until its next call). Decrypted DTLS
 * records go straight to SCTP; only those that arrive before the
 * association exists wait in the inbox. Events are typed records.
 */
#ifndef PM_RTC_INTERNAL_H
#define PM_RTC_INTERNAL_H

#include "base/base.h"
#include "base/driver.h"
#include "dtls/dtls.h"
#include "dtls/tls.h"
#include "ice/ice.h"
#include "peermesh/rtc.h"
#include "sctp/sctp.h"
#include "wire/sdp.h"

#define PM_RTC_MAX_HOST_ADDRS      16
#define PM_RTC_MAX_STUN            8
#define PM_RTC_SCTP_PORT           5000
#define PM_RTC_DEFAULT_MAX_MESSAGE 262144
#define PM_RTC_SEND_QUEUE_LIMIT    (16u << 20) /* Chrome's kMaxQueuedSendDataBytes */
#define PM_RTC_MAX_STREAMS         1024
#define PM_RTC_ID_UNASSIGNED       65535
#define PM_RTC_EARLY_DTLS_MAX      8
/* Unread bytes a channel may hold before the peer stops taking data from
 * SCTP, whose window then closes: a remote cannot grow our memory past this
 * while the application does not read. */
#define PM_RTC_RECV_QUEUE_LIMIT       (1u << 20)
#define PM_RTC_PENDING_CANDIDATES_MAX 64
#define PM_RTC_MAX_TURN               PM_ICE_MAX_TURN

struct pm_rtc_channel {
    pm_rtc_peer *pc;
    uint32_t handle; /* unique per peer; events refer to channels by it */
    char *label;
    char *protocol;
    int id; /* stream id or PM_RTC_ID_UNASSIGNED */
    bool negotiated;
    bool ordered;
    int max_packet_lifetime;
    int max_retransmits;
    bool locally_created; /* we send DCEP OPEN (in-band) */
    bool open_sent;       /* DCEP OPEN sent, ACK pending */
    bool acked;           /* RFC 8832 section 6: unordered/partial only after ACK */
    bool released;        /* user gave the handle back */
    bool reset_out_done;  /* our outgoing stream reset completed */
    bool reset_out_pending;
    bool reset_in_seen; /* the peer reset its outgoing stream */
    pm_rtc_channel_state state;
    pm_rtc_write_mode write_mode;
    bool last_was_string;
    pm_fifo recv;      /* tag: 1 = string; get_packet lends the head (pm_fifo_lend) */
    bool open_pending; /* DATA_CHANNEL_OPEN to (re)send when SCTP has room */
    bool ack_pending;  /* DATA_CHANNEL_ACK to (re)send when SCTP has room */
    pm_fifo send;      /* tag: ppid */
    size_t buffered;   /* user bytes in `send` (empty messages count 0) */
    size_t low_threshold;
    bool above_threshold;
    void *userdata;
};

/* One TURN server from the configuration (its stream is turn index + 1). */
typedef struct pm_rtc_turn {
    pm_ice_turn_server ice; /* what the ICE agent gets (strings point below) */
    char url[256];
    char host[256]; /* TLS: the name the certificate must carry */
    char username[514];
    char credential[256];
    pm_tls *tls; /* turns: while its connection is open */
} pm_rtc_turn;

/* Header of a queued transmit (the fifo tag is its pm_rtc_transmit_kind). */
typedef struct pm_rtc_route {
    pm_addr to;
    uint32_t stream;
} pm_rtc_route;

/* A queued event. Channels are named by handle: one released meanwhile
 * drops its events. */
typedef struct pm_rtc_ev {
    pm_rtc_event_type type;
    uint32_t handle; /* channel, 0 = none */
    int state;
    const char *sdp_type; /* DESCRIPTION: "offer" or "answer" (static) */
    char *text;           /* DESCRIPTION: the SDP; CANDIDATE: the line; ICE_CANDIDATE_ERROR: the
                             URL (NULL = ""); owned */
    char *text2;          /* ICE_CANDIDATE_ERROR: the error text (NULL = ""); owned */
} pm_rtc_ev;

struct pm_rtc_peer {
    pm_envr env;
    pm_time now;
    pm_time timers_at; /* the `now` the timers last ran at (see pm_rtc_drive) */
    bool timers_due;   /* run them even if `now` has not moved (handle_timeout) */
    bool in_call;      /* reentrancy guard */

    /* Configuration (copied). */
    pm_addr host_addrs[PM_RTC_MAX_HOST_ADDRS];
    size_t host_addr_count;
    pm_addr stun_addrs[PM_RTC_MAX_STUN];
    size_t stun_addr_count;
    pm_rtc_turn *turn; /* PM_RTC_MAX_TURN entries from the first TURN URL (~5 KB), else NULL */
    size_t turn_count;
    bool relay_only;
    bool turn_tls_insecure;
    bool resolve_mdns;
    uint32_t local_max_message;
    pm_time consent_timeout;
    pm_time disconnected_after;
    pm_rtc_certificate *cert;

    /* Socket mode (socket_mode.c): the environment's driver owns our sockets
     * (the UDP socket, TURN connections, mDNS sockets). NULL in sans-I/O mode. */
    const pm_socket_driver *driver;
    pm_sockets *sockets;

    /* States. */
    pm_rtc_state state;
    pm_rtc_gathering_state gathering;
    pm_rtc_signaling_state signaling;
    bool closed;

    /* Negotiation. */
    bool offerer;
    bool negotiated;  /* an offer/answer exchange completed */
    bool have_remote; /* remote description applied */
    char *local_sdp;
    char *local_type; /* "offer" or "answer" */
    char mid[64];
    uint64_t session_id;
    uint64_t session_version;
    bool dtls_client; /* a=setup:active on our side */
    bool role_known;
    char remote_fp_algo[16];
    char remote_fp[192];
    uint16_t remote_sctp_port;
    bool remote_zero_checksum;   /* its SDP: its SCTP parses RFC 9653's parameter */
    uint64_t remote_max_message; /* 0 = unlimited */
    pm_fifo pending_candidates;  /* remote candidates before the remote description */
    bool pending_end_of_candidates;

    /* Transports. */
    pm_ice_agent *ice;
    pm_dtls *dtls;
    pm_sctp *sctp;
    bool dtls_started;
    bool sctp_up;
    pm_addr remote;     /* where DTLS goes (ICE selected pair) */
    uint8_t remote_via; /* ...and through which path (0: the socket, k: relay k) */
    bool have_remote_addr;
    bool ice_restarting;   /* our restart offer is out: answer pending */
    bool ice_failed_only;  /* FAILED by ICE with DTLS/SCTP intact: a restart may recover */
    int path_probes;       /* heartbeats on demand still to ask for after a new path */
    pm_time path_probe_at; /* ...and when the next one is due */
    pm_fifo early_dtls;    /* DTLS datagrams before our role is known */
    pm_fifo inbox;         /* decrypted DTLS records that arrived before SCTP existed */

    /* Output. */
    pm_fifo tx;       /* record: [pm_rtc_route][data], tag = pm_rtc_transmit_kind; taken
                         records stay readable until the next push (pm_fifo_pop) */
    pm_buf relay_buf; /* a relayed datagram being framed */
    pm_queue events;  /* pm_rtc_ev */
    char *ev_text;    /* the strings the last next_event lent out (freed at the next one) */
    char *ev_text2;

    /* Channels. */
    pm_rtc_channel **channels;
    size_t channel_count;
    size_t channel_cap;
    uint32_t next_handle;
    size_t rr_cursor; /* round-robin start for send fairness */

    /* Counters. */
    uint64_t dropped_datagrams;
};

/* peer.c */
/* The sans-I/O core of the public entry points, for both modes. */
void pm_rtc_input(pm_rtc_peer *pc, pm_time now, const pm_addr *from, const uint8_t *d, size_t n);
bool pm_rtc_take_transmit(pm_rtc_peer *pc, pm_transmit *out);
int pm_rtc_stream_input(pm_rtc_peer *pc, pm_time now, uint32_t stream, const uint8_t *d, size_t n);
void pm_rtc_stream_end(pm_rtc_peer *pc, pm_time now, uint32_t stream, const char *why);
int pm_rtc_mdns_input(pm_rtc_peer *pc, pm_time now, const uint8_t *d, size_t n);
pm_time pm_rtc_deadline(const pm_rtc_peer *pc);
void pm_rtc_emit(pm_rtc_peer *pc, pm_rtc_event_type type, pm_rtc_channel *ch, int state);
/* DESCRIPTION (sdp_type a static "offer"/"answer", text the SDP) or CANDIDATE (text). */
void pm_rtc_emit_text(pm_rtc_peer *pc, pm_rtc_event_type type, const char *sdp_type,
                      const char *text);
/* ICE_CANDIDATE_ERROR: the server's URL, the STUN error code and its text. */
void pm_rtc_emit_ice_error(pm_rtc_peer *pc, const char *url, int code, const char *text);
void pm_rtc_queue_datagram(pm_rtc_peer *pc, const pm_addr *to, const uint8_t *d, size_t n);
void pm_rtc_queue(pm_rtc_peer *pc, pm_rtc_transmit_kind kind, uint32_t stream, const pm_addr *to,
                  const uint8_t *d, size_t n);
void pm_rtc_set_state(pm_rtc_peer *pc, pm_rtc_state st);
void pm_rtc_process(pm_rtc_peer *pc);
void pm_rtc_fail(pm_rtc_peer *pc, const char *why);

/* socket_mode.c */
int pm_rtc_sockets_open(pm_rtc_peer *pc, const pm_rtc_config *cfg);
void pm_rtc_sockets_close(pm_rtc_peer *pc);

/* jsep.c */
int pm_rtc_apply_remote(pm_rtc_peer *pc, bool is_offer, const char *sdp);
int pm_rtc_build_local(pm_rtc_peer *pc, bool is_offer, const pm_sdp *offer);
void pm_rtc_flush_pending_candidates(pm_rtc_peer *pc);

/* transport.c */
int pm_rtc_transports_init(pm_rtc_peer *pc);
void pm_rtc_transports_free(pm_rtc_peer *pc);
void pm_rtc_on_datagram(pm_rtc_peer *pc, const pm_addr *from, const uint8_t *d, size_t n);
int pm_rtc_on_stream(pm_rtc_peer *pc, uint32_t stream, const uint8_t *d, size_t n);
void pm_rtc_on_stream_closed(pm_rtc_peer *pc, uint32_t stream, const char *why);
void pm_rtc_drain_ice_output(pm_rtc_peer *pc);
void pm_rtc_stream_write(pm_rtc_peer *pc, uint32_t stream, const uint8_t *d, size_t n);
int pm_rtc_resolve_turn(pm_rtc_peer *pc, const pm_ice_url *url, const pm_ice_server *s,
                        const char *text);
void pm_rtc_drive(pm_rtc_peer *pc);
pm_time pm_rtc_transports_deadline(const pm_rtc_peer *pc);
/* Send one message on stream sid with ch's reliability; ch NULL = DCEP control. */
int pm_rtc_sctp_send(pm_rtc_peer *pc, uint16_t sid, uint32_t ppid, const uint8_t *d, size_t n,
                     const pm_rtc_channel *ch);

/* channel.c */
int pm_rtc_channel_create(pm_rtc_peer *pc, const char *label, size_t label_len,
                          const char *protocol, size_t proto_len, const pm_rtc_channel_init *init,
                          bool local, pm_rtc_channel **out);
void pm_rtc_channels_on_sctp_up(pm_rtc_peer *pc);
void pm_rtc_channels_on_message(pm_rtc_peer *pc, uint16_t sid, uint32_t ppid, const uint8_t *d,
                                size_t n);
void pm_rtc_channels_on_reset(pm_rtc_peer *pc, uint16_t sid, bool incoming, bool outgoing,
                              bool failed);
void pm_rtc_channels_flush(pm_rtc_peer *pc);
void pm_rtc_channels_close_all(pm_rtc_peer *pc);
pm_rtc_channel *pm_rtc_channel_by_handle(pm_rtc_peer *pc, uint32_t handle);
void pm_rtc_channel_destroy(pm_rtc_channel *ch);
void pm_rtc_channels_reap(pm_rtc_peer *pc);
bool pm_rtc_channels_backlogged(const pm_rtc_peer *pc);
void pm_rtc_teardown(pm_rtc_peer *pc);

#endif
