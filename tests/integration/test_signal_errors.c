/*
 * Integration: what a signaling client says when it cannot get in, on
 * loopback. Each failure has its own error code and a sentence naming what
 * failed: a malformed URL (refused by pm_signal_client_new), nothing
 * listening (PM_ERR_REFUSED), an HTTP answer instead of the WebSocket upgrade
 * (PM_ERR_PROTOCOL for 404, PM_ERR_AUTH for 401; also after a connect that
 * completes late, which the client must notice asleep), TLS to a plain server
 * (PM_ERR_CRYPTO), an untrusted certificate (PM_ERR_AUTH). And named
 * lobbies end to end: created by name with the extension on, refused and
 * explained (PM_ERR_UNSUPPORTED) in strict Godot-demo mode.
 */
#include "sigthread.h"
#include "testutil.h"
#include "tls_cert.h"

#include "peermesh/signaling.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define LIMIT PM_SEC(10)

typedef struct outcome {
    bool closed;
    int error;
    int code;
    char reason[256];
    char lobby[80];
    int32_t id;
} outcome;

/* Run a client (sleeping on its one descriptor) until it closes, or joins when `until_joined`. */
static void run_client(const pm_signal_client_config *cfg, bool until_joined, outcome *out)
{
    memset(out, 0, sizeof *out);
    pm_signal_client *c = NULL;
    assert_int_equal(pm_signal_client_new(cfg, &c), PM_OK);
    pm_time end = pm_now() + LIMIT;
    while (!out->closed && !(until_joined && out->lobby[0]) && pm_now() < end) {
        assert_true(
            pm_wait(pm_signal_client_fd(c), PM_MIN(pm_signal_client_next_timeout(c), end)) >= 0);
        (void)pm_signal_client_poll(c);
        pm_signal_event ev;
        while (pm_signal_client_next_event(c, &ev)) {
            if (ev.type == PM_SIGNAL_EVENT_JOINED) {
                snprintf(out->lobby, sizeof out->lobby, "%s", ev.lobby);
                out->id = pm_signal_client_id(c);
            }
            if (ev.type == PM_SIGNAL_EVENT_CLOSED) {
                out->closed = true;
                out->error = ev.error;
                out->code = ev.close_code;
                snprintf(out->reason, sizeof out->reason, "%s", ev.reason);
            }
        }
    }
    printf("  -> error %d (%s), close %d: %s\n", out->error, pm_strerror(out->error), out->code,
           out->reason);
    pm_signal_client_free(c);
}

static void config_for(pm_signal_client_config *cfg, const char *url)
{
    pm_signal_client_config_default(cfg);
    cfg->url = url;
    cfg->rtc.bind_address = "127.0.0.1";
}

/* ---- a TCP server that answers any request with one canned HTTP response ---- */

typedef struct http_thread {
    int listener;
    const char *response;
    bool slow; /* its accept queue is full at first: see slow_connect */
    pthread_t th;
} http_thread;

static void *answer(void *arg)
{
    http_thread *h = arg;
    if (h->slow) { /* make room after a while: the client's next SYN gets in */
        usleep(300 * 1000);
        int filler = accept(h->listener, NULL, NULL);
        if (filler >= 0)
            close(filler);
    }
    int fd = accept(h->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[2048];
    ssize_t n = read(fd, buf, sizeof buf); /* the upgrade request: ignored */
    (void)n;
    ssize_t w = write(fd, h->response, strlen(h->response));
    (void)w;
    close(fd);
    return NULL;
}

static uint16_t tcp_listener(int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

static void http_answer(const char *response, bool slow, int want_error, const char *want_text)
{
    http_thread h = {.response = response, .slow = slow};
    uint16_t port = tcp_listener(&h.listener);
    assert_int_equal(listen(h.listener, slow ? 0 : 4), 0);
    int filler = -1;
    if (slow) { /* one connection fills a queue of 0: the kernel drops the client's first SYN */
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        filler = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof a), 0);
    }
    assert_int_equal(pthread_create(&h.th, NULL, answer, &h), 0);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/lobbies", (unsigned)port);
    pm_signal_client_config cfg;
    config_for(&cfg, url);
    outcome o;
    run_client(&cfg, false, &o);
    pthread_join(h.th, NULL);
    close(h.listener);
    if (filler >= 0)
        close(filler);
    assert_true(o.closed);
    assert_int_equal(o.error, want_error);
    assert_int_equal(o.code, PM_SIGNAL_CLOSE_ABNORMAL);
    assert_non_null(strstr(o.reason, want_text));
}

