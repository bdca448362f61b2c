/*
 * rtc.h in the WebAssembly build, under Node.js on the fake browser objects
 * of fake_browser.js: two peer connections of one page connect through
 * their events; the native stack"s error codes; channel options as the
 * browser gets them; binary, text and empty messages; the poll model (the
 * browser"s news waits for poll); buffered amount, its low event and the
 * 16 MiB limit; the round trip from getStats; closing and releasing.
 */
#include "check.h"
#include "peermesh/rtc.h"

#include <emscripten.h>
#include <stdio.h>
#include <string.h>

/* ---- the fake browser, from C ---- */

/* clang-format would split JavaScript operators (=> ===): kept as written. */
// clang-format off

EM_JS(int, fake_pc_count, (void), { return fake.pcs.length; });
/* init[key] of the last channel labelled `label` on fake connection `pc`, -2 when absent. */
EM_JS(int, fake_channel_init, (int pc, const char *label, const char *key), {
    const l = UTF8ToString(label), k = UTF8ToString(key);
    const dc = fake.pcs[pc].channels.filter(function (c) { return c.label == l; }).pop();
    if (!dc || dc.init[k] == undefined)
        return -2;
    return typeof dc.init[k] == "boolean" ? (dc.init[k] ? 1 : 0) : dc.init[k];
});
EM_JS(int, fake_ice_config_matches, (int pc, const char *json),
      { return JSON.stringify(fake.pcs[pc].config.iceServers) == UTF8ToString(json) ? 1 : 0; });
EM_JS(void, fake_set_buffered, (int pc, const char *label, double n),
      { fake.pcs[pc].channels.find(function (c) { return c.label == UTF8ToString(label); }).bufferedAmount = n; });
EM_JS(void, fake_pause, (int on), {
    if (on)
        fake.paused = true;
    else
        fake.resume();
});
// clang-format on

/* ---- one side of the connection ---- */

typedef struct side {
    pm_rtc_peer *pc;
    struct side *other;
    pm_rtc_channel *rel, *unrel, *rexmit, *chat; /* ours */
    pm_rtc_channel *got;                         /* the other's in-band channel */
    int events[16];                              /* per pm_rtc_event_type */
    int state;
    char local_type[16];
    char local_sdp[4096];
    pm_rtc_channel *low_on; /* last BUFFERED_AMOUNT_LOW */
    pm_rtc_channel *closed[8];
    int nclosed;
} side;

static void drain(side *s)
{
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(s->pc, &ev)) {
        s->events[ev.type]++;
        switch (ev.type) {
        case PM_RTC_EVENT_DESCRIPTION:
            snprintf(s->local_type, sizeof s->local_type, "%s", ev.sdp_type);
            snprintf(s->local_sdp, sizeof s->local_sdp, "%s", ev.sdp);
            CHECK_EQ(pm_rtc_peer_set_remote_description(s->other->pc, ev.sdp_type, ev.sdp), PM_OK);
            break;
        case PM_RTC_EVENT_CANDIDATE:
            CHECK_EQ(
                pm_rtc_peer_add_ice_candidate(s->other->pc, ev.mid, ev.mline_index, ev.candidate),
                PM_OK);
            break;
        case PM_RTC_EVENT_DATA_CHANNEL:
            s->got = ev.channel;
            break;
        case PM_RTC_EVENT_STATE:
            s->state = ev.state;
            break;
        case PM_RTC_EVENT_BUFFERED_AMOUNT_LOW:
            s->low_on = ev.channel;
            break;
        case PM_RTC_EVENT_CHANNEL_CLOSED:
            if (s->nclosed < 8)
                s->closed[s->nclosed++] = ev.channel;
            break;
        default:
            break;
        }
    }
}

static void poll_both(void *ud)
{
    side *s = ud;
    pm_rtc_peer_poll(s->pc);
    pm_rtc_peer_poll(s->other->pc);
    drain(s);
    drain(s->other);
}

