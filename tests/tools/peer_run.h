/*
 * peer_run.h — state of one `peermesh peer` run, shared by cmd_peer.c
 * (process, signaling, event loop, shutdown) and peer_channels.c (channels,
 * the send/echo/sink behaviours, results).
 */
#ifndef PM_CLI_PEER_RUN_H
#define PM_CLI_PEER_RUN_H

#include "json_out.h"
#include "loop.h"
#include "peer_options.h"
#include "peer_signal.h"
#include "peer_traffic.h"

#include "peermesh/rtc.h"

#include <stdint.h>

/* One channel of the run, whether created here or announced by the remote. */
typedef struct pm_cli_peer_channel {
    pm_rtc_channel *handle;
    const char *label; /* the handle's label, for messages */
    bool open;         /* "open" event emitted */
    bool closed;
    bool strict;       /* ordered and reliable: replies must match message by message */
    bool paused;       /* above the high-water mark, waiting for BUFFERED_AMOUNT_LOW */
    uint64_t sent;     /* send mode: messages sent */
    uint64_t received; /* send mode: replies; echo/sink: messages received */
    uint64_t bytes;    /* send mode: payload bytes sent; echo/sink: bytes received */
} pm_cli_peer_channel;

typedef struct pm_cli_peer_run {
    const pm_cli_peer_options *opt;
    pm_cli_out out;
    pm_cli_traffic traffic;
    pm_rtc_peer *pc;
    pm_cli_loop loop;
    pm_cli_lines input; /* signaling from stdin */
    bool input_open;    /* stdin not yet at EOF */
    bool description_sent;
    json_t *held_candidates; /* ours, until our description is written */
    pm_cli_peer_channel chans[PM_CLI_PEER_MAX_CHANNELS];
    size_t chan_count;
    size_t expected; /* channels that must open before the behaviour starts */
    size_t open_count;
    bool started;     /* every expected channel opened */
    pm_time deadline; /* --timeout */
    pm_time first_tx; /* send mode: first message queued */
    pm_time last_tx;
    pm_time last_rx;
    bool finished; /* the "result" event was emitted */
    int exit_code;
    /* The ICE pair carrying data, remembered (closing the connection forgets it). */
    bool have_pair;
    pm_rtc_candidate_pair pair;
    char relay_protocol[8];
    pm_time last_restart; /* --restart-ice: when we last restarted */
    pm_time next_send;    /* --interval: when the next message may go */
    int restarts;
} pm_cli_peer_run;

/** Remember the connection's selected pair (after a SELECTED_PAIR event). */
void pm_cli_run_note_pair(pm_cli_peer_run *run);

/** Emit the result event (taking `result`) and end the run, once; later calls only drop `result`.
 */
void pm_cli_run_finish(pm_cli_peer_run *run, int exit_code, json_t *result);
/** Finish with {"ok":false,"error":...} and exit status 1. */
void pm_cli_run_fail(pm_cli_peer_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Track a channel (ours, or the remote's in-band one). PM_ERR_FULL beyond the layout. */
int pm_cli_run_track(pm_cli_peer_run *run, pm_rtc_channel *handle);
/** Channel events; handles we do not track are ignored. */
void pm_cli_run_on_channel_open(pm_cli_peer_run *run, pm_rtc_channel *handle);
void pm_cli_run_on_channel_closed(pm_cli_peer_run *run, pm_rtc_channel *handle);
void pm_cli_run_on_buffered_low(pm_cli_peer_run *run, pm_rtc_channel *handle);
/** The remote closed the connection: ends an echo/sink run, fails the others. */
void pm_cli_run_on_remote_closed(pm_cli_peer_run *run);

/**
 * Move data: take received messages (echo, ack or check them) and queue
 * messages to send, within the flow-control window. Returns true when work
 * is left that needs no event to proceed (the caller must not sleep).
 */
bool pm_cli_run_pump(pm_cli_peer_run *run);

/** --interval: when the next paced message is due (PM_TIME_NEVER: not pacing or done). */
pm_time pm_cli_run_next_send(const pm_cli_peer_run *run);
/** Send mode: when the run ends by itself after 2 s without activity; PM_TIME_NEVER otherwise. */
pm_time pm_cli_run_idle_deadline(const pm_cli_peer_run *run);
/** Send mode: end the run when every message is sent and the lossy channels stay silent. */
void pm_cli_run_check_idle(pm_cli_peer_run *run, pm_time now);

/** [{"label","sent","replies","lost"}, ...] for result events. */
json_t *pm_cli_run_progress(const pm_cli_peer_run *run);

#endif
