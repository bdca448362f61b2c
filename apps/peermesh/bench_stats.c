/* Statistics and process measurements of the benchmarks (see bench_stats.h). */
#include "bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int compare_time(const void *a, const void *b)
{
    pm_time x = *(const pm_time *)a, y = *(const pm_time *)b;
    return (x > y) - (x < y);
}

void pm_cli_sort_times(pm_time *samples, size_t n)
{
    qsort(samples, n, sizeof *samples, compare_time);
}

pm_time pm_cli_percentile(const pm_time *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[rank > 0 ? rank - 1 : 0];
}

double pm_cli_median(const pm_time *sorted, size_t n)
{
    return n % 2 ? (double)sorted[n / 2] : ((double)sorted[n / 2 - 1] + (double)sorted[n / 2]) / 2;
}

long pm_cli_resident_bytes(void)
{
    /* statm: total program size, then the resident set, both in pages. */
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    int fields = f ? fscanf(f, "%ld %ld", &size, &resident) : 0;
    if (f)
        fclose(f);
    return fields == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}