static bool all_open(void *ud)
{
    side *a = ud, *b = a->other;
    return pm_rtc_peer_get_state(a->pc) == PM_RTC_STATE_CONNECTED &&
           pm_rtc_peer_get_state(b->pc) == PM_RTC_STATE_CONNECTED && b->got &&
           pm_rtc_channel_get_ready_state(b->got) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_ready_state(a->chat) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_ready_state(a->rel) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_ready_state(b->rel) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_ready_state(b->unrel) == PM_RTC_CHANNEL_OPEN &&
           pm_rtc_channel_get_ready_state(b->rexmit) == PM_RTC_CHANNEL_OPEN;
}

static pm_rtc_channel *negotiated(pm_rtc_peer *pc, const char *label, int id, bool ordered,
                                  int lifetime, int rexmit)
{
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init);
    init.negotiated = true;
    init.id = id;
    init.ordered = ordered;
    init.max_packet_lifetime = lifetime;
    init.max_retransmits = rexmit;
    pm_rtc_channel *ch = NULL;
    CHECK_EQ(pm_rtc_peer_create_channel(pc, label, &init, &ch), PM_OK);
    return ch;
}

/* A message on `ch` of side `to`, once there. */
typedef struct wait_msg {
    side *s;
    pm_rtc_channel *ch;
} wait_msg;

static bool has_message(void *ud)
{
    wait_msg *w = ud;
    return pm_rtc_channel_get_available_packet_count(w->ch) > 0;
}

static void poll_for_message(void *ud)
{
    poll_both(((wait_msg *)ud)->s);
}

static bool take(side *s, pm_rtc_channel *ch, const uint8_t **data, size_t *len)
{
    wait_msg w = {s, ch};
    if (!CHECK(wait_until(poll_for_message, has_message, &w, 2000)))
        return false;
    return CHECK_EQ(pm_rtc_channel_get_packet(ch, data, len), PM_OK);
}

/* ---- tests ---- */

