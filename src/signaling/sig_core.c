/*
 * The signaling core: connection table, limits, message dispatch, outputs
 * and timers (sig_core.h). Lobby logic is in sig_lobby.c.
 *
 * Behaviour follows the demo's Node server (GODOT-SEMANTICS.md section 3)
 * with its bugs fixed: unique ids, no second JOIN, no relay to oneself,
 * destinations that are exactly integers. What it lacks is added: dead
 * peers are found by ping/pong, messages are size- and rate-limited,
 * connections are capped per address, joining may need a token.
 */
#include "signaling/sig_core_internal.h"
#include "signaling/token.h"

#include <stdio.h>

/* The demo server's constants (server_node/server.js). */
#define DEMO_MAX_PEERS          4096
#define DEMO_MAX_LOBBIES        1024
#define DEMO_NO_LOBBY_TIMEOUT   PM_MS(1000)
#define DEMO_SEAL_CLOSE_TIMEOUT PM_MS(10000)
#define DEMO_PING_INTERVAL      PM_MS(10000)
/* Ours: SDPs of a data-channel-only session are a few KiB; 64 KiB leaves
 * room for many candidates while bounding what one peer can make us hold
 * (the demo took whatever ws allowed, 100 MiB). */
#define DEFAULT_MAX_MESSAGE 65536
#define DEFAULT_RATE        100
#define DEFAULT_BURST       500
#define DEFAULT_TURN_TTL    PM_SEC(86400)
#define DEFAULT_JOIN_RATE   10
#define DEFAULT_JOIN_BURST  50
/* Slowloris: lws works on 256 handshakes at once; one address may hold 32. */
#define DEFAULT_HANDSHAKES_PER_ADDRESS 32
#define DEFAULT_HANDSHAKE_TIMEOUT      PM_SEC(10)

#define TOKEN_UNIT    1000000   /* rate bucket unit: one message in millionths */
#define PING_SLICES   100       /* the ping round goes in this many steps... */
#define PING_TICK_MIN PM_MS(10) /* ...of at least this */

static pm_time ping_tick(const pm_signal_server_config *cfg)
{
    return PM_MAX(cfg->ping_interval / PING_SLICES, PING_TICK_MIN);
}

typedef struct out_header {
    uint64_t conn;
    uint64_t tid;
    int32_t code;
} out_header;

void pm_signal_server_config_default(pm_signal_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_address = "127.0.0.1"; /* signaling.h: loopback unless told otherwise */
    cfg->port = 9080;
    cfg->http_endpoints = true;
    cfg->max_peers = DEMO_MAX_PEERS;
    cfg->max_lobbies = DEMO_MAX_LOBBIES;
    cfg->join_timeout = DEMO_NO_LOBBY_TIMEOUT;
    cfg->seal_delay = DEMO_SEAL_CLOSE_TIMEOUT;
    cfg->max_lobby_peers = DEMO_MAX_PEERS;
    cfg->ping_interval = DEMO_PING_INTERVAL;
    cfg->max_message_size = DEFAULT_MAX_MESSAGE;
    cfg->rate_limit = DEFAULT_RATE;
    cfg->rate_burst = DEFAULT_BURST;
    cfg->turn_ttl = DEFAULT_TURN_TTL;
    cfg->join_rate = DEFAULT_JOIN_RATE;
    cfg->join_burst = DEFAULT_JOIN_BURST;
    cfg->max_handshakes_per_address = DEFAULT_HANDSHAKES_PER_ADDRESS;
    cfg->handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
}

/* ---- configuration ---- */

static char *dup_or_null(const pm_envr *env, const char *s, bool *fail)
{
    if (!s || !*s)
        return NULL;
    char *d = pm_strdup(env, s);
    if (!d)
        *fail = true;
    return d;
}

