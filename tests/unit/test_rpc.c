/*
 * Unit tests: src/rpc (Godot 3.2's MultiplayerAPI) over in-memory
 * multiplayer endpoints (tests/support/mp_hub.h): path caching and its
 * wire bytes, the RPC mode rules on both sides, local (sync) calls, rset,
 * raw bytes, and bad input of every kind dropped while the sender stays.
 */
#include "testutil.h"

#include "mp_hub.h"
#include "peermesh/rpc.h"
#include "wire/godot_mpapi.h"
#include "wire/godot_variant.h"

#include <stdio.h>
#include <stdlib.h>

#define SERVER 1
#define ALICE  2
#define BOB    3

typedef struct rec {
    pm_rpc_event_type type;
    int32_t peer;
    bool local;
    char name[64];
    char path[64];
    size_t argc;
    int64_t arg0; /* the first argument when it is an INT */
} rec;

typedef struct world {
    pm_test_hub *hub;
    pm_rpc *rpc[4]; /* by id: 1 server, 2 alice, 3 bob */
} world;

/* Logs go nowhere (the tests count drops through the stats). */
static void quiet(void *ud, pm_log_level level, const char *component, const char *msg)
{
    (void)ud, (void)level, (void)component, (void)msg;
}

static pm_rpc *new_rpc(pm_multiplayer *mp, const pm_rpc_config *base)
{
    static pm_env env = {.log = quiet};
    pm_rpc_config cfg;
    if (base)
        cfg = *base;
    else
        pm_rpc_config_default(&cfg);
    cfg.env = &env;
    pm_rpc *r;
    assert_int_equal(pm_rpc_new(&cfg, mp, &r), PM_OK);
    return r;
}

/* Server and two clients, all linked (a mesh-like hub: clients reach each other). */
static void world_init(world *w, const pm_rpc_config *cfg)
{
    memset(w, 0, sizeof *w);
    w->hub = pm_test_hub_new();
    for (int32_t id = 1; id <= 3; id++) {
        w->rpc[id] = new_rpc(pm_test_hub_add(w->hub, id), cfg);
        assert_int_equal(pm_rpc_add_node(w->rpc[id], "/root/Echo", SERVER), PM_OK);
    }
    pm_test_hub_link(w->hub, SERVER, ALICE);
    pm_test_hub_link(w->hub, SERVER, BOB);
    pm_test_hub_link(w->hub, ALICE, BOB);
}

static void world_free(world *w)
{
    for (int id = 1; id <= 3; id++)
        pm_rpc_free(w->rpc[id]);
    pm_test_hub_free(w->hub);
}

/* Drain every endpoint until nothing moves; record the events of `who`. */
static size_t pump(world *w, int32_t who, rec *out, size_t cap)
{
    size_t n = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int id = 1; id <= 3; id++) {
            pm_rpc_event ev;
            while (pm_rpc_next_event(w->rpc[id], &ev)) {
                moved = true;
                if (id != who || n >= cap)
                    continue;
                rec *r = &out[n++];
                *r = (rec){.type = ev.type, .peer = ev.peer_id, .local = ev.local, .argc = ev.argc};
                if (ev.name)
                    snprintf(r->name, sizeof r->name, "%s", ev.name);
                if (ev.path)
                    snprintf(r->path, sizeof r->path, "%s", ev.path);
                if (ev.argc && ev.args[0].type == PM_VARIANT_INT)
                    r->arg0 = ev.args[0].i;
            }
        }
    }
    return n;
}

static size_t count_type(const rec *r, size_t n, pm_rpc_event_type type)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += r[i].type == type;
    return k;
}

