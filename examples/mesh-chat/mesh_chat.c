/*
 * mesh-chat: a chat room as a WebRTC mesh, built through a signaling server
 * (peermesh-signal) by the signaling client. Every line you type goes to
 * every peer; what they type is printed with their peer id. See README.md.
 *
 *   mesh-chat ws://127.0.0.1:9080            create a lobby (its name is printed)
 *   mesh-chat ws://127.0.0.1:9080 NAME       join lobby NAME
 *   mesh-chat ws://127.0.0.1:9080 NAME new   create lobby NAME (peermesh-signal --named-lobbies)
 */
#include <peermesh/peermesh.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_signaling(pm_signal_client *client, int *done)
{
    pm_signal_event ev;
    while (pm_signal_client_next_event(client, &ev)) {
        switch (ev.type) {
        case PM_SIGNAL_EVENT_JOINED:
            printf("* in lobby %s as peer %d\n", ev.lobby, (int)pm_signal_client_id(client));
            break;
        case PM_SIGNAL_EVENT_CLOSED:
            /* After a seal the mesh lives on; otherwise this is the end. */
            printf("* signaling closed: %s\n", ev.error ? ev.reason : "bye");
            *done = ev.error != PM_OK || !pm_signal_client_mesh(client);
            break;
        default:
            break;
        }
    }
}

static void on_mesh(pm_multiplayer *mp)
{
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev))
        printf("* peer %d: %s\n", (int)ev.peer_id, pm_mp_event_type_to_string(ev.type));
    pm_mp_packet pkt;
    while (pm_mp_get_packet(mp, &pkt) == PM_OK)
        printf("[%d] %.*s\n", (int)pkt.from, (int)pkt.len, (const char *)pkt.data);
}

/* What stdin has, line by line, to every peer; 0 at the end of input. */
static int send_input(pm_multiplayer *mp)
{
    static char buf[4096];
    static size_t have;
    ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - have);
    if (n <= 0)
        return 0;
    have += (size_t)n;
    char *line = buf, *nl;
    while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) || have == sizeof buf) {
        size_t len = nl ? (size_t)(nl - line) : have;
        if (!mp) {
            printf("* not in a lobby yet\n");
        } else if (len > 0) {
            pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
            pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE);
            int rc = pm_mp_put_packet(mp, (const uint8_t *)line, len);
            if (rc != PM_OK)
                printf("* not sent: %s\n", pm_strerror(rc));
        }
        line += len + (nl != NULL);
        if (!nl)
            break;
    }
    have -= (size_t)(line - buf);
    memmove(buf, line, have);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: mesh-chat ws://HOST:PORT [LOBBY [new]]\n");
        return 64;
    }
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = argv[1];
    cfg.lobby = argc > 2 ? argv[2] : NULL; /* NULL: create a lobby */
    cfg.create_lobby = argc > 3 && strcmp(argv[3], "new") == 0;
    pm_signal_client *client;
    int rc = pm_signal_client_new(&cfg, &client);
    if (rc != PM_OK) {
        fprintf(stderr, "mesh-chat: %s\n", pm_strerror(rc)); /* the log said what is wrong */
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int done = 0, input_open = 1;
    while (!done) {
        /* Sleep until the client or stdin has something, or the client's deadline. */
        pm_time deadline = pm_signal_client_next_timeout(client);
        pm_time left = deadline == PM_TIME_NEVER ? -1 : deadline - pm_now();
        int ms = left < 0 && deadline != PM_TIME_NEVER ? 0 : (int)((left + 999) / 1000);
        struct pollfd fds[2] = {{pm_signal_client_fd(client), POLLIN, 0},
                                {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
        poll(fds, 2, deadline == PM_TIME_NEVER ? -1 : ms);

        if (pm_signal_client_poll(client) == PM_ERR_CLOSED)
            done = 1; /* no signaling and no mesh left */
        on_signaling(client, &done);
        pm_multiplayer *mp = pm_signal_client_multiplayer(client); /* NULL until we joined */
        if (mp)
            on_mesh(mp);
        if (fds[1].revents && !send_input(mp))
            input_open = 0, done = 1; /* end of input: leave */
    }
    pm_signal_client_free(client);
    return 0;
}
