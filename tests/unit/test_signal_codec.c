/*
 * Unit tests: the signaling message codecs (src/wire/signal_json.c,
 * signal_text.c), the candidate payload, the ICE server list, UTF-8
 * validation, tokens and TURN credentials (src/signaling/token.c).
 */
#include "testutil.h"

#include "peermesh/signaling.h"
#include "signaling/token.h"
#include "wire/signal_msg.h"

#include <stdio.h>

static pm_envr env;

static int setup(void **st)
{
    pm_test_envr(&env, 1);
    return 0;
}

static void json_decode_fields(void **st)
{
    pm_buf scratch = {0};
    pm_sigmsg m;
    const char *in = "{\"type\":4,\"id\":17,\"data\":\"v=0\\r\\na=x\\u0000y\"}";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_OFFER);
    assert_int_equal(m.id, 17);
    assert_int_equal(m.data_len, 10);
    assert_memory_equal(m.data, "v=0\r\na=x\0y", 10);
    assert_null(m.ice);

    /* Whitespace, key order, extra keys, floats (floored), missing data. */
    in = " { \"extra\": [1,2], \"id\": 3.9, \"type\": 7.0 } ";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_SEAL);
    assert_int_equal(m.id, 3);
    assert_int_equal(m.data_len, 0);
    /* data that is not a string becomes "" (Node). */
    in = "{\"type\":0,\"id\":0,\"data\":{\"a\":1}}";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_int_equal(m.data_len, 0);
    /* Duplicate keys: the last wins (JSON.parse). */
    in = "{\"type\":4,\"type\":5,\"id\":2}";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_ANSWER);
    /* ice_servers comes back as compact JSON. */
    in = "{\"type\":1,\"id\":5,\"data\":\"true\",\"ice_servers\":[ {\"urls\" : \"stun:a\"} ]}";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_non_null(m.ice);
    assert_int_equal(m.ice_len, strlen("[{\"urls\":\"stun:a\"}]"));
    assert_memory_equal(m.ice, "[{\"urls\":\"stun:a\"}]", m.ice_len);
    assert_memory_equal(m.data, "true", 4);
    pm_buf_free(&env, &scratch);
}

/* The fast path (no jansson) and jansson agree, on its shape and around it. */
static void json_fast_path_agrees(void **st)
{
    const char *cases[] = {
        "{\"type\":4,\"id\":2,\"data\":\"caf\\u00e9 \\ud83d\\ude00 \\/ \\\"q\\\" \\b\\f\\t\"}",
        "{\"data\":\"x\",\"id\":7,\"type\":6}",
        "{\"type\":4,\"id\":2,\"data\":\"a\",\"data\":\"b\"}",
        "{\"type\":4,\"id\":1e2,\"data\":\"\"}",
        "{\"type\":4,\"id\":01,\"data\":\"\"}",
        "{\"type\":4,\"id\":2,\"data\":null}",
        "{\"type\":4,\"id\":2,\"data\":\"\\ud800\"}",
        "{\"type\":4,\"id\":2,\"data\":\"\\udc00\"}",
        "{\"type\":4,\"id\":2,\"data\":\"tab\there\"}",
        "{\"type\":4,\"id\":2,\"data\":\"\\x\"}",
        "{\"type\":4,\"id\":2,\"data\":\"\xc3\xa9\"}",
        "{\"type\":4,\"id\":2,\"data\":\"\xc3\"}",
        "{\"type\":4,\"id\":9007199254740992}",
        "{\"type\":4,\"id\":9007199254740993}",
        "{\"type\":4,\"id\":2} x",
        "{\"type\":4,\"id\":2,}",
        "{\"type\" : 4 , \"id\" : 2 }",
        "{\"ty\\u0070e\":4,\"id\":2}",
    };
    pm_buf a = {0}, b = {0};
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        pm_sigmsg fast, slow;
        const uint8_t *in = (const uint8_t *)cases[i];
        int rf = pm_sigmsg_decode_json(&env, in, strlen(cases[i]), &a, &fast);
        int rs = pm_sigmsg_decode_json_slow(&env, in, strlen(cases[i]), &b, &slow);
        if (rf != rs)
            fail_msg("case %zu: %d vs jansson %d", i, rf, rs);
        if (rf == PM_OK) {
            assert_int_equal(fast.type, slow.type);
            assert_int_equal(fast.id, slow.id);
            assert_int_equal(fast.data_len, slow.data_len);
            assert_memory_equal(fast.data, slow.data, fast.data_len);
        }
    }
    pm_sigmsg m;
    const char *esc = cases[0];
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)esc, strlen(esc), &a, &m), PM_OK);
    assert_string_equal(m.data, "caf\xc3\xa9 \xf0\x9f\x98\x80 / \"q\" \b\f\t");
    pm_buf_free(&env, &a);
    pm_buf_free(&env, &b);
}

