/*
 * DTLS 1.2 transport over OpenSSL 3 (the only module that sees OpenSSL's SSL
 * API). Sans-I/O: datagrams in, datagrams and plaintext out through the
 * callbacks, which are only ever called from inside pm_dtls_* calls.
 *
 * Time: OpenSSL reads the wall clock itself for its retransmission
 * timer; we shape the schedule with DTLS_set_timer_cb (initial timeout
 * clamp(2 x RTT, 50 ms, 3 s), doubling) and report it as a deadline.
 */
#ifndef PM_DTLS_H
#define PM_DTLS_H

#include "base/base.h"
#include "peermesh/rtc.h"

/* Certificate (the public pm_rtc_certificate is this object). Refcounted. */
pm_rtc_certificate *pm_dtls_cert_ref(pm_rtc_certificate *cert);
/** The process-wide certificate, generated on first use (thread-safe). New reference. */
int pm_dtls_cert_default(pm_rtc_certificate **out);

typedef enum pm_dtls_state {
    PM_DTLS_NEW = 0,
    PM_DTLS_CONNECTING,
    PM_DTLS_CONNECTED, /**< handshake done AND remote fingerprint verified */
    PM_DTLS_CLOSED,    /**< close_notify sent or received */
    PM_DTLS_FAILED,    /**< alert, fingerprint mismatch, handshake timeout */
} pm_dtls_state;

typedef struct pm_dtls_callbacks {
    void *ud;
    /** One datagram to send (copy it; the pointer dies on return). */
    void (*send)(void *ud, const uint8_t *dgram, size_t len);
    /** One decrypted application record (copy it). Only in CONNECTED. */
    void (*recv)(void *ud, const uint8_t *data, size_t len);
    /** State change. */
    void (*state)(void *ud, pm_dtls_state st);
} pm_dtls_callbacks;

typedef struct pm_dtls pm_dtls;

/**
 * Create an endpoint. `client` = true for a=setup:active (we send the
 * ClientHello), false for passive (server; CertificateRequest is sent so both
 * sides authenticate). The endpoint takes its own reference to `cert` (the
 * caller keeps its own). Inside the recv and state callbacks only
 * pm_dtls_write and pm_dtls_close may be called on the endpoint.
 */
int pm_dtls_new(const pm_envr *env, pm_rtc_certificate *cert, bool client,
                const pm_dtls_callbacks *cb, pm_dtls **out);
void pm_dtls_free(pm_dtls *d);

/**
 * Set the expected remote fingerprint ("sha-256", "AB:CD:..."; sha-1,
 * sha-224, sha-256, sha-384, sha-512 accepted, hex case-insensitive). May be
 * called before or after the handshake finishes; the connection never
 * becomes CONNECTED (and never delivers data) until it matches. A mismatch
 * sends a fatal alert and goes FAILED. PM_ERR_INVALID for a malformed value.
 */
int pm_dtls_set_remote_fingerprint(pm_dtls *d, const char *algo, const char *hex);

/** Round-trip estimate used for the first retransmission timeout. */
void pm_dtls_set_rtt_hint(pm_dtls *d, pm_time rtt);

/** Begin the handshake (client: sends ClientHello). Datagrams fed before start() are buffered. */
int pm_dtls_start(pm_dtls *d, pm_time now);

/** Feed one received datagram (RFC 7983 first byte 20..63). */
int pm_dtls_handle_datagram(pm_dtls *d, pm_time now, const uint8_t *data, size_t len);

/**
 * The largest record pm_dtls_write sends: an SCTP packet is at most 1184
 * bytes (src/sctp/sctp.h). Bounding it keeps OpenSSL's write buffer at
 * ~1.5 KB per endpoint instead of ~17 KB. Records received may be larger.
 */
#define PM_DTLS_MAX_RECORD 1200

/**
 * Encrypt and send one application record (an SCTP packet). PM_ERR_STATE
 * unless CONNECTED, PM_ERR_TOO_BIG above PM_DTLS_MAX_RECORD bytes.
 */
int pm_dtls_write(pm_dtls *d, const uint8_t *data, size_t len);

pm_time pm_dtls_next_timeout(const pm_dtls *d, pm_time now);
int pm_dtls_handle_timeout(pm_dtls *d, pm_time now);

/** Send close_notify (idempotent); state becomes CLOSED. */
void pm_dtls_close(pm_dtls *d);

pm_dtls_state pm_dtls_get_state(const pm_dtls *d);
/** Negotiated cipher name, for logs. */
const char *pm_dtls_cipher(const pm_dtls *d);

#endif
