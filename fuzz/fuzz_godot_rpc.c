/*
 * libFuzzer target for Godot 3.2's multiplayer stack: the RPC layer
 * (MultiplayerAPI) and the WebSocket multiplayer peer's core.
 *
 * The input is a sequence of chunks. Each chunk is a packet from peer 2 or
 * 3 to an rpc server (id 1) with a few declared nodes and modes, fed through
 * a minimal in-memory multiplayer peer: every event must carry arguments
 * that encode again, and calls back with those arguments must succeed. The
 * same chunk is also a WebSocket message to a WebSocket-peer server core
 * (from one of two clients) and to a client core (from its server); their
 * queues must stay consistent.
 *
 * Input: repeated [u8 control][u8 length][length bytes]; control bit 0
 * picks the sender, bit 1 connects or disconnects it first, bit 2 answers
 * each call with an rpc to everyone.
 */
#include "multiplayer/wsmp_core.h"
#include "peermesh/rpc.h"
#include "wire/godot_mpapi.h"
#include "wire/godot_variant.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fake {
    const uint8_t *pkt;
    size_t len;
    int32_t from;
    bool pending;
    pm_mp_event ev[4];
    int nev;
} fake;

static int f_poll(void *impl)
{
    (void)impl;
    return PM_OK;
}
static int f_put(void *impl, int32_t t, pm_mp_transfer_mode m, int c, const uint8_t *d, size_t n)
{
    (void)impl, (void)t, (void)m, (void)c;
    if (!d || !n)
        abort(); /* the rpc layer never sends an empty packet */
    return PM_OK;
}
static int f_get(void *impl, pm_mp_packet *out)
{
    fake *f = impl;
    if (!f->pending)
        return PM_ERR_AGAIN;
    f->pending = false;
    *out = (pm_mp_packet){.data = f->pkt, .len = f->len, .from = f->from};
    return PM_OK;
}
static bool f_event(void *impl, pm_mp_event *ev)
{
    fake *f = impl;
    if (!f->nev)
        return false;
    *ev = f->ev[0];
    memmove(f->ev, f->ev + 1, (size_t)--f->nev * sizeof *ev);
    return true;
}
static int32_t f_id(const void *impl)
{
    (void)impl;
    return 1;
}
static pm_mp_status f_status(const void *impl)
{
    (void)impl;
    return PM_MP_CONNECTED;
}

static const pm_multiplayer_ops fake_ops = {
    .poll = f_poll,
    .put_packet = f_put,
    .get_packet = f_get,
    .next_event = f_event,
    .get_unique_id = f_id,
    .get_connection_status = f_status,
};

static void quiet(void *ud, pm_log_level l, const char *c, const char *m)
{
    (void)ud, (void)l, (void)c, (void)m;
}

static void check_codec(const uint8_t *p, size_t n)
{
    pm_gmp_remote r;
    if (pm_gmp_parse_remote(p, n, &r) == PM_OK &&
        (r.body_len == 0 || r.body + r.body_len > p + n || r.name[r.name_len] != 0))
        abort();
}

/* The WebSocket cores: a server with two clients, and a client of a server. */
static void ws_feed(pm_wsmp *server, pm_wsmp *client, uint64_t conn, const uint8_t *p, size_t n)
{
    pm_wsmp_on_message(server, conn, p, n);
    pm_wsmp_on_message(client, 1, p, n);
    pm_wsmp *both[] = {server, client};
    for (int i = 0; i < 2; i++) {
        pm_wsmp_action a;
        uint64_t c;
        const uint8_t *d;
        size_t len;
        while (pm_wsmp_next_output(both[i], &a, &c, &d, &len))
            if (a == PM_WSMP_SEND && len < 9)
                abort(); /* every message carries Godot's header */
        pm_mp_packet pkt;
        while (pm_wsmp_get_packet(both[i], &pkt) == PM_OK)
            if (pkt.from < 1 || pkt.len > 1000)
                abort();
        pm_mp_event ev;
        while (pm_wsmp_next_event(both[i], &ev))
            if (ev.peer_id < 1)
                abort();
    }
}

static void ws_setup(pm_wsmp *server, pm_wsmp *client)
{
    static pm_env env = {.log = quiet};
    pm_envr r;
    pm_env_resolve(&r, &env);
    pm_wsmp_init(server, &r, 1000, 4096);
    pm_wsmp_init(client, &r, 1000, 4096);
    pm_wsmp_start(server, true);
    pm_wsmp_start(client, false);
    pm_wsmp_on_open(server, 1);
    pm_wsmp_on_open(server, 2);
    pm_wsmp_on_open(client, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pm_env env = {.log = quiet};
    pm_wsmp wserver, wclient;
    ws_setup(&wserver, &wclient);
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.env = &env;
    cfg.max_decode_memory = 1 << 16;
    cfg.max_path_cache_bytes = 512;
    fake f = {.nev = 2};
    f.ev[0] = (pm_mp_event){.type = PM_MP_EVENT_PEER_CONNECTED, .peer_id = 2};
    f.ev[1] = (pm_mp_event){.type = PM_MP_EVENT_PEER_CONNECTED, .peer_id = 3};
    pm_multiplayer *mp;
    pm_rpc *r;
    if (pm_multiplayer_new(&fake_ops, &f, &mp) != PM_OK)
        return 0;
    if (pm_rpc_new(&cfg, mp, &r) != PM_OK)
        abort();
    pm_rpc_add_node(r, "Echo", 1);
    pm_rpc_add_node(r, "Game/P", 2);
    static const char *const names[] = {"echo", "m", "p", "s", "value"};
    for (int i = 0; i < 5; i++) {
        pm_rpc_set_method_mode(r, "Echo", names[i], (pm_rpc_mode)(1 + i));
        pm_rpc_set_method_mode(r, "Game/P", names[i], (pm_rpc_mode)(2 + i));
        pm_rpc_set_property_mode(r, "Echo", names[i], (pm_rpc_mode)(1 + i));
    }
    bool connected[4] = {false, false, true, true};
    size_t at = 0;
    while (at + 2 <= size) {
        uint8_t control = data[at];
        size_t n = PM_MIN((size_t)data[at + 1], size - at - 2);
        int32_t from = 2 + (control & 1);
        if ((control & 2) && f.nev < 4) {
            f.ev[f.nev++] = (pm_mp_event){.type = connected[from] ? PM_MP_EVENT_PEER_DISCONNECTED
                                                                  : PM_MP_EVENT_PEER_CONNECTED,
                                          .peer_id = from};
            connected[from] = !connected[from];
        }
        f.pkt = data + at + 2;
        f.len = n;
        f.from = from;
        f.pending = true;
        check_codec(f.pkt, n);
        ws_feed(&wserver, &wclient, 1 + (control & 1), f.pkt, n);
        pm_rpc_event ev;
        while (pm_rpc_next_event(r, &ev)) {
            for (size_t i = 0; i < ev.argc; i++)
                if (pm_variant_encoded_size(&ev.args[i], NULL) != PM_OK)
                    abort();
            if (ev.type == PM_RPC_EVENT_CALL && (control & 4) && !ev.local &&
                pm_rpc_call(r, "Echo", 0, false, "s", ev.args, ev.argc) != PM_OK)
                abort();
        }
        at += 2 + n;
    }
    pm_rpc_free(r);
    pm_multiplayer_free(mp);
    pm_wsmp_free(&wserver);
    pm_wsmp_free(&wclient);
    return 0;
}