static void json_decode_malformed(void **st)
{
    const char *bad[] = {
        "",
        "{",
        "null",
        "5",
        "\"str\"",
        "[]",
        "{}",
        "{\"type\":0}",
        "{\"id\":0}",
        "{\"type\":true,\"id\":0}",
        "{\"type\":null,\"id\":0}",
        "{\"type\":\"4\",\"id\":0}",
        "{\"type\":-1,\"id\":0}",
        "{\"type\":0,\"id\":-0.5}",
        "{\"type\":0,\"id\":1e300}",
        "{\"type\":0,\"id\":9007199254740993}",
        "{\"type\":0,\"id\":0,\"data\":\"\\ud800\"}",
        "{\"type\":0,\"id\":0} trailing",
        "{\"type\":0,\"id\":0,\"data\":\"\xff\"}",
    };
    pm_buf scratch = {0};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        pm_sigmsg m;
        int rc = pm_sigmsg_decode_json(&env, (const uint8_t *)bad[i], strlen(bad[i]), &scratch, &m);
        if (rc != PM_ERR_PARSE)
            fail_msg("accepted %s", bad[i]);
    }
    pm_buf_free(&env, &scratch);
}

static void json_encode(void **st)
{
    pm_buf out = {0};
    pm_sigmsg m = {.type = PM_SIGMSG_CANDIDATE,
                   .id = 2147483647,
                   .data = "\n0\n0\n\"q\"\\\t\x01",
                   .data_len = 11};
    assert_int_equal(pm_sigmsg_encode_json(&env, &m, &out), PM_OK);
    assert_string_equal((char *)out.data, "{\"type\":6,\"id\":2147483647,\"data\":"
                                          "\"\\n0\\n0\\n\\\"q\\\"\\\\\\t\\u0001\"}");
    /* Round trip. */
    pm_buf scratch = {0};
    pm_sigmsg back;
    assert_int_equal(pm_sigmsg_decode_json(&env, out.data, out.len, &scratch, &back), PM_OK);
    assert_int_equal(back.type, m.type);
    assert_int_equal(back.id, m.id);
    assert_int_equal(back.data_len, m.data_len);
    assert_memory_equal(back.data, m.data, m.data_len);
    /* Non-ASCII UTF-8 passes through; an invalid byte is refused. */
    out.len = 0;
    pm_sigmsg u = {.type = PM_SIGMSG_JOIN, .id = 0, .data = "caf\xc3\xa9", .data_len = 5};
    assert_int_equal(pm_sigmsg_encode_json(&env, &u, &out), PM_OK);
    assert_string_equal((char *)out.data, "{\"type\":0,\"id\":0,\"data\":\"caf\xc3\xa9\"}");
    out.len = 0;
    u.data = "caf\xe9";
    u.data_len = 4;
    assert_int_equal(pm_sigmsg_encode_json(&env, &u, &out), PM_ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* ice_servers inserted verbatim. */
    pm_sigmsg id = {.type = PM_SIGMSG_ID, .id = 1, .data = "", .ice = "[]", .ice_len = 2};
    assert_int_equal(pm_sigmsg_encode_json(&env, &id, &out), PM_OK);
    assert_string_equal((char *)out.data, "{\"type\":1,\"id\":1,\"data\":\"\",\"ice_servers\":[]}");
    pm_buf_free(&env, &out);
    pm_buf_free(&env, &scratch);
}

static void text_decode(void **st)
{
    pm_sigmsg m;
    const char *in = "O: 42\nv=0\r\n";
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)in, strlen(in), &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_OFFER);
    assert_int_equal(m.id, 42);
    assert_int_equal(m.data_len, 5);
    assert_memory_equal(m.data, "v=0\r\n", 5);

    in = "J:  lobbyName \n";
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)in, strlen(in), &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_JOIN);
    assert_int_equal(m.data_len, 9);
    assert_memory_equal(m.data, "lobbyName", 9);

    in = "J: \n";
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)in, strlen(in), &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_JOIN);
    assert_int_equal(m.data_len, 0);

    in = "C: 7\n\n0\n0\ncandidate:1 1 udp 1 ::1 9 typ host";
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)in, strlen(in), &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_CANDIDATE);
    assert_int_equal(m.id, 7);
    pm_sig_candidate cand;
    assert_int_equal(pm_sig_candidate_parse(m.data, m.data_len, &cand), PM_OK);
    assert_int_equal(cand.mid_len, 1);
    assert_memory_equal(cand.mid, "0", 1);
    assert_int_equal(cand.index, 0);
    assert_int_equal(cand.candidate_len, strlen("candidate:1 1 udp 1 ::1 9 typ host"));

    struct {
        const char *in;
        int type;
        long long id;
    } cases[] = {
        {"I: 1\n", PM_SIGMSG_ID, 1},
        {"N: 2147483647\n", PM_SIGMSG_PEER_CONNECT, 2147483647},
        {"D: 5\n", PM_SIGMSG_PEER_DISCONNECT, 5},
        {"A: 9\nsdp", PM_SIGMSG_ANSWER, 9},
        {"S: \n", PM_SIGMSG_SEAL, 0},
        {"S: whatever\n", PM_SIGMSG_SEAL, 0},
        {"Z: 1\n", PM_SIGMSG_UNKNOWN, 1},
        {"O: x1\n", PM_SIGMSG_OFFER, -1},
        {"O: 1x\n", PM_SIGMSG_OFFER, -1},
        {"O: \n", PM_SIGMSG_OFFER, -1},
        {"O: -4\n", PM_SIGMSG_OFFER, -1},
        {"O: 99999999999999999999\n", PM_SIGMSG_OFFER, -1},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        assert_int_equal(
            pm_sigmsg_decode_text((const uint8_t *)cases[i].in, strlen(cases[i].in), &m), PM_OK);
        assert_int_equal(m.type, cases[i].type);
        assert_int_equal(m.id, cases[i].id);
    }
    const char *bad[] = {"", "J: ", "O: 1", "J:\n", "\n", "OO 1\n", "O:1\n", "O: 1\n\xc0\x80"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)bad[i], strlen(bad[i]), &m),
                         PM_ERR_PARSE);
}

