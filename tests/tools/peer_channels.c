/*
 * Channels of `peermesh peer` and the behaviours that run on them once every
 * expected channel is open (interop README, "Behaviours"): --send with reply
 * checks, --echo, --sink, or plain connect.
 */
#include "peer_run.h"

#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define IDLE_LIMIT     PM_SEC(2) /* lossy channel: stop waiting for replies after this */
#define SEND_BUDGET    64        /* messages queued per channel per pump: keeps the loop turning */
#define RECEIVE_BUDGET 256       /* messages taken per channel per pump */

static const char *mode_name(pm_cli_peer_mode mode)
{
    switch (mode) {
    case PM_CLI_MODE_SEND:
        return "send";
    case PM_CLI_MODE_ECHO:
        return "echo";
    case PM_CLI_MODE_SINK:
        return "sink";
    default:
        return "connect";
    }
}

void pm_cli_run_note_pair(pm_cli_peer_run *run)
{
    pm_rtc_candidate_pair cp;
    if (!run->pc || pm_rtc_peer_get_selected_pair(run->pc, &cp) != PM_OK)
        return;
    run->pair = cp;
    run->have_pair = true;
    snprintf(run->relay_protocol, sizeof run->relay_protocol, "%s",
             cp.relay_protocol ? cp.relay_protocol : "");
    run->pair.relay_protocol = NULL; /* the copy above outlives the connection */
}

/* README "Events": the selected pair's types and addresses in every result. */
static void add_pair(const pm_cli_peer_run *run, json_t *result)
{
    if (!run->have_pair || !result)
        return;
    char local[PM_ADDR_STRLEN], remote[PM_ADDR_STRLEN];
    json_object_set_new(result, "local_candidate_type",
                        json_string(pm_rtc_candidate_type_name(run->pair.local_type)));
    json_object_set_new(result, "remote_candidate_type",
                        json_string(pm_rtc_candidate_type_name(run->pair.remote_type)));
    json_object_set_new(result, "local_candidate",
                        json_string(pm_addr_format(&run->pair.local, local, sizeof local)));
    json_object_set_new(result, "remote_candidate",
                        json_string(pm_addr_format(&run->pair.remote, remote, sizeof remote)));
    if (run->relay_protocol[0])
        json_object_set_new(result, "relay_protocol", json_string(run->relay_protocol));
    if (run->restarts)
        json_object_set_new(result, "ice_restarts", json_integer(run->restarts));
}

void pm_cli_run_finish(pm_cli_peer_run *run, int exit_code, json_t *result)
{
    if (run->finished) {
        json_decref(result);
        return;
    }
    run->finished = true;
    run->exit_code = exit_code;
    pm_cli_run_note_pair(run);
    add_pair(run, result);
    pm_cli_emit_event(&run->out, result);
}

void pm_cli_run_fail(pm_cli_peer_run *run, const char *fmt, ...)
{
    char error[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, sizeof error, fmt, ap);
    va_end(ap);
    if (!run->finished)
        pm_cli_logf(&run->out, "failed: %s", error);
    pm_cli_run_finish(run, PM_CLI_EXIT_FAIL,
                      json_pack("{s:s, s:b, s:s}", "event", "result", "ok", 0, "error", error));
}

json_t *pm_cli_run_progress(const pm_cli_peer_run *run)
{
    json_t *list = json_array();
    for (size_t i = 0; i < run->chan_count; i++) {
        const pm_cli_peer_channel *ch = &run->chans[i];
        uint64_t lost = ch->sent > ch->received ? ch->sent - ch->received : 0;
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I}", "label", ch->label, "sent",
                                              (json_int_t)ch->sent, "replies",
                                              (json_int_t)ch->received, "lost", (json_int_t)lost));
    }
    return list;
}

/* ---- the end of a run ---- */

