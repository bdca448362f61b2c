/*
 * The sending half: every TSN from the peer's cumulative ack to the next
 * one we will assign lives in a ring (no allocation per chunk; the ring
 * doubles when full), each entry pointing into its message. SACKs move the
 * ring (RFC 9260 section 6.2.1), gap blocks and miss indications drive fast
 * retransmit (7.2.4), T3-rtx drives the timeout path (6.3.3), and the
 * congestion window follows section 7.2 with one deviation (see
 * loss_response). PR-SCTP (RFC 3758) abandons messages here and computes the
 * FORWARD-TSN that skips them.
 */
#include "sctp/assoc.h"

/* The ring starts at, and shrinks back to, this many entries (640 bytes):
 * a connection at rest keeps no more (memory per connection is a goal),
 * and one sending a message now and then never allocates for it. */
#define RING_SMALL 16
/* RFC 3465 style byte counting: a SACK may grow cwnd in slow start by up
 * to this many MTUs (we SACK every SC_SACK_EVERY packets). */
#define SS_LIMIT SC_SACK_EVERY
/* A round trip's losses below this share of its packets are taken for
 * random loss, not congestion (see loss_response): BBRv2's threshold. */
#define LOSS_TOLERANCE_PCT 2
/* ...and fewer losses than this in a round trip are never congestion: in a
 * small window (slow start's first rounds) one random loss is over 2 %. */
#define LOSS_TOLERANCE_MIN 3

/* ---- the ring ---- */

int sc_ring_reserve(pm_sctp *s)
{
    if (s->ring_count < s->ring_cap)
        return PM_OK;
    uint32_t ncap = s->ring_cap ? s->ring_cap * 2 : RING_SMALL;
    if (ncap > (1u << 24))
        return PM_ERR_FULL;
    sc_ochunk *nr = pm_alloc(s->env, ncap * sizeof *nr);
    if (!nr)
        return PM_ERR_NOMEM;
    for (uint32_t i = 0; i < s->ring_count; i++)
        nr[i] = s->ring[(s->ring_head + i) & (s->ring_cap - 1)];
    pm_free(s->env, s->ring);
    s->ring = nr;
    s->ring_cap = ncap;
    s->ring_head = 0;
    return PM_OK;
}

sc_ochunk *sc_ring_at(pm_sctp *s, uint32_t tsn)
{
    uint32_t off = tsn - (s->cum_ack + 1);
    if (off >= s->ring_count)
        return NULL;
    return &s->ring[(s->ring_head + off) & (s->ring_cap - 1)];
}

void sc_ring_free(pm_sctp *s)
{
    for (uint32_t i = 0; i < s->ring_count; i++)
        sc_omsg_unref(s, s->ring[(s->ring_head + i) & (s->ring_cap - 1)].msg);
    pm_free(s->env, s->ring);
    s->ring = NULL;
    s->ring_cap = s->ring_count = s->ring_head = 0;
}

bool sc_outstanding(const pm_sctp *s)
{
    return s->ring_count > 0;
}

/* ---- timers and RTT ---- */

void sc_sender_init(pm_sctp *s, uint32_t a_rwnd)
{
    s->peer_rwnd = a_rwnd;
    /* RFC 9260 section 7.2.1 allows 4 MTUs; 10 as RFC 6928, dcSCTP and
     * usrsctp as configured before (WEBRTC-NOTES 4.4). */
    s->cwnd = SC_INITIAL_CWND;
    s->ssthresh = a_rwnd;
    s->rto = sc_rto_initial();
    s->t3 = PM_TIME_NEVER;
    s->round_end = s->next_tsn - 1;
    s->highest_acked = s->cum_ack;
    s->reo_mult = 1;
    s->rack_t = PM_TIME_NEVER;
}

/* RFC 9260 section 6.3.1. */
void sc_rtt_sample(pm_sctp *s, pm_time r)
{
    if (r < 0)
        return;
    if (!s->have_rtt) {
        s->srtt = r;
        s->rttvar = r / 2;
        s->have_rtt = true;
    } else {
        pm_time d = s->srtt > r ? s->srtt - r : r - s->srtt;
        s->rttvar = (3 * s->rttvar + d) / 4;
        s->srtt = (7 * s->srtt + r) / 8;
    }
    /* The variance term is at least SC_RTTVAR_MIN (as Linux TCP and dcSCTP
     * do): on a steady path it shrinks to nothing, and an RTO barely above
     * the round trip fires while a fast retransmission is on its way,
     * which costs the whole window. */
    pm_time rto = s->srtt + PM_MAX(4 * s->rttvar, SC_RTTVAR_MIN);
    s->rto = PM_MIN(PM_MAX(rto, SC_RTO_MIN), SC_RTO_MAX);
}

