/*
 * One SCTP association over usrsctp in AF_CONN mode (WEBRTC-NOTES 4.2-4.6).
 *
 * The socket is one-to-one (SOCK_STREAM), non-blocking, with the upcall API.
 * usrsctp calls us back in two places, and both only queue or flag work:
 *  - conn_output (usrsctp_glue.c): a packet, handed to cb->send when this
 *    association is the one being called on this thread, otherwise put on
 *    `deferred` and handed over on the association's next call;
 *  - the upcall: sets `wake`; the owner then drains usrsctp_recvv.
 * After every call that can produce input (conninput, timers, connect) we
 * drain usrsctp_recvv until EWOULDBLOCK, reassemble each message until
 * MSG_EOR and queue events in a FIFO that pm_sctp_poll_event() empties.
 */
#include "sctp/sctp.h"

#include "sctp/chunk.h"
#include "sctp/config.h"
#include "sctp/usrsctp/usrsctp_glue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <usrsctp.h>

/* WEBRTC-NOTES 4.4: room for chunks in one packet (the 12-byte common header
 * excluded): 1280 (IPv6 minimum MTU, RFC 8200 section 5) - 40 IPv6 - 8 UDP -
 * 48 worst-case DTLS record overhead - 12. An SCTP packet is then at most
 * 1184 bytes and an AES-GCM DTLS record of it 1221. PMTUD is off because
 * usrsctp 0.9.5 has no PLPMTUD (usrsctp#205). */
#define PATH_MTU 1172
/* RFC 9260 section 3: the common header. */
#define COMMON_HEADER 12
/* RFC 9260 section 3.2 and RFC 3758 section 3.2: chunk types. */
#define CHUNK_DATA        0
#define CHUNK_FORWARD_TSN 192
/* Largest SCTP packet we take in (an IPv4 datagram cannot carry more). */
#define MAX_PACKET 65535

/* Packets that arrive before pm_sctp_connect() (WEBRTC-NOTES 4.2). */
#define EARLY_MAX_PACKETS 64
#define EARLY_MAX_BYTES   (128 * 1024)
/* Output produced for us while another association drove usrsctp. */
#define DEFERRED_MAX_BYTES (512 * 1024)
/* Smallest read; the reassembly buffer grows geometrically from here. */
#define READ_MIN 4096
/* Keep the reassembly buffer between messages up to this size. */
#define RBUF_KEEP (256 * 1024)
/* A notification larger than this is malformed (a 65535-stream reset list fits). */
#define NOTE_MAX (160 * 1024)
/* Free an empty event FIFO above this capacity. */
#define EVENTS_KEEP (64 * 1024)
/* SCTP_GET_SNDBUF_USE is implemented by usrsctp but not in its public header
 * (netinet/sctp.h); only ss_total_sndbuf is read, whose offset is the same
 * in every version of struct sctp_sockstat. */
#define PM_SCTP_GET_SNDBUF_USE 0x00001101

/* RFC 9260 section 3.3.4: a SACK chunk is 16 bytes and its gap blocks. */
#define SACK_HDR        16
#define PROBE_MAX_GAPS  64
#define PROBE_MAX_BYTES (COMMON_HEADER + SACK_HDR + 4 * PROBE_MAX_GAPS)
/* The stall probe (maybe_probe): first after this long without a packet
 * from the peer, then backing off to the maximum. */
#define PROBE_FIRST PM_SEC(1)
#define PROBE_MAX   PM_SEC(8)

/* Event record header in the FIFO: sid(2) flags(1) pad(1) ppid(4). */
#define EV_HDR    8
#define EV_IN     0x01
#define EV_OUT    0x02
#define EV_FAILED 4 /* the peer denied or could not do our reset */

typedef struct sockstat_compat {
    sctp_assoc_t ss_assoc_id;
    uint32_t ss_total_sndbuf;
    uint32_t spare[2];
} sockstat_compat;

typedef enum assoc_state { ST_NEW, ST_CONNECTING, ST_CONNECTED, ST_CLOSED } assoc_state;

struct pm_sctp {
    const pm_envr *env;
    pm_sctp_config cfg;
    pm_sctp_callbacks cb;
    struct socket *sock;
    uintptr_t id; /* the AF_CONN address (usrsctp_glue.c registry key) */
    assoc_state state;
    uint16_t out_streams; /* negotiated at COMM_UP */
    uint16_t in_streams;
    int in_callback; /* inside cb->send: calls back in are refused */

    pm_fifo events;
    bool ev_borrowed;  /* the head record was handed out by poll_event */
    bool read_blocked; /* stopped reading: the event FIFO is full enough */

    pm_fifo early;    /* before connect */
    pm_fifo deferred; /* guarded by the glue mutex */
    int has_deferred; /* atomic */
    int wake;         /* atomic: set by the upcall */

    pm_buf rmsg; /* message being reassembled */
    bool rstarted;
    bool rdiscard; /* the message grew past max_message_size */
    uint16_t rsid;
    uint32_t rppid;
    pm_buf rnote; /* notification being reassembled */
    pm_buf split; /* scratch for fwd_tsn_last() */

    /* The stall probe: our last SACK (common header + chunk, no duplicate
     * TSN reports) and when to repeat it. */
    uint8_t probe[PROBE_MAX_BYTES];
    size_t probe_len; /* 0: no SACK to repeat */
    pm_time probe_at; /* PM_TIME_NEVER: disarmed until the next packet in */
    pm_time probe_gap;

    bool want_send_ready; /* a send got PM_ERR_AGAIN */
    size_t blocked_len;
    uint64_t dropped_out; /* deferred packets dropped (queue full; glue mutex) */
    uint64_t dropped_out_logged;
};

