/*
 * peermesh-signal's flags and configuration file (options.h). One table
 * describes every setting; the parser of each is shared by the flag and
 * the file line.
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_kind { K_UINT, K_PORT, K_SECONDS, K_STRING, K_BOOL, K_URL, K_LEVEL } opt_kind;

typedef struct opt_def {
    const char *name;
    opt_kind kind;
    const char *arg;
    const char *help;
} opt_def;

static const opt_def OPTS[] = {
    {"config", K_STRING, "FILE", "read key=value settings from FILE first (also -c)"},
    {"bind", K_STRING, "IP",
     "numeric address to listen on (default 127.0.0.1; 0.0.0.0 or :: = all)"},
    {"port", K_PORT, "N", "TCP port (default 9080; 0 = any free port)"},
    {"cert", K_STRING, "FILE", "PEM certificate chain: serve wss:// (needs key)"},
    {"key", K_STRING, "FILE", "PEM private key of the certificate"},
    {"max-peers", K_UINT, "N", "connections at once (default 4096)"},
    {"max-lobbies", K_UINT, "N", "lobbies open at once (default 1024)"},
    {"max-lobby-peers", K_UINT, "N", "peers in one lobby (default 4096)"},
    {"join-timeout", K_SECONDS, "S", "time to join a lobby after connecting (default 1)"},
    {"seal-delay", K_SECONDS, "S", "from seal to closing the lobby's connections (default 10)"},
    {"ping-interval", K_SECONDS, "S", "WebSocket ping period, 0 = none (default 10)"},
    {"max-message", K_UINT, "BYTES", "largest message (default 65536)"},
    {"max-per-address", K_UINT, "N", "connections per IPv4 address or IPv6 /64 (default 0 = any)"},
    {"max-handshakes-per-address", K_UINT, "N",
     "connections per address still in their handshake (default 32)"},
    {"handshake-timeout", K_SECONDS, "S", "time to finish the WebSocket handshake (default 10)"},
    {"rate", K_UINT, "N", "messages per second per connection, 0 = unlimited (default 100)"},
    {"burst", K_UINT, "N", "messages a connection may send at once (default 500)"},
    {"join-rate", K_UINT, "N", "joins per second from one address, 0 = unlimited (default 10)"},
    {"join-burst", K_UINT, "N", "joins one address may make at once (default 50)"},
    {"auth-secret", K_STRING, "SECRET", "joining needs ?token=SECRET in the URL"},
    {"token-secret", K_STRING, "SECRET", "joining needs an HMAC token (see --make-token)"},
    {"turn-secret", K_STRING, "SECRET", "coturn static-auth-secret: hand out TURN credentials"},
    {"turn-url", K_URL, "URL", "TURN server URL handed to peers (repeatable)"},
    {"stun-url", K_URL, "URL", "STUN server URL handed to peers (repeatable)"},
    {"turn-ttl", K_SECONDS, "S", "lifetime of TURN credentials (default 86400)"},
    {"http-endpoints", K_BOOL, NULL,
     "serve GET /metrics and /healthz (default; --no-http-endpoints)"},
    {"named-lobbies", K_BOOL, NULL,
     "let clients create lobbies by name (extension; default off: strict Godot demo)"},
    {"web-root", K_STRING, "DIR", "serve the files of DIR over HTTP(S) on the same port"},
    {"log-level", K_LEVEL, "LEVEL", "error, warn, info (default), debug or trace"},
    {"shutdown-grace", K_SECONDS, "S", "on SIGTERM, wait this long for closes (default 5)"},
    {"make-token", K_STRING, "USER", "print a join token for USER (needs token-secret), exit"},
    {"token-ttl", K_SECONDS, "S", "validity of --make-token's token (default 3600)"},
    {"redis", K_STRING, "URL",
     "share lobbies with other nodes through Redis: redis://IP[:PORT] or unix:PATH"},
    {"redis-prefix", K_STRING, "P", "prefix of the cluster's Redis keys (default peermesh:)"},
    {"node-ttl", K_SECONDS, "S", "a node silent this long is dead (default 3)"},
    {"host-migration", K_BOOL, NULL,
     "mesh lobbies outlive their host: the lowest id takes over (default off)"},
    {"check-config", K_BOOL, NULL, "check the settings and exit"},
};

void sig_options_usage(FILE *to)
{
    fputs("usage: peermesh-signal [options]\n"
          "\n"
          "WebSocket signaling server for WebRTC meshes: Godot's signaling demo protocols\n"
          "(4.x JSON and 3.x text) with lobbies, limits and operations endpoints.\n"
          "Every option is also a configuration file line `name=value` (booleans: `name`\n"
          "or `name=true|false`); command-line options override the file.\n\n",
          to);
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++) {
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", OPTS[i].name, OPTS[i].arg ? " " : "",
                 OPTS[i].arg ? OPTS[i].arg : "");
        fprintf(to, "  %-26s %s\n", left, OPTS[i].help);
    }
    fputs("  --help, --version\n", to);
}

static const opt_def *find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
        if (strlen(OPTS[i].name) == len && strncmp(OPTS[i].name, name, len) == 0)
            return &OPTS[i];
    return NULL;
}

static char *keep(sig_options *o, const char *s)
{
    if (o->nstrings == sizeof o->strings / sizeof o->strings[0])
        return NULL;
    char *d = strdup(s);
    if (d)
        o->strings[o->nstrings++] = d;
    return d;
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    if (!*v || *v == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || n > max)
        return false;
    *out = n;
    return true;
}

static bool parse_seconds(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(d) || d < 0 || d > 1e7)
        return false;
    *out = d;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!v || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") ||
        !strcasecmp(v, "on")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
        !strcasecmp(v, "off")) {
        *out = false;
        return true;
    }
    return false;
}

static bool parse_level(const char *v, pm_log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(v, names[i])) {
            *out = (pm_log_level)i;
            return true;
        }
    return false;
}

static pm_time seconds_to_us(double s)
{
    return (pm_time)llround(s * 1e6);
}

static uint32_t *uint_field(sig_options *o, const char *name)
{
    pm_signal_server_config *c = &o->server;
    if (!strcmp(name, "max-peers"))
        return &c->max_peers;
    if (!strcmp(name, "max-lobbies"))
        return &c->max_lobbies;
    if (!strcmp(name, "max-lobby-peers"))
        return &c->max_lobby_peers;
    if (!strcmp(name, "max-per-address"))
        return &c->max_per_address;
    if (!strcmp(name, "max-handshakes-per-address"))
        return &c->max_handshakes_per_address;
    if (!strcmp(name, "rate"))
        return &c->rate_limit;
    if (!strcmp(name, "burst"))
        return &c->rate_burst;
    if (!strcmp(name, "join-rate"))
        return &c->join_rate;
    if (!strcmp(name, "join-burst"))
        return &c->join_burst;
    return NULL;
}

static pm_time *time_field(sig_options *o, const char *name)
{
    pm_signal_server_config *c = &o->server;
    if (!strcmp(name, "join-timeout"))
        return &c->join_timeout;
    if (!strcmp(name, "seal-delay"))
        return &c->seal_delay;
    if (!strcmp(name, "ping-interval"))
        return &c->ping_interval;
    if (!strcmp(name, "turn-ttl"))
        return &c->turn_ttl;
    if (!strcmp(name, "handshake-timeout"))
        return &c->handshake_timeout;
    if (!strcmp(name, "node-ttl"))
        return &c->node_ttl;
    return NULL;
}

static const char **string_field(sig_options *o, const char *name)
{
    pm_signal_server_config *c = &o->server;
    if (!strcmp(name, "config"))
        return &o->config_file;
    if (!strcmp(name, "bind"))
        return &c->bind_address;
    if (!strcmp(name, "cert"))
        return &c->cert_file;
    if (!strcmp(name, "key"))
        return &c->key_file;
    if (!strcmp(name, "auth-secret"))
        return &c->auth_secret;
    if (!strcmp(name, "token-secret"))
        return &c->token_secret;
    if (!strcmp(name, "turn-secret"))
        return &c->turn_secret;
    if (!strcmp(name, "make-token"))
        return &o->make_token_user;
    if (!strcmp(name, "redis"))
        return &c->redis_url;
    if (!strcmp(name, "redis-prefix"))
        return &c->redis_prefix;
    if (!strcmp(name, "web-root"))
        return &c->web_root;
    return NULL;
}

/* What a setting's value must be, for its messages. */
static const char *expected(const opt_def *d)
{
    if (!strcmp(d->name, "bind"))
        return "a numeric IP address (e.g. 127.0.0.1, or 0.0.0.0 or :: for every interface)";
    if (!strcmp(d->name, "max-message"))
        return "a size in bytes, at most 67108864";
    if (!strcmp(d->name, "redis"))
        return "redis://IP[:PORT] (a numeric address: no DNS) or unix:PATH";
    switch (d->kind) {
    case K_UINT:
        return "a whole number, 0 or more";
    case K_PORT:
        return "a port number 0..65535";
    case K_SECONDS:
        return "seconds (a number, 0 or more)";
    case K_BOOL:
        return "true or false";
    case K_URL:
        return "a stun: or turn: URL such as turn:203.0.113.5:3478 (at most 8)";
    case K_LEVEL:
        return "error, warn, info, debug or trace";
    default:
        return "a value";
    }
}