void sc_chunk_sent(pm_sctp *s, pm_time now, sc_ochunk *oc, bool retransmission)
{
    if (retransmission) {
        s->stats.retransmitted++;
        s->nlost--;
        if (oc->nrtx < UINT8_MAX)
            oc->nrtx++;
    }
    oc->state = OC_FLIGHT;
    oc->sent = now;
    s->flight += oc->len;
    s->peer_rwnd = s->peer_rwnd > oc->len ? s->peer_rwnd - oc->len : 0;
    /* Section 7.2.4 (4): a retransmission of the earliest outstanding chunk
     * restarts T3, else the timer may end while it is on its way. */
    if (s->t3 == PM_TIME_NEVER || (retransmission && oc->tsn == s->cum_ack + 1))
        s->t3 = now + s->rto;
}

/* ---- PR-SCTP ---- */

static void set_abandoned(pm_sctp *s, sc_ochunk *oc)
{
    switch (oc->state) {
    case OC_FLIGHT:
        s->flight -= oc->len;
        break;
    case OC_LOST:
        s->nlost--;
        break;
    case OC_ABANDONED:
        return;
    default:
        break;
    }
    oc->state = OC_ABANDONED;
    s->buffered -= oc->len;
}

/* The peer has a message's first fragments and waits for its end. A TSN
 * for the unsent rest, never sent, lets FORWARD-TSN cover the whole message
 * (DATA: no receiver is left holding a message without an end, the abort of
 * usrsctp issue 592), and gives the abandoned message a TSN to be named at
 * (I-FORWARD-TSN) even when every fragment sent was acknowledged already. */
static void add_unsent_end(pm_sctp *s, sc_omsg *m)
{
    if (sc_ring_reserve(s) != PM_OK)
        return;
    uint32_t tsn = s->next_tsn;
    s->ring_count++;
    s->next_tsn++;
    sc_ochunk *oc = sc_ring_at(s, tsn);
    if (!oc)
        return; /* cannot happen: just reserved */
    memset(oc, 0, sizeof *oc);
    oc->msg = m;
    oc->tsn = tsn;
    oc->off = m->chunked;
    oc->flags = (uint8_t)(PM_DATA_END | (m->unordered ? PM_DATA_UNORDERED : 0));
    oc->state = OC_ABANDONED;
    m->refs++;
    m->last_tsn = tsn;
}

void sc_abandon(pm_sctp *s, sc_omsg *m)
{
    if (m->abandoned)
        return;
    m->abandoned = true;
    sc_stream *st = sc_stream_get(s, m->sid, false);
    if (st)
        st->abandoned++;
    uint32_t unsent = m->len - m->chunked;
    s->queued -= unsent;
    s->buffered -= unsent;
    if (m->chunked > 0 && unsent > 0)
        add_unsent_end(s, m);
    bool had_chunks = m->chunked > 0;
    m->chunked = m->len;
    m->refs++; /* alive through sc_unqueue, which drops the queue's reference */
    sc_unqueue(s, m);
    if (had_chunks) {
        for (uint32_t t = m->first_tsn; pm_tsn_le(t, m->last_tsn); t++) {
            sc_ochunk *oc = sc_ring_at(s, t);
            if (oc && oc->msg == m)
                set_abandoned(s, oc);
        }
    }
    s->fwd_due = true;
    sc_omsg_unref(s, m);
}

/* A chunk found lost: retransmit it, unless its message's policy says to
 * give up on it (RFC 3758 section 3.5 A3, RFC 8831 section 6.1). */
static void mark_lost(pm_sctp *s, pm_time now, sc_ochunk *oc, uint32_t tsn)
{
    sc_omsg *m = oc->msg;
    if (m->abandoned) {
        set_abandoned(s, oc);
        return;
    }
    if ((m->max_rtx != UINT32_MAX && oc->nrtx >= m->max_rtx) || m->expires <= now) {
        sc_abandon(s, m);
        return;
    }
    if (oc->state == OC_FLIGHT)
        s->flight -= oc->len;
    oc->state = OC_LOST;
    s->stats.lost++;
    s->nlost++;
    s->round_lost++;
    if (pm_tsn_lt(tsn, s->lost_from))
        s->lost_from = tsn;
}

