/*
 * peermesh's own SCTP association (RFC 9260 as profiled for WebRTC data
 * channels by RFC 8831 and RFC 8841: one path over DTLS, no multi-homing),
 * with PR-SCTP (RFC 3758), I-DATA (RFC 8260) and stream reset (RFC 6525).
 * Internal to src/sctp: this header is shared by the files that implement
 * one phase each:
 *
 *   api.c        the pm_sctp_* entry points, packet dispatch, events, timers
 *   handshake.c  INIT / INIT-ACK / COOKIE-ECHO / COOKIE-ACK and the cookie
 *   streams.c    lazily allocated streams and the outgoing message queues
 *   outbox.c     packet assembly: control chunks, retransmissions, new DATA
 *   sender.c     the outstanding-TSN ring, SACK processing, congestion
 *                control, RTO, fast retransmit, PR-SCTP abandonment
 *   receiver.c   received TSNs, SACK contents, FORWARD-TSN input
 *   reassembly.c fragments to messages, ordered and unordered delivery
 *   reconfig.c   stream reset (RE-CONFIG)
 *   teardown.c   SHUTDOWN, ABORT and HEARTBEAT
 *
 * Memory: nothing per stream is allocated before the stream is used; the
 * per-packet path allocates nothing (packets are built in one buffer of the
 * association; a received single-chunk message is copied once, into the
 * event queue, and handed out from there; a fragmented one is appended in
 * place to its message buffer, which the event then lends out).
 */
#ifndef PM_SCTP_ASSOC_H
#define PM_SCTP_ASSOC_H

#include "sctp/chunk.h"
#include "sctp/sctp.h"

/* Room for chunks in one packet (the 12-byte common header excluded):
 * 1280 (IPv6 minimum MTU, RFC 8200) - 40 IPv6 - 8 UDP - 48 worst-case DTLS
 * record overhead - 12. A packet is at most 1184 bytes and its AES-GCM DTLS
 * record 1221 (the same as with usrsctp: WEBRTC-NOTES 4.4). */
#define SC_MTU     1172
#define SC_PKT_MAX (PM_SCTP_HEADER_LEN + SC_MTU)

typedef enum sc_state {
    SC_NEW,           /* before pm_sctp_connect: packets are held */
    SC_COOKIE_WAIT,   /* INIT sent */
    SC_COOKIE_ECHOED, /* COOKIE-ECHO sent */
    SC_ESTABLISHED,
    SC_SHUTDOWN_PENDING,  /* pm_sctp_shutdown: waiting for our data to be acked */
    SC_SHUTDOWN_SENT,     /* SHUTDOWN sent */
    SC_SHUTDOWN_RECEIVED, /* the peer's SHUTDOWN: finishing our data */
    SC_SHUTDOWN_ACK_SENT,
    SC_CLOSED,
} sc_state;

/* ---- sending ---- */

/* One message given to pm_sctp_send, with its bytes after the struct. */
typedef struct sc_omsg {
    struct sc_omsg *next; /* in its stream's queue */
    uint32_t len;
    uint32_t chunked; /* bytes put into chunks so far */
    uint32_t ppid;
    uint32_t mid;      /* SSN (DATA) or MID (I-DATA), set with the first chunk */
    uint32_t next_fsn; /* I-DATA fragment sequence */
    uint32_t refs;     /* ring entries naming it, + 1 while queued */
    uint32_t max_rtx;  /* PR-SCTP retransmission limit; UINT32_MAX: none */
    pm_time expires;   /* PR-SCTP lifetime; PM_TIME_NEVER: none */
    uint32_t first_tsn, last_tsn;
    uint16_t sid;
    bool unordered;
    bool abandoned;
    bool small; /* from the small-message free list (streams.c) */
    uint8_t data[];
} sc_omsg;

/* States of a sent chunk. */
enum { OC_FLIGHT = 0, OC_ACKED, OC_LOST, OC_ABANDONED };

/* One TSN in the outstanding ring. */
typedef struct sc_ochunk {
    sc_omsg *msg;
    uint32_t tsn;
    uint32_t off;
    uint32_t fsn;  /* I-DATA */
    uint16_t len;  /* payload; 0: the unsent end of an abandoned message */
    uint8_t flags; /* PM_DATA_* */
    uint8_t state; /* OC_* */
    uint8_t nrtx;  /* retransmissions so far */
    pm_time sent;  /* last transmission */
} sc_ochunk;

