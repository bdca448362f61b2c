/*
 * Unit tests: the SCTP chunk codec (src/sctp/chunk.c), one test per chunk
 * type: what is written parses back to the same fields, the bytes are the
 * ones the RFC lays out, and malformed input is refused.
 */
#include "testutil.h"

#include "sctp/chunk.h"

/* The one chunk written at `buf`, as the iterator finds it in a packet
 * (the packet is kept in a static buffer the result points into). */
static pm_chunk one_chunk(const uint8_t *buf, size_t n)
{
    static uint8_t pkt[2048];
    assert_true(n + PM_SCTP_HEADER_LEN <= sizeof pkt);
    pm_chunk_write_header(pkt, 5000, 5000, 1);
    memcpy(pkt + PM_SCTP_HEADER_LEN, buf, n);
    pm_chunk_iter it;
    pm_chunk_iter_init(&it, pkt, n + PM_SCTP_HEADER_LEN);
    pm_chunk c, extra;
    assert_int_equal(pm_chunk_next(&it, &c), 1);
    assert_int_equal(pm_chunk_next(&it, &extra), 0);
    return c;
}

static void header_and_crc(void **st)
{
    (void)st;
    uint8_t pkt[64];
    memset(pkt, 0xEE, sizeof pkt);
    pm_chunk_write_header(pkt, 5000, 5001, 0xA1B2C3D4);
    pm_sctp_header h;
    assert_int_equal(pm_chunk_parse_header(pkt, sizeof pkt, &h), PM_OK);
    assert_int_equal(h.src_port, 5000);
    assert_int_equal(h.dst_port, 5001);
    assert_int_equal(h.vtag, 0xA1B2C3D4);
    assert_int_equal(pm_chunk_parse_header(pkt, 11, &h), PM_ERR_PARSE);
    /* RFC 9260 Appendix A: CRC32c with the field zeroed, LSB first */
    pm_chunk_set_crc(pkt, sizeof pkt);
    uint8_t z[64];
    memcpy(z, pkt, sizeof z);
    memset(z + 8, 0, 4);
    uint32_t c = pm_crc32c(z, sizeof z);
    assert_int_equal(pkt[8], (uint8_t)c);
    assert_int_equal(pkt[11], (uint8_t)(c >> 24));
    assert_true(pm_chunk_crc_ok(pkt, sizeof pkt));
    pkt[40] ^= 1;
    assert_false(pm_chunk_crc_ok(pkt, sizeof pkt));
    pkt[40] ^= 1;
    pkt[9] ^= 0x80;
    assert_false(pm_chunk_crc_ok(pkt, sizeof pkt));
    assert_false(pm_chunk_crc_ok(pkt, 8));
    assert_false(pm_chunk_crc_zero(pkt, sizeof pkt));
    memset(pkt + 8, 0, 4);
    assert_true(pm_chunk_crc_zero(pkt, sizeof pkt)); /* RFC 9653 */
    /* the well-known check value of CRC32c */
    assert_int_equal(pm_crc32c((const uint8_t *)"123456789", 9), 0xE3069283);
    uint32_t a = pm_crc32c((const uint8_t *)"1234", 4);
    assert_int_equal(pm_crc32c_continue(a, (const uint8_t *)"56789", 5), 0xE3069283);
    /* serial number arithmetic wraps (RFC 1982) */
    assert_true(pm_tsn_lt(0xFFFFFFF0u, 5));
    assert_false(pm_tsn_lt(5, 0xFFFFFFF0u));
    assert_true(pm_tsn_le(7, 7));
    assert_true(pm_ssn_lt(65530, 3));
}