static void finish_send(pm_cli_peer_run *run)
{
    uint64_t sent = 0, replies = 0, bytes = 0;
    char error[256] = "";
    for (size_t i = 0; i < run->chan_count; i++) {
        const pm_cli_peer_channel *ch = &run->chans[i];
        sent += ch->sent;
        replies += ch->received;
        bytes += ch->bytes;
        if (ch->strict && ch->received < ch->sent && !error[0])
            snprintf(error, sizeof error,
                     "'%s' lost %" PRIu64 " of %" PRIu64 " on a reliable channel", ch->label,
                     ch->sent - ch->received, ch->sent);
    }
    double elapsed_ms = (double)(run->last_rx - run->first_tx) / 1000.0;
    json_t *result = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:o}", "event", "result", "ok",
                               !error[0], "mode", "send", "messages", (json_int_t)sent, "replies",
                               (json_int_t)replies, "bytes", (json_int_t)bytes, "elapsed_ms",
                               pm_cli_json_rounded(elapsed_ms > 0 ? elapsed_ms : 0, 1));
    if (elapsed_ms > 0)
        json_object_set_new(result, "mb_per_s",
                            pm_cli_json_rounded((double)bytes / (elapsed_ms * 1000.0), 2));
    json_object_set_new(result, "channels", pm_cli_run_progress(run));
    if (error[0])
        json_object_set_new(result, "error", json_string(error));
    pm_cli_run_finish(run, error[0] ? PM_CLI_EXIT_FAIL : PM_CLI_EXIT_OK, result);
}

static void finish_receiver(pm_cli_peer_run *run)
{
    uint64_t messages = 0, bytes = 0;
    for (size_t i = 0; i < run->chan_count; i++) {
        messages += run->chans[i].received;
        bytes += run->chans[i].bytes;
    }
    pm_cli_run_finish(run, PM_CLI_EXIT_OK,
                      json_pack("{s:s, s:b, s:s, s:I, s:I}", "event", "result", "ok", 1, "mode",
                                mode_name(run->opt->mode), "messages", (json_int_t)messages,
                                "bytes", (json_int_t)bytes));
}

static bool every_reply_in(const pm_cli_peer_run *run)
{
    for (size_t i = 0; i < run->chan_count; i++)
        if (run->chans[i].received < (uint64_t)run->opt->send_count)
            return false;
    return true;
}

pm_time pm_cli_run_idle_deadline(const pm_cli_peer_run *run)
{
    if (run->opt->mode != PM_CLI_MODE_SEND || !run->started || run->finished)
        return PM_TIME_NEVER;
    pm_time last = run->last_rx > run->last_tx ? run->last_rx : run->last_tx;
    return last + IDLE_LIMIT;
}

void pm_cli_run_check_idle(pm_cli_peer_run *run, pm_time now)
{
    if (now < pm_cli_run_idle_deadline(run))
        return;
    for (size_t i = 0; i < run->chan_count; i++) {
        const pm_cli_peer_channel *ch = &run->chans[i];
        /* A reliable channel owes every reply: keep waiting (--timeout ends it). */
        if (ch->sent < (uint64_t)run->opt->send_count || (ch->strict && ch->received < ch->sent))
            return;
    }
    finish_send(run);
}

void pm_cli_run_on_remote_closed(pm_cli_peer_run *run)
{
    pm_cli_peer_mode mode = run->opt->mode;
    if ((mode == PM_CLI_MODE_ECHO || mode == PM_CLI_MODE_SINK) && run->open_count > 0)
        finish_receiver(run);
    else
        pm_cli_run_fail(run, "the peer connection closed before the test ended");
}

/* ---- channel lifecycle ---- */

static pm_cli_peer_channel *find(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    for (size_t i = 0; i < run->chan_count; i++)
        if (run->chans[i].handle == handle)
            return &run->chans[i];
    return NULL;
}

int pm_cli_run_track(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    if (run->chan_count == PM_CLI_PEER_MAX_CHANNELS)
        return PM_ERR_FULL;
    pm_cli_peer_channel *ch = &run->chans[run->chan_count++];
    *ch = (pm_cli_peer_channel){.handle = handle, .label = pm_rtc_channel_get_label(handle)};
    if (!ch->label)
        ch->label = "";
    return PM_OK;
}