/* One stream, both directions; allocated when first used. */
typedef struct sc_rmsg sc_rmsg;
typedef struct sc_stream {
    uint16_t sid;
    /* outgoing */
    sc_omsg *qhead, *qtail;
    struct sc_stream *rr_next; /* in the round-robin of streams with data */
    bool in_rr;
    bool reset_queued; /* pm_sctp_reset_stream called, request not sent yet */
    bool reset_sent;   /* in the outstanding RE-CONFIG request */
    uint32_t next_ssn; /* ordered SSN / MID */
    uint32_t next_umid;
    uint64_t abandoned;
    /* incoming */
    uint32_t expect;  /* next ordered SSN / MID to deliver */
    sc_rmsg *pending; /* complete ordered messages waiting, by SSN */
} sc_stream;

/* ---- receiving ---- */

/* A message being reassembled, or complete and waiting for its turn. */
struct sc_rmsg {
    struct sc_rmsg *next;
    uint8_t *data;
    size_t len, cap;
    uint64_t key;      /* I-DATA: sid / U / MID; DATA: 0 */
    uint32_t next_seq; /* the TSN (DATA) or FSN (I-DATA) that continues it */
    uint32_t first_tsn;
    uint32_t ppid;
    uint32_t mid;
    uint16_t sid;
    bool unordered;
    bool discard; /* larger than max_message_size: read to its end, dropped */
};

/* A fragment that arrived before the one it follows. */
typedef struct sc_frag {
    uint64_t key;
    uint32_t seq;
    uint32_t tsn;
    uint32_t ppid;
    uint32_t mid;
    uint32_t len;
    uint16_t sid;
    uint8_t flags;
    uint8_t *data;
} sc_frag;

/* Received TSNs above the cumulative one. */
typedef struct sc_range {
    uint32_t start, end;
} sc_range;

#define SC_MAX_DUPS 16
#define SC_MAX_FWD  64 /* stream entries in one FORWARD-TSN */

/* ---- stream reset ---- */

typedef struct sc_reset_req {
    bool active;
    uint32_t seq;
    uint32_t last_tsn;
    uint16_t *sids;
    size_t nsids; /* 0: every stream */
} sc_reset_req;

struct pm_sctp {
    const pm_envr *env;
    pm_sctp_config cfg;
    pm_sctp_callbacks cb;
    sc_state state;
    int in_callback;
    pm_time now; /* the latest time the caller gave us */

    /* handshake */
    uint32_t my_vtag, peer_vtag;
    uint32_t my_itsn, peer_itsn;
    uint8_t secret[20]; /* cookie MAC key */
    uint8_t *cookie;    /* the peer's, echoed until COOKIE-ACK */
    size_t cookie_len;
    unsigned init_tries;
    pm_time t1; /* INIT / COOKIE-ECHO retransmission */
    pm_time t1_rto;
    pm_fifo early; /* packets before connect */

    /* negotiated */
    bool prsctp, idata, reconfig;
    bool zero_checksum; /* the peer takes packets without a CRC32c (RFC 9653) */
    uint16_t out_streams, in_streams;

    /* streams */
    sc_stream **streams; /* open-addressing table by sid */
    uint32_t streams_cap, streams_count;
    sc_stream *rr_head, *rr_tail;
    sc_omsg *cur;   /* DATA: the message being fragmented (no interleaving) */
    size_t queued;  /* bytes not yet put into chunks */
    sc_omsg *small; /* free small-message blocks (streams.c) */
    unsigned nsmall;
    pm_time last_send; /* the latest pm_sctp_send */
    size_t buffered;   /* queued + sent and not yet acked */
    bool want_send_ready;
    size_t blocked_len;

