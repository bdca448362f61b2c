/*
 * The pm_sctp_* entry points of peermesh's own SCTP (see assoc.h for the
 * map of files): argument checks, packet dispatch by chunk type with the
 * verification-tag rules of RFC 9260 section 8.5, the event queue and the
 * timers. Everything is driven by the caller: no thread, no clock, no global.
 */
#include "sctp/assoc.h"
#include "sctp/config.h"

/* Packets held before pm_sctp_connect (an early INIT, WEBRTC-NOTES 4.2). */
#define EARLY_MAX_PACKETS 64
#define EARLY_MAX_BYTES   (128 * 1024)
/* Largest packet taken in (an IPv4 datagram cannot carry more). */
#define MAX_PACKET 65535
/* Free an empty event queue above this capacity. */
#define EVENTS_KEEP 16384

/* Event record: sid(2) flags(1) pad(1) ppid(4) message pointer(8), then an
 * inline payload when the pointer is NULL. */
#define EV_HDR 16

/* Large enough for ~80 MB/s at 50 ms of round trip with random loss: 4 MiB
 * in flight, and as much again while a retransmission fills a hole (the
 * receiver holds what follows the hole, the sender keeps it until acked).
 * dcSCTP's window is 5 MiB, the usrsctp build's 1 MiB. Nothing of them is
 * allocated before data is in flight. */
size_t pm_sctp_default_buffer(void)
{
    return 8 * 1024 * 1024;
}

size_t pm_sctp_partial_reliability_limit(void)
{
    return SIZE_MAX; /* abandoned fragmented messages are skipped cleanly */
}

const char *pm_sctp_implementation(void)
{
    return "peermesh";
}

bool pm_sctp_takes_zero_checksum(void)
{
    return true;
}

pm_time sc_rto_initial(void)
{
    return SC_RTO_INITIAL;
}

/* ---- events ---- */

static void push_record(pm_sctp *s, pm_sctp_event_type type, uint16_t sid, uint8_t flags,
                        uint32_t ppid, sc_rmsg *m, const uint8_t *data, size_t len)
{
    uint8_t h[EV_HDR];
    pm_wr16(h, sid);
    h[2] = flags;
    h[3] = 0;
    pm_wr32(h + 4, ppid);
    memcpy(h + 8, &m, sizeof m);
    if (pm_fifo_push(s->env, &s->events, (uint32_t)type, h, EV_HDR, data, len) != PM_OK) {
        PM_ERROR(s->env, "sctp", "out of memory: event %d (stream %u, %zu bytes) lost", (int)type,
                 (unsigned)sid, m ? m->len : len);
        if (m) {
            s->rx_held -= m->len;
            sc_rmsg_free(s, m);
        } else {
            s->rx_held -= len;
        }
    }
}

void sc_push_event(pm_sctp *s, pm_sctp_event_type type, uint16_t sid, uint8_t flags)
{
    push_record(s, type, sid, flags, 0, NULL, NULL, 0);
}

void sc_push_message(pm_sctp *s, uint16_t sid, uint32_t ppid, sc_rmsg *m, const uint8_t *data,
                     size_t len)
{
    /* rx_held already counts m; an inline copy is counted here. */
    if (!m)
        s->rx_held += len;
    push_record(s, PM_SCTP_EV_MESSAGE, sid, 0, ppid, m, m ? NULL : data, m ? 0 : len);
}

/* Drop the head event (handed out by the last poll) and what it holds. */
static void release_head(pm_sctp *s)
{
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    if (!pm_fifo_peek(&s->events, &tag, &d, &n))
        return;
    if (tag == PM_SCTP_EV_MESSAGE && n >= EV_HDR) {
        sc_rmsg *m;
        memcpy(&m, d + 8, sizeof m);
        if (m) {
            s->rx_held -= m->len;
            sc_rmsg_free(s, m);
        } else {
            s->rx_held -= n - EV_HDR;
        }
    }
    pm_fifo_pop(&s->events);
    if (s->events.count == 0 && s->events.cap > EVENTS_KEEP)
        pm_fifo_free(s->env, &s->events);
}

