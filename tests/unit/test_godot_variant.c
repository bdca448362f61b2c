/*
 * Unit tests: src/wire/godot_variant (Godot 3.x Variant binary encoding).
 *
 * The hex vectors below were printed by Debian's Godot 3.2.3
 * (`godot3-server -s` running `print(var2bytes(v).hex_encode())`), and the
 * decoding cases follow what its bytes2var accepted or refused. Godot
 * leaves NodePath padding uninitialised; those bytes are zero here.
 */
#include "testutil.h"

#include "variant_samples.h"
#include "wire/godot_variant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Encode `v`, compare with Godot's bytes, decode them back and compare with `v`. */
static void check_golden(const pm_variant *v, const char *hex)
{
    uint8_t want[512], got[512];
    size_t n = unhex(hex, want, sizeof want);
    size_t size = 0, written = 0;
    assert_int_equal(pm_variant_encoded_size(v, &size), PM_OK);
    assert_int_equal(size, n);
    assert_int_equal(pm_variant_encode(v, got, sizeof got, &written), PM_OK);
    assert_int_equal(written, n);
    if (memcmp(got, want, n) != 0)
        fail_msg("encoding of a %s differs from Godot's %s", pm_variant_type_name(v->type), hex);
    pm_variant *d;
    size_t used;
    assert_int_equal(pm_variant_decode_new(want, n, &d, &used), PM_OK);
    assert_int_equal(used, n);
    assert_true(pm_variant_equal(d, v));
    pm_variant_free(d);
}

static void golden_scalars(void **st)
{
    (void)st;
    pm_variant v = pm_variant_nil();
    check_golden(&v, "00000000");
    v = pm_variant_bool(true);
    check_golden(&v, "0100000001000000");
    v = pm_variant_bool(false);
    check_golden(&v, "0100000000000000");
    static const struct {
        int64_t i;
        const char *hex;
    } ints[] = {
        {0, "0200000000000000"},
        {1, "0200000001000000"},
        {-1, "02000000ffffffff"},
        {2147483647, "02000000ffffff7f"},
        {2147483648LL, "020001000000008000000000"},
        {-2147483647LL - 1, "0200000000000080"},
        {-2147483649LL, "02000100ffffff7fffffffff"},
        {INT64_MAX, "02000100ffffffffffffff7f"},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(ints); i++) {
        v = pm_variant_int(ints[i].i);
        check_golden(&v, ints[i].hex);
    }
    /* A REAL goes as a float when the float is exact, else as a double. */
    v = pm_variant_real(1.5);
    check_golden(&v, "030000000000c03f");
    v = pm_variant_real(0.1);
    check_golden(&v, "030001009a9999999999b93f");
    v = pm_variant_real(-0.0);
    check_golden(&v, "0300000000000080");
    v = pm_variant_real(1e300);
    check_golden(&v, "030001009c7500883ce4377e");
    v = pm_variant_string("");
    check_golden(&v, "0400000000000000");
    v = pm_variant_string("a");
    check_golden(&v, "040000000100000061000000");
    v = pm_variant_string("abcd");
    check_golden(&v, "040000000400000061626364");
    v = pm_variant_string("h\xc3\xa9llo");
    check_golden(&v, "040000000600000068c3a96c6c6f0000");
    v = (pm_variant){.type = PM_VARIANT_RID};
    check_golden(&v, "10000000");
    /* Objects go as instance ids (allow_object_decoding is off by default). */
    v = pm_variant_object_id(0x508);
    check_golden(&v, "110001000805000000000000");
}

