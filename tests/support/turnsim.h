/*
 * A small sans-I/O TURN server (RFC 8656) for tests on the virtual clock:
 * long-term credentials with a nonce, Allocate/Refresh/CreatePermission/
 * ChannelBind, Send and Data indications, ChannelData, permissions enforced
 * on both directions, allocation lifetimes, UDP clients and stream clients
 * (TCP framing with padding). Faults on request: stale nonces, a quota,
 * silence. It is a test double, not a server: one realm, one user, no
 * TURN-over-TURN, no IPv6 relaying.
 */
#ifndef PM_TURNSIM_H
#define PM_TURNSIM_H

#include "simnet.h"

typedef struct pm_turnsim pm_turnsim;

typedef struct pm_turnsim_config {
    pm_addr server;   /* where clients send (UDP) */
    pm_addr relay_ip; /* relayed addresses: this IP, ports port..port+7 */
    const char *realm, *user, *pass;
    int max_allocations;   /* 0 = 8; beyond: 486 Allocation Quota Reached */
    uint32_t lifetime_s;   /* granted lifetime (0 = 600) */
    bool stale_nonce_once; /* the first authenticated Allocate gets 438 */
} pm_turnsim_config;

typedef struct pm_turnsim_stats {
    int challenges, stale, wrong_credentials, quota;
    int allocations, refreshes, deallocations, permissions, channel_binds;
    int send_indications, data_indications, channel_data_in, channel_data_out;
    int dropped_no_permission;
} pm_turnsim_stats;

pm_turnsim *pm_turnsim_new(const pm_turnsim_config *cfg);
void pm_turnsim_free(pm_turnsim *ts);

/** A datagram that arrived at `local` (the server or a relayed address). */
void pm_turnsim_datagram(pm_turnsim *ts, pm_time now, const pm_addr *local, const pm_addr *from,
                         const uint8_t *data, size_t len);
/** Bytes a stream client `conn` (> 0, known by its address `from`) sent. */
void pm_turnsim_stream(pm_turnsim *ts, pm_time now, uint32_t conn, const pm_addr *from,
                       const uint8_t *data, size_t len);
/** A stream client went away: its allocation goes with it (RFC 8656 3.1). */
void pm_turnsim_stream_closed(pm_turnsim *ts, uint32_t conn);

typedef struct pm_turnsim_out {
    uint32_t conn; /* 0: a datagram; else bytes for that stream client */
    pm_addr from, to;
    const uint8_t *data;
    size_t len;
} pm_turnsim_out;
/** Next output (borrowed until the next call). */
bool pm_turnsim_poll(pm_turnsim *ts, pm_turnsim_out *out);

/** Stop answering (a server that went away) / answer again. */
void pm_turnsim_set_silent(pm_turnsim *ts, bool silent);
pm_turnsim_stats pm_turnsim_get_stats(const pm_turnsim *ts);
/** Live allocations. */
int pm_turnsim_allocations(const pm_turnsim *ts);

/** Attach to a simnet at the server address and every relayed address (UDP only). */
void pm_turnsim_attach(pm_turnsim *ts, pm_simnet *net);

#endif
