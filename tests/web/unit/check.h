/*
 * Checks for the WebAssembly unit tests (tests/web/unit), which run under
 * Node.js where cmocka is not: each failed check prints where and what, the
 * test ends with "<name>: N passed, N failed" and exits non-zero on a failure.
 * wait_until() lets the browser's (fake) asynchronous work happen: it yields
 * to the JS event loop (ASYNCIFY's emscripten_sleep) between tries.
 */
#ifndef PM_WEB_CHECK_H
#define PM_WEB_CHECK_H

#include <stdbool.h>

#define CHECK(cond)    check_true((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b) check_eq((long long)(a), (long long)(b), #a " == " #b, __FILE__, __LINE__)

bool check_true(bool ok, const char *what, const char *file, int line);
bool check_eq(long long a, long long b, const char *what, const char *file, int line);

/** Call poll(ud) and test done(ud) until it holds or `ms` have passed; yields between. */
bool wait_until(void (*poll)(void *), bool (*done)(void *), void *ud, int ms);
/** Let the event loop run for `ms` without polling anything. */
void settle(int ms);

/** Print the summary line and exit: status 1 when a check failed, else 0. */
int check_summary(const char *name) __attribute__((noreturn));

#endif
