/*
 * Integration: the WebSocket server transport (src/io/ws.c) against
 * misbehaving clients on 127.0.0.1, written byte by byte over raw TCP.
 *
 *  - RFC 6455 strictness: an unmasked client frame is answered with close
 *    1002 (section 5.1), a close code no one may send (5000, 1005) too,
 *    while a valid one (4000) is echoed;
 *  - every close has a deadline: a peer that stopped reading does not keep
 *    its connection (queue, kernel buffer, slot) once the server closed it;
 *  - slowloris: hundreds of connections from one address that never finish
 *    their handshake neither keep another address's client from joining
 *    nor /healthz from answering.
 */
#include "testutil.h"

#include "io/ws.h"
#include "peermesh/signaling.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEADLINE PM_SEC(10)

/* ---- a raw TCP WebSocket client ---- */

static int tcp_connect(uint16_t port, const char *from, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    /* Before connecting, so the window offered is that small. */
    if (rcvbuf)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (from) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, from, &src.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

typedef void (*pump_fn)(void *ud);

/* Read into buf until `want` bytes, or the peer closes, driving the server. */
static size_t read_some(int fd, uint8_t *buf, size_t want, pump_fn pump, void *ud, pm_time limit)
{
    size_t got = 0;
    pm_time end = pm_now() + limit;
    while (got < want && pm_now() < end) {
        pump(ud);
        ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0)
            got += (size_t)n;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
    }
    return got;
}

static void handshake(int fd, pump_fn pump, void *ud)
{
    static const char req[] =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    char resp[1024];
    size_t got = 0;
    pm_time end = pm_now() + DEADLINE;
    while (pm_now() < end && got < sizeof resp - 1) {
        pump(ud);
        ssize_t n = recv(fd, resp + got, 1, MSG_DONTWAIT);
        if (n == 1) {
            got++;
            resp[got] = 0;
            if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
                break;
        } else if (n == 0) {
            break;
        }
    }
    assert_non_null(strstr(resp, " 101 "));
}

/* A client frame: FIN, opcode, the payload masked with a fixed key or not. */
static size_t client_frame(uint8_t *out, int opcode, const void *payload, size_t len, bool masked)
{
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    size_t n = 0;
    assert_true(len < 126);
    out[n++] = (uint8_t)(0x80 | opcode);
    out[n++] = (uint8_t)((masked ? 0x80 : 0) | len);
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = ((const uint8_t *)payload)[i] ^ (masked ? key[i & 3] : 0);
    return n + len;
}

/* The first frame the server sends, pings aside: its opcode, and its close
 * code if a close. */
static int server_frame_or_ping(int fd, pump_fn pump, void *ud, int *close_code);

static int server_frame(int fd, pump_fn pump, void *ud, int *close_code)
{
    int op;
    while ((op = server_frame_or_ping(fd, pump, ud, close_code)) == 0x9)
        ;
    return op;
}

static int server_frame_or_ping(int fd, pump_fn pump, void *ud, int *close_code)
{
    uint8_t h[2];
    if (read_some(fd, h, 2, pump, ud, DEADLINE) != 2)
        return -1;
    size_t len = h[1] & 0x7F;
    assert_true((h[1] & 0x80) == 0); /* servers do not mask */
    if (len == 126) {
        uint8_t l[2];
        assert_int_equal(read_some(fd, l, 2, pump, ud, DEADLINE), 2);
        len = pm_rd16(l);
    }
    assert_true(len < 65536);
    uint8_t *payload = malloc(len + 1);
    assert_int_equal(read_some(fd, payload, len, pump, ud, DEADLINE), len);
    *close_code = (h[0] & 0x0F) == 0x8 && len >= 2 ? pm_rd16(payload) : 0;
    free(payload);
    return h[0] & 0x0F;
}

/* True once the server hung up (EOF or reset), within the limit. */
static bool hung_up(int fd, pump_fn pump, void *ud, pm_time limit)
{
    uint8_t sink[4096];
    pm_time end = pm_now() + limit;
    do {
        pump(ud);
        ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    } while (pm_now() < end);
    return false;
}

/* ---- RFC 6455 strictness, through the signaling server ---- */

static void pump_server(void *ud)
{
    pm_signal_server_poll(ud, 1);
}

static pm_signal_server *signal_server_with(pm_time handshake_timeout)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    if (handshake_timeout)
        cfg.handshake_timeout = handshake_timeout;
    cfg.bind_address = "127.0.0.1";
    cfg.port = 0;
    pm_signal_server *srv = NULL;
    assert_int_equal(pm_signal_server_new(&cfg, &srv), PM_OK);
    return srv;
}

static pm_signal_server *signal_server(void)
{
    return signal_server_with(0);
}

