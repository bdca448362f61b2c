/*
 * Unit tests: the TLS client for TURN over TLS (src/dtls/tls.c) against an
 * OpenSSL server over memory BIOs, the bytes moved by the test. The
 * server's certificate (made here) is trusted through SSL_CERT_FILE, which
 * the client's process-wide context reads once; a second, unknown
 * certificate is not.
 *
 *  - without verification: handshake, plaintext written early is held and
 *    sent, data both ways (also larger than one record), the server's
 *    close_notify ends reading, our close_notify reaches the server;
 *  - with verification: a trusted certificate for the IP literal and for
 *    the DNS name passes; another name or IP, and the unknown certificate,
 *    fail with the reason.
 */
#include "dtls/tls.h"
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct cert {
    EVP_PKEY *key;
    X509 *x;
} cert;

static cert TRUSTED, UNKNOWN;
static char CA_FILE[64];
static pm_envr ENV;

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static void make_cert(cert *c, const char *cn)
{
    c->key = EVP_EC_gen("P-256");
    assert_non_null(c->key);
    c->x = X509_new();
    X509_set_version(c->x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c->x), 7);
    X509_gmtime_adj(X509_getm_notBefore(c->x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c->x), 3600);
    X509_set_pubkey(c->x, c->key);
    X509_NAME *name = X509_get_subject_name(c->x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c->x, name);
    add_ext(c->x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c->x, NID_subject_alt_name, "IP:127.0.0.1,DNS:turn.test");
    assert_true(X509_sign(c->x, c->key, EVP_sha256()) > 0);
}

static int group_setup(void **st)
{
    (void)st;
    make_cert(&TRUSTED, "peermesh test TURN");
    make_cert(&UNKNOWN, "someone else");
    snprintf(CA_FILE, sizeof CA_FILE, "/tmp/pm-test-tls-%d.pem", (int)getpid());
    FILE *f = fopen(CA_FILE, "w");
    assert_non_null(f);
    PEM_write_X509(f, TRUSTED.x);
    fclose(f);
    /* Read once, by the client's first context: before any client exists. */
    setenv("SSL_CERT_FILE", CA_FILE, 1);
    setenv("SSL_CERT_DIR", "/nonexistent", 1);
    pm_test_envr(&ENV, 5);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    unlink(CA_FILE);
    for (cert *c = &TRUSTED; c; c = c == &TRUSTED ? &UNKNOWN : NULL) {
        X509_free(c->x);
        EVP_PKEY_free(c->key);
    }
    return 0;
}

/* ---- an OpenSSL server over memory BIOs ---- */

typedef struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out; /* ciphertext from the client / to the client */
} server;

static void server_new(server *s, const cert *c)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, c->x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, c->key), 1);
    s->ssl = SSL_new(s->ctx);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    SSL_set_bio(s->ssl, s->in, s->out);
    SSL_set_accept_state(s->ssl);
}

static void server_free(server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
}

/* Move ciphertext both ways until neither side has anything to say. */
static void pump(pm_tls *t, server *s)
{
    uint8_t buf[16384];
    for (int round = 0; round < 50; round++) {
        bool moved = false;
        size_t n;
        while ((n = pm_tls_output(t, buf, sizeof buf)) > 0) {
            assert_int_equal(BIO_write(s->in, buf, (int)n), (int)n);
            moved = true;
        }
        if (!SSL_is_init_finished(s->ssl)) {
            int r = SSL_do_handshake(s->ssl);
            if (r <= 0) {
                int e = SSL_get_error(s->ssl, r);
                if (e != SSL_ERROR_WANT_READ)
                    ERR_clear_error(); /* the client gave up (an alert): nothing more */
            }
        }
        int got;
        while ((got = BIO_read(s->out, buf, sizeof buf)) > 0) {
            (void)pm_tls_feed(t, buf, (size_t)got);
            moved = true;
        }
        if (!moved)
            return;
    }
    fail_msg("TLS did not settle");
}

/* Plaintext the server received so far, appended to *text. */
static size_t server_read(server *s, char *text, size_t cap)
{
    size_t have = 0;
    int n;
    while (have < cap && (n = SSL_read(s->ssl, text + have, (int)(cap - have))) > 0)
        have += (size_t)n;
    ERR_clear_error();
    return have;
}

static pm_tls *connect_to(server *s, const char *name, bool verify)
{
    pm_tls *t = NULL;
    assert_int_equal(pm_tls_client_new(&ENV, name, verify, &t), PM_OK);
    assert_false(pm_tls_connected(t));
    pump(t, s);
    return t;
}

/* ---- tests ---- */

