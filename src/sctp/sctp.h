/*
 * One SCTP association carrying WebRTC data channels (RFC 8831 and RFC
 * 8841: SCTP over DTLS, one path, no multi-homing). Two implementations sit
 * behind this interface, chosen when building (CMake option PM_SCTP):
 *
 *  - `own` (the default): peermesh's SCTP (src/sctp/assoc.h and the files
 *    it lists), sans-I/O and per association: no thread, no global, no
 *    lock; its deadline is its own earliest timer. Partial reliability
 *    applies to messages of any size; streams cost memory once used.
 *  - `usrsctp`: usrsctp 0.9.5 in AF_CONN mode (src/sctp/usrsctp/, the only
 *    code that sees usrsctp). usrsctp is process-global: the first
 *    pm_sctp_new() initialises it with usrsctp_init_nothreads
 *    (reference-counted, thread-safe), and its 10 ms timer tick is driven
 *    from pm_sctp_handle_timeout() of any association. Settings:
 *    WEBRTC-NOTES section 4.4. Partial reliability only for messages up to
 *    1156 bytes (pm_sctp_partial_reliability_limit).
 *
 * Both: path MTU 1172 (a packet is at most 1184 bytes), CRC32c computed
 * with the CPU's instruction, stream reset (RFC 6525) and PR-SCTP (RFC 3758).
 */
#ifndef PM_SCTP_H
#define PM_SCTP_H

#include "base/base.h"

typedef struct pm_sctp pm_sctp;

typedef struct pm_sctp_config {
    uint16_t local_port; /**< a=sctp-port (5000) */
    uint16_t remote_port;
    size_t max_message_size; /**< largest message either way; buffers are sized to hold it */
    size_t send_buffer;      /**< SO_SNDBUF (default 1 MiB) */
    size_t recv_buffer;      /**< SO_RCVBUF (default 1 MiB) */
    uint16_t streams;        /**< in and out streams (default 1024) */
    bool no_interleaving;    /**< own: do not offer I-DATA (RFC 8260); usrsctp never does */
    /** own: announce Zero Checksum Acceptable (RFC 9653) in our INIT too. Only
     * when the peer is known to parse it (its SDP said so): pion 3.1 drops an
     * INIT with a parameter it does not know. Without it we still announce
     * it in an INIT-ACK to an INIT that has it. usrsctp: ignored. */
    bool zero_checksum_in_init;
} pm_sctp_config;

void pm_sctp_config_default(pm_sctp_config *cfg);

typedef struct pm_sctp_callbacks {
    void *ud;
    /** One SCTP packet to send over DTLS (copy it). May be called from any
     *  pm_sctp_* call; with usrsctp also from pm_sctp_handle_timeout of
     *  ANOTHER association (shared usrsctp timers): only queue work in it. */
    void (*send)(void *ud, const uint8_t *pkt, size_t len);
} pm_sctp_callbacks;

typedef enum pm_sctp_event_type {
    PM_SCTP_EV_CONNECTED = 1, /**< association up (COMM_UP) */
    PM_SCTP_EV_MESSAGE,       /**< a complete message (reassembled to MSG_EOR) */
    PM_SCTP_EV_STREAM_RESET,  /**< a stream reset finished (see incoming/outgoing) */
    PM_SCTP_EV_SEND_READY,    /**< send buffer has room again after PM_ERR_AGAIN */
    PM_SCTP_EV_CLOSED,        /**< association lost or shut down */
} pm_sctp_event_type;

typedef struct pm_sctp_event {
    pm_sctp_event_type type;
    uint16_t sid;
    uint32_t ppid;
    const uint8_t *data; /**< MESSAGE: borrowed until the next pm_sctp_* call */
    size_t len;
    bool incoming; /**< STREAM_RESET: the peer reset its outgoing stream */
    bool outgoing; /**< STREAM_RESET: our outgoing reset of `sid` completed */
    bool failed;   /**< STREAM_RESET: the peer denied or failed our reset of `sid` */
} pm_sctp_event;

