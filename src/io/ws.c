/*
 * WebSocket transport on libwebsockets (ws.h). libwebsockets drives its
 * sockets with its own poll loop (pm_ws_service -> lws_service); this file
 * turns its callbacks into whole messages, per-connection send queues and
 * connection ids, and keeps handler calls inside pm_ws_service.
 *
 * Plain ws:// server connections are read by this file once the handshake
 * is done (ws_frame.c parses): libwebsockets 4.1 takes unmasked client
 * frames and echoes close codes that do not exist, which RFC 6455 forbids.
 * Every close has a deadline, after which the connection is dropped.
 */
#define _GNU_SOURCE
#include "io/ws.h"
#include "io/io.h"
#include "base/map.h"
#include "io/ws_frame.h"

#include <arpa/inet.h>
#include <ev.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define WS_PROTOCOL_NAME    "peermesh-signal"
#define DEFAULT_MAX_MESSAGE 65536
#define DEFAULT_MAX_QUEUED  (4u << 20)
#define DEFAULT_CLOSE_TIME  PM_SEC(5)
#define HOUSEKEEPING_PERIOD 0.1 /* seconds between deadline checks while any is pending */
#define DEFAULT_HS_PER_ADDR 32
#define DEFAULT_HS_TIME     PM_SEC(10) /* lws's own timeout_secs: TLS under load is slow */
#define HS_POOL             256 /* handshakes lws works on at once (one header buffer each) */
#define HS_PRESSURE         (HS_POOL / 2) /* beyond: handshakes get HS_TIME_PRESSED */
#define HS_TIME_PRESSED     PM_SEC(1)
#define READ_CHUNK          16384      /* bytes read from a socket at once */
#define READ_ROUNDS         4          /* reads per wake-up: one busy peer cannot starve the rest */
#define WRITE_BUDGET        64         /* messages written per writeable callback */
#define CORK_BYTES_MAX      (1u << 20) /* frames held for the end of a round at most... */
#define CORK_FRAMES_MAX     16384      /* ...and as many (their records are kept) */
#define CORK_IOV_MAX        64         /* frames per sendmsg when a round's are flushed */
#define CORK_NONE           UINT32_MAX
#define CLOSE_REASON_MAX    123  /* RFC 6455 section 5.5: control payload <= 125, 2 for the code */
#define CODE_ABNORMAL       1006 /* RFC 6455 section 7.4.1: no close frame */
#define CODE_POLICY         1008
#define CODE_TOO_BIG        1009

/* Records of a connection's queue. */
enum { REC_TEXT = 1, REC_BINARY = 2, REC_PONG = 3 };

/* RFC 6455 section 5.2 opcodes of the frames we write ourselves. */
enum { OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xA };

typedef struct ws_conn {
    uint32_t magic; /* CONN_MAGIC: lws's per-wsi pointer is a ws_conn or an http_req */
    uint64_t id;
    struct lws *wsi;
    bool client;
    bool opened;
    bool closing;   /* close frame after the queue drains */
    bool finalized; /* on_closed done (or suppressed) */
    bool ping_pending;
    bool lws_busy;  /* we wrote through lws and it may still hold some of it */
    bool tls;       /* a wss:// client connection */
    int watched_fd; /* cfg.watch: the socket in the wait sets, or -1 */
    /* A client connection that fails before it opens: what we learnt of why. */
    char target[80];    /* "host:port" */
    int sys_errno;      /* the socket's error (SO_ERROR) */
    bool cert_rejected; /* OpenSSL did not trust the server's chain */
    unsigned http_status;
    char lws_text[96]; /* lws's words (CLIENT_CONNECTION_ERROR) */
    pm_fifo out;       /* records: [LWS_PRE headroom][message] */
    size_t queued;
    int close_code;
    char close_reason[CLOSE_REASON_MAX + 1];
    bool local_close;
    int remote_code;
    char remote_reason[CLOSE_REASON_MAX + 1];
    pm_buf rx;
    bool rx_active, rx_binary;
    int fd; /* the socket once known (-1 before) */
    /* Plain ws server connections: we read the socket and parse the frames. */
    pm_ws *owner;
    bool own_rx;
    ev_io rx_io;
    pm_wsr rd;
    /* Frames held until the end of the service round (pm_ws.cork), as a
     * chain of record indexes; CORK_NONE when none. */
    uint32_t cork_first, cork_last;
    /* Closing: dropped at close_deadline if still there (the closing list). */
    pm_time close_deadline;
    bool close_listed;
    struct ws_conn *close_prev, *close_next;
} ws_conn;

/* A server connection before it is a WebSocket: its handshake (an
 * unfinished one is on the handshake list and counts against its address),
 * then a plain HTTP request's answer. */
typedef struct http_req {
    uint32_t magic;
    pm_buf body;
    size_t sent;
    struct lws *wsi;
    uint64_t addr_key;
    pm_time accepted_at;
    bool unfinished;
    struct http_req *hs_prev, *hs_next;
} http_req;
#define HTTP_MAGIC 0x48545450u
#define CONN_MAGIC 0x57534f4bu

struct pm_ws {
    pm_envr env;
    pm_ws_handler h;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];
    uint16_t port;
    size_t max_message, max_queued;
    bool allow_self_signed;
    bool client_tls;
    bool direct;   /* plain-ws server: frames may go straight to the socket */
    uint64_t mask; /* xorshift state for client frame masks */
    bool freeing;
    bool stopped;
    ws_conn *connecting; /* a client connect in progress (synchronous errors) */
    lws_sorted_usec_list_t sul;
    /* lws's sockets and timers run on this libev loop (epoll), so a wake-up
     * costs what is ready, not a scan of every connection as its built-in
     * poll(2) loop does. NULL: the libev plugin is missing, poll(2) it is. */
    struct ev_loop *loop;
    ev_timer timer;
    /* cfg.watch (see "Watched clients" below). */
    bool watch;
    int waitset;                  /* the user's: our sockets, level-triggered */
    int arrivals;                 /* ours: the same sockets' changes, edge-triggered */
    bool dirty;                   /* we asked lws for work it does in its next round */
    lws_sorted_usec_list_t probe; /* never fires: finds lws's timer list */
    ev_timer housekeeping;        /* deadlines: closes (and handshakes) */
    bool housekeeping_on;
    pm_time close_timeout;
    ws_conn *closing_head, *closing_tail; /* by close deadline (all the same timeout) */
    /* Unfinished handshakes, oldest first, and how many per address. */
    http_req *hs_head, *hs_tail;
    size_t hs_count;
    pm_map hs_by_addr;
    uint32_t hs_per_addr;
    pm_time hs_timeout;
    /* Frames for plain-ws server connections written during a service
     * round are held here and go out at its end, one sendmsg per
     * connection: a relay often has several frames for one client per
     * round, and each sendmsg is a TCP segment (and an ACK back). */
    bool corking;
    pm_buf cork;           /* the frames' bytes, header and payload */
    struct cork_rec *recs; /* one per frame */
    size_t nrecs, recs_cap;
    uint64_t *corked; /* connections with frames held, by id */
    size_t ncorked, corked_cap;
    ws_conn **slots;
    uint32_t *gens;
    uint32_t *free_slots;
    size_t nslots, nfree, count;
};

typedef struct cork_rec {
    size_t off, len; /* in pm_ws.cork */
    uint32_t next;   /* the connection's next frame, or CORK_NONE */
} cork_rec;

/* ---- connection table ---- */

static ws_conn *conn_of(struct lws *wsi)
{
    ws_conn *c = lws_get_opaque_user_data(wsi);
    return c && c->magic == CONN_MAGIC ? c : NULL;
}

static ws_conn *conn_get(const pm_ws *ws, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (slot == 0 || slot > ws->nslots)
        return NULL;
    ws_conn *c = ws->slots[slot - 1];
    return c && c->id == id ? c : NULL;
}