/* The cluster's Redis: "unix:PATH", or "redis://IP[:PORT][/...]" with a
 * numeric IP ([...] for IPv6), as the server takes it. */
static bool redis_url_ok(const char *v)
{
    if (!strncmp(v, "unix:", 5))
        return v[5] != 0;
    if (strncmp(v, "redis://", 8) != 0)
        return false;
    const char *p = v + 8;
    bool bracket = *p == '[';
    size_t n = bracket ? strcspn(++p, "]") : strcspn(p, ":/");
    char host[64];
    pm_addr a;
    if (!n || n >= sizeof host || (bracket && p[n] != ']'))
        return false;
    memcpy(host, p, n);
    host[n] = 0;
    if (pm_addr_parse(&a, host, 0) != PM_OK)
        return false;
    p += n + bracket;
    if (*p != ':')
        return !*p || *p == '/';
    unsigned long port;
    char digits[8];
    size_t k = strcspn(p + 1, "/");
    if (!k || k >= sizeof digits)
        return false;
    memcpy(digits, p + 1, k);
    digits[k] = 0;
    return parse_uint(digits, 65535, &port) && port >= 1;
}

/* "--name needs ..." on the command line, "FILE:LINE: name needs ..." in a file; v NULL:
 * the value is missing. */
static void complain(const opt_def *d, const char *where, const char *v)
{
    bool flag = !strcmp(where, "command line");
    fprintf(stderr, "peermesh-signal: %s%s%s%s needs ", flag ? "" : where, flag ? "" : ": ",
            flag ? "--" : "", d->name);
    if (v)
        fprintf(stderr, "%s, got '%s'\n", expected(d), v);
    else
        fprintf(stderr, "a value: %s\n", expected(d));
}

