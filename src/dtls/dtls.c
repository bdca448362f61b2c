/*
 * DTLS 1.2 endpoint over OpenSSL 3.0 memory BIOs (sans-I/O).
 *
 * Read side: a BIO_s_mem that holds at most one datagram at a time (OpenSSL
 * reads a whole datagram per BIO_read, so two queued datagrams would be
 * merged). Write side: pm_dtls_bio_new (bio.c), one datagram per write.
 *
 * Authentication (RFC 8827 section 6.5, RFC 5763 section 5): the peer's
 * self-signed certificate is accepted by the X.509 verifier and instead
 * matched against the SDP fingerprint. If that fingerprint is not known when
 * the handshake finishes (an early ClientHello), the endpoint waits in
 * "handshake done, verification pending": it keeps answering handshake
 * retransmissions but holds decrypted records and reports nothing until
 * pm_dtls_set_remote_fingerprint() decides.
 */
#include "dtls/dtls_impl.h"

#include <stdio.h>
#include <strings.h>

#include <openssl/err.h>

#define DTLS_LOG "dtls"

/* UDP payload bound during the handshake: fits the IPv6 minimum MTU (1280)
 * minus IP/UDP headers with room for TURN framing, as QUIC's 1200. */
#define DTLS_HANDSHAKE_MTU 1200
/* After the handshake the MTU only has to let SSL_write take any record up to
 * 2^14 bytes (RFC 6347 section 4.1.1); SCTP picks its own packet size
 * (RFC 8261 section 5). */
#define DTLS_DATA_MTU (SSL3_RT_MAX_PLAIN_LENGTH + 512)
/* Largest datagram we accept: a maximal record, 2^14 + 2048 of ciphertext
 * plus the 13-byte header (RFC 6347 section 4.1). It must fit OpenSSL's read
 * buffer in one BIO_read. */
#define DTLS_MAX_DATAGRAM (SSL3_RT_MAX_ENCRYPTED_LENGTH + DTLS1_RT_HEADER_LENGTH)

/* Retransmission timer (RFC 6347 section 4.2.4.1 allows any initial value;
 * Chrome uses clamp(2 x RTT, 50 ms, 3 s) and doubles up to 60 s). */
#define DTLS_RTO_MIN         PM_MS(50)
#define DTLS_RTO_MAX_INITIAL PM_SEC(3)
#define DTLS_RTO_MAX         PM_SEC(60)
#define DTLS_DEFAULT_RTT     PM_MS(50)
/* Give up on a handshake after this long, or when a flight went
 * unanswered this many times (libdatachannel: 30 s). */
#define DTLS_HANDSHAKE_TIMEOUT PM_SEC(30)
#define DTLS_MAX_RETRANSMITS   7u

/* Chrome keeps 2 early packets; a fragmented PQ ClientHello needs more. */
#define DTLS_EARLY_MAX_COUNT 8u
#define DTLS_EARLY_MAX_BYTES (64u * 1024)
/* Records held while the fingerprint is pending: SCTP retransmits anything
 * dropped beyond this. */
#define DTLS_HELD_MAX_BYTES (256u * 1024)

/* Plaintext of one record. One buffer per thread, not per endpoint: it is
 * only live between SSL_read and the recv callback, and 16 KiB per
 * connection was the largest single item of a connection's memory. */
/* It also stages queued (early or held) datagrams, so it must hold the
 * largest datagram handle_datagram accepts, not just a record's plaintext. */
#define RBUF_SIZE DTLS_MAX_DATAGRAM
_Static_assert(RBUF_SIZE >= SSL3_RT_MAX_PLAIN_LENGTH, "rbuf must hold a record's plaintext");
static _Thread_local uint8_t rbuf[RBUF_SIZE];

