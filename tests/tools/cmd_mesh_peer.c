/*
 * `peermesh mesh-peer` — a 2-node WebRTC mesh (include/peermesh/mesh.h)
 * speaking the interop peer interface (tests/interop/README.md), so that
 * pair.py can pair the mesh with a headless Chromium page running Godot's
 * three negotiated channels (`--channels reliable,ordered,unreliable`).
 *
 * The offerer is mesh node 1 and the answerer node 2 (create_mesh); each
 * adds the other as its one peer. Every message goes through the
 * multiplayer-peer interface: sent with the transfer mode of its channel
 * (RELIABLE, UNRELIABLE_ORDERED, UNRELIABLE), received with get_packet,
 * which says the sender and the mode, hence the channel. "open" events are
 * emitted for the three channels when the mesh reports PEER_CONNECTED.
 *
 *   peermesh mesh-peer (--offer | --answer) [--echo | --send N [--size B[,B...]]]
 *        [--channels reliable,ordered,unreliable] [--max-packet-lifetime MS]
 *        [--timeout S] [--bind IP]
 */
#include "cli.h"
#include "json_out.h"
#include "mesh_io.h"
#include "peer_traffic.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNELS    3
#define IDLE_LIMIT  PM_SEC(2)
#define CLOSE_WAIT  PM_SEC(2)
#define SEND_BUDGET 64
#define MAX_SIZES   64

static const char USAGE[] =
    "usage: peermesh mesh-peer (--offer | --answer) [--echo | --send N [--size B[,B...]]]\n"
    "                          [--channels reliable,ordered,unreliable] [--max-packet-lifetime "
    "MS]\n"
    "                          [--timeout S] [--bind IP]\n"
    "\n"
    "A 2-node WebRTC mesh speaking the interop peer interface (Godot's three channels).\n";

static const pm_cli_command CMD = {.name = "mesh-peer", .usage = USAGE};

typedef struct mp_opts {
    bool offer, answer, echo;
    long send;
    size_t sizes[MAX_SIZES];
    size_t size_count;
    long lifetime;
    pm_cli_mesh_io_options io;
} mp_opts;

typedef struct mp_chan {
    uint64_t sent, replies, bytes;
} mp_chan;

typedef struct mp_run {
    const mp_opts *opt;
    pm_cli_mesh_io io;
    int32_t self, other;
    bool description_sent;
    json_t *held; /* our candidates until our description is out */
    pm_cli_traffic traffic;
    mp_chan chans[CHANNELS];
    bool started, finished, peer_gone;
    int exit_code;
    pm_time first_tx, last_tx, last_rx;
} mp_run;

static const pm_mp_transfer_mode MODES[CHANNELS] = {
    PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE};
static const char *const LABELS[CHANNELS] = {"reliable", "ordered", "unreliable"};

static int channel_of(pm_mp_transfer_mode mode)
{
    for (int i = 0; i < CHANNELS; i++)
        if (MODES[i] == mode)
            return i;
    return 0;
}

/* ---- options ---- */

static int take_option(void *ud, int code, const char *arg)
{
    mp_opts *o = ud;
    int n;
    switch (code) {
    case 'o':
        o->offer = true;
        break;
    case 'a':
        o->answer = true;
        break;
    case 'e':
        o->echo = true;
        break;
    case 'n':
        if (!pm_cli_parse_long(arg, 1, 1000000, &o->send))
            return pm_cli_bad_value(&CMD, "--send", "a number of messages 1..1000000", arg);
        break;
    case 'z':
        n = pm_cli_parse_size_list(arg, o->sizes, MAX_SIZES, 262144);
        if (n <= 0)
            return pm_cli_bad_value(&CMD, "--size", "sizes up to 262144 separated by commas", arg);
        o->size_count = (size_t)n;
        break;
    case 'c':
        if (strcmp(arg, "reliable,ordered,unreliable") != 0)
            return pm_cli_bad_value(&CMD, "--channels",
                                    "Godot's three channels: reliable,ordered,unreliable", arg);
        break;
    case 'l':
        if (!pm_cli_parse_long(arg, 0, 65535, &o->lifetime))
            return pm_cli_bad_value(&CMD, "--max-packet-lifetime", "milliseconds 0..65535", arg);
        break;
    }
    return -1;
}

