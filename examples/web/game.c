/*
 * game.c — the web demo's game (game.h): the same C in the page and in
 * `peermesh bot`.
 */
#include "game.h"

#include <stdio.h>
#include <string.h>

/* ---- little-endian encoding (the same on every host) ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}

static float get_f32(const uint8_t *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* ---- players ---- */

uint32_t game_color(int32_t id)
{
    /* A hue from the id, full saturation, light enough on a dark arena. */
    static const uint32_t palette[] = {0xff6b6b, 0xffd93d, 0x6bcB77, 0x4d96ff, 0xc77dff,
                                       0xff9f1c, 0x2ec4b6, 0xf72585, 0x90e0ef, 0xb5e48c};
    return palette[(uint32_t)id % (sizeof palette / sizeof palette[0])];
}

static game_peer *find_peer(game *g, int32_t id, bool add)
{
    for (int i = 0; i < g->npeers; i++)
        if (g->peers[i].id == id)
            return &g->peers[i];
    if (!add || g->npeers == GAME_MAX_PEERS)
        return NULL;
    game_peer *p = &g->peers[g->npeers++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->rtt_ms = -1;
    return p;
}

static void drop_peer(game *g, int32_t id)
{
    for (int i = 0; i < g->npeers; i++)
        if (g->peers[i].id == id) {
            g->peers[i] = g->peers[--g->npeers];
            return;
        }
}

void game_peer_position(const game_peer *p, double now_ms, float *x, float *y)
{
    double a = p->span > 0 ? (now_ms - p->to_at) / p->span : 1;
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    *x = (float)(p->from_x + (p->to_x - p->from_x) * a);
    *y = (float)(p->from_y + (p->to_y - p->from_y) * a);
}

/* ---- chat ---- */

static void keep_line(game *g, int32_t from, const char *text, size_t len)
{
    if (len > GAME_CHAT_MAX)
        len = GAME_CHAT_MAX;
    int slot = (g->chat_first + g->chat_count) % GAME_CHAT_LINES;
    if (g->chat_count == GAME_CHAT_LINES)
        g->chat_first = (g->chat_first + 1) % GAME_CHAT_LINES;
    else
        g->chat_count++;
    g->chat_total++;
    g->chat[slot].from = from;
    memcpy(g->chat[slot].text, text, len);
    g->chat[slot].text[len] = 0;
}

const game_chat_line *game_chat_at(const game *g, int n)
{
    return n >= 0 && n < g->chat_count ? &g->chat[(g->chat_first + n) % GAME_CHAT_LINES] : NULL;
}

static int send_to(game *g, int32_t target, pm_mp_transfer_mode mode, const uint8_t *data,
                   size_t len)
{
    pm_multiplayer *mp = pm_signal_client_multiplayer(g->client);
    if (!mp)
        return PM_ERR_STATE;
    pm_mp_set_target_peer(mp, target);
    pm_mp_set_transfer_mode(mp, mode);
    return pm_mp_put_packet(mp, data, len);
}

static int send_chat(game *g, int32_t target, const char *text)
{
    uint8_t msg[1 + GAME_CHAT_MAX];
    size_t n = strlen(text);
    if (n > GAME_CHAT_MAX)
        n = GAME_CHAT_MAX;
    msg[0] = 'C';
    memcpy(msg + 1, text, n);
    return send_to(g, target, PM_MP_TRANSFER_RELIABLE, msg, n + 1);
}

int game_say(game *g, const char *text)
{
    int rc = send_chat(g, PM_MP_TARGET_BROADCAST, text);
    if (rc == PM_OK)
        keep_line(g, 0, text, strlen(text));
    return rc;
}

/* ---- packets and events ---- */

static void on_packet(game *g, const pm_mp_packet *pkt, double now_ms)
{
    const uint8_t *d = pkt->data;
    game_peer *p = find_peer(g, pkt->from, true);
    if (!p || pkt->len == 0)
        return;
    switch (d[0]) {
    case 'P': {
        if (pkt->len != 13)
            return;
        uint32_t seq = get_u32(d + 1);
        /* Unordered: an older position than the one we have is dropped. */
        if (p->have_position && (int32_t)(seq - p->seq) <= 0)
            return;
        p->positions_received++;
        if (p->have_position) {
            game_peer_position(p, now_ms, &p->from_x, &p->from_y);
            double gap = now_ms - p->to_at;
            p->span = gap < 10 ? 10 : gap > 200 ? 200 : gap;
        } else {
            p->from_x = get_f32(d + 5);
            p->from_y = get_f32(d + 9);
            p->span = 0;
        }
        p->to_x = get_f32(d + 5);
        p->to_y = get_f32(d + 9);
        p->to_at = now_ms;
        p->seq = seq;
        p->have_position = true;
        break;
    }
    case 'Q':
        if (pkt->len == 9) {
            uint8_t pong[9];
            memcpy(pong, d, 9);
            pong[0] = 'R';
            (void)send_to(g, pkt->from, PM_MP_TRANSFER_UNRELIABLE, pong, sizeof pong);
        }
        break;
    case 'R':
        if (pkt->len == 9) {
            double rtt = now_ms - get_f64(d + 1);
            if (rtt >= 0 && rtt < 60000)
                p->rtt_ms = rtt;
        }
        break;
    case 'C':
        g->chat_received++;
        keep_line(g, pkt->from, (const char *)d + 1, pkt->len - 1);
        break;
    default:
        break;
    }
}

static void on_events(game *g)
{
    pm_signal_event sev;
    while (pm_signal_client_next_event(g->client, &sev))
        if (sev.type == PM_SIGNAL_EVENT_CLOSED && sev.close_code != PM_SIGNAL_CLOSE_NORMAL &&
            !pm_signal_client_mesh(g->client)) {
            g->failed = true;
            snprintf(g->failure, sizeof g->failure, "%s",
                     sev.reason && sev.reason[0] ? sev.reason : "signaling closed");
        }
    pm_multiplayer *mp = pm_signal_client_multiplayer(g->client);
    if (!mp)
        return;
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        if (ev.type == PM_MP_EVENT_PEER_CONNECTED) {
            game_peer *p = find_peer(g, ev.peer_id, true);
            if (p)
                p->connected = true;
            char hello[64];
            snprintf(hello, sizeof hello, "hello from %s", g->name);
            (void)send_chat(g, ev.peer_id, hello);
        } else if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
            drop_peer(g, ev.peer_id);
        }
    }
}

