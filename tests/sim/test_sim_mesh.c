/*
 * Simulation: an 8-node mesh (28 links, 56 sans-I/O peer connections) in one
 * process over a simulated lossy network on a virtual clock (5 % loss, 1 %
 * duplication, 5-25 ms jittered delay). Every link must connect; then every
 * node sends broadcast, exclude-one and targeted packets on each default
 * channel and on one extra channel. Each packet says who sent it, how and to
 * whom, so receivers check the sender id, channel, mode and addressing; the
 * reliable ones must all arrive, in order per sender; the unreliable ones
 * must never be duplicated, each one is either delivered or counted as
 * abandoned by the sender's statistics, and the unreliable-ordered ones
 * never arrive older than one already delivered from the same sender.
 */
#include "multiplayer/mesh_internal.h"
#include "sctp/sctp.h"
#include "simnet.h"

#include <stdio.h>
#include <string.h>

#define NODES         8
#define PER_KIND      12 /* packets per node per (kind, channel) */
#define CONNECT_LIMIT PM_SEC(30)
#define DELIVER_LIMIT PM_SEC(60)

enum { KIND_BROADCAST = 0, KIND_EXCLUDE, KIND_TARGETED, KIND_COUNT };
enum { CH_R = 0, CH_O, CH_U, CH_X, CH_COUNT }; /* reliable, ordered, unreliable, extra 1 */

typedef struct node {
    pm_mesh *mesh;
    pm_multiplayer *mp;
    pm_env env;
    int connected_events;
    int other_events;
    pm_mp_event log[64]; /* every event, in order */
    int nlog;
    /* received[from][channel]: count; last reliable sequence per sender */
    int received[NODES + 1][CH_COUNT];
    int next_seq[NODES + 1][CH_COUNT][KIND_COUNT];
    /* unreliable ordered: send position (seq, kind) of the last packet per sender */
    int last_pos[NODES + 1];
    uint8_t seen[NODES + 1][CH_COUNT][KIND_COUNT][PER_KIND * NODES];
    int bad;
} node;

typedef struct endpoint {
    int node, peer;
} endpoint;

typedef struct sim {
    pm_simnet *net;
    endpoint ep[NODES + 1][NODES + 1];
    node nodes[NODES + 1]; /* 1-based: node id = index */
    pm_env conn_env[NODES + 1][NODES + 1];
    pm_addr addr[NODES + 1][NODES + 1];
    int sent[NODES + 1][NODES + 1][CH_COUNT]; /* sender, receiver, channel */
} sim;

static sim S;

static const pm_mp_transfer_mode EXTRA[] = {PM_MP_TRANSFER_RELIABLE};

/* The two runs: Godot 4 create_mesh with an extra channel and Godot's 1 ms
 * lifetime at 5 % loss; Godot 3.2 initialize(id, true) (node 1 the server,
 * no extra channels in 3.2) with 100 ms lifetimes at 10 % loss. */
typedef struct sim_cfg {
    bool legacy;
    int lifetime;
    double loss;
    uint64_t seed;
} sim_cfg;
static sim_cfg CFG;

/* ---- set-up and signaling ------------------------------------------------------ */

static pm_rtc_peer *connection(int self, int other)
{
    pm_mesh_peer_info info;
    if (pm_mesh_get_peer(S.nodes[self].mesh, other, &info) != PM_OK)
        return NULL;
    return info.connection;
}

static const pm_sim_ops EP_OPS;

static void make_connection(int i, int j)
{
    pm_test_env(&S.conn_env[i][j], (uint64_t)(i * 100 + j));
    char ip[32];
    snprintf(ip, sizeof ip, "127.%d.%d.1", i, j);
    assert_int_equal(pm_addr_parse(&S.addr[i][j], ip, 5000), PM_OK);
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = &S.conn_env[i][j];
    cfg.external_transport = true;
    cfg.local_addrs = &S.addr[i][j];
    cfg.local_addr_count = 1;
    pm_rtc_peer *pc = NULL;
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_OK);
    assert_int_equal(pm_mesh_add_peer(S.nodes[i].mesh, pc, j, CFG.lifetime), PM_OK);
    /* The mesh owns the connection now and frees it when the peer leaves, so
     * the network reaches it through the mesh, by (node, peer id). */
    S.ep[i][j] = (endpoint){i, j};
    pm_simnet_add(S.net, &S.ep[i][j], &EP_OPS, &S.addr[i][j]);
}

