/* Unit tests: src/wire/sdp (parser tolerance on real-world shapes, builder
 * output, answers rejecting other media, malformed input). */
#include "testutil.h"

#include "wire/sdp.h"

#include <stdio.h>

#define FP256                                                                                      \
    "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:"   \
    "E6:0F"
#define FP256_B                                                                                    \
    "1B:6A:C5:4E:22:F0:77:31:9D:AB:00:5C:E8:4F:12:9A:3C:60:D1:B7:48:2E:95:F3:0A:CC:71:5D:E2:86:"   \
    "39:B4"
#define FP384                                                                                      \
    "9E:3A:51:7C:0D:2B:88:F4:16:AD:63:C9:20:57:E1:3F:B8:44:9D:72:0E:A5:CB:18:6F:D3:29:80:5A:E7:"   \
    "B1:34:4C:9F:06:D8:2A:71:E3:55:BC:0F:98:46:1D:A2:7E:C3"

/* Chrome M1xx data-only offer (WEBRTC-NOTES 1.1). */
static const char chrome_offer[] = "v=0\r\n"
                                   "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
                                   "s=-\r\n"
                                   "t=0 0\r\n"
                                   "a=group:BUNDLE 0\r\n"
                                   "a=extmap-allow-mixed\r\n"
                                   "a=msid-semantic: WMS\r\n"
                                   "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                   "c=IN IP4 0.0.0.0\r\n"
                                   "a=ice-ufrag:/Ufa\r\n"
                                   "a=ice-pwd:Wz8ylQkvvnWPQpqYwLv7G2sd\r\n"
                                   "a=ice-options:trickle\r\n"
                                   "a=fingerprint:sha-256 " FP256 "\r\n"
                                   "a=setup:actpass\r\n"
                                   "a=mid:0\r\n"
                                   "a=sctp-port:5000\r\n"
                                   "a=max-message-size:262144\r\n";

static const char chrome_answer[] =
    "v=0\r\n"
    "o=- 8243328317306227345 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:30\r\n"
    "a=candidate:2363750795 1 udp 2113937151 714a9100-3b2c-4f65-9d2a-0c6a1f2d8e11.local 53096 "
    "typ host generation 0 ufrag R55U network-cost 999\r\n"
    "a=ice-ufrag:R55U\r\n"
    "a=ice-pwd:bVp9I4vNVRzQ7vb1Yd0Ykg3K\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP256_B "\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

/* Firefox: fingerprint and ice-options at session level, upper-case UDP/TCP
 * candidates, end-of-candidates (WEBRTC-NOTES 1.2). */
static const char firefox_offer[] =
    "v=0\r\n"
    "o=mozilla...THIS_IS_SDPARTA-128.0 7148530093375830373 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:0 1 UDP 2122252543 e2a9d8fb-5b61-4c4e-a0f1-3e2b8c7d9a10.local 56338 typ host\r\n"
    "a=candidate:2 1 TCP 2105524479 e2a9d8fb-5b61-4c4e-a0f1-3e2b8c7d9a10.local 9 typ host "
    "tcptype active\r\n"
    "a=candidate:1 1 UDP 1686052863 203.0.113.7 56338 typ srflx raddr 0.0.0.0 rport 0\r\n"
    "a=sendrecv\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-pwd:7c3b8f8bbd5f3e1ad07f6a1e9c1d7c5a\r\n"
    "a=ice-ufrag:4f1a2b3c\r\n"
    "a=mid:0\r\n"
    "a=setup:actpass\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:1073741823\r\n";

/* pion v3: fingerprint at session level, candidates inline. */
static const char pion_offer[] =
    "v=0\r\n"
    "o=- 6502718906416722375 1714034032 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=group:BUNDLE 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=sctp-port:5000\r\n"
    "a=ice-ufrag:JqPTyWvRbCkLhXnA\r\n"
    "a=ice-pwd:eUQvHnZcTyWpLgKsJbDfMxRaNoVhIuCe\r\n"
    "a=candidate:1966762133 1 udp 2130706431 192.0.2.10 50001 typ host\r\n"
    "a=candidate:1966762133 2 udp 2130706431 192.0.2.10 50001 typ host\r\n"
    "a=candidate:3452134923 1 udp 1694498815 198.51.100.4 50001 typ srflx raddr 0.0.0.0 "
    "rport 50001\r\n"
    "a=end-of-candidates\r\n";

/* aiortc, pre-RFC 8841 form: "DTLS/SCTP 5000" + sctpmap, fingerprints for
 * several hashes (sha-384 first to check that sha-256 is preferred). */
