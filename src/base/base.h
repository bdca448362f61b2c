/*
 * Internal base layer: resolved environment, allocation, logging, buffers.
 * libc only. Every core object keeps a `const pm_envr *` (a resolved copy of
 * the user's pm_env in which no member is NULL).
 */
#ifndef PM_BASE_H
#define PM_BASE_H

#include "peermesh/common.h"

#include <stdarg.h>
#include <string.h>

typedef struct pm_socket_driver pm_socket_driver; /* base/driver.h */

/** A resolved environment: every function pointer is set. */
typedef struct pm_envr {
    pm_env e;
    /** Opens and drives sockets for objects in socket mode (base/driver.h). */
    const pm_socket_driver *sockets;
} pm_envr;

/** Fill `out` from `in` (may be NULL), taking defaults from the platform. */
void pm_env_resolve(pm_envr *out, const pm_env *in);

/**
 * The platform's defaults (src/io natively, src/web in a page): every member
 * of *defaults set (log_level_set true), and the socket driver of socket
 * mode (NULL where there is none).
 */
void pm_env_platform(pm_env *defaults, const pm_socket_driver **sockets);

static inline void *pm_alloc(const pm_envr *env, size_t n)
{
    return env->e.alloc(env->e.alloc_ud, n);
}
void *pm_calloc(const pm_envr *env, size_t n);
static inline void *pm_realloc(const pm_envr *env, void *p, size_t n)
{
    return env->e.realloc(env->e.alloc_ud, p, n);
}
static inline void pm_free(const pm_envr *env, void *p)
{
    if (p)
        env->e.free(env->e.alloc_ud, p);
}
char *pm_strdup(const pm_envr *env, const char *s);
char *pm_strndup(const pm_envr *env, const char *s, size_t n);

static inline pm_time pm_env_now(const pm_envr *env)
{
    return env->e.now(env->e.clock_ud);
}
int pm_random(const pm_envr *env, void *buf, size_t len);
uint32_t pm_random_u32(const pm_envr *env);
uint64_t pm_random_u64(const pm_envr *env);
/** Random string of ICE characters (ALPHA / DIGIT / '+' / '/'), NUL-terminated. */
void pm_random_ice_chars(const pm_envr *env, char *out, size_t n);

void pm_log(const pm_envr *env, pm_log_level lvl, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define PM_LOG_ON(env, lvl)      ((lvl) <= (env)->e.log_level)
#define PM_ERROR(env, comp, ...) pm_log((env), PM_LOG_ERROR, (comp), __VA_ARGS__)
#define PM_WARN(env, comp, ...)  pm_log((env), PM_LOG_WARN, (comp), __VA_ARGS__)
#define PM_INFO(env, comp, ...)                                                                    \
    do {                                                                                           \
        if (PM_LOG_ON(env, PM_LOG_INFO))                                                           \
            pm_log((env), PM_LOG_INFO, (comp), __VA_ARGS__);                                       \
    } while (0)
#define PM_DEBUG(env, comp, ...)                                                                   \
    do {                                                                                           \
        if (PM_LOG_ON(env, PM_LOG_DEBUG))                                                          \
            pm_log((env), PM_LOG_DEBUG, (comp), __VA_ARGS__);                                      \
    } while (0)
#define PM_TRACE(env, comp, ...)                                                                   \
    do {                                                                                           \
        if (PM_LOG_ON(env, PM_LOG_TRACE))                                                          \
            pm_log((env), PM_LOG_TRACE, (comp), __VA_ARGS__);                                      \
    } while (0)

#define PM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PM_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define PM_MAX(a, b)    ((a) > (b) ? (a) : (b))

/* Big-endian helpers for codecs. */
static inline uint16_t pm_rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t pm_rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t pm_rd64(const uint8_t *p)
{
    return ((uint64_t)pm_rd32(p) << 32) | pm_rd32(p + 4);
}
static inline void pm_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void pm_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void pm_wr64(uint8_t *p, uint64_t v)
{
    pm_wr32(p, (uint32_t)(v >> 32));
    pm_wr32(p + 4, (uint32_t)v);
}

/* Little-endian helpers (Godot's encode_uint32 and friends). */
static inline uint32_t pm_rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t pm_rd64le(const uint8_t *p)
{
    return (uint64_t)pm_rd32le(p) | ((uint64_t)pm_rd32le(p + 4) << 32);
}
static inline void pm_wr32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void pm_wr64le(uint8_t *p, uint64_t v)
{
    pm_wr32le(p, (uint32_t)v);
    pm_wr32le(p + 4, (uint32_t)(v >> 32));
}

/** The value of one hexadecimal digit (either case), -1 for any other character. */
static inline int pm_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/** A growable byte buffer. */
typedef struct pm_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} pm_buf;
int pm_buf_reserve(const pm_envr *env, pm_buf *b, size_t cap);
/**
 * Room for `need` elements of `elem` bytes in `items` (capacity *cap, grown
 * by doubling from 8): the array, moved or not, with *cap updated; NULL when
 * out of memory, and then `items` and *cap are unchanged.
 */
