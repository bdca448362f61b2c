/* Unit tests: src/wire/dcep (DATA_CHANNEL_OPEN/ACK codec, PPIDs). */
#include "testutil.h"

#include "wire/dcep.h"

#include <stdlib.h>

static const uint8_t all_types[] = {
    PM_DCEP_RELIABLE, PM_DCEP_RELIABLE_UNORDERED, PM_DCEP_PR_REXMIT, PM_DCEP_PR_REXMIT_UNORDERED,
    PM_DCEP_PR_TIMED, PM_DCEP_PR_TIMED_UNORDERED,
};

static void open_known_bytes(void **st)
{
    (void)st;
    /* RFC 8832 section 5.1 layout, big-endian, no padding. */
    pm_dcep_open o = {
        .channel_type = PM_DCEP_PR_TIMED_UNORDERED,
        .priority = 256,
        .reliability = 0x01020304,
        .label = (const uint8_t *)"chat",
        .label_len = 4,
        .protocol = (const uint8_t *)"v1",
        .protocol_len = 2,
    };
    uint8_t buf[64];
    int n = pm_dcep_build_open(&o, buf, sizeof buf);
    static const uint8_t expect[] = {0x03, 0x82, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00,
                                     0x04, 0x00, 0x02, 'c',  'h',  'a',  't',  'v',  '1'};
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(buf, expect, sizeof expect);
    assert_int_equal(pm_dcep_type(buf, (size_t)n), PM_DCEP_OPEN);

    /* A Chrome-style OPEN for a reliable channel "dc" with no protocol. */
    static const uint8_t chrome[] = {0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x02, 0x00, 0x00, 'd',  'c'};
    pm_dcep_open p;
    assert_int_equal(pm_dcep_parse_open(chrome, sizeof chrome, &p), PM_OK);
    assert_int_equal(p.channel_type, PM_DCEP_RELIABLE);
    assert_int_equal(p.priority, 0);
    assert_int_equal(p.reliability, 0);
    assert_int_equal(p.label_len, 2);
    assert_ptr_equal(p.label, chrome + 12);
    assert_memory_equal(p.label, "dc", 2);
    assert_int_equal(p.protocol_len, 0);
}

static void open_round_trip_every_type(void **st)
{
    (void)st;
    uint8_t buf[256];
    for (size_t i = 0; i < PM_ARRAY_LEN(all_types); i++) {
        pm_dcep_open o = {
            .channel_type = all_types[i],
            .priority = (uint16_t)(128u << (i % 4)),
            .reliability = 1000u + (uint32_t)i,
            .label = (const uint8_t *)"label-\xc3\xa9",
            .label_len = 8,
            .protocol = (const uint8_t *)"proto",
            .protocol_len = 5,
        };
        int n = pm_dcep_build_open(&o, buf, sizeof buf);
        assert_int_equal(n, 12 + 8 + 5);
        pm_dcep_open p;
        assert_int_equal(pm_dcep_parse_open(buf, (size_t)n, &p), PM_OK);
        assert_int_equal(p.channel_type, o.channel_type);
        assert_int_equal(p.priority, o.priority);
        bool reliable = (o.channel_type & 0x7f) == 0;
        /* Reliable channels carry 0: the parameter is ignored for them. */
        assert_int_equal(p.reliability, reliable ? 0 : o.reliability);
        assert_int_equal(p.label_len, 8);
        assert_memory_equal(p.label, o.label, 8);
        assert_int_equal(p.protocol_len, 5);
        assert_memory_equal(p.protocol, "proto", 5);
        assert_ptr_equal(p.protocol, p.label + 8);
    }
}

static void open_empty_and_max_labels(void **st)
{
    (void)st;
    pm_dcep_open o = {.channel_type = PM_DCEP_RELIABLE, .priority = 256};
    uint8_t small[12];
    assert_int_equal(pm_dcep_build_open(&o, small, sizeof small), 12);
    pm_dcep_open p;
    assert_int_equal(pm_dcep_parse_open(small, 12, &p), PM_OK);
    assert_int_equal(p.label_len, 0);
    assert_int_equal(p.protocol_len, 0);

    /* Largest label and protocol the 16-bit lengths allow. */
    size_t total = 12 + 65535 + 65535;
    uint8_t *big = malloc(total);
    uint8_t *label = malloc(65535);
    uint8_t *proto = malloc(65535);
    assert_non_null(big);
    assert_non_null(label);
    assert_non_null(proto);
    for (size_t i = 0; i < 65535; i++) {
        label[i] = (uint8_t)('a' + i % 26);
        proto[i] = (uint8_t)('A' + i % 26);
    }
    o.label = label;
    o.label_len = 65535;
    o.protocol = proto;
    o.protocol_len = 65535;
    assert_int_equal(pm_dcep_build_open(&o, big, total - 1), PM_ERR_TOO_BIG);
    assert_int_equal(pm_dcep_build_open(&o, big, total), (int)total);
    assert_int_equal(pm_dcep_parse_open(big, total, &p), PM_OK);
    assert_int_equal(p.label_len, 65535);
    assert_int_equal(p.protocol_len, 65535);
    assert_memory_equal(p.label, label, 65535);
    assert_memory_equal(p.protocol, proto, 65535);
    /* Label only, protocol empty. */
    o.protocol_len = 0;
    assert_int_equal(pm_dcep_build_open(&o, big, total), 12 + 65535);
    assert_int_equal(pm_dcep_parse_open(big, 12 + 65535, &p), PM_OK);
    assert_int_equal(p.protocol_len, 0);
    assert_int_equal(p.label_len, 65535);
    free(big);
    free(label);
    free(proto);
}

