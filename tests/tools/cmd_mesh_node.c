/*
 * `peermesh mesh-node` — one node of a WebRTC mesh whose signaling is
 * relayed by whoever started it (tests/integration/test_mesh_procs.c starts
 * six of them). Until a signaling server exists, that relay is the driver:
 *
 *   stdout  "<to> <json>"    signaling for node <to> (offer, answer, candidate:
 *                            the interop peer's JSON messages); "0 <json>" is
 *                            the node's result line for the driver
 *   stdin   "<from> <json>"  signaling from node <from>; EOF ends the run
 *   stderr  log lines and JSON events ({"event":"peer_connected","peer":3,...})
 *
 * The node connects to every listed peer (the lower id offers). Once all are
 * connected it sends --packets packets of each kind: broadcast on each of
 * the three channels, and targeted reliable packets to every peer. Every
 * packet carries its sender, mode, kind, target and sequence number; the
 * node checks each one it receives and reports "ok" once every reliable
 * packet of every peer arrived intact and in order. It then keeps serving
 * until stdin closes, so that slower nodes still get their packets.
 */
#include "cli.h"
#include "json_out.h"
#include "mesh_io.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES       64
#define DEFAULT_PACKETS 20
#define HDR             12 /* [sender u32][mode u8][kind u8][seq u16][target i32] */

static const char USAGE[] =
    "usage: peermesh mesh-node --id N --peers ID[,ID...] [--packets K] [--server-compat]\n"
    "                          [--lifetime MS] [--timeout S] [--bind IP]\n"
    "\n"
    "One mesh node; signaling is relayed by the caller: \"<to> <json>\" lines on stdout,\n"
    "\"<from> <json>\" lines on stdin (EOF ends the run), events on stderr.\n"
    "--server-compat uses Godot 3.2's initialize(id, true) (node 1 is the server);\n"
    "otherwise Godot 4's create_mesh(id).\n";

static const pm_cli_command CMD = {.name = "mesh-node", .usage = USAGE};

enum { KIND_BROADCAST, KIND_TARGETED };

/* Big-endian fields of the test packets (the CLI uses only the public API). */
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

typedef struct node_opts {
    int32_t id;
    int32_t peers[MAX_NODES];
    size_t peer_count;
    long packets;
    bool server_compat;
    long lifetime;
    pm_cli_mesh_io_options io;
    const char *peer_list; /* --peers as given: read once --id is known */
} node_opts;

typedef struct from_state {
    long next_seq[2]; /* reliable: next expected seq per kind */
    long lossy;       /* packets on the lossy channels */
    bool connected;
} from_state;

typedef struct node_run {
    const node_opts *opt;
    pm_cli_mesh_io io;
    from_state from[MAX_NODES];
    int connected;
    int succeeded;
    bool sent, reported, failed;
    long bad;
    char error[256];
    pm_time start, connected_at;
} node_run;

static int peer_index(const node_opts *opt, int32_t id)
{
    for (size_t i = 0; i < opt->peer_count; i++)
        if (opt->peers[i] == id)
            return (int)i;
    return -1;
}

/* ---- options ---- */

static bool parse_peers(const char *text, node_opts *opt)
{
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > INT32_MAX || (*end && *end != ','))
            return false;
        if (v != opt->id && peer_index(opt, (int32_t)v) < 0) {
            if (opt->peer_count == MAX_NODES)
                return false;
            opt->peers[opt->peer_count++] = (int32_t)v;
        }
        p = *end ? end + 1 : end;
    }
    return true;
}

static int take_option(void *ud, int code, const char *arg)
{
    node_opts *opt = ud;
    long id;
    switch (code) {
    case 'i':
        if (!pm_cli_parse_long(arg, 1, INT32_MAX, &id))
            return pm_cli_bad_value(&CMD, "--id", "a node id 1..2147483647", arg);
        opt->id = (int32_t)id;
        break;
    case 'p':
        opt->peer_list = arg;
        break;
    case 'k':
        if (!pm_cli_parse_long(arg, 1, 10000, &opt->packets))
            return pm_cli_bad_value(&CMD, "--packets", "a number of packets 1..10000", arg);
        break;
    case 'c':
        opt->server_compat = true;
        break;
    case 'l':
        if (!pm_cli_parse_long(arg, -1, 65535, &opt->lifetime))
            return pm_cli_bad_value(&CMD, "--lifetime", "milliseconds -1..65535", arg);
        break;
    }
    return -1;
}

