/*
 * mesh_util.h — what the mesh subcommands (mesh-node, mesh-peer, bench mesh)
 * share: socket-mode connections added to a mesh, their signaling events,
 * one poll(2) over every connection of some meshes, a mesh driven over
 * stdio, and the names of multiplayer events (also used by `enet`).
 *
 * The mesh owns its connections and frees them when a peer leaves, so
 * nothing here keeps a connection pointer across mesh calls: connections
 * are looked up by peer id each time (pm_mesh_get_peer).
 */
#ifndef PM_CLI_MESH_UTIL_H
#define PM_CLI_MESH_UTIL_H

#include "cli.h"
#include "json_out.h"
#include "loop.h"
#include "peer_signal.h"

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
 * The interop peer's JSON message for a DESCRIPTION or CANDIDATE event
 * (peer_signal.h); NULL on allocation failure.
 */
json_t *pm_cli_mesh_signal_message(const pm_rtc_event *ev);

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

/*
 * A mesh driven over stdio (mesh-node, mesh-peer): signaling lines come in
 * on stdin, and one poll(2) waits for the mesh's connections and stdin.
 */
typedef struct pm_cli_mesh_io {
    pm_cli_out out;
    pm_mesh *mesh;
    pm_multiplayer *mp;
    pm_cli_loop loop;
    pm_cli_lines input; /* signaling from stdin */
    bool input_open;    /* stdin has not ended */
} pm_cli_mesh_io;

/**
 * Set up the output (its "ms" count from `start`) and the input; nothing is
 * allocated yet. SIGPIPE is ignored: a reader gone is a write error.
 */
void pm_cli_mesh_io_init(pm_cli_mesh_io *io, pm_time start);

/**
 * Create the mesh (cfg may be NULL) as node `id`: Godot 3.2's
 * initialize(id, true) when server_compat, else create_mesh(id); and a loop
 * for `connections` connections. PM_OK or the first error.
 */
int pm_cli_mesh_io_open(pm_cli_mesh_io *io, const pm_mesh_config *cfg, int32_t id,
                        bool server_compat, size_t connections);

/**
 * Wait for the connections, stdin (while it is open) or `deadline`. Then
 * *input_ready tells whether pm_cli_mesh_io_read has input to read. PM_OK,
 * or PM_ERR_IO when poll(2) failed.
 */
int pm_cli_mesh_io_wait(pm_cli_mesh_io *io, pm_time deadline, bool *input_ready);

/** Called for each complete signaling line (NUL-terminated, borrowed for the call). */
typedef void (*pm_cli_line_fn)(void *ud, const char *line, size_t len);

/**
 * One read(2) of stdin, each complete line handed to fn; at the end of the
 * input or on a read error io->input_open becomes false. PM_OK, or
 * PM_ERR_NOMEM when the line buffer cannot grow.
 */
int pm_cli_mesh_io_read(pm_cli_mesh_io *io, pm_cli_line_fn fn, void *ud);

/** Free the mesh (closing its connections), the loop and the input. */
void pm_cli_mesh_io_free(pm_cli_mesh_io *io);

/**
 * The options every stdio mesh subcommand takes, for its pm_cli_option_fn:
 * --timeout S ('t', 0.1..3600 s) and --bind IP ('b'); other codes are
 * ignored. -1 to go on, else the usage error's status.
 */
int pm_cli_mesh_io_option(const pm_cli_command *cmd, int code, const char *arg, double *timeout_s,
                          const char **bind_address);

static inline pm_time min_time(pm_time a, pm_time b)
{
    return a < b ? a : b;
}
static inline pm_time max_time(pm_time a, pm_time b)
{
    return a > b ? a : b;
}

/** Name of a multiplayer event type ("peer_connected", ...). */
const char *pm_cli_mp_event_name(pm_mp_event_type type);

#endif
