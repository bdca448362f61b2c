/*
 * peer_options.h — the command line of `peermesh peer`, which is the interop
 * peer interface (tests/interop/README.md, "The peer interface"):
 *
 *   peermesh peer (--offer | --answer) [--echo | --sink | --send N [--size B[,B...]] [--text]]
 *        [--label NAME] [--protocol NAME] [--unordered]
 *        [--max-retransmits K | --max-packet-lifetime MS]
 *        [--negotiated --id K | --channels reliable,ordered,unreliable]
 *        [--timeout S] [--bind IP|any]
 *        [--ice-server URL]... [--ice-username U --ice-credential C] [--relay-only]
 *        [--ice-tls-insecure] [--restart-ice] [--interval MS]
 */
#ifndef PM_CLI_PEER_OPTIONS_H
#define PM_CLI_PEER_OPTIONS_H

#include "peermesh/rtc.h"

#include <stdbool.h>
#include <stddef.h>

#define PM_CLI_PEER_MAX_CHANNELS 3 /* --channels reliable,ordered,unreliable */
#define PM_CLI_PEER_MAX_SIZES    64
#define PM_CLI_PEER_MAX_URLS     8

typedef enum pm_cli_peer_mode {
    PM_CLI_MODE_CONNECT, /* succeed once every channel is open */
    PM_CLI_MODE_SEND,    /* --send N: send, check every echo or ack */
    PM_CLI_MODE_ECHO,    /* --echo: send every message back, same type */
    PM_CLI_MODE_SINK,    /* --sink: answer every message with "ack:<bytes>:<crc32>" */
} pm_cli_peer_mode;

/* A channel this side creates itself (the offerer's, or a negotiated one). */
typedef struct pm_cli_channel_spec {
    const char *label; /* static or from argv */
    pm_rtc_channel_init init;
} pm_cli_channel_spec;

typedef struct pm_cli_peer_options {
    bool offer;
    pm_cli_peer_mode mode;
    long send_count; /* messages per channel in PM_CLI_MODE_SEND */
    size_t sizes[PM_CLI_PEER_MAX_SIZES];
    size_t size_count;
    bool text; /* string messages instead of binary */
    pm_cli_channel_spec channels[PM_CLI_PEER_MAX_CHANNELS];
    size_t channel_count;
    bool accept_inband; /* answerer: adopt the first channel the offerer announces */
    double timeout_s;
    const char *bind_address; /* NULL: every interface (--bind any) */
    /* ICE servers (one RTCIceServer entry holding every URL). */
    const char *ice_urls[PM_CLI_PEER_MAX_URLS];
    size_t ice_url_count;
    const char *ice_username, *ice_credential;
    bool relay_only;       /* iceTransportPolicy "relay" */
    bool ice_tls_insecure; /* accept a turns: server's certificate unverified */
    bool restart_ice;      /* offerer: restart ICE when the link goes DISCONNECTED or FAILED */
    long interval_ms; /* send mode: at most one message per channel this often (0: no pacing) */
} pm_cli_peer_options;

/**
 * Parse argv (argv[0] is "peer"). On a usage error, prints the reason and
 * the usage to stderr and returns false. `--help` prints the usage to
 * stdout and also returns false with *help set.
 */
bool pm_cli_peer_parse_options(int argc, char **argv, pm_cli_peer_options *opt, bool *help);

#endif
