/*
 * SCTP association over usrsctp in AF_CONN mode (the only module that sees
 * usrsctp). usrsctp is process-global: the first pm_sctp_new() initialises
 * it with usrsctp_init_nothreads (reference-counted, thread-safe), and its
 * 10 ms timer tick is driven from pm_sctp_handle_timeout() of any
 * association. Settings: WEBRTC-NOTES section 4.4 (1 MiB buffers, 1024
 * streams, initial cwnd 10, max burst 10, delayed SACK 20 ms, RTO min 200
 * ms / max 10 s, no ECN/ASCONF/AUTH, NODELAY, path MTU 1172, stream reset
 * enabled, CRC32c offloaded and computed by us on send).
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
} pm_sctp_config;

void pm_sctp_config_default(pm_sctp_config *cfg);

typedef struct pm_sctp_callbacks {
    void *ud;
    /** One SCTP packet to send over DTLS (copy it). May be called from any
     *  pm_sctp_* call, including pm_sctp_handle_timeout of ANOTHER
     *  association (shared usrsctp timers): only queue work in it. */
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

/** Bytes queued in usrsctp's send buffer, not yet acknowledged. */
size_t pm_sctp_buffered(const pm_sctp *s);

/**
 * Messages of our outgoing stream `sid` that partial reliability (RFC 3758)
 * abandoned, whether already sent or not; 0 when unknown or not connected.
 */
uint64_t pm_sctp_stream_abandoned(const pm_sctp *s, uint16_t sid);

/** Next deadline: the shared 10 ms tick while the association exists. */
pm_time pm_sctp_next_timeout(const pm_sctp *s, pm_time now);
/** Advance the shared usrsctp clock to `now` (idempotent for equal now). */
int pm_sctp_handle_timeout(pm_sctp *s, pm_time now);

/** Graceful shutdown (SHUTDOWN chunk). */
void pm_sctp_shutdown(pm_sctp *s);

#endif