static void text_encode(void **st)
{
    pm_buf out = {0};
    struct {
        pm_sigmsg m;
        const char *expect;
    } cases[] = {
        {{.type = PM_SIGMSG_ID, .id = 1}, "I: 1\n"},
        {{.type = PM_SIGMSG_ID, .id = 3, .ice = "[1]", .ice_len = 3}, "I: 3\n[1]"},
        {{.type = PM_SIGMSG_PEER_CONNECT, .id = 8}, "N: 8\n"},
        {{.type = PM_SIGMSG_PEER_DISCONNECT, .id = 8}, "D: 8\n"},
        {{.type = PM_SIGMSG_JOIN, .data = "abc", .data_len = 3}, "J: abc\n"},
        {{.type = PM_SIGMSG_CREATE, .data = "friday", .data_len = 6}, "L: friday\n"},
        {{.type = PM_SIGMSG_SEAL}, "S: \n"},
        {{.type = PM_SIGMSG_OFFER, .id = 2, .data = "v=0", .data_len = 3}, "O: 2\nv=0"},
        {{.type = PM_SIGMSG_ANSWER, .id = 2, .data = "v=0", .data_len = 3}, "A: 2\nv=0"},
        {{.type = PM_SIGMSG_CANDIDATE, .id = 2, .data = "\n0\n0\nc", .data_len = 6},
         "C: 2\n\n0\n0\nc"},
        {{.type = PM_SIGMSG_HOST, .id = 77}, "H: 77\n"}, /* ours: host migration */
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        out.len = 0;
        assert_int_equal(pm_sigmsg_encode_text(&env, &cases[i].m, &out), PM_OK);
        assert_string_equal((char *)out.data, cases[i].expect);
        /* And it decodes back to the same message. */
        pm_sigmsg back;
        assert_int_equal(pm_sigmsg_decode_text(out.data, out.len, &back), PM_OK);
        assert_int_equal(back.type, cases[i].m.type);
    }
    pm_sigmsg unknown = {.type = 99};
    assert_int_equal(pm_sigmsg_encode_text(&env, &unknown, &out), PM_ERR_INVALID);
    pm_sigmsg nl = {.type = PM_SIGMSG_JOIN, .data = "a\nb", .data_len = 3};
    assert_int_equal(pm_sigmsg_encode_text(&env, &nl, &out), PM_ERR_INVALID);
    pm_buf_free(&env, &out);
}

