/* Strict parsing of command-line values: a typo is a usage error, never a silent 0. */
#include "cli.h"

#include "peermesh/common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
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

int pm_cli_option_bind(const pm_cli_command *cmd, const char *arg, const char **out)
{
    if (!pm_cli_is_numeric_ip(arg))
        return pm_cli_usage_error(cmd, "--bind wants a numeric IP address, got ", arg);
    *out = arg;
    return -1;
}

int pm_cli_parse_options(const pm_cli_command *cmd, int argc, char **argv, int first,
                         const struct option *longs, pm_cli_option_fn fn, void *ud)
{
    opterr = 0; /* our messages name the subcommand and show its usage */
    optind = first;
    int code;
    while ((code = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (code == 'h')
            return pm_cli_help(cmd);
        int st = code == '?' ? PM_CLI_OPTION_BAD : fn(ud, code, optarg);
        if (st == PM_CLI_OPTION_BAD)
            return pm_cli_usage_error(
                cmd, cmd->bad_option ? cmd->bad_option : "unknown option or missing value: ",
                argv[optind - 1]);
        if (st >= 0)
            return st;
    }
    return -1;
}
