/*
 * Integration: a 6-node WebRTC mesh across six processes on loopback. Each
 * node is `peermesh mesh-node` (tests/tools/cmd_mesh_node.c); this test is
 * the signaling relay between them (no signaling server exists yet): every
 * "<to> <json>" line a node writes on stdout goes to node <to>'s stdin as
 * "<from> <json>". Each node connects to the five others, sends broadcast
 * and targeted packets on every channel and checks what it receives; it
 * writes "0 <result>" when every reliable packet arrived. Once all six have,
 * the test closes their stdin and each must exit 0.
 *
 * Two runs: Godot 4's create_mesh, and Godot 3.2's initialize(id, true)
 * with node 1 as the server (each client must see CONNECTION_SUCCEEDED).
 * Skipped when the peermesh program was not built (-DPM_APPS=OFF); a
 * failure instead under CI (pm_test_skip).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NODES        6
#define RUN_LIMIT_MS 60000

typedef struct proc {
    pid_t pid;
    int in_fd;  /* its stdin */
    int out_fd; /* its stdout */
    char buf[1 << 16];
    size_t len;
    bool result, ok, exited;
    int status;
    char result_line[1024];
    char log[512];
} proc;

static proc P[NODES + 1];

static const char *program(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/peermesh", PM_BINARY_DIR);
    return path;
}

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void spawn(int id, bool server_compat)
{
    proc *p = &P[id];
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    snprintf(p->log, sizeof p->log, "%s/mesh-node-%d.log", PM_BINARY_DIR, id);
    char idarg[16];
    snprintf(idarg, sizeof idarg, "%d", id);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        if (log >= 0)
            dup2(log, STDERR_FILENO);
        for (int fd = 3; fd < 256; fd++)
            close(fd);
        char *argv[] = {(char *)program(),
                        "mesh-node",
                        "--id",
                        idarg,
                        "--peers",
                        "1,2,3,4,5,6",
                        "--packets",
                        "20",
                        "--timeout",
                        "50",
                        server_compat ? "--server-compat" : NULL,
                        NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
}

/* Relay one complete line of node `from`. */
static void relay_line(int from, char *line)
{
    char *end;
    long to = strtol(line, &end, 10);
    assert_true(end != line && *end == ' ');
    if (to == 0) {
        proc *p = &P[from];
        p->result = true;
        p->ok = strstr(end, "\"ok\":true") != NULL;
        snprintf(p->result_line, sizeof p->result_line, "%s", end + 1);
        return;
    }
    assert_true(to >= 1 && to <= NODES && to != from);
    char head[16];
    int hn = snprintf(head, sizeof head, "%d ", from);
    proc *dst = &P[to];
    if (dst->in_fd < 0)
        return;
    /* Lines are small (an SDP is a few KB): blocking writes to a pipe are fine. */
    size_t n = strlen(end + 1);
    end[1 + n] = '\n';
    if (write(dst->in_fd, head, (size_t)hn) != hn ||
        write(dst->in_fd, end + 1, n + 1) != (ssize_t)(n + 1))
        fail_msg("writing to node %ld failed: %s", to, strerror(errno));
    end[1 + n] = 0;
}

static void read_node(int id)
{
    proc *p = &P[id];
    ssize_t n = read(p->out_fd, p->buf + p->len, sizeof p->buf - p->len - 1);
    if (n <= 0)
        return;
    p->len += (size_t)n;
    char *start = p->buf, *nl;
    while ((nl = memchr(start, '\n', p->len - (size_t)(start - p->buf)))) {
        *nl = 0;
        relay_line(id, start);
        start = nl + 1;
    }
    p->len -= (size_t)(start - p->buf);
    memmove(p->buf, start, p->len);
    assert_true(p->len < sizeof p->buf - 1);
}

static void show_log(int id)
{
    FILE *f = fopen(P[id].log, "r");
    if (!f)
        return;
    char line[512];
    int k = 0;
    printf("# --- node %d (%s), last lines ---\n", id, P[id].log);
    /* tail: remember the file, print the last 15 lines */
    char *lines[15] = {0};
    while (fgets(line, sizeof line, f)) {
        free(lines[k % 15]);
        lines[k % 15] = strdup(line);
        k++;
    }
    for (int i = 0; i < 15; i++) {
        char *l = lines[(k + i) % 15];
        if (l)
            printf("#   %s", l);
        free(l);
    }
    fclose(f);
}

static void kill_all(void)
{
    for (int i = 1; i <= NODES; i++)
        if (P[i].pid > 0 && !P[i].exited) {
            kill(P[i].pid, SIGKILL);
            waitpid(P[i].pid, &P[i].status, 0);
            P[i].exited = true;
        }
}

static void run_mesh(bool server_compat)
{
    if (access(program(), X_OK) != 0)
        pm_test_skip("%s not built (configure with -DPM_APPS=ON)", program());
    signal(SIGPIPE, SIG_IGN);
    memset(P, 0, sizeof P);
    for (int i = 1; i <= NODES; i++)
        spawn(i, server_compat);
    long start = ms_now();
    int results = 0;
    while (results < NODES && ms_now() - start < RUN_LIMIT_MS) {
        struct pollfd fds[NODES];
        for (int i = 0; i < NODES; i++)
            fds[i] = (struct pollfd){.fd = P[i + 1].out_fd, .events = POLLIN};
        poll(fds, NODES, 100);
        for (int i = 0; i < NODES; i++)
            if (fds[i].revents)
                read_node(i + 1);
        results = 0;
        for (int i = 1; i <= NODES; i++)
            results += P[i].result;
    }
    long elapsed = ms_now() - start;
    /* Everyone reported: end the run (stdin EOF) and collect the exit codes. */
    for (int i = 1; i <= NODES; i++) {
        close(P[i].in_fd);
        P[i].in_fd = -1;
    }
    long wait_start = ms_now();
    while (ms_now() - wait_start < 10000) {
        bool all = true;
        for (int i = 1; i <= NODES; i++) {
            if (!P[i].exited && waitpid(P[i].pid, &P[i].status, WNOHANG) == P[i].pid)
                P[i].exited = true;
            all &= P[i].exited;
        }
        if (all)
            break;
        usleep(10000);
    }
    kill_all();
    bool ok = results == NODES;
    for (int i = 1; i <= NODES; i++) {
        bool good = P[i].ok && WIFEXITED(P[i].status) && WEXITSTATUS(P[i].status) == 0;
        if (server_compat && i != 1 && !strstr(P[i].result_line, "\"succeeded\":1"))
            good = false;
        printf("# node %d: %s %s\n", i, good ? "ok" : "FAILED",
               P[i].result ? P[i].result_line : "(no result)");
        if (!good)
            show_log(i);
        ok &= good;
        close(P[i].out_fd);
    }
    printf("# %s mesh of %d processes: %s in %ld ms\n", server_compat ? "server-compat" : "plain",
           NODES, ok ? "all results ok" : "FAILED", elapsed);
    assert_true(ok);
}

static void test_mesh_six_processes(void **state)
{
    (void)state;
    run_mesh(false);
}

static void test_mesh_six_processes_server_compat(void **state)
{
    (void)state;
    run_mesh(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mesh_six_processes),
        cmocka_unit_test(test_mesh_six_processes_server_compat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
