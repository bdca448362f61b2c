/* A small sans-I/O TURN server for tests (see turnsim.h). */
#include "turnsim.h"

#include "wire/stun.h"
#include "wire/turn.h"

#include <stdio.h>
#include <stdlib.h>

#define TS_MAX_ALLOC 8
#define TS_MAX_PERM  16
#define TS_MAX_CHAN  16
#define TS_QUEUE     4096

typedef struct ts_alloc {
    bool used;
    uint32_t conn; /* stream client, or 0 for UDP */
    pm_addr client;
    pm_addr relayed;
    pm_time expires;
    pm_addr perms[TS_MAX_PERM];
    pm_time perm_expires[TS_MAX_PERM];
    int nperms;
    pm_addr chan_peer[TS_MAX_CHAN];
    uint16_t chan_num[TS_MAX_CHAN];
    int nchans;
} ts_alloc;

typedef struct ts_pkt {
    uint32_t conn;
    pm_addr from, to;
    size_t len;
    uint8_t *data;
} ts_pkt;

typedef struct ts_stream {
    uint32_t conn;
    pm_addr from;
    uint8_t buf[70000];
    size_t len;
} ts_stream;

struct pm_turnsim {
    pm_turnsim_config cfg;
    uint8_t key[16];
    char nonce[32];
    int nonce_gen;
    bool stale_pending;
    bool silent;
    ts_alloc allocs[TS_MAX_ALLOC];
    ts_pkt q[TS_QUEUE];
    size_t qhead, qn;
    uint8_t *taken;
    ts_stream streams[4];
    pm_turnsim_stats st;
    pm_time now;
};

pm_turnsim *pm_turnsim_new(const pm_turnsim_config *cfg)
{
    pm_turnsim *ts = calloc(1, sizeof *ts);
    ts->cfg = *cfg;
    if (!ts->cfg.max_allocations)
        ts->cfg.max_allocations = TS_MAX_ALLOC;
    if (!ts->cfg.lifetime_s)
        ts->cfg.lifetime_s = 600;
    pm_stun_long_term_key(cfg->user, cfg->realm, cfg->pass, ts->key);
    snprintf(ts->nonce, sizeof ts->nonce, "nonce-%d", ts->nonce_gen);
    ts->stale_pending = cfg->stale_nonce_once;
    return ts;
}

void pm_turnsim_free(pm_turnsim *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->qn; i++)
        free(ts->q[(ts->qhead + i) % TS_QUEUE].data);
    free(ts->taken);
    free(ts);
}

void pm_turnsim_set_silent(pm_turnsim *ts, bool silent)
{
    ts->silent = silent;
}

pm_turnsim_stats pm_turnsim_get_stats(const pm_turnsim *ts)
{
    return ts->st;
}

int pm_turnsim_allocations(const pm_turnsim *ts)
{
    int n = 0;
    for (int i = 0; i < TS_MAX_ALLOC; i++)
        n += ts->allocs[i].used && ts->allocs[i].expires > ts->now;
    return n;
}

/* ---- output ---- */

static void emit(pm_turnsim *ts, uint32_t conn, const pm_addr *from, const pm_addr *to,
                 const uint8_t *d, size_t n)
{
    assert_true(ts->qn < TS_QUEUE);
    ts_pkt *p = &ts->q[(ts->qhead + ts->qn++) % TS_QUEUE];
    p->conn = conn;
    p->from = *from;
    p->to = *to;
    size_t pad = conn ? pm_turn_pad(n) : 0; /* stream framing pads ChannelData */
    p->len = n + pad;
    p->data = calloc(1, p->len + 1);
    memcpy(p->data, d, n);
}

bool pm_turnsim_poll(pm_turnsim *ts, pm_turnsim_out *out)
{
    if (!ts->qn)
        return false;
    ts_pkt *p = &ts->q[ts->qhead];
    ts->qhead = (ts->qhead + 1) % TS_QUEUE;
    ts->qn--;
    free(ts->taken);
    ts->taken = p->data;
    out->conn = p->conn;
    out->from = p->from;
    out->to = p->to;
    out->data = p->data;
    out->len = p->len;
    return true;
}

/* To the client of an allocation: over its stream, or as a datagram. */
static void to_client(pm_turnsim *ts, const ts_alloc *a, const uint8_t *d, size_t n)
{
    emit(ts, a->conn, &ts->cfg.server, &a->client, d, n);
}

/* ---- allocations ---- */

static ts_alloc *alloc_of_client(pm_turnsim *ts, uint32_t conn, const pm_addr *client)
{
    for (int i = 0; i < TS_MAX_ALLOC; i++) {
        ts_alloc *a = &ts->allocs[i];
        if (a->used && a->expires > ts->now && a->conn == conn && pm_addr_equal(&a->client, client))
            return a;
    }
    return NULL;
}