static const rec *find_call(const rec *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if ((r[i].type == PM_RPC_EVENT_CALL || r[i].type == PM_RPC_EVENT_SET) &&
            strcmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

static void connect_all(world *w)
{
    for (int id = 1; id <= 3; id++) {
        pm_rpc_event ev;
        int connected = 0;
        while (pm_rpc_next_event(w->rpc[id], &ev))
            connected += ev.type == PM_RPC_EVENT_PEER_CONNECTED;
        assert_int_equal(connected, 2);
    }
}

static void first_call_offers_the_path_then_uses_the_id(void **st)
{
    (void)st;
    world w;
    world_init(&w, NULL);
    connect_all(&w);
    assert_int_equal(pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "echo", PM_RPC_MODE_REMOTE),
                     PM_OK);
    pm_test_hub_clear_sent(w.hub);
    pm_variant args[] = {pm_variant_int(7), pm_variant_string("hi")};
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "/root/Echo", SERVER, false, "echo", args, 2),
                     PM_OK);

    /* SIMPLIFY_PATH [2][id 1]["Echo\0"] to the server, reliably... */
    assert_int_equal(pm_test_hub_sent_count(w.hub), 2);
    const pm_test_sent *s = pm_test_hub_sent(w.hub, 0);
    static const uint8_t simplify[] = {2, 1, 0, 0, 0, 'E', 'c', 'h', 'o', 0};
    assert_int_equal(s->target, SERVER);
    assert_int_equal(s->mode, PM_MP_TRANSFER_RELIABLE);
    assert_int_equal(s->len, sizeof simplify);
    assert_memory_equal(s->data, simplify, sizeof simplify);
    /* ...then the call with the path appended: [0][0x80000000|ofs]["echo\0"][2][args]["Echo\0"]. */
    s = pm_test_hub_sent(w.hub, 1);
    assert_int_equal(s->target, SERVER);
    size_t ofs = 1 + 4 + 5 + 1 + 8 + 12;
    assert_int_equal(s->len, ofs + 5);
    assert_int_equal(pm_rd32le(s->data + 1), 0x80000000u | ofs);
    assert_memory_equal(s->data + 5, "echo\0\x02", 6);
    assert_memory_equal(s->data + ofs, "Echo\0", 5);

    rec ev[16];
    size_t n = pump(&w, SERVER, ev, 16);
    const rec *c = find_call(ev, n, "echo");
    assert_non_null(c);
    assert_int_equal(c->peer, ALICE);
    assert_int_equal(c->argc, 2);
    assert_int_equal(c->arg0, 7);
    assert_string_equal(c->path, "/root/Echo");
    assert_false(c->local);

    /* The server confirmed; the second call is one packet with the cache id. */
    pm_test_hub_clear_sent(w.hub);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", SERVER, false, "echo", args, 1), PM_OK);
    assert_int_equal(pm_test_hub_sent_count(w.hub), 1);
    s = pm_test_hub_sent(w.hub, 0);
    assert_int_equal(pm_rd32le(s->data + 1), 1);
    assert_int_equal(s->len, 1 + 4 + 5 + 1 + 8);
    n = pump(&w, SERVER, ev, 16);
    assert_non_null(find_call(ev, n, "echo"));

    pm_rpc_stats stats;
    pm_rpc_get_stats(w.rpc[SERVER], &stats);
    assert_int_equal(stats.calls_received, 2);
    assert_int_equal(stats.paths_cached, 1);
    world_free(&w);
}

static void broadcast_mixes_cached_and_inline(void **st)
{
    (void)st;
    world w;
    world_init(&w, NULL);
    connect_all(&w);
    for (int id = 1; id <= 3; id++)
        pm_rpc_set_method_mode(w.rpc[id], "Echo", "tick", PM_RPC_MODE_REMOTE);
    pm_variant arg = pm_variant_int(1);
    /* Only Bob learns the path first. */
    assert_int_equal(pm_rpc_call(w.rpc[SERVER], "Echo", BOB, true, "tick", &arg, 1), PM_OK);
    rec ev[16];
    pump(&w, BOB, ev, 16);
    pm_test_hub_clear_sent(w.hub);
    arg = pm_variant_int(2);
    assert_int_equal(pm_rpc_call(w.rpc[SERVER], "Echo", 0, true, "tick", &arg, 1), PM_OK);
    /* A SIMPLIFY to Alice, then one packet each: inline for Alice, the id for Bob. */
    assert_int_equal(pm_test_hub_sent_count(w.hub), 3);
    assert_int_equal(pm_test_hub_sent(w.hub, 0)->data[0], PM_GMP_CMD_SIMPLIFY_PATH);
    assert_int_equal(pm_test_hub_sent(w.hub, 0)->target, ALICE);
    const pm_test_sent *to_alice = pm_test_hub_sent(w.hub, 1), *to_bob = pm_test_hub_sent(w.hub, 2);
    assert_int_equal(to_alice->target, ALICE);
    assert_true(pm_rd32le(to_alice->data + 1) & 0x80000000u);
    assert_int_equal(to_alice->mode, PM_MP_TRANSFER_UNRELIABLE);
    assert_int_equal(to_bob->target, BOB);
    assert_int_equal(pm_rd32le(to_bob->data + 1), 1);
    size_t n = pump(&w, ALICE, ev, 16);
    assert_int_equal(find_call(ev, n, "tick")->arg0, 2);
    /* Once all confirmed: a single broadcast packet. */
    pm_test_hub_clear_sent(w.hub);
    assert_int_equal(pm_rpc_call(w.rpc[SERVER], "Echo", 0, false, "tick", &arg, 1), PM_OK);
    assert_int_equal(pm_test_hub_sent_count(w.hub), 1);
    assert_int_equal(pm_test_hub_sent(w.hub, 0)->target, 0);
    n = pump(&w, BOB, ev, 16);
    assert_non_null(find_call(ev, n, "tick"));
    world_free(&w);
}

