/*
 * enet_util.h — pieces shared by `peermesh enet server|connect` and
 * `peermesh bench enet`: option parsing, the echo of a server, and the
 * prober that sends numbered packets and times their echoes.
 *
 * Probe payload (after the optional MultiplayerAPI raw command byte):
 *   [u32 LE sequence][u8 transfer mode][filler up to --size bytes]
 * The mode byte lets a Godot echo script answer in the same mode.
 */
#ifndef PM_CLI_ENET_UTIL_H
#define PM_CLI_ENET_UTIL_H

#include "peermesh/enet.h"

#include <stdbool.h>
#include <stddef.h>

#define PM_CLI_PROBE_MIN_SIZE 5 /* sequence + mode */

bool pm_cli_enet_parse_format(const char *text, pm_enet_format *out);
const char *pm_cli_enet_format_name(pm_enet_format fmt);
/** "IP:PORT" with a numeric IPv4 address; false otherwise. */
bool pm_cli_parse_hostport(const char *text, char *ip, size_t cap, uint16_t *port);
/** Send `p` back to its sender in the mode and channel it came in. */
int pm_cli_enet_echo(pm_multiplayer *mp, const pm_mp_packet *p);

typedef struct pm_cli_probe {
    size_t size; /* payload bytes after the command byte */
    int command; /* raw command byte to prefix, or -1 for none */
    pm_mp_transfer_mode mode;
    long total;             /* packets to send */
    long window;            /* packets in flight at most */
    pm_time packet_timeout; /* an echo later than this counts as lost */
    long sent, received, lost;
    long oldest; /* first sequence that may still be in flight */
    long in_flight;
    uint64_t bytes_echoed; /* payload bytes of the echoes */
    pm_time *sent_at;      /* per sequence; 0 = answered or lost */
    pm_time *rtt;          /* one per echo, in arrival order */
    uint8_t *buf;
} pm_cli_probe;

int pm_cli_probe_init(pm_cli_probe *pr, size_t size, int command, pm_mp_transfer_mode mode,
                      long total, long window, pm_time packet_timeout);
void pm_cli_probe_free(pm_cli_probe *pr);
/** Send what the window allows and expire late echoes. Errors from put_packet. */
int pm_cli_probe_step(pm_cli_probe *pr, pm_multiplayer *mp, pm_time now);
/** Account for a received packet; false if it is not one of our echoes. */
bool pm_cli_probe_on_packet(pm_cli_probe *pr, const pm_mp_packet *p, pm_time now);
bool pm_cli_probe_done(const pm_cli_probe *pr);
/** Sort the round trips and give min / median / p99 in ms (0 when none). */
void pm_cli_probe_rtt_ms(pm_cli_probe *pr, double *min, double *median, double *p99);

#endif
