/* Unit tests: src/wire/godot_mpapi (Godot 3.2 MultiplayerAPI packet framing). */
#include "testutil.h"

#include "wire/godot_mpapi.h"

static void remote_by_id_and_inline(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 1);
    pm_buf b = {0};
    assert_int_equal(pm_gmp_put_remote_header(&env, &b, PM_GMP_CMD_REMOTE_CALL, 7, "go", 2), PM_OK);
    static const uint8_t head[] = {0, 7, 0, 0, 0, 'g', 'o', 0};
    assert_int_equal(b.len, sizeof head);
    assert_memory_equal(b.data, head, sizeof head);
    pm_buf_append(&env, &b, "\x00", 1); /* argc 0 */
    pm_gmp_remote r;
    assert_int_equal(pm_gmp_parse_remote(b.data, b.len, &r), PM_OK);
    assert_int_equal(r.cmd, PM_GMP_CMD_REMOTE_CALL);
    assert_false(r.inline_path);
    assert_int_equal(r.cache_id, 7);
    assert_int_equal(r.name_len, 2);
    assert_string_equal(r.name, "go");
    assert_int_equal(r.body_len, 1);

    /* With the path appended at the end of the call. */
    size_t ofs = b.len;
    pm_buf_append(&env, &b, "Main/P\0", 7);
    pm_wr32le(b.data + 1, PM_GMP_TARGET_INLINE | (uint32_t)ofs);
    assert_int_equal(pm_gmp_parse_remote(b.data, b.len, &r), PM_OK);
    assert_true(r.inline_path);
    assert_int_equal(r.path_len, 6);
    assert_memory_equal(r.path, "Main/P", 6);
    assert_int_equal(r.body_len, 1); /* the body stops where the path starts */
    /* A path without its NUL runs to the end. */
    assert_int_equal(pm_gmp_parse_remote(b.data, b.len - 1, &r), PM_OK);
    assert_int_equal(r.path_len, 6);

    /* Offsets past the end, inside the header or name, or leaving no body. */
    static const uint32_t bad_ofs[] = {0, 5, 6, 7, 100};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad_ofs); i++) {
        pm_wr32le(b.data + 1, PM_GMP_TARGET_INLINE | bad_ofs[i]);
        assert_int_equal(pm_gmp_parse_remote(b.data, b.len, &r), PM_ERR_PARSE);
    }
    pm_wr32le(b.data + 1, PM_GMP_TARGET_INLINE | (uint32_t)ofs);
    /* A path that is not UTF-8. */
    b.data[ofs + 1] = 0xff;
    assert_int_equal(pm_gmp_parse_remote(b.data, b.len, &r), PM_ERR_PARSE);
    pm_buf_free(&env, &b);

    /* Too short, no NUL after the name, no body, wrong command. */
    static const uint8_t shorts[][8] = {{0, 1, 0, 0, 0}, {1, 1, 0, 0, 0, 'a', 'b'}};
    assert_int_equal(pm_gmp_parse_remote(shorts[0], 5, &r), PM_ERR_PARSE);
    assert_int_equal(pm_gmp_parse_remote(shorts[1], 7, &r), PM_ERR_PARSE);
    static const uint8_t nobody[] = {1, 1, 0, 0, 0, 'a', 0};
    assert_int_equal(pm_gmp_parse_remote(nobody, sizeof nobody, &r), PM_ERR_PARSE);
    static const uint8_t set[] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(pm_gmp_parse_remote(set, sizeof set, &r), PM_OK);
    assert_int_equal(r.cmd, PM_GMP_CMD_REMOTE_SET);
    assert_int_equal(r.name_len, 0);
    static const uint8_t raw[] = {4, 1, 0, 0, 0, 'a', 0, 0};
    assert_int_equal(pm_gmp_parse_remote(raw, sizeof raw, &r), PM_ERR_PARSE);
    static const uint8_t badname[] = {0, 1, 0, 0, 0, 0xc0, 0x80, 0, 0};
    assert_int_equal(pm_gmp_parse_remote(badname, sizeof badname, &r), PM_ERR_PARSE);
}

static void simplify_and_confirm(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 1);
    pm_buf b = {0};
    assert_int_equal(pm_gmp_put_simplify(&env, &b, 0x01020304, "Echo", 4), PM_OK);
    static const uint8_t simplify[] = {2, 4, 3, 2, 1, 'E', 'c', 'h', 'o', 0};
    assert_int_equal(b.len, sizeof simplify);
    assert_memory_equal(b.data, simplify, sizeof simplify);
    uint32_t id;
    const char *path;
    size_t len;
    assert_int_equal(pm_gmp_parse_simplify(b.data, b.len, &id, &path, &len), PM_OK);
    assert_int_equal(id, 0x01020304);
    assert_int_equal(len, 4);
    /* Godot accepts an empty path in SIMPLIFY_PATH. */
    assert_int_equal(pm_gmp_parse_simplify(b.data, 5, &id, &path, &len), PM_OK);
    assert_int_equal(len, 0);
    assert_int_equal(pm_gmp_parse_simplify(b.data, 4, &id, &path, &len), PM_ERR_PARSE);
    b.len = 0;
    assert_int_equal(pm_gmp_put_confirm(&env, &b, "Echo", 4), PM_OK);
    static const uint8_t confirm[] = {3, 'E', 'c', 'h', 'o', 0};
    assert_memory_equal(b.data, confirm, sizeof confirm);
    assert_int_equal(pm_gmp_parse_confirm(b.data, b.len, &path, &len), PM_OK);
    assert_int_equal(len, 4);
    assert_int_equal(pm_gmp_parse_confirm(b.data, 1, &path, &len), PM_ERR_PARSE);
    assert_int_equal(pm_gmp_parse_confirm(simplify, sizeof simplify, &path, &len), PM_ERR_PARSE);
    pm_buf_free(&env, &b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(remote_by_id_and_inline),
        cmocka_unit_test(simplify_and_confirm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