static const char aiortc_legacy_offer[] =
    "v=0\r\n"
    "o=- 3868328417 3868328417 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=application 50768 DTLS/SCTP 5000\r\n"
    "c=IN IP4 192.0.2.20\r\n"
    "a=mid:0\r\n"
    "a=sctpmap:5000 webrtc-datachannel 65535\r\n"
    "a=max-message-size:65536\r\n"
    "a=candidate:5f0f4b8d3a2c1e0b 1 udp 2130706431 192.0.2.20 50768 typ host\r\n"
    "a=candidate:c8d1e7a0b3f94d26 1 udp 1694498815 198.51.100.9 50768 typ srflx raddr "
    "192.0.2.20 rport 50768\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:q1Zx\r\n"
    "a=ice-pwd:Ab3dEf6hIj9kLm2nOp5qRs\r\n"
    "a=fingerprint:sha-384 " FP384 "\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=setup:actpass\r\n";

/* aiortc, RFC 8841 form. */
static const char aiortc_offer[] = "v=0\r\n"
                                   "o=- 3868328500 3868328500 IN IP4 0.0.0.0\r\n"
                                   "s=-\r\n"
                                   "t=0 0\r\n"
                                   "a=group:BUNDLE 0\r\n"
                                   "a=msid-semantic:WMS *\r\n"
                                   "m=application 50770 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                   "c=IN IP4 192.0.2.20\r\n"
                                   "a=mid:0\r\n"
                                   "a=sctp-port:5000\r\n"
                                   "a=max-message-size:65536\r\n"
                                   "a=candidate:5f0f4b8d3a2c1e0b 1 udp 2130706431 192.0.2.20 "
                                   "50770 typ host\r\n"
                                   "a=end-of-candidates\r\n"
                                   "a=ice-ufrag:q1Zy\r\n"
                                   "a=ice-pwd:Ab3dEf6hIj9kLm2nOp5qRt\r\n"
                                   "a=fingerprint:sha-256 " FP256 "\r\n"
                                   "a=setup:actpass\r\n";

/* A Chrome-like offer with audio and video before the data channel; the
 * video format list is longer than pm_sdp_mline.fmt holds. Also carries the
 * experimental a=sctp-init that must never be echoed. */
static const char av_offer[] =
    "v=0\r\n"
    "o=- 1234567890123456789 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:aUdi\r\n"
    "a=ice-pwd:AUDIOaudioAUDIOaudio00\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP256_B "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:1111\r\n"
    "a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 35 36 37 38 102 103 104 105 106 107 108 109 "
    "127 125 39 40 41 42 43 44 45 46 47 48 112 113 114 115 116 49 117 118 119 120 121 122 123\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:aUdi\r\n"
    "a=ice-pwd:AUDIOaudioAUDIOaudio00\r\n"
    "a=mid:1\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:dAta\r\n"
    "a=ice-pwd:DATAdataDATAdataDATA00\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=sctp-init:AAAAAAAABBBBCCCCDDDD\r\n"
    "a=max-message-size:262144\r\n";

static void parse_ok(const char *text, pm_sdp *s)
{
    int rc = pm_sdp_parse(text, strlen(text), s);
    if (rc != PM_OK)
        fail_msg("parse failed (%d) for:\n%s", rc, text);
}

static pm_sdp_local local_answer(const pm_sdp *offer)
{
    pm_sdp_local l = {
        .session_id = 42,
        .session_version = 1,
        .mid = offer->mlines[offer->dc_index].mid,
        .ice_ufrag = "LoCa",
        .ice_pwd = "localpasswordlocalpass",
        .fingerprint = "sha-256 " FP256_B,
        .setup = PM_SDP_SETUP_ACTIVE,
        .sctp_port = 5000,
        .max_message_size = 262144,
        .bundle = offer->bundle,
        .offer = offer,
    };
    return l;
}

static void chrome_offer_parses(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(chrome_offer, &s);
    assert_true(s.session_id == 4611731400430051336ull);
    assert_true(s.session_version == 2);
    assert_int_equal(s.mline_count, 1);
    assert_int_equal(s.dc_index, 0);
    assert_string_equal(s.mlines[0].media, "application");
    assert_string_equal(s.mlines[0].proto, "UDP/DTLS/SCTP");
    assert_string_equal(s.mlines[0].fmt, "webrtc-datachannel");
    assert_string_equal(s.mlines[0].mid, "0");
    assert_int_equal(s.mlines[0].port, 9);
    assert_true(s.mlines[0].is_datachannel);
    assert_string_equal(s.ice_ufrag, "/Ufa");
    assert_string_equal(s.ice_pwd, "Wz8ylQkvvnWPQpqYwLv7G2sd");
    assert_false(s.ice_lite);
    assert_true(s.ice_trickle);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_string_equal(s.fingerprint, FP256);
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTPASS);
    assert_int_equal(s.sctp_port, 5000);
    assert_true(s.has_max_message_size);
    assert_true(s.max_message_size == 262144);
    assert_true(s.bundle);
    assert_int_equal(s.candidate_count, 0);
    assert_false(s.end_of_candidates);
}

