/* Unit tests: ICE candidate attribute codec (src/wire/candidate.c). */
#include "testutil.h"
#include "wire/candidate.h"

static void ip_is(const pm_addr *a, const char *ip, uint16_t port)
{
    pm_addr want;
    assert_int_equal(pm_addr_parse(&want, ip, port), PM_OK);
    assert_true(pm_addr_equal(a, &want));
}

static void chrome_lines(void **st)
{
    (void)st;
    pm_candidate c;
    /* Chrome host (numeric, with extensions). */
    assert_int_equal(pm_candidate_parse(&c, "candidate:3885250869 1 udp 2122260223 192.168.1.7 "
                                            "54321 typ host generation 0 ufrag Ab3d network-id "
                                            "1 network-cost 10"),
                     PM_OK);
    assert_string_equal(c.foundation, "3885250869");
    assert_int_equal(c.component, 1);
    assert_int_equal(c.transport, PM_CAND_UDP);
    assert_int_equal(c.priority, 2122260223u);
    assert_int_equal(c.type, PM_CAND_HOST);
    ip_is(&c.addr, "192.168.1.7", 54321);
    assert_string_equal(c.hostname, "");
    assert_false(c.has_related);
    /* Chrome mDNS host candidate. */
    assert_int_equal(pm_candidate_parse(&c, "candidate:1840965416 1 udp 2113937151 "
                                            "5f1a3b2c-9d4e-4f6a-8b7c-1d2e3f4a5b6c.local 61234 "
                                            "typ host generation 0 ufrag x network-cost 999"),
                     PM_OK);
    assert_int_equal(c.addr.family, 0);
    assert_int_equal(c.addr.port, 61234);
    assert_string_equal(c.hostname, "5f1a3b2c-9d4e-4f6a-8b7c-1d2e3f4a5b6c.local");
    /* Chrome srflx for an mDNS host: raddr 0.0.0.0 rport 0. */
    assert_int_equal(pm_candidate_parse(&c, "candidate:842163049 1 udp 1677729535 203.0.113.7 "
                                            "61234 typ srflx raddr 0.0.0.0 rport 0 generation 0 "
                                            "ufrag x network-cost 999"),
                     PM_OK);
    assert_int_equal(c.type, PM_CAND_SRFLX);
    assert_true(c.has_related);
    ip_is(&c.related, "0.0.0.0", 0);
    /* Chrome TCP active. */
    assert_int_equal(pm_candidate_parse(&c, "candidate:2 1 tcp 1518280447 192.168.1.7 9 typ host "
                                            "tcptype active generation 0"),
                     PM_OK);
    assert_int_equal(c.transport, PM_CAND_TCP);
    assert_string_equal(c.tcptype, "active");
    /* Chrome relay over IPv6 with raddr. */
    assert_int_equal(pm_candidate_parse(&c, "a=candidate:9 1 udp 41885439 2001:db8::5 3478 typ "
                                            "relay raddr 2001:db8::1 rport 55555"),
                     PM_OK);
    assert_int_equal(c.type, PM_CAND_RELAY);
    ip_is(&c.addr, "2001:db8::5", 3478);
    ip_is(&c.related, "2001:db8::1", 55555);
}

static void firefox_pion_aiortc(void **st)
{
    (void)st;
    pm_candidate c;
    /* Firefox: upper-case UDP, no "candidate:" prefix in some APIs. */
    assert_int_equal(pm_candidate_parse(&c, "0 1 UDP 2122252543 10.0.0.5 40001 typ host"), PM_OK);
    assert_string_equal(c.foundation, "0");
    assert_int_equal(c.transport, PM_CAND_UDP);
    ip_is(&c.addr, "10.0.0.5", 40001);
    assert_int_equal(pm_candidate_parse(&c, "candidate:2 1 TCP 2105524479 10.0.0.5 9 typ host "
                                            "tcptype active"),
                     PM_OK);
    assert_int_equal(c.transport, PM_CAND_TCP);
    assert_int_equal(pm_candidate_parse(&c, "candidate:1 1 UDP 1686052863 198.51.100.2 40001 "
                                            "typ srflx raddr 10.0.0.5 rport 40001"),
                     PM_OK);
    ip_is(&c.related, "10.0.0.5", 40001);
    /* Firefox mDNS TCP passive. */
    assert_int_equal(pm_candidate_parse(&c, "candidate:3 1 TCP 2105458943 "
                                            "a1b2c3d4-0000-4000-8000-123456789abc.local 9 typ "
                                            "host tcptype passive"),
                     PM_OK);
    assert_int_equal(c.transport, PM_CAND_TCP);
    assert_string_equal(c.tcptype, "passive");
    assert_true(c.hostname[0] != '\0');
    /* pion. */
    assert_int_equal(pm_candidate_parse(&c, "candidate:1966762133 1 udp 2130706431 127.0.0.1 "
                                            "50000 typ host ufrag abcd"),
                     PM_OK);
    ip_is(&c.addr, "127.0.0.1", 50000);
    assert_int_equal(pm_candidate_parse(&c, "candidate:3307347004 1 udp 1694498815 "
                                            "198.51.100.3 51000 typ srflx raddr 0.0.0.0 rport "
                                            "51000"),
                     PM_OK);
    /* aiortc (md5-hex foundation, 32 chars). */
    assert_int_equal(pm_candidate_parse(&c, "candidate:0d7d84c6a7c6bdfdd4e5b7a4c8c5e7f1 1 udp "
                                            "2130706431 ::1 52000 typ host"),
                     PM_OK);
    assert_int_equal(strlen(c.foundation), 32);
    ip_is(&c.addr, "::1", 52000);
    /* prflx and extra whitespace / CRLF. */
    assert_int_equal(pm_candidate_parse(&c, "  candidate:x 1 udp 1845501695 10.1.1.1  3000 typ "
                                            "prflx raddr 10.1.1.1 rport 3000\r\n"),
                     PM_OK);
    assert_int_equal(c.type, PM_CAND_PRFLX);
    /* Keywords case-insensitive; raddr hostname -> no related address. */
    assert_int_equal(pm_candidate_parse(&c, "CANDIDATE:1 1 udp 1 1.2.3.4 1 TYP HOST raddr "
                                            "x.local rport 9"),
                     PM_OK);
    assert_false(c.has_related);
    /* Component 256 and priority 2^32-1 are the maxima. */
    assert_int_equal(pm_candidate_parse(&c, "1 256 udp 4294967295 1.2.3.4 65535 typ host"), PM_OK);
    assert_int_equal(c.component, 256);
    assert_int_equal(c.priority, 4294967295u);
    /* Unknown transport is reported, not rejected. */
    assert_int_equal(pm_candidate_parse(&c, "1 1 sctp 1 1.2.3.4 5 typ host"), PM_OK);
    assert_int_equal(c.transport, PM_CAND_OTHER);
}