static int grow_slots(pm_ws *ws)
{
    size_t n = ws->nslots ? ws->nslots * 2 : 64;
    ws_conn **slots = pm_realloc(&ws->env, ws->slots, n * sizeof *slots);
    if (!slots)
        return PM_ERR_NOMEM;
    ws->slots = slots;
    uint32_t *gens = pm_realloc(&ws->env, ws->gens, n * sizeof *gens);
    if (!gens)
        return PM_ERR_NOMEM;
    ws->gens = gens;
    uint32_t *fr = pm_realloc(&ws->env, ws->free_slots, n * sizeof *fr);
    if (!fr)
        return PM_ERR_NOMEM;
    ws->free_slots = fr;
    for (size_t i = ws->nslots; i < n; i++) {
        ws->slots[i] = NULL;
        ws->gens[i] = 0;
    }
    for (size_t i = n; i > ws->nslots; i--)
        ws->free_slots[ws->nfree++] = (uint32_t)(i - 1);
    ws->nslots = n;
    return PM_OK;
}

static ws_conn *conn_new(pm_ws *ws, struct lws *wsi, bool client)
{
    if (!ws->nfree && grow_slots(ws) != PM_OK)
        return NULL;
    ws_conn *c = pm_calloc(&ws->env, sizeof *c);
    if (!c)
        return NULL;
    uint32_t slot = ws->free_slots[--ws->nfree];
    ws->gens[slot]++;
    c->magic = CONN_MAGIC;
    c->id = ((uint64_t)ws->gens[slot] << 32) | (slot + 1);
    c->wsi = wsi;
    c->client = client;
    c->watched_fd = -1;
    c->owner = ws;
    c->fd = -1;
    c->close_deadline = PM_TIME_NEVER;
    c->cork_first = c->cork_last = CORK_NONE;
    pm_fifo_init(&c->out, 0);
    ws->slots[slot] = c;
    ws->count++;
    return c;
}

/* ---- watched clients (cfg.watch) ----
 *
 * A program that sleeps on one descriptor (the signaling client) must be
 * woken whenever libwebsockets has work, but two kinds of work do not show
 * on a socket, and the Debian build of lws reports neither (no external
 * poll callbacks): its timers (connect and close timeouts, deferred kills),
 * and the writes it defers to its next round (the automatic pong to a
 * ping, the reply to a close, what our own calls asked for). So:
 *
 *  - its timer list is read through a timer of ours that never fires (its
 *    head is lws's next timer): pm_ws_next_deadline;
 *  - pm_ws_service runs rounds of lws's own loop until a round began with
 *    nothing to do: no input readable, no timer due, no request of ours,
 *    and no change on a socket while the round ran. lws may have read that
 *    input already, so changes are counted by a second, edge-triggered
 *    epoll set over the same sockets ("arrivals": input, and a socket that
 *    became writable). What a round defers, the next does;
 *  - that set of changes sits in the wait set too, so a change nobody has
 *    taken wakes the sleeper. This is what catches a connect that completes
 *    while nobody looks: lws waits for the socket to become writable and
 *    then speaks first (TLS ClientHello, HTTP upgrade), and a socket that
 *    is already writable when it is watched shows no output event to a
 *    level-triggered set that does not ask for output;
 *  - a socket that cannot take output now (connecting, or holding a write
 *    lws could not finish) is watched for output too.
 */
#define WATCH_ROUNDS 16

static void unwatch(pm_ws *ws, ws_conn *c)
{
    if (c->watched_fd < 0)
        return;
    pm_io_waitset_forget(ws->waitset, c->watched_fd);
    pm_io_waitset_forget(ws->arrivals, c->watched_fd);
    c->watched_fd = -1;
}

static bool writable_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

static void watch_conn(pm_ws *ws, ws_conn *c)
{
    int fd = c->wsi && !c->finalized ? lws_get_socket_fd(c->wsi) : -1;
    if (fd != c->watched_fd) {
        unwatch(ws, c);
        if (fd < 0)
            return;
        if (pm_io_waitset_watch_arrivals(ws->arrivals, fd) != PM_OK)
            PM_ERROR(&ws->env, "ws", "cannot watch socket %d for arrivals", fd);
        c->watched_fd = fd;
    }
    bool out = lws_partial_buffered(c->wsi) || !writable_now(fd);
    if (pm_io_waitset_watch(ws->waitset, fd, out) != PM_OK)
        PM_ERROR(&ws->env, "ws", "cannot watch socket %d", fd);
}

static void watch_all(pm_ws *ws)
{
    for (size_t i = 0; i < ws->nslots; i++)
        if (ws->slots[i])
            watch_conn(ws, ws->slots[i]);
}

static bool any_readable(const pm_ws *ws)
{
    for (size_t i = 0; i < ws->nslots; i++) {
        const ws_conn *c = ws->slots[i];
        struct pollfd p = {.fd = c ? c->watched_fd : -1, .events = POLLIN};
        if (p.fd >= 0 && poll(&p, 1, 0) == 1 && p.revents)
            return true;
    }
    return false;
}

/* lws's next timer (lws_now_usecs() time), from the list our probe sits in; 0 when none. */
static lws_usec_t next_lws_timer(const pm_ws *ws)
{
    lws_usec_t earliest = 0, wake;
    const struct lws_dll2_owner *own = lws_dll2_owner(&ws->probe.list);
    if (own && own->head && own->head != &ws->probe.list)
        earliest = ((const lws_sorted_usec_list_t *)own->head)->us; /* list: first member */
    if (lws_sul_earliest_wakeable_event(ws->ctx, &wake) == 0 && (!earliest || wake < earliest))
        earliest = wake;
    return earliest;
}