static const char **dup_list(const pm_envr *env, const char *const *list, size_t n, bool *fail)
{
    if (!n)
        return NULL;
    const char **d = pm_calloc(env, n * sizeof *d);
    if (!d) {
        *fail = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_or_null(env, list[i], fail);
    return d;
}

static void free_list(const pm_envr *env, const char *const *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        pm_free(env, (void *)list[i]);
    pm_free(env, (void *)list);
}

static int check_config(const pm_envr *env, const pm_signal_server_config *c)
{
    const char *why = NULL;
    if (c->max_peers == 0 || c->max_lobbies == 0 || c->max_lobby_peers == 0)
        why = "max_peers, max_lobbies and max_lobby_peers must be at least 1";
    else if (c->max_message_size < 256)
        why = "max_message_size must be at least 256 bytes";
    else if (c->join_timeout < 0 || c->seal_delay < 0 || c->ping_interval < 0 || c->turn_ttl < 0)
        why = "timeouts must not be negative";
    else if (c->rate_limit && !c->rate_burst)
        why = "rate_limit needs a rate_burst of at least 1";
    else if (c->join_rate && !c->join_burst)
        why = "join_rate needs a join_burst of at least 1";
    else if (c->auth_secret && *c->auth_secret && c->token_secret && *c->token_secret)
        why = "auth_secret and token_secret exclude each other";
    else if (c->turn_url_count && !(c->turn_secret && *c->turn_secret))
        why = "TURN URLs need turn_secret";
    else if ((c->turn_url_count && !c->turn_urls) || (c->stun_url_count && !c->stun_urls))
        why = "URL list missing";
    if (why) {
        PM_ERROR(env, "signal", "bad server configuration: %s", why);
        return PM_ERR_INVALID;
    }
    for (size_t i = 0; i < c->turn_url_count; i++)
        if (!c->turn_urls[i] || !*c->turn_urls[i])
            return PM_ERR_INVALID;
    for (size_t i = 0; i < c->stun_url_count; i++)
        if (!c->stun_urls[i] || !*c->stun_urls[i])
            return PM_ERR_INVALID;
    return PM_OK;
}

int pm_sigsrv_new(const pm_envr *env, const pm_signal_server_config *cfg, pm_time now,
                  pm_time unix_offset, pm_sigsrv **out)
{
    if (!env || !cfg || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    int rc = check_config(env, cfg);
    if (rc)
        return rc;
    pm_sigsrv *s = pm_calloc(env, sizeof *s);
    if (!s)
        return PM_ERR_NOMEM;
    s->env = *env;
    s->cfg = *cfg;
    s->unix_offset = unix_offset;
    bool fail = false;
    /* Only what the core reads is kept; the transport keeps its own. */
    s->cfg.bind_address = s->cfg.cert_file = s->cfg.key_file = NULL;
    s->cfg.auth_secret = dup_or_null(env, cfg->auth_secret, &fail);
    s->cfg.token_secret = dup_or_null(env, cfg->token_secret, &fail);
    s->cfg.turn_secret = dup_or_null(env, cfg->turn_secret, &fail);
    s->cfg.turn_urls = dup_list(env, cfg->turn_urls, cfg->turn_url_count, &fail);
    s->cfg.stun_urls = dup_list(env, cfg->stun_urls, cfg->stun_url_count, &fail);
    pm_fifo_init(&s->out, 0);
    s->ping_cycle = now;
    s->next_ping = cfg->ping_interval ? now + ping_tick(cfg) : PM_TIME_NEVER;
    s->next_addr_gc = PM_TIME_NEVER;
    s->now = now;
    s->log_window = now;
    if (fail) {
        pm_sigsrv_free(s);
        return PM_ERR_NOMEM;
    }
    /* The cluster keeps what it needs (the prefix); the URL is the shell's. */
    if (cfg->redis_url && *cfg->redis_url) {
        rc = pm_sigsrv_cluster_new(s);
        if (rc != PM_OK) {
            pm_sigsrv_free(s);
            return rc;
        }
    }
    s->cfg.redis_url = s->cfg.redis_prefix = NULL;
    *out = s;
    return PM_OK;
}

void pm_sigsrv_free(pm_sigsrv *s)
{
    if (!s)
        return;
    pm_envr env = s->env;
    pm_sigsrv_lobbies_free(s);
    pm_sigsrv_cluster_free(s);
    for (size_t i = 0; i < s->nslots; i++)
        pm_free(&env, s->slots[i]);
    pm_free(&env, s->slots);
    pm_free(&env, s->gens);
    pm_free(&env, s->free_slots);
    pm_map_free(&env, &s->lobbies);
    pm_sigsrv_addresses_free(s);
    pm_fifo_free(&env, &s->out);
    pm_buf_free(&env, &s->scratch);
    pm_buf_free(&env, &s->enc);
    pm_free(&env, (void *)s->cfg.auth_secret);
    pm_free(&env, (void *)s->cfg.token_secret);
    pm_free(&env, (void *)s->cfg.turn_secret);
    free_list(&env, s->cfg.turn_urls, s->cfg.turn_url_count);
    free_list(&env, s->cfg.stun_urls, s->cfg.stun_url_count);
    pm_free(&env, s);
}

int64_t pm_sigsrv_unix_now(const pm_sigsrv *s, pm_time now)
{
    return (now + s->unix_offset) / 1000000;
}

/* ---- connection table ---- */

sig_conn *pm_sigsrv_conn(const pm_sigsrv *s, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (slot == 0 || slot > s->nslots)
        return NULL;
    sig_conn *c = s->slots[slot - 1];
    return c && c->id == id ? c : NULL;
}

static int slot_take(pm_sigsrv *s, uint32_t *slot)
{
    if (s->nfree) {
        *slot = s->free_slots[--s->nfree];
        return PM_OK;
    }
    size_t n = s->nslots ? s->nslots * 2 : 64;
    if (n > UINT32_MAX - 1)
        return PM_ERR_FULL;
    sig_conn **slots = pm_realloc(&s->env, s->slots, n * sizeof *slots);
    if (!slots)
        return PM_ERR_NOMEM;
    s->slots = slots;
    uint32_t *gens = pm_realloc(&s->env, s->gens, n * sizeof *gens);
    if (!gens)
        return PM_ERR_NOMEM;
    s->gens = gens;
    uint32_t *fr = pm_realloc(&s->env, s->free_slots, n * sizeof *fr);
    if (!fr)
        return PM_ERR_NOMEM;
    s->free_slots = fr;
    for (size_t i = s->nslots; i < n; i++) {
        s->slots[i] = NULL;
        s->gens[i] = 0;
    }
    /* Hand out low slots first: push the new ones in reverse. */
    for (size_t i = n; i > s->nslots + 1; i--)
        s->free_slots[s->nfree++] = (uint32_t)(i - 1);
    *slot = (uint32_t)s->nslots;
    s->nslots = n;
    return PM_OK;
}

static void push_output(pm_sigsrv *s, pm_sigsrv_out_kind kind, const sig_conn *c, int code,
                        const void *data, size_t len)
{
    out_header h = {.conn = c->id, .tid = c->tid, .code = code};
    if (pm_fifo_push(&s->env, &s->out, kind, &h, sizeof h, data, len) != PM_OK)
        PM_ERROR(&s->env, "signal", "out of memory queueing output for connection %llx",
                 (unsigned long long)c->id);
}

int pm_sigsrv_push_redis(pm_sigsrv *s, uint64_t cookie, int argc, const void *cmd, size_t len)
{
    out_header h = {.conn = 0, .tid = cookie, .code = argc};
    return pm_fifo_push(&s->env, &s->out, PM_SIGSRV_OUT_REDIS, &h, sizeof h, cmd, len);
}

void pm_sigsrv_send(pm_sigsrv *s, sig_conn *c, int type, int64_t id, const char *data,
                    size_t data_len, const char *ice, size_t ice_len)
{
    if (c->state != CONN_OPEN || c->remote)
        return; /* a member on another node: its node tells it */
    pm_sigmsg m = {
        .type = type, .id = id, .data = data, .data_len = data_len, .ice = ice, .ice_len = ice_len};
    s->enc.len = 0;
    /* A connection that has sent nothing yet cannot be addressed; fall back
     * to JSON for robustness. */
    pm_sigproto proto = c->proto ? c->proto : PM_SIGPROTO_JSON;
    int rc = pm_sigmsg_encode(&s->env, proto, &m, &s->enc);
    if (rc != PM_OK) {
        PM_WARN(&s->env, "signal", "cannot encode message type %d for peer %d: %s", type,
                (int)c->peer_id, pm_strerror(rc));
        return;
    }
    s->stats.messages_out++;
    push_output(s, PM_SIGSRV_OUT_SEND, c, 0, s->enc.data, s->enc.len);
}

void pm_sigsrv_unpend(pm_sigsrv *s, sig_conn *c)
{
    if (!c->pending)
        return;
    if (c->pend_prev)
        c->pend_prev->pend_next = c->pend_next;
    else
        s->pend_head = c->pend_next;
    if (c->pend_next)
        c->pend_next->pend_prev = c->pend_prev;
    else
        s->pend_tail = c->pend_prev;
    c->pend_prev = c->pend_next = NULL;
    c->pending = false;
}

static void count_close(pm_sigsrv *s, int code)
{
    switch (code) {
    case PM_SIGNAL_CLOSE_PROTOCOL:
        s->stats.rejected_protocol++;
        break;
    case PM_SIGNAL_CLOSE_UNAUTHORIZED:
        s->stats.rejected_auth++;
        break;
    case PM_SIGNAL_CLOSE_RATE:
        s->stats.rejected_rate++;
        break;
    case PM_SIGNAL_CLOSE_ADDRESS:
        s->stats.rejected_address++;
        break;
    case PM_SIGNAL_CLOSE_TOO_BIG:
        s->stats.rejected_size++;
        break;
    case PM_SIGNAL_CLOSE_TIMEOUT:
        s->stats.ping_timeouts++;
        break;
    default:
        break;
    }
}

/* Leave everything the connection is part of; it says nothing more. */
static void retire(pm_sigsrv *s, sig_conn *c)
{
    c->state = CONN_CLOSING;
    pm_sigsrv_unpend(s, c);
    if (c->lobby)
        pm_sigsrv_leave(s, c);
}

void pm_sigsrv_close_conn(pm_sigsrv *s, sig_conn *c, int code, const char *reason)
{
    if (c->state != CONN_OPEN)
        return;
    PM_DEBUG(&s->env, "signal", "closing connection %llx (peer %d): %d %s",
             (unsigned long long)c->id, (int)c->peer_id, code, reason);
    retire(s, c);
    count_close(s, code);
    push_output(s, PM_SIGSRV_OUT_CLOSE, c, code, reason, strlen(reason));
}

uint64_t pm_sigsrv_open(pm_sigsrv *s, pm_time now, const pm_addr *remote, const char *token,
                        uint64_t tid)
{
    s->now = now;
    uint32_t slot;
    if (slot_take(s, &slot) != PM_OK)
        return 0;
    sig_conn *c = pm_calloc(&s->env, sizeof *c);
    if (!c) {
        s->free_slots[s->nfree++] = slot;
        return 0;
    }
    s->gens[slot]++;
    c->id = ((uint64_t)s->gens[slot] << 32) | (slot + 1);
    c->tid = tid;
    c->opened_at = now;
    c->tokens = (int64_t)s->cfg.rate_burst * TOKEN_UNIT;
    c->tokens_at = now;
    s->slots[slot] = c;
    s->nconns++;

    if (s->shutting_down) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_GOING_AWAY, STR_SHUTDOWN);
        return c->id;
    }
    /* The demo's first check: a full server turns the newcomer away. */
    if (s->ncounted >= s->cfg.max_peers) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_PEERS);
        return c->id;
    }
    uint64_t key = pm_addr_key(remote);
    sig_addr *from = key ? pm_sigsrv_addr(s, key) : NULL;
    if (s->cfg.max_per_address && from && from->conns >= s->cfg.max_per_address) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_ADDRESS, STR_ADDRESS);
        return c->id;
    }
    c->counted = true;
    s->ncounted++;
    s->stats.connections_total++;
    if (from) {
        pm_sigsrv_addr_hold(s, from);
        c->addr_key = key;
    }

    bool authorized = true;
    if (s->cfg.auth_secret)
        authorized = token && pm_sig_secret_equal(token, s->cfg.auth_secret);
    else if (s->cfg.token_secret)
        authorized = token && pm_sig_token_verify(s->cfg.token_secret, token,
                                                  pm_sigsrv_unix_now(s, now)) == PM_OK;
    if (!authorized) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_UNAUTHORIZED, STR_UNAUTHORIZED);
        return c->id;
    }
    c->pending = true;
    c->pend_prev = s->pend_tail;
    if (s->pend_tail)
        s->pend_tail->pend_next = c;
    else
        s->pend_head = c;
    s->pend_tail = c;
    return c->id;
}