struct pm_dtls {
    const pm_envr *env;
    pm_rtc_certificate *cert;
    pm_dtls_callbacks cb;
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    bool client;
    pm_dtls_state state;
    bool hs_done;     /* OpenSSL finished the handshake */
    bool fp_set;      /* remote fingerprint known */
    bool fp_mismatch; /* set by the verify callback, for the log line */
    int in_ssl;       /* inside an OpenSSL call (our send callback may run) */
    const EVP_MD *fp_md;
    uint8_t fp[EVP_MAX_MD_SIZE];
    size_t fp_len;
    pm_time rtt_hint;
    pm_time start_time;
    unsigned retransmits; /* of the flight in progress */
    pm_fifo early;        /* datagrams received before pm_dtls_start */
    pm_fifo held;         /* plaintext records while verification is pending */
};

static const char *role(const pm_dtls *d)
{
    return d->client ? "client" : "server";
}

/* Empty OpenSSL's thread-local error queue so that SSL_get_error() judges
 * only the call that follows. ERR_clear_error() wipes all 16 slots every time
 * (about 10 % of the cost of a record), so look first. */
static void err_reset(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* Drain OpenSSL's thread-local error queue into one string for the log;
 * false (and "") when it was empty. */
static bool ssl_errors(char *out, size_t cap)
{
    unsigned long e;
    size_t used = 0;
    out[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        int n = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", one);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    err_reset();
    return out[0] != '\0';
}

static void set_state(pm_dtls *d, pm_dtls_state st)
{
    if (d->state == st)
        return;
    d->state = st;
    if (d->cb.state)
        d->cb.state(d->cb.ud, st);
}

/* Safe while a queue is being drained: every drain loop copies a record out
 * and pops it before acting on it, and re-checks the state before peeking. */
static void discard_queues(pm_dtls *d)
{
    pm_fifo_free(d->env, &d->held);
    pm_fifo_free(d->env, &d->early);
}

static bool is_live(const pm_dtls *d)
{
    return d->state == PM_DTLS_CONNECTING || d->state == PM_DTLS_CONNECTED;
}

static void fail(pm_dtls *d, const char *why)
{
    if (!is_live(d) && d->state != PM_DTLS_NEW)
        return;
    char err[512];
    if (ssl_errors(err, sizeof err))
        PM_WARN(d->env, DTLS_LOG, "%s: failed: %s (%s)", role(d), why, err);
    else
        PM_WARN(d->env, DTLS_LOG, "%s: failed: %s", role(d), why);
    discard_queues(d);
    set_state(d, PM_DTLS_FAILED);
}

/* ---- callbacks from OpenSSL ---- */

static void bio_send(void *ud, const uint8_t *dgram, size_t len)
{
    pm_dtls *d = ud;
    PM_TRACE(d->env, DTLS_LOG, "%s: send %zu bytes (type %u)", role(d), len, dgram[0]);
    if (d->cb.send)
        d->cb.send(d->cb.ud, dgram, len);
}

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    pm_dtls *d = SSL_get_app_data(ssl);
    if (prev_us == 0) {
        /* A new flight: its first timeout. */
        d->retransmits = 0;
        pm_time rto = 2 * d->rtt_hint;
        rto = PM_MAX(rto, DTLS_RTO_MIN);
        rto = PM_MIN(rto, DTLS_RTO_MAX_INITIAL);
        return (unsigned int)rto;
    }
    /* RFC 6347 section 4.2.4.1: double on every retransmission. */
    pm_time next = (pm_time)prev_us * 2;
    return (unsigned int)PM_MIN(next, DTLS_RTO_MAX);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    pm_dtls *d = SSL_get_app_data(ssl);
    if (!d)
        return;
    PM_INFO(d->env, DTLS_LOG, "%s: %s %s alert: %s", role(d),
            (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_type_string_long(ret),
            SSL_alert_desc_string_long(ret));
}

static bool fp_matches(const pm_dtls *d, X509 *cert)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!cert || X509_digest(cert, d->fp_md, md, &n) != 1)
        return false;
    return n == d->fp_len && memcmp(md, d->fp, n) == 0;
}

