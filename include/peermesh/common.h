/*
 * peermesh/common.h — types shared by every peermesh module.
 *
 * Contract summary (applies to the whole library):
 *  - Time is a 64-bit monotonic microsecond count owned by the caller
 *    (pm_time). PM_TIME_NEVER means "no deadline".
 *  - Deadlines are absolute. Every *_next_timeout() returns the instant
 *    (a pm_time on the clock of the object's pm_env, pm_now() by default)
 *    by which its poll function must be called again; PM_TIME_NEVER when
 *    nothing is pending, a time already past means "now". Durations (the
 *    config fields named *_timeout, *_delay, *_interval, *_grace, *_ttl)
 *    are relative pm_time. The only relative waits in milliseconds are the
 *    calls that mirror ENet and poll(2) (pm_enet_host_service, pm_enet_wait,
 *    pm_signal_server_poll).
 *  - One way to wait. An object that owns sockets exposes one descriptor
 *    for all of them (pm_rtc_peer_fd, pm_mesh_fd, pm_enet_fd,
 *    pm_signal_client_fd): it is readable when there is input, and the same
 *    number for the object's whole life. Sleep until it is readable or the
 *    deadline comes, in pm_wait() or in your own poll/epoll loop, then call
 *    the poll function: nothing is missed.
 *  - Errors are negative pm_err values; PM_OK is 0. PM_ERR_AGAIN means
 *    "would block, try later" and is not a failure. Human-readable detail
 *    goes to the log sink of the object's environment, never to errno.
 *  - Objects are single-threaded and non-reentrant: call an object only from
 *    one thread at a time, never from inside its own callback.
 *  - Borrowed pointers returned by a getter stay valid until the next call on
 *    the same object unless the function's comment says otherwise.
 *  - Calls from inside calls. peermesh runs application code only through
 *    the pm_env functions (allocator, clock, random source, log sink) and a
 *    transport's pm_multiplayer_ops (multiplayer.h), and only from inside a
 *    call the application made, on its thread: nothing is called back later.
 *    From inside such a function call nothing on the object whose call is
 *    running, nor on an object that owns it or that it owns (undefined;
 *    PM_ERR_REENTRANT where it is detected); other objects are fine. The
 *    functions that take no object may be called anywhere, from any thread
 *    and from inside any callback: pm_strerror, pm_addr_*, pm_now,
 *    pm_ice_url_parse, pm_ice_server_validate, pm_signal_token_make, the
 *    *_to_string names and the *_default initialisers. A function whose
 *    rule differs says so.
 *  - Errors. Every function returning int says which pm_err codes it
 *    returns; besides those, a NULL object or a NULL required pointer is
 *    PM_ERR_INVALID. Getters never fail: for a NULL object they return a
 *    neutral value (0, false, NULL, "", or the one their comment names).
 *    Functions returning void do nothing for a NULL object. The *_default
 *    initialisers need a non-NULL struct to fill.
 */
#ifndef PEERMESH_COMMON_H
#define PEERMESH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PM_BUILDING_LIBRARY)
#define PM_API __attribute__((visibility("default")))
#else
#define PM_API
#endif

#define PM_VERSION_MAJOR  0
#define PM_VERSION_MINOR  1
#define PM_VERSION_PATCH  0
#define PM_VERSION_STRING "0.1.0"

/** Monotonic time in microseconds. The origin is arbitrary but fixed. */
typedef int64_t pm_time;
#define PM_TIME_NEVER INT64_MAX
#define PM_MS(x)      ((pm_time)(x)*1000)
#define PM_SEC(x)     ((pm_time)(x)*1000000)

/** Error codes. Every failing function returns one of these (negative). */
typedef enum pm_err {
    PM_OK = 0,
    PM_ERR_INVALID = -1,      /**< bad argument or malformed input */
    PM_ERR_NOMEM = -2,        /**< allocation failed */
    PM_ERR_AGAIN = -3,        /**< would block / nothing yet; try later */
    PM_ERR_STATE = -4,        /**< not allowed in the object's current state */
    PM_ERR_PARSE = -5,        /**< input could not be parsed */
    PM_ERR_TOO_BIG = -6,      /**< message or value exceeds a negotiated limit */
    PM_ERR_NOT_FOUND = -7,    /**< no such item */
    PM_ERR_IO = -8,           /**< operating-system I/O failure (socket, file) */
    PM_ERR_CRYPTO = -9,       /**< TLS/DTLS or certificate failure */
    PM_ERR_CLOSED = -10,      /**< object or channel is closed */
    PM_ERR_UNSUPPORTED = -11, /**< feature not implemented or not negotiated */
    PM_ERR_TIMEOUT = -12,     /**< an operation timed out */
    PM_ERR_EXISTS = -13,      /**< item already present (e.g. stream id in use) */
    PM_ERR_REENTRANT = -14,   /**< called from inside the object's own callback */
    PM_ERR_AUTH = -15,        /**< authentication / fingerprint mismatch */
    PM_ERR_FULL = -16,        /**< a bounded queue or table is full */
    PM_ERR_REFUSED = -17,     /**< the remote refused the connection (nothing listens there) */
    PM_ERR_UNREACHABLE = -18, /**< no route to the remote host or network */
    PM_ERR_PROTOCOL = -19, /**< the remote answered, but not as the protocol says (HTTP status) */
} pm_err;

