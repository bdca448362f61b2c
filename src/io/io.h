/*
 * The OS layer: UDP sockets, interface enumeration, name resolution. The
 * only code (besides clock.c) that includes socket headers.
 */
#ifndef PM_IO_H
#define PM_IO_H

#include "base/base.h"

/**
 * Open a non-blocking UDP socket. bind_ip NULL: dual-stack [::] (falls back
 * to 0.0.0.0 when IPv6 is unavailable or !ipv6); else that numeric address.
 * Ports port_min..port_max are tried in order (0 = ephemeral). Receive and
 * send buffers are raised to 1 MiB (best effort).
 */
int pm_io_udp_open(const char *bind_ip, uint16_t port_min, uint16_t port_max, bool ipv6, int *fd,
                   pm_addr *bound);
void pm_io_udp_close(int fd);

/** One datagram; PM_ERR_AGAIN when none is ready. IPv4-mapped sources come back as IPv4. */
int pm_io_udp_recv(int fd, uint8_t *buf, size_t cap, size_t *len, pm_addr *from);

/** Receive up to n datagrams at once (recvmmsg). Returns the count, 0 when none, or an error. */
typedef struct pm_io_rx {
    uint8_t *buf;
    size_t cap;
    size_t len;
    pm_addr from;
} pm_io_rx;
int pm_io_udp_recv_batch(int fd, pm_io_rx *rx, int n);

/** Send one datagram. PM_ERR_AGAIN if the socket buffer is full. */
int pm_io_udp_send(int fd, const pm_addr *to, const uint8_t *data, size_t len);

/** A datagram to send in a batch. */
typedef struct pm_io_tx {
    const pm_addr *to;
    const uint8_t *data;
    size_t len;
} pm_io_tx;
/** Send up to n datagrams (sendmmsg). Returns how many were sent (>= 0) or an error. */
int pm_io_udp_send_batch(int fd, const pm_io_tx *tx, int n);

/**
 * Host addresses for ICE: usable interface addresses (IPv4, and IPv6 when
 * ipv6, excluding link-local), loopback only when include_loopback; port set
 * to `port`. Returns the count written (at most cap).
 */
size_t pm_io_host_addrs(bool include_loopback, bool ipv6, uint16_t port, pm_addr *out, size_t cap);

/** Resolve a host name or literal to addresses (getaddrinfo, UDP). Count or error. */
int pm_io_resolve(const char *host, uint16_t port, pm_addr *out, size_t cap);

#endif