uint32_t sc_forward_point(pm_sctp *s, size_t *nentries)
{
    *nentries = 0;
    uint32_t ap = s->cum_ack;
    size_t n = 0;
    for (;;) {
        sc_ochunk *oc = sc_ring_at(s, ap + 1);
        if (!oc || oc->state != OC_ABANDONED)
            break;
        sc_omsg *m = oc->msg;
        if (s->idata || !m->unordered) {
            /* RFC 3758 section 3.2 / RFC 8260 section 2.3.1: one entry per
             * stream (DATA: its highest skipped SSN) or per message. */
            size_t k = 0;
            for (; k < n; k++) {
                pm_fwd_entry *e = &s->fwd[k];
                if (e->sid != m->sid || e->unordered != m->unordered)
                    continue;
                if (!s->idata) {
                    if (pm_ssn_lt((uint16_t)e->mid, (uint16_t)m->mid))
                        e->mid = m->mid;
                    break;
                }
                if (e->mid == m->mid)
                    break;
            }
            if (k == n) {
                if (n == SC_MAX_FWD)
                    break; /* the rest goes in the next FORWARD-TSN */
                s->fwd[n++] = (pm_fwd_entry){m->sid, m->unordered, m->mid};
            }
        }
        ap++;
    }
    if (ap == s->cum_ack || s->idata) {
        *nentries = n;
        return ap;
    }
    /* aiortc 1.4 prunes every stream's reassembly up to the TSN it reaches
     * after a FORWARD-TSN, counting in what it already holds beyond it: a
     * message received in part just after `ap` would lose its first
     * fragments and stall its stream. Skip only once no such message
     * straddles the end of the acknowledged run (harmless for others). */
    uint32_t y = ap;
    for (;;) {
        sc_ochunk *oc = sc_ring_at(s, y + 1);
        if (!oc || oc->state != OC_ACKED)
            break;
        y++;
    }
    if (y != ap && !(sc_ring_at(s, y)->flags & PM_DATA_END))
        return s->cum_ack;
    *nentries = n;
    return ap;
}

/* ---- SACK ---- */

/* RFC 9260 section 7.2.3 / 7.2.4, with one deviation: a round trip whose
 * loss stayed under LOSS_TOLERANCE_PCT of its packets is taken as random
 * loss (radio, a lossy relay) and does not halve cwnd. The RFC's rule
 * makes a 50 ms path with 0.1 % loss crawl at ~1 MB/s (cwnd ~ 1.2/sqrt(p)
 * packets); real congestion (a full queue) loses far more than 2 % of a
 * round trip and still halves it, as do timeouts. Fast retransmission
 * itself is unchanged. */
static void loss_response(pm_sctp *s)
{
    s->stats.window_cuts++;
    s->ssthresh = PM_MAX(s->cwnd / 2, SC_MIN_CWND);
    s->cwnd = s->ssthresh;
    s->pba = 0;
}

/* A round trip ends when the cumulative ack passes what was sent at its start. */
static void end_round(pm_sctp *s)
{
    if (pm_tsn_lt(s->cum_ack, s->round_end))
        return;
    /* the share of the chunks this round trip settled (acked or lost) */
    uint64_t settled = (uint64_t)s->round_acked + s->round_lost;
    if (s->round_lost >= LOSS_TOLERANCE_MIN &&
        (uint64_t)s->round_lost * 100 > settled * LOSS_TOLERANCE_PCT) {
        if (!s->fast_recovery)
            loss_response(s);
        s->fast_recovery = true;
        s->fr_exit = s->next_tsn - 1;
    }
    s->round_end = s->next_tsn - 1;
    s->round_acked = s->round_lost = 0;
    /* RFC 8985 section 6.2: the reordering window shrinks back slowly. */
    if (++s->reo_calm >= 16) {
        s->reo_calm = 0;
        if (s->reo_mult > 1)
            s->reo_mult--;
    }
}

static void grow_cwnd(pm_sctp *s, size_t acked, size_t flight_before)
{
    if (s->fast_recovery || acked == 0)
        return;
    /* Only while the window is used (section 7.2.1). */
    if (flight_before + SC_MTU < s->cwnd)
        return;
    if (s->cwnd <= s->ssthresh) {
        s->cwnd += (uint32_t)PM_MIN(acked, (size_t)SS_LIMIT * SC_MTU);
        return;
    }
    /* Congestion avoidance (section 7.2.2). */
    s->pba += (uint32_t)acked;
    if (s->pba >= s->cwnd) {
        s->pba -= s->cwnd;
        s->cwnd += SC_MTU;
    }
}

