/* Helpers to connect two sans-I/O peer connections in tests. */
#ifndef PM_RTCPAIR_H
#define PM_RTCPAIR_H

#include "simnet.h"

typedef struct pm_test_pair {
    pm_env env[2];
    pm_rtc_peer *pc[2];
    pm_addr addr[2];
    pm_simnet *net;
    int ep[2]; /* the peers' simnet endpoints */
    /* Channels seen per side (created locally or received), by label. */
    pm_rtc_channel *chans[2][16];
    int nchans[2];
    int opens[2];
    int closes[2];
    int states[2][8]; /* count of STATE events per value */
    bool failed[2];
    bool signal_paused; /* hold signaling messages (to test early checks) */
    /* Release every channel announced by DATA_CHANNEL at once (as the mesh's
     * signaling client does), remembering the handles; count events that
     * still name one of them afterwards. */
    bool release_announced[2];
    pm_rtc_channel *released[2][16];
    int nreleased[2];
    int named_released[2];
} pm_test_pair;

/** Two sans-I/O peers on a simnet at 127.0.0.1:5001 and 127.0.0.2:5002. */
void pm_test_pair_init(pm_test_pair *p, uint64_t seed, const pm_sim_link *link);
/** The same, with each side's configuration adjusted by tweak() before the peer is made. */
void pm_test_pair_init_with(pm_test_pair *p, uint64_t seed, const pm_sim_link *link,
                            void (*tweak)(pm_rtc_config *cfg, int side, void *ud), void *ud);
void pm_test_pair_free(pm_test_pair *p);
/** Drain both peers' events and relay signaling between them. */
void pm_test_pair_pump(pm_test_pair *p);
/** Step the network and pump until cond(p, ud) or virtual `timeout` passes. */
bool pm_test_pair_run(pm_test_pair *p, bool (*cond)(pm_test_pair *, void *), void *ud,
                      pm_time timeout);
/** Find a channel of side s by label. */
pm_rtc_channel *pm_test_pair_channel(pm_test_pair *p, int s, const char *label);

#endif
