/*
 * ICE agent (RFC 8445 full agent, trickle RFC 8838, consent RFC 7675).
 * Sans-I/O: STUN datagrams in, STUN datagrams and events out. Never touches
 * sockets or clocks.
 *
 * Model (as libjuice): all host candidates share one UDP socket, so the
 * checklist is per remote candidate; the "local" side of every pair is the
 * socket. Server-reflexive candidates come from Binding requests to the
 * configured STUN servers, sent through the same socket.
 */
#ifndef PM_ICE_H
#define PM_ICE_H

#include "base/base.h"

typedef struct pm_ice_agent pm_ice_agent;

typedef enum pm_ice_state {
    PM_ICE_NEW = 0,
    PM_ICE_CHECKING,
    PM_ICE_CONNECTED,    /**< at least one valid pair; data may flow */
    PM_ICE_COMPLETED,    /**< a pair is nominated */
    PM_ICE_DISCONNECTED, /**< no consent for disconnected_after (may recover) */
    PM_ICE_FAILED,       /**< all checks failed, or consent expired */
    PM_ICE_CLOSED,
} pm_ice_state;

typedef struct pm_ice_config {
    bool controlling;          /**< initial role (offerer = controlling) */
    const pm_addr *host_addrs; /**< local host candidate addresses (socket port included) */
    size_t host_addr_count;
    const pm_addr *stun_servers; /**< resolved STUN server addresses for srflx gathering */
    size_t stun_server_count;
    pm_time ta;                 /**< check pacing (default 50 ms; 0 = default) */
    pm_time consent_interval;   /**< default 5 s, randomised x0.8..1.2 */
    pm_time consent_timeout;    /**< default 30 s */
    pm_time disconnected_after; /**< default 5 s without any consent response */
} pm_ice_config;

typedef enum pm_ice_event_type {
    PM_ICE_EV_LOCAL_CANDIDATE = 1, /**< `candidate`: "candidate:..." attribute value */
    PM_ICE_EV_GATHERING_DONE,
    PM_ICE_EV_STATE,         /**< `state` */
    PM_ICE_EV_SELECTED_PAIR, /**< the pair data should use changed */
    PM_ICE_EV_ROLE_CHANGED,  /**< role conflict flipped our role */
} pm_ice_event_type;

typedef struct pm_ice_event {
    pm_ice_event_type type;
    pm_ice_state state;
    const char *candidate; /**< borrowed until the next pm_ice_* call */
} pm_ice_event;

/** Local ufrag/pwd are generated (ufrag 8 chars, pwd 24 chars). */
int pm_ice_agent_new(const pm_envr *env, const pm_ice_config *cfg, pm_ice_agent **out);
void pm_ice_agent_free(pm_ice_agent *a);

const char *pm_ice_local_ufrag(const pm_ice_agent *a);
const char *pm_ice_local_pwd(const pm_ice_agent *a);
bool pm_ice_is_controlling(const pm_ice_agent *a);
void pm_ice_set_controlling(pm_ice_agent *a, bool controlling);

/** Emit host candidates and start STUN-server gathering. Idempotent. */
int pm_ice_gather(pm_ice_agent *a, pm_time now);

/**
 * Remote credentials from the remote description. Checks start once these
 * are known and there is a remote candidate. ice_lite: remote is lite (we
 * must be controlling). PM_ERR_INVALID for out-of-grammar ufrag/pwd.
 */
int pm_ice_set_remote_credentials(pm_ice_agent *a, const char *ufrag, const char *pwd,
                                  bool ice_lite);

/**
 * Add a remote candidate ("candidate:..." prefix optional). Held until
 * remote credentials are known. PM_ERR_PARSE: malformed; PM_ERR_UNSUPPORTED:
 * a valid candidate we cannot use (TCP, hostname) — caller logs and ignores.
 */
int pm_ice_add_remote_candidate(pm_ice_agent *a, const char *line, pm_time now);
void pm_ice_remote_gathering_done(pm_ice_agent *a);

/**
 * Feed one STUN datagram received on the socket from `from`. Answers checks
 * (even before remote credentials are known), learns peer-reflexive
 * candidates, processes responses. Returns PM_OK or PM_ERR_PARSE/AUTH when
 * the datagram was dropped (no reply).
 */
int pm_ice_handle_stun(pm_ice_agent *a, pm_time now, const pm_addr *from, const uint8_t *data,
                       size_t len);

int pm_ice_handle_timeout(pm_ice_agent *a, pm_time now);
pm_time pm_ice_next_timeout(const pm_ice_agent *a);

/** Next STUN datagram to send; `data` borrowed until the next pm_ice_* call. */
bool pm_ice_poll_transmit(pm_ice_agent *a, pm_addr *to, const uint8_t **data, size_t *len);
bool pm_ice_poll_event(pm_ice_agent *a, pm_ice_event *ev);

/** The remote address data should go to (nominated pair, else best valid pair). */
bool pm_ice_selected_remote(const pm_ice_agent *a, pm_addr *remote);
/** True when `from` is the remote side of a valid pair (accept non-STUN data from it). */
bool pm_ice_is_valid_remote(const pm_ice_agent *a, const pm_addr *from);
/** Smoothed RTT of the selected pair, or -1. */
pm_time pm_ice_rtt(const pm_ice_agent *a);
pm_ice_state pm_ice_get_state(const pm_ice_agent *a);
void pm_ice_close(pm_ice_agent *a);

#endif