/* Apply one setting; `where` names its origin in messages. */
static bool apply(sig_options *o, const opt_def *d, const char *v, const char *where)
{
    unsigned long n;
    double sec;
    bool b;
    if (d->kind != K_BOOL && !v) {
        complain(d, where, NULL);
        return false;
    }
    if (!strcmp(d->name, "bind")) {
        pm_addr a;
        if (pm_addr_parse(&a, v, 0) != PM_OK)
            goto bad;
    }
    switch (d->kind) {
    case K_PORT:
        if (!parse_uint(v, 65535, &n))
            goto bad;
        o->server.port = (uint16_t)n;
        return true;
    case K_UINT:
        if (!parse_uint(v, !strcmp(d->name, "max-message") ? 64ul << 20 : UINT32_MAX, &n))
            goto bad;
        if (!strcmp(d->name, "max-message"))
            o->server.max_message_size = n;
        else
            *uint_field(o, d->name) = (uint32_t)n;
        return true;
    case K_SECONDS:
        if (!parse_seconds(v, &sec))
            goto bad;
        if (!strcmp(d->name, "shutdown-grace"))
            o->shutdown_grace = sec;
        else if (!strcmp(d->name, "token-ttl"))
            o->token_ttl = sec;
        else
            *time_field(o, d->name) = seconds_to_us(sec);
        return true;
    case K_STRING: {
        if (!strcmp(d->name, "redis") && !redis_url_ok(v))
            goto bad;
        char *s = keep(o, v);
        if (!s)
            goto bad;
        *string_field(o, d->name) = s;
        return true;
    }
    case K_URL: {
        bool turn = !strcmp(d->name, "turn-url");
        size_t *count = turn ? &o->server.turn_url_count : &o->server.stun_url_count;
        const char **list = turn ? o->turn_urls : o->stun_urls;
        pm_ice_url parsed;
        if (*count == PM_SIGNAL_MAX_URLS || pm_ice_url_parse(v, &parsed) != PM_OK)
            goto bad;
        if (!(list[*count] = keep(o, v)))
            goto bad;
        (*count)++;
        return true;
    }
    case K_BOOL:
        if (!parse_bool(v, &b))
            goto bad;
        if (!strcmp(d->name, "http-endpoints"))
            o->server.http_endpoints = b;
        else if (!strcmp(d->name, "named-lobbies"))
            o->server.named_lobbies = b;
        else if (!strcmp(d->name, "host-migration"))
            o->server.host_migration = b;
        else
            o->check_only = b;
        return true;
    case K_LEVEL:
        if (!parse_level(v, &o->env.log_level))
            goto bad;
        o->env.log_level_set = true;
        return true;
    }
bad:
    complain(d, where, v ? v : "");
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static bool read_file(sig_options *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "peermesh-signal: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    char line[1024];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char *value = NULL;
        if (eq) {
            *eq = 0;
            value = trim(eq + 1);
        }
        char *key = trim(s);
        char where[600];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        const opt_def *d = find(key, strlen(key));
        if (!d || !strcmp(key, "config")) {
            fprintf(stderr, "peermesh-signal: %s: unknown setting '%s'\n", where, key);
            ok = false;
        } else {
            ok = apply(o, d, value, where);
        }
    }
    fclose(f);
    return ok;
}

