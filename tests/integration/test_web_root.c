/*
 * Integration: static files on the signaling port (peermesh-signal
 * --web-root, src/io/static_files.c).
 *
 *  - pm_static_serve on a folder: index.html for "/" and for folders, media
 *    types (.wasm is application/wasm), 404s; and every way out refused with
 *    403 however it is spelt: "..", percent-escaped dots and slashes, a
 *    symbolic link leading out, a NUL, hidden files;
 *  - the server over http and https (self-signed) on 127.0.0.1: the page,
 *    its .wasm with its media type, /healthz still answered, a path that
 *    climbs out sent byte for byte (as curl --path-as-is) never reaching the
 *    file outside; a web root that is no folder refuses to start.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "tls_cert.h"

#include "io/static_files.h"
#include "peermesh/signaling.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEADLINE PM_SEC(10)

typedef struct site {
    char dir[64];     /* holds www/ and a file next to it */
    char root[96];    /* dir/www: the web root */
    char *canonical;  /* pm_static_root(root) */
    char outside[96]; /* dir/secret.txt */
} site;

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_site(site *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/pm-web-root-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char p[160];
    snprintf(s->root, sizeof s->root, "%s/www", s->dir);
    assert_int_equal(mkdir(s->root, 0755), 0);
    snprintf(p, sizeof p, "%s/index.html", s->root);
    put_file(p, "<p>home</p>");
    snprintf(p, sizeof p, "%s/game.wasm", s->root);
    put_file(p, "wasm");
    snprintf(p, sizeof p, "%s/game.js", s->root);
    put_file(p, "var x;");
    snprintf(p, sizeof p, "%s/data.bin", s->root);
    put_file(p, "bytes");
    snprintf(p, sizeof p, "%s/.hidden", s->root);
    put_file(p, "no");
    snprintf(p, sizeof p, "%s/sub", s->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/index.html", s->root);
    put_file(p, "<p>sub</p>");
    snprintf(s->outside, sizeof s->outside, "%s/secret.txt", s->dir);
    put_file(s->outside, "secret");
    snprintf(p, sizeof p, "%s/link.txt", s->root); /* a link out of the root */
    assert_int_equal(symlink(s->outside, p), 0);
    snprintf(p, sizeof p, "%s/inner.txt", s->root); /* a link that stays inside */
    assert_int_equal(symlink("game.js", p), 0);
    pm_envr env;
    pm_env_resolve(&env, NULL);
    assert_int_equal(pm_static_root(&env, s->root, &s->canonical), PM_OK);
}

static void remove_site(site *s)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
    free(s->canonical); /* the default environment allocates with malloc */
}

/* GET path from the site: the status, the body in *body (NUL-terminated), the type. */
static int get(const site *s, const char *path, pm_buf *body, const char **type)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    body->len = 0;
    *type = NULL;
    int status = pm_static_serve(&env, s->canonical, path, body, type);
    assert_int_equal(pm_buf_append(&env, body, "", 1), PM_OK);
    body->len--;
    return status;
}

static void serves_inside_only(void **st)
{
    site s;
    make_site(&s);
    pm_envr env;
    pm_env_resolve(&env, NULL);
    pm_buf body = {0};
    const char *type;
    assert_int_equal(get(&s, "/", &body, &type), 200);
    assert_string_equal((char *)body.data, "<p>home</p>");
    assert_string_equal(type, "text/html; charset=utf-8");
    assert_int_equal(get(&s, "/sub/", &body, &type), 200);
    assert_string_equal((char *)body.data, "<p>sub</p>");
    assert_int_equal(get(&s, "/game.wasm", &body, &type), 200);
    assert_string_equal(type, "application/wasm");
    assert_int_equal(get(&s, "/game.js", &body, &type), 200);
    assert_string_equal(type, "text/javascript; charset=utf-8");
    assert_int_equal(get(&s, "/data.bin", &body, &type), 200);
    assert_string_equal(type, "application/octet-stream");
    assert_int_equal(get(&s, "/g%61me.js", &body, &type), 200); /* escapes are decoded */
    assert_int_equal(get(&s, "/inner.txt", &body, &type), 200);
    assert_string_equal((char *)body.data, "var x;");

    assert_int_equal(get(&s, "/missing.html", &body, &type), 404);
    assert_int_equal(get(&s, "/sub", &body, &type), 404); /* a folder is no file */
    assert_int_equal(get(&s, "/sub/missing/", &body, &type), 404);
    const char *out[] = {"/../secret.txt",
                         "/sub/../../secret.txt",
                         "/%2e%2e/secret.txt",
                         "/%2E%2E%2Fsecret.txt",
                         "/..%2fsecret.txt",
                         "/link.txt",
                         "/.hidden",
                         "/sub/./index.html",
                         "//etc/passwd",
                         "/%00",
                         "/a%zz",
                         "relative.txt",
                         "/sub\\..\\..\\secret.txt"};
    for (size_t i = 0; i < PM_ARRAY_LEN(out); i++) {
        int status = get(&s, out[i], &body, &type);
        if (status != 403)
            fail_msg("%s: status %d, body \"%s\"", out[i], status, (char *)body.data);
        assert_int_equal(body.len, 0);
    }
    assert_int_equal(strcmp(pm_static_media_type("a.HTML"), "text/html; charset=utf-8"), 0);
    assert_int_equal(strcmp(pm_static_media_type("dir.js/file"), "application/octet-stream"), 0);
    char *none = (char *)1;
    assert_int_equal(pm_static_root(&env, s.outside, &none), PM_ERR_NOT_FOUND); /* a file */
    assert_null(none);
    pm_buf_free(&env, &body);
    remove_site(&s);
}