static int ep_datagram(void *ep, pm_time now, const pm_addr *local, const pm_addr *from,
                       const uint8_t *data, size_t len)
{
    const endpoint *e = ep;
    pm_rtc_peer *pc = connection(e->node, e->peer);
    return pc ? pm_rtc_peer_handle_datagram(pc, now, local, from, data, len) : PM_OK;
}
static int ep_timeout(void *ep, pm_time now)
{
    const endpoint *e = ep;
    pm_rtc_peer *pc = connection(e->node, e->peer);
    return pc ? pm_rtc_peer_handle_timeout(pc, now) : PM_OK;
}
static bool ep_transmit(void *ep, pm_rtc_transmit *out)
{
    const endpoint *e = ep;
    pm_rtc_peer *pc = connection(e->node, e->peer);
    return pc && pm_rtc_peer_poll_transmit(pc, out);
}
static pm_time ep_next(const void *ep)
{
    const endpoint *e = ep;
    pm_rtc_peer *pc = connection(e->node, e->peer);
    return pc ? pm_rtc_peer_next_timeout(pc) : PM_TIME_NEVER;
}
static const pm_sim_ops EP_OPS = {ep_datagram, ep_timeout, ep_transmit, ep_next};

/* Relay every connection's signaling to its counterpart (what a signaling server does). */
static void pump_signaling(void)
{
    for (int i = 1; i <= NODES; i++)
        for (int j = 1; j <= NODES; j++) {
            if (i == j)
                continue;
            pm_rtc_peer *pc = connection(i, j);
            if (!pc)
                continue;
            pm_rtc_event ev;
            while (pm_rtc_peer_next_event(pc, &ev)) {
                pm_rtc_peer *other = connection(j, i);
                if (ev.type == PM_RTC_EVENT_DESCRIPTION && other)
                    assert_int_equal(pm_rtc_peer_set_remote_description(other, ev.sdp_type, ev.sdp),
                                     PM_OK);
                else if (ev.type == PM_RTC_EVENT_CANDIDATE && other)
                    assert_int_equal(
                        pm_rtc_peer_add_ice_candidate(other, ev.mid, ev.mline_index, ev.candidate),
                        PM_OK);
            }
        }
}

/* ---- packets ---------------------------------------------------------------------- */

/* [sender][channel][kind][target i32][seq u16][size u16] then a pattern. */
#define HDR 11

static size_t packet_size(int seq, int ch)
{
    /* Lossy channels stay within one SCTP packet (our stack sends larger ones reliably). */
    static const size_t lossy[] = {HDR, 64, 400, 1100};
    static const size_t reliable[] = {HDR, 300, 1200, 5000};
    return ch == CH_O || ch == CH_U ? lossy[seq % 4] : reliable[seq % 4];
}

static void build(uint8_t *b, int sender, int ch, int kind, int32_t target, int seq, size_t n)
{
    b[0] = (uint8_t)sender;
    b[1] = (uint8_t)ch;
    b[2] = (uint8_t)kind;
    pm_wr32(b + 3, (uint32_t)target);
    pm_wr16(b + 7, (uint16_t)seq);
    pm_wr16(b + 9, (uint16_t)n);
    for (size_t k = HDR; k < n; k++)
        b[k] = (uint8_t)(seq * 7 + k + sender);
}

static const pm_mp_transfer_mode CH_MODE[CH_COUNT] = {
    PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED, PM_MP_TRANSFER_UNRELIABLE,
    PM_MP_TRANSFER_RELIABLE};

