/*
 * `peermesh demo --pair` (or `demo-pair`) — a guided tour: two peers, "alice" (offerer) and "bob"
 * (answerer), in one process over UDP loopback. They open Godot's three
 * negotiated channels (WebRTCMultiplayerPeer layout) plus one in-band (DCEP)
 * channel, bounce text and binary messages over each, measure round trips,
 * close everything and print what happened. Exit 0 only if all of it worked.
 */
#include "cli.h"
#include "local_pair.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_CHANNELS   4
#define GODOT_LIFETIME  1 /* ms: Godot's lifetime for its lossy channels */
#define CONNECT_TIMEOUT PM_SEC(10)
#define REPLY_TIMEOUT   PM_SEC(1)
#define CLOSE_TIMEOUT   PM_SEC(2)
#define BINARY_SIZE     1000
#define PINGS           20
#define PING_SIZE       32

typedef struct demo_channel_spec {
    const char *label;
    bool negotiated;
    int id; /* negotiated channels only */
    bool ordered;
    int max_packet_lifetime; /* ms, -1 = reliable */
    const char *protocol;
} demo_channel_spec;

static const demo_channel_spec SPECS[DEMO_CHANNELS] = {
    {"reliable", true, 1, true, -1, NULL},
    {"ordered", true, 2, true, GODOT_LIFETIME, NULL},
    {"unreliable", true, 3, false, GODOT_LIFETIME, NULL},
    {"chat", false, -1, true, -1, "demo-chat"},
};

typedef struct demo_side {
    const char *name;
    pm_rtc_channel *ch[DEMO_CHANNELS];
} demo_side;

typedef struct demo {
    pm_cli_pair pair;
    pm_cli_loop loop;
    demo_side side[2];
    pm_time start;
    int problems;
    pm_time setup_time; /* offer created -> every channel open on both sides */
    pm_time close_time; /* close requested -> every channel closed on both sides */
    int sent, verified; /* messages alice sent and got back intact */
    pm_time rtt[PINGS]; /* sorted after the pings */
} demo;

