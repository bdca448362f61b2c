/* In-process peer pair with one channel, for benchmarks (see bench_link.h). */
#include "bench_link.h"

#include <stdio.h>
#include <string.h>

#define LINK_LABEL "bench"

int pm_cli_link_new(pm_cli_link *link, const char *bind_address)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = bind_address;
    return pm_cli_link_new_cfg(link, &cfg);
}

int pm_cli_link_new_cfg(pm_cli_link *link, const pm_rtc_config *cfg)
{
    memset(link, 0, sizeof *link);
    int rc = pm_cli_pair_new_cfg(&link->pair, cfg);
    if (rc < 0)
        return rc;
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init); /* ordered, reliable, in-band (DCEP) */
    rc = pm_rtc_peer_create_channel(link->pair.peer[PM_CLI_OFFERER], LINK_LABEL, &init,
                                    &link->ch[PM_CLI_OFFERER]);
    if (rc < 0) {
        fprintf(stderr, "peermesh: cannot create a channel: %s\n", pm_strerror(rc));
        pm_cli_pair_free(&link->pair);
    }
    return rc;
}

void pm_cli_link_free(pm_cli_link *link)
{
    pm_cli_pair_free(&link->pair);
    memset(link, 0, sizeof *link);
}

static void on_event(void *ud, int side, const pm_rtc_event *ev)
{
    pm_cli_link *link = ud;
    switch (ev->type) {
    case PM_RTC_EVENT_DATA_CHANNEL:
        if (side == PM_CLI_ANSWERER && !link->ch[PM_CLI_ANSWERER])
            link->ch[PM_CLI_ANSWERER] = ev->channel;
        break;
    case PM_RTC_EVENT_BUFFERED_AMOUNT_LOW:
        if (ev->channel == link->ch[PM_CLI_OFFERER])
            link->paused = false;
        break;
    case PM_RTC_EVENT_STATE:
        if (ev->state == PM_RTC_STATE_FAILED || ev->state == PM_RTC_STATE_CLOSED)
            link->failed = true;
        break;
    default:
        break;
    }
}

static bool channel_open(const pm_rtc_channel *ch)
{
    return ch && pm_rtc_channel_get_ready_state(ch) == PM_RTC_CHANNEL_OPEN;
}

int pm_cli_link_step(pm_cli_link *link)
{
    int rc = pm_cli_pair_step(&link->pair, on_event, link);
    if (rc < 0)
        return rc;
    if (link->failed)
        return PM_ERR_CLOSED;
    if (!link->open_at && channel_open(link->ch[PM_CLI_OFFERER]) &&
        channel_open(link->ch[PM_CLI_ANSWERER]))
        link->open_at = pm_now();
    return rc;
}

static int start_all(pm_cli_link *links, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        links[i].offer_at = pm_now();
        int rc = pm_cli_pair_start(&links[i].pair);
        if (rc < 0) {
            fprintf(stderr, "peermesh: cannot create an offer: %s\n", pm_strerror(rc));
            return rc;
        }
    }
    return PM_OK;
}

int pm_cli_links_open(pm_cli_link *links, size_t count, pm_cli_loop *loop, pm_time deadline)
{
    int rc = start_all(links, count);
    while (rc == PM_OK) {
        size_t open = 0;
        bool busy = false;
        for (size_t i = 0; i < count; i++) {
            int n = pm_cli_link_step(&links[i]);
            if (n < 0)
                return n;
            busy |= n > 0;
            open += links[i].open_at != 0;
        }
        if (open == count)
            return PM_OK;
        if (pm_now() >= deadline)
            return PM_ERR_TIMEOUT;
        if (!busy)
            rc = pm_cli_loop_wait(loop, -1, deadline, NULL);
    }
    return rc;
}

int pm_cli_link_drain(pm_rtc_channel *ch, int budget, uint64_t *bytes)
{
    int taken = 0;
    while (taken < budget) {
        const uint8_t *data;
        size_t len;
        int rc = pm_rtc_channel_get_packet(ch, &data, &len);
        if (rc == PM_ERR_AGAIN)
            break;
        if (rc < 0)
            return rc;
        *bytes += len;
        taken++;
    }
    return taken;
}
