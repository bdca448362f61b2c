/*
 * options.h — peermesh-signal's settings: every long flag is also a
 * `key=value` line of the configuration file (coturn's convention), with
 * the flag's name as key. Flags given on the command line win over the file.
 */
#ifndef PM_SIGNAL_OPTIONS_H
#define PM_SIGNAL_OPTIONS_H

#include "peermesh/signaling.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PM_SIGNAL_MAX_URLS 8

typedef struct sig_options {
    pm_signal_server_config server;
    pm_env env;
    const char *turn_urls[PM_SIGNAL_MAX_URLS];
    const char *stun_urls[PM_SIGNAL_MAX_URLS];
    const char *config_file;
    const char *make_token_user; /* --make-token USER: print a token and exit */
    double token_ttl;            /* seconds, for --make-token */
    double shutdown_grace;       /* seconds to wait for closes on SIGTERM */
    bool check_only;             /* --check-config */
    bool help, version;
    char *strings[64]; /* values owned by the options (freed by options_free) */
    size_t nstrings;
} sig_options;

/**
 * Parse argv (and the configuration file it names with -c/--config).
 * Returns 0, or 64 (EX_USAGE) after printing the problem to stderr.
 */
int sig_options_parse(sig_options *o, int argc, char **argv);
void sig_options_free(sig_options *o);
void sig_options_usage(FILE *to);

#endif
