/*
 * TURN client (RFC 8656) inside the ICE agent, one allocation per
 * configured server, reached over UDP (the agent's socket) or over a
 * TCP/TLS stream (stream k+1; RFC 8656 section 3.1, framing section 12.5):
 *
 *   Allocate -> 401 (REALM, NONCE) -> Allocate with long-term credentials
 *   (MESSAGE-INTEGRITY keyed with MD5(user:realm:pass)) -> relayed address,
 *   reported as a relay candidate (raddr = our server-reflexive address).
 *   438 Stale Nonce on any request: retry with the new nonce.
 *   Refresh a minute before the lifetime ends; Refresh with LIFETIME 0 on
 *   close. CreatePermission for each remote IP as soon as a pair needs it
 *   (checks wait for it: the server drops data to peers without one), again
 *   every 4 minutes; ChannelBind once a pair through the relay is valid
 *   (again every 9 minutes). Until a channel is bound, Send indications;
 *   Data indications and ChannelData are both accepted.
 *
 * Failures (wrong credentials, quota, no answer, stream lost) end the
 * allocation with a SERVER_ERROR event and a log line; gathering goes on
 * without the relay, so other candidates are still used.
 */
#include "ice_internal.h"

#include <stdio.h>

static uint16_t method_of(ice_turn_op op)
{
    switch (op) {
    case ICE_TURN_ALLOCATE:
        return PM_STUN_ALLOCATE;
    case ICE_TURN_REFRESH:
        return PM_STUN_REFRESH;
    case ICE_TURN_PERMISSION:
        return PM_STUN_CREATE_PERMISSION;
    case ICE_TURN_CHANNEL:
        return PM_STUN_CHANNEL_BIND;
    }
    return 0;
}

static const char *op_name(ice_turn_op op)
{
    switch (op) {
    case ICE_TURN_ALLOCATE:
        return "Allocate";
    case ICE_TURN_REFRESH:
        return "Refresh";
    case ICE_TURN_PERMISSION:
        return "CreatePermission";
    case ICE_TURN_CHANNEL:
        return "ChannelBind";
    }
    return "?";
}

static bool is_stream(const ice_turn *t)
{
    return t->transport != PM_ICE_TURN_UDP;
}

static uint32_t stream_of(int k)
{
    return (uint32_t)k + 1;
}

/* ---- configuration and lookup ---- */

int ice_turn_init(pm_ice_agent *a, const pm_ice_turn_server *servers, size_t n)
{
    if (n > PM_ICE_MAX_TURN) {
        PM_WARN(&a->env, ICE_COMP, "more than %d TURN servers; ignoring the rest", PM_ICE_MAX_TURN);
        n = PM_ICE_MAX_TURN;
    }
    if (!n)
        return PM_OK;
    a->turn = pm_calloc(&a->env, n * sizeof *a->turn);
    if (!a->turn)
        return PM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const pm_ice_turn_server *s = &servers[i];
        ice_turn *t = &a->turn[a->nturn];
        t->server = s->addr;
        t->transport = s->transport;
        t->txn = -1;
        t->local = -1;
        t->next_channel = (uint16_t)(PM_TURN_CHANNEL_MIN + 0x100 * a->nturn);
        if (s->url) {
            snprintf(t->url, sizeof t->url, "%s", s->url);
        } else {
            char buf[PM_ADDR_STRLEN];
            snprintf(t->url, sizeof t->url, "turn%s:%s?transport=%s",
                     s->transport == PM_ICE_TURN_TLS ? "s" : "",
                     pm_addr_format(&s->addr, buf, sizeof buf),
                     s->transport == PM_ICE_TURN_UDP ? "udp" : "tcp");
        }
        bool ok = s->username && s->password && strlen(s->username) < sizeof t->username &&
                  strlen(s->password) < sizeof t->password &&
                  (s->addr.family == 4 || s->addr.family == 6);
        if (ok) {
            snprintf(t->username, sizeof t->username, "%s", s->username);
            snprintf(t->password, sizeof t->password, "%s", s->password);
        } else {
            PM_WARN(&a->env, ICE_COMP, "TURN server %s: no usable address or credentials", t->url);
            t->state = TURN_FAILED;
        }
        a->nturn++;
    }
    return PM_OK;
}

void ice_turn_free(pm_ice_agent *a)
{
    for (size_t k = 0; k < a->nturn; k++)
        pm_buf_free(&a->env, &a->turn[k].rx);
    pm_free(&a->env, a->turn);
}