static void test_refused_before_connecting(void)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    pm_rtc_peer *pc = (pm_rtc_peer *)1;
    cfg.external_transport = true;
    CHECK_EQ(pm_rtc_peer_new(&cfg, &pc), PM_ERR_UNSUPPORTED);
    CHECK(pc == NULL);
    pm_rtc_certificate *cert = (pm_rtc_certificate *)1;
    CHECK_EQ(pm_rtc_certificate_generate(&cert), PM_ERR_UNSUPPORTED);
    CHECK(cert == NULL);

    pm_rtc_config_default(&cfg);
    const char *bad[] = {"http://127.0.0.1"};
    pm_ice_server srv = {.urls = bad, .url_count = 1};
    cfg.ice_servers = &srv;
    cfg.ice_server_count = 1;
    CHECK_EQ(pm_rtc_peer_new(&cfg, &pc), PM_ERR_PARSE);
    const char *turn[] = {"turn:127.0.0.1:3478?transport=udp"};
    srv = (pm_ice_server){.urls = turn, .url_count = 1};
    CHECK_EQ(pm_rtc_peer_new(&cfg, &pc), PM_ERR_INVALID); /* TURN without credentials */

    int before = fake_pc_count();
    const char *urls[] = {"stun:127.0.0.1:3478", "turn:127.0.0.1"};
    srv = (pm_ice_server){.urls = urls, .url_count = 2, .username = "u", .credential = "p\"w"};
    CHECK_EQ(pm_rtc_peer_new(&cfg, &pc), PM_OK);
    CHECK_EQ(fake_pc_count(), before + 1);
    CHECK(fake_ice_config_matches(before, "[{\"urls\":[\"stun:127.0.0.1:3478\",\"turn:127.0.0.1\"],"
                                          "\"username\":\"u\",\"credential\":\"p\\\"w\"}]"));
    CHECK_EQ(pm_rtc_peer_get_state(pc), PM_RTC_STATE_NEW);
    CHECK_EQ(pm_rtc_peer_rtt(pc), -1);
    CHECK_EQ(pm_rtc_peer_fd(pc), -1);
    CHECK_EQ(pm_rtc_peer_local_port(pc), 0);
    uint8_t d = 0;
    pm_addr from = {0};
    CHECK_EQ(pm_rtc_peer_handle_datagram(pc, 0, NULL, &from, &d, 1), PM_ERR_UNSUPPORTED);
    CHECK_EQ(pm_rtc_peer_handle_timeout(pc, 0), PM_ERR_UNSUPPORTED);
    pm_rtc_transmit tx;
    CHECK(!pm_rtc_peer_poll_transmit(pc, &tx));

    /* Channel options: the native stack's rules. */
    pm_rtc_channel_init init;
    pm_rtc_channel *ch;
    pm_rtc_channel_init_default(&init);
    init.max_packet_lifetime = 10;
    init.max_retransmits = 1;
    CHECK_EQ(pm_rtc_peer_create_channel(pc, "x", &init, &ch), PM_ERR_INVALID);
    pm_rtc_channel_init_default(&init);
    init.negotiated = true;
    CHECK_EQ(pm_rtc_peer_create_channel(pc, "x", &init, &ch), PM_ERR_INVALID); /* no id */
    init.id = 1024;
    CHECK_EQ(pm_rtc_peer_create_channel(pc, "x", &init, &ch), PM_ERR_INVALID);
    init.id = 7;
    CHECK_EQ(pm_rtc_peer_create_channel(pc, "x", &init, &ch), PM_OK);
    CHECK_EQ(pm_rtc_channel_get_id(ch), 7);
    CHECK_EQ(pm_rtc_channel_get_ready_state(ch), PM_RTC_CHANNEL_CONNECTING);
    CHECK_EQ(pm_rtc_channel_put_packet(ch, &d, 1), PM_ERR_STATE);
    CHECK_EQ(pm_rtc_peer_create_channel(pc, "y", &init, &ch), PM_ERR_EXISTS);

    /* JSEP in the wrong order, bad descriptions and candidates. */
    CHECK_EQ(pm_rtc_peer_set_remote_description(pc, "answer", "v=0\r\n"), PM_ERR_STATE);
    CHECK_EQ(pm_rtc_peer_set_remote_description(pc, "pranswer", "v=0\r\n"), PM_ERR_UNSUPPORTED);
    CHECK_EQ(pm_rtc_peer_set_remote_description(pc, "rollback", "v=0\r\n"), PM_ERR_INVALID);
    CHECK_EQ(pm_rtc_peer_set_remote_description(pc, "offer", "v=0\r\nm=audio 9 RTP/AVP 0\r\n"),
             PM_ERR_PARSE);
    CHECK_EQ(pm_rtc_peer_add_ice_candidate(pc, "0", 0, "candidate:garbage"), PM_ERR_PARSE);
    char line[128];
    int rc = PM_OK;
    for (int i = 0; i < 64 && rc == PM_OK; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host", i,
                 1000 + i);
        rc = pm_rtc_peer_add_ice_candidate(pc, "0", 0, line + (i % 2 ? 10 : 0));
    }
    CHECK_EQ(rc, PM_OK);
    CHECK_EQ(pm_rtc_peer_add_ice_candidate(pc, "0", 0, line), PM_ERR_FULL);
    CHECK_EQ(pm_rtc_peer_set_local_description(pc, "offer", "v=0"), PM_ERR_STATE);
    CHECK_EQ(pm_rtc_peer_create_offer(pc), PM_OK);
    CHECK_EQ(pm_rtc_peer_create_offer(pc), PM_ERR_STATE);
    pm_rtc_peer_close(pc);
    CHECK_EQ(pm_rtc_peer_create_offer(pc), PM_ERR_CLOSED);
    CHECK_EQ(pm_rtc_peer_poll(pc), PM_ERR_CLOSED);
    pm_rtc_peer_free(pc);
}

