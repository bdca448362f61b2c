/* Unit tests: TURN framing (src/wire/turn.c) and the TURN parts of the STUN codec. */
#include "testutil.h"
#include "wire/turn.h"

static void channel_data(void **st)
{
    (void)st;
    uint8_t msg[16];
    pm_turn_channel_header(msg, 0x4001, 5);
    memcpy(msg + 4, "hello", 5);
    assert_true(pm_turn_is_channel_data(msg, 9));
    uint16_t ch = 0;
    const uint8_t *d = NULL;
    size_t n = 0;
    assert_int_equal(pm_turn_channel_parse(msg, 9, &ch, &d, &n), PM_OK);
    assert_int_equal(ch, 0x4001);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    /* Padding (up to 3 bytes) is accepted, more is not. */
    memset(msg + 9, 0, 7);
    assert_int_equal(pm_turn_channel_parse(msg, 12, &ch, &d, &n), PM_OK);
    assert_int_equal(n, 5);
    assert_int_equal(pm_turn_channel_parse(msg, 13, &ch, &d, &n), PM_ERR_PARSE);
    /* Length beyond the buffer, truncated header, numbers out of range. */
    assert_int_equal(pm_turn_channel_parse(msg, 8, &ch, &d, &n), PM_ERR_PARSE);
    assert_int_equal(pm_turn_channel_parse(msg, 3, &ch, &d, &n), PM_ERR_PARSE);
    pm_turn_channel_header(msg, 0x5000, 0);
    assert_int_equal(pm_turn_channel_parse(msg, 4, &ch, &d, &n), PM_ERR_PARSE);
    pm_turn_channel_header(msg, 0x3FFF, 0);
    assert_false(pm_turn_is_channel_data(msg, 4));
    assert_int_equal(pm_turn_channel_parse(msg, 4, &ch, &d, &n), PM_ERR_PARSE);
    pm_turn_channel_header(msg, 0x4FFF, 0); /* empty data is legal */
    assert_int_equal(pm_turn_channel_parse(msg, 4, &ch, &d, &n), PM_OK);
    assert_int_equal(n, 0);
    assert_int_equal(pm_turn_pad(0), 0);
    assert_int_equal(pm_turn_pad(5), 3);
    assert_int_equal(pm_turn_pad(8), 0);
}

/* A Send indication built from the header, the data and the padding parses
 * as a STUN message with the peer address and the data. */
static void send_indication(void **st)
{
    (void)st;
    uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const char *peers[] = {"192.0.2.7", "2001:db8::7"};
    for (size_t k = 0; k < 2; k++) {
        pm_addr peer;
        assert_int_equal(pm_addr_parse(&peer, peers[k], 40000), PM_OK);
        for (size_t len = 0; len < 9; len++) {
            uint8_t msg[PM_TURN_SEND_HDR_MAX + 16];
            int h = pm_turn_send_header(msg, tid, &peer, len);
            assert_true(h > 0 && h <= PM_TURN_SEND_HDR_MAX);
            for (size_t i = 0; i < len; i++)
                msg[h + (int)i] = (uint8_t)('a' + i);
            memset(msg + h + len, 0, pm_turn_pad(len));
            size_t total = (size_t)h + len + pm_turn_pad(len);
            assert_true(pm_stun_is_stun(msg, total));
            pm_stun_msg m;
            assert_int_equal(pm_stun_parse(&m, msg, total), PM_OK);
            assert_int_equal(m.method, PM_STUN_SEND);
            assert_int_equal(m.cls, PM_STUN_INDICATION);
            assert_true(m.has_xor_peer);
            assert_true(pm_addr_equal(&m.xor_peer, &peer));
            assert_true(m.has_data);
            assert_int_equal(m.data.len, len);
            assert_memory_equal(m.data.p, "abcdefgh", len);
        }
    }
    pm_addr bad;
    memset(&bad, 0, sizeof bad);
    uint8_t msg[PM_TURN_SEND_HDR_MAX];
    assert_int_equal(pm_turn_send_header(msg, tid, &bad, 4), PM_ERR_INVALID);
    pm_addr peer;
    pm_addr_parse(&peer, "192.0.2.7", 1);
    assert_int_equal(pm_turn_send_header(msg, tid, &peer, 65536), PM_ERR_TOO_BIG);
    assert_int_equal(pm_turn_send_header(msg, tid, &peer, 65530), PM_ERR_TOO_BIG);
}