size_t pm_sctp_partial_reliability_limit(void)
{
    /* One DATA chunk in one packet: path MTU 1172 - 16 bytes of DATA header.
     * A message that fits one packet is never partly sent, so abandoning it
     * cannot trip usrsctp 0.9.5's abort (issue 592, fixed after 0.9.5). */
    return PATH_MTU - 16;
}

const char *pm_sctp_implementation(void)
{
    return "usrsctp";
}

bool pm_sctp_takes_zero_checksum(void)
{
    return false; /* 0.9.5 checks every CRC32c */
}

/* WEBRTC-NOTES 4.4: 1 MiB windows. */
size_t pm_sctp_default_buffer(void)
{
    return 1024 * 1024;
}

/* ---- callbacks from the glue (usrsctp context: queue or flag only) ---- */

/* Keep the SACK of an outgoing packet for the stall probe. */
static void remember_sack(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    pm_chunk_iter it;
    pm_chunk_iter_init(&it, pkt, len);
    pm_chunk c;
    while (pm_chunk_next(&it, &c) == 1) {
        if (c.type != PM_CHUNK_SACK)
            continue;
        s->probe_len = 0;
        pm_chunk_sack sack;
        if (pm_chunk_parse_sack(&c, &sack) != PM_OK || sack.ngaps > PROBE_MAX_GAPS)
            return; /* nothing we could repeat faithfully */
        pm_sack_gap gaps[PROBE_MAX_GAPS];
        for (size_t i = 0; i < sack.ngaps; i++)
            pm_chunk_sack_gap(&sack, i, &gaps[i].start, &gaps[i].end);
        /* Without its duplicate TSN reports: they were news once. */
        size_t ngaps = sack.ngaps, ndups = 0;
        size_t n = pm_chunk_write_sack(s->probe + COMMON_HEADER, sizeof s->probe - COMMON_HEADER,
                                       sack.cum_tsn, sack.a_rwnd, gaps, &ngaps, NULL, &ndups);
        if (n && ngaps == sack.ngaps) {
            memcpy(s->probe, pkt, COMMON_HEADER);
            s->probe_len = COMMON_HEADER + n;
        }
        return;
    }
}

static void hand_over(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    s->in_callback++;
    s->cb.send(s->cb.ud, pkt, len);
    s->in_callback--;
}

static void emit(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    remember_sack(s, pkt, len);
    hand_over(s, pkt, len);
}

void pm_sctp_glue_emit(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    emit(s, pkt, len);
}

/* The deferred queue is filled on whatever thread is ticking usrsctp, so it
 * cannot use the association's allocator (that belongs to its owner's
 * thread, and may be an arena): it uses the system allocator. */
static pm_envr deferred_env;
static pthread_once_t deferred_env_once = PTHREAD_ONCE_INIT;

static void init_deferred_env(void)
{
    pm_env_resolve(&deferred_env, NULL);
}

static const pm_envr *sys_env(void)
{
    pthread_once(&deferred_env_once, init_deferred_env);
    return &deferred_env;
}

void pm_sctp_glue_defer_locked(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    if (pm_fifo_push(sys_env(), &s->deferred, 0, pkt, len, NULL, 0) != PM_OK) {
        s->dropped_out++; /* SCTP retransmits what is lost */
        return;
    }
    __atomic_store_n(&s->has_deferred, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->wake, 1, __ATOMIC_SEQ_CST);
}

void pm_sctp_glue_wake_locked(pm_sctp *s)
{
    __atomic_store_n(&s->wake, 1, __ATOMIC_SEQ_CST);
}

/* ---- events ---- */

static void push_event(pm_sctp *s, pm_sctp_event_type type, uint16_t sid, uint32_t ppid,
                       uint8_t flags, const uint8_t *data, size_t len)
{
    uint8_t h[EV_HDR];
    pm_wr16(h, sid);
    h[2] = flags;
    h[3] = 0;
    pm_wr32(h + 4, ppid);
    if (pm_fifo_push(s->env, &s->events, (uint32_t)type, h, EV_HDR, data, len) != PM_OK)
        PM_ERROR(s->env, "sctp", "out of memory: event %d (sid %u, %zu bytes) lost", (int)type,
                 (unsigned)sid, len);
}

static void set_closed(pm_sctp *s, const char *why)
{
    if (s->state == ST_CLOSED)
        return;
    PM_INFO(s->env, "sctp", "association closed: %s", why);
    s->state = ST_CLOSED;
    s->want_send_ready = false;
    push_event(s, PM_SCTP_EV_CLOSED, 0, 0, 0, NULL, 0);
}

/* ---- entering and leaving a call ---- */

typedef struct call_ctx {
    pm_sctp *prev;
} call_ctx;

static void flush_deferred(pm_sctp *s)
{
    if (!__atomic_load_n(&s->has_deferred, __ATOMIC_SEQ_CST))
        return;
    pm_usrsctp_lock();
    pm_fifo q = s->deferred;
    pm_fifo_init(&s->deferred, DEFERRED_MAX_BYTES);
    __atomic_store_n(&s->has_deferred, 0, __ATOMIC_SEQ_CST);
    uint64_t dropped = s->dropped_out;
    pm_usrsctp_unlock();
    if (dropped != s->dropped_out_logged) {
        PM_DEBUG(s->env, "sctp", "%llu deferred packet(s) dropped (queue full)",
                 (unsigned long long)(dropped - s->dropped_out_logged));
        s->dropped_out_logged = dropped;
    }
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&q, NULL, &d, &n)) {
        emit(s, d, n);
        pm_fifo_pop(&q);
    }
    /* Give the (now empty) ring back so the next deferral reuses it. */
    pm_usrsctp_lock();
    if (s->deferred.cap == 0) {
        s->deferred = q;
        q.data = NULL;
    }
    pm_usrsctp_unlock();
    pm_free(sys_env(), q.data);
}

