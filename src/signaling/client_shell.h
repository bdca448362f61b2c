/*
 * The signaling client (signaling.h) is its core (sig_client.h) on a
 * WebSocket shell: client.c natively (libwebsockets), src/web/
 * signal_client_web.c in a page (the browser's WebSocket). What the API does
 * the same way on either shell is client_api.c, through these three.
 */
#ifndef PM_SIG_CLIENT_SHELL_H
#define PM_SIG_CLIENT_SHELL_H

#include "signaling/sig_client.h"

/**
 * Make the core of a new client: the URL must be ws://HOST[:PORT][/PATH] or
 * wss://... (PM_ERR_INVALID otherwise, and for bad options; the log says
 * what is wrong), then
 * pm_sigcl_new() with the default peer factory (pm_rtc_peer_new).
 */
int pm_signal_client_new_core(const pm_envr *env, const pm_signal_client_config *cfg,
                              pm_sigcl **out);

/** The shell's core (never NULL for a client that pm_signal_client_new returned). */
pm_sigcl *pm_signal_client_core(const pm_signal_client *c);

/** Carry out what the core has to send, close or abort, now. */
void pm_signal_client_flush(pm_signal_client *c);

/** What pm_signal_client_poll returns once the shell ran the core: PM_ERR_CLOSED when
 *  signaling is closed and there is no mesh left to drive, else PM_OK. */
int pm_signal_client_status(const pm_signal_client *c);

#endif
