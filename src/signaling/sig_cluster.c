/*
 * Scale-out on Redis (docs/signaling.md): any number of nodes serve one
 * namespace of lobbies. Sans-I/O like the rest of the core: Redis commands
 * go out as REDIS outputs, replies and channel messages come back in.
 *
 * Redis holds the truth of every lobby (members, ids, host, seal, a
 * sequence number) and takes every decision in a Lua script
 * (sig_cluster_lua.c). A node keeps a replica of each lobby it has members
 * in: its own connections, and a record for each member elsewhere. Every
 * change of a lobby is an event with the lobby's next sequence number,
 * published to every node with members there but the one that asked,
 * which finds it in the script's reply; each replica applies events in
 * sequence order (the reply and the channel are two connections: either may
 * be first), which is what every member is told. So every node tells its
 * members the same story, in the same order, as one node would.
 *
 * A message for a member elsewhere goes to its node's channel ("R"); that
 * node checks the connection is still there.
 *
 * Liveness: each node refreshes a key with a TTL (node_ttl) every third of
 * it; every second a node looks for nodes whose key expired and makes their
 * members leave (announced like any leave). When the link to Redis drops,
 * joins are refused (4005) and leaves and seals wait; once it is back, each
 * replica is checked against Redis (SYNC): what changed meanwhile is told,
 * and members Redis no longer has (reaped while this node was away, or a
 * Redis that restarted empty) are closed with 4005. Never silently wrong.
 */
#include "signaling/sig_cluster.h"
#include "signaling/sig_core_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_PREFIX   "peermesh:"
#define DEFAULT_NODE_TTL PM_SEC(3)
#define REAP_INTERVAL    PM_SEC(1)
#define JOIN_CANDIDATES  8 /* random ids offered to Redis; it takes the first free one */
#define CREATE_TRIES     8 /* lobby names drawn before giving up (a clash is ~impossible) */

enum { S_JOIN, S_LEAVE, S_QUIET, S_SEAL, S_SYNC, S_HEARTBEAT, S_REAP, S_COUNT };

typedef enum op_kind {
    OP_JOIN = 1,
    OP_LEAVE,
    OP_QUIET,
    OP_SEAL,
    OP_SYNC,
    OP_HEARTBEAT,
    OP_REAP
} op_kind;

/* A command waiting for its reply (or, while the link is down, to be sent again). */
typedef struct cl_op {
    op_kind kind;
    uint64_t conn; /* JOIN: the connection that asked */
    char name[PM_SIG_MAX_LOBBY_NAME + 1];
    int32_t peer;   /* LEAVE, SEAL */
    int32_t *peers; /* QUIET */
    size_t npeers;
    bool mesh, create;
    bool named; /* JOIN creating a lobby of the client's name (CREATE): taken is final */
    int tries;
    struct cl_op *next; /* the replay list */
} cl_op;

/* One event of a lobby, waiting for its turn. */
typedef struct cl_event {
    uint64_t seq;
    char kind; /* J L H X S, or 0: nothing (an answer to a request of ours that changed nothing) */
    int32_t peer;
    char node[17];
    uint64_t conn;
} cl_event;

struct sig_replica {
    uint64_t applied; /* events up to this one are applied */
    bool synced;      /* applied is Redis's (false before the first join, after a link loss) */
    bool known;       /* our members were told its members: changes are news from now on */
    size_t joining;   /* our JOINs in flight for this lobby */
    cl_event *wait;   /* events after `applied`, by sequence */
    size_t nwait, capwait;
};

struct sig_cluster {
    char node[17];
    char prefix[48];
    char channel[80];
    bool up;
    unsigned beats; /* heartbeats answered since the link came up */
    pm_time ttl, next_heartbeat, next_reap;
    uint64_t next_cookie;
    pm_map ops; /* cookie -> cl_op * */
    cl_op *replay, *replay_tail;
    pm_buf script[S_COUNT]; /* prelude + body */
    pm_buf cmd;             /* a command being built */
};

/* ---- commands ---- */

typedef struct cmd_args {
    int argc;
    const char *argv[SIG_REDIS_MAX_ARGS];
    size_t len[SIG_REDIS_MAX_ARGS];
    char num[SIG_REDIS_MAX_ARGS][24]; /* room for formatted numbers */
} cmd_args;

static void arg(cmd_args *a, const char *s, size_t n)
{
    if (a->argc < SIG_REDIS_MAX_ARGS) {
        a->argv[a->argc] = s;
        a->len[a->argc++] = n;
    }
}

static void arg_str(cmd_args *a, const char *s)
{
    arg(a, s, strlen(s));
}

static void arg_num(cmd_args *a, long long v)
{
    if (a->argc < SIG_REDIS_MAX_ARGS) {
        int n = snprintf(a->num[a->argc], sizeof a->num[0], "%lld", v);
        arg(a, a->num[a->argc], (size_t)n);
    }
}

