/* libFuzzer target: the mDNS codec. Parse arbitrary bytes as a response
 * for a fixed name and for a name taken from the input; build a query for
 * that name when it is a valid .local name and check it is not a response. */
#include "wire/mdns.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_addr out[4];
    size_t cnt = 99;
    int rc = pm_mdns_parse_response(data, size, "peer.local", out, 4, &cnt);
    check(rc == PM_OK || rc == PM_ERR_PARSE || rc == PM_ERR_NOT_FOUND);
    check(cnt <= 4);
    for (size_t i = 0; rc == PM_OK && i < cnt; i++)
        check(out[i].family == 4 || out[i].family == 6);

    char name[PM_MDNS_NAME_MAX + 2];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    if (!pm_mdns_is_local_name(name))
        return 0;
    uint8_t q[600];
    int qn = pm_mdns_build_query(q, sizeof q, name, (size & 1) != 0);
    check(qn > 0);
    check(pm_mdns_parse_response(q, (size_t)qn, name, out, 4, &cnt) == PM_ERR_NOT_FOUND);
    (void)pm_mdns_parse_response(data, size, name, out, 4, &cnt);
    return 0;
}
