/*
 * Self-signed DTLS certificate (RFC 8827 section 6.5: ECDSA P-256 must be
 * supported) with its SHA-256 fingerprint for a=fingerprint (RFC 8122), and
 * the SSL_CTX built around it.
 */
#include "dtls/dtls_impl.h"

#include <pthread.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>

/* Chrome's RTCCertificate default lifetime; peers never check validity
 * (the fingerprint is what authenticates) but a sane window avoids noise. */
#define CERT_LIFETIME_S (30L * 24 * 3600)
/* Backdate notBefore so a peer whose clock runs a bit behind still accepts. */
#define CERT_BACKDATE_S   3600L
#define CERT_SERIAL_BYTES 16

/* RFC 8827 section 6.5 requires TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256; the
 * other two are what browsers also offer. Our key is ECDSA, so only ECDSA
 * suites can work as server anyway. */
#define DTLS_CIPHERS                                                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"
#define DTLS_GROUPS "X25519:P-256"

void pm_dtls_hex_colon(const uint8_t *md, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        if (i)
            *p++ = ':';
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    *p = '\0';
}

static void log_ssl_error(const pm_envr *env, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    PM_ERROR(env, "dtls", "certificate: %s failed: %s", what, buf);
}

static X509 *make_x509(const pm_envr *env, EVP_PKEY *key)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    X509_NAME *name = NULL;
    uint8_t serial[CERT_SERIAL_BYTES];
    const char *what = "X509_new";
    if (!x)
        goto fail;
    what = "serial";
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* RFC 5280 section 4.1.2.2: positive */
    serial[0] |= 0x01; /* and exactly 16 bytes, no leading zero */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto fail;
    what = "validity";
    if (!X509_set_version(x, X509_VERSION_3) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -CERT_BACKDATE_S) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), CERT_LIFETIME_S))
        goto fail;
    what = "name";
    name = X509_NAME_new();
    if (!name ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"peermesh", -1,
                                    -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name))
        goto fail;
    what = "sign";
    if (!X509_set_pubkey(x, key) || X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    BN_free(bn);
    X509_NAME_free(name);
    return x;
fail:
    log_ssl_error(env, what);
    BN_free(bn);
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static SSL_CTX *make_ctx(const pm_envr *env, pm_rtc_certificate *c)
{
    const char *what = "SSL_CTX_new";
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx)
        goto fail;
    what = "protocol/ciphers";
    /* DTLS 1.0 is obsolete (RFC 8996); browsers all speak 1.2. */
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, DTLS_CIPHERS) || !SSL_CTX_set1_groups_list(ctx, DTLS_GROUPS))
        goto fail;
    /* NO_QUERY_MTU: our BIO has no socket to ask, SSL_set_mtu decides.
     * NO_RENEGOTIATION: forbidden by RFC 8827 section 6.5.
     * NO_TICKET: no resumption across peer connections, and it keeps the
     * server's final flight small. NO_COMPRESSION: RFC 8261 section 5.
     * No SSL_OP_COOKIE_EXCHANGE: ICE consent already proves the address and
     * a HelloVerifyRequest would cost a round trip. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(ctx, 1);
    /* use_srtp (RFC 5764) even though we carry no media: pion 3.1 fails the
     * handshake when no SRTP profile is negotiated ("insufficient security"
     * as a client, "no SRTP Protection Profile was chosen" as a server), as
     * the interop tests showed. Browsers and aiortc accept either way. */
    if (SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0) {
        what = "SSL_CTX_set_tlsext_use_srtp";
        goto fail;
    }
    /* VERIFY_PEER on a server also sends CertificateRequest: both sides of a
     * WebRTC connection authenticate (RFC 8827 section 6.5). */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, pm_dtls_verify_cb, NULL);
    what = "key/certificate";
    if (SSL_CTX_use_certificate(ctx, c->x509) != 1 || SSL_CTX_use_PrivateKey(ctx, c->key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    return ctx;
fail:
    log_ssl_error(env, what);
    SSL_CTX_free(ctx);
    return NULL;
}

static void cert_destroy(pm_rtc_certificate *c)
{
    SSL_CTX_free(c->ctx);
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
    pm_envr env = c->env;
    pm_free(&env, c);
}

int pm_rtc_certificate_generate(pm_rtc_certificate **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_envr env;
    pm_env_resolve(&env, NULL);
    pm_rtc_certificate *c = pm_calloc(&env, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    atomic_init(&c->refs, 1);
    c->env = env;
    ERR_clear_error();
    c->key = EVP_EC_gen("P-256");
    if (!c->key) {
        log_ssl_error(&env, "EVP_EC_gen");
        cert_destroy(c);
        return PM_ERR_CRYPTO;
    }
    c->x509 = make_x509(&env, c->key);
    if (!c->x509) {
        cert_destroy(c);
        return PM_ERR_CRYPTO;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(c->x509, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
        log_ssl_error(&env, "X509_digest");
        cert_destroy(c);
        return PM_ERR_CRYPTO;
    }
    memcpy(c->fingerprint, "sha-256 ", 8);
    pm_dtls_hex_colon(md, mdlen, c->fingerprint + 8);
    c->ctx = make_ctx(&env, c);
    if (!c->ctx) {
        cert_destroy(c);
        return PM_ERR_CRYPTO;
    }
    *out = c;
    return PM_OK;
}

pm_rtc_certificate *pm_dtls_cert_ref(pm_rtc_certificate *cert)
{
    if (cert)
        atomic_fetch_add_explicit(&cert->refs, 1, memory_order_relaxed);
    return cert;
}

void pm_rtc_certificate_free(pm_rtc_certificate *cert)
{
    if (!cert)
        return;
    /* acq_rel: the last owner must see every other owner's writes before
     * tearing the object down. */
    if (atomic_fetch_sub_explicit(&cert->refs, 1, memory_order_acq_rel) == 1)
        cert_destroy(cert);
}

const char *pm_rtc_certificate_fingerprint(const pm_rtc_certificate *cert)
{
    return cert ? cert->fingerprint : NULL;
}

/* The process-wide certificate. A mutex rather than pthread_once so that a
 * failed generation (e.g. out of memory) is retried on the next call. It is
 * never freed: peers may hold it until process exit. */
static pthread_mutex_t g_default_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_rtc_certificate *g_default_cert;

int pm_dtls_cert_default(pm_rtc_certificate **out)
{
    if (!out)
        return PM_ERR_INVALID;
    int rc = PM_OK;
    pthread_mutex_lock(&g_default_lock);
    if (!g_default_cert)
        rc = pm_rtc_certificate_generate(&g_default_cert);
    *out = rc == PM_OK ? pm_dtls_cert_ref(g_default_cert) : NULL;
    pthread_mutex_unlock(&g_default_lock);
    return rc;
}
