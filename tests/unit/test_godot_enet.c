/* Unit tests: src/wire/godot_enet (Godot's framing over ENet, both generations). */
#include "testutil.h"

#include "wire/godot_enet.h"

static void header_known_bytes(void **st)
{
    (void)st;
    /* GODOT-SEMANTICS.md 4.1: u32 LE source, i32 LE target. */
    uint8_t b[PM_GENET_HEADER_LEN];
    pm_genet_header_write(b, 0x12345678, -2);
    static const uint8_t expect[] = {0x78, 0x56, 0x34, 0x12, 0xfe, 0xff, 0xff, 0xff};
    assert_memory_equal(b, expect, sizeof expect);
    pm_genet_header h;
    assert_int_equal(pm_genet_header_read(b, sizeof b, &h), PM_OK);
    assert_int_equal(h.source, 0x12345678);
    assert_int_equal(h.target, -2);

    /* A payload after the header is fine; a short packet is not. */
    uint8_t longer[12] = {1, 0, 0, 0, 0, 0, 0, 0, 4, 'a', 'b', 'c'};
    assert_int_equal(pm_genet_header_read(longer, sizeof longer, &h), PM_OK);
    assert_int_equal(h.source, 1);
    assert_int_equal(h.target, 0);
    for (size_t n = 0; n < PM_GENET_HEADER_LEN; n++)
        assert_int_equal(pm_genet_header_read(longer, n, &h), PM_ERR_PARSE);
    assert_int_equal(pm_genet_header_read(NULL, 8, &h), PM_ERR_PARSE);
}

static void sysmsg_round_trip_and_malformed(void **st)
{
    (void)st;
    uint8_t b[PM_GENET_SYSMSG_LEN];
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, 0x7fffffff), PM_OK);
    static const uint8_t add[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
    assert_memory_equal(b, add, sizeof add);
    pm_genet_sysmsg m;
    assert_int_equal(pm_genet_sysmsg_read(b, sizeof b, &m), PM_OK);
    assert_int_equal(m.type, PM_GENET_SYSMSG_ADD_PEER);
    assert_int_equal(m.peer_id, 0x7fffffff);

    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_REMOVE_PEER, 2), PM_OK);
    static const uint8_t rem[] = {1, 0, 0, 0, 2, 0, 0, 0};
    assert_memory_equal(b, rem, sizeof rem);
    assert_int_equal(pm_genet_sysmsg_read(b, sizeof b, &m), PM_OK);
    assert_int_equal(m.type, PM_GENET_SYSMSG_REMOVE_PEER);
    assert_int_equal(m.peer_id, 2);

    /* Writing refuses what Godot never sends. */
    assert_int_equal(pm_genet_sysmsg_write(b, 2, 5), PM_ERR_INVALID);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, 1), PM_ERR_INVALID);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, 0), PM_ERR_INVALID);
    assert_int_equal(pm_genet_sysmsg_write(b, PM_GENET_SYSMSG_ADD_PEER, 0x80000000u),
                     PM_ERR_INVALID);

    /* Reading: wrong length, unknown type, the server's or an impossible id. */
    static const uint8_t bad[][9] = {
        {2, 0, 0, 0, 5, 0, 0, 0},    /* unknown type */
        {0, 0, 0, 1, 5, 0, 0, 0},    /* type 0x01000000 */
        {0, 0, 0, 0, 1, 0, 0, 0},    /* ADD_PEER of the server */
        {1, 0, 0, 0, 0, 0, 0, 0},    /* REMOVE_PEER of 0 */
        {0, 0, 0, 0, 0, 0, 0, 0x80}, /* id 2^31 */
        {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_genet_sysmsg_read(bad[i], 8, &m), PM_ERR_PARSE);
    uint8_t nine[9] = {0, 0, 0, 0, 5, 0, 0, 0, 0};
    assert_int_equal(pm_genet_sysmsg_read(nine, 9, &m), PM_ERR_PARSE);
    for (size_t n = 0; n < 8; n++)
        assert_int_equal(pm_genet_sysmsg_read(nine, n, &m), PM_ERR_PARSE);
}

static void ids(void **st)
{
    (void)st;
    assert_false(pm_genet_id_is_client(0));
    assert_false(pm_genet_id_is_client(1));
    assert_true(pm_genet_id_is_client(2));
    assert_true(pm_genet_id_is_client(0x7fffffff));
    assert_false(pm_genet_id_is_client(0x80000000u));
    static const uint32_t rnd[] = {0, 1, 2, 0x80000000u, 0x80000001u, 0xffffffffu, 12345};
    for (size_t i = 0; i < PM_ARRAY_LEN(rnd); i++)
        assert_true(pm_genet_id_is_client(pm_genet_id_from_random(rnd[i])));
    assert_int_equal(pm_genet_id_from_random(12345), 12345);
}

