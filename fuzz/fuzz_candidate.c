/* libFuzzer target: ICE candidate attribute codec. Whatever parses must
 * format, and the formatted line must parse back to the same candidate. */
#include "wire/candidate.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[1200];
    if (size >= sizeof line)
        size = sizeof line - 1;
    memcpy(line, data, size);
    line[size] = '\0';
    pm_candidate c;
    if (pm_candidate_parse(&c, line) != PM_OK)
        return 0;
    check(c.component >= 1 && c.component <= 256);
    check((c.addr.family == 0) == (c.hostname[0] != '\0'));
    char out[PM_CAND_LINE_MAX];
    int n = pm_candidate_format(&c, out, sizeof out);
    if (c.transport == PM_CAND_OTHER) {
        check(n == PM_ERR_INVALID);
        return 0;
    }
    check(n > 0 && (size_t)n < sizeof out);
    pm_candidate d;
    check(pm_candidate_parse(&d, out) == PM_OK);
    check(strcmp(c.foundation, d.foundation) == 0);
    check(c.component == d.component && c.transport == d.transport);
    check(c.priority == d.priority && c.type == d.type);
    check(strcmp(c.hostname, d.hostname) == 0);
    check(c.addr.family == d.addr.family && c.addr.port == d.addr.port);
    check(c.addr.family == 0 || pm_addr_equal(&c.addr, &d.addr));
    check(c.has_related == d.has_related);
    check(!c.has_related || pm_addr_equal(&c.related, &d.related));
    check(strcmp(c.tcptype, d.tcptype) == 0);
    return 0;
}