static void test_connection(void)
{
    side a = {0}, b = {0};
    a.other = &b;
    b.other = &a;
    int fa = fake_pc_count();
    CHECK_EQ(pm_rtc_peer_new(NULL, &a.pc), PM_OK);
    CHECK_EQ(pm_rtc_peer_new(NULL, &b.pc), PM_OK);
    a.rel = negotiated(a.pc, "rel", 1, true, -1, -1);
    a.unrel = negotiated(a.pc, "unrel", 2, false, 1, -1);
    a.rexmit = negotiated(a.pc, "rexmit", 3, true, -1, 0);
    b.rel = negotiated(b.pc, "rel", 1, true, -1, -1);
    b.unrel = negotiated(b.pc, "unrel", 2, false, 1, -1);
    b.rexmit = negotiated(b.pc, "rexmit", 3, true, -1, 0);
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init);
    init.protocol = "proto";
    CHECK_EQ(pm_rtc_peer_create_channel(a.pc, "chat", &init, &a.chat), PM_OK);
    CHECK_EQ(pm_rtc_channel_get_id(a.chat), 65535); /* in-band: no id before SCTP */

    /* Partial reliability and the rest reach the browser as its own options. */
    CHECK_EQ(fake_channel_init(fa, "unrel", "maxPacketLifeTime"), 1);
    CHECK_EQ(fake_channel_init(fa, "unrel", "ordered"), 0);
    CHECK_EQ(fake_channel_init(fa, "unrel", "maxRetransmits"), -2);
    CHECK_EQ(fake_channel_init(fa, "unrel", "negotiated"), 1);
    CHECK_EQ(fake_channel_init(fa, "unrel", "id"), 2);
    CHECK_EQ(fake_channel_init(fa, "rexmit", "maxRetransmits"), 0);
    CHECK_EQ(fake_channel_init(fa, "rexmit", "maxPacketLifeTime"), -2);
    CHECK_EQ(fake_channel_init(fa, "chat", "negotiated"), -2);
    CHECK_EQ(pm_rtc_channel_get_max_packet_lifetime(a.unrel), 1);
    CHECK_EQ(pm_rtc_channel_get_max_retransmits(a.rexmit), 0);
    CHECK(!pm_rtc_channel_is_ordered(a.unrel));
    CHECK(pm_rtc_channel_is_negotiated(a.unrel));

    CHECK_EQ(pm_rtc_peer_create_offer(a.pc), PM_OK);
    CHECK(wait_until(poll_both, all_open, &a, 3000));
    CHECK_EQ(a.state, PM_RTC_STATE_CONNECTED);
    CHECK_EQ(b.state, PM_RTC_STATE_CONNECTED);
    CHECK(a.events[PM_RTC_EVENT_CANDIDATE] >= 2); /* a host candidate and the end */
    CHECK(a.events[PM_RTC_EVENT_GATHERING_STATE] >= 2);
    CHECK(a.events[PM_RTC_EVENT_SIGNALING_STATE] >= 2); /* have-local-offer, stable */
    CHECK_EQ(pm_rtc_peer_get_signaling_state(a.pc), PM_RTC_SIGNALING_STABLE);
    CHECK_EQ(pm_rtc_peer_get_gathering_state(a.pc), PM_RTC_GATHERING_COMPLETE);
    CHECK_EQ(strcmp(a.local_type, "offer"), 0);
    CHECK_EQ(strcmp(b.local_type, "answer"), 0);
    CHECK_EQ(pm_rtc_peer_set_local_description(a.pc, "offer", a.local_sdp), PM_OK);
    CHECK_EQ(pm_rtc_peer_set_local_description(a.pc, "offer", "v=0\r\n"), PM_ERR_UNSUPPORTED);
    CHECK_EQ(pm_rtc_peer_set_remote_description(a.pc, "answer", b.local_sdp), PM_ERR_UNSUPPORTED);

    /* The in-band channel as the other side sees it. */
    CHECK_EQ(strcmp(pm_rtc_channel_get_label(b.got), "chat"), 0);
    CHECK_EQ(strcmp(pm_rtc_channel_get_protocol(b.got), "proto"), 0);
    CHECK(!pm_rtc_channel_is_negotiated(b.got));
    CHECK_EQ(pm_rtc_channel_get_id(b.got), 0); /* the offerer's even id */
    CHECK_EQ(pm_rtc_channel_get_id(a.chat), 0);
    CHECK_EQ(pm_rtc_channel_get_peer(b.got), b.pc);

    /* Binary, with a NUL inside; the poll model: nothing arrives without poll. */
    const uint8_t bin[] = {1, 0, 2, 255};
    const uint8_t *got;
    size_t n;
    CHECK_EQ(pm_rtc_channel_put_packet(a.rel, bin, sizeof bin), PM_OK);
    settle(20);
    CHECK_EQ(pm_rtc_channel_get_available_packet_count(b.rel), 0);
    CHECK_EQ(pm_rtc_channel_get_packet(b.rel, &got, &n), PM_ERR_AGAIN);
    pm_rtc_peer_poll(b.pc);
    CHECK_EQ(pm_rtc_channel_get_available_packet_count(b.rel), 1);
    if (take(&b, b.rel, &got, &n)) {
        CHECK_EQ(n, sizeof bin);
        CHECK(memcmp(got, bin, n) == 0);
        CHECK(!pm_rtc_channel_was_string_packet(b.rel));
    }

    /* Text mode: a string message; bytes that are not UTF-8 are refused. */
    pm_rtc_channel_set_write_mode(a.chat, PM_RTC_WRITE_TEXT);
    CHECK_EQ(pm_rtc_channel_get_write_mode(a.chat), PM_RTC_WRITE_TEXT);
    const char *text = "h\xc3\xa9llo";
    CHECK_EQ(pm_rtc_channel_put_packet(a.chat, (const uint8_t *)text, strlen(text)), PM_OK);
    if (take(&b, b.got, &got, &n)) {
        CHECK_EQ(n, strlen(text));
        CHECK(memcmp(got, text, n) == 0);
        CHECK(pm_rtc_channel_was_string_packet(b.got));
    }
    CHECK_EQ(pm_rtc_channel_put_packet(a.chat, (const uint8_t *)"\xff\xfe", 2), PM_ERR_INVALID);
    /* Empty messages, both ways and both kinds. */
    CHECK_EQ(pm_rtc_channel_put_packet(a.chat, NULL, 0), PM_OK);
    if (take(&b, b.got, &got, &n)) {
        CHECK_EQ(n, 0);
        CHECK(pm_rtc_channel_was_string_packet(b.got));
    }
    CHECK_EQ(pm_rtc_channel_put_packet(b.rel, NULL, 0), PM_OK);
    if (take(&a, a.rel, &got, &n)) {
        CHECK_EQ(n, 0);
        CHECK(!pm_rtc_channel_was_string_packet(a.rel));
    }
    /* Other channels carry their own messages. */
    CHECK_EQ(pm_rtc_channel_put_packet(b.unrel, bin, 2), PM_OK);
    if (take(&a, a.unrel, &got, &n))
        CHECK_EQ(n, 2);

    /* Size limits: the SCTP transport's, and the 16 MiB send buffer. */
    CHECK_EQ(pm_rtc_peer_max_message_size(a.pc), 262144);
    static uint8_t big[262145];
    CHECK_EQ(pm_rtc_channel_put_packet(a.rel, big, sizeof big), PM_ERR_TOO_BIG);
    fake_set_buffered(fa, "rel", 16 * 1024 * 1024 - 100);
    CHECK_EQ(pm_rtc_channel_put_packet(a.rel, big, 101), PM_ERR_FULL);
    CHECK_EQ(pm_rtc_channel_put_packet(a.rel, big, 100), PM_OK);
    fake_set_buffered(fa, "rel", 100); /* what the message itself left */
    (void)take(&b, b.rel, &got, &n);

    /* Buffered amount and its low-threshold event (each send above fired it: threshold 0). */
    poll_both(&a);
    a.low_on = NULL;
    a.events[PM_RTC_EVENT_BUFFERED_AMOUNT_LOW] = 0;
    fake_pause(1);
    pm_rtc_channel_set_buffered_amount_low_threshold(a.rel, 1000);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pm_rtc_channel_put_packet(a.rel, big, 1000), PM_OK);
    settle(10);
    CHECK_EQ(pm_rtc_channel_get_buffered_amount(a.rel), 3000);
    fake_pause(0);
    settle(10);
    CHECK(a.low_on == NULL); /* not before poll */
    poll_both(&a);
    CHECK(a.low_on == a.rel);
    CHECK_EQ(pm_rtc_channel_get_buffered_amount(a.rel), 0);
    CHECK_EQ(a.events[PM_RTC_EVENT_BUFFERED_AMOUNT_LOW], 1);
    for (int i = 0; i < 3; i++)
        (void)take(&b, b.rel, &got, &n);

    /* The round trip, from getStats() once connected. */
    CHECK(pm_rtc_peer_next_timeout(a.pc) != PM_TIME_NEVER);
    for (int i = 0; i < 50 && pm_rtc_peer_rtt(a.pc) < 0; i++) {
        poll_both(&a);
        settle(2);
    }
    CHECK_EQ(pm_rtc_peer_rtt(a.pc), 12500);
    CHECK_EQ(pm_rtc_channel_get_messages_abandoned(a.unrel), 0);

    /* Giving a channel back closes it on both sides; its events stop. */
    pm_rtc_channel_release(b.got);
    for (int i = 0; i < 20 && pm_rtc_channel_get_ready_state(a.chat) != PM_RTC_CHANNEL_CLOSED;
         i++) {
        poll_both(&a);
        settle(2);
    }
    CHECK_EQ(pm_rtc_channel_get_ready_state(a.chat), PM_RTC_CHANNEL_CLOSED);
    CHECK(a.nclosed == 1 && a.closed[0] == a.chat);
    CHECK_EQ(b.nclosed, 0); /* released: nothing reported */

    /* Closing: every channel closes, then signaling and the connection. */
    pm_rtc_peer_close(a.pc);
    drain(&a);
    CHECK_EQ(a.nclosed, 4);
    CHECK_EQ(a.state, PM_RTC_STATE_CLOSED);
    CHECK_EQ(pm_rtc_peer_get_signaling_state(a.pc), PM_RTC_SIGNALING_CLOSED);
    CHECK_EQ(pm_rtc_channel_put_packet(a.rel, bin, 1), PM_ERR_STATE);
    CHECK_EQ(pm_rtc_peer_create_channel(a.pc, "late", NULL, &a.chat), PM_ERR_STATE);
    CHECK_EQ(pm_rtc_peer_add_ice_candidate(a.pc, "0", 0, ""), PM_ERR_CLOSED);
    for (int i = 0; i < 20 && b.nclosed < 3; i++) {
        pm_rtc_peer_poll(b.pc);
        drain(&b);
        settle(2);
    }
    CHECK_EQ(b.nclosed, 3);
    CHECK_EQ(b.state, PM_RTC_STATE_DISCONNECTED);
    pm_rtc_peer_free(a.pc);
    pm_rtc_peer_free(b.pc);
}

int main(void)
{
    test_refused_before_connecting();
    test_connection();
    return check_summary("test_rtc_web");
}