/* Named lobbies (our extension): CREATE in both formats, and the names it takes. */
static void create_message(void **st)
{
    pm_sigmsg m;
    const char *in = "L:  friday \n";
    assert_int_equal(pm_sigmsg_decode_text((const uint8_t *)in, strlen(in), &m), PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_CREATE);
    assert_int_equal(m.id, 0); /* 3.x lobbies are meshes */
    assert_int_equal(m.data_len, 6);
    assert_memory_equal(m.data, "friday", 6);
    pm_buf scratch = {0}, out = {0};
    in = "{\"type\":8,\"id\":1,\"data\":\"friday\"}";
    assert_int_equal(pm_sigmsg_decode_json(&env, (const uint8_t *)in, strlen(in), &scratch, &m),
                     PM_OK);
    assert_int_equal(m.type, PM_SIGMSG_CREATE);
    assert_int_equal(m.id, 1);
    assert_int_equal(pm_sigmsg_encode_json(&env, &m, &out), PM_OK);
    assert_memory_equal(out.data, in, strlen(in));
    pm_buf_free(&env, &scratch);
    pm_buf_free(&env, &out);

    assert_true(pm_sig_lobby_name_valid("friday", 6));
    assert_true(pm_sig_lobby_name_valid("Team_2.final-B", 14));
    assert_false(pm_sig_lobby_name_valid("", 0));
    assert_false(pm_sig_lobby_name_valid(NULL, 3));
    assert_false(pm_sig_lobby_name_valid("fri day", 7));
    assert_false(pm_sig_lobby_name_valid("caf\xc3\xa9", 5));
    assert_false(pm_sig_lobby_name_valid("a/b", 3));
    char longest[PM_SIG_MAX_LOBBY_NAME + 2];
    memset(longest, 'x', sizeof longest);
    assert_true(pm_sig_lobby_name_valid(longest, PM_SIG_MAX_LOBBY_NAME));
    assert_false(pm_sig_lobby_name_valid(longest, PM_SIG_MAX_LOBBY_NAME + 1));
}