static void stream_framing(void **st)
{
    (void)st;
    size_t fl = 0;
    uint8_t b[32] = {0};
    assert_int_equal(pm_turn_stream_frame_len(b, 3, &fl), PM_ERR_AGAIN);
    /* STUN: 20 + length, the cookie checked once it is there. */
    uint8_t tid[12] = {0};
    pm_stun_builder sb;
    pm_stun_begin(&sb, b, sizeof b, pm_stun_type(PM_STUN_REFRESH, PM_STUN_REQUEST), tid);
    pm_stun_add_u32(&sb, PM_STUN_ATTR_LIFETIME, 0);
    int n = pm_stun_finish(&sb, NULL, 0, false);
    assert_int_equal(n, 28);
    assert_int_equal(pm_turn_stream_frame_len(b, 4, &fl), PM_OK);
    assert_int_equal(fl, 28);
    b[5] ^= 1;
    assert_int_equal(pm_turn_stream_frame_len(b, 8, &fl), PM_ERR_PARSE);
    b[5] ^= 1;
    b[3] = 2; /* STUN length not a multiple of 4 */
    assert_int_equal(pm_turn_stream_frame_len(b, 8, &fl), PM_ERR_PARSE);
    /* ChannelData: padded to 4 on a stream. */
    pm_turn_channel_header(b, 0x4000, 5);
    assert_int_equal(pm_turn_stream_frame_len(b, 4, &fl), PM_OK);
    assert_int_equal(fl, 12);
    pm_turn_channel_header(b, 0x4000, 8);
    assert_int_equal(pm_turn_stream_frame_len(b, 4, &fl), PM_OK);
    assert_int_equal(fl, 12);
    pm_turn_channel_header(b, 0x7000, 8); /* outside RFC 8656's range */
    assert_int_equal(pm_turn_stream_frame_len(b, 4, &fl), PM_ERR_PARSE);
    b[0] = 0x17; /* a TLS record: not TURN once the cookie's place is there */
    b[4] = 0x03;
    assert_int_equal(pm_turn_stream_frame_len(b, 8, &fl), PM_ERR_PARSE);
    b[0] = 0x80;
    assert_int_equal(pm_turn_stream_frame_len(b, 4, &fl), PM_ERR_PARSE);
}

/* The TURN attributes of the STUN codec round-trip (RFC 8656 section 18). */
static void turn_attributes(void **st)
{
    (void)st;
    uint8_t tid[12] = {9};
    uint8_t buf[256];
    pm_addr relayed, peer;
    pm_addr_parse(&relayed, "203.0.113.9", 50000);
    pm_addr_parse(&peer, "2001:db8::5", 6000);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_ALLOCATE, PM_STUN_SUCCESS), tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    pm_stun_add_u32(&b, PM_STUN_ATTR_LIFETIME, 600);
    pm_stun_add_transport(&b, PM_TURN_PROTO_UDP);
    pm_stun_add_channel(&b, 0x4abc);
    pm_stun_add_str(&b, PM_STUN_ATTR_REALM, "example.org");
    pm_stun_add_str(&b, PM_STUN_ATTR_NONCE, "n0nce");
    uint8_t key[16];
    pm_stun_long_term_key("user", "example.org", "pass", key);
    int n = pm_stun_finish(&b, key, sizeof key, true);
    assert_true(n > 0);
    pm_stun_msg m;
    assert_int_equal(pm_stun_parse(&m, buf, (size_t)n), PM_OK);
    assert_int_equal(m.method, PM_STUN_ALLOCATE);
    assert_true(m.has_xor_relayed && pm_addr_equal(&m.xor_relayed, &relayed));
    assert_true(m.has_xor_peer && pm_addr_equal(&m.xor_peer, &peer));
    assert_true(m.has_lifetime);
    assert_int_equal(m.lifetime, 600);
    assert_int_equal(m.requested_transport, 17);
    assert_int_equal(m.channel, 0x4abc);
    assert_int_equal(m.realm.len, 11);
    assert_int_equal(pm_stun_check_integrity(&m, key, sizeof key), PM_OK);
    uint8_t wrong[16];
    pm_stun_long_term_key("user", "example.org", "wrong", wrong);
    assert_int_equal(pm_stun_check_integrity(&m, wrong, sizeof wrong), PM_ERR_AUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(channel_data),
        cmocka_unit_test(send_indication),
        cmocka_unit_test(stream_framing),
        cmocka_unit_test(turn_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
