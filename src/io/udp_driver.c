/*
 * The default socket driver (base/driver.h): a core's UDP socket, its
 * batched receive (recvmmsg + GRO) and send (sendmmsg + GSO), the clock
 * (read through the core's environment) and a backlog for datagrams the
 * kernel refused.
 *
 * The driver sees the core only through its sans-I/O entry points: each
 * received datagram is fed with handle_datagram, the timers run with
 * handle_timeout, and output is taken with poll_transmit until there is
 * none. Output is left in the core's queue while the socket takes it and
 * copied here only when the kernel pushes back.
 *
 * Besides the UDP socket, a core may ask for TCP connections (TURN over
 * TCP or TLS: PM_TRANSMIT_STREAM_*) and mDNS questions (PM_TRANSMIT_MDNS);
 * those sockets live in a pm_io_conns set (conns.h), and the one descriptor
 * the user waits on is that set's epoll descriptor over all of them.
 * Connections never refuse bytes (they queue them), so only datagrams can
 * be backlogged.
 */
#define _GNU_SOURCE
#include "base/driver.h"
#include "conns.h"
#include "io.h"

enum {
    SOCKETS_MAX = 1, /* the UDP socket; see the header comment */
    TX_BATCH = 64,   /* datagrams per sendmmsg */
    RX_MAX = 512,    /* datagrams per recvmmsg (after GRO splitting) */
    RX_ROUNDS = 4,   /* receive batches per poll: one busy core cannot starve others */
};
/* No POLLOUT to wait on for a full UDP buffer: retry this soon. */
#define RETRY_AFTER PM_MS(1)

typedef struct io_socket {
    int fd;
    pm_addr bound;
} io_socket;

struct pm_sockets {
    pm_envr env;
    pm_endpoint ep;
    io_socket socks[SOCKETS_MAX];
    size_t sock_count;
    pm_fifo backlog;    /* record: [pm_transmit header][datagram], sent before new output */
    pm_time blocked_at; /* the kernel refused a send then (meaningful while backlogged) */
    pm_io_conns *conns; /* TURN connections, mDNS sockets, the epoll set */
};

static size_t pick_socket(const pm_sockets *s, const pm_addr *from)
{
    (void)from; /* one socket carries every local address today */
    (void)s;
    return 0;
}

/* ---- output ---------------------------------------------------------- */

/* Send n datagrams that all leave from one socket; returns how many the kernel took. */
static int send_run(pm_sockets *s, size_t sock, const pm_transmit *t, int n)
{
    pm_io_tx tx[TX_BATCH];
    for (int i = 0; i < n; i++)
        tx[i] = (pm_io_tx){&t[i].to, t[i].data, t[i].len};
    int sent = pm_io_udp_send_batch(s->socks[sock].fd, tx, n);
    if (sent < 0) {
        /* A socket error, not a full buffer: drop. UDP is lossy; the
         * protocols above retransmit what matters. */
        PM_DEBUG(&s->env, "io", "send failed (%s): %d datagram(s) dropped", pm_strerror(sent), n);
        sent = n;
    }
    return sent;
}

/* A transmit for a TCP connection or the mDNS socket. Failures to connect
 * come back from pm_io_conns_poll(): the core must not be called from here
 * (the batch's data lives in its queue). */
static void send_other(pm_sockets *s, const pm_transmit *t)
{
    int rc = PM_OK;
    switch (t->kind) {
    case PM_TRANSMIT_MDNS:
        rc = pm_io_conns_mdns_send(s->conns, &t->to, t->data, t->len);
        break;
    case PM_TRANSMIT_STREAM_OPEN:
        rc = pm_io_conns_open(s->conns, t->stream, &t->to);
        break;
    case PM_TRANSMIT_STREAM_DATA:
        rc = pm_io_conns_write(s->conns, t->stream, t->data, t->len);
        break;
    case PM_TRANSMIT_STREAM_CLOSE:
        pm_io_conns_close(s->conns, t->stream);
        break;
    case PM_TRANSMIT_DATAGRAM:
        break;
    }
    if (rc != PM_OK)
        PM_DEBUG(&s->env, "io", "transmit of kind %d on %u failed: %s", (int)t->kind, t->stream,
                 pm_strerror(rc));
}