static void detect_format(void **st)
{
    assert_int_equal(pm_sigmsg_detect((const uint8_t *)"{\"type\":0}", 10), PM_SIGPROTO_JSON);
    assert_int_equal(pm_sigmsg_detect((const uint8_t *)" \n\t{", 4), PM_SIGPROTO_JSON);
    assert_int_equal(pm_sigmsg_detect((const uint8_t *)"J: \n", 4), PM_SIGPROTO_TEXT);
    assert_int_equal(pm_sigmsg_detect((const uint8_t *)"", 0), PM_SIGPROTO_TEXT);
}

static void candidate_payload(void **st)
{
    pm_sig_candidate c;
    const char *ok[] = {"\n0\n0\ncandidate:x", "0\n0\ncandidate:x", "\n\n0\n\n-1\ncandidate:x\n",
                        "\ndata\n+12\ncandidate:x"};
    int idx[] = {0, 0, -1, 12};
    for (size_t i = 0; i < PM_ARRAY_LEN(ok); i++) {
        assert_int_equal(pm_sig_candidate_parse(ok[i], strlen(ok[i]), &c), PM_OK);
        assert_int_equal(c.index, idx[i]);
        assert_int_equal(c.candidate_len, 11);
    }
    const char *bad[] = {"",
                         "\n0\n0",
                         "\n0\nx\ncand",
                         "\n0\n0\ncand\nextra",
                         "\n0\n\ncand",
                         "\n0\n99999999999\ncand",
                         "\n0\n-\ncand"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_sig_candidate_parse(bad[i], strlen(bad[i]), &c), PM_ERR_PARSE);
    pm_buf out = {0};
    assert_int_equal(
        pm_sig_candidate_format(&env, "0", 0, "candidate:1 1 udp 1 ::1 9 typ host", &out), PM_OK);
    assert_string_equal((char *)out.data, "\n0\n0\ncandidate:1 1 udp 1 ::1 9 typ host");
    assert_int_equal(pm_sig_candidate_format(&env, "0", 0, "", &out), PM_ERR_INVALID);
    assert_int_equal(pm_sig_candidate_format(&env, "a\nb", 0, "c", &out), PM_ERR_INVALID);
    pm_buf_free(&env, &out);
}

static void ice_list(void **st)
{
    pm_buf json = {0};
    const char *u1[] = {"stun:127.0.0.1:3478", "stun:[::1]:3478"};
    const char *u2[] = {"turn:127.0.0.1:3478?transport=udp"};
    pm_buf_append(&env, &json, "[", 1);
    assert_int_equal(pm_sig_ice_json_append(&env, &json, u1, 2, NULL, NULL), PM_OK);
    assert_int_equal(pm_sig_ice_json_append(&env, &json, u2, 1, "123:me", "pa\"ss"), PM_OK);
    pm_buf_append(&env, &json, "]", 1);
    pm_sig_ice_list l;
    assert_int_equal(pm_sig_ice_list_parse(&env, (char *)json.data, json.len, &l), PM_OK);
    assert_int_equal(l.count, 2);
    assert_int_equal(l.servers[0].url_count, 2);
    assert_string_equal(l.servers[0].urls[1], "stun:[::1]:3478");
    assert_null(l.servers[0].credential);
    assert_string_equal(l.servers[1].username, "123:me");
    assert_string_equal(l.servers[1].credential, "pa\"ss");
    pm_sig_ice_list_free(&env, &l);
    const char *single = "[{\"urls\":\"stun:x\",\"other\":1}]";
    assert_int_equal(pm_sig_ice_list_parse(&env, single, strlen(single), &l), PM_OK);
    assert_int_equal(l.servers[0].url_count, 1);
    pm_sig_ice_list_free(&env, &l);
    const char *bad[] = {"{}",
                         "[1]",
                         "[{}]",
                         "[{\"urls\":5}]",
                         "[{\"urls\":[5]}]",
                         "[{\"urls\":\"a\",\"username\":1}]",
                         "[{\"urls\":\"a\\u0000b\"}]",
                         "x"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_sig_ice_list_parse(&env, bad[i], strlen(bad[i]), &l), PM_ERR_PARSE);
    pm_buf_free(&env, &json);
}

