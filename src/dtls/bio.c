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

static BIO_METHOD *g_method;
static pthread_once_t g_method_once = PTHREAD_ONCE_INIT;

/* BIO_METHODs must outlive every BIO using them: one per process, never freed. */
static void method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peermesh dgram");
    if (!m)
        return;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_ctrl(m, bio_ctrl) ||
        !BIO_meth_set_create(m, bio_create) || !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    g_method = m;
}

BIO *pm_dtls_bio_new(void (*send)(void *ud, const uint8_t *dgram, size_t len), void *ud)
{
    pthread_once(&g_method_once, method_init);
    if (!g_method)
        return NULL;
    pm_dtls_bio *st = OPENSSL_zalloc(sizeof *st);
    if (!st)
        return NULL;
    st->send = send;
    st->ud = ud;
    BIO *b = BIO_new(g_method);
    if (!b) {
        OPENSSL_free(st);
        return NULL;
    }
    BIO_set_data(b, st);
    return b;
}