static void send_all(int i)
{
    node *n = &S.nodes[i];
    static uint8_t buf[8192];
    for (int seq = 0; seq < PER_KIND; seq++)
        for (int ch = 0; ch < (CFG.legacy ? CH_X : CH_COUNT); ch++)
            for (int kind = 0; kind < KIND_COUNT; kind++) {
                /* exclude the next node; target the previous one, rotating */
                int next = i % NODES + 1, rot = (i + seq) % NODES + 1;
                int32_t target = kind == KIND_BROADCAST ? 0 : kind == KIND_EXCLUDE ? -next : rot;
                if (kind == KIND_TARGETED && rot == i)
                    target = next;
                size_t len = packet_size(seq, ch);
                build(buf, i, ch, kind, target, seq, len);
                pm_mp_set_target_peer(n->mp, target);
                pm_mp_set_transfer_mode(n->mp, CH_MODE[ch]);
                pm_mp_set_transfer_channel(n->mp, ch == CH_X ? 1 : 0);
                assert_int_equal(pm_mp_put_packet(n->mp, buf, len), PM_OK);
                for (int j = 1; j <= NODES; j++)
                    if (j != i && (target == 0 || (target < 0 && j != -target) || target == j))
                        S.sent[i][j][ch]++;
            }
}

static void check_packet(int self, const pm_mp_packet *p)
{
    node *n = &S.nodes[self];
    const uint8_t *d = p->data;
    if (p->len < HDR) {
        n->bad++;
        return;
    }
    int sender = d[0], ch = d[1], kind = d[2], seq = pm_rd16(d + 7);
    int32_t target = (int32_t)pm_rd32(d + 3);
    bool ok = sender == p->from && ch < CH_COUNT && kind < KIND_COUNT && seq < PER_KIND &&
              pm_rd16(d + 9) == p->len && p->len == packet_size(seq, ch) &&
              p->mode == CH_MODE[ch] && p->channel == (ch == CH_X ? 1 : 0) &&
              (target == 0 || (target < 0 && -target != self) || target == self);
    for (size_t k = HDR; ok && k < p->len; k++)
        ok = d[k] == (uint8_t)(seq * 7 + k + sender);
    if (!ok) {
        n->bad++;
        return;
    }
    uint8_t *seen = &n->seen[sender][ch][kind][seq];
    if (*seen) {
        n->bad++; /* a duplicate */
        return;
    }
    *seen = 1;
    /* Ordered reliable channels deliver in send order (per kind here, since
     * the kinds interleave on one stream; a per-stream order implies it). */
    if (ch == CH_R || ch == CH_X) {
        int *next = &n->next_seq[sender][ch][kind];
        if (kind == KIND_TARGETED) {
            if (seq < *next)
                n->bad++;
        } else if (seq != *next) {
            n->bad++;
        }
        *next = seq + 1;
    }
    /* Unreliable ordered: losses allowed, going backwards never. A sender's
     * packets on a channel leave in (seq, kind) order (send_all), so their
     * send positions must only grow. */
    if (ch == CH_O) {
        int pos = seq * KIND_COUNT + kind;
        if (pos <= n->last_pos[sender])
            n->bad++;
        n->last_pos[sender] = pos;
    }
    n->received[sender][ch]++;
}

/* ---- driving ----------------------------------------------------------------------- */

static void drive_nodes(void)
{
    pump_signaling();
    for (int i = 1; i <= NODES; i++) {
        node *n = &S.nodes[i];
        assert_int_equal(pm_mp_poll(n->mp), PM_OK);
        pm_mp_event ev;
        while (pm_mp_next_event(n->mp, &ev)) {
            if (n->nlog < 64)
                n->log[n->nlog++] = ev;
            if (ev.type == PM_MP_EVENT_PEER_CONNECTED)
                n->connected_events++;
            else
                n->other_events++;
        }
        pm_mp_packet p;
        while (pm_mp_get_packet(n->mp, &p) == PM_OK)
            check_packet(i, &p);
    }
    pump_signaling();
}

static bool all_connected(void)
{
    for (int i = 1; i <= NODES; i++)
        if (S.nodes[i].connected_events < NODES - 1)
            return false;
    return true;
}

static bool all_reliable_delivered(void)
{
    for (int i = 1; i <= NODES; i++)
        for (int j = 1; j <= NODES; j++)
            if (i != j && (S.nodes[j].received[i][CH_R] < S.sent[i][j][CH_R] ||
                           S.nodes[j].received[i][CH_X] < S.sent[i][j][CH_X]))
                return false;
    return true;
}