/* ---- the step ---- */

int game_start(game *g, const pm_signal_client_config *cfg, const char *name, double now_ms)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->last_tick = g->next_send = g->next_ping = now_ms;
    return pm_signal_client_new(cfg, &g->client);
}

void game_free(game *g)
{
    pm_signal_client_free(g->client);
    g->client = NULL;
}

static void move(game *g, double dt_s)
{
    g->x += (float)(g->dir_x * GAME_SPEED * dt_s);
    g->y += (float)(g->dir_y * GAME_SPEED * dt_s);
    g->x = g->x < 0 ? 0 : g->x > GAME_W ? GAME_W : g->x;
    g->y = g->y < 0 ? 0 : g->y > GAME_H ? GAME_H : g->y;
}

static void send_due(game *g, double now_ms)
{
    if (now_ms >= g->next_send) {
        /* On the 30 Hz grid whatever the tick rate, unless far behind (a paused tab). */
        g->next_send += GAME_SEND_MS;
        if (g->next_send < now_ms - 100)
            g->next_send = now_ms + GAME_SEND_MS;
        uint8_t pos[13] = {'P'};
        put_u32(pos + 1, ++g->seq);
        put_f32(pos + 5, g->x);
        put_f32(pos + 9, g->y);
        (void)send_to(g, PM_MP_TARGET_BROADCAST, PM_MP_TRANSFER_UNRELIABLE, pos, sizeof pos);
    }
    if (now_ms >= g->next_ping) {
        g->next_ping = now_ms + GAME_PING_MS;
        uint8_t ping[9] = {'Q'};
        put_f64(ping + 1, now_ms);
        for (int i = 0; i < g->npeers; i++)
            if (g->peers[i].connected)
                (void)send_to(g, g->peers[i].id, PM_MP_TRANSFER_UNRELIABLE, ping, sizeof ping);
    }
}

int game_tick(game *g, double now_ms)
{
    int rc = pm_signal_client_poll(g->client);
    on_events(g);
    pm_multiplayer *mp = pm_signal_client_multiplayer(g->client);
    if (mp && g->x == 0 && g->y == 0 && pm_signal_client_id(g->client)) {
        /* Our start: spread by id, so players do not begin on top of each other. */
        uint32_t id = (uint32_t)pm_signal_client_id(g->client);
        g->x = 40 + (float)(id * 97u % (GAME_W - 80));
        g->y = 40 + (float)(id * 53u % (GAME_H - 80));
    }
    pm_mp_packet pkt;
    while (mp && pm_mp_get_packet(mp, &pkt) == PM_OK)
        on_packet(g, &pkt, now_ms);
    double dt = (now_ms - g->last_tick) / 1000.0;
    g->last_tick = now_ms;
    move(g, dt > 0.25 ? 0.25 : dt);
    if (mp)
        send_due(g, now_ms);
    return rc;
}

/* ---- status ---- */

/* A JSON string literal of s (lobby names are short and plain, but say so safely). */
static size_t json_string(char *o, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return 0;
    o[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(o + n, cap - n, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(o + n, cap - n, "\\u%04x", c);
        else
            o[n++] = (char)c;
    }
    o[n++] = '"';
    o[n] = 0;
    return n;
}

void game_status_json(const game *g, char *out, size_t cap)
{
    if (!cap)
        return;
    size_t n =
        (size_t)snprintf(out, cap, "{\"id\":%d,\"lobby\":", (int)pm_signal_client_id(g->client));
    if (n < cap)
        n += json_string(out + n, cap - n, pm_signal_client_lobby(g->client));
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, ",\"peers\":[");
    for (int i = 0; i < g->npeers && n < cap; i++) {
        const game_peer *p = &g->peers[i];
        char rtt[32] = "null";
        if (p->rtt_ms >= 0)
            snprintf(rtt, sizeof rtt, "%.1f", p->rtt_ms);
        n += (size_t)snprintf(out + n, cap - n,
                              "%s{\"id\":%d,\"connected\":%s,\"rtt_ms\":%s,"
                              "\"positions_received\":%llu}",
                              i ? "," : "", (int)p->id, p->connected ? "true" : "false", rtt,
                              (unsigned long long)p->positions_received);
    }
    if (n < cap)
        snprintf(out + n, cap - n, "],\"chat_received\":%llu}",
                 (unsigned long long)g->chat_received);
}
