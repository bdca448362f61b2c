/*
 * A Redis client for the signaling cluster (docs/signaling.md, "Scale-out
 * on Redis"): hiredis's asynchronous API on the event loop of a WebSocket
 * transport (ws.h), so one thread waits on both. The only code that sees
 * hiredis.
 *
 * Two connections to one server: one for commands (pipelined; replies come
 * in order), one subscribed to a single channel (this node's). The object
 * keeps them up: it reconnects after a failure, and treats a command left
 * unanswered for command_timeout as a failure (hiredis 0.14 has no
 * timeouts). "Up" means both are connected and the subscription is
 * confirmed; every failure is "down", and every command in flight then
 * fails (on_reply with NULL).
 *
 * Handlers are called only from inside the transport's service (the loop)
 * or pm_redis_tick, never from pm_redis_command.
 */
#ifndef PM_IO_REDIS_H
#define PM_IO_REDIS_H

#include "base/base.h"

typedef struct pm_redis pm_redis;

typedef enum pm_redis_type {
    PM_REDIS_NIL = 0,
    PM_REDIS_INTEGER,
    PM_REDIS_STRING,
    PM_REDIS_STATUS,
    PM_REDIS_ERROR,
    PM_REDIS_ARRAY,
} pm_redis_type;

/** A reply: borrowed for the duration of the handler call. */
typedef struct pm_redis_reply {
    pm_redis_type type;
    long long integer;                     /**< INTEGER */
    const char *str;                       /**< STRING, STATUS, ERROR (not NUL-terminated) */
    size_t len;                            /**< of str */
    const struct pm_redis_reply *elements; /**< ARRAY */
    size_t count;                          /**< of elements */
} pm_redis_reply;

typedef struct pm_redis_handler {
    void *ud;
    /** A command's reply (NULL: it failed, the connection went down). */
    void (*on_reply)(void *ud, uint64_t cookie, const pm_redis_reply *reply);
    /** A message on the subscribed channel. */
    void (*on_message)(void *ud, const uint8_t *data, size_t len);
    /** Up (both connections, subscribed) or down. */
    void (*on_state)(void *ud, bool up);
} pm_redis_handler;

typedef struct pm_redis_config {
    const pm_env *env;
    const char *url;         /**< redis://IP[:PORT] (numeric, default port 6379) or unix:PATH */
    const char *channel;     /**< the channel to subscribe to (copied) */
    pm_time command_timeout; /**< a command unanswered this long fails the link (default 2 s) */
    pm_time reconnect_delay; /**< between attempts (default 250 ms) */
} pm_redis_config;

/**
 * Parse a URL as pm_redis_new would: PM_ERR_INVALID when it is not
 * redis://IP[:PORT] or unix:PATH (names are never resolved).
 */
int pm_redis_url_check(const char *url);

/**
 * Create the client on `ev_loop` (pm_ws_ev_loop) and start connecting.
 * PM_ERR_INVALID for a bad URL or no loop, PM_ERR_NOMEM.
 */
int pm_redis_new(void *ev_loop, const pm_redis_config *cfg, const pm_redis_handler *h,
                 pm_redis **out);
/** Close both connections (in-flight commands fail silently: no handler calls) and free. */
void pm_redis_free(pm_redis *r);

/**
 * Send a command (binary-safe arguments); its reply goes to on_reply with
 * `cookie`, unless cookie is 0 (the reply is dropped). PM_ERR_CLOSED when
 * not up (nothing is sent, no handler call), PM_ERR_NOMEM.
 */
int pm_redis_command(pm_redis *r, uint64_t cookie, int argc, const char *const *argv,
                     const size_t *lens);

/** Reconnect and time out commands; call at pm_redis_next_deadline(). */
void pm_redis_tick(pm_redis *r, pm_time now);
pm_time pm_redis_next_deadline(const pm_redis *r);

bool pm_redis_up(const pm_redis *r);

#endif
