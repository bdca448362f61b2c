/* TLS client over memory BIOs for TURN over TLS (see tls.h). */
#include "dtls/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>

#define TLS_PENDING_MAX (1u << 20)

struct pm_tls {
    pm_envr env;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    pm_buf pending;   /* plaintext written before the handshake finished */
    bool connected, failed, closed, peer_closed;
    char error[160];
};

static SSL_CTX *g_ctx;
static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;

/* One client context per process: loading the CA store per connection
 * would cost more than the handshake. Verification is set per connection. */
static void ctx_init(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        ERR_clear_error(); /* no CA store: verification then fails, with its reason */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    g_ctx = ctx;
}

static bool is_ip_literal(const char *host)
{
    pm_addr a;
    return pm_addr_parse(&a, host, 0) == PM_OK;
}

static void set_failed(pm_tls *t, const char *what)
{
    if (t->failed)
        return;
    t->failed = true;
    long vr = t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    char detail[120] = "";
    if (vr != X509_V_OK)
        snprintf(detail, sizeof detail, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(t->error, sizeof t->error, "%s%s%s", what, detail[0] ? ": " : "", detail);
    PM_DEBUG(&t->env, "tls", "%s", t->error);
}

int pm_tls_client_new(const pm_envr *env, const char *server_name, bool verify, pm_tls **out)
{
    if (out)
        *out = NULL;
    if (!env || !server_name || !out)
        return PM_ERR_INVALID;
    pthread_once(&g_ctx_once, ctx_init);
    if (!g_ctx)
        return PM_ERR_CRYPTO;
    pm_tls *t = pm_calloc(env, sizeof *t);
    if (!t)
        return PM_ERR_NOMEM;
    t->env = *env;
    t->ssl = SSL_new(g_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        pm_free(env, t);
        return PM_ERR_NOMEM;
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty: "try again", not end of stream */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    int ok = 1;
    if (verify) {
        SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
        if (is_ip_literal(server_name))
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name);
        else
            ok = SSL_set1_host(t->ssl, server_name);
    } else {
        SSL_set_verify(t->ssl, SSL_VERIFY_NONE, NULL);
    }
    if (ok && !is_ip_literal(server_name)) /* RFC 6066 3: no SNI for IP literals */
        ok = SSL_set_tlsext_host_name(t->ssl, server_name);
    if (!ok) {
        pm_tls_free(t);
        ERR_clear_error();
        return PM_ERR_CRYPTO;
    }
    (void)pm_tls_feed(t, NULL, 0); /* ClientHello */
    *out = t;
    return PM_OK;
}

void pm_tls_free(pm_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    pm_buf_free(&t->env, &t->pending);
    pm_envr env = t->env;
    pm_free(&env, t);
}

static int flush_pending(pm_tls *t)
{
    size_t off = 0;
    while (off < t->pending.len) {
        size_t n = PM_MIN(t->pending.len - off, (size_t)INT32_MAX);
        int w = SSL_write(t->ssl, t->pending.data + off, (int)n);
        if (w <= 0) {
            set_failed(t, "TLS write failed");
            return PM_ERR_CRYPTO;
        }
        off += (size_t)w;
    }
    t->pending.len = 0;
    return PM_OK;
}

int pm_tls_feed(pm_tls *t, const uint8_t *data, size_t len)
{
    if (t->failed)
        return PM_ERR_CRYPTO;
    if (len && BIO_write(t->rbio, data, (int)len) != (int)len)
        return PM_ERR_NOMEM;
    if (t->connected)
        return PM_OK;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->connected = true;
        PM_DEBUG(&t->env, "tls", "connected (%s, %s)", SSL_get_version(t->ssl),
                 SSL_get_cipher_name(t->ssl));
        return flush_pending(t);
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return PM_OK;
    set_failed(t, "TLS handshake failed");
    return PM_ERR_CRYPTO;
}

int pm_tls_write(pm_tls *t, const uint8_t *data, size_t len)
{
    if (t->failed)
        return PM_ERR_CRYPTO;
    if (t->closed)
        return PM_ERR_CLOSED;
    if (!t->connected) {
        if (t->pending.len + len > TLS_PENDING_MAX)
            return PM_ERR_FULL;
        return pm_buf_append(&t->env, &t->pending, data, len);
    }
    if (pm_buf_append(&t->env, &t->pending, data, len) != PM_OK)
        return PM_ERR_NOMEM;
    return flush_pending(t);
}

int pm_tls_read(pm_tls *t, uint8_t *buf, size_t cap)
{
    if (t->failed)
        return PM_ERR_CRYPTO;
    if (t->peer_closed)
        return PM_ERR_CLOSED;
    if (!t->connected || cap == 0)
        return 0;
    int r = SSL_read(t->ssl, buf, (int)PM_MIN(cap, (size_t)INT32_MAX));
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->peer_closed = true;
        return PM_ERR_CLOSED;
    }
    set_failed(t, "TLS read failed");
    return PM_ERR_CRYPTO;
}

size_t pm_tls_output(pm_tls *t, uint8_t *buf, size_t cap)
{
    int r = BIO_read(t->wbio, buf, (int)PM_MIN(cap, (size_t)INT32_MAX));
    return r > 0 ? (size_t)r : 0;
}

void pm_tls_close(pm_tls *t)
{
    if (t->closed)
        return;
    t->closed = true;
    if (t->connected && !t->failed) {
        (void)SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}

bool pm_tls_connected(const pm_tls *t)
{
    return t->connected && !t->failed;
}

const char *pm_tls_error(const pm_tls *t)
{
    return t->error;
}