static ts_alloc *alloc_of_relayed(pm_turnsim *ts, const pm_addr *relayed)
{
    for (int i = 0; i < TS_MAX_ALLOC; i++) {
        ts_alloc *a = &ts->allocs[i];
        if (a->used && a->expires > ts->now && pm_addr_equal(&a->relayed, relayed))
            return a;
    }
    return NULL;
}

static bool same_ip(const pm_addr *x, const pm_addr *y)
{
    return x->family == y->family && memcmp(x->ip, y->ip, 4) == 0;
}

static bool permitted(const pm_turnsim *ts, const ts_alloc *a, const pm_addr *peer)
{
    for (int i = 0; i < a->nperms; i++)
        if (same_ip(&a->perms[i], peer) && a->perm_expires[i] > ts->now)
            return true;
    return false;
}

/* ---- requests ---- */

static void reply(pm_turnsim *ts, uint32_t conn, const pm_addr *client, const pm_stun_msg *req,
                  uint16_t error, const ts_alloc *a, bool with_nonce, uint32_t lifetime)
{
    uint8_t buf[512];
    pm_stun_builder b;
    uint16_t cls = error ? PM_STUN_ERROR : PM_STUN_SUCCESS;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(req->method, cls), req->tid);
    if (error)
        pm_stun_add_error(&b, error, NULL);
    if (with_nonce) {
        pm_stun_add_str(&b, PM_STUN_ATTR_REALM, ts->cfg.realm);
        pm_stun_add_str(&b, PM_STUN_ATTR_NONCE, ts->nonce);
    }
    if (!error && req->method == PM_STUN_ALLOCATE) {
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_RELAYED_ADDRESS, &a->relayed);
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, client);
    }
    if (!error && (req->method == PM_STUN_ALLOCATE || req->method == PM_STUN_REFRESH))
        pm_stun_add_u32(&b, PM_STUN_ATTR_LIFETIME, lifetime);
    bool sign = !error || error == PM_STUN_ERR_ALLOCATION_QUOTA;
    int n = pm_stun_finish(&b, sign ? ts->key : NULL, sizeof ts->key, true);
    assert_true(n > 0);
    emit(ts, conn, &ts->cfg.server, client, buf, (size_t)n);
}

/* Long-term credential check; false when the request was answered with an error. */
static bool authenticate(pm_turnsim *ts, uint32_t conn, const pm_addr *from, const pm_stun_msg *m)
{
    if (!m->integrity_off || !m->has_username || !m->has_nonce) {
        ts->st.challenges++;
        reply(ts, conn, from, m, PM_STUN_ERR_UNAUTHORIZED, NULL, true, 0);
        return false;
    }
    bool user_ok = m->username.len == strlen(ts->cfg.user) &&
                   memcmp(m->username.p, ts->cfg.user, m->username.len) == 0;
    if (!user_ok || pm_stun_check_integrity(m, ts->key, sizeof ts->key) != PM_OK) {
        ts->st.wrong_credentials++;
        reply(ts, conn, from, m, PM_STUN_ERR_UNAUTHORIZED, NULL, true, 0);
        return false;
    }
    bool nonce_ok =
        m->nonce.len == strlen(ts->nonce) && memcmp(m->nonce.p, ts->nonce, m->nonce.len) == 0;
    if (!nonce_ok || ts->stale_pending) {
        ts->stale_pending = false;
        ts->st.stale++;
        snprintf(ts->nonce, sizeof ts->nonce, "nonce-%d", ++ts->nonce_gen);
        reply(ts, conn, from, m, PM_STUN_ERR_STALE_NONCE, NULL, true, 0);
        return false;
    }
    return true;
}

static void on_allocate(pm_turnsim *ts, uint32_t conn, const pm_addr *from, const pm_stun_msg *m)
{
    if (alloc_of_client(ts, conn, from)) {
        reply(ts, conn, from, m, PM_STUN_ERR_ALLOCATION_MISMATCH, NULL, false, 0);
        return;
    }
    if (pm_turnsim_allocations(ts) >= ts->cfg.max_allocations) {
        ts->st.quota++;
        reply(ts, conn, from, m, PM_STUN_ERR_ALLOCATION_QUOTA, NULL, false, 0);
        return;
    }
    int slot = -1;
    for (int i = 0; i < TS_MAX_ALLOC && slot < 0; i++)
        if (!ts->allocs[i].used || ts->allocs[i].expires <= ts->now)
            slot = i;
    assert_true(slot >= 0);
    ts_alloc *a = &ts->allocs[slot];
    memset(a, 0, sizeof *a);
    a->used = true;
    a->conn = conn;
    a->client = *from;
    a->relayed = ts->cfg.relay_ip;
    a->relayed.port = (uint16_t)(ts->cfg.relay_ip.port + slot);
    a->expires = ts->now + PM_SEC(ts->cfg.lifetime_s);
    ts->st.allocations++;
    reply(ts, conn, from, m, 0, a, false, ts->cfg.lifetime_s);
}

