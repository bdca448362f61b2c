/*
 * Helpers shared by the ENet integration tests: a multiplayer peer plus a
 * record of what it received, and pumping several of them on loopback until
 * a condition holds or a deadline passes. Header-only (static inline) so
 * each test executable stays self-contained.
 */
#ifndef PM_ENET_TESTNODE_H
#define PM_ENET_TESTNODE_H

#include "testutil.h"

#include "peermesh/enet.h"

#include <string.h>
#include <time.h>

#define TN_MAX_EVENTS  256
#define TN_MAX_PACKETS 512
#define TN_DATA        64

typedef struct tn_packet {
    int32_t from;
    int channel;
    pm_mp_transfer_mode mode;
    size_t len;
    uint8_t data[TN_DATA];
} tn_packet;

typedef struct tn_node {
    pm_enet *e;
    pm_multiplayer *mp;
    pm_mp_event ev[TN_MAX_EVENTS];
    size_t nev;
    tn_packet rx[TN_MAX_PACKETS];
    size_t nrx;
} tn_node;

static inline void tn_sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static inline void tn_init(tn_node *n, pm_enet_format fmt)
{
    memset(n, 0, sizeof *n);
    pm_enet_config cfg;
    pm_enet_config_default(&cfg);
    cfg.format = fmt;
    cfg.bind_ip = "127.0.0.1";
    assert_int_equal(pm_enet_new(&cfg, &n->e), PM_OK);
    n->mp = pm_enet_multiplayer(n->e);
    assert_non_null(n->mp);
}

static inline void tn_free(tn_node *n)
{
    pm_enet_free(n->e);
    n->e = NULL;
    n->mp = NULL;
}

static inline void tn_poll(tn_node *n)
{
    if (!n->e)
        return;
    assert_int_equal(pm_mp_poll(n->mp), PM_OK);
    pm_mp_event ev;
    while (pm_mp_next_event(n->mp, &ev)) {
        assert_true(n->nev < TN_MAX_EVENTS);
        n->ev[n->nev++] = ev;
    }
    pm_mp_packet p;
    while (pm_mp_get_packet(n->mp, &p) == PM_OK) {
        assert_true(n->nrx < TN_MAX_PACKETS);
        tn_packet *t = &n->rx[n->nrx++];
        t->from = p.from;
        t->channel = p.channel;
        t->mode = p.mode;
        t->len = p.len;
        assert_non_null(p.data); /* even for an empty packet */
        if (p.len)
            memcpy(t->data, p.data, p.len < TN_DATA ? p.len : TN_DATA);
    }
}

/*
 * ENet's packet throttle drops unreliable packets when round trips vary,
 * which they do on a loaded 2-core machine or under ASan. The tests check
 * where unreliable packets go, not how ENet paces them: never decelerate.
 */
static inline void tn_no_throttle(pm_enet_packet_peer *pp)
{
    assert_non_null(pp);
    pm_enet_packet_peer_throttle_configure(pp, 5000, 2, 0);
}

typedef bool (*tn_cond)(tn_node *nodes, size_t n, void *ud);

/* Poll every node until cond holds (true) or timeout_ms passes (false). */
static inline bool tn_pump(tn_node *nodes, size_t n, tn_cond cond, void *ud, int timeout_ms)
{
    pm_time deadline = pm_now() + PM_MS(timeout_ms);
    for (;;) {
        for (size_t i = 0; i < n; i++)
            tn_poll(&nodes[i]);
        if (cond && cond(nodes, n, ud))
            return true;
        if (pm_now() >= deadline)
            return false;
        tn_sleep_us(200);
    }
}

/* Poll for a fixed time (to let packets that must NOT arrive have their chance). */
static inline void tn_settle(tn_node *nodes, size_t n, int ms)
{
    (void)tn_pump(nodes, n, NULL, NULL, ms);
}

static inline size_t tn_count_events(const tn_node *n, pm_mp_event_type type, int32_t peer)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nev; i++)
        if (n->ev[i].type == type && (peer == 0 || n->ev[i].peer_id == peer))
            c++;
    return c;
}

static inline size_t tn_count_rx(const tn_node *n, int32_t from, const char *text)
{
    size_t c = 0, len = strlen(text);
    for (size_t i = 0; i < n->nrx; i++)
        if ((from == 0 || n->rx[i].from == from) && n->rx[i].len == len &&
            memcmp(n->rx[i].data, text, len) == 0)
            c++;
    return c;
}

static inline void tn_clear(tn_node *n)
{
    n->nev = 0;
    n->nrx = 0;
}

static inline int tn_send(tn_node *n, int32_t target, pm_mp_transfer_mode mode, int channel,
                          const char *text)
{
    pm_mp_set_target_peer(n->mp, target);
    pm_mp_set_transfer_mode(n->mp, mode);
    pm_mp_set_transfer_channel(n->mp, channel);
    return pm_mp_put_packet(n->mp, (const uint8_t *)text, strlen(text));
}

#endif