/* Every API call that may enter usrsctp starts here: the event handed out
 * by the previous poll is released, the thread's current association is
 * set (so conn_output knows it may call cb->send) and deferred output goes
 * out first, in order. */
static void enter(pm_sctp *s, call_ctx *c)
{
    if (s->ev_borrowed) {
        pm_fifo_pop(&s->events);
        s->ev_borrowed = false;
    }
    c->prev = pm_usrsctp_enter(s);
    flush_deferred(s);
}

static void leave(call_ctx *c)
{
    pm_usrsctp_enter(c->prev);
}

/* ---- receive path ---- */

/* Why an association ended, for the log: usrsctp appends the peer's ABORT
 * chunk (RFC 9260 section 3.3.7) to COMM_LOST when one was received. */
static void close_reason(const struct sctp_assoc_change *ac, const uint8_t *info, size_t n,
                         const char *what, char *out, size_t cap)
{
    if (n >= 4 && info[0] == 6 /* ABORT */) {
        size_t clen = PM_MIN((size_t)pm_rd16(info + 2), n);
        /* first error cause: code(2) length(2) information */
        if (clen >= 8) {
            uint16_t code = pm_rd16(info + 4);
            size_t elen = PM_MIN((size_t)pm_rd16(info + 6), clen - 4);
            int tlen = elen > 4 ? (int)(elen - 4) : 0;
            for (int i = 0; i < tlen; i++)
                if (info[8 + i] < 32 || info[8 + i] > 126)
                    tlen = i;
            snprintf(out, cap, "%s: the peer aborted (cause %u%s%.*s)", what, (unsigned)code,
                     tlen ? ": " : "", tlen, (const char *)info + 8);
            return;
        }
        snprintf(out, cap, "%s: the peer aborted", what);
        return;
    }
    snprintf(out, cap, "%s (error %u)", what, (unsigned)ac->sac_error);
}

static void on_assoc_change(pm_sctp *s, const struct sctp_assoc_change *ac, const uint8_t *info,
                            size_t info_len)
{
    char why[160];
    switch (ac->sac_state) {
    case SCTP_COMM_UP:
        if (s->state == ST_CONNECTING) {
            s->state = ST_CONNECTED;
            s->out_streams = ac->sac_outbound_streams;
            s->in_streams = ac->sac_inbound_streams;
            PM_DEBUG(s->env, "sctp", "association up: %u out / %u in streams",
                     (unsigned)s->out_streams, (unsigned)s->in_streams);
            push_event(s, PM_SCTP_EV_CONNECTED, 0, 0, 0, NULL, 0);
        }
        break;
    case SCTP_RESTART:
        PM_WARN(s->env, "sctp", "peer restarted the association");
        break;
    case SCTP_COMM_LOST:
        close_reason(ac, info, info_len, "communication lost", why, sizeof why);
        set_closed(s, why);
        break;
    case SCTP_SHUTDOWN_COMP:
        set_closed(s, "shutdown complete");
        break;
    case SCTP_CANT_STR_ASSOC:
        close_reason(ac, info, info_len, "cannot start the association", why, sizeof why);
        set_closed(s, why);
        break;
    default:
        break;
    }
}