const ice_turn *ice_turn_of_via(const pm_ice_agent *a, uint8_t via)
{
    return via >= 1 && via <= a->nturn ? &a->turn[via - 1] : NULL;
}

int ice_turn_for_server(const pm_ice_agent *a, const pm_addr *from)
{
    for (size_t k = 0; k < a->nturn; k++)
        if (a->turn[k].transport == PM_ICE_TURN_UDP && pm_addr_equal(&a->turn[k].server, from))
            return (int)k;
    return -1;
}

int ice_turn_for_stream(const pm_ice_agent *a, uint32_t stream)
{
    if (stream == 0 || stream > a->nturn || !is_stream(&a->turn[stream - 1]))
        return -1;
    return (int)stream - 1;
}

bool ice_turn_done(const pm_ice_agent *a)
{
    for (size_t k = 0; k < a->nturn; k++)
        if (a->turn[k].state == TURN_ALLOCATING || a->turn[k].restart_pending)
            return false;
    return true;
}

bool ice_turn_any_ready(const pm_ice_agent *a)
{
    for (size_t k = 0; k < a->nturn; k++)
        if (a->turn[k].state == TURN_READY)
            return true;
    return false;
}

/* ---- sending ---- */

/* Raw bytes to the server: on the socket, or on the stream. */
static void to_server(pm_ice_agent *a, int k, const uint8_t *msg, size_t len)
{
    ice_turn *t = &a->turn[k];
    if (is_stream(t))
        ice_queue(a, PM_ICE_TX_STREAM_DATA, stream_of(k), &t->server, msg, len);
    else
        ice_send(a, &t->server, msg, len);
}

static int build_request(pm_ice_agent *a, int k, ice_turn_op op, int arg,
                         const uint8_t tid[PM_STUN_TID_LEN], uint8_t *buf, size_t cap)
{
    ice_turn *t = &a->turn[k];
    pm_stun_builder b;
    pm_stun_begin(&b, buf, cap, pm_stun_type(method_of(op), PM_STUN_REQUEST), tid);
    switch (op) {
    case ICE_TURN_ALLOCATE:
        pm_stun_add_transport(&b, PM_TURN_PROTO_UDP);
        break;
    case ICE_TURN_REFRESH:
        pm_stun_add_u32(&b, PM_STUN_ATTR_LIFETIME, (uint32_t)arg);
        break;
    case ICE_TURN_PERMISSION:
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, &t->perms[arg].ip);
        break;
    case ICE_TURN_CHANNEL:
        pm_stun_add_channel(&b, t->chans[arg].number);
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, &t->chans[arg].peer);
        break;
    }
    if (!t->have_key)
        return pm_stun_finish(&b, NULL, 0, true);
    pm_stun_add_str(&b, PM_STUN_ATTR_USERNAME, t->username);
    pm_stun_add_str(&b, PM_STUN_ATTR_REALM, t->realm);
    pm_stun_add(&b, PM_STUN_ATTR_NONCE, t->nonce, t->nonce_len);
    return pm_stun_finish(&b, t->key, sizeof t->key, true);
}

void ice_turn_transmit(pm_ice_agent *a, ice_txn *x)
{
    uint8_t buf[ICE_MAX_MSG + 512];
    int n = build_request(a, x->target, x->op, x->arg, x->tid, buf, sizeof buf);
    if (n > 0)
        to_server(a, x->target, buf, (size_t)n);
    else
        PM_WARN(&a->env, ICE_COMP, "cannot build a TURN %s (%s)", op_name(x->op), pm_strerror(n));
}

static int start_txn(pm_ice_agent *a, int k, ice_turn_op op, int arg, pm_time now)
{
    int ti = ice_txn_alloc(a, ICE_TXN_TURN, k, now);
    if (ti < 0)
        return -1;
    ice_txn *x = &a->txns[ti];
    x->op = op;
    x->arg = arg;
    if (is_stream(&a->turn[k])) { /* reliable: no retransmission (RFC 8489 6.2.2) */
        x->max_sends = 1;
        x->rto = x->rto_max = ICE_STREAM_TIMEOUT;
    } else {
        x->max_sends = ICE_SERVER_SENDS;
        x->rto = ICE_SERVER_RTO;
        x->rto_max = ICE_SERVER_RTO_MAX;
    }
    if (op == ICE_TURN_ALLOCATE || op == ICE_TURN_REFRESH)
        a->turn[k].txn = ti;
    ice_txn_transmit(a, ti, now);
    return ti;
}