static void routes_godot3(void **st)
{
    (void)st;
    pm_genet_route r;
    /* Section 4.1 table, default channels (3 ENet channels). */
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_RELIABLE, 0, false, 3, &r), PM_OK);
    assert_int_equal(r.channel, 1);
    assert_int_equal(r.flags, PM_GENET_FLAG_RELIABLE);
    assert_int_equal(pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_UNRELIABLE_ORDERED, 0,
                                             false, 3, &r),
                     PM_OK);
    assert_int_equal(r.channel, 2);
    assert_int_equal(r.flags, 0);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_UNRELIABLE, 0, false, 3, &r),
        PM_OK);
    assert_int_equal(r.channel, 2);
    assert_int_equal(r.flags, PM_GENET_FLAG_UNSEQUENCED);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_UNRELIABLE, 0, true, 3, &r), PM_OK);
    assert_int_equal(r.flags, 0); /* always_ordered */

    /* Extra channel k is ENet channel 2 + k, and must exist. */
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_RELIABLE, 1, false, 3, &r),
        PM_ERR_INVALID);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_RELIABLE, 2, false, 5, &r), PM_OK);
    assert_int_equal(r.channel, 4);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_RELIABLE, 3, false, 5, &r),
        PM_ERR_INVALID);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, PM_MP_TRANSFER_RELIABLE, -1, false, 5, &r),
        PM_ERR_INVALID);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT3, (pm_mp_transfer_mode)7, 0, false, 5, &r),
        PM_ERR_INVALID);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT3, 0), 3);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT3, 252), 255);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT3, 253), PM_ERR_INVALID);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT3, -1), PM_ERR_INVALID);
}

static void routes_godot4(void **st)
{
    (void)st;
    pm_genet_route r;
    /* Section 4.3: 0 reliable, 1 unreliable with unreliable fragments, 1 + k extra. */
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT4, PM_MP_TRANSFER_RELIABLE, 0, false, 255, &r),
        PM_OK);
    assert_int_equal(r.channel, 0);
    assert_int_equal(r.flags, PM_GENET_FLAG_RELIABLE);
    assert_int_equal(pm_genet_route_for_send(PM_GENET_GODOT4, PM_MP_TRANSFER_UNRELIABLE_ORDERED, 0,
                                             false, 255, &r),
                     PM_OK);
    assert_int_equal(r.channel, 1);
    assert_int_equal(r.flags, PM_GENET_FLAG_UNRELIABLE_FRAGMENT);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT4, PM_MP_TRANSFER_UNRELIABLE, 3, false, 255, &r),
        PM_OK);
    assert_int_equal(r.channel, 4);
    assert_int_equal(r.flags, PM_GENET_FLAG_UNSEQUENCED | PM_GENET_FLAG_UNRELIABLE_FRAGMENT);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT4, PM_MP_TRANSFER_RELIABLE, 253, false, 255, &r),
        PM_OK);
    assert_int_equal(r.channel, 254);
    assert_int_equal(
        pm_genet_route_for_send(PM_GENET_GODOT4, PM_MP_TRANSFER_RELIABLE, 254, false, 255, &r),
        PM_ERR_INVALID);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT4, 0), 2);
    assert_int_equal(pm_genet_channel_count(PM_GENET_GODOT4, 253), 255);
}