static void on_stream_reset(pm_sctp *s, const uint8_t *p, size_t n)
{
    struct sctp_stream_reset_event ev;
    memcpy(&ev, p, sizeof ev);
    size_t len = PM_MIN((size_t)ev.strreset_length, n);
    size_t count = len > sizeof ev ? (len - sizeof ev) / sizeof(uint16_t) : 0;
    uint8_t fl = 0;
    if (ev.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
        PM_WARN(s->env, "sctp", "stream reset of %zu stream(s) %s by the peer", count,
                (ev.strreset_flags & SCTP_STREAM_RESET_DENIED) ? "denied" : "failed");
        fl |= EV_FAILED | EV_OUT; /* so the caller stops waiting for it */
    }
    if (ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
        fl |= EV_IN;
    if (ev.strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
        fl |= EV_OUT;
    if (!fl)
        return;
    if (count == 0) /* RFC 6525 section 4.1: an empty list means every stream */
        push_event(s, PM_SCTP_EV_STREAM_RESET, PM_SCTP_ALL_STREAMS, 0, fl, NULL, 0);
    for (size_t i = 0; i < count; i++) {
        uint16_t sid;
        memcpy(&sid, p + sizeof ev + i * sizeof sid, sizeof sid);
        push_event(s, PM_SCTP_EV_STREAM_RESET, sid, 0, fl, NULL, 0);
    }
}

static void check_send_ready(pm_sctp *s);

static void on_notification(pm_sctp *s, const uint8_t *p, size_t n)
{
    struct sctp_tlv h;
    if (n < sizeof h)
        return;
    memcpy(&h, p, sizeof h);
    switch (h.sn_type) {
    case SCTP_ASSOC_CHANGE: {
        struct sctp_assoc_change ac;
        if (n >= sizeof ac) {
            memcpy(&ac, p, sizeof ac);
            on_assoc_change(s, &ac, p + sizeof ac, n - sizeof ac);
        }
        break;
    }
    case SCTP_STREAM_RESET_EVENT:
        if (n >= sizeof(struct sctp_stream_reset_event))
            on_stream_reset(s, p, n);
        break;
    case SCTP_SENDER_DRY_EVENT:
        check_send_ready(s);
        break;
    case SCTP_PEER_ADDR_CHANGE: {
        struct sctp_paddr_change pc;
        if (n >= sizeof pc) {
            memcpy(&pc, p, sizeof pc);
            static const char *const names[] = {
                "available",    "unreachable", "removed",           "added",
                "made primary", "confirmed",   "potentially failed"};
            uint32_t st = pc.spc_state;
            PM_INFO(s->env, "sctp", "path %s (error %u)",
                    st >= 1 && st <= PM_ARRAY_LEN(names) ? names[st - 1] : "changed",
                    (unsigned)pc.spc_error);
        }
        break;
    }
    case SCTP_PARTIAL_DELIVERY_EVENT: {
        struct sctp_pdapi_event pd;
        if (n >= sizeof pd) {
            memcpy(&pd, p, sizeof pd);
            if (pd.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED && s->rstarted) {
                /* The peer abandoned a partly delivered message (PR-SCTP). */
                PM_DEBUG(s->env, "sctp", "partial delivery aborted on stream %u",
                         (unsigned)pd.pdapi_stream);
                s->rmsg.len = 0;
                s->rstarted = false;
                s->rdiscard = false;
            }
        }
        break;
    }
    default:
        PM_TRACE(s->env, "sctp", "notification type %u ignored", (unsigned)h.sn_type);
        break;
    }
}

static void on_note_bytes(pm_sctp *s, const uint8_t *p, size_t n, bool eor)
{
    if (s->rnote.len + n > NOTE_MAX) {
        PM_WARN(s->env, "sctp", "oversized notification dropped");
        s->rnote.len = 0;
        return;
    }
    if (pm_buf_append(s->env, &s->rnote, p, n) != PM_OK) {
        s->rnote.len = 0;
        return;
    }
    if (eor) {
        on_notification(s, s->rnote.data, s->rnote.len);
        s->rnote.len = 0;
    }
}

/* `n` new bytes were read at the end of rmsg. */
static void on_data_bytes(pm_sctp *s, size_t n, const struct sctp_rcvinfo *info, bool have_info,
                          bool eor)
{
    if (!s->rstarted) {
        s->rstarted = true;
        s->rsid = have_info ? info->rcv_sid : 0;
        s->rppid = have_info ? ntohl(info->rcv_ppid) : 0;
    }
    s->rmsg.len += n;
    if (s->rmsg.len > s->cfg.max_message_size) {
        if (!s->rdiscard)
            PM_WARN(s->env, "sctp", "message on stream %u exceeds max-message-size %zu: dropped",
                    (unsigned)s->rsid, s->cfg.max_message_size);
        s->rdiscard = true;
        s->rmsg.len = 0; /* keep reading to its end, then forget it */
    }
    if (!eor)
        return;
    if (!s->rdiscard)
        push_event(s, PM_SCTP_EV_MESSAGE, s->rsid, s->rppid, 0, s->rmsg.data, s->rmsg.len);
    s->rmsg.len = 0;
    s->rstarted = false;
    s->rdiscard = false;
    if (s->rmsg.cap > RBUF_KEEP)
        pm_buf_free(s->env, &s->rmsg);
}

static void drain_recv(pm_sctp *s)
{
    if (!s->sock || s->state == ST_NEW)
        return;
    for (;;) {
        /* Back-pressure: leave data in usrsctp (its window closes) while the
         * application has a receive buffer's worth of events unread. */
        if (s->events.payload >= s->cfg.recv_buffer) {
            s->read_blocked = true;
            return;
        }
        s->read_blocked = false;
        if (pm_buf_reserve(s->env, &s->rmsg, s->rmsg.len + READ_MIN) != PM_OK) {
            PM_ERROR(s->env, "sctp", "out of memory reading a message");
            return;
        }
        struct sctp_rcvinfo info;
        memset(&info, 0, sizeof info);
        socklen_t infolen = sizeof info;
        unsigned int infotype = SCTP_RECVV_NOINFO;
        struct sockaddr_conn from;
        socklen_t fromlen = sizeof from;
        int flags = 0;
        uint8_t *at = s->rmsg.data + s->rmsg.len;
        ssize_t n = usrsctp_recvv(s->sock, at, s->rmsg.cap - s->rmsg.len, (struct sockaddr *)&from,
                                  &fromlen, &info, &infolen, &infotype, &flags);
        if (n < 0) {
            if (errno != EWOULDBLOCK && errno != EAGAIN)
                PM_DEBUG(s->env, "sctp", "usrsctp_recvv: %s", strerror(errno));
            return;
        }
        if (n == 0)
            return; /* end of stream; the ASSOC_CHANGE notification said why */
        bool eor = (flags & MSG_EOR) != 0;
        if (flags & MSG_NOTIFICATION)
            on_note_bytes(s, at, (size_t)n, eor);
        else
            on_data_bytes(s, (size_t)n, &info,
                          infotype == SCTP_RECVV_RCVINFO && infolen >= sizeof info, eor);
    }
}

static size_t sndbuf_used(const pm_sctp *s)
{
    sockstat_compat ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_assoc_id = SCTP_FUTURE_ASSOC;
    socklen_t len = sizeof ss;
    if (usrsctp_getsockopt(s->sock, IPPROTO_SCTP, PM_SCTP_GET_SNDBUF_USE, &ss, &len) != 0)
        return 0;
    return ss.ss_total_sndbuf;
}

static void check_send_ready(pm_sctp *s)
{
    if (!s->want_send_ready || s->state != ST_CONNECTED)
        return;
    size_t used = sndbuf_used(s);
    /* Room for the message that was refused, or nothing left in flight
     * (SENDER_DRY); the caller then retries its queue. */
    if (used == 0 || used + s->blocked_len <= s->cfg.send_buffer) {
        s->want_send_ready = false;
        push_event(s, PM_SCTP_EV_SEND_READY, 0, 0, 0, NULL, 0);
    }
}

/* After any usrsctp call that can produce input: hand over deferred output,
 * read everything readable, and see whether a blocked sender may go on. */
static void process(pm_sctp *s)
{
    for (int pass = 0; pass < 4; pass++) {
        __atomic_store_n(&s->wake, 0, __ATOMIC_SEQ_CST);
        flush_deferred(s);
        drain_recv(s);
        check_send_ready(s);
        if (!__atomic_load_n(&s->wake, __ATOMIC_SEQ_CST))
            break;
    }
}

/* ---- the stall probe ---- */

/* Whether the peer owes us data: chunks usrsctp holds that it cannot
 * deliver yet (fragments of an unfinished message, or messages behind a
 * missing one), or a message we are reading in parts. */
static bool peer_owes_data(const pm_sctp *s)
{
    if (s->rstarted)
        return true;
    struct sctp_status st;
    memset(&st, 0, sizeof st);
    socklen_t len = sizeof st;
    if (usrsctp_getsockopt(s->sock, IPPROTO_SCTP, SCTP_STATUS, &st, &len) != 0)
        return false;
    return st.sstat_penddata > 0;
}

/*
 * Repeat our last SACK when the peer has gone quiet while it owes us data.
 * Chrome's dcSCTP can stop sending for good after a T3-rtx timeout: with its
 * congestion window back at one MTU, the next chunk it produces may be a
 * fragment of a partially sent message whose lifetime ran out, which it
 * abandons instead of sending; that fragment still used up the window, so
 * nothing goes out and no retransmission timer runs, and its FORWARD-TSN and
 * every queued message wait for its next send call, i.e. for a SACK from us
 * (or a send by its application). We have acked everything and wait for the
 * rest of the message: without this, both sides wait forever. A repeated
 * SACK acknowledges nothing new, so it cannot trigger fast retransmission
 * (RFC 9260 section 7.2.4); a sender that is fine just ignores it.
 */
static void maybe_probe(pm_sctp *s, pm_time now)
{
    if (s->state != ST_CONNECTED || s->probe_at == PM_TIME_NEVER || now < s->probe_at)
        return;
    if (!s->probe_len || !peer_owes_data(s)) {
        s->probe_at = PM_TIME_NEVER; /* until the peer sends again */
        return;
    }
    uint8_t pkt[PROBE_MAX_BYTES];
    memcpy(pkt, s->probe, s->probe_len);
    pm_chunk_set_crc(pkt, s->probe_len);
    PM_DEBUG(s->env, "sctp", "peer quiet while it owes us data: SACK repeated after %lld ms",
             (long long)(s->probe_gap / PM_MS(1)));
    hand_over(s, pkt, s->probe_len);
    s->probe_gap = PM_MIN(s->probe_gap * 2, PROBE_MAX);
    s->probe_at = now + s->probe_gap;
}

/* ---- socket setup ---- */

static int set_opt(pm_sctp *s, int level, int name, const void *val, socklen_t len,
                   const char *what)
{
    if (usrsctp_setsockopt(s->sock, level, name, val, len) == 0)
        return PM_OK;
    PM_ERROR(s->env, "sctp", "setsockopt %s: %s", what, strerror(errno));
    return PM_ERR_IO;
}

static int set_int(pm_sctp *s, int level, int name, int v, const char *what)
{
    return set_opt(s, level, name, &v, sizeof v, what);
}

static int configure_socket(pm_sctp *s)
{
    int rc = PM_OK;
    /* WEBRTC-NOTES 4.2: both buffers must hold the largest message, or
     * sendv fails with EMSGSIZE. */
    rc |= set_int(s, SOL_SOCKET, SO_SNDBUF, (int)s->cfg.send_buffer, "SO_SNDBUF");
    rc |= set_int(s, SOL_SOCKET, SO_RCVBUF, (int)s->cfg.recv_buffer, "SO_RCVBUF");
    /* What usrsctp granted is what its EWOULDBLOCK check compares against. */
    int v = 0;
    socklen_t vl = sizeof v;
    if (usrsctp_getsockopt(s->sock, SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0 && v > 0 &&
        (size_t)v != s->cfg.send_buffer) {
        PM_DEBUG(s->env, "sctp", "SO_SNDBUF is %d (asked %zu)", v, s->cfg.send_buffer);
        s->cfg.send_buffer = (size_t)v;
    }
    rc |= set_int(s, IPPROTO_SCTP, SCTP_NODELAY, 1, "SCTP_NODELAY"); /* RFC 8831 6.6 */
    rc |= set_int(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, 1, "SCTP_RECVRCVINFO");
    /* Level 0: a partially delivered message is not interleaved with others. */
    rc |= set_int(s, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, 0, "SCTP_FRAGMENT_INTERLEAVE");

    struct sctp_paddrparams spp;
    memset(&spp, 0, sizeof spp);
    spp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    spp.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
    spp.spp_pathmtu = PATH_MTU;
    rc |= set_opt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &spp, sizeof spp, "PEER_ADDR_PARAMS");

    /* Outlive ICE: consent expires after 30 s, and an ICE restart can then
     * bring the path back (WEBRTC-NOTES 2.9, issue 11). With RTO max 10 s,
     * 20 retransmissions keep the association for about two and a half
     * minutes of silence, where usrsctp's default 10 gave up after ~25 s. */
    struct sctp_assocparams ap;
    memset(&ap, 0, sizeof ap);
    ap.sasoc_assoc_id = SCTP_FUTURE_ASSOC;
    ap.sasoc_asocmaxrxt = 20;
    rc |= set_opt(s, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, sizeof ap, "SCTP_ASSOCINFO");

    struct sctp_initmsg im;
    memset(&im, 0, sizeof im);
    im.sinit_num_ostreams = s->cfg.streams;
    im.sinit_max_instreams = s->cfg.streams;
    rc |= set_opt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im, "SCTP_INITMSG");

    /* RFC 8831 6.7: channels close by resetting their outgoing stream. */
    struct sctp_assoc_value av = {SCTP_FUTURE_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
    rc |= set_opt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av, "STREAM_RESET");

    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_SENDER_DRY_EVENT, SCTP_PARTIAL_DELIVERY_EVENT,
                                      SCTP_PEER_ADDR_CHANGE};
    for (size_t i = 0; i < PM_ARRAY_LEN(events); i++) {
        struct sctp_event ev;
        memset(&ev, 0, sizeof ev);
        ev.se_assoc_id = SCTP_FUTURE_ASSOC;
        ev.se_type = events[i];
        ev.se_on = 1;
        rc |= set_opt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "SCTP_EVENT");
    }
    return rc ? PM_ERR_IO : PM_OK;
}