static void unmasked_frame_is_a_protocol_error(void **st)
{
    pm_signal_server *srv = signal_server();
    int fd = tcp_connect(pm_signal_server_port(srv), NULL, 0);
    handshake(fd, pump_server, srv);
    /* A valid JOIN, but unmasked: section 5.1 says the server MUST close.
     * Taken as a message, it would be answered with an ID. */
    static const char join[] = "{\"type\":0,\"id\":0,\"data\":\"\"}";
    uint8_t frame[256];
    size_t n = client_frame(frame, 0x1, join, sizeof join - 1, false);
    assert_int_equal(send(fd, frame, n, 0), (ssize_t)n);
    int code = 0;
    assert_int_equal(server_frame(fd, pump_server, srv, &code), 0x8);
    assert_int_equal(code, 1002);
    assert_true(hung_up(fd, pump_server, srv, DEADLINE));
    close(fd);
    pm_signal_server_free(srv);
}

/* Send a close frame with `sent`, expect one with `answer` back. */
static void close_answered_with(pm_signal_server *srv, int sent, int answer)
{
    int fd = tcp_connect(pm_signal_server_port(srv), NULL, 0);
    handshake(fd, pump_server, srv);
    uint8_t payload[2], frame[16];
    pm_wr16(payload, (uint16_t)sent);
    size_t n = client_frame(frame, 0x8, payload, 2, true);
    assert_int_equal(send(fd, frame, n, 0), (ssize_t)n);
    int code = 0;
    assert_int_equal(server_frame(fd, pump_server, srv, &code), 0x8);
    assert_int_equal(code, answer);
    assert_true(hung_up(fd, pump_server, srv, DEADLINE));
    close(fd);
}

static void invalid_close_codes_are_answered_with_1002(void **st)
{
    pm_signal_server *srv = signal_server();
    close_answered_with(srv, 5000, 1002); /* beyond the registry: section 7.4.2 */
    close_answered_with(srv, 1005, 1002); /* never on the wire */
    close_answered_with(srv, 999, 1002);
    close_answered_with(srv, 4000, 4000); /* a valid one is echoed */
    close_answered_with(srv, 1000, 1000);
    pm_signal_server_free(srv);
}

/* ---- every close has a deadline ---- */

typedef struct deadline_run {
    pm_ws *ws;
    uint64_t conn;
    bool closed;
    int code;
} deadline_run;

static void dl_open(void *ud, uint64_t conn, const pm_addr *remote, const char *token)
{
    ((deadline_run *)ud)->conn = conn;
}

static void dl_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    deadline_run *r = ud;
    r->closed = true;
    r->code = code;
}

static void pump_ws(void *ud)
{
    pm_ws_service(((deadline_run *)ud)->ws, 1);
}

static void close_of_a_peer_that_does_not_read_has_a_deadline(void **st)
{
    deadline_run r = {0};
    pm_ws_config wc = {.listen = true,
                       .bind_address = "127.0.0.1",
                       .close_timeout = PM_SEC(1),
                       .max_queued = 16u << 20};
    pm_ws_handler h = {.ud = &r, .on_open = dl_open, .on_closed = dl_closed};
    assert_int_equal(pm_ws_new(&wc, &h, &r.ws), PM_OK);
    int fd = tcp_connect(pm_ws_port(r.ws), NULL, 4096);
    handshake(fd, pump_ws, &r);
    for (pm_time end = pm_now() + DEADLINE; !r.conn && pm_now() < end;)
        pump_ws(&r);
    assert_true(r.conn != 0);
    /* The client stops reading; the server queues 8 MiB, more than the
     * kernel buffers take (4 MiB at most here), then closes, as the
     * signaling core does on a ping timeout. The close frame can never go
     * out. */
    static uint8_t chunk[16384];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 512; i++)
        assert_int_equal(pm_ws_send(r.ws, r.conn, chunk, sizeof chunk, false), PM_OK);
    for (int i = 0; i < 50; i++)
        pump_ws(&r);
    static const char why[] = "Ping timeout";
    pm_time closed_at = pm_now();
    assert_int_equal(pm_ws_close(r.ws, r.conn, 4004, why, sizeof why - 1), PM_OK);
    /* Gone within the 1 s deadline and one housekeeping period, with our
     * code, and nothing left of it. */
    for (pm_time end = pm_now() + DEADLINE; !r.closed && pm_now() < end;)
        pump_ws(&r);
    assert_true(r.closed);
    pm_time took = pm_now() - closed_at;
    print_message("closed %d after %lld ms\n", r.code, (long long)(took / 1000));
    assert_true(took >= PM_MS(900));
    assert_true(took < PM_MS(2500));
    assert_int_equal(r.code, 4004);
    assert_int_equal(pm_ws_count(r.ws), 0);
    /* Dropped with a reset: the kernel's buffers went too. */
    assert_true(hung_up(fd, pump_ws, &r, PM_SEC(2)));
    close(fd);
    pm_ws_free(r.ws);
}

/* ---- slowloris ---- */