static void chrome_answer_parses(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(chrome_answer, &s);
    assert_true(s.session_id == 8243328317306227345ull);
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTIVE);
    assert_string_equal(s.ice_ufrag, "R55U");
    assert_string_equal(s.fingerprint, FP256_B);
    assert_int_equal(s.candidate_count, 1);
    assert_string_equal(s.candidates[0],
                        "candidate:2363750795 1 udp 2113937151 "
                        "714a9100-3b2c-4f65-9d2a-0c6a1f2d8e11.local 53096 typ host generation 0 "
                        "ufrag R55U network-cost 999");
}

static void firefox_offer_parses(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(firefox_offer, &s);
    assert_true(s.session_id == 7148530093375830373ull);
    assert_true(s.session_version == 0);
    assert_int_equal(s.dc_index, 0);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_string_equal(s.fingerprint, FP256);
    assert_true(s.ice_trickle);
    assert_string_equal(s.ice_ufrag, "4f1a2b3c");
    assert_string_equal(s.ice_pwd, "7c3b8f8bbd5f3e1ad07f6a1e9c1d7c5a");
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTPASS);
    assert_true(s.max_message_size == 1073741823);
    assert_int_equal(s.candidate_count, 3);
    assert_string_equal(s.candidates[0], "candidate:0 1 UDP 2122252543 "
                                         "e2a9d8fb-5b61-4c4e-a0f1-3e2b8c7d9a10.local 56338 typ "
                                         "host");
    assert_non_null(strstr(s.candidates[1], "tcptype active"));
    assert_non_null(strstr(s.candidates[2], "typ srflx raddr 0.0.0.0 rport 0"));
    assert_true(s.end_of_candidates);

    /* Our answer to it: exactly the recommended layout. */
    pm_sdp_local l = local_answer(&s);
    char buf[2048];
    int n = pm_sdp_build(&l, buf, sizeof buf);
    assert_true(n > 0);
    assert_string_equal(buf, "v=0\r\n"
                             "o=- 42 1 IN IP4 127.0.0.1\r\n"
                             "s=-\r\n"
                             "t=0 0\r\n"
                             "a=group:BUNDLE 0\r\n"
                             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                             "c=IN IP4 0.0.0.0\r\n"
                             "a=ice-ufrag:LoCa\r\n"
                             "a=ice-pwd:localpasswordlocalpass\r\n"
                             "a=ice-options:trickle\r\n"
                             "a=fingerprint:sha-256 " FP256_B "\r\n"
                             "a=setup:active\r\n"
                             "a=mid:0\r\n"
                             "a=sctp-port:5000\r\n"
                             "a=max-message-size:262144\r\n");
    assert_int_equal(n, (int)strlen(buf));
}

static void pion_offer_parses(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(pion_offer, &s);
    assert_true(s.session_id == 6502718906416722375ull);
    assert_true(s.session_version == 1714034032);
    assert_int_equal(s.dc_index, 0);
    assert_string_equal(s.fingerprint, FP256);
    assert_string_equal(s.ice_ufrag, "JqPTyWvRbCkLhXnA");
    assert_string_equal(s.ice_pwd, "eUQvHnZcTyWpLgKsJbDfMxRaNoVhIuCe");
    assert_false(s.ice_trickle); /* pion's offer has no ice-options */
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTPASS);
    assert_int_equal(s.sctp_port, 5000);
    assert_false(s.has_max_message_size);
    assert_int_equal(s.candidate_count, 3);
    assert_string_equal(s.candidates[1],
                        "candidate:1966762133 2 udp 2130706431 192.0.2.10 50001 typ host");
    assert_true(s.end_of_candidates);
    assert_true(s.bundle);
}