void pm_sigsrv_gone(pm_sigsrv *s, pm_time now, uint64_t id)
{
    s->now = now;
    sig_conn *c = pm_sigsrv_conn(s, id);
    if (!c)
        return;
    if (c->state == CONN_OPEN)
        retire(s, c);
    if (c->counted)
        s->ncounted--;
    if (c->addr_key)
        pm_sigsrv_addr_release(s, c->addr_key);
    uint32_t slot = (uint32_t)id - 1;
    s->slots[slot] = NULL;
    s->free_slots[s->nfree++] = slot;
    s->nconns--;
    pm_free(&s->env, c);
}

void pm_sigsrv_closed_by_transport(pm_sigsrv *s, pm_time now, uint64_t id, int code)
{
    s->now = now;
    sig_conn *c = pm_sigsrv_conn(s, id);
    if (c && c->state == CONN_OPEN) {
        count_close(s, code);
        retire(s, c);
    }
}

/* ---- input ---- */

static void dispatch(pm_sigsrv *s, pm_time now, sig_conn *c, const pm_sigmsg *m)
{
    if (m->type == PM_SIGMSG_JOIN) {
        /* 4.x: id 0 asks for a mesh lobby, anything else client/server. */
        pm_sigsrv_join(s, now, c, m->data, m->data_len, m->id == 0);
        return;
    }
    if (m->type == PM_SIGMSG_CREATE && s->cfg.named_lobbies) {
        pm_sigsrv_create_named(s, now, c, m->data, m->data_len, m->id == 0);
        return;
    }
    if (!c->lobby) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_NEED_LOBBY);
        return;
    }
    switch (m->type) {
    case PM_SIGMSG_SEAL:
        pm_sigsrv_seal(s, now, c);
        return;
    case PM_SIGMSG_OFFER:
    case PM_SIGMSG_ANSWER:
    case PM_SIGMSG_CANDIDATE:
        pm_sigsrv_relay(s, c, m);
        return;
    default:
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_INVALID_CMD);
        return;
    }
}

