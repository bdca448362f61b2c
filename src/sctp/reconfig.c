/*
 * Stream reset (RFC 6525), which closes WebRTC data channels (RFC 8831
 * section 6.7). Outgoing: pm_sctp_reset_stream queues a stream; once the
 * stream has nothing left to fragment, one Outgoing SSN Reset Request
 * carries every queued stream (one request outstanding at a time, section
 * 5.1.1), retransmitted on timeout, and its response resets our SSNs or
 * reports the refusal. Incoming: the peer's request resets our expected
 * SSNs once every TSN it names arrived (section 5.2.2, "in progress"
 * until then); an empty stream list means every stream. Requests we do not
 * serve (incoming, SSN/TSN reset, adding streams) are refused ("denied").
 */
#include "sctp/assoc.h"

/* Responses waiting to be sent. */
static void queue_response(pm_sctp *s, uint32_t seq, uint32_t result)
{
    for (size_t i = 0; i < s->nreconf_resp; i++)
        if (s->reconf_resp[i][0] == seq) {
            s->reconf_resp[i][1] = result;
            return;
        }
    if (s->nreconf_resp == PM_ARRAY_LEN(s->reconf_resp))
        return; /* the peer asks again on its timer */
    s->reconf_resp[s->nreconf_resp][0] = seq;
    s->reconf_resp[s->nreconf_resp][1] = result;
    s->nreconf_resp++;
}

static void req_clear(pm_sctp *s, sc_reset_req *r)
{
    pm_free(s->env, r->sids);
    memset(r, 0, sizeof *r);
}

void sc_reconfig_free(pm_sctp *s)
{
    req_clear(s, &s->out_req);
    req_clear(s, &s->in_req);
}

/* ---- outgoing ---- */

int sc_reset_stream(pm_sctp *s, uint16_t sid)
{
    if (!s->reconfig)
        return PM_ERR_UNSUPPORTED;
    sc_stream *st = sc_stream_get(s, sid, true);
    if (!st)
        return PM_ERR_NOMEM;
    if (st->reset_queued || st->reset_sent)
        return PM_OK;
    st->reset_queued = true;
    s->reset_queued++;
    return PM_OK;
}

typedef struct collect_ctx {
    uint16_t *sids;
    size_t n, cap;
} collect_ctx;

static void collect(pm_sctp *s, sc_stream *st, void *ud)
{
    collect_ctx *c = ud;
    /* A stream is reset once all it was given is fragmented (has a TSN);
     * the request names the last TSN so the peer waits for the rest. */
    if (!st->reset_queued || st->qhead || (s->cur && s->cur->sid == st->sid) || c->n == c->cap)
        return;
    c->sids[c->n++] = st->sid;
    st->reset_queued = false;
    st->reset_sent = true;
    s->reset_queued--;
}

static void start_request(pm_sctp *s, pm_time now)
{
    if (s->out_req.active || s->reset_queued == 0 || s->state != SC_ESTABLISHED)
        return;
    /* What fits one packet (the rest waits for the next request). */
    size_t cap = PM_MIN((size_t)s->reset_queued, (SC_MTU - 32) / 2);
    uint16_t *sids = pm_alloc(s->env, cap * sizeof *sids);
    if (!sids)
        return;
    collect_ctx c = {sids, 0, cap};
    sc_each_stream(s, collect, &c);
    if (c.n == 0) {
        pm_free(s->env, sids);
        return;
    }
    s->out_req = (sc_reset_req){true, s->reconf_seq++, s->next_tsn - 1, sids, c.n};
    s->reconf_send = true;
    s->reconf_t = now + s->rto;
}

size_t sc_write_reconfig(pm_sctp *s, pm_time now, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s->nreconf_resp) {
        size_t k = pm_chunk_write_reconf_response(out + n, cap - n, s->reconf_resp[0][0],
                                                  s->reconf_resp[0][1]);
        if (!k)
            return n;
        n += k;
        memmove(s->reconf_resp, s->reconf_resp + 1, --s->nreconf_resp * sizeof s->reconf_resp[0]);
    }
    start_request(s, now);
    if (s->out_req.active && s->reconf_send) {
        const sc_reset_req *r = &s->out_req;
        size_t k = pm_chunk_write_reconf_out_reset(out + n, cap - n, r->seq, s->peer_reconf_seq - 1,
                                                   r->last_tsn, r->sids, r->nsids);
        if (k) {
            s->reconf_send = false;
            n += k;
        }
    }
    return n;
}

void sc_reconf_expired(pm_sctp *s, pm_time now)
{
    if (!s->out_req.active) {
        s->reconf_t = PM_TIME_NEVER;
        return;
    }
    /* Section 5.1.1: resent on the association's RTO, counted as an error. */
    if (++s->errors > SC_MAX_RETRANS) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION, "no answer to a stream reset");
        return;
    }
    s->reconf_send = true;
    s->reconf_t = now + s->rto;
}

