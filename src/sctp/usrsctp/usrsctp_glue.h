/*
 * Process-wide usrsctp state shared by the associations of sctp.c (internal
 * to src/sctp). usrsctp is one global stack: one init, one set of sysctls,
 * one conn_output callback and one timer wheel. This file's functions own
 * that state; sctp.c owns everything per association.
 *
 * Threads: the registry and the tick are guarded by one mutex because
 * usrsctp's iterator thread exists, and because associations owned by
 * different threads share the timer wheel.
 */
#ifndef PM_USRSCTP_GLUE_H
#define PM_USRSCTP_GLUE_H

#include "sctp/sctp.h"

#include <stdint.h>

/** Take a reference on the stack; the first one initialises usrsctp. */
int pm_usrsctp_acquire(const pm_envr *env);
/** Drop a reference; the last one resets the shared tick. */
void pm_usrsctp_release(void);

/** Register an association; *id (never 0) is its AF_CONN address. */
int pm_usrsctp_register(pm_sctp *s, uintptr_t *id);
/** After this, output and upcalls for `id` are ignored. */
void pm_usrsctp_unregister(uintptr_t id);

/** Mark `s` as the association this thread is inside (NULL for none);
 *  returns the previous one so calls can nest safely. */
pm_sctp *pm_usrsctp_enter(pm_sctp *s);

/** Advance usrsctp's timers to `now` (at most once per distinct ms). */
void pm_usrsctp_advance(pm_time now);
/** When the next 10 ms tick is due; PM_TIME_NEVER before the first tick. */
pm_time pm_usrsctp_next_tick(void);

/** The registry mutex, also guarding each association's deferred queue. */
void pm_usrsctp_lock(void);
void pm_usrsctp_unlock(void);

/* ---- implemented by sctp.c, called from usrsctp's callbacks ---- */

/** A packet for `s` while this thread is inside a call of `s`. */
void pm_sctp_glue_emit(pm_sctp *s, const uint8_t *pkt, size_t len);
/** A packet for `s` produced while driving another association (registry lock held). */
void pm_sctp_glue_defer_locked(pm_sctp *s, const uint8_t *pkt, size_t len);
/** usrsctp signalled socket activity for `s` (registry lock held). */
void pm_sctp_glue_wake_locked(pm_sctp *s);

/** The upcall handed to usrsctp_set_upcall; `arg` is the association id. */
struct socket;
void pm_usrsctp_upcall(struct socket *so, void *arg, int flags);

#endif