/* Queue the command as an output: [argc x u32 length][bytes]. */
static void emit(pm_sigsrv *s, uint64_t cookie, const cmd_args *a)
{
    sig_cluster *k = s->cluster;
    k->cmd.len = 0;
    uint8_t len4[4];
    int rc = PM_OK;
    for (int i = 0; i < a->argc && rc == PM_OK; i++) {
        pm_wr32(len4, (uint32_t)a->len[i]);
        rc = pm_buf_append(&s->env, &k->cmd, len4, 4);
    }
    for (int i = 0; i < a->argc && rc == PM_OK; i++)
        rc = pm_buf_append(&s->env, &k->cmd, a->argv[i], a->len[i]);
    if (rc == PM_OK)
        rc = pm_sigsrv_push_redis(s, cookie, a->argc, k->cmd.data, k->cmd.len);
    if (rc != PM_OK)
        PM_ERROR(&s->env, "cluster", "out of memory queueing a Redis command");
}

static void eval_start(pm_sigsrv *s, cmd_args *a, int script)
{
    a->argc = 0;
    arg_str(a, "EVAL");
    arg(a, (const char *)s->cluster->script[script].data, s->cluster->script[script].len);
    arg_str(a, "0");
    arg_str(a, s->cluster->prefix);
}

static void op_free(pm_sigsrv *s, cl_op *op)
{
    if (op) {
        pm_free(&s->env, op->peers);
        pm_free(&s->env, op);
    }
}

static cl_op *op_new(pm_sigsrv *s, op_kind kind, const char *name)
{
    cl_op *op = pm_calloc(&s->env, sizeof *op);
    if (op) {
        op->kind = kind;
        if (name)
            snprintf(op->name, sizeof op->name, "%s", name);
    }
    return op;
}

/* Send the script of `op` (owned by the cluster from here on). */
static void send_op(pm_sigsrv *s, cl_op *op);

static void replay_later(pm_sigsrv *s, cl_op *op)
{
    sig_cluster *k = s->cluster;
    op->next = NULL;
    if (k->replay_tail)
        k->replay_tail->next = op;
    else
        k->replay = op;
    k->replay_tail = op;
}

static void send_op(pm_sigsrv *s, cl_op *op)
{
    sig_cluster *k = s->cluster;
    if (!op) {
        PM_ERROR(&s->env, "cluster", "out of memory for a Redis command");
        return;
    }
    if (!k->up) {
        if (op->kind == OP_LEAVE || op->kind == OP_QUIET || op->kind == OP_SEAL)
            replay_later(s, op); /* what must happen, happens once the link is back */
        else
            op_free(s, op);
        return;
    }
    cmd_args a;
    char conn[20];
    switch (op->kind) {
    case OP_JOIN: {
        eval_start(s, &a, S_JOIN);
        arg_str(&a, op->name);
        arg_str(&a, k->node);
        snprintf(conn, sizeof conn, "%016llx", (unsigned long long)op->conn);
        arg_str(&a, conn);
        arg_str(&a, op->create ? "1" : "0");
        arg_str(&a, op->mesh ? "1" : "0");
        arg_num(&a, s->cfg.max_lobbies);
        arg_num(&a, s->cfg.max_lobby_peers);
        arg_str(&a, s->cfg.host_migration ? "1" : "0");
        for (int i = 0; i < JOIN_CANDIDATES; i++) {
            int32_t id;
            do
                id = (int32_t)(pm_random_u32(&s->env) & SIG_ID_MAX);
            while (id < 2);
            arg_num(&a, id);
        }
        break;
    }
    case OP_LEAVE:
    case OP_SEAL:
        eval_start(s, &a, op->kind == OP_LEAVE ? S_LEAVE : S_SEAL);
        arg_str(&a, op->name);
        arg_num(&a, op->peer);
        arg_str(&a, k->node);
        break;
    case OP_QUIET:
        eval_start(s, &a, S_QUIET);
        arg_str(&a, op->name);
        for (size_t i = 0; i < op->npeers; i++)
            arg_num(&a, op->peers[i]);
        break;
    case OP_SYNC:
        eval_start(s, &a, S_SYNC);
        arg_str(&a, op->name);
        break;
    case OP_HEARTBEAT:
        eval_start(s, &a, S_HEARTBEAT);
        arg_str(&a, k->node);
        arg_num(&a, k->ttl / 1000);
        break;
    case OP_REAP:
        eval_start(s, &a, S_REAP);
        arg_str(&a, k->node);
        break;
    }
    uint64_t cookie = ++k->next_cookie;
    if (pm_map_put(&s->env, &k->ops, cookie, (uintptr_t)op) != PM_OK) {
        op_free(s, op);
        return;
    }
    emit(s, cookie, &a);
}

/* ---- replicas ---- */

static void forget_lobby(pm_sigsrv *s, sig_lobby *l);

static sig_replica *replica_of(pm_sigsrv *s, sig_lobby *l)
{
    if (!l->replica)
        l->replica = pm_calloc(&s->env, sizeof *l->replica);
    return l->replica;
}

void pm_sigsrv_cluster_lobby_free(pm_sigsrv *s, sig_lobby *l)
{
    if (l->replica) {
        pm_free(&s->env, l->replica->wait);
        pm_free(&s->env, l->replica);
        l->replica = NULL;
    }
}

/* Our connections in the lobby (not departed), and joins in flight. */
static bool replica_needed(const sig_lobby *l)
{
    if (l->replica && l->replica->joining)
        return true;
    for (size_t i = 0; i < l->count; i++)
        if (!l->members[i]->remote)
            return true;
    return false;
}

