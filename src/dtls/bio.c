/*
 * Datagram-preserving write BIO for OpenSSL 3.0 (which lacks
 * BIO_s_dgram_mem, added in 3.2). Every BIO_write becomes exactly one
 * datagram handed to a callback; nothing is buffered here.
 *
 * During the handshake libssl pushes a BIO_f_buffer in front of this BIO and
 * flushes it once per flight chunk (bounded by SSL_set_mtu), so one write is
 * one UDP payload. Afterwards each application record is one write.
 */
#include "dtls/dtls_impl.h"

#include <pthread.h>

typedef struct pm_dtls_bio {
    void (*send)(void *ud, const uint8_t *dgram, size_t len);
    void *ud;
} pm_dtls_bio;

static int bio_write(BIO *b, const char *data, int len)
{
    pm_dtls_bio *st = BIO_get_data(b);
    if (!st || len < 0)
        return -1;
    if (len > 0 && st->send)
        st->send(st->ud, (const uint8_t *)data, (size_t)len);
    /* A datagram socket never accepts part of a datagram: all or nothing.
     * Loss is the peer's and the retransmission timer's problem. */
    return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is ever held back */
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        /* 0 pending bytes: dtls1_do_write subtracts this from the MTU. */
        return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        /* Never asked with SSL_OP_NO_QUERY_MTU; 0 = "unknown" if it is. */
        return 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        /* SSL_set_mtu() is given the UDP payload size already. */
        return 0;
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
        /* We never report EMSGSIZE, so the MTU is never lowered behind us. */
        return 0;
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
    case BIO_CTRL_DGRAM_GET_PEER:
    case BIO_CTRL_DGRAM_SET_PEER:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
    case BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP:
    case BIO_CTRL_DGRAM_GET_SEND_TIMER_EXP:
        /* The timer is driven by the caller (pm_dtls_next_timeout); there is
         * no socket and no peer address at this layer. */
        return 0;
    case BIO_CTRL_PUSH:
    case BIO_CTRL_POP:
        return 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    BIO_set_data(b, NULL);
    return 1;
}

static int bio_destroy(BIO *b)
{
    pm_dtls_bio *st = BIO_get_data(b);
    OPENSSL_free(st);
    BIO_set_data(b, NULL);
    return 1;
}

/* ---- the read side: the one datagram being fed, without a copy ---- */

typedef struct pm_dtls_rbio {
    const uint8_t *data; /* borrowed from pm_dtls_rbio_set's caller */
    size_t len;
} pm_dtls_rbio;

static int rbio_read(BIO *b, char *out, int cap)
{
    pm_dtls_rbio *st = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!st || !out || cap < 0)
        return -1;
    if (st->len == 0) {
        BIO_set_retry_read(b); /* "would block", not EOF */
        return -1;
    }
    /* OpenSSL asks for a whole datagram at once (DTLS reads up to its
     * buffer's size); a datagram is never read in parts, so what does not
     * fit is dropped, as a datagram socket would. */
    size_t n = PM_MIN(st->len, (size_t)cap);
    memcpy(out, st->data, n);
    st->data = NULL;
    st->len = 0;
    return (int)n;
}

static long rbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    pm_dtls_rbio *st = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return st ? (long)st->len : 0;
    case BIO_CTRL_RESET:
        if (st)
            st->len = 0;
        return 1;
    case BIO_CTRL_FLUSH:
        return 1;
    default:
        return bio_ctrl(b, cmd, num, ptr); /* the same datagram answers as the write side */
    }
}

static BIO_METHOD *g_method;  /* write side */
static BIO_METHOD *g_rmethod; /* read side */
static pthread_once_t g_method_once = PTHREAD_ONCE_INIT;

static BIO_METHOD *make_method(const char *name, int (*write)(BIO *, const char *, int),
                               int (*read)(BIO *, char *, int),
                               long (*ctrl)(BIO *, int, long, void *))
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, name);
    if (!m)
        return NULL;
    if ((write && !BIO_meth_set_write(m, write)) || (read && !BIO_meth_set_read(m, read)) ||
        !BIO_meth_set_ctrl(m, ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* BIO_METHODs must outlive every BIO using them: one per process, never freed. */
static void method_init(void)
{
    g_method = make_method("peermesh dgram", bio_write, NULL, bio_ctrl);
    g_rmethod = make_method("peermesh dgram in", NULL, rbio_read, rbio_ctrl);
}

/* A BIO of one of our methods holding `st` (OPENSSL_zalloc'ed; freed with the BIO). */
static BIO *new_bio(BIO_METHOD *const *method, void *st)
{
    pthread_once(&g_method_once, method_init);
    BIO *b = *method && st ? BIO_new(*method) : NULL;
    if (!b) {
        OPENSSL_free(st);
        return NULL;
    }
    BIO_set_data(b, st);
    return b;
}

BIO *pm_dtls_rbio_new(void)
{
    return new_bio(&g_rmethod, OPENSSL_zalloc(sizeof(pm_dtls_rbio)));
}

void pm_dtls_rbio_set(BIO *b, const uint8_t *data, size_t len)
{
    pm_dtls_rbio *st = BIO_get_data(b);
    st->data = data;
    st->len = data ? len : 0;
}

BIO *pm_dtls_bio_new(void (*send)(void *ud, const uint8_t *dgram, size_t len), void *ud)
{
    pm_dtls_bio *st = OPENSSL_zalloc(sizeof *st);
    if (st) {
        st->send = send;
        st->ud = ud;
    }
    return new_bio(&g_method, st);
}
