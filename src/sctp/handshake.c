/*
 * Association setup (RFC 9260 section 5): INIT, INIT-ACK with a State
 * Cookie, COOKIE-ECHO, COOKIE-ACK. WebRTC peers both connect at once (RFC
 * 8841 section 9.3), so the collision rules of section 5.2.1 are the normal
 * path: an INIT that crosses ours is answered with our own tags, and each
 * side's COOKIE-ECHO or COOKIE-ACK completes the association, whichever
 * comes first.
 *
 * The cookie carries everything the association needs (section 5.1.3), so
 * answering an INIT keeps no state; it is authenticated with HMAC-SHA1
 * under a per-association random key and expires after 60 s.
 */
#include "sctp/assoc.h"

/* Cookie layout (ours alone: only we read it back). */
#define COOKIE_VERSION 1
#define COOKIE_BODY    36
#define COOKIE_MAC     20
#define COOKIE_LEN     (COOKIE_BODY + COOKIE_MAC)
#define CF_PRSCTP      0x01
#define CF_IDATA       0x02
#define CF_RECONFIG    0x04
#define CF_ZERO_CSUM   0x08

/* What we announce in INIT and INIT-ACK. */
static void our_init(const pm_sctp *s, pm_chunk_init *i)
{
    memset(i, 0, sizeof *i);
    i->initiate_tag = s->my_vtag;
    i->a_rwnd = (uint32_t)s->cfg.recv_buffer;
    i->out_streams = s->cfg.streams;
    i->in_streams = s->cfg.streams;
    i->initial_tsn = s->my_itsn;
    i->forward_tsn = true;
    i->reconfig = true;
    i->idata = !s->cfg.no_interleaving;
    /* RFC 9653 (Zero Checksum Acceptable) is announced in our INIT only to
     * a peer whose SDP said it parses it (the rtc layer sets the option):
     * pion 3.1 drops an INIT or INIT-ACK with any parameter it does not
     * know, whatever RFC 9260 section 3.2.1 says (the interop suite caught
     * it). An INIT-ACK announces it to a peer whose INIT did (sc_on_init). */
    i->zero_checksum = s->cfg.zero_checksum_in_init;
}

/* Everything learnt from the peer's INIT or INIT-ACK (or a cookie of it). */
typedef struct peer_info {
    uint32_t vtag, itsn, a_rwnd;
    uint16_t os, mis;
    bool prsctp, idata, reconfig, zero_checksum;
} peer_info;

static void learn_peer(pm_sctp *s, const peer_info *p)
{
    s->peer_vtag = p->vtag;
    s->peer_itsn = p->itsn;
    /* RFC 9260 section 5.1.1: our outbound streams are bounded by the
     * peer's inbound ones and the other way round. */
    s->out_streams = PM_MIN(s->cfg.streams, p->mis);
    s->in_streams = PM_MIN(s->cfg.streams, p->os);
    s->prsctp = p->prsctp;
    s->idata = p->idata && !s->cfg.no_interleaving;
    s->reconfig = p->reconfig;
    s->zero_checksum = p->zero_checksum;
    /* receiver: nothing received yet (section 6.2) */
    s->peer_cum = p->itsn - 1;
    s->highest_rx = s->peer_cum;
    /* sender */
    s->next_tsn = s->my_itsn;
    s->cum_ack = s->my_itsn - 1;
    sc_sender_init(s, p->a_rwnd);
    /* RFC 6525 section 5.1: request sequence numbers start at the initial TSN. */
    s->reconf_seq = s->my_itsn;
    s->peer_reconf_seq = p->itsn;
}

static void info_from_init(const pm_chunk_init *i, peer_info *p)
{
    p->vtag = i->initiate_tag;
    p->itsn = i->initial_tsn;
    p->a_rwnd = i->a_rwnd;
    p->os = i->out_streams;
    p->mis = i->in_streams;
    p->prsctp = i->forward_tsn;
    p->idata = i->idata;
    p->reconfig = i->reconfig;
    p->zero_checksum = i->zero_checksum;
}

static void establish(pm_sctp *s, pm_time now)
{
    s->state = SC_ESTABLISHED;
    s->t1 = PM_TIME_NEVER;
    s->send_init = s->send_cookie_echo = false;
    pm_free(s->env, s->cookie);
    s->cookie = NULL;
    s->cookie_len = 0;
    s->hb_at = now + SC_HB_INTERVAL;
    PM_DEBUG(s->env, "sctp", "association up: %u out / %u in streams%s%s%s%s",
             (unsigned)s->out_streams, (unsigned)s->in_streams, s->prsctp ? ", PR-SCTP" : "",
             s->idata ? ", I-DATA" : "", s->reconfig ? ", RE-CONFIG" : "",
             s->zero_checksum ? ", zero checksum" : "");
    sc_push_event(s, PM_SCTP_EV_CONNECTED, 0, 0);
}

