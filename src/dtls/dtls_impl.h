/*
 * Internals shared by the DTLS adapter's files (and its unit test): the
 * certificate object and the datagram-preserving write BIO. Only src/dtls/
 * (and tests/unit/test_dtls.c) include OpenSSL headers.
 */
#ifndef PM_DTLS_IMPL_H
#define PM_DTLS_IMPL_H

#include "dtls/dtls.h"

#include <stdatomic.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* "sha-256 " + 32 bytes as "AB:" minus the last colon + NUL. */
#define PM_DTLS_FP_STRLEN (8 + 32 * 3)

/*
 * The public pm_rtc_certificate. Immutable after generation except for the
 * reference count, so it may be shared by peers on different threads (the
 * SSL_CTX is only read once configured; OpenSSL refcounts it internally).
 */
struct pm_rtc_certificate {
    atomic_int refs;
    pm_envr env; /* default environment: allocation and logging */
    EVP_PKEY *key;
    X509 *x509;
    /* One SSL_CTX per certificate: building a context (cipher list parsing,
     * key checks) per connection would dominate the connection setup cost. */
    SSL_CTX *ctx;
    char fingerprint[PM_DTLS_FP_STRLEN]; /* "sha-256 AB:CD:..." */
};

/** Verify callback installed on every certificate's SSL_CTX (dtls.c). */
int pm_dtls_verify_cb(X509_STORE_CTX *store, void *arg);

/**
 * A write-only BIO that hands every BIO_write to `send` as one datagram.
 * OpenSSL writes one flight chunk (at most the MTU) or one record per call,
 * so datagram boundaries survive (a BIO_s_mem would merge a flight).
 */
BIO *pm_dtls_bio_new(void (*send)(void *ud, const uint8_t *dgram, size_t len), void *ud);

/**
 * The read BIO: it serves the one datagram set by pm_dtls_rbio_set() to
 * OpenSSL's next read, from the caller's memory (no copy into a memory
 * BIO), then reads as empty ("would block") until the next one. The
 * caller keeps the datagram alive until it has driven OpenSSL, then clears
 * it with pm_dtls_rbio_set(b, NULL, 0).
 */
BIO *pm_dtls_rbio_new(void);
void pm_dtls_rbio_set(BIO *b, const uint8_t *data, size_t len);

/**
 * Format `len` digest bytes as upper-case hex pairs joined by ':' into out
 * (at least 3 * len bytes).
 */
void pm_dtls_hex_colon(const uint8_t *md, size_t len, char *out);

#endif
