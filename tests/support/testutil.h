/* Shared helpers for peermesh tests (cmocka). */
#ifndef PM_TESTUTIL_H
#define PM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/base.h"

/**
 * A virtual clock shared by everything in a test process. The simulator and
 * sans-I/O tests advance it explicitly. Because the test executable defines
 * gettimeofday() (testutil.c), OpenSSL's DTLS timers and usrsctp's RTT
 * measurements see this clock too while it is enabled.
 */
extern pm_time pm_test_clock_now;
extern bool pm_test_clock_virtual; /* false: gettimeofday passes through */

/** An environment whose clock is the virtual clock and whose random is a seeded PRNG. */
void pm_test_env(pm_env *env, uint64_t seed);
/** Resolved version of pm_test_env. */
void pm_test_envr(pm_envr *env, uint64_t seed);

/** Deterministic PRNG (xorshift64*). */
uint64_t pm_test_rand(uint64_t *state);

/** True under CI (CI=true, as .ci/run sets it). */
bool pm_test_ci(void);

/**
 * The current test cannot run here (a tool, program or facility is
 * missing): by hand it is skipped with the reason printed; under CI
 * (pm_test_ci()) it fails instead, because there scripts/install-deps.sh
 * installs everything and a skip would hide a broken setup. Does not
 * return. The shell tests have the same rule in tests/support/skip.sh.
 */
void pm_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