/* ---- lifecycle ---- */

static void allocate(pm_ice_agent *a, int k, pm_time now)
{
    ice_turn *t = &a->turn[k];
    if (is_stream(t) && !t->stream_open) {
        t->stream_open = true;
        t->rx.len = t->rx_off = 0;
        ice_queue(a, PM_ICE_TX_STREAM_OPEN, stream_of(k), &t->server, NULL, 0);
    }
    t->state = TURN_ALLOCATING;
    t->sent_credentials = t->have_key;
    t->stale_tries = 0;
    t->nperms = t->nchans = 0;
    PM_DEBUG(&a->env, ICE_COMP, "TURN %s: Allocate", t->url);
    if (start_txn(a, k, ICE_TURN_ALLOCATE, 0, now) < 0)
        t->state = TURN_FAILED;
}

static void close_stream(pm_ice_agent *a, int k)
{
    ice_turn *t = &a->turn[k];
    if (!is_stream(t) || !t->stream_open)
        return;
    t->stream_open = false;
    ice_queue(a, PM_ICE_TX_STREAM_CLOSE, stream_of(k), &t->server, NULL, 0);
    pm_buf_free(&a->env, &t->rx);
    t->rx_off = 0;
}

/* Give up on server k: report why, fail its pairs, go on without it. */
static void turn_fail(pm_ice_agent *a, int k, int code, const char *why)
{
    ice_turn *t = &a->turn[k];
    if (t->state == TURN_FAILED || t->state == TURN_CLOSED)
        return;
    bool was_ready = t->state == TURN_READY;
    t->state = TURN_FAILED;
    t->restart_pending = false;
    if (t->txn >= 0)
        ice_txn_free(a, t->txn);
    for (int i = 0; i < (int)a->ntxns; i++)
        if (a->txns[i].kind == ICE_TXN_TURN && a->txns[i].target == k)
            ice_txn_free(a, i);
    ice_push_error(a, k, code, "%s", why);
    close_stream(a, k);
    if (was_ready)
        ice_path_failed(a, (uint8_t)(k + 1));
    ice_check_gathering_done(a);
}

void ice_turn_start(pm_ice_agent *a, pm_time now)
{
    for (size_t k = 0; k < a->nturn; k++)
        if (a->turn[k].state == TURN_IDLE)
            allocate(a, (int)k, now);
}

void ice_turn_restart(pm_ice_agent *a, pm_time now)
{
    for (size_t k = 0; k < a->nturn; k++) {
        ice_turn *t = &a->turn[k];
        t->local = -1; /* the local table was rebuilt */
        if (t->state == TURN_READY) {
            /* Still ours? A Refresh tells (437 when a NAT rebinding moved us
             * to a new 5-tuple); the candidate is reported again after it. */
            if (t->txn >= 0)
                ice_txn_free(a, t->txn);
            t->restart_pending = true;
            start_txn(a, (int)k, ICE_TURN_REFRESH, (int)t->lifetime, now);
        } else if (t->state == TURN_FAILED && t->username[0]) {
            allocate(a, (int)k, now);
        }
    }
}

void ice_turn_close(pm_ice_agent *a)
{
    for (size_t k = 0; k < a->nturn; k++) {
        ice_turn *t = &a->turn[k];
        if (t->state == TURN_READY) {
            /* RFC 8656 7: Refresh with LIFETIME 0 deletes the allocation.
             * Sent once: nobody waits for the answer. */
            uint8_t tid[PM_STUN_TID_LEN];
            uint8_t buf[ICE_MAX_MSG + 512];
            (void)pm_random(&a->env, tid, sizeof tid);
            int n = build_request(a, (int)k, ICE_TURN_REFRESH, 0, tid, buf, sizeof buf);
            if (n > 0)
                to_server(a, (int)k, buf, (size_t)n);
            PM_DEBUG(&a->env, ICE_COMP, "TURN %s: deallocating", t->url);
        }
        close_stream(a, (int)k);
        t->state = TURN_CLOSED;
        t->restart_pending = false;
        t->txn = -1;
    }
}

/* ---- permissions and channels ---- */

static bool same_ip(const pm_addr *x, const pm_addr *y)
{
    return x->family == y->family && memcmp(x->ip, y->ip, x->family == 4 ? 4 : 16) == 0;
}

static int perm_find(const ice_turn *t, const pm_addr *peer)
{
    for (size_t i = 0; i < t->nperms; i++)
        if (same_ip(&t->perms[i].ip, peer))
            return (int)i;
    return -1;
}

