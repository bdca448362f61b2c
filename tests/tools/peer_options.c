/* Command line of `peermesh peer` (see peer_options.h). */
#include "peer_options.h"

#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_MESSAGE_SIZE_ARG ((size_t)16 << 20) /* the API's send-buffer cap: larger never fits */
#define GODOT_LIFETIME_MS    1                  /* Godot's lifetime for its lossy channels */

static const char USAGE[] =
    "usage: peermesh peer (--offer | --answer) [--echo | --sink | --send N [--size B[,B...]] "
    "[--text]]\n"
    "                     [--label NAME] [--protocol NAME] [--unordered]\n"
    "                     [--max-retransmits K | --max-packet-lifetime MS]\n"
    "                     [--negotiated --id K | --channels reliable,ordered,unreliable]\n"
    "                     [--timeout S] [--bind IP|any]\n"
    "                     [--ice-server URL]... [--ice-username U --ice-credential C]\n"
    "                     [--relay-only] [--ice-tls-insecure] [--restart-ice] [--interval MS]\n"
    "\n"
    "ICE servers: stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT]\n"
    "(TLS; its certificate is verified against the system CA store unless --ice-tls-insecure).\n"
    "--relay-only gathers and pairs relay candidates only. --restart-ice (offerer): restart ICE\n"
    "with a new offer when the connection goes disconnected or failed. --interval paces --send:\n"
    "one message per channel every MS milliseconds.\n"
    "\n"
    "Interop peer: JSON-lines signaling on stdin/stdout, JSON events on stderr.\n"
    "Exit status: 0 success, 1 failure, 2 --timeout (default 30 s) expired, 64 usage error.\n";

/* Everything the flags say, before it is turned into channel specs. */
typedef struct raw_flags {
    bool offer, answer, echo, sink, text, unordered, negotiated;
    long send, max_retransmits, max_lifetime, id;
    const char *size_list, *label, *protocol, *channels;
} raw_flags;

/* Godot's WebRTCMultiplayerPeer channel layout: negotiated ids by kind. */
typedef struct godot_kind {
    const char *name;
    int id;
    bool ordered;
    bool lossy; /* limited by maxPacketLifeTime */
} godot_kind;

static const godot_kind GODOT_KINDS[] = {
    {"reliable", 1, true, false},
    {"ordered", 2, true, true},
    {"unreliable", 3, false, true},
};

enum {
    OPT_OFFER = 256,
    OPT_ANSWER,
    OPT_ECHO,
    OPT_SINK,
    OPT_SEND,
    OPT_SIZE,
    OPT_TEXT,
    OPT_LABEL,
    OPT_PROTOCOL,
    OPT_UNORDERED,
    OPT_MAX_RETRANSMITS,
    OPT_MAX_LIFETIME,
    OPT_NEGOTIATED,
    OPT_ID,
    OPT_CHANNELS,
    OPT_TIMEOUT,
    OPT_BIND,
    OPT_ICE_SERVER,
    OPT_ICE_USERNAME,
    OPT_ICE_CREDENTIAL,
    OPT_RELAY_ONLY,
    OPT_ICE_TLS_INSECURE,
    OPT_RESTART_ICE,
    OPT_INTERVAL,
    OPT_HELP,
};

static const struct option LONG_OPTIONS[] = {
    {"offer", no_argument, NULL, OPT_OFFER},
    {"answer", no_argument, NULL, OPT_ANSWER},
    {"echo", no_argument, NULL, OPT_ECHO},
    {"sink", no_argument, NULL, OPT_SINK},
    {"send", required_argument, NULL, OPT_SEND},
    {"size", required_argument, NULL, OPT_SIZE},
    {"text", no_argument, NULL, OPT_TEXT},
    {"label", required_argument, NULL, OPT_LABEL},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"unordered", no_argument, NULL, OPT_UNORDERED},
    {"max-retransmits", required_argument, NULL, OPT_MAX_RETRANSMITS},
    {"max-packet-lifetime", required_argument, NULL, OPT_MAX_LIFETIME},
    {"negotiated", no_argument, NULL, OPT_NEGOTIATED},
    {"id", required_argument, NULL, OPT_ID},
    {"channels", required_argument, NULL, OPT_CHANNELS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"ice-server", required_argument, NULL, OPT_ICE_SERVER},
    {"ice-username", required_argument, NULL, OPT_ICE_USERNAME},
    {"ice-credential", required_argument, NULL, OPT_ICE_CREDENTIAL},
    {"relay-only", no_argument, NULL, OPT_RELAY_ONLY},
    {"ice-tls-insecure", no_argument, NULL, OPT_ICE_TLS_INSECURE},
    {"restart-ice", no_argument, NULL, OPT_RESTART_ICE},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static bool usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("peermesh peer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    fputs(USAGE, stderr);
    va_end(ap);
    return false;
}