static void golden_math(void **st)
{
    (void)st;
    pm_variant v = pm_variant_vector2(1.5f, -2.25f);
    check_golden(&v, "050000000000c03f000010c0");
    v = pm_variant_float4(PM_VARIANT_RECT2, 1, 2, 3, 4);
    check_golden(&v, "060000000000803f000000400000404000008040");
    v = pm_variant_vector3(1, 2, 3);
    check_golden(&v, "070000000000803f0000004000004040");
    static const float t2[] = {1, 2, 3, 4, 5, 6};
    v = pm_variant_math(PM_VARIANT_TRANSFORM2D, t2);
    check_golden(&v, "080000000000803f0000004000004040000080400000a0400000c040");
    v = pm_variant_float4(PM_VARIANT_PLANE, 1, 2, 3, 4);
    check_golden(&v, "090000000000803f000000400000404000008040");
    v = pm_variant_float4(PM_VARIANT_QUAT, 1, 2, 3, 4);
    check_golden(&v, "0a0000000000803f000000400000404000008040");
    v = pm_variant_math(PM_VARIANT_AABB, t2);
    check_golden(&v, "0b0000000000803f0000004000004040000080400000a0400000c040");
    /* Basis(Vector3(1,2,3), Vector3(4,5,6), Vector3(7,8,9)): the columns are
     * the axes, the wire carries the rows. */
    static const float basis[] = {1, 4, 7, 2, 5, 8, 3, 6, 9, 10, 11, 12};
    v = pm_variant_math(PM_VARIANT_BASIS, basis);
    check_golden(&v, "0c0000000000803f000080400000e040000000400000a04000000041000040400000c0"
                     "4000001041");
    v = pm_variant_math(PM_VARIANT_TRANSFORM, basis);
    check_golden(&v, "0d0000000000803f000080400000e040000000400000a04000000041000040400000c0"
                     "4000001041000020410000304100004041");
    v = pm_variant_color(0.5f, 0.25f, 1, 0.75f);
    check_golden(&v, "0e0000000000003f0000803e0000803f0000403f");
}

static void golden_paths_and_containers(void **st)
{
    (void)st;
    pm_variant v = pm_variant_node_path("/root/Echo");
    check_golden(&v, "0f00000002000080000000000100000004000000726f6f74040000004563686f");
    v = pm_variant_node_path("a/b:c:d");
    check_golden(&v, "0f000000020000800200000000000000010000006100000001000000620000000100"
                     "0000630000000100000064000000");
    v = pm_variant_node_path("");
    check_golden(&v, "0f000000000000800000000000000000");
    v = pm_variant_node_path("..");
    check_golden(&v, "0f000000010000800000000000000000020000002e2e0000");

    v = pm_variant_dictionary(NULL, 0);
    check_golden(&v, "1200000000000000");
    pm_variant three = pm_variant_int(3);
    pm_variant kv[] = {pm_variant_string("a"), pm_variant_int(1), pm_variant_int(2),
                       pm_variant_array(&three, 1)};
    v = pm_variant_dictionary(kv, 2);
    check_golden(&v, "12000000020000000400000001000000610000000200000001000000020000000200"
                     "000013000000010000000200000003000000");
    v = pm_variant_array(NULL, 0);
    check_golden(&v, "1300000000000000");
    pm_variant nil = pm_variant_nil();
    pm_variant items[] = {pm_variant_int(1), pm_variant_string("x"), pm_variant_array(&nil, 1)};
    v = pm_variant_array(items, 3);
    check_golden(&v, "130000000300000002000000010000000400000001000000780000001300000001000000"
                     "00000000");
}

static void golden_pools(void **st)
{
    (void)st;
    static const uint8_t bytes[] = {1, 2, 3};
    pm_variant v = pm_variant_pool(PM_VARIANT_POOL_BYTE_ARRAY, bytes, 3);
    check_golden(&v, "140000000300000001020300");
    v = pm_variant_pool(PM_VARIANT_POOL_BYTE_ARRAY, NULL, 0);
    check_golden(&v, "1400000000000000");
    static const int32_t ints[] = {1, -2};
    v = pm_variant_pool(PM_VARIANT_POOL_INT_ARRAY, ints, 2);
    check_golden(&v, "150000000200000001000000feffffff");
    static const float reals[] = {1.5f, 2.5f};
    v = pm_variant_pool(PM_VARIANT_POOL_REAL_ARRAY, reals, 2);
    check_golden(&v, "16000000020000000000c03f00002040");
    /* Godot counts and sends each string's NUL. */
    static const pm_variant_str strs[] = {{"a", 1}, {"bcd", 3}, {"", 0}};
    v = pm_variant_pool(PM_VARIANT_POOL_STRING_ARRAY, strs, 3);
    check_golden(&v, "1700000003000000020000006100000004000000626364000100000000000000");
    static const float v2[] = {1, 2}, v3[] = {1, 2, 3}, c[] = {1, 0, 0, 1};
    v = pm_variant_pool(PM_VARIANT_POOL_VECTOR2_ARRAY, v2, 1);
    check_golden(&v, "18000000010000000000803f00000040");
    v = pm_variant_pool(PM_VARIANT_POOL_VECTOR3_ARRAY, v3, 1);
    check_golden(&v, "19000000010000000000803f0000004000004040");
    v = pm_variant_pool(PM_VARIANT_POOL_COLOR_ARRAY, c, 1);
    check_golden(&v, "1a000000010000000000803f00000000000000000000803f");
}

