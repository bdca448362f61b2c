/*
 * bench_link.h — one in-process pair of peers with one reliable in-band
 * channel between them, driven from a single thread. The unit every
 * `peermesh bench` measurement is built from.
 */
#ifndef PM_CLI_BENCH_LINK_H
#define PM_CLI_BENCH_LINK_H

#include "local_pair.h"
#include "loop.h"

typedef struct pm_cli_link {
    pm_cli_pair pair;
    pm_rtc_channel *ch[2]; /* [PM_CLI_OFFERER] created here, [PM_CLI_ANSWERER] announced */
    bool paused;           /* offerer's channel above the high-water mark */
    bool failed;           /* a peer reported FAILED or CLOSED */
    pm_time offer_at;      /* the offer was created */
    pm_time open_at;       /* the channel was first seen open on both sides; 0 before */
} pm_cli_link;

/** Create both peers and the offerer's channel. On failure nothing is left allocated. */
int pm_cli_link_new(pm_cli_link *link, const char *bind_address);
/** The same from one configuration for both peers. */
int pm_cli_link_new_cfg(pm_cli_link *link, const pm_rtc_config *cfg);
/** The same with Godot's mesh channels instead (bench_link_godot.c): ch[] is "reliable". */
int pm_cli_link_new_godot(pm_cli_link *link, const char *bind_address);
void pm_cli_link_free(pm_cli_link *link);

/**
 * Drive the link once (see pm_cli_pair_step). Returns the number of events
 * handled, or a negative pm_err (PM_ERR_CLOSED when a peer failed).
 */
int pm_cli_link_step(pm_cli_link *link);

/**
 * Start every link's negotiation and drive them until each channel is open
 * on both sides. The links' peers must be in `loop`. PM_ERR_TIMEOUT after
 * `deadline`.
 */
int pm_cli_links_open(pm_cli_link *links, size_t count, pm_cli_loop *loop, pm_time deadline);

/**
 * Take up to `budget` messages from `ch`. Adds their bytes to *bytes and
 * returns how many were taken, or a negative pm_err.
 */
int pm_cli_link_drain(pm_rtc_channel *ch, int budget, uint64_t *bytes);

#endif
