/*
 * libFuzzer target for DCEP: parse arbitrary bytes as DATA_CHANNEL_OPEN;
 * anything accepted must re-encode to exactly the same bytes (reliable
 * channels excepted: their ignored parameter is written as 0).
 */
#include "wire/dcep.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)pm_dcep_type(data, size);
    if (size >= 4)
        (void)pm_ppid_is_string(pm_rd32(data));
    pm_dcep_open o;
    if (pm_dcep_parse_open(data, size, &o) != PM_OK)
        return 0;
    if (o.label + o.label_len > data + size || o.protocol + o.protocol_len != data + size)
        abort();
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    int n = pm_dcep_build_open(&o, buf, size);
    if (n < 0 || (size_t)n != size)
        abort();
    bool reliable = (o.channel_type & 0x7f) == 0;
    if (reliable) {
        if (pm_rd32(buf + 4) != 0)
            abort();
        memcpy(buf + 4, data + 4, 4);
    }
    if (memcmp(buf, data, size) != 0)
        abort();
    free(buf);
    return 0;
}
