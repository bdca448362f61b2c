/* Prometheus text exposition (format 0.0.4) of the signaling server's counters. */
#ifndef PM_SIG_METRICS_H
#define PM_SIG_METRICS_H

#include "base/base.h"
#include "peermesh/signaling.h"

/** Append the metrics page for `st` to `out`. start_unix: process start (s). */
int pm_sig_metrics_format(const pm_envr *env, const pm_signal_server_stats *st, int64_t start_unix,
                          pm_buf *out);

#endif