static void iterator(void **st)
{
    (void)st;
    uint8_t pkt[64];
    pm_chunk_write_header(pkt, 1, 2, 3);
    size_t n = PM_SCTP_HEADER_LEN;
    n += pm_chunk_write_empty(pkt + n, sizeof pkt - n, PM_CHUNK_COOKIE_ACK, 0);
    n += pm_chunk_write_shutdown(pkt + n, sizeof pkt - n, 77);
    uint8_t v[5] = {1, 2, 3, 4, 5};
    n += pm_chunk_write_raw(pkt + n, sizeof pkt - n, PM_CHUNK_COOKIE_ECHO, 0, v, 5);
    assert_int_equal(n, 12 + 4 + 8 + 12); /* the 5-byte cookie is padded to 8 */
    pm_chunk_iter it;
    pm_chunk c;
    pm_chunk_iter_init(&it, pkt, n);
    assert_int_equal(pm_chunk_next(&it, &c), 1);
    assert_int_equal(c.type, PM_CHUNK_COOKIE_ACK);
    assert_int_equal(c.value_len, 0);
    assert_int_equal(pm_chunk_next(&it, &c), 1);
    uint32_t cum;
    assert_int_equal(pm_chunk_parse_shutdown(&c, &cum), PM_OK);
    assert_int_equal(cum, 77);
    assert_int_equal(pm_chunk_next(&it, &c), 1);
    assert_int_equal(c.type, PM_CHUNK_COOKIE_ECHO);
    assert_int_equal(c.value_len, 5);
    assert_memory_equal(c.value, v, 5);
    assert_int_equal(pm_chunk_next(&it, &c), 0);
    /* the last chunk may lack its padding */
    pm_chunk_iter_init(&it, pkt, n - 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pm_chunk_next(&it, &c), 1);
    assert_int_equal(c.value_len, 5);
    assert_int_equal(pm_chunk_next(&it, &c), 0);
    /* a length past the end, a length under 4, a stub of a header */
    pm_chunk_iter_init(&it, pkt, n - 4);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pm_chunk_next(&it, &c), 1);
    assert_int_equal(pm_chunk_next(&it, &c), PM_ERR_PARSE);
    assert_int_equal(pm_chunk_next(&it, &c), 0);
    pm_wr16(pkt + 14, 2);
    pm_chunk_iter_init(&it, pkt, n);
    assert_int_equal(pm_chunk_next(&it, &c), PM_ERR_PARSE);
    pm_chunk_iter_init(&it, pkt, PM_SCTP_HEADER_LEN + 3);
    assert_int_equal(pm_chunk_next(&it, &c), PM_ERR_PARSE);
}

static void data_chunks(void **st)
{
    (void)st;
    uint8_t payload[37], buf[128];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 3);
    pm_chunk_data d = {.idata = false,
                       .flags = PM_DATA_BEGIN | PM_DATA_END | PM_DATA_UNORDERED,
                       .tsn = 0xFFFFFFFE,
                       .sid = 7,
                       .mid = 0xBEEF,
                       .ppid = 53,
                       .payload = payload,
                       .len = sizeof payload};
    size_t n = pm_chunk_write_data(buf, sizeof buf, &d);
    assert_int_equal(n, 16 + 40); /* 16 + 37, padded */
    /* RFC 9260 section 3.3.1 layout */
    assert_int_equal(buf[0], PM_CHUNK_DATA);
    assert_int_equal(buf[1], 0x07);
    assert_int_equal(pm_rd16(buf + 2), 16 + 37);
    assert_int_equal(pm_rd32(buf + 4), 0xFFFFFFFE);
    assert_int_equal(pm_rd16(buf + 8), 7);
    assert_int_equal(pm_rd16(buf + 10), 0xBEEF);
    assert_int_equal(pm_rd32(buf + 12), 53);
    assert_int_equal(buf[16 + 37], 0); /* zero padding */
    pm_chunk c = one_chunk(buf, n);
    pm_chunk_data r;
    assert_int_equal(pm_chunk_parse_data(&c, &r), PM_OK);
    assert_false(r.idata);
    assert_int_equal(r.tsn, d.tsn);
    assert_int_equal(r.sid, 7);
    assert_int_equal(r.mid, 0xBEEF);
    assert_int_equal(r.ppid, 53);
    assert_int_equal(r.flags, d.flags);
    assert_int_equal(r.len, sizeof payload);
    assert_memory_equal(r.payload, payload, sizeof payload);
    /* no user data, or a chunk shorter than its header */
    pm_chunk e = {PM_CHUNK_DATA, 3, buf + 4, 12};
    assert_int_equal(pm_chunk_parse_data(&e, &r), PM_ERR_PARSE);
    e.value_len = 5;
    assert_int_equal(pm_chunk_parse_data(&e, &r), PM_ERR_PARSE);
    e.type = PM_CHUNK_SACK;
    e.value_len = 40;
    assert_int_equal(pm_chunk_parse_data(&e, &r), PM_ERR_PARSE);
    /* no room */
    assert_int_equal(pm_chunk_write_data(buf, 40, &d), 0);
}