int pm_dtls_verify_cb(X509_STORE_CTX *store, void *arg)
{
    /* Replaces OpenSSL's chain verification (X509_verify_cert) entirely: the
     * certificate is self-signed by design and only its fingerprint
     * authenticates it (RFC 8122 section 5). Building and checking a chain
     * cost ~7 % of a connection's setup CPU for nothing. The handshake still
     * checks CertificateVerify, so the peer proves it holds the key. */
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    pm_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    if (!d || !leaf)
        return 0;
    if (!d->fp_set)
        return 1; /* unknown yet: decided when the fingerprint arrives */
    if (fp_matches(d, leaf))
        return 1;
    /* Failing here makes OpenSSL send a fatal bad_certificate alert. */
    d->fp_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* ---- state machine ---- */

static void deliver_held(pm_dtls *d)
{
    const uint8_t *p;
    size_t n;
    while (d->state == PM_DTLS_CONNECTED && pm_fifo_peek(&d->held, NULL, &p, &n)) {
        /* Copy out and pop first: the callback may close us, which empties
         * the queue under our feet. */
        memcpy(rbuf, p, n);
        pm_fifo_pop(&d->held);
        if (d->cb.recv)
            d->cb.recv(d->cb.ud, rbuf, n);
    }
}

/* Decide on the peer's certificate now that the handshake is done and the
 * fingerprint known. Returns PM_OK or PM_ERR_AUTH. */
static int verify_peer(pm_dtls *d)
{
    if (fp_matches(d, SSL_get0_peer_certificate(d->ssl))) {
        if (d->state == PM_DTLS_CONNECTING) {
            PM_INFO(d->env, DTLS_LOG, "%s: connected (%s)", role(d), SSL_get_cipher_name(d->ssl));
            set_state(d, PM_DTLS_CONNECTED);
            deliver_held(d);
        }
        return PM_OK;
    }
    /* OpenSSL has no public way to send a fatal alert once the handshake is
     * over; close_notify at least ends the peer's side at once. */
    err_reset();
    d->in_ssl++;
    (void)SSL_shutdown(d->ssl);
    d->in_ssl--;
    fail(d, "remote certificate does not match the fingerprint");
    return PM_ERR_AUTH;
}

static void on_handshake_done(pm_dtls *d)
{
    d->hs_done = true;
    /* Handshake flights were bounded by DTLS_HANDSHAKE_MTU; application
     * records are whatever SCTP hands us. */
    SSL_set_mtu(d->ssl, DTLS_DATA_MTU);
    PM_DEBUG(d->env, DTLS_LOG, "%s: handshake done: %s %s", role(d), SSL_get_version(d->ssl),
             SSL_get_cipher_name(d->ssl));
    if (d->fp_set)
        (void)verify_peer(d);
    else
        PM_DEBUG(d->env, DTLS_LOG, "%s: waiting for the remote fingerprint", role(d));
}

static void on_peer_close(pm_dtls *d)
{
    PM_INFO(d->env, DTLS_LOG, "%s: close_notify received", role(d));
    /* RFC 5246 section 7.2.1: answer with our own close_notify. */
    err_reset();
    d->in_ssl++;
    (void)SSL_shutdown(d->ssl);
    d->in_ssl--;
    err_reset();
    discard_queues(d);
    set_state(d, PM_DTLS_CLOSED);
}

/* Handle a non-positive return of SSL_do_handshake/SSL_read: "need more
 * input", the peer's close_notify, or a fatal error. */
static void on_ssl_result(pm_dtls *d, int r, const char *op)
{
    int e = SSL_get_error(d->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        err_reset();
        return;
    case SSL_ERROR_ZERO_RETURN:
        on_peer_close(d);
        return;
    default: {
        char why[160];
        snprintf(why, sizeof why, "%s: %s", op,
                 d->fp_mismatch ? "remote certificate does not match the fingerprint"
                                : (e == SSL_ERROR_SSL ? "protocol error" : "I/O error"));
        fail(d, why);
        return;
    }
    }
}

/* Pull every decrypted record out of OpenSSL. */
static void read_records(pm_dtls *d)
{
    while (is_live(d)) {
        err_reset();
        d->in_ssl++;
        int n = SSL_read(d->ssl, rbuf, (int)RBUF_SIZE);
        d->in_ssl--;
        if (n <= 0) {
            on_ssl_result(d, n, "SSL_read");
            return;
        }
        if (d->state == PM_DTLS_CONNECTED) {
            if (d->cb.recv)
                d->cb.recv(d->cb.ud, rbuf, (size_t)n);
        } else if (pm_fifo_push(d->env, &d->held, 0, rbuf, (size_t)n, NULL, 0) != PM_OK) {
            PM_DEBUG(d->env, DTLS_LOG, "%s: verification pending, dropped a %d-byte record",
                     role(d), n);
        }
    }
}

/* Advance OpenSSL after new input (or at start). */
static void drive(pm_dtls *d)
{
    if (!is_live(d))
        return;
    if (!d->hs_done) {
        err_reset();
        d->in_ssl++;
        int r = SSL_do_handshake(d->ssl);
        d->in_ssl--;
        if (r != 1) {
            on_ssl_result(d, r, "handshake");
            return;
        }
        on_handshake_done(d);
    }
    /* Records may follow the Finished in the same datagram. */
    read_records(d);
}

static void feed(pm_dtls *d, const uint8_t *data, size_t len)
{
    /* The read BIO lends OpenSSL exactly this datagram, from the caller's
     * memory, for this drive only: whatever it did not read is dropped, so
     * nothing is glued to the next datagram and no pointer outlives it. */
    pm_dtls_rbio_set(d->rbio, data, len);
    drive(d);
    if (BIO_ctrl_pending(d->rbio) > 0)
        PM_DEBUG(d->env, DTLS_LOG, "%s: %zu unread bytes dropped", role(d),
                 (size_t)BIO_ctrl_pending(d->rbio));
    pm_dtls_rbio_set(d->rbio, NULL, 0);
}

/* ---- public API ---- */

int pm_dtls_new(const pm_envr *env, pm_rtc_certificate *cert, bool client,
                const pm_dtls_callbacks *cb, pm_dtls **out)
{
    if (!env || !cert || !cb || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_dtls *d = pm_calloc(env, sizeof *d);
    if (!d)
        return PM_ERR_NOMEM;
    d->env = env;
    d->cb = *cb;
    d->client = client;
    d->rtt_hint = DTLS_DEFAULT_RTT;
    pm_fifo_init(&d->early, DTLS_EARLY_MAX_BYTES);
    pm_fifo_init(&d->held, DTLS_HELD_MAX_BYTES);
    d->cert = pm_dtls_cert_ref(cert);

    err_reset();
    BIO *wbio = NULL;
    d->ssl = SSL_new(cert->ctx);
    d->rbio = pm_dtls_rbio_new();
    wbio = pm_dtls_bio_new(bio_send, d);
    if (!d->ssl || !d->rbio || !wbio) {
        char err[512];
        (void)ssl_errors(err, sizeof err);
        PM_ERROR(env, DTLS_LOG, "cannot create the DTLS endpoint: %s", err);
        BIO_free(d->rbio);
        BIO_free(wbio);
        d->rbio = NULL;
        pm_dtls_free(d);
        return PM_ERR_CRYPTO;
    }
    SSL_set_bio(d->ssl, d->rbio, wbio);
    SSL_set_app_data(d->ssl, d);
    SSL_set_info_callback(d->ssl, info_cb);
    DTLS_set_timer_cb(d->ssl, timer_cb);
    SSL_set_mtu(d->ssl, DTLS_HANDSHAKE_MTU);
    /* Sizes the write buffer (allocated with the first flight): ~1.5 KB
     * instead of ~17 KB per endpoint. (The read buffer stays sized for a
     * 16 KB record, and DTLS has no safe way to release either while idle:
     * SSL_MODE_RELEASE_BUFFERS is TLS only, SSL_free_buffers breaks a later
     * SSL_shutdown in OpenSSL 3.0.) */
    SSL_set_max_send_fragment(d->ssl, PM_DTLS_MAX_RECORD);
    if (client)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    *out = d;
    return PM_OK;
}

void pm_dtls_free(pm_dtls *d)
{
    if (!d)
        return;
    SSL_free(d->ssl); /* frees both BIOs */
    pm_fifo_free(d->env, &d->early);
    pm_fifo_free(d->env, &d->held);
    pm_rtc_certificate_free(d->cert);
    pm_free(d->env, d);
}

static const EVP_MD *md_for_algo(const char *algo)
{
    /* RFC 8122 section 5 hash function names (IANA "Hash Function Textual
     * Names"); md2/md5 are obsolete and refused. */
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } tab[] = {
        {"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
        {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(tab); i++)
        if (strcasecmp(algo, tab[i].name) == 0)
            return tab[i].md();
    return NULL;
}

/* RFC 8122 section 5: fingerprint = 2UHEX *(":" 2UHEX); we also take lower case. */
static bool parse_fp(const char *s, uint8_t *out, size_t want)
{
    for (size_t i = 0; i < want; i++) {
        if (i > 0 && *s++ != ':')
            return false;
        int hi = pm_hex_digit(s[0]);
        int lo = hi < 0 ? -1 : pm_hex_digit(s[1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return *s == '\0';
}

int pm_dtls_set_remote_fingerprint(pm_dtls *d, const char *algo, const char *hex)
{
    if (!d || !algo || !hex)
        return PM_ERR_INVALID;
    if (d->in_ssl)
        return PM_ERR_REENTRANT;
    const EVP_MD *md = md_for_algo(algo);
    if (!md) {
        PM_WARN(d->env, DTLS_LOG, "%s: unsupported fingerprint algorithm '%.32s'", role(d), algo);
        return PM_ERR_INVALID;
    }
    uint8_t fp[EVP_MAX_MD_SIZE];
    size_t len = (size_t)EVP_MD_get_size(md);
    if (!parse_fp(hex, fp, len)) {
        PM_WARN(d->env, DTLS_LOG, "%s: malformed %s fingerprint", role(d), algo);
        return PM_ERR_INVALID;
    }
    d->fp_md = md;
    memcpy(d->fp, fp, len);
    d->fp_len = len;
    d->fp_set = true;
    if (d->hs_done && is_live(d))
        return verify_peer(d);
    return PM_OK;
}

void pm_dtls_set_rtt_hint(pm_dtls *d, pm_time rtt)
{
    if (d) /* bounded so 2 x RTT cannot overflow; the clamp applies later */
        d->rtt_hint = rtt > 0 ? PM_MIN(rtt, DTLS_RTO_MAX) : DTLS_DEFAULT_RTT;
}

int pm_dtls_start(pm_dtls *d, pm_time now)
{
    if (!d)
        return PM_ERR_INVALID;
    if (d->in_ssl)
        return PM_ERR_REENTRANT;
    if (d->state != PM_DTLS_NEW)
        return PM_ERR_STATE;
    d->start_time = now;
    set_state(d, PM_DTLS_CONNECTING);
    if (d->client)
        drive(d); /* sends the ClientHello */
    /* Datagrams that arrived before we knew our role (e.g. the peer's
     * ClientHello, maybe fragmented) go in now, in order. */
    const uint8_t *p;
    size_t n;
    while (is_live(d) && pm_fifo_peek(&d->early, NULL, &p, &n)) {
        memcpy(rbuf, p, n);
        pm_fifo_pop(&d->early);
        feed(d, rbuf, n);
    }
    return PM_OK;
}

int pm_dtls_handle_datagram(pm_dtls *d, pm_time now, const uint8_t *data, size_t len)
{
    (void)now;
    if (!d || !data)
        return PM_ERR_INVALID;
    if (d->in_ssl)
        return PM_ERR_REENTRANT;
    /* RFC 7983 section 7: DTLS content types are 20..63; anything shorter
     * than a record header (RFC 6347 section 4.1) cannot be DTLS. */
    if (len < DTLS1_RT_HEADER_LENGTH || data[0] < 20 || data[0] > 63)
        return PM_ERR_PARSE;
    if (len > DTLS_MAX_DATAGRAM)
        return PM_ERR_TOO_BIG;
    switch (d->state) {
    case PM_DTLS_NEW:
        if (d->early.count >= DTLS_EARLY_MAX_COUNT ||
            pm_fifo_push(d->env, &d->early, 0, data, len, NULL, 0) != PM_OK) {
            PM_DEBUG(d->env, DTLS_LOG, "%s: early datagram dropped (queue full)", role(d));
            return PM_ERR_FULL;
        }
        return PM_OK;
    case PM_DTLS_CONNECTING:
    case PM_DTLS_CONNECTED:
        feed(d, data, len);
        return PM_OK;
    default:
        return PM_ERR_CLOSED; /* stale input after close/failure is dropped */
    }
}

int pm_dtls_write(pm_dtls *d, const uint8_t *data, size_t len)
{
    if (!d || !data || len == 0)
        return PM_ERR_INVALID;
    if (d->in_ssl)
        return PM_ERR_REENTRANT;
    if (d->state != PM_DTLS_CONNECTED)
        return PM_ERR_STATE;
    if (len > PM_DTLS_MAX_RECORD)
        return PM_ERR_TOO_BIG;
    err_reset();
    d->in_ssl++;
    int r = SSL_write(d->ssl, data, (int)len);
    d->in_ssl--;
    if (r == (int)len)
        return PM_OK;
    int e = SSL_get_error(d->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
        on_peer_close(d);
        return PM_ERR_CLOSED;
    }
    fail(d, "SSL_write");
    return PM_ERR_CRYPTO;
}

pm_time pm_dtls_next_timeout(const pm_dtls *d, pm_time now)
{
    if (!d || !is_live(d))
        return PM_TIME_NEVER;
    pm_time t = d->hs_done ? PM_TIME_NEVER : d->start_time + DTLS_HANDSHAKE_TIMEOUT;
    struct timeval tv;
    /* OpenSSL keeps its deadline on the wall clock; convert the remaining
     * time to our clock. It rounds anything under 15 ms to 0 ("expired"),
     * and pm_dtls_handle_timeout uses the same rule, so they agree. */
    if (DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        pm_time left = (pm_time)tv.tv_sec * 1000000 + tv.tv_usec;
        t = PM_MIN(t, now + left);
    }
    return t;
}

int pm_dtls_handle_timeout(pm_dtls *d, pm_time now)
{
    if (!d)
        return PM_ERR_INVALID;
    if (d->in_ssl)
        return PM_ERR_REENTRANT;
    if (!is_live(d))
        return PM_OK;
    if (!d->hs_done && now - d->start_time >= DTLS_HANDSHAKE_TIMEOUT) {
        fail(d, "handshake timed out");
        return PM_OK;
    }
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) != 1 || tv.tv_sec > 0 || tv.tv_usec > 0)
        return PM_OK; /* no timer, or not expired yet */
    if (!d->hs_done && d->retransmits >= DTLS_MAX_RETRANSMITS) {
        fail(d, "no answer to the handshake");
        return PM_OK;
    }
    err_reset();
    d->in_ssl++;
    int r = DTLSv1_handle_timeout(d->ssl);
    d->in_ssl--;
    if (r < 0) {
        fail(d, "retransmission");
        return PM_OK;
    }
    if (r > 0) {
        d->retransmits++;
        PM_DEBUG(d->env, DTLS_LOG, "%s: retransmitted flight (%u)", role(d), d->retransmits);
    }
    return PM_OK;
}

void pm_dtls_close(pm_dtls *d)
{
    if (!d || d->in_ssl)
        return;
    if (d->state == PM_DTLS_CLOSED || d->state == PM_DTLS_FAILED)
        return;
    if (d->hs_done && is_live(d)) {
        /* close_notify (RFC 5246 section 7.2.1). We do not wait for the
         * peer's: DTLS has no reliable teardown and the peer may be gone. */
        err_reset();
        d->in_ssl++;
        (void)SSL_shutdown(d->ssl);
        d->in_ssl--;
        err_reset();
    }
    discard_queues(d);
    set_state(d, PM_DTLS_CLOSED);
}

pm_dtls_state pm_dtls_get_state(const pm_dtls *d)
{
    return d ? d->state : PM_DTLS_FAILED;
}

const char *pm_dtls_cipher(const pm_dtls *d)
{
    if (!d || !d->hs_done)
        return "(none)";
    const char *c = SSL_get_cipher_name(d->ssl);
    return c ? c : "(none)";
}