static void finish_request(pm_sctp *s, bool ok)
{
    sc_reset_req *r = &s->out_req;
    for (size_t i = 0; i < r->nsids; i++) {
        sc_stream *st = sc_stream_get(s, r->sids[i], false);
        if (st) {
            st->reset_sent = false;
            if (ok) {
                st->next_ssn = 0;
                st->next_umid = 0;
            }
            sc_rr_add(s, st);
        }
        sc_push_event(s, PM_SCTP_EV_STREAM_RESET, r->sids[i],
                      (uint8_t)(SC_EV_OUT | (ok ? 0 : SC_EV_FAILED)));
    }
    if (!ok)
        PM_WARN(s->env, "sctp", "the peer refused to reset %zu stream(s)", r->nsids);
    req_clear(s, r);
    s->reconf_t = PM_TIME_NEVER;
}

static void on_response(pm_sctp *s, pm_time now, const pm_reconf_param *p)
{
    if (!s->out_req.active || p->req_seq != s->out_req.seq)
        return;
    switch (p->result) {
    case PM_RECONF_SUCCESS_NOTHING:
    case PM_RECONF_SUCCESS_PERFORMED:
        s->errors = 0;
        finish_request(s, true);
        break;
    case PM_RECONF_IN_PROGRESS:
        /* The peer still waits for data: ask again later. */
        s->errors = 0;
        s->reconf_t = now + s->rto;
        break;
    default:
        finish_request(s, false);
        break;
    }
}

/* ---- incoming ---- */

static void reset_one(pm_sctp *s, sc_stream *st, void *ud)
{
    (void)ud;
    sc_reasm_stream_reset(s, st->sid);
}

/* Perform the deferred request when every TSN it names has arrived. */
static bool try_perform(pm_sctp *s)
{
    sc_reset_req *r = &s->in_req;
    if (!r->active || pm_tsn_lt(s->peer_cum, r->last_tsn))
        return false;
    if (r->nsids == 0) {
        sc_each_stream(s, reset_one, NULL);
        /* and the unordered ones of streams that have no stream object */
        sc_reasm_drop_all_partial(s);
        sc_push_event(s, PM_SCTP_EV_STREAM_RESET, PM_SCTP_ALL_STREAMS, SC_EV_IN);
    }
    for (size_t i = 0; i < r->nsids; i++) {
        if (r->sids[i] >= s->in_streams)
            continue;
        sc_reasm_stream_reset(s, r->sids[i]);
        sc_push_event(s, PM_SCTP_EV_STREAM_RESET, r->sids[i], SC_EV_IN);
    }
    s->peer_reconf_seq++;
    s->last_peer_result = PM_RECONF_SUCCESS_PERFORMED;
    queue_response(s, r->seq, PM_RECONF_SUCCESS_PERFORMED);
    req_clear(s, r);
    return true;
}

void sc_reconf_progress(pm_sctp *s)
{
    if (s->in_req.active && try_perform(s))
        s->sack_now = true; /* the response goes out with the next packet */
}

static void on_out_reset(pm_sctp *s, const pm_reconf_param *p)
{
    if (s->in_req.active && p->req_seq == s->in_req.seq) {
        if (!try_perform(s))
            queue_response(s, p->req_seq, PM_RECONF_IN_PROGRESS);
        return;
    }
    if (p->req_seq == s->peer_reconf_seq - 1) {
        queue_response(s, p->req_seq, s->last_peer_result); /* a retransmission */
        return;
    }
    if (p->req_seq != s->peer_reconf_seq || s->in_req.active) {
        queue_response(s, p->req_seq, PM_RECONF_ERROR_BAD_SEQ);
        return;
    }
    uint16_t *sids = NULL;
    if (p->nsids) {
        sids = pm_alloc(s->env, p->nsids * sizeof *sids);
        if (!sids)
            return; /* the peer asks again */
        for (size_t i = 0; i < p->nsids; i++)
            sids[i] = pm_reconf_sid(p, i);
    }
    s->in_req = (sc_reset_req){true, p->req_seq, p->last_tsn, sids, p->nsids};
    if (!try_perform(s))
        queue_response(s, p->req_seq, PM_RECONF_IN_PROGRESS);
}

/* Requests we do not serve, answered in sequence as RFC 6525 asks. */
static void on_other_request(pm_sctp *s, const pm_reconf_param *p)
{
    if (p->req_seq == s->peer_reconf_seq - 1) {
        queue_response(s, p->req_seq, s->last_peer_result);
        return;
    }
    if (p->req_seq != s->peer_reconf_seq || s->in_req.active) {
        queue_response(s, p->req_seq, PM_RECONF_ERROR_BAD_SEQ);
        return;
    }
    s->peer_reconf_seq++;
    s->last_peer_result = PM_RECONF_DENIED;
    queue_response(s, p->req_seq, PM_RECONF_DENIED);
}

void sc_on_reconfig(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    if (s->state < SC_ESTABLISHED || s->state == SC_CLOSED || !s->reconfig)
        return;
    pm_reconf_iter it;
    pm_reconf_iter_init(&it, c);
    pm_reconf_param p;
    int rc;
    while ((rc = pm_reconf_next(&it, &p)) == 1) {
        switch (p.type) {
        case PM_RECONF_OUT_RESET:
            on_out_reset(s, &p);
            break;
        case PM_RECONF_IN_RESET:
        case PM_RECONF_TSN_RESET:
        case PM_RECONF_ADD_OUT:
        case PM_RECONF_ADD_IN:
            on_other_request(s, &p);
            break;
        case PM_RECONF_RESPONSE:
            on_response(s, now, &p);
            break;
        default:
            break;
        }
    }
}
