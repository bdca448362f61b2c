/*
 * The receiving half's bookkeeping: which TSNs arrived (the cumulative TSN
 * and sorted ranges above it, which become SACK gap blocks), duplicates,
 * when to SACK (RFC 9260 section 6.2: every SC_SACK_EVERY packets, at once
 * on a gap, a duplicate or a filled gap, else after SC_SACK_DELAY), the
 * advertised window, and FORWARD-TSN (RFC 3758 section 3.6). Payloads go
 * on to reassembly.c.
 */
#include "sctp/assoc.h"

/* TSNs tracked beyond the cumulative one (a SACK gap offset is 16 bits). */
#define TSN_WINDOW 65535u
/* Ranges of received TSNs above the cumulative one. */
#define MAX_RANGES 4096

uint32_t sc_arwnd(const pm_sctp *s)
{
    return s->rx_held >= s->cfg.recv_buffer ? 0 : (uint32_t)(s->cfg.recv_buffer - s->rx_held);
}

void sc_receiver_free(pm_sctp *s)
{
    pm_free(s->env, s->ranges);
    s->ranges = NULL;
    s->nranges = s->ranges_cap = 0;
}

static bool received(const pm_sctp *s, uint32_t tsn)
{
    if (pm_tsn_le(tsn, s->peer_cum))
        return true;
    /* binary search over sorted, disjoint ranges */
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const sc_range *r = &s->ranges[mid];
        if (pm_tsn_lt(tsn, r->start))
            hi = mid;
        else if (pm_tsn_lt(r->end, tsn))
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* The cumulative TSN reached the first range: absorb it. */
static void absorb_first_range(pm_sctp *s)
{
    while (s->nranges && s->ranges[0].start == s->peer_cum + 1) {
        s->peer_cum = s->ranges[0].end;
        memmove(s->ranges, s->ranges + 1, --s->nranges * sizeof *s->ranges);
        s->sack_now = true; /* section 6.7: a filled gap is reported at once */
    }
}

/* Record `tsn` (not received before); false when there is no room. */
static bool mark_received(pm_sctp *s, uint32_t tsn)
{
    if (pm_tsn_lt(s->highest_rx, tsn))
        s->highest_rx = tsn;
    if (tsn == s->peer_cum + 1) {
        s->peer_cum = tsn;
        absorb_first_range(s);
        return true;
    }
    /* The common out-of-order case extends the last range. */
    if (s->nranges && s->ranges[s->nranges - 1].end + 1 == tsn) {
        s->ranges[s->nranges - 1].end = tsn;
        return true;
    }
    size_t i = 0;
    while (i < s->nranges && pm_tsn_lt(s->ranges[i].end, tsn))
        i++;
    /* tsn lies between ranges[i-1] and ranges[i] (or after the last) */
    bool joins_prev = i > 0 && s->ranges[i - 1].end + 1 == tsn;
    bool joins_next = i < s->nranges && s->ranges[i].start == tsn + 1;
    if (joins_prev && joins_next) {
        s->ranges[i - 1].end = s->ranges[i].end;
        memmove(s->ranges + i, s->ranges + i + 1, (s->nranges - i - 1) * sizeof *s->ranges);
        s->nranges--;
        return true;
    }
    if (joins_prev) {
        s->ranges[i - 1].end = tsn;
        return true;
    }
    if (joins_next) {
        s->ranges[i].start = tsn;
        return true;
    }
    if (s->nranges == s->ranges_cap) {
        if (s->ranges_cap >= MAX_RANGES)
            return false;
        size_t ncap = s->ranges_cap ? s->ranges_cap * 2 : 8;
        sc_range *nr = pm_realloc(s->env, s->ranges, ncap * sizeof *nr);
        if (!nr)
            return false;
        s->ranges = nr;
        s->ranges_cap = ncap;
    }
    memmove(s->ranges + i + 1, s->ranges + i, (s->nranges - i) * sizeof *s->ranges);
    s->ranges[i] = (sc_range){tsn, tsn};
    s->nranges++;
    return true;
}

static void note_duplicate(pm_sctp *s, uint32_t tsn)
{
    if (s->ndups < SC_MAX_DUPS)
        s->dups[s->ndups++] = tsn;
    s->sack_now = true; /* section 6.2: a duplicate is reported at once */
}

/* Data for a stream whose reset the peer asked for but we have not done
 * yet (RFC 6525 section 5.2.2), sent after that reset: not taken now, so
 * the peer sends it again once the reset is done. */
static bool held_by_deferred_reset(const pm_sctp *s, const pm_chunk_data *d)
{
    const sc_reset_req *r = &s->in_req;
    if (!r->active || pm_tsn_le(d->tsn, r->last_tsn))
        return false;
    if (r->nsids == 0)
        return true;
    for (size_t i = 0; i < r->nsids; i++)
        if (r->sids[i] == d->sid)
            return true;
    return false;
}

void sc_on_data(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    (void)now;
    if (s->state < SC_ESTABLISHED || s->state > SC_SHUTDOWN_SENT)
        return;
    pm_chunk_data d;
    if (pm_chunk_parse_data(c, &d) != PM_OK) {
        sc_abort(s, PM_CAUSE_NO_USER_DATA, "a DATA chunk without user data");
        return;
    }
    if (d.idata != s->idata) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION,
                 s->idata ? "DATA after I-DATA was negotiated" : "I-DATA was not negotiated");
        return;
    }
    s->data_in_packet = true;
    if (received(s, d.tsn)) {
        note_duplicate(s, d.tsn);
        return;
    }
    if (d.tsn - s->peer_cum > TSN_WINDOW)
        return; /* beyond what a SACK can describe: the peer sends it again */
    /* Section 6.2: with no room, only a TSN that fills a hole is taken. */
    bool room = s->rx_held + d.len <= s->cfg.recv_buffer;
    if ((!room && pm_tsn_lt(s->highest_rx, d.tsn)) || s->rx_held + d.len > 2 * s->cfg.recv_buffer) {
        s->sack_now = true;
        return;
    }
    if (held_by_deferred_reset(s, &d))
        return;
    bool valid_stream = d.sid < s->in_streams;
    /* An ordered message needs its stream; created before the TSN counts
     * as received, so running out of memory here only costs a resend. */
    if (valid_stream && !(d.flags & PM_DATA_UNORDERED) && !sc_stream_get(s, d.sid, true))
        return;
    if (!mark_received(s, d.tsn))
        return;
    if (s->nranges)
        s->sack_now = true; /* section 6.7: out of order */
    if (d.flags & PM_DATA_IMMEDIATE)
        s->sack_now = true; /* RFC 7053 */
    if (!valid_stream) {
        /* Section 6.5: acknowledged, dropped, reported. */
        PM_DEBUG(s->env, "sctp", "DATA for stream %u beyond the %u negotiated dropped",
                 (unsigned)d.sid, (unsigned)s->in_streams);
        return;
    }
    sc_reasm_add(s, &d);
}