static sig_conn *record_new(pm_sigsrv *s, int32_t peer, const char *node, uint64_t conn)
{
    sig_conn *r = pm_calloc(&s->env, sizeof *r);
    if (!r)
        return NULL;
    r->remote = true;
    r->peer_id = peer;
    r->state = CONN_OPEN;
    snprintf(r->node, sizeof r->node, "%s", node);
    r->rconn = conn;
    return r;
}

static bool parse_where(const char *w, size_t n, char node[17], uint64_t *conn)
{
    /* "<node> <connection>", both 16 hex digits. */
    if (n != 33 || w[16] != ' ')
        return false;
    memcpy(node, w, 16);
    node[16] = 0;
    char hex[17];
    memcpy(hex, w + 17, 16);
    hex[16] = 0;
    char *end;
    *conn = strtoull(hex, &end, 16);
    return *end == 0;
}

/* Apply one event in its turn. False when the lobby is gone after it. */
static bool apply(pm_sigsrv *s, sig_lobby *l, const cl_event *e)
{
    sig_cluster *k = s->cluster;
    size_t at;
    sig_conn *m = e->peer ? pm_sigsrv_member(l, e->peer, &at) : NULL;
    switch (e->kind) {
    case 'J':
        if (m)
            return true; /* known already (a snapshot had it) */
        if (strcmp(e->node, k->node) == 0) {
            /* One of ours: unless it went away meanwhile (its leave follows). */
            sig_conn *c = pm_sigsrv_conn(s, e->conn);
            if (!c || c->state != CONN_OPEN || !c->joining)
                return true;
            c->joining = false;
            l->replica->joining--;
            c->peer_id = e->peer;
            if (pm_sigsrv_lobby_add(s, l, c) != PM_OK) {
                pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
                return true;
            }
            pm_sigsrv_announce_join(s, s->now, l, c);
            return true;
        }
        m = record_new(s, e->peer, e->node, e->conn);
        if (!m || pm_sigsrv_lobby_add(s, l, m) != PM_OK) {
            pm_free(&s->env, m);
            return true;
        }
        pm_sigsrv_announce_join(s, s->now, l, m);
        return true;
    case 'L':
        if (!m)
            return true;
        pm_sigsrv_lobby_remove_at(s, l, at);
        pm_sigsrv_announce_leave(s, l, m);
        if (m->remote) {
            pm_free(&s->env, m);
        } else {
            /* Redis let one of ours go (its node was thought dead). */
            s->stats.cluster_lost++;
            pm_sigsrv_close_conn(s, m, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_LOST);
        }
        break;
    case 'H':
        pm_sigsrv_announce_host(s, l, e->peer);
        break;
    case 'X':
        pm_sigsrv_close_members(s, l, PM_SIGNAL_CLOSE_PROTOCOL, STR_HOST_DISCONNECTED);
        pm_sigsrv_lobby_destroy(s, l);
        return false;
    case 'S':
        if (!l->sealed)
            pm_sigsrv_mark_sealed(s, s->now, l);
        break;
    default:
        break;
    }
    if (!replica_needed(l)) {
        forget_lobby(s, l);
        return false;
    }
    return true;
}

/* Apply the waiting events whose turn came. */
static void drain_events(pm_sigsrv *s, sig_lobby *l)
{
    sig_replica *r = l->replica;
    while (r->synced && r->nwait && r->wait[0].seq <= r->applied + 1) {
        cl_event next = r->wait[0];
        memmove(&r->wait[0], &r->wait[1], (r->nwait - 1) * sizeof *r->wait);
        r->nwait--;
        if (next.seq <= r->applied)
            continue; /* a snapshot covered it */
        r->applied = next.seq;
        if (!apply(s, l, &next))
            return; /* the lobby is gone */
    }
}

/* Hand an event to the replica: applied now if its turn came, else kept. */
static void deliver(pm_sigsrv *s, sig_lobby *l, const cl_event *e)
{
    sig_replica *r = replica_of(s, l);
    if (!r)
        return;
    if (r->synced && e->seq <= r->applied)
        return; /* a snapshot covered it */
    if (r->nwait == r->capwait) {
        size_t n = r->capwait ? r->capwait * 2 : 8;
        cl_event *w = pm_realloc(&s->env, r->wait, n * sizeof *w);
        if (!w)
            return;
        r->wait = w;
        r->capwait = n;
    }
    size_t i = r->nwait;
    while (i > 0 && r->wait[i - 1].seq > e->seq)
        i--;
    if (i > 0 && r->wait[i - 1].seq == e->seq)
        return; /* twice (cannot happen; harmless) */
    memmove(&r->wait[i + 1], &r->wait[i], (r->nwait - i) * sizeof *r->wait);
    r->wait[i] = *e;
    r->nwait++;
    drain_events(s, l);
}

/* Nobody of ours is left in it: the replica goes (records only). */
static void forget_lobby(pm_sigsrv *s, sig_lobby *l)
{
    pm_sigsrv_close_members(s, l, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_LOST);
    pm_sigsrv_lobby_destroy(s, l);
}

