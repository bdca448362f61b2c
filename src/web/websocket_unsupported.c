/*
 * websocket.h in the WebAssembly build: the WebSocket multiplayer peer's
 * shell is libwebsockets (a server, or a client on native sockets), which a
 * page does not have. pm_websocket_new fails with PM_ERR_UNSUPPORTED
 * (websocket.h); since no peer can exist, every other function is given
 * only NULL and does nothing. pm_websocket_config_default still fills in
 * the defaults.
 */
#include "peermesh/websocket.h"

void pm_websocket_config_default(pm_websocket_config *cfg)
{
    if (cfg)
        *cfg = (pm_websocket_config){
            .max_packet = PM_WEBSOCKET_DEFAULT_MAX_PACKET,
            .max_queued = 16u << 20,
        };
}

int pm_websocket_new(const pm_websocket_config *cfg, pm_websocket **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

void pm_websocket_free(pm_websocket *w) {}

pm_multiplayer *pm_websocket_multiplayer(pm_websocket *w)
{
    return NULL;
}

int pm_websocket_create_server(pm_websocket *w, uint16_t port)
{
    return PM_ERR_UNSUPPORTED;
}

int pm_websocket_create_client(pm_websocket *w, const char *url)
{
    return PM_ERR_UNSUPPORTED;
}

uint16_t pm_websocket_get_local_port(const pm_websocket *w)
{
    return 0;
}

int pm_websocket_wait(pm_websocket *w, int timeout_ms)
{
    return PM_ERR_UNSUPPORTED;
}

void pm_websocket_get_stats(const pm_websocket *w, pm_websocket_stats *out)
{
    if (out)
        *out = (pm_websocket_stats){0};
}
