/*
 * mesh_io.h — a mesh driven over stdio, as the test nodes `mesh-node` and
 * `mesh-peer` run it: signaling lines (the interop peer's JSON messages,
 * peer_signal.h) come in on stdin, and one poll(2) waits for the mesh's
 * connections and stdin. Also the command line both share.
 */
#ifndef PM_CLI_MESH_IO_H
#define PM_CLI_MESH_IO_H

#include "mesh_util.h"
#include "peer_signal.h"

struct option;

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
 * The interop peer's JSON message for a DESCRIPTION or CANDIDATE event
 * (peer_signal.h); NULL on allocation failure.
 */
json_t *pm_cli_mesh_signal_message(const pm_rtc_event *ev);

/* The options every stdio mesh node takes besides its own; the caller sets the defaults. */
typedef struct pm_cli_mesh_io_options {
    double timeout_s;         /* --timeout S, 0.1..3600 */
    const char *bind_address; /* --bind IP */
} pm_cli_mesh_io_options;

/**
 * Parse argv[1..]: the command's own long options `own` (ended by a zero
 * entry; codes other than 't', 'b' and 'h') go to fn with ud, --timeout and
 * --bind into *common, --help prints the usage; an operand is a usage
 * error. -1 when all were taken, else the exit status (pm_cli_parse_options).
 */
int pm_cli_mesh_io_parse(const pm_cli_command *cmd, int argc, char **argv, const struct option *own,
                         pm_cli_option_fn fn, void *ud, pm_cli_mesh_io_options *common);

#endif