static void aiortc_legacy_offer_and_answer(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(aiortc_legacy_offer, &s);
    assert_int_equal(s.dc_index, 0);
    assert_string_equal(s.mlines[0].proto, "DTLS/SCTP");
    assert_string_equal(s.mlines[0].fmt, "5000");
    assert_int_equal(s.mlines[0].port, 50768);
    assert_int_equal(s.sctp_port, 5000);
    assert_true(s.max_message_size == 65536);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_string_equal(s.fingerprint, FP256);
    assert_int_equal(s.candidate_count, 2);
    assert_true(s.end_of_candidates);
    assert_string_equal(s.ice_ufrag, "q1Zx");

    /* The answer mirrors the legacy transport and uses sctpmap. */
    pm_sdp_local l = local_answer(&s);
    char buf[2048];
    assert_true(pm_sdp_build(&l, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\r\nm=application 9 DTLS/SCTP 5000\r\n"));
    assert_non_null(strstr(buf, "\r\na=sctpmap:5000 webrtc-datachannel 1024\r\n"));
    assert_null(strstr(buf, "sctp-port"));
    pm_sdp a;
    parse_ok(buf, &a);
    assert_int_equal(a.dc_index, 0);
    assert_int_equal(a.sctp_port, 5000);
    assert_int_equal(a.setup, PM_SDP_SETUP_ACTIVE);

    /* A legacy sctpmap with another port, and a=sctp-port beating it. */
    static const char other_port[] = "v=0\r\n"
                                     "m=application 9 DTLS/SCTP 5001\r\n"
                                     "a=sctpmap:5001 webrtc-datachannel 1024\r\n";
    parse_ok(other_port, &s);
    assert_int_equal(s.sctp_port, 5001);
    static const char both[] = "v=0\r\n"
                               "m=application 9 DTLS/SCTP 5001\r\n"
                               "a=sctp-port:6000\r\n"
                               "a=sctpmap:5001 webrtc-datachannel 1024\r\n";
    parse_ok(both, &s);
    assert_int_equal(s.sctp_port, 6000);
}

static void aiortc_offer_parses(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(aiortc_offer, &s);
    assert_int_equal(s.dc_index, 0);
    assert_int_equal(s.mlines[0].port, 50770);
    assert_int_equal(s.sctp_port, 5000);
    assert_string_equal(s.ice_pwd, "Ab3dEf6hIj9kLm2nOp5qRt");
    assert_int_equal(s.candidate_count, 1);
    pm_sdp_local l = local_answer(&s);
    char buf[2048];
    assert_true(pm_sdp_build(&l, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert_non_null(strstr(buf, "\r\na=sctp-port:5000\r\n"));
}

static void av_offer_answer_rejects_media(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok(av_offer, &s);
    assert_int_equal(s.mline_count, 3);
    assert_int_equal(s.dc_index, 2);
    assert_false(s.mlines[0].is_datachannel);
    assert_false(s.mlines[1].is_datachannel);
    assert_true(s.mlines[2].is_datachannel);
    assert_string_equal(s.mlines[0].media, "audio");
    assert_string_equal(s.mlines[0].fmt, "111 63 9 0 8 13 110 126");
    assert_string_equal(s.mlines[1].media, "video");
    /* Cut at a token boundary to fit. */
    assert_true(strlen(s.mlines[1].fmt) < sizeof s.mlines[1].fmt);
    assert_true(strncmp(s.mlines[1].fmt, "96 97 98 99 100", 15) == 0);
    assert_true(s.mlines[1].fmt[strlen(s.mlines[1].fmt) - 1] != ' ');
    assert_string_equal(s.mlines[1].mid, "1");
    /* Data-channel values, not the audio m-line's. */
    assert_string_equal(s.ice_ufrag, "dAta");
    assert_string_equal(s.ice_pwd, "DATAdataDATAdataDATA00");
    assert_string_equal(s.fingerprint, FP256);
    assert_int_equal(s.sctp_port, 5000);
    assert_int_equal(s.candidate_count, 0);

    pm_sdp_local l = local_answer(&s);
    assert_string_equal(l.mid, "2");
    char buf[4096];
    int n = pm_sdp_build(&l, buf, sizeof buf);
    assert_true(n > 0);
    char expect[4096];
    snprintf(expect, sizeof expect,
             "v=0\r\n"
             "o=- 42 1 IN IP4 127.0.0.1\r\n"
             "s=-\r\n"
             "t=0 0\r\n"
             "a=group:BUNDLE 2\r\n"
             "m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
             "c=IN IP4 0.0.0.0\r\n"
             "a=mid:0\r\n"
             "m=video 0 UDP/TLS/RTP/SAVPF %s\r\n"
             "c=IN IP4 0.0.0.0\r\n"
             "a=mid:1\r\n"
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
             "c=IN IP4 0.0.0.0\r\n"
             "a=ice-ufrag:LoCa\r\n"
             "a=ice-pwd:localpasswordlocalpass\r\n"
             "a=ice-options:trickle\r\n"
             "a=fingerprint:sha-256 " FP256_B "\r\n"
             "a=setup:active\r\n"
             "a=mid:2\r\n"
             "a=sctp-port:5000\r\n"
             "a=max-message-size:262144\r\n",
             s.mlines[1].fmt);
    assert_string_equal(buf, expect);
    assert_null(strstr(buf, "sctp-init"));
    assert_null(strstr(buf, "rtpmap"));

    pm_sdp a;
    parse_ok(buf, &a);
    assert_int_equal(a.mline_count, 3);
    assert_int_equal(a.dc_index, 2);
    assert_int_equal(a.mlines[0].port, 0);
    assert_int_equal(a.mlines[1].port, 0);
    assert_int_equal(a.mlines[2].port, 9);
    assert_string_equal(a.mlines[2].mid, "2");
    assert_string_equal(a.ice_ufrag, "LoCa");
}

static void sctp_init_not_echoed(void **st)
{
    (void)st;
    static const char offer[] = "v=0\r\n"
                                "o=- 1 1 IN IP4 127.0.0.1\r\n"
                                "s=-\r\n"
                                "t=0 0\r\n"
                                "a=group:BUNDLE 0\r\n"
                                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                "c=IN IP4 0.0.0.0\r\n"
                                "a=ice-ufrag:abcd\r\n"
                                "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                                "a=fingerprint:sha-256 " FP256 "\r\n"
                                "a=setup:actpass\r\n"
                                "a=mid:0\r\n"
                                "a=sctp-port:5000\r\n"
                                "a=sctp-init:BgAAAOMnTewAAQAAAAD/\r\n"
                                "a=x-unknown-thing:42\r\n"
                                "a=max-message-size:262144\r\n";
    pm_sdp s;
    parse_ok(offer, &s);
    pm_sdp_local l = local_answer(&s);
    char buf[2048];
    assert_true(pm_sdp_build(&l, buf, sizeof buf) > 0);
    assert_null(strstr(buf, "sctp-init"));
    assert_null(strstr(buf, "x-unknown"));
    assert_non_null(strstr(buf, "a=sctp-port:5000\r\n"));
}

static void build_offer_round_trip(void **st)
{
    (void)st;
    const char *cands[] = {
        "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
        "2 1 udp 2130706175 ::1 40001 typ host", /* bare value gets the prefix */
    };
    pm_sdp_local l = {
        .session_id = UINT64_MAX,
        .session_version = 7,
        .mid = "0",
        .ice_ufrag = "uFrg",
        .ice_pwd = "0123456789abcdefghij+/",
        .fingerprint = "sha-256 " FP256,
        .setup = PM_SDP_SETUP_ACTPASS,
        .sctp_port = 5000,
        .max_message_size = 262144,
        .bundle = true,
        .candidates = cands,
        .candidate_count = 2,
        .end_of_candidates = true,
    };
    char buf[2048];
    int n = pm_sdp_build(&l, buf, sizeof buf);
    assert_true(n > 0);
    assert_string_equal(buf, "v=0\r\n"
                             "o=- 18446744073709551615 7 IN IP4 127.0.0.1\r\n"
                             "s=-\r\n"
                             "t=0 0\r\n"
                             "a=group:BUNDLE 0\r\n"
                             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                             "c=IN IP4 0.0.0.0\r\n"
                             "a=ice-ufrag:uFrg\r\n"
                             "a=ice-pwd:0123456789abcdefghij+/\r\n"
                             "a=ice-options:trickle\r\n"
                             "a=fingerprint:sha-256 " FP256 "\r\n"
                             "a=setup:actpass\r\n"
                             "a=mid:0\r\n"
                             "a=sctp-port:5000\r\n"
                             "a=max-message-size:262144\r\n"
                             "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
                             "a=candidate:2 1 udp 2130706175 ::1 40001 typ host\r\n"
                             "a=end-of-candidates\r\n");

    pm_sdp s;
    assert_int_equal(pm_sdp_parse(buf, (size_t)n, &s), PM_OK);
    assert_true(s.session_id == UINT64_MAX);
    assert_true(s.session_version == 7);
    assert_int_equal(s.dc_index, 0);
    assert_string_equal(s.mlines[0].mid, "0");
    assert_string_equal(s.ice_ufrag, l.ice_ufrag);
    assert_string_equal(s.ice_pwd, l.ice_pwd);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_string_equal(s.fingerprint, FP256);
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTPASS);
    assert_int_equal(s.sctp_port, 5000);
    assert_true(s.max_message_size == 262144);
    assert_true(s.bundle);
    assert_true(s.ice_trickle);
    assert_int_equal(s.candidate_count, 2);
    assert_string_equal(s.candidates[0], cands[0]);
    assert_string_equal(s.candidates[1], "candidate:2 1 udp 2130706175 ::1 40001 typ host");
    assert_true(s.end_of_candidates);
    assert_false(s.zero_checksum);

    /* Passive setup, no bundle, other port, unlimited size; our SCTP's
     * word that it parses RFC 9653's parameter in an INIT. */
    l.zero_checksum = true;
    l.setup = PM_SDP_SETUP_PASSIVE;
    l.bundle = false;
    l.sctp_port = 5001;
    l.max_message_size = 0;
    l.candidate_count = 0;
    l.end_of_candidates = false;
    n = pm_sdp_build(&l, buf, sizeof buf);
    assert_true(n > 0);
    assert_null(strstr(buf, "a=group"));
    assert_null(strstr(buf, "a=candidate"));
    assert_int_equal(pm_sdp_parse(buf, (size_t)n, &s), PM_OK);
    assert_false(s.bundle);
    assert_int_equal(s.setup, PM_SDP_SETUP_PASSIVE);
    assert_int_equal(s.sctp_port, 5001);
    assert_true(s.has_max_message_size);
    assert_true(s.max_message_size == 0);
    assert_false(s.end_of_candidates);
    assert_non_null(strstr(buf, "a=max-message-size:0\r\na=peermesh-zero-checksum\r\n"));
    assert_true(s.zero_checksum);

    /* sctp_port 0 means the RFC 8841 default. */
    l.sctp_port = 0;
    assert_true(pm_sdp_build(&l, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "a=sctp-port:5000\r\n"));
}

static void build_too_small_and_invalid(void **st)
{
    (void)st;
    pm_sdp_local l = {
        .session_id = 1,
        .session_version = 2,
        .mid = "0",
        .ice_ufrag = "uFrg",
        .ice_pwd = "0123456789abcdefghij+/",
        .fingerprint = "sha-256 " FP256,
        .setup = PM_SDP_SETUP_ACTPASS,
        .sctp_port = 5000,
        .max_message_size = 262144,
        .bundle = true,
    };
    char full[2048];
    int n = pm_sdp_build(&l, full, sizeof full);
    assert_true(n > 0);
    char buf[2048];
    for (size_t cap = 0; cap <= (size_t)n; cap++) {
        memset(buf, 'X', sizeof buf);
        assert_int_equal(pm_sdp_build(&l, buf, cap), PM_ERR_TOO_BIG);
        assert_int_equal(buf[cap], 'X'); /* never writes past cap */
    }
    assert_int_equal(pm_sdp_build(&l, buf, (size_t)n + 1), n);
    assert_string_equal(buf, full);

    pm_sdp_local bad = l;
    bad.ice_ufrag = NULL;
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.ice_pwd = "abc\r\na=injected";
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.fingerprint = "AB:CD"; /* no hash function */
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.fingerprint = "";
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.mid = NULL;
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.setup = (pm_sdp_setup)99;
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    const char *evil[] = {"candidate:1 1 udp 1 127.0.0.1 1 typ host\na=sctp-init:x"};
    bad = l;
    bad.candidates = evil;
    bad.candidate_count = 1;
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    bad = l;
    bad.candidate_count = 1; /* no array */
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    /* An "offer" without a data-channel m-line cannot be answered. */
    pm_sdp nodc;
    parse_ok("v=0\r\nm=audio 9 RTP/AVP 0\r\n", &nodc);
    assert_int_equal(nodc.dc_index, -1);
    bad = l;
    bad.offer = &nodc;
    assert_int_equal(pm_sdp_build(&bad, buf, sizeof buf), PM_ERR_INVALID);
    assert_int_equal(pm_sdp_build(NULL, buf, sizeof buf), PM_ERR_INVALID);
}

static void max_message_size_variants(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
             "a=max-message-size:0\r\n",
             &s);
    assert_true(s.has_max_message_size);
    assert_true(s.max_message_size == 0);
    assert_int_equal(s.sctp_port, 0); /* absent: caller implies 5000 */
    parse_ok("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", &s);
    assert_false(s.has_max_message_size);
    assert_true(s.max_message_size == 0);
    /* Huge values saturate instead of wrapping. */
    parse_ok("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
             "a=max-message-size:99999999999999999999999\r\n",
             &s);
    assert_true(s.max_message_size == UINT64_MAX);
    /* Session-level max-message-size means nothing (RFC 8841 is media level). */
    parse_ok("v=0\r\na=max-message-size:5\r\nm=application 9 UDP/DTLS/SCTP "
             "webrtc-datachannel\r\n",
             &s);
    assert_false(s.has_max_message_size);
    static const char bad_size[] = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                   "a=max-message-size:12k\r\n";
    assert_int_equal(pm_sdp_parse(bad_size, strlen(bad_size), &s), PM_ERR_PARSE);
}

static void tolerant_forms(void **st)
{
    (void)st;
    pm_sdp s;
    /* LF only, trailing blanks, blank lines, no final newline, media-level
     * values overriding session-level ones, comma-separated ice-options,
     * session-level ice-lite and end-of-candidates. */
    static const char text[] = "v=0  \n"
                               "o=- 5 6 IN IP4 0.0.0.0\t\n"
                               "s=-\n"
                               "t=0 0\n"
                               "a=ice-lite\n"
                               "a=ice-ufrag:sessUfrag\n"
                               "a=ice-pwd:sessionpasswordsession\n"
                               "a=ice-options:ice2,trickle\n"
                               "a=fingerprint:SHA-1 00:11\n"
                               "a=setup:passive\n"
                               "a=end-of-candidates\n"
                               "\n"
                               "m=application 9 UDP/DTLS/SCTP webrtc-datachannel \r\n"
                               "a=ice-ufrag:  medi \r\n"
                               "a=fingerprint:sha-256 " FP256 "\n"
                               "a=fingerprint:sha-512 AA:BB\n"
                               "a=setup:active\n"
                               "a=mid:data\n"
                               "\r\n"
                               "a=sctp-port:5000";
    parse_ok(text, &s);
    assert_true(s.session_id == 5 && s.session_version == 6);
    assert_true(s.ice_lite);
    assert_string_equal(s.ice_ufrag, "medi");
    assert_string_equal(s.ice_pwd, "sessionpasswordsession");
    assert_true(s.ice_trickle);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_string_equal(s.fingerprint, FP256);
    assert_int_equal(s.setup, PM_SDP_SETUP_ACTIVE);
    assert_string_equal(s.mlines[0].mid, "data");
    assert_string_equal(s.mlines[0].fmt, "webrtc-datachannel");
    assert_int_equal(s.sctp_port, 5000);
    assert_true(s.end_of_candidates);

    /* A session-level fingerprint with an upper-case hash name is stored in
     * lower case; media-level ice-options replaces the session one. */
    parse_ok("v=0\r\na=fingerprint:SHA-256 " FP256 "\r\na=ice-options:trickle\r\n"
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-options:ice2\r\n",
             &s);
    assert_string_equal(s.fingerprint_algo, "sha-256");
    assert_false(s.ice_trickle);

    /* Only the first application m-line is the data channel; a second one
     * and attributes of other m-lines are ignored. Port/count form. */
    parse_ok("v=0\r\n"
             "m=application 9 UDP/BFCP *\r\na=mid:bfcp\r\na=ice-ufrag:wrong\r\n"
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:a\r\n"
             "m=application 9/2 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:b\r\n"
             "a=ice-ufrag:alsowrong\r\na=candidate:x\r\n",
             &s);
    assert_int_equal(s.mline_count, 3);
    assert_int_equal(s.dc_index, 1);
    assert_false(s.mlines[2].is_datachannel);
    assert_string_equal(s.mlines[2].mid, "b");
    assert_string_equal(s.ice_ufrag, "");
    assert_int_equal(s.candidate_count, 0);

    /* A remote answer rejecting the data channel shows port 0. */
    parse_ok("v=0\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n", &s);
    assert_int_equal(s.dc_index, 0);
    assert_int_equal(s.mlines[0].port, 0);

    /* No m-line at all: parses, caller sees dc_index -1. */
    parse_ok("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", &s);
    assert_int_equal(s.dc_index, -1);
    assert_int_equal(s.mline_count, 0);

    /* Length-bounded: the text need not be NUL-terminated. */
    char raw[64];
    memset(raw, 'Z', sizeof raw);
    memcpy(raw, "v=0\r\na=mid:x\r\n", 14);
    assert_int_equal(pm_sdp_parse(raw, 14, &s), PM_OK);
}

static void candidates_limits(void **st)
{
    (void)st;
    static char text[32768];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "v=0\r\nm=application 9 UDP/DTLS/SCTP "
                                "webrtc-datachannel\r\n");
    /* An overlong candidate (skipped), then 40 (32 kept). */
    n += (size_t)snprintf(text + n, sizeof text - n, "a=candidate:1 1 udp 1 %0300d 1 typ host\r\n",
                          7);
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "a=candidate:%d 1 udp 1 192.0.2.1 %d typ host\r\n", i, 1000 + i);
    n += (size_t)snprintf(text + n, sizeof text - n, "a=end-of-candidates\r\n");
    pm_sdp s;
    assert_int_equal(pm_sdp_parse(text, n, &s), PM_OK);
    assert_int_equal(s.candidate_count, PM_SDP_MAX_CANDIDATES);
    assert_string_equal(s.candidates[0], "candidate:0 1 udp 1 192.0.2.1 1000 typ host");
    assert_string_equal(s.candidates[31], "candidate:31 1 udp 1 192.0.2.1 1031 typ host");
    assert_true(s.end_of_candidates);

    /* Exactly the longest storable candidate is kept. */
    char line[PM_SDP_CANDIDATE_MAX + 64];
    char cand[PM_SDP_CANDIDATE_MAX];
    memset(cand, 'c', sizeof cand);
    memcpy(cand, "candidate:", 10);
    cand[PM_SDP_CANDIDATE_MAX - 1] = '\0';
    snprintf(line, sizeof line, "v=0\r\nm=application 9 DTLS/SCTP 5000\r\na=%s\r\n", cand);
    parse_ok(line, &s);
    assert_int_equal(s.candidate_count, 1);
    assert_string_equal(s.candidates[0], cand);
}