static void conn_addr(const pm_sctp *s, struct sockaddr_conn *a, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->sconn_family = AF_CONN;
    a->sconn_port = htons(port);
    a->sconn_addr = (void *)s->id;
}

static int open_socket(pm_sctp *s)
{
    usrsctp_register_address((void *)s->id);
    s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!s->sock) {
        PM_ERROR(s->env, "sctp", "usrsctp_socket: %s", strerror(errno));
        return PM_ERR_IO;
    }
    /* The upcall's argument is the id, not the pointer: the registry drops
     * upcalls that race with pm_sctp_free. */
    usrsctp_set_upcall(s->sock, pm_usrsctp_upcall, (void *)s->id);
    if (usrsctp_set_non_blocking(s->sock, 1) != 0) {
        PM_ERROR(s->env, "sctp", "usrsctp_set_non_blocking: %s", strerror(errno));
        return PM_ERR_IO;
    }
    int rc = configure_socket(s);
    if (rc != PM_OK)
        return rc;
    struct sockaddr_conn a;
    conn_addr(s, &a, s->cfg.local_port);
    if (usrsctp_bind(s->sock, (struct sockaddr *)&a, sizeof a) != 0) {
        PM_ERROR(s->env, "sctp", "usrsctp_bind: %s", strerror(errno));
        return PM_ERR_IO;
    }
    return PM_OK;
}