/* The replica takes Redis's state at `seq` (a join's or a sync's snapshot):
 * members it lacks are added and announced, those Redis no longer has are
 * removed (ours closed with 4005). Then waiting events after `seq` apply. */
static void take_snapshot(pm_sigsrv *s, sig_lobby *l, uint64_t seq, int32_t host,
                          const pm_redis_reply *snap)
{
    sig_cluster *k = s->cluster;
    sig_replica *r = replica_of(s, l);
    /* Members Redis does not have. */
    for (size_t i = l->count; i-- > 0;) {
        sig_conn *m = l->members[i];
        bool found = false;
        for (size_t j = 0; j + 1 < snap->count && !found; j += 2)
            found = atoi(snap->elements[j].str ? snap->elements[j].str : "0") == m->peer_id;
        if (found)
            continue;
        pm_sigsrv_lobby_remove_at(s, l, i);
        if (m->departed) {
            pm_sigsrv_announce_leave(s, l, m);
            pm_free(&s->env, m);
        } else if (m->remote) {
            pm_sigsrv_announce_leave(s, l, m);
            pm_free(&s->env, m);
        } else {
            s->stats.cluster_lost++;
            pm_sigsrv_announce_leave(s, l, m);
            pm_sigsrv_close_conn(s, m, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_LOST);
        }
    }
    /* Members it has that we lack. */
    for (size_t j = 0; j + 1 < snap->count; j += 2) {
        const pm_redis_reply *id = &snap->elements[j], *where = &snap->elements[j + 1];
        char node[17];
        uint64_t conn;
        int32_t peer = id->str ? (int32_t)atoi(id->str) : 0;
        if (peer < 1 || pm_sigsrv_member(l, peer, NULL) || !where->str ||
            !parse_where(where->str, where->len, node, &conn))
            continue;
        if (strcmp(node, k->node) == 0) {
            /* Ours, but not a member here: one that left while Redis could
             * not hear it (or whose join's answer was lost). Let it go. */
            cl_op *op = op_new(s, OP_LEAVE, l->name);
            if (op) {
                op->peer = peer;
                send_op(s, op);
            }
            continue;
        }
        sig_conn *m = record_new(s, peer, node, conn);
        if (!m || pm_sigsrv_lobby_add(s, l, m) != PM_OK) {
            pm_free(&s->env, m);
            continue;
        }
        if (r->known) /* a resync: news for our members */
            pm_sigsrv_announce_join(s, s->now, l, m);
    }
    if (host && host != l->host_id) {
        if (r->known)
            pm_sigsrv_announce_host(s, l, host);
        else
            l->host_id = host;
    }
    r->synced = r->known = true;
    r->applied = seq;
    drain_events(s, l); /* the waiting events after seq, in turn */
}

/* ---- the node's operations ---- */

/* JOIN (create with a random name when name_len is 0), or CREATE with the
 * client's name (`named`, already checked by pm_sig_lobby_name_valid). */
static void cluster_join(pm_sigsrv *s, sig_conn *c, const char *name, size_t name_len, bool mesh,
                         bool named)
{
    sig_cluster *k = s->cluster;
    if (!k->up) {
        s->stats.cluster_lost++;
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_DOWN);
        return;
    }
    bool create = named || name_len == 0;
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    /* Our names are [A-Za-z0-9] (named lobbies add . _ -); anything else (a
     * space, a newline would break the events' text) names no lobby. */
    bool plain = name_len <= PM_SIG_MAX_LOBBY_NAME;
    for (size_t i = 0; plain && i < name_len; i++)
        plain = (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'Z') ||
                (name[i] >= 'a' && name[i] <= 'z') || name[i] == '.' || name[i] == '_' ||
                name[i] == '-';
    if (!plain) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_DOES_NOT_EXISTS);
        return;
    }
    if (name_len == 0)
        pm_sigsrv_random_name(s, lobby, SIG_LOBBY_NAME_LEN);
    else
        memcpy(lobby, name, name_len), lobby[name_len] = 0;
    cl_op *op = op_new(s, OP_JOIN, lobby);
    if (!op) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
        return;
    }
    op->conn = c->id;
    op->mesh = mesh;
    op->create = create;
    op->named = named;
    if (!create) {
        /* Events for the lobby may come before the answer: keep them. */
        sig_lobby *l = pm_sigsrv_lobby_find(s, lobby, name_len);
        if (!l)
            l = pm_sigsrv_lobby_new(s, lobby, mesh);
        if (!l || !replica_of(s, l)) {
            op_free(s, op);
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
            return;
        }
        l->replica->joining++;
    }
    c->joining = true;
    pm_sigsrv_unpend(s, c); /* it asked in time */
    send_op(s, op);
}

void pm_sigsrv_cluster_join(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                            size_t name_len, bool mesh)
{
    (void)now;
    cluster_join(s, c, name, name_len, mesh, false);
}

void pm_sigsrv_cluster_create_named(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                                    size_t name_len, bool mesh)
{
    (void)now;
    cluster_join(s, c, name, name_len, mesh, true);
}

/* A JOIN that did not happen: the connection's lobby replica forgets it. */
static void join_dropped(pm_sigsrv *s, const cl_op *op)
{
    sig_lobby *l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
    if (!op->create && l && l->replica && l->replica->joining) {
        l->replica->joining--;
        if (!replica_needed(l))
            forget_lobby(s, l);
    }
}