/* A connect that failed shows as an error on its socket; take the errno before lws closes it. */
static void note_connect_errors(pm_ws *ws)
{
    for (size_t i = 0; i < ws->nslots; i++) {
        ws_conn *c = ws->slots[i];
        if (!c || c->opened || c->watched_fd < 0 || c->sys_errno)
            continue;
        struct pollfd p = {.fd = c->watched_fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) &&
            getsockopt(c->watched_fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
            c->sys_errno = err;
    }
}

static void service_watched(pm_ws *ws)
{
    bool again = true;
    int changes = pm_io_waitset_drain(ws->arrivals); /* since the last look */
    for (int round = 0; again && round < WATCH_ROUNDS; round++) {
        note_connect_errors(ws);
        lws_usec_t timer = next_lws_timer(ws);
        bool input = any_readable(ws), due = timer && timer <= lws_now_usecs();
        ws->dirty = false;
        (void)lws_service(ws->ctx, -1);
        /* What this round read, ran, was asked for or saw change may have left lws a write
         * for its next (after a connect completes, lws sends its upgrade request in a round
         * of its own); changes during this round are the next round's to follow up. */
        int later = pm_io_waitset_drain(ws->arrivals);
        again = changes > 0 || input || due || ws->dirty || later > 0;
        changes = later;
    }
    ws->dirty = again; /* out of rounds: the deadline says "now" */
    watch_all(ws);
}

/* ---- deadlines ---- */

static void housekeeping_start(pm_ws *ws)
{
    if (ws->loop && !ws->housekeeping_on) {
        ev_timer_set(&ws->housekeeping, HOUSEKEEPING_PERIOD, HOUSEKEEPING_PERIOD);
        ev_timer_start(ws->loop, &ws->housekeeping);
        ws->housekeeping_on = true;
    }
}

static void closing_unlink(pm_ws *ws, ws_conn *c)
{
    if (!c->close_listed)
        return;
    if (c->close_prev)
        c->close_prev->close_next = c->close_next;
    else
        ws->closing_head = c->close_next;
    if (c->close_next)
        c->close_next->close_prev = c->close_prev;
    else
        ws->closing_tail = c->close_prev;
    c->close_prev = c->close_next = NULL;
    c->close_listed = false;
}

/* A close has begun: however the peer behaves, the connection goes by the
 * deadline (a peer that stopped reading would otherwise keep its queue and
 * its slot until its TCP connection breaks). */
static void arm_close_deadline(pm_ws *ws, ws_conn *c)
{
    if (c->close_listed || c->close_deadline != PM_TIME_NEVER)
        return;
    c->close_deadline = pm_env_now(&ws->env) + ws->close_timeout;
    c->close_prev = ws->closing_tail;
    if (ws->closing_tail)
        ws->closing_tail->close_next = c;
    else
        ws->closing_head = c;
    ws->closing_tail = c;
    c->close_listed = true;
    housekeeping_start(ws);
}

static void uncork(pm_ws *ws, ws_conn *c);

/* Drop without a word; on_closed follows from lws. lws runs the kill from
 * its timer list, which it looks at after its own socket events: outside
 * one (our reads, our deadlines) it has to be woken. */
static void hang_up(pm_ws *ws, ws_conn *c)
{
    uncork(ws, c); /* what was said before still goes first */
    c->closing = true;
    ws->dirty = true;
    if (c->wsi) {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        lws_cancel_service(ws->ctx);
    }
}

/* Past its close deadline: reset the TCP connection, so the kernel lets go
 * of what it still holds for a peer that does not read. */
static void expire_close(pm_ws *ws, ws_conn *c)
{
    closing_unlink(ws, c);
    int fd = c->wsi ? lws_get_socket_fd(c->wsi) : -1;
    if (fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    PM_DEBUG(&ws->env, "ws", "connection %llx: close not done in time, dropping it",
             (unsigned long long)c->id);
    hang_up(ws, c);
}

/* ---- handshakes: limited per address, and in time ---- */

static void hs_count_add(pm_ws *ws, uint64_t key, int delta)
{
    uintptr_t n = 0;
    (void)pm_map_get(&ws->hs_by_addr, key, &n);
    n = (uintptr_t)((intptr_t)n + delta);
    if (n)
        (void)pm_map_put(&ws->env, &ws->hs_by_addr, key, n);
    else
        (void)pm_map_del(&ws->hs_by_addr, key);
}

/* The handshake is over (done, or the connection gone). */
static void hs_finish(pm_ws *ws, http_req *r)
{
    if (!r->unfinished)
        return;
    r->unfinished = false;
    if (r->hs_prev)
        r->hs_prev->hs_next = r->hs_next;
    else
        ws->hs_head = r->hs_next;
    if (r->hs_next)
        r->hs_next->hs_prev = r->hs_prev;
    else
        ws->hs_tail = r->hs_prev;
    r->hs_prev = r->hs_next = NULL;
    ws->hs_count--;
    if (r->addr_key)
        hs_count_add(ws, r->addr_key, -1);
}

static void hs_start(pm_ws *ws, http_req *r, struct lws *wsi, uint64_t key)
{
    r->wsi = wsi;
    r->addr_key = key;
    r->accepted_at = pm_env_now(&ws->env);
    r->unfinished = true;
    r->hs_prev = ws->hs_tail;
    if (ws->hs_tail)
        ws->hs_tail->hs_next = r;
    else
        ws->hs_head = r;
    ws->hs_tail = r;
    ws->hs_count++;
    if (key)
        hs_count_add(ws, key, 1);
    housekeeping_start(ws);
}

/* Idle connections that never finish their upgrade hold lws's header
 * buffers (slowloris): each gets hs_timeout, and only a second while half
 * the pool is taken. */
static pm_time hs_deadline(const pm_ws *ws, const http_req *r)
{
    return r->accepted_at + (ws->hs_count > HS_PRESSURE ? HS_TIME_PRESSED : ws->hs_timeout);
}

static void run_deadlines(pm_ws *ws)
{
    pm_time now = pm_env_now(&ws->env);
    while (ws->closing_head && ws->closing_head->close_deadline <= now)
        expire_close(ws, ws->closing_head);
    bool killed = false;
    while (ws->hs_head && hs_deadline(ws, ws->hs_head) <= now) {
        http_req *r = ws->hs_head;
        hs_finish(ws, r);
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        killed = true;
    }
    if (killed)
        lws_cancel_service(ws->ctx);
    if (ws->housekeeping_on && !ws->closing_head && !ws->hs_head) {
        ev_timer_stop(ws->loop, &ws->housekeeping);
        ws->housekeeping_on = false;
    }
}

static void housekeeping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    run_deadlines(w->data);
}

static void conn_free(pm_ws *ws, ws_conn *c)
{
    closing_unlink(ws, c);
    if (c->own_rx && ws->loop)
        ev_io_stop(ws->loop, &c->rx_io);
    uint32_t slot = (uint32_t)c->id - 1;
    if (ws->watch)
        unwatch(ws, c);
    ws->slots[slot] = NULL;
    ws->free_slots[ws->nfree++] = slot;
    ws->count--;
    pm_fifo_free(&ws->env, &c->out);
    pm_buf_free(&ws->env, &c->rx);
    c->magic = 0;
    pm_free(&ws->env, c);
}

/* The sentence and code for a client connection that never opened (ws.h). */
static int describe(const ws_conn *c, char *why, size_t cap)
{
    pm_ws_failure f = {.sys_errno = c->sys_errno,
                       .http_status = c->http_status,
                       .tls = c->tls,
                       .cert_rejected = c->cert_rejected,
                       .lws_text = c->lws_text,
                       .target = c->target};
    return pm_ws_failure_describe(&f, why, cap);
}

/* The end of a connection: tell the handler once, free our state. */
static void finalize(pm_ws *ws, ws_conn *c)
{
    if (c->finalized)
        return;
    c->finalized = true;
    if (c->wsi)
        lws_set_opaque_user_data(c->wsi, NULL);
    c->wsi = NULL;
    if (ws->connecting == c)
        return; /* pm_ws_connect reports the failure and frees */
    int code = CODE_ABNORMAL;
    const char *reason = "";
    if (c->local_close) {
        code = c->close_code;
        reason = c->close_reason;
    } else if (c->remote_code) {
        code = c->remote_code;
        reason = c->remote_reason;
    }
    uint64_t id = c->id;
    bool local = c->local_close;
    /* Copy the reason: the handler may not keep a pointer into c. */
    char why[CLOSE_REASON_MAX + 1], failure[256];
    snprintf(why, sizeof why, "%s", reason);
    bool failed = c->client && !c->opened && !local;
    int err = failed ? describe(c, failure, sizeof failure) : PM_OK;
    conn_free(ws, c);
    if (failed && !ws->freeing && ws->h.on_failed)
        ws->h.on_failed(ws->h.ud, id, err, failure);
    if (!ws->freeing && ws->h.on_closed)
        ws->h.on_closed(ws->h.ud, id, code, why, local);
}

static void set_local_close(ws_conn *c, int code, const char *reason, size_t len)
{
    if (c->local_close)
        return;
    c->local_close = true;
    c->close_code = code;
    if (len > CLOSE_REASON_MAX)
        len = CLOSE_REASON_MAX;
    memcpy(c->close_reason, reason, len);
    c->close_reason[len] = 0;
}

/* ---- callbacks ---- */

static void peer_address(int fd, pm_addr *out, bool *ok)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(out, 0, sizeof *out);
    *ok = false;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        out->family = 4;
        memcpy(out->ip, &sin->sin_addr, 4);
        out->port = ntohs(sin->sin_port);
        *ok = true;
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        out->port = ntohs(sin6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            out->family = 4;
            memcpy(out->ip, sin6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->ip, sin6->sin6_addr.s6_addr, 16);
            out->scope_id = sin6->sin6_scope_id;
        }
        *ok = true;
    }
}

/* Signaling messages are small and latency-bound: no Nagle delay. */
static void no_delay(struct lws *wsi)
{
    int one = 1, fd = lws_get_socket_fd(wsi);
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void start_own_rx(pm_ws *ws, ws_conn *c);

static int on_established(pm_ws *ws, struct lws *wsi)
{
    no_delay(wsi);
    ws_conn *c = conn_new(ws, wsi, false);
    if (!c)
        return -1;
    lws_set_opaque_user_data(wsi, c);
    c->opened = true;
    if (ws->direct && ws->loop)
        start_own_rx(ws, c);
    pm_addr remote;
    bool have_addr;
    peer_address(lws_get_socket_fd(wsi), &remote, &have_addr);
    char buf[256];
    const char *token = lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof buf);
    if (ws->h.on_open)
        ws->h.on_open(ws->h.ud, c->id, have_addr ? &remote : NULL, token);
    return 0;
}

/* A whole message is in c->rx: hand it over. */
static void deliver(pm_ws *ws, ws_conn *c, bool binary)
{
    uint64_t id = c->id;
    if (ws->h.on_message)
        ws->h.on_message(ws->h.ud, id, c->rx.len ? c->rx.data : (const uint8_t *)"", c->rx.len,
                         binary);
    c = conn_get(ws, id); /* still there: closes are asynchronous */
    if (!c)
        return;
    c->rx.len = 0;
    if (c->rx.cap > ws->max_message / 2 && c->rx.cap > 65536)
        pm_buf_free(&ws->env, &c->rx); /* don't keep a big buffer per idle peer */
}

/* ---- reading plain ws server connections ourselves (ws_frame.c) ---- */