static void open_malformed(void **st)
{
    (void)st;
    uint8_t buf[64];
    pm_dcep_open o = {
        .channel_type = PM_DCEP_PR_REXMIT,
        .reliability = 3,
        .label = (const uint8_t *)"abc",
        .label_len = 3,
        .protocol = (const uint8_t *)"xy",
        .protocol_len = 2,
    };
    int n = pm_dcep_build_open(&o, buf, sizeof buf);
    assert_int_equal(n, 17);
    pm_dcep_open p;
    /* Every truncation fails. */
    for (int len = 0; len < n; len++)
        assert_int_equal(pm_dcep_parse_open(buf, (size_t)len, &p), PM_ERR_PARSE);
    /* Trailing bytes beyond the declared lengths fail. */
    uint8_t longer[64];
    memcpy(longer, buf, (size_t)n);
    longer[n] = 0;
    assert_int_equal(pm_dcep_parse_open(longer, (size_t)n + 1, &p), PM_ERR_PARSE);
    /* Length fields that overrun. */
    uint8_t bad[64];
    memcpy(bad, buf, (size_t)n);
    pm_wr16(bad + 8, 0xffff);
    assert_int_equal(pm_dcep_parse_open(bad, (size_t)n, &p), PM_ERR_PARSE);
    memcpy(bad, buf, (size_t)n);
    pm_wr16(bad + 10, 3);
    assert_int_equal(pm_dcep_parse_open(bad, (size_t)n, &p), PM_ERR_PARSE);
    memcpy(bad, buf, (size_t)n);
    pm_wr16(bad + 8, 0xffff);
    pm_wr16(bad + 10, 0xffff); /* sums past 2^16 must not wrap */
    assert_int_equal(pm_dcep_parse_open(bad, (size_t)n, &p), PM_ERR_PARSE);
    /* Wrong message types: ACK, reserved 0x00/0x01, unknown. */
    const uint8_t types[] = {PM_DCEP_ACK, 0x00, 0x01, 0x04, 0xff};
    for (size_t i = 0; i < PM_ARRAY_LEN(types); i++) {
        memcpy(bad, buf, (size_t)n);
        bad[0] = types[i];
        assert_int_equal(pm_dcep_parse_open(bad, (size_t)n, &p), PM_ERR_PARSE);
    }
    /* Unknown channel types. */
    const uint8_t ctypes[] = {0x03, 0x7f, 0x83, 0x40, 0xff};
    for (size_t i = 0; i < PM_ARRAY_LEN(ctypes); i++) {
        memcpy(bad, buf, (size_t)n);
        bad[1] = ctypes[i];
        assert_int_equal(pm_dcep_parse_open(bad, (size_t)n, &p), PM_ERR_PARSE);
    }
    assert_int_equal(pm_dcep_parse_open(NULL, 0, &p), PM_ERR_PARSE);
    assert_int_equal(pm_dcep_parse_open(buf, (size_t)n, NULL), PM_ERR_INVALID);

    /* Builder refuses unknown types, missing data and short buffers. */
    pm_dcep_open b = o;
    b.channel_type = 0x05;
    assert_int_equal(pm_dcep_build_open(&b, buf, sizeof buf), PM_ERR_INVALID);
    b = o;
    b.label = NULL;
    assert_int_equal(pm_dcep_build_open(&b, buf, sizeof buf), PM_ERR_INVALID);
    b = o;
    b.protocol = NULL;
    assert_int_equal(pm_dcep_build_open(&b, buf, sizeof buf), PM_ERR_INVALID);
    for (size_t cap = 0; cap < 17; cap++)
        assert_int_equal(pm_dcep_build_open(&o, buf, cap), PM_ERR_TOO_BIG);
}

static void ack_and_type(void **st)
{
    (void)st;
    uint8_t b[4] = {0xee, 0xee, 0xee, 0xee};
    assert_int_equal(pm_dcep_build_ack(b, 0), PM_ERR_TOO_BIG);
    assert_int_equal(b[0], 0xee);
    assert_int_equal(pm_dcep_build_ack(b, sizeof b), 1);
    assert_int_equal(b[0], 0x02);
    assert_int_equal(b[1], 0xee);
    assert_int_equal(pm_dcep_type(b, 1), PM_DCEP_ACK);
    assert_int_equal(pm_dcep_type(b, 0), PM_ERR_PARSE);
    assert_int_equal(pm_dcep_type(NULL, 5), PM_ERR_PARSE);
    uint8_t ff = 0xff;
    assert_int_equal(pm_dcep_type(&ff, 1), 0xff);
}

static void ppids(void **st)
{
    (void)st;
    assert_true(pm_ppid_is_string(PM_PPID_STRING));
    assert_true(pm_ppid_is_string(PM_PPID_STRING_PARTIAL));
    assert_true(pm_ppid_is_string(PM_PPID_STRING_EMPTY));
    assert_int_equal(PM_PPID_STRING, 51);
    assert_int_equal(PM_PPID_STRING_PARTIAL, 54);
    assert_int_equal(PM_PPID_STRING_EMPTY, 56);
    const uint32_t not_string[] = {0, 50, 52, 53, 55, 57, 58, 51u + 0x10000u, 0xffffffffu};
    for (size_t i = 0; i < PM_ARRAY_LEN(not_string); i++)
        assert_false(pm_ppid_is_string(not_string[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_known_bytes),
        cmocka_unit_test(open_round_trip_every_type),
        cmocka_unit_test(open_empty_and_max_labels),
        cmocka_unit_test(open_malformed),
        cmocka_unit_test(ack_and_type),
        cmocka_unit_test(ppids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