static void emit_open(pm_cli_peer_run *run, pm_rtc_channel *h)
{
    const char *protocol = pm_rtc_channel_get_protocol(h);
    json_t *ev = json_pack(
        "{s:s, s:s, s:i, s:b, s:o, s:o, s:b, s:s}", "event", "open", "label",
        pm_rtc_channel_get_label(h), "id", pm_rtc_channel_get_id(h), "ordered",
        pm_rtc_channel_is_ordered(h), "maxRetransmits",
        pm_cli_json_optional_int(pm_rtc_channel_get_max_retransmits(h)), "maxPacketLifeTime",
        pm_cli_json_optional_int(pm_rtc_channel_get_max_packet_lifetime(h)), "negotiated",
        pm_rtc_channel_is_negotiated(h), "protocol", protocol ? protocol : "");
    if (ev)
        pm_cli_emit_event(&run->out, ev);
}

static void start_behaviour(pm_cli_peer_run *run)
{
    run->started = true;
    run->first_tx = run->last_tx = run->last_rx = pm_now();
    if (run->opt->mode == PM_CLI_MODE_CONNECT)
        pm_cli_run_finish(
            run, PM_CLI_EXIT_OK,
            json_pack("{s:s, s:b, s:s}", "event", "result", "ok", 1, "mode", "connect"));
}

void pm_cli_run_on_channel_open(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    pm_cli_peer_channel *ch = find(run, handle);
    if (!ch || ch->open)
        return;
    ch->open = true;
    ch->label = pm_rtc_channel_get_label(handle); /* an in-band label is final only now */
    ch->strict = pm_rtc_channel_is_ordered(handle) &&
                 pm_rtc_channel_get_max_retransmits(handle) < 0 &&
                 pm_rtc_channel_get_max_packet_lifetime(handle) < 0;
    pm_rtc_channel_set_buffered_amount_low_threshold(handle, PM_CLI_LOW_WATER);
    bool text_out = run->opt->mode == PM_CLI_MODE_SINK ||
                    (run->opt->mode == PM_CLI_MODE_SEND && run->opt->text);
    pm_rtc_channel_set_write_mode(handle, text_out ? PM_RTC_WRITE_TEXT : PM_RTC_WRITE_BINARY);
    emit_open(run, handle);
    if (++run->open_count == run->expected && !run->started)
        start_behaviour(run);
}

static bool all_closed(const pm_cli_peer_run *run)
{
    for (size_t i = 0; i < run->chan_count; i++)
        if (!run->chans[i].closed)
            return false;
    return true;
}

void pm_cli_run_on_channel_closed(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    pm_cli_peer_channel *ch = find(run, handle);
    if (!ch || ch->closed)
        return;
    ch->closed = true;
    pm_cli_logf(&run->out, "channel '%s' closed", ch->label);
    if (run->finished)
        return;
    pm_cli_peer_mode mode = run->opt->mode;
    if (mode == PM_CLI_MODE_ECHO || mode == PM_CLI_MODE_SINK) {
        if (all_closed(run) && run->open_count > 0)
            finish_receiver(run);
        return;
    }
    pm_cli_run_fail(run, "channel '%s' closed before the test ended", ch->label);
}

void pm_cli_run_on_buffered_low(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    pm_cli_peer_channel *ch = find(run, handle);
    if (ch)
        ch->paused = false;
}

/* ---- moving data ---- */

/* Returns true when the budget ran out with messages still to send. */
pm_time pm_cli_run_next_send(const pm_cli_peer_run *run)
{
    if (run->opt->interval_ms <= 0 || !run->started || run->finished)
        return PM_TIME_NEVER;
    for (size_t i = 0; i < run->chan_count; i++)
        if (run->chans[i].sent < (uint64_t)run->opt->send_count)
            return run->next_send;
    return PM_TIME_NEVER;
}