/* ---- API ---- */

int pm_sctp_new(const pm_envr *env, const pm_sctp_config *cfg_in, const pm_sctp_callbacks *cb,
                pm_sctp **out)
{
    if (!env || !cb || !cb->send || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_sctp_config cfg;
    int rc = pm_sctp_config_resolve(cfg_in, &cfg);
    if (rc != PM_OK)
        return rc;

    pm_sctp *s = pm_calloc(env, sizeof *s);
    if (!s)
        return PM_ERR_NOMEM;
    s->env = env;
    s->cfg = cfg;
    s->cb = *cb;
    s->state = ST_NEW;
    s->probe_at = PM_TIME_NEVER;
    pm_fifo_init(&s->events, 0);
    pm_fifo_init(&s->early, EARLY_MAX_BYTES);
    pm_fifo_init(&s->deferred, DEFERRED_MAX_BYTES);

    rc = pm_usrsctp_acquire(env);
    if (rc != PM_OK) {
        pm_free(env, s);
        return rc;
    }
    rc = pm_usrsctp_register(s, &s->id);
    if (rc == PM_OK) {
        call_ctx c;
        enter(s, &c);
        rc = open_socket(s);
        leave(&c);
    }
    if (rc != PM_OK) {
        pm_sctp_free(s);
        return rc;
    }
    *out = s;
    return PM_OK;
}

void pm_sctp_free(pm_sctp *s)
{
    if (!s)
        return;
    if (s->sock) {
        call_ctx c;
        enter(s, &c);
        /* Linger {1, 0}: close aborts at once (ABORT chunk, no SHUTDOWN
         * handshake), so nothing lingers once DTLS is gone. */
        struct linger lg = {1, 0};
        usrsctp_setsockopt(s->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        usrsctp_close(s->sock);
        s->sock = NULL;
        leave(&c);
    }
    if (s->id) {
        pm_usrsctp_unregister(s->id);
        usrsctp_deregister_address((void *)s->id);
    }
    pm_usrsctp_release();
    const pm_envr *env = s->env;
    pm_fifo_free(env, &s->events);
    pm_fifo_free(env, &s->early);
    pm_fifo_free(sys_env(), &s->deferred);
    pm_buf_free(env, &s->rmsg);
    pm_buf_free(env, &s->rnote);
    pm_buf_free(env, &s->split);
    pm_free(env, s);
}

int pm_sctp_connect(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != ST_NEW)
        return PM_ERR_STATE;
    call_ctx c;
    enter(s, &c);
    struct sockaddr_conn a;
    conn_addr(s, &a, s->cfg.remote_port);
    /* Both sides connect: simultaneous open (RFC 8841 section 9.3). */
    int rc = usrsctp_connect(s->sock, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno != EINPROGRESS) {
        PM_ERROR(s->env, "sctp", "usrsctp_connect: %s", strerror(errno));
        leave(&c);
        return PM_ERR_IO;
    }
    s->state = ST_CONNECTING;
    pm_usrsctp_advance(now);
    /* Only now may the peer's packets reach usrsctp: an INIT that arrives
     * before our connect can make the stack abort (WEBRTC-NOTES 4.2). */
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&s->early, NULL, &d, &n)) {
        usrsctp_conninput((void *)s->id, d, n, 0);
        pm_fifo_pop(&s->early);
    }
    pm_fifo_free(s->env, &s->early);
    process(s);
    leave(&c);
    return PM_OK;
}

