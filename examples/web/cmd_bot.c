/*
 * `peermesh bot --server URL --lobby NAME [--count N]` — native players for
 * the web demo (examples/web): N players of the game in game.c join the
 * lobby, each through its own signaling connection and WebRTC connections,
 * and steer their dots by themselves (a slow turn, bouncing off the walls),
 * so one person with one browser tab sees a live game. They greet every
 * player who connects, answer pings, and print what happens. Runs until
 * Ctrl-C (or --duration).
 */
#include "cli.h"
#include "game.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_BOTS 8

static const char USAGE[] =
    "usage: peermesh bot --server URL --lobby NAME [--count N] [--bind IP] [--duration S]\n"
    "                    [--insecure]\n"
    "\n"
    "  --server URL     the signaling server, ws://HOST:PORT/ (peermesh-signal; with\n"
    "                   --web-root it also serves the web demo on that address)\n"
    "  --lobby NAME     the lobby to join (the page shows it in its link: /?lobby=NAME)\n"
    "  --count N        number of bots, 1..8 (default 1)\n"
    "  --bind IP        address for the WebRTC connections (default 127.0.0.1)\n"
    "  --duration S     stop after S seconds (default: run until Ctrl-C)\n"
    "  --insecure       wss: accept a self-signed certificate\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

typedef struct bot {
    game g;
    float heading; /* radians */
    float turn;    /* radians per second */
    int reported_peers;
    uint64_t reported_chat;
} bot;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Steer: turn slowly, bounce off the walls. */
static void steer(bot *b, double dt_s)
{
    game *g = &b->g;
    b->heading += b->turn * (float)dt_s;
    float dx = cosf(b->heading), dy = sinf(b->heading);
    if ((g->x <= 10 && dx < 0) || (g->x >= GAME_W - 10 && dx > 0))
        b->heading = (float)M_PI - b->heading;
    if ((g->y <= 10 && dy < 0) || (g->y >= GAME_H - 10 && dy > 0))
        b->heading = -b->heading;
    g->dir_x = cosf(b->heading);
    g->dir_y = sinf(b->heading);
}

static void report(int n, bot *b)
{
    game *g = &b->g;
    int connected = 0;
    for (int i = 0; i < g->npeers; i++)
        connected += g->peers[i].connected;
    if (connected != b->reported_peers) {
        printf("bot %d (peer %d): %d player(s) connected\n", n, (int)pm_signal_client_id(g->client),
               connected);
        b->reported_peers = connected;
    }
    for (; b->reported_chat < g->chat_received; b->reported_chat++) {
        const game_chat_line *l =
            game_chat_at(g, g->chat_count - 1 - (int)(g->chat_received - 1 - b->reported_chat));
        if (l)
            printf("bot %d: [%d] %s\n", n, (int)l->from, l->text);
    }
    fflush(stdout);
}

int pm_cli_bot(int argc, char **argv)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 's'},   {"lobby", required_argument, NULL, 'l'},
        {"count", required_argument, NULL, 'n'},    {"bind", required_argument, NULL, 'b'},
        {"duration", required_argument, NULL, 'd'}, {"insecure", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.rtc.bind_address = PM_CLI_DEFAULT_BIND;
    long count = 1;
    double duration = 0;
    optind = 1;
    opterr = 0;
    int code;
    while ((code = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (code) {
        case 'h':
            fputs(USAGE, stdout);
            return PM_CLI_EXIT_OK;
        case 's':
            cfg.url = optarg;
            continue;
        case 'l':
            cfg.lobby = optarg;
            continue;
        case 'n':
            if (pm_cli_parse_long(optarg, 1, MAX_BOTS, &count))
                continue;
            break;
        case 'b':
            if (pm_cli_is_numeric_ip(optarg)) {
                cfg.rtc.bind_address = optarg;
                continue;
            }
            break;
        case 'd':
            if (pm_cli_parse_seconds(optarg, 0.1, 86400, &duration))
                continue;
            break;
        case 'k':
            cfg.allow_self_signed = true;
            continue;
        default:
            break;
        }
        fprintf(stderr, "peermesh bot: bad option %s\n%s", argv[optind - 1], USAGE);
        return PM_CLI_EXIT_USAGE;
    }
    if (optind < argc || !cfg.url || !cfg.lobby || !cfg.lobby[0]) {
        fprintf(stderr, "peermesh bot: %s\n%s",
                optind < argc ? "unexpected argument" : "--server and --lobby needed", USAGE);
        return PM_CLI_EXIT_USAGE;
    }

    static bot bots[MAX_BOTS];
    double start = now_ms();
    for (int i = 0; i < count; i++) {
        char name[16];
        snprintf(name, sizeof name, "bot %d", i + 1);
        int rc = game_start(&bots[i].g, &cfg, name, start);
        if (rc != PM_OK) {
            fprintf(stderr, "peermesh bot: cannot connect to %s: %s\n", cfg.url, pm_strerror(rc));
            for (int k = 0; k < i; k++)
                game_free(&bots[k].g);
            return rc == PM_ERR_INVALID ? PM_CLI_EXIT_USAGE : PM_CLI_EXIT_FAIL;
        }
        bots[i].heading = (float)i * 2.1f;
        bots[i].turn = 0.6f + 0.25f * (float)i;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("%ld bot(s) joining lobby %s on %s; Ctrl-C stops\n", count, cfg.lobby, cfg.url);
    fflush(stdout);

    int status = PM_CLI_EXIT_OK, alive = (int)count;
    double last = start;
    while (!stop && alive > 0 && (duration <= 0 || now_ms() - start < duration * 1000)) {
        double t = now_ms();
        alive = 0;
        for (int i = 0; i < count; i++) {
            if (!bots[i].g.client)
                continue;
            steer(&bots[i], (t - last) / 1000.0);
            int rc = game_tick(&bots[i].g, t);
            report(i + 1, &bots[i]);
            if (bots[i].g.failed || rc == PM_ERR_CLOSED) {
                printf("bot %d: %s\n", i + 1,
                       bots[i].g.failed ? "cannot join (signaling closed)" : "the game is over");
                status = bots[i].g.failed ? PM_CLI_EXIT_FAIL : status;
                game_free(&bots[i].g);
                continue;
            }
            alive++;
        }
        last = t;
        /* Sockets are polled, not waited on: 5 ms keeps up with 30 sends a second. */
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    for (int i = 0; i < count; i++)
        game_free(&bots[i].g);
    return status;
}