static int chan_find(const ice_turn *t, const pm_addr *peer)
{
    for (size_t i = 0; i < t->nchans; i++)
        if (pm_addr_equal(&t->chans[i].peer, peer))
            return (int)i;
    return -1;
}

static void send_permission(pm_ice_agent *a, int k, int pi, pm_time now)
{
    ice_perm *p = &a->turn[k].perms[pi];
    p->pending = start_txn(a, k, ICE_TURN_PERMISSION, pi, now) >= 0;
}

static void send_channel_bind(pm_ice_agent *a, int k, int ci, pm_time now)
{
    ice_chan *c = &a->turn[k].chans[ci];
    c->pending = start_txn(a, k, ICE_TURN_CHANNEL, ci, now) >= 0;
}

void ice_turn_need_peer(pm_ice_agent *a, uint8_t via, const pm_addr *peer, bool channel)
{
    if (via < 1 || via > a->nturn)
        return;
    int k = via - 1;
    ice_turn *t = &a->turn[k];
    if (t->state != TURN_READY)
        return;
    if (perm_find(t, peer) < 0) {
        if (t->nperms == ICE_TURN_MAX_PERMS) {
            PM_DEBUG(&a->env, ICE_COMP, "TURN %s: permission table full", t->url);
        } else {
            ice_perm *p = &t->perms[t->nperms];
            memset(p, 0, sizeof *p);
            p->ip = *peer;
            send_permission(a, k, (int)t->nperms++, a->now);
        }
    }
    if (!channel || chan_find(t, peer) >= 0 || t->nchans == ICE_TURN_MAX_CHANS)
        return;
    ice_chan *c = &t->chans[t->nchans];
    memset(c, 0, sizeof *c);
    c->peer = *peer;
    c->number = t->next_channel;
    t->next_channel = t->next_channel == PM_TURN_CHANNEL_MAX ? PM_TURN_CHANNEL_MIN
                                                             : (uint16_t)(t->next_channel + 1);
    send_channel_bind(a, k, (int)t->nchans++, a->now);
}

bool ice_turn_permitted(const pm_ice_agent *a, uint8_t via, const pm_addr *peer)
{
    const ice_turn *t = ice_turn_of_via(a, via);
    if (!t || t->state != TURN_READY)
        return false;
    int pi = perm_find(t, peer);
    return pi >= 0 && t->perms[pi].installed;
}

/* ---- relaying ---- */

int pm_ice_relay_frame(pm_ice_agent *a, uint8_t via, const pm_addr *peer, size_t len,
                       uint8_t hdr[PM_ICE_RELAY_HDR_MAX], size_t *hlen, size_t *pad,
                       uint32_t *stream, pm_addr *to)
{
    const ice_turn *t = ice_turn_of_via(a, via);
    if (!t || t->state != TURN_READY)
        return PM_ERR_NOT_FOUND;
    if (len > 0xFFFF)
        return PM_ERR_TOO_BIG;
    int k = via - 1;
    *stream = is_stream(t) ? stream_of(k) : PM_ICE_STREAM_UDP;
    *to = t->server;
    int ci = chan_find(t, peer);
    if (ci >= 0 && t->chans[ci].bound) {
        pm_turn_channel_header(hdr, t->chans[ci].number, len);
        *hlen = PM_TURN_CHANNEL_HDR;
        /* RFC 8656 12.5: padded over TCP/TLS; over UDP it is not needed. */
        *pad = is_stream(t) ? pm_turn_pad(len) : 0;
        return PM_OK;
    }
    /* A Send indication. Its transaction id need not be unpredictable
     * (nobody answers an indication): a counter avoids a random draw per
     * datagram. */
    static uint32_t counter;
    uint8_t tid[PM_STUN_TID_LEN] = {'p', 'm', 's', 'n'};
    pm_wr32(tid + 4, (uint32_t)k);
    pm_wr32(tid + 8, ++counter);
    int h = pm_turn_send_header(hdr, tid, peer, len);
    if (h < 0)
        return h;
    *hlen = (size_t)h;
    *pad = pm_turn_pad(len);
    return PM_OK;
}

