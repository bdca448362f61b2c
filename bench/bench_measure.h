/*
 * bench_measure.h — the measurements `peermesh bench` and `peermesh bench
 * relay` make on one link (bench_link.h): goodput of a stream of large
 * messages, and round trips of small ones.
 */
#ifndef PM_CLI_BENCH_MEASURE_H
#define PM_CLI_BENCH_MEASURE_H

#include "bench_link.h"

#define OPEN_TIMEOUT       PM_SEC(10)
#define THROUGHPUT_MESSAGE 65535     /* as libdatachannel's benchmark (bench --size changes it) */
#define SEND_BUDGET        (1 << 20) /* bytes queued per step */
#define RECEIVE_BUDGET     64
#define LATENCY_MESSAGE    100
#define LATENCY_SAMPLES    10000
#define LATENCY_WARMUP     100 /* round trips not counted: caches, cwnd, first allocations */
#define ECHO_TIMEOUT       PM_SEC(2)

/** Create a link from `cfg` (both peers), register it with `loop` and open
 *  its channel. On failure nothing is left allocated (and it is said why). */
int pm_cli_open_link(pm_cli_link *link, pm_cli_loop *loop, const pm_rtc_config *cfg);
/** The same with each candidate going through `rewrite` (local_pair.h), e.g.
 *  to put bench_netem.h's forwarder in the path; NULL: as they are. */
int pm_cli_open_link_rewritten(pm_cli_link *link, pm_cli_loop *loop, const pm_rtc_config *cfg,
                               pm_cli_candidate_fn rewrite, void *rewrite_ud);
void pm_cli_close_link(pm_cli_link *link, pm_cli_loop *loop);

typedef struct pm_cli_throughput {
    const uint8_t *message; /* `size` bytes */
    size_t size;
    uint64_t bytes;   /* received */
    pm_time first_rx; /* 0 until the first message arrived */
    pm_time stopped;  /* end of the measurement */
} pm_cli_throughput;

/** One thread: stream for `span` from the first arrival on; st->bytes over
 *  st->stopped - st->first_rx is the goodput. */
int pm_cli_measure_throughput(pm_cli_link *link, pm_cli_loop *loop, pm_cli_throughput *st,
                              pm_time span);

/** Round trips of LATENCY_MESSAGE bytes, one at a time, for at most
 *  `seconds` or LATENCY_SAMPLES (after LATENCY_WARMUP): samples[*count]. */
int pm_cli_measure_latency(pm_cli_link *link, pm_cli_loop *loop, double seconds, pm_time *samples,
                           size_t *count);

#endif
