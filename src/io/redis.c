/*
 * Redis client on the transport's libev loop (redis.h), hiredis 0.14's
 * asynchronous API with its libev adapter. The only file that sees hiredis.
 *
 * Both connections live and die together: when either fails (or a command
 * goes unanswered for command_timeout) both are freed, which fails every
 * command in flight, and both are opened again after reconnect_delay. So
 * "up" always means a clean pair, and the cluster core resynchronises
 * after each one.
 */
#include "io/redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libev.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_PORT      6379
#define DEFAULT_TIMEOUT   PM_SEC(2)
#define DEFAULT_RECONNECT PM_MS(250)

typedef struct inflight {
    uint64_t cookie;
    pm_time at;
} inflight;

struct pm_redis {
    pm_envr env;
    struct ev_loop *loop;
    pm_redis_handler h;
    char host[64];
    int port;
    char *unix_path;
    char *channel;
    size_t channel_len;
    pm_time timeout, reconnect_delay;
    redisAsyncContext *cmd, *sub;
    bool cmd_connected, sub_connected, subscribed, up;
    pm_time next_attempt;
    /* Commands in flight, oldest first: replies come in this order. */
    inflight *ring;
    size_t ring_head, ring_count, ring_cap;
    pm_buf arena; /* the reply tree handed to on_reply */
    bool freeing;
};

/* ---- URL ---- */

static int parse_url(const char *url, char *host, size_t host_cap, int *port, const char **path)
{
    *path = NULL;
    if (!url)
        return PM_ERR_INVALID;
    if (strncmp(url, "unix:", 5) == 0) {
        *path = url + 5;
        return **path ? PM_OK : PM_ERR_INVALID;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return PM_ERR_INVALID;
    const char *p = url + 8, *end;
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end)
            return PM_ERR_INVALID;
        p++;
    } else {
        end = p + strcspn(p, ":/");
    }
    size_t n = (size_t)(end - p);
    if (!n || n >= host_cap)
        return PM_ERR_INVALID;
    memcpy(host, p, n);
    host[n] = 0;
    pm_addr a;
    if (pm_addr_parse(&a, host, 0) != PM_OK)
        return PM_ERR_INVALID; /* numeric only: no DNS, ever */
    if (*end == ']')
        end++;
    *port = DEFAULT_PORT;
    if (*end == ':') {
        char *stop;
        long v = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || v < 1 || v > 65535 || (*stop && *stop != '/'))
            return PM_ERR_INVALID;
        *port = (int)v;
    } else if (*end && *end != '/') {
        return PM_ERR_INVALID;
    }
    return PM_OK;
}

int pm_redis_url_check(const char *url)
{
    char host[64];
    int port;
    const char *path;
    return parse_url(url, host, sizeof host, &port, &path);
}

/* ---- replies ---- */

static size_t count_nodes(const redisReply *x)
{
    size_t n = 1;
    if (x->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < x->elements; i++)
            n += count_nodes(x->element[i]);
    return n;
}

static void fill(pm_redis_reply *out, const redisReply *x, pm_redis_reply *pool, size_t *used)
{
    memset(out, 0, sizeof *out);
    switch (x->type) {
    case REDIS_REPLY_INTEGER:
        out->type = PM_REDIS_INTEGER;
        out->integer = x->integer;
        return;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        out->type = x->type == REDIS_REPLY_STRING   ? PM_REDIS_STRING
                    : x->type == REDIS_REPLY_STATUS ? PM_REDIS_STATUS
                                                    : PM_REDIS_ERROR;
        out->str = x->str;
        out->len = x->len;
        return;
    case REDIS_REPLY_ARRAY: {
        out->type = PM_REDIS_ARRAY;
        size_t base = *used;
        *used += x->elements;
        out->elements = &pool[base];
        out->count = x->elements;
        for (size_t i = 0; i < x->elements; i++)
            fill(&pool[base + i], x->element[i], pool, used);
        return;
    }
    default:
        out->type = PM_REDIS_NIL;
        return;
    }
}

static const pm_redis_reply *convert(pm_redis *r, const redisReply *x)
{
    size_t n = count_nodes(x);
    if (pm_buf_reserve(&r->env, &r->arena, n * sizeof(pm_redis_reply)) != PM_OK)
        return NULL;
    pm_redis_reply *pool = (pm_redis_reply *)(void *)r->arena.data;
    size_t used = 1;
    fill(&pool[0], x, pool, &used);
    return pool;
}

