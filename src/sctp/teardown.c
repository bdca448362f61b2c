/*
 * The end of an association and the checks that it is alive: ABORT (RFC
 * 9260 section 9.1), the SHUTDOWN handshake (9.2), HEARTBEAT (8.3) and
 * ERROR chunks (3.3.10).
 */
#include "sctp/assoc.h"

#include <stdio.h>

/* Heartbeat Info we send: a nonce and the time it was sent. */
#define HB_INFO_LEN 16

void sc_abort(pm_sctp *s, uint16_t cause, const char *why)
{
    if (s->state == SC_CLOSED || s->state == SC_NEW)
        return;
    /* Without the peer's tag (COOKIE-WAIT) there is no one to tell. */
    if (s->peer_vtag != 0) {
        uint8_t chunk[160];
        size_t len = PM_MIN(strlen(why), sizeof chunk - 16);
        size_t n = pm_chunk_write_cause(chunk, sizeof chunk, PM_CHUNK_ABORT, 0, cause,
                                        (const uint8_t *)why, len);
        if (n)
            sc_send_lone_chunk(s, chunk, n, s->peer_vtag);
    }
    sc_set_closed(s, why);
}

void sc_on_abort(pm_sctp *s, const pm_chunk *c)
{
    if (s->state == SC_CLOSED || s->state == SC_NEW)
        return;
    char why[160];
    uint16_t code;
    const uint8_t *info;
    size_t len;
    if (pm_chunk_first_cause(c, &code, &info, &len) == 1) {
        /* printable text only (user aborts and protocol violations carry some) */
        int tlen = 0;
        while ((size_t)tlen < len && tlen < 100 && info[tlen] >= 32 && info[tlen] <= 126)
            tlen++;
        snprintf(why, sizeof why, "the peer aborted (cause %u%s%.*s)", (unsigned)code,
                 tlen ? ": " : "", tlen, (const char *)info);
    } else {
        snprintf(why, sizeof why, "the peer aborted");
    }
    sc_set_closed(s, why);
}

void sc_on_error(pm_sctp *s, const pm_chunk *c)
{
    uint16_t code;
    const uint8_t *info;
    size_t len;
    if (pm_chunk_first_cause(c, &code, &info, &len) == 1)
        PM_DEBUG(s->env, "sctp", "the peer reported error cause %u", (unsigned)code);
}

/* ---- SHUTDOWN ---- */

void sc_shutdown_progress(pm_sctp *s, pm_time now)
{
    if (s->buffered != 0 || s->ring_count != 0)
        return;
    if (s->state == SC_SHUTDOWN_PENDING) {
        s->state = SC_SHUTDOWN_SENT;
        s->send_shutdown = true;
        s->t2 = now + s->rto;
    } else if (s->state == SC_SHUTDOWN_RECEIVED) {
        s->state = SC_SHUTDOWN_ACK_SENT;
        s->send_shutdown_ack = true;
        s->t2 = now + s->rto;
    }
}

void sc_on_shutdown(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    uint32_t cum;
    if (s->state < SC_ESTABLISHED || s->state == SC_CLOSED ||
        pm_chunk_parse_shutdown(c, &cum) != PM_OK)
        return;
    /* Section 9.2: the cumulative TSN ack acknowledges like a SACK's. */
    uint8_t sack[16];
    size_t ng = 0, nd = 0;
    size_t n = pm_chunk_write_sack(sack, sizeof sack, cum, (uint32_t)(s->peer_rwnd + s->flight),
                                   NULL, &ng, NULL, &nd);
    pm_chunk sc = {PM_CHUNK_SACK, 0, sack + 4, n - 4};
    if (pm_tsn_le(s->cum_ack, cum))
        sc_on_sack(s, now, &sc);
    switch (s->state) {
    case SC_ESTABLISHED:
    case SC_SHUTDOWN_PENDING:
        s->state = SC_SHUTDOWN_RECEIVED;
        break;
    case SC_SHUTDOWN_SENT:
        /* both sides shut down at once */
        s->state = SC_SHUTDOWN_ACK_SENT;
        s->send_shutdown_ack = true;
        s->t2 = now + s->rto;
        break;
    default:
        break;
    }
    sc_shutdown_progress(s, now);
}

void sc_on_shutdown_ack(pm_sctp *s, pm_time now)
{
    (void)now;
    if (s->state != SC_SHUTDOWN_SENT && s->state != SC_SHUTDOWN_ACK_SENT)
        return;
    uint8_t chunk[4];
    size_t n = pm_chunk_write_empty(chunk, sizeof chunk, PM_CHUNK_SHUTDOWN_COMPLETE, 0);
    sc_send_lone_chunk(s, chunk, n, s->peer_vtag);
    sc_set_closed(s, "shutdown complete");
}

