/*
 * Unit tests of the WebSocket frame reader of server connections
 * (src/io/ws_frame.c): messages whole, fragmented and cut anywhere;
 * control frames between fragments; every refusal RFC 6455 asks of a
 * server, with its close code.
 */
#include "testutil.h"

#include "io/ws_frame.h"

#include <stdio.h>
#include <stdlib.h>

static const uint8_t KEY[4] = {0xA1, 0x07, 0x5C, 0xE3};

/* Append a frame: first byte (FIN|RSV|opcode) as given, masked or not. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len, bool masked)
{
    size_t n = 0;
    out[n++] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[n++] = m | 126;
        pm_wr16(out + n, (uint16_t)len);
        n += 2;
    } else {
        out[n++] = m | 127;
        pm_wr64(out + n, len);
        n += 8;
    }
    if (masked) {
        memcpy(out + n, KEY, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = ((const uint8_t *)payload)[i] ^ (masked ? KEY[i & 3] : 0);
    return n + len;
}

/* What a stream read in pieces of `piece` bytes yields, as text:
 * messages "M<t|b>:<payload>", "PING:<p>", "PONG:<p>", "CLOSE:<code>:<reason>",
 * "ERR:<code>", separated by '|'. */
static void read_all(const uint8_t *in, size_t len, size_t piece, size_t max, char *out, size_t cap)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, in, len);
    pm_wsr r;
    pm_wsr_init(&r, max);
    char msg[70000];
    size_t mlen = 0;
    out[0] = 0;
    size_t at = 0;
    while (at < len) {
        size_t end = PM_MIN(len, at + piece);
        while (at < end) {
            pm_wsr_event ev;
            size_t k = pm_wsr_read(&r, copy + at, end - at, &ev);
            assert_true(k > 0 || ev.kind != PM_WSR_NONE);
            at += k;
            char item[256] = "";
            switch (ev.kind) {
            case PM_WSR_NONE:
                break;
            case PM_WSR_DATA:
                assert_true(mlen + ev.len < sizeof msg);
                memcpy(msg + mlen, ev.data, ev.len);
                mlen += ev.len;
                if (ev.end) {
                    snprintf(item, sizeof item, "M%c:%.*s|", ev.binary ? 'b' : 't',
                             (int)PM_MIN(mlen, 200), msg);
                    mlen = 0;
                }
                break;
            case PM_WSR_PING:
            case PM_WSR_PONG:
                snprintf(item, sizeof item, "%s:%.*s|", ev.kind == PM_WSR_PING ? "PING" : "PONG",
                         (int)ev.len, (const char *)ev.data);
                break;
            case PM_WSR_CLOSE:
                snprintf(item, sizeof item, "CLOSE:%d:%s|", ev.code, ev.reason);
                break;
            case PM_WSR_ERROR:
                snprintf(item, sizeof item, "ERR:%d|", ev.code);
                break;
            }
            assert_true(strlen(out) + strlen(item) < cap);
            strcat(out, item);
        }
    }
    free(copy);
}

/* The same result whatever the pieces the stream arrives in. */
static void expect(const uint8_t *in, size_t len, size_t max, const char *want)
{
    static const size_t pieces[] = {1, 2, 3, 5, 7, 64, 100000};
    for (size_t i = 0; i < PM_ARRAY_LEN(pieces); i++) {
        char got[4096];
        read_all(in, len, pieces[i], max, got, sizeof got);
        if (strcmp(got, want) != 0)
            fail_msg("pieces of %zu: got \"%s\", want \"%s\"", pieces[i], got, want);
    }
}

static void messages_whole_and_fragmented(void **st)
{
    uint8_t s[512];
    size_t n = 0;
    n += frame(s + n, 0x81, "hello", 5, true);
    n += frame(s + n, 0x82, "\x01\x02", 2, true);
    /* "abc" + ping + "def" + pong + "" (final) */
    n += frame(s + n, 0x01, "abc", 3, true);
    n += frame(s + n, 0x89, "p1", 2, true);
    n += frame(s + n, 0x00, "def", 3, true);
    n += frame(s + n, 0x8A, "p2", 2, true);
    n += frame(s + n, 0x80, "", 0, true);
    n += frame(s + n, 0x81, "", 0, true);
    n += frame(s + n, 0x88,
               "\x03\xe8"
               "bye",
               5, true);
    n += frame(s + n, 0x81, "after the close", 15, true);
    expect(s, n, 1000, "Mt:hello|Mb:\x01\x02|PING:p1|PONG:p2|Mt:abcdef|Mt:|CLOSE:1000:bye|");
}

