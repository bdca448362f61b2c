/* Unit tests: the peer-connection API contract (argument checks, states, errors). */
#include "testutil.h"

#include "peermesh/rtc.h"

#include <stdio.h>

static pm_env env;
static pm_addr local;

static pm_rtc_peer *new_peer(void)
{
    pm_test_env(&env, 5);
    pm_addr_parse(&local, "127.0.0.1", 4000);
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = &env;
    cfg.external_transport = true;
    cfg.local_addrs = &local;
    cfg.local_addr_count = 1;
    pm_rtc_peer *pc = NULL;
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_OK);
    assert_non_null(pc);
    return pc;
}

static void ice_urls(void **st)
{
    (void)st;
    pm_ice_url u;
    assert_int_equal(pm_ice_url_parse("stun:127.0.0.1", &u), PM_OK);
    assert_int_equal(u.scheme, PM_ICE_URL_STUN);
    assert_int_equal(u.port, 3478);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(pm_ice_url_parse("turn:[::1]:5000?transport=tcp", &u), PM_OK);
    assert_int_equal(u.scheme, PM_ICE_URL_TURN);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5000);
    assert_true(u.transport_tcp);
    assert_int_equal(pm_ice_url_parse("turns:relay.example.org", &u), PM_OK);
    assert_int_equal(u.port, 5349);
    const char *bad[] = {"",
                         "stun:",
                         "http://x",
                         "stun:host:0",
                         "stun:host:70000",
                         "stun:host?transport=udp",
                         "turn:host?transport=sctp",
                         "stun:ho st",
                         "turn:[::1",
                         "stun:host:12ab",
                         "turn:[1.2.3.4]:9"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_ice_url_parse(bad[i], &u), PM_ERR_PARSE);

    const char *turn[] = {"turn:127.0.0.1:3478"};
    pm_ice_server s = {turn, 1, NULL, NULL};
    assert_int_equal(pm_ice_server_validate(&s), PM_ERR_INVALID); /* TURN needs credentials */
    s.username = "u";
    s.credential = "p";
    assert_int_equal(pm_ice_server_validate(&s), PM_OK);
    const char *stun_bad[] = {"stun:"};
    pm_ice_server s2 = {stun_bad, 1, NULL, NULL};
    assert_int_equal(pm_ice_server_validate(&s2), PM_ERR_PARSE);
}

static void bad_ice_server_rejected(void **st)
{
    (void)st;
    pm_test_env(&env, 5);
    pm_addr_parse(&local, "127.0.0.1", 4000);
    const char *urls[] = {"stun:127.0.0.1:3478", "bogus:1"};
    pm_ice_server s = {urls, 2, NULL, NULL};
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = &env;
    cfg.external_transport = true;
    cfg.local_addrs = &local;
    cfg.local_addr_count = 1;
    cfg.ice_servers = &s;
    cfg.ice_server_count = 1;
    pm_rtc_peer *pc = (pm_rtc_peer *)1;
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_ERR_PARSE);
    assert_null(pc);
    cfg.external_transport = true;
    cfg.local_addr_count = 0;
    cfg.ice_server_count = 0;
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_ERR_INVALID);
}

static void channel_options(void **st)
{
    (void)st;
    pm_rtc_peer *pc = new_peer();
    pm_rtc_channel_init in;
    pm_rtc_channel *ch;
    pm_rtc_channel_init_default(&in);
    in.id = 3; /* id without negotiated */
    assert_int_equal(pm_rtc_peer_create_channel(pc, "a", &in, &ch), PM_ERR_INVALID);
    pm_rtc_channel_init_default(&in);
    in.negotiated = true; /* negotiated without id */
    assert_int_equal(pm_rtc_peer_create_channel(pc, "a", &in, &ch), PM_ERR_INVALID);
    pm_rtc_channel_init_default(&in);
    in.max_packet_lifetime = 10;
    in.max_retransmits = 1; /* both */
    assert_int_equal(pm_rtc_peer_create_channel(pc, "a", &in, &ch), PM_ERR_INVALID);
    pm_rtc_channel_init_default(&in);
    in.negotiated = true;
    in.id = 1024; /* beyond the streams we negotiate */
    assert_int_equal(pm_rtc_peer_create_channel(pc, "a", &in, &ch), PM_ERR_INVALID);
    in.id = 1;
    assert_int_equal(pm_rtc_peer_create_channel(pc, "reliable", &in, &ch), PM_OK);
    assert_int_equal(pm_rtc_channel_get_id(ch), 1);
    assert_true(pm_rtc_channel_is_negotiated(ch));
    assert_int_equal(pm_rtc_peer_create_channel(pc, "dup", &in, &ch), PM_ERR_EXISTS);
    pm_rtc_channel_init_default(&in);
    in.ordered = false;
    in.max_retransmits = 0;
    in.protocol = "game";
    assert_int_equal(pm_rtc_peer_create_channel(pc, "u", &in, &ch), PM_OK);
    assert_int_equal(pm_rtc_channel_get_id(ch), 65535); /* in-band: no id until SCTP is up */
    assert_false(pm_rtc_channel_is_ordered(ch));
    assert_int_equal(pm_rtc_channel_get_max_retransmits(ch), 0);
    assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(ch), -1);
    assert_string_equal(pm_rtc_channel_get_protocol(ch), "game");
    assert_string_equal(pm_rtc_channel_get_label(ch), "u");
    assert_int_equal(pm_rtc_channel_get_ready_state(ch), PM_RTC_CHANNEL_CONNECTING);
    assert_int_equal(pm_rtc_channel_get_write_mode(ch), PM_RTC_WRITE_BINARY);
    assert_int_equal(pm_rtc_channel_set_write_mode(ch, (pm_rtc_write_mode)7), PM_ERR_INVALID);
    assert_int_equal(pm_rtc_channel_get_write_mode(ch), PM_RTC_WRITE_BINARY);
    assert_int_equal(pm_rtc_channel_set_write_mode(ch, PM_RTC_WRITE_TEXT), PM_OK);
    assert_int_equal(pm_rtc_channel_get_write_mode(ch), PM_RTC_WRITE_TEXT);
    assert_int_equal(pm_rtc_channel_set_write_mode(NULL, PM_RTC_WRITE_TEXT), PM_ERR_INVALID);
    /* Sending before open is a state error, never a silent drop. */
    assert_int_equal(pm_rtc_channel_put_packet(ch, (const uint8_t *)"x", 1), PM_ERR_STATE);
    const uint8_t *d;
    size_t n;
    assert_int_equal(pm_rtc_channel_get_packet(ch, &d, &n), PM_ERR_AGAIN);
    assert_int_equal(pm_rtc_channel_get_available_packet_count(ch), 0);
    pm_rtc_peer_free(pc);
}