static bool run_until(bool (*cond)(void), pm_time span)
{
    pm_time limit = pm_test_clock_now + span;
    for (long iter = 0; iter < 20000000; iter++) {
        drive_nodes();
        if (cond())
            return true;
        if (!pm_simnet_step(S.net, limit)) {
            drive_nodes();
            return cond();
        }
    }
    return false;
}

/* 3.2 server compatibility: a client hears of nobody until the server is up,
 * then PEER_CONNECTED(1), CONNECTION_SUCCEEDED, then the others. */
static void check_connect_events(void)
{
    for (int i = 1; i <= NODES; i++) {
        node *n = &S.nodes[i];
        int k = 0;
        if (CFG.legacy && i != 1) {
            assert_true(n->nlog >= 2);
            assert_int_equal(n->log[0].type, PM_MP_EVENT_PEER_CONNECTED);
            assert_int_equal(n->log[0].peer_id, 1);
            assert_int_equal(n->log[1].type, PM_MP_EVENT_CONNECTION_SUCCEEDED);
            k = 2;
        }
        bool seen[NODES + 1] = {false};
        for (; k < n->nlog; k++) {
            assert_int_equal(n->log[k].type, PM_MP_EVENT_PEER_CONNECTED);
            int32_t id = n->log[k].peer_id;
            assert_true(id >= 1 && id <= NODES && id != i && !seen[id]);
            seen[id] = true;
        }
        assert_int_equal(n->connected_events, NODES - 1);
        assert_int_equal(n->other_events, CFG.legacy && i != 1 ? 1 : 0);
        assert_int_equal(pm_mp_get_connection_status(n->mp), PM_MP_CONNECTED);
    }
}