void pm_sigsrv_receive(pm_sigsrv *s, pm_time now, uint64_t id, const uint8_t *data, size_t len,
                       bool binary)
{
    s->now = now;
    sig_conn *c = pm_sigsrv_conn(s, id);
    if (!c || c->state != CONN_OPEN)
        return;
    s->stats.messages_in++;
    c->awaiting_pong = false; /* any message proves the peer alive */
    if (binary) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_INVALID_TRANSFER_MODE);
        return;
    }
    if (len > s->cfg.max_message_size) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_TOO_BIG, STR_TOO_BIG);
        return;
    }
    if (!pm_sigsrv_bucket_take(&c->tokens, &c->tokens_at, now, s->cfg.rate_limit,
                               s->cfg.rate_burst)) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_RATE, STR_RATE);
        return;
    }
    if (c->proto == PM_SIGPROTO_NONE)
        c->proto = pm_sigmsg_detect(data, len);
    pm_sigmsg m;
    if (pm_sigmsg_decode(&s->env, c->proto, data, len, &s->scratch, &m) != PM_OK) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_INVALID_FORMAT);
        return;
    }
    dispatch(s, now, c, &m);
}

void pm_sigsrv_pong(pm_sigsrv *s, pm_time now, uint64_t id)
{
    sig_conn *c = pm_sigsrv_conn(s, id);
    if (c)
        c->awaiting_pong = false;
}

