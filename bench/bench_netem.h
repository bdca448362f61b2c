/*
 * bench_netem.h — a long, lossy path for `peermesh bench throughput --rtt
 * MS --loss PCT` (a network emulator, not `bench relay`'s TURN): a UDP
 * forwarder on its own thread between the two peers of a link, which holds every datagram for half
 * the round trip and drops the given share of them, independently in each direction. Nothing else
 * limits it (no rate cap, no reordering): what it tests is how a stack
 * fills a long pipe and recovers from random loss.
 *
 * The peers are pointed at the relay by rewriting the ICE candidates their
 * signaling carries (pm_cli_netem_rewrite): the relay then forwards what
 * each side sends to the other side's real address, from the socket that
 * stands for the sender, so each peer sees the address it was given.
 */
#ifndef PM_CLI_BENCH_NETEM_H
#define PM_CLI_BENCH_NETEM_H

#include "peermesh/common.h"

typedef struct pm_cli_netem pm_cli_netem;

typedef struct pm_cli_netem_stats {
    uint64_t forwarded;  /* datagrams delivered */
    uint64_t dropped;    /* dropped on purpose (the loss rate) */
    uint64_t overflowed; /* dropped because the delay line was full */
} pm_cli_netem_stats;

/**
 * Open the relay's two sockets on `bind_ip` and start its thread. `rtt` is
 * the added round trip (each direction gets half), `loss` the probability
 * a datagram is dropped (0..1), `seed` the loss pattern's seed.
 */
int pm_cli_netem_new(const char *bind_ip, pm_time rtt, double loss, uint64_t seed,
                     pm_cli_netem **out);
/** Stop the thread, close the sockets, free. NULL is fine. */
void pm_cli_netem_free(pm_cli_netem *r);

/**
 * Rewrite a candidate line of `side` (0 or 1) in place so that the other
 * side reaches it through the relay; remembers the real address. Returns
 * false for a candidate the relay does not carry (not UDP, or a second
 * one): drop it. `cap` is the buffer's size.
 */
bool pm_cli_netem_rewrite(pm_cli_netem *r, int side, char *candidate, size_t cap);

pm_cli_netem_stats pm_cli_netem_get_stats(pm_cli_netem *r);

#endif