static void say(const demo *d, int side, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One timeline line: time since the start, who, what. */
static void say(const demo *d, int side, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %9.3f ms  %-5s  ", (double)(pm_now() - d->start) / 1000.0,
           side < 0 ? "" : d->side[side].name);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void problem(demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("peermesh demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    d->problems++;
}

static void describe_reliability(const pm_rtc_channel *ch, char *buf, size_t cap)
{
    int lifetime = pm_rtc_channel_get_max_packet_lifetime(ch);
    int retransmits = pm_rtc_channel_get_max_retransmits(ch);
    if (lifetime >= 0)
        snprintf(buf, cap, "lifetime %d ms", lifetime);
    else if (retransmits >= 0)
        snprintf(buf, cap, "%d retransmits", retransmits);
    else
        snprintf(buf, cap, "reliable");
}

/* ---- timeline ---- */

static void on_remote_channel(demo *d, int side, pm_rtc_channel *ch)
{
    const char *label = pm_rtc_channel_get_label(ch);
    say(d, side, "in-band channel '%s' announced by the remote (DCEP)", label);
    for (int k = 0; k < DEMO_CHANNELS; k++) {
        if (!SPECS[k].negotiated && strcmp(SPECS[k].label, label) == 0 && !d->side[side].ch[k]) {
            d->side[side].ch[k] = ch;
            return;
        }
    }
    problem(d, "%s got an unexpected channel '%s'", d->side[side].name, label);
}

static void on_channel_open(demo *d, int side, pm_rtc_channel *ch)
{
    char reliability[32];
    describe_reliability(ch, reliability, sizeof reliability);
    say(d, side, "channel '%s' open: id %d, %s, %s, %s", pm_rtc_channel_get_label(ch),
        pm_rtc_channel_get_id(ch), pm_rtc_channel_is_ordered(ch) ? "ordered" : "unordered",
        reliability, pm_rtc_channel_is_negotiated(ch) ? "negotiated" : "in-band");
}

static void on_event(void *ud, int side, const pm_rtc_event *ev)
{
    demo *d = ud;
    switch (ev->type) {
    case PM_RTC_EVENT_DESCRIPTION:
        say(d, side, "%s created (%zu bytes of SDP), handed to %s", ev->sdp_type, strlen(ev->sdp),
            d->side[1 - side].name);
        break;
    case PM_RTC_EVENT_CANDIDATE:
        say(d, side, "%s", ev->candidate && ev->candidate[0] ? ev->candidate : "end of candidates");
        break;
    case PM_RTC_EVENT_DATA_CHANNEL:
        on_remote_channel(d, side, ev->channel);
        break;
    case PM_RTC_EVENT_STATE:
        say(d, side, "connection %s", pm_rtc_state_to_string(ev->state));
        if (ev->state == PM_RTC_STATE_FAILED)
            problem(d, "%s's connection failed", d->side[side].name);
        break;
    case PM_RTC_EVENT_GATHERING_STATE:
        say(d, side, "gathering %s", pm_rtc_gathering_state_to_string(ev->state));
        break;
    case PM_RTC_EVENT_SIGNALING_STATE:
        say(d, side, "signaling %s", pm_rtc_signaling_state_to_string(ev->state));
        break;
    case PM_RTC_EVENT_CHANNEL_OPEN:
        on_channel_open(d, side, ev->channel);
        break;
    case PM_RTC_EVENT_CHANNEL_CLOSED:
        say(d, side, "channel '%s' closed", pm_rtc_channel_get_label(ev->channel));
        break;
    case PM_RTC_EVENT_ICE_CANDIDATE_ERROR:
        say(d, side, "ICE server %s: %d %s", ev->url, ev->error_code, ev->error_text);
        break;
    case PM_RTC_EVENT_CHANNEL_MESSAGE:
    case PM_RTC_EVENT_BUFFERED_AMOUNT_LOW:
    case PM_RTC_EVENT_SELECTED_PAIR:
        break; /* the exchange phase reads the channels */
    }
}

/* ---- driving ---- */

typedef bool (*demo_done_fn)(const demo *d);

/* Step both peers until done(d), a problem, or the deadline. */
static bool run_until(demo *d, demo_done_fn done, pm_time deadline, const char *what)
{
    while (!done(d)) {
        if (d->problems)
            return false;
        if (pm_now() >= deadline) {
            problem(d, "timed out waiting until %s", what);
            return false;
        }
        int events = pm_cli_pair_step(&d->pair, on_event, d);
        if (events < 0) {
            problem(d, "driving the peers failed: %s", pm_strerror(events));
            return false;
        }
        if (events == 0 && !done(d))
            pm_cli_loop_wait(&d->loop, -1, deadline, NULL);
    }
    return d->problems == 0;
}

static bool all_in_state(const demo *d, pm_rtc_channel_state state)
{
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < DEMO_CHANNELS; k++) {
            const pm_rtc_channel *ch = d->side[side].ch[k];
            if (!ch || pm_rtc_channel_get_ready_state(ch) != state)
                return false;
        }
    return true;
}

static bool all_open(const demo *d)
{
    return all_in_state(d, PM_RTC_CHANNEL_OPEN);
}

static bool all_closed(const demo *d)
{
    return all_in_state(d, PM_RTC_CHANNEL_CLOSED);
}

/* ---- phase 1: connect ---- */

static int create_channels(demo *d, int side)
{
    for (int k = 0; k < DEMO_CHANNELS; k++) {
        const demo_channel_spec *spec = &SPECS[k];
        if (!spec->negotiated && side == PM_CLI_ANSWERER)
            continue; /* bob learns of it in-band */
        pm_rtc_channel_init init;
        pm_rtc_channel_init_default(&init);
        init.negotiated = spec->negotiated;
        init.id = spec->id;
        init.ordered = spec->ordered;
        init.max_packet_lifetime = spec->max_packet_lifetime;
        init.protocol = spec->protocol;
        int rc = pm_rtc_peer_create_channel(d->pair.peer[side], spec->label, &init,
                                            &d->side[side].ch[k]);
        if (rc < 0) {
            problem(d, "%s cannot create channel '%s': %s", d->side[side].name, spec->label,
                    pm_strerror(rc));
            return rc;
        }
    }
    return PM_OK;
}

static bool connect_peers(demo *d)
{
    printf("\nConnecting (every event of both peers, signaling handed over in-process):\n");
    if (create_channels(d, PM_CLI_OFFERER) < 0 || create_channels(d, PM_CLI_ANSWERER) < 0)
        return false;
    pm_time offer_at = pm_now();
    int rc = pm_cli_pair_start(&d->pair);
    if (rc < 0) {
        problem(d, "alice cannot create an offer: %s", pm_strerror(rc));
        return false;
    }
    if (!run_until(d, all_open, offer_at + CONNECT_TIMEOUT, "every channel is open"))
        return false;
    d->setup_time = pm_now() - offer_at;
    return true;
}

/* ---- phase 2: messages ---- */

/* Bob sends back whatever arrived on channel k, with the same type. */
static int bob_echoes(demo *d, int k)
{
    pm_rtc_channel *ch = d->side[PM_CLI_ANSWERER].ch[k];
    const uint8_t *data;
    size_t len;
    int rc;
    while ((rc = pm_rtc_channel_get_packet(ch, &data, &len)) == PM_OK) {
        bool text = pm_rtc_channel_was_string_packet(ch);
        pm_rtc_channel_set_write_mode(ch, text ? PM_RTC_WRITE_TEXT : PM_RTC_WRITE_BINARY);
        if ((rc = pm_rtc_channel_put_packet(ch, data, len)) < 0)
            return rc;
    }
    return rc == PM_ERR_AGAIN ? PM_OK : rc;
}

/* Did alice get her message back on channel k? 1 yes, 0 not yet, <0 wrong. */
static int alice_checks(demo *d, int k, const uint8_t *msg, size_t len, bool text)
{
    pm_rtc_channel *ch = d->side[PM_CLI_OFFERER].ch[k];
    const uint8_t *data;
    size_t got;
    int rc = pm_rtc_channel_get_packet(ch, &data, &got);
    if (rc == PM_ERR_AGAIN)
        return 0;
    if (rc < 0)
        return rc;
    if (got != len || memcmp(data, msg, len) != 0 || pm_rtc_channel_was_string_packet(ch) != text)
        return PM_ERR_PARSE;
    return 1;
}

/* Alice sends one message on channel k, bob echoes it; the round trip goes to *rtt. */
static int bounce(demo *d, int k, const uint8_t *msg, size_t len, bool text, pm_time *rtt)
{
    pm_rtc_channel *ch = d->side[PM_CLI_OFFERER].ch[k];
    pm_rtc_channel_set_write_mode(ch, text ? PM_RTC_WRITE_TEXT : PM_RTC_WRITE_BINARY);
    pm_time sent_at = pm_now(), deadline = sent_at + REPLY_TIMEOUT;
    int rc = pm_rtc_channel_put_packet(ch, msg, len);
    d->sent += rc == PM_OK;
    while (rc >= 0) {
        int events = pm_cli_pair_step(&d->pair, on_event, d);
        if (events < 0 || (rc = bob_echoes(d, k)) < 0)
            return events < 0 ? events : rc;
        if ((rc = alice_checks(d, k, msg, len, text)) != 0)
            break;
        if (pm_now() >= deadline)
            return PM_ERR_TIMEOUT;
        if (events == 0)
            pm_cli_loop_wait(&d->loop, -1, deadline, NULL);
    }
    *rtt = pm_now() - sent_at;
    return rc < 0 ? rc : PM_OK;
}

static void exchange_on(demo *d, int k)
{
    char text[64];
    uint8_t binary[BINARY_SIZE];
    int n = snprintf(text, sizeof text, "hello over %s", SPECS[k].label);
    for (size_t j = 0; j < sizeof binary; j++)
        binary[j] = (uint8_t)(j * 7 + (size_t)k);
    pm_time rtt_text = 0, rtt_binary = 0;
    int rc_text = bounce(d, k, (const uint8_t *)text, (size_t)n, true, &rtt_text);
    int rc_binary = bounce(d, k, binary, sizeof binary, false, &rtt_binary);
    d->verified += (rc_text == PM_OK) + (rc_binary == PM_OK);
    say(d, -1, "'%s': text \"%s\" %s (%.0f us), %d binary bytes %s (%.0f us)", SPECS[k].label, text,
        rc_text == PM_OK ? "echoed" : pm_strerror(rc_text), (double)rtt_text, BINARY_SIZE,
        rc_binary == PM_OK ? "echoed" : pm_strerror(rc_binary), (double)rtt_binary);
    if (rc_text < 0 || rc_binary < 0)
        problem(d, "message exchange on '%s' failed", SPECS[k].label);
}

static int compare_time(const void *a, const void *b)
{
    pm_time x = *(const pm_time *)a, y = *(const pm_time *)b;
    return (x > y) - (x < y);
}

static bool exchange_messages(demo *d)
{
    printf("\nMessages (alice sends, bob echoes with the same type, alice checks):\n");
    for (int k = 0; k < DEMO_CHANNELS; k++)
        exchange_on(d, k);
    uint8_t ping[PING_SIZE];
    for (int i = 0; i < PINGS && !d->problems; i++) {
        memset(ping, i, sizeof ping);
        int rc = bounce(d, 0, ping, sizeof ping, false, &d->rtt[i]);
        if (rc < 0)
            problem(d, "ping %d on '%s': %s", i, SPECS[0].label, pm_strerror(rc));
        d->verified += rc == PM_OK;
    }
    qsort(d->rtt, PINGS, sizeof d->rtt[0], compare_time);
    return d->problems == 0;
}

/* ---- phase 3: close ---- */

static bool close_everything(demo *d)
{
    printf("\nClosing (alice resets every stream, then both close):\n");
    pm_time close_at = pm_now();
    for (int k = 0; k < DEMO_CHANNELS; k++)
        pm_rtc_channel_close(d->side[PM_CLI_OFFERER].ch[k]);
    bool ok = run_until(d, all_closed, close_at + CLOSE_TIMEOUT, "every channel is closed");
    d->close_time = pm_now() - close_at;
    for (int side = 0; side < 2; side++) {
        pm_rtc_peer_close(d->pair.peer[side]);
        say(d, side, "closed; connection %s",
            pm_rtc_state_to_string(pm_rtc_peer_get_state(d->pair.peer[side])));
    }
    return ok;
}

/* ---- summary ---- */

/* Both ends of channel k must agree on everything the application can see. */
static bool sides_agree(const demo *d, int k)
{
    const pm_rtc_channel *a = d->side[PM_CLI_OFFERER].ch[k], *b = d->side[PM_CLI_ANSWERER].ch[k];
    const char *pa = pm_rtc_channel_get_protocol(a), *pb = pm_rtc_channel_get_protocol(b);
    return a && b && pm_rtc_channel_get_id(a) == pm_rtc_channel_get_id(b) &&
           pm_rtc_channel_is_ordered(a) == pm_rtc_channel_is_ordered(b) &&
           pm_rtc_channel_get_max_packet_lifetime(a) == pm_rtc_channel_get_max_packet_lifetime(b) &&
           pm_rtc_channel_get_max_retransmits(a) == pm_rtc_channel_get_max_retransmits(b) &&
           pm_rtc_channel_is_negotiated(a) == pm_rtc_channel_is_negotiated(b) &&
           strcmp(pa ? pa : "", pb ? pb : "") == 0 &&
           strcmp(pm_rtc_channel_get_label(a), pm_rtc_channel_get_label(b)) == 0;
}

static void print_channels(demo *d)
{
    printf("  channels:\n    %-11s %5s  %-9s %-15s %-11s %-10s %s\n", "label", "id", "ordered",
           "reliability", "negotiated", "protocol", "both sides agree");
    for (int k = 0; k < DEMO_CHANNELS; k++) {
        const pm_rtc_channel *ch = d->side[PM_CLI_OFFERER].ch[k];
        if (!ch)
            continue;
        char reliability[32];
        const char *protocol = pm_rtc_channel_get_protocol(ch);
        describe_reliability(ch, reliability, sizeof reliability);
        bool agree = sides_agree(d, k);
        printf("    %-11s %5d  %-9s %-15s %-11s %-10s %s\n", pm_rtc_channel_get_label(ch),
               pm_rtc_channel_get_id(ch), pm_rtc_channel_is_ordered(ch) ? "yes" : "no", reliability,
               pm_rtc_channel_is_negotiated(ch) ? "yes" : "no (DCEP)",
               protocol && protocol[0] ? protocol : "-", agree ? "yes" : "NO");
        if (!agree)
            problem(d, "the two ends of '%s' disagree on its properties", SPECS[k].label);
    }
}

static void print_summary(demo *d, bool connected, bool exchanged, bool closed)
{
    printf("\nSummary:\n");
    if (connected)
        printf("  setup: offer created -> %d channels open on both sides in %.3f ms\n",
               DEMO_CHANNELS, (double)d->setup_time / 1000.0);
    print_channels(d);
    printf("  messages: %d sent by alice, %d came back intact\n", d->sent, d->verified);
    if (exchanged) {
        pm_time ice_rtt = pm_rtc_peer_rtt(d->pair.peer[PM_CLI_OFFERER]);
        printf("  round trip: %d pings of %d bytes on '%s': min %lld us, median %lld us, "
               "max %lld us; ICE RTT %s%lld%s\n",
               PINGS, PING_SIZE, SPECS[0].label, (long long)d->rtt[0], (long long)d->rtt[PINGS / 2],
               (long long)d->rtt[PINGS - 1], ice_rtt < 0 ? "unknown (" : "", (long long)ice_rtt,
               ice_rtt < 0 ? ")" : " us");
    }
    if (closed)
        printf("  close: every channel closed on both sides in %.3f ms\n",
               (double)d->close_time / 1000.0);
    printf("  result: %s\n", d->problems == 0 ? "OK" : "FAILED");
}

static const pm_cli_expect PAIR_EXPECTS[] = {{'b', PM_CLI_EXPECT_IP}, {0, NULL}};

static const pm_cli_command PAIR_CMD = {
    .name = "demo --pair",
    .usage = "usage: peermesh demo --pair [--bind IP]\n",
    .expects = PAIR_EXPECTS,
};

static int take_option(void *ud, int code, const char *arg)
{
    return code == 'b' ? pm_cli_option_bind(&PAIR_CMD, arg, ud) : -1;
}

static int parse_options(int argc, char **argv, const char **bind_address)
{
    static const struct option longs[] = {
        {"bind", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *bind_address = PM_CLI_DEFAULT_BIND;
    int status =
        pm_cli_parse_options(&PAIR_CMD, argc, argv, 1, longs, take_option, (void *)bind_address);
    if (status >= 0)
        return status;
    return optind < argc ? pm_cli_unexpected(&PAIR_CMD, argv[optind]) : -1;
}

int pm_cli_demo_pair(int argc, char **argv)
{
    const char *bind_address;
    int status = parse_options(argc, argv, &bind_address);
    if (status >= 0)
        return status;
    demo d = {.side = {{.name = "alice"}, {.name = "bob"}}, .start = pm_now()};
    printf("peermesh %s demo: alice and bob, one process, UDP on %s\n", PM_VERSION_STRING,
           bind_address);
    if (pm_cli_loop_init(&d.loop, 2) < 0 || pm_cli_pair_new(&d.pair, bind_address) < 0 ||
        pm_cli_pair_watch(&d.pair, &d.loop) < 0) {
        pm_cli_pair_free(&d.pair);
        pm_cli_loop_destroy(&d.loop);
        return PM_CLI_EXIT_FAIL;
    }
    bool connected = connect_peers(&d);
    bool exchanged = connected && exchange_messages(&d);
    bool closed = exchanged && close_everything(&d);
    print_summary(&d, connected, exchanged, closed);
    pm_cli_pair_free(&d.pair);
    pm_cli_loop_destroy(&d.loop);
    return d.problems == 0 && closed ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL;
}