void sc_set_closed(pm_sctp *s, const char *why)
{
    if (s->state == SC_CLOSED)
        return;
    if (s->state == SC_NEW || s->state == SC_COOKIE_WAIT || s->state == SC_COOKIE_ECHOED)
        PM_INFO(s->env, "sctp", "association failed: %s", why);
    else
        PM_INFO(s->env, "sctp", "association closed: %s", why);
    s->state = SC_CLOSED;
    s->want_send_ready = false;
    s->t1 = s->t2 = s->t3 = s->sack_at = s->hb_at = s->reconf_t = s->rack_t = PM_TIME_NEVER;
    s->probe_at = PM_TIME_NEVER;
    sc_push_event(s, PM_SCTP_EV_CLOSED, 0, 0);
}

/* Every call starts here: the event lent out by the last poll is released
 * (its bytes count against the receive window until then). */
/* The caller's clock; pm_sctp_reset_stream takes no time and uses the
 * latest one given, pm_sctp_send too unless its options carry one. */
static void enter_time(pm_sctp *s, pm_time now)
{
    s->now = now;
}

static void enter(pm_sctp *s)
{
    if (s->ev_borrowed) {
        release_head(s);
        s->ev_borrowed = false;
        /* the window opened: say so now, the peer may be waiting for it */
        sc_window_update(s);
        if (s->sack_now)
            sc_flush(s, s->now);
    }
}

/* ---- lifetime ---- */

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
    s->state = SC_NEW;
    pm_fifo_init(&s->events, 0);
    pm_fifo_init(&s->early, EARLY_MAX_BYTES);
    s->t1 = s->t2 = s->t3 = s->sack_at = s->hb_at = s->reconf_t = s->rack_t = PM_TIME_NEVER;
    s->probe_at = PM_TIME_NEVER;
    /* RFC 9260 section 5.3.1: a random non-zero tag, a random initial TSN. */
    do
        s->my_vtag = pm_random_u32(env);
    while (s->my_vtag == 0);
    s->my_itsn = pm_random_u32(env);
    rc = pm_random(env, s->secret, sizeof s->secret);
    if (rc != PM_OK) {
        pm_free(env, s);
        return rc;
    }
    *out = s;
    return PM_OK;
}

void pm_sctp_free(pm_sctp *s)
{
    if (!s)
        return;
    /* Abort at once (no SHUTDOWN handshake): nothing lingers once DTLS is gone. */
    if (s->state != SC_NEW && s->state != SC_CLOSED && !s->in_callback)
        sc_abort(s, PM_CAUSE_USER_ABORT, "association freed");
    const pm_envr *env = s->env;
    if (s->stats.lost || s->stats.t3)
        PM_DEBUG(env, "sctp",
                 "loss recovery: %llu chunks lost, %llu retransmitted (%llu needlessly), "
                 "%llu timeouts (%llu undone), %llu window cuts; srtt %lld us, rto %lld us, "
                 "cwnd %u",
                 (unsigned long long)s->stats.lost, (unsigned long long)s->stats.retransmitted,
                 (unsigned long long)s->stats.needless, (unsigned long long)s->stats.t3,
                 (unsigned long long)s->stats.spurious_t3, (unsigned long long)s->stats.window_cuts,
                 (long long)s->srtt, (long long)s->rto, (unsigned)s->cwnd);
    sc_streams_free(s);
    sc_ring_free(s);
    sc_receiver_free(s);
    /* Events before the reassembly: a message they hold gives its buffer
     * back as a spare, which sc_reasm_free then frees. */
    while (s->events.count) {
        release_head(s);
    }
    sc_reasm_free(s);
    sc_reconfig_free(s);
    sc_small_free(s); /* last: freeing the ring above may refill it */
    pm_fifo_free(env, &s->events);
    pm_fifo_free(env, &s->early);
    pm_free(env, s->cookie);
    pm_free(env, s);
}

/* ---- input ---- */

/* RFC 9260 section 8.5 / 8.5.1: is this packet's tag right for this chunk? */
static bool tag_ok(const pm_sctp *s, const pm_sctp_header *h, const pm_chunk *c)
{
    switch (c->type) {
    case PM_CHUNK_INIT:
        return h->vtag == 0;
    case PM_CHUNK_ABORT:
    case PM_CHUNK_SHUTDOWN_COMPLETE:
        if (c->flags & PM_CHUNK_FLAG_T)
            return s->peer_vtag != 0 && h->vtag == s->peer_vtag;
        return h->vtag == s->my_vtag;
    case PM_CHUNK_SHUTDOWN_ACK:
        /* section 8.5.1 (E): also accepted when we know no peer tag yet */
        return h->vtag == s->my_vtag;
    default:
        return h->vtag == s->my_vtag;
    }
}

