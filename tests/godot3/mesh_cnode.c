/*
 * mesh_cnode — the C member of tests/godot3/mesh.sh: a peermesh mesh node
 * (the public signaling client, 4.x JSON protocol) in a lobby with Godot
 * 3.2 processes on the add-on and a Chromium page.
 *
 *   mesh_cnode URL LOBBY GATE_DIR PEERS BURST TIMEOUT_S
 *
 * It reports on stdout, one line each, what the runner checks:
 *   ID N <id>             our id
 *   READY                 PEERS peers connected
 *   RPC <name> <from>     a Godot 3.2 RPC `ping("from-<name>")` arrived (a
 *                         REMOTE_CALL packet naming method "ping")
 *   SENT                  our BURST raw packets went out (gate "send")
 *   UNREL <from> <p> <b>  raw unreliable test packets counted per sender:
 *                         paced ("U", ten per millisecond) and one burst
 *                         ("V", all at once) (gate "report")
 *   GONE <id>             a peer left the mesh
 *   RESULT ok|fail ...    at the end: peer 1 left, and nothing was malformed
 *
 * Raw packets are Godot 3.2 MultiplayerAPI RAW commands ([4][payload]), so
 * Godot delivers ours through `network_peer_packet`; the test payload is
 * "U" or "V" + sender id + sequence. They go on the unreliable channel with the
 * lobby's (Godot's default) 1 ms lifetime.
 */
#include "peermesh/peermesh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS       16
#define CMD_REMOTE_CALL 0
#define CMD_RAW         4

typedef struct counter {
    int32_t id;
    int unrel[2]; /* paced "U", burst "V" */
} counter;

static counter counters[MAX_PEERS];

static counter *counter_for(int32_t id)
{
    for (int i = 0; i < MAX_PEERS; i++) {
        if (counters[i].id == id || counters[i].id == 0) {
            counters[i].id = id;
            return &counters[i];
        }
    }
    return NULL;
}

static bool gate(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0)
            return hay + i;
    }
    return NULL;
}

/* A Godot 3.2 RPC to "ping" carries its argument "from-<name>" as a String. */
static void on_rpc(const pm_mp_packet *p)
{
    if (!find(p->data, p->len, "ping", 5))
        return;
    const uint8_t *at = find(p->data, p->len, "from-", 5);
    if (!at)
        return;
    char name[32];
    size_t k = 0;
    for (at += 5; at < p->data + p->len && k + 1 < sizeof name; at++) {
        if ((*at < 'A' || *at > 'Z') && (*at < 'a' || *at > 'z') && (*at < '0' || *at > '9'))
            break;
        name[k++] = (char)*at;
    }
    name[k] = '\0';
    printf("RPC %s %d\n", name, (int)p->from);
}

static void send_raw(pm_multiplayer *mp, char kind, int32_t self, int seq)
{
    uint8_t pkt[32];
    memset(pkt, 0, sizeof pkt);
    pkt[0] = CMD_RAW;
    pkt[1] = (uint8_t)kind;
    memcpy(pkt + 2, &self, 4);
    memcpy(pkt + 6, &seq, 4);
    pm_mp_put_packet(mp, pkt, sizeof pkt);
}

static void send_burst(pm_signal_client *c, pm_multiplayer *mp, int32_t self, int burst)
{
    pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
    pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_UNRELIABLE);
    for (int seq = 0; seq < burst; seq++) {
        send_raw(mp, 'U', self, seq);
        if (seq % 10 == 9) { /* as a game would: a few per frame */
            pm_signal_client_poll(c);
            usleep(1000);
        }
    }
    for (int seq = 0; seq < burst; seq++) /* then all at once */
        send_raw(mp, 'V', self, seq);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mesh_cnode URL LOBBY GATE_DIR PEERS BURST TIMEOUT_S\n");
        return 64;
    }
    const char *gates = argv[3];
    int want = atoi(argv[4]), burst = atoi(argv[5]);
    time_t deadline = time(NULL) + atoi(argv[6]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.url = argv[1];
    cfg.lobby = argv[2];
    cfg.rtc.bind_address = "127.0.0.1";
    pm_signal_client *c;
    if (pm_signal_client_new(&cfg, &c) != PM_OK) {
        printf("RESULT fail cannot start the signaling client\n");
        return 1;
    }
    int connected = 0;
    bool ready = false, sent = false, reported = false, one_left = false;
    const char *why = NULL;
    while (!why && time(NULL) < deadline) {
        pm_signal_client_poll(c);
        pm_signal_event sev;
        while (pm_signal_client_next_event(c, &sev)) {
            if (sev.type == PM_SIGNAL_EVENT_ID)
                printf("ID N %d\n", (int)sev.peer_id);
            else if (sev.type == PM_SIGNAL_EVENT_CLOSED)
                printf("LOG signaling closed %d %s\n", sev.close_code, sev.reason);
        }
        pm_multiplayer *mp = pm_signal_client_multiplayer(c);
        if (!mp) {
            usleep(2000);
            continue;
        }
        pm_mp_event ev;
        while (pm_mp_next_event(mp, &ev)) {
            if (ev.type == PM_MP_EVENT_PEER_CONNECTED) {
                connected++;
                printf("LOG connected %d\n", (int)ev.peer_id);
            } else if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED) {
                connected--;
                printf("GONE %d\n", (int)ev.peer_id);
                one_left |= ev.peer_id == 1;
            }
        }
        pm_mp_packet p;
        while (pm_mp_get_packet(mp, &p) == PM_OK) {
            if (p.len >= 1 && p.data[0] == CMD_REMOTE_CALL) {
                on_rpc(&p);
            } else if (p.len >= 10 && p.data[0] == CMD_RAW &&
                       (p.data[1] == 'U' || p.data[1] == 'V')) {
                counter *k = counter_for(p.from);
                if (k)
                    k->unrel[p.data[1] - 'U']++;
            }
        }
        if (!ready && connected >= want) {
            ready = true;
            printf("READY\n");
        }
        if (ready && !sent && gate(gates, "send")) {
            send_burst(c, mp, pm_mp_get_unique_id(mp), burst);
            sent = true;
            printf("SENT\n");
        }
        if (sent && !reported && gate(gates, "report")) {
            for (int i = 0; i < MAX_PEERS && counters[i].id; i++)
                printf("UNREL %d %d %d\n", (int)counters[i].id, counters[i].unrel[0],
                       counters[i].unrel[1]);
            reported = true;
        }
        if (reported && one_left)
            why = "ok";
        usleep(1000);
    }
    if (!why)
        printf("RESULT fail timeout (ready %d sent %d reported %d peer 1 left %d)\n", ready, sent,
               reported, one_left);
    else
        printf("RESULT ok\n");
    pm_signal_client_free(c);
    return why ? 0 : 1;
}