static void on_request(pm_turnsim *ts, uint32_t conn, const pm_addr *from, const pm_stun_msg *m)
{
    if (!authenticate(ts, conn, from, m))
        return;
    if (m->method == PM_STUN_ALLOCATE) {
        on_allocate(ts, conn, from, m);
        return;
    }
    ts_alloc *a = alloc_of_client(ts, conn, from);
    if (!a) {
        reply(ts, conn, from, m, PM_STUN_ERR_ALLOCATION_MISMATCH, NULL, false, 0);
        return;
    }
    switch (m->method) {
    case PM_STUN_REFRESH: {
        uint32_t life = m->has_lifetime ? m->lifetime : ts->cfg.lifetime_s;
        if (life == 0) {
            ts->st.deallocations++;
            reply(ts, conn, from, m, 0, a, false, 0);
            a->used = false;
            return;
        }
        ts->st.refreshes++;
        a->expires = ts->now + PM_SEC(ts->cfg.lifetime_s);
        reply(ts, conn, from, m, 0, a, false, ts->cfg.lifetime_s);
        return;
    }
    case PM_STUN_CREATE_PERMISSION:
    case PM_STUN_CHANNEL_BIND: {
        if (!m->has_xor_peer) {
            reply(ts, conn, from, m, PM_STUN_ERR_BAD_REQUEST, NULL, false, 0);
            return;
        }
        int pi = -1;
        for (int i = 0; i < a->nperms && pi < 0; i++)
            if (same_ip(&a->perms[i], &m->xor_peer))
                pi = i;
        if (pi < 0) {
            assert_true(a->nperms < TS_MAX_PERM);
            pi = a->nperms++;
            a->perms[pi] = m->xor_peer;
        }
        a->perm_expires[pi] = ts->now + PM_SEC(300);
        if (m->method == PM_STUN_CHANNEL_BIND) {
            if (!m->has_channel || m->channel < PM_TURN_CHANNEL_MIN ||
                m->channel > PM_TURN_CHANNEL_MAX) {
                reply(ts, conn, from, m, PM_STUN_ERR_BAD_REQUEST, NULL, false, 0);
                return;
            }
            int ci = -1;
            for (int i = 0; i < a->nchans && ci < 0; i++)
                if (a->chan_num[i] == m->channel)
                    ci = i;
            if (ci < 0) {
                assert_true(a->nchans < TS_MAX_CHAN);
                ci = a->nchans++;
            }
            a->chan_num[ci] = m->channel;
            a->chan_peer[ci] = m->xor_peer;
            ts->st.channel_binds++;
        } else {
            ts->st.permissions++;
        }
        reply(ts, conn, from, m, 0, a, false, 0);
        return;
    }
    default:
        reply(ts, conn, from, m, PM_STUN_ERR_BAD_REQUEST, NULL, false, 0);
    }
}

/* From a client: a request, a Send indication or ChannelData. */
static void from_client(pm_turnsim *ts, uint32_t conn, const pm_addr *from, const uint8_t *d,
                        size_t n)
{
    if (pm_turn_is_channel_data(d, n)) {
        uint16_t ch;
        const uint8_t *payload;
        size_t plen;
        ts_alloc *a = alloc_of_client(ts, conn, from);
        if (!a || pm_turn_channel_parse(d, n, &ch, &payload, &plen) != PM_OK)
            return;
        for (int i = 0; i < a->nchans; i++)
            if (a->chan_num[i] == ch) {
                ts->st.channel_data_in++;
                emit(ts, 0, &a->relayed, &a->chan_peer[i], payload, plen);
            }
        return;
    }
    pm_stun_msg m;
    if (pm_stun_parse(&m, d, n) != PM_OK)
        return;
    if (m.cls == PM_STUN_REQUEST) {
        on_request(ts, conn, from, &m);
    } else if (m.cls == PM_STUN_INDICATION && m.method == PM_STUN_SEND) {
        ts_alloc *a = alloc_of_client(ts, conn, from);
        if (!a || !m.has_xor_peer || !m.has_data)
            return;
        ts->st.send_indications++;
        if (!permitted(ts, a, &m.xor_peer)) {
            ts->st.dropped_no_permission++;
            return;
        }
        emit(ts, 0, &a->relayed, &m.xor_peer, m.data.p, m.data.len);
    }
}

