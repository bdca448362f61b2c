/*
 * peermesh-godot3-bench — what the Godot 3.2 add-on costs on top of the
 * plain C API, measured in one process and one run:
 *
 *   - poll: the add-on's WebRTCPeerConnection.poll() (what WebRTCMultiplayer
 *     calls for every peer every frame) against pm_rtc_peer_poll() plus the
 *     event drain a C program does, with 8 connected peers, idle and with one
 *     64-byte reliable message per peer per frame;
 *   - memory: heap bytes per connection (WebRTCMultiplayer's layout: three
 *     negotiated channels), add-on against plain C.
 *
 * Why a C harness and not a Godot script: the add-on's own cost is small
 * next to Godot's frame, and a GDScript cannot run the plain C API in the
 * same process to compare against. The harness loads the real
 * libpeermesh_godot3.so through a minimal fake of the GDNative API
 * (fake_godot.c: the same entry points, interface structs and object
 * lifetimes as Godot 3.2), drives 8 connections through the add-on's
 * interface exactly as the engine does, and 8 through the C API on
 * loopback. The two run one after the other in two processes of the same
 * invocation: the add-on carries its own copy of peermesh, and two copies
 * in one process would share usrsctp's process-wide state (PM_SCTP=usrsctp).
 * What it does not include: Godot's own call overhead (GDScript → Variant →
 * WebRTCPeerConnectionGDNative → our interface) and the memory of Godot's
 * objects (docs/godot.md gives it, measured in godot3-server).
 *
 *   peermesh-godot3-bench [--addon PATH/libpeermesh_godot3.so] [--peers N] [--rounds N]
 *
 * Prints a table and one JSON line ("bench": "godot3_addon").
 */
#define _GNU_SOURCE
#include "fake_godot.h"

#include "peermesh/rtc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PEERS 32

/* ---- the plain C side -------------------------------------------------- */

typedef struct plain_pair {
    pm_rtc_peer *a, *b;
    pm_rtc_channel *ca[3], *cb[3];
} plain_pair;

static const char *const LABELS[3] = {"reliable", "ordered", "unreliable"};

static void plain_channels(pm_rtc_peer *pc, pm_rtc_channel **out)
{
    for (int i = 0; i < 3; i++) {
        pm_rtc_channel_init init;
        pm_rtc_channel_init_default(&init);
        init.negotiated = true;
        init.id = i + 1;
        init.ordered = i != 2;
        init.max_packet_lifetime = i == 0 ? -1 : 1; /* add_peer's default lifetime */
        pm_rtc_peer_create_channel(pc, LABELS[i], &init, &out[i]);
    }
}

/* Poll one side and hand its signaling to the other, as a C program would. */
static void plain_drive(pm_rtc_peer *me, pm_rtc_peer *other)
{
    pm_rtc_peer_poll(me);
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(me, &ev)) {
        if (ev.type == PM_RTC_EVENT_DESCRIPTION && other)
            pm_rtc_peer_set_remote_description(other, ev.sdp_type, ev.sdp);
        else if (ev.type == PM_RTC_EVENT_CANDIDATE && other && ev.candidate[0])
            pm_rtc_peer_add_ice_candidate(other, ev.mid, ev.mline_index, ev.candidate);
    }
}

static bool plain_open(const plain_pair *p)
{
    for (int i = 0; i < 3; i++) {
        if (pm_rtc_channel_get_ready_state(p->ca[i]) != PM_RTC_CHANNEL_OPEN ||
            pm_rtc_channel_get_ready_state(p->cb[i]) != PM_RTC_CHANNEL_OPEN)
            return false;
    }
    return true;
}

static bool plain_connect(plain_pair *pairs, int n)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    for (int i = 0; i < n; i++) {
        if (pm_rtc_peer_new(&cfg, &pairs[i].a) != PM_OK || pm_rtc_peer_new(&cfg, &pairs[i].b))
            return false;
        plain_channels(pairs[i].a, pairs[i].ca);
        plain_channels(pairs[i].b, pairs[i].cb);
        pm_rtc_peer_create_offer(pairs[i].a);
    }
    for (int t = 0; t < 5000; t++) {
        int open = 0;
        for (int i = 0; i < n; i++) {
            plain_drive(pairs[i].a, pairs[i].b);
            plain_drive(pairs[i].b, pairs[i].a);
            open += plain_open(&pairs[i]);
        }
        if (open == n)
            return true;
        usleep(1000);
    }
    return false;
}