    /* the outstanding ring: TSNs [cum_ack + 1, next_tsn) */
    sc_ochunk *ring;
    uint32_t ring_cap, ring_head, ring_count;
    uint32_t cum_ack; /* the peer's cumulative TSN ack */
    uint32_t next_tsn;
    uint32_t nlost;     /* entries in OC_LOST */
    uint32_t lost_from; /* no TSN below it is OC_LOST */
    size_t flight;      /* bytes in OC_FLIGHT */
    uint32_t peer_rwnd;
    uint32_t cwnd, ssthresh, pba;
    /* Undoing a spurious timeout (sender.c): the window before the first
     * timeout of a run, and the chunks then outstanding (sent before t3_at,
     * TSNs up to undo_tsn). */
    bool undo_ok;
    uint32_t undo_cwnd, undo_ssthresh, undo_tsn;
    pm_time t3_at;
    bool fast_recovery;
    uint32_t fr_exit;
    bool fast_rtx_now; /* one packet of fast retransmission ignores cwnd */
    /* RACK (sender.c) */
    uint32_t highest_acked; /* highest TSN the peer has */
    pm_time rack_xmit;      /* latest send time of a delivered chunk */
    pm_time rack_rtt;       /* its round trip */
    pm_time min_rtt;
    unsigned reo_mult; /* reordering window in quarters of min_rtt */
    unsigned reo_calm; /* round trips without a needless retransmission */
    pm_time rack_t;    /* RACK reordering timer */
    pm_time srtt, rttvar, rto;
    bool have_rtt;
    pm_time t3;
    unsigned errors; /* consecutive timeouts (association error counter) */
    bool fwd_due;
    pm_fwd_entry fwd[SC_MAX_FWD];
    /* what happened, for tests and logs */
    struct {
        uint64_t t3, lost, retransmitted, window_cuts, needless, spurious_t3;
    } stats;
    /* loss-tolerance bookkeeping for one round trip (sender.c) */
    uint32_t round_end;
    uint32_t round_acked, round_lost; /* chunks acked / found lost in it */

    /* receiving */
    uint32_t peer_cum; /* cumulative TSN received */
    uint32_t highest_rx;
    sc_range *ranges;
    size_t nranges, ranges_cap;
    uint32_t dups[SC_MAX_DUPS];
    size_t ndups;
    unsigned data_pkts; /* packets with DATA since the last SACK */
    bool sack_now;
    pm_time sack_at;
    bool data_in_packet;
    pm_time probe_at;  /* the stall probe (receiver.c); PM_TIME_NEVER: off */
    pm_time probe_gap; /* before the next probe; doubles up to SC_PROBE_MAX */
    size_t rx_held;    /* bytes held for the application (window accounting) */
    uint32_t last_arwnd;
    sc_rmsg *open;  /* messages being reassembled */
    sc_frag *frags; /* sorted by (key, seq) */
    size_t nfrags, frags_cap;
    uint8_t *spare[2]; /* message buffers kept for the next fragmented messages */
    size_t spare_cap[2];
    size_t rbuf_hint; /* size of the last fragmented message */

    /* events: tag = type; record = header (+ payload) */
    pm_fifo events;
    bool ev_borrowed;

    /* stream reset */
    uint32_t reconf_seq;      /* our next request sequence number */
    uint32_t peer_reconf_seq; /* the peer's next expected */
    uint32_t last_peer_result;
    sc_reset_req out_req; /* our outstanding request */
    sc_reset_req in_req;  /* the peer's deferred request */
    pm_time reconf_t;
    bool reconf_send;           /* (re)send our outstanding request */
    uint32_t reconf_resp[4][2]; /* responses to send: seq, result */
    size_t nreconf_resp;
    size_t reset_queued;

    /* teardown and liveness */
    pm_time t2;    /* SHUTDOWN / SHUTDOWN-ACK retransmission */
    pm_time hb_at; /* next HEARTBEAT */
    pm_time hb_sent;
    bool hb_outstanding;
    uint64_t hb_nonce;
    uint8_t hb_ack[256]; /* a HEARTBEAT-ACK to send: the peer's info */
    size_t hb_ack_len;
    /* chunks to send with the next packet */
    bool send_init, send_cookie_echo, send_cookie_ack;
    bool send_shutdown, send_shutdown_ack;
    bool send_heartbeat, send_heartbeat_ack;

    /* the packet being built */
    uint8_t pkt[SC_PKT_MAX];
    size_t pkt_len;
};

