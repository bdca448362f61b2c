/*
 * The web demo"s page (examples/web, built by `make wasm` into
 * build-wasm/web/): the game of game.c in a canvas. The arrow keys (or
 * WASD) steer our dot; Enter in the chat box sends a line. The page at /
 * creates a lobby and shows the link that joins it (/?lobby=NAME); the
 * signaling server is the one that served the page (peermesh-signal
 * --web-root), on the same host and port.
 *
 * For tests and debugging, index.html defines window.peermeshStatus() over
 * demo_status_json() (game_status_json in game.h).
 */
#include "game.h"

#include <emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/html5.h>
#include <stdio.h>
#include <string.h>

/* ---- the page, from C ---- */

/* clang-format would split JavaScript operators (=> ===): kept as written. */
// clang-format off

/* The signaling URL (ws[s]://host/ of the page), the lobby parameter and the log level. */
EM_JS(void, page_config, (char *url, int url_cap, char *lobby, int lobby_cap, int *log_level), {
    const q = new URLSearchParams(location.search);
    const ws = (location.protocol == "https:" ? "wss://" : "ws://") + location.host + "/";
    stringToUTF8(ws, url, url_cap);
    stringToUTF8(q.get("lobby") || "", lobby, lobby_cap);
    const levels = ["error", "warn", "info", "debug", "trace"];
    HEAP32[log_level >> 2] = levels.indexOf(q.get("log") || "warn");
});

EM_JS(void, draw_clear, (int w, int h), {
    const c = document.getElementById("arena").getContext("2d");
    c.fillStyle = "#14161c";
    c.fillRect(0, 0, w, h);
});

EM_JS(void, draw_player, (double x, double y, int rgb, int ours, const char *label), {
    const c = document.getElementById("arena").getContext("2d");
    const colour = "#" + rgb.toString(16).padStart(6, "0");
    c.beginPath();
    c.arc(x, y, ours ? 11 : 9, 0, 2 * Math.PI);
    c.fillStyle = colour;
    c.fill();
    if (ours) {
        c.lineWidth = 2;
        c.strokeStyle = "#ffffff";
        c.stroke();
    }
    c.font = "12px sans-serif";
    c.fillStyle = "#d0d4dc";
    c.fillText(UTF8ToString(label), x + 13, y + 4);
});

EM_JS(void, set_text, (const char *id, const char *text), {
    const e = document.getElementById(UTF8ToString(id));
    if (e)
        e.textContent = UTF8ToString(text);
});

/* The lobby link in the page, once we know the lobby. */
EM_JS(void, show_link, (const char *lobby), {
    const link = location.origin + "/?lobby=" + encodeURIComponent(UTF8ToString(lobby));
    const a = document.getElementById("link");
    a.href = link;
    a.textContent = link;
});

EM_JS(void, show_chat, (int index, int from, const char *text), {
    const list = document.getElementById("chat");
    while (list.children.length <= index)
        list.appendChild(document.createElement("li"));
    list.children[index].textContent = (from ? from + ": " : "me: ") + UTF8ToString(text);
});

EM_JS(int, chat_box_focused, (void),
      { return document.activeElement == document.getElementById("say") ? 1 : 0; });

// clang-format on

/* ---- the game in the page ---- */

static game the_game;
static bool started;
static bool keys[4]; /* left, right, up, down */
static int shown_chat = -1;
static uint64_t chat_version, shown_version;
static bool link_shown;

static int key_index(const char *code)
{
    static const char *const names[4][2] = {
        {"ArrowLeft", "KeyA"}, {"ArrowRight", "KeyD"}, {"ArrowUp", "KeyW"}, {"ArrowDown", "KeyS"}};
    for (int i = 0; i < 4; i++)
        if (!strcmp(code, names[i][0]) || !strcmp(code, names[i][1]))
            return i;
    return -1;
}

static EM_BOOL on_key(int type, const EmscriptenKeyboardEvent *e, void *ud)
{
    int k = key_index(e->code);
    if (k < 0 || chat_box_focused())
        return EM_FALSE;
    keys[k] = type == EMSCRIPTEN_EVENT_KEYDOWN;
    return EM_TRUE; /* no page scrolling with the arrows */
}