void ice_turn_wrap_send(pm_ice_agent *a, uint8_t via, const pm_addr *peer, const uint8_t *msg,
                        size_t len)
{
    size_t hlen, pad;
    uint32_t stream;
    pm_addr to;
    uint8_t *buf = a->scratch;
    if (len > ICE_MAX_MSG ||
        pm_ice_relay_frame(a, via, peer, len, buf, &hlen, &pad, &stream, &to) != PM_OK)
        return;
    memcpy(buf + hlen, msg, len);
    memset(buf + hlen + len, 0, pad);
    if (stream == PM_ICE_STREAM_UDP)
        ice_send(a, &to, buf, hlen + len + pad);
    else
        ice_queue(a, PM_ICE_TX_STREAM_DATA, stream, &to, buf, hlen + len + pad);
}

/* ---- responses ---- */

static pm_time refresh_delay(uint32_t lifetime_s)
{
    pm_time life = PM_SEC(lifetime_s);
    return life > 2 * ICE_TURN_REFRESH_EARLY ? life - ICE_TURN_REFRESH_EARLY : life / 2;
}

static void take_nonce(ice_turn *t, const pm_stun_msg *m)
{
    if (m->has_realm && m->realm.len < sizeof t->realm) {
        memcpy(t->realm, m->realm.p, m->realm.len);
        t->realm[m->realm.len] = '\0';
    }
    size_t n = PM_MIN((size_t)m->nonce.len, sizeof t->nonce);
    memcpy(t->nonce, m->nonce.p, n);
    t->nonce_len = n;
    pm_stun_long_term_key(t->username, t->realm, t->password, t->key);
    t->have_key = true;
}

static void report_relay(pm_ice_agent *a, int k)
{
    ice_turn *t = &a->turn[k];
    t->local = ice_add_local(
        a, PM_CAND_RELAY, (uint8_t)(k + 1), &t->relayed, t->have_mapped ? &t->mapped : NULL,
        &t->server, ice_path_priority(a, (uint8_t)(k + 1), t->relayed.family) >> 8 & 0xFFFF);
    ice_pairs_for_path(a, (uint8_t)(k + 1));
}

static void on_allocated(pm_ice_agent *a, int k, const pm_stun_msg *m, pm_time now)
{
    ice_turn *t = &a->turn[k];
    if (!m->has_xor_relayed) {
        turn_fail(a, k, PM_STUN_ERR_SERVER_ERROR, "Allocate success without a relayed address");
        return;
    }
    t->state = TURN_READY;
    t->relayed = m->xor_relayed;
    t->have_mapped = m->has_xor_mapped;
    if (m->has_xor_mapped)
        t->mapped = m->xor_mapped;
    t->lifetime = m->has_lifetime ? m->lifetime : PM_TURN_ALLOCATION_LIFETIME_S;
    t->refresh_at = now + refresh_delay(t->lifetime);
    if (PM_LOG_ON(&a->env, PM_LOG_INFO)) {
        char buf[PM_ADDR_STRLEN];
        PM_INFO(&a->env, ICE_COMP, "TURN %s: relayed address %s, lifetime %u s", t->url,
                pm_addr_format(&t->relayed, buf, sizeof buf), t->lifetime);
    }
    report_relay(a, k);
    /* The server saw our public address too (Chrome uses it as well). */
    if (t->have_mapped && t->transport == PM_ICE_TURN_UDP && !ice_have_local(a, &t->mapped)) {
        for (size_t i = 0; i < a->nhosts; i++)
            if (a->hosts[i].family == t->mapped.family) {
                ice_add_local(a, PM_CAND_SRFLX, 0, &t->mapped, &a->hosts[i], &t->server, 0);
                break;
            }
    }
    ice_check_gathering_done(a);
}

static void error_text(const pm_stun_msg *m, const char *what, char *out, size_t cap)
{
    int rl = (int)PM_MIN((size_t)m->error_reason.len, (size_t)80);
    snprintf(out, cap, "%s: error %u %.*s", what, m->error_code, rl,
             rl ? (const char *)m->error_reason.p : "");
}

/* 401 and 438 on any request: learn the realm/nonce and say whether to retry. */
static bool retry_auth(pm_ice_agent *a, int k, const pm_stun_msg *m, ice_turn_op op)
{
    ice_turn *t = &a->turn[k];
    if (!m->has_nonce)
        return false;
    if (m->error_code == PM_STUN_ERR_STALE_NONCE) {
        if (++t->stale_tries > ICE_TURN_MAX_STALE)
            return false;
        take_nonce(t, m);
        return true;
    }
    if (m->error_code != PM_STUN_ERR_UNAUTHORIZED || !m->has_realm)
        return false;
    /* The first 401 is the challenge; a 401 to an Allocate that carried our
     * credentials means they are wrong. Later requests may meet a new nonce. */
    if (op == ICE_TURN_ALLOCATE && t->sent_credentials)
        return false;
    take_nonce(t, m);
    if (op == ICE_TURN_ALLOCATE)
        t->sent_credentials = true;
    return true;
}

