/* Growable buffer and a ring FIFO of length-prefixed records. */
#include "base.h"

#include <stdio.h>

int pm_buf_reserve(const pm_envr *env, pm_buf *b, size_t cap)
{
    if (cap <= b->cap)
        return PM_OK;
    size_t n = b->cap ? b->cap : 64;
    while (n < cap)
        n *= 2;
    uint8_t *d = pm_realloc(env, b->data, n);
    if (!d)
        return PM_ERR_NOMEM;
    b->data = d;
    b->cap = n;
    return PM_OK;
}

void *pm_grow(const pm_envr *env, void *items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return items;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *p = pm_realloc(env, items, n * elem);
    if (p)
        *cap = n;
    return p;
}

int pm_buf_append(const pm_envr *env, pm_buf *b, const void *data, size_t len)
{
    int rc = pm_buf_reserve(env, b, b->len + len + 1);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0; /* keeps text buffers NUL-terminated */
    return PM_OK;
}

int pm_buf_printf(const pm_envr *env, pm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PM_ERR_INVALID;
    int rc = pm_buf_reserve(env, b, b->len + (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PM_OK;
}

void pm_buf_free(const pm_envr *env, pm_buf *b)
{
    pm_free(env, b->data);
    memset(b, 0, sizeof *b);
}

/*
 * Record layout: [u32 len][u32 tag][payload][pad to 8]. A record never wraps:
 * when it does not fit before the end of the ring, a zero "skip" header
 * (len = UINT32_MAX) marks the rest of the ring unused and it starts at 0.
 */
#define REC_HDR 8u
#define SKIP    UINT32_MAX

static size_t rec_size(size_t len)
{
    return (REC_HDR + len + 7u) & ~(size_t)7u;
}

void pm_fifo_init(pm_fifo *f, size_t limit)
{
    memset(f, 0, sizeof *f);
    f->limit = limit;
}

static int fifo_grow(const pm_envr *env, pm_fifo *f, size_t need)
{
    /* Start small: most queues of an idle connection hold a few records. */
    size_t ncap = f->cap ? f->cap * 2 : 512;
    while (ncap < need * 2 + f->used)
        ncap *= 2;
    uint8_t *nd = pm_alloc(env, ncap);
    if (!nd)
        return PM_ERR_NOMEM;
    /* Linearise existing records into the new ring. */
    size_t off = 0, pos = f->head;
    for (size_t i = 0; i < f->count; i++) {
        uint32_t len;
        memcpy(&len, f->data + pos, 4);
        if (len == SKIP) {
            pos = 0;
            i--;
            continue;
        }
        size_t rs = rec_size(len);
        memcpy(nd + off, f->data + pos, rs);
        off += rs;
        pos += rs;
        if (pos + REC_HDR > f->cap)
            pos = 0;
    }
    if (f->lent && !f->pinned)
        f->pinned = f->data; /* the lent record stays valid where it was lent */
    else
        pm_free(env, f->data);
    f->data = nd;
    f->cap = ncap;
    f->head = 0;
    f->tail = off;
    f->used = off;
    return PM_OK;
}

int pm_fifo_push(const pm_envr *env, pm_fifo *f, uint32_t tag, const void *a, size_t alen,
                 const void *b, size_t blen)
{
    if (f->pinned && !f->lent) { /* the loan ended at the last pop */
        pm_free(env, f->pinned);
        f->pinned = NULL;
    }
    size_t len = alen + blen;
    if (len >= SKIP)
        return PM_ERR_TOO_BIG;
    size_t rs = rec_size(len);
    if (f->limit && f->payload + len > f->limit && f->count > 0)
        return PM_ERR_FULL;
    for (;;) {
        if (f->cap) {
            if (f->count == 0) {
                f->head = f->tail = f->used = 0;
            }
            if (f->tail >= f->head) {
                /* free space: [tail, cap) and [0, head) */
                if (f->cap - f->tail >= rs && !(f->count && f->tail == f->head))
                    break;
                if (f->head > rs && f->tail != f->head) {
                    if (f->cap - f->tail >= 4) {
                        uint32_t s = SKIP;
                        memcpy(f->data + f->tail, &s, 4);
                    }
                    f->used += f->cap - f->tail;
                    f->tail = 0;
                    break;
                }
            } else if (f->head - f->tail > rs) {
                break;
            }
        }
        int rc = fifo_grow(env, f, rs);
        if (rc)
            return rc;
    }
    uint8_t *p = f->data + f->tail;
    uint32_t l32 = (uint32_t)len;
    memcpy(p, &l32, 4);
    memcpy(p + 4, &tag, 4);
    if (alen)
        memcpy(p + REC_HDR, a, alen);
    if (blen)
        memcpy(p + REC_HDR + alen, b, blen);
    f->tail += rs;
    f->used += rs;
    f->count++;
    f->payload += len;
    return PM_OK;
}

static void fifo_skip(pm_fifo *f)
{
    uint32_t len;
    if (f->count == 0)
        return;
    if (f->cap - f->head < REC_HDR) {
        f->used -= f->cap - f->head;
        f->head = 0;
        return;
    }
    memcpy(&len, f->data + f->head, 4);
    if (len == SKIP) {
        f->used -= f->cap - f->head;
        f->head = 0;
    }
}

bool pm_fifo_peek(const pm_fifo *f, uint32_t *tag, const uint8_t **data, size_t *len)
{
    if (f->count == 0)
        return false;
    fifo_skip((pm_fifo *)f);
    uint32_t l32;
    memcpy(&l32, f->data + f->head, 4);
    if (tag)
        memcpy(tag, f->data + f->head + 4, 4);
    *data = f->data + f->head + REC_HDR;
    *len = l32;
    return true;
}

void pm_fifo_pop(pm_fifo *f)
{
    if (f->count == 0)
        return;
    f->lent = false; /* the head is the lent record, if any; its old ring goes at the next push */
    f->lent_len = 0;
    fifo_skip(f);
    uint32_t l32;
    memcpy(&l32, f->data + f->head, 4);
    size_t rs = rec_size(l32);
    f->head += rs;
    f->used -= rs;
    f->count--;
    f->payload -= l32;
    if (f->count == 0) {
        f->head = f->tail = f->used = 0;
    } else if (f->head == f->cap) {
        f->head = 0;
    }
}

bool pm_fifo_lend(const pm_envr *env, pm_fifo *f, uint32_t *tag, const uint8_t **data, size_t *len)
{
    if (f->lent)
        pm_fifo_pop(f);
    /* The previous loan is over: its pinned ring goes now, so that a ring
     * pinned during this loan is always the one this loan lives in. */
    pm_free(env, f->pinned);
    f->pinned = NULL;
    if (!pm_fifo_peek(f, tag, data, len))
        return false;
    f->lent = true;
    f->lent_len = *len;
    return true;
}

void pm_fifo_iter_init(const pm_fifo *f, pm_fifo_iter *it)
{
    it->pos = f->head;
    it->left = f->count;
}

bool pm_fifo_iter_next(const pm_fifo *f, pm_fifo_iter *it, uint32_t *tag, const uint8_t **data,
                       size_t *len)
{
    if (it->left == 0)
        return false;
    uint32_t l32 = SKIP;
    if (f->cap - it->pos >= REC_HDR)
        memcpy(&l32, f->data + it->pos, 4);
    if (l32 == SKIP) { /* the rest of the ring is unused (see fifo_skip) */
        it->pos = 0;
        memcpy(&l32, f->data, 4);
    }
    if (tag)
        memcpy(tag, f->data + it->pos + 4, 4);
    *data = f->data + it->pos + REC_HDR;
    *len = l32;
    it->pos += rec_size(l32);
    if (it->pos == f->cap)
        it->pos = 0;
    it->left--;
    return true;
}

void pm_fifo_free(const pm_envr *env, pm_fifo *f)
{
    pm_free(env, f->data);
    pm_free(env, f->pinned);
    size_t limit = f->limit;
    memset(f, 0, sizeof *f);
    f->limit = limit;
}

/* ---- fixed-size item queue ------------------------------------------- */

void pm_queue_init(pm_queue *q, size_t item_size)
{
    memset(q, 0, sizeof *q);
    q->item_size = item_size;
}

int pm_queue_push(const pm_envr *env, pm_queue *q, const void *item)
{
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        uint8_t *n = pm_alloc(env, ncap * q->item_size);
        if (!n)
            return PM_ERR_NOMEM;
        /* Linearise: the items from head to the end of the ring, then the
         * ones that wrapped to its start. */
        size_t first = PM_MIN(q->count, q->cap - q->head);
        if (first)
            memcpy(n, q->items + q->head * q->item_size, first * q->item_size);
        if (q->count > first)
            memcpy(n + first * q->item_size, q->items, (q->count - first) * q->item_size);
        pm_free(env, q->items);
        q->items = n;
        q->cap = ncap;
        q->head = 0;
    }
    size_t at = (q->head + q->count) % q->cap;
    memcpy(q->items + at * q->item_size, item, q->item_size);
    q->count++;
    return PM_OK;
}

void *pm_queue_front(const pm_queue *q)
{
    return q->count ? q->items + q->head * q->item_size : NULL;
}

void pm_queue_pop(pm_queue *q)
{
    if (q->count == 0)
        return;
    q->head = (q->head + 1) % q->cap;
    q->count--;
}

void pm_queue_free(const pm_envr *env, pm_queue *q)
{
    pm_free(env, q->items);
    pm_queue_init(q, q->item_size);
}