static void idata_chunks(void **st)
{
    (void)st;
    uint8_t payload[8] = {9, 8, 7, 6, 5, 4, 3, 2}, buf[64];
    /* RFC 8260 section 2.1: the first fragment carries the PPID... */
    pm_chunk_data d = {.idata = true,
                       .flags = PM_DATA_BEGIN,
                       .tsn = 100,
                       .sid = 2,
                       .mid = 0x12345678,
                       .ppid = 51,
                       .payload = payload,
                       .len = sizeof payload};
    size_t n = pm_chunk_write_data(buf, sizeof buf, &d);
    assert_int_equal(n, 28);
    assert_int_equal(buf[0], PM_CHUNK_IDATA);
    assert_int_equal(pm_rd32(buf + 12), 0x12345678);
    assert_int_equal(pm_rd32(buf + 16), 51);
    pm_chunk_data r;
    pm_chunk c = one_chunk(buf, n);
    assert_int_equal(pm_chunk_parse_data(&c, &r), PM_OK);
    assert_true(r.idata);
    assert_int_equal(r.mid, 0x12345678);
    assert_int_equal(r.ppid, 51);
    assert_int_equal(r.fsn, 0);
    /* ...the others their FSN in the same place */
    d.flags = PM_DATA_END;
    d.fsn = 3;
    n = pm_chunk_write_data(buf, sizeof buf, &d);
    assert_int_equal(pm_rd32(buf + 16), 3);
    c = one_chunk(buf, n);
    assert_int_equal(pm_chunk_parse_data(&c, &r), PM_OK);
    assert_int_equal(r.fsn, 3);
    assert_int_equal(r.ppid, 0);
    assert_int_equal(r.len, 8);
    assert_int_equal(pm_chunk_data_header(true), 20);
    assert_int_equal(pm_chunk_data_header(false), 16);
}

