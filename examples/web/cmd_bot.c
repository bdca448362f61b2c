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
#include <poll.h>
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

static const pm_cli_expect EXPECTS[] = {{'s', "a ws:// or wss:// URL (e.g. ws://127.0.0.1:8080/)"},
                                        {'l', "a lobby name (not empty)"},
                                        {'n', "a number of bots 1..8"},
                                        {'b', PM_CLI_EXPECT_IP},
                                        {'d', "seconds 0.1..86400"},
                                        {0, NULL}};
static const pm_cli_command CMD = {"bot", USAGE, EXPECTS};

typedef struct bot_options {
    pm_signal_client_config cfg;
    long count;
    double duration;
} bot_options;

static int take_option(void *ud, int code, const char *arg)
{
    bot_options *o = ud;
    switch (code) {
    case 's':
        o->cfg.url = arg;
        return pm_cli_is_ws_url(arg) ? -1 : PM_CLI_OPTION_BAD;
    case 'l':
        o->cfg.lobby = arg;
        return *arg ? -1 : PM_CLI_OPTION_BAD;
    case 'n':
        return pm_cli_parse_long(arg, 1, MAX_BOTS, &o->count) ? -1 : PM_CLI_OPTION_BAD;
    case 'b':
        return pm_cli_option_bind(&CMD, arg, &o->cfg.rtc.bind_address);
    case 'd':
        return pm_cli_parse_seconds(arg, 0.1, 86400, &o->duration) ? -1 : PM_CLI_OPTION_BAD;
    case 'k':
        o->cfg.allow_self_signed = true;
        return -1;
    default:
        return -1;
    }
}

/* Sleep until a bot's connections have input, a client's deadline or the next frame. */
static void wait_frame(bot *bots, long count, pm_time frame_end)
{
    struct pollfd fds[MAX_BOTS];
    nfds_t n = 0;
    pm_time deadline = frame_end;
    for (long i = 0; i < count; i++) {
        pm_signal_client *c = bots[i].g.client;
        if (!c)
            continue;
        pm_time t = pm_signal_client_next_timeout(c);
        deadline = t < deadline ? t : deadline;
        int fd = pm_signal_client_fd(c);
        if (fd >= 0)
            fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    pm_time left = deadline - pm_now();
    if (left > 0)
        (void)poll(fds, n, (int)((left + 999) / 1000));
}

int pm_cli_bot(int argc, char **argv)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 's'},   {"lobby", required_argument, NULL, 'l'},
        {"count", required_argument, NULL, 'n'},    {"bind", required_argument, NULL, 'b'},
        {"duration", required_argument, NULL, 'd'}, {"insecure", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    bot_options o = {.count = 1};
    pm_signal_client_config_default(&o.cfg);
    o.cfg.rtc.bind_address = PM_CLI_DEFAULT_BIND;
    int status = pm_cli_parse_options(&CMD, argc, argv, 1, longs, take_option, &o);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(&CMD, argv[optind]);
    if (!o.cfg.url || !o.cfg.lobby)
        return pm_cli_usage_errorf(&CMD, "needs %s", !o.cfg.url ? "--server URL" : "--lobby NAME");
    pm_signal_client_config cfg = o.cfg;
    long count = o.count;
    double duration = o.duration;

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

    status = PM_CLI_EXIT_OK;
    int alive = (int)count;
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
                if (bots[i].g.failed)
                    fprintf(stderr, "peermesh bot: bot %d cannot join lobby %s: %s\n", i + 1,
                            cfg.lobby, bots[i].g.failure);
                else
                    printf("bot %d: the game is over\n", i + 1);
                status = bots[i].g.failed ? PM_CLI_EXIT_FAIL : status;
                game_free(&bots[i].g);
                continue;
            }
            alive++;
        }
        last = t;
        /* Frames at 60 a second keep up with 30 sends a second; between them, input wakes us. */
        wait_frame(bots, count, pm_now() + 1000000 / 60);
    }
    for (int i = 0; i < count; i++)
        game_free(&bots[i].g);
    return status;
}
