/*
 * mesh_util.h — what the mesh subcommands (mesh-node, mesh-peer, bench mesh,
 * demo, chat) share: socket-mode connections added to a mesh, their
 * signaling events, one poll(2) over every connection of some meshes, and
 * the names of multiplayer events (also used by `enet`). The mesh driven
 * over stdio of the test nodes is tests/tools/mesh_io.h.
 *
 * The mesh owns its connections and frees them when a peer leaves, so
 * nothing here keeps a connection pointer across mesh calls: connections
 * are looked up by peer id each time (pm_mesh_get_peer).
 */
#ifndef PM_CLI_MESH_UTIL_H
#define PM_CLI_MESH_UTIL_H

#include "cli.h"
#include "loop.h"

#include "peermesh/mesh.h"

/** Called for each DESCRIPTION or CANDIDATE event of the connection to `peer`. */
typedef void (*pm_cli_mesh_signal_fn)(void *ud, int32_t peer, const pm_rtc_event *ev);

/** Called for each multiplayer event of a mesh. */
typedef void (*pm_cli_mesh_event_fn)(void *ud, const pm_mp_event *ev);

/**
 * Create a socket-mode connection bound to `bind_address` and add it to the
 * mesh as peer `peer` (channels created; still NEW). PM_OK or the error of
 * pm_rtc_peer_new / pm_mesh_add_peer (the connection is then freed).
 */
int pm_cli_mesh_connect(pm_mesh *mesh, int32_t peer, const char *bind_address,
                        int unreliable_lifetime);

/** The connection to `peer`, or NULL when the peer is not (any more) in the mesh. */
pm_rtc_peer *pm_cli_mesh_connection(const pm_mesh *mesh, int32_t peer);

/** Drain every connection's events, handing signaling ones to fn. Returns the count. */
int pm_cli_mesh_drain(pm_mesh *mesh, pm_cli_mesh_signal_fn fn, void *ud);

/** Poll the mesh, then hand its signaling to on_signal and its multiplayer events to on_event. */
void pm_cli_mesh_pump(pm_mesh *mesh, pm_cli_mesh_signal_fn on_signal, pm_cli_mesh_event_fn on_event,
                      void *ud);

/** Apply a signaling event of one connection to another (in-process signaling). */
int pm_cli_mesh_apply(pm_rtc_peer *to, const pm_rtc_event *ev);

/**
 * Make `loop` watch exactly the connections of the `count` meshes (cleared
 * first). PM_ERR_FULL when the loop is too small.
 */
int pm_cli_mesh_watch(pm_cli_loop *loop, pm_mesh *const *meshes, size_t count);

/**
 * Watch the connections of one mesh (as far as `loop` has room) and wait
 * for them, `extra_fd` or `deadline`: pm_cli_loop_wait's result.
 */
int pm_cli_mesh_wait(pm_cli_loop *loop, pm_mesh *mesh, int extra_fd, pm_time deadline,
                     bool *extra_ready);

static inline pm_time min_time(pm_time a, pm_time b)
{
    return a < b ? a : b;
}
static inline pm_time max_time(pm_time a, pm_time b)
{
    return a > b ? a : b;
}

#endif
