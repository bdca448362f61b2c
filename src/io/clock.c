/* The one place that reads the OS clock (ARCHITECTURE.md section 1.2). */
#define _GNU_SOURCE
#include "base/base.h"

#include <time.h>

pm_time pm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (pm_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall-clock time, for Unix timestamps (token expiry, TURN credentials). */
int64_t pm_io_unix_time_us(void);
int64_t pm_io_unix_time_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
