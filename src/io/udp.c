/* UDP sockets: non-blocking, dual-stack, batched receive and send. */
#define _GNU_SOURCE
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKBUF_BYTES (1 << 20)

unsigned pm_io_sockaddr(const pm_addr *a, bool v6_socket, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4 && !v6_socket) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        return sizeof *s4;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    if (a->family == 4) { /* IPv4-mapped on a dual-stack socket */
        s6->sin6_addr.s6_addr[10] = 0xff;
        s6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&s6->sin6_addr.s6_addr[12], a->ip, 4);
    } else {
        memcpy(&s6->sin6_addr, a->ip, 16);
        s6->sin6_scope_id = a->scope_id;
    }
    return sizeof *s6;
}

static void from_sockaddr(const struct sockaddr_storage *ss, pm_addr *a)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        a->family = 4;
        a->port = ntohs(s4->sin_port);
        memcpy(a->ip, &s4->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        a->port = ntohs(s6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            a->family = 4;
            memcpy(a->ip, &s6->sin6_addr.s6_addr[12], 4);
        } else {
            a->family = 6;
            memcpy(a->ip, &s6->sin6_addr, 16);
            a->scope_id = s6->sin6_scope_id;
        }
    }
}

/* The socket's family is remembered per fd so sends pick the right sockaddr. */
static bool fd_is_v6(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    return ss.ss_family == AF_INET6;
}

static int try_bind(int family, const pm_addr *bind_addr, uint16_t port, int *out_fd)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return PM_ERR_IO;
    int one = 1, zero = 0, buf = SOCKBUF_BYTES;
    if (family == AF_INET6 && bind_addr->family != 6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    /* Coalesced receive (split again in pm_io_udp_recv_many); best effort. */
    setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
    pm_addr a = *bind_addr;
    a.port = port;
    struct sockaddr_storage ss;
    socklen_t sl = pm_io_sockaddr(&a, family == AF_INET6, &ss);
    if (family == AF_INET6 && bind_addr->family == 0) {
        /* wildcard [::] */
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        memset(&s6->sin6_addr, 0, sizeof s6->sin6_addr);
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        return e == EADDRINUSE ? PM_ERR_EXISTS : PM_ERR_IO;
    }
    *out_fd = fd;
    return PM_OK;
}

int pm_io_udp_open(const char *bind_ip, uint16_t port_min, uint16_t port_max, bool ipv6, int *fd,
                   pm_addr *bound)
{
    pm_addr ba;
    memset(&ba, 0, sizeof ba);
    int family;
    if (bind_ip) {
        if (pm_addr_parse(&ba, bind_ip, 0) != PM_OK)
            return PM_ERR_INVALID;
        family = ba.family == 6 ? AF_INET6 : AF_INET;
    } else {
        family = ipv6 ? AF_INET6 : AF_INET;
        if (family == AF_INET)
            ba.family = 4; /* 0.0.0.0 */
    }
    if (port_max < port_min)
        port_max = port_min;
    int rc = PM_ERR_IO;
    for (uint32_t p = port_min; p <= port_max; p++) {
        rc = try_bind(family, &ba, (uint16_t)p, fd);
        if (rc == PM_ERR_IO && family == AF_INET6 && !bind_ip) {
            /* No IPv6 on this host: fall back to IPv4 only. */
            family = AF_INET;
            ba.family = 4;
            rc = try_bind(family, &ba, (uint16_t)p, fd);
        }
        if (rc == PM_OK || rc != PM_ERR_EXISTS)
            break;
    }
    if (rc != PM_OK)
        return rc == PM_ERR_EXISTS ? PM_ERR_IO : rc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(*fd, (struct sockaddr *)&ss, &len);
    from_sockaddr(&ss, bound);
    return PM_OK;
}

void pm_io_udp_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

uint8_t *pm_io_rx_buffer(void)
{
    static _Thread_local uint8_t *buf;
    if (!buf)
        buf = malloc(PM_IO_RX_BUF); /* lives as long as the thread */
    return buf;
}

