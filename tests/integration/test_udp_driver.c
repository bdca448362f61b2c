/*
 * Integration tests: the default socket driver (src/io/udp_driver.c) on
 * loopback, driving a scripted sans-I/O core through base/driver.h.
 *
 * The kernel's "buffer full" answer cannot be provoked on loopback (the
 * loopback device releases a datagram's buffer at once), so this executable
 * interposes sendmmsg() and refuses sends on demand.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "base/driver.h"
#include "io/conns.h"
#include "io/io.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- sendmmsg that refuses on demand ---- */

static int accept_msgs = -1; /* < 0: pass everything; else messages left before EAGAIN */
static int refused_calls;

int sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
    static int (*real)(int, struct mmsghdr *, unsigned int, int);
    if (!real)
        real = (int (*)(int, struct mmsghdr *, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
    if (accept_msgs >= 0) {
        if (accept_msgs == 0) {
            refused_calls++;
            errno = EAGAIN;
            return -1;
        }
        if (n > (unsigned)accept_msgs)
            n = (unsigned)accept_msgs;
    }
    int r = real(fd, m, n, flags);
    if (r > 0 && accept_msgs >= 0)
        accept_msgs -= r;
    return r;
}

/* ---- a scripted core ---- */

enum { TOTAL = 200 };

typedef struct script_core {
    pm_addr to;
    int taken;  /* datagrams handed out by poll_transmit */
    int drives; /* handle_datagram + handle_timeout calls */
    int timeouts;
    int received;
    pm_addr last_local, last_from;
    uint8_t payload[TOTAL][400];
} script_core;

/* Datagram i: 100 + i bytes (growing sizes keep GSO runs at one datagram,
 * so each sendmmsg message is one datagram), first byte i. */
static size_t dgram_len(int i)
{
    return 100 + (size_t)i;
}

static int sc_datagram(void *core, pm_time now, const pm_addr *local, const pm_addr *from,
                       const uint8_t *data, size_t len)
{
    (void)now;
    script_core *c = core;
    c->drives++;
    c->received++;
    c->last_local = *local;
    c->last_from = *from;
    assert_true(len == 5 && memcmp(data, "hello", 5) == 0);
    return PM_OK;
}

static int sc_timeout(void *core, pm_time now)
{
    (void)now;
    script_core *c = core;
    c->drives++;
    c->timeouts++;
    return PM_OK;
}

static bool sc_transmit(void *core, pm_transmit *out)
{
    script_core *c = core;
    if (c->taken == TOTAL)
        return false;
    int i = c->taken++;
    memset(c->payload[i], i, dgram_len(i));
    memset(out, 0, sizeof *out); /* a datagram (PM_TRANSMIT_DATAGRAM) from any address */
    out->to = c->to;
    out->data = c->payload[i];
    out->len = dgram_len(i);
    return true;
}

static pm_time sc_deadline(const void *core)
{
    const script_core *c = core;
    return c->taken < TOTAL ? pm_test_clock_now : PM_TIME_NEVER;
}

/* ---- helpers ---- */

static int recv_all(int fd, int *got, int want)
{
    uint8_t buf[2048];
    for (int spins = 0; *got < want && spins < 200; spins++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
            /* In order, whole, nothing twice. */
            assert_int_equal((size_t)n, dgram_len(*got));
            assert_int_equal(buf[0], (uint8_t)*got);
            assert_int_equal(buf[n - 1], (uint8_t)*got);
            (*got)++;
        }
    }
    return *got;
}

/* ---- tests ---- */

static void refused_sends_are_kept_and_retried_in_order(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 3);
    pm_test_clock_virtual = true;
    pm_test_clock_now = PM_SEC(10);

    int rx_fd;
    pm_addr rx_addr;
    assert_int_equal(pm_io_udp_open("127.0.0.1", 0, 0, false, &rx_fd, &rx_addr), PM_OK);

    static script_core core;
    memset(&core, 0, sizeof core);
    core.to = rx_addr;
    pm_endpoint ep = {&core, sc_datagram, sc_timeout, sc_transmit, sc_deadline, NULL, NULL, NULL};
    pm_socket_config cfg = {"127.0.0.1", 0, 0, false, true};
    pm_addr hosts[4];
    size_t host_count = 0;
    pm_sockets *s = NULL;
    const pm_socket_driver *drv = env.sockets;
    assert_non_null(drv);
    assert_int_equal(drv->open(&env, &cfg, &ep, hosts, 4, &host_count, &s), PM_OK);
    assert_int_equal(host_count, 1);
    assert_int_equal(hosts[0].port, drv->local_port(s));
    assert_true(drv->fd(s) >= 0);

    /* The kernel takes 10 datagrams, then pushes back. */
    accept_msgs = 10;
    drv->flush(s);
    assert_true(refused_calls > 0);
    /* Everything the core had left the core (its deadline must not spin the
     * caller), and the driver asks to be polled again in 1 ms. */
    assert_int_equal(core.taken, TOTAL);
    assert_int_equal(sc_deadline(&core), PM_TIME_NEVER);
    assert_int_equal(drv->next_timeout(s), pm_test_clock_now + PM_MS(1));
    int got = 0;
    assert_int_equal(recv_all(rx_fd, &got, 10), 10);

    /* Still refused: nothing is lost, nothing reordered. */
    pm_test_clock_now += PM_MS(1);
    drv->flush(s);
    assert_int_equal(drv->next_timeout(s), pm_test_clock_now + PM_MS(1));

    /* The kernel takes again: the next poll sends the backlog in order. */
    accept_msgs = -1;
    pm_test_clock_now += PM_MS(1);
    assert_int_equal(drv->poll(s), PM_OK);
    assert_int_equal(core.timeouts, 1);
    assert_int_equal(drv->next_timeout(s), PM_TIME_NEVER);
    assert_int_equal(recv_all(rx_fd, &got, TOTAL), TOTAL);

    /* Input: a datagram to the driver's socket reaches the core with its
     * source and the socket's local address; timers run once per poll. */
    pm_addr to = hosts[0];
    assert_int_equal(pm_io_udp_send(rx_fd, &to, (const uint8_t *)"hello", 5), PM_OK);
    for (int spins = 0; core.received == 0 && spins < 200; spins++) {
        struct pollfd p = {drv->fd(s), POLLIN, 0};
        poll(&p, 1, 10);
        assert_int_equal(drv->poll(s), PM_OK);
    }
    assert_int_equal(core.received, 1);
    assert_true(pm_addr_equal(&core.last_from, &rx_addr));
    assert_int_equal(core.last_local.port, hosts[0].port);

    drv->close(s);
    pm_io_udp_close(rx_fd);
    pm_test_clock_virtual = false;
}

