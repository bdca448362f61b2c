/*
 * Fragments to messages, and messages to the application in the right
 * order (RFC 9260 sections 6.5 and 6.9; RFC 8260 for I-DATA).
 *
 * Copies: a message that fits one chunk and may be delivered now is copied
 * once, from the packet into the event queue. A fragmented message is
 * built in one buffer to which each fragment is appended as it arrives in
 * order; the event lends that buffer out. Only a fragment that arrives
 * before the one it follows is copied twice (kept aside, then appended).
 *
 * A fragment continues a message when it carries the TSN (DATA: fragments
 * of a message take consecutive TSNs) or the FSN (I-DATA, keyed by stream,
 * U bit and MID) that the message expects next.
 */
#include "sctp/assoc.h"

/* Smallest buffer for a fragmented message; it doubles from here. */
#define RBUF_MIN 8192
/* Keep one spare message buffer up to this size between messages. */
#define RBUF_KEEP (256 * 1024)

static uint64_t idata_key(uint16_t sid, bool unordered, uint32_t mid)
{
    return ((uint64_t)sid << 33) | ((uint64_t)unordered << 32) | mid;
}

/* SSNs (DATA) are 16 bits, MIDs (I-DATA) 32. */
static uint32_t next_mid(const pm_sctp *s, uint32_t m)
{
    return s->idata ? m + 1 : (m + 1) & 0xFFFF;
}

static bool mid_lt(const pm_sctp *s, uint32_t a, uint32_t b)
{
    return s->idata ? pm_tsn_lt(a, b) : pm_ssn_lt((uint16_t)a, (uint16_t)b);
}

/* ---- message buffers ---- */

/* Keep a message buffer for the next fragmented message (the two largest
 * up to RBUF_KEEP: one is often still lent out to the application when the
 * next message starts). */
static void keep_spare(pm_sctp *s, uint8_t *data, size_t cap)
{
    int k = s->spare_cap[0] <= s->spare_cap[1] ? 0 : 1; /* the smaller slot */
    if (cap <= RBUF_KEEP && cap > s->spare_cap[k]) {
        pm_free(s->env, s->spare[k]);
        s->spare[k] = data;
        s->spare_cap[k] = cap;
    } else {
        pm_free(s->env, data);
    }
}

void sc_rmsg_free(pm_sctp *s, sc_rmsg *m)
{
    if (!m)
        return;
    if (m->data != (uint8_t *)(m + 1))
        keep_spare(s, m->data, m->cap);
    pm_free(s->env, m);
}

static sc_rmsg *rmsg_new(pm_sctp *s, const pm_chunk_data *d, uint64_t key, size_t inline_len)
{
    sc_rmsg *m = pm_alloc(s->env, sizeof *m + inline_len);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->key = key;
    m->first_tsn = d->tsn;
    m->ppid = d->ppid;
    m->mid = d->mid;
    m->sid = d->sid;
    m->unordered = (d->flags & PM_DATA_UNORDERED) != 0;
    if (inline_len) {
        m->data = (uint8_t *)(m + 1);
        m->cap = inline_len;
    }
    return m;
}

static void too_big(pm_sctp *s, uint16_t sid)
{
    PM_WARN(s->env, "sctp", "message on stream %u exceeds max-message-size %zu: dropped",
            (unsigned)sid, s->cfg.max_message_size);
}

