/* A mesh driven over stdio, for the test nodes (see mesh_io.h). */
#include "mesh_io.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

void pm_cli_mesh_io_init(pm_cli_mesh_io *io, pm_time start)
{
    signal(SIGPIPE, SIG_IGN);
    memset(io, 0, sizeof *io);
    pm_cli_out_init(&io->out, start);
    pm_cli_lines_init(&io->input);
    io->input_open = true;
}

int pm_cli_mesh_io_open(pm_cli_mesh_io *io, const pm_mesh_config *cfg, int32_t id,
                        bool server_compat, size_t connections)
{
    int rc = pm_mesh_new(cfg, &io->mesh);
    if (rc < 0)
        return rc;
    io->mp = pm_mesh_multiplayer(io->mesh);
    rc = server_compat ? pm_mesh_initialize(io->mesh, id, true)
                       : pm_mesh_create_mesh(io->mesh, id, NULL, 0);
    return rc == PM_OK ? pm_cli_loop_init(&io->loop, connections) : rc;
}

int pm_cli_mesh_io_wait(pm_cli_mesh_io *io, pm_time deadline, bool *input_ready)
{
    *input_ready = false;
    return pm_cli_mesh_wait(&io->loop, io->mesh, io->input_open ? STDIN_FILENO : -1, deadline,
                            input_ready);
}

/* Called only when poll(2) saw stdin readable, so this read(2) does not block. */
int pm_cli_mesh_io_read(pm_cli_mesh_io *io, pm_cli_line_fn fn, void *ud)
{
    char chunk[16384];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return PM_OK;
    if (n <= 0) {
        io->input_open = false;
        return PM_OK;
    }
    if (pm_cli_lines_push(&io->input, chunk, (size_t)n) < 0)
        return PM_ERR_NOMEM;
    const char *line;
    size_t len;
    while (pm_cli_lines_next(&io->input, &line, &len))
        fn(ud, line, len);
    return PM_OK;
}

void pm_cli_mesh_io_free(pm_cli_mesh_io *io)
{
    pm_mesh_free(io->mesh);
    io->mesh = NULL;
    io->mp = NULL;
    pm_cli_loop_destroy(&io->loop);
    pm_cli_lines_free(&io->input);
}

json_t *pm_cli_mesh_signal_message(const pm_rtc_event *ev)
{
    if (ev->type == PM_RTC_EVENT_DESCRIPTION)
        return pm_cli_signal_description(ev->sdp_type, ev->sdp);
    /* The interface always names the mid; ours is "0" when the event leaves it out. */
    return pm_cli_signal_candidate(ev->candidate, ev->mid ? ev->mid : "0");
}

/* ---- the shared command line ---- */

#define MAX_OWN_OPTIONS 16

typedef struct parse_ctx {
    const pm_cli_command *cmd;
    pm_cli_option_fn own;
    void *ud;
    pm_cli_mesh_io_options *common;
} parse_ctx;

static int take_option(void *ud, int code, const char *arg)
{
    parse_ctx *ctx = ud;
    switch (code) {
    case 't':
        if (!pm_cli_parse_seconds(arg, 0.1, 3600, &ctx->common->timeout_s))
            return pm_cli_bad_value(ctx->cmd, "--timeout", "seconds, 0.1..3600", arg);
        return -1;
    case 'b':
        return pm_cli_option_bind(ctx->cmd, arg, &ctx->common->bind_address);
    default:
        return ctx->own(ctx->ud, code, arg);
    }
}

int pm_cli_mesh_io_parse(const pm_cli_command *cmd, int argc, char **argv, const struct option *own,
                         pm_cli_option_fn fn, void *ud, pm_cli_mesh_io_options *common)
{
    static const struct option shared[] = {
        {"timeout", required_argument, NULL, 't'},
        {"bind", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct option longs[MAX_OWN_OPTIONS + sizeof shared / sizeof shared[0]];
    size_t n = 0;
    for (; own[n].name; n++) {
        if (n == MAX_OWN_OPTIONS)
            return pm_cli_usage_error(cmd, "internal error: too many options", NULL);
        longs[n] = own[n];
    }
    memcpy(longs + n, shared, sizeof shared);
    parse_ctx ctx = {cmd, fn, ud, common};
    int status = pm_cli_parse_options(cmd, argc, argv, 1, longs, take_option, &ctx);
    if (status >= 0)
        return status;
    if (optind < argc)
        return pm_cli_unexpected(cmd, argv[optind]);
    return -1;
}