/*
 * Work around a receive-side bug of usrsctp 0.9.5 with unordered, partially
 * reliable messages sent in DATA chunks (RFC 3758 section 3.6): when a
 * FORWARD-TSN(C) flushes an unordered reassembly that still holds fragments
 * of later messages, usrsctp resets it to "fsn_included = C, end not seen",
 * and a complete unordered message with TSN C+1 on that stream then aborts
 * the association ("Illegal message sequence, missing end for MID").
 * Senders (usrsctp, dcSCTP) bundle FORWARD-TSN(C) with the retransmission of
 * TSN C+1, so feeding a packet's other chunks first and its FORWARD-TSN
 * second avoids it: before the flush, no reassembly can end at C. Returns
 * the length of the first packet in s->split (header + all chunks but
 * FORWARD-TSN; the second packet follows it: header + FORWARD-TSN), or 0
 * when the packet needs no change.
 */
static size_t fwd_tsn_last(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    bool fwd = false, data_after_fwd = false;
    for (size_t off = COMMON_HEADER; off + 4 <= len;) {
        size_t clen = pm_rd16(pkt + off + 2);
        if (clen < 4 || clen > len - off)
            return 0; /* malformed: usrsctp judges it as it is */
        if (pkt[off] == CHUNK_FORWARD_TSN)
            fwd = true;
        else if (pkt[off] == CHUNK_DATA && fwd)
            data_after_fwd = true;
        off += PM_MIN((clen + 3) & ~(size_t)3, len - off);
    }
    if (!data_after_fwd)
        return 0;
    s->split.len = 0;
    if (pm_buf_reserve(s->env, &s->split, 2 * len) != PM_OK)
        return 0;
    uint8_t *a = s->split.data, *b = s->split.data + len;
    memcpy(a, pkt, COMMON_HEADER);
    memcpy(b, pkt, COMMON_HEADER);
    size_t alen = COMMON_HEADER, blen = COMMON_HEADER;
    for (size_t off = COMMON_HEADER; off + 4 <= len;) {
        size_t clen = pm_rd16(pkt + off + 2);
        size_t step = PM_MIN((clen + 3) & ~(size_t)3, len - off);
        if (pkt[off] == CHUNK_FORWARD_TSN) {
            memcpy(b + blen, pkt + off, step);
            blen += step;
        } else {
            memcpy(a + alen, pkt + off, step);
            alen += step;
        }
        off += step;
    }
    memmove(a + alen, b, blen);
    s->split.len = alen + blen;
    return alen;
}

int pm_sctp_handle_packet(pm_sctp *s, pm_time now, const uint8_t *pkt, size_t len)
{
    if (!s || (!pkt && len))
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (len < COMMON_HEADER)
        return PM_ERR_PARSE;
    if (len > MAX_PACKET)
        return PM_ERR_TOO_BIG;
    if (s->state == ST_CLOSED)
        return PM_ERR_STATE;
    if (s->state == ST_NEW) {
        if (s->early.count >= EARLY_MAX_PACKETS)
            return PM_ERR_FULL;
        return pm_fifo_push(s->env, &s->early, 0, pkt, len, NULL, 0);
    }
    s->probe_gap = PROBE_FIRST; /* the peer is talking: probe only after it stops */
    s->probe_at = now + PROBE_FIRST;
    call_ctx c;
    enter(s, &c);
    size_t first = fwd_tsn_last(s, pkt, len);
    if (first) {
        usrsctp_conninput((void *)s->id, s->split.data, first, 0);
        usrsctp_conninput((void *)s->id, s->split.data + first, s->split.len - first, 0);
    } else {
        usrsctp_conninput((void *)s->id, pkt, len, 0);
    }
    process(s);
    leave(&c);
    return PM_OK;
}

static int map_send_errno(pm_sctp *s, int err)
{
    switch (err) {
    case EWOULDBLOCK:
#if EAGAIN != EWOULDBLOCK
    case EAGAIN:
#endif
        return PM_ERR_AGAIN;
    case EMSGSIZE:
        return PM_ERR_TOO_BIG;
    case EINVAL:
        return PM_ERR_INVALID;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ESHUTDOWN:
        return PM_ERR_STATE;
    default:
        PM_WARN(s->env, "sctp", "usrsctp_sendv: %s", strerror(err));
        return PM_ERR_IO;
    }
}

int pm_sctp_send(pm_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                 const pm_sctp_sendopts *opts)
{
    if (!s || (!data && len))
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != ST_CONNECTED)
        return PM_ERR_STATE;
    if (len > s->cfg.max_message_size)
        return PM_ERR_TOO_BIG;
    if (len == 0 || sid >= s->out_streams)
        return PM_ERR_INVALID;

    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    if (opts && opts->unordered)
        spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    /* RFC 3758 / WEBRTC-NOTES 4.5: maxRetransmits or maxPacketLifeTime per message. */
    if (opts && opts->pr_policy != PM_SCTP_PR_NONE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy =
            opts->pr_policy == PM_SCTP_PR_RTX ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = opts->pr_value;
    }

    call_ctx c;
    enter(s, &c);
    /* Without SCTP_EXPLICIT_EOR a non-blocking send takes the whole message
     * or nothing (EWOULDBLOCK), which is the contract of PM_ERR_AGAIN. */
    ssize_t n =
        usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, (socklen_t)sizeof spa, SCTP_SENDV_SPA, 0);
    int err = errno;
    int rc = PM_OK;
    if (n < 0) {
        rc = map_send_errno(s, err);
        if (rc == PM_ERR_AGAIN) {
            s->want_send_ready = true;
            s->blocked_len = PM_MAX(s->blocked_len, len);
        }
    } else if ((size_t)n != len) {
        PM_ERROR(s->env, "sctp", "usrsctp_sendv took %zd of %zu bytes", n, len);
        rc = PM_ERR_IO;
    } else if (!s->want_send_ready) {
        s->blocked_len = 0;
    }
    leave(&c);
    return rc;
}