/* A peer's datagram to a relayed address: to the client, if permitted. */
static void from_peer(pm_turnsim *ts, ts_alloc *a, const pm_addr *peer, const uint8_t *d, size_t n)
{
    if (!permitted(ts, a, peer)) {
        ts->st.dropped_no_permission++;
        return;
    }
    for (int i = 0; i < a->nchans; i++) {
        if (pm_addr_equal(&a->chan_peer[i], peer)) {
            uint8_t buf[70000];
            pm_turn_channel_header(buf, a->chan_num[i], n);
            memcpy(buf + 4, d, n);
            ts->st.channel_data_out++;
            to_client(ts, a, buf, 4 + n);
            return;
        }
    }
    uint8_t buf[70000];
    uint8_t tid[12] = {'d', 'a', 't', 'a'};
    pm_wr32(tid + 8, (uint32_t)ts->st.data_indications);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_DATA, PM_STUN_INDICATION), tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    pm_stun_add(&b, PM_STUN_ATTR_DATA, d, n);
    int len = pm_stun_finish(&b, NULL, 0, false);
    assert_true(len > 0);
    ts->st.data_indications++;
    to_client(ts, a, buf, (size_t)len);
}

void pm_turnsim_datagram(pm_turnsim *ts, pm_time now, const pm_addr *local, const pm_addr *from,
                         const uint8_t *data, size_t len)
{
    ts->now = now;
    if (ts->silent)
        return;
    if (pm_addr_equal(local, &ts->cfg.server)) {
        from_client(ts, 0, from, data, len);
        return;
    }
    ts_alloc *a = alloc_of_relayed(ts, local);
    if (a)
        from_peer(ts, a, from, data, len);
}

void pm_turnsim_stream(pm_turnsim *ts, pm_time now, uint32_t conn, const pm_addr *from,
                       const uint8_t *data, size_t len)
{
    ts->now = now;
    ts_stream *s = NULL;
    for (size_t i = 0; i < PM_ARRAY_LEN(ts->streams) && !s; i++)
        if (ts->streams[i].conn == conn)
            s = &ts->streams[i];
    for (size_t i = 0; i < PM_ARRAY_LEN(ts->streams) && !s; i++)
        if (!ts->streams[i].conn) {
            s = &ts->streams[i];
            s->conn = conn;
            s->from = *from;
            s->len = 0;
        }
    assert_non_null(s);
    assert_true(s->len + len <= sizeof s->buf);
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    size_t off = 0, fl;
    while (pm_turn_stream_frame_len(s->buf + off, s->len - off, &fl) == PM_OK &&
           fl <= s->len - off) {
        if (!ts->silent)
            from_client(ts, conn, &s->from, s->buf + off, fl);
        off += fl;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

void pm_turnsim_stream_closed(pm_turnsim *ts, uint32_t conn)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(ts->streams); i++)
        if (ts->streams[i].conn == conn)
            ts->streams[i].conn = 0;
    for (int i = 0; i < TS_MAX_ALLOC; i++)
        if (ts->allocs[i].used && ts->allocs[i].conn == conn)
            ts->allocs[i].used = false;
}

/* ---- simnet glue ---- */

static int sim_dgram(void *ep, pm_time now, const pm_addr *local, const pm_addr *from,
                     const uint8_t *d, size_t n)
{
    pm_turnsim_datagram(ep, now, local, from, d, n);
    return PM_OK;
}

static int sim_timeout(void *ep, pm_time now)
{
    ((pm_turnsim *)ep)->now = now;
    return PM_OK;
}

static bool sim_tx(void *ep, pm_rtc_transmit *out)
{
    pm_turnsim_out o;
    for (;;) {
        if (!pm_turnsim_poll(ep, &o))
            return false;
        if (o.conn == 0)
            break; /* streams do not exist on a simnet */
    }
    memset(out, 0, sizeof *out);
    out->from = o.from;
    out->to = o.to;
    out->data = o.data;
    out->len = o.len;
    return true;
}

static pm_time sim_next(const void *ep)
{
    (void)ep;
    return PM_TIME_NEVER;
}

static const pm_sim_ops turnsim_ops = {sim_dgram, sim_timeout, sim_tx, sim_next};

void pm_turnsim_attach(pm_turnsim *ts, pm_simnet *net)
{
    pm_simnet_add(net, ts, &turnsim_ops, &ts->cfg.server);
    for (int i = 0; i < TS_MAX_ALLOC; i++) {
        pm_addr r = ts->cfg.relay_ip;
        r.port = (uint16_t)(r.port + i);
        pm_simnet_add(net, ts, &turnsim_ops, &r);
    }
}