static bool got_id(int fd, pump_fn pump, void *ud, pm_time limit)
{
    int code;
    pm_time end = pm_now() + limit;
    while (pm_now() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        pump(ud);
        if (poll(&p, 1, 0) == 1)
            return server_frame(fd, pump, ud, &code) == 0x1;
    }
    return false;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* GET /healthz from `from`: how long the answer took (-1: none). */
static pm_time healthz_time(pm_signal_server *srv, const char *from)
{
    pm_time t0 = pm_now();
    int hz = tcp_connect(pm_signal_server_port(srv), from, 0);
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(hz, get, sizeof get - 1, 0), (ssize_t)(sizeof get - 1));
    char resp[13] = {0};
    size_t n = read_some(hz, (uint8_t *)resp, 12, pump_server, srv, PM_SEC(10));
    close(hz);
    if (n != 12 || strcmp(resp, "HTTP/1.1 200") != 0)
        return -1;
    return pm_now() - t0;
}

/* Open n connections from `from` that send half a request and stop. */
static void open_slow(pm_signal_server *srv, const char *from, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = tcp_connect(pm_signal_server_port(srv), from, 0);
        static const char part[] = "GET / HTTP/1.1\r\nHost: x\r\n";
        (void)send(fds[i], part, sizeof part - 1, MSG_NOSIGNAL);
        pump_server(srv);
    }
    for (int i = 0; i < 100; i++)
        pump_server(srv);
}

static void slowloris_does_not_lock_others_out(void **st)
{
    raise_fd_limit();
    pm_signal_server *srv = signal_server_with(PM_SEC(1));
    uint16_t port = pm_signal_server_port(srv);
    /* 400 connections from 127.0.0.1 that start a request and never end it
     * (more than the 256 handshakes lws works on at once). */
    enum { SLOW = 400 };
    int slow[SLOW];
    open_slow(srv, "127.0.0.1", slow, SLOW);
    /* Beyond its 32 unfinished handshakes, the address is refused. */
    int refused = 0;
    for (int i = 0; i < SLOW; i++)
        if (hung_up(slow[i], pump_server, srv, 0))
            refused++;
    print_message("%d of %d slow connections refused at accept\n", refused, SLOW);
    assert_true(refused >= SLOW - 32);
    /* /healthz answers at once... */
    pm_time took = healthz_time(srv, "127.0.0.3");
    print_message("/healthz in %lld ms\n", (long long)(took / 1000));
    assert_true(took >= 0 && took < PM_SEC(1));
    /* ...and another address joins a lobby at once. */
    pm_time t0 = pm_now();
    int fd = tcp_connect(port, "127.0.0.2", 0);
    handshake(fd, pump_server, srv);
    static const char join[] = "{\"type\":0,\"id\":0,\"data\":\"\"}";
    uint8_t frame[128];
    size_t n = client_frame(frame, 0x1, join, sizeof join - 1, true);
    assert_int_equal(send(fd, frame, n, 0), (ssize_t)n);
    assert_true(got_id(fd, pump_server, srv, PM_SEC(10)));
    took = pm_now() - t0;
    print_message("joined in %lld ms\n", (long long)(took / 1000));
    assert_true(took < PM_SEC(1));
    close(fd);
    /* The slow ones that were let in go by the handshake deadline (1 s). */
    int gone = 0;
    for (int i = 0; i < SLOW; i++) {
        if (hung_up(slow[i], pump_server, srv, PM_SEC(3)))
            gone++;
        close(slow[i]);
    }
    assert_int_equal(gone, SLOW);
    pm_signal_server_free(srv);
}

/* From many addresses, each under its limit, they fill lws's 256 handshake
 * slots: then every handshake gets 1 s instead of 5, and /healthz an
 * answer within about that. */
static void slowloris_from_many_addresses_is_cut_short(void **st)
{
    raise_fd_limit();
    pm_signal_server *srv = signal_server();
    enum { ADDRS = 10, EACH = 30 };
    static int slow[ADDRS][EACH];
    for (int a = 0; a < ADDRS; a++) {
        char from[32];
        snprintf(from, sizeof from, "127.0.1.%d", a + 1);
        open_slow(srv, from, slow[a], EACH);
    }
    pm_time took = healthz_time(srv, "127.0.0.3");
    print_message("/healthz in %lld ms\n", (long long)(took / 1000));
    assert_true(took >= 0 && took < PM_MS(2500));
    for (int a = 0; a < ADDRS; a++)
        for (int i = 0; i < EACH; i++)
            close(slow[a][i]);
    pm_signal_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unmasked_frame_is_a_protocol_error),
        cmocka_unit_test(invalid_close_codes_are_answered_with_1002),
        cmocka_unit_test(close_of_a_peer_that_does_not_read_has_a_deadline),
        cmocka_unit_test(slowloris_does_not_lock_others_out),
        cmocka_unit_test(slowloris_from_many_addresses_is_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