/* ---- timers ---- */

static void ping_one(pm_sigsrv *s, sig_conn *c)
{
    if (!c || c->state != CONN_OPEN)
        return;
    if (c->awaiting_pong) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_TIMEOUT, STR_PING_TIMEOUT);
        return;
    }
    c->awaiting_pong = true;
    push_output(s, PM_SIGSRV_OUT_PING, c, 0, NULL, 0);
}

/*
 * Ping the slots whose turn has come. Spread over the interval, not a sweep
 * of every connection at once: at 19,000 connections the sweep's burst of
 * pings (and of pongs back) lifted relay latency p99 from ~1 ms to ~230 ms
 * every ping_interval.
 */
static void ping_due(pm_sigsrv *s, pm_time now)
{
    pm_time interval = s->cfg.ping_interval;
    if (now - s->ping_cycle >= 2 * interval) {
        /* Idle, or a stalled process: start a round now rather than ping
         * everyone at once. */
        s->ping_cycle = now;
        s->ping_pos = 0;
        return;
    }
    for (;;) {
        pm_time into = now - s->ping_cycle;
        size_t upto = into >= interval
                          ? s->nslots
                          : (size_t)((double)s->nslots * (double)into / (double)interval);
        while (s->ping_pos < upto && s->ping_pos < s->nslots)
            ping_one(s, s->slots[s->ping_pos++]);
        if (into < interval)
            return;
        s->ping_pos = 0;
        s->ping_cycle += interval;
    }
}