static void on_error(pm_ice_agent *a, int k, ice_turn_op op, int arg, const pm_stun_msg *m,
                     pm_time now)
{
    ice_turn *t = &a->turn[k];
    if (retry_auth(a, k, m, op)) {
        if (op == ICE_TURN_PERMISSION)
            send_permission(a, k, arg, now);
        else if (op == ICE_TURN_CHANNEL)
            send_channel_bind(a, k, arg, now);
        else
            start_txn(a, k, op, arg, now);
        return;
    }
    char why[160];
    switch (op) {
    case ICE_TURN_ALLOCATE:
        if (m->error_code == PM_STUN_ERR_UNAUTHORIZED && t->sent_credentials)
            snprintf(why, sizeof why,
                     "Allocate refused with our credentials: error 401 (wrong "
                     "username or password?)");
        else
            error_text(m, "Allocate refused", why, sizeof why);
        turn_fail(a, k, m->error_code, why);
        break;
    case ICE_TURN_REFRESH:
        if (arg == 0)
            break;
        if (t->restart_pending) {
            /* The allocation did not survive (e.g. a new NAT mapping): get a new one. */
            PM_INFO(&a->env, ICE_COMP, "TURN %s: Refresh refused (%u); allocating again", t->url,
                    m->error_code);
            t->restart_pending = false;
            ice_path_failed(a, (uint8_t)(k + 1));
            allocate(a, k, now);
            break;
        }
        error_text(m, "allocation lost (Refresh refused)", why, sizeof why);
        turn_fail(a, k, m->error_code, why);
        break;
    case ICE_TURN_PERMISSION: {
        ice_perm *p = &t->perms[arg];
        p->pending = false;
        p->failed = true;
        char buf[PM_ADDR_STRLEN];
        error_text(m, "CreatePermission refused", why, sizeof why);
        PM_WARN(&a->env, ICE_COMP, "TURN %s: %s for %s", t->url, why,
                pm_addr_format_ip(&p->ip, buf, sizeof buf));
        /* Pairs to that IP through this relay cannot work. */
        for (size_t i = 0; i < a->npairs; i++)
            if (a->pairs[i].used && a->pairs[i].via == k + 1 &&
                same_ip(&a->pairs[i].remote, &p->ip))
                ice_pair_fail(a, (int)i);
        break;
    }
    case ICE_TURN_CHANNEL:
        t->chans[arg].pending = false;
        t->chans[arg].failed = true; /* Send indications keep working */
        PM_DEBUG(&a->env, ICE_COMP, "TURN %s: ChannelBind refused (%u)", t->url, m->error_code);
        break;
    }
}

void ice_turn_response(pm_ice_agent *a, int ti, const pm_stun_msg *m, pm_time now)
{
    ice_txn x = a->txns[ti];
    int k = x.target;
    ice_turn *t = &a->turn[k];
    if (m->method != method_of(x.op))
        return;
    if (m->cls == PM_STUN_SUCCESS && t->have_key &&
        pm_stun_check_integrity(m, t->key, sizeof t->key) != PM_OK) {
        PM_DEBUG(&a->env, ICE_COMP, "TURN %s: response without valid integrity dropped", t->url);
        return;
    }
    ice_txn_free(a, ti);
    if (t->state == TURN_FAILED || t->state == TURN_CLOSED)
        return;
    if (m->cls != PM_STUN_SUCCESS) {
        on_error(a, k, x.op, x.arg, m, now);
        return;
    }
    t->stale_tries = 0;
    switch (x.op) {
    case ICE_TURN_ALLOCATE:
        on_allocated(a, k, m, now);
        break;
    case ICE_TURN_REFRESH:
        if (x.arg == 0)
            break;
        t->lifetime = m->has_lifetime ? m->lifetime : t->lifetime;
        t->refresh_at = now + refresh_delay(t->lifetime);
        if (t->restart_pending) {
            t->restart_pending = false;
            report_relay(a, k);
            ice_check_gathering_done(a);
        }
        break;
    case ICE_TURN_PERMISSION: {
        ice_perm *p = &t->perms[x.arg];
        p->pending = false;
        p->installed = true;
        p->refresh_at = now + ICE_TURN_PERM_REFRESH;
        a->dirty = true; /* checks waiting for it may go */
        break;
    }
    case ICE_TURN_CHANNEL: {
        ice_chan *c = &t->chans[x.arg];
        c->pending = false;
        c->bound = true;
        c->refresh_at = now + ICE_TURN_CHAN_REFRESH;
        break;
    }
    }
}

