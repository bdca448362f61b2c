/* Throughput with each endpoint on its own thread (see bench_threads.c). */
#ifndef PM_CLI_BENCH_THREADS_H
#define PM_CLI_BENCH_THREADS_H

#include "bench_link.h"

/**
 * Stream `message` (len bytes each) from the link's offerer to its answerer
 * for `span` after the first arrival, with the answerer polled on a second
 * thread. The link must be open; no call may be made on it meanwhile.
 * Returns PM_OK and the bytes received in the window and its length.
 */
int pm_cli_throughput_threaded(pm_cli_link *link, const uint8_t *message, size_t len, pm_time span,
                               uint64_t *bytes, pm_time *window);

#endif
