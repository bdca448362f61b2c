/* Running Godot 3.2.3 next to a benchmark (bench_godot.h). */
#define _GNU_SOURCE /* nftw flags */
#include "bench_godot.h"

#include "peermesh/common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16

static const char GODOT_PROJECT[] = "config_version=4\n[application]\nconfig/name=\"pm-bench\"\n";

static bool on_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (len && (size_t)snprintf(out, cap, "%.*s/%s", (int)len, path, name) < cap &&
            access(out, X_OK) == 0)
            return true;
        path += len + (colon ? 1 : 0);
    }
    return false;
}

bool pm_bench_godot_find(pm_bench_godot *g, const char **why)
{
    memset(g, 0, sizeof *g);
    const char *env = getenv("PEERMESH_GODOT");
    if (env && *env) {
        snprintf(g->bin, sizeof g->bin, "%s", env);
        return true;
    }
    if (on_path("godot3-server", g->bin, sizeof g->bin))
        return true;
    if (on_path("godot3", g->bin, sizeof g->bin)) {
        if (on_path("xvfb-run", g->xvfb, sizeof g->xvfb)) {
            g->use_xvfb = true;
            return true;
        }
        *why = "godot3 found but xvfb-run is missing (install xvfb, or godot3-server)";
        return false;
    }
    *why = "no godot3-server or godot3 on PATH (scripts/install-deps.sh interop)";
    return false;
}

const char *pm_bench_godot_name(const pm_bench_godot *g)
{
    return g->use_xvfb ? "godot3 --no-window (xvfb-run)" : g->bin;
}

int pm_bench_write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return PM_ERR_IO;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? PM_OK : PM_ERR_IO;
}

int pm_bench_godot_project(char *dir, size_t cap)
{
    if (snprintf(dir, cap, "/tmp/peermesh-bench-godot-XXXXXX") >= (int)cap || !mkdtemp(dir))
        return PM_ERR_IO;
    return pm_bench_write_file(dir, "project.godot", GODOT_PROJECT);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void pm_bench_remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void exec_godot(const pm_bench_godot *g, const char *dir, const char *script,
                       const char *const *args)
{
    char log[600];
    snprintf(log, sizeof log, "%s/godot.log", dir);
    setpgid(0, 0);          /* so the whole group (xvfb-run, Xvfb, godot) can be stopped */
    setenv("HOME", dir, 1); /* Godot's user:// and editor settings stay in the temp dir */
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    const char *argv[MAX_ARGS + 12];
    size_t n = 0;
    if (g->use_xvfb) {
        argv[n++] = "xvfb-run";
        argv[n++] = "-a";
    }
    argv[n++] = g->bin;
    argv[n++] = "--no-window";
    argv[n++] = "--path";
    argv[n++] = dir;
    argv[n++] = "-s";
    argv[n++] = script;
    argv[n++] = "--";
    for (size_t i = 0; args && args[i] && i < MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(g->use_xvfb ? g->xvfb : g->bin, (char *const *)argv);
    _exit(127);
}

int pm_bench_godot_spawn(const pm_bench_godot *g, const char *dir, const char *script,
                         const char *const *args, pid_t *pid)
{
    fflush(stdout);
    *pid = fork();
    if (*pid < 0)
        return PM_ERR_IO;
    if (*pid == 0)
        exec_godot(g, dir, script, args);
    setpgid(*pid, *pid);
    return PM_OK;
}

void pm_bench_stop_child(pid_t pid, bool group)
{
    if (pid <= 0)
        return;
    kill(group ? -pid : pid, SIGTERM);
    pm_time deadline = pm_now() + PM_SEC(3);
    for (;;) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return;
        if (pm_now() > deadline) {
            kill(group ? -pid : pid, SIGKILL);
            (void)waitpid(pid, NULL, 0);
            return;
        }
        usleep(10000);
    }
}
