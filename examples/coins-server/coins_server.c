/*
 * coins-server — the dedicated server of the Godot 3.2 game in
 * examples/godot3/coins, written in C with peermesh's rpc.h. The game's
 * clients are unmodified Godot: they call rpc_id / rpc_unreliable_id on the
 * node /root/Game and this program answers as a Godot server would.
 *
 *   coins-server [--port 9000] [--bind 127.0.0.1] [--ws] [--seconds S]
 *
 * The game: players move a dot with the arrow keys; whoever touches the
 * coin scores and the coin jumps elsewhere. The server is authoritative:
 *
 *   client -> server  remote func join(name: String)
 *                     remote func move(direction: Vector2)    (unreliable, every frame)
 *   server -> client  puppet func welcome(coin: Vector2)
 *                     puppet func state(positions: Dictionary) (unreliable, 20 times a second)
 *                     puppet func coin(position: Vector2)
 *                     puppet func scores(board: Dictionary)   (id -> [name, score])
 *
 * It uses only the public API (#include <peermesh/peermesh.h>): read it as
 * the smallest complete program that serves Godot games from C.
 */
#define _DEFAULT_SOURCE
#include <peermesh/peermesh.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAME        "/root/Game"
#define MAX_PLAYERS 32
#define TICK        PM_MS(50) /* 20 state updates a second */
#define SPEED       200.0f    /* pixels a second */
#define ARENA_W     640.0f
#define ARENA_H     480.0f
#define PICKUP      24.0f /* player radius + coin radius */

typedef struct player {
    int32_t id;
    char name[32];
    float x, y;   /* position */
    float dx, dy; /* last direction asked for, length <= 1 */
    int score;
} player;

typedef struct game {
    pm_rpc *rpc;
    player players[MAX_PLAYERS];
    int count;
    float coin_x, coin_y;
} game;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static float frand(float max)
{
    return (float)rand() / (float)RAND_MAX * max;
}

static player *find(game *g, int32_t id)
{
    for (int i = 0; i < g->count; i++)
        if (g->players[i].id == id)
            return &g->players[i];
    return NULL;
}

/* scores(board): {id: [name, score], ...} to everyone. */
static void send_scores(game *g)
{
    pm_variant pairs[2 * MAX_PLAYERS], rows[2 * MAX_PLAYERS];
    for (int i = 0; i < g->count; i++) {
        rows[2 * i] = pm_variant_string(g->players[i].name);
        rows[2 * i + 1] = pm_variant_int(g->players[i].score);
        pairs[2 * i] = pm_variant_int(g->players[i].id);
        pairs[2 * i + 1] = pm_variant_array(&rows[2 * i], 2);
    }
    pm_variant board = pm_variant_dictionary(pairs, (size_t)g->count);
    pm_rpc_call(g->rpc, GAME, 0, false, "scores", &board, 1);
}

static void send_coin(game *g, int32_t to)
{
    pm_variant at = pm_variant_vector2(g->coin_x, g->coin_y);
    pm_rpc_call(g->rpc, GAME, to, false, to ? "welcome" : "coin", &at, 1);
}

static void on_join(game *g, int32_t id, const pm_rpc_event *ev)
{
    if (find(g, id) || g->count == MAX_PLAYERS || ev->argc != 1 ||
        ev->args[0].type != PM_VARIANT_STRING)
        return;
    player *p = &g->players[g->count++];
    *p = (player){.id = id, .x = frand(ARENA_W), .y = frand(ARENA_H)};
    snprintf(p->name, sizeof p->name, "%.*s", (int)ev->args[0].s.len, ev->args[0].s.ptr);
    printf("%s (%d) joined\n", p->name, (int)id);
    send_coin(g, id);
    send_scores(g);
}

static void on_move(game *g, int32_t id, const pm_rpc_event *ev)
{
    player *p = find(g, id);
    if (!p || ev->argc != 1 || ev->args[0].type != PM_VARIANT_VECTOR2)
        return;
    float dx = ev->args[0].f[0], dy = ev->args[0].f[1];
    float len = sqrtf(dx * dx + dy * dy);
    if (!(len <= 1.0f)) { /* also catches NaN */
        dx = len > 0 && isfinite(len) ? dx / len : 0;
        dy = len > 0 && isfinite(len) ? dy / len : 0;
    }
    p->dx = dx;
    p->dy = dy;
}

static void on_leave(game *g, int32_t id)
{
    player *p = find(g, id);
    if (!p)
        return;
    printf("%s (%d) left with %d\n", p->name, (int)id, p->score);
    *p = g->players[--g->count];
    send_scores(g);
}

