/*
 * cli.h — shared declarations of the `peermesh` command-line tool.
 *
 * The tool is a plain user of the public API (include/peermesh/rtc.h); it
 * may make OS calls (poll, read, /proc) that the library itself never does.
 */
#ifndef PM_CLI_H
#define PM_CLI_H

#include "peermesh/rtc.h"

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses shared by every subcommand (interop README, "Exit status"). */
enum {
    PM_CLI_EXIT_OK = 0,
    PM_CLI_EXIT_FAIL = 1,
    PM_CLI_EXIT_TIMEOUT = 2,
    PM_CLI_EXIT_USAGE = 64, /* EX_USAGE from sysexits.h */
};

/* Address every subcommand binds its sockets to unless --bind says otherwise. */
#define PM_CLI_DEFAULT_BIND "127.0.0.1"

/*
 * Send-side flow control shared by `peer` and `bench`: stop queueing above
 * HIGH_WATER buffered bytes, resume when BUFFERED_AMOUNT_LOW reports the
 * amount fell to LOW_WATER (the values browsers' file-transfer samples and
 * the reference peers use).
 */
#define PM_CLI_HIGH_WATER ((size_t)1 << 20)
#define PM_CLI_LOW_WATER  ((size_t)256 << 10)

/**
 * May `len` more bytes be queued on `ch` now? Sets *paused when the channel
 * goes above the high-water mark; the caller clears it on the channel's
 * BUFFERED_AMOUNT_LOW event (threshold PM_CLI_LOW_WATER). Pausing needs the
 * amount above the low-water mark, so that event is certain to come.
 */
bool pm_cli_may_queue(const pm_rtc_channel *ch, bool *paused, size_t len);

/*
 * Subcommands, registered in commands.def: argv[0] is the last word of the
 * command, the result is the exit status.
 */
#define PM_CLI_COMMAND(words, fn, help) int fn(int argc, char **argv);
#include "commands.def"
#undef PM_CLI_COMMAND

/* ---- argument parsing helpers (args.c) ---- */

/** Parse a whole decimal integer within [min, max]; false on anything else. */
bool pm_cli_parse_long(const char *text, long min, long max, long *out);

/** Parse a finite number of seconds within [min, max]. */
bool pm_cli_parse_seconds(const char *text, double min, double max, double *out);

/**
 * Parse "B[,B...]" into at most cap sizes, each <= max_size.
 * Returns the number of sizes, or -1 for a malformed or too long list.
 */
int pm_cli_parse_size_list(const char *text, size_t *sizes, size_t cap, size_t max_size);

/** True when text is a numeric IPv4 or IPv6 address (never resolves names). */
bool pm_cli_is_numeric_ip(const char *text);

/** True when text starts as a signaling server's URL does: ws:// or wss:// (the rest is
 * checked by pm_signal_client_new). */
bool pm_cli_is_ws_url(const char *text);

/* What the value of an option must be, as its messages say it ("a port number 0..65535"). */
typedef struct pm_cli_expect {
    int code; /* the option's getopt_long code */
    const char *expected;
} pm_cli_expect;

/* A subcommand as its messages name it ("mesh-node", "bench mesh") and its usage text. */
typedef struct pm_cli_command {
    const char *name;
    const char *usage;
    /* Its options' expected values, ending with {0, NULL}; NULL when none take a value. */
    const pm_cli_expect *expects;
} pm_cli_command;

/* What every --bind expects (the tools never resolve names). */
#define PM_CLI_EXPECT_IP "a numeric IP address (e.g. 127.0.0.1 or ::1)"

/** --help: the usage text on stdout. Returns PM_CLI_EXIT_OK. */
int pm_cli_help(const pm_cli_command *cmd);

/** "peermesh NAME: WHY[ARG]" and the usage text on stderr. Returns PM_CLI_EXIT_USAGE. */
int pm_cli_usage_error(const pm_cli_command *cmd, const char *why, const char *arg);

/** "peermesh NAME: <printf>" and the usage text on stderr. Returns PM_CLI_EXIT_USAGE. */
int pm_cli_usage_errorf(const pm_cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * A value that is not what the option takes: "peermesh NAME: --OPTION needs
 * EXPECTED, got 'VALUE'" and the usage text. Returns PM_CLI_EXIT_USAGE.
 */
int pm_cli_bad_value(const pm_cli_command *cmd, const char *option, const char *expected,
                     const char *value);

/** An operand where none belongs: "unexpected argument 'ARG'". Returns PM_CLI_EXIT_USAGE. */
int pm_cli_unexpected(const pm_cli_command *cmd, const char *arg);

/** --bind IP: a numeric address into *out, else the usage error. -1 when taken, else the status. */
int pm_cli_option_bind(const pm_cli_command *cmd, const char *arg, const char **out);

/* A pm_cli_option_fn's answer: the value is not what the option takes (pm_cli_bad_value,
 * with the option's entry of cmd->expects). */
#define PM_CLI_OPTION_BAD (-2)

/**
 * Take one option: getopt_long's code (0 for a switch that set its flag
 * itself) and value. -1 to go on, PM_CLI_OPTION_BAD, or the exit status.
 */
typedef int (*pm_cli_option_fn)(void *ud, int code, const char *arg);

struct option;

/**
 * Parse the options from argv[first] on with getopt_long (long options only,
 * getopt's own messages off): --help ('h') prints the usage; an unknown
 * option ("unknown option '--x'"), a missing value ("--port needs a value:
 * EXPECTED") and a value fn calls bad ("--port needs EXPECTED, got 'x'") are
 * usage errors (EXPECTED from cmd->expects); every other option goes to fn.
 * -1 when all were taken (optind indexes the first operand), else the exit
 * status.
 */
int pm_cli_parse_options(const pm_cli_command *cmd, int argc, char **argv, int first,
                         const struct option *longs, pm_cli_option_fn fn, void *ud);

#endif
