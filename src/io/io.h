/*
 * The OS layer: UDP sockets, interface enumeration, name resolution. The
 * only code (besides clock.c) that includes socket headers.
 */
#ifndef PM_IO_H
#define PM_IO_H

#include "base/base.h"

struct sockaddr_storage;

/**
 * `a` as a socket address for a socket of its family, or for an IPv6
 * socket (v6_socket: IPv4 as v4-mapped). Returns its length (socklen_t).
 */
unsigned pm_io_sockaddr(const pm_addr *a, bool v6_socket, struct sockaddr_storage *ss);

/**
 * Open a non-blocking UDP socket. bind_ip NULL: dual-stack [::] (falls back
 * to 0.0.0.0 when IPv6 is unavailable or !ipv6); else that numeric address.
 * Ports port_min..port_max are tried in order (0 = ephemeral). Receive and
 * send buffers are raised to 1 MiB (best effort).
 */
int pm_io_udp_open(const char *bind_ip, uint16_t port_min, uint16_t port_max, bool ipv6, int *fd,
                   pm_addr *bound);
void pm_io_udp_close(int fd);

/** One received datagram, pointing into the caller's buffer. */
typedef struct pm_io_dgram {
    const uint8_t *data;
    size_t len;
    pm_addr from;
} pm_io_dgram;

/**
 * Receive what is ready, up to `max` datagrams, into `buf` (use at least
 * PM_IO_RX_BUF bytes). Uses recvmmsg, and UDP GRO where the kernel has it:
 * a coalesced run is split back into its datagrams here. Returns the count
 * (0 when nothing is ready) or an error.
 */
#define PM_IO_RX_SLOT  65536
#define PM_IO_RX_SLOTS 8
#define PM_IO_RX_BUF   (PM_IO_RX_SLOT * PM_IO_RX_SLOTS)
int pm_io_udp_recv_many(int fd, uint8_t *buf, size_t cap, pm_io_dgram *out, int max);

/**
 * A PM_IO_RX_BUF-byte receive buffer for the calling thread, shared by every
 * socket polled on it (per-socket buffers of this size would dominate the
 * memory of a connection). NULL if it cannot be allocated.
 */
uint8_t *pm_io_rx_buffer(void);

/** Send one datagram. PM_ERR_AGAIN if the socket buffer is full. */
int pm_io_udp_send(int fd, const pm_addr *to, const uint8_t *data, size_t len);

/** A datagram to send in a batch. */
typedef struct pm_io_tx {
    const pm_addr *to;
    const uint8_t *data;
    size_t len;
} pm_io_tx;
/**
 * Send up to n datagrams in order. Consecutive datagrams to one destination
 * with one size (the last of a run may be shorter) go out as one UDP GSO
 * send where the kernel supports it; all runs go in one sendmmsg. Returns
 * how many datagrams were sent (>= 0; fewer when the socket buffer is full)
 * or an error.
 */
int pm_io_udp_send_batch(int fd, const pm_io_tx *tx, int n);

/**
 * Host addresses for ICE: usable interface addresses (IPv4, and IPv6 when
 * ipv6, excluding link-local), loopback only when include_loopback; port set
 * to `port`. Returns the count written (at most cap).
 */
size_t pm_io_host_addrs(bool include_loopback, bool ipv6, uint16_t port, pm_addr *out, size_t cap);

/** Resolve a host name or literal to addresses (getaddrinfo, UDP). Count or error. */
int pm_io_resolve(const char *host, uint16_t port, pm_addr *out, size_t cap);

/* Wait sets (base/driver.h; waitset.c): epoll sets, descriptors in and out. */
int pm_io_waitset_new(void);
void pm_io_waitset_close(int set);
int pm_io_waitset_watch(int set, int fd, bool out);
void pm_io_waitset_forget(int set, int fd);
/**
 * Watch fd edge-triggered for changes: every arrival of input, and every
 * time it becomes writable (a connect that completed, room after a full
 * send buffer), is one event, even if the input was read since.
 */
int pm_io_waitset_watch_arrivals(int set, int fd);
/** Take every event of the set without waiting; how many there were. */
int pm_io_waitset_drain(int set);

/** The default socket driver (base/driver.h), built on the functions above. */
extern const pm_socket_driver pm_io_udp_driver;

#endif
