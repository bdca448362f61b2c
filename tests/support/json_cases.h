/*
 * What the signaling codec's full JSON parser decides, as a table shared by
 * its two implementations: jansson natively (tests/unit/test_signal_json_cases.c)
 * and the browser's JSON.parse in the WebAssembly build
 * (tests/web/unit/test_json_web.c), so they stay in step.
 */
#ifndef PM_TEST_JSON_CASES_H
#define PM_TEST_JSON_CASES_H

#include <stddef.h>
#include <stdint.h>

/* pm_sigmsg_decode_json_slow: input, then the result (rc 0 = PM_OK, else PM_ERR_PARSE). */
typedef struct json_msg_case {
    const char *in;
    size_t in_len; /* 0: strlen(in) */
    int rc;
    int type;
    int64_t id;
    const char *data;
    size_t data_len; /* 0: strlen(data) */
    const char *ice; /* NULL: none */
} json_msg_case;

static const json_msg_case JSON_MSG_CASES[] = {
    {"{\"type\":1,\"id\":5,\"data\":\"true\",\"ice_servers\":[{\"urls\":\"stun:a\"}]}", 0, 0, 1, 5,
     "true", 0, "[{\"urls\":\"stun:a\"}]"},
    {"{\"type\":4.7,\"id\":2.2,\"data\":\"x\"}", 0, 0, 4, 2, "x", 0, NULL},
    {"{\"data\":\"later\",\"id\":7,\"type\":6,\"extra\":[1,2]}", 0, 0, 6, 7, "later", 0, NULL},
    {"{\"type\":2,\"id\":3,\"data\":5}", 0, 0, 2, 3, "", 0, NULL},
    {"{\"type\":2,\"id\":3}", 0, 0, 2, 3, "", 0, NULL},
    {"{\"type\":2,\"id\":4294967297,\"data\":\"\"}", 0, 0, 2, 4294967297LL, "", 0, NULL},
    {"{\"type\":4294967296,\"id\":1,\"data\":\"\"}", 0, 0, 2147483647, 1, "", 0, NULL},
    {"{\"type\":0,\"id\":0,\"data\":\"a\\u0000b\"}", 0, 0, 0, 0, "a\0b", 3, NULL},
    {"{\"type\":0,\"id\":0,\"data\":\"\\u00e9\\ud83d\\ude00\"}", 0, 0, 0, 0,
     "\xc3\xa9\xf0\x9f\x98\x80", 0, NULL},
    {"{\"type\":1,\"id\":1,\"data\":\"\",\"ice_servers\":{\"urls\":\"x\"}}", 0, 0, 1, 1, "", 0,
     NULL},
    {"{\"type\":1,\"id\":9007199254740992,\"data\":\"\"}", 0, 0, 1, 9007199254740992LL, "", 0,
     NULL},
    {"{\"type\":-1,\"id\":1}", 0, -1, 0, 0, NULL, 0, NULL},
    {"{\"type\":\"1\",\"id\":1}", 0, -1, 0, 0, NULL, 0, NULL},
    {"{\"type\":1}", 0, -1, 0, 0, NULL, 0, NULL},
    {"{\"type\":1,\"id\":1e400}", 0, -1, 0, 0, NULL, 0, NULL},
    {"[1,2]", 0, -1, 0, 0, NULL, 0, NULL},
    {"null", 0, -1, 0, 0, NULL, 0, NULL},
    {"{\"type\":1,\"id\":1", 0, -1, 0, 0, NULL, 0, NULL},
    {"{\"type\":1,\"id\":1,\"data\":\"\xff\"}", 0, -1, 0, 0, NULL, 0, NULL},
    {"", 0, -1, 0, 0, NULL, 0, NULL},
};

/* pm_sig_ice_list_parse: input, then servers, their url counts, first URL, user, credential. */
typedef struct json_ice_case {
    const char *in;
    int rc;
    size_t count;
    size_t urls[2];
    const char *first_url[2];
    const char *username[2]; /* NULL: absent */
    const char *credential[2];
} json_ice_case;

static const json_ice_case JSON_ICE_CASES[] = {
    {"[{\"urls\":[\"stun:a\",\"stun:b\"],\"username\":\"u\",\"credential\":\"c\"},"
     "{\"urls\":\"turn:x\"}]",
     0,
     2,
     {2, 1},
     {"stun:a", "turn:x"},
     {"u", NULL},
     {"c", NULL}},
    {"[]", 0, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"[{\"urls\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}]",
     0,
     1,
     {8, 0},
     {"1", NULL},
     {NULL, NULL},
     {NULL, NULL}},
    {"[{\"urls\":\"a\"},{\"urls\":\"b\"},{\"urls\":\"c\"},{\"urls\":\"d\"},{\"urls\":\"e\"},"
     "{\"urls\":\"f\"},{\"urls\":\"g\"},{\"urls\":\"h\"},{\"urls\":\"i\"}]",
     0,
     8,
     {1, 1},
     {"a", "b"},
     {NULL, NULL},
     {NULL, NULL}},
    {"[{\"urls\":5}]", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"[{\"urls\":[\"a\",5]}]", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"[{\"urls\":\"a\\u0000b\"}]", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"[{\"urls\":\"a\",\"username\":null}]",
     -1,
     0,
     {0, 0},
     {NULL, NULL},
     {NULL, NULL},
     {NULL, NULL}},
    {"[\"stun:a\"]", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"{\"urls\":\"a\"}", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
    {"[{\"urls\":\"a\"}", -1, 0, {0, 0}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}},
};

#endif
