/*
 * Streams and the outgoing message queues. A stream costs nothing until a
 * message is sent or received on it: the table maps stream ids to streams
 * allocated on first use, so 65535 negotiated streams cost what the used
 * ones cost (RFC 8831 section 6.2 asks for many streams; usrsctp allocated
 * all of them up front).
 *
 * Scheduling is round-robin over the streams that have messages queued:
 * per message with DATA, whose fragments must take consecutive TSNs (RFC
 * 9260 section 6.9), and per fragment with I-DATA (RFC 8260), so that one
 * large message does not hold back the other streams.
 */
#include "sctp/assoc.h"

/* Below this much room in a packet a fragment waits for the next packet. */
#define MIN_FRAGMENT 256
/* Messages up to this size take their memory from a small free list (a
 * stream of small messages allocates nothing per message), which goes back
 * to the allocator after SMALL_IDLE without sends. */
#define SMALL_MSG  1024
#define SMALL_KEEP 4
#define SMALL_IDLE PM_SEC(1)

/* ---- the table ---- */

static uint32_t slot_of(uint16_t sid, uint32_t cap)
{
    return ((uint32_t)sid * 40503u) & (cap - 1);
}

static int grow_table(pm_sctp *s)
{
    uint32_t ncap = s->streams_cap ? s->streams_cap * 2 : 8;
    sc_stream **nt = pm_calloc(s->env, ncap * sizeof *nt);
    if (!nt)
        return PM_ERR_NOMEM;
    for (uint32_t i = 0; i < s->streams_cap; i++) {
        sc_stream *st = s->streams[i];
        if (!st)
            continue;
        uint32_t k = slot_of(st->sid, ncap);
        while (nt[k])
            k = (k + 1) & (ncap - 1);
        nt[k] = st;
    }
    pm_free(s->env, s->streams);
    s->streams = nt;
    s->streams_cap = ncap;
    return PM_OK;
}

sc_stream *sc_stream_get(pm_sctp *s, uint16_t sid, bool create)
{
    if (s->streams_cap) {
        for (uint32_t k = slot_of(sid, s->streams_cap);; k = (k + 1) & (s->streams_cap - 1)) {
            sc_stream *st = s->streams[k];
            if (!st)
                break;
            if (st->sid == sid)
                return st;
        }
    }
    if (!create)
        return NULL;
    if (2 * (s->streams_count + 1) > s->streams_cap && grow_table(s) != PM_OK)
        return NULL;
    sc_stream *st = pm_calloc(s->env, sizeof *st);
    if (!st)
        return NULL;
    st->sid = sid;
    uint32_t k = slot_of(sid, s->streams_cap);
    while (s->streams[k])
        k = (k + 1) & (s->streams_cap - 1);
    s->streams[k] = st;
    s->streams_count++;
    return st;
}

void sc_each_stream(pm_sctp *s, void (*fn)(pm_sctp *, sc_stream *, void *), void *ud)
{
    for (uint32_t i = 0; i < s->streams_cap; i++)
        if (s->streams[i])
            fn(s, s->streams[i], ud);
}

void sc_omsg_unref(pm_sctp *s, sc_omsg *m)
{
    if (--m->refs != 0)
        return;
    if (m->small && s->nsmall < SMALL_KEEP) {
        m->next = s->small;
        s->small = m;
        s->nsmall++;
        return;
    }
    pm_free(s->env, m);
}

static sc_omsg *omsg_alloc(pm_sctp *s, size_t len)
{
    if (len > SMALL_MSG)
        return pm_alloc(s->env, sizeof(sc_omsg) + len);
    sc_omsg *m = s->small;
    if (m) {
        s->small = m->next;
        s->nsmall--;
    } else {
        m = pm_alloc(s->env, sizeof(sc_omsg) + SMALL_MSG);
    }
    return m;
}

void sc_small_trim(pm_sctp *s, pm_time now)
{
    if (s->small && now - s->last_send >= SMALL_IDLE)
        sc_small_free(s);
}

void sc_small_free(pm_sctp *s)
{
    while (s->small) {
        sc_omsg *m = s->small;
        s->small = m->next;
        pm_free(s->env, m);
    }
    s->nsmall = 0;
}