void sc_on_shutdown_complete(pm_sctp *s)
{
    if (s->state == SC_SHUTDOWN_ACK_SENT)
        sc_set_closed(s, "shutdown complete");
}

void sc_t2_expired(pm_sctp *s, pm_time now)
{
    if (s->state != SC_SHUTDOWN_SENT && s->state != SC_SHUTDOWN_ACK_SENT) {
        s->t2 = PM_TIME_NEVER;
        return;
    }
    if (++s->errors > SC_MAX_RETRANS) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION, "no answer to SHUTDOWN");
        return;
    }
    s->rto = PM_MIN(2 * s->rto, SC_RTO_MAX);
    if (s->state == SC_SHUTDOWN_SENT)
        s->send_shutdown = true;
    else
        s->send_shutdown_ack = true;
    s->t2 = now + s->rto;
}

/* ---- HEARTBEAT ---- */

void sc_heartbeat_due(pm_sctp *s, pm_time now)
{
    if (s->state != SC_ESTABLISHED) {
        s->hb_at = PM_TIME_NEVER;
        return;
    }
    sc_reasm_trim(s); /* idle housekeeping rides on the same timer */
    if (s->hb_outstanding && ++s->errors > SC_MAX_RETRANS) {
        sc_abort(s, PM_CAUSE_PROTOCOL_VIOLATION, "peer unreachable: no HEARTBEAT-ACK");
        return;
    }
    /* Section 8.3: only an idle path is probed; T3 watches a busy one. */
    if (s->ring_count == 0) {
        s->hb_nonce = pm_random_u64(s->env);
        s->hb_sent = now;
        s->hb_outstanding = true;
        s->send_heartbeat = true;
        s->hb_at = now + SC_HB_INTERVAL + s->rto;
    } else {
        s->hb_at = now + SC_HB_INTERVAL;
    }
}

/* A HEARTBEAT on demand (the path changed), busy or not. */
void sc_heartbeat_now(pm_sctp *s, pm_time now)
{
    s->hb_nonce = pm_random_u64(s->env);
    s->hb_sent = now;
    s->hb_outstanding = true;
    s->send_heartbeat = true;
}

void sc_on_heartbeat(pm_sctp *s, const pm_chunk *c)
{
    const uint8_t *info;
    size_t len;
    if (s->state < SC_ESTABLISHED || s->state == SC_CLOSED ||
        pm_chunk_parse_heartbeat(c, &info, &len) != PM_OK || len > sizeof s->hb_ack)
        return;
    /* Section 8.3: the info goes back unchanged. */
    memcpy(s->hb_ack, info, len);
    s->hb_ack_len = len;
    s->send_heartbeat_ack = true;
}

void sc_on_heartbeat_ack(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    const uint8_t *info;
    size_t len;
    if (!s->hb_outstanding || pm_chunk_parse_heartbeat(c, &info, &len) != PM_OK ||
        len != HB_INFO_LEN || pm_rd64(info) != s->hb_nonce)
        return;
    s->hb_outstanding = false;
    s->errors = 0;
    sc_rtt_sample(s, now - (pm_time)pm_rd64(info + 8));
    /* The path works (again): a T3 backed off while nothing got through
     * need not be waited out; the fresh RTO counts from now. */
    if (s->ring_count && s->t3 > now + s->rto)
        s->t3 = now + s->rto;
}

size_t sc_write_heartbeats(pm_sctp *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (s->send_heartbeat_ack) {
        size_t k =
            pm_chunk_write_heartbeat(out, cap, PM_CHUNK_HEARTBEAT_ACK, s->hb_ack, s->hb_ack_len);
        if (k) {
            s->send_heartbeat_ack = false;
            n += k;
        }
    }
    if (s->send_heartbeat) {
        uint8_t info[HB_INFO_LEN];
        pm_wr64(info, s->hb_nonce);
        pm_wr64(info + 8, (uint64_t)s->hb_sent);
        size_t k =
            pm_chunk_write_heartbeat(out + n, cap - n, PM_CHUNK_HEARTBEAT, info, sizeof info);
        if (k) {
            s->send_heartbeat = false;
            n += k;
        }
    }
    return n;
}

size_t sc_write_shutdown(pm_sctp *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (s->send_shutdown && s->state == SC_SHUTDOWN_SENT) {
        n = pm_chunk_write_shutdown(out, cap, s->peer_cum);
        if (n)
            s->send_shutdown = false;
    }
    if (s->send_shutdown_ack && s->state == SC_SHUTDOWN_ACK_SENT) {
        size_t k = pm_chunk_write_empty(out + n, cap - n, PM_CHUNK_SHUTDOWN_ACK, 0);
        if (k)
            s->send_shutdown_ack = false;
        n += k;
    }
    return n;
}