static void malformed(void **st)
{
    (void)st;
    pm_candidate c;
    const char *bad[] = {
        "",
        "candidate:",
        "candidate:1 1 udp 1 1.2.3.4 5 typ",
        "candidate:1 1 udp 1 1.2.3.4 5 type host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ hots",
        "candidate:1 0 udp 1 1.2.3.4 5 typ host",
        "candidate:1 257 udp 1 1.2.3.4 5 typ host",
        "candidate:1 1 udp 4294967296 1.2.3.4 5 typ host",
        "candidate:1 1 udp -1 1.2.3.4 5 typ host",
        "candidate:1 1 udp 1 1.2.3.4 65536 typ host",
        "candidate:1 1 udp 1 1.2.3.4 port typ host",
        "candidate:1 1 udp 1 1.2.3 5 typ host",
        "candidate:1 1 udp 1 1.2.3.256 5 typ host",
        "candidate:1 1 udp 1 ::1::2 5 typ host",
        "candidate:1 1 udp 1 bad_host!.local 5 typ host",
        "candidate:1 1 udp 1 -bad.local 5 typ host",
        "candidate:1 1 udp 1 a..b 5 typ host",
        "candidate:fo-und 1 udp 1 1.2.3.4 5 typ host",
        "candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",
        "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 rport 70000",
        "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3 rport 7",
        "candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype sideways",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host generation",
        "1 1 udp 1 1.2.3.4",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        if (pm_candidate_parse(&c, bad[i]) != PM_ERR_PARSE)
            fail_msg("accepted: %s", bad[i]);
    }
    assert_int_equal(pm_candidate_parse(&c, NULL), PM_ERR_PARSE);
    /* An overlong line. */
    static char big[4000];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "candidate:1 1 udp 1 1.2.3.4 5 typ host x ", 41);
    assert_int_equal(pm_candidate_parse(&c, big), PM_ERR_PARSE);
    /* Too many tokens. */
    char many[1024] = "candidate:1 1 udp 1 1.2.3.4 5 typ host";
    for (int i = 0; i < 60; i++)
        strcat(many, " a b");
    assert_int_equal(pm_candidate_parse(&c, many), PM_ERR_PARSE);
}

static void format_round_trip(void **st)
{
    (void)st;
    const char *lines[] = {
        "candidate:3885250869 1 udp 2122260223 192.168.1.7 54321 typ host",
        ("candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 10.0.0.1 rport "
         "5000"),
        ("candidate:1 1 udp 41885439 2001:db8::5 3478 typ relay raddr 2001:db8::1 rport 55555"),
        "candidate:2 1 tcp 1518280447 192.168.1.7 9 typ host tcptype active",
        "candidate:7 1 udp 2113937151 abc.local 61234 typ host",
        "candidate:9 2 udp 1845501695 10.1.1.1 3000 typ prflx",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(lines); i++) {
        pm_candidate c;
        char out[PM_CAND_LINE_MAX];
        assert_int_equal(pm_candidate_parse(&c, lines[i]), PM_OK);
        int n = pm_candidate_format(&c, out, sizeof out);
        assert_int_equal(n, (int)strlen(lines[i]));
        assert_string_equal(out, lines[i]);
        assert_int_equal(pm_candidate_format(&c, out, (size_t)n), PM_ERR_TOO_BIG);
        assert_int_equal(pm_candidate_format(&c, out, (size_t)n + 1), n);
    }
    /* Normalisation: upper case in, lower case out; extensions dropped; the
     * IPv6 zone index is never written. */
    pm_candidate c;
    char out[PM_CAND_LINE_MAX];
    assert_int_equal(pm_candidate_parse(&c, "0 1 UDP 5 fe80::1%2 9 typ HOST generation 0"), PM_OK);
    assert_int_equal(c.addr.scope_id, 2);
    pm_candidate_format(&c, out, sizeof out);
    assert_string_equal(out, "candidate:0 1 udp 5 fe80::1 9 typ host");
    c.transport = PM_CAND_OTHER;
    assert_int_equal(pm_candidate_format(&c, out, sizeof out), PM_ERR_INVALID);
    memset(&c, 0, sizeof c);
    assert_int_equal(pm_candidate_format(&c, out, sizeof out), PM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chrome_lines),
        cmocka_unit_test(firefox_pion_aiortc),
        cmocka_unit_test(malformed),
        cmocka_unit_test(format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