static bool send_frame(pm_ws *ws, ws_conn *c, int opcode, const void *data, size_t len);
static int queue_record(pm_ws *ws, ws_conn *c, uint32_t tag, const void *data, size_t len);
static void rx_ready(struct ev_loop *loop, ev_io *w, int revents);

static void start_own_rx(pm_ws *ws, ws_conn *c)
{
    int fd = lws_get_socket_fd(c->wsi);
    if (fd < 0)
        return;
    /* From here on lws does not read this socket. A client that sent frames
     * before the handshake's answer (RFC 6455 section 4.1 says it must wait)
     * may have had them read by lws, which delivers them as usual. */
    lws_rx_flow_control(c->wsi, 0);
    pm_wsr_init(&c->rd, ws->max_message);
    ev_io_init(&c->rx_io, rx_ready, fd, EV_READ);
    c->rx_io.data = c;
    ev_io_start(ws->loop, &c->rx_io);
    c->own_rx = true;
}

/* Answer a close, or close for a protocol error: the close frame goes after
 * what is queued, then the connection ends (by the close deadline at the
 * latest). */
static void answer_close(pm_ws *ws, ws_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    if (!c->local_close) {
        c->close_code = code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    }
    c->closing = true;
    arm_close_deadline(ws, c);
    uint8_t payload[2 + CLOSE_REASON_MAX];
    size_t n = 0;
    if (c->close_code) {
        pm_wr16(payload, (uint16_t)c->close_code);
        n = 2 + strlen(c->close_reason);
        memcpy(payload + 2, c->close_reason, n - 2);
    }
    if (send_frame(ws, c, OP_CLOSE, payload, n)) {
        hang_up(ws, c);
        return;
    }
    if (c->wsi)
        lws_callback_on_writable(c->wsi); /* on_writeable closes after the queue */
}

static void take_frame_event(pm_ws *ws, ws_conn *c, const pm_wsr_event *ev)
{
    switch (ev->kind) {
    case PM_WSR_NONE:
        return;
    case PM_WSR_DATA:
        if (c->closing || c->local_close)
            return; /* we are closing: what it still says does not matter */
        if (ev->len && pm_buf_append(&ws->env, &c->rx, ev->data, ev->len) != PM_OK) {
            hang_up(ws, c);
            return;
        }
        if (ev->end)
            deliver(ws, c, ev->binary);
        return;
    case PM_WSR_PING:
        if (c->closing || send_frame(ws, c, OP_PONG, ev->data, ev->len))
            return;
        (void)queue_record(ws, c, REC_PONG, ev->data, ev->len);
        return;
    case PM_WSR_PONG:
        if (ws->h.on_pong)
            ws->h.on_pong(ws->h.ud, c->id);
        return;
    case PM_WSR_CLOSE:
        c->remote_code = ev->code;
        snprintf(c->remote_reason, sizeof c->remote_reason, "%s", ev->reason);
        if (c->closing)
            hang_up(ws, c); /* the answer to our close */
        else
            answer_close(ws, c, ev->code, ev->reason);
        return;
    case PM_WSR_ERROR:
        PM_DEBUG(&ws->env, "ws", "connection %llx: %s, closing with %d", (unsigned long long)c->id,
                 ev->reason, ev->code);
        if (c->closing) {
            hang_up(ws, c);
            return;
        }
        set_local_close(c, ev->code, ev->reason, strlen(ev->reason));
        answer_close(ws, c, ev->code, ev->reason);
        return;
    }
}

static void rx_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    ws_conn *c = w->data;
    pm_ws *ws = c->owner;
    uint64_t id = c->id;
    uint8_t buf[READ_CHUNK];
    for (int round = 0; round < READ_ROUNDS; round++) {
        ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            /* The peer is gone (or the socket failed): nothing more to read. */
            ev_io_stop(ws->loop, w);
            hang_up(ws, c);
            return;
        }
        size_t at = 0;
        while (at < (size_t)n) {
            pm_wsr_event ev;
            at += pm_wsr_read(&c->rd, buf + at, (size_t)n - at, &ev);
            take_frame_event(ws, c, &ev);
            if (conn_get(ws, id) != c)
                return;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}

static int on_receive(pm_ws *ws, ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (!c)
        return -1;
    if (c->closing || c->local_close)
        return 0; /* we are closing: what it still says does not matter */
    if (!c->rx_active) {
        c->rx_active = true;
        c->rx_binary = lws_frame_is_binary(wsi) != 0;
        c->rx.len = 0;
    }
    if (c->rx.len + len > ws->max_message) {
        static const char why[] = "Message too big";
        set_local_close(c, CODE_TOO_BIG, why, sizeof why - 1);
        lws_close_reason(wsi, CODE_TOO_BIG, (unsigned char *)(uintptr_t)why, sizeof why - 1);
        return -1;
    }
    if (len && pm_buf_append(&ws->env, &c->rx, in, len) != PM_OK)
        return -1;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        c->rx_active = false;
        deliver(ws, c, c->rx_binary);
    }
    return 0;
}

static int on_writeable(pm_ws *ws, ws_conn *c, struct lws *wsi)
{
    if (!c)
        return -1;
    /* lws calls this only once what it held is out. Corked frames go
     * first; if some of them went to lws, it holds bytes again and calls
     * back when they are out: nothing else may be written before. */
    c->lws_busy = false;
    uncork(ws, c);
    if (c->lws_busy)
        return 0;
    bool wrote = false;
    if (c->ping_pending) {
        wrote = true;
        /* A payload, because lws (4.1) does not report an empty pong. */
        uint8_t ping[LWS_PRE + 4] = {0};
        memcpy(ping + LWS_PRE, "pm", 2);
        c->ping_pending = false;
        if (lws_write(wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
    }
    /* lws may keep the unsent part of a write, and then takes no other
     * write before it is out: check before each one (messages usually go
     * the direct way of pm_ws_send and never come here). */
    for (int budget = WRITE_BUDGET; budget > 0 && !lws_send_pipe_choked(wsi); budget--) {
        uint32_t tag;
        const uint8_t *rec;
        size_t len;
        if (!pm_fifo_peek(&c->out, &tag, &rec, &len))
            break;
        /* The record keeps LWS_PRE bytes of headroom for the frame header
         * lws writes in front of the payload; the memory is ours. */
        uint8_t *payload = (uint8_t *)(uintptr_t)rec + LWS_PRE;
        size_t n = len - LWS_PRE;
        enum lws_write_protocol how = tag == REC_BINARY ? LWS_WRITE_BINARY
                                      : tag == REC_PONG ? LWS_WRITE_PONG
                                                        : LWS_WRITE_TEXT;
        int w = lws_write(wsi, payload, n, how);
        pm_fifo_pop(&c->out);
        c->queued -= n;
        wrote = true;
        if (w < (int)n)
            return -1;
    }
    /* lws calls us only once what it held is out: until then, no frame may
     * bypass it (see pm_ws_send). */
    c->lws_busy = wrote;
    if (c->out.count || wrote) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing) {
        /* A close without a code is answered with 1000 on this path. */
        int code = c->close_code ? c->close_code : 1000;
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)c->close_reason,
                         strlen(c->close_reason));
        return -1;
    }
    return 0;
}

/* A close frame parsed by lws (wss and client connections). lws echoes its
 * payload: a code no one may send is answered with 1002 instead (RFC 6455
 * section 7.4; lws 4.1 lets codes of 3000 and up through unchecked). */
static void on_peer_close(ws_conn *c, uint8_t *in, size_t len)
{
    if (!c || len < 2)
        return;
    c->remote_code = (in[0] << 8) | in[1];
    if (!pm_ws_close_code_valid(c->remote_code))
        pm_wr16(in, PM_WS_CLOSE_PROTOCOL);
    size_t n = PM_MIN(len - 2, (size_t)CLOSE_REASON_MAX);
    memcpy(c->remote_reason, in + 2, n);
    c->remote_reason[n] = 0;
}