static void on_join_reply(pm_sigsrv *s, cl_op *op, const pm_redis_reply *x)
{
    sig_conn *c = pm_sigsrv_conn(s, op->conn);
    bool alive = c && c->state == CONN_OPEN && c->joining;
    if (!x || x->type != PM_REDIS_ARRAY || !x->count || !x->elements[0].str) {
        join_dropped(s, op);
        if (alive) {
            c->joining = false;
            s->stats.cluster_lost++;
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_DOWN);
        }
        return;
    }
    const pm_redis_reply *e = x->elements;
    const char *verdict = e[0].str;
    size_t vlen = e[0].len;
#define IS(w) (vlen == sizeof(w) - 1 && memcmp(verdict, w, vlen) == 0)
    if (!IS("OK") || x->count < 6 || e[1].type != PM_REDIS_INTEGER || !e[2].str || !e[3].str ||
        !e[4].str || e[5].type != PM_REDIS_ARRAY) {
        const char *why = IS("LOBBIES")               ? STR_TOO_MANY_LOBBIES
                          : IS("NOLOBBY")             ? STR_LOBBY_DOES_NOT_EXISTS
                          : IS("SEALED")              ? STR_LOBBY_IS_SEALED
                          : IS("EXISTS") && op->named ? STR_LOBBY_EXISTS
                                                      : STR_LOBBY_FULL;
        if (IS("EXISTS") && !op->named && alive && ++op->tries < CREATE_TRIES) {
            pm_sigsrv_random_name(s, op->name, SIG_LOBBY_NAME_LEN);
            cl_op *again = op_new(s, OP_JOIN, op->name);
            if (again) {
                *again = *op;
                again->next = NULL;
                send_op(s, again);
                return;
            }
        }
        join_dropped(s, op);
        if (alive) {
            c->joining = false;
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, why);
        }
        return;
    }
#undef IS
    uint64_t seq = (uint64_t)e[1].integer;
    int32_t peer = atoi(e[2].str);
    bool mesh = e[3].len == 1 && e[3].str[0] == '1';
    int32_t host = atoi(e[4].str);
    sig_lobby *l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
    if (!alive) {
        /* It went away meanwhile: let Redis know it left. */
        join_dropped(s, op);
        cl_op *bye = op_new(s, OP_LEAVE, op->name);
        if (bye) {
            bye->peer = peer;
            send_op(s, bye);
        }
        return;
    }
    if (op->create) {
        l = pm_sigsrv_lobby_new(s, op->name, mesh);
        if (!l || !replica_of(s, l)) {
            c->joining = false;
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_LOBBIES);
            return;
        }
        l->replica->joining++;
        s->stats.lobbies_total++;
        if (pm_sigsrv_info_allowed(s))
            PM_INFO(&s->env, "signal", "lobby %s created (%s)", l->name,
                    mesh ? "mesh" : "client/server");
    }
    if (!l || !l->replica) {
        /* Cannot happen (events after our join wait for it), but a
         * connection must never be left joining: Redis has it, let go. */
        c->joining = false;
        s->stats.cluster_lost++;
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_LOST);
        cl_op *bye = op_new(s, OP_LEAVE, op->name);
        if (bye) {
            bye->peer = peer;
            send_op(s, bye);
        }
        return;
    }
    l->mesh = mesh;
    cl_event me = {.seq = seq, .kind = 'J', .peer = peer, .conn = c->id};
    snprintf(me.node, sizeof me.node, "%s", s->cluster->node);
    if (!l->replica->synced) {
        /* Our first member here: the snapshot (everyone before it) is
         * Redis's state just before this join. */
        take_snapshot(s, l, seq - 1, host, &e[5]);
        l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
        if (!l)
            return;
    }
    deliver(s, l, &me);
}

void pm_sigsrv_cluster_leave(pm_sigsrv *s, sig_conn *c)
{
    sig_lobby *l = c->lobby;
    size_t at;
    if (!pm_sigsrv_member(l, c->peer_id, &at))
        return;
    /* Redis decides what follows (host gone, migration); until its events
     * come, a record stands in for the connection, marked departed: told
     * nothing, addressed by nobody. */
    sig_conn *ghost = record_new(s, c->peer_id, s->cluster->node, c->id);
    pm_sigsrv_lobby_remove_at(s, l, at);
    if (ghost && pm_sigsrv_lobby_add(s, l, ghost) == PM_OK) {
        ghost->departed = true;
        /* Keep the join order: back where the connection was. */
        memmove(&l->members[at + 1], &l->members[at], (l->count - 1 - at) * sizeof *l->members);
        l->members[at] = ghost;
    } else {
        pm_free(&s->env, ghost);
    }
    cl_op *op = op_new(s, OP_LEAVE, l->name);
    if (op) {
        op->peer = c->peer_id;
        send_op(s, op);
    }
    if (!replica_needed(l))
        forget_lobby(s, l);
}

void pm_sigsrv_cluster_seal(pm_sigsrv *s, sig_conn *c)
{
    cl_op *op = op_new(s, OP_SEAL, c->lobby->name);
    if (op) {
        op->peer = c->peer_id;
        send_op(s, op);
    }
}

