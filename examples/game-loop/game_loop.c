/*
 * game-loop: the main loop of a game that runs at 20 ticks a second and
 * sleeps in its own epoll set between ticks. peermesh is one descriptor in
 * that set (pm_signal_client_fd: the signaling WebSocket and the whole mesh)
 * plus one deadline (pm_signal_client_next_timeout); the game's own timer
 * is another descriptor. Every tick each player sends its position to the
 * others (UNRELIABLE_ORDERED: a late position is worth nothing). See README.md.
 *
 *   game-loop ws://HOST:PORT LOBBY host [SECONDS]   create lobby LOBBY (--named-lobbies)
 *   game-loop ws://HOST:PORT LOBBY join [SECONDS]   join it
 */
#define _GNU_SOURCE /* epoll and timerfd: Linux */
#include <peermesh/peermesh.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TICK_NS 50000000L /* 20 ticks per second */

typedef struct player {
    int32_t id;
    float x, y;
    long updates;
} player;

static player others[16];
static int other_count;

static player *player_of(int32_t id)
{
    for (int i = 0; i < other_count; i++)
        if (others[i].id == id)
            return &others[i];
    if (other_count == 16)
        return NULL;
    others[other_count] = (player){.id = id};
    return &others[other_count++];
}

/* The network's part of a tick: drive peermesh, read what came. */
static int network(pm_signal_client *client)
{
    if (pm_signal_client_poll(client) == PM_ERR_CLOSED)
        return -1; /* no signaling and no mesh left */
    pm_signal_event sev;
    while (pm_signal_client_next_event(client, &sev)) {
        if (sev.type == PM_SIGNAL_EVENT_JOINED)
            printf("in lobby %s as peer %d\n", sev.lobby, (int)pm_signal_client_id(client));
        if (sev.type == PM_SIGNAL_EVENT_CLOSED && sev.close_code != PM_SIGNAL_CLOSE_NORMAL) {
            fprintf(stderr, "game-loop: signaling closed: %s\n", sev.reason); /* what failed */
            return -1;
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(client);
    pm_mp_event ev;
    while (mp && pm_mp_next_event(mp, &ev))
        printf("peer %d: %s\n", (int)ev.peer_id, pm_mp_event_type_to_string(ev.type));
    pm_mp_packet pkt;
    while (mp && pm_mp_get_packet(mp, &pkt) == PM_OK) {
        player *p = player_of(pkt.from);
        if (p && sscanf((const char *)pkt.data, "%f %f", &p->x, &p->y) == 2) /* "x y\0" */
            p->updates++;
    }
    return 0;
}

/* The game's part of a tick: move, and tell the others. */
static void tick(pm_signal_client *client, long n)
{
    pm_multiplayer *mp = pm_signal_client_multiplayer(client);
    if (!mp || pm_mp_get_connection_status(mp) != PM_MP_CONNECTED)
        return;
    char pos[32];
    int len = snprintf(pos, sizeof pos, "%.2f %.2f", 10 * cos(n / 20.0), 10 * sin(n / 20.0));
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    pm_mp_put_packet(mp, (const uint8_t *)pos, (size_t)len + 1);
    if (n % 20 == 0) /* once a second */
        for (int i = 0; i < other_count; i++)
            printf("peer %d is at (%.1f, %.1f)\n", (int)others[i].id, others[i].x, others[i].y);
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[3], "host") != 0 && strcmp(argv[3], "join") != 0)) {
        fprintf(stderr, "usage: game-loop ws://HOST:PORT LOBBY host|join [SECONDS]\n");
        return 64;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = argv[1];
    cfg.lobby = argv[2];
    cfg.create_lobby = strcmp(argv[3], "host") == 0;
    pm_signal_client *client;
    if (pm_signal_client_new(&cfg, &client) != PM_OK)
        return 1; /* the log says why */

    /* Our epoll set: peermesh's one descriptor, our tick timer. */
    int ep = epoll_create1(0), timer = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec every = {{0, TICK_NS}, {0, TICK_NS}};
    timerfd_settime(timer, 0, &every, NULL);
    struct epoll_event net = {.events = EPOLLIN, .data.fd = pm_signal_client_fd(client)};
    struct epoll_event clock = {.events = EPOLLIN, .data.fd = timer};
    epoll_ctl(ep, EPOLL_CTL_ADD, net.data.fd, &net);
    epoll_ctl(ep, EPOLL_CTL_ADD, timer, &clock);

    long ticks = 0, last = argc > 4 ? atol(argv[4]) * 20 : -1;
    int status = 0;
    while (last < 0 || ticks < last) {
        /* Sleep until a descriptor is ready or peermesh's deadline (absolute) comes. */
        pm_time deadline = pm_signal_client_next_timeout(client), now = pm_now();
        int ms = deadline == PM_TIME_NEVER ? -1
                 : deadline <= now         ? 0
                                           : (int)((deadline - now + 999) / 1000);
        struct epoll_event ready[2];
        int n = epoll_wait(ep, ready, 2, ms);
        for (int i = 0; i < n; i++) {
            if (ready[i].data.fd != timer)
                continue; /* the network is polled below on every wake-up */
            uint64_t expirations;
            if (read(timer, &expirations, sizeof expirations) == sizeof expirations)
                tick(client, ++ticks);
        }
        if (network(client) != 0) {
            status = 1;
            break;
        }
    }
    for (int i = 0; i < other_count; i++)
        printf("peer %d: %ld position updates\n", (int)others[i].id, others[i].updates);
    pm_signal_client_free(client);
    close(timer);
    close(ep);
    return status == 0 && other_count > 0 ? 0 : 1;
}