/* Inject a call with an inline path from `from` to `to`; true if it came out as an event. */
static bool inject_call(world *w, int32_t to, int32_t from, bool set, const char *name)
{
    pm_envr env;
    pm_test_envr(&env, 1);
    pm_buf b = {0};
    uint8_t body[9] = {1, PM_VARIANT_INT, 0, 0, 0, 42, 0, 0, 0};
    pm_gmp_put_remote_header(&env, &b, set ? PM_GMP_CMD_REMOTE_SET : PM_GMP_CMD_REMOTE_CALL, 0,
                             name, strlen(name));
    pm_buf_append(&env, &b, set ? body + 1 : body, set ? 8 : 9);
    uint32_t ofs = (uint32_t)b.len;
    pm_buf_append(&env, &b, "Echo", 5);
    pm_wr32le(b.data + 1, 0x80000000u | ofs);
    pm_test_hub_inject(w->hub, to, from, b.data, b.len, PM_MP_TRANSFER_RELIABLE);
    pm_buf_free(&env, &b);
    pm_rpc_event ev;
    bool got = false;
    while (pm_rpc_next_event(w->rpc[to], &ev))
        if ((ev.type == PM_RPC_EVENT_CALL || ev.type == PM_RPC_EVENT_SET) &&
            strcmp(ev.name, name) == 0) {
            assert_int_equal(ev.peer_id, from);
            assert_int_equal(ev.args[0].i, 42);
            got = true;
        }
    return got;
}

static void receive_modes_as_godot(void **st)
{
    (void)st;
    /* _can_call_mode: remote(sync) always; master(sync) when we are the
     * node's master; puppet(sync) when we are not and the caller is. */
    static const struct {
        pm_rpc_mode mode;
        bool at_master_from_puppet, at_puppet_from_master, at_puppet_from_other;
    } rules[] = {
        {PM_RPC_MODE_DISABLED, false, false, false},  {PM_RPC_MODE_REMOTE, true, true, true},
        {PM_RPC_MODE_MASTER, true, false, false},     {PM_RPC_MODE_PUPPET, false, true, false},
        {PM_RPC_MODE_REMOTESYNC, true, true, true},   {PM_RPC_MODE_MASTERSYNC, true, false, false},
        {PM_RPC_MODE_PUPPETSYNC, false, true, false},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(rules); i++) {
        for (int set = 0; set <= 1; set++) {
            world w;
            world_init(&w, NULL);
            connect_all(&w);
            for (int id = 1; id <= 3; id++) {
                if (set)
                    pm_rpc_set_property_mode(w.rpc[id], "Echo", "m", rules[i].mode);
                else
                    pm_rpc_set_method_mode(w.rpc[id], "Echo", "m", rules[i].mode);
            }
            /* The server is Echo's master; Alice and Bob are puppets. */
            assert_true(pm_rpc_is_network_master(w.rpc[SERVER], "Echo"));
            assert_false(pm_rpc_is_network_master(w.rpc[ALICE], "/root/Echo"));
            assert_int_equal(inject_call(&w, SERVER, ALICE, set, "m"),
                             rules[i].at_master_from_puppet);
            assert_int_equal(inject_call(&w, ALICE, SERVER, set, "m"),
                             rules[i].at_puppet_from_master);
            assert_int_equal(inject_call(&w, ALICE, BOB, set, "m"), rules[i].at_puppet_from_other);
            pm_rpc_stats s;
            pm_rpc_get_stats(w.rpc[SERVER], &s);
            assert_int_equal(s.dropped_mode, rules[i].at_master_from_puppet ? 0 : 1);
            /* Another master: Bob masters Echo at Alice's, so Bob counts as the master. */
            pm_rpc_set_network_master(w.rpc[ALICE], "Echo", BOB);
            assert_int_equal(inject_call(&w, ALICE, BOB, set, "m"), rules[i].at_puppet_from_master);
            world_free(&w);
        }
    }
}