static void lengths_of_16_and_64_bits(void **st)
{
    static uint8_t s[70100], big[66000];
    memset(big, 'y', sizeof big);
    size_t n = frame(s, 0x81, big, 300, true);
    n += frame(s + n, 0x81, big, sizeof big, true);
    char want[512];
    snprintf(want, sizeof want, "Mt:%.200s|Mt:%.200s|", (const char *)big, (const char *)big);
    expect(s, n, 70000, want);
    /* A length with its top bit set is refused. */
    uint8_t h[14] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    expect(h, sizeof h, 70000, "ERR:1002|");
}

static void an_unmasked_frame_is_refused(void **st)
{
    uint8_t s[64];
    size_t n = frame(s, 0x81, "hi", 2, false);
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x89, "hi", 2, false);
    expect(s, n, 1000, "ERR:1002|");
}

static void what_a_server_must_refuse(void **st)
{
    uint8_t s[512];
    size_t n;
    n = frame(s, 0xC1, "x", 1, true); /* RSV1 without an extension */
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x83, "x", 1, true); /* reserved opcode */
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x8B, "x", 1, true); /* reserved control opcode */
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x80, "x", 1, true); /* continuation of nothing */
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x01, "a", 1, true); /* a new message inside a fragmented one */
    n += frame(s + n, 0x81, "b", 1, true);
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x09, "x", 1, true); /* a fragmented control frame */
    expect(s, n, 1000, "ERR:1002|");
    static const uint8_t long_ping[126] = {0};
    n = frame(s, 0x89, long_ping, sizeof long_ping, true); /* control frame over 125 */
    expect(s, n, 1000, "ERR:1002|");
    n = frame(s, 0x88, "\x03", 1, true); /* a close payload of one byte */
    expect(s, n, 1000, "ERR:1002|");
}

static void messages_over_the_limit(void **st)
{
    uint8_t s[512];
    size_t n = frame(s, 0x81, "0123456789", 10, true);
    expect(s, n, 10, "Mt:0123456789|");
    n = frame(s, 0x81, "0123456789A", 11, true);
    expect(s, n, 10, "ERR:1009|");
    /* Fragments add up. */
    n = frame(s, 0x01, "012345", 6, true);
    n += frame(s + n, 0x80, "6789A", 5, true);
    expect(s, n, 10, "ERR:1009|");
}

static void close_codes(void **st)
{
    static const struct {
        int code;
        bool valid;
    } cases[] = {{0, false},    {999, false},  {1000, true},  {1001, true},  {1003, true},
                 {1004, false}, {1005, false}, {1006, false}, {1007, true},  {1011, true},
                 {1014, true},  {1015, false}, {1016, false}, {2999, false}, {3000, true},
                 {4000, true},  {4999, true},  {5000, false}, {65535, false}};
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        assert_int_equal(pm_ws_close_code_valid(cases[i].code), cases[i].valid);
        uint8_t p[2], s[16];
        pm_wr16(p, (uint16_t)cases[i].code);
        size_t n = frame(s, 0x88, p, 2, true);
        char want[64];
        if (cases[i].valid)
            snprintf(want, sizeof want, "CLOSE:%d:|", cases[i].code);
        else
            snprintf(want, sizeof want, "ERR:1002|");
        expect(s, n, 1000, want);
    }
    /* No code at all is a close too; a reason that is not UTF-8 is 1007. */
    uint8_t s[16];
    size_t n = frame(s, 0x88, "", 0, true);
    expect(s, n, 1000, "CLOSE:0:|");
    n = frame(s, 0x88, "\x03\xe8\xff", 3, true);
    expect(s, n, 1000, "ERR:1007|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_whole_and_fragmented),
        cmocka_unit_test(lengths_of_16_and_64_bits),
        cmocka_unit_test(an_unmasked_frame_is_refused),
        cmocka_unit_test(what_a_server_must_refuse),
        cmocka_unit_test(messages_over_the_limit),
        cmocka_unit_test(close_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
