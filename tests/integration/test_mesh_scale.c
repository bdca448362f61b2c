/*
 * Integration: a 64-node WebRTC mesh in one process (2016 links, 4032
 * connections over loopback UDP, `peermesh bench mesh --peers 64`), the size
 * at which meshes stopped forming completely with usrsctp under the data
 * channels: some associations stayed in COOKIE-WAIT until the benchmark
 * gave up (usrsctp's one process-wide stack fires every association's
 * timers from whichever association drives its shared 10 ms tick, and parks
 * their output until their owner runs again). With our own SCTP every
 * association has its own timers and deadline, and every link must connect.
 *
 * The time limit is generous (a loaded 2-core machine formed it in 3-7 s):
 * this checks that the mesh forms, not how fast (`peermesh bench mesh`).
 * Skipped when the program was not built (-DPM_APPS=OFF), and in a
 * PM_SCTP=usrsctp build (the limitation this test pins down).
 */
#include "testutil.h"

#include "sctp/sctp.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PEERS     64
#define TIMEOUT_S 60

static void mesh_of_64(void **st)
{
    (void)st;
    char program[1024];
    snprintf(program, sizeof program, "%s/peermesh", PM_BINARY_DIR);
    if (access(program, X_OK) != 0) {
        print_message("skipped: %s was not built (-DPM_APPS=OFF)\n", program);
        skip();
    }
    if (strcmp(pm_sctp_implementation(), "usrsctp") == 0) {
        print_message("skipped: with usrsctp a %d-node mesh does not form reliably (see the "
                      "header comment)\n",
                      PEERS);
        skip();
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' bench mesh --peers %d --seconds 0 --timeout %d 2>&1", program,
             PEERS, TIMEOUT_S);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[2048];
    long links = -1, connected = -1;
    double ms = -1;
    while (fgets(line, sizeof line, f)) {
        fputs(line, stdout);
        const char *l = strstr(line, "\"links\":");
        const char *c = strstr(line, "\"connected\":");
        const char *t = strstr(line, "\"connect_ms\":");
        if (l && c && t) {
            links = strtol(l + 8, NULL, 10);
            connected = strtol(c + 12, NULL, 10);
            ms = strtod(t + 13, NULL);
        }
    }
    int status = pclose(f);
    print_message("%ld of %ld links connected in %.0f ms\n", connected, links, ms);
    assert_int_equal(links, PEERS * (PEERS - 1) / 2);
    assert_int_equal(connected, links);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mesh_of_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
