/*
 * The socket seam (ARCHITECTURE.md section 1.3: every effect is injected).
 *
 * Protocol cores are sans-I/O: datagrams and time in; datagrams, events and
 * a deadline out. When a user asks an object to own its sockets (socket
 * mode), the object does not open them: it hands its own sans-I/O entry
 * points (a pm_endpoint) to the socket driver of its environment, and the
 * driver owns the sockets, reads the clock and moves the datagrams. The
 * loop has the shape of str0m's: feed what arrived, run the timers, then
 * take output until there is none.
 *
 * src/io provides the default driver through pm_env_resolve(), so a core
 * names only this header, never src/io.
 */
#ifndef PM_BASE_DRIVER_H
#define PM_BASE_DRIVER_H

#include "base/base.h"

/**
 * What a transmit asks of the driver (the values of the public
 * pm_rtc_transmit_kind). Besides datagrams on the core's UDP socket, a core
 * may use TCP connections it names by small positive ids (TURN over TCP or
 * TLS: the bytes are the core's, TLS included) and an mDNS socket.
 */
typedef enum pm_transmit_kind {
    PM_TRANSMIT_DATAGRAM = 0, /**< `data` to `to` from the socket of `from` */
    PM_TRANSMIT_MDNS,         /**< `data` to the mDNS group `to` from the mDNS socket */
    PM_TRANSMIT_STREAM_OPEN,  /**< connect TCP connection `stream` to `to` */
    PM_TRANSMIT_STREAM_DATA,  /**< write `data` on `stream` (held until connected) */
    PM_TRANSMIT_STREAM_CLOSE, /**< close `stream` once its data is written */
} pm_transmit_kind;

/** Output leaving a core. */
typedef struct pm_transmit {
    pm_transmit_kind kind;
    uint32_t stream; /**< STREAM_*: the connection */
    pm_addr from;    /**< DATAGRAM: local address it leaves from: picks the socket */
    pm_addr to;
    const uint8_t *data;
    size_t len;
} pm_transmit;

/**
 * A core's sans-I/O entry points, as a driver calls them (the same ones a
 * user drives the core with). The driver never calls them re-entrantly.
 */
typedef struct pm_endpoint {
    void *core;
    /** A datagram arrived on the socket bound to `local`. */
    int (*handle_datagram)(void *core, pm_time now, const pm_addr *local, const pm_addr *from,
                           const uint8_t *data, size_t len);
    /** Run the timers due at `now`. */
    int (*handle_timeout)(void *core, pm_time now);
    /**
     * Take the next datagram to send; false when there is none. Its data
     * stays valid until the core is next driven (any call other than
     * poll_transmit), so a driver can collect a batch before sending it.
     */
    bool (*poll_transmit)(void *core, pm_transmit *out);
    /** When the core next needs handle_timeout (or has output); PM_TIME_NEVER if idle. */
    pm_time (*next_timeout)(const void *core);
    /** Bytes read from connection `stream` (NULL: the core opens none). */
    int (*handle_stream)(void *core, pm_time now, uint32_t stream, const uint8_t *data, size_t len);
    /** Connection `stream` failed to connect or was closed by the other side. */
    void (*stream_closed)(void *core, pm_time now, uint32_t stream, const char *why);
    /** A datagram that arrived on the mDNS socket (NULL: the core asks none). */
    int (*handle_mdns)(void *core, pm_time now, const uint8_t *data, size_t len);
} pm_endpoint;

/** Where and how to open a core's sockets (the public config's socket-mode fields). */
typedef struct pm_socket_config {
    const char *bind_address; /**< numeric IP; NULL = every interface */
    uint16_t port_min;        /**< 0 = ephemeral */
    uint16_t port_max;        /**< inclusive; below port_min = port_min */
    bool enable_ipv6;
    bool include_loopback; /**< advertise loopback addresses */
} pm_socket_config;

/** One core's sockets, owned by the driver that opened them. */
typedef struct pm_sockets pm_sockets;

struct pm_socket_driver {
    /**
     * Open the sockets of `ep` and write the host addresses to advertise
     * (at most `cap`) to hosts/host_count. PM_ERR_INVALID for a malformed
     * bind address, PM_ERR_IO when no port in the range can be bound,
     * PM_ERR_NOMEM. `env` is copied; `ep` must outlive the sockets.
     */
    int (*open)(const pm_envr *env, const pm_socket_config *cfg, const pm_endpoint *ep,
                pm_addr *hosts, size_t cap, size_t *host_count, pm_sockets **out);
    /** Close the sockets (queued datagrams are dropped) and free. NULL is fine. */
    void (*close)(pm_sockets *s);
    /** Receive what is ready, run due timers, send: one turn of the loop. */
    int (*poll)(pm_sockets *s);
    /** Send what the core has queued, without receiving. */
    void (*flush)(pm_sockets *s);
    /** The core's deadline, or sooner when a send the kernel refused must be retried. */
    pm_time (*next_timeout)(const pm_sockets *s);
    /**
     * The one descriptor to wait on for input: readable whenever any socket
     * of these sockets has something to read. The same number for the
     * sockets' whole life, so a wait set can hold it: a driver with several
     * sockets (TURN over TCP or TLS, mDNS) makes it an epoll set over all of
     * them, including the ones it opens later.
     */
    int (*fd)(const pm_sockets *s);
    /** The bound UDP port. */
    uint16_t (*local_port)(const pm_sockets *s);
    /** Resolve a host name to addresses (the OS resolver). Count or an error. */
    int (*resolve)(const char *host, uint16_t port, pm_addr *out, size_t cap);

    /*
     * Wait sets: one descriptor an object hands its user to sleep on for
     * everything it owns (pm_mesh_fd, pm_enet_fd, pm_signal_client_fd). It
     * is readable while any descriptor in it is ready; a wait set may hold
     * another one. Level-triggered: what is not read stays ready.
     */
    /** A new, empty set: its descriptor (>= 0), or PM_ERR_IO. */
    int (*waitset_new)(void);
    /** Close a set made by waitset_new (its members are not closed). */
    void (*waitset_close)(int set);
    /** Watch `fd` for input, and for output too when `out`; again to change. PM_ERR_IO. */
    int (*waitset_watch)(int set, int fd, bool out);
    /** Stop watching `fd` (call it before closing fd). */
    void (*waitset_forget)(int set, int fd);
};

#endif