static void bad_bind_address(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 4);
    script_core core;
    memset(&core, 0, sizeof core);
    pm_endpoint ep = {&core, sc_datagram, sc_timeout, sc_transmit, sc_deadline, NULL, NULL, NULL};
    pm_socket_config cfg = {"not-an-ip", 0, 0, false, true};
    pm_addr hosts[4];
    size_t host_count = 7;
    pm_sockets *s = (pm_sockets *)1;
    assert_int_equal(env.sockets->open(&env, &cfg, &ep, hosts, 4, &host_count, &s), PM_ERR_INVALID);
    assert_null(s);
    assert_int_equal(host_count, 0);
    env.sockets->close(NULL);
}

/* ---- the connection set (src/io/conns.c) ---- */

/* Poll the set until it reports an event, waiting on its one descriptor
 * (at most 5 s). */
static bool next_conn_event(pm_io_conns *c, pm_io_conn_event *ev)
{
    for (int i = 0; i < 500; i++) {
        if (pm_io_conns_poll(c, ev))
            return true;
        struct pollfd p = {.fd = pm_io_conns_fd(c), .events = POLLIN};
        (void)poll(&p, 1, 10);
    }
    return false;
}

/* A set made without any connection (what every socket-mode peer has)
 * takes a TCP connection later: bytes queued before it is established go
 * out, the answer comes back as an event and wakes the same descriptor,
 * and the server's close is reported. */
static void tcp_connection_opened_after_start(void **st)
{
    (void)st;
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(udp >= 0);
    pm_io_conns *c;
    assert_int_equal(pm_io_conns_new(udp, &c), PM_OK);
    int fd = pm_io_conns_fd(c);
    assert_true(fd >= 0);
    pm_io_conn_event ev;
    assert_false(pm_io_conns_poll(c, &ev));
    assert_false(pm_io_conns_blocked(c));

    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 1), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    pm_addr to;
    assert_int_equal(pm_addr_parse(&to, "127.0.0.1", ntohs(sa.sin_port)), PM_OK);

    assert_int_equal(pm_io_conns_open(c, 7, &to), PM_OK);
    assert_int_equal(pm_io_conns_open(c, 7, &to), PM_ERR_EXISTS);
    assert_int_equal(pm_io_conns_write(c, 7, (const uint8_t *)"hello", 5), PM_OK);
    assert_int_equal(pm_io_conns_write(c, 8, (const uint8_t *)"x", 1), PM_ERR_NOT_FOUND);
    struct pollfd pl = {.fd = l, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 5000), 1);
    int a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    char got[16] = {0};
    size_t n = 0;
    for (int i = 0; i < 500 && n < 5; i++) {
        assert_false(pm_io_conns_poll(c, &ev)); /* connects and writes: no event */
        struct pollfd pa = {.fd = a, .events = POLLIN};
        if (poll(&pa, 1, 10) == 1) {
            ssize_t r = recv(a, got + n, sizeof got - 1 - n, 0);
            assert_true(r > 0);
            n += (size_t)r;
        }
    }
    assert_string_equal(got, "hello");

    assert_int_equal(send(a, "world", 5, 0), 5);
    struct pollfd pw = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pw, 1, 5000), 1); /* the one descriptor wakes */
    assert_true(next_conn_event(c, &ev));
    assert_int_equal(ev.kind, PM_IO_CONN_DATA);
    assert_int_equal(ev.id, 7);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "world", 5);
    assert_int_equal(pm_io_conns_fd(c), fd);

    close(a);
    assert_true(next_conn_event(c, &ev));
    assert_int_equal(ev.kind, PM_IO_CONN_CLOSED);
    assert_int_equal(ev.id, 7);
    assert_string_equal(ev.why, "closed by the server");
    assert_int_equal(pm_io_conns_write(c, 7, (const uint8_t *)"x", 1), PM_ERR_NOT_FOUND);
    pm_io_conns_free(c);
    close(l);
    close(udp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_sends_are_kept_and_retried_in_order),
        cmocka_unit_test(bad_bind_address),
        cmocka_unit_test(tcp_connection_opened_after_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
