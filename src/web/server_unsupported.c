/*
 * The signaling server in the WebAssembly build: a web page cannot listen,
 * so pm_signal_server_new() fails with PM_ERR_UNSUPPORTED (signaling.h);
 * since no server can exist, the other functions are given only NULL and
 * do nothing. What needs no socket works as natively: the configuration
 * defaults (the server core, sig_core.c) and pm_signal_token_make (token.c).
 */
#include "peermesh/signaling.h"

#include <string.h>

int pm_signal_server_new(const pm_signal_server_config *cfg, pm_signal_server **out)
{
    if (out)
        *out = NULL;
    return PM_ERR_UNSUPPORTED;
}

void pm_signal_server_free(pm_signal_server *srv) {}

uint16_t pm_signal_server_port(const pm_signal_server *srv)
{
    return 0;
}

int pm_signal_server_poll(pm_signal_server *srv, int timeout_ms)
{
    return PM_ERR_UNSUPPORTED;
}

void pm_signal_server_wake(pm_signal_server *srv) {}

void pm_signal_server_shutdown(pm_signal_server *srv) {}

void pm_signal_server_get_stats(const pm_signal_server *srv, pm_signal_server_stats *out)
{
    if (out)
        memset(out, 0, sizeof *out);
}
