/* Two peers in one process with in-process signaling (see local_pair.h). */
#include "local_pair.h"

#include <stdio.h>
#include <string.h>

int pm_cli_pair_new_cfg(pm_cli_pair *pair, const pm_rtc_config *cfg)
{
    memset(pair, 0, sizeof *pair);
    for (int side = 0; side < 2; side++) {
        int rc = pm_rtc_peer_new(cfg, &pair->peer[side]);
        if (rc < 0) {
            fprintf(stderr, "peermesh: cannot create a peer bound to %s: %s\n",
                    cfg->bind_address ? cfg->bind_address : "*", pm_strerror(rc));
            pm_cli_pair_free(pair);
            return rc;
        }
    }
    return PM_OK;
}

int pm_cli_pair_new(pm_cli_pair *pair, const char *bind_address)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = bind_address;
    return pm_cli_pair_new_cfg(pair, &cfg);
}

void pm_cli_pair_free(pm_cli_pair *pair)
{
    for (int side = 0; side < 2; side++) {
        pm_rtc_peer_free(pair->peer[side]);
        pair->peer[side] = NULL;
    }
}

int pm_cli_pair_watch(const pm_cli_pair *pair, pm_cli_loop *loop)
{
    int rc = pm_cli_loop_add(loop, pair->peer[PM_CLI_OFFERER]);
    return rc < 0 ? rc : pm_cli_loop_add(loop, pair->peer[PM_CLI_ANSWERER]);
}

int pm_cli_pair_start(pm_cli_pair *pair)
{
    return pm_rtc_peer_create_offer(pair->peer[PM_CLI_OFFERER]);
}

/* Apply one side's signaling event to the other side, as a signaling server would. */
static int relay_signaling(const pm_cli_pair *pair, int side, const pm_rtc_event *ev)
{
    pm_rtc_peer *to = pair->peer[1 - side];
    if (ev->type == PM_RTC_EVENT_DESCRIPTION)
        return pm_rtc_peer_set_remote_description(to, ev->sdp_type, ev->sdp);
    if (ev->type != PM_RTC_EVENT_CANDIDATE)
        return PM_OK;
    if (!pair->rewrite || !ev->candidate[0]) /* "": end of candidates */
        return pm_rtc_peer_add_ice_candidate(to, ev->mid, ev->mline_index, ev->candidate);
    char line[512];
    snprintf(line, sizeof line, "%s", ev->candidate);
    if (!pair->rewrite(pair->rewrite_ud, side, line, sizeof line))
        return PM_OK;
    return pm_rtc_peer_add_ice_candidate(to, ev->mid, ev->mline_index, line);
}

static int drain_side(pm_cli_pair *pair, int side, pm_cli_pair_event_fn fn, void *ud)
{
    pm_rtc_peer *self = pair->peer[side];
    int rc = pm_rtc_peer_poll(self);
    if (rc < 0 && rc != PM_ERR_CLOSED)
        return rc;
    int drained = 0;
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(self, &ev)) {
        drained++;
        rc = relay_signaling(pair, side, &ev);
        if (rc < 0) {
            fprintf(stderr, "peermesh: relaying %s to the %s failed: %s\n",
                    ev.type == PM_RTC_EVENT_DESCRIPTION ? ev.sdp_type : "a candidate",
                    side == PM_CLI_OFFERER ? "answerer" : "offerer", pm_strerror(rc));
            return rc;
        }
        if (fn)
            fn(ud, side, &ev);
    }
    return drained;
}

int pm_cli_pair_step(pm_cli_pair *pair, pm_cli_pair_event_fn fn, void *ud)
{
    int total = 0;
    for (int side = 0; side < 2; side++) {
        int n = drain_side(pair, side, fn, ud);
        if (n < 0)
            return n;
        total += n;
    }
    return total;
}