void sc_streams_free(pm_sctp *s)
{
    for (uint32_t i = 0; i < s->streams_cap; i++) {
        sc_stream *st = s->streams[i];
        if (!st)
            continue;
        while (st->qhead) {
            sc_omsg *m = st->qhead;
            st->qhead = m->next;
            sc_omsg_unref(s, m);
        }
        while (st->pending) {
            sc_rmsg *m = st->pending;
            st->pending = m->next;
            sc_rmsg_free(s, m);
        }
        pm_free(s->env, st);
    }
    if (s->cur)
        sc_omsg_unref(s, s->cur);
    s->cur = NULL;
    pm_free(s->env, s->streams);
    s->streams = NULL;
    s->streams_cap = s->streams_count = 0;
    s->rr_head = s->rr_tail = NULL;
}

/* ---- the round-robin of streams with queued messages ---- */

void sc_rr_add(pm_sctp *s, sc_stream *st)
{
    if (st->in_rr || !st->qhead || st->reset_sent)
        return;
    st->in_rr = true;
    st->rr_next = NULL;
    if (s->rr_tail)
        s->rr_tail->rr_next = st;
    else
        s->rr_head = st;
    s->rr_tail = st;
}

/* Take the head stream off the round-robin; put it back at the tail if it
 * still has something to send. */
static void rr_rotate(pm_sctp *s)
{
    sc_stream *st = s->rr_head;
    s->rr_head = st->rr_next;
    if (!s->rr_head)
        s->rr_tail = NULL;
    st->in_rr = false;
    sc_rr_add(s, st);
}

/* ---- enqueue ---- */

int sc_enqueue(pm_sctp *s, pm_time now, uint16_t sid, uint32_t ppid, const uint8_t *data,
               size_t len, const pm_sctp_sendopts *o)
{
    sc_stream *st = sc_stream_get(s, sid, true);
    if (!st)
        return PM_ERR_NOMEM;
    sc_omsg *m = omsg_alloc(s, len);
    if (!m)
        return PM_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    m->small = len <= SMALL_MSG;
    s->last_send = now;
    memcpy(m->data, data, len);
    m->len = (uint32_t)len;
    m->ppid = ppid;
    m->sid = sid;
    m->refs = 1;
    m->max_rtx = UINT32_MAX;
    m->expires = PM_TIME_NEVER;
    if (o) {
        m->unordered = o->unordered;
        /* RFC 3758 section 4 / RFC 8831 section 6.1: per-message policies;
         * they only mean something when the peer supports PR-SCTP. */
        if (s->prsctp && o->pr_policy == PM_SCTP_PR_RTX)
            m->max_rtx = o->pr_value;
        else if (s->prsctp && o->pr_policy == PM_SCTP_PR_TTL)
            m->expires = now + PM_MS(o->pr_value);
    }
    if (st->qtail)
        st->qtail->next = m;
    else
        st->qhead = m;
    st->qtail = m;
    s->queued += len;
    s->buffered += len;
    sc_rr_add(s, st);
    return PM_OK;
}

/* ---- fragmentation ---- */

static void pop_head(sc_stream *st)
{
    sc_omsg *m = st->qhead;
    st->qhead = m->next;
    if (!st->qhead)
        st->qtail = NULL;
    m->next = NULL;
}

/* A message whose lifetime ended before all of it was sent (RFC 3758
 * section 3.5 A5): abandoned; true when it was. */
static bool expired(pm_sctp *s, pm_time now, sc_omsg *m)
{
    if (m->expires > now)
        return false;
    sc_abandon(s, m);
    return true;
}

/* Make the ring entry for the next `take` bytes of `m`. */
static sc_ochunk *cut(pm_sctp *s, sc_omsg *m, size_t take)
{
    if (sc_ring_reserve(s) != PM_OK)
        return NULL;
    uint32_t tsn = s->next_tsn;
    s->ring_count++;
    s->next_tsn++;
    sc_ochunk *oc = sc_ring_at(s, tsn);
    if (!oc)
        return NULL; /* cannot happen: just reserved */
    memset(oc, 0, sizeof *oc);
    oc->msg = m;
    oc->tsn = tsn;
    oc->off = m->chunked;
    oc->len = (uint16_t)take;
    oc->flags = (uint8_t)((m->chunked == 0 ? PM_DATA_BEGIN : 0) |
                          (m->chunked + take == m->len ? PM_DATA_END : 0) |
                          (m->unordered ? PM_DATA_UNORDERED : 0));
    oc->fsn = m->next_fsn++;
    if (m->chunked == 0)
        m->first_tsn = tsn;
    m->last_tsn = tsn;
    m->chunked += (uint32_t)take;
    m->refs++;
    s->queued -= take;
    return oc;
}

