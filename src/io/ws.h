/*
 * WebSocket transport on libwebsockets: a server (ws, or wss with a
 * certificate), clients, or both in one object. The only code that sees
 * libwebsockets. Message-level: whole text/binary messages in and out,
 * pings, close codes; plus plain HTTP GET for a server's /metrics-style
 * endpoints.
 *
 * Connections are named by ids (never 0, never reused while the object
 * lives). Handler functions are called only from inside pm_ws_service()
 * (never from another pm_ws call); inside them pm_ws_send/ping/close/drop
 * may be called for any connection.
 */
#ifndef PM_IO_WS_H
#define PM_IO_WS_H

#include "base/base.h"

typedef struct pm_ws pm_ws;

typedef struct pm_ws_handler {
    void *ud;
    /**
     * Server: a WebSocket connection was accepted; `remote` is the peer's
     * address (NULL if unknown), `token` the URL's token= argument (NULL if
     * none). Client: the connection opened (remote/token NULL).
     */
    void (*on_open)(void *ud, uint64_t conn, const pm_addr *remote, const char *token);
    /** One complete message, reassembled from its frames. */
    void (*on_message)(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary);
    void (*on_pong)(void *ud, uint64_t conn);
    /**
     * The connection is gone. `code`/`reason`: from the remote's close frame,
     * or ours when `local` (we closed it: pm_ws_close, a too-big message
     * 1009, a full send queue 1008); 1006 when it just ended. A client
     * connection that never opened ends here too (code 1006).
     */
    void (*on_closed)(void *ud, uint64_t conn, int code, const char *reason, bool local);
    /**
     * Client: the connection failed before it opened. `err` and `why` are
     * pm_ws_failure_describe()'s; on_closed (1006) follows at once.
     */
    void (*on_failed)(void *ud, uint64_t conn, int err, const char *why);
    /**
     * Server, plain HTTP GET of `path` (no query). Append the body to `body`,
     * set *content_type, return the status (200, 404...).
     */
    int (*on_http)(void *ud, const char *path, pm_buf *body, const char **content_type);
} pm_ws_handler;

typedef struct pm_ws_config {
    const pm_env *env;
    bool listen;              /**< be a server */
    const char *bind_address; /**< numeric IP, NULL = every interface */
    uint16_t port;            /**< 0 = any free port */
    const char *cert_file;    /**< with key_file: wss */
    const char *key_file;
    size_t max_message;    /**< reassembly limit; beyond it: close 1009 (default 64 KiB) */
    size_t max_queued;     /**< unsent bytes per connection; beyond: close 1008 (default 4 MiB) */
    pm_time close_timeout; /**< a close (ours or the peer's) not done by then drops the
                                connection with a TCP reset (default 5 s) */
    uint32_t max_handshakes_per_address; /**< server: connections from one IPv4 address or
                                              IPv6 /64 still in their handshake; more are
                                              refused at accept (default 32; UINT32_MAX: any) */
    pm_time handshake_timeout; /**< server: to finish the HTTP upgrade (default 10 s; 1 s while
                                    more than 128 handshakes are unfinished) */
    bool client_tls;           /**< clients will use wss:// (TLS set-up costs ~0.1 s) */
    const char *ca_file;       /**< client TLS: extra trusted CAs (PEM) */
    bool allow_self_signed;    /**< client TLS: accept self-signed server certificates */
    /**
     * Clients of a program that sleeps on one descriptor (the signaling
     * client): every socket libwebsockets opens is kept in the wait set
     * `waitset` (base/driver.h) with the events it waits for, and
     * pm_ws_next_deadline() tells when its timers are due. lws then runs its
     * own poll(2) loop over those few sockets instead of libev.
     */
    bool watch;
    int waitset;
} pm_ws_config;

/** PM_ERR_IO when the port cannot be bound, PM_ERR_CRYPTO for unusable TLS files. */
int pm_ws_new(const pm_ws_config *cfg, const pm_ws_handler *h, pm_ws **out);
/** Close every connection at once (no handler calls) and free. */
void pm_ws_free(pm_ws *ws);