static void local_calls_follow_the_mode(void **st)
{
    (void)st;
    /* Calls from the server (Echo's master) with rpc(): where do they run? */
    static const struct {
        pm_rpc_mode mode;
        bool local, sent;
    } at_master[] = {
        {PM_RPC_MODE_DISABLED, false, true},  {PM_RPC_MODE_REMOTE, false, true},
        {PM_RPC_MODE_MASTER, true, false},    {PM_RPC_MODE_PUPPET, false, true},
        {PM_RPC_MODE_REMOTESYNC, true, true}, {PM_RPC_MODE_MASTERSYNC, true, false},
        {PM_RPC_MODE_PUPPETSYNC, true, true},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(at_master); i++) {
        world w;
        world_init(&w, NULL);
        connect_all(&w);
        pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "f", at_master[i].mode);
        pm_test_hub_clear_sent(w.hub);
        pm_variant arg = pm_variant_int(5);
        assert_int_equal(pm_rpc_call(w.rpc[SERVER], "Echo", 0, false, "f", &arg, 1), PM_OK);
        assert_int_equal(pm_test_hub_sent_count(w.hub) > 0, at_master[i].sent);
        rec ev[16];
        size_t n = pump(&w, SERVER, ev, 16);
        const rec *c = find_call(ev, n, "f");
        assert_int_equal(c != NULL, at_master[i].local);
        if (c) {
            assert_true(c->local);
            assert_int_equal(c->peer, SERVER);
            assert_int_equal(c->arg0, 5);
        }
        world_free(&w);
    }
    /* A puppet's rpc() of a PUPPET method runs locally and is sent. */
    world w;
    world_init(&w, NULL);
    connect_all(&w);
    pm_rpc_set_method_mode(w.rpc[ALICE], "Echo", "p", PM_RPC_MODE_PUPPET);
    pm_rpc_set_method_mode(w.rpc[ALICE], "Echo", "r", PM_RPC_MODE_REMOTE);
    pm_rpc_set_method_mode(w.rpc[ALICE], "Echo", "s", PM_RPC_MODE_REMOTESYNC);
    pm_test_hub_clear_sent(w.hub);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", 0, false, "p", NULL, 0), PM_OK);
    assert_true(pm_test_hub_sent_count(w.hub) > 0);
    rec ev[16];
    size_t n = pump(&w, ALICE, ev, 16);
    assert_non_null(find_call(ev, n, "p"));
    /* rpc_id to ourselves: only a mode that runs locally may. */
    pm_test_hub_clear_sent(w.hub);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", ALICE, false, "r", NULL, 0), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", ALICE, false, "s", NULL, 0), PM_OK);
    assert_int_equal(pm_test_hub_sent_count(w.hub), 0);
    n = pump(&w, ALICE, ev, 16);
    assert_non_null(find_call(ev, n, "s"));
    /* rpc_id to someone else never runs locally, even REMOTESYNC. */
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", SERVER, false, "s", NULL, 0), PM_OK);
    n = pump(&w, ALICE, ev, 16);
    assert_null(find_call(ev, n, "s"));
    /* A local call whose node is removed before it is drained is skipped. */
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", 0, false, "s", NULL, 0), PM_OK);
    assert_int_equal(pm_rpc_remove_node(w.rpc[ALICE], "Echo"), PM_OK);
    n = pump(&w, ALICE, ev, 16);
    assert_null(find_call(ev, n, "s"));
    world_free(&w);
}