/* ---- the add-on side --------------------------------------------------- */

typedef struct addon_pair {
    fake_object *a, *b;
    fake_object *ca[3], *cb[3];
} addon_pair;

static addon_pair apairs[MAX_PEERS];
static int apair_count;

static fake_object *other_of(fake_object *o)
{
    for (int i = 0; i < apair_count; i++) {
        if (apairs[i].a == o)
            return apairs[i].b;
        if (apairs[i].b == o)
            return apairs[i].a;
    }
    return NULL;
}

/* What the game's GDScript does with the connection's signals. */
static void on_signal(void *ud, fake_object *obj, const char *signal, const gd_variant *const *args,
                      int n)
{
    (void)ud;
    const gd_webrtc_peer_connection *me = fake_pc_iface(obj);
    fake_object *peer = other_of(obj);
    const gd_webrtc_peer_connection *other = peer ? fake_pc_iface(peer) : NULL;
    if (strcmp(signal, "session_description_created") == 0 && n == 2) {
        const char *type = fake_variant_cstr(args[0]), *sdp = fake_variant_cstr(args[1]);
        me->set_local_description(me->data, type, sdp);
        if (other)
            other->set_remote_description(other->data, type, sdp);
    } else if (strcmp(signal, "ice_candidate_created") == 0 && n == 3 && other) {
        other->add_ice_candidate(other->data, fake_variant_cstr(args[0]),
                                 (int)fake_variant_int_value(args[1]), fake_variant_cstr(args[2]));
    }
}

/* WebRTCMultiplayer.add_peer()'s channels, with its dictionary keys. */
static void addon_channels(fake_object *pc, fake_object **out)
{
    const gd_webrtc_peer_connection *i = fake_pc_iface(pc);
    for (int k = 0; k < 3; k++) {
        gd_dictionary d = fake_dict_new();
        gd_variant v;
        fake_variant_bool(&v, true);
        fake_dict_set(&d, "negotiated", &v);
        fake_variant_int(&v, k + 1);
        fake_dict_set(&d, "id", &v);
        fake_variant_bool(&v, k != 2);
        fake_dict_set(&d, "ordered", &v);
        if (k > 0) {
            fake_variant_int(&v, 1);
            fake_dict_set(&d, "maxPacketLifetime", &v);
        }
        out[k] = i->create_data_channel(i->data, LABELS[k], &d);
        if (out[k])
            fake_object_ref(out[k]); /* the engine's Ref<WebRTCDataChannel> */
        fake_dict_free(&d);
    }
}

static fake_object *addon_new_pc(void)
{
    fake_object *pc = fake_peer_connection_new();
    if (!pc)
        return NULL;
    gd_dictionary cfg = fake_dict_new(), pm = fake_dict_new();
    gd_variant v;
    fake_variant_string(&v, "127.0.0.1");
    fake_dict_set(&pm, "bindAddress", &v);
    fake_variant_free(&v);
    gd_variant pmv;
    memset(&pmv, 0, sizeof pmv);
    /* {"peermesh": {"bindAddress": "127.0.0.1"}} */
    fake_variant_dictionary(&pmv, &pm);
    fake_dict_set(&cfg, "peermesh", &pmv);
    fake_variant_free(&pmv);
    const gd_webrtc_peer_connection *i = fake_pc_iface(pc);
    i->initialize(i->data, &cfg);
    fake_dict_free(&cfg);
    fake_dict_free(&pm);
    return pc;
}

static bool addon_open(const addon_pair *p)
{
    for (int k = 0; k < 3; k++) {
        const gd_webrtc_data_channel *a = fake_dc_iface(p->ca[k]), *b = fake_dc_iface(p->cb[k]);
        if (a->get_ready_state(a->data) != PM_RTC_CHANNEL_OPEN ||
            b->get_ready_state(b->data) != PM_RTC_CHANNEL_OPEN)
            return false;
    }
    return true;
}

static void addon_poll(fake_object *pc)
{
    const gd_webrtc_peer_connection *i = fake_pc_iface(pc);
    i->poll(i->data);
}