static int parse(int argc, char **argv, mp_opts *o)
{
    static const struct option longs[] = {
        {"offer", no_argument, NULL, 'o'},
        {"answer", no_argument, NULL, 'a'},
        {"echo", no_argument, NULL, 'e'},
        {"send", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'z'},
        {"channels", required_argument, NULL, 'c'},
        {"max-packet-lifetime", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->lifetime = PM_MESH_LIFETIME_DEFAULT;
    o->io = (pm_cli_mesh_io_options){30, PM_CLI_DEFAULT_BIND};
    o->sizes[0] = 1200;
    o->size_count = 1;
    int status = pm_cli_mesh_io_parse(&CMD, argc, argv, longs, take_option, o, &o->io);
    if (status >= 0)
        return status;
    if (o->offer == o->answer)
        return pm_cli_usage_error(&CMD, "need exactly one of --offer, --answer", NULL);
    if (o->echo && o->send)
        return pm_cli_usage_error(&CMD, "--echo and --send exclude each other", NULL);
    return -1;
}

/* ---- results ---- */

static void finish(mp_run *run, int code, json_t *result)
{
    if (run->finished) {
        json_decref(result);
        return;
    }
    run->finished = true;
    run->exit_code = code;
    if (result)
        pm_cli_emit_event(&run->io.out, result);
}

static void fail(mp_run *run, const char *why)
{
    if (!run->finished)
        pm_cli_logf(&run->io.out, "failed: %s", why);
    finish(run, PM_CLI_EXIT_FAIL,
           json_pack("{s:s, s:b, s:s}", "event", "result", "ok", 0, "error", why));
}

static json_t *progress(const mp_run *run)
{
    json_t *list = json_array();
    for (int i = 0; i < CHANNELS; i++) {
        const mp_chan *ch = &run->chans[i];
        uint64_t lost = ch->sent > ch->replies ? ch->sent - ch->replies : 0;
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I}", "label", LABELS[i], "sent",
                                              (json_int_t)ch->sent, "replies",
                                              (json_int_t)ch->replies, "lost", (json_int_t)lost));
    }
    return list;
}

static void finish_send(mp_run *run)
{
    uint64_t sent = 0, replies = 0, bytes = 0;
    for (int i = 0; i < CHANNELS; i++) {
        sent += run->chans[i].sent;
        replies += run->chans[i].replies;
        bytes += run->chans[i].bytes;
    }
    const mp_chan *rel = &run->chans[0];
    double ms = (double)(run->last_rx - run->first_tx) / 1000.0;
    json_t *r = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "event", "result", "ok",
                          rel->replies == rel->sent, "mode", "send", "messages", (json_int_t)sent,
                          "replies", (json_int_t)replies, "bytes", (json_int_t)bytes, "elapsed_ms",
                          pm_cli_json_rounded(ms, 1), "mb_per_s",
                          pm_cli_json_rounded(ms > 0 ? (double)bytes / ms / 1000.0 : 0, 2),
                          "channels", progress(run));
    if (r && rel->replies != rel->sent)
        json_object_set_new(r, "error", json_string("lost messages on the reliable channel"));
    finish(run, rel->replies == rel->sent ? PM_CLI_EXIT_OK : PM_CLI_EXIT_FAIL, r);
}

/* ---- signaling ---- */

static void write_signal(mp_run *run, json_t *msg)
{
    if (!msg || pm_cli_send_signal(&run->io.out, msg) < 0)
        fail(run, "cannot write signaling to stdout");
}

static void on_signal(void *ud, int32_t peer, const pm_rtc_event *ev)
{
    mp_run *run = ud;
    (void)peer;
    json_t *msg = pm_cli_mesh_signal_message(ev);
    if (ev->type == PM_RTC_EVENT_DESCRIPTION) {
        write_signal(run, msg);
        run->description_sent = true;
        for (size_t i = 0; i < json_array_size(run->held); i++)
            write_signal(run, json_incref(json_array_get(run->held, i)));
        json_array_clear(run->held);
        return;
    }
    if (run->description_sent)
        write_signal(run, msg);
    else
        json_array_append_new(run->held, msg);
}

static void handle_line(void *ud, const char *line, size_t len)
{
    mp_run *run = ud;
    if (strspn(line, " \t") == len)
        return;
    pm_rtc_peer *pc = pm_cli_mesh_connection(run->io.mesh, run->other);
    char err[512];
    pm_cli_signal_status st =
        pc ? pm_cli_signal_apply(pc, line, len, err, sizeof err) : PM_CLI_SIGNAL_IGNORED;
    if (st == PM_CLI_SIGNAL_FATAL)
        fail(run, err);
    else if (st == PM_CLI_SIGNAL_IGNORED && pc)
        pm_cli_logf(&run->io.out, "%s", err);
}

/* ---- traffic ---- */