void sc_after_packet(pm_sctp *s, pm_time now)
{
    if (!s->data_in_packet)
        return;
    s->data_in_packet = false;
    if (++s->data_pkts >= SC_SACK_EVERY)
        s->sack_now = true;
    else if (s->sack_at == PM_TIME_NEVER)
        s->sack_at = now + SC_SACK_DELAY;
    sc_reconf_progress(s);
    /* RFC 9260 section 9.2: in SHUTDOWN-SENT, data is answered with SHUTDOWN. */
    if (s->state == SC_SHUTDOWN_SENT)
        s->send_shutdown = true;
}

void sc_on_forward_tsn(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    (void)now;
    if (s->state < SC_ESTABLISHED || s->state > SC_SHUTDOWN_SENT || !s->prsctp)
        return;
    pm_chunk_fwd f;
    if (pm_chunk_parse_fwd(c, &f) != PM_OK)
        return;
    if (f.idata != s->idata) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION, "FORWARD-TSN of the other DATA kind");
        return;
    }
    s->sack_now = true; /* RFC 3758 section 3.6: answered with a SACK at once */
    if (f.new_cum_tsn - s->peer_cum > TSN_WINDOW && pm_tsn_lt(s->peer_cum, f.new_cum_tsn))
        return; /* not something the peer can have sent */
    if (pm_tsn_lt(s->peer_cum, f.new_cum_tsn)) {
        /* Everything up to the new cumulative TSN counts as received. */
        s->peer_cum = f.new_cum_tsn;
        if (pm_tsn_lt(s->highest_rx, s->peer_cum))
            s->highest_rx = s->peer_cum;
        size_t k = 0;
        while (k < s->nranges && pm_tsn_le(s->ranges[k].end, s->peer_cum))
            k++;
        if (k < s->nranges && pm_tsn_le(s->ranges[k].start, s->peer_cum))
            s->ranges[k].start = s->peer_cum + 1;
        if (k > 0) { /* (no ranges at all: s->ranges may be NULL) */
            memmove(s->ranges, s->ranges + k, (s->nranges - k) * sizeof *s->ranges);
            s->nranges -= k;
        }
        absorb_first_range(s);
        s->ndups = 0;
    }
    /* The stream entries count even when every TSN was already here: the
     * sender may have abandoned a message after all its sent fragments
     * arrived, and its stream must not wait for the rest. */
    sc_reasm_forward(s, &f);
    sc_reconf_progress(s);
}