static bool addon_connect(int n)
{
    for (int k = 0; k < n; k++) {
        addon_pair *p = &apairs[apair_count++];
        p->a = addon_new_pc();
        p->b = addon_new_pc();
        if (!p->a || !p->b)
            return false;
        addon_channels(p->a, p->ca);
        addon_channels(p->b, p->cb);
        const gd_webrtc_peer_connection *i = fake_pc_iface(p->a);
        i->create_offer(i->data);
    }
    for (int t = 0; t < 5000; t++) {
        int open = 0;
        for (int k = apair_count - n; k < apair_count; k++) {
            addon_poll(apairs[k].a);
            addon_poll(apairs[k].b);
            open += addon_open(&apairs[k]);
        }
        if (open == n)
            return true;
        usleep(1000);
    }
    return false;
}

/* ---- measuring ----------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

typedef struct result {
    double idle_ns, busy_ns, heap;
} result;

static const uint8_t MSG[64] = {1, 2, 3};

static void drain_plain(pm_rtc_channel *ch)
{
    const uint8_t *d;
    size_t len;
    while (pm_rtc_channel_get_packet(ch, &d, &len) == PM_OK) {
    }
}

static void drain_addon(const gd_webrtc_data_channel *ch)
{
    const uint8_t *d;
    int len;
    while (ch->get_packet(ch->data, &d, &len) == GD_OK) {
    }
}

/* Frames are timed in blocks; the median block mean is reported, which
 * keeps other processes' bursts on a shared machine out of the number. */
#define BLOCK      100
#define MAX_BLOCKS 1000

static double median_of_blocks(double *blocks, int n)
{
    for (int i = 1; i < n; i++) { /* insertion sort: n is small */
        double v = blocks[i];
        int j = i - 1;
        for (; j >= 0 && blocks[j] > v; j--)
            blocks[j + 1] = blocks[j];
        blocks[j + 1] = v;
    }
    return n ? blocks[n / 2] : 0;
}

static double blocks[MAX_BLOCKS];

/* `frames` frames over n plain pairs: every connection polled once per
 * frame (both sides; the first side timed), with one reliable 64-byte
 * message each way first when `traffic`. Median block mean, ns per timed
 * poll. */
static double run_plain(plain_pair *pp, int n, int frames, bool traffic)
{
    double total = 0;
    int nb = 0;
    for (int f = 0; f < frames; f++) {
        for (int i = 0; i < n; i++) {
            if (traffic) {
                pm_rtc_channel_put_packet(pp[i].ca[0], MSG, sizeof MSG);
                drain_plain(pp[i].ca[0]);
            }
            double t0 = now_ns();
            plain_drive(pp[i].a, NULL);
            total += now_ns() - t0;
            plain_drive(pp[i].b, NULL);
            if (traffic) {
                pm_rtc_channel_put_packet(pp[i].cb[0], MSG, sizeof MSG);
                drain_plain(pp[i].cb[0]);
            }
        }
        if (f % BLOCK == BLOCK - 1 && nb < MAX_BLOCKS) {
            blocks[nb++] = total / ((double)BLOCK * n);
            total = 0;
            usleep(500);
        }
    }
    return median_of_blocks(blocks, nb);
}

static double run_addon(int base, int n, int frames, bool traffic)
{
    double total = 0;
    int nb = 0;
    for (int f = 0; f < frames; f++) {
        for (int k = base; k < base + n; k++) {
            const gd_webrtc_data_channel *ca = fake_dc_iface(apairs[k].ca[0]);
            const gd_webrtc_data_channel *cb = fake_dc_iface(apairs[k].cb[0]);
            if (traffic) {
                ca->put_packet(ca->data, MSG, sizeof MSG);
                drain_addon(ca);
            }
            double t0 = now_ns();
            addon_poll(apairs[k].a);
            total += now_ns() - t0;
            addon_poll(apairs[k].b);
            if (traffic) {
                cb->put_packet(cb->data, MSG, sizeof MSG);
                drain_addon(cb);
            }
        }
        if (f % BLOCK == BLOCK - 1 && nb < MAX_BLOCKS) {
            blocks[nb++] = total / ((double)BLOCK * n);
            total = 0;
            usleep(500);
        }
    }
    return median_of_blocks(blocks, nb);
}

