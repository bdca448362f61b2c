/* Strict parsing of command-line values: a typo is a usage error, never a silent 0. */
#include "cli.h"

#include "peermesh/common.h"

#include <errno.h>
#include <math.h>
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