static void init_chunks(void **st)
{
    (void)st;
    static const uint8_t cookie[13] = "cookie-bytes";
    pm_chunk_init i = {.initiate_tag = 0x01020304,
                       .a_rwnd = 1 << 22,
                       .out_streams = 1024,
                       .in_streams = 65535,
                       .initial_tsn = 42,
                       .forward_tsn = true,
                       .idata = true,
                       .reconfig = true,
                       .zero_checksum = true,
                       .cookie = cookie,
                       .cookie_len = sizeof cookie};
    uint8_t buf[128];
    for (int type = PM_CHUNK_INIT; type <= PM_CHUNK_INIT_ACK; type++) {
        size_t n = pm_chunk_write_init(buf, sizeof buf, (uint8_t)type, &i);
        assert_true(n > 20 && n % 4 == 0);
        pm_chunk c = one_chunk(buf, n);
        pm_chunk_init r;
        assert_int_equal(pm_chunk_parse_init(&c, &r), PM_OK);
        assert_int_equal(r.initiate_tag, i.initiate_tag);
        assert_int_equal(r.a_rwnd, i.a_rwnd);
        assert_int_equal(r.out_streams, 1024);
        assert_int_equal(r.in_streams, 65535);
        assert_int_equal(r.initial_tsn, 42);
        assert_true(r.forward_tsn && r.idata && r.reconfig && r.zero_checksum);
        if (type == PM_CHUNK_INIT_ACK) {
            assert_int_equal(r.cookie_len, sizeof cookie);
            assert_memory_equal(r.cookie, cookie, sizeof cookie);
        } else {
            assert_null(r.cookie);
        }
    }
    /* hand-made INIT: Supported Extensions with I-DATA but no I-FORWARD-TSN,
     * an unknown "skip" parameter (0x8xxx), then an unknown "stop" one
     * (0x0xxx) before Forward-TSN-Supported, which is then not seen */
    uint8_t h[64];
    memset(h, 0, sizeof h);
    h[0] = PM_CHUNK_INIT;
    uint8_t *v = h + 4;
    pm_wr32(v, 9);
    pm_wr32(v + 4, 1000);
    pm_wr16(v + 8, 1);
    pm_wr16(v + 10, 1);
    pm_wr32(v + 12, 5);
    size_t off = 16;
    pm_wr16(v + off, 0x8008);
    pm_wr16(v + off + 2, 6);
    v[off + 4] = PM_CHUNK_IDATA;
    v[off + 5] = PM_CHUNK_RECONFIG;
    off += 8;
    pm_wr16(v + off, 0x8123);
    pm_wr16(v + off + 2, 4);
    off += 4;
    pm_wr16(v + off, 0x0123);
    pm_wr16(v + off + 2, 4);
    off += 4;
    pm_wr16(v + off, 0xC000);
    pm_wr16(v + off + 2, 4);
    off += 4;
    pm_wr16(h + 2, (uint16_t)(4 + off));
    pm_chunk c = one_chunk(h, 4 + off);
    pm_chunk_init r;
    assert_int_equal(pm_chunk_parse_init(&c, &r), PM_OK);
    assert_false(r.idata);
    assert_true(r.reconfig);
    assert_false(r.forward_tsn);
    /* a parameter longer than the chunk; a chunk shorter than the fixed part */
    uint8_t *cv = (uint8_t *)c.value; /* one_chunk's copy */
    pm_wr16(cv + 16 + 2, 200);
    assert_int_equal(pm_chunk_parse_init(&c, &r), PM_ERR_PARSE);
    c.value_len = 15;
    assert_int_equal(pm_chunk_parse_init(&c, &r), PM_ERR_PARSE);
}

static void sack_chunks(void **st)
{
    (void)st;
    pm_sack_gap gaps[3] = {{2, 3}, {5, 5}, {9, 20}};
    uint32_t dups[2] = {100, 0xFFFFFFFF};
    uint8_t buf[128];
    size_t ng = 3, nd = 2;
    size_t n = pm_chunk_write_sack(buf, sizeof buf, 99, 65536, gaps, &ng, dups, &nd);
    assert_int_equal(n, 4 + 12 + 12 + 8);
    assert_int_equal(ng, 3);
    assert_int_equal(nd, 2);
    pm_chunk c = one_chunk(buf, n);
    pm_chunk_sack s;
    assert_int_equal(pm_chunk_parse_sack(&c, &s), PM_OK);
    assert_int_equal(s.cum_tsn, 99);
    assert_int_equal(s.a_rwnd, 65536);
    assert_int_equal(s.ngaps, 3);
    assert_int_equal(s.ndups, 2);
    uint16_t a, b;
    pm_chunk_sack_gap(&s, 2, &a, &b);
    assert_int_equal(a, 9);
    assert_int_equal(b, 20);
    assert_int_equal(pm_rd32(s.dups + 4), 0xFFFFFFFF);
    /* what fits: gap blocks first, then duplicates */
    ng = 3;
    nd = 2;
    n = pm_chunk_write_sack(buf, 4 + 12 + 12 + 4, 1, 2, gaps, &ng, dups, &nd);
    assert_int_equal(n, 32);
    assert_int_equal(ng, 3);
    assert_int_equal(nd, 1);
    /* counts that claim more blocks than there are */
    c = one_chunk(buf, n);
    pm_wr16(buf + 4 + 8, 50);
    c.value = buf + 4;
    assert_int_equal(pm_chunk_parse_sack(&c, &s), PM_ERR_PARSE);
    c.value_len = 11;
    assert_int_equal(pm_chunk_parse_sack(&c, &s), PM_ERR_PARSE);
}