int sc_send_init(pm_sctp *s, pm_time now)
{
    s->state = SC_COOKIE_WAIT;
    s->send_init = true;
    s->init_tries = 0;
    s->t1_rto = sc_rto_initial();
    s->t1 = now + s->t1_rto;
    return PM_OK;
}

void sc_t1_expired(pm_sctp *s, pm_time now)
{
    if (s->state != SC_COOKIE_WAIT && s->state != SC_COOKIE_ECHOED) {
        s->t1 = PM_TIME_NEVER;
        return;
    }
    if (++s->init_tries > SC_MAX_INIT_TRIES) {
        sc_set_closed(s, s->state == SC_COOKIE_WAIT ? "no answer to INIT"
                                                    : "no answer to COOKIE-ECHO");
        return;
    }
    /* RFC 9260 section 6.3.3: back off (capped). */
    s->t1_rto = PM_MIN(2 * s->t1_rto, SC_RTO_MAX);
    s->t1 = now + s->t1_rto;
    if (s->state == SC_COOKIE_WAIT)
        s->send_init = true;
    else
        s->send_cookie_echo = true;
}

/* ---- the cookie ---- */

static void cookie_mac(const pm_sctp *s, const uint8_t *body, uint8_t out[COOKIE_MAC])
{
    pm_hmac_sha1(s->secret, sizeof s->secret, body, COOKIE_BODY, out);
}

static void make_cookie(const pm_sctp *s, pm_time now, const peer_info *p, uint8_t out[COOKIE_LEN])
{
    memset(out, 0, COOKIE_LEN);
    out[0] = COOKIE_VERSION;
    out[1] = (uint8_t)((p->prsctp ? CF_PRSCTP : 0) | (p->idata ? CF_IDATA : 0) |
                       (p->reconfig ? CF_RECONFIG : 0) | (p->zero_checksum ? CF_ZERO_CSUM : 0));
    pm_wr32(out + 4, s->my_vtag);
    pm_wr32(out + 8, p->vtag);
    pm_wr32(out + 12, s->my_itsn);
    pm_wr32(out + 16, p->itsn);
    pm_wr32(out + 20, p->a_rwnd);
    pm_wr16(out + 24, p->os);
    pm_wr16(out + 26, p->mis);
    pm_wr64(out + 28, (uint64_t)now);
    cookie_mac(s, out, out + COOKIE_BODY);
}

/* A cookie we made for this association, still fresh: its peer info. */
static bool open_cookie(const pm_sctp *s, pm_time now, const uint8_t *c, size_t n, peer_info *p)
{
    if (n != COOKIE_LEN || c[0] != COOKIE_VERSION)
        return false;
    uint8_t mac[COOKIE_MAC];
    cookie_mac(s, c, mac);
    uint8_t diff = 0;
    for (size_t i = 0; i < COOKIE_MAC; i++)
        diff |= (uint8_t)(mac[i] ^ c[COOKIE_BODY + i]);
    if (diff)
        return false;
    pm_time made = (pm_time)pm_rd64(c + 28);
    if (pm_rd32(c + 4) != s->my_vtag || pm_rd32(c + 12) != s->my_itsn)
        return false;
    if (now > made + SC_COOKIE_LIFE) {
        PM_DEBUG(s->env, "sctp", "stale cookie dropped");
        return false;
    }
    p->vtag = pm_rd32(c + 8);
    p->itsn = pm_rd32(c + 16);
    p->a_rwnd = pm_rd32(c + 20);
    p->os = pm_rd16(c + 24);
    p->mis = pm_rd16(c + 26);
    p->prsctp = (c[1] & CF_PRSCTP) != 0;
    p->idata = (c[1] & CF_IDATA) != 0;
    p->reconfig = (c[1] & CF_RECONFIG) != 0;
    p->zero_checksum = (c[1] & CF_ZERO_CSUM) != 0;
    return true;
}

/* ---- chunks ---- */