void *pm_grow(const pm_envr *env, void *items, size_t *cap, size_t need, size_t elem);
int pm_buf_append(const pm_envr *env, pm_buf *b, const void *data, size_t len);
int pm_buf_printf(const pm_envr *env, pm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pm_buf_free(const pm_envr *env, pm_buf *b);

/**
 * A FIFO of variable-length byte records stored in one ring of memory
 * (length-prefixed). Used for datagram queues and message queues so that a
 * push is one memcpy and no per-message malloc.
 */
typedef struct pm_fifo {
    uint8_t *data;
    size_t cap;     /* bytes allocated */
    size_t head;    /* offset of first record */
    size_t tail;    /* offset one past last record */
    size_t used;    /* bytes in use including headers */
    size_t count;   /* records */
    size_t payload; /* sum of record payload lengths */
    size_t limit;   /* max cap (0 = unbounded) */
    bool lent;      /* the first record is lent out (pm_fifo_lend) */
    size_t lent_len;
    uint8_t *pinned; /* the ring the lent record lives in, kept when the ring grew */
} pm_fifo;
void pm_fifo_init(pm_fifo *f, size_t limit);
/** Push a record with a 32-bit tag; PM_ERR_FULL when it would exceed limit. */
int pm_fifo_push(const pm_envr *env, pm_fifo *f, uint32_t tag, const void *a, size_t alen,
                 const void *b, size_t blen);
/** Peek the first record; returns false when empty. Pointer borrowed until pop. */
bool pm_fifo_peek(const pm_fifo *f, uint32_t *tag, const uint8_t **data, size_t *len);
/**
 * Drop the first record. Only the ring's indices change: a popped record's
 * bytes stay readable until the next push or free, so a caller may pop
 * several records and use them together before it pushes again.
 */
void pm_fifo_pop(pm_fifo *f);
/**
 * The borrowed-head pattern: end the previous loan (popping that record),
 * then lend the new first record. A lent record stays where it is, even
 * when pushes grow the ring, until it is popped (by the next lend, or
 * pm_fifo_pop) or the FIFO is freed. It still counts in count and payload
 * (subtract `lent` and `lent_len` for what is waiting). False when empty.
 */
bool pm_fifo_lend(const pm_envr *env, pm_fifo *f, uint32_t *tag, const uint8_t **data, size_t *len);
/** A read position for walking records without popping them. */
typedef struct pm_fifo_iter {
    size_t pos;  /* offset of the next record */
    size_t left; /* records not visited yet */
} pm_fifo_iter;
void pm_fifo_iter_init(const pm_fifo *f, pm_fifo_iter *it);
/** The next record, or false at the end. Pointers valid until the next push or pop. */
bool pm_fifo_iter_next(const pm_fifo *f, pm_fifo_iter *it, uint32_t *tag, const uint8_t **data,
                       size_t *len);
void pm_fifo_free(const pm_envr *env, pm_fifo *f);

/** A FIFO of fixed-size items in one growable ring (typed event queues). */
typedef struct pm_queue {
    uint8_t *items;
    size_t item_size;
    size_t cap; /* items allocated */
    size_t head;
    size_t count;
} pm_queue;
void pm_queue_init(pm_queue *q, size_t item_size);
/** Append a copy of *item. PM_ERR_NOMEM when the ring cannot grow. */
int pm_queue_push(const pm_envr *env, pm_queue *q, const void *item);
/** The first item, or NULL when empty. Borrowed until the next push or pop. */
void *pm_queue_front(const pm_queue *q);
void pm_queue_pop(pm_queue *q);
void pm_queue_free(const pm_envr *env, pm_queue *q);

/* Hashes written here (libc only) because the wire layer needs them. */
uint32_t pm_crc32(const uint8_t *p, size_t n);  /* ISO-HDLC, as in STUN FINGERPRINT */
uint32_t pm_crc32c(const uint8_t *p, size_t n); /* Castagnoli, as in SCTP */
/* The CRC32c of the concatenation A || B, given crc = pm_crc32c(A). */
uint32_t pm_crc32c_continue(uint32_t crc, const uint8_t *p, size_t n);
void pm_sha1(const uint8_t *p, size_t n, uint8_t out[20]);
void pm_hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *p, size_t n, uint8_t out[20]);
/* Incremental HMAC-SHA1 over two pieces (STUN integrity needs a patched header). */
void pm_hmac_sha1_2(const uint8_t *key, size_t klen, const uint8_t *p1, size_t n1,
                    const uint8_t *p2, size_t n2, uint8_t out[20]);
void pm_md5(const uint8_t *p, size_t n, uint8_t out[16]);

/**
 * A key for per-address accounting: an IPv4 address, or the /64 of an IPv6
 * one (the unit a host or a home usually gets). 0 for NULL or no address.
 */
uint64_t pm_addr_key(const pm_addr *a);

/** True when [p, p+n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates). */
bool pm_utf8_valid(const uint8_t *p, size_t n);

#endif