void pm_sigsrv_cluster_seal_expired(pm_sigsrv *s, sig_lobby *l)
{
    /* Ours go quietly (as one node closes everyone with 1000, telling no
     * one); the other nodes do the same at their own seal delay. */
    cl_op *op = op_new(s, OP_QUIET, l->name);
    if (!op)
        return;
    op->peers = pm_calloc(&s->env, (l->count ? l->count : 1) * sizeof *op->peers);
    for (size_t i = 0; op->peers && i < l->count; i++)
        if (!l->members[i]->remote || l->members[i]->departed)
            op->peers[op->npeers++] = l->members[i]->peer_id;
    if (!op->peers || !op->npeers) {
        op_free(s, op);
        return;
    }
    send_op(s, op);
}

void pm_sigsrv_cluster_relay(pm_sigsrv *s, sig_conn *from, sig_conn *to, const pm_sigmsg *m)
{
    sig_cluster *k = s->cluster;
    if (!k->up) {
        s->stats.cluster_relays_lost++;
        return;
    }
    /* "R<connection> <from> <type>\n<data>" to the member's node. */
    char head[64], channel[96];
    int n = snprintf(head, sizeof head, "R%016llx %d %d\n", (unsigned long long)to->rconn,
                     (int)from->peer_id, m->type);
    snprintf(channel, sizeof channel, "%sc:%s", k->prefix, to->node);
    s->enc.len = 0;
    if (pm_buf_append(&s->env, &s->enc, head, (size_t)n) != PM_OK ||
        pm_buf_append(&s->env, &s->enc, m->data, m->data_len) != PM_OK)
        return;
    cmd_args a = {0};
    arg_str(&a, "PUBLISH");
    arg_str(&a, channel);
    arg(&a, (const char *)s->enc.data, s->enc.len);
    emit(s, 0, &a);
    s->stats.cluster_relays_out++;
}

/* ---- input ---- */

static bool parse_event(const char *p, const char *end, cl_event *e)
{
    /* "<seq> <kind>[ <peer>[ <node> <connection>]]" */
    char text[160];
    size_t n = (size_t)(end - p);
    if (n >= sizeof text)
        return false;
    memcpy(text, p, n);
    text[n] = 0;
    memset(e, 0, sizeof *e);
    unsigned long long seq = 0, conn = 0;
    char kind = 0, node[17] = "";
    int peer = 0;
    int got = sscanf(text, "%llu %c %d %16s %llx", &seq, &kind, &peer, node, &conn);
    if (got < 2 || !seq || !strchr("JLHXS", kind) || (kind == 'J' && got != 5) ||
        ((kind == 'L' || kind == 'H') && (got < 3 || peer < 1)))
        return false;
    e->seq = seq;
    e->kind = kind;
    e->peer = peer;
    snprintf(e->node, sizeof e->node, "%s", node);
    e->conn = conn;
    return true;
}

static void on_event_message(pm_sigsrv *s, const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    if (!nl)
        return;
    sig_lobby *l = pm_sigsrv_lobby_find(s, p, (size_t)(nl - p));
    cl_event e;
    if (!l || !l->replica || !parse_event(nl + 1, p + len, &e))
        return; /* not a lobby of ours (any more) */
    deliver(s, l, &e);
}

static void on_relay_message(pm_sigsrv *s, const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    unsigned long long conn;
    int from, type;
    char head[64];
    size_t hl = nl ? (size_t)(nl - p) : 0;
    if (!nl || hl >= sizeof head)
        return;
    memcpy(head, p, hl);
    head[hl] = 0;
    if (sscanf(head, "%llx %d %d", &conn, &from, &type) != 3 ||
        (type != PM_SIGMSG_OFFER && type != PM_SIGMSG_ANSWER && type != PM_SIGMSG_CANDIDATE))
        return;
    sig_conn *c = pm_sigsrv_conn(s, conn);
    if (!c || c->state != CONN_OPEN || !c->lobby) {
        s->stats.cluster_relays_lost++; /* it left meanwhile */
        return;
    }
    s->stats.cluster_relays_in++;
    pm_sigsrv_send(s, c, type, from, nl + 1, len - hl - 1, NULL, 0);
}

void pm_sigsrv_cluster_message(pm_sigsrv *s, pm_time now, const uint8_t *data, size_t len)
{
    if (!s->cluster || !len)
        return;
    s->now = now;
    const char *p = (const char *)data;
    if (p[0] == 'E')
        on_event_message(s, p + 1, len - 1);
    else if (p[0] == 'R')
        on_relay_message(s, p + 1, len - 1);
}

/* {seq, event, seq, event...}: a leave's or a seal's events, for us. */
static void on_events_reply(pm_sigsrv *s, const cl_op *op, const pm_redis_reply *x)
{
    sig_lobby *l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
    if (!l || !l->replica || x->type != PM_REDIS_ARRAY)
        return;
    for (size_t i = 0; i + 1 < x->count; i += 2) {
        const pm_redis_reply *seq = &x->elements[i], *text = &x->elements[i + 1];
        if (seq->type != PM_REDIS_INTEGER || !text->str)
            continue;
        char line[64];
        int n = snprintf(line, sizeof line, "%lld %.*s", seq->integer, (int)PM_MIN(text->len, 40),
                         text->str);
        cl_event e;
        if (n > 0 && parse_event(line, line + n, &e)) {
            deliver(s, l, &e);
            l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
            if (!l || !l->replica)
                return;
        }
    }
}