/* Decode hex; PM_OK cases give the value in *out (free it). */
static int decode_hex(const char *hex, pm_variant **out, size_t *used)
{
    uint8_t b[256];
    size_t n = unhex(hex, b, sizeof b);
    pm_variant *v = NULL;
    size_t u = 0;
    int r = pm_variant_decode_new(b, n, &v, &u);
    if (out)
        *out = v;
    else
        pm_variant_free(v);
    if (used)
        *used = u;
    return r;
}

static void decode_as_godot_does(void **st)
{
    (void)st;
    pm_variant *v;
    size_t used;
    /* Any non-zero BOOL is true; a 64-bit INT reads all 8 bytes. */
    assert_int_equal(decode_hex("0100000005000000", &v, NULL), PM_OK);
    assert_true(v->type == PM_VARIANT_BOOL && v->b);
    pm_variant_free(v);
    assert_int_equal(decode_hex("02000100ffffffff00000000", &v, NULL), PM_OK);
    assert_true(v->type == PM_VARIANT_INT && v->i == 4294967295LL);
    pm_variant_free(v);
    /* A string ends at its first NUL; what follows is not checked. */
    assert_int_equal(decode_hex("0400000003000000616200ff", &v, &used), PM_OK);
    assert_int_equal(v->s.len, 2);
    assert_string_equal(v->s.ptr, "ab");
    assert_int_equal(used, 12);
    pm_variant_free(v);
    /* Godot 3.2's UTF-8 reader: 4-, 5-byte forms pass, overlong ones and bad bytes do not. */
    assert_int_equal(decode_hex("0400000004000000f48fbfbf", NULL, NULL), PM_OK);
    assert_int_equal(decode_hex("0400000004000000f4908080", NULL, NULL), PM_OK);
    assert_int_equal(decode_hex("0400000005000000f888808080000000", NULL, NULL), PM_OK);
    assert_int_equal(decode_hex("0400000003000000eda08000", NULL, NULL), PM_OK);
    assert_int_equal(decode_hex("0400000004000000c0800000", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(decode_hex("04000000030000006162ff00", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(decode_hex("0400000001000000800000", NULL, NULL), PM_ERR_PARSE);
    /* The padding of a string must be there. */
    assert_int_equal(decode_hex("04000000020000006100", NULL, NULL), PM_ERR_PARSE);
    /* Bit 31 of an ARRAY or DICTIONARY count is ignored. */
    assert_int_equal(decode_hex("130000800100000000000000", &v, NULL), PM_OK);
    assert_true(v->type == PM_VARIANT_ARRAY && v->array.count == 1 &&
                v->array.items[0].type == PM_VARIANT_NIL);
    pm_variant_free(v);
    assert_int_equal(decode_hex("120000800100000002000000010000000200000005000000", &v, NULL),
                     PM_OK);
    assert_true(v->type == PM_VARIANT_DICTIONARY && v->dict.count == 1 && v->dict.items[1].i == 5);
    pm_variant_free(v);
    /* Pool strings with or without their NUL. */
    assert_int_equal(decode_hex("17000000010000000100000061000000", &v, NULL), PM_OK);
    assert_true(v->pool.count == 1 && v->pool.strings[0].len == 1);
    pm_variant_free(v);
    /* A negative pool string count: Godot's loop runs no times. */
    assert_int_equal(decode_hex("17000000ffffffff", &v, NULL), PM_OK);
    assert_int_equal(v->pool.count, 0);
    pm_variant_free(v);
    /* NodePath: Godot's garbage padding is ignored; the old format is refused;
     * flag 2 (obsolete property) adds a subname. */
    assert_int_equal(decode_hex("0f000000020000800200000000000000010000006100a040010000006200404001"
                                "000000630010410100000064003041",
                                &v, NULL),
                     PM_OK);
    assert_string_equal(v->s.ptr, "a/b:c:d");
    pm_variant_free(v);
    assert_int_equal(decode_hex("0f00000001000000", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(
        decode_hex("0f00000001000080000000000200000001000000610000000100000062000000", &v, NULL),
        PM_OK);
    assert_string_equal(v->s.ptr, "a:b");
    pm_variant_free(v);
    assert_int_equal(decode_hex("0f0000000100008000000000010000000000000000", &v, NULL), PM_OK);
    assert_string_equal(v->s.ptr, "/");
    pm_variant_free(v);
    /* Unknown flags on other types are ignored; unknown types are not. */
    assert_int_equal(decode_hex("0000ff00", &v, NULL), PM_OK);
    assert_int_equal(v->type, PM_VARIANT_NIL);
    pm_variant_free(v);
    assert_int_equal(decode_hex("1b000000", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(decode_hex("ff000000", NULL, NULL), PM_ERR_PARSE);
    /* Objects: full ones are refused as Godot refuses them; ids pass. */
    assert_int_equal(decode_hex("1100000000000000", NULL, NULL), PM_ERR_UNSUPPORTED);
    assert_int_equal(decode_hex("110001000000000000000000", &v, NULL), PM_OK);
    assert_true(v->type == PM_VARIANT_OBJECT && v->object_id == 0);
    pm_variant_free(v);
    /* A byte array at the very end may lack its padding (Godot does not check it). */
    assert_int_equal(decode_hex("1400000003000000010203", &v, &used), PM_OK);
    assert_int_equal(used, 11);
    pm_variant_free(v);
    assert_int_equal(decode_hex("1400000004000000010203", NULL, NULL), PM_ERR_PARSE);
    /* Truncated bodies. */
    assert_int_equal(decode_hex("05000000", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(decode_hex("0300010000000000", NULL, NULL), PM_ERR_PARSE);
    assert_int_equal(decode_hex("000000", NULL, NULL), PM_ERR_PARSE);
}

static void round_trip_and_truncation(void **st)
{
    (void)st;
    pm_variant items[PM_TEST_VARIANT_SAMPLES];
    size_t n = pm_test_variant_samples(items);
    pm_variant all = pm_variant_array(items, n);
    size_t size;
    assert_int_equal(pm_variant_encoded_size(&all, &size), PM_OK);
    uint8_t *buf = malloc(size);
    assert_int_equal(pm_variant_encode(&all, buf, size, NULL), PM_OK);
    assert_int_equal(pm_variant_encode(&all, buf, size - 1, NULL), PM_ERR_TOO_BIG);

    size_t used, mem;
    assert_int_equal(pm_variant_measure(buf, size, &used, &mem), PM_OK);
    assert_int_equal(used, size);
    void *block = malloc(mem);
    pm_variant *d;
    /* Too little memory is refused, the measured amount is enough. */
    assert_int_equal(pm_variant_decode(buf, size, block, mem - 1, &d, NULL), PM_ERR_TOO_BIG);
    assert_int_equal(pm_variant_decode(buf, size, block, mem, &d, &used), PM_OK);
    assert_int_equal(used, size);
    assert_true(pm_variant_equal(d, &all));
    assert_int_equal(d->array.count, n);
    /* Every type decoded back. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(d->array.items[i].type, items[i].type);
    free(block);

    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < size; cut++) {
        int r = pm_variant_measure(buf, cut, NULL, NULL);
        if (r == PM_OK)
            fail_msg("a %zu-byte prefix of %zu decoded", cut, size);
        assert_int_equal(r, PM_ERR_PARSE);
    }
    free(buf);
}

static void nesting_limit(void **st)
{
    (void)st;
    /* PM_VARIANT_MAX_DEPTH arrays, each holding the next, decode; one more does not. */
    uint8_t b[8 * (PM_VARIANT_MAX_DEPTH + 1) + 4];
    for (int depth = PM_VARIANT_MAX_DEPTH; depth <= PM_VARIANT_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++) {
            pm_wr32le(b + n, PM_VARIANT_ARRAY);
            pm_wr32le(b + n + 4, i + 1 < depth ? 1 : 0);
            n += 8;
        }
        int want = depth <= PM_VARIANT_MAX_DEPTH ? PM_OK : PM_ERR_TOO_BIG;
        assert_int_equal(pm_variant_measure(b, n, NULL, NULL), want);
    }
    /* The encoder refuses what the decoder would refuse. */
    pm_variant chain[PM_VARIANT_MAX_DEPTH + 1];
    chain[PM_VARIANT_MAX_DEPTH] = pm_variant_array(NULL, 0);
    for (int i = PM_VARIANT_MAX_DEPTH - 1; i >= 0; i--)
        chain[i] = pm_variant_array(&chain[i + 1], 1);
    assert_int_equal(pm_variant_encoded_size(&chain[1], NULL), PM_OK);
    assert_int_equal(pm_variant_encoded_size(&chain[0], NULL), PM_ERR_INVALID);
}

static void huge_counts_allocate_nothing(void **st)
{
    (void)st;
    /* Counts far beyond the bytes present fail before any allocation. */
    static const char *const bad[] = {
        "13000000ffffff7f00000000",                 /* ARRAY of 2^31-1 */
        "12000000ffffff7f0000000000000000",         /* DICTIONARY of 2^31-1 */
        "14000000ffffff7f01020304",                 /* bytes */
        "15000000ffffff3f01020304",                 /* ints: count * 4 overflows int32 */
        "18000000ffffff7f01020304",                 /* Vector2s */
        "17000000ffffff7f00000000",                 /* strings */
        "0f000000ffffffffffffffff0000000000000000", /* node path names + subnames */
        "04000000ffffff7f",                         /* string longer than the input */
        "04000000fcffffff",                         /* string length negative as int32 */
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        uint8_t b[64];
        size_t n = unhex(bad[i], b, sizeof b);
        size_t mem = 12345;
        assert_int_equal(pm_variant_measure(b, n, NULL, &mem), PM_ERR_PARSE);
        assert_int_equal(mem, 12345);
    }
}

static void memory_is_bounded_by_input(void **st)
{
    (void)st;
    /* Random mutations of a valid encoding: whatever decodes needs at most
     * 14 bytes of memory per input byte (plus the root), as variant.h says. */
    pm_variant items[PM_TEST_VARIANT_SAMPLES];
    size_t n = pm_test_variant_samples(items);
    pm_variant all = pm_variant_array(items, n);
    uint8_t base[2048], b[2048];
    size_t size;
    assert_int_equal(pm_variant_encode(&all, base, sizeof base, &size), PM_OK);
    uint64_t seed = 42;
    int decoded = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(b, base, size);
        size_t len = pm_test_rand(&seed) % 4 ? size : 4 + pm_test_rand(&seed) % (size - 3);
        int flips = 1 + (int)(pm_test_rand(&seed) % 2);
        for (int f = 0; f < flips; f++)
            b[pm_test_rand(&seed) % len] = (uint8_t)pm_test_rand(&seed);
        size_t used, mem;
        if (pm_variant_measure(b, len, &used, &mem) != PM_OK)
            continue;
        decoded++;
        assert_true(used <= len);
        assert_true(mem <= 14 * len + 64);
        pm_variant *v;
        assert_int_equal(pm_variant_decode_new(b, len, &v, NULL), PM_OK);
        /* Re-encoding what was decoded gives a value that decodes the same. */
        size_t again;
        assert_int_equal(pm_variant_encoded_size(v, &again), PM_OK);
        uint8_t *e = malloc(again);
        assert_int_equal(pm_variant_encode(v, e, again, NULL), PM_OK);
        pm_variant *w;
        assert_int_equal(pm_variant_decode_new(e, again, &w, NULL), PM_OK);
        assert_true(pm_variant_equal(v, w));
        pm_variant_free(w);
        free(e);
        pm_variant_free(v);
    }
    assert_true(decoded > 100);
    /* The worst case the bound is about: an array of NILs. */
    uint8_t nils[8 + 4 * 100] = {PM_VARIANT_ARRAY, 0, 0, 0, 100};
    size_t mem;
    assert_int_equal(pm_variant_measure(nils, sizeof nils, NULL, &mem), PM_OK);
    assert_true(mem <= 14 * sizeof nils + 64);
}

static void encoder_refuses_what_godot_would_drop(void **st)
{
    (void)st;
    pm_variant v = pm_variant_string_n("a\0b", 3);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = pm_variant_string("\xff");
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = pm_variant_string_n(NULL, 2);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = pm_variant_array(NULL, 1);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = pm_variant_pool(PM_VARIANT_POOL_INT_ARRAY, NULL, 1);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = pm_variant_array(NULL, (size_t)INT32_MAX + 1);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    static const pm_variant_str bad[] = {{"ok", 2}, {"\xc0\x80", 2}};
    v = pm_variant_pool(PM_VARIANT_POOL_STRING_ARRAY, bad, 2);
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    v = (pm_variant){.type = (pm_variant_type)PM_VARIANT_TYPE_COUNT};
    assert_int_equal(pm_variant_encoded_size(&v, NULL), PM_ERR_INVALID);
    assert_int_equal(pm_variant_encoded_size(NULL, NULL), PM_ERR_INVALID);
    /* A NaN REAL goes as a double, infinities as floats (as Godot decides). */
    v = pm_variant_real(NAN);
    size_t n;
    assert_int_equal(pm_variant_encoded_size(&v, &n), PM_OK);
    assert_int_equal(n, 12);
    v = pm_variant_real(INFINITY);
    assert_int_equal(pm_variant_encoded_size(&v, &n), PM_OK);
    assert_int_equal(n, 8);
    v = pm_variant_real(1e39);
    assert_int_equal(pm_variant_encoded_size(&v, &n), PM_OK);
    assert_int_equal(n, 12);
    assert_string_equal(pm_variant_type_name(PM_VARIANT_POOL_COLOR_ARRAY), "PoolColorArray");
    assert_string_equal(pm_variant_type_name((pm_variant_type)99), "?");
}

static void node_path_text_round_trips(void **st)
{
    (void)st;
    static const char *const texts[] = {"",   "/",      "a", "/root", "a//b",      ":x",
                                        "a:", "/a/b:c", ":", "..",    "a/../b:c:d"};
    for (size_t i = 0; i < PM_ARRAY_LEN(texts); i++) {
        pm_variant v = pm_variant_node_path(texts[i]);
        uint8_t b[128];
        size_t n;
        assert_int_equal(pm_variant_encode(&v, b, sizeof b, &n), PM_OK);
        pm_variant *d;
        assert_int_equal(pm_variant_decode_new(b, n, &d, NULL), PM_OK);
        assert_string_equal(d->s.ptr, texts[i]);
        pm_variant_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_scalars),
        cmocka_unit_test(golden_math),
        cmocka_unit_test(golden_paths_and_containers),
        cmocka_unit_test(golden_pools),
        cmocka_unit_test(decode_as_godot_does),
        cmocka_unit_test(round_trip_and_truncation),
        cmocka_unit_test(nesting_limit),
        cmocka_unit_test(huge_counts_allocate_nothing),
        cmocka_unit_test(memory_is_bounded_by_input),
        cmocka_unit_test(encoder_refuses_what_godot_would_drop),
        cmocka_unit_test(node_path_text_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