static bool parse_number(const char *name, const char *text, long min, long max, long *out)
{
    if (pm_cli_parse_long(text, min, max, out))
        return true;
    return usage_error("%s wants an integer in %ld..%ld, got '%s'", name, min, max, text);
}

/* One flag into raw/opt; false on a usage error. */
static bool take_flag(int code, const char *arg, raw_flags *raw, pm_cli_peer_options *opt)
{
    switch (code) {
    case OPT_OFFER:
        raw->offer = true;
        return true;
    case OPT_ANSWER:
        raw->answer = true;
        return true;
    case OPT_ECHO:
        raw->echo = true;
        return true;
    case OPT_SINK:
        raw->sink = true;
        return true;
    case OPT_TEXT:
        raw->text = true;
        return true;
    case OPT_UNORDERED:
        raw->unordered = true;
        return true;
    case OPT_NEGOTIATED:
        raw->negotiated = true;
        return true;
    case OPT_SIZE:
        raw->size_list = arg;
        return true;
    case OPT_LABEL:
        raw->label = arg;
        return true;
    case OPT_PROTOCOL:
        raw->protocol = arg;
        return true;
    case OPT_CHANNELS:
        raw->channels = arg;
        return true;
    case OPT_SEND:
        return parse_number("--send", arg, 0, 1000000000L, &raw->send);
    case OPT_MAX_RETRANSMITS:
        return parse_number("--max-retransmits", arg, 0, 65535, &raw->max_retransmits);
    case OPT_MAX_LIFETIME:
        return parse_number("--max-packet-lifetime", arg, 0, 65535, &raw->max_lifetime);
    case OPT_ID:
        return parse_number("--id", arg, 0, 1023, &raw->id);
    case OPT_TIMEOUT:
        if (pm_cli_parse_seconds(arg, 0.001, 86400.0, &opt->timeout_s))
            return true;
        return usage_error("--timeout wants seconds (0.001..86400), got '%s'", arg);
    case OPT_BIND:
        if (strcmp(arg, "any") == 0) {
            opt->bind_address = NULL;
            return true;
        }
        if (!pm_cli_is_numeric_ip(arg))
            return usage_error("--bind wants a numeric IP address or 'any', got '%s'", arg);
        opt->bind_address = arg;
        return true;
    case OPT_ICE_SERVER: {
        pm_ice_url url;
        if (pm_ice_url_parse(arg, &url) != PM_OK || url.scheme == PM_ICE_URL_STUNS)
            return usage_error("--ice-server wants a stun:, turn: or turns: URL, got '%s'", arg);
        if (opt->ice_url_count == PM_CLI_PEER_MAX_URLS)
            return usage_error("at most %d --ice-server URLs", PM_CLI_PEER_MAX_URLS);
        opt->ice_urls[opt->ice_url_count++] = arg;
        return true;
    }
    case OPT_ICE_USERNAME:
        opt->ice_username = arg;
        return true;
    case OPT_ICE_CREDENTIAL:
        opt->ice_credential = arg;
        return true;
    case OPT_RELAY_ONLY:
        opt->relay_only = true;
        return true;
    case OPT_ICE_TLS_INSECURE:
        opt->ice_tls_insecure = true;
        return true;
    case OPT_RESTART_ICE:
        opt->restart_ice = true;
        return true;
    case OPT_INTERVAL:
        return parse_number("--interval", arg, 0, 60000, &opt->interval_ms);
    default:
        return false;
    }
}

static bool add_godot_kind(pm_cli_peer_options *opt, const char *name, size_t len, long lifetime,
                           const char *protocol)
{
    for (size_t k = 0; k < sizeof GODOT_KINDS / sizeof GODOT_KINDS[0]; k++) {
        const godot_kind *kind = &GODOT_KINDS[k];
        if (strlen(kind->name) != len || memcmp(kind->name, name, len) != 0)
            continue;
        for (size_t i = 0; i < opt->channel_count; i++)
            if (opt->channels[i].init.id == kind->id)
                return usage_error("--channels lists \"%s\" twice", kind->name);
        pm_cli_channel_spec *spec = &opt->channels[opt->channel_count++];
        spec->label = kind->name;
        pm_rtc_channel_init_default(&spec->init);
        spec->init.negotiated = true;
        spec->init.id = kind->id;
        spec->init.ordered = kind->ordered;
        spec->init.max_packet_lifetime = kind->lossy ? (int)lifetime : -1;
        spec->init.protocol = protocol;
        return true;
    }
    return usage_error("--channels takes reliable, ordered and unreliable; got \"%.*s\"", (int)len,
                       name);
}

