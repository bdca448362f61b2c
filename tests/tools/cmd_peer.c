/*
 * `peermesh peer` — the interop peer (tests/interop/README.md, "The
 * peer interface"): JSON-lines signaling on stdin/stdout, JSON events on
 * stderr, one socket-mode peer connection driven by a single poll loop that
 * also reads stdin. Channels and behaviours live in peer_channels.c.
 */
#include "cli.h"
#include "peer_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CLOSE_WAIT    PM_SEC(2) /* README: wait up to 2 s for our channels to close */
#define INPUT_CHUNK   16384
#define SIGNAL_ERROR  512
#define RESTART_EVERY PM_SEC(5) /* --restart-ice: not more often than this */

/* ---- our signaling (stdout) ---- */

static void send_signal(pm_cli_peer_run *run, json_t *msg)
{
    if (!msg || pm_cli_send_signal(&run->out, msg) < 0)
        pm_cli_run_fail(run, "cannot write signaling to stdout");
}

static void on_local_description(pm_cli_peer_run *run, const pm_rtc_event *ev)
{
    pm_cli_logf(&run->out, "local %s (%zu bytes of SDP)", ev->sdp_type, strlen(ev->sdp));
    send_signal(run, pm_cli_signal_description(ev->sdp_type, ev->sdp));
    run->description_sent = true;
    /* Candidates go out only after the description they belong to. */
    for (size_t i = 0; i < json_array_size(run->held_candidates); i++)
        send_signal(run, json_incref(json_array_get(run->held_candidates, i)));
    json_array_clear(run->held_candidates);
}

static void on_local_candidate(pm_cli_peer_run *run, const pm_rtc_event *ev)
{
    const char *candidate = ev->candidate ? ev->candidate : "";
    json_t *msg = pm_cli_signal_candidate(candidate, ev->mid ? ev->mid : "0");
    pm_cli_logf(&run->out, "local candidate %s", candidate[0] ? candidate : "(end of candidates)");
    if (run->description_sent)
        send_signal(run, msg);
    else if (!msg || json_array_append_new(run->held_candidates, msg) < 0)
        pm_cli_run_fail(run, "out of memory holding a candidate");
}

/* ---- remote signaling (stdin) ---- */

static void handle_signal_line(pm_cli_peer_run *run, const char *line, size_t len)
{
    if (strspn(line, " \t") == len)
        return; /* blank line */
    char err[SIGNAL_ERROR];
    switch (pm_cli_signal_apply(run->pc, line, len, err, sizeof err)) {
    case PM_CLI_SIGNAL_APPLIED:
        return;
    case PM_CLI_SIGNAL_IGNORED:
        pm_cli_logf(&run->out, "%s", err);
        return;
    case PM_CLI_SIGNAL_FATAL:
        pm_cli_run_fail(run, "signaling: %s", err);
        return;
    }
}

/* Called only when poll(2) saw stdin readable, so this read(2) does not block. */
static void read_input(pm_cli_peer_run *run)
{
    char chunk[INPUT_CHUNK];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        pm_cli_logf(&run->out, "stdin %s; no more signaling", n == 0 ? "closed" : strerror(errno));
        run->input_open = false;
        return;
    }
    if (pm_cli_lines_push(&run->input, chunk, (size_t)n) < 0) {
        pm_cli_run_fail(run, "out of memory reading signaling");
        return;
    }
    const char *line;
    size_t len;
    while (!run->finished && pm_cli_lines_next(&run->input, &line, &len))
        handle_signal_line(run, line, len);
}

/* ---- events ---- */

static void adopt_remote_channel(pm_cli_peer_run *run, pm_rtc_channel *handle)
{
    const char *label = pm_rtc_channel_get_label(handle);
    if (!run->opt->accept_inband || run->chan_count == run->expected ||
        pm_cli_run_track(run, handle) < 0) {
        pm_cli_logf(&run->out, "ignoring extra channel '%s'", label ? label : "");
        pm_rtc_channel_release(handle);
        return;
    }
    /* Some stacks announce a remote channel already open: no CHANNEL_OPEN follows. */
    if (pm_rtc_channel_get_ready_state(handle) == PM_RTC_CHANNEL_OPEN)
        pm_cli_run_on_channel_open(run, handle);
}

/* --restart-ice: the offerer restarts ICE (a new offer goes out) when the
 * link goes DISCONNECTED or FAILED, at most every RESTART_EVERY. */
static void maybe_restart(pm_cli_peer_run *run, int state)
{
    pm_time now = pm_now();
    if (!run->opt->restart_ice || !run->opt->offer || run->finished ||
        (run->restarts && now - run->last_restart < RESTART_EVERY))
        return;
    int rc = pm_rtc_peer_restart_ice(run->pc);
    if (rc != PM_OK) {
        pm_cli_logf(&run->out, "ICE restart not possible now: %s", pm_strerror(rc));
        return;
    }
    run->restarts++;
    run->last_restart = now;
    pm_cli_emit_event(&run->out, json_pack("{s:s, s:s, s:i}", "event", "ice_restart", "after",
                                           pm_rtc_state_to_string(state), "count", run->restarts));
}