static void defaults(sig_options *o)
{
    memset(o, 0, sizeof *o);
    pm_signal_server_config_default(&o->server);
    o->env.log_level = PM_LOG_INFO;
    o->env.log_level_set = true;
    o->token_ttl = 3600;
    o->shutdown_grace = 5;
}

/* Split "--name=value" / "--name value"; returns the index of the next argument. */
static int parse_flag(sig_options *o, int argc, char **argv, int i, bool apply_now, bool *ok)
{
    const char *a = argv[i];
    if (!strcmp(a, "-c"))
        a = "--config";
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        o->help = true;
        return i + 1;
    }
    if (!strcmp(a, "--version")) {
        o->version = true;
        return i + 1;
    }
    if (strncmp(a, "--", 2) != 0) {
        fprintf(stderr, "peermesh-signal: unexpected argument '%s' (options start with --)\n", a);
        *ok = false;
        return i + 1;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt_def *d = find(name, len);
    bool negated = false;
    if (!d && len > 3 && !strncmp(name, "no-", 3)) {
        d = find(name + 3, len - 3);
        negated = d && d->kind == K_BOOL;
        if (!negated)
            d = NULL;
    }
    if (!d) {
        fprintf(stderr, "peermesh-signal: unknown option '%s'\n", a);
        *ok = false;
        return i + 1;
    }
    const char *value = eq ? eq + 1 : NULL;
    int next = i + 1;
    if (negated)
        value = "false";
    else if (!value && d->kind != K_BOOL) {
        if (i + 1 >= argc) {
            complain(d, "command line", NULL);
            *ok = false;
            return i + 1;
        }
        value = argv[i + 1];
        next = i + 2;
    }
    if (apply_now)
        *ok = apply(o, d, value, "command line") && *ok;
    else if (!strcmp(d->name, "config"))
        *ok = apply(o, d, value, "command line") && *ok;
    return next;
}

int sig_options_parse(sig_options *o, int argc, char **argv)
{
    defaults(o);
    bool ok = true;
    /* First the configuration file, so flags can override it. */
    for (int i = 1; i < argc && ok;)
        i = parse_flag(o, argc, argv, i, false, &ok);
    if (ok && o->config_file)
        ok = read_file(o, o->config_file);
    for (int i = 1; i < argc && ok;)
        i = parse_flag(o, argc, argv, i, true, &ok);
    o->server.turn_urls = o->turn_urls;
    o->server.stun_urls = o->stun_urls;
    o->server.env = &o->env;
    if (ok && o->server.turn_url_count && !o->server.turn_secret) {
        fprintf(stderr, "peermesh-signal: --turn-url needs --turn-secret (coturn's "
                        "static-auth-secret) to make credentials\n");
        ok = false;
    }
    if (ok && !o->server.cert_file != !o->server.key_file) {
        fprintf(stderr, "peermesh-signal: --cert and --key go together (got only --%s)\n",
                o->server.cert_file ? "cert" : "key");
        ok = false;
    }
    return ok ? 0 : 64;
}

void sig_options_free(sig_options *o)
{
    for (size_t i = 0; i < o->nstrings; i++)
        free(o->strings[i]);
    o->nstrings = 0;
}
