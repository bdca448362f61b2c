/*
 * enet-hello: ENet's tutorial (enet.bespin.org/Tutorial.html), step by
 * step, on peermesh's ENet host: a server that greets every client, and a
 * client that connects, sends one packet, gets the answer and disconnects.
 * See README.md.
 *
 *   enet-hello server PORT [IP]     serve until Ctrl-C (on IP, or every address)
 *   enet-hello client IP PORT       say hello once, then leave
 */
#include <peermesh/peermesh.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stopping;
static void on_sigint(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Steps 3 and 4 of the tutorial: wait for an event (at most timeout_ms), and tell what it is. */
static int next_event(pm_enet_host *host, int timeout_ms, pm_enet_event *ev)
{
    /* Sleep on the host's socket until its deadline or timeout_ms, whichever is first. */
    pm_time limit = pm_now() + PM_MS(timeout_ms);
    pm_time deadline = pm_enet_host_next_timeout(host);
    pm_wait(pm_enet_host_fd(host), deadline < limit ? deadline : limit);
    return pm_enet_host_service(host, 0, ev);
}

static void print_packet(pm_enet_packet_peer *peer, const char *who)
{
    const uint8_t *data;
    size_t len;
    while (pm_enet_packet_peer_get_packet(peer, &data, &len, NULL, NULL) == PM_OK)
        printf("%s got: %.*s\n", who, (int)len, (const char *)data);
}

static int server(uint16_t port, const char *ip)
{
    /* Step 1: a host bound to the address ("*": every one) and the port, for 32 clients and
     * 2 channels, no bandwidth limits. */
    pm_enet_host *host;
    int rc = pm_enet_host_create_bound(NULL, ip, port, 32, 2, 0, 0, &host);
    if (rc != PM_OK) {
        fprintf(stderr, "enet-hello: cannot listen on port %u: %s\n", (unsigned)port,
                pm_strerror(rc));
        return 1;
    }
    printf("server: listening on port %u\n", (unsigned)pm_enet_host_get_local_port(host));
    fflush(stdout);
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    while (!stopping) {
        pm_enet_event ev;
        if (next_event(host, 100, &ev) <= 0)
            continue;
        char who[PM_ADDR_STRLEN];
        pm_addr addr;
        pm_enet_packet_peer_get_remote_address(ev.peer, &addr);
        pm_addr_format(&addr, who, sizeof who);
        if (ev.type == PM_ENET_EVENT_CONNECT)
            printf("server: %s connected\n", who);
        if (ev.type == PM_ENET_EVENT_RECEIVE) {
            print_packet(ev.peer, "server");
            /* Step 5: answer on channel 0, reliably. */
            const char reply[] = "hello back";
            pm_enet_packet_peer_send(ev.peer, 0, (const uint8_t *)reply, sizeof reply - 1,
                                     PM_ENET_FLAG_RELIABLE);
        }
        if (ev.type == PM_ENET_EVENT_DISCONNECT)
            printf("server: %s disconnected\n", who);
        fflush(stdout);
    }
    pm_enet_host_free(host); /* Step 7 */
    return 0;
}

static int client(const char *ip, uint16_t port)
{
    /* Step 1: a client host, one outgoing connection, 2 channels. */
    pm_enet_host *host;
    pm_enet_packet_peer *peer;
    int rc = pm_enet_host_create(NULL, 1, 2, 0, 0, &host);
    /* Step 2: connect (ENet answers with a CONNECT event, or nothing). */
    if (rc == PM_OK)
        rc = pm_enet_host_connect(host, ip, port, 2, 0, &peer);
    if (rc != PM_OK) {
        fprintf(stderr, "enet-hello: cannot connect to %s:%u: %s\n", ip, (unsigned)port,
                pm_strerror(rc));
        pm_enet_host_free(host);
        return rc == PM_ERR_INVALID ? 64 : 1;
    }
    pm_enet_event ev;
    pm_time give_up = pm_now() + PM_SEC(5);
    while (pm_now() < give_up &&
           !(next_event(host, 100, &ev) > 0 && ev.type == PM_ENET_EVENT_CONNECT))
        ;
    if (pm_enet_packet_peer_get_state(peer) != PM_ENET_PEER_CONNECTED) {
        fprintf(stderr, "enet-hello: no answer from %s:%u within 5 s\n", ip, (unsigned)port);
        pm_enet_host_free(host);
        return 1;
    }
    printf("client: connected to %s:%u\n", ip, (unsigned)port);
    /* Step 5: send a packet, reliably, on channel 0. */
    const char hello[] = "hello";
    pm_enet_packet_peer_send(peer, 0, (const uint8_t *)hello, sizeof hello - 1,
                             PM_ENET_FLAG_RELIABLE);
    /* Step 6: wait for the answer, then disconnect gracefully and wait for DISCONNECT. */
    give_up = pm_now() + PM_SEC(5);
    bool answered = false, gone = false;
    while (pm_now() < give_up && !gone) {
        if (next_event(host, 100, &ev) <= 0)
            continue;
        if (ev.type == PM_ENET_EVENT_RECEIVE) {
            print_packet(peer, "client");
            answered = true;
            pm_enet_packet_peer_disconnect(peer, 0);
        }
        gone = ev.type == PM_ENET_EVENT_DISCONNECT;
    }
    printf("client: %s\n", gone ? "disconnected" : "no goodbye from the server");
    pm_enet_host_free(host); /* Step 7 */
    return answered && gone ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "server") == 0)
        return server((uint16_t)atoi(argv[2]), argc == 4 ? argv[3] : "*");
    if (argc == 4 && strcmp(argv[1], "client") == 0)
        return client(argv[2], (uint16_t)atoi(argv[3]));
    fprintf(stderr, "usage: enet-hello server PORT [IP] | enet-hello client IP PORT\n");
    return 64;
}