/** STREAM_RESET `sid` meaning every stream (RFC 6525: an empty stream list). */
#define PM_SCTP_ALL_STREAMS 0xFFFF

/** Per-message send options. */
typedef struct pm_sctp_sendopts {
    bool unordered;
    enum { PM_SCTP_PR_NONE = 0, PM_SCTP_PR_RTX, PM_SCTP_PR_TTL } pr_policy;
    uint32_t pr_value; /**< retransmissions or lifetime in ms */
    /** The caller's clock now (the lifetime counts from here; timers started
     * by this send too); 0: the time given to the latest call. */
    pm_time now;
} pm_sctp_sendopts;

int pm_sctp_new(const pm_envr *env, const pm_sctp_config *cfg, const pm_sctp_callbacks *cb,
                pm_sctp **out);
/** Abort the association (no SHUTDOWN handshake) and free. NULL is fine. */
void pm_sctp_free(pm_sctp *s);

/** Start the association (both sides connect: simultaneous open). */
int pm_sctp_connect(pm_sctp *s, pm_time now);

/** Feed one SCTP packet (decrypted DTLS record). Before connect() it is held. */
int pm_sctp_handle_packet(pm_sctp *s, pm_time now, const uint8_t *pkt, size_t len);

/**
 * Queue one whole message. PM_OK, PM_ERR_AGAIN when the send buffer cannot
 * take it now (nothing was queued; wait for SEND_READY), PM_ERR_TOO_BIG above
 * max_message_size, PM_ERR_STATE when not connected. Empty messages are the
 * caller's job (RFC 8831 uses PPID 56/57 with one zero byte).
 */
int pm_sctp_send(pm_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                 const pm_sctp_sendopts *opts);

/** Reset our outgoing stream `sid` (closing a channel). PM_ERR_AGAIN: retry later. */
int pm_sctp_reset_stream(pm_sctp *s, uint16_t sid);

/**
 * The packets found a new way (an ICE restart, a remote that moved): ask
 * the peer for a heartbeat now. Its answer marks the path reachable again
 * and measures it, instead of waiting for retransmission timers that
 * backed off while nothing got through. PM_ERR_STATE when not connected.
 */
int pm_sctp_path_changed(pm_sctp *s, pm_time now);

/** Next event; false when none. */
bool pm_sctp_poll_event(pm_sctp *s, pm_sctp_event *ev);

/** Bytes queued in the send buffer, not yet acknowledged. */
size_t pm_sctp_buffered(const pm_sctp *s);

/**
 * Messages of our outgoing stream `sid` that partial reliability (RFC 3758)
 * abandoned, whether already sent or not; 0 when unknown or not connected.
 */
uint64_t pm_sctp_stream_abandoned(const pm_sctp *s, uint16_t sid);

/** Next deadline (PM_TIME_NEVER: none). own: the earliest timer of this
 *  association; usrsctp: the shared 10 ms tick while it exists. */
pm_time pm_sctp_next_timeout(const pm_sctp *s, pm_time now);
/** Run the timers due at `now` (idempotent for equal now). */
int pm_sctp_handle_timeout(pm_sctp *s, pm_time now);

/** Graceful shutdown (SHUTDOWN chunk). */
void pm_sctp_shutdown(pm_sctp *s);

/**
 * Largest message to which partial reliability may be applied: SIZE_MAX
 * for our own SCTP; 1156 (one packet) with usrsctp 0.9.5, which aborts the
 * association when a partly sent message is abandoned (usrsctp issue 592).
 */
size_t pm_sctp_partial_reliability_limit(void);

/** Which implementation this build uses: "peermesh" or "usrsctp". */
const char *pm_sctp_implementation(void);

/**
 * Whether this SCTP takes packets without a CRC32c (RFC 9653) and parses the
 * parameter that says so: ours does, usrsctp 0.9.5 does not. The SDP says
 * it (a=peermesh-zero-checksum), for zero_checksum_in_init on the other side.
 */
bool pm_sctp_takes_zero_checksum(void);

#endif