/* ---- over the signaling server ---- */

typedef struct reply {
    int status;
    char head[1024];
    char body[4096];
} reply;

static void parse_reply(const char *raw, size_t n, reply *r)
{
    memset(r, 0, sizeof *r);
    const char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    snprintf(r->head, sizeof r->head, "%.*s", (int)(end - raw), raw);
    snprintf(r->body, sizeof r->body, "%.*s", (int)(n - (size_t)(end + 4 - raw)), end + 4);
    sscanf(raw, "HTTP/1.1 %d", &r->status);
}

static int connect_to(pm_signal_server *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(pm_signal_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    /* Non-blocking: the server is served from this thread between reads. */
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

/* GET path (sent as is) over http or https, serving meanwhile. */
static void fetch(pm_signal_server *srv, bool tls, const char *path, reply *r)
{
    int fd = connect_to(srv);
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed */
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    static char raw[65536];
    size_t got = 0;
    bool sent = false, shaken = !tls;
    pm_time end = pm_now() + DEADLINE;
    for (;;) {
        assert_true(pm_now() < end);
        pm_signal_server_poll(srv, 1);
        if (!shaken) {
            int rc = SSL_connect(ssl);
            int e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
            if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                fail_msg("TLS handshake failed (%d)", e);
            shaken = rc == 1;
            continue;
        }
        if (!sent) {
            int k = tls ? SSL_write(ssl, req, n) : (int)write(fd, req, (size_t)n);
            if (k < 0)
                continue; /* would block: the server reads first */
            assert_int_equal(k, n);
            sent = true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (!(tls && SSL_pending(ssl)) && poll(&p, 1, 0) != 1)
            continue;
        int k = tls ? SSL_read(ssl, raw + got, (int)(sizeof raw - 1 - got))
                    : (int)read(fd, raw + got, sizeof raw - 1 - got);
        if (tls && k <= 0) {
            int e = SSL_get_error(ssl, k);
            if (e == SSL_ERROR_WANT_READ)
                continue;
            break;
        }
        if (k < 0 && errno == EAGAIN)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    raw[got] = 0;
    if (tls) {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
    close(fd);
    parse_reply(raw, got, r);
}

static pm_signal_server *start(const char *root, const char *cert, const char *key)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    cfg.port = 0;
    cfg.web_root = root;
    cfg.cert_file = cert;
    cfg.key_file = key;
    pm_signal_server *srv = NULL;
    assert_int_equal(pm_signal_server_new(&cfg, &srv), PM_OK);
    return srv;
}

static void check_server(pm_signal_server *srv, bool tls)
{
    reply r;
    fetch(srv, tls, "/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<p>home</p>");
    assert_non_null(strcasestr(r.head, "content-type: text/html; charset=utf-8"));
    fetch(srv, tls, "/game.wasm", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "content-type: application/wasm"));
    assert_non_null(strcasestr(r.head, "content-length: 4"));
    fetch(srv, tls, "/healthz", &r);
    assert_int_equal(r.status, 200);
    fetch(srv, tls, "/nothing.js", &r);
    assert_int_equal(r.status, 404);
    /* Climbing out, byte for byte: whoever stops it, the secret never comes back. */
    const char *out[] = {"/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt",
                         "/link.txt"};
    for (size_t i = 0; i < PM_ARRAY_LEN(out); i++) {
        fetch(srv, tls, out[i], &r);
        if (r.status == 200 || strstr(r.body, "secret"))
            fail_msg("%s: status %d, body \"%s\"", out[i], r.status, r.body);
    }
}

static void over_http_and_https(void **st)
{
    site s;
    make_site(&s);
    pm_signal_server *srv = start(s.root, NULL, NULL);
    check_server(srv, false);
    pm_signal_server_free(srv);

    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", s.dir);
    snprintf(key, sizeof key, "%s/key.pem", s.dir);
    assert_true(pm_test_write_self_signed(cert, key));
    srv = start(s.root, cert, key);
    check_server(srv, true);
    pm_signal_server_free(srv);

    /* A web root that is no folder: the server does not start. */
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    cfg.port = 0;
    cfg.web_root = s.outside;
    pm_signal_server *bad = NULL;
    assert_int_equal(pm_signal_server_new(&cfg, &bad), PM_ERR_INVALID);
    assert_null(bad);
    cfg.web_root = "/nonexistent/folder";
    assert_int_equal(pm_signal_server_new(&cfg, &bad), PM_ERR_INVALID);
    remove_site(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_inside_only),
        cmocka_unit_test(over_http_and_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