/* ---- a TLS server (OpenSSL, one connection) that answers 404 over TLS ----
 * Not libwebsockets': its TLS server leaks at context destruction, which only
 * the slow unwinder lets LeakSanitizer attribute, and that makes the client's
 * OpenSSL setup (the system's CA store) too slow under ASan. */

typedef struct tls_thread {
    int listener;
    SSL_CTX *ctx;
    pthread_t th;
} tls_thread;

static void *tls_accept_one(void *arg)
{
    tls_thread *t = arg;
    int fd = accept(t->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    SSL *ssl = SSL_new(t->ctx);
    SSL_set_fd(ssl, fd);
    char buf[2048];
    static const char answer[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    if (SSL_accept(ssl) == 1 && SSL_read(ssl, buf, sizeof buf) > 0) /* the upgrade request */
        (void)SSL_write(ssl, answer, (int)strlen(answer));
    SSL_free(ssl);
    close(fd);
    return NULL;
}

static void tls_answer(const char *cert, const char *key, bool trust, int want_error,
                       const char *want_text)
{
    tls_thread t = {.ctx = SSL_CTX_new(TLS_server_method())};
    assert_non_null(t.ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(t.ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(t.ctx, key, SSL_FILETYPE_PEM), 1);
    uint16_t port = tcp_listener(&t.listener);
    assert_int_equal(listen(t.listener, 4), 0);
    assert_int_equal(pthread_create(&t.th, NULL, tls_accept_one, &t), 0);
    char url[64];
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/", (unsigned)port);
    pm_signal_client_config cfg;
    config_for(&cfg, url);
    cfg.allow_self_signed = trust;
    outcome o;
    run_client(&cfg, false, &o);
    pthread_join(t.th, NULL);
    close(t.listener);
    SSL_CTX_free(t.ctx);
    assert_true(o.closed);
    assert_int_equal(o.error, want_error);
    assert_non_null(strstr(o.reason, want_text));
}

/* ---- tests ---- */

static void bad_urls(void **state)
{
    static const char *const urls[] = {
        "http://127.0.0.1:9080",  "ws://",           "ws://:9080",
        "ws://127.0.0.1:0",       "ws://host:70000", "ws://host:90ab",
        "ws://user@host:9080",    "ws://[::1:9080",  "ws://host:9080/a b",
        "wss://host:9080/\tpath", "127.0.0.1:9080",  "ws:/host",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(urls); i++) {
        pm_signal_client_config cfg;
        config_for(&cfg, urls[i]);
        pm_signal_client *c = (pm_signal_client *)&cfg; /* must come back NULL */
        assert_int_equal(pm_signal_client_new(&cfg, &c), PM_ERR_INVALID);
        assert_null(c);
    }
    pm_signal_client_config cfg;
    config_for(&cfg, NULL);
    pm_signal_client *c = NULL;
    assert_int_equal(pm_signal_client_new(&cfg, &c), PM_ERR_INVALID);
}

static void refused(void **state)
{
    int fd;
    uint16_t port = tcp_listener(&fd);
    close(fd); /* the port is free now: nothing listens there */
    char url[64], where[32];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)port);
    pm_signal_client_config cfg;
    config_for(&cfg, url);
    outcome o;
    run_client(&cfg, false, &o);
    assert_true(o.closed);
    assert_int_equal(o.error, PM_ERR_REFUSED);
    assert_int_equal(o.code, PM_SIGNAL_CLOSE_ABNORMAL);
    assert_non_null(strstr(o.reason, "connection refused"));
    assert_non_null(strstr(o.reason, where));
}

static void http_instead_of_websocket(void **state)
{
    http_answer("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, PM_ERR_PROTOCOL,
                "answered HTTP 404");
    http_answer("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", false, PM_ERR_AUTH,
                "answered HTTP 401");
}

/*
 * A connect that completes a second late (the SYN retransmitted), while the
 * client sleeps on its descriptor and its library's first timers are long
 * done: the completion alone must wake it, and the upgrade request it owes
 * (libwebsockets writes it in a round after the one that saw the connect)
 * must go out, or the server never answers and the connect times out.
 */
static void slow_connect(void **state)
{
    http_answer("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true, PM_ERR_PROTOCOL,
                "answered HTTP 404");
}

static void tls_failures(void **state)
{
    /* wss:// to a plain ws:// server: the TLS handshake fails. */
    pm_test_server st;
    pm_signal_server_config scfg;
    pm_signal_server_config_default(&scfg);
    char url[64];
    pm_test_server_start(&st, &scfg, url, sizeof url);
    char wss[72];
    snprintf(wss, sizeof wss, "wss://%s", url + strlen("ws://"));
    pm_signal_client_config cfg;
    config_for(&cfg, wss);
    outcome o;
    run_client(&cfg, false, &o);
    pm_test_server_stop(&st);
    assert_int_equal(o.error, PM_ERR_CRYPTO);
    assert_non_null(strstr(o.reason, "TLS handshake"));

    /* A self-signed certificate the client was not told to trust; told to, the handshake
     * succeeds (the server then refuses the upgrade: the failure is past TLS). */
    char dir[] = "/tmp/pm-signal-errors-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    assert_true(pm_test_write_self_signed(cert, key));
    tls_answer(cert, key, false, PM_ERR_AUTH, "not trusted");
    tls_answer(cert, key, true, PM_ERR_PROTOCOL, "answered HTTP 404");
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void named_lobbies(void **state)
{
    pm_test_server st;
    pm_signal_server_config scfg;
    pm_signal_server_config_default(&scfg);
    char url[64];
    pm_test_server_start(&st, &scfg, url, sizeof url); /* strict Godot-demo mode: no names */
    pm_signal_client_config cfg;
    config_for(&cfg, url);
    cfg.lobby = "friday";
    cfg.create_lobby = true;
    outcome o;
    run_client(&cfg, false, &o);
    pm_test_server_stop(&st);
    assert_int_equal(o.error, PM_ERR_UNSUPPORTED);
    assert_int_equal(o.code, PM_SIGNAL_CLOSE_PROTOCOL);
    assert_non_null(strstr(o.reason, "--named-lobbies"));

    scfg.named_lobbies = true;
    pm_test_server_start(&st, &scfg, url, sizeof url);
    for (int proto = 0; proto < 2; proto++) {
        config_for(&cfg, url);
        cfg.protocol = proto ? PM_SIGNAL_PROTOCOL_TEXT : PM_SIGNAL_PROTOCOL_JSON;
        cfg.lobby = proto ? "saturday" : "friday";
        cfg.create_lobby = true;
        pm_signal_client *host = NULL;
        assert_int_equal(pm_signal_client_new(&cfg, &host), PM_OK);
        /* The host stays; a second creator of the same name is refused. */
        pm_time end = pm_now() + LIMIT;
        while (pm_signal_client_state(host) != PM_SIGNAL_JOINED && pm_now() < end) {
            (void)pm_wait(pm_signal_client_fd(host), pm_signal_client_next_timeout(host));
            (void)pm_signal_client_poll(host);
        }
        assert_int_equal(pm_signal_client_state(host), PM_SIGNAL_JOINED);
        assert_string_equal(pm_signal_client_lobby(host), cfg.lobby);
        assert_int_equal(pm_signal_client_id(host), 1);
        run_client(&cfg, false, &o);
        assert_int_equal(o.code, PM_SIGNAL_CLOSE_PROTOCOL);
        assert_string_equal(o.reason, "Lobby already exists");
        /* Others join it by its name. */
        cfg.create_lobby = false;
        run_client(&cfg, true, &o);
        assert_string_equal(o.lobby, cfg.lobby);
        assert_true(o.id >= 2);
        pm_signal_client_free(host);
    }
    pm_test_server_stop(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_urls),
        cmocka_unit_test(refused),
        cmocka_unit_test(http_instead_of_websocket),
        cmocka_unit_test(slow_connect),
        cmocka_unit_test(tls_failures),
        cmocka_unit_test(named_lobbies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
