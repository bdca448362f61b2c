/*
 * bench_stats.h — the small statistics and the process measurements the
 * benchmarks share: sorting time samples, nearest-rank percentiles, the
 * median, and the resident set size.
 */
#ifndef PM_CLI_BENCH_STATS_H
#define PM_CLI_BENCH_STATS_H

#include "peermesh/common.h"

#include <stddef.h>

/** Sort `n` samples ascending. */
void pm_cli_sort_times(pm_time *samples, size_t n);

/** Nearest-rank percentile `p` (0..100] of `sorted` (ascending, n > 0). */
pm_time pm_cli_percentile(const pm_time *sorted, size_t n, double p);

/** Median of `sorted` (ascending, n > 0): the mean of the middle two when n is even. */
double pm_cli_median(const pm_time *sorted, size_t n);

/** Resident set size of this process in bytes (/proc/self/statm), or -1 when unreadable. */
long pm_cli_resident_bytes(void);

#endif
