/* A peer's TCP connections to TURN servers and its mDNS sockets (see conns.h). */
#define _GNU_SOURCE
#include "conns.h"
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNS_MAX       8
#define CONN_RX         65536
#define CONN_OUT_MAX    (4u << 20) /* queued bytes per connection */
#define CONN_CLOSE_WAIT PM_SEC(1)
#define MDNS_IFACES     8
#define MDNS_PORT       5353 /* RFC 6762 */
#define MDNS_GROUP_V4   "224.0.0.251"

typedef struct conn {
    uint32_t id; /* 0: free */
    int fd;      /* -1 after a failure: reported by the next pm_io_conns_poll() */
    int err;     /* that failure's errno */
    const char *failure;
    bool connecting, closing;
    pm_time close_by;
    uint8_t *out;
    size_t out_len, out_cap;
    uint32_t events; /* registered with epoll */
} conn;

struct pm_io_conns {
    int epfd;
    conn conns[CONNS_MAX];
    int mdns_query, mdns_group; /* -1 until the first question */
    pm_addr ifaces[MDNS_IFACES];
    size_t nifaces;
    /* Read buffer, allocated with the first connection or mDNS socket: a
     * peer that uses neither (no TURN over TCP/TLS, no ".local" candidate)
     * does not pay for it. */
    uint8_t *rx;
};

