/* Simulated lossy network on the virtual clock (see simnet.h). */
#include "simnet.h"

#include <stdlib.h>

#define MAX_ENDPOINTS 256 /* endpoints are never removed: a mesh that churns keeps adding */

typedef struct sim_ep {
    void *ep;
    const pm_sim_ops *ops;
    pm_addr addr;
} sim_ep;

typedef struct sim_pkt {
    pm_time at;
    uint64_t seq; /* FIFO tie-break for equal times */
    int dst;
    pm_addr from;
    size_t len;
    uint8_t *data;
} sim_pkt;

struct pm_simnet {
    uint64_t rng;
    pm_sim_link link;
    sim_ep eps[MAX_ENDPOINTS];
    int n_eps;
    sim_pkt *q; /* binary min-heap on (at, seq) */
    size_t qn, qcap;
    uint64_t seq;
    pm_sim_stats st;
};

static int rtc_dgram(void *ep, pm_time now, const pm_addr *l, const pm_addr *f, const uint8_t *d,
                     size_t n)
{
    return pm_rtc_peer_handle_datagram(ep, now, l, f, d, n);
}
static int rtc_timeout(void *ep, pm_time now)
{
    return pm_rtc_peer_handle_timeout(ep, now);
}
static bool rtc_tx(void *ep, pm_rtc_transmit *out)
{
    return pm_rtc_peer_poll_transmit(ep, out);
}
static pm_time rtc_next(const void *ep)
{
    return pm_rtc_peer_next_timeout(ep);
}
static const pm_sim_ops rtc_ops = {rtc_dgram, rtc_timeout, rtc_tx, rtc_next};

pm_simnet *pm_simnet_new(uint64_t seed, const pm_sim_link *link)
{
    pm_simnet *net = calloc(1, sizeof *net);
    net->rng = seed ? seed : 1;
    if (link)
        net->link = *link;
    pm_test_clock_virtual = true;
    return net;
}

void pm_simnet_free(pm_simnet *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->qn; i++)
        free(net->q[i].data);
    free(net->q);
    free(net);
    pm_test_clock_virtual = false;
}

void pm_simnet_set_link(pm_simnet *net, const pm_sim_link *link)
{
    net->link = *link;
}

int pm_simnet_add(pm_simnet *net, void *ep, const pm_sim_ops *ops, const pm_addr *addr)
{
    assert_true(net->n_eps < MAX_ENDPOINTS);
    net->eps[net->n_eps] = (sim_ep){ep, ops, *addr};
    return net->n_eps++;
}

void pm_simnet_move(pm_simnet *net, int idx, const pm_addr *addr)
{
    assert_true(idx >= 0 && idx < net->n_eps);
    net->eps[idx].addr = *addr;
}

int pm_simnet_add_peer(pm_simnet *net, pm_rtc_peer *pc, const pm_addr *addr)
{
    return pm_simnet_add(net, pc, &rtc_ops, addr);
}

pm_sim_stats pm_simnet_stats(const pm_simnet *net)
{
    return net->st;
}

static double uniform(pm_simnet *net)
{
    return (double)(pm_test_rand(&net->rng) >> 11) / (double)(1ull << 53);
}

static bool pkt_less(const sim_pkt *a, const sim_pkt *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(pm_simnet *net, sim_pkt p)
{
    if (net->qn == net->qcap) {
        net->qcap = net->qcap ? net->qcap * 2 : 256;
        net->q = realloc(net->q, net->qcap * sizeof *net->q);
    }
    size_t i = net->qn++;
    net->q[i] = p;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pkt_less(&net->q[i], &net->q[parent]))
            break;
        sim_pkt t = net->q[i];
        net->q[i] = net->q[parent];
        net->q[parent] = t;
        i = parent;
    }
}

static sim_pkt heap_pop(pm_simnet *net)
{
    sim_pkt top = net->q[0];
    net->q[0] = net->q[--net->qn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < net->qn && pkt_less(&net->q[l], &net->q[m]))
            m = l;
        if (r < net->qn && pkt_less(&net->q[r], &net->q[m]))
            m = r;
        if (m == i)
            break;
        sim_pkt t = net->q[i];
        net->q[i] = net->q[m];
        net->q[m] = t;
        i = m;
    }
    return top;
}

static int find_ep(const pm_simnet *net, const pm_addr *a)
{
    for (int i = 0; i < net->n_eps; i++)
        if (pm_addr_equal(&net->eps[i].addr, a))
            return i;
    return -1;
}

static void schedule(pm_simnet *net, int src, const pm_rtc_transmit *t)
{
    net->st.sent++;
    /* An endpoint attached at several addresses (a TURN server and its
     * relayed addresses) sends from the one it names. */
    const pm_addr *src_addr = &net->eps[src].addr;
    int named = t->from.family ? find_ep(net, &t->from) : -1;
    if (named >= 0 && net->eps[named].ep == net->eps[src].ep)
        src_addr = &net->eps[named].addr;
    int dst = find_ep(net, &t->to);
    if (dst < 0) {
        net->st.lost++;
        return;
    }
    if (net->link.mtu && t->len > net->link.mtu) {
        net->st.too_big++;
        return;
    }
    if (uniform(net) < net->link.loss) {
        net->st.lost++;
        return;
    }
    int copies = uniform(net) < net->link.duplicate ? 2 : 1;
    net->st.duplicated += (uint64_t)(copies - 1);
    for (int c = 0; c < copies; c++) {
        pm_time span = net->link.delay_max - net->link.delay_min;
        pm_time d = net->link.delay_min + (span > 0 ? (pm_time)(uniform(net) * (double)span) : 0);
        sim_pkt p = {pm_test_clock_now + d,      net->seq++, dst, *src_addr, t->len,
                     malloc(t->len ? t->len : 1)};
        memcpy(p.data, t->data, t->len);
        heap_push(net, p);
    }
}

static void collect(pm_simnet *net)
{
    for (int i = 0; i < net->n_eps; i++) {
        pm_rtc_transmit t;
        while (net->eps[i].ops->poll_transmit(net->eps[i].ep, &t))
            schedule(net, i, &t);
    }
}

bool pm_simnet_step(pm_simnet *net, pm_time limit)
{
    collect(net);
    pm_time next = PM_TIME_NEVER;
    if (net->qn)
        next = net->q[0].at;
    for (int i = 0; i < net->n_eps; i++)
        next = PM_MIN(next, net->eps[i].ops->next_timeout(net->eps[i].ep));
    if (next > limit) {
        pm_test_clock_now = PM_MAX(pm_test_clock_now, limit);
        return false;
    }
    if (next > pm_test_clock_now)
        pm_test_clock_now = next;
    pm_time now = pm_test_clock_now;
    while (net->qn && net->q[0].at <= now) {
        sim_pkt p = heap_pop(net);
        sim_ep *e = &net->eps[p.dst];
        net->st.delivered++;
        e->ops->handle_datagram(e->ep, now, &e->addr, &p.from, p.data, p.len);
        free(p.data);
    }
    for (int i = 0; i < net->n_eps; i++)
        if (net->eps[i].ops->next_timeout(net->eps[i].ep) <= now)
            net->eps[i].ops->handle_timeout(net->eps[i].ep, now);
    collect(net);
    return true;
}
