/*
 * libFuzzer target for the RPC layer (Godot 3.2's MultiplayerAPI): the input
 * is a sequence of packets from peers 2 and 3 to a server (id 1) with a few
 * declared nodes and modes, fed through a minimal in-memory multiplayer
 * peer. Every event must carry arguments that encode again, calls back with
 * those arguments must succeed, and the parsers must agree with the core.
 *
 * Input: repeated [u8 control][u8 length][length bytes]; control bit 0
 * picks the sender, bit 1 connects or disconnects it first, bit 2 answers
 * each call with an rpc to everyone.
 */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pm_env env = {.log = quiet};
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
    return 0;
}