int pm_sctp_path_changed(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != ST_CONNECTED)
        return PM_ERR_STATE;
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    struct sockaddr_conn a;
    conn_addr(s, &a, s->cfg.remote_port);
    memcpy(&pp.spp_address, &a, sizeof a);
    pp.spp_flags = SPP_HB_DEMAND;
    call_ctx c;
    enter(s, &c);
    pm_usrsctp_advance(now);
    int rc = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
    int err = errno;
    process(s);
    leave(&c);
    if (rc != 0)
        PM_DEBUG(s->env, "sctp", "heartbeat on demand: %s", strerror(err));
    else
        PM_DEBUG(s->env, "sctp", "heartbeat on demand");
    return rc == 0 ? PM_OK : PM_ERR_IO;
}

int pm_sctp_reset_stream(pm_sctp *s, uint16_t sid)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != ST_CONNECTED)
        return PM_ERR_STATE;
    if (sid >= s->out_streams)
        return PM_ERR_INVALID;
    union {
        struct sctp_reset_streams h;
        uint8_t b[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
    } u;
    memset(&u, 0, sizeof u);
    u.h.srs_assoc_id = SCTP_ALL_ASSOC;
    u.h.srs_flags = SCTP_STREAM_RESET_OUTGOING;
    u.h.srs_number_streams = 1;
    memcpy(u.b + sizeof u.h, &sid, sizeof sid);
    call_ctx c;
    enter(s, &c);
    int rc = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, &u, sizeof u);
    int err = errno;
    process(s);
    leave(&c);
    if (rc == 0)
        return PM_OK;
    if (err == EALREADY || err == EBUSY || err == EAGAIN)
        return PM_ERR_AGAIN; /* a reset request is still outstanding */
    PM_WARN(s->env, "sctp", "reset of stream %u: %s", (unsigned)sid, strerror(err));
    return err == EINVAL ? PM_ERR_STATE : PM_ERR_IO;
}

bool pm_sctp_poll_event(pm_sctp *s, pm_sctp_event *ev)
{
    if (!s || !ev || s->in_callback)
        return false;
    if (s->ev_borrowed) {
        pm_fifo_pop(&s->events);
        s->ev_borrowed = false;
    }
    if (s->events.count == 0 && (s->read_blocked || __atomic_load_n(&s->wake, __ATOMIC_SEQ_CST))) {
        call_ctx c;
        enter(s, &c);
        process(s);
        leave(&c);
    }
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    if (!pm_fifo_peek(&s->events, &tag, &d, &n) || n < EV_HDR) {
        if (s->events.count == 0 && s->events.cap > EVENTS_KEEP)
            pm_fifo_free(s->env, &s->events);
        return false;
    }
    memset(ev, 0, sizeof *ev);
    ev->type = (pm_sctp_event_type)tag;
    ev->sid = pm_rd16(d);
    ev->incoming = (d[2] & EV_IN) != 0;
    ev->outgoing = (d[2] & EV_OUT) != 0;
    ev->failed = (d[2] & EV_FAILED) != 0;
    ev->ppid = pm_rd32(d + 4);
    ev->data = n > EV_HDR ? d + EV_HDR : NULL;
    ev->len = n - EV_HDR;
    if (ev->type == PM_SCTP_EV_MESSAGE && !ev->data)
        ev->data = (const uint8_t *)"";
    s->ev_borrowed = true;
    return true;
}

size_t pm_sctp_buffered(const pm_sctp *s)
{
    if (!s || !s->sock || s->state != ST_CONNECTED)
        return 0;
    return sndbuf_used(s);
}

uint64_t pm_sctp_stream_abandoned(const pm_sctp *s, uint16_t sid)
{
    if (!s || !s->sock || s->state != ST_CONNECTED)
        return 0;
    /* One-to-one socket: the association id is ignored. SCTP_PR_SCTP_ALL is
     * the only policy usrsctp counts without SCTP_DETAILED_STR_STATS. */
    struct sctp_prstatus st;
    memset(&st, 0, sizeof st);
    st.sprstat_sid = sid;
    st.sprstat_policy = 0x000f; /* SCTP_PR_SCTP_ALL: usrsctp's sctp_uio.h, not in usrsctp.h */
    socklen_t len = sizeof st;
    if (usrsctp_getsockopt(s->sock, IPPROTO_SCTP, SCTP_PR_STREAM_STATUS, &st, &len) != 0)
        return 0;
    return st.sprstat_abandoned_unsent + st.sprstat_abandoned_sent;
}

pm_time pm_sctp_next_timeout(const pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_TIME_NEVER;
    if (__atomic_load_n(&s->wake, __ATOMIC_SEQ_CST) ||
        __atomic_load_n(&s->has_deferred, __ATOMIC_SEQ_CST))
        return now; /* usrsctp signalled work for us during another call */
    if (s->state == ST_CLOSED)
        return PM_TIME_NEVER;
    pm_time t = pm_usrsctp_next_tick();
    return t == PM_TIME_NEVER ? now : t;
}

int pm_sctp_handle_timeout(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    call_ctx c;
    enter(s, &c);
    pm_usrsctp_advance(now);
    process(s);
    maybe_probe(s, now);
    leave(&c);
    return PM_OK;
}

void pm_sctp_shutdown(pm_sctp *s)
{
    if (!s || s->in_callback || !s->sock)
        return;
    if (s->state != ST_CONNECTED && s->state != ST_CONNECTING)
        return;
    call_ctx c;
    enter(s, &c);
    if (usrsctp_shutdown(s->sock, SHUT_WR) != 0)
        PM_DEBUG(s->env, "sctp", "usrsctp_shutdown: %s", strerror(errno));
    process(s);
    leave(&c);
}