static void watch(pm_io_conns *c, int fd, uint32_t events, bool add)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    (void)epoll_ctl(c->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

/* Ask for writability only while something waits to be written. */
static void rewatch(pm_io_conns *c, conn *k)
{
    uint32_t want = EPOLLIN | ((k->connecting || k->out_len) ? EPOLLOUT : 0);
    if (want != k->events) {
        k->events = want;
        watch(c, k->fd, want, false);
    }
}

int pm_io_conns_new(int main_fd, pm_io_conns **out)
{
    pm_io_conns *c = calloc(1, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0) {
        free(c);
        return PM_ERR_IO;
    }
    c->mdns_query = c->mdns_group = -1;
    watch(c, main_fd, EPOLLIN, true);
    *out = c;
    return PM_OK;
}

static void conn_free(conn *k)
{
    if (k->id && k->fd >= 0)
        close(k->fd);
    free(k->out);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

void pm_io_conns_free(pm_io_conns *c)
{
    if (!c)
        return;
    for (int i = 0; i < CONNS_MAX; i++)
        if (c->conns[i].id)
            conn_free(&c->conns[i]);
    free(c->rx);
    if (c->mdns_query >= 0)
        close(c->mdns_query);
    if (c->mdns_group >= 0)
        close(c->mdns_group);
    close(c->epfd);
    free(c);
}

int pm_io_conns_fd(const pm_io_conns *c)
{
    return c->epfd;
}

static bool have_rx(pm_io_conns *c)
{
    if (!c->rx)
        c->rx = malloc(CONN_RX);
    return c->rx != NULL;
}

static conn *find(pm_io_conns *c, uint32_t id)
{
    for (int i = 0; i < CONNS_MAX; i++)
        if (id && c->conns[i].id == id)
            return &c->conns[i];
    return NULL;
}

int pm_io_conns_open(pm_io_conns *c, uint32_t id, const pm_addr *to)
{
    if (!id || !to)
        return PM_ERR_INVALID;
    if (find(c, id))
        return PM_ERR_EXISTS;
    conn *k = NULL;
    for (int i = 0; i < CONNS_MAX && !k; i++)
        if (!c->conns[i].id)
            k = &c->conns[i];
    if (!k)
        return PM_ERR_FULL;
    if (!have_rx(c))
        return PM_ERR_NOMEM;
    memset(k, 0, sizeof *k);
    k->id = id;
    k->fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl = (socklen_t)pm_io_sockaddr(to, false, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        k->err = errno;
        k->failure = "cannot make a socket";
        return PM_OK;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* STUN transactions are small */
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        k->err = errno;
        k->failure = "cannot connect";
        close(fd);
        return PM_OK;
    }
    k->fd = fd;
    k->connecting = true;
    k->events = EPOLLIN | EPOLLOUT;
    watch(c, fd, k->events, true);
    return PM_OK;
}

int pm_io_conns_write(pm_io_conns *c, uint32_t id, const uint8_t *data, size_t len)
{
    conn *k = find(c, id);
    if (!k || k->closing)
        return PM_ERR_NOT_FOUND;
    if (k->out_len + len > CONN_OUT_MAX)
        return PM_ERR_FULL;
    if (k->out_len + len > k->out_cap) {
        size_t cap = PM_MAX(k->out_cap * 2, k->out_len + len);
        uint8_t *p = realloc(k->out, cap);
        if (!p)
            return PM_ERR_NOMEM;
        k->out = p;
        k->out_cap = cap;
    }
    memcpy(k->out + k->out_len, data, len);
    k->out_len += len;
    rewatch(c, k);
    return PM_OK;
}

void pm_io_conns_close(pm_io_conns *c, uint32_t id)
{
    conn *k = find(c, id);
    if (!k || k->closing)
        return;
    k->closing = true;
    k->close_by = pm_now() + CONN_CLOSE_WAIT;
}

bool pm_io_conns_blocked(const pm_io_conns *c)
{
    for (int i = 0; i < CONNS_MAX; i++)
        if (c->conns[i].id && c->conns[i].out_len && !c->conns[i].connecting)
            return true;
    return false;
}

/* ---- mDNS ---- */

static int mdns_open(pm_io_conns *c)
{
    pm_addr all[16];
    size_t n = pm_io_host_addrs(false, false, 0, all, PM_ARRAY_LEN(all));
    c->nifaces = 0;
    for (size_t i = 0; i < n && c->nifaces < MDNS_IFACES; i++)
        if (all[i].family == 4)
            c->ifaces[c->nifaces++] = all[i];
    int q = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int g = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (q < 0 || g < 0) {
        if (q >= 0)
            close(q);
        if (g >= 0)
            close(g);
        return PM_ERR_IO;
    }
    int one = 1;
    unsigned char ttl = 255; /* RFC 6762 11 */
    setsockopt(q, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    setsockopt(q, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
    /* The group socket shares 5353 with any responder on this host. */
    setsockopt(g, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(g, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(MDNS_PORT)};
    if (bind(g, (struct sockaddr *)&sa, sizeof sa) == 0) {
        for (size_t i = 0; i < c->nifaces; i++) {
            struct ip_mreq m;
            inet_pton(AF_INET, MDNS_GROUP_V4, &m.imr_multiaddr);
            memcpy(&m.imr_interface, c->ifaces[i].ip, 4);
            (void)setsockopt(g, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
        }
        watch(c, g, EPOLLIN, true);
        c->mdns_group = g;
    } else {
        close(g); /* answers by unicast still reach the query socket */
    }
    watch(c, q, EPOLLIN, true);
    c->mdns_query = q;
    return PM_OK;
}

int pm_io_conns_mdns_send(pm_io_conns *c, const pm_addr *group, const uint8_t *data, size_t len)
{
    if (group->family != 4)
        return PM_ERR_UNSUPPORTED;
    if (!have_rx(c))
        return PM_ERR_NOMEM;
    if (c->mdns_query < 0 && mdns_open(c) != PM_OK)
        return PM_ERR_IO;
    struct sockaddr_storage ss;
    socklen_t sl = (socklen_t)pm_io_sockaddr(group, false, &ss);
    int sent = 0;
    /* One copy per interface: a multicast datagram leaves through one. */
    for (size_t i = 0; i < c->nifaces; i++) {
        struct in_addr ifa;
        memcpy(&ifa, c->ifaces[i].ip, 4);
        if (setsockopt(c->mdns_query, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa) != 0)
            continue;
        if (sendto(c->mdns_query, data, len, 0, (struct sockaddr *)&ss, sl) == (ssize_t)len)
            sent++;
    }
    return sent ? PM_OK : PM_ERR_IO;
}

/* ---- progress ---- */

static bool conn_failed(conn *k, pm_io_conn_event *ev, const char *what, int err)
{
    ev->kind = PM_IO_CONN_CLOSED;
    ev->id = k->id;
    snprintf(ev->why, sizeof ev->why, "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
    conn_free(k);
    return true;
}

/* Connect, write, close when done; true when it produced an event (a failure). */
static bool conn_write(pm_io_conns *c, conn *k, pm_io_conn_event *ev)
{
    if (k->fd < 0)
        return conn_failed(k, ev, k->failure, k->err);
    if (k->connecting) {
        struct pollfd p = {.fd = k->fd, .events = POLLOUT};
        if (poll(&p, 1, 0) <= 0)
            return false;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            k->err = err;
            k->failure = "cannot connect";
            (void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
            close(k->fd);
            k->fd = -1;
            return conn_failed(k, ev, k->failure, k->err);
        }
        k->connecting = false;
        rewatch(c, k);
    }
    while (k->out_len) {
        ssize_t w = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            k->err = errno; /* reported by the next poll (flush reports nothing) */
            k->failure = "write failed";
            (void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
            close(k->fd);
            k->fd = -1;
            return false;
        }
        memmove(k->out, k->out + w, k->out_len - (size_t)w);
        k->out_len -= (size_t)w;
    }
    rewatch(c, k);
    if (k->closing && (k->out_len == 0 || pm_now() >= k->close_by))
        conn_free(k); /* ours: no event */
    return false;
}

/* One step of one connection; true when it produced an event. */
static bool conn_step(pm_io_conns *c, conn *k, pm_io_conn_event *ev)
{
    if (conn_write(c, k, ev))
        return true;
    if (!k->id || k->connecting)
        return false; /* closed by us just now, or not connected yet */
    ssize_t r = recv(k->fd, c->rx, CONN_RX, 0);
    if (r > 0) {
        ev->kind = PM_IO_CONN_DATA;
        ev->id = k->id;
        ev->data = c->rx;
        ev->len = (size_t)r;
        return true;
    }
    if (r == 0)
        return conn_failed(k, ev, "closed by the server", 0);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return conn_failed(k, ev, "read failed", errno);
    return false;
}

static bool mdns_step(pm_io_conns *c, int fd, pm_io_conn_event *ev)
{
    if (fd < 0)
        return false;
    ssize_t r = recv(fd, c->rx, CONN_RX, 0);
    if (r <= 0)
        return false;
    ev->kind = PM_IO_CONN_MDNS;
    ev->id = 0;
    ev->data = c->rx;
    ev->len = (size_t)r;
    return true;
}

void pm_io_conns_flush(pm_io_conns *c)
{
    pm_io_conn_event ignored;
    for (int i = 0; i < CONNS_MAX; i++) {
        conn *k = &c->conns[i];
        /* Failures are left for pm_io_conns_poll() to report. */
        if (k->id && k->fd >= 0 && !k->connecting)
            (void)conn_write(c, k, &ignored);
    }
}

bool pm_io_conns_poll(pm_io_conns *c, pm_io_conn_event *ev)
{
    memset(ev, 0, sizeof *ev);
    for (int i = 0; i < CONNS_MAX; i++)
        if (c->conns[i].id && conn_step(c, &c->conns[i], ev))
            return true;
    return mdns_step(c, c->mdns_query, ev) || mdns_step(c, c->mdns_group, ev);
}