static void emit_opens(mp_run *run)
{
    pm_mesh_peer_info info;
    if (pm_mesh_get_peer(run->io.mesh, run->other, &info) != PM_OK)
        return;
    for (size_t i = 0; i < info.channel_count; i++) {
        pm_rtc_channel *h = info.channels[i];
        json_t *ev = json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:b, s:s}", "event", "open", "label",
                               pm_rtc_channel_get_label(h), "id", pm_rtc_channel_get_id(h),
                               "ordered", pm_rtc_channel_is_ordered(h), "maxRetransmits",
                               pm_cli_json_optional_int(pm_rtc_channel_get_max_retransmits(h)),
                               "maxPacketLifeTime",
                               pm_cli_json_optional_int(pm_rtc_channel_get_max_packet_lifetime(h)),
                               "negotiated", pm_rtc_channel_is_negotiated(h), "protocol", "");
        if (ev)
            pm_cli_emit_event(&run->io.out, ev);
    }
}

static void on_mp_event(void *ud, const pm_mp_event *ev)
{
    mp_run *run = ud;
    pm_cli_logf(&run->io.out, "mesh: %s %d", pm_mp_event_type_to_string(ev->type),
                (int)ev->peer_id);
    if (ev->type == PM_MP_EVENT_PEER_CONNECTED && !run->started) {
        run->started = true;
        run->first_tx = run->last_tx = run->last_rx = pm_now();
        emit_opens(run);
        if (!run->opt->echo && !run->opt->send)
            finish(run, PM_CLI_EXIT_OK,
                   json_pack("{s:s, s:b, s:s}", "event", "result", "ok", 1, "mode", "connect"));
    } else if (ev->type == PM_MP_EVENT_PEER_DISCONNECTED) {
        run->peer_gone = true;
        if (run->opt->echo) {
            uint64_t messages = 0, bytes = 0;
            for (int i = 0; i < CHANNELS; i++) {
                messages += run->chans[i].replies;
                bytes += run->chans[i].bytes;
            }
            finish(run, PM_CLI_EXIT_OK,
                   json_pack("{s:s, s:b, s:s, s:I, s:I}", "event", "result", "ok", 1, "mode",
                             "echo", "messages", (json_int_t)messages, "bytes", (json_int_t)bytes));
        } else if (run->opt->send) {
            fail(run, "the remote left before the test was over");
        }
    }
}

/* Queue more messages on each channel while its send buffer has room. True: more to send. */
static bool send_some(mp_run *run)
{
    pm_mesh_peer_info info;
    if (pm_mesh_get_peer(run->io.mesh, run->other, &info) != PM_OK)
        return false;
    bool more = false;
    pm_mp_set_target_peer(run->io.mp, run->other);
    for (int c = 0; c < CHANNELS; c++) {
        mp_chan *ch = &run->chans[c];
        pm_mp_set_transfer_mode(run->io.mp, MODES[c]);
        for (int k = 0; k < SEND_BUDGET && ch->sent < (uint64_t)run->opt->send; k++) {
            if (pm_rtc_channel_get_buffered_amount(info.channels[c]) > PM_CLI_HIGH_WATER)
                break;
            size_t n = pm_cli_traffic_size(&run->traffic, ch->sent);
            int rc =
                pm_mp_put_packet(run->io.mp, pm_cli_traffic_payload(&run->traffic, ch->sent), n);
            if (rc == PM_ERR_FULL)
                break;
            if (rc < 0) {
                char why[128];
                snprintf(why, sizeof why, "put_packet on '%s': %s", LABELS[c], pm_strerror(rc));
                fail(run, why);
                return false;
            }
            ch->sent++;
            ch->bytes += n;
            run->last_tx = pm_now();
        }
        more |= ch->sent < (uint64_t)run->opt->send;
    }
    return more;
}

static void receive(mp_run *run)
{
    pm_mp_packet p;
    while (!run->finished && pm_mp_get_packet(run->io.mp, &p) == PM_OK) {
        int c = channel_of(p.mode);
        mp_chan *ch = &run->chans[c];
        run->last_rx = pm_now();
        if (run->opt->echo) {
            pm_mp_set_target_peer(run->io.mp, p.from);
            pm_mp_set_transfer_mode(run->io.mp, p.mode);
            int rc = pm_mp_put_packet(run->io.mp, p.data, p.len);
            if (rc < 0 && c == 0) {
                fail(run, "cannot echo on the reliable channel");
                return;
            }
            ch->replies++;
            ch->bytes += p.len;
            continue;
        }
        char err[256];
        if (!pm_cli_traffic_check_reply(&run->traffic, ch->replies, ch->sent, c == 0, p.data, p.len,
                                        false, err, sizeof err)) {
            fail(run, err);
            return;
        }
        ch->replies++;
    }
}

static bool all_answered(const mp_run *run)
{
    for (int c = 0; c < CHANNELS; c++)
        if (run->chans[c].replies < (uint64_t)run->opt->send)
            return false;
    return true;
}