static int append(pm_sctp *s, sc_rmsg *m, const uint8_t *p, size_t n)
{
    if (m->discard)
        return PM_OK;
    if (m->len + n > s->cfg.max_message_size) {
        /* Read on to its end (its fragments keep their TSNs), keep nothing. */
        too_big(s, m->sid);
        s->rx_held -= m->len;
        if (m->data != (uint8_t *)(m + 1))
            pm_free(s->env, m->data);
        m->data = NULL;
        m->len = m->cap = 0;
        m->discard = true;
        return PM_OK;
    }
    if (m->len + n > m->cap) {
        uint8_t *nd = NULL;
        size_t ncap = 0;
        if (!m->data) {
            /* a spare that is large enough, else one sized like the last
             * fragmented message: growing by copies would copy it again */
            for (int k = 0; k < 2 && !nd; k++)
                if (s->spare[k] && s->spare_cap[k] >= n) {
                    nd = s->spare[k];
                    ncap = s->spare_cap[k];
                    s->spare[k] = NULL;
                    s->spare_cap[k] = 0;
                }
            if (!nd) {
                ncap = PM_MAX(PM_MAX((size_t)RBUF_MIN, s->rbuf_hint), n);
                nd = pm_alloc(s->env, ncap);
            }
        } else {
            ncap = m->cap;
            while (ncap < m->len + n)
                ncap *= 2;
            nd = pm_realloc(s->env, m->data, ncap);
        }
        if (!nd)
            return PM_ERR_NOMEM;
        m->data = nd;
        m->cap = ncap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    s->rx_held += n;
    return PM_OK;
}

/* ---- the fragments kept aside: sorted by (key, seq) ---- */

static bool frag_before(const sc_frag *f, uint64_t key, uint32_t seq)
{
    return f->key < key || (f->key == key && pm_tsn_lt(f->seq, seq));
}

static size_t frag_lower_bound(const pm_sctp *s, uint64_t key, uint32_t seq)
{
    size_t lo = 0, hi = s->nfrags;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (frag_before(&s->frags[mid], key, seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void frag_remove(pm_sctp *s, size_t i, bool free_data)
{
    if (free_data) {
        s->rx_held -= s->frags[i].len;
        pm_free(s->env, s->frags[i].data);
    }
    memmove(s->frags + i, s->frags + i + 1, (s->nfrags - i - 1) * sizeof *s->frags);
    s->nfrags--;
}

static void frag_store(pm_sctp *s, const pm_chunk_data *d, uint64_t key, uint32_t seq)
{
    size_t i = frag_lower_bound(s, key, seq);
    if (i < s->nfrags && s->frags[i].key == key && s->frags[i].seq == seq)
        return; /* the same fragment under another TSN: a confused peer */
    if (s->nfrags == s->frags_cap) {
        size_t ncap = s->frags_cap ? s->frags_cap * 2 : 16;
        sc_frag *nf = pm_realloc(s->env, s->frags, ncap * sizeof *nf);
        if (!nf)
            return;
        s->frags = nf;
        s->frags_cap = ncap;
    }
    uint8_t *copy = pm_alloc(s->env, d->len);
    if (!copy)
        return;
    memcpy(copy, d->payload, d->len);
    memmove(s->frags + i + 1, s->frags + i, (s->nfrags - i) * sizeof *s->frags);
    s->frags[i] =
        (sc_frag){key, seq, d->tsn, d->ppid, d->mid, (uint32_t)d->len, d->sid, d->flags, copy};
    s->nfrags++;
    s->rx_held += d->len;
}

static void frags_free(pm_sctp *s)
{
    for (size_t i = 0; i < s->nfrags; i++)
        pm_free(s->env, s->frags[i].data);
    pm_free(s->env, s->frags);
    s->frags = NULL;
    s->nfrags = s->frags_cap = 0;
}

/* ---- delivery ---- */

/* To the application (a dropped oversized message only gives its turn up). */
static void hand_over(pm_sctp *s, sc_rmsg *m)
{
    if (m->discard)
        sc_rmsg_free(s, m);
    else
        sc_push_message(s, m->sid, m->ppid, m, NULL, 0);
}

static void deliver_pending(pm_sctp *s, sc_stream *st)
{
    while (st->pending && st->pending->mid == st->expect) {
        sc_rmsg *m = st->pending;
        st->pending = m->next;
        m->next = NULL;
        st->expect = next_mid(s, st->expect);
        hand_over(s, m);
    }
}

static void pending_insert(pm_sctp *s, sc_stream *st, sc_rmsg *m)
{
    sc_rmsg **pp = &st->pending;
    while (*pp && mid_lt(s, (*pp)->mid, m->mid))
        pp = &(*pp)->next;
    if (*pp && (*pp)->mid == m->mid) {
        s->rx_held -= m->len; /* the same SSN twice: keep the first */
        sc_rmsg_free(s, m);
        return;
    }
    m->next = *pp;
    *pp = m;
}

/* A complete message: to the application now, or to wait for its turn. */
static void complete(pm_sctp *s, sc_rmsg *m)
{
    if (m->data != (uint8_t *)(m + 1))
        s->rbuf_hint = PM_MIN(m->len, (size_t)RBUF_KEEP);
    if (m->discard) {
        if (!m->unordered) {
            /* its SSN still counts: deliver what waited behind it */
            sc_stream *st = sc_stream_get(s, m->sid, false);
            if (st && m->mid == st->expect) {
                st->expect = next_mid(s, st->expect);
                deliver_pending(s, st);
            } else if (st && mid_lt(s, st->expect, m->mid)) {
                /* keep its place: an empty stand-in that is never shown */
                pending_insert(s, st, m);
                return;
            }
        }
        sc_rmsg_free(s, m);
        return;
    }
    if (m->unordered) {
        hand_over(s, m);
        return;
    }
    sc_stream *st = sc_stream_get(s, m->sid, false);
    if (!st || mid_lt(s, m->mid, st->expect)) {
        s->rx_held -= m->len; /* older than what was delivered: stale */
        sc_rmsg_free(s, m);
        return;
    }
    if (m->mid != st->expect) {
        pending_insert(s, st, m);
        return;
    }
    st->expect = next_mid(s, st->expect);
    hand_over(s, m);
    deliver_pending(s, st);
}

/* ---- messages being built ---- */

static void open_unlink(pm_sctp *s, sc_rmsg *m)
{
    sc_rmsg **pp = &s->open;
    while (*pp && *pp != m)
        pp = &(*pp)->next;
    if (*pp)
        *pp = m->next;
    m->next = NULL;
}

static sc_rmsg *open_find(pm_sctp *s, uint64_t key, uint32_t seq)
{
    for (sc_rmsg *m = s->open; m; m = m->next)
        if (m->key == key && m->next_seq == seq)
            return m;
    return NULL;
}

/* Append the fragments kept aside that follow `m`; complete it at its end. */
static void pull(pm_sctp *s, sc_rmsg *m, bool ended)
{
    while (!ended) {
        size_t i = frag_lower_bound(s, m->key, m->next_seq);
        if (i >= s->nfrags || s->frags[i].key != m->key || s->frags[i].seq != m->next_seq)
            return;
        sc_frag f = s->frags[i];
        frag_remove(s, i, false);
        s->rx_held -= f.len;
        int rc = append(s, m, f.data, f.len);
        pm_free(s->env, f.data);
        if (rc != PM_OK) {
            open_unlink(s, m);
            s->rx_held -= m->len;
            sc_rmsg_free(s, m);
            return;
        }
        m->next_seq++;
        ended = (f.flags & PM_DATA_END) != 0;
    }
    open_unlink(s, m);
    complete(s, m);
}

/* DATA: fragments kept aside at or below the cumulative TSN can no longer
 * be continued (what they follow was received and was not their start), and
 * neither can a message waiting for such a TSN. */
static void sweep_data(pm_sctp *s)
{
    while (s->nfrags && pm_tsn_le(s->frags[0].seq, s->peer_cum))
        frag_remove(s, 0, true);
    for (sc_rmsg **pp = &s->open; *pp;) {
        sc_rmsg *m = *pp;
        if (pm_tsn_le(m->next_seq, s->peer_cum)) {
            *pp = m->next;
            s->rx_held -= m->len;
            sc_rmsg_free(s, m);
        } else {
            pp = &m->next;
        }
    }
}

void sc_reasm_add(pm_sctp *s, const pm_chunk_data *d)
{
    bool unordered = (d->flags & PM_DATA_UNORDERED) != 0;
    bool begin = (d->flags & PM_DATA_BEGIN) != 0, end = (d->flags & PM_DATA_END) != 0;
    uint32_t mid = s->idata ? d->mid : (unordered ? 0 : d->mid & 0xFFFF);
    sc_stream *st = unordered ? NULL : sc_stream_get(s, d->sid, false);
    if (!unordered && (!st || mid_lt(s, mid, st->expect)))
        return; /* a message already delivered or skipped */
    if (begin && end) {
        if (d->len > s->cfg.max_message_size) {
            too_big(s, d->sid);
            sc_rmsg *m = rmsg_new(s, d, 0, 0);
            if (m) {
                m->mid = mid;
                m->discard = true;
                complete(s, m);
            }
            return;
        }
        if (unordered || mid == st->expect) {
            sc_push_message(s, d->sid, d->ppid, NULL, d->payload, d->len);
            if (!unordered) {
                st->expect = next_mid(s, st->expect);
                deliver_pending(s, st);
            }
            return;
        }
        sc_rmsg *m = rmsg_new(s, d, 0, d->len);
        if (!m)
            return;
        m->mid = mid;
        memcpy(m->data, d->payload, d->len);
        m->len = d->len;
        s->rx_held += d->len;
        pending_insert(s, st, m);
        return;
    }
    uint64_t key = s->idata ? idata_key(d->sid, unordered, mid) : 0;
    uint32_t seq = s->idata ? d->fsn : d->tsn;
    sc_rmsg *m = NULL;
    if (begin) {
        m = rmsg_new(s, d, key, 0);
        if (!m)
            return;
        m->mid = mid;
        m->next = s->open;
        s->open = m;
    } else {
        m = open_find(s, key, seq);
        if (!m) {
            frag_store(s, d, key, seq);
            if (!s->idata)
                sweep_data(s);
            return;
        }
    }
    if (append(s, m, d->payload, d->len) != PM_OK) {
        open_unlink(s, m);
        s->rx_held -= m->len;
        sc_rmsg_free(s, m);
        return;
    }
    m->next_seq = seq + 1;
    pull(s, m, end);
    if (!s->idata)
        sweep_data(s);
}

/* Deliver, in order, the waiting ordered messages up to and including
 * `upto` (they arrived whole; the ones between them were abandoned), then
 * expect the message after it. */
static void skip_to(pm_sctp *s, sc_stream *st, uint32_t upto)
{
    while (st->pending && !mid_lt(s, upto, st->pending->mid)) {
        sc_rmsg *m = st->pending;
        st->pending = m->next;
        m->next = NULL;
        hand_over(s, m);
    }
    if (!mid_lt(s, upto, st->expect))
        st->expect = next_mid(s, upto);
    deliver_pending(s, st);
}

/* Which partial messages and fragments kept aside to forget. */
typedef enum drop_what { DROP_EXACT, DROP_UPTO, DROP_ALL } drop_what;

static bool drop_hit(drop_what w, uint32_t mid, uint32_t ref)
{
    return w == DROP_ALL || (w == DROP_EXACT ? mid == ref : pm_tsn_le(mid, ref));
}

/* Forget the fragments and partial messages of stream `sid` (ordered or
 * not) whose MID the rule selects. */
static void drop_partial(pm_sctp *s, uint16_t sid, bool unordered, drop_what w, uint32_t mid)
{
    for (size_t i = 0; i < s->nfrags;) {
        const sc_frag *f = &s->frags[i];
        bool fu = (f->flags & PM_DATA_UNORDERED) != 0;
        if (f->sid == sid && fu == unordered && drop_hit(w, f->mid, mid))
            frag_remove(s, i, true);
        else
            i++;
    }
    for (sc_rmsg **pp = &s->open; *pp;) {
        sc_rmsg *m = *pp;
        bool hit = m->sid == sid && m->unordered == unordered && drop_hit(w, m->mid, mid);
        if (hit) {
            *pp = m->next;
            s->rx_held -= m->len;
            sc_rmsg_free(s, m);
        } else {
            pp = &m->next;
        }
    }
}

void sc_reasm_forward(pm_sctp *s, const pm_chunk_fwd *f)
{
    if (!s->idata) {
        /* RFC 3758 section 3.6: partial messages that began at or before
         * the new cumulative TSN were abandoned. (Not those before ours,
         * which may have moved further over what we already held: the bug
         * of aiortc 1.4 that loses reliable data.) */
        for (sc_rmsg **pp = &s->open; *pp;) {
            sc_rmsg *m = *pp;
            if (pm_tsn_le(m->first_tsn, f->new_cum_tsn)) {
                *pp = m->next;
                s->rx_held -= m->len;
                sc_rmsg_free(s, m);
            } else {
                pp = &m->next;
            }
        }
        sweep_data(s);
    }
    for (size_t i = 0; i < f->count; i++) {
        pm_fwd_entry e;
        pm_chunk_fwd_entry(f, i, &e);
        if (e.sid >= s->in_streams)
            continue;
        if (s->idata) /* RFC 8260 section 2.3.2 */
            drop_partial(s, e.sid, e.unordered, e.unordered ? DROP_EXACT : DROP_UPTO, e.mid);
        if (e.unordered)
            continue;
        sc_stream *st = sc_stream_get(s, e.sid, true);
        if (st)
            skip_to(s, st, s->idata ? e.mid : e.mid & 0xFFFF);
    }
}

void sc_reasm_stream_reset(pm_sctp *s, uint16_t sid)
{
    /* RFC 6525 section 5.2.2: everything before the reset was received;
     * deliver what waits, forget partial messages, start again at 0. A
     * stream that only carried unordered data has no stream object. */
    sc_stream *st = sc_stream_get(s, sid, false);
    while (st && st->pending) {
        sc_rmsg *m = st->pending;
        st->pending = m->next;
        m->next = NULL;
        hand_over(s, m);
    }
    drop_partial(s, sid, false, DROP_ALL, 0);
    /* An unfinished unordered message too: its sender reset the stream
     * after its last TSN, so the rest will never come (and a message held
     * open would have the stall probe SACK every 8 s for ever). */
    drop_partial(s, sid, true, DROP_ALL, 0);
    if (st)
        st->expect = 0;
}

void sc_reasm_drop_all_partial(pm_sctp *s)
{
    while (s->nfrags > 0)
        frag_remove(s, s->nfrags - 1, true);
    while (s->open) {
        sc_rmsg *m = s->open;
        s->open = m->next;
        s->rx_held -= m->len;
        sc_rmsg_free(s, m);
    }
}

static void trim_spares(pm_sctp *s)
{
    for (int k = 0; k < 2; k++) {
        pm_free(s->env, s->spare[k]);
        s->spare[k] = NULL;
        s->spare_cap[k] = 0;
    }
}

void sc_reasm_free(pm_sctp *s)
{
    while (s->open) {
        sc_rmsg *m = s->open;
        s->open = m->next;
        sc_rmsg_free(s, m);
    }
    frags_free(s);
    trim_spares(s);
}

void sc_reasm_trim(pm_sctp *s)
{
    if (!s->open)
        trim_spares(s);
    if (s->nfrags == 0 && s->frags_cap) {
        pm_free(s->env, s->frags);
        s->frags = NULL;
        s->frags_cap = 0;
    }
}
