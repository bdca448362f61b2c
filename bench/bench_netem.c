/* A delaying, lossy UDP forwarder for benchmarks (see bench_netem.h). */
#define _GNU_SOURCE
#include "bench_netem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIN2(a, b) ((a) < (b) ? (a) : (b))

/* Datagrams held per direction: 16 MB of them, more than 80 MB/s keeps in
 * flight over 100 ms one way. */
#define LINE_SLOTS    12288
#define SLOT_BYTES    1500
#define SOCKET_BUFFER (8 * 1024 * 1024)

typedef struct slot {
    pm_time due;
    uint16_t len;
    uint8_t data[SLOT_BYTES];
} slot;

/* Datagrams on their way to one side, in arrival order (the delay is the
 * same for all, so this is also the order they leave in). */
typedef struct line {
    slot *slots;
    size_t head, count;
} line;

struct pm_cli_netem {
    int fd[2]; /* fd[s] stands for side s: the other side sends to it */
    struct sockaddr_in self[2];
    struct sockaddr_in real[2]; /* where side s really is */
    atomic_bool known[2];
    line to[2]; /* datagrams for side s */
    pm_time delay;
    uint32_t loss_threshold; /* drop when a 32-bit random draw is below it */
    uint64_t rng;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_least64_t forwarded, dropped, overflowed;
};

static uint32_t next_random(pm_cli_netem *r)
{
    uint64_t x = r->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static int open_socket(const char *ip, struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int size = SOCKET_BUFFER;
    /* FORCE passes rmem_max/wmem_max when we may (root); else the capped one */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof *bound;
    if (getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Take in what side `from` sent to the socket standing for the other side. */
static void receive(pm_cli_netem *r, int s)
{
    line *l = &r->to[s];
    for (;;) {
        uint8_t buf[SLOT_BYTES];
        ssize_t n = recv(r->fd[s], buf, sizeof buf, 0);
        if (n < 0)
            return; /* EAGAIN, or nothing usable */
        if (!atomic_load(&r->known[s]))
            continue; /* nowhere to send it yet */
        if (next_random(r) < r->loss_threshold) {
            atomic_fetch_add(&r->dropped, 1);
            continue;
        }
        if (l->count == LINE_SLOTS) {
            atomic_fetch_add(&r->overflowed, 1);
            continue;
        }
        slot *sl = &l->slots[(l->head + l->count) % LINE_SLOTS];
        sl->due = pm_now() + r->delay;
        sl->len = (uint16_t)n;
        memcpy(sl->data, buf, (size_t)n);
        l->count++;
    }
}

/* Send what is due to side `s` (from the socket standing for the other side). */
static pm_time send_due(pm_cli_netem *r, int s, pm_time now)
{
    line *l = &r->to[s];
    while (l->count) {
        slot *sl = &l->slots[l->head];
        if (sl->due > now)
            return sl->due;
        ssize_t n = sendto(r->fd[1 - s], sl->data, sl->len, 0, (struct sockaddr *)&r->real[s],
                           sizeof r->real[s]);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return now + PM_MS(1); /* the socket is full: try again soon */
        if (n >= 0)
            atomic_fetch_add(&r->forwarded, 1);
        l->head = (l->head + 1) % LINE_SLOTS;
        l->count--;
    }
    return PM_TIME_NEVER;
}

static void *relay_main(void *arg)
{
    pm_cli_netem *r = arg;
    struct pollfd pfd[2] = {{r->fd[0], POLLIN, 0}, {r->fd[1], POLLIN, 0}};
    while (!atomic_load(&r->stop)) {
        pm_time now = pm_now();
        pm_time next = MIN2(send_due(r, 0, now), send_due(r, 1, now));
        /* wake at least every 50 ms to see `stop` */
        pm_time wait = MIN2(next == PM_TIME_NEVER ? PM_MS(50) : next - now, PM_MS(50));
        struct timespec ts = {(time_t)(wait / 1000000), (long)(wait % 1000000) * 1000};
        if (wait < 0)
            ts.tv_sec = ts.tv_nsec = 0;
        if (ppoll(pfd, 2, &ts, NULL) > 0)
            for (int s = 0; s < 2; s++)
                if (pfd[s].revents & POLLIN)
                    receive(r, s);
    }
    return NULL;
}

int pm_cli_netem_new(const char *bind_ip, pm_time rtt, double loss, uint64_t seed,
                     pm_cli_netem **out)
{
    pm_cli_netem *r = calloc(1, sizeof *r);
    if (!r)
        return PM_ERR_NOMEM;
    r->fd[0] = r->fd[1] = -1;
    r->delay = rtt / 2;
    r->loss_threshold = (uint32_t)(loss >= 1.0 ? UINT32_MAX : loss * 4294967296.0);
    r->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
    for (int s = 0; s < 2; s++) {
        r->to[s].slots = malloc(LINE_SLOTS * sizeof(slot));
        r->fd[s] = open_socket(bind_ip, &r->self[s]);
        if (!r->to[s].slots || r->fd[s] < 0) {
            fprintf(stderr, "peermesh bench: cannot open the relay on %s\n", bind_ip);
            pm_cli_netem_free(r);
            return PM_ERR_IO;
        }
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        close(r->fd[0]);
        close(r->fd[1]);
        r->fd[0] = r->fd[1] = -1;
        pm_cli_netem_free(r);
        return PM_ERR_NOMEM;
    }
    *out = r;
    return PM_OK;
}

void pm_cli_netem_free(pm_cli_netem *r)
{
    if (!r)
        return;
    if (r->fd[0] >= 0 && r->fd[1] >= 0) {
        atomic_store(&r->stop, true);
        pthread_join(r->thread, NULL);
    }
    for (int s = 0; s < 2; s++) {
        if (r->fd[s] >= 0)
            close(r->fd[s]);
        free(r->to[s].slots);
    }
    free(r);
}

bool pm_cli_netem_rewrite(pm_cli_netem *r, int side, char *candidate, size_t cap)
{
    /* "[candidate:]foundation component transport priority ip port typ type ..." */
    const char *body = strncmp(candidate, "candidate:", 10) == 0 ? candidate + 10 : candidate;
    char foundation[64], transport[16], ip[64], rest[512] = "";
    unsigned component, port;
    unsigned long priority;
    if (sscanf(body, "%63s %u %15s %lu %63s %u %511[^\n]", foundation, &component, transport,
               &priority, ip, &port, rest) < 6 ||
        strcasecmp(transport, "udp") != 0 || side < 0 || side > 1 || atomic_load(&r->known[side]))
        return false;
    struct sockaddr_in real;
    memset(&real, 0, sizeof real);
    real.sin_family = AF_INET;
    real.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &real.sin_addr) != 1)
        return false;
    char relay_ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r->self[side].sin_addr, relay_ip, sizeof relay_ip);
    int n = snprintf(candidate, cap, "candidate:%s %u %s %lu %s %u %s", foundation, component,
                     transport, priority, relay_ip, (unsigned)ntohs(r->self[side].sin_port), rest);
    if (n < 0 || (size_t)n >= cap)
        return false;
    r->real[side] = real;
    atomic_store(&r->known[side], true);
    return true;
}

pm_cli_netem_stats pm_cli_netem_get_stats(pm_cli_netem *r)
{
    pm_cli_netem_stats st = {atomic_load(&r->forwarded), atomic_load(&r->dropped),
                             atomic_load(&r->overflowed)};
    return st;
}