/* RFC 9260 section 3.2: the two high bits of an unknown chunk type say
 * whether the rest of the packet is processed. */
static bool unknown_chunk(pm_sctp *s, const pm_chunk *c)
{
    PM_DEBUG(s->env, "sctp", "unknown chunk type %u ignored", (unsigned)c->type);
    return (c->type & 0x80) != 0;
}

/* Handle one chunk; false stops processing this packet. */
static bool dispatch(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    switch (c->type) {
    case PM_CHUNK_DATA:
    case PM_CHUNK_IDATA:
        sc_on_data(s, now, c);
        return true;
    case PM_CHUNK_SACK:
        sc_on_sack(s, now, c);
        return true;
    case PM_CHUNK_INIT:
        sc_on_init(s, now, c);
        return false; /* RFC 9260 section 6.10: INIT is alone in its packet */
    case PM_CHUNK_INIT_ACK:
        sc_on_init_ack(s, now, c);
        return false;
    case PM_CHUNK_COOKIE_ECHO:
        sc_on_cookie_echo(s, now, c);
        return s->state != SC_COOKIE_WAIT && s->state != SC_COOKIE_ECHOED;
    case PM_CHUNK_COOKIE_ACK:
        sc_on_cookie_ack(s, now);
        return true;
    case PM_CHUNK_HEARTBEAT:
        sc_on_heartbeat(s, c);
        return true;
    case PM_CHUNK_HEARTBEAT_ACK:
        sc_on_heartbeat_ack(s, now, c);
        return true;
    case PM_CHUNK_ABORT:
        sc_on_abort(s, c);
        return false;
    case PM_CHUNK_SHUTDOWN:
        sc_on_shutdown(s, now, c);
        return true;
    case PM_CHUNK_SHUTDOWN_ACK:
        sc_on_shutdown_ack(s, now);
        return true;
    case PM_CHUNK_SHUTDOWN_COMPLETE:
        sc_on_shutdown_complete(s);
        return false;
    case PM_CHUNK_ERROR:
        sc_on_error(s, c);
        return true;
    case PM_CHUNK_FORWARD_TSN:
    case PM_CHUNK_IFORWARD_TSN:
        sc_on_forward_tsn(s, now, c);
        return true;
    case PM_CHUNK_RECONFIG:
        sc_on_reconfig(s, now, c);
        return true;
    default:
        return unknown_chunk(s, c);
    }
}

static void process_packet(pm_sctp *s, pm_time now, const uint8_t *pkt, size_t len)
{
    pm_sctp_header h;
    if (pm_chunk_parse_header(pkt, len, &h) != PM_OK)
        return;
    if (h.src_port != s->cfg.remote_port || h.dst_port != s->cfg.local_port) {
        PM_TRACE(s->env, "sctp", "packet for ports %u->%u dropped", (unsigned)h.src_port,
                 (unsigned)h.dst_port);
        return;
    }
    /* DTLS already authenticates every byte, so a packet without a checksum
     * is taken (RFC 9653; we announce it to peers that announce it); one
     * that has a checksum must have the right one, which keeps a foreign
     * packet out. */
    if (!pm_chunk_crc_zero(pkt, len) && !pm_chunk_crc_ok(pkt, len)) {
        PM_DEBUG(s->env, "sctp", "packet with a bad checksum dropped");
        return;
    }
    pm_chunk_iter it;
    pm_chunk_iter_init(&it, pkt, len);
    pm_chunk c;
    s->data_in_packet = false;
    bool from_peer = false;
    while (s->state != SC_CLOSED && pm_chunk_next(&it, &c) == 1) {
        if (!tag_ok(s, &h, &c)) {
            PM_TRACE(s->env, "sctp", "chunk %u with a wrong verification tag dropped",
                     (unsigned)c.type);
            break;
        }
        from_peer = true;
        if (!dispatch(s, now, &c))
            break;
    }
    sc_after_packet(s, now);
    if (from_peer)
        sc_probe_arm(s, now);
}