/** Static English description of an error code; never NULL. */
PM_API const char *pm_strerror(int err);

/** An IPv4 or IPv6 transport address, independent of OS socket headers. */
typedef struct pm_addr {
    uint8_t family;    /**< 4, 6, or 0 for "unset" */
    uint16_t port;     /**< host byte order */
    uint8_t ip[16];    /**< IPv4 in ip[0..3]; IPv6 in all 16 bytes */
    uint32_t scope_id; /**< IPv6 scope (link-local); 0 otherwise */
} pm_addr;

#define PM_ADDR_STRLEN 64 /**< enough for "[v6%scope]:port" */

/**
 * Parse a numeric address "1.2.3.4", "::1", "fe80::1%2" or "[::1]" (no DNS,
 * ever) with a port. PM_ERR_PARSE for anything else; *out is unchanged then.
 */
PM_API int pm_addr_parse(pm_addr *out, const char *ip, uint16_t port);
/** Format "ip:port" or "[ip]:port" into buf (at least PM_ADDR_STRLEN); returns buf. */
PM_API const char *pm_addr_format(const pm_addr *a, char *buf, size_t cap);
/** Format only the IP part into buf; returns buf ("" when a is NULL or cap 0). */
PM_API const char *pm_addr_format_ip(const pm_addr *a, char *buf, size_t cap);
/** True when family, ip and port are equal. */
PM_API bool pm_addr_equal(const pm_addr *a, const pm_addr *b);
/** True for 127.0.0.0/8 and ::1 (false for NULL). */
PM_API bool pm_addr_is_loopback(const pm_addr *a);

typedef enum pm_log_level {
    PM_LOG_ERROR = 0,
    PM_LOG_WARN = 1,
    PM_LOG_INFO = 2,
    PM_LOG_DEBUG = 3,
    PM_LOG_TRACE = 4,
} pm_log_level;

/**
 * The environment: every effect a protocol core needs, injected.
 * Any NULL member means "use the default" (system allocator, monotonic OS
 * clock, OS random source, log to stderr at PM_LOG_WARN). The struct is
 * copied when an object is created.
 */
typedef struct pm_env {
    void *(*alloc)(void *ud, size_t size);              /**< like malloc */
    void *(*realloc)(void *ud, void *ptr, size_t size); /**< like realloc */
    void (*free)(void *ud, void *ptr);                  /**< like free */
    void *alloc_ud;
    pm_time (*now)(void *ud); /**< monotonic microseconds */
    void *clock_ud;
    /** Fill buf with len unpredictable bytes; return PM_OK or an error. */
    int (*random)(void *ud, uint8_t *buf, size_t len);
    void *random_ud;
    void (*log)(void *ud, pm_log_level level, const char *component, const char *msg);
    void *log_ud;
    pm_log_level log_level; /**< messages above this level are dropped */
    bool log_level_set;     /**< false: PM_LOG_WARN, or $PEERMESH_LOG if set */
} pm_env;

/** Current time from the default monotonic clock. */
PM_API pm_time pm_now(void);

/**
 * Sleep until `fd` is readable (or hung up) or until `deadline` (absolute,
 * pm_now()'s clock) has come, whichever is first: the one wait call of a
 * loop, e.g. pm_wait(pm_mesh_fd(m), pm_mesh_next_timeout(m)). fd -1 waits
 * for the deadline alone. Returns 1 when fd is readable, 0 at the deadline
 * (or when a signal interrupted the wait), PM_ERR_INVALID for an fd that
 * is not open or for fd -1 with PM_TIME_NEVER, PM_ERR_IO when poll fails.
 * PM_ERR_UNSUPPORTED in the WebAssembly build (a page never blocks: call
 * the poll functions from the browser's animation frame instead).
 */
PM_API int pm_wait(int fd, pm_time deadline);

#ifdef __cplusplus
}
#endif
#endif
