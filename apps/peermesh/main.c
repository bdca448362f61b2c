/*
 * `peermesh` — the command-line tool: interop peer, benchmarks, demo. Its
 * subcommands are registered in commands.def, one entry each.
 */
#include "cli.h"

#include "peermesh/common.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *words; /* "peer", "bench mesh" */
    int (*run)(int argc, char **argv);
    const char *help; /* lines of `peermesh help`; "" when not listed */
} command;

static const command COMMANDS[] = {
#define PM_CLI_COMMAND(words, fn, help) {words, fn, help},
#include "commands.def"
#undef PM_CLI_COMMAND
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_usage(FILE *to)
{
    int width = 0; /* of the longest listed command: the help text starts after it */
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (COMMANDS[i].help[0] != '\0' && (int)strlen(COMMANDS[i].words) > width)
            width = (int)strlen(COMMANDS[i].words);
    fputs("usage: peermesh <command> [options]\n\ncommands:\n", to);
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const char *help = COMMANDS[i].help;
        if (help[0] == '\0')
            continue;
        fprintf(to, "  %-*s", width, COMMANDS[i].words);
        for (;;) {
            size_t len = strcspn(help, "\n");
            fprintf(to, " %.*s\n", (int)len, help);
            if (help[len] == '\0')
                break;
            help += len + 1;
            fprintf(to, "  %*s", width, "");
        }
    }
}

int pm_cli_print_version(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "peermesh version: unexpected argument '%s'\n", argv[1]);
        return PM_CLI_EXIT_USAGE;
    }
    printf("peermesh %s (SCTP: %s)\n", PM_VERSION_STRING, pm_rtc_sctp_implementation());
    return PM_CLI_EXIT_OK;
}

int pm_cli_print_usage(int argc, char **argv)
{
    print_usage(stdout);
    return PM_CLI_EXIT_OK;
}

/* How many words of argv[1..] spell `words`; 0 when they do not. */
static int words_matched(const char *words, int argc, char **argv)
{
    int n = 0;
    for (;;) {
        size_t len = strcspn(words, " ");
        if (n + 1 >= argc || strlen(argv[n + 1]) != len || strncmp(argv[n + 1], words, len) != 0)
            return 0;
        n++;
        if (words[len] == '\0')
            return n;
        words += len + 1;
    }
}

int main(int argc, char **argv)
{
    const command *best = NULL;
    int best_words = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        int n = words_matched(COMMANDS[i].words, argc, argv);
        if (n > best_words) {
            best = &COMMANDS[i];
            best_words = n;
        }
    }
    if (best)
        return best->run(argc - best_words, argv + best_words);
    if (argc < 2) {
        print_usage(stderr);
        return PM_CLI_EXIT_USAGE;
    }
    fprintf(stderr, "peermesh: unknown command '%s' (the commands are below)\n", argv[1]);
    print_usage(stderr);
    return PM_CLI_EXIT_USAGE;
}