size_t sc_write_sack(pm_sctp *s, uint8_t *out, size_t cap)
{
    /* At most what one packet can carry; the lowest gaps matter most. */
    pm_sack_gap gaps[256];
    size_t ng = 0;
    for (size_t i = 0; i < s->nranges && ng < PM_ARRAY_LEN(gaps); i++) {
        uint32_t a = s->ranges[i].start - s->peer_cum, b = s->ranges[i].end - s->peer_cum;
        if (b > 0xFFFF)
            break;
        gaps[ng++] = (pm_sack_gap){(uint16_t)a, (uint16_t)b};
    }
    size_t nd = s->ndups;
    uint32_t arwnd = sc_arwnd(s);
    size_t n = pm_chunk_write_sack(out, cap, s->peer_cum, arwnd, gaps, &ng, s->dups, &nd);
    if (!n)
        return 0;
    s->ndups = 0;
    s->data_pkts = 0;
    s->sack_now = false;
    s->sack_at = PM_TIME_NEVER;
    s->last_arwnd = arwnd;
    return n;
}

/*
 * The stall probe. Chrome's dcSCTP can stop sending while it owes us the
 * rest of a message: after a T3-rtx timeout its cwnd is one MTU, and a
 * fragment it then abandons (PR-SCTP lifetime) is charged to that budget,
 * so it sends nothing (no FORWARD-TSN either) and starts no timer until
 * its next send call: a SACK from us or its application sending (interop
 * godot pm>chromium stalled until its timeout). With nothing of ours in
 * flight we would wait for it for ever. So when the peer has been quiet
 * for SC_PROBE_FIRST while it owes us data, our SACK goes out again, then
 * at doubling gaps up to SC_PROBE_MAX. A repeated SACK acknowledges
 * nothing new and reports no duplicates, so it cannot start a fast
 * retransmission (RFC 9260 section 7.2.4). The usrsctp build does the
 * same in its adapter.
 */
static bool peer_owes_data(const pm_sctp *s)
{
    /* a missing TSN, or a message begun and not finished */
    return s->nranges > 0 || s->open || s->nfrags > 0;
}

static bool probing_state(const pm_sctp *s)
{
    return s->state >= SC_ESTABLISHED && s->state <= SC_SHUTDOWN_SENT;
}

void sc_probe_arm(pm_sctp *s, pm_time now)
{
    /* What the peer owes changes only with its packets: nothing owed now,
     * no probe until it sends again. */
    if (probing_state(s) && peer_owes_data(s)) {
        s->probe_gap = SC_PROBE_FIRST;
        s->probe_at = now + SC_PROBE_FIRST;
    } else {
        s->probe_at = PM_TIME_NEVER;
    }
}

void sc_probe_expired(pm_sctp *s, pm_time now)
{
    if (!probing_state(s) || !peer_owes_data(s)) {
        s->probe_at = PM_TIME_NEVER;
        return;
    }
    PM_DEBUG(s->env, "sctp", "peer quiet while it owes us data: SACK repeated after %lld ms",
             (long long)(s->probe_gap / PM_MS(1)));
    s->sack_now = true;
    s->probe_gap = PM_MIN(s->probe_gap * 2, SC_PROBE_MAX);
    s->probe_at = now + s->probe_gap;
}

/* The application took data: tell the peer when the window opened by a
 * quarter of the buffer or more since the last SACK (section 6.2 avoids
 * silly window updates the same way). */
void sc_window_update(pm_sctp *s)
{
    if (s->state < SC_ESTABLISHED || s->state > SC_SHUTDOWN_SENT)
        return;
    uint32_t now_open = sc_arwnd(s);
    if (now_open > s->last_arwnd && now_open - s->last_arwnd >= s->cfg.recv_buffer / 4)
        s->sack_now = true;
}
