/* JSON-lines output for the command-line tool (see json_out.h). */
#include "json_out.h"

#include <math.h>
#include <stdlib.h>
#include <stdarg.h>

/*
 * Fifteen significant digits print values already rounded to a few decimals
 * in their short form (1017.9, not 1017.8999999999999).
 */
#define JSON_LINE_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

void pm_cli_out_init(pm_cli_out *out, pm_time start)
{
    out->start = start;
    out->signaling = stdout;
    out->events = stderr;
}

double pm_cli_out_ms(const pm_cli_out *out, pm_time now)
{
    return round((double)(now - out->start) / 100.0) / 10.0;
}

int pm_cli_write_json_line(FILE *stream, const json_t *value)
{
    char *text = json_dumps(value, JSON_LINE_FLAGS);
    if (!text)
        return PM_ERR_NOMEM;
    int failed = fputs(text, stream) == EOF || fputc('\n', stream) == EOF || fflush(stream) != 0;
    free(text);
    return failed ? PM_ERR_IO : PM_OK;
}

void pm_cli_print_json(json_t *value)
{
    if (value)
        (void)pm_cli_write_json_line(stdout, value);
    json_decref(value);
}

void pm_cli_emit_event(const pm_cli_out *out, json_t *event)
{
    json_object_set_new(event, "ms", json_real(pm_cli_out_ms(out, pm_now())));
    /* stderr going away must not change how the run ends: ignore errors. */
    (void)pm_cli_write_json_line(out->events, event);
    json_decref(event);
}

int pm_cli_send_signal(const pm_cli_out *out, json_t *message)
{
    int rc = pm_cli_write_json_line(out->signaling, message);
    json_decref(message);
    return rc;
}

void pm_cli_logf(const pm_cli_out *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(out->events, "[peermesh %8.1fms] ", pm_cli_out_ms(out, pm_now()));
    vfprintf(out->events, fmt, ap);
    fputc('\n', out->events);
    fflush(out->events);
    va_end(ap);
}

json_t *pm_cli_json_optional_int(int value)
{
    return value < 0 ? json_null() : json_integer(value);
}

json_t *pm_cli_json_rounded(double value, int decimals)
{
    double scale = pow(10.0, decimals);
    return json_real(round(value * scale) / scale);
}