static void classify(void **st)
{
    (void)st;
    pm_genet_class c;
    pm_genet_classify(PM_GENET_GODOT3, 0, PM_GENET_FLAG_RELIABLE, &c);
    assert_true(c.config);
    pm_genet_classify(PM_GENET_GODOT3, 1, PM_GENET_FLAG_RELIABLE, &c);
    assert_false(c.config);
    assert_int_equal(c.channel, 0);
    assert_int_equal(c.mode, PM_MP_TRANSFER_RELIABLE);
    pm_genet_classify(PM_GENET_GODOT3, 2, PM_GENET_FLAG_UNSEQUENCED, &c);
    assert_int_equal(c.channel, 0);
    assert_int_equal(c.mode, PM_MP_TRANSFER_UNRELIABLE);
    pm_genet_classify(PM_GENET_GODOT3, 2, 0, &c);
    assert_int_equal(c.mode, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    pm_genet_classify(PM_GENET_GODOT3, 5, PM_GENET_FLAG_RELIABLE, &c);
    assert_int_equal(c.channel, 3);

    pm_genet_classify(PM_GENET_GODOT4, 0, PM_GENET_FLAG_RELIABLE, &c);
    assert_false(c.config);
    assert_int_equal(c.channel, 0);
    pm_genet_classify(PM_GENET_GODOT4, 1, PM_GENET_FLAG_UNRELIABLE_FRAGMENT, &c);
    assert_int_equal(c.mode, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    pm_genet_classify(PM_GENET_GODOT4, 2, PM_GENET_FLAG_UNSEQUENCED, &c);
    assert_int_equal(c.channel, 1);
    assert_int_equal(c.mode, PM_MP_TRANSFER_UNRELIABLE);

    /* Send then classify gives back the same interface channel and mode. */
    for (int f = PM_GENET_GODOT3; f <= PM_GENET_GODOT4; f++)
        for (int mode = 0; mode <= 2; mode++)
            for (int ch = 0; ch < 4; ch++) {
                pm_genet_route r;
                assert_int_equal(pm_genet_route_for_send((pm_genet_format)f,
                                                         (pm_mp_transfer_mode)mode, ch, false, 10,
                                                         &r),
                                 PM_OK);
                pm_genet_classify((pm_genet_format)f, r.channel, r.flags, &c);
                assert_false(c.config);
                assert_int_equal(c.channel, ch);
                assert_int_equal(c.mode, mode);
            }
}

static void relay_plans(void **st)
{
    (void)st;
    pm_genet_relay p;
    pm_genet_relay_plan(5, 1, true, &p); /* to the server only */
    assert_true(p.local);
    assert_false(p.forward);
    pm_genet_relay_plan(5, 1, false, &p);
    assert_true(p.local);
    pm_genet_relay_plan(5, 0, false, &p); /* relay off: dropped */
    assert_false(p.local);
    assert_false(p.forward);
    pm_genet_relay_plan(5, 7, false, &p);
    assert_false(p.local);
    assert_false(p.forward);
    pm_genet_relay_plan(5, 0, true, &p); /* broadcast */
    assert_true(p.local);
    assert_true(p.forward);
    assert_int_equal(p.to, 0);
    assert_int_equal(p.exclude, 0);
    pm_genet_relay_plan(5, -7, true, &p); /* all but 7 */
    assert_true(p.local);
    assert_true(p.forward);
    assert_int_equal(p.exclude, 7);
    pm_genet_relay_plan(5, -1, true, &p); /* all but the server */
    assert_false(p.local);
    assert_true(p.forward);
    assert_int_equal(p.exclude, 1);
    pm_genet_relay_plan(5, 9, true, &p); /* one other client */
    assert_false(p.local);
    assert_true(p.forward);
    assert_int_equal(p.to, 9);
    pm_genet_relay_plan(5, INT32_MIN, true, &p); /* no overflow */
    assert_true(p.local);
    assert_true(p.forward);
    assert_int_equal(p.exclude, 0);
}

static void raw_command(void **st)
{
    (void)st;
    const uint8_t *pl;
    size_t n;
    static const uint8_t g3[] = {0x04, 'h', 'i'};
    assert_int_equal(pm_godot_raw_command(PM_GENET_GODOT3), 4);
    assert_int_equal(pm_godot_raw_command(PM_GENET_GODOT4), 3);
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT3, g3, sizeof g3, &pl, &n), PM_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(pl, "hi", 2);
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT4, g3, sizeof g3, &pl, &n), PM_ERR_PARSE);
    static const uint8_t g4[] = {0x03 | 0x10, 'x'}; /* flag bits above CMD_MASK */
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT4, g4, sizeof g4, &pl, &n), PM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT3, g4, sizeof g4, &pl, &n), PM_ERR_PARSE);
    /* Empty payloads are ignored by Godot. */
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT3, g3, 1, &pl, &n), PM_ERR_PARSE);
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT3, g3, 0, &pl, &n), PM_ERR_PARSE);
    assert_int_equal(pm_godot_raw_unwrap(PM_GENET_GODOT3, NULL, 5, &pl, &n), PM_ERR_PARSE);
}

/* Random bytes never crash the readers, and anything accepted re-encodes identically. */
static void random_input(void **st)
{
    (void)st;
    uint64_t seed = 0x60d07;
    uint8_t buf[16];
    for (int i = 0; i < 20000; i++) {
        size_t n = pm_test_rand(&seed) % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)pm_test_rand(&seed);
        if (i % 4 == 0 && n >= 8) /* make valid-looking system messages common */
            buf[1] = buf[2] = buf[3] = 0, buf[0] &= 1, buf[7] &= 0x7f;
        pm_genet_sysmsg m;
        if (pm_genet_sysmsg_read(buf, n, &m) == PM_OK) {
            uint8_t out[8];
            assert_int_equal(pm_genet_sysmsg_write(out, m.type, m.peer_id), PM_OK);
            assert_memory_equal(out, buf, 8);
        }
        pm_genet_header h;
        if (pm_genet_header_read(buf, n, &h) == PM_OK) {
            uint8_t out[8];
            pm_genet_header_write(out, h.source, h.target);
            assert_memory_equal(out, buf, 8);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_known_bytes),
        cmocka_unit_test(sysmsg_round_trip_and_malformed),
        cmocka_unit_test(ids),
        cmocka_unit_test(routes_godot3),
        cmocka_unit_test(routes_godot4),
        cmocka_unit_test(classify),
        cmocka_unit_test(relay_plans),
        cmocka_unit_test(raw_command),
        cmocka_unit_test(random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
