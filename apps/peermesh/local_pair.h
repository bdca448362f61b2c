/*
 * local_pair.h — two socket-mode peers in one process, connected over UDP
 * (normally loopback) with their signaling handed over directly: each
 * DESCRIPTION and CANDIDATE event of one side is applied to the other side
 * the moment it is drained. Used by `peermesh bench` and `peermesh demo`.
 */
#ifndef PM_CLI_LOCAL_PAIR_H
#define PM_CLI_LOCAL_PAIR_H

#include "loop.h"

#include "peermesh/rtc.h"

enum { PM_CLI_OFFERER = 0, PM_CLI_ANSWERER = 1 };

/**
 * Rewrites a candidate line of `side` in place before the other side gets
 * it (a benchmark's relay puts itself in the path this way); false drops
 * the candidate. `cap` is the buffer's size.
 */
typedef bool (*pm_cli_candidate_fn)(void *ud, int side, char *candidate, size_t cap);

typedef struct pm_cli_pair {
    pm_rtc_peer *peer[2];        /* indexed by PM_CLI_OFFERER / PM_CLI_ANSWERER */
    pm_cli_candidate_fn rewrite; /* NULL: candidates go as they are */
    void *rewrite_ud;
} pm_cli_pair;

/**
 * Called for every event of either side, after a signaling event has been
 * relayed. `ev` and its strings are borrowed for the duration of the call.
 */
typedef void (*pm_cli_pair_event_fn)(void *ud, int side, const pm_rtc_event *ev);

/** Create both peers bound to `bind_address`. On failure nothing is left allocated. */
int pm_cli_pair_new(pm_cli_pair *pair, const char *bind_address);
/** Create both peers from one configuration (TURN servers, relay policy...). */
int pm_cli_pair_new_cfg(pm_cli_pair *pair, const pm_rtc_config *cfg);

/** Free both peers (closing them first). Safe on a zeroed or freed pair. */
void pm_cli_pair_free(pm_cli_pair *pair);

/** Register both peers with `loop`. */
int pm_cli_pair_watch(const pm_cli_pair *pair, pm_cli_loop *loop);

/** Start negotiation: the offerer creates its offer. */
int pm_cli_pair_start(pm_cli_pair *pair);

/**
 * Drive both peers once: poll each, relay its signaling events to the other
 * side and pass every event to `fn` (may be NULL). Returns the number of
 * events drained (0 = nothing happened), or a negative pm_err when a peer
 * failed or the other side rejected relayed signaling.
 */
int pm_cli_pair_step(pm_cli_pair *pair, pm_cli_pair_event_fn fn, void *ud);

#endif