static void data_both_ways_and_close(void **st)
{
    (void)st;
    server s;
    server_new(&s, &UNKNOWN);
    pm_tls *t = NULL;
    assert_int_equal(pm_tls_client_new(&ENV, "192.0.2.1", false, &t), PM_OK);
    /* Written before the handshake: held, then sent. */
    assert_int_equal(pm_tls_write(t, (const uint8_t *)"early ", 6), PM_OK);
    pump(t, &s);
    assert_true(pm_tls_connected(t));
    assert_string_equal(pm_tls_error(t), "");
    static char big[40000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(pm_tls_write(t, (const uint8_t *)big, sizeof big), PM_OK);
    pump(t, &s);
    static char got[sizeof big + 16];
    size_t n = server_read(&s, got, sizeof got);
    assert_int_equal(n, 6 + sizeof big);
    assert_memory_equal(got, "early ", 6);
    assert_memory_equal(got + 6, big, sizeof big);

    /* Server to client: more than one record. */
    assert_int_equal(SSL_write(s.ssl, big, sizeof big), (int)sizeof big);
    pump(t, &s);
    size_t have = 0;
    int r;
    while ((r = pm_tls_read(t, (uint8_t *)got + have, sizeof got - have)) > 0)
        have += (size_t)r;
    assert_int_equal(r, 0);
    assert_int_equal(have, sizeof big);
    assert_memory_equal(got, big, sizeof big);

    /* Our close_notify reaches the server; the server's ends our reading. */
    pm_tls_close(t);
    pm_tls_close(t);
    pump(t, &s);
    assert_int_equal(SSL_read(s.ssl, got, 16), 0);
    assert_int_equal(SSL_get_error(s.ssl, 0), SSL_ERROR_ZERO_RETURN);
    assert_int_equal(pm_tls_write(t, (const uint8_t *)"x", 1), PM_ERR_CLOSED);
    SSL_shutdown(s.ssl);
    pump(t, &s);
    assert_int_equal(pm_tls_read(t, (uint8_t *)got, sizeof got), PM_ERR_CLOSED);
    pm_tls_free(t);
    server_free(&s);
}

static void verified_names(void **st)
{
    (void)st;
    const char *good[] = {"127.0.0.1", "turn.test"};
    for (size_t i = 0; i < 2; i++) {
        server s;
        server_new(&s, &TRUSTED);
        pm_tls *t = connect_to(&s, good[i], true);
        assert_true(pm_tls_connected(t));
        assert_int_equal(pm_tls_write(t, (const uint8_t *)"hi", 2), PM_OK);
        pump(t, &s);
        char got[4];
        assert_int_equal(server_read(&s, got, sizeof got), 2);
        pm_tls_free(t);
        server_free(&s);
    }
}

static void verification_failures(void **st)
{
    (void)st;
    struct {
        const cert *c;
        const char *name;
        const char *why;
    } cases[] = {
        {&TRUSTED, "192.0.2.1", "certificate verify failed: "},
        {&TRUSTED, "other.test", "certificate verify failed: "},
        {&UNKNOWN, "127.0.0.1", "certificate verify failed: self-signed certificate"},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        server s;
        server_new(&s, cases[i].c);
        pm_tls *t = connect_to(&s, cases[i].name, true);
        print_message("%s: %s\n", cases[i].name, pm_tls_error(t));
        assert_false(pm_tls_connected(t));
        assert_non_null(strstr(pm_tls_error(t), cases[i].why));
        assert_int_equal(pm_tls_write(t, (const uint8_t *)"x", 1), PM_ERR_CRYPTO);
        uint8_t b[8];
        assert_int_equal(pm_tls_read(t, b, sizeof b), PM_ERR_CRYPTO);
        assert_int_equal(pm_tls_feed(t, b, sizeof b), PM_ERR_CRYPTO);
        pm_tls_free(t);
        server_free(&s);
    }
}

static void garbage_from_the_server(void **st)
{
    (void)st;
    pm_tls *t = NULL;
    assert_int_equal(pm_tls_client_new(&ENV, "127.0.0.1", false, &t), PM_OK);
    uint8_t hello[512];
    assert_true(pm_tls_output(t, hello, sizeof hello) > 0);
    static const uint8_t junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    assert_int_equal(pm_tls_feed(t, junk, sizeof junk - 1), PM_ERR_CRYPTO);
    assert_true(strlen(pm_tls_error(t)) > 0);
    pm_tls *none = t;
    assert_int_equal(pm_tls_client_new(&ENV, NULL, false, &none), PM_ERR_INVALID);
    assert_null(none);
    pm_tls_free(NULL);
    pm_tls *u = NULL;
    assert_int_equal(pm_tls_client_new(&ENV, "127.0.0.1", false, &u), PM_OK);
    pm_tls_free(u);
    pm_tls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(data_both_ways_and_close),
        cmocka_unit_test(verified_names),
        cmocka_unit_test(verification_failures),
        cmocka_unit_test(garbage_from_the_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
