/*
 * Packet assembly. Every call that may have produced work ends in
 * sc_flush, which fills packets in one buffer of the association, in the
 * order RFC 9260 asks (section 6.10: control chunks before DATA;
 * COOKIE-ECHO first), retransmissions before new data (section 6.1 C), new
 * data only within the congestion and receive windows (section 6.1 A/B),
 * and hands each packet to the send callback, which copies it.
 */
#include "sctp/assoc.h"

static void emit(pm_sctp *s, const uint8_t *pkt, size_t len)
{
    s->in_callback++;
    s->cb.send(s->cb.ud, pkt, len);
    s->in_callback--;
}

void sc_send_lone_chunk(pm_sctp *s, const uint8_t *chunk, size_t len, uint32_t vtag)
{
    uint8_t pkt[SC_PKT_MAX];
    if (len > SC_MTU)
        return;
    pm_chunk_write_header(pkt, s->cfg.local_port, s->cfg.remote_port, vtag);
    memcpy(pkt + PM_SCTP_HEADER_LEN, chunk, len);
    pm_chunk_set_crc(pkt, PM_SCTP_HEADER_LEN + len);
    emit(s, pkt, PM_SCTP_HEADER_LEN + len);
}

static bool data_state(const pm_sctp *s)
{
    /* Section 9.2: queued data still goes out while shutting down. */
    return s->state == SC_ESTABLISHED || s->state == SC_SHUTDOWN_PENDING ||
           s->state == SC_SHUTDOWN_RECEIVED;
}

/* Section 6.1 A (receive window, with one probe when nothing is in
 * flight) and B (congestion window). */
static bool may_send_new(const pm_sctp *s)
{
    return s->flight < s->cwnd && (s->peer_rwnd > 0 || s->flight == 0);
}

static bool data_waiting(const pm_sctp *s)
{
    return data_state(s) && (s->nlost > 0 || (s->queued > 0 && may_send_new(s)));
}

static size_t room(const pm_sctp *s)
{
    return SC_PKT_MAX - s->pkt_len;
}

static uint8_t *tail(pm_sctp *s)
{
    return s->pkt + s->pkt_len;
}

/* Control chunks, each written once when due (a flag stays set when the
 * chunk did not fit, and it goes in the next packet). */
static void write_control(pm_sctp *s, pm_time now, bool data_follows)
{
    if (s->state == SC_COOKIE_ECHOED || s->send_cookie_ack)
        s->pkt_len += sc_write_handshake(s, tail(s), room(s));
    bool acking = s->state >= SC_ESTABLISHED && s->state <= SC_SHUTDOWN_SENT;
    /* A delayed SACK rides on outgoing data (section 6.2). */
    if (acking && (s->sack_now || (data_follows && s->sack_at != PM_TIME_NEVER)))
        s->pkt_len += sc_write_sack(s, tail(s), room(s));
    s->pkt_len += sc_write_shutdown(s, tail(s), room(s));
    if (s->state >= SC_ESTABLISHED)
        s->pkt_len += sc_write_heartbeats(s, tail(s), room(s));
    if (s->state >= SC_ESTABLISHED && s->state <= SC_SHUTDOWN_RECEIVED && s->reconfig)
        s->pkt_len += sc_write_reconfig(s, now, tail(s), room(s));
    if (s->fwd_due && s->prsctp && data_state(s)) {
        size_t n;
        uint32_t ap = sc_forward_point(s, &n);
        if (ap == s->cum_ack) {
            s->fwd_due = false;
        } else {
            size_t k = pm_chunk_write_fwd(tail(s), room(s), s->idata, ap, s->fwd, &n);
            if (k) {
                s->pkt_len += k;
                s->fwd_due = false;
            }
        }
    }
}

static size_t write_data(pm_sctp *s, const sc_ochunk *oc)
{
    const sc_omsg *m = oc->msg;
    pm_chunk_data d = {
        .idata = s->idata,
        .flags = oc->flags,
        .tsn = oc->tsn,
        .sid = m->sid,
        .mid = m->mid,
        .fsn = oc->fsn,
        .ppid = m->ppid,
        .payload = m->data + oc->off,
        .len = oc->len,
    };
    return pm_chunk_write_data(tail(s), room(s), &d);
}

static sc_ochunk *next_lost(pm_sctp *s)
{
    uint32_t t = s->lost_from;
    if (pm_tsn_lt(t, s->cum_ack + 1))
        t = s->cum_ack + 1;
    for (; pm_tsn_lt(t, s->next_tsn); t++) {
        sc_ochunk *oc = sc_ring_at(s, t);
        if (oc->state == OC_LOST) {
            s->lost_from = t;
            return oc;
        }
    }
    s->nlost = 0; /* cannot happen: nothing was lost after all */
    return NULL;
}

static void write_retransmissions(pm_sctp *s, pm_time now)
{
    while (s->nlost > 0 && (s->fast_rtx_now || s->flight < s->cwnd)) {
        sc_ochunk *oc = next_lost(s);
        if (!oc || pm_chunk_data_header(s->idata) + oc->len > room(s))
            return;
        s->pkt_len += write_data(s, oc);
        sc_chunk_sent(s, now, oc, true);
    }
}

static void write_new_data(pm_sctp *s, pm_time now)
{
    size_t hdr = pm_chunk_data_header(s->idata);
    while (s->nlost == 0 && s->queued > 0 && may_send_new(s) && room(s) > hdr) {
        sc_ochunk *oc = sc_next_fragment(s, now, room(s) - hdr);
        if (!oc)
            return;
        s->pkt_len += write_data(s, oc);
        sc_chunk_sent(s, now, oc, false);
    }
}

void sc_flush(pm_sctp *s, pm_time now)
{
    if (s->state == SC_NEW || s->state == SC_CLOSED || s->in_callback)
        return;
    if (s->send_init && s->state == SC_COOKIE_WAIT) {
        uint8_t chunk[64];
        size_t n = sc_write_init(s, chunk, sizeof chunk);
        if (n)
            sc_send_lone_chunk(s, chunk, n, 0); /* section 8.5.1: INIT has tag 0 */
        s->send_init = false;
    }
    /* Each pass builds one packet; a pass that adds nothing ends it. The
     * bound only guards against a bug turning this into a spin. */
    for (unsigned pass = 0; pass < 1000000; pass++) {
        pm_chunk_write_header(s->pkt, s->cfg.local_port, s->cfg.remote_port, s->peer_vtag);
        s->pkt_len = PM_SCTP_HEADER_LEN;
        write_control(s, now, data_waiting(s));
        if (data_state(s)) {
            write_retransmissions(s, now);
            s->fast_rtx_now = false;
            write_new_data(s, now);
        }
        if (s->pkt_len == PM_SCTP_HEADER_LEN)
            break;
        /* RFC 9653 section 5: without a checksum when the peer takes that,
         * except a COOKIE-ECHO (the peer's choice may not be known yet
         * where it is processed); the field is zero from the header. */
        if (!s->zero_checksum || s->pkt[PM_SCTP_HEADER_LEN] == PM_CHUNK_COOKIE_ECHO)
            pm_chunk_set_crc(s->pkt, s->pkt_len);
        emit(s, s->pkt, s->pkt_len);
        if (s->state == SC_CLOSED)
            break;
    }
    s->pkt_len = 0;
}
