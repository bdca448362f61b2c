/* Unit tests: the mDNS codec (src/wire/mdns.c). */
#include "testutil.h"
#include "wire/mdns.h"

#include <stdio.h>

static const char *NAME = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local";

static void names(void **st)
{
    (void)st;
    assert_true(pm_mdns_is_local_name(NAME));
    assert_true(pm_mdns_is_local_name("host.LOCAL"));
    assert_true(pm_mdns_is_local_name("a.b_c.local"));
    assert_false(pm_mdns_is_local_name("local"));
    assert_false(pm_mdns_is_local_name(".local"));
    assert_false(pm_mdns_is_local_name("host.local."));
    assert_false(pm_mdns_is_local_name("host..local"));
    assert_false(pm_mdns_is_local_name("host.example.com"));
    assert_false(pm_mdns_is_local_name("ho st.local"));
    assert_false(pm_mdns_is_local_name(NULL));
    char big[320];
    memset(big, 'a', 64);
    strcpy(big + 64, ".local"); /* a 64-byte label */
    assert_false(pm_mdns_is_local_name(big));
    for (int i = 0; i < 5; i++) { /* 5 x 60-byte labels: longer than 253 */
        memset(big + 61 * i, 'a', 60);
        big[61 * i + 60] = '.';
    }
    strcpy(big + 305 - 5, "local");
    assert_false(pm_mdns_is_local_name(big));
}

/* Append a record: name as a pointer to offset 12 (the question's name). */
static size_t put_rr(uint8_t *p, uint16_t type, uint16_t cls, uint32_t ttl, const uint8_t *rd,
                     uint16_t rdlen)
{
    pm_wr16(p, 0xC00C);
    pm_wr16(p + 2, type);
    pm_wr16(p + 4, cls);
    pm_wr32(p + 6, ttl);
    pm_wr16(p + 10, rdlen);
    memcpy(p + 12, rd, rdlen);
    return 12 + (size_t)rdlen;
}

static void query_and_response(void **st)
{
    (void)st;
    uint8_t q[512];
    int n = pm_mdns_build_query(q, sizeof q, NAME, true);
    assert_true(n > 12);
    assert_int_equal(pm_rd16(q), 0);     /* id 0 */
    assert_int_equal(pm_rd16(q + 4), 2); /* two questions */
    assert_int_equal(q[12], 36);         /* first label: the uuid */
    assert_int_equal(pm_mdns_build_query(q, 20, NAME, true), PM_ERR_TOO_BIG);
    assert_int_equal(pm_mdns_build_query(q, sizeof q, "x.com", true), PM_ERR_INVALID);
    /* Our own query is not a response. */
    pm_addr out[4];
    size_t cnt = 9;
    assert_int_equal(pm_mdns_parse_response(q, (size_t)n, NAME, out, 4, &cnt), PM_ERR_NOT_FOUND);

    /* A responder's answer: the question echoed, an A record (cache-flush
     * class), an AAAA record, a TXT record, a goodbye (TTL 0) A record and
     * an A record for another name. */
    uint8_t r[512];
    memcpy(r, q, (size_t)n);
    pm_wr16(r + 2, 0x8400); /* QR, AA */
    pm_wr16(r + 4, 1);      /* keep only the first question */
    size_t qlen = 12 + strlen(NAME) + 2 + 4;
    size_t off = qlen;
    const uint8_t v4[4] = {192, 168, 7, 2},
                  v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    const uint8_t other[4] = {10, 1, 1, 1};
    off += put_rr(r + off, PM_MDNS_TYPE_A, 0x8001, 120, v4, 4);
    off += put_rr(r + off, PM_MDNS_TYPE_AAAA, 1, 120, v6, 16);
    off += put_rr(r + off, 16, 1, 120, (const uint8_t *)"\x03txt", 4);
    off += put_rr(r + off, PM_MDNS_TYPE_A, 1, 0, other, 4);
    /* Another name, spelled out: "other.local". */
    static const uint8_t other_name[] = "\x05other\x05local";
    memcpy(r + off, other_name, sizeof other_name);
    off += sizeof other_name;
    pm_wr16(r + off, PM_MDNS_TYPE_A);
    pm_wr16(r + off + 2, 1);
    pm_wr32(r + off + 4, 120);
    pm_wr16(r + off + 8, 4);
    memcpy(r + off + 10, other, 4);
    off += 14;
    pm_wr16(r + 6, 5); /* ANCOUNT */
    assert_int_equal(pm_mdns_parse_response(r, off, NAME, out, 4, &cnt), PM_OK);
    assert_int_equal(cnt, 2);
    assert_int_equal(out[0].family, 4);
    assert_memory_equal(out[0].ip, v4, 4);
    assert_int_equal(out[1].family, 6);
    assert_memory_equal(out[1].ip, v6, 16);
    /* Case-insensitive names; cap honoured. */
    char upper[64];
    snprintf(upper, sizeof upper, "%s", NAME);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 32);
    assert_int_equal(pm_mdns_parse_response(r, off, upper, out, 1, &cnt), PM_OK);
    assert_int_equal(cnt, 1);
    assert_int_equal(pm_mdns_parse_response(r, off, "other.local", out, 4, &cnt), PM_OK);
    assert_int_equal(cnt, 1);
    assert_int_equal(pm_mdns_parse_response(r, off, "none.local", out, 4, &cnt), PM_OK);
    assert_int_equal(cnt, 0);
    /* Every truncation is rejected, never read past. */
    for (size_t cut = 0; cut < off; cut++) {
        int rc = pm_mdns_parse_response(r, cut, NAME, out, 4, &cnt);
        assert_true(rc == PM_ERR_PARSE);
    }
}

static void malformed(void **st)
{
    (void)st;
    uint8_t r[64] = {0};
    pm_wr16(r + 2, 0x8400);
    pm_wr16(r + 6, 1);
    /* A name that points at itself: a loop, bounded. */
    pm_wr16(r + 12, 0xC00C);
    pm_wr16(r + 14, 1);
    pm_wr16(r + 16, 1);
    pm_addr out[2];
    size_t cnt;
    assert_int_equal(pm_mdns_parse_response(r, 30, NAME, out, 2, &cnt), PM_ERR_PARSE);
    /* A pointer past the end. */
    pm_wr16(r + 12, 0xC0FF);
    assert_int_equal(pm_mdns_parse_response(r, 30, NAME, out, 2, &cnt), PM_ERR_PARSE);
    /* Reserved label type 0x40. */
    r[12] = 0x41;
    assert_int_equal(pm_mdns_parse_response(r, 30, NAME, out, 2, &cnt), PM_ERR_PARSE);
    /* Absurd record counts. */
    memset(r + 12, 0, 20);
    pm_wr16(r + 6, 0xFFFF);
    assert_int_equal(pm_mdns_parse_response(r, 30, NAME, out, 2, &cnt), PM_ERR_PARSE);
    assert_int_equal(pm_mdns_parse_response(r, 11, NAME, out, 2, &cnt), PM_ERR_PARSE);
    assert_int_equal(pm_mdns_parse_response(NULL, 11, NAME, out, 2, &cnt), PM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(query_and_response),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