/* Send a batch in runs of one socket each; returns how many were sent. */
static int send_batch(pm_sockets *s, const pm_transmit *t, int n)
{
    int done = 0;
    while (done < n) {
        if (t[done].kind != PM_TRANSMIT_DATAGRAM) {
            send_other(s, &t[done++]);
            continue;
        }
        size_t sock = pick_socket(s, &t[done].from);
        int run = 1;
        while (done + run < n && t[done + run].kind == PM_TRANSMIT_DATAGRAM &&
               pick_socket(s, &t[done + run].from) == sock)
            run++;
        int sent = send_run(s, sock, t + done, run);
        done += sent;
        if (sent < run)
            break;
    }
    return done;
}

static void keep(pm_sockets *s, const pm_transmit *t)
{
    if (pm_fifo_push(&s->env, &s->backlog, 0, t, sizeof *t, t->data, t->len) != PM_OK)
        PM_WARN(&s->env, "io", "dropping a datagram the kernel refused: out of memory");
}

/* The kernel pushed back: keep what was not sent, and everything the core
 * still has (its deadline must not say "output waiting" while we wait). */
static void keep_rest(pm_sockets *s, const pm_transmit *t, int n)
{
    if (s->backlog.count == 0)
        s->blocked_at = pm_env_now(&s->env);
    for (int i = 0; i < n; i++)
        keep(s, &t[i]);
    pm_transmit more;
    while (s->ep.poll_transmit(s->ep.core, &more))
        keep(s, &more);
}

/* Retry the backlog; true when it is empty afterwards. */
static bool send_backlog(pm_sockets *s)
{
    while (s->backlog.count > 0) {
        pm_transmit t[TX_BATCH];
        pm_fifo_iter it;
        pm_fifo_iter_init(&s->backlog, &it);
        const uint8_t *d;
        size_t len;
        int n = 0;
        while (n < TX_BATCH && pm_fifo_iter_next(&s->backlog, &it, NULL, &d, &len)) {
            memcpy(&t[n], d, sizeof t[n]);
            t[n].data = d + sizeof t[n];
            n++;
        }
        int sent = send_batch(s, t, n);
        for (int i = 0; i < sent; i++)
            pm_fifo_pop(&s->backlog);
        if (sent < n) {
            s->blocked_at = pm_env_now(&s->env);
            return false;
        }
    }
    pm_fifo_free(&s->env, &s->backlog); /* rare: give the memory back */
    return true;
}

static void drv_flush(pm_sockets *s)
{
    if (s->backlog.count > 0 && !send_backlog(s)) {
        keep_rest(s, NULL, 0);
        return;
    }
    for (;;) {
        /* The core's output stays valid until it is next driven, so a whole
         * batch can go to the kernel in one sendmmsg (GSO runs included). */
        pm_transmit t[TX_BATCH];
        int n = 0;
        while (n < TX_BATCH && s->ep.poll_transmit(s->ep.core, &t[n]))
            n++;
        if (n == 0)
            break;
        int sent = send_batch(s, t, n);
        if (sent < n) {
            keep_rest(s, t + sent, n - sent);
            break;
        }
    }
    pm_io_conns_flush(s->conns); /* what went to the TCP connections leaves now */
}

/* ---- the loop -------------------------------------------------------- */

/* Input from the TCP connections and the mDNS sockets. Bounded, so a busy
 * connection cannot starve the UDP socket. */
static void poll_conns(pm_sockets *s, pm_time now)
{
    pm_io_conn_event ev;
    for (int i = 0; i < 64 && pm_io_conns_poll(s->conns, &ev); i++) {
        switch (ev.kind) {
        case PM_IO_CONN_DATA:
            if (s->ep.handle_stream)
                (void)s->ep.handle_stream(s->ep.core, now, ev.id, ev.data, ev.len);
            break;
        case PM_IO_CONN_CLOSED:
            if (s->ep.stream_closed)
                s->ep.stream_closed(s->ep.core, now, ev.id, ev.why);
            break;
        case PM_IO_CONN_MDNS:
            if (s->ep.handle_mdns)
                (void)s->ep.handle_mdns(s->ep.core, now, ev.data, ev.len);
            break;
        }
        drv_flush(s);
    }
}

