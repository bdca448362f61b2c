/*
 * A simulated network for sans-I/O peers: one virtual clock
 * (pm_test_clock_now), seeded loss, duplication, delay and reordering, and
 * an MTU. Endpoints are anything with the four sans-I/O entry points, so the
 * same network carries peer connections today and mesh peers later.
 */
#ifndef PM_SIMNET_H
#define PM_SIMNET_H

#include "peermesh/rtc.h"
#include "testutil.h"

typedef struct pm_sim_ops {
    int (*handle_datagram)(void *ep, pm_time now, const pm_addr *local, const pm_addr *from,
                           const uint8_t *data, size_t len);
    int (*handle_timeout)(void *ep, pm_time now);
    bool (*poll_transmit)(void *ep, pm_rtc_transmit *out);
    pm_time (*next_timeout)(const void *ep);
} pm_sim_ops;

typedef struct pm_sim_link {
    double loss;       /* probability a datagram is dropped */
    double duplicate;  /* probability a datagram is delivered twice */
    pm_time delay_min; /* one-way delay range; jitter reorders */
    pm_time delay_max;
    size_t mtu; /* larger datagrams are dropped (0 = no limit) */
} pm_sim_link;

typedef struct pm_simnet pm_simnet;

pm_simnet *pm_simnet_new(uint64_t seed, const pm_sim_link *link);
void pm_simnet_free(pm_simnet *net);
/** Attach an endpoint reachable at addr. Returns its index. */
int pm_simnet_add(pm_simnet *net, void *ep, const pm_sim_ops *ops, const pm_addr *addr);
/**
 * Give endpoint `idx` a new address, as a NAT that lost its mapping would:
 * it sends from there from now on, and what is sent to the old one is lost.
 */
void pm_simnet_move(pm_simnet *net, int idx, const pm_addr *addr);
/** Attach a pm_rtc_peer created with external_transport. */
int pm_simnet_add_peer(pm_simnet *net, pm_rtc_peer *pc, const pm_addr *addr);
/** Change the link model (e.g. raise loss after connecting). */
void pm_simnet_set_link(pm_simnet *net, const pm_sim_link *link);
/**
 * Advance: collect output, move the clock to the next event (not past
 * `limit`), deliver due datagrams, run due timers. Returns false when the
 * clock reached `limit` with nothing left to do before it.
 */
bool pm_simnet_step(pm_simnet *net, pm_time limit);
/** Counters. */
typedef struct pm_sim_stats {
    uint64_t sent, delivered, lost, duplicated, too_big;
} pm_sim_stats;
pm_sim_stats pm_simnet_stats(const pm_simnet *net);

#endif
