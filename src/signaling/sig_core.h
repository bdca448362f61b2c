/*
 * The signaling server's protocol core (sans-I/O): connections, lobbies,
 * peer ids, relay, seal timers, limits, liveness. It never touches a socket
 * or a clock: the transport reports (connection, message, now) and drains
 * (sends, pings, closes) with pm_sigsrv_poll_output(), and calls
 * pm_sigsrv_timeout() at pm_sigsrv_next_deadline().
 *
 * Connection ids are the core's (never 0). Each carries the transport's
 * own handle (`tid`), handed back with every output for it. After a CLOSE
 * output the core has already taken the connection out of its lobby; it
 * ignores the connection's further input and waits for pm_sigsrv_gone().
 */
#ifndef PM_SIG_CORE_H
#define PM_SIG_CORE_H

#include "base/base.h"
#include "io/redis.h"
#include "peermesh/signaling.h"

typedef struct pm_sigsrv pm_sigsrv;

typedef enum pm_sigsrv_out_kind {
    PM_SIGSRV_OUT_SEND = 1, /**< send data[0..len) as one text message */
    PM_SIGSRV_OUT_PING,     /**< send a WebSocket ping */
    PM_SIGSRV_OUT_CLOSE,    /**< flush what was queued, then close with code and reason */
    PM_SIGSRV_OUT_REDIS,    /**< cluster: send the Redis command argv[0..argc) */
} pm_sigsrv_out_kind;

typedef struct pm_sigsrv_output {
    pm_sigsrv_out_kind kind;
    uint64_t conn;
    uint64_t tid;        /**< the transport handle given to pm_sigsrv_open() */
    int code;            /**< CLOSE */
    const uint8_t *data; /**< SEND: message; CLOSE: reason (not NUL-terminated) */
    size_t len;
    /* REDIS: the command (binary-safe); its reply goes to
     * pm_sigsrv_cluster_reply with `tid` as the cookie (0: none wanted). */
    int argc;
    const char *const *argv;
    const size_t *argv_len;
} pm_sigsrv_output;

/**
 * Create a core with the limits of `cfg` (copied; the strings too).
 * unix_offset: add to `now` to get Unix time in microseconds (token expiry,
 * TURN credentials). PM_ERR_INVALID for inconsistent options.
 */
int pm_sigsrv_new(const pm_envr *env, const pm_signal_server_config *cfg, pm_time now,
                  pm_time unix_offset, pm_sigsrv **out);
void pm_sigsrv_free(pm_sigsrv *s);

/**
 * A connection was accepted from `remote` (may be NULL) with the URL's
 * token (may be NULL). Returns its id; the core may already have queued its
 * CLOSE (limits, auth). 0 only when out of memory (the transport should
 * drop the connection).
 */
uint64_t pm_sigsrv_open(pm_sigsrv *s, pm_time now, const pm_addr *remote, const char *token,
                        uint64_t tid);

/** One complete message (binary = it came in binary frames). */
void pm_sigsrv_receive(pm_sigsrv *s, pm_time now, uint64_t conn, const uint8_t *data, size_t len,
                       bool binary);

/** A pong (or any proof of life below the message level). */
void pm_sigsrv_pong(pm_sigsrv *s, pm_time now, uint64_t conn);

/**
 * The connection is gone (closed by either side, or dropped). No output
 * will mention it afterwards. Unknown ids are ignored.
 */
void pm_sigsrv_gone(pm_sigsrv *s, pm_time now, uint64_t conn);

/** The transport had to close a connection itself (e.g. too big a message). */
void pm_sigsrv_closed_by_transport(pm_sigsrv *s, pm_time now, uint64_t conn, int code);

/** Run the timers due at `now`. */
void pm_sigsrv_timeout(pm_sigsrv *s, pm_time now);

/** Earliest timer, or PM_TIME_NEVER. */
pm_time pm_sigsrv_next_deadline(const pm_sigsrv *s);

/** Next output; borrowed until the next call. False when none. */
bool pm_sigsrv_poll_output(pm_sigsrv *s, pm_sigsrv_output *out);

/** Close everyone with 1001 and refuse new connections from now on. */
void pm_sigsrv_shutdown(pm_sigsrv *s, pm_time now);

/** Connections the core still knows (open or closing, not yet gone). */
size_t pm_sigsrv_connection_count(const pm_sigsrv *s);

void pm_sigsrv_get_stats(const pm_sigsrv *s, pm_signal_server_stats *out);

/*
 * The cluster (cfg->redis_url set; docs/signaling.md). The transport keeps
 * a Redis link (io/redis.h) subscribed to pm_sigsrv_cluster_channel() and
 * reports what it sees; the core's commands come out as REDIS outputs.
 */
/** The channel this node listens on; NULL when not in a cluster. */
const char *pm_sigsrv_cluster_channel(const pm_sigsrv *s);
/** The link to Redis is up (connected and subscribed) or went down. */
void pm_sigsrv_cluster_state(pm_sigsrv *s, pm_time now, bool up);
/** The reply to a REDIS output (NULL: the command failed, the link went down). */
void pm_sigsrv_cluster_reply(pm_sigsrv *s, pm_time now, uint64_t cookie,
                             const pm_redis_reply *reply);
/** A message on this node's channel. */
void pm_sigsrv_cluster_message(pm_sigsrv *s, pm_time now, const uint8_t *data, size_t len);

/* For tests: a joined connection's lobby name and peer id (NULL/0 if none). */
const char *pm_sigsrv_conn_lobby(const pm_sigsrv *s, uint64_t conn);
int32_t pm_sigsrv_conn_peer_id(const pm_sigsrv *s, uint64_t conn);

#endif