static void on_sync_reply(pm_sigsrv *s, const cl_op *op, const pm_redis_reply *x)
{
    sig_lobby *l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
    if (!l || !l->replica || l->replica->synced)
        return;
    s->stats.cluster_resyncs++;
    if (x->type == PM_REDIS_ARRAY && x->count == 0) {
        /* Redis does not have the lobby (restarted empty, or the lobby
         * ended while we were away): our members cannot stay in it. */
        for (size_t i = 0; i < l->count; i++)
            if (!l->members[i]->remote)
                s->stats.cluster_lost++;
        pm_sigsrv_close_members(s, l, PM_SIGNAL_CLOSE_CLUSTER, STR_CLUSTER_LOST);
        pm_sigsrv_lobby_destroy(s, l);
        return;
    }
    const pm_redis_reply *e = x->elements;
    if (x->type != PM_REDIS_ARRAY || x->count < 5 || e[0].type != PM_REDIS_INTEGER ||
        e[4].type != PM_REDIS_ARRAY)
        return;
    bool sealed = e[3].str && e[3].len == 1 && e[3].str[0] == '1';
    int32_t host = e[2].str ? atoi(e[2].str) : 0;
    take_snapshot(s, l, (uint64_t)e[0].integer, host, &e[4]);
    l = pm_sigsrv_lobby_find(s, op->name, strlen(op->name));
    if (l && sealed && !l->sealed)
        pm_sigsrv_mark_sealed(s, s->now, l);
}

/* Iterate over the lobby replicas: for (size_t i = 0; (l = next_lobby(s, &i));) */
static sig_lobby *next_lobby(pm_sigsrv *s, size_t *i)
{
    for (; *i < s->lobbies.cap; (*i)++)
        if (s->lobbies.slots[*i].used)
            return (sig_lobby *)s->lobbies.slots[(*i)++].value;
    return NULL;
}

/* Check every replica in sync against Redis. */
static void resync_all(pm_sigsrv *s)
{
    sig_lobby *l;
    for (size_t i = 0; (l = next_lobby(s, &i));) {
        if (l->replica && l->replica->synced) {
            l->replica->synced = false;
            send_op(s, op_new(s, OP_SYNC, l->name));
        }
    }
}

static void on_heartbeat_reply(pm_sigsrv *s, const pm_redis_reply *x)
{
    if (x->type != PM_REDIS_ARRAY || x->count < 4)
        return;
    s->stats.cluster_lobbies = (uint64_t)x->elements[1].integer;
    s->stats.cluster_members = (uint64_t)x->elements[2].integer;
    s->stats.cluster_nodes = (uint64_t)x->elements[3].integer;
    /* The first beat after the link came up registers us (every replica is
     * being checked then anyway); a later one that finds no key... */
    if (x->elements[0].integer == 0 && s->cluster->beats++ > 0) {
        /* Our key had expired: the others may have let our members go. */
        PM_WARN(&s->env, "cluster", "node %s was taken for dead: checking every lobby",
                s->cluster->node);
        resync_all(s);
    }
}

void pm_sigsrv_cluster_reply(pm_sigsrv *s, pm_time now, uint64_t cookie, const pm_redis_reply *x)
{
    uintptr_t v;
    if (!s->cluster || !pm_map_get(&s->cluster->ops, cookie, &v))
        return;
    (void)pm_map_del(&s->cluster->ops, cookie);
    s->now = now;
    cl_op *op = (cl_op *)v;
    if (x && x->type == PM_REDIS_ERROR)
        PM_ERROR(&s->env, "cluster", "Redis refused a script: %.*s", (int)x->len, x->str);
    if (op->kind == OP_JOIN) {
        on_join_reply(s, op, x && x->type != PM_REDIS_ERROR ? x : NULL);
        op_free(s, op);
        return;
    }
    if (!x) {
        send_op(s, op); /* leaves, quiets and seals wait for the link; the rest is redone */
        return;
    }
    switch (op->kind) {
    case OP_LEAVE:
    case OP_SEAL:
        on_events_reply(s, op, x);
        break;
    case OP_SYNC:
        on_sync_reply(s, op, x);
        break;
    case OP_HEARTBEAT:
        on_heartbeat_reply(s, x);
        break;
    case OP_REAP:
        if (x->type == PM_REDIS_INTEGER && x->integer > 0) {
            s->stats.cluster_dead_nodes += (uint64_t)x->integer;
            PM_WARN(&s->env, "cluster", "%lld dead node(s): their members left their lobbies",
                    x->integer);
        }
        break;
    default:
        break;
    }
    op_free(s, op);
}