static void run_mesh_of_eight(void)
{
    memset(&S, 0, sizeof S);
    pm_sim_link link = {.loss = CFG.loss,
                        .duplicate = 0.01,
                        .delay_min = PM_MS(5),
                        .delay_max = PM_MS(25),
                        .mtu = 1400};
    S.net = pm_simnet_new(CFG.seed, &link);
    for (int i = 1; i <= NODES; i++) {
        node *n = &S.nodes[i];
        for (int j = 0; j <= NODES; j++)
            n->last_pos[j] = -1;
        pm_test_env(&n->env, (uint64_t)(9000 + i));
        pm_mesh_config cfg;
        pm_mesh_config_default(&cfg);
        cfg.env = &n->env;
        assert_int_equal(pm_mesh_new(&cfg, &n->mesh), PM_OK);
        n->mp = pm_mesh_multiplayer(n->mesh);
        if (CFG.legacy)
            assert_int_equal(pm_mesh_initialize(n->mesh, i, true), PM_OK);
        else
            assert_int_equal(pm_mesh_create_mesh(n->mesh, i, EXTRA, 1), PM_OK);
    }
    for (int i = 1; i <= NODES; i++)
        for (int j = 1; j <= NODES; j++)
            if (i != j)
                make_connection(i, j);
    /* The lower id offers (as Godot's signaling demo). */
    for (int i = 1; i <= NODES; i++)
        for (int j = i + 1; j <= NODES; j++)
            assert_int_equal(pm_rtc_peer_create_offer(connection(i, j)), PM_OK);

    pm_time t0 = pm_test_clock_now;
    bool connected = run_until(all_connected, CONNECT_LIMIT);
    int links = 0;
    for (int i = 1; i <= NODES; i++) {
        for (int j = i + 1; j <= NODES; j++) {
            pm_mesh_peer_info a, b;
            assert_int_equal(pm_mesh_get_peer(S.nodes[i].mesh, j, &a), PM_OK);
            assert_int_equal(pm_mesh_get_peer(S.nodes[j].mesh, i, &b), PM_OK);
            links += a.connected && b.connected;
        }
    }
    printf("# %d of 28 links connected after %.1f virtual s\n", links,
           (double)(pm_test_clock_now - t0) / 1e6);
    assert_true(connected);
    assert_int_equal(links, NODES * (NODES - 1) / 2);
    check_connect_events();

    for (int i = 1; i <= NODES; i++)
        send_all(i);
    t0 = pm_test_clock_now;
    bool delivered = run_until(all_reliable_delivered, DELIVER_LIMIT);
    /* Let the lossy channels settle: everything is delivered or abandoned. */
    pm_time settle = pm_test_clock_now + PM_SEC(3);
    while (pm_simnet_step(S.net, settle))
        drive_nodes();
    drive_nodes();

    long lossy_sent = 0, lossy_received = 0, abandoned = 0;
    for (int i = 1; i <= NODES; i++) {
        assert_int_equal(S.nodes[i].bad, 0);
        for (int j = 1; j <= NODES; j++) {
            if (i == j)
                continue;
            node *rx = &S.nodes[j];
            assert_int_equal(rx->received[i][CH_R], S.sent[i][j][CH_R]);
            assert_int_equal(rx->received[i][CH_X], S.sent[i][j][CH_X]);
            int lossy = rx->received[i][CH_O] + rx->received[i][CH_U];
            int sent = S.sent[i][j][CH_O] + S.sent[i][j][CH_U];
            assert_true(lossy <= sent);
            pm_mesh_peer_stats st;
            assert_int_equal(pm_mesh_get_peer_stats(S.nodes[i].mesh, j, &st), PM_OK);
            /* Every lossy message was delivered or abandoned by the sender. */
            assert_true((uint64_t)lossy + st.unreliable_abandoned >= (uint64_t)sent);
            assert_true(st.rtt > 0);
            pm_mesh_peer_stats rst;
            assert_int_equal(pm_mesh_get_peer_stats(rx->mesh, i, &rst), PM_OK);
            assert_int_equal(rst.packets_received,
                             (uint64_t)(rx->received[i][CH_R] + rx->received[i][CH_X] + lossy));
            lossy_sent += sent;
            lossy_received += lossy;
            abandoned += (long)st.unreliable_abandoned;
        }
    }
    pm_sim_stats ns = pm_simnet_stats(S.net);
    printf("# reliable delivered after %.1f virtual s; lossy %ld/%ld delivered, %ld abandoned; "
           "network: %llu sent, %llu lost\n",
           (double)(pm_test_clock_now - t0) / 1e6, lossy_received, lossy_sent, abandoned,
           (unsigned long long)ns.sent, (unsigned long long)ns.lost);
    assert_true(delivered);
    /* With 100 ms lifetimes most lossy packets arrive. With Godot's 1 ms,
     * a message still queued when its lifetime ends is abandoned unsent (as
     * Chrome does, and RFC 3758 section 4 and the W3C maxPacketLifeTime
     * allow) by our SCTP, so of this burst, far larger than the initial
     * congestion window, only the first part arrives; usrsctp abandons
     * only what it sent and lost, and delivers most. */
    bool strict = CFG.lifetime < 100 && strcmp(pm_sctp_implementation(), "usrsctp") != 0;
    assert_true(lossy_received > (strict ? lossy_sent / 10 : lossy_sent / 2));

    /* A node leaves: every other node sees it go (its connections close). */
    pm_mesh_close(S.nodes[NODES].mesh);
    pm_time leave = pm_test_clock_now + PM_SEC(15);
    while (pm_simnet_step(S.net, leave))
        drive_nodes();
    drive_nodes();
    for (int i = 1; i < NODES; i++) {
        assert_false(pm_mesh_has_peer(S.nodes[i].mesh, NODES));
        node *n = &S.nodes[i];
        assert_int_equal(n->other_events, CFG.legacy && i != 1 ? 2 : 1);
        assert_int_equal(n->log[n->nlog - 1].type, PM_MP_EVENT_PEER_DISCONNECTED);
        assert_int_equal(n->log[n->nlog - 1].peer_id, NODES);
    }
    for (int i = 1; i <= NODES; i++)
        pm_mesh_free(S.nodes[i].mesh);
    pm_simnet_free(S.net);
}

static void test_mesh_of_eight(void **state)
{
    (void)state;
    CFG = (sim_cfg){
        .legacy = false, .lifetime = PM_MESH_LIFETIME_DEFAULT, .loss = 0.05, .seed = 4242};
    run_mesh_of_eight();
}

static void test_mesh_of_eight_server_compat(void **state)
{
    (void)state;
    CFG = (sim_cfg){.legacy = true, .lifetime = 100, .loss = 0.10, .seed = 777};
    run_mesh_of_eight();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mesh_of_eight),
        cmocka_unit_test(test_mesh_of_eight_server_compat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