static int on_http(pm_ws *ws, struct lws *wsi, const char *path)
{
    http_req *r = lws_get_opaque_user_data(wsi);
    if (r && r->magic != HTTP_MAGIC)
        return -1;
    if (!r) {
        r = pm_calloc(&ws->env, sizeof *r);
        if (!r)
            return -1;
        r->magic = HTTP_MAGIC;
        lws_set_opaque_user_data(wsi, r);
    }
    hs_finish(ws, r); /* a whole request came: not a slow one */
    r->body.len = 0;
    r->sent = 0;
    const char *ctype = "text/plain; charset=utf-8";
    int status = 404;
    if (ws->h.on_http)
        status = ws->h.on_http(ws->h.ud, path ? path : "/", &r->body, &ctype);
    if (status == 404 && r->body.len == 0)
        (void)pm_buf_append(&ws->env, &r->body, "not found\n", 10);
    uint8_t hdr[LWS_PRE + 512];
    uint8_t *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, r->body.len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_http_writeable(pm_ws *ws, struct lws *wsi)
{
    http_req *r = lws_get_opaque_user_data(wsi);
    if (!r || r->magic != HTTP_MAGIC)
        return -1;
    uint8_t chunk[LWS_PRE + 4096];
    size_t n = PM_MIN(r->body.len - r->sent, sizeof chunk - LWS_PRE);
    bool last = r->sent + n == r->body.len;
    if (n)
        memcpy(chunk + LWS_PRE, r->body.data + r->sent, n);
    if (lws_write(wsi, chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    r->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void free_http(pm_ws *ws, struct lws *wsi)
{
    http_req *r = lws_get_opaque_user_data(wsi);
    if (r && r->magic == HTTP_MAGIC) {
        hs_finish(ws, r);
        lws_set_opaque_user_data(wsi, NULL);
        pm_buf_free(&ws->env, &r->body);
        pm_free(&ws->env, r);
    }
}

/* CLIENT_CONNECTION_ERROR: lws's words, the HTTP status, the socket's error if it has one. */
static void note_failure(ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (!c)
        return;
    snprintf(c->lws_text, sizeof c->lws_text, "%.*s", (int)PM_MIN(len, sizeof c->lws_text - 1),
             in ? (const char *)in : "");
    c->http_status = lws_http_client_http_response(wsi);
    int fd = lws_get_socket_fd(wsi), err = 0;
    socklen_t sl = sizeof err;
    if (!c->sys_errno && fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0)
        c->sys_errno = err;
}

static uint64_t fd_address_key(int fd)
{
    pm_addr a;
    bool ok;
    peer_address(fd, &a, &ok);
    return ok ? pm_addr_key(&a) : 0;
}

/* At accept, before lws spends anything on it: a new connection from an
 * address with hs_per_addr handshakes still unfinished is refused. */
static bool accept_from(pm_ws *ws, int fd)
{
    uint64_t key = fd_address_key(fd);
    uintptr_t n = 0;
    if (!key || !pm_map_get(&ws->hs_by_addr, key, &n) || n < ws->hs_per_addr)
        return true;
    PM_DEBUG(&ws->env, "ws", "refused a connection: %u handshakes unfinished from its address",
             (unsigned)n);
    return false;
}

static int on_accepted(pm_ws *ws, struct lws *wsi)
{
    if (lws_get_opaque_user_data(wsi))
        return 0;
    http_req *r = pm_calloc(&ws->env, sizeof *r);
    if (!r)
        return 0; /* not tracked; on_http makes its state later */
    r->magic = HTTP_MAGIC;
    lws_set_opaque_user_data(wsi, r);
    hs_start(ws, r, wsi, fd_address_key(lws_get_socket_fd(wsi)));
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    pm_ws *ws = ctx ? lws_context_user(ctx) : NULL;
    if (!ws)
        return 0;
    ws_conn *c = NULL;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return ws->stopped || !accept_from(ws, (int)(intptr_t)in) ? -1 : 0;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        return on_accepted(ws, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        free_http(ws, wsi);
        return on_established(ws, wsi);
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c = conn_of(wsi);
        if (!c)
            return -1;
        c->opened = true;
        no_delay(wsi);
        if (ws->h.on_open)
            ws->h.on_open(ws->h.ud, c->id, NULL, NULL);
        if (conn_of(wsi) == c && c->out.count)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(ws, conn_of(wsi), wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        c = conn_of(wsi);
        if (c && ws->h.on_pong)
            ws->h.on_pong(ws->h.ud, c->id);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(ws, conn_of(wsi), wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(conn_of(wsi), in, len);
        return 0;
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        c = conn_of(wsi);
        if (c && len == 0) /* preverify_ok: OpenSSL did not trust the chain */
            c->cert_rejected = true;
        return 0;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
            note_failure(conn_of(wsi), wsi, in, len);
        c = conn_of(wsi);
        if (c) {
            /* This may run inside lws_client_connect_via_info, before c->wsi
             * is set: unhook the wsi here, where it is known to be alive, so
             * no later callback finds the freed connection through it. */
            lws_set_opaque_user_data(wsi, NULL);
            finalize(ws, c);
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        c = conn_of(wsi);
        if (c) {
            lws_set_opaque_user_data(wsi, NULL);
            finalize(ws, c);
        } else {
            free_http(ws, wsi);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return on_http(ws, wsi, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_http_writeable(ws, wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
        free_http(ws, wsi);
        return 0;
    default:
        return 0;
    }
}

/* ---- API ---- */

static void probe_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* scheduled ten years ahead: never runs */
}

static void wake_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* only here to end ev_run's wait */
}

static bool is_ipv4_literal(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

static void lws_log_emit(int level, const char *line)
{
    fprintf(stderr, "peermesh lws[%d] %s", level, line);
}

int pm_ws_new(const pm_ws_config *cfg, const pm_ws_handler *h, pm_ws **out)
{
    if (!cfg || !h || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    if (!cfg->cert_file != !cfg->key_file)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    /* Said plainly here, rather than by a failing TLS set-up in lws (whose
     * error path also leaks). */
    const char *files[] = {cfg->listen ? cfg->cert_file : NULL, cfg->listen ? cfg->key_file : NULL,
                           cfg->ca_file};
    for (size_t i = 0; i < 3; i++) {
        if (files[i] && access(files[i], R_OK) != 0) {
            PM_ERROR(&env, "ws", "cannot read %s", files[i]);
            return PM_ERR_CRYPTO;
        }
    }
    pm_ws *ws = pm_calloc(&env, sizeof *ws);
    if (!ws)
        return PM_ERR_NOMEM;
    ws->env = env;
    ws->h = *h;
    ws->max_message = cfg->max_message ? cfg->max_message : DEFAULT_MAX_MESSAGE;
    ws->max_queued = cfg->max_queued ? cfg->max_queued : DEFAULT_MAX_QUEUED;
    ws->close_timeout = cfg->close_timeout > 0 ? cfg->close_timeout : DEFAULT_CLOSE_TIME;
    ws->hs_per_addr =
        cfg->max_handshakes_per_address ? cfg->max_handshakes_per_address : DEFAULT_HS_PER_ADDR;
    ws->hs_timeout = cfg->handshake_timeout > 0 ? cfg->handshake_timeout : DEFAULT_HS_TIME;
    ws->allow_self_signed = cfg->allow_self_signed;
    ws->client_tls = cfg->client_tls;
    ws->direct = cfg->listen && !cfg->cert_file;
    ws->mask = pm_random_u64(&env) | 1;
    /* lws logs through one process-wide sink: errors only when we debug. */
    lws_set_log_level(PM_LOG_ON(&env, PM_LOG_DEBUG) ? (LLL_ERR | LLL_WARN) : 0, lws_log_emit);

    ws->protocols[0].name = WS_PROTOCOL_NAME;
    ws->protocols[0].callback = ws_callback;
    ws->protocols[0].rx_buffer_size = 0; /* lws default chunking; we reassemble */

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->listen ? cfg->port : CONTEXT_PORT_NO_LISTEN;
    info.iface = cfg->listen ? cfg->bind_address : NULL;
    info.protocols = ws->protocols;
    info.user = ws;
    /* TLS only when asked for: loading the trust store costs ~0.1 s. */
    if ((cfg->listen && cfg->cert_file) || cfg->client_tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* A server verifies no client certificates: no need for the OS trust store. */
    if (!cfg->client_tls)
        info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    if (cfg->listen && is_ipv4_literal(cfg->bind_address))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->listen && cfg->cert_file) {
        info.ssl_cert_filepath = cfg->cert_file;
        info.ssl_private_key_filepath = cfg->key_file;
    }
    info.client_ssl_ca_filepath = cfg->ca_file;
    /* No lws idle pings: the signaling core pings on its own schedule. This
     * also keeps lws from re-arming a per-connection timer on every message
     * received, an insertion into one sorted list of all connections' timers
     * (the top cost at thousands of connections). */
    static const lws_retry_bo_t no_idle_policy = {.secs_since_valid_ping = 0,
                                                  .secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_idle_policy;
    info.timeout_secs = 10;
    /* Handshakes in flight at once (one header buffer each): many clients
     * connecting together would otherwise queue behind the default few. */
    info.max_http_header_pool = HS_POOL;
    /* A connection that does not finish its HTTP upgrade gives its header
     * slot back after 5 s (lws default 10 s), so idle sockets cannot hold
     * all 256 slots for long. */
    info.timeout_secs_ah_idle = 5;
    info.pt_serv_buf_size = 32768;
    ws->watch = cfg->watch;
    ws->waitset = cfg->waitset;
    ws->arrivals = -1;
    if (cfg->watch && ((ws->arrivals = pm_io_waitset_new()) < 0 ||
                       pm_io_waitset_watch(ws->waitset, ws->arrivals, false) != PM_OK)) {
        pm_io_waitset_close(ws->arrivals);
        pm_free(&env, ws);
        return PM_ERR_IO;
    }
    /* Watched: lws's own poll(2) loop, which reports every socket change at
     * once (libev applies them on its next round, too late for a user who
     * sleeps on the wait set in between). */
    ws->loop = cfg->watch ? NULL : ev_loop_new(EVBACKEND_EPOLL);
    if (ws->loop) {
        void *loops[1] = {ws->loop};
        struct lws_context_creation_info ev_info = info;
        ev_info.options |= LWS_SERVER_OPTION_LIBEV;
        ev_info.foreign_loops = loops;
        ws->ctx = lws_create_context(&ev_info);
        if (!ws->ctx) {
            PM_DEBUG(&env, "ws", "no libev support in libwebsockets: using its poll loop");
            ev_loop_destroy(ws->loop);
            ws->loop = NULL;
        }
    }
    if (!ws->ctx)
        ws->ctx = lws_create_context(&info);
    if (!ws->ctx) {
        PM_ERROR(&env, "ws", "cannot create the WebSocket context%s",
                 !cfg->listen     ? ""
                 : cfg->cert_file ? " (port in use, or unusable certificate or key?)"
                                  : " (port in use or not permitted?)");
        pm_io_waitset_forget(ws->waitset, ws->arrivals);
        pm_io_waitset_close(ws->arrivals);
        pm_free(&env, ws);
        return cfg->cert_file ? PM_ERR_CRYPTO : PM_ERR_IO;
    }
    if (ws->loop) {
        ev_init(&ws->timer, wake_timer_cb);
        ev_init(&ws->housekeeping, housekeeping_cb);
        ws->housekeeping.data = ws;
    }
    if (ws->watch)
        lws_sul_schedule(ws->ctx, 0, &ws->probe, probe_cb, (lws_usec_t)PM_SEC(86400) * 3650);
    ws->vhost = lws_get_vhost_by_name(ws->ctx, "default");
    if (cfg->listen) {
        int port = ws->vhost ? lws_get_vhost_listen_port(ws->vhost) : -1;
        if (port <= 0) {
            PM_ERROR(&env, "ws", "not listening on %s port %u",
                     cfg->bind_address ? cfg->bind_address : "*", (unsigned)cfg->port);
            lws_context_destroy(ws->ctx);
            if (ws->loop)
                ev_loop_destroy(ws->loop);
            pm_free(&env, ws);
            return PM_ERR_IO;
        }
        ws->port = (uint16_t)port;
    }
    *out = ws;
    return PM_OK;
}

void pm_ws_free(pm_ws *ws)
{
    if (!ws)
        return;
    ws->freeing = true;
    if (ws->watch)
        lws_sul_cancel(&ws->probe);
    lws_context_destroy(ws->ctx);
    /* Anything lws did not report as closed. */
    for (size_t i = 0; i < ws->nslots; i++)
        if (ws->slots[i])
            conn_free(ws, ws->slots[i]);
    pm_envr env = ws->env;
    if (ws->loop) {
        ev_timer_stop(ws->loop, &ws->housekeeping);
        ev_loop_destroy(ws->loop);
    }
    pm_map_free(&env, &ws->hs_by_addr);
    pm_io_waitset_forget(ws->waitset, ws->arrivals);
    pm_io_waitset_close(ws->arrivals);
    pm_buf_free(&env, &ws->cork);
    pm_free(&env, ws->recs);
    pm_free(&env, ws->corked);
    pm_free(&env, ws->slots);
    pm_free(&env, ws->gens);
    pm_free(&env, ws->free_slots);
    pm_free(&env, ws);
}

uint16_t pm_ws_port(const pm_ws *ws)
{
    return ws ? ws->port : 0;
}

int pm_ws_connect(pm_ws *ws, const char *url, uint64_t *id)
{
    if (!ws || !url || !id)
        return PM_ERR_INVALID;
    char buf[1024], path[1024];
    if (strlen(url) >= sizeof buf)
        return PM_ERR_INVALID;
    strcpy(buf, url);
    const char *prot, *ads, *p;
    int port;
    if (lws_parse_uri(buf, &prot, &ads, &port, &p) || !*ads)
        return PM_ERR_INVALID;
    bool tls = strcmp(prot, "wss") == 0;
    if ((!tls && strcmp(prot, "ws") != 0) || (tls && !ws->client_tls))
        return PM_ERR_INVALID;
    snprintf(path, sizeof path, "/%s", p);
    ws_conn *c = conn_new(ws, NULL, true);
    if (!c)
        return PM_ERR_NOMEM;
    snprintf(c->target, sizeof c->target, strchr(ads, ':') ? "[%s]:%d" : "%s:%d", ads, port);
    c->tls = tls;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ws->ctx;
    ci.vhost = ws->vhost;
    ci.address = ads;
    ci.port = port;
    ci.path = path;
    ci.host = ads;
    ci.origin = ads;
    ci.local_protocol_name = WS_PROTOCOL_NAME;
    ci.opaque_user_data = c;
    static const lws_retry_bo_t no_idle_policy = {.secs_since_valid_ping = 0,
                                                  .secs_since_valid_hangup = 0};
    ci.retry_and_idle_policy = &no_idle_policy;
    if (tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (ws->allow_self_signed)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    }
    ws->connecting = c;
    errno = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    int sys_errno = errno;
    ws->connecting = NULL;
    if (!wsi || c->finalized) {
        /* Failed synchronously; the error callback already unhooked the wsi
         * (which lws may have destroyed: it is not touched here). */
        if (!c->sys_errno)
            c->sys_errno = sys_errno;
        char why[256];
        int err = describe(c, why, sizeof why);
        PM_WARN(&ws->env, "ws", "%s", why);
        conn_free(ws, c);
        return err;
    }
    c->wsi = wsi;
    *id = c->id;
    if (ws->watch)
        watch_conn(ws, c);
    return PM_OK;
}

/* RFC 6455 section 5.2: FIN and opcode, then the payload length in 7, 7+16
 * or 7+64 bits, then a client's 4-byte masking key. */
static size_t frame_header(uint8_t *h, int opcode, size_t len, const uint8_t *mask)
{
    size_t n;
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[1] = (uint8_t)len;
        n = 2;
    } else if (len <= 0xffff) {
        h[1] = 126;
        pm_wr16(h + 2, (uint16_t)len);
        n = 4;
    } else {
        h[1] = 127;
        pm_wr64(h + 2, (uint64_t)len);
        n = 10;
    }
    if (mask) {
        h[1] |= 0x80;
        memcpy(h + n, mask, 4);
        n += 4;
    }
    return n;
}

/* RFC 6455 section 5.3: a fresh key per frame, from a generator seeded by
 * the environment's random source (the key only has to be unpredictable to
 * script running in a browser, which these frames never meet). */
static void next_mask(pm_ws *ws, uint8_t out[4])
{
    uint64_t x = ws->mask;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ws->mask = x;
    pm_wr32(out, (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32));
}

/*
 * The fast path of a plain-ws server: when nothing is queued for the
 * connection and lws holds nothing of ours, the frame goes straight to the
 * socket. That saves lws's writable round trip (two epoll changes and a
 * wake-up per message), the bulk of a relay's cost. Whatever the kernel does
 * not take is handed to lws as raw bytes, to go first. Inside a service
 * round a server connection's frames are held (corked) and go out together
 * at its end. Returns false when the frame must take the queue.
 */
#define DIRECT_MASKED_MAX 4096 /* client frames are masked in a stack copy */

/* Half of what was to be written is on the wire. The unsent tail (the rest
 * of iov past `done` bytes, then the frames still corked from `more` on)
 * goes to lws as raw bytes: lws keeps what the socket does not take in its
 * own output buffer and drains that before anything else it writes, its
 * automatic pongs and our pings included. Queued on our side instead, a
 * control frame could land in the middle of a frame and corrupt the stream. */
static void hand_rest_to_lws(pm_ws *ws, ws_conn *c, const struct iovec *iov, int iovcnt,
                             size_t done, uint32_t more)
{
    size_t rest = 0, skip = done;
    for (int i = 0; i < iovcnt; i++)
        rest += iov[i].iov_len;
    rest -= done;
    for (uint32_t r = more; r != CORK_NONE; r = ws->recs[r].next)
        rest += ws->recs[r].len;
    uint8_t *tail = pm_alloc(&ws->env, LWS_PRE + rest);
    int w = -1;
    if (tail) {
        uint8_t *p = tail + LWS_PRE;
        for (int i = 0; i < iovcnt; i++) {
            size_t k = iov[i].iov_len;
            if (skip >= k) {
                skip -= k;
                continue;
            }
            memcpy(p, (const uint8_t *)iov[i].iov_base + skip, k - skip);
            p += k - skip;
            skip = 0;
        }
        for (uint32_t r = more; r != CORK_NONE; r = ws->recs[r].next) {
            memcpy(p, ws->cork.data + ws->recs[r].off, ws->recs[r].len);
            p += ws->recs[r].len;
        }
        w = lws_write(c->wsi, tail + LWS_PRE, rest, LWS_WRITE_RAW);
        pm_free(&ws->env, tail);
    }
    if (w < 0) {
        /* The rest cannot be kept: the stream is lost. */
        hang_up(ws, c);
        return;
    }
    /* Later frames must not overtake what lws holds: they take the queue
     * until the writeable callback (which lws runs only once its buffer is
     * out) clears this. */
    c->lws_busy = true;
    ws->dirty = true;
    lws_callback_on_writable(c->wsi);
}

/* Write iov to the socket; what it does not take goes to lws. False: the
 * socket failed, nothing was taken. */
static bool write_iov(pm_ws *ws, ws_conn *c, const struct iovec *iov, int iovcnt, size_t total)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)total)
        return true;
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false; /* the socket is failing: lws will find out */
        n = 0;
    }
    hand_rest_to_lws(ws, c, iov, iovcnt, (size_t)n, CORK_NONE);
    return true;
}

/* The connection's corked frames go out now, in as few sendmsg as can be. */
static void flush_conn(pm_ws *ws, ws_conn *c)
{
    uint32_t r = c->cork_first;
    c->cork_first = c->cork_last = CORK_NONE;
    while (r != CORK_NONE && c->wsi) {
        if (c->lws_busy) { /* not expected (frames are corked only while lws holds nothing) */
            hand_rest_to_lws(ws, c, NULL, 0, 0, r);
            return;
        }
        struct iovec iov[CORK_IOV_MAX];
        int k = 0;
        size_t total = 0;
        for (; r != CORK_NONE && k < CORK_IOV_MAX; r = ws->recs[r].next, k++) {
            iov[k].iov_base = ws->cork.data + ws->recs[r].off;
            iov[k].iov_len = ws->recs[r].len;
            total += ws->recs[r].len;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)total)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            hang_up(ws, c); /* the socket is failing: what it did not take is lost */
            return;
        }
        hand_rest_to_lws(ws, c, iov, k, n < 0 ? 0 : (size_t)n, r);
        return;
    }
}

/* The end of a round (or too much held): every corked frame goes out. */
static void flush_corked(pm_ws *ws)
{
    /* A frame sent meanwhile (from inside lws, say) goes straight out: the
     * held ones are in flight and their memory must not move. */
    bool corking = ws->corking;
    ws->corking = false;
    for (size_t i = 0; i < ws->ncorked; i++) {
        ws_conn *c = conn_get(ws, ws->corked[i]);
        if (c && c->cork_first != CORK_NONE)
            flush_conn(ws, c);
    }
    ws->ncorked = 0;
    ws->nrecs = 0;
    ws->cork.len = 0;
    ws->corking = corking;
}

/* Hold a frame for the end of the round. False: no memory to hold it. */
static bool cork_frame(pm_ws *ws, ws_conn *c, const uint8_t *h, size_t hl, const void *data,
                       size_t len)
{
    if (ws->nrecs == ws->recs_cap || ws->ncorked == ws->corked_cap) {
        size_t n = ws->recs_cap ? ws->recs_cap * 2 : 256;
        cork_rec *recs = pm_realloc(&ws->env, ws->recs, n * sizeof *recs);
        if (!recs)
            return false;
        ws->recs = recs;
        ws->recs_cap = n;
        uint64_t *ids = pm_realloc(&ws->env, ws->corked, n * sizeof *ids);
        if (!ids)
            return false;
        ws->corked = ids;
        ws->corked_cap = n;
    }
    size_t off = ws->cork.len;
    if (pm_buf_reserve(&ws->env, &ws->cork, off + hl + len) != PM_OK)
        return false;
    memcpy(ws->cork.data + off, h, hl);
    if (len)
        memcpy(ws->cork.data + off + hl, data, len);
    ws->cork.len = off + hl + len;
    uint32_t r = (uint32_t)ws->nrecs++;
    ws->recs[r] = (cork_rec){.off = off, .len = hl + len, .next = CORK_NONE};
    if (c->cork_first == CORK_NONE) {
        c->cork_first = r;
        ws->corked[ws->ncorked++] = c->id;
    } else {
        ws->recs[c->cork_last].next = r;
    }
    c->cork_last = r;
    if (ws->cork.len > CORK_BYTES_MAX || ws->nrecs >= CORK_FRAMES_MAX)
        flush_corked(ws);
    return true;
}

/* Frames corked for c go before anything else is written for it. */
static void uncork(pm_ws *ws, ws_conn *c)
{
    if (c->cork_first != CORK_NONE)
        flush_conn(ws, c);
}

static bool send_frame(pm_ws *ws, ws_conn *c, int opcode, const void *data, size_t len)
{
    bool ok = c->client ? !c->tls && len <= DIRECT_MASKED_MAX : ws->direct;
    if (!ok || !c->opened || !c->wsi || c->out.count || c->lws_busy || c->ping_pending)
        return false;
    /* The socket, learnt once (lws's lookup was in the relay profile). */
    if (c->fd < 0)
        c->fd = lws_get_socket_fd(c->wsi);
    if (c->fd < 0)
        return false;
    uint8_t h[14], mask[4], masked[DIRECT_MASKED_MAX];
    if (c->client) {
        next_mask(ws, mask);
        const uint8_t *p = data;
        for (size_t i = 0; i < len; i++)
            masked[i] = p[i] ^ mask[i & 3];
        data = masked;
    }
    size_t hl = frame_header(h, opcode, len, c->client ? mask : NULL);
    if (ws->corking && !c->client && cork_frame(ws, c, h, hl, data, len))
        return true;
    uncork(ws, c);
    if (c->lws_busy || !c->wsi)
        return false; /* the corked frames did not all go: this one waits behind them */
    struct iovec iov[2] = {{h, hl}, {(void *)(uintptr_t)data, len}};
    return write_iov(ws, c, iov, 2, hl + len);
}

static ws_conn *live(const pm_ws *ws, uint64_t id)
{
    ws_conn *c = ws ? conn_get(ws, id) : NULL;
    return c && !c->finalized && !c->closing ? c : NULL;
}

int pm_ws_send(pm_ws *ws, uint64_t id, const void *data, size_t len, bool binary)
{
    ws_conn *c = live(ws, id);
    if (!c)
        return PM_ERR_NOT_FOUND;
    if (c->queued + len > ws->max_queued) {
        /* A peer that does not read its messages: let it go rather than
         * hold an ever longer queue. */
        static const char why[] = "Send queue full";
        set_local_close(c, CODE_POLICY, why, sizeof why - 1);
        PM_WARN(&ws->env, "ws", "connection %llx: send queue full, dropping it",
                (unsigned long long)id);
        hang_up(ws, c);
        return PM_ERR_FULL;
    }
    if (send_frame(ws, c, binary ? OP_BINARY : OP_TEXT, data, len))
        return PM_OK;
    return queue_record(ws, c, binary ? REC_BINARY : REC_TEXT, data, len);
}

/* Queue a frame for lws to write from the writeable callback. */
static int queue_record(pm_ws *ws, ws_conn *c, uint32_t tag, const void *data, size_t len)
{
    static const uint8_t headroom[LWS_PRE];
    uncork(ws, c);
    int rc = pm_fifo_push(&ws->env, &c->out, tag, headroom, LWS_PRE, data, len);
    if (rc)
        return rc;
    c->queued += len;
    ws->dirty = true;
    if (c->wsi && c->opened)
        lws_callback_on_writable(c->wsi);
    return PM_OK;
}

int pm_ws_ping(pm_ws *ws, uint64_t id)
{
    ws_conn *c = live(ws, id);
    if (!c)
        return PM_ERR_NOT_FOUND;
    /* Connections we read ourselves see the pong whoever wrote the ping:
     * it can take the direct way (corked with the round's frames) rather
     * than a writable round trip through lws. The payload is the one
     * on_writeable sends. */
    if (c->own_rx && send_frame(ws, c, OP_PING, "pm", 2))
        return PM_OK;
    uncork(ws, c);
    c->ping_pending = true;
    ws->dirty = true;
    if (c->wsi && c->opened)
        lws_callback_on_writable(c->wsi);
    return PM_OK;
}

int pm_ws_close(pm_ws *ws, uint64_t id, int code, const char *reason, size_t reason_len)
{
    ws_conn *c = live(ws, id);
    if (!c)
        return PM_ERR_NOT_FOUND;
    set_local_close(c, code, reason ? reason : "", reason ? reason_len : 0);
    uncork(ws, c);
    c->closing = true;
    ws->dirty = true;
    arm_close_deadline(ws, c);
    if (!c->wsi)
        return PM_OK;
    if (c->opened)
        lws_callback_on_writable(c->wsi);
    else /* nothing to say before the handshake is done */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return PM_OK;
}

int pm_ws_drop(pm_ws *ws, uint64_t id)
{
    ws_conn *c = ws ? conn_get(ws, id) : NULL;
    if (!c || c->finalized)
        return PM_ERR_NOT_FOUND;
    hang_up(ws, c);
    return PM_OK;
}

static void wake_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only here to end lws_service's wait */
}

/* Without libev: lws's own poll(2) loop, woken by a timer when asked to wait. */
static int service_lws(pm_ws *ws, int timeout_ms)
{
    int n;
    if (timeout_ms == 0) {
        n = lws_service(ws->ctx, -1);
    } else {
        if (timeout_ms > 0)
            lws_sul_schedule(ws->ctx, 0, &ws->sul, wake_cb, (lws_usec_t)timeout_ms * 1000);
        n = lws_service(ws->ctx, 0);
        if (timeout_ms > 0)
            lws_sul_cancel(&ws->sul);
    }
    return n < 0 ? PM_ERR_IO : PM_OK;
}

int pm_ws_service(pm_ws *ws, int timeout_ms)
{
    if (!ws)
        return PM_ERR_INVALID;
    if (ws->watch && timeout_ms == 0) {
        run_deadlines(ws); /* our close deadlines: pm_ws_next_deadline includes them */
        service_watched(ws);
        return PM_OK;
    }
    if (!ws->loop) {
        /* No timer of ours: check deadlines at least every 100 ms. */
        run_deadlines(ws);
        if (ws->closing_head && (timeout_ms < 0 || timeout_ms > 100))
            timeout_ms = 100;
        return service_lws(ws, timeout_ms);
    }
    /* One round: wait for lws's sockets, its timers, or ours. The frames
     * written meanwhile to plain-ws server connections go at its end. */
    if (timeout_ms > 0) {
        ev_timer_set(&ws->timer, (double)timeout_ms / 1000.0, 0.0);
        ev_timer_start(ws->loop, &ws->timer);
    }
    ws->corking = ws->direct;
    ev_run(ws->loop, timeout_ms == 0 ? EVRUN_NOWAIT : EVRUN_ONCE);
    ws->corking = false;
    flush_corked(ws);
    if (timeout_ms > 0)
        ev_timer_stop(ws->loop, &ws->timer);
    return PM_OK;
}

pm_time pm_ws_next_deadline(const pm_ws *ws)
{
    if (!ws || !ws->watch)
        return PM_TIME_NEVER;
    pm_time now = pm_env_now(&ws->env);
    /* A request of ours, or input lws already holds (decrypted TLS records, buffered rx). */
    if (ws->dirty || lws_service_adjust_timeout(ws->ctx, 1, 0) == 0)
        return now;
    pm_time ours = ws->closing_head ? ws->closing_head->close_deadline : PM_TIME_NEVER;
    if (ws->hs_head && hs_deadline(ws, ws->hs_head) < ours)
        ours = hs_deadline(ws, ws->hs_head);
    lws_usec_t timer = next_lws_timer(ws), lws_now = lws_now_usecs();
    if (!timer)
        return ours;
    pm_time theirs = timer <= lws_now ? now : now + (pm_time)(timer - lws_now);
    return theirs < ours ? theirs : ours;
}

void pm_ws_wake(pm_ws *ws)
{
    if (ws && ws->ctx)
        lws_cancel_service(ws->ctx);
}

void pm_ws_stop_listening(pm_ws *ws)
{
    if (ws)
        ws->stopped = true;
}

int pm_ws_fd(const pm_ws *ws, uint64_t id)
{
    ws_conn *c = ws ? conn_get(ws, id) : NULL;
    return c && c->wsi ? lws_get_socket_fd(c->wsi) : -1;
}

size_t pm_ws_count(const pm_ws *ws)
{
    return ws ? ws->count : 0;
}

int pm_ws_failure_describe(const pm_ws_failure *f, char *why, size_t cap)
{
    const char *at = f->target && *f->target ? f->target : "the server";
    const char *lws = f->lws_text && *f->lws_text ? f->lws_text : "no detail";
    switch (f->sys_errno) {
    case ECONNREFUSED:
        snprintf(why, cap,
                 "connection refused by %s: nothing listens there (server down, wrong port?)", at);
        return PM_ERR_REFUSED;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
        snprintf(why, cap, "%s is unreachable: %s", at, strerror(f->sys_errno));
        return PM_ERR_UNREACHABLE;
    case ETIMEDOUT:
        snprintf(why, cap, "no answer from %s: %s", at, strerror(f->sys_errno));
        return PM_ERR_TIMEOUT;
    default:
        break;
    }
    if (f->http_status && f->http_status != 101) {
        bool auth = f->http_status == 401 || f->http_status == 403;
        snprintf(why, cap, "%s answered HTTP %u instead of upgrading to a WebSocket (%s)", at,
                 f->http_status,
                 auth ? "authorization needed" : "wrong path, or not a signaling server?");
        return auth ? PM_ERR_AUTH : PM_ERR_PROTOCOL;
    }
    if (f->cert_rejected) {
        snprintf(why, cap,
                 "the TLS certificate of %s is not trusted (self-signed or unknown CA: give its "
                 "CA file, or allow self-signed certificates for testing)",
                 at);
        return PM_ERR_AUTH;
    }
    if (f->tls) {
        snprintf(why, cap,
                 "TLS handshake with %s failed (does it serve wss://, or only plain ws://?)", at);
        return PM_ERR_CRYPTO;
    }
    if (f->sys_errno == ECONNRESET) {
        snprintf(why, cap,
                 "%s reset the connection during the WebSocket handshake (a wss:// server?)", at);
        return PM_ERR_PROTOCOL;
    }
    if (f->sys_errno) {
        snprintf(why, cap, "cannot connect to %s: %s", at, strerror(f->sys_errno));
        return PM_ERR_IO;
    }
    snprintf(why, cap, "cannot connect to %s (%s)", at, lws);
    return PM_ERR_IO;
}

void *pm_ws_ev_loop(pm_ws *ws)
{
    return ws ? ws->loop : NULL;
}