void pm_sigsrv_timeout(pm_sigsrv *s, pm_time now)
{
    s->now = now;
    if (s->cfg.join_timeout > 0)
        while (s->pend_head && s->pend_head->opened_at + s->cfg.join_timeout <= now)
            pm_sigsrv_close_conn(s, s->pend_head, PM_SIGNAL_CLOSE_PROTOCOL, STR_NO_LOBBY);
    while (s->seal_head && s->seal_head->sealed_at + s->cfg.seal_delay <= now)
        pm_sigsrv_seal_expire(s, s->seal_head);
    if (s->cfg.ping_interval && now >= s->next_ping) {
        ping_due(s, now);
        s->next_ping = now + ping_tick(&s->cfg);
    }
    if (now >= s->next_addr_gc)
        pm_sigsrv_addr_gc(s, now);
    pm_sigsrv_cluster_timeout(s, now);
}

pm_time pm_sigsrv_next_deadline(const pm_sigsrv *s)
{
    pm_time t = PM_TIME_NEVER;
    if (s->cfg.join_timeout > 0 && s->pend_head)
        t = PM_MIN(t, s->pend_head->opened_at + s->cfg.join_timeout);
    if (s->seal_head)
        t = PM_MIN(t, s->seal_head->sealed_at + s->cfg.seal_delay);
    if (s->cfg.ping_interval && s->nconns)
        t = PM_MIN(t, s->next_ping);
    t = PM_MIN(t, s->next_addr_gc);
    return PM_MIN(t, pm_sigsrv_cluster_deadline(s));
}

bool pm_sigsrv_poll_output(pm_sigsrv *s, pm_sigsrv_output *out)
{
    if (s->out_peeked) {
        pm_fifo_pop(&s->out);
        s->out_peeked = false;
    }
    uint32_t tag;
    const uint8_t *rec;
    size_t len;
    if (!pm_fifo_peek(&s->out, &tag, &rec, &len))
        return false;
    out_header h;
    memcpy(&h, rec, sizeof h);
    out->kind = (pm_sigsrv_out_kind)tag;
    out->conn = h.conn;
    out->tid = h.tid;
    out->code = h.code;
    out->data = rec + sizeof h;
    out->len = len - sizeof h;
    out->argc = 0;
    out->argv = NULL;
    out->argv_len = NULL;
    if (out->kind == PM_SIGSRV_OUT_REDIS) {
        /* [argc x u32 length][bytes], as pm_sigsrv_push_redis laid it out. */
        int argc = PM_MIN(h.code, SIG_REDIS_MAX_ARGS);
        const uint8_t *bytes = out->data + 4 * (size_t)h.code;
        for (int i = 0; i < argc; i++) {
            s->out_lens[i] = pm_rd32(out->data + 4 * (size_t)i);
            s->out_argv[i] = (const char *)bytes;
            bytes += s->out_lens[i];
        }
        out->argc = argc;
        out->argv = s->out_argv;
        out->argv_len = s->out_lens;
        out->conn = 0;
    }
    s->out_peeked = true;
    return true;
}

void pm_sigsrv_shutdown(pm_sigsrv *s, pm_time now)
{
    s->now = now;
    s->shutting_down = true;
    if (s->cluster)
        pm_sigsrv_cluster_shutdown(s);
    /* Everyone goes with the same 1001: no lobby news, no host-left 4000s. */
    pm_sigsrv_lobbies_free(s);
    pm_map_free(&s->env, &s->lobbies);
    s->seal_head = s->seal_tail = NULL;
    s->stats.peers_in_lobbies = 0;
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i])
            s->slots[i]->lobby = NULL;
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i])
            pm_sigsrv_close_conn(s, s->slots[i], PM_SIGNAL_CLOSE_GOING_AWAY, STR_SHUTDOWN);
}

size_t pm_sigsrv_connection_count(const pm_sigsrv *s)
{
    return s->nconns;
}

void pm_sigsrv_get_stats(const pm_sigsrv *s, pm_signal_server_stats *out)
{
    *out = s->stats;
    out->connections = s->ncounted;
    out->lobbies = s->lobbies.count;
}

const char *pm_sigsrv_conn_lobby(const pm_sigsrv *s, uint64_t id)
{
    sig_conn *c = pm_sigsrv_conn(s, id);
    return c && c->lobby ? c->lobby->name : NULL;
}

int32_t pm_sigsrv_conn_peer_id(const pm_sigsrv *s, uint64_t id)
{
    sig_conn *c = pm_sigsrv_conn(s, id);
    return c && c->lobby ? c->peer_id : 0;
}