/* One step of the world, then everyone's positions. */
static void tick(game *g, float dt)
{
    bool scored = false;
    for (int i = 0; i < g->count; i++) {
        player *p = &g->players[i];
        p->x = fminf(fmaxf(p->x + p->dx * SPEED * dt, 0), ARENA_W);
        p->y = fminf(fmaxf(p->y + p->dy * SPEED * dt, 0), ARENA_H);
        if (hypotf(p->x - g->coin_x, p->y - g->coin_y) < PICKUP) {
            p->score++;
            printf("%s (%d) scores: %d\n", p->name, (int)p->id, p->score);
            g->coin_x = frand(ARENA_W);
            g->coin_y = frand(ARENA_H);
            scored = true;
        }
    }
    if (scored) {
        send_coin(g, 0);
        send_scores(g);
    }
    pm_variant pairs[2 * MAX_PLAYERS];
    for (int i = 0; i < g->count; i++) {
        pairs[2 * i] = pm_variant_int(g->players[i].id);
        pairs[2 * i + 1] = pm_variant_vector2(g->players[i].x, g->players[i].y);
    }
    pm_variant positions = pm_variant_dictionary(pairs, (size_t)g->count);
    if (g->count)
        pm_rpc_call(g->rpc, GAME, 0, true, "state", &positions, 1);
}

static void on_event(game *g, const pm_rpc_event *ev)
{
    if (ev->type == PM_RPC_EVENT_PEER_DISCONNECTED)
        on_leave(g, ev->peer_id);
    else if (ev->type == PM_RPC_EVENT_CALL && strcmp(ev->name, "join") == 0)
        on_join(g, ev->peer_id, ev);
    else if (ev->type == PM_RPC_EVENT_CALL && strcmp(ev->name, "move") == 0)
        on_move(g, ev->peer_id, ev);
}

int main(int argc, char **argv)
{
    int port = 9000;
    const char *bind = "127.0.0.1";
    bool ws = false;
    double seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            bind = argv[++i];
        else if (strcmp(argv[i], "--ws") == 0)
            ws = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: coins-server [--port 9000] [--bind IP] [--ws] [--seconds S]\n");
            return 64;
        }
    }
    /* The transport: Godot 3's ENet (NetworkedMultiplayerENet) or WebSocket. */
    pm_enet *enet = NULL;
    pm_websocket *wsock = NULL;
    pm_multiplayer *mp;
    int rc;
    if (ws) {
        pm_websocket_config cfg;
        pm_websocket_config_default(&cfg);
        cfg.bind_ip = bind;
        rc = pm_websocket_new(&cfg, &wsock);
        if (rc == PM_OK)
            rc = pm_websocket_create_server(wsock, (uint16_t)port);
        mp = pm_websocket_multiplayer(wsock);
    } else {
        pm_enet_config cfg;
        pm_enet_config_default(&cfg);
        cfg.bind_ip = bind;
        rc = pm_enet_new(&cfg, &enet);
        if (rc == PM_OK)
            rc = pm_enet_create_server(enet, (uint16_t)port, MAX_PLAYERS, 0, 0, 0);
        mp = pm_enet_multiplayer(enet);
    }
    /* The game node and what clients may call on it. */
    game g = {.coin_x = ARENA_W / 2, .coin_y = ARENA_H / 2};
    if (rc == PM_OK)
        rc = pm_rpc_new(NULL, mp, &g.rpc);
    if (rc == PM_OK)
        rc = pm_rpc_add_node(g.rpc, GAME, 1);
    if (rc == PM_OK)
        rc = pm_rpc_set_method_mode(g.rpc, GAME, "join", PM_RPC_MODE_REMOTE);
    if (rc == PM_OK)
        rc = pm_rpc_set_method_mode(g.rpc, GAME, "move", PM_RPC_MODE_REMOTE);
    if (rc != PM_OK) {
        fprintf(stderr, "coins-server: %s\n", pm_strerror(rc));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("coins-server: %s on %s:%d\n", ws ? "WebSocket" : "ENet", bind,
           ws ? pm_websocket_get_local_port(wsock) : pm_enet_get_local_port(enet));
    fflush(stdout);

    pm_time start = pm_now(), next = start + TICK;
    while (!stop && (seconds <= 0 || pm_now() - start < (pm_time)(seconds * 1e6))) {
        pm_rpc_poll(g.rpc);
        pm_rpc_event ev;
        while (pm_rpc_next_event(g.rpc, &ev))
            on_event(&g, &ev);
        pm_time now = pm_now();
        if (now >= next) {
            tick(&g, (float)TICK / 1e6f);
            next += TICK;
            if (next < now)
                next = now + TICK; /* fell behind: do not catch up in a burst */
            fflush(stdout);
        }
        int wait_ms = (int)((next - pm_now()) / 1000) + 1;
        if (ws)
            pm_websocket_wait(wsock, wait_ms);
        else
            pm_enet_wait(enet, wait_ms);
    }
    pm_rpc_free(g.rpc);
    pm_websocket_free(wsock);
    pm_enet_free(enet);
    return 0;
}