int pm_sctp_connect(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != SC_NEW)
        return PM_ERR_STATE;
    enter_time(s, now);
    enter(s);
    /* Both sides connect: simultaneous open (RFC 8841 section 9.3). */
    int rc = sc_send_init(s, now);
    if (rc != PM_OK)
        return rc;
    const uint8_t *d;
    size_t n;
    while (s->state != SC_CLOSED && pm_fifo_peek(&s->early, NULL, &d, &n)) {
        process_packet(s, now, d, n);
        pm_fifo_pop(&s->early);
    }
    pm_fifo_free(s->env, &s->early);
    sc_flush(s, now);
    return PM_OK;
}

int pm_sctp_handle_packet(pm_sctp *s, pm_time now, const uint8_t *pkt, size_t len)
{
    if (!s || (!pkt && len))
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (len < PM_SCTP_HEADER_LEN)
        return PM_ERR_PARSE;
    if (len > MAX_PACKET)
        return PM_ERR_TOO_BIG;
    if (s->state == SC_CLOSED)
        return PM_ERR_STATE;
    if (s->state == SC_NEW) {
        if (s->early.count >= EARLY_MAX_PACKETS)
            return PM_ERR_FULL;
        return pm_fifo_push(s->env, &s->early, 0, pkt, len, NULL, 0);
    }
    enter_time(s, now);
    enter(s);
    process_packet(s, now, pkt, len);
    sc_flush(s, now);
    return PM_OK;
}

/* ---- output ---- */

int pm_sctp_send(pm_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                 const pm_sctp_sendopts *opts)
{
    if (!s || (!data && len))
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != SC_ESTABLISHED)
        return PM_ERR_STATE;
    if (len > s->cfg.max_message_size)
        return PM_ERR_TOO_BIG;
    if (len == 0 || sid >= s->out_streams)
        return PM_ERR_INVALID;
    enter(s);
    /* The whole message or nothing: PM_ERR_AGAIN until SEND_READY. */
    if (s->buffered > 0 && s->buffered + len > s->cfg.send_buffer) {
        s->want_send_ready = true;
        s->blocked_len = PM_MAX(s->blocked_len, len);
        return PM_ERR_AGAIN;
    }
    /* The caller's clock now if it gave it, else as of its last call: after
     * an idle spell that may be long past (a lifetime would have run out
     * before the message was even queued, a T3 started in the past). */
    if (opts && opts->now > s->now)
        enter_time(s, opts->now);
    pm_time now = s->now;
    int rc = sc_enqueue(s, now, sid, ppid, data, len, opts);
    if (rc != PM_OK)
        return rc;
    if (!s->want_send_ready)
        s->blocked_len = 0;
    sc_flush(s, now);
    return PM_OK;
}

int pm_sctp_path_changed(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != SC_ESTABLISHED)
        return PM_ERR_STATE;
    enter(s);
    enter_time(s, now);
    sc_heartbeat_now(s, now);
    sc_flush(s, now);
    return PM_OK;
}

int pm_sctp_reset_stream(pm_sctp *s, uint16_t sid)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    if (s->state != SC_ESTABLISHED)
        return PM_ERR_STATE;
    if (sid >= s->out_streams)
        return PM_ERR_INVALID;
    enter(s);
    int rc = sc_reset_stream(s, sid);
    if (rc == PM_OK)
        sc_flush(s, s->now);
    return rc;
}

bool pm_sctp_poll_event(pm_sctp *s, pm_sctp_event *ev)
{
    if (!s || !ev || s->in_callback)
        return false;
    enter(s);
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    if (!pm_fifo_peek(&s->events, &tag, &d, &n) || n < EV_HDR)
        return false;
    memset(ev, 0, sizeof *ev);
    ev->type = (pm_sctp_event_type)tag;
    ev->sid = pm_rd16(d);
    ev->incoming = (d[2] & SC_EV_IN) != 0;
    ev->outgoing = (d[2] & SC_EV_OUT) != 0;
    ev->failed = (d[2] & SC_EV_FAILED) != 0;
    ev->ppid = pm_rd32(d + 4);
    sc_rmsg *m;
    memcpy(&m, d + 8, sizeof m);
    if (m) {
        ev->data = m->data;
        ev->len = m->len;
    } else {
        ev->data = d + EV_HDR;
        ev->len = n - EV_HDR;
    }
    s->ev_borrowed = true;
    return true;
}

size_t pm_sctp_buffered(const pm_sctp *s)
{
    if (!s || s->state == SC_NEW || s->state == SC_CLOSED)
        return 0;
    return s->buffered;
}