static void forward_tsn_chunks(void **st)
{
    (void)st;
    pm_fwd_entry e[3] = {{1, false, 7}, {2, true, 0x10000}, {65535, false, 65535}};
    uint8_t buf[64];
    for (int idata = 0; idata < 2; idata++) {
        size_t k = 3;
        size_t n = pm_chunk_write_fwd(buf, sizeof buf, idata, 1234, e, &k);
        assert_int_equal(k, 3);
        assert_int_equal(n, 4 + 4 + 3 * (idata ? 8 : 4));
        assert_int_equal(buf[0], idata ? PM_CHUNK_IFORWARD_TSN : PM_CHUNK_FORWARD_TSN);
        pm_chunk c = one_chunk(buf, n);
        pm_chunk_fwd f;
        assert_int_equal(pm_chunk_parse_fwd(&c, &f), PM_OK);
        assert_int_equal(f.new_cum_tsn, 1234);
        assert_int_equal(f.count, 3);
        assert_int_equal(f.idata, idata != 0);
        pm_fwd_entry r;
        pm_chunk_fwd_entry(&f, 1, &r);
        assert_int_equal(r.sid, 2);
        assert_int_equal(r.unordered, idata != 0);
        assert_int_equal(r.mid, idata ? 0x10000u : 0u); /* an SSN keeps 16 bits */
        pm_chunk_fwd_entry(&f, 2, &r);
        assert_int_equal(r.sid, 65535);
        assert_int_equal(r.mid, 65535);
        c.value_len = 6; /* half an entry */
        assert_int_equal(pm_chunk_parse_fwd(&c, &f), PM_ERR_PARSE);
    }
    /* entries that do not fit are left out, and the count says so */
    size_t k = 3;
    assert_int_equal(pm_chunk_write_fwd(buf, 16, false, 1, e, &k), 16);
    assert_int_equal(k, 2);
}

static void reconfig_chunks(void **st)
{
    (void)st;
    uint8_t buf[64];
    uint16_t sids[3] = {1, 3, 1023};
    size_t n = pm_chunk_write_reconf_out_reset(buf, sizeof buf, 10, 20, 30, sids, 3);
    /* RFC 6525 section 4.1: param 16 + 6 bytes of sids, padded */
    assert_int_equal(n, 4 + 24);
    assert_int_equal(pm_rd16(buf + 4), PM_RECONF_OUT_RESET);
    assert_int_equal(pm_rd16(buf + 6), 22);
    pm_chunk c = one_chunk(buf, n);
    pm_reconf_iter it;
    pm_reconf_param p;
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), 1);
    assert_int_equal(p.type, PM_RECONF_OUT_RESET);
    assert_int_equal(p.req_seq, 10);
    assert_int_equal(p.resp_seq, 20);
    assert_int_equal(p.last_tsn, 30);
    assert_int_equal(p.nsids, 3);
    assert_int_equal(pm_reconf_sid(&p, 2), 1023);
    assert_int_equal(pm_reconf_next(&it, &p), 0);
    /* every stream: an empty list */
    n = pm_chunk_write_reconf_out_reset(buf, sizeof buf, 11, 0, 31, NULL, 0);
    c = one_chunk(buf, n);
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), 1);
    assert_int_equal(p.nsids, 0);
    /* response, then a second parameter (an incoming request) by hand */
    n = pm_chunk_write_reconf_response(buf, sizeof buf, 10, PM_RECONF_DENIED);
    assert_int_equal(n, 16);
    pm_wr16(buf + 16, PM_RECONF_IN_RESET);
    pm_wr16(buf + 18, 10);
    pm_wr32(buf + 20, 77);
    pm_wr16(buf + 24, 5);
    pm_wr16(buf + 26, 0);
    pm_wr16(buf + 2, 26);
    c = one_chunk(buf, 28);
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), 1);
    assert_int_equal(p.type, PM_RECONF_RESPONSE);
    assert_int_equal(p.req_seq, 10);
    assert_int_equal(p.result, PM_RECONF_DENIED);
    assert_int_equal(pm_reconf_next(&it, &p), 1);
    assert_int_equal(p.type, PM_RECONF_IN_RESET);
    assert_int_equal(p.req_seq, 77);
    assert_int_equal(p.nsids, 1);
    assert_int_equal(pm_reconf_sid(&p, 0), 5);
    assert_int_equal(pm_reconf_next(&it, &p), 0);
    /* malformed: odd stream list, response of a wrong size, overlong parameter */
    uint8_t *cv = (uint8_t *)c.value; /* one_chunk's copy */
    pm_wr16(cv + 14, 9);
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), 1);
    assert_int_equal(pm_reconf_next(&it, &p), PM_ERR_PARSE);
    pm_wr16(cv + 2, 14);
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), PM_ERR_PARSE);
    pm_wr16(cv + 2, 400);
    pm_reconf_iter_init(&it, &c);
    assert_int_equal(pm_reconf_next(&it, &p), PM_ERR_PARSE);
}