static bool build_godot_channels(pm_cli_peer_options *opt, const raw_flags *raw)
{
    long lifetime = raw->max_lifetime >= 0 ? raw->max_lifetime : GODOT_LIFETIME_MS;
    const char *p = raw->channels;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (opt->channel_count == PM_CLI_PEER_MAX_CHANNELS)
            return usage_error("--channels lists too many kinds: \"%s\"", raw->channels);
        if (!add_godot_kind(opt, p, len, lifetime, raw->protocol))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static void build_single_channel(pm_cli_peer_options *opt, const raw_flags *raw)
{
    pm_cli_channel_spec *spec = &opt->channels[opt->channel_count++];
    spec->label = raw->label;
    pm_rtc_channel_init_default(&spec->init);
    spec->init.negotiated = raw->negotiated;
    spec->init.id = raw->negotiated ? (int)raw->id : -1;
    spec->init.ordered = !raw->unordered;
    spec->init.max_retransmits = (int)raw->max_retransmits;
    spec->init.max_packet_lifetime = (int)raw->max_lifetime;
    spec->init.protocol = raw->protocol;
}

/* ICE server rules: TURN URLs need both credentials; relay-only needs one. */
static bool validate_ice(const pm_cli_peer_options *opt)
{
    bool turn = false;
    for (size_t i = 0; i < opt->ice_url_count; i++) {
        pm_ice_url url;
        pm_ice_url_parse(opt->ice_urls[i], &url);
        turn |= url.scheme == PM_ICE_URL_TURN || url.scheme == PM_ICE_URL_TURNS;
    }
    if (turn && (!opt->ice_username || !opt->ice_credential))
        return usage_error("a turn:/turns: --ice-server needs --ice-username and --ice-credential");
    if (opt->relay_only && !turn)
        return usage_error("--relay-only needs a turn: or turns: --ice-server");
    return true;
}

/* Cross-flag rules of the interface, then the channel layout. */
static bool validate(const raw_flags *raw, pm_cli_peer_options *opt)
{
    if (!validate_ice(opt))
        return false;
    if (raw->offer == raw->answer)
        return usage_error("give exactly one of --offer and --answer");
    if ((int)raw->echo + (int)raw->sink + (int)(raw->send > 0) > 1)
        return usage_error("--echo, --sink and --send exclude each other");
    if (raw->max_retransmits >= 0 && raw->max_lifetime >= 0)
        return usage_error("--max-retransmits and --max-packet-lifetime exclude each other");
    if (raw->negotiated != (raw->id >= 0))
        return usage_error("--negotiated and --id go together");
    if (raw->negotiated && raw->channels)
        return usage_error("--negotiated and --channels exclude each other");
    int n = pm_cli_parse_size_list(raw->size_list, opt->sizes, PM_CLI_PEER_MAX_SIZES,
                                   MAX_MESSAGE_SIZE_ARG);
    if (n < 0)
        return usage_error("--size wants up to 64 comma-separated byte counts, got '%s'",
                           raw->size_list);
    opt->size_count = (size_t)n;
    opt->offer = raw->offer;
    opt->text = raw->text;
    opt->send_count = raw->send;
    opt->mode = raw->send > 0 ? PM_CLI_MODE_SEND
                : raw->echo   ? PM_CLI_MODE_ECHO
                : raw->sink   ? PM_CLI_MODE_SINK
                              : PM_CLI_MODE_CONNECT;
    if (raw->channels)
        return build_godot_channels(opt, raw);
    if (raw->negotiated || raw->offer)
        build_single_channel(opt, raw);
    else
        opt->accept_inband = true;
    return true;
}

bool pm_cli_peer_parse_options(int argc, char **argv, pm_cli_peer_options *opt, bool *help)
{
    raw_flags raw = {.send = 0,
                     .max_retransmits = -1,
                     .max_lifetime = -1,
                     .id = -1,
                     .size_list = "1200",
                     .label = "data"};
    memset(opt, 0, sizeof *opt);
    opt->timeout_s = 30.0;
    opt->bind_address = PM_CLI_DEFAULT_BIND;
    *help = false;
    opterr = 0; /* we word the errors ourselves */
    optind = 1;
    int code;
    while ((code = getopt_long(argc, argv, ":", LONG_OPTIONS, NULL)) != -1) {
        if (code == OPT_HELP) {
            fputs(USAGE, stdout);
            *help = true;
            return false;
        }
        if (code == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (code == ':')
            return usage_error("%s needs a value", argv[optind - 1]);
        if (!take_flag(code, optarg, &raw, opt))
            return false;
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    return validate(&raw, opt);
}