/** The listening port (0 when not listening). */
uint16_t pm_ws_port(const pm_ws *ws);

/**
 * Start a client connection to "ws://host[:port][/path][?query]" or
 * "wss://...". PM_ERR_INVALID for a malformed URL; when it fails at once,
 * the code of pm_ws_failure_describe() (PM_ERR_REFUSED, PM_ERR_UNREACHABLE,
 * PM_ERR_IO, ...), logged with its sentence. Later failure is reported
 * through on_failed and on_closed.
 */
int pm_ws_connect(pm_ws *ws, const char *url, uint64_t *conn);

/** Queue one message. PM_ERR_NOT_FOUND: no such connection (or closing); PM_ERR_FULL. */
int pm_ws_send(pm_ws *ws, uint64_t conn, const void *data, size_t len, bool binary);
int pm_ws_ping(pm_ws *ws, uint64_t conn);

/**
 * Send what is queued, then a close frame with code and reason (<= 123
 * bytes). If the close is not done within close_timeout (the peer does not
 * read, or does not answer), the connection is dropped: on_closed follows
 * either way, with this code.
 */
int pm_ws_close(pm_ws *ws, uint64_t conn, int code, const char *reason, size_t reason_len);

/** Drop the connection without a close frame (on_closed follows). */
int pm_ws_drop(pm_ws *ws, uint64_t conn);

/**
 * Serve: 0 = handle what is ready and return; > 0 = wait up to timeout_ms
 * for something to do; < 0 = wait until something happens. PM_OK or PM_ERR_IO.
 */
int pm_ws_service(pm_ws *ws, int timeout_ms);

/**
 * With cfg.watch: when pm_ws_service(ws, 0) is needed next even if no socket
 * in the wait set becomes ready (libwebsockets' timers: connect and close
 * timeouts, deferred kills; "now" while it holds input it has not
 * handled, e.g. decrypted TLS records). Absolute, on the env clock;
 * PM_TIME_NEVER without cfg.watch or when nothing is scheduled.
 */
pm_time pm_ws_next_deadline(const pm_ws *ws);

/** Make a waiting pm_ws_service() return; safe from a signal handler. */
void pm_ws_wake(pm_ws *ws);

/** Stop accepting new connections (the listening socket is closed). */
void pm_ws_stop_listening(pm_ws *ws);

/** The socket of a connection, or -1. */
int pm_ws_fd(const pm_ws *ws, uint64_t conn);

/** Connections alive (open, opening or closing). */
size_t pm_ws_count(const pm_ws *ws);

/** What is known about a client connection that failed before it opened. */
typedef struct pm_ws_failure {
    int sys_errno;        /**< the socket's error (ECONNREFUSED, ...), 0 if none */
    unsigned http_status; /**< the HTTP answer in place of 101, 0 if none */
    bool tls;             /**< a wss:// connection */
    bool cert_rejected;   /**< OpenSSL did not trust the server's certificate chain */
    const char *lws_text; /**< libwebsockets' words, may be NULL */
    const char *target;   /**< "host:port" */
} pm_ws_failure;

/**
 * Say what failed, for people ("connection refused by 127.0.0.1:9: nothing
 * listens there ..."), into why (cap bytes); returns the distinct code:
 * PM_ERR_REFUSED, PM_ERR_UNREACHABLE, PM_ERR_TIMEOUT, PM_ERR_AUTH (HTTP
 * 401/403, untrusted certificate), PM_ERR_PROTOCOL (another HTTP status, a
 * reset handshake), PM_ERR_CRYPTO (TLS handshake), else PM_ERR_IO.
 */
int pm_ws_failure_describe(const pm_ws_failure *f, char *why, size_t cap);

/**
 * The libev loop (struct ev_loop *) the transport runs on, for other I/O
 * that wants to wait in the same pm_ws_service (redis.h); NULL when
 * libwebsockets has no libev support and runs its own poll loop.
 */
void *pm_ws_ev_loop(pm_ws *ws);

/** Unix time in microseconds (the wall clock; clock.c). */
int64_t pm_io_unix_time_us(void);

#endif
