/*
 * pm_rpc_next_event: the multiplayer peer's events, then its packets, each
 * processed as Godot 3.2's MultiplayerAPI::_process_packet does: path-cache
 * requests and confirmations are answered here, calls and sets are checked
 * against the node's RPC mode before their arguments are even decoded, and
 * anything malformed is dropped with a log line while the sender stays.
 */
#include "rpc/rpc_internal.h"

#include "wire/godot_mpapi.h"
#include "wire/godot_variant.h"

#include <stdio.h>

/* A dropped packet: count it, say why. */
#define DROP(r, counter, from, ...)                                                                \
    do {                                                                                           \
        (r)->stats.counter++;                                                                      \
        drop_log((r), (from), __VA_ARGS__);                                                        \
    } while (0)

__attribute__((format(printf, 3, 4))) static void drop_log(pm_rpc *r, int32_t from, const char *fmt,
                                                           ...)
{
    if (!PM_LOG_ON(&r->env, PM_LOG_WARN))
        return;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pm_log(&r->env, PM_LOG_WARN, PM_RPC_COMPONENT, "dropped a packet from peer %d: %s", (int)from,
           why);
}

/* ---- path caches ---- */

static size_t cache_index(const pm_rpc_peer *p, uint32_t id, bool *found)
{
    size_t lo = 0, hi = p->n_cache;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->cache[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < p->n_cache && p->cache[lo].id == id;
    return lo;
}

/* Store (or replace, as Godot does) the path of a cache id. PM_ERR_FULL past the budget. */
static int cache_put(pm_rpc *r, pm_rpc_peer *p, uint32_t id, const char *path, size_t len)
{
    bool found;
    size_t i = cache_index(p, id, &found);
    size_t old = found ? p->cache[i].len + PM_RPC_CACHE_ENTRY_COST : 0;
    size_t cost = len + PM_RPC_CACHE_ENTRY_COST;
    if (p->cache_bytes - old + cost > r->max_path_cache_bytes)
        return PM_ERR_FULL;
    char *copy = pm_strndup(&r->env, path, len);
    if (!copy)
        return PM_ERR_NOMEM;
    if (found) {
        pm_free(&r->env, p->cache[i].path);
    } else {
        pm_rpc_cached *c = pm_grow(&r->env, p->cache, &p->cap_cache, p->n_cache + 1, sizeof *c);
        if (!c) {
            pm_free(&r->env, copy);
            return PM_ERR_NOMEM;
        }
        p->cache = c;
        memmove(&p->cache[i + 1], &p->cache[i], (p->n_cache - i) * sizeof *p->cache);
        p->n_cache++;
    }
    p->cache[i] = (pm_rpc_cached){.id = id, .path = copy, .len = len};
    p->cache_bytes = p->cache_bytes - old + cost;
    return PM_OK;
}

/* SIMPLIFY_PATH: remember the sender's id for a path and confirm it (reliably). */
static void on_simplify(pm_rpc *r, int32_t from, const uint8_t *p, size_t len)
{
    uint32_t id;
    const char *path;
    size_t plen;
    if (pm_gmp_parse_simplify(p, len, &id, &path, &plen) != PM_OK) {
        DROP(r, dropped_malformed, from, "malformed SIMPLIFY_PATH (%zu bytes)", len);
        return;
    }
    pm_rpc_peer *peer = pm_rpc_find_peer(r, from);
    if (!peer) {
        DROP(r, dropped_unknown_cache, from, "SIMPLIFY_PATH from a peer that is not connected");
        return;
    }
    int rc = cache_put(r, peer, id, path, plen);
    if (rc == PM_ERR_FULL) {
        DROP(r, dropped_too_big, from,
             "path cache of the peer is full (%zu bytes); path %u not confirmed",
             r->max_path_cache_bytes, (unsigned)id);
        return;
    }
    if (rc != PM_OK) {
        PM_ERROR(&r->env, PM_RPC_COMPONENT, "out of memory caching a path of peer %d", (int)from);
        return;
    }
    r->stats.paths_cached++;
    r->sys.len = 0;
    if (pm_gmp_put_confirm(&r->env, &r->sys, path, plen) == PM_OK)
        pm_rpc_put(r, from, PM_MP_TRANSFER_RELIABLE, r->sys.data, r->sys.len);
}

/* CONFIRM_PATH: a peer now knows our cache id of a node. */
static void on_confirm(pm_rpc *r, int32_t from, const uint8_t *p, size_t len)
{
    const char *path;
    size_t plen;
    if (pm_gmp_parse_confirm(p, len, &path, &plen) != PM_OK) {
        DROP(r, dropped_malformed, from, "malformed CONFIRM_PATH (%zu bytes)", len);
        return;
    }
    pm_rpc_node *n = pm_rpc_find_node(r, path, plen);
    for (size_t i = 0; n && i < n->n_confirms; i++)
        if (n->confirms[i].peer == from) {
            n->confirms[i].confirmed = true;
            return;
        }
    DROP(r, dropped_unknown_cache, from, "CONFIRM_PATH of \"%.*s\", which we never sent it",
         (int)PM_MIN(plen, 200), path);
}

/* ---- arguments ---- */

static uint64_t *decode_error_counter(pm_rpc *r, int err)
{
    if (err == PM_ERR_UNSUPPORTED)
        return &r->stats.dropped_object;
    if (err == PM_ERR_TOO_BIG)
        return &r->stats.dropped_too_big;
    return &r->stats.dropped_malformed;
}

/*
 * Decode `argc` Variants from p[0..len) into the scratch memory (measured
 * first, so a packet never makes us allocate more than max_decode_memory).
 * Trailing bytes are ignored, as Godot ignores them.
 */
static bool decode_args(pm_rpc *r, int32_t from, const uint8_t *p, size_t len, size_t argc,
                        pm_variant **out)
{
    size_t need = pm_gv_align(argc * sizeof(pm_variant)), at = 0;
    for (size_t i = 0; i < argc; i++) {
        size_t used, mem;
        int rc = at < len ? pm_gv_measure(p + at, len - at, &used, &mem) : PM_ERR_PARSE;
        if (rc != PM_OK) {
            (*decode_error_counter(r, rc))++;
            drop_log(r, from, "argument %zu of %zu cannot be decoded (%s)", i + 1, argc,
                     pm_strerror(rc));
            return false;
        }
        at += used;
        need += mem;
    }
    if (need > r->max_decode_memory) {
        DROP(r, dropped_too_big, from, "arguments need %zu bytes, more than the %zu allowed", need,
             r->max_decode_memory);
        return false;
    }
    if (need > r->scratch_cap) {
        uint8_t *s = pm_realloc(&r->env, r->scratch, need);
        if (!s) {
            PM_ERROR(&r->env, PM_RPC_COMPONENT, "out of memory: a call from peer %d was lost",
                     (int)from);
            return false;
        }
        r->scratch = s;
        r->scratch_cap = need;
    }
    pm_variant *args = (pm_variant *)(void *)r->scratch;
    pm_gv_arena arena = {.base = r->scratch, .used = pm_gv_align(argc * sizeof *args), .cap = need};
    at = 0;
    for (size_t i = 0; i < argc; i++) {
        size_t used;
        if (pm_gv_decode(p + at, len - at, &arena, &args[i], &used) != PM_OK)
            return false; /* cannot happen: measured above */
        at += used;
    }
    *out = argc ? args : NULL;
    return true;
}

/* Fill a CALL or SET event from its body ([argc][args] or [value]). */
static bool fill_call(pm_rpc *r, pm_rpc_event *ev, const pm_rpc_node *n, bool set, int32_t from,
                      const char *name, const uint8_t *body, size_t body_len)
{
    size_t argc = set ? 1 : body[0];
    const uint8_t *args = set ? body : body + 1;
    size_t args_len = set ? body_len : body_len - 1;
    pm_variant *decoded;
    if (!decode_args(r, from, args, args_len, argc, &decoded))
        return false;
    *ev = (pm_rpc_event){
        .type = set ? PM_RPC_EVENT_SET : PM_RPC_EVENT_CALL,
        .peer_id = from,
        .path = n->abs,
        .name = name,
        .args = decoded,
        .argc = argc,
        .mode = PM_MP_TRANSFER_RELIABLE,
    };
    return true;
}

/* The node a call is for: its inline path, or the sender's cached id. */
static const pm_rpc_node *call_node(pm_rpc *r, int32_t from, const pm_gmp_remote *m)
{
    if (m->inline_path) {
        const pm_rpc_node *n = pm_rpc_find_node(r, m->path, m->path_len);
        if (!n)
            DROP(r, dropped_unknown_path, from, "node \"%.*s\" is not declared",
                 (int)PM_MIN(m->path_len, 200), m->path);
        return n;
    }
    pm_rpc_peer *peer = pm_rpc_find_peer(r, from);
    bool found = false;
    size_t i = peer ? cache_index(peer, m->cache_id, &found) : 0;
    if (!found) {
        DROP(r, dropped_unknown_cache, from, "unknown path cache id %u", (unsigned)m->cache_id);
        return NULL;
    }
    const pm_rpc_cached *c = &peer->cache[i];
    const pm_rpc_node *n = pm_rpc_find_node(r, c->path, c->len);
    if (!n)
        DROP(r, dropped_unknown_path, from, "node \"%.*s\" (cache id %u) is not declared",
             (int)PM_MIN(c->len, 200), c->path, (unsigned)c->id);
    return n;
}

/* REMOTE_CALL / REMOTE_SET from the network. */
static bool on_remote(pm_rpc *r, const pm_mp_packet *pkt, pm_rpc_event *ev)
{
    pm_gmp_remote m;
    if (pm_gmp_parse_remote(pkt->data, pkt->len, &m) != PM_OK) {
        DROP(r, dropped_malformed, pkt->from, "malformed remote call or set (%zu bytes)", pkt->len);
        return false;
    }
    const pm_rpc_node *n = call_node(r, pkt->from, &m);
    if (!n)
        return false;
    bool set = m.cmd == PM_GMP_CMD_REMOTE_SET;
    pm_rpc_mode mode = pm_rpc_member_mode(n, set, m.name, m.name_len);
    if (!pm_rpc_can_call(r, n, mode, pkt->from)) {
        DROP(r, dropped_mode, pkt->from,
             "%s '%s' is not allowed on node %s: mode is %s, master is %d", set ? "RSET" : "RPC",
             m.name, n->abs, pm_rpc_mode_name(mode), (int)n->master);
        return false;
    }
    if (!fill_call(r, ev, n, set, pkt->from, m.name, m.body, m.body_len))
        return false;
    ev->mode = pkt->mode;
    if (set)
        r->stats.sets_received++;
    else
        r->stats.calls_received++;
    return true;
}

static bool on_packet(pm_rpc *r, const pm_mp_packet *pkt, pm_rpc_event *ev)
{
    if (pkt->len < 1) {
        DROP(r, dropped_malformed, pkt->from, "empty packet");
        return false;
    }
    switch (pkt->data[0]) {
    case PM_GMP_CMD_SIMPLIFY_PATH:
        on_simplify(r, pkt->from, pkt->data, pkt->len);
        return false;
    case PM_GMP_CMD_CONFIRM_PATH:
        on_confirm(r, pkt->from, pkt->data, pkt->len);
        return false;
    case PM_GMP_CMD_REMOTE_CALL:
    case PM_GMP_CMD_REMOTE_SET:
        return on_remote(r, pkt, ev);
    case PM_GMP_CMD_RAW:
        if (pkt->len < 2) {
            DROP(r, dropped_malformed, pkt->from, "raw packet without bytes");
            return false;
        }
        *ev = (pm_rpc_event){.type = PM_RPC_EVENT_RAW,
                             .peer_id = pkt->from,
                             .data = pkt->data + 1,
                             .len = pkt->len - 1,
                             .mode = pkt->mode};
        r->stats.raw_received++;
        return true;
    default:
        DROP(r, dropped_malformed, pkt->from, "unknown command %u", pkt->data[0]);
        return false;
    }
}

/* ---- local calls (sync modes) ---- */

/* The oldest queued local call as an event; false when its node is gone. */
static bool local_event(pm_rpc *r, pm_rpc_event *ev)
{
    uint32_t tag;
    const uint8_t *p;
    size_t len;
    if (!pm_fifo_peek(&r->local, &tag, &p, &len))
        return false;
    r->local_held = true;
    /* [u32 sender][u8 type][path NUL][name NUL][body]: written by rpc_send.c. */
    const char *path = (const char *)p + 5;
    size_t plen = strlen(path);
    const char *name = path + plen + 1;
    const uint8_t *body = (const uint8_t *)name + strlen(name) + 1;
    size_t body_len = len - (size_t)(body - p);
    int32_t sender = (int32_t)pm_rd32le(p);
    const pm_rpc_node *n = pm_rpc_find_node(r, path, plen);
    if (!n) {
        PM_INFO(&r->env, PM_RPC_COMPONENT, "local call to %s skipped: the node was removed", path);
        return false;
    }
    if (!fill_call(r, ev, n, p[4] == PM_RPC_EVENT_SET, sender, name, body, body_len))
        return false;
    ev->local = true;
    return true;
}

/* The multiplayer peer's signals, as MultiplayerAPI re-emits them. */
static void on_mp_event(pm_rpc *r, const pm_mp_event *me, pm_rpc_event *ev)
{
    *ev = (pm_rpc_event){.peer_id = me->peer_id};
    switch (me->type) {
    case PM_MP_EVENT_PEER_CONNECTED:
        ev->type = PM_RPC_EVENT_PEER_CONNECTED;
        if (pm_rpc_add_peer(r, me->peer_id) != PM_OK)
            PM_ERROR(&r->env, PM_RPC_COMPONENT, "out of memory adding peer %d", (int)me->peer_id);
        break;
    case PM_MP_EVENT_PEER_DISCONNECTED:
        ev->type = PM_RPC_EVENT_PEER_DISCONNECTED;
        pm_rpc_remove_peer(r, me->peer_id);
        break;
    case PM_MP_EVENT_CONNECTION_SUCCEEDED:
        ev->type = PM_RPC_EVENT_CONNECTED_TO_SERVER;
        break;
    case PM_MP_EVENT_CONNECTION_FAILED:
        ev->type = PM_RPC_EVENT_CONNECTION_FAILED;
        pm_rpc_clear_peers(r);
        break;
    case PM_MP_EVENT_SERVER_DISCONNECTED:
        ev->type = PM_RPC_EVENT_SERVER_DISCONNECTED;
        pm_rpc_clear_peers(r);
        break;
    case PM_MP_EVENT_HOST_CHANGED:
        ev->type = PM_RPC_EVENT_HOST_CHANGED;
        break;
    }
}

int pm_rpc_poll(pm_rpc *r)
{
    return r ? pm_mp_poll(r->mp) : PM_ERR_INVALID;
}

bool pm_rpc_next_event(pm_rpc *r, pm_rpc_event *ev)
{
    if (!r || !ev)
        return false;
    if (r->local_held) {
        pm_fifo_pop(&r->local);
        r->local_held = false;
    }
    while (r->local.count) {
        if (local_event(r, ev))
            return true;
        pm_fifo_pop(&r->local);
        r->local_held = false;
    }
    pm_mp_event me;
    if (pm_mp_next_event(r->mp, &me)) {
        on_mp_event(r, &me, ev);
        return true;
    }
    pm_mp_packet pkt;
    while (pm_mp_get_packet(r->mp, &pkt) == PM_OK)
        if (on_packet(r, &pkt, ev))
            return true;
    return false;
}