static size_t fragment_size(const sc_omsg *m, size_t room)
{
    size_t left = m->len - m->chunked;
    if (left <= room)
        return left;
    return room >= MIN_FRAGMENT ? room : 0;
}

/* DATA: one message at a time, its fragments back to back. */
static sc_ochunk *next_data(pm_sctp *s, pm_time now, size_t room)
{
    for (;;) {
        if (!s->cur) {
            sc_stream *st = s->rr_head;
            if (!st)
                return NULL;
            /* Expired messages leave without using up the stream's turn
             * (sc_abandon unqueues them, and the stream when it empties). */
            if (expired(s, now, st->qhead))
                continue;
            sc_omsg *m = st->qhead;
            pop_head(st);
            rr_rotate(s);
            s->cur = m; /* the queue's reference moves to cur */
        }
        sc_omsg *m = s->cur;
        if (expired(s, now, m))
            continue; /* sc_abandon took it out of cur */
        size_t take = fragment_size(m, room);
        if (!take)
            return NULL;
        /* The SSN is taken with the first fragment: a message abandoned
         * before that never existed for the peer. */
        if (m->chunked == 0 && !m->unordered) {
            sc_stream *st = sc_stream_get(s, m->sid, false);
            m->mid = st ? st->next_ssn++ & 0xFFFF : 0;
        }
        sc_ochunk *oc = cut(s, m, take);
        if (oc && m->chunked == m->len) {
            s->cur = NULL;
            sc_omsg_unref(s, m);
        }
        return oc;
    }
}

/* I-DATA: a fragment per stream in turn. */
static sc_ochunk *next_idata(pm_sctp *s, pm_time now, size_t room)
{
    for (;;) {
        sc_stream *st = s->rr_head;
        if (!st)
            return NULL;
        sc_omsg *m = st->qhead;
        if (expired(s, now, m))
            continue; /* sc_abandon unqueued it (and the stream, if empty) */
        size_t take = fragment_size(m, room);
        if (!take)
            return NULL;
        if (m->chunked == 0)
            m->mid = m->unordered ? st->next_umid++ : st->next_ssn++;
        sc_ochunk *oc = cut(s, m, take);
        if (!oc)
            return NULL;
        if (m->chunked == m->len) {
            pop_head(st);
            sc_omsg_unref(s, m);
        }
        rr_rotate(s);
        return oc;
    }
}

sc_ochunk *sc_next_fragment(pm_sctp *s, pm_time now, size_t room)
{
    return s->idata ? next_idata(s, now, room) : next_data(s, now, room);
}

/* Remove an abandoned message from wherever it is queued (streams.c owns
 * the queues; sc_abandon in sender.c calls this). */
void sc_unqueue(pm_sctp *s, sc_omsg *m)
{
    if (s->cur == m) {
        s->cur = NULL;
        sc_omsg_unref(s, m);
        return;
    }
    sc_stream *st = sc_stream_get(s, m->sid, false);
    if (!st)
        return;
    sc_omsg **pp = &st->qhead;
    sc_omsg *prev = NULL;
    while (*pp && *pp != m) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return; /* fully chunked already: not queued */
    *pp = m->next;
    if (st->qtail == m)
        st->qtail = prev;
    m->next = NULL;
    if (!st->qhead && st->in_rr) {
        /* unlink the stream from the round-robin */
        sc_stream **rp = &s->rr_head;
        sc_stream *rprev = NULL;
        while (*rp && *rp != st) {
            rprev = *rp;
            rp = &(*rp)->rr_next;
        }
        if (*rp) {
            *rp = st->rr_next;
            if (s->rr_tail == st)
                s->rr_tail = rprev;
            st->in_rr = false;
        }
    }
    sc_omsg_unref(s, m);
}
