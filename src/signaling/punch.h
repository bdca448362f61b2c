/*
 * UDP hole punching for one link between two peers, sans-I/O: what the
 * ENet mesh of the signaling client (sig_client_enet.c) runs on each
 * link's socket before ENet connects.
 *
 *  1. Our addresses: the host addresses of the link's socket, and, when a
 *     STUN server is known, its public address as the server sees it (a
 *     Binding request from that socket, RFC 8489; retransmitted, given up
 *     after stun_timeout). Each is a "candidate line" for the signaling
 *     server to relay to the peer:  "pmpunch1 <nonce> host|srflx <ip> <port>",
 *     the nonce our random 64-bit link secret in hex.
 *  2. The peer's lines arrive; from then on, every `interval`, a punch
 *     packet goes to each of its addresses: "PMPUNCH1", kind (0 punch, 1
 *     answer), the receiver's nonce, the sender's nonce (25 bytes). Our own
 *     outgoing packets open our NAT towards the peer's address while the
 *     peer's open its NAT towards ours (both cone NATs: the mappings the
 *     STUN server saw are the ones the peer reaches).
 *  3. A punch packet carrying our nonce (only the peer, through the
 *     signaling server, knows it) proves a working path from the address it
 *     came from, whether that was one of the lines or not (a NAT that
 *     mapped us anew): REACHABLE there, answered, and punching goes on to
 *     that address only so the peer's NAT stays open for ENet's connect.
 *  4. Nothing from the peer within `timeout` of its first line (or no line
 *     at all within `timeout` of the start): FAILED with a reason.
 *
 * Nothing is called back; outputs are queued: datagrams to send from the
 * link's socket (pm_punch_poll_datagram) and our candidate lines
 * (pm_punch_poll_line).
 */
#ifndef PM_SIGNALING_PUNCH_H
#define PM_SIGNALING_PUNCH_H

#include "base/base.h"

#define PM_PUNCH_MAX_TARGETS 8   /* peer addresses punched at once */
#define PM_PUNCH_MAX_HOSTS   8   /* our host addresses announced */
#define PM_PUNCH_PACKET_LEN  25  /* magic, kind, two nonces */
#define PM_PUNCH_LINE_MAX    128 /* one candidate line with its NUL */
#define PM_PUNCH_REASON_MAX  512

typedef enum pm_punch_state {
    PM_PUNCH_WAITING = 0, /* no address of the peer yet */
    PM_PUNCH_PUNCHING,    /* sending to the peer's addresses */
    PM_PUNCH_REACHABLE,   /* the peer answered: pm_punch_peer_addr() */
    PM_PUNCH_FAILED,      /* pm_punch_reason() */
} pm_punch_state;

typedef struct pm_punch_config {
    int32_t peer_id;       /* for the logs and the reason */
    const pm_addr *stun;   /* STUN server (IPv4), NULL = none */
    const char *stun_name; /* how the user spelt it, for messages (NULL: the address) */
    const pm_addr *hosts;  /* our host addresses, with the socket's port */
    size_t host_count;     /* at most PM_PUNCH_MAX_HOSTS are used */
    pm_time timeout;       /* default 10 s */
    pm_time interval;      /* default 100 ms */
    pm_time stun_timeout;  /* default 3 s */
} pm_punch_config;

typedef struct pm_punch pm_punch;

/** A new link puncher; our nonce comes from env's random source. NULL: no memory. */
pm_punch *pm_punch_new(const pm_envr *env, const pm_punch_config *cfg, pm_time now);
void pm_punch_free(pm_punch *p);

/** Does this datagram belong to the puncher (a STUN message or a punch packet)? */
bool pm_punch_is_ours(const uint8_t *d, size_t n);

/** A datagram pm_punch_is_ours() accepted, received on the link's socket from `from`. */
void pm_punch_datagram(pm_punch *p, pm_time now, const pm_addr *from, const uint8_t *d, size_t n);

/** One of the peer's candidate lines. PM_ERR_PARSE for a malformed one, PM_ERR_FULL. */
int pm_punch_remote_line(pm_punch *p, pm_time now, const char *line);

/** Run what is due (punches, STUN retransmissions, the timeout). */
void pm_punch_timeout(pm_punch *p, pm_time now);
pm_time pm_punch_next_timeout(const pm_punch *p);

/** Next datagram to send from the link's socket. False when none. */
bool pm_punch_poll_datagram(pm_punch *p, pm_addr *to, uint8_t *buf, size_t cap, size_t *len);
/** Next candidate line of ours to relay to the peer (NUL-terminated). False when none. */
bool pm_punch_poll_line(pm_punch *p, char *line, size_t cap);

pm_punch_state pm_punch_get_state(const pm_punch *p);
/** REACHABLE: where the peer answered from. */
const pm_addr *pm_punch_peer_addr(const pm_punch *p);
/** FAILED: why, in words (empty otherwise). */
const char *pm_punch_reason(const pm_punch *p);
/** Fail from outside (the link gave up for another reason). */
void pm_punch_fail(pm_punch *p, const char *reason);
/** Our public address from STUN, if it answered. */
const pm_addr *pm_punch_public_addr(const pm_punch *p);

#endif
