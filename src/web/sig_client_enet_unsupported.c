/*
 * The signaling client's ENet transport in the WebAssembly build: a web page
 * has no UDP sockets (enet_unsupported.c), so a client configured with
 * PM_SIGNAL_TRANSPORT_ENET cannot set up its mesh when its id arrives: it
 * closes signaling, as for any mesh it cannot create (sig_client_mesh.c).
 * No ENet mesh ever exists, so the rest has nothing to do.
 */
#include "signaling/sig_client_internal.h"

int pm_sigcl_enet_on_id(pm_sigcl *c, int32_t id)
{
    PM_ERROR(&c->env, "signal", "the ENet transport needs UDP sockets: not in a web page");
    return PM_ERR_UNSUPPORTED;
}

void pm_sigcl_enet_on_peer(pm_sigcl *c, int32_t peer) {}

void pm_sigcl_enet_on_peer_left(pm_sigcl *c, int32_t peer) {}

void pm_sigcl_enet_on_line(pm_sigcl *c, int32_t from, const char *line) {}

void pm_sigcl_enet_poll(pm_sigcl *c, pm_time now) {}

int pm_sigcl_enet_fd(const pm_sigcl *c)
{
    return -1;
}

pm_time pm_sigcl_enet_deadline(const pm_sigcl *c)
{
    return PM_TIME_NEVER;
}

void pm_sigcl_enet_close(pm_sigcl *c) {}

void pm_sigcl_enet_free(pm_sigcl *c) {}