void ice_turn_timeout(pm_ice_agent *a, int ti, pm_time now)
{
    ice_txn x = a->txns[ti];
    ice_txn_free(a, ti);
    int k = x.target;
    ice_turn *t = &a->turn[k];
    char why[160];
    switch (x.op) {
    case ICE_TURN_ALLOCATE:
        turn_fail(a, k, 701, "no answer to Allocate (server unreachable?)");
        break;
    case ICE_TURN_REFRESH:
        if (t->restart_pending) {
            t->restart_pending = false;
            ice_path_failed(a, (uint8_t)(k + 1));
            allocate(a, k, now);
            break;
        }
        snprintf(why, sizeof why, "no answer to Refresh: allocation lost");
        turn_fail(a, k, 701, why);
        break;
    case ICE_TURN_PERMISSION:
        t->perms[x.arg].pending = false;
        t->perms[x.arg].failed = true;
        PM_WARN(&a->env, ICE_COMP, "TURN %s: no answer to CreatePermission", t->url);
        break;
    case ICE_TURN_CHANNEL:
        t->chans[x.arg].pending = false;
        t->chans[x.arg].failed = true;
        break;
    }
}

/* ---- upkeep ---- */

void ice_turn_tick(pm_ice_agent *a, pm_time now)
{
    for (size_t k = 0; k < a->nturn; k++) {
        ice_turn *t = &a->turn[k];
        if (t->state != TURN_READY)
            continue;
        if (t->txn < 0 && now >= t->refresh_at)
            start_txn(a, (int)k, ICE_TURN_REFRESH, (int)t->lifetime, now);
        for (size_t i = 0; i < t->nperms; i++) {
            ice_perm *p = &t->perms[i];
            if (p->installed && !p->pending && now >= p->refresh_at)
                send_permission(a, (int)k, (int)i, now);
        }
        for (size_t i = 0; i < t->nchans; i++) {
            ice_chan *c = &t->chans[i];
            if (c->bound && !c->pending && now >= c->refresh_at)
                send_channel_bind(a, (int)k, (int)i, now);
        }
    }
}

pm_time ice_turn_deadline(const pm_ice_agent *a)
{
    pm_time t = PM_TIME_NEVER;
    for (size_t k = 0; k < a->nturn; k++) {
        const ice_turn *u = &a->turn[k];
        if (u->state != TURN_READY)
            continue;
        if (u->txn < 0)
            t = PM_MIN(t, u->refresh_at);
        for (size_t i = 0; i < u->nperms; i++)
            if (u->perms[i].installed && !u->perms[i].pending)
                t = PM_MIN(t, u->perms[i].refresh_at);
        for (size_t i = 0; i < u->nchans; i++)
            if (u->chans[i].bound && !u->chans[i].pending)
                t = PM_MIN(t, u->chans[i].refresh_at);
    }
    return t;
}

/* ---- input from a server ---- */

/* Bytes a peer sent us through relay k: a check or response, or data. */
static int relayed_input(pm_ice_agent *a, pm_time now, int k, const pm_addr *peer, const uint8_t *d,
                         size_t n, pm_ice_app *app)
{
    uint8_t via = (uint8_t)(k + 1);
    if (n > 0 && d[0] <= 3) {
        pm_stun_msg m;
        if (pm_stun_parse(&m, d, n) != PM_OK)
            return PM_ERR_PARSE;
        if (m.cls == PM_STUN_REQUEST)
            return a->state == PM_ICE_FAILED ? PM_ERR_STATE
                                             : ice_handle_request(a, now, via, peer, &m);
        if (m.cls == PM_STUN_SUCCESS || m.cls == PM_STUN_ERROR)
            return ice_handle_response(a, now, via, peer, &m);
        return PM_OK;
    }
    app->via = via;
    app->from = *peer;
    app->data = d;
    app->len = n;
    return PM_OK;
}