static void other_chunks(void **st)
{
    (void)st;
    uint8_t buf[64];
    /* HEARTBEAT: one Heartbeat Info parameter (type 1) */
    uint8_t info[6] = {1, 2, 3, 4, 5, 6};
    size_t n = pm_chunk_write_heartbeat(buf, sizeof buf, PM_CHUNK_HEARTBEAT, info, 6);
    assert_int_equal(n, 16);
    assert_int_equal(pm_rd16(buf + 4), 1);
    pm_chunk c = one_chunk(buf, n);
    const uint8_t *ip;
    size_t il;
    assert_int_equal(pm_chunk_parse_heartbeat(&c, &ip, &il), PM_OK);
    assert_int_equal(il, 6);
    assert_memory_equal(ip, info, 6);
    uint8_t *cv = (uint8_t *)c.value; /* one_chunk's copy */
    pm_wr16(cv, 2);
    assert_int_equal(pm_chunk_parse_heartbeat(&c, &ip, &il), PM_ERR_PARSE);
    /* ABORT with the T bit and one cause */
    n = pm_chunk_write_cause(buf, sizeof buf, PM_CHUNK_ABORT, PM_CHUNK_FLAG_T, PM_CAUSE_USER_ABORT,
                             (const uint8_t *)"bye", 3);
    assert_int_equal(n, 12);
    c = one_chunk(buf, n);
    assert_int_equal(c.flags, PM_CHUNK_FLAG_T);
    uint16_t code;
    assert_int_equal(pm_chunk_first_cause(&c, &code, &ip, &il), 1);
    assert_int_equal(code, PM_CAUSE_USER_ABORT);
    assert_int_equal(il, 3);
    assert_memory_equal(ip, "bye", 3);
    cv = (uint8_t *)c.value;
    pm_wr16(cv + 2, 60);
    assert_int_equal(pm_chunk_first_cause(&c, &code, &ip, &il), PM_ERR_PARSE);
    c.value_len = 0;
    assert_int_equal(pm_chunk_first_cause(&c, &code, &ip, &il), 0);
    /* SHUTDOWN needs its cumulative TSN */
    n = pm_chunk_write_shutdown(buf, sizeof buf, 0xDEADBEEF);
    c = one_chunk(buf, n);
    uint32_t cum;
    assert_int_equal(pm_chunk_parse_shutdown(&c, &cum), PM_OK);
    assert_int_equal(cum, 0xDEADBEEF);
    c.value_len = 3;
    assert_int_equal(pm_chunk_parse_shutdown(&c, &cum), PM_ERR_PARSE);
    /* nothing is written past the capacity */
    memset(buf, 0x55, sizeof buf);
    assert_int_equal(pm_chunk_write_raw(buf, 7, PM_CHUNK_COOKIE_ECHO, 0, info, 6), 0);
    assert_int_equal(buf[0], 0x55);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_and_crc),     cmocka_unit_test(iterator),
        cmocka_unit_test(data_chunks),        cmocka_unit_test(idata_chunks),
        cmocka_unit_test(init_chunks),        cmocka_unit_test(sack_chunks),
        cmocka_unit_test(forward_tsn_chunks), cmocka_unit_test(reconfig_chunks),
        cmocka_unit_test(other_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