static void on_state(pm_cli_peer_run *run, int state)
{
    pm_cli_logf(&run->out, "connection %s", pm_rtc_state_to_string(state));
    if (state == PM_RTC_STATE_DISCONNECTED)
        maybe_restart(run, state);
    if (state == PM_RTC_STATE_FAILED && run->opt->restart_ice)
        maybe_restart(run, state); /* a restart can bring it back: --timeout ends the wait */
    else if (state == PM_RTC_STATE_FAILED)
        pm_cli_run_fail(run, "peer connection failed");
    else if (state == PM_RTC_STATE_CLOSED)
        pm_cli_run_on_remote_closed(run);
}

static void on_selected_pair(pm_cli_peer_run *run)
{
    pm_cli_run_note_pair(run);
    if (!run->have_pair)
        return;
    char local[PM_ADDR_STRLEN], remote[PM_ADDR_STRLEN];
    pm_cli_logf(&run->out, "selected pair %s %s -> %s %s%s%s",
                pm_rtc_candidate_type_name(run->pair.local_type),
                pm_addr_format(&run->pair.local, local, sizeof local),
                pm_rtc_candidate_type_name(run->pair.remote_type),
                pm_addr_format(&run->pair.remote, remote, sizeof remote),
                run->relay_protocol[0] ? " relay over " : "", run->relay_protocol);
}

static void on_candidate_error(pm_cli_peer_run *run, const pm_rtc_event *ev)
{
    pm_cli_emit_event(&run->out,
                      json_pack("{s:s, s:s, s:i, s:s}", "event", "ice_candidate_error", "url",
                                ev->url ? ev->url : "", "error_code", ev->error_code, "error_text",
                                ev->error_text ? ev->error_text : ""));
}

static void on_event(pm_cli_peer_run *run, const pm_rtc_event *ev)
{
    switch (ev->type) {
    case PM_RTC_EVENT_DESCRIPTION:
        on_local_description(run, ev);
        break;
    case PM_RTC_EVENT_CANDIDATE:
        on_local_candidate(run, ev);
        break;
    case PM_RTC_EVENT_DATA_CHANNEL:
        adopt_remote_channel(run, ev->channel);
        break;
    case PM_RTC_EVENT_STATE:
        on_state(run, ev->state);
        break;
    case PM_RTC_EVENT_GATHERING_STATE:
        pm_cli_logf(&run->out, "gathering %s", pm_rtc_gathering_state_to_string(ev->state));
        break;
    case PM_RTC_EVENT_SIGNALING_STATE:
        pm_cli_logf(&run->out, "signaling %s", pm_rtc_signaling_state_to_string(ev->state));
        break;
    case PM_RTC_EVENT_CHANNEL_OPEN:
        pm_cli_run_on_channel_open(run, ev->channel);
        break;
    case PM_RTC_EVENT_CHANNEL_CLOSED:
        pm_cli_run_on_channel_closed(run, ev->channel);
        break;
    case PM_RTC_EVENT_BUFFERED_AMOUNT_LOW:
        pm_cli_run_on_buffered_low(run, ev->channel);
        break;
    case PM_RTC_EVENT_ICE_CANDIDATE_ERROR:
        on_candidate_error(run, ev);
        break;
    case PM_RTC_EVENT_SELECTED_PAIR:
        on_selected_pair(run);
        break;
    case PM_RTC_EVENT_CHANNEL_MESSAGE:
        break; /* pm_cli_run_pump() takes every message */
    }
}

static void drain_events(pm_cli_peer_run *run)
{
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(run->pc, &ev))
        on_event(run, &ev);
}

/* Poll the peer, handle what it reports, move data. True: more app work is ready. */
static bool drive(pm_cli_peer_run *run)
{
    int rc = pm_rtc_peer_poll(run->pc);
    if (rc < 0 && rc != PM_ERR_CLOSED)
        pm_cli_run_fail(run, "peer poll: %s", pm_strerror(rc));
    drain_events(run);
    bool more = run->finished ? false : pm_cli_run_pump(run);
    drain_events(run); /* whatever our own sends reported */
    return more;
}

/* ---- the run ---- */

static void emit_timeout(pm_cli_peer_run *run)
{
    pm_cli_logf(&run->out, "--timeout expired");
    pm_cli_run_finish(run, PM_CLI_EXIT_TIMEOUT,
                      json_pack("{s:s, s:b, s:s, s:o}", "event", "result", "ok", 0, "error",
                                "timeout", "channels", pm_cli_run_progress(run)));
}

static pm_time wake_deadline(const pm_cli_peer_run *run, bool busy)
{
    if (busy)
        return pm_now();
    pm_time t = pm_cli_run_idle_deadline(run);
    pm_time paced = pm_cli_run_next_send(run);
    t = paced < t ? paced : t;
    return t < run->deadline ? t : run->deadline;
}

