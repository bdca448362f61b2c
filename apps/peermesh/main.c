/* `peermesh` — command-line tool: interop peer, benchmarks, demo. */
#include "cli.h"

#include "peermesh/common.h"

#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: peermesh <command> [options]\n"
    "\n"
    "commands:\n"
    "  peer     WebRTC data-channel peer speaking the interop harness interface\n"
    "           (JSON-lines signaling on stdin/stdout; see `peermesh peer --help`)\n"
    "  bench    in-process loopback benchmarks: throughput, setup, latency, memory, all;\n"
    "           `bench signal` loads a signaling server\n"
    "           (see `peermesh bench --help`)\n"
    "  demo     N peers build a WebRTC mesh through an embedded signaling server, exchange\n"
    "           messages on every channel and print a table (`--pair`: the two-peer tour)\n"
    "  chat     interactive chat in a signaling lobby (see `peermesh chat --help`)\n"
    "  mesh-node  one WebRTC mesh node, signaling relayed over stdin/stdout\n"
    "  mesh-peer  a 2-node WebRTC mesh peer speaking the interop peer interface\n"
    "  enet     ENet multiplayer peer, Godot 3/4 wire formats: server, connect\n"
    "           (see `peermesh enet --help`; `peermesh bench enet` measures it)\n"
    "  version  print the version\n"
    "  help     print this text\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static int print_version(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "peermesh version: unexpected argument \"%s\"\n", argv[1]);
        return PM_CLI_EXIT_USAGE;
    }
    printf("peermesh %s\n", PM_VERSION_STRING);
    return PM_CLI_EXIT_OK;
}

static int print_help(int argc, char **argv)
{
    fputs(USAGE, stdout);
    return PM_CLI_EXIT_OK;
}

static const command COMMANDS[] = {
    {"peer", pm_cli_peer},           {"bench", pm_cli_bench},
    {"demo", pm_cli_demo},           {"version", print_version},
    {"--version", print_version},    {"help", print_help},
    {"--help", print_help},          {"-h", print_help},
    {"enet", pm_cli_enet},           {"mesh-node", pm_cli_mesh_node},
    {"mesh-peer", pm_cli_mesh_peer}, {"demo-pair", pm_cli_demo_pair},
    {"chat", pm_cli_chat},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return PM_CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "peermesh: unknown command \"%s\"\n%s", argv[1], USAGE);
    return PM_CLI_EXIT_USAGE;
}
