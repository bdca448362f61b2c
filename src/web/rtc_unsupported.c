/*
 * The parts of rtc.h a web page cannot have: the browser owns the sockets
 * (no socket to wait on, no sans-I/O datagram entry points) and makes its
 * own DTLS certificates. Each says so with PM_ERR_UNSUPPORTED (rtc.h).
 */
#include "web/rtc_web.h"

int pm_rtc_peer_fd(const pm_rtc_peer *pc)
{
    return -1;
}

uint16_t pm_rtc_peer_local_port(const pm_rtc_peer *pc)
{
    return 0;
}

int pm_rtc_peer_handle_datagram(pm_rtc_peer *pc, pm_time now, const pm_addr *local,
                                const pm_addr *from, const uint8_t *data, size_t len)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_rtc_peer_handle_timeout(pm_rtc_peer *pc, pm_time now)
{
    return PM_ERR_UNSUPPORTED;
}

bool pm_rtc_peer_poll_transmit(pm_rtc_peer *pc, pm_rtc_transmit *out)
{
    return false;
}

int pm_rtc_certificate_generate(pm_rtc_certificate **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

/* None can exist. */
void pm_rtc_certificate_free(pm_rtc_certificate *cert) {}

const char *pm_rtc_certificate_fingerprint(const pm_rtc_certificate *cert)
{
    return "";
}

/* TURN connections and mDNS sockets are the browser's too. */
int pm_rtc_peer_handle_stream(pm_rtc_peer *pc, pm_time now, uint32_t stream, const uint8_t *data,
                              size_t len)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_rtc_peer_stream_closed(pm_rtc_peer *pc, pm_time now, uint32_t stream, const char *reason)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_rtc_peer_handle_mdns(pm_rtc_peer *pc, pm_time now, const uint8_t *data, size_t len)
{
    return PM_ERR_UNSUPPORTED;
}

/* Not bridged yet: the selected pair (getStats) and restartIce(). */
int pm_rtc_peer_get_selected_pair(const pm_rtc_peer *pc, pm_rtc_candidate_pair *out)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_rtc_peer_restart_ice(pm_rtc_peer *pc)
{
    return PM_ERR_UNSUPPORTED;
}