/* ---- loss detection (RACK, RFC 8985, on TSNs) ----
 *
 * A chunk is lost when a chunk sent after it was delivered and a reordering
 * window has passed since: RACK's time-based rule rather than RFC 9260's
 * three miss indications, which a path that reorders (radio, jittery
 * relays) keeps tripping over, and which never fires for a lost
 * retransmission. The window is a quarter of the minimum RTT, widened each
 * time a retransmission turns out to have been needless. */

static pm_time reo_wnd(const pm_sctp *s)
{
    pm_time w = (pm_time)s->reo_mult * s->min_rtt / 4;
    return s->have_rtt ? PM_MIN(w, s->srtt) : w;
}

/* A chunk was delivered (RFC 8985 section 6.2). */
static void rack_delivered(pm_sctp *s, pm_time now, const sc_ochunk *oc)
{
    pm_time rtt = now - oc->sent;
    if (oc->nrtx > 0 && rtt < s->min_rtt) {
        /* acked sooner than a round trip after its retransmission: the
         * first transmission arrived, the retransmission was needless */
        s->stats.needless++;
        if (s->reo_mult < 16)
            s->reo_mult++;
        s->reo_calm = 0;
        return;
    }
    if (oc->nrtx == 0 && (s->min_rtt == 0 || rtt < s->min_rtt))
        s->min_rtt = PM_MAX(rtt, 1);
    if (oc->sent >= s->rack_xmit) {
        s->rack_xmit = oc->sent;
        s->rack_rtt = rtt;
    }
}

/* Mark lost the chunks in flight in [from, to] that RACK says are lost;
 * arm the RACK timer for the ones that may still be only late. */
static bool detect_lost(pm_sctp *s, pm_time now, uint32_t from, uint32_t to)
{
    bool any = false;
    pm_time wnd = reo_wnd(s);
    for (uint32_t t = from; pm_tsn_le(t, to); t++) {
        sc_ochunk *oc = sc_ring_at(s, t);
        if (!oc)
            break;
        if (oc->state != OC_FLIGHT || oc->sent > s->rack_xmit)
            continue;
        pm_time due = oc->sent + s->rack_rtt + wnd;
        if (due <= now) {
            mark_lost(s, now, oc, t);
            any = true;
        } else if (due < s->rack_t) {
            s->rack_t = due;
        }
    }
    return any;
}

void sc_rack_expired(pm_sctp *s, pm_time now)
{
    s->rack_t = PM_TIME_NEVER;
    if (s->ring_count && pm_tsn_lt(s->cum_ack, s->highest_acked) &&
        detect_lost(s, now, s->cum_ack + 1, s->highest_acked - 1))
        s->fast_rtx_now = true;
}

/* ---- SACK ---- */

/* A chunk that a timeout marked lost, never sent again since, was acked:
 * its first transmission arrived, so the timeout may have been spurious
 * (a stall, a delay spike) rather than the path losing everything. */
static void note_original_delivered(pm_sctp *s, const sc_ochunk *oc, bool *spurious)
{
    if (s->undo_ok && oc->state == OC_LOST && oc->nrtx == 0 && oc->sent < s->t3_at)
        *spurious = true;
}

/* Undo a spurious timeout (as Linux TCP's undo on a DSACK or F-RTO, RFC
 * 5682, do): back to the window before it, and the chunks it marked lost
 * that were not sent again are in flight again (RACK judges them anew). */
static void undo_timeout(pm_sctp *s)
{
    s->undo_ok = false;
    s->stats.spurious_t3++;
    s->cwnd = PM_MAX(s->cwnd, s->undo_cwnd);
    s->ssthresh = PM_MAX(s->ssthresh, s->undo_ssthresh);
    s->errors = 0;
    for (uint32_t t = s->cum_ack + 1; pm_tsn_le(t, s->undo_tsn); t++) {
        sc_ochunk *oc = sc_ring_at(s, t);
        if (!oc)
            break;
        if (oc->state == OC_LOST && oc->nrtx == 0 && oc->sent < s->t3_at) {
            oc->state = OC_FLIGHT;
            s->nlost--;
            s->flight += oc->len;
        }
    }
}