/* ---- the pair of connections ---- */

static void set_down(pm_redis *r)
{
    if (!r->up)
        return;
    r->up = false;
    if (!r->freeing && r->h.on_state)
        r->h.on_state(r->h.ud, false);
}

static void maybe_up(pm_redis *r)
{
    if (r->up || !r->cmd_connected || !r->sub_connected || !r->subscribed)
        return;
    r->up = true;
    PM_INFO(&r->env, "redis", "connected (subscribed to %s)", r->channel);
    if (r->h.on_state)
        r->h.on_state(r->h.ud, true);
}

/* Free both connections: every command in flight fails. */
static void teardown(pm_redis *r)
{
    redisAsyncContext *c = r->cmd, *s = r->sub;
    r->cmd = r->sub = NULL;
    r->cmd_connected = r->sub_connected = r->subscribed = false;
    r->next_attempt = pm_env_now(&r->env) + r->reconnect_delay;
    set_down(r);
    if (c)
        redisAsyncFree(c);
    if (s)
        redisAsyncFree(s);
}

static void on_connect(const redisAsyncContext *ac, int status);
static void on_disconnect(const redisAsyncContext *ac, int status);

static redisAsyncContext *open_one(pm_redis *r)
{
    redisAsyncContext *ac =
        r->unix_path ? redisAsyncConnectUnix(r->unix_path) : redisAsyncConnect(r->host, r->port);
    if (!ac)
        return NULL;
    if (ac->err) {
        PM_DEBUG(&r->env, "redis", "cannot connect: %s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    if (redisLibevAttach(r->loop, ac) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static void on_sub_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    pm_redis *r = privdata;
    const redisReply *x = reply;
    if (!x || r->freeing || ac != r->sub || x->type != REDIS_REPLY_ARRAY || x->elements < 3)
        return;
    const redisReply *kind = x->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        r->subscribed = true;
        maybe_up(r);
    } else if (strcmp(kind->str, "message") == 0 && x->element[2]->type == REDIS_REPLY_STRING) {
        if (r->h.on_message)
            r->h.on_message(r->h.ud, (const uint8_t *)x->element[2]->str, x->element[2]->len);
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac;
    pm_redis *r = ac->data;
    bool is_cmd = ac == r->cmd, is_sub = ac == r->sub;
    if (!is_cmd && !is_sub)
        return;
    if (status != REDIS_OK) {
        PM_DEBUG(&r->env, "redis", "connect failed: %s", ac->errstr);
        /* hiredis frees this one after the call; the other goes too. */
        if (is_cmd)
            r->cmd = NULL;
        else
            r->sub = NULL;
        teardown(r);
        return;
    }
    if (is_cmd) {
        r->cmd_connected = true;
    } else {
        r->sub_connected = true;
        const char *argv[2] = {"SUBSCRIBE", r->channel};
        size_t lens[2] = {9, r->channel_len};
        if (redisAsyncCommandArgv(ac, on_sub_message, r, 2, argv, lens) != REDIS_OK) {
            teardown(r);
            return;
        }
    }
    maybe_up(r);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac;
    pm_redis *r = ac->data;
    if (r->freeing || (ac != r->cmd && ac != r->sub))
        return; /* one we let go of ourselves */
    PM_WARN(&r->env, "redis", "connection lost%s%s", status == REDIS_OK ? "" : ": ",
            status == REDIS_OK ? "" : ac->errstr);
    if (ac == r->cmd)
        r->cmd = NULL; /* hiredis frees it after this call */
    else
        r->sub = NULL;
    teardown(r);
}

static void on_cmd_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    pm_redis *r = privdata;
    if (!reply && ac == r->cmd) {
        /* hiredis is freeing the command connection (it failed): its
         * callbacks come before its disconnect callback. Down first. */
        r->cmd = NULL;
        teardown(r);
    }
    if (!r->ring_count)
        return;
    inflight f = r->ring[r->ring_head];
    r->ring_head = (r->ring_head + 1) % r->ring_cap;
    r->ring_count--;
    if (r->freeing || !f.cookie || !r->h.on_reply)
        return;
    const pm_redis_reply *x = reply ? convert(r, reply) : NULL;
    r->h.on_reply(r->h.ud, f.cookie, x);
}

/* ---- API ---- */

int pm_redis_new(void *ev_loop, const pm_redis_config *cfg, const pm_redis_handler *h,
                 pm_redis **out)
{
    if (!out || !cfg || !h || !ev_loop || !cfg->channel)
        return PM_ERR_INVALID;
    *out = NULL;
    char host[64];
    int port;
    const char *path;
    if (parse_url(cfg->url, host, sizeof host, &port, &path) != PM_OK)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_redis *r = pm_calloc(&env, sizeof *r);
    if (!r)
        return PM_ERR_NOMEM;
    r->env = env;
    r->loop = ev_loop;
    r->h = *h;
    snprintf(r->host, sizeof r->host, "%s", host);
    r->port = port;
    r->unix_path = path ? pm_strdup(&env, path) : NULL;
    r->channel = pm_strdup(&env, cfg->channel);
    r->channel_len = strlen(cfg->channel);
    r->timeout = cfg->command_timeout > 0 ? cfg->command_timeout : DEFAULT_TIMEOUT;
    r->reconnect_delay = cfg->reconnect_delay > 0 ? cfg->reconnect_delay : DEFAULT_RECONNECT;
    if ((path && !r->unix_path) || !r->channel) {
        pm_redis_free(r);
        return PM_ERR_NOMEM;
    }
    r->next_attempt = pm_env_now(&env); /* at the first tick */
    *out = r;
    return PM_OK;
}

void pm_redis_free(pm_redis *r)
{
    if (!r)
        return;
    r->freeing = true;
    teardown(r);
    pm_envr env = r->env;
    pm_free(&env, r->ring);
    pm_buf_free(&env, &r->arena);
    pm_free(&env, r->unix_path);
    pm_free(&env, r->channel);
    pm_free(&env, r);
}

static int ring_push(pm_redis *r, uint64_t cookie)
{
    if (r->ring_count == r->ring_cap) {
        size_t n = r->ring_cap ? r->ring_cap * 2 : 256;
        inflight *ring = pm_alloc(&r->env, n * sizeof *ring);
        if (!ring)
            return PM_ERR_NOMEM;
        for (size_t i = 0; i < r->ring_count; i++)
            ring[i] = r->ring[(r->ring_head + i) % r->ring_cap];
        pm_free(&r->env, r->ring);
        r->ring = ring;
        r->ring_head = 0;
        r->ring_cap = n;
    }
    r->ring[(r->ring_head + r->ring_count) % r->ring_cap] =
        (inflight){.cookie = cookie, .at = pm_env_now(&r->env)};
    r->ring_count++;
    return PM_OK;
}

int pm_redis_command(pm_redis *r, uint64_t cookie, int argc, const char *const *argv,
                     const size_t *lens)
{
    if (!r || argc < 1 || !argv || !lens)
        return PM_ERR_INVALID;
    if (!r->up)
        return PM_ERR_CLOSED;
    int rc = ring_push(r, cookie);
    if (rc != PM_OK)
        return rc;
    if (redisAsyncCommandArgv(r->cmd, on_cmd_reply, r, argc, (const char **)(uintptr_t)argv,
                              lens) != REDIS_OK) {
        r->ring_count--; /* never queued: no callback will come */
        return PM_ERR_CLOSED;
    }
    return PM_OK;
}

void pm_redis_tick(pm_redis *r, pm_time now)
{
    if (!r)
        return;
    if (r->ring_count && now - r->ring[r->ring_head].at >= r->timeout) {
        PM_WARN(&r->env, "redis", "no reply for %lld ms: reconnecting",
                (long long)((now - r->ring[r->ring_head].at) / 1000));
        teardown(r);
        return;
    }
    if (r->cmd || r->sub || now < r->next_attempt)
        return;
    r->next_attempt = now + r->reconnect_delay; /* the next try, should this one fail */
    r->cmd = open_one(r);
    r->sub = r->cmd ? open_one(r) : NULL;
    if (!r->cmd || !r->sub)
        teardown(r);
}

pm_time pm_redis_next_deadline(const pm_redis *r)
{
    if (!r)
        return PM_TIME_NEVER;
    pm_time t = PM_TIME_NEVER;
    if (r->ring_count)
        t = r->ring[r->ring_head].at + r->timeout;
    if (!r->cmd && !r->sub)
        t = PM_MIN(t, r->next_attempt);
    return t;
}

bool pm_redis_up(const pm_redis *r)
{
    return r && r->up;
}