static void session_id_limits(void **st)
{
    (void)st;
    pm_sdp s;
    parse_ok("v=0\r\no=- 18446744073709551615 0 IN IP4 0.0.0.0\r\n", &s);
    assert_true(s.session_id == UINT64_MAX);
    static const char overflow[] = "v=0\r\no=- 18446744073709551616 0 IN IP4 0.0.0.0\r\n";
    assert_int_equal(pm_sdp_parse(overflow, strlen(overflow), &s), PM_ERR_PARSE);
}

static void malformed(void **st)
{
    (void)st;
    const char *bad[] = {
        "",
        "v=1\r\n",
        "v=0x\r\n",
        "\r\nv=0\r\n",
        " v=0\r\n",
        "o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n",
        "v=0\r\nv=0\r\n",
        "v=0\r\nthis is not sdp\r\n",
        "v=0\r\na\r\n",
        "v=0\r\nA=foo\r\n",
        "v=0\r\n=x\r\n",
        "v=0\r\na=mid:0\rs=-\r\n",
        "v=0\r\no=- x 1 IN IP4 0.0.0.0\r\n",
        "v=0\r\no=- 1\r\n",
        "v=0\r\no=\r\n",
        "v=0\r\nm=\r\n",
        "v=0\r\nm=application\r\n",
        "v=0\r\nm=application 9\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP\r\n",
        "v=0\r\nm=application x UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\nm=application 70000 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\nm=application 9/ UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\nm=applicationapplication 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP/THIS/IS/A/VERY/LONG/PROTOCOL/NAME x\r\n",
        "v=0\r\nm=audio 9 RTP/AVP "
        "012345678901234567890123456789012345678901234567890123456789012345\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:70000\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:sideways\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "a=fingerprint:sha-256-but-much-too-long AB\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "a=mid:0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
    };
    pm_sdp s;
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        int rc = pm_sdp_parse(bad[i], strlen(bad[i]), &s);
        if (rc != PM_ERR_PARSE)
            fail_msg("case %zu parsed (%d): %s", i, rc, bad[i]);
    }

    /* Nine m-lines: more than an answer could mirror. */
    char many[1024] = "v=0\r\n";
    for (int i = 0; i < PM_SDP_MAX_MLINES; i++)
        strcat(many, "m=audio 9 RTP/AVP 0\r\n");
    parse_ok(many, &s);
    assert_int_equal(s.mline_count, PM_SDP_MAX_MLINES);
    strcat(many, "m=audio 9 RTP/AVP 0\r\n");
    assert_int_equal(pm_sdp_parse(many, strlen(many), &s), PM_ERR_PARSE);

    /* Over-long ICE credentials and fingerprints. */
    char big[1024];
    char val[300];
    memset(val, 'u', sizeof val);
    val[257] = '\0';
    snprintf(big, sizeof big, "v=0\r\na=ice-ufrag:%s\r\n", val);
    assert_int_equal(pm_sdp_parse(big, strlen(big), &s), PM_ERR_PARSE);
    snprintf(big, sizeof big, "v=0\r\na=ice-pwd:%s\r\n", val);
    assert_int_equal(pm_sdp_parse(big, strlen(big), &s), PM_ERR_PARSE);
    val[256] = '\0';
    snprintf(big, sizeof big, "v=0\r\na=ice-ufrag:%s\r\n", val);
    parse_ok(big, &s);
    assert_int_equal(strlen(s.ice_ufrag), 256);
    val[192] = '\0';
    snprintf(big, sizeof big, "v=0\r\na=fingerprint:sha-512 %s\r\n", val);
    assert_int_equal(pm_sdp_parse(big, strlen(big), &s), PM_ERR_PARSE);
    val[191] = '\0';
    snprintf(big, sizeof big, "v=0\r\na=fingerprint:sha-512 %s\r\n", val);
    parse_ok(big, &s);

    /* Embedded NUL. */
    static const char nul[] = "v=0\r\na=mid:0\0\r\n";
    assert_int_equal(pm_sdp_parse(nul, sizeof nul - 1, &s), PM_ERR_PARSE);
    assert_int_equal(pm_sdp_parse(NULL, 0, &s), PM_ERR_PARSE);
    assert_int_equal(pm_sdp_parse("v=0", 3, NULL), PM_ERR_INVALID);

    /* Attributes of other m-lines are not interpreted, so not rejected. */
    parse_ok("v=0\r\nm=audio 9 RTP/AVP 0\r\na=setup:sideways\r\na=sctp-port:x\r\n", &s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chrome_offer_parses),
        cmocka_unit_test(chrome_answer_parses),
        cmocka_unit_test(firefox_offer_parses),
        cmocka_unit_test(pion_offer_parses),
        cmocka_unit_test(aiortc_legacy_offer_and_answer),
        cmocka_unit_test(aiortc_offer_parses),
        cmocka_unit_test(av_offer_answer_rejects_media),
        cmocka_unit_test(sctp_init_not_echoed),
        cmocka_unit_test(build_offer_round_trip),
        cmocka_unit_test(build_too_small_and_invalid),
        cmocka_unit_test(max_message_size_variants),
        cmocka_unit_test(tolerant_forms),
        cmocka_unit_test(candidates_limits),
        cmocka_unit_test(session_id_limits),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
