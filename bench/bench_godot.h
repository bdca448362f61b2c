/*
 * bench_godot.h — running Debian's Godot 3.2.3 next to a benchmark: finding
 * the binary, a throwaway project directory, and a child process (group)
 * that is always stopped. Used by `bench enet` and `bench rpc`.
 */
#ifndef PM_BENCH_GODOT_H
#define PM_BENCH_GODOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Godot binary: $PEERMESH_GODOT, else godot3-server, else godot3 under xvfb-run. */
typedef struct pm_bench_godot {
    char bin[512];
    char xvfb[512];
    bool use_xvfb;
} pm_bench_godot;

/** Find Godot; false with *why when there is none. */
bool pm_bench_godot_find(pm_bench_godot *g, const char **why);
/** A short description of the binary used, for result lines. */
const char *pm_bench_godot_name(const pm_bench_godot *g);

/** A new empty directory under /tmp holding a Godot 3 project (project.godot); PM_ERR_IO. */
int pm_bench_godot_project(char *dir, size_t cap);
/** Write dir/name. PM_ERR_IO. */
int pm_bench_write_file(const char *dir, const char *name, const char *text);
/** Remove a directory tree. */
void pm_bench_remove_tree(const char *dir);

/**
 * Fork and run `script` (a SceneTree script in project `dir`) with the
 * NULL-terminated key=value `args` after "--", output in dir/godot.log,
 * HOME set to dir. The child leads its own process group. PM_ERR_IO.
 */
int pm_bench_godot_spawn(const pm_bench_godot *g, const char *dir, const char *script,
                         const char *const *args, pid_t *pid);
/** SIGTERM the process (or its group), SIGKILL after 3 s, reap it. pid <= 0: nothing. */
void pm_bench_stop_child(pid_t pid, bool group);

#endif