static void rset_and_raw_bytes(void **st)
{
    (void)st;
    world w;
    world_init(&w, NULL);
    connect_all(&w);
    pm_rpc_set_property_mode(w.rpc[SERVER], "Echo", "value", PM_RPC_MODE_REMOTE);
    pm_rpc_set_property_mode(w.rpc[ALICE], "Echo", "shared", PM_RPC_MODE_PUPPETSYNC);
    pm_rpc_set_property_mode(w.rpc[BOB], "Echo", "shared", PM_RPC_MODE_PUPPET);
    pm_variant v = pm_variant_vector2(3, 4);
    assert_int_equal(pm_rpc_set(w.rpc[ALICE], "Echo", SERVER, false, "value", &v), PM_OK);
    pm_rpc_event ev;
    bool got = false;
    while (pm_rpc_next_event(w.rpc[SERVER], &ev))
        if (ev.type == PM_RPC_EVENT_SET) {
            assert_string_equal(ev.name, "value");
            assert_int_equal(ev.argc, 1);
            assert_true(pm_variant_equal(&ev.args[0], &v));
            assert_int_equal(ev.peer_id, ALICE);
            got = true;
        }
    assert_true(got);
    /* The master's rset to all puppets. */
    pm_variant x = pm_variant_int(99);
    assert_int_equal(pm_rpc_set(w.rpc[SERVER], "Echo", 0, true, "shared", &x), PM_OK);
    rec r[16];
    size_t n = pump(&w, ALICE, r, 16);
    assert_int_equal(find_call(r, n, "shared")->arg0, 99);
    assert_int_equal(find_call(r, n, "shared")->type, PM_RPC_EVENT_SET);
    /* A puppet's own rset of a PUPPETSYNC property runs locally too. */
    assert_int_equal(pm_rpc_set(w.rpc[ALICE], "Echo", 0, false, "shared", &x), PM_OK);
    n = pump(&w, ALICE, r, 16);
    assert_true(find_call(r, n, "shared")->local);

    static const uint8_t bytes[] = {0, 1, 2, 255};
    assert_int_equal(pm_rpc_send_bytes(w.rpc[BOB], SERVER, PM_MP_TRANSFER_UNRELIABLE, bytes, 4),
                     PM_OK);
    got = false;
    while (pm_rpc_next_event(w.rpc[SERVER], &ev))
        if (ev.type == PM_RPC_EVENT_RAW) {
            assert_int_equal(ev.len, 4);
            assert_memory_equal(ev.data, bytes, 4);
            assert_int_equal(ev.peer_id, BOB);
            assert_int_equal(ev.mode, PM_MP_TRANSFER_UNRELIABLE);
            got = true;
        }
    assert_true(got);
    assert_int_equal(pm_rpc_send_bytes(w.rpc[BOB], SERVER, PM_MP_TRANSFER_RELIABLE, bytes, 0),
                     PM_ERR_INVALID);
    world_free(&w);
}

/* Inject raw bytes at the server from Alice, then check a valid call still works. */
static void hostile(world *w, const uint8_t *data, size_t len)
{
    pm_test_hub_inject(w->hub, SERVER, ALICE, data, len, PM_MP_TRANSFER_RELIABLE);
    pm_rpc_event ev;
    while (pm_rpc_next_event(w->rpc[SERVER], &ev))
        fail_msg("a hostile packet of %zu bytes made an event %d", len, ev.type);
    assert_true(inject_call(w, SERVER, ALICE, false, "echo"));
}

