/*
 * json_out.h — JSON lines on stdout (signaling) and stderr (events), as the
 * interop peer interface wants them: one compact object per line, flushed.
 */
#ifndef PM_CLI_JSON_OUT_H
#define PM_CLI_JSON_OUT_H

#include "peermesh/common.h"

#include <jansson.h>
#include <stdio.h>

/* Where the lines of one run go and the clock origin of their "ms" stamps. */
typedef struct pm_cli_out {
    pm_time start;   /* process start: "ms" counts from here */
    FILE *signaling; /* stdout: signaling messages and nothing else */
    FILE *events;    /* stderr: event objects and free-form log lines */
} pm_cli_out;

void pm_cli_out_init(pm_cli_out *out, pm_time start);

/** Milliseconds from out->start to `now`, rounded to 0.1 ms. */
double pm_cli_out_ms(const pm_cli_out *out, pm_time now);

/** Write `value` as one compact line and flush. PM_ERR_IO on a write error. */
int pm_cli_write_json_line(FILE *stream, const json_t *value);

/**
 * Write `value` (may be NULL: nothing is written) as one line on stdout, for
 * the subcommands whose results go there. Write errors are ignored: stdout
 * going away must not change how the run ends. Takes the reference.
 */
void pm_cli_print_json(json_t *value);

/** Add "ms" to `event`, write it to the event stream. Takes the reference. */
void pm_cli_emit_event(const pm_cli_out *out, json_t *event);

/** Write a signaling message to stdout. Takes the reference. PM_ERR_IO on failure. */
int pm_cli_send_signal(const pm_cli_out *out, json_t *message);

/** A free-form, time-stamped log line on the event stream. */
void pm_cli_logf(const pm_cli_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** An integer, or null for the API's "unset" value -1 (maxRetransmits and friends). */
json_t *pm_cli_json_optional_int(int value);

/** A real rounded to `decimals` places, so lines stay short and readable. */
json_t *pm_cli_json_rounded(double value, int decimals);

#endif