/* ---- api.c ---- */
void sc_set_closed(pm_sctp *s, const char *why);
void sc_push_event(pm_sctp *s, pm_sctp_event_type type, uint16_t sid, uint8_t flags);
/* A MESSAGE event; `m` (owned from now on) or a copy of `data`. */
void sc_push_message(pm_sctp *s, uint16_t sid, uint32_t ppid, sc_rmsg *m, const uint8_t *data,
                     size_t len);
#define SC_EV_IN     0x01
#define SC_EV_OUT    0x02
#define SC_EV_FAILED 0x04
pm_time sc_rto_initial(void);
/* The association's books balance (bytes in flight, lost, buffered, held). */
bool sc_consistent(const pm_sctp *s);

/* ---- handshake.c ---- */
int sc_send_init(pm_sctp *s, pm_time now);
void sc_on_init(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_on_init_ack(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_on_cookie_echo(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_on_cookie_ack(pm_sctp *s, pm_time now);
void sc_t1_expired(pm_sctp *s, pm_time now);
/* The INIT chunk; COOKIE-ECHO and COOKIE-ACK when due. */
size_t sc_write_init(pm_sctp *s, uint8_t *out, size_t cap);
size_t sc_write_handshake(pm_sctp *s, uint8_t *out, size_t cap);

/* ---- streams.c ---- */
sc_stream *sc_stream_get(pm_sctp *s, uint16_t sid, bool create);
void sc_streams_free(pm_sctp *s);
void sc_rr_add(pm_sctp *s, sc_stream *st);
int sc_enqueue(pm_sctp *s, pm_time now, uint16_t sid, uint32_t ppid, const uint8_t *data,
               size_t len, const pm_sctp_sendopts *o);
/* The next fragment to send, with at most `room` payload bytes: its ring
 * entry (already counted as sent), or NULL when nothing fits or waits. */
sc_ochunk *sc_next_fragment(pm_sctp *s, pm_time now, size_t room);
void sc_omsg_unref(pm_sctp *s, sc_omsg *m);
/* Take an abandoned message out of its stream's queue (or of `cur`). */
void sc_unqueue(pm_sctp *s, sc_omsg *m);
void sc_each_stream(pm_sctp *s, void (*fn)(pm_sctp *, sc_stream *, void *), void *ud);
/* Give the small-message free list back after a while without sends. */
void sc_small_trim(pm_sctp *s, pm_time now);
void sc_small_free(pm_sctp *s);

/* ---- outbox.c ---- */
void sc_flush(pm_sctp *s, pm_time now);
/* Send one packet holding only this chunk (ABORT, SHUTDOWN-COMPLETE). */
void sc_send_lone_chunk(pm_sctp *s, const uint8_t *chunk, size_t len, uint32_t vtag);

/* ---- sender.c ---- */
int sc_ring_reserve(pm_sctp *s);
sc_ochunk *sc_ring_at(pm_sctp *s, uint32_t tsn); /* NULL outside the ring */
void sc_sender_init(pm_sctp *s, uint32_t a_rwnd);
void sc_on_sack(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_t3_expired(pm_sctp *s, pm_time now);
void sc_rack_expired(pm_sctp *s, pm_time now);
void sc_chunk_sent(pm_sctp *s, pm_time now, sc_ochunk *oc, bool retransmission);
void sc_abandon(pm_sctp *s, sc_omsg *m);
bool sc_outstanding(const pm_sctp *s);
/* Fill s->fwd; the new cumulative TSN, or cum_ack when nothing to skip. */
uint32_t sc_forward_point(pm_sctp *s, size_t *nentries);
void sc_rtt_sample(pm_sctp *s, pm_time rtt);
void sc_ring_free(pm_sctp *s);
void sc_check_send_ready(pm_sctp *s);

/* ---- receiver.c ---- */
void sc_on_data(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_on_forward_tsn(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_after_packet(pm_sctp *s, pm_time now);
uint32_t sc_arwnd(const pm_sctp *s);
size_t sc_write_sack(pm_sctp *s, uint8_t *out, size_t cap);
void sc_receiver_free(pm_sctp *s);
void sc_window_update(pm_sctp *s);
/* A packet from the peer was taken (its tag was right): the stall probe
 * waits for the peer's next silence. */
void sc_probe_arm(pm_sctp *s, pm_time now);
void sc_probe_expired(pm_sctp *s, pm_time now);

/* ---- reassembly.c ---- */
void sc_reasm_add(pm_sctp *s, const pm_chunk_data *d);
void sc_reasm_forward(pm_sctp *s, const pm_chunk_fwd *f);
/* Incoming stream `sid` reset: deliver its waiting ordered messages in
 * order, forget its partial messages (ordered and unordered), expect MID 0. */
void sc_reasm_stream_reset(pm_sctp *s, uint16_t sid);
/* Every stream reset: forget every partial message and kept fragment. */
void sc_reasm_drop_all_partial(pm_sctp *s);
void sc_rmsg_free(pm_sctp *s, sc_rmsg *m);
void sc_reasm_free(pm_sctp *s);
/* Give back buffers kept for reuse when nothing is being reassembled. */
void sc_reasm_trim(pm_sctp *s);

/* ---- reconfig.c ---- */
int sc_reset_stream(pm_sctp *s, uint16_t sid);
void sc_on_reconfig(pm_sctp *s, pm_time now, const pm_chunk *c);
/* Write pending RE-CONFIG chunks (responses, then a request). */
size_t sc_write_reconfig(pm_sctp *s, pm_time now, uint8_t *out, size_t cap);
void sc_reconf_expired(pm_sctp *s, pm_time now);
void sc_reconf_progress(pm_sctp *s); /* the cumulative TSN moved */
void sc_reconfig_free(pm_sctp *s);

/* ---- teardown.c ---- */
void sc_abort(pm_sctp *s, uint16_t cause, const char *why);
void sc_on_abort(pm_sctp *s, const pm_chunk *c);
void sc_on_shutdown(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_on_shutdown_ack(pm_sctp *s, pm_time now);
void sc_on_shutdown_complete(pm_sctp *s);
void sc_shutdown_progress(pm_sctp *s, pm_time now);
void sc_t2_expired(pm_sctp *s, pm_time now);
void sc_on_heartbeat(pm_sctp *s, const pm_chunk *c);
void sc_on_heartbeat_ack(pm_sctp *s, pm_time now, const pm_chunk *c);
void sc_heartbeat_due(pm_sctp *s, pm_time now);
void sc_heartbeat_now(pm_sctp *s, pm_time now);
void sc_on_error(pm_sctp *s, const pm_chunk *c);
size_t sc_write_heartbeats(pm_sctp *s, uint8_t *out, size_t cap);
size_t sc_write_shutdown(pm_sctp *s, uint8_t *out, size_t cap);

/* Settings (WEBRTC-NOTES 4.4, dcSCTP and libdatachannel). */
#define SC_RTO_INITIAL    PM_MS(500)
#define SC_RTO_MIN        PM_MS(200)
#define SC_RTTVAR_MIN     PM_MS(200) /* smallest variance term of the RTO */
#define SC_RTO_MAX        PM_SEC(3)
#define SC_MAX_INIT_TRIES 8
/* Association error threshold: timeouts (or unanswered heartbeats) in a
 * row. With RTOs capped at 3 s, 25 span ~70 s: ICE consent (30 s) decides
 * that a path is dead, and an ICE restart after FAILED finds the
 * association still there (dcSCTP: 10 with RTOs up to 60 s). */
#define SC_MAX_RETRANS 25
#define SC_SACK_DELAY  PM_MS(20)
#define SC_SACK_EVERY  4 /* packets with DATA per SACK when in order */
#define SC_HB_INTERVAL PM_SEC(30)
/* The stall probe (receiver.c): our SACK again after this long without a
 * packet from a peer that owes us data, then at doubling gaps up to
 * SC_PROBE_MAX, until the peer sends. */
#define SC_PROBE_FIRST  PM_SEC(1)
#define SC_PROBE_MAX    PM_SEC(8)
#define SC_COOKIE_LIFE  PM_SEC(60)
#define SC_INITIAL_CWND (10 * SC_MTU)
#define SC_MIN_CWND     (4 * SC_MTU)

#endif
