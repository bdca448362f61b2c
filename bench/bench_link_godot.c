/*
 * A bench link with the channels of Godot's WebRTC mesh instead of one
 * in-band channel (see bench_link.h): negotiated streams 1, 2 and 3,
 * "reliable" (ordered, reliable), "ordered" (ordered, 1 ms lifetime) and
 * "unreliable" (unordered, 1 ms lifetime), created on both sides, as
 * src/multiplayer/mesh.c does with its defaults.
 */
#include "bench_link.h"

#include <stdio.h>
#include <string.h>

int pm_cli_link_new_godot(pm_cli_link *link, const char *bind_address)
{
    static const char *const labels[3] = {"reliable", "ordered", "unreliable"};
    memset(link, 0, sizeof *link);
    int rc = pm_cli_pair_new(&link->pair, bind_address);
    for (int side = 0; side < 2 && rc == PM_OK; side++) {
        for (int i = 0; i < 3 && rc == PM_OK; i++) {
            pm_rtc_channel_init init;
            pm_rtc_channel_init_default(&init);
            init.negotiated = true;
            init.id = i + 1;
            init.ordered = i < 2;
            init.max_packet_lifetime = i == 0 ? -1 : 1;
            pm_rtc_channel *ch = NULL;
            rc = pm_rtc_peer_create_channel(link->pair.peer[side], labels[i], &init, &ch);
            if (i == 0)
                link->ch[side] = ch; /* the link is open when "reliable" is */
        }
    }
    if (rc < 0) {
        fprintf(stderr, "peermesh: cannot create Godot's channels: %s\n", pm_strerror(rc));
        pm_cli_pair_free(&link->pair);
    }
    return rc;
}