/* Runs until the result is out; false when --timeout expired first. */
static bool run_until_result(pm_cli_peer_run *run)
{
    for (;;) {
        bool busy = drive(run);
        pm_cli_run_check_idle(run, pm_now());
        if (run->finished)
            return true;
        if (pm_now() >= run->deadline)
            return false;
        bool input_ready = false;
        int in_fd = run->input_open ? STDIN_FILENO : -1;
        if (pm_cli_loop_wait(&run->loop, in_fd, wake_deadline(run, busy), &input_ready) < 0) {
            pm_cli_run_fail(run, "poll(2) failed: %s", strerror(errno));
            return true;
        }
        if (input_ready)
            read_input(run);
    }
}

static bool every_channel_closed(const pm_cli_peer_run *run)
{
    for (size_t i = 0; i < run->chan_count; i++)
        if (pm_rtc_channel_get_ready_state(run->chans[i].handle) != PM_RTC_CHANNEL_CLOSED)
            return false;
    return true;
}

/* Reset our streams, give the remote up to 2 s to answer, then close the connection. */
static void shut_down(pm_cli_peer_run *run)
{
    for (size_t i = 0; i < run->chan_count; i++)
        pm_rtc_channel_close(run->chans[i].handle);
    pm_time until = pm_now() + CLOSE_WAIT;
    if (until > run->deadline)
        until = run->deadline;
    while (!every_channel_closed(run) && pm_now() < until) {
        if (pm_cli_loop_wait(&run->loop, -1, until, NULL) < 0)
            break;
        (void)pm_rtc_peer_poll(run->pc);
        drain_events(run);
    }
    pm_rtc_peer_close(run->pc);
}

static int create_channels(pm_cli_peer_run *run)
{
    for (size_t i = 0; i < run->opt->channel_count; i++) {
        const pm_cli_channel_spec *spec = &run->opt->channels[i];
        pm_rtc_channel *handle = NULL;
        int rc = pm_rtc_peer_create_channel(run->pc, spec->label, &spec->init, &handle);
        if (rc < 0) {
            pm_cli_run_fail(run, "cannot create channel '%s': %s", spec->label, pm_strerror(rc));
            return rc;
        }
        pm_cli_run_track(run, handle);
    }
    return PM_OK;
}

static int open_peer(pm_cli_peer_run *run)
{
    const pm_cli_peer_options *opt = run->opt;
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = opt->bind_address;
    pm_ice_server server = {opt->ice_urls, opt->ice_url_count, opt->ice_username,
                            opt->ice_credential};
    if (opt->ice_url_count) {
        cfg.ice_servers = &server;
        cfg.ice_server_count = 1;
    }
    cfg.ice_transport_policy = opt->relay_only ? PM_RTC_ICE_POLICY_RELAY : PM_RTC_ICE_POLICY_ALL;
    cfg.turn_tls_insecure = opt->ice_tls_insecure;
    int rc = pm_rtc_peer_new(&cfg, &run->pc);
    if (rc < 0) {
        pm_cli_run_fail(run, "cannot create a peer connection on %s: %s",
                        cfg.bind_address ? cfg.bind_address : "every interface", pm_strerror(rc));
        return rc;
    }
    if ((rc = pm_cli_loop_add(&run->loop, run->pc)) < 0 || (rc = create_channels(run)) < 0)
        return rc;
    if (run->opt->offer && (rc = pm_rtc_peer_create_offer(run->pc)) < 0) {
        pm_cli_run_fail(run, "cannot create the offer: %s", pm_strerror(rc));
        return rc;
    }
    return PM_OK;
}

static int set_up(pm_cli_peer_run *run, const pm_cli_peer_options *opt, pm_time start)
{
    memset(run, 0, sizeof *run);
    run->opt = opt;
    pm_cli_out_init(&run->out, start);
    pm_cli_lines_init(&run->input);
    run->input_open = true;
    run->deadline = start + (pm_time)(opt->timeout_s * 1e6);
    run->expected = opt->accept_inband ? 1 : opt->channel_count;
    run->held_candidates = json_array();
    if (!run->held_candidates || pm_cli_loop_init(&run->loop, 1) < 0 ||
        pm_cli_traffic_init(&run->traffic, opt->sizes, opt->size_count, opt->text) < 0) {
        pm_cli_run_fail(run, "out of memory");
        return PM_ERR_NOMEM;
    }
    return open_peer(run);
}

static void tear_down(pm_cli_peer_run *run)
{
    pm_rtc_peer_free(run->pc);
    pm_cli_loop_destroy(&run->loop);
    pm_cli_traffic_free(&run->traffic);
    pm_cli_lines_free(&run->input);
    json_decref(run->held_candidates);
}

int pm_cli_peer(int argc, char **argv)
{
    pm_time start = pm_now(); /* "ms" in events counts from process start */
    pm_cli_peer_options opt;
    bool help = false;
    if (!pm_cli_peer_parse_options(argc, argv, &opt, &help))
        return help ? PM_CLI_EXIT_OK : PM_CLI_EXIT_USAGE;
    /* A relay that goes away must surface as a write error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    pm_cli_peer_run run;
    if (set_up(&run, &opt, start) == PM_OK) {
        if (run_until_result(&run))
            shut_down(&run);
        else
            emit_timeout(&run);
    }
    tear_down(&run);
    return run.exit_code;
}