int pm_io_udp_recv_many(int fd, uint8_t *buf, size_t cap, pm_io_dgram *out, int max)
{
    int slots = (int)(cap / PM_IO_RX_SLOT);
    if (slots > PM_IO_RX_SLOTS)
        slots = PM_IO_RX_SLOTS;
    if (slots < 1 || max < 1)
        return PM_ERR_INVALID;
    struct mmsghdr m[PM_IO_RX_SLOTS];
    struct iovec iov[PM_IO_RX_SLOTS];
    struct sockaddr_storage ss[PM_IO_RX_SLOTS];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl[PM_IO_RX_SLOTS];
    for (int i = 0; i < slots; i++) {
        iov[i].iov_base = buf + (size_t)i * PM_IO_RX_SLOT;
        iov[i].iov_len = PM_IO_RX_SLOT;
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = &ss[i];
        m[i].msg_hdr.msg_namelen = sizeof ss[i];
        m[i].msg_hdr.msg_control = ctl[i].buf;
        m[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
    }
    int got;
    for (;;) {
        got = recvmmsg(fd, m, (unsigned)slots, MSG_DONTWAIT, NULL);
        if (got >= 0)
            break;
        if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return PM_ERR_IO;
    }
    int n = 0;
    for (int i = 0; i < got && n < max; i++) {
        if (m[i].msg_hdr.msg_flags & MSG_TRUNC)
            continue;
        size_t seg = m[i].msg_len;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr); c; c = CMSG_NXTHDR(&m[i].msg_hdr, c))
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                int g;
                memcpy(&g, CMSG_DATA(c), sizeof g);
                if (g > 0)
                    seg = (size_t)g; /* a GRO run: equal segments, the last may be short */
            }
        pm_addr from;
        from_sockaddr(&ss[i], &from);
        const uint8_t *p = iov[i].iov_base;
        for (size_t off = 0; off < m[i].msg_len && n < max; off += seg) {
            out[n].data = p + off;
            out[n].len = PM_MIN(seg, m[i].msg_len - off);
            out[n].from = from;
            n++;
        }
    }
    return n;
}

int pm_io_udp_send(int fd, const pm_addr *to, const uint8_t *data, size_t len)
{
    pm_io_tx t = {to, data, len};
    int n = pm_io_udp_send_batch(fd, &t, 1);
    return n == 1 ? PM_OK : (n == 0 ? PM_ERR_AGAIN : n);
}

/* Kernels without UDP GSO answer EIO/EINVAL/ENOPROTOOPT once; remember it
 * (process-wide, and peers may live on several threads). */
static atomic_bool gso_broken;

#define GSO_MAX_SEGS  64
#define GSO_MAX_BYTES 65000

/* Length of the run starting at tx[0] that can share one GSO send. */
static int gso_run(const pm_io_tx *tx, int n)
{
    if (atomic_load_explicit(&gso_broken, memory_order_relaxed))
        return 1;
    size_t seg = tx[0].len, total = seg;
    int k = 1;
    while (k < n && k < GSO_MAX_SEGS && pm_addr_equal(tx[k].to, tx[0].to) && tx[k].len <= seg &&
           tx[k].len > 0 && total + tx[k].len <= GSO_MAX_BYTES) {
        total += tx[k].len;
        k++;
        if (tx[k - 1].len < seg)
            break; /* only the last segment of a run may be short */
    }
    return k;
}

int pm_io_udp_send_batch(int fd, const pm_io_tx *tx, int n)
{
    enum { MAXM = 64, MAXIOV = 256 };
    struct mmsghdr m[MAXM];
    struct iovec iov[MAXIOV];
    struct sockaddr_storage ss[MAXM];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl[MAXM];
    int run_len[MAXM];
    bool v6 = fd_is_v6(fd);
    int nm = 0, niov = 0, used = 0;
    while (used < n && nm < MAXM) {
        int k = gso_run(tx + used, n - used);
        if (niov + k > MAXIOV)
            break;
        memset(&m[nm], 0, sizeof m[nm]);
        for (int j = 0; j < k; j++) {
            iov[niov + j].iov_base = (void *)tx[used + j].data;
            iov[niov + j].iov_len = tx[used + j].len;
        }
        m[nm].msg_hdr.msg_iov = &iov[niov];
        m[nm].msg_hdr.msg_iovlen = (size_t)k;
        m[nm].msg_hdr.msg_name = &ss[nm];
        m[nm].msg_hdr.msg_namelen = pm_io_sockaddr(tx[used].to, v6, &ss[nm]);
        if (k > 1) {
            /* CMSG_SPACE pads past CMSG_LEN: zero it all, or the kernel is
             * handed uninitialised bytes (valgrind reports every GSO send). */
            memset(ctl[nm].buf, 0, sizeof ctl[nm].buf);
            m[nm].msg_hdr.msg_control = ctl[nm].buf;
            m[nm].msg_hdr.msg_controllen = sizeof ctl[nm].buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m[nm].msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)tx[used].len;
            memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
        run_len[nm] = k;
        niov += k;
        used += k;
        nm++;
    }
    int sent_msgs = 0, sent = 0;
    while (sent_msgs < nm) {
        int r = sendmmsg(fd, m + sent_msgs, (unsigned)(nm - sent_msgs), MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                return sent;
            if (run_len[sent_msgs] > 1 &&
                (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
                /* No GSO here: resend the rest one datagram per message. */
                atomic_store(&gso_broken, true);
                int rest = pm_io_udp_send_batch(fd, tx + sent, n - sent);
                return rest < 0 ? sent : sent + rest;
            }
            /* A datagram the kernel refuses (unreachable, bad family): drop
             * it rather than wedge the queue. UDP is lossy anyway. */
            sent += run_len[sent_msgs++];
            continue;
        }
        for (int j = 0; j < r; j++)
            sent += run_len[sent_msgs + j];
        sent_msgs += r;
    }
    return sent;
}
