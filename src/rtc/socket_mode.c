/*
 * Socket mode: the peer connection hands its own sans-I/O entry points to
 * the socket driver of its environment (base/driver.h; src/io provides the
 * default), which owns the UDP socket, reads the clock and batches the
 * datagrams. The peer itself never touches a socket or a clock.
 */
#include "rtc_internal.h"

/* ---- the peer as the driver sees it ----------------------------------- */

static int ep_datagram(void *core, pm_time now, const pm_addr *local, const pm_addr *from,
                       const uint8_t *data, size_t len)
{
    (void)local; /* one socket: every datagram belongs to our host candidates */
    pm_rtc_peer *pc = core;
    if (pc->closed)
        return PM_ERR_CLOSED;
    pm_rtc_input(pc, now, from, data, len);
    return PM_OK;
}

static int ep_timeout(void *core, pm_time now)
{
    return pm_rtc_peer_handle_timeout(core, now);
}

static bool ep_transmit(void *core, pm_transmit *out)
{
    return pm_rtc_take_transmit(core, out);
}

static pm_time ep_deadline(const void *core)
{
    return pm_rtc_deadline(core);
}

static int ep_stream(void *core, pm_time now, uint32_t stream, const uint8_t *data, size_t len)
{
    pm_rtc_peer *pc = core;
    return pc->closed ? PM_ERR_CLOSED : pm_rtc_stream_input(pc, now, stream, data, len);
}

static void ep_stream_closed(void *core, pm_time now, uint32_t stream, const char *why)
{
    pm_rtc_peer *pc = core;
    if (!pc->closed)
        pm_rtc_stream_end(pc, now, stream, why);
}

static int ep_mdns(void *core, pm_time now, const uint8_t *data, size_t len)
{
    pm_rtc_peer *pc = core;
    return pc->closed ? PM_ERR_CLOSED : pm_rtc_mdns_input(pc, now, data, len);
}

int pm_rtc_sockets_open(pm_rtc_peer *pc, const pm_rtc_config *cfg)
{
    const pm_socket_driver *drv = pc->env.sockets;
    if (!drv) {
        PM_ERROR(&pc->env, "rtc", "socket mode needs a socket driver; use external_transport");
        return PM_ERR_UNSUPPORTED;
    }
    pm_socket_config sc = {cfg->bind_address, cfg->port_min, cfg->port_max, cfg->enable_ipv6,
                           cfg->include_loopback};
    pm_endpoint ep = {pc,          ep_datagram, ep_timeout,       ep_transmit,
                      ep_deadline, ep_stream,   ep_stream_closed, ep_mdns};
    int rc = drv->open(&pc->env, &sc, &ep, pc->host_addrs, PM_RTC_MAX_HOST_ADDRS,
                       &pc->host_addr_count, &pc->sockets);
    if (rc != PM_OK)
        return rc;
    pc->driver = drv;
    if (pc->host_addr_count == 0)
        PM_WARN(&pc->env, "rtc", "no usable host address: only peer-reflexive candidates");
    return PM_OK;
}

void pm_rtc_sockets_close(pm_rtc_peer *pc)
{
    if (pc->sockets)
        pc->driver->close(pc->sockets);
    pc->sockets = NULL;
}

/* ---- public entry points of socket mode ------------------------------- */

int pm_rtc_peer_poll(pm_rtc_peer *pc)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (pc->sockets)
        return pc->driver->poll(pc->sockets);
    return pm_rtc_peer_handle_timeout(pc, pm_env_now(&pc->env));
}

int pm_rtc_peer_fd(const pm_rtc_peer *pc)
{
    return pc && pc->sockets ? pc->driver->fd(pc->sockets) : -1;
}

uint16_t pm_rtc_peer_local_port(const pm_rtc_peer *pc)
{
    return pc && pc->sockets ? pc->driver->local_port(pc->sockets) : 0;
}
