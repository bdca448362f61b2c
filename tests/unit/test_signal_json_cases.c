/*
 * Unit tests: the signaling codec's full JSON parser (jansson,
 * src/wire/signal_json_jansson.c) against the table it shares with the
 * WebAssembly build's JSON.parse version (tests/support/json_cases.h).
 */
#include "testutil.h"

#include "json_cases.h"
#include "wire/signal_msg.h"

#include <stdio.h>

static void messages(void **st)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    pm_buf scratch = {0};
    for (size_t i = 0; i < PM_ARRAY_LEN(JSON_MSG_CASES); i++) {
        const json_msg_case *c = &JSON_MSG_CASES[i];
        pm_sigmsg m;
        size_t n = c->in_len ? c->in_len : strlen(c->in);
        int rc = pm_sigmsg_decode_json_slow(&env, (const uint8_t *)c->in, n, &scratch, &m);
        if ((rc == PM_OK) != (c->rc == 0))
            fail_msg("case %zu %s: rc %d", i, c->in, rc);
        if (rc != PM_OK)
            continue;
        assert_int_equal(m.type, c->type);
        assert_int_equal(m.id, c->id);
        size_t dl = c->data_len ? c->data_len : strlen(c->data);
        assert_int_equal(m.data_len, dl);
        assert_memory_equal(m.data, c->data, dl);
        if (c->ice) {
            assert_non_null(m.ice);
            assert_int_equal(m.ice_len, strlen(c->ice));
            assert_memory_equal(m.ice, c->ice, m.ice_len);
        } else {
            assert_null(m.ice);
        }
    }
    pm_buf_free(&env, &scratch);
}

static void ice_lists(void **st)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    for (size_t i = 0; i < PM_ARRAY_LEN(JSON_ICE_CASES); i++) {
        const json_ice_case *c = &JSON_ICE_CASES[i];
        pm_sig_ice_list list;
        int rc = pm_sig_ice_list_parse(&env, c->in, strlen(c->in), &list);
        if ((rc == PM_OK) != (c->rc == 0))
            fail_msg("case %zu %s: rc %d", i, c->in, rc);
        if (rc != PM_OK)
            continue;
        assert_int_equal(list.count, c->count);
        for (size_t s = 0; s < 2 && s < list.count; s++) {
            assert_int_equal(list.servers[s].url_count, c->urls[s]);
            assert_string_equal(list.servers[s].urls[0], c->first_url[s]);
            if (c->username[s])
                assert_string_equal(list.servers[s].username, c->username[s]);
            else
                assert_null(list.servers[s].username);
            if (c->credential[s])
                assert_string_equal(list.servers[s].credential, c->credential[s]);
            else
                assert_null(list.servers[s].credential);
        }
        pm_sig_ice_list_free(&env, &list);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages),
        cmocka_unit_test(ice_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
