/* Checks for the WebAssembly unit tests (check.h). */
#include "check.h"

#include <emscripten.h>
#include <stdio.h>
#include <stdlib.h>

static int passed, failed;

bool check_true(bool ok, const char *what, const char *file, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

bool check_eq(long long a, long long b, const char *what, const char *file, int line)
{
    if (a != b)
        printf("     %lld != %lld\n", a, b);
    return check_true(a == b, what, file, line);
}

bool wait_until(void (*poll)(void *), bool (*done)(void *), void *ud, int ms)
{
    double end = emscripten_get_now() + ms;
    for (;;) {
        if (poll)
            poll(ud);
        if (done(ud))
            return true;
        if (emscripten_get_now() > end)
            return false;
        emscripten_sleep(1);
    }
}

void settle(int ms)
{
    emscripten_sleep(ms);
}

int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    /* exit(), not a return from main: once main has slept (ASYNCIFY), what it
     * returns no longer reaches the process's exit status. */
    exit(failed ? 1 : 0);
}
