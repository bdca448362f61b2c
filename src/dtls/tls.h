/*
 * A TLS client over a byte stream (TURN over TLS, RFC 8656 section 3.1:
 * "turns:"), next to the DTLS adapter because only src/dtls sees OpenSSL.
 * Sans-I/O through memory BIOs: ciphertext in and out, plaintext in and
 * out, no socket, no callbacks. TLS 1.2 or later. The server certificate is
 * verified against the system's CA store and the server name (a DNS name,
 * or an IP literal checked against the certificate's IP addresses) unless
 * the caller says not to (test servers with self-signed certificates).
 */
#ifndef PM_TLS_H
#define PM_TLS_H

#include "base/base.h"

typedef struct pm_tls pm_tls;

/**
 * Start a client handshake to `server_name` (also sent as SNI when it is a
 * DNS name): the ClientHello is output at once. PM_ERR_NOMEM, or
 * PM_ERR_CRYPTO when OpenSSL cannot set up the context.
 */
int pm_tls_client_new(const pm_envr *env, const char *server_name, bool verify, pm_tls **out);
void pm_tls_free(pm_tls *t);

/** Ciphertext from the network. PM_OK, or PM_ERR_CRYPTO (handshake or verification failed). */
int pm_tls_feed(pm_tls *t, const uint8_t *data, size_t len);

/**
 * Plaintext to send; held until the handshake is done (at most 1 MiB, else
 * PM_ERR_FULL). PM_ERR_CRYPTO after a failure, PM_ERR_CLOSED after close.
 */
int pm_tls_write(pm_tls *t, const uint8_t *data, size_t len);

/**
 * Decrypted bytes: their count (> 0), 0 when none are ready, PM_ERR_CLOSED
 * once the server sent close_notify, PM_ERR_CRYPTO on a failure.
 */
int pm_tls_read(pm_tls *t, uint8_t *buf, size_t cap);

/** Ciphertext to send: its count (> 0) or 0 when none is queued. */
size_t pm_tls_output(pm_tls *t, uint8_t *buf, size_t cap);

/** Queue close_notify (idempotent). */
void pm_tls_close(pm_tls *t);

bool pm_tls_connected(const pm_tls *t);
/** Why it failed ("certificate verify failed: self-signed certificate", ...), or "". */
const char *pm_tls_error(const pm_tls *t);

#endif