void pm_sigsrv_cluster_state(pm_sigsrv *s, pm_time now, bool up)
{
    sig_cluster *k = s->cluster;
    if (!k || k->up == up)
        return;
    s->now = now;
    k->up = up;
    s->stats.cluster_up = up;
    if (!up) {
        PM_WARN(&s->env, "cluster",
                "lost Redis: joins refused, leaves wait, relays between "
                "nodes are lost until it is back");
        sig_lobby *l;
        for (size_t i = 0; (l = next_lobby(s, &i));)
            if (l->replica)
                l->replica->synced = false; /* events of the gap are lost */
        return;
    }
    PM_INFO(&s->env, "cluster", "node %s: Redis is up", k->node);
    k->beats = 0;
    k->next_heartbeat = now;
    k->next_reap = now + REAP_INTERVAL;
    send_op(s, op_new(s, OP_HEARTBEAT, NULL));
    k->next_heartbeat = now + k->ttl / 3;
    /* What waited, in order; then every replica checked. */
    cl_op *op = k->replay;
    k->replay = k->replay_tail = NULL;
    while (op) {
        cl_op *next = op->next;
        send_op(s, op);
        op = next;
    }
    sig_lobby *l;
    for (size_t i = 0; (l = next_lobby(s, &i));)
        if (l->replica && !l->replica->synced && l->count)
            send_op(s, op_new(s, OP_SYNC, l->name));
}

/* ---- timers, life ---- */

void pm_sigsrv_cluster_timeout(pm_sigsrv *s, pm_time now)
{
    sig_cluster *k = s->cluster;
    if (!k || !k->up)
        return;
    if (now >= k->next_heartbeat) {
        k->next_heartbeat = now + k->ttl / 3;
        send_op(s, op_new(s, OP_HEARTBEAT, NULL));
    }
    if (now >= k->next_reap) {
        k->next_reap = now + REAP_INTERVAL;
        send_op(s, op_new(s, OP_REAP, NULL));
    }
}

pm_time pm_sigsrv_cluster_deadline(const pm_sigsrv *s)
{
    const sig_cluster *k = s->cluster;
    return k && k->up ? PM_MIN(k->next_heartbeat, k->next_reap) : PM_TIME_NEVER;
}

void pm_sigsrv_cluster_shutdown(pm_sigsrv *s)
{
    /* Our members leave the cluster's lobbies now rather than by the TTL. */
    for (size_t i = 0; i < s->nslots; i++) {
        sig_conn *c = s->slots[i];
        if (c && c->lobby && c->state == CONN_OPEN) {
            cl_op *op = op_new(s, OP_LEAVE, c->lobby->name);
            if (op) {
                op->peer = c->peer_id;
                send_op(s, op);
            }
        }
    }
}

const char *pm_sigsrv_cluster_channel(const pm_sigsrv *s)
{
    return s->cluster ? s->cluster->channel : NULL;
}

int pm_sigsrv_cluster_new(pm_sigsrv *s)
{
    sig_cluster *k = pm_calloc(&s->env, sizeof *k);
    if (!k)
        return PM_ERR_NOMEM;
    s->cluster = k;
    snprintf(k->node, sizeof k->node, "%016llx", (unsigned long long)pm_random_u64(&s->env));
    const char *prefix = s->cfg.redis_prefix ? s->cfg.redis_prefix : DEFAULT_PREFIX;
    if (strlen(prefix) >= sizeof k->prefix)
        return PM_ERR_INVALID;
    snprintf(k->prefix, sizeof k->prefix, "%s", prefix);
    snprintf(k->channel, sizeof k->channel, "%sc:%s", k->prefix, k->node);
    k->ttl = s->cfg.node_ttl > 0 ? s->cfg.node_ttl : DEFAULT_NODE_TTL;
    const char *bodies[S_COUNT] = {PM_SIG_LUA_JOIN, PM_SIG_LUA_LEAVE, PM_SIG_LUA_QUIET,
                                   PM_SIG_LUA_SEAL, PM_SIG_LUA_SYNC,  PM_SIG_LUA_HEARTBEAT,
                                   PM_SIG_LUA_REAP};
    for (int i = 0; i < S_COUNT; i++) {
        if (pm_buf_append(&s->env, &k->script[i], PM_SIG_LUA_PRELUDE, strlen(PM_SIG_LUA_PRELUDE)) !=
                PM_OK ||
            pm_buf_append(&s->env, &k->script[i], bodies[i], strlen(bodies[i])) != PM_OK)
            return PM_ERR_NOMEM;
    }
    PM_INFO(&s->env, "cluster", "node %s (Redis prefix \"%s\")", k->node, k->prefix);
    return PM_OK;
}

void pm_sigsrv_cluster_free(pm_sigsrv *s)
{
    sig_cluster *k = s->cluster;
    if (!k)
        return;
    for (size_t i = 0; i < k->ops.cap; i++)
        if (k->ops.slots[i].used)
            op_free(s, (cl_op *)k->ops.slots[i].value);
    pm_map_free(&s->env, &k->ops);
    for (cl_op *op = k->replay; op;) {
        cl_op *next = op->next;
        op_free(s, op);
        op = next;
    }
    for (int i = 0; i < S_COUNT; i++)
        pm_buf_free(&s->env, &k->script[i]);
    pm_buf_free(&s->env, &k->cmd);
    pm_free(&s->env, k);
    s->cluster = NULL;
}
