/*
 * game.h — the web demo's game (examples/web), in plain C on the public
 * API, so one source runs in the page (page/main.c, compiled to WebAssembly)
 * and in `peermesh bot` (cmd_bot.c, native): each player steers a dot; its
 * position goes to everyone on the unreliable channel 30 times a second and
 * is drawn interpolated; chat lines go on the reliable channel; each
 * player's round trip is measured with pings on the unreliable channel.
 *
 * Messages (one packet each, little-endian):
 *   'P' u32 seq, f32 x, f32 y   position (unreliable, broadcast)
 *   'Q' f64 t                   ping: send back as 'R' (unreliable, to one peer)
 *   'R' f64 t                   pong: round trip = now - t
 *   'C' text                    chat line, UTF-8 (reliable); each player greets
 *                               every peer that connects with one
 *
 * Driving: game_tick() as often as the frame rate (at least 30 times a
 * second); it polls the signaling client (and so the mesh), reads events
 * and packets, moves our dot and sends what is due. Times are milliseconds
 * of one monotonic clock.
 */
#ifndef PM_DEMO_GAME_H
#define PM_DEMO_GAME_H

#include "peermesh/signaling.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GAME_W           640 /* the arena, in pixels */
#define GAME_H           400
#define GAME_SPEED       160.0f /* pixels per second at full stick */
#define GAME_SEND_MS     (1000.0 / 30)
#define GAME_PING_MS     1000.0
#define GAME_MAX_PEERS   15
#define GAME_CHAT_MAX    200 /* bytes of one chat line */
#define GAME_CHAT_LINES  8   /* kept for display */
#define GAME_STATUS_SIZE 4096

typedef struct game_peer {
    int32_t id;
    bool connected;
    bool have_position;
    float from_x, from_y; /* drawn position moves from here ... */
    float to_x, to_y;     /* ... to the last received one */
    double to_at;         /* when that arrived */
    double span;          /* over this long (the gap between the last two updates) */
    uint32_t seq;         /* of the last position taken */
    uint64_t positions_received;
    double rtt_ms; /* last round trip, -1 before the first pong */
} game_peer;

typedef struct game_chat_line {
    int32_t from; /* 0 for our own lines */
    char text[GAME_CHAT_MAX + 1];
} game_chat_line;

typedef struct game {
    pm_signal_client *client;
    char name[32];
    float x, y;         /* our dot */
    float dir_x, dir_y; /* the stick: each in -1..1 */
    uint32_t seq;
    double next_send, next_ping, last_tick;
    game_peer peers[GAME_MAX_PEERS];
    int npeers;
    game_chat_line chat[GAME_CHAT_LINES]; /* ring, oldest first from chat_first */
    int chat_first, chat_count;
    uint64_t chat_total;    /* lines ever kept: line k is kept while k >= total - count */
    uint64_t chat_received; /* chat lines from others */
    bool failed;            /* signaling ended before we had a mesh */
    char failure[160];      /* then why: the server's close reason or what failed */
} game;

/**
 * Connect to the signaling server of `cfg` (its url and lobby: NULL lobby
 * creates one) as a player called `name`. PM_OK or pm_signal_client_new's
 * error.
 */
int game_start(game *g, const pm_signal_client_config *cfg, const char *name, double now_ms);
void game_free(game *g);

/**
 * One step: poll, take events and packets, move our dot by dir * speed over
 * the time since the last tick, send our position and pings when due.
 * Returns pm_signal_client_poll()'s result (PM_ERR_CLOSED: nothing left).
 */
int game_tick(game *g, double now_ms);

/** Where to draw peer `p` at `now_ms`: between its last two positions. */
void game_peer_position(const game_peer *p, double now_ms, float *x, float *y);

/** Send a chat line to everyone (cut at GAME_CHAT_MAX bytes). PM_OK or the error. */
int game_say(game *g, const char *text);

/** The n-th chat line kept, oldest first (n < chat_count). */
const game_chat_line *game_chat_at(const game *g, int n);

/**
 * The status the page's window.peermeshStatus() returns, as JSON:
 * {"id":N,"lobby":"..","peers":[{"id":N,"connected":B,"rtt_ms":X|null,
 * "positions_received":N}],"chat_received":N}. Written to out (cap bytes,
 * NUL-terminated, cut short only if cap is below GAME_STATUS_SIZE).
 */
void game_status_json(const game *g, char *out, size_t cap);

/** A colour for a player id (0xRRGGBB), the same in every player's view. */
uint32_t game_color(int32_t id);

#endif
