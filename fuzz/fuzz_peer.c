/*
 * Fuzz target: arbitrary datagrams into a peer connection that has a remote
 * description (so ICE answers checks and DTLS is reachable through a
 * validated pair). Input: a sequence of [u16 length][bytes] datagrams; a
 * byte of 0xff as length high byte advances the clock instead.
 */
#include "peermesh/rtc.h"

#include <stdlib.h>
#include <string.h>

static char *offer_sdp;
static pm_time fake_now;

static pm_time fuzz_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static int fuzz_random(void *ud, uint8_t *buf, size_t len)
{
    (void)ud;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    return PM_OK;
}

static void quiet_log(void *ud, pm_log_level l, const char *c, const char *m)
{
    (void)ud;
    (void)l;
    (void)c;
    (void)m;
}

static pm_env env = {.now = fuzz_clock, .random = fuzz_random, .log = quiet_log};
static pm_addr local_a, local_b;

static pm_rtc_peer *make_peer(const pm_addr *addr)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = &env;
    cfg.external_transport = true;
    cfg.local_addrs = addr;
    cfg.local_addr_count = 1;
    pm_rtc_peer *pc = NULL;
    if (pm_rtc_peer_new(&cfg, &pc) != PM_OK)
        abort();
    return pc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pm_addr_parse(&local_a, "127.0.0.1", 5001);
    pm_addr_parse(&local_b, "127.0.0.2", 5002);
    pm_rtc_peer *off = make_peer(&local_b);
    pm_rtc_channel *ch;
    pm_rtc_peer_create_channel(off, "f", NULL, &ch);
    pm_rtc_peer_create_offer(off);
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(off, &ev))
        if (ev.type == PM_RTC_EVENT_DESCRIPTION)
            offer_sdp = strdup(ev.sdp);
    pm_rtc_peer_free(off);
    return offer_sdp ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fake_now = PM_SEC(1000);
    pm_rtc_peer *pc = make_peer(&local_a);
    pm_rtc_peer_set_remote_description(pc, "offer", offer_sdp);
    pm_rtc_peer_add_ice_candidate(pc, "0", 0,
                                  "candidate:1 1 udp 2130706431 127.0.0.2 5002 typ host");
    size_t off = 0;
    while (off + 2 <= size) {
        if (data[off] == 0xff) {
            fake_now += (pm_time)data[off + 1] * 1000;
            pm_rtc_peer_handle_timeout(pc, fake_now);
            off += 2;
            continue;
        }
        size_t n = ((size_t)data[off] << 8 | data[off + 1]) & 0x7ff;
        off += 2;
        if (n > size - off)
            n = size - off;
        pm_rtc_peer_handle_datagram(pc, fake_now, &local_a, &local_b, data + off, n);
        off += n;
        pm_rtc_transmit t;
        while (pm_rtc_peer_poll_transmit(pc, &t))
            ;
    }
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(pc, &ev))
        ;
    pm_rtc_peer_free(pc);
    return 0;
}
