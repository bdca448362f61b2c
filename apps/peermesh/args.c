/* Strict parsing of command-line values: a typo is a usage error, never a silent 0. */
#include "cli.h"

#include "peermesh/common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pm_cli_parse_long(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool pm_cli_parse_seconds(const char *text, double min, double max, double *out)
{
    if (!text || !*text)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int pm_cli_parse_size_list(const char *text, size_t *sizes, size_t cap, size_t max_size)
{
    if (!text || !*text)
        return -1;
    size_t count = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[24];
        long v = 0;
        if (len == 0 || len >= sizeof item || count == cap)
            return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!pm_cli_parse_long(item, 0, (long)max_size, &v))
            return -1;
        sizes[count++] = (size_t)v;
        if (!comma)
            return (int)count;
        p = comma + 1;
    }
}

bool pm_cli_is_numeric_ip(const char *text)
{
    pm_addr addr;
    return text && pm_addr_parse(&addr, text, 0) == PM_OK;
}

bool pm_cli_is_ws_url(const char *text)
{
    return text && (strncmp(text, "ws://", 5) == 0 || strncmp(text, "wss://", 6) == 0);
}

int pm_cli_help(const pm_cli_command *cmd)
{
    fputs(cmd->usage, stdout);
    return PM_CLI_EXIT_OK;
}

int pm_cli_usage_error(const pm_cli_command *cmd, const char *why, const char *arg)
{
    fprintf(stderr, "peermesh %s: %s%s\n%s", cmd->name, why, arg ? arg : "", cmd->usage);
    return PM_CLI_EXIT_USAGE;
}

int pm_cli_usage_errorf(const pm_cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "peermesh %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", cmd->usage);
    va_end(ap);
    return PM_CLI_EXIT_USAGE;
}

int pm_cli_bad_value(const pm_cli_command *cmd, const char *option, const char *expected,
                     const char *value)
{
    return pm_cli_usage_errorf(cmd, "%s needs %s, got '%s'", option, expected, value ? value : "");
}

int pm_cli_unexpected(const pm_cli_command *cmd, const char *arg)
{
    return pm_cli_usage_errorf(cmd, "unexpected argument '%s'", arg);
}

int pm_cli_option_bind(const pm_cli_command *cmd, const char *arg, const char **out)
{
    if (!pm_cli_is_numeric_ip(arg))
        return pm_cli_bad_value(cmd, "--bind", PM_CLI_EXPECT_IP, arg);
    *out = arg;
    return -1;
}

static const char *expected_of(const pm_cli_command *cmd, int code)
{
    for (const pm_cli_expect *e = cmd->expects; e && e->expected; e++)
        if (e->code == code)
            return e->expected;
    return "a valid value";
}

/* "--name" of the option with this code (buf holds it). */
static const char *option_name(const struct option *longs, int code, char *buf, size_t cap)
{
    for (const struct option *o = longs; o->name; o++)
        if (o->val == code && !o->flag) {
            snprintf(buf, cap, "--%s", o->name);
            return buf;
        }
    return "an option";
}

int pm_cli_parse_options(const pm_cli_command *cmd, int argc, char **argv, int first,
                         const struct option *longs, pm_cli_option_fn fn, void *ud)
{
    opterr = 0; /* our messages name the subcommand and show its usage */
    optind = first;
    int code;
    char name[64];
    /* ":" first: a missing value is ':', told apart from an unknown option ('?'). */
    while ((code = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        if (code == 'h')
            return pm_cli_help(cmd);
        if (code == '?')
            return pm_cli_usage_errorf(cmd, "unknown option '%s'", argv[optind - 1]);
        if (code == ':')
            return pm_cli_usage_errorf(cmd, "%s needs a value: %s",
                                       option_name(longs, optopt, name, sizeof name),
                                       expected_of(cmd, optopt));
        int st = fn(ud, code, optarg);
        if (st == PM_CLI_OPTION_BAD)
            return pm_cli_bad_value(cmd, option_name(longs, code, name, sizeof name),
                                    expected_of(cmd, code), optarg);
        if (st >= 0)
            return st;
    }
    return -1;
}