static void signaling_states(void **st)
{
    (void)st;
    pm_rtc_peer *pc = new_peer();
    assert_int_equal(pm_rtc_peer_get_state(pc), PM_RTC_STATE_NEW);
    assert_int_equal(pm_rtc_peer_get_signaling_state(pc), PM_RTC_SIGNALING_STABLE);
    assert_int_equal(pm_rtc_peer_get_gathering_state(pc), PM_RTC_GATHERING_NEW);
    /* An answer without an offer is a state error. */
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "answer", "v=0\r\n"), PM_ERR_STATE);
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "bogus", "v=0\r\n"), PM_ERR_INVALID);
    assert_int_equal(pm_rtc_peer_create_offer(pc), PM_OK);
    assert_int_equal(pm_rtc_peer_get_signaling_state(pc), PM_RTC_SIGNALING_HAVE_LOCAL_OFFER);
    assert_int_equal(pm_rtc_peer_create_offer(pc), PM_ERR_STATE);
    pm_rtc_event ev;
    bool saw_offer = false, saw_cand = false, saw_end = false;
    char sdp[4096] = "";
    while (pm_rtc_peer_next_event(pc, &ev)) {
        if (ev.type == PM_RTC_EVENT_DESCRIPTION) {
            assert_false(saw_cand); /* description first, then candidates */
            assert_string_equal(ev.sdp_type, "offer");
            assert_non_null(strstr(ev.sdp, "a=setup:actpass"));
            assert_non_null(strstr(ev.sdp, "a=fingerprint:sha-256 "));
            assert_non_null(strstr(ev.sdp, "a=max-message-size:262144"));
            assert_null(strstr(ev.sdp, "sctp-init"));
            snprintf(sdp, sizeof sdp, "%s", ev.sdp);
            saw_offer = true;
        } else if (ev.type == PM_RTC_EVENT_CANDIDATE) {
            if (ev.candidate[0]) {
                assert_non_null(strstr(ev.candidate, "127.0.0.1 4000 typ host"));
                saw_cand = true;
            } else {
                saw_end = true;
            }
            assert_string_equal(ev.mid, "0");
        }
    }
    assert_true(saw_offer && saw_cand && saw_end);
    assert_int_equal(pm_rtc_peer_set_local_description(pc, "offer", sdp), PM_OK);
    assert_int_equal(pm_rtc_peer_set_local_description(pc, "answer", sdp), PM_ERR_STATE);
    assert_int_equal(pm_rtc_peer_set_local_description(pc, "offer", "v=0\r\n"), PM_ERR_UNSUPPORTED);
    /* A remote offer while we have a local one: glare is a state error. */
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "offer", sdp), PM_ERR_STATE);
    /* Garbage answer. */
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "answer", "hello"), PM_ERR_PARSE);
    assert_int_equal(pm_rtc_peer_get_gathering_state(pc), PM_RTC_GATHERING_COMPLETE);
    pm_rtc_peer_close(pc);
    assert_int_equal(pm_rtc_peer_get_state(pc), PM_RTC_STATE_CLOSED);
    assert_int_equal(pm_rtc_peer_get_signaling_state(pc), PM_RTC_SIGNALING_CLOSED);
    assert_int_equal(pm_rtc_peer_create_offer(pc), PM_ERR_CLOSED);
    pm_rtc_channel *ch;
    assert_int_equal(pm_rtc_peer_create_channel(pc, "late", NULL, &ch), PM_ERR_STATE);
    pm_rtc_peer_free(pc);
}

static void remote_offer_requirements(void **st)
{
    (void)st;
    pm_rtc_peer *pc = new_peer();
    /* Valid SDP, no data-channel m-line. */
    const char *audio = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
                        "a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                        "a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n";
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "offer", audio), PM_ERR_PARSE);
    /* Data channel but no fingerprint. */
    const char *nofp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                       "a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=setup:actpass\r\na=sctp-port:5000\r\n";
    assert_int_equal(pm_rtc_peer_set_remote_description(pc, "offer", nofp), PM_ERR_PARSE);
    assert_int_equal(pm_rtc_peer_get_signaling_state(pc), PM_RTC_SIGNALING_STABLE);
    /* Candidates before any remote description are held, malformed ones are refused. */
    assert_int_equal(pm_rtc_peer_add_ice_candidate(
                         pc, "0", 0, "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"),
                     PM_OK);
    assert_int_equal(pm_rtc_peer_add_ice_candidate(pc, "0", 0, ""), PM_OK);
    pm_rtc_peer_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ice_urls),
        cmocka_unit_test(bad_ice_server_rejected),
        cmocka_unit_test(channel_options),
        cmocka_unit_test(signaling_states),
        cmocka_unit_test(remote_offer_requirements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