static void bad_input_is_dropped_and_the_sender_stays(void **st)
{
    (void)st;
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.max_decode_memory = 4096;
    world w;
    world_init(&w, &cfg);
    connect_all(&w);
    pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "echo", PM_RPC_MODE_REMOTE);
    pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "big", PM_RPC_MODE_REMOTE);

    /* Every truncation of a valid call with an inline path. */
    uint8_t call[64];
    size_t n = 0;
    call[n++] = PM_GMP_CMD_REMOTE_CALL;
    n += 4;
    memcpy(call + n, "echo", 5);
    n += 5;
    call[n++] = 2;
    uint8_t arg1[] = {PM_VARIANT_STRING, 0, 0, 0, 2, 0, 0, 0, 'o', 'k', 0, 0};
    uint8_t arg2[] = {PM_VARIANT_VECTOR2, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    memcpy(call + n, arg1, sizeof arg1);
    n += sizeof arg1;
    memcpy(call + n, arg2, sizeof arg2);
    n += sizeof arg2;
    pm_wr32le(call + 1, 0x80000000u | (uint32_t)n);
    memcpy(call + n, "Echo", 4);
    size_t full = n + 4;
    for (size_t cut = 0; cut < full; cut++)
        hostile(&w, call, cut);
    pm_rpc_stats s;
    pm_rpc_get_stats(w.rpc[SERVER], &s);
    assert_true(s.dropped_malformed + s.dropped_unknown_path >= full - 1);

    /* Unknown cache id; a path never declared (inline, and through the cache). */
    uint8_t by_id[] = {0, 9, 0, 0, 0, 'e', 'c', 'h', 'o', 0, 0};
    hostile(&w, by_id, sizeof by_id);
    uint8_t unknown[] = {0, 11, 0, 0, 0x80, 'e', 'c', 'h', 'o', 0, 0, 'N', 'o', 'p', 'e', 0};
    hostile(&w, unknown, sizeof unknown);
    uint8_t simplify[] = {2, 5, 0, 0, 0, 'N', 'o', 'p', 'e', 0};
    pm_test_hub_inject(w.hub, SERVER, ALICE, simplify, sizeof simplify, PM_MP_TRANSFER_RELIABLE);
    uint8_t via5[] = {0, 5, 0, 0, 0, 'e', 'c', 'h', 'o', 0, 0};
    hostile(&w, via5, sizeof via5);
    /* A confirm of a path we never offered; an unknown command; empty raw; nothing at all. */
    uint8_t confirm[] = {3, 'N', 'o', 0};
    hostile(&w, confirm, sizeof confirm);
    uint8_t unknown_cmd[] = {7, 1, 2, 3};
    hostile(&w, unknown_cmd, sizeof unknown_cmd);
    uint8_t raw[] = {4};
    hostile(&w, raw, 1);
    hostile(&w, raw, 0);
    pm_rpc_get_stats(w.rpc[SERVER], &s);
    assert_int_equal(s.dropped_unknown_cache, 2);
    assert_true(s.dropped_unknown_path >= 2);

    /* Malformed Variants, deep nesting, huge counts, objects, too much memory. */
    uint8_t m[1024];
    static const char *const bad_args[] = {
        "1b000000",                 /* unknown type */
        "0400000009000000616263",   /* string longer than the packet */
        "13000000ffffff7f",         /* an array of 2^31-1 */
        "15000000ffffff3f00000000", /* ints overflowing */
        "1100000000000000",         /* a full object */
        "0400000004000000c0800000", /* overlong UTF-8 */
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(bad_args); i++) {
        size_t k = 0;
        m[k++] = 0;
        pm_wr32le(m + k, 0);
        k += 4;
        memcpy(m + k, "echo", 5);
        k += 5;
        m[k++] = 1;
        for (const char *h = bad_args[i]; *h; h += 2) {
            unsigned byte;
            sscanf(h, "%2x", &byte);
            m[k++] = (uint8_t)byte;
        }
        pm_wr32le(m + 1, 0x80000000u | (uint32_t)k);
        memcpy(m + k, "Echo", 5);
        hostile(&w, m, k + 5);
    }
    /* 65 nested arrays. */
    size_t k = 0;
    m[k++] = 0;
    k += 4;
    memcpy(m + k, "echo", 5);
    k += 5;
    m[k++] = 1;
    for (int d = 0; d <= PM_VARIANT_MAX_DEPTH; d++) {
        pm_wr32le(m + k, PM_VARIANT_ARRAY);
        pm_wr32le(m + k + 4, d < PM_VARIANT_MAX_DEPTH ? 1 : 0);
        k += 8;
    }
    pm_wr32le(m + 1, 0x80000000u | (uint32_t)k);
    memcpy(m + k, "Echo", 5);
    hostile(&w, m, k + 5);
    /* 200 NILs need more than the 4096 bytes this server allows per call. */
    k = 0;
    m[k++] = 0;
    k += 4;
    memcpy(m + k, "big", 4);
    k += 4;
    m[k++] = 200;
    memset(m + k, 0, 800);
    k += 800;
    pm_wr32le(m + 1, 0x80000000u | (uint32_t)k);
    memcpy(m + k, "Echo", 5);
    hostile(&w, m, k + 5);

    pm_rpc_get_stats(w.rpc[SERVER], &s);
    assert_int_equal(s.dropped_object, 1);
    assert_int_equal(s.dropped_too_big, 2);
    assert_true(s.calls_received > 10);
    world_free(&w);
}