static int parse(int argc, char **argv, node_opts *opt)
{
    static const struct option longs[] = {
        {"id", required_argument, NULL, 'i'},       {"peers", required_argument, NULL, 'p'},
        {"packets", required_argument, NULL, 'k'},  {"server-compat", no_argument, NULL, 'c'},
        {"lifetime", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
    };
    memset(opt, 0, sizeof *opt);
    opt->packets = DEFAULT_PACKETS;
    opt->lifetime = PM_MESH_LIFETIME_DEFAULT;
    opt->io = (pm_cli_mesh_io_options){60, PM_CLI_DEFAULT_BIND};
    int status = pm_cli_mesh_io_parse(&CMD, argc, argv, longs, take_option, opt, &opt->io);
    if (status >= 0)
        return status;
    if (!opt->id || !opt->peer_list)
        return pm_cli_usage_error(&CMD, "--id and --peers are required", NULL);
    if (!parse_peers(opt->peer_list, opt) || opt->peer_count == 0)
        return pm_cli_bad_value(&CMD, "--peers", "a comma-separated list of other node ids",
                                opt->peer_list);
    return -1;
}

/* ---- output ---- */

static void emit(node_run *run, json_t *ev)
{
    pm_cli_emit_event(&run->io.out, ev);
}

static void fail(node_run *run, const char *why)
{
    if (!run->failed)
        snprintf(run->error, sizeof run->error, "%s", why);
    run->failed = true;
}

/* "<to> <json>" on stdout. */
static void send_line(node_run *run, int32_t to, json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(msg);
    if (!text || printf("%d %s\n", (int)to, text) < 0 || fflush(stdout) != 0)
        fail(run, "cannot write to stdout");
    free(text);
}

static void on_signal(void *ud, int32_t peer, const pm_rtc_event *ev)
{
    send_line(ud, peer, pm_cli_mesh_signal_message(ev));
}

/* ---- traffic ---- */

static size_t packet_size(long seq, int mode)
{
    static const size_t lossy[] = {HDR, 100, 700, 1100};
    static const size_t reliable[] = {HDR, 300, 1200, 6000};
    return mode == PM_MP_TRANSFER_RELIABLE ? reliable[seq % 4] : lossy[seq % 4];
}

static void fill(uint8_t *b, int32_t sender, int mode, int kind, long seq, int32_t target, size_t n)
{
    wr32(b, (uint32_t)sender);
    b[4] = (uint8_t)mode;
    b[5] = (uint8_t)kind;
    wr16(b + 6, (uint16_t)seq);
    wr32(b + 8, (uint32_t)target);
    for (size_t j = HDR; j < n; j++)
        b[j] = (uint8_t)(sender + seq + j);
}

static void put(node_run *run, int32_t target, pm_mp_transfer_mode mode, int kind, long seq)
{
    uint8_t buf[8192];
    size_t n = packet_size(seq, mode);
    fill(buf, run->opt->id, mode, kind, seq, target, n);
    pm_mp_set_target_peer(run->io.mp, target);
    pm_mp_set_transfer_mode(run->io.mp, mode);
    int rc = pm_mp_put_packet(run->io.mp, buf, n);
    if (rc < 0) {
        char why[128];
        snprintf(why, sizeof why, "put_packet to %d: %s", (int)target, pm_strerror(rc));
        fail(run, why);
    }
}

static void send_traffic(node_run *run)
{
    static const pm_mp_transfer_mode modes[] = {
        PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE};
    for (long seq = 0; seq < run->opt->packets; seq++) {
        for (size_t m = 0; m < 3; m++)
            put(run, 0, modes[m], KIND_BROADCAST, seq);
        for (size_t p = 0; p < run->opt->peer_count; p++)
            put(run, run->opt->peers[p], PM_MP_TRANSFER_RELIABLE, KIND_TARGETED, seq);
    }
    run->sent = true;
    pm_cli_logf(&run->io.out, "sent %ld packets of each kind", run->opt->packets);
}

static bool packet_ok(const node_run *run, const pm_mp_packet *p, int *kind, long *seq)
{
    if (p->len < HDR || (int32_t)rd32(p->data) != p->from || p->data[4] != (uint8_t)p->mode ||
        p->channel != 0)
        return false;
    *kind = p->data[5];
    *seq = rd16(p->data + 6);
    int32_t target = (int32_t)rd32(p->data + 8);
    if (*kind > KIND_TARGETED || *seq >= run->opt->packets || p->len != packet_size(*seq, p->mode))
        return false;
    if (*kind == KIND_TARGETED ? target != run->opt->id : target != 0)
        return false;
    for (size_t j = HDR; j < p->len; j++)
        if (p->data[j] != (uint8_t)(p->from + *seq + j))
            return false;
    return true;
}

static void receive(node_run *run)
{
    pm_mp_packet p;
    while (pm_mp_get_packet(run->io.mp, &p) == PM_OK) {
        int idx = peer_index(run->opt, p.from), kind;
        long seq;
        if (idx < 0 || !packet_ok(run, &p, &kind, &seq)) {
            run->bad++;
            continue;
        }
        from_state *f = &run->from[idx];
        if (p.mode != PM_MP_TRANSFER_RELIABLE) {
            f->lossy++;
            continue;
        }
        if (seq != f->next_seq[kind]) /* reliable and ordered: exactly the next one */
            run->bad++;
        f->next_seq[kind] = seq + 1;
    }
}

static bool all_received(const node_run *run)
{
    for (size_t i = 0; i < run->opt->peer_count; i++)
        if (run->from[i].next_seq[KIND_BROADCAST] < run->opt->packets ||
            run->from[i].next_seq[KIND_TARGETED] < run->opt->packets)
            return false;
    return true;
}

static void report(node_run *run, bool ok, const char *error)
{
    if (run->reported)
        return;
    run->reported = true;
    long lossy = 0;
    for (size_t i = 0; i < run->opt->peer_count; i++)
        lossy += run->from[i].lossy;
    json_t *r = json_pack(
        "{s:s, s:b, s:i, s:i, s:i, s:I, s:I, s:o}", "type", "result", "ok", ok, "id",
        (int)run->opt->id, "peers_connected", run->connected, "succeeded", run->succeeded,
        "lossy_received", (json_int_t)lossy, "bad", (json_int_t)run->bad, "connect_ms",
        pm_cli_json_rounded(
            run->connected_at ? (double)(run->connected_at - run->start) / 1000.0 : -1.0, 1));
    if (error && r)
        json_object_set_new(r, "error", json_string(error));
    emit(run, json_deep_copy(r));
    send_line(run, 0, r);
}

/* ---- events ---- */

static void on_mp_event(void *ud, const pm_mp_event *ev)
{
    node_run *run = ud;
    emit(run, json_pack("{s:s, s:i, s:i}", "event", pm_mp_event_type_to_string(ev->type), "peer",
                        (int)ev->peer_id, "status", (int)pm_mp_get_connection_status(run->io.mp)));
    int idx = peer_index(run->opt, ev->peer_id);
    if (run->reported)
        return; /* the test is over: nodes leaving at the end are expected */
    switch (ev->type) {
    case PM_MP_EVENT_PEER_CONNECTED:
        if (idx >= 0 && !run->from[idx].connected) {
            run->from[idx].connected = true;
            run->connected++;
        }
        break;
    case PM_MP_EVENT_CONNECTION_SUCCEEDED:
        run->succeeded++;
        break;
    case PM_MP_EVENT_PEER_DISCONNECTED:
        fail(run, "a peer left before the test was over");
        break;
    default:
        fail(run, "connection failed or server disconnected");
        break;
    }
}

static void handle_line(void *ud, const char *line, size_t len)
{
    node_run *run = ud;
    char *end;
    long from = strtol(line, &end, 10);
    if (end == line || *end != ' ') {
        pm_cli_logf(&run->io.out, "ignoring malformed input line: %.80s", line);
        return;
    }
    pm_rtc_peer *pc = pm_cli_mesh_connection(run->io.mesh, (int32_t)from);
    if (!pc) {
        pm_cli_logf(&run->io.out, "signaling for unknown peer %ld ignored", from);
        return;
    }
    char err[512];
    const char *json = end + 1;
    if (pm_cli_signal_apply(pc, json, len - (size_t)(json - line), err, sizeof err) !=
        PM_CLI_SIGNAL_APPLIED)
        pm_cli_logf(&run->io.out, "peer %ld: %s", from, err);
}

/* ---- the run ---- */

static int set_up(node_run *run, const node_opts *opt)
{
    pm_mesh_config cfg;
    pm_mesh_config_default(&cfg);
    cfg.connect_timeout = (pm_time)(opt->io.timeout_s * 1e6);
    cfg.disconnect_grace = PM_SEC(5);
    int rc = pm_cli_mesh_io_open(&run->io, &cfg, opt->id, opt->server_compat, opt->peer_count);
    pm_mesh *mesh = run->io.mesh;
    for (size_t i = 0; rc == PM_OK && i < opt->peer_count; i++)
        rc = pm_cli_mesh_connect(mesh, opt->peers[i], opt->io.bind_address, (int)opt->lifetime);
    for (size_t i = 0; rc == PM_OK && i < opt->peer_count; i++)
        if (opt->id < opt->peers[i])
            rc = pm_rtc_peer_create_offer(pm_cli_mesh_connection(mesh, opt->peers[i]));
    return rc;
}

static void step(node_run *run)
{
    pm_cli_mesh_pump(run->io.mesh, on_signal, on_mp_event, run);
    if (!run->sent && run->connected == (int)run->opt->peer_count) {
        run->connected_at = pm_now();
        send_traffic(run);
    }
    receive(run);
    pm_cli_mesh_drain(run->io.mesh, on_signal, run); /* what our sends reported */
    if (run->failed)
        report(run, false, run->error);
    else if (run->sent && all_received(run))
        report(run, run->bad == 0, run->bad ? "malformed or misordered packets" : NULL);
}

int pm_cli_mesh_node(int argc, char **argv)
{
    node_opts opt;
    int status = parse(argc, argv, &opt);
    if (status >= 0)
        return status;
    node_run run = {.opt = &opt, .start = pm_now()};
    pm_cli_mesh_io_init(&run.io, run.start);
    pm_time deadline = run.start + (pm_time)(opt.io.timeout_s * 1e6);
    int rc = set_up(&run, &opt);
    if (rc < 0) {
        fprintf(stderr, "peermesh mesh-node: set-up failed: %s\n", pm_strerror(rc));
        status = PM_CLI_EXIT_FAIL;
    }
    while (rc == PM_OK && run.io.input_open) {
        step(&run);
        if (pm_now() >= deadline) {
            report(&run, false, "timeout");
            status = PM_CLI_EXIT_TIMEOUT;
            break;
        }
        bool input_ready;
        pm_time wake = min_time(deadline, pm_mesh_next_timeout(run.io.mesh));
        if (pm_cli_mesh_io_wait(&run.io, wake, &input_ready) < 0)
            break;
        if (input_ready && pm_cli_mesh_io_read(&run.io, handle_line, &run) < 0)
            fail(&run, "out of memory");
    }
    if (status < 0)
        status = run.reported && !run.failed && run.bad == 0 && all_received(&run)
                     ? PM_CLI_EXIT_OK
                     : PM_CLI_EXIT_FAIL;
    pm_cli_logf(&run.io.out, "done (exit %d)", status);
    pm_cli_mesh_io_free(&run.io);
    return status;
}