static void check_done(mp_run *run)
{
    if (!run->started || run->finished || !run->opt->send)
        return;
    bool all_sent = true;
    for (int c = 0; c < CHANNELS; c++)
        all_sent &= run->chans[c].sent == (uint64_t)run->opt->send;
    pm_time last = max_time(run->last_tx, run->last_rx);
    if (all_sent && (all_answered(run) || pm_now() - last >= IDLE_LIMIT))
        finish_send(run);
}

/* ---- the run ---- */

static bool step(mp_run *run)
{
    pm_cli_mesh_pump(run->io.mesh, on_signal, on_mp_event, run);
    bool more = false;
    if (run->started && !run->finished) {
        receive(run);
        if (run->opt->send && !run->finished)
            more = send_some(run);
    }
    pm_cli_mesh_drain(run->io.mesh, on_signal, run);
    check_done(run);
    return more;
}

static bool channels_closed(const mp_run *run)
{
    pm_mesh_peer_info info;
    if (pm_mesh_get_peer(run->io.mesh, run->other, &info) != PM_OK)
        return true;
    for (size_t i = 0; i < info.channel_count; i++)
        if (pm_rtc_channel_get_ready_state(info.channels[i]) != PM_RTC_CHANNEL_CLOSED)
            return false;
    return true;
}

/* The interface's polite end: reset our streams, give the remote up to 2 s, then close. The
 * connection is driven directly: a mesh poll would drop the peer at the first closing channel. */
static void shut_down(mp_run *run)
{
    pm_mesh_peer_info info;
    if (!run->peer_gone && pm_mesh_get_peer(run->io.mesh, run->other, &info) == PM_OK) {
        for (size_t i = 0; i < info.channel_count; i++)
            pm_rtc_channel_close(info.channels[i]);
        pm_time until = pm_now() + CLOSE_WAIT;
        while (!channels_closed(run) && pm_now() < until) {
            pm_cli_mesh_wait(&run->io.loop, run->io.mesh, -1, until, NULL);
            pm_rtc_peer_poll(info.connection);
            pm_rtc_event ev;
            while (pm_rtc_peer_next_event(info.connection, &ev))
                ;
        }
    }
    pm_mesh_close(run->io.mesh); /* closes the connection: DTLS close_notify goes out */
}

static int set_up(mp_run *run)
{
    const mp_opts *o = run->opt;
    run->self = o->offer ? 1 : 2;
    run->other = o->offer ? 2 : 1;
    run->held = json_array();
    int rc = run->held ? pm_cli_mesh_io_open(&run->io, NULL, run->self, false, 1) : PM_ERR_NOMEM;
    if (rc == PM_OK)
        rc = pm_cli_traffic_init(&run->traffic, o->sizes, o->size_count, false);
    if (rc == PM_OK)
        rc = pm_cli_mesh_connect(run->io.mesh, run->other, o->io.bind_address, (int)o->lifetime);
    if (rc == PM_OK && o->offer)
        rc = pm_rtc_peer_create_offer(pm_cli_mesh_connection(run->io.mesh, run->other));
    return rc;
}

int pm_cli_mesh_peer(int argc, char **argv)
{
    pm_time start = pm_now();
    mp_opts opt;
    int status = parse(argc, argv, &opt);
    if (status >= 0)
        return status;
    mp_run run = {.opt = &opt};
    pm_cli_mesh_io_init(&run.io, start);
    pm_time deadline = start + (pm_time)(opt.io.timeout_s * 1e6);
    int rc = set_up(&run);
    if (rc < 0) {
        char why[128];
        snprintf(why, sizeof why, "set-up failed: %s", pm_strerror(rc));
        fail(&run, why);
    }
    while (!run.finished) {
        bool busy = step(&run);
        if (run.finished)
            break;
        if (pm_now() >= deadline) {
            finish(&run, PM_CLI_EXIT_TIMEOUT,
                   json_pack("{s:s, s:b, s:s, s:o}", "event", "result", "ok", 0, "error", "timeout",
                             "channels", progress(&run)));
            break;
        }
        pm_time wake = busy ? pm_now() : min_time(deadline, pm_now() + PM_MS(100));
        bool input_ready;
        if (pm_cli_mesh_io_wait(&run.io, wake, &input_ready) < 0) {
            fail(&run, "poll(2) failed");
            break;
        }
        if (input_ready && pm_cli_mesh_io_read(&run.io, handle_line, &run) < 0)
            fail(&run, "out of memory");
    }
    if (run.io.mesh && run.opt->send && run.exit_code != PM_CLI_EXIT_TIMEOUT)
        shut_down(&run);
    pm_cli_mesh_io_free(&run.io);
    pm_cli_traffic_free(&run.traffic);
    json_decref(run.held);
    return run.exit_code;
}
