/*
 * libFuzzer target for Godot's ENet framing: arbitrary bytes as a data
 * header, a system message, a raw MultiplayerAPI packet, and (first bytes)
 * as the channel, flags and mode that route and classify them. Anything
 * accepted must re-encode to the same bytes; a relay plan must never ask to
 * deliver locally a packet addressed to one other client.
 */
#include "wire/godot_enet.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_genet_header h;
    if (pm_genet_header_read(data, size, &h) == PM_OK) {
        uint8_t out[PM_GENET_HEADER_LEN];
        pm_genet_header_write(out, h.source, h.target);
        if (memcmp(out, data, sizeof out) != 0)
            abort();
        pm_genet_relay plan;
        pm_genet_relay_plan(h.source, h.target, size & 1, &plan);
        if (plan.to > 1 && plan.local)
            abort();
        if (plan.to && plan.exclude)
            abort();
    }
    pm_genet_sysmsg m;
    if (pm_genet_sysmsg_read(data, size, &m) == PM_OK) {
        uint8_t out[PM_GENET_SYSMSG_LEN];
        if (pm_genet_sysmsg_write(out, m.type, m.peer_id) != PM_OK ||
            memcmp(out, data, sizeof out) != 0)
            abort();
    }
    for (int f = PM_GENET_GODOT3; f <= PM_GENET_GODOT4; f++) {
        const uint8_t *pl;
        size_t n;
        if (pm_godot_raw_unwrap((pm_genet_format)f, data, size, &pl, &n) == PM_OK &&
            (pl != data + 1 || n + 1 != size || n == 0))
            abort();
    }
    if (size >= 3) {
        pm_genet_format f = (data[0] & 1) ? PM_GENET_GODOT4 : PM_GENET_GODOT3;
        pm_genet_class c;
        pm_genet_classify(f, data[1], data[2], &c);
        if (c.channel < 0 || c.channel > PM_GENET_MAX_CHANNELS)
            abort();
        pm_genet_route r;
        if (pm_genet_route_for_send(f, (pm_mp_transfer_mode)(data[0] >> 1 & 3), data[1] >> 1, false,
                                    data[2], &r) == PM_OK) {
            if (r.channel >= data[2])
                abort();
            pm_genet_classify(f, r.channel, r.flags, &c);
            if (c.config || c.channel != data[1] >> 1 || c.mode != (data[0] >> 1 & 3))
                abort();
        }
    }
    return 0;
}