/* Free the ring's entries up to `cum`; the bytes newly acknowledged. */
static size_t advance_cum(pm_sctp *s, pm_time now, uint32_t cum, pm_time *rtt, bool *spurious)
{
    size_t acked = 0;
    while (pm_tsn_lt(s->cum_ack, cum) && s->ring_count > 0) {
        sc_ochunk *oc = &s->ring[s->ring_head];
        note_original_delivered(s, oc, spurious);
        if (oc->state == OC_FLIGHT || oc->state == OC_LOST) {
            if (oc->state == OC_FLIGHT)
                s->flight -= oc->len;
            else
                s->nlost--;
            acked += oc->len;
            s->round_acked++;
            s->buffered -= oc->len;
            /* Karn: only chunks never retransmitted give RTT samples. */
            if (oc->nrtx == 0 && oc->state == OC_FLIGHT)
                *rtt = now - oc->sent;
            rack_delivered(s, now, oc);
        } else if (oc->state == OC_ACKED) {
            s->buffered -= oc->len;
        }
        sc_omsg_unref(s, oc->msg);
        s->ring_head = (s->ring_head + 1) & (s->ring_cap - 1);
        s->ring_count--;
        s->cum_ack++;
    }
    if (pm_tsn_lt(s->lost_from, s->cum_ack + 1))
        s->lost_from = s->cum_ack + 1;
    if (pm_tsn_lt(s->highest_acked, s->cum_ack))
        s->highest_acked = s->cum_ack;
    return acked;
}

/* Mark the TSNs of one gap block acknowledged; the bytes newly acked. A
 * chunk never retransmitted gives an RTT sample here too: with a window of
 * thousands of packets some hole is nearly always open, and samples only
 * from the cumulative ack would leave a backed-off RTO in place for long. */
static size_t ack_block(pm_sctp *s, pm_time now, uint32_t from, uint32_t to, pm_time *rtt,
                        bool *spurious)
{
    size_t acked = 0;
    for (uint32_t t = from; pm_tsn_le(t, to); t++) {
        sc_ochunk *oc = sc_ring_at(s, t);
        if (!oc)
            break;
        if (oc->state != OC_FLIGHT && oc->state != OC_LOST)
            continue;
        note_original_delivered(s, oc, spurious);
        if (oc->state == OC_FLIGHT)
            s->flight -= oc->len;
        else
            s->nlost--;
        if (oc->nrtx == 0 && oc->state == OC_FLIGHT)
            *rtt = now - oc->sent;
        oc->state = OC_ACKED;
        acked += oc->len;
        s->round_acked++;
        rack_delivered(s, now, oc);
        if (pm_tsn_lt(s->highest_acked, t))
            s->highest_acked = t;
    }
    return acked;
}

void sc_check_send_ready(pm_sctp *s)
{
    if (s->want_send_ready && s->buffered + s->blocked_len <= s->cfg.send_buffer) {
        s->want_send_ready = false;
        s->blocked_len = 0;
        sc_push_event(s, PM_SCTP_EV_SEND_READY, 0, 0);
    }
}

static bool sack_state_ok(const pm_sctp *s)
{
    return s->state >= SC_ESTABLISHED && s->state <= SC_SHUTDOWN_ACK_SENT;
}