static void show_status(double now)
{
    game *g = &the_game;
    const char *lobby = pm_signal_client_lobby(g->client);
    if (!link_shown && lobby[0]) {
        show_link(lobby);
        link_shown = true;
    }
    static double next;
    if (now < next)
        return;
    next = now + 250;
    char line[512];
    size_t n =
        (size_t)snprintf(line, sizeof line, "you are %d", (int)pm_signal_client_id(g->client));
    for (int i = 0; i < g->npeers && n < sizeof line; i++) {
        const game_peer *p = &g->peers[i];
        if (p->rtt_ms >= 0)
            n += (size_t)snprintf(line + n, sizeof line - n, " | %d: %.0f ms", (int)p->id,
                                  p->rtt_ms);
        else
            n += (size_t)snprintf(line + n, sizeof line - n, " | %d: %s", (int)p->id,
                                  p->connected ? "..." : "connecting");
    }
    set_text("players", line);
}

static void show_new_chat(void)
{
    game *g = &the_game;
    uint64_t version = g->chat_received + chat_version;
    if (version == shown_version && shown_chat == g->chat_count)
        return;
    shown_version = version;
    shown_chat = g->chat_count;
    for (int i = 0; i < g->chat_count; i++) {
        const game_chat_line *l = game_chat_at(g, i);
        show_chat(i, (int)l->from, l->text);
    }
}

/* The network, the game and the page's text: 100 times a second, drawn or not. */
static void tick(void *ud)
{
    game *g = &the_game;
    g->dir_x = (float)(keys[1] - keys[0]);
    g->dir_y = (float)(keys[3] - keys[2]);
    (void)game_tick(g, emscripten_get_now());
    if (g->failed) {
        set_text("players", g->failure);
        g->failed = false;
        return;
    }
    /* The page's text here, not in frame(): a page in the background gets no frames. */
    show_status(emscripten_get_now());
    show_new_chat();
}

/* Drawing, once per animation frame. */
static EM_BOOL frame(double now, void *ud)
{
    game *g = &the_game;
    draw_clear(GAME_W, GAME_H);
    char label[32];
    for (int i = 0; i < g->npeers; i++) {
        const game_peer *p = &g->peers[i];
        if (!p->have_position)
            continue;
        float x, y;
        game_peer_position(p, emscripten_get_now(), &x, &y);
        snprintf(label, sizeof label, "%d", (int)p->id);
        draw_player(x, y, (int)game_color(p->id), 0, label);
    }
    if (pm_signal_client_id(g->client))
        draw_player(g->x, g->y, (int)game_color(pm_signal_client_id(g->client)), 1, "you");
    return EM_TRUE;
}

/* ---- what index.html calls ---- */

const char *demo_status_json(void);
int demo_say(const char *text);

/* window.peermeshStatus(): the game"s status JSON (a static buffer). */
EMSCRIPTEN_KEEPALIVE const char *demo_status_json(void)
{
    static char json[GAME_STATUS_SIZE];
    if (!started)
        return "{\"id\":0,\"lobby\":\"\",\"peers\":[],\"chat_received\":0}";
    game_status_json(&the_game, json, sizeof json);
    return json;
}

/* The chat box's Enter. 0 when sent. */
EMSCRIPTEN_KEEPALIVE int demo_say(const char *text)
{
    if (!started || !text[0])
        return PM_ERR_INVALID;
    int rc = game_say(&the_game, text);
    chat_version++;
    return rc;
}

int main(void)
{
    static char url[256], lobby[128];
    static pm_env env;
    int level = PM_LOG_WARN;
    page_config(url, sizeof url, lobby, sizeof lobby, &level);
    if (level >= 0) {
        env.log_level = (pm_log_level)level;
        env.log_level_set = true;
    }
    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.env = &env;
    cfg.url = url;
    cfg.lobby = lobby[0] ? lobby : NULL;
    int rc = game_start(&the_game, &cfg, "web", emscripten_get_now());
    if (rc != PM_OK) {
        set_text("players", pm_strerror(rc));
        return 1;
    }
    started = true;
    emscripten_set_keydown_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, NULL, true, on_key);
    emscripten_set_keyup_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, NULL, true, on_key);
    emscripten_set_interval(tick, 10, NULL);
    emscripten_request_animation_frame_loop(frame, NULL);
    return 0;
}
