/* Helpers to connect two sans-I/O peer connections in tests. */
#include "rtcpair.h"

#include <stdio.h>

void pm_test_pair_init(pm_test_pair *p, uint64_t seed, const pm_sim_link *link)
{
    pm_test_pair_init_with(p, seed, link, NULL, NULL);
}

void pm_test_pair_init_with(pm_test_pair *p, uint64_t seed, const pm_sim_link *link,
                            void (*tweak)(pm_rtc_config *cfg, int side, void *ud), void *ud)
{
    memset(p, 0, sizeof *p);
    p->net = pm_simnet_new(seed, link);
    const char *ips[2] = {"127.0.0.1", "127.0.0.2"};
    for (int s = 0; s < 2; s++) {
        pm_test_env(&p->env[s], seed * 2 + (uint64_t)s + 1);
        assert_int_equal(pm_addr_parse(&p->addr[s], ips[s], (uint16_t)(5001 + s)), PM_OK);
        pm_rtc_config cfg;
        pm_rtc_config_default(&cfg);
        cfg.env = &p->env[s];
        cfg.external_transport = true;
        cfg.local_addrs = &p->addr[s];
        cfg.local_addr_count = 1;
        if (tweak)
            tweak(&cfg, s, ud);
        assert_int_equal(pm_rtc_peer_new(&cfg, &p->pc[s]), PM_OK);
        p->ep[s] = pm_simnet_add_peer(p->net, p->pc[s], &p->addr[s]);
    }
}

void pm_test_pair_free(pm_test_pair *p)
{
    for (int s = 0; s < 2; s++)
        pm_rtc_peer_free(p->pc[s]);
    pm_simnet_free(p->net);
}

pm_rtc_channel *pm_test_pair_channel(pm_test_pair *p, int s, const char *label)
{
    for (int i = 0; i < p->nchans[s]; i++)
        if (strcmp(pm_rtc_channel_get_label(p->chans[s][i]), label) == 0)
            return p->chans[s][i];
    return NULL;
}

static void remember(pm_test_pair *p, int s, pm_rtc_channel *ch)
{
    for (int i = 0; i < p->nchans[s]; i++)
        if (p->chans[s][i] == ch)
            return;
    if (p->nchans[s] < 16)
        p->chans[s][p->nchans[s]++] = ch;
}

void pm_test_pair_pump(pm_test_pair *p)
{
    for (int s = 0; s < 2; s++) {
        pm_rtc_peer *other = p->pc[1 - s];
        pm_rtc_event ev;
        while (pm_rtc_peer_next_event(p->pc[s], &ev)) {
            for (int i = 0; ev.channel && i < p->nreleased[s]; i++)
                p->named_released[s] += ev.channel == p->released[s][i];
            if (ev.type == PM_RTC_EVENT_DATA_CHANNEL && p->release_announced[s] &&
                p->nreleased[s] < 16) {
                p->released[s][p->nreleased[s]++] = ev.channel;
                pm_rtc_channel_release(ev.channel);
                continue;
            }
            switch (ev.type) {
            case PM_RTC_EVENT_DESCRIPTION:
                assert_int_equal(pm_rtc_peer_set_remote_description(other, ev.sdp_type, ev.sdp),
                                 PM_OK);
                break;
            case PM_RTC_EVENT_CANDIDATE:
                assert_int_equal(
                    pm_rtc_peer_add_ice_candidate(other, ev.mid, ev.mline_index, ev.candidate),
                    PM_OK);
                break;
            case PM_RTC_EVENT_DATA_CHANNEL:
                remember(p, s, ev.channel);
                break;
            case PM_RTC_EVENT_CHANNEL_OPEN:
                remember(p, s, ev.channel);
                p->opens[s]++;
                break;
            case PM_RTC_EVENT_CHANNEL_CLOSED:
                p->closes[s]++;
                break;
            case PM_RTC_EVENT_STATE:
                if (ev.state >= 0 && ev.state < 8)
                    p->states[s][ev.state]++;
                if (ev.state == PM_RTC_STATE_FAILED)
                    p->failed[s] = true;
                break;
            default:
                break;
            }
        }
    }
}

bool pm_test_pair_run(pm_test_pair *p, bool (*cond)(pm_test_pair *, void *), void *ud,
                      pm_time timeout)
{
    pm_time limit = pm_test_clock_now + timeout;
    for (long iter = 0; iter < 5000000; iter++) {
        pm_test_pair_pump(p);
        if (cond && cond(p, ud))
            return true;
        if (!pm_simnet_step(p->net, limit)) {
            pm_test_pair_pump(p);
            return cond ? cond(p, ud) : true;
        }
    }
    fail_msg("simulation did not settle (iteration bound hit)");
    return false;
}