void sc_on_init(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    pm_chunk_init i;
    /* RFC 9260 section 3.3.2: a zero tag or zero streams is invalid. */
    if (pm_chunk_parse_init(c, &i) != PM_OK || i.initiate_tag == 0 || i.out_streams == 0 ||
        i.in_streams == 0) {
        PM_DEBUG(s->env, "sctp", "invalid INIT dropped");
        return;
    }
    if (s->state >= SC_SHUTDOWN_ACK_SENT)
        return; /* section 9.2: an INIT now would be answered by nothing useful */
    /* Sections 5.2.1 and 5.2.2: whatever our state, answer with our own tag
     * and initial TSN, so a crossing INIT and ours lead to one association. */
    peer_info p;
    info_from_init(&i, &p);
    p.idata = p.idata && !s->cfg.no_interleaving;
    uint8_t cookie[COOKIE_LEN];
    make_cookie(s, now, &p, cookie);
    pm_chunk_init ack;
    our_init(s, &ack);
    /* A peer that announced RFC 9653 knows the parameter: we take packets
     * without a CRC32c too (DTLS authenticates every byte). */
    ack.zero_checksum = ack.zero_checksum || i.zero_checksum;
    ack.cookie = cookie;
    ack.cookie_len = sizeof cookie;
    uint8_t chunk[128];
    size_t n = pm_chunk_write_init(chunk, sizeof chunk, PM_CHUNK_INIT_ACK, &ack);
    if (n)
        sc_send_lone_chunk(s, chunk, n, i.initiate_tag);
}

void sc_on_init_ack(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    if (s->state != SC_COOKIE_WAIT)
        return; /* section 5.2.3: an unexpected INIT-ACK is discarded */
    pm_chunk_init i;
    if (pm_chunk_parse_init(c, &i) != PM_OK || i.initiate_tag == 0 || i.out_streams == 0 ||
        i.in_streams == 0) {
        PM_DEBUG(s->env, "sctp", "invalid INIT-ACK dropped");
        return;
    }
    if (!i.cookie || i.cookie_len == 0) {
        s->peer_vtag = i.initiate_tag;
        sc_abort(s, PM_CAUSE_MISSING_PARAM, "INIT-ACK without a State Cookie");
        return;
    }
    uint8_t *copy = pm_alloc(s->env, i.cookie_len);
    if (!copy)
        return; /* T1 retransmits the INIT */
    peer_info p;
    info_from_init(&i, &p);
    learn_peer(s, &p);
    pm_free(s->env, s->cookie);
    s->cookie = copy;
    memcpy(s->cookie, i.cookie, i.cookie_len);
    s->cookie_len = i.cookie_len;
    s->state = SC_COOKIE_ECHOED;
    s->send_init = false;
    s->send_cookie_echo = true;
    s->init_tries = 0;
    s->t1 = now + s->t1_rto;
}

void sc_on_cookie_echo(pm_sctp *s, pm_time now, const pm_chunk *c)
{
    peer_info p;
    if (!open_cookie(s, now, c->value, c->value_len, &p))
        return;
    switch (s->state) {
    case SC_COOKIE_WAIT:
        /* Our INIT crossed theirs: their COOKIE-ECHO of our INIT-ACK comes
         * before our INIT-ACK; the association starts from the cookie. */
        learn_peer(s, &p);
        establish(s, now);
        s->send_cookie_ack = true;
        break;
    case SC_COOKIE_ECHOED:
        /* Section 5.2.4 case D: both tags match what the INIT-ACK told us. */
        if (p.vtag != s->peer_vtag || p.itsn != s->peer_itsn)
            return;
        establish(s, now);
        s->send_cookie_ack = true;
        break;
    case SC_ESTABLISHED:
    case SC_SHUTDOWN_PENDING:
    case SC_SHUTDOWN_SENT:
    case SC_SHUTDOWN_RECEIVED:
        /* A repeated COOKIE-ECHO (our COOKIE-ACK was lost): ack it again. A
         * different peer tag would be a restart, which WebRTC never does
         * inside one DTLS connection: ignored. */
        if (p.vtag == s->peer_vtag)
            s->send_cookie_ack = true;
        break;
    default:
        break;
    }
}

void sc_on_cookie_ack(pm_sctp *s, pm_time now)
{
    if (s->state == SC_COOKIE_ECHOED)
        establish(s, now);
}

size_t sc_write_handshake(pm_sctp *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (s->send_cookie_echo && s->state == SC_COOKIE_ECHOED) {
        n = pm_chunk_write_raw(out, cap, PM_CHUNK_COOKIE_ECHO, 0, s->cookie, s->cookie_len);
        if (n)
            s->send_cookie_echo = false;
    }
    if (s->send_cookie_ack) {
        size_t k = pm_chunk_write_empty(out + n, cap - n, PM_CHUNK_COOKIE_ACK, 0);
        if (k)
            s->send_cookie_ack = false;
        n += k;
    }
    return n;
}

size_t sc_write_init(pm_sctp *s, uint8_t *out, size_t cap)
{
    pm_chunk_init i;
    our_init(s, &i);
    return pm_chunk_write_init(out, cap, PM_CHUNK_INIT, &i);
}