uint64_t pm_sctp_stream_abandoned(const pm_sctp *s, uint16_t sid)
{
    if (!s || s->state == SC_NEW || s->state == SC_CLOSED)
        return 0;
    sc_stream *st = sc_stream_get((pm_sctp *)s, sid, false);
    return st ? st->abandoned : 0;
}

/* ---- timers ---- */

pm_time pm_sctp_next_timeout(const pm_sctp *s, pm_time now)
{
    (void)now;
    if (!s || s->state == SC_CLOSED || s->state == SC_NEW)
        return PM_TIME_NEVER;
    pm_time t = PM_MIN(s->t1, s->t2);
    t = PM_MIN(t, s->t3);
    t = PM_MIN(t, s->sack_at);
    t = PM_MIN(t, s->hb_at);
    t = PM_MIN(t, s->reconf_t);
    t = PM_MIN(t, s->rack_t);
    t = PM_MIN(t, s->probe_at);
    return t;
}

int pm_sctp_handle_timeout(pm_sctp *s, pm_time now)
{
    if (!s)
        return PM_ERR_INVALID;
    if (s->in_callback)
        return PM_ERR_REENTRANT;
    enter_time(s, now);
    enter(s);
    if (s->state == SC_CLOSED || s->state == SC_NEW)
        return PM_OK;
    if (s->t1 <= now)
        sc_t1_expired(s, now);
    if (s->rack_t <= now && s->state != SC_CLOSED)
        sc_rack_expired(s, now);
    if (s->t3 <= now && s->state != SC_CLOSED)
        sc_t3_expired(s, now);
    if (s->t2 <= now && s->state != SC_CLOSED)
        sc_t2_expired(s, now);
    if (s->reconf_t <= now && s->state != SC_CLOSED)
        sc_reconf_expired(s, now);
    if (s->hb_at <= now && s->state != SC_CLOSED)
        sc_heartbeat_due(s, now);
    if (s->probe_at <= now && s->state != SC_CLOSED)
        sc_probe_expired(s, now);
    if (s->sack_at <= now) {
        s->sack_at = PM_TIME_NEVER;
        s->sack_now = true;
    }
    sc_small_trim(s, now);
    sc_flush(s, now);
    return PM_OK;
}

void pm_sctp_shutdown(pm_sctp *s)
{
    if (!s || s->in_callback)
        return;
    enter(s);
    if (s->state == SC_COOKIE_WAIT || s->state == SC_COOKIE_ECHOED) {
        sc_abort(s, PM_CAUSE_USER_ABORT, "shut down before the association was up");
        return;
    }
    if (s->state != SC_ESTABLISHED)
        return;
    /* RFC 9260 section 9.2: SHUTDOWN once everything sent is acknowledged. */
    s->state = SC_SHUTDOWN_PENDING;
    pm_time now = s->now;
    sc_shutdown_progress(s, now);
    sc_flush(s, now);
}

/* ---- self-check (tests and the fuzz target) ---- */

typedef struct held_ctx {
    size_t bytes;
} held_ctx;

static void pending_bytes(pm_sctp *s, sc_stream *st, void *ud)
{
    (void)s;
    held_ctx *h = ud;
    for (const sc_rmsg *m = st->pending; m; m = m->next)
        h->bytes += m->len;
}

bool sc_consistent(const pm_sctp *s)
{
    if (s->ring_count != s->next_tsn - s->cum_ack - 1 && s->state >= SC_ESTABLISHED)
        return false;
    size_t flight = 0, out = 0;
    uint32_t lost = 0;
    for (uint32_t i = 0; i < s->ring_count; i++) {
        const sc_ochunk *oc = &s->ring[(s->ring_head + i) & (s->ring_cap - 1)];
        if (oc->tsn != s->cum_ack + 1 + i)
            return false;
        if (oc->state == OC_FLIGHT)
            flight += oc->len;
        if (oc->state == OC_LOST)
            lost++;
        if (oc->state != OC_ABANDONED)
            out += oc->len;
    }
    if (flight != s->flight || lost != s->nlost || s->buffered != s->queued + out)
        return false;
    held_ctx h = {0};
    for (size_t i = 0; i < s->nfrags; i++)
        h.bytes += s->frags[i].len;
    for (const sc_rmsg *m = s->open; m; m = m->next)
        h.bytes += m->len;
    sc_each_stream((pm_sctp *)s, pending_bytes, &h);
    return s->rx_held >= h.bytes;
}
