/*
 * A peer connection's sockets besides its UDP socket, for socket mode: TCP
 * connections to TURN servers (the bytes are TURN or TLS records; this layer
 * does not look at them) and the mDNS sockets that resolve ".local"
 * candidates. Everything is non-blocking and sits behind one epoll
 * descriptor together with the main UDP socket, so a user still waits on
 * one file descriptor.
 *
 * mDNS: questions go out from an ephemeral port, once per interface with an
 * IPv4 address (RFC 6762 5.1 one-shot queries, which responders answer by
 * unicast to that port); a second socket bound to 5353 and joined to
 * 224.0.0.251 on those interfaces takes answers sent by multicast. Both
 * are opened on first use. IPv4 only.
 */
#ifndef PM_IO_CONNS_H
#define PM_IO_CONNS_H

#include "base/base.h"

typedef struct pm_io_conns pm_io_conns;

/** Create the set around the main UDP socket `main_fd` (not owned). */
int pm_io_conns_new(int main_fd, pm_io_conns **out);
/** Close every connection and socket of the set (nothing more is sent) and free it. */
void pm_io_conns_free(pm_io_conns *c);
/** The descriptor to wait on (readable when any socket has input or can take output). */
int pm_io_conns_fd(const pm_io_conns *c);

/**
 * Start a TCP connection `id` (> 0) to `to`. Data written before it is
 * established is held. A connection that cannot even be started (no route,
 * no socket) is reported by pm_io_conns_poll() like one that fails later.
 * PM_ERR_EXISTS for an id in use, PM_ERR_FULL beyond 8 connections,
 * PM_ERR_NOMEM when the set's read buffer (allocated with the first
 * connection or mDNS socket) cannot be allocated.
 */
int pm_io_conns_open(pm_io_conns *c, uint32_t id, const pm_addr *to);
/** Queue bytes on connection `id`: PM_OK, PM_ERR_NOT_FOUND, PM_ERR_NOMEM. */
int pm_io_conns_write(pm_io_conns *c, uint32_t id, const uint8_t *data, size_t len);
/** Close connection `id` once its queued bytes are written (at most 1 s later). */
void pm_io_conns_close(pm_io_conns *c, uint32_t id);
/** True while queued bytes wait for a connection to take them. */
bool pm_io_conns_blocked(const pm_io_conns *c);
/** Write what is queued and close what is done, without reading (no events). */
void pm_io_conns_flush(pm_io_conns *c);

/** Send an mDNS question to `group` (224.0.0.251:5353). PM_OK, PM_ERR_IO or PM_ERR_NOMEM. */
int pm_io_conns_mdns_send(pm_io_conns *c, const pm_addr *group, const uint8_t *data, size_t len);

typedef enum pm_io_conn_event_kind {
    PM_IO_CONN_DATA = 1, /**< bytes read from connection `id` */
    PM_IO_CONN_CLOSED,   /**< connection `id` failed or was closed by the other side (`why`) */
    PM_IO_CONN_MDNS,     /**< a datagram on an mDNS socket */
} pm_io_conn_event_kind;

typedef struct pm_io_conn_event {
    pm_io_conn_event_kind kind;
    uint32_t id;
    const uint8_t *data; /**< valid until the next call on the set */
    size_t len;
    char why[96];
} pm_io_conn_event;

/**
 * Do the pending work without blocking (finish connects, write what is
 * queued, close what is done) and return one event, or false when nothing
 * happened. Call until false (the caller bounds how often).
 */
bool pm_io_conns_poll(pm_io_conns *c, pm_io_conn_event *ev);

#endif