/* The plain C API in a child process; its result comes back through a pipe. */
static bool measure_plain(int peers, int frames, result *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        result r = {0};
        plain_pair warm[1];
        plain_pair *pp = calloc((size_t)peers, sizeof *pp);
        if (!plain_connect(warm, 1))
            _exit(1);
        size_t h0 = heap_in_use();
        if (!plain_connect(pp, peers))
            _exit(1);
        r.heap = (double)(heap_in_use() - h0) / (2.0 * peers); /* both sides were made */
        r.idle_ns = run_plain(pp, peers, frames, false);
        r.busy_ns = run_plain(pp, peers, frames, true);
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    bool ok = pid > 0 && read(fds[0], out, sizeof *out) == (ssize_t)sizeof *out;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool measure_addon(const char *path, int peers, int frames, result *out)
{
    if (!fake_godot_load(path, on_signal, NULL))
        return false;
    if (!addon_connect(1))
        return false;
    int base = apair_count;
    size_t h0 = heap_in_use();
    if (!addon_connect(peers))
        return false;
    out->heap = (double)(heap_in_use() - h0) / (2.0 * peers);
    out->idle_ns = run_addon(base, peers, frames, false);
    out->busy_ns = run_addon(base, peers, frames, true);
    for (int k = 0; k < apair_count; k++) {
        for (int c = 0; c < 3; c++) {
            fake_object_unref(apairs[k].ca[c]);
            fake_object_unref(apairs[k].cb[c]);
        }
        fake_object_unref(apairs[k].a);
        fake_object_unref(apairs[k].b);
    }
    fake_godot_unload();
    return true;
}

int main(int argc, char **argv)
{
    const char *addon = PM_GODOT3_ADDON_PATH;
    int peers = 8, rounds = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--addon") == 0)
            addon = argv[i + 1];
        else if (strcmp(argv[i], "--peers") == 0)
            peers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
    }
    if (peers < 1 || peers > MAX_PEERS / 2 - 1 || rounds < BLOCK) {
        fprintf(stderr,
                "usage: peermesh-godot3-bench [--addon PATH] [--peers 1..%d] [--rounds N]\n",
                MAX_PEERS / 2 - 1);
        return 64;
    }
    result plain, add;
    if (!measure_plain(peers, rounds, &plain)) {
        fprintf(stderr, "the plain C connections did not open\n");
        return 1;
    }
    if (!measure_addon(addon, peers, rounds, &add)) {
        fprintf(stderr, "the add-on's connections did not open (%s)\n", addon);
        return 1;
    }
    printf("Godot 3.2 add-on vs plain C API, %d connected peers, %d frames each (median of\n"
           "%d-frame blocks; heap per connection from malloc's statistics)\n",
           peers, rounds, BLOCK);
    printf("  %-36s %12s %12s %12s\n", "", "plain C", "add-on", "add-on cost");
    printf("  %-36s %9.0f ns %9.0f ns %9.0f ns\n", "poll, idle (per peer)", plain.idle_ns,
           add.idle_ns, add.idle_ns - plain.idle_ns);
    printf("  %-36s %9.0f ns %9.0f ns %9.0f ns\n", "poll, 64 B each way (per peer)", plain.busy_ns,
           add.busy_ns, add.busy_ns - plain.busy_ns);
    printf("  %-36s %9.0f ns %9.0f ns %9.0f ns\n", "poll all peers once, idle (a frame)",
           plain.idle_ns * peers, add.idle_ns * peers, (add.idle_ns - plain.idle_ns) * peers);
    printf("  %-36s %10.0f B %10.0f B %10.0f B\n", "heap per connection (3 channels)", plain.heap,
           add.heap, add.heap - plain.heap);
    printf(
        "{\"bench\":\"godot3_addon\",\"peers\":%d,\"frames\":%d,\"poll_idle_ns\":{\"plain\":%.0f,"
        "\"addon\":%.0f},\"poll_traffic_ns\":{\"plain\":%.0f,\"addon\":%.0f},"
        "\"heap_per_connection_bytes\":{\"plain\":%.0f,\"addon\":%.0f}}\n",
        peers, rounds, plain.idle_ns, add.idle_ns, plain.busy_ns, add.busy_ns, plain.heap,
        add.heap);
    return 0;
}