static void path_cache_is_bounded(void **st)
{
    (void)st;
    pm_rpc_config cfg;
    pm_rpc_config_default(&cfg);
    cfg.max_path_cache_bytes = 1000;
    world w;
    world_init(&w, &cfg);
    connect_all(&w);
    pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "echo", PM_RPC_MODE_REMOTE);
    pm_test_hub_clear_sent(w.hub);
    /* Alice floods SIMPLIFY_PATH with 100-byte paths: about 7 fit in 1000 bytes. */
    uint8_t s[128] = {2};
    memset(s + 5, 'x', 100);
    for (uint32_t id = 1; id <= 50; id++) {
        pm_wr32le(s + 1, id);
        pm_test_hub_inject(w.hub, SERVER, ALICE, s, 105, PM_MP_TRANSFER_RELIABLE);
    }
    pm_rpc_event ev;
    while (pm_rpc_next_event(w.rpc[SERVER], &ev))
        ;
    size_t confirms = pm_test_hub_sent_count(w.hub);
    assert_true(confirms >= 5 && confirms <= 8);
    pm_rpc_stats st2;
    pm_rpc_get_stats(w.rpc[SERVER], &st2);
    assert_int_equal(st2.paths_cached, confirms);
    assert_int_equal(st2.dropped_too_big, 50 - confirms);
    /* Replacing an id does not grow the cache. */
    pm_wr32le(s + 1, 1);
    pm_test_hub_inject(w.hub, SERVER, ALICE, s, 105, PM_MP_TRANSFER_RELIABLE);
    while (pm_rpc_next_event(w.rpc[SERVER], &ev))
        ;
    assert_int_equal(pm_test_hub_sent_count(w.hub), confirms + 1);
    /* Calls with inline paths still work. */
    assert_true(inject_call(&w, SERVER, ALICE, false, "echo"));
    world_free(&w);
}

static void disconnect_forgets_caches(void **st)
{
    (void)st;
    world w;
    world_init(&w, NULL);
    connect_all(&w);
    pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "echo", PM_RPC_MODE_REMOTE);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", SERVER, false, "echo", NULL, 0), PM_OK);
    rec ev[16];
    pump(&w, SERVER, ev, 16);
    int32_t peers[4];
    assert_int_equal(pm_rpc_get_connected_peers(w.rpc[ALICE], peers, 4), 2);
    assert_int_equal(peers[0], SERVER);
    assert_int_equal(peers[1], BOB);

    pm_test_hub_unlink(w.hub, SERVER, ALICE);
    size_t n = pump(&w, SERVER, ev, 16);
    assert_int_equal(count_type(ev, n, PM_RPC_EVENT_PEER_DISCONNECTED), 1);
    assert_int_equal(pm_rpc_get_connected_peers(w.rpc[SERVER], NULL, 0), 1);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", SERVER, false, "echo", NULL, 0),
                     PM_ERR_NOT_FOUND);
    /* Back again: the path is offered again. */
    pm_test_hub_link(w.hub, SERVER, ALICE);
    pump(&w, SERVER, ev, 16);
    pm_test_hub_clear_sent(w.hub);
    assert_int_equal(pm_rpc_call(w.rpc[ALICE], "Echo", SERVER, false, "echo", NULL, 0), PM_OK);
    assert_int_equal(pm_test_hub_sent(w.hub, 0)->data[0], PM_GMP_CMD_SIMPLIFY_PATH);
    n = pump(&w, SERVER, ev, 16);
    assert_non_null(find_call(ev, n, "echo"));
    /* A packet by cache id from a peer we no longer know is dropped. */
    pm_test_hub_unlink(w.hub, SERVER, BOB);
    pump(&w, SERVER, ev, 16);
    uint8_t by_id[] = {0, 1, 0, 0, 0, 'e', 'c', 'h', 'o', 0, 0};
    pm_test_hub_inject(w.hub, SERVER, BOB, by_id, sizeof by_id, PM_MP_TRANSFER_RELIABLE);
    n = pump(&w, SERVER, ev, 16);
    assert_null(find_call(ev, n, "echo"));
    /* Server events clear the peers. */
    pm_test_hub_event(w.hub, ALICE, PM_MP_EVENT_SERVER_DISCONNECTED, 1);
    n = pump(&w, ALICE, ev, 16);
    assert_int_equal(count_type(ev, n, PM_RPC_EVENT_SERVER_DISCONNECTED), 1);
    assert_int_equal(pm_rpc_get_connected_peers(w.rpc[ALICE], NULL, 0), 0);
    world_free(&w);
}