static void utf8(void **st)
{
    struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"plain", true},
        {"\xc3\xa9", true},
        {"\xe2\x82\xac", true},
        {"\xf0\x9f\x98\x80", true},
        {"\xc0\xaf", false},         /* overlong '/' */
        {"\xe0\x80\xaf", false},     /* overlong */
        {"\xed\xa0\x80", false},     /* surrogate */
        {"\xf4\x90\x80\x80", false}, /* > U+10FFFF */
        {"\x80", false},
        {"\xc3", false},
        {"\xe2\x82", false},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++)
        assert_int_equal(pm_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)),
                         cases[i].ok);
}

static void tokens_and_turn(void **st)
{
    char t[PM_SIG_TOKEN_MAX];
    assert_int_equal(pm_signal_token_make("secret", "bob", 2000000000, t, sizeof t), PM_OK);
    assert_int_equal(strncmp(t, "2000000000:bob:", 15), 0);
    assert_int_equal(strlen(t), 15 + 40);
    assert_int_equal(pm_sig_token_verify("secret", t, 1999999999), PM_OK);
    assert_int_equal(pm_sig_token_verify("secret", t, 2000000000), PM_ERR_AUTH);
    assert_int_equal(pm_sig_token_verify("secreT", t, 0), PM_ERR_AUTH);
    assert_int_equal(pm_sig_token_verify("secret", "", 0), PM_ERR_AUTH);
    assert_int_equal(pm_sig_token_verify("secret", "::", 0), PM_ERR_AUTH);
    assert_int_equal(pm_sig_token_verify("secret", "x:bob:0000", 0), PM_ERR_AUTH);
    assert_true(pm_sig_secret_equal("abc", "abc"));
    assert_false(pm_sig_secret_equal("abc", "abd"));
    assert_false(pm_sig_secret_equal("abc", "abcd"));
    assert_false(pm_sig_secret_equal("", "a"));

    /* RFC 4648 section 10 test vectors. */
    char b[16];
    assert_int_equal(pm_sig_base64((const uint8_t *)"f", 1, b, sizeof b), 4);
    assert_string_equal(b, "Zg==");
    assert_int_equal(pm_sig_base64((const uint8_t *)"fo", 2, b, sizeof b), 4);
    assert_string_equal(b, "Zm8=");
    assert_int_equal(pm_sig_base64((const uint8_t *)"foobar", 6, b, sizeof b), 8);
    assert_string_equal(b, "Zm9vYmFy");
    assert_int_equal(pm_sig_base64((const uint8_t *)"foobar", 6, b, 8), PM_ERR_TOO_BIG);

    /* TURN REST: HMAC-SHA1("north", "1700000000:alice") in base64, computed
     * independently (printf -n '1700000000:alice' | openssl dgst -sha1
     * -hmac north -binary | base64). */
    char user[64], pass[64];
    assert_int_equal(
        pm_sig_turn_credentials("north", "alice", 1700000000, user, sizeof user, pass, sizeof pass),
        PM_OK);
    assert_string_equal(user, "1700000000:alice");
    assert_string_equal(pass, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_decode_fields, setup),
        cmocka_unit_test_setup(json_fast_path_agrees, setup),
        cmocka_unit_test_setup(json_decode_malformed, setup),
        cmocka_unit_test_setup(json_encode, setup),
        cmocka_unit_test_setup(text_decode, setup),
        cmocka_unit_test_setup(text_encode, setup),
        cmocka_unit_test_setup(create_message, setup),
        cmocka_unit_test_setup(detect_format, setup),
        cmocka_unit_test_setup(candidate_payload, setup),
        cmocka_unit_test_setup(ice_list, setup),
        cmocka_unit_test_setup(utf8, setup),
        cmocka_unit_test_setup(tokens_and_turn, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
