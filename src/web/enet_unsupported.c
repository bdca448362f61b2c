/*
 * enet.h in the WebAssembly build: a web page has no UDP sockets, so no ENet.
 * Creating a host or a multiplayer peer fails with PM_ERR_UNSUPPORTED
 * (enet.h); since none can exist, every other function is given only NULL
 * and does nothing. pm_enet_config_default still fills in the defaults.
 */
#include "peermesh/enet.h"

#include <string.h>

int pm_enet_host_create(const pm_env *env, int max_peers, int max_channels, uint32_t in_bandwidth,
                        uint32_t out_bandwidth, pm_enet_host **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_create_bound(const pm_env *env, const char *bind_ip, uint16_t port, int max_peers,
                              int max_channels, uint32_t in_bandwidth, uint32_t out_bandwidth,
                              pm_enet_host **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

void pm_enet_host_free(pm_enet_host *host) {}

int pm_enet_host_connect(pm_enet_host *host, const char *ip, uint16_t port, int channels,
                         uint32_t data, pm_enet_packet_peer **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_service(pm_enet_host *host, int timeout_ms, pm_enet_event *ev)
{
    return PM_ERR_UNSUPPORTED;
}

void pm_enet_host_flush(pm_enet_host *host) {}

void pm_enet_host_bandwidth_limit(pm_enet_host *host, uint32_t in_bandwidth, uint32_t out_bandwidth)
{
}

void pm_enet_host_channel_limit(pm_enet_host *host, int limit) {}

void pm_enet_host_bandwidth_throttle(pm_enet_host *host) {}

int pm_enet_host_compress(pm_enet_host *host, pm_enet_compression mode)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_limit_pending(pm_enet_host *host, int per_address, int total, uint32_t timeout_ms)
{
    return PM_ERR_UNSUPPORTED;
}

uint64_t pm_enet_host_pending_refused(const pm_enet_host *host)
{
    return 0;
}

int pm_enet_host_broadcast(pm_enet_host *host, int channel, const uint8_t *data, size_t len,
                           int flags)
{
    return PM_ERR_UNSUPPORTED;
}

uint32_t pm_enet_host_pop_statistic(pm_enet_host *host, pm_enet_host_statistic stat)
{
    return 0;
}

int pm_enet_host_get_max_channels(const pm_enet_host *host)
{
    return PM_ERR_UNSUPPORTED;
}

uint16_t pm_enet_host_get_local_port(const pm_enet_host *host)
{
    return 0;
}

int pm_enet_host_socket_send(pm_enet_host *host, const char *ip, uint16_t port, const uint8_t *data,
                             size_t len)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_capture_raw(pm_enet_host *host, bool on)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_next_raw(pm_enet_host *host, pm_addr *from, uint8_t *buf, size_t cap, size_t *len)
{
    return PM_ERR_UNSUPPORTED;
}

size_t pm_enet_host_get_peers(pm_enet_host *host, pm_enet_packet_peer **peers, size_t cap)
{
    return 0;
}

int pm_enet_host_wait(pm_enet_host *host, int timeout_ms)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_packet_peer_send(pm_enet_packet_peer *peer, int channel, const uint8_t *data,
                             size_t len, int flags)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_packet_peer_put_packet(pm_enet_packet_peer *peer, const uint8_t *data, size_t len)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_packet_peer_get_packet(pm_enet_packet_peer *peer, const uint8_t **data, size_t *len,
                                   int *channel, int *flags)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_packet_peer_get_available_packet_count(const pm_enet_packet_peer *peer)
{
    return PM_ERR_UNSUPPORTED;
}

void pm_enet_packet_peer_disconnect(pm_enet_packet_peer *peer, uint32_t data) {}

void pm_enet_packet_peer_disconnect_later(pm_enet_packet_peer *peer, uint32_t data) {}

void pm_enet_packet_peer_disconnect_now(pm_enet_packet_peer *peer, uint32_t data) {}

void pm_enet_packet_peer_reset(pm_enet_packet_peer *peer) {}

void pm_enet_packet_peer_ping(pm_enet_packet_peer *peer) {}

void pm_enet_packet_peer_ping_interval(pm_enet_packet_peer *peer, uint32_t ms) {}

int pm_enet_packet_peer_set_timeout(pm_enet_packet_peer *peer, uint32_t limit, uint32_t min_ms,
                                    uint32_t max_ms)
{
    return PM_ERR_UNSUPPORTED;
}

void pm_enet_packet_peer_throttle_configure(pm_enet_packet_peer *peer, uint32_t interval,
                                            uint32_t acceleration, uint32_t deceleration)
{
}

double pm_enet_packet_peer_get_statistic(const pm_enet_packet_peer *peer,
                                         pm_enet_peer_statistic stat)
{
    return 0;
}

pm_enet_peer_state pm_enet_packet_peer_get_state(const pm_enet_packet_peer *peer)
{
    return (pm_enet_peer_state)0;
}

bool pm_enet_packet_peer_is_active(const pm_enet_packet_peer *peer)
{
    return false;
}

int pm_enet_packet_peer_get_remote_address(const pm_enet_packet_peer *peer, pm_addr *out)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_packet_peer_get_channels(const pm_enet_packet_peer *peer)
{
    return PM_ERR_UNSUPPORTED;
}

pm_enet_host *pm_enet_packet_peer_get_host(const pm_enet_packet_peer *peer)
{
    return NULL;
}

void pm_enet_config_default(pm_enet_config *cfg)
{
    if (cfg)
        *cfg = (pm_enet_config){.format = PM_ENET_FORMAT_GODOT3,
                                .compression = PM_ENET_COMPRESS_NONE,
                                .server_relay = true,
                                .max_pending_per_address = 4,
                                .pending_timeout_ms = 5000};
}

int pm_enet_new(const pm_enet_config *cfg, pm_enet **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

void pm_enet_free(pm_enet *e) {}

pm_multiplayer *pm_enet_multiplayer(pm_enet *e)
{
    return NULL;
}

int pm_enet_create_server(pm_enet *e, uint16_t port, int max_clients, int extra_channels,
                          uint32_t in_bandwidth, uint32_t out_bandwidth)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_create_client(pm_enet *e, const char *address, uint16_t port, int extra_channels,
                          uint32_t in_bandwidth, uint32_t out_bandwidth, uint16_t local_port)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_create_mesh(pm_enet *e, int32_t unique_id)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_add_mesh_peer(pm_enet *e, int32_t peer_id, pm_enet_host *host)
{
    return PM_ERR_UNSUPPORTED;
}

pm_enet_host *pm_enet_get_host(pm_enet *e)
{
    return NULL;
}

pm_enet_packet_peer *pm_enet_get_peer(pm_enet *e, int32_t peer_id)
{
    return NULL;
}

uint16_t pm_enet_get_local_port(const pm_enet *e)
{
    return 0;
}

pm_enet_format pm_enet_get_format(const pm_enet *e)
{
    return PM_ENET_FORMAT_GODOT3;
}

void pm_enet_get_stats(const pm_enet *e, pm_enet_stats *out)
{
    if (out)
        memset(out, 0, sizeof *out);
}

int pm_enet_wait(pm_enet *e, int timeout_ms)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_enet_host_fd(const pm_enet_host *host)
{
    return PM_ERR_UNSUPPORTED;
}

pm_time pm_enet_host_next_timeout(const pm_enet_host *host)
{
    return PM_TIME_NEVER;
}

int pm_enet_fd(const pm_enet *e)
{
    return PM_ERR_UNSUPPORTED;
}

pm_time pm_enet_next_timeout(const pm_enet *e)
{
    return PM_TIME_NEVER;
}