void sc_on_sack(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    pm_chunk_sack k;
    if (!sack_state_ok(s) || pm_chunk_parse_sack(c, &k) != PM_OK)
        return;
    /* Section 6.2.1 D: an older cumulative ack is out of date. */
    if (pm_tsn_lt(k.cum_tsn, s->cum_ack))
        return;
    if (!pm_tsn_lt(k.cum_tsn, s->next_tsn)) {
        PM_DEBUG(s->env, "sctp", "SACK for TSN %u never sent: dropped", (unsigned)k.cum_tsn);
        return;
    }
    size_t flight_before = s->flight;
    uint32_t old_cum = s->cum_ack;
    pm_time rtt = -1;
    bool spurious = false;
    size_t acked = advance_cum(s, now, k.cum_tsn, &rtt, &spurious);
    /* Gap blocks (blocks out of order or overlapping are skipped), then
     * the holes between them: the chunks still missing below the highest
     * TSN the peer has. */
    uint32_t prev_end = 0;
    for (size_t i = 0; i < k.ngaps; i++) {
        uint16_t gs, ge;
        pm_chunk_sack_gap(&k, i, &gs, &ge);
        if (gs == 0 || ge < gs || gs <= prev_end)
            continue;
        acked += ack_block(s, now, s->cum_ack + gs, s->cum_ack + ge, &rtt, &spurious);
        prev_end = ge;
    }
    if (spurious)
        undo_timeout(s);
    else if (s->undo_ok && !pm_tsn_lt(s->cum_ack, s->undo_tsn))
        s->undo_ok = false; /* everything then outstanding is settled */
    bool lost = false;
    if (pm_tsn_lt(s->cum_ack, s->highest_acked)) {
        prev_end = 0;
        for (size_t i = 0; i < k.ngaps; i++) {
            uint16_t gs, ge;
            pm_chunk_sack_gap(&k, i, &gs, &ge);
            if (gs == 0 || ge < gs || gs <= prev_end)
                continue;
            lost |= detect_lost(s, now, s->cum_ack + prev_end + 1, s->cum_ack + gs - 1);
            prev_end = ge;
        }
    }
    bool cum_moved = s->cum_ack != old_cum;
    if (rtt >= 0)
        sc_rtt_sample(s, rtt);
    /* Section 7.2.1 grows cwnd only when the cumulative ack moves; we count
     * chunks acked in gap blocks too (as TCP does with SACK): on a long
     * path with random loss a hole is nearly always open, and the RFC's
     * rule stalls slow start for a round trip at each. */
    grow_cwnd(s, acked, flight_before);
    if (cum_moved) {
        s->errors = 0;
        if (s->fast_recovery && !pm_tsn_lt(s->cum_ack, s->fr_exit))
            s->fast_recovery = false;
    }
    if (lost)
        s->fast_rtx_now = true;
    end_round(s);
    /* Section 6.2.1: the peer's window minus what is still in flight. */
    s->peer_rwnd = k.a_rwnd > s->flight ? (uint32_t)(k.a_rwnd - s->flight) : 0;
    /* Section 6.3.2 R2/R3: stop T3 when nothing is outstanding; restart it
     * when the earliest outstanding TSN was acknowledged. */
    if (s->ring_count == 0)
        s->t3 = PM_TIME_NEVER;
    else if (cum_moved || s->t3 == PM_TIME_NEVER)
        s->t3 = now + s->rto;
    /* A lost FORWARD-TSN is sent again on every SACK that still shows
     * abandoned TSNs right after the cumulative ack. */
    if (s->ring_count && s->ring[s->ring_head].state == OC_ABANDONED)
        s->fwd_due = true;
    if (s->ring_count == 0 && s->ring_cap > RING_SMALL) {
        sc_ochunk *small = pm_alloc(s->env, RING_SMALL * sizeof *small);
        if (small) { /* else keep the big one */
            pm_free(s->env, s->ring);
            s->ring = small;
            s->ring_cap = RING_SMALL;
            s->ring_head = 0;
        }
    }
    sc_check_send_ready(s);
    if (cum_moved)
        sc_shutdown_progress(s, now);
}

/* Section 6.3.3. */
void sc_t3_expired(pm_sctp *s, pm_time now)
{
    if (s->ring_count == 0) {
        s->t3 = PM_TIME_NEVER;
        return;
    }
    s->stats.t3++;
    if (++s->errors > SC_MAX_RETRANS) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION, "peer unreachable: too many retransmissions");
        return;
    }
    s->rto = PM_MIN(2 * s->rto, SC_RTO_MAX);
    /* Section 7.2.3, for the first timeout of a run only (as Linux TCP
     * does): the next ones find cwnd at one packet, and halving that would
     * leave ssthresh at its minimum after an outage of a few RTOs. */
    if (s->errors == 1) {
        s->undo_ok = true;
        s->undo_cwnd = s->cwnd;
        s->undo_ssthresh = s->ssthresh;
        s->undo_tsn = s->next_tsn - 1;
        s->ssthresh = PM_MAX(s->cwnd / 2, SC_MIN_CWND);
    }
    s->t3_at = now;
    s->cwnd = SC_MTU;
    s->pba = 0;
    s->fast_recovery = false;
    for (uint32_t i = 0; i < s->ring_count; i++) {
        uint32_t tsn = s->cum_ack + 1 + i;
        sc_ochunk *oc = sc_ring_at(s, tsn);
        if (oc->state == OC_FLIGHT)
            mark_lost(s, now, oc, tsn);
    }
    /* The timeout was the response: what it marked lost starts no round
     * trip's worth of loss (end_round would halve ssthresh down to its
     * minimum, leaving the path in congestion avoidance from 4 packets). */
    s->round_end = s->next_tsn - 1;
    s->round_acked = s->round_lost = 0;
    s->fwd_due = true;
    s->t3 = now + s->rto;
}