static void api_errors(void **st)
{
    (void)st;
    world w;
    world_init(&w, NULL);
    pm_rpc *r = w.rpc[ALICE];
    assert_int_equal(pm_rpc_add_node(r, "Echo", 1), PM_ERR_EXISTS);
    static const char *const bad_paths[] = {NULL,   "",      "/",    "/root", "/root/", "/other/X",
                                            "a//b", "a/./b", "../x", "a:b",   "a/"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad_paths); i++)
        assert_int_equal(pm_rpc_add_node(r, bad_paths[i], 1), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_add_node(r, "Game/Player", 0), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_add_node(r, "/root/Game/Player", 2), PM_OK);
    assert_int_equal(pm_rpc_get_network_master(r, "Game/Player"), 2);
    assert_true(pm_rpc_is_network_master(r, "Game/Player"));
    assert_int_equal(pm_rpc_set_method_mode(r, "Nope", "x", PM_RPC_MODE_REMOTE), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_rpc_set_method_mode(r, "Echo", "", PM_RPC_MODE_REMOTE), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_set_method_mode(r, "Echo", "x", (pm_rpc_mode)7), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_set_method_mode(r, "Echo", "x", PM_RPC_MODE_DISABLED), PM_OK);
    /* Not connected yet (no peers), then a transport that is not connected. */
    assert_int_equal(pm_rpc_call(r, "Echo", SERVER, false, "x", NULL, 0), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_rpc_call(r, "Nope", 0, false, "x", NULL, 0), PM_ERR_NOT_FOUND);
    pm_variant many[256];
    for (int i = 0; i < 256; i++)
        many[i] = pm_variant_int(i);
    assert_int_equal(pm_rpc_call(r, "Echo", 0, false, "x", many, 256), PM_ERR_INVALID);
    pm_variant bad = pm_variant_string("\xff");
    assert_int_equal(pm_rpc_call(r, "Echo", 0, false, "x", &bad, 1), PM_ERR_INVALID);
    assert_int_equal(pm_rpc_call(r, "Echo", INT32_MIN, false, "x", NULL, 0), PM_ERR_INVALID);
    pm_test_hub_set_status(w.hub, ALICE, PM_MP_CONNECTING);
    assert_int_equal(pm_rpc_call(r, "Echo", 0, false, "x", NULL, 0), PM_ERR_STATE);
    assert_int_equal(pm_rpc_send_bytes(r, 0, PM_MP_TRANSFER_RELIABLE, (const uint8_t *)"a", 1),
                     PM_ERR_STATE);
    pm_test_hub_set_status(w.hub, ALICE, PM_MP_CONNECTED);
    /* 255 arguments is the most, and they all arrive. */
    connect_all(&w);
    pm_rpc_set_method_mode(w.rpc[SERVER], "Echo", "x", PM_RPC_MODE_REMOTE);
    assert_int_equal(pm_rpc_call(r, "Echo", SERVER, false, "x", many, 255), PM_OK);
    pm_rpc_event ev;
    bool got = false;
    while (pm_rpc_next_event(w.rpc[SERVER], &ev))
        if (ev.type == PM_RPC_EVENT_CALL) {
            assert_int_equal(ev.argc, 255);
            assert_int_equal(ev.args[254].i, 254);
            got = true;
        }
    assert_true(got);
    assert_int_equal(pm_rpc_remove_node(r, "Nope"), PM_ERR_NOT_FOUND);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_call_offers_the_path_then_uses_the_id),
        cmocka_unit_test(broadcast_mixes_cached_and_inline),
        cmocka_unit_test(receive_modes_as_godot),
        cmocka_unit_test(local_calls_follow_the_mode),
        cmocka_unit_test(rset_and_raw_bytes),
        cmocka_unit_test(bad_input_is_dropped_and_the_sender_stays),
        cmocka_unit_test(path_cache_is_bounded),
        cmocka_unit_test(disconnect_forgets_caches),
        cmocka_unit_test(api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
