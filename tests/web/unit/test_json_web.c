/*
 * The WebAssembly build's JSON parser for the signaling codec
 * (src/web/json_web.c, the browser's JSON.parse) under Node.js, against the
 * table it shares with the native jansson version (tests/support/json_cases.h).
 * Also the codec's own entry point: the flat fast path first, then this.
 */
#include "check.h"
#include "json_cases.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <string.h>

static void messages(void)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    pm_buf scratch = {0};
    for (size_t i = 0; i < PM_ARRAY_LEN(JSON_MSG_CASES); i++) {
        const json_msg_case *c = &JSON_MSG_CASES[i];
        pm_sigmsg m;
        size_t n = c->in_len ? c->in_len : strlen(c->in);
        int rc = pm_sigmsg_decode_json_slow(&env, (const uint8_t *)c->in, n, &scratch, &m);
        if (!CHECK((rc == PM_OK) == (c->rc == 0)))
            printf("     case %zu: %s\n", i, c->in);
        if (rc != PM_OK)
            continue;
        CHECK_EQ(m.type, c->type);
        CHECK_EQ(m.id, c->id);
        size_t dl = c->data_len ? c->data_len : strlen(c->data);
        CHECK_EQ(m.data_len, dl);
        CHECK(memcmp(m.data, c->data, dl) == 0);
        if (c->ice)
            CHECK(m.ice && m.ice_len == strlen(c->ice) && memcmp(m.ice, c->ice, m.ice_len) == 0);
        else
            CHECK(m.ice == NULL);
    }
    /* The codec's entry: a flat message without the parser, others through it. */
    pm_sigmsg m;
    const char *flat = "{\"type\":4,\"id\":2,\"data\":\"v=0\"}";
    CHECK_EQ(pm_sigmsg_decode_json(&env, (const uint8_t *)flat, strlen(flat), &scratch, &m), PM_OK);
    CHECK(m.type == 4 && m.id == 2 && m.data_len == 3);
    const char *ice = "{\"type\":1,\"id\":3,\"data\":\"\",\"ice_servers\":[]}";
    CHECK_EQ(pm_sigmsg_decode_json(&env, (const uint8_t *)ice, strlen(ice), &scratch, &m), PM_OK);
    CHECK(m.type == 1 && m.id == 3 && m.ice && m.ice_len == 2);
    pm_buf_free(&env, &scratch);
}

static void ice_lists(void)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    for (size_t i = 0; i < PM_ARRAY_LEN(JSON_ICE_CASES); i++) {
        const json_ice_case *c = &JSON_ICE_CASES[i];
        pm_sig_ice_list list;
        int rc = pm_sig_ice_list_parse(&env, c->in, strlen(c->in), &list);
        if (!CHECK((rc == PM_OK) == (c->rc == 0)))
            printf("     case %zu: %s\n", i, c->in);
        if (rc != PM_OK)
            continue;
        CHECK_EQ(list.count, c->count);
        for (size_t s = 0; s < 2 && s < list.count; s++) {
            const pm_sig_ice_server *v = &list.servers[s];
            CHECK_EQ(v->url_count, c->urls[s]);
            CHECK(strcmp(v->urls[0], c->first_url[s]) == 0);
            CHECK(c->username[s] ? v->username && !strcmp(v->username, c->username[s])
                                 : !v->username);
            CHECK(c->credential[s] ? v->credential && !strcmp(v->credential, c->credential[s])
                                   : !v->credential);
        }
        pm_sig_ice_list_free(&env, &list);
    }
}

int main(void)
{
    messages();
    ice_lists();
    return check_summary("test_json_web");
}