static bool send_some(pm_cli_peer_run *run, pm_cli_peer_channel *ch)
{
    uint64_t total = (uint64_t)run->opt->send_count;
    bool paced = run->opt->interval_ms > 0;
    for (int budget = SEND_BUDGET; ch->sent < total; budget--) {
        if (budget == 0)
            return true;
        if (paced && pm_now() < run->next_send)
            return false; /* the loop wakes at pm_cli_run_next_send() */
        size_t len = pm_cli_traffic_size(&run->traffic, ch->sent);
        if (!pm_cli_may_queue(ch->handle, &ch->paused, len))
            return false;
        int rc = pm_rtc_channel_put_packet(ch->handle,
                                           pm_cli_traffic_payload(&run->traffic, ch->sent), len);
        if (rc < 0) {
            pm_cli_run_fail(run, "send #%" PRIu64 " (%zu bytes) on '%s': %s", ch->sent, len,
                            ch->label, pm_strerror(rc));
            return false;
        }
        ch->sent++;
        ch->bytes += len;
        run->last_tx = pm_now();
        if (paced && ch == &run->chans[run->chan_count - 1])
            run->next_send = run->last_tx + run->opt->interval_ms * 1000;
    }
    return false;
}

static void check_reply(pm_cli_peer_run *run, pm_cli_peer_channel *ch, const uint8_t *data,
                        size_t len, bool is_string)
{
    char why[160];
    if (!pm_cli_traffic_check_reply(&run->traffic, ch->received, ch->sent, ch->strict, data, len,
                                    is_string, why, sizeof why)) {
        pm_cli_run_fail(run, "'%s' %s", ch->label, why);
        return;
    }
    ch->received++;
    run->last_rx = pm_now();
    if (every_reply_in(run))
        finish_send(run);
}

static int answer_message(pm_cli_peer_run *run, pm_cli_peer_channel *ch, const uint8_t *data,
                          size_t len, bool is_string)
{
    ch->received++;
    ch->bytes += len;
    if (run->opt->mode == PM_CLI_MODE_ECHO) {
        pm_rtc_channel_set_write_mode(ch->handle,
                                      is_string ? PM_RTC_WRITE_TEXT : PM_RTC_WRITE_BINARY);
        return pm_rtc_channel_put_packet(ch->handle, data, len);
    }
    if (run->opt->mode == PM_CLI_MODE_SINK) {
        char ack[48];
        size_t n = pm_cli_traffic_format_ack(data, len, ack, sizeof ack);
        return pm_rtc_channel_put_packet(ch->handle, (const uint8_t *)ack, n);
    }
    return PM_OK;
}

/* Returns true when the budget ran out with messages possibly still queued. */
static bool receive_some(pm_cli_peer_run *run, pm_cli_peer_channel *ch)
{
    bool replying = run->opt->mode == PM_CLI_MODE_ECHO || run->opt->mode == PM_CLI_MODE_SINK;
    for (int budget = RECEIVE_BUDGET; budget > 0 && !run->finished; budget--) {
        /* An echo must not outrun the remote: leave messages queued while we are full. */
        if (replying && !pm_cli_may_queue(ch->handle, &ch->paused, 0))
            return false;
        const uint8_t *data = NULL;
        size_t len = 0;
        int rc = pm_rtc_channel_get_packet(ch->handle, &data, &len);
        if (rc == PM_ERR_AGAIN)
            return false;
        if (rc < 0) {
            pm_cli_run_fail(run, "receive on '%s': %s", ch->label, pm_strerror(rc));
            return false;
        }
        bool is_string = pm_rtc_channel_was_string_packet(ch->handle);
        if (run->opt->mode == PM_CLI_MODE_SEND) {
            check_reply(run, ch, data, len, is_string);
            continue;
        }
        rc = answer_message(run, ch, data, len, is_string);
        if (rc < 0) {
            pm_cli_run_fail(run, "reply on '%s': %s", ch->label, pm_strerror(rc));
            return false;
        }
    }
    return !run->finished;
}

bool pm_cli_run_pump(pm_cli_peer_run *run)
{
    bool more = false;
    for (size_t i = 0; i < run->chan_count && !run->finished; i++) {
        pm_cli_peer_channel *ch = &run->chans[i];
        if (!ch->open || ch->closed)
            continue;
        more |= receive_some(run, ch);
        if (run->started && run->opt->mode == PM_CLI_MODE_SEND && !run->finished)
            more |= send_some(run, ch);
    }
    return more && !run->finished;
}