int ice_turn_datagram(pm_ice_agent *a, pm_time now, int k, const uint8_t *data, size_t len,
                      pm_ice_app *app)
{
    ice_turn *t = &a->turn[k];
    app->len = 0;
    if (pm_turn_is_channel_data(data, len)) {
        uint16_t ch;
        const uint8_t *d;
        size_t n;
        if (pm_turn_channel_parse(data, len, &ch, &d, &n) != PM_OK)
            return PM_ERR_PARSE;
        for (size_t i = 0; i < t->nchans; i++)
            if (t->chans[i].number == ch && (t->chans[i].bound || t->chans[i].pending))
                return relayed_input(a, now, k, &t->chans[i].peer, d, n, app);
        return PM_ERR_NOT_FOUND;
    }
    pm_stun_msg m;
    if (pm_stun_parse(&m, data, len) != PM_OK)
        return PM_ERR_PARSE;
    if (m.cls == PM_STUN_SUCCESS || m.cls == PM_STUN_ERROR) {
        ice_txn *x = ice_txn_find(a, m.tid);
        if (x && x->kind == ICE_TXN_TURN && x->target == k)
            ice_turn_response(a, (int)(x - a->txns), &m, now);
        else if (x && x->kind == ICE_TXN_SERVER && m.method == PM_STUN_BINDING)
            ice_handle_response(a, now, 0, &t->server, &m); /* a STUN server there too */
        return PM_OK;
    }
    if (m.cls == PM_STUN_INDICATION && m.method == PM_STUN_DATA) {
        if (!m.has_xor_peer || !m.has_data || t->state != TURN_READY)
            return PM_ERR_PARSE;
        return relayed_input(a, now, k, &m.xor_peer, m.data.p, m.data.len, app);
    }
    return PM_OK; /* requests and other indications are not for a client */
}

int pm_ice_handle_stream(pm_ice_agent *a, pm_time now, uint32_t stream, const uint8_t *data,
                         size_t len)
{
    if (!data && len)
        return PM_ERR_INVALID;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    int k = ice_turn_for_stream(a, stream);
    if (k < 0)
        return PM_ERR_NOT_FOUND;
    ice_turn *t = &a->turn[k];
    if (!t->stream_open)
        return PM_ERR_STATE;
    if (now > a->now)
        a->now = now;
    if (pm_buf_append(&a->env, &t->rx, data, len) != PM_OK)
        return PM_ERR_NOMEM;
    int rc = PM_OK;
    while (t->rx_off < t->rx.len) {
        const uint8_t *f = t->rx.data + t->rx_off;
        size_t avail = t->rx.len - t->rx_off, fl = 0;
        int fr = pm_turn_stream_frame_len(f, avail, &fl);
        if (fr == PM_ERR_AGAIN || (fr == PM_OK && fl > avail && fl <= ICE_TURN_STREAM_BUF_MAX))
            break;
        if (fr != PM_OK || fl > ICE_TURN_STREAM_BUF_MAX) {
            turn_fail(a, k, PM_STUN_ERR_SERVER_ERROR, "the server's stream is not TURN");
            rc = PM_ERR_PARSE;
            break;
        }
        pm_ice_app app;
        int frc = ice_turn_datagram(a, a->now, k, f, fl, &app);
        if (frc == PM_OK && app.len &&
            pm_fifo_push(&a->env, &a->app, app.via, &app.from, sizeof app.from, app.data,
                         app.len) != PM_OK)
            PM_DEBUG(&a->env, ICE_COMP, "relayed data queue full; dropping a datagram");
        t->rx_off += fl;
        if (!t->stream_open)
            break; /* failed meanwhile */
    }
    if (t->stream_open) {
        if (t->rx_off == t->rx.len) {
            t->rx.len = t->rx_off = 0;
        } else if (t->rx_off > t->rx.len / 2) {
            memmove(t->rx.data, t->rx.data + t->rx_off, t->rx.len - t->rx_off);
            t->rx.len -= t->rx_off;
            t->rx_off = 0;
        }
    }
    ice_run(a, a->now);
    return rc;
}

void pm_ice_stream_closed(pm_ice_agent *a, pm_time now, uint32_t stream, const char *why)
{
    int k = ice_turn_for_stream(a, stream);
    if (k < 0 || a->state == PM_ICE_CLOSED)
        return;
    ice_turn *t = &a->turn[k];
    if (!t->stream_open)
        return;
    if (now > a->now)
        a->now = now;
    t->stream_open = false; /* closed already: nothing to send a close for */
    char text[160];
    snprintf(text, sizeof text, "connection to the server lost: %s", why ? why : "closed");
    turn_fail(a, k, 701, text);
    ice_run(a, a->now);
}