static int drv_poll(pm_sockets *s)
{
    pm_time now = pm_env_now(&s->env);
    uint8_t *rxbuf = pm_io_rx_buffer();
    if (!rxbuf)
        return PM_ERR_NOMEM;
    pm_io_dgram d[RX_MAX];
    for (size_t k = 0; k < s->sock_count; k++) {
        const io_socket *sock = &s->socks[k];
        for (int round = 0; round < RX_ROUNDS; round++) {
            int n = pm_io_udp_recv_many(sock->fd, rxbuf, PM_IO_RX_BUF, d, RX_MAX);
            if (n <= 0)
                break;
            for (int i = 0; i < n; i++)
                s->ep.handle_datagram(s->ep.core, now, &sock->bound, &d[i].from, d[i].data,
                                      d[i].len);
            drv_flush(s);
        }
    }
    poll_conns(s, now);
    s->ep.handle_timeout(s->ep.core, now);
    drv_flush(s);
    return PM_OK;
}

static pm_time drv_next_timeout(const pm_sockets *s)
{
    pm_time t = s->ep.next_timeout(s->ep.core);
    if (s->backlog.count > 0)
        t = PM_MIN(t, s->blocked_at + RETRY_AFTER);
    return t;
}

static int drv_fd(const pm_sockets *s)
{
    return pm_io_conns_fd(s->conns);
}

static uint16_t drv_local_port(const pm_sockets *s)
{
    return s->socks[0].bound.port;
}

/* ---- lifecycle ------------------------------------------------------- */

static int drv_open(const pm_envr *env, const pm_socket_config *cfg, const pm_endpoint *ep,
                    pm_addr *hosts, size_t cap, size_t *host_count, pm_sockets **out)
{
    *out = NULL;
    *host_count = 0;
    pm_sockets *s = pm_calloc(env, sizeof *s);
    if (!s)
        return PM_ERR_NOMEM;
    s->env = *env;
    s->ep = *ep;
    pm_fifo_init(&s->backlog, 0);
    io_socket *udp = &s->socks[0];
    int rc = pm_io_udp_open(cfg->bind_address, cfg->port_min, cfg->port_max, cfg->enable_ipv6,
                            &udp->fd, &udp->bound);
    if (rc != PM_OK) {
        PM_ERROR(env, "io", "cannot open a UDP socket (%s)", pm_strerror(rc));
        pm_free(env, s);
        return rc == PM_ERR_INVALID ? rc : PM_ERR_IO;
    }
    s->sock_count = 1;
    rc = pm_io_conns_new(udp->fd, &s->conns);
    if (rc != PM_OK) {
        pm_io_udp_close(udp->fd);
        pm_free(env, s);
        return rc;
    }
    if (cfg->bind_address) {
        if (cap > 0 && pm_addr_parse(&hosts[0], cfg->bind_address, udp->bound.port) == PM_OK)
            *host_count = 1;
    } else {
        *host_count =
            pm_io_host_addrs(cfg->include_loopback, cfg->enable_ipv6 && udp->bound.family == 6,
                             udp->bound.port, hosts, cap);
    }
    *out = s;
    return PM_OK;
}

static void drv_close(pm_sockets *s)
{
    if (!s)
        return;
    pm_io_conns_free(s->conns);
    for (size_t k = 0; k < s->sock_count; k++)
        pm_io_udp_close(s->socks[k].fd);
    pm_fifo_free(&s->env, &s->backlog);
    pm_envr env = s->env;
    pm_free(&env, s);
}

const pm_socket_driver pm_io_udp_driver = {
    .open = drv_open,
    .close = drv_close,
    .poll = drv_poll,
    .flush = drv_flush,
    .next_timeout = drv_next_timeout,
    .fd = drv_fd,
    .local_port = drv_local_port,
    .resolve = pm_io_resolve,
    .waitset_new = pm_io_waitset_new,
    .waitset_close = pm_io_waitset_close,
    .waitset_watch = pm_io_waitset_watch,
    .waitset_forget = pm_io_waitset_forget,
};
