/*
 * ICE agent internals shared by the files of src/ice/ (agent, gather, check,
 * answer, nominate, consent). Not part of any public interface.
 */
#ifndef PM_ICE_INTERNAL_H
#define PM_ICE_INTERNAL_H

#include "ice/ice.h"
#include "wire/candidate.h"
#include "wire/stun.h"

#define ICE_COMP "ice"

/* Table sizes: everything is fixed-size so that the steady state never
 * allocates, and a flood of remote candidates or checks is bounded. */
#define ICE_MAX_HOSTS   8
#define ICE_MAX_SERVERS 4
#define ICE_MAX_LOCAL   (ICE_MAX_HOSTS + ICE_MAX_SERVERS)
#define ICE_MAX_REMOTE  32 /* remote candidates = pairs (one socket model) */
#define ICE_MAX_PENDING 8  /* checks seen before the remote credentials */
/* Peer-reflexive pairs not yet validated are cheap to create (one check
 * from anyone who saw the SDP), so they are capped per remote IP and in
 * total, and a signalled candidate may evict one: a flood of checks from
 * many ports can never keep the real candidates out of the table. */
#define ICE_MAX_PRFLX_PER_IP 4
#define ICE_MAX_PRFLX        (ICE_MAX_REMOTE / 2)
#define ICE_MAX_TXN          64
#define ICE_MAX_EVENTS       64
#define ICE_MAX_MSG          640         /* largest STUN message we build (USERNAME <= 265) */
#define ICE_TX_LIMIT         (64 * 1024) /* bytes of queued datagrams */

#define ICE_UFRAG_LEN 8   /* >= 24 bits of randomness, RFC 8445 5.3 */
#define ICE_PWD_LEN   24  /* >= 128 bits, RFC 8445 5.3 */
#define ICE_CRED_MAX  256 /* RFC 8839 5.4: ice-ufrag/ice-pwd at most 256 chars */
#define ICE_UFRAG_MIN 4
#define ICE_PWD_MIN   22

/* RFC 8445 5.1.2.2 type preferences (and Chrome's). */
#define ICE_TYPEPREF_HOST  126
#define ICE_TYPEPREF_PRFLX 110
#define ICE_TYPEPREF_SRFLX 100
#define ICE_TYPEPREF_RELAY 0
#define ICE_LOCALPREF_V6   65535 /* RFC 8421: IPv6 above IPv4 */
#define ICE_LOCALPREF_V4   32767
#define ICE_COMPONENT      1

/* Defaults of pm_ice_config (0 = default). */
#define ICE_DEFAULT_TA         PM_MS(50)  /* RFC 8445 14.2 */
#define ICE_DEFAULT_CONSENT    PM_SEC(5)  /* RFC 7675 5.1 */
#define ICE_DEFAULT_CONSENT_TO PM_SEC(30) /* RFC 7675 5.1 */
#define ICE_DEFAULT_DISCONNECT PM_SEC(5)

/* Connectivity-check retransmission: faster than RFC 8489's 500 ms because
 * setup latency matters and ICE pairs are few; 7 transmissions (RFC 8489
 * Rc) over ~6.3 s plus a final wait, then the pair fails. */
#define ICE_CHECK_RTO_MIN PM_MS(100)
#define ICE_CHECK_RTO_MAX PM_MS(1600)
#define ICE_CHECK_SENDS   7
/* STUN-server Binding transactions: RFC 8489 6.2.1 RTO 500 ms doubling, 7
 * tries, but capped so gathering ends within ~9.5 s instead of 39.5 s. */
#define ICE_SERVER_RTO     PM_MS(500)
#define ICE_SERVER_RTO_MAX PM_MS(1600)
#define ICE_SERVER_SENDS   7
/* How long a cancelled transaction may still be answered (RFC 8445 7.2.5.4). */
#define ICE_TXN_LINGER PM_SEC(10)
/* Controlling: nominate the best valid pair at once unless a better pair is
 * still being checked, and then wait at most this long for it. */
#define ICE_NOMINATION_WAIT PM_MS(300)
/* No valid pair this long after checks could start (remote did not signal
 * end-of-candidates) -> FAILED. */
#define ICE_CHECKING_TIMEOUT PM_SEC(30)
/* A consent request unanswered this long counts as lost (with RTT margin):
 * long enough for ~6 retransmissions, so 20% loss rarely looks like a
 * disconnection. Consent requests retransmit at most every 500 ms. */
#define ICE_CONSENT_GRACE   PM_SEC(2)
#define ICE_CONSENT_RTO_MAX PM_MS(500)

typedef enum ice_pair_state {
    ICE_PAIR_FROZEN = 0,
    ICE_PAIR_WAITING,
    ICE_PAIR_IN_PROGRESS,
    ICE_PAIR_SUCCEEDED,
    ICE_PAIR_FAILED,
} ice_pair_state;

typedef struct ice_local {
    pm_cand_type type;
    pm_addr addr;
    pm_addr base;
    uint32_t priority;
    char line[PM_CAND_LINE_MAX];
} ice_local;

/* One remote candidate and its pair with "the socket". */
typedef struct ice_pair {
    pm_addr remote;
    pm_cand_type rtype;
    uint32_t rprio;
    char rfoundation[PM_CAND_FOUNDATION_MAX + 1];
    uint64_t prio; /* RFC 8445 6.1.2.3 pair priority */
    ice_pair_state state;
    bool valid;
    bool nominated;
    bool remote_nominated; /* USE-CANDIDATE received (controlled side) */
    bool triggered;        /* in the triggered-check queue */
    int txn;               /* live check transaction, -1 */
    pm_time last_response; /* last authenticated success response */
    pm_time srtt;          /* -1 until measured */
    uint32_t seq;          /* order of creation (eviction picks the oldest) */
} ice_pair;

typedef enum ice_txn_kind {
    ICE_TXN_FREE = 0,
    ICE_TXN_CHECK,
    ICE_TXN_SERVER,
} ice_txn_kind;

typedef struct ice_txn {
    uint8_t tid[PM_STUN_TID_LEN];
    ice_txn_kind kind;
    bool live;          /* retransmitting; a timeout is a failure */
    bool use_candidate; /* check carries USE-CANDIDATE */
    bool consent;       /* consent-freshness request (RFC 7675) */
    bool controlling;   /* our role when the request was built */
    uint8_t sends, max_sends;
    int target; /* pair index (CHECK) or server index (SERVER) */
    pm_time first_sent, last_sent;
    pm_time next; /* next retransmission, or the final timeout */
    pm_time rto, rto_max;
} ice_txn;

typedef struct ice_server {
    pm_addr addr;
    bool done;
} ice_server;

typedef struct ice_pending {
    pm_addr from;
    uint32_t priority;
    bool use_candidate;
    uint32_t rufrag_crc; /* the sender's ufrag, checked once we learn it */
    size_t rufrag_len;
} ice_pending;

typedef struct ice_event {
    pm_ice_event_type type;
    pm_ice_state state;
    int local; /* index into local[] for LOCAL_CANDIDATE */
} ice_event;

struct pm_ice_agent {
    pm_envr env;
    pm_ice_state state;
    bool controlling;
    uint64_t tiebreaker;
    char lufrag[ICE_UFRAG_LEN + 1];
    char lpwd[ICE_PWD_LEN + 1];
    char rufrag[ICE_CRED_MAX + 1];
    char rpwd[ICE_CRED_MAX + 1];
    bool have_rcreds, remote_lite, remote_done;
    bool dirty; /* state changed by a call without `now`: work is due now */

    pm_time ta, consent_interval, consent_timeout, disconnected_after;
    pm_time now; /* latest time seen */

    pm_addr hosts[ICE_MAX_HOSTS];
    size_t nhosts;
    ice_local local[ICE_MAX_LOCAL];
    size_t nlocal;
    ice_server servers[ICE_MAX_SERVERS];
    size_t nservers;
    bool gathering_started, gathering_done;

    ice_pair pairs[ICE_MAX_REMOTE];
    size_t npairs;
    ice_pending pending[ICE_MAX_PENDING];
    size_t npending;
    ice_txn txns[ICE_MAX_TXN];
    uint8_t trig[ICE_MAX_REMOTE]; /* triggered-check FIFO of pair indices */
    size_t trig_head, trig_count;
    uint32_t prflx_count;
    uint32_t pair_seq;

    pm_time last_check; /* last paced check */
    bool checks_started;
    pm_time fail_deadline; /* no valid pair by then -> FAILED */
    bool fail_deadline_armed;

    int selected;   /* pair data uses, -1 */
    int nominated;  /* nominated pair, -1 */
    int nominating; /* controlling: pair whose USE-CANDIDATE check is in flight */
    pm_time first_valid;
    bool reported_selected;
    pm_addr reported_addr;

    /* Consent freshness on the selected pair (RFC 7675). */
    int consent_txn;
    pm_time consent_next;
    pm_time consent_pending_since;
    bool disconnected;

    ice_event ev[ICE_MAX_EVENTS];
    size_t ev_head, ev_count;
    pm_fifo tx;
    uint8_t tx_scratch[ICE_MAX_MSG];
};

/* agent.c */
void ice_push_event(pm_ice_agent *a, pm_ice_event_type type, int local);
void ice_send(pm_ice_agent *a, const pm_addr *to, const uint8_t *msg, size_t len);
void ice_run(pm_ice_agent *a, pm_time now);
uint32_t ice_local_pref(const pm_ice_agent *a, uint8_t family);

/* gather.c */
int ice_gather_start(pm_ice_agent *a, pm_time now);
void ice_gather_response(pm_ice_agent *a, int txn, const pm_addr *from, const pm_stun_msg *m);
void ice_gather_timeout(pm_ice_agent *a, int txn);
void ice_server_transmit(pm_ice_agent *a, ice_txn *t);

/* check.c */
int ice_pair_find(const pm_ice_agent *a, const pm_addr *remote);
int ice_pair_add(pm_ice_agent *a, const pm_addr *remote, pm_cand_type type, uint32_t prio,
                 const char *foundation);
void ice_pair_fail(pm_ice_agent *a, int idx);
void ice_update_priorities(pm_ice_agent *a);
int ice_txn_alloc(pm_ice_agent *a, ice_txn_kind kind, int target, pm_time now);
ice_txn *ice_txn_find(pm_ice_agent *a, const uint8_t tid[PM_STUN_TID_LEN]);
void ice_txn_transmit(pm_ice_agent *a, int ti, pm_time now);
void ice_txn_cancel(pm_ice_agent *a, int ti);
void ice_txn_free(pm_ice_agent *a, int ti);
int ice_start_check(pm_ice_agent *a, int idx, pm_time now, bool use_candidate, bool consent);
void ice_trigger(pm_ice_agent *a, int idx);
void ice_checks_tick(pm_ice_agent *a, pm_time now);
pm_time ice_checks_deadline(const pm_ice_agent *a);
void ice_txn_timers(pm_ice_agent *a, pm_time now);
int ice_handle_response(pm_ice_agent *a, pm_time now, const pm_addr *from, const pm_stun_msg *m);
uint32_t ice_prflx_priority(const pm_ice_agent *a, uint8_t family);

/* answer.c */
int ice_handle_request(pm_ice_agent *a, pm_time now, const pm_addr *from, const pm_stun_msg *m);
void ice_adopt_pending(pm_ice_agent *a);
void ice_switch_role(pm_ice_agent *a, const char *why);

/* nominate.c */
int ice_best_valid(const pm_ice_agent *a);
void ice_set_nominated(pm_ice_agent *a, int idx);
void ice_nominate_tick(pm_ice_agent *a, pm_time now);
pm_time ice_nominate_deadline(const pm_ice_agent *a);
void ice_on_valid(pm_ice_agent *a, int idx, pm_time now);

/* consent.c */
void ice_consent_reset(pm_ice_agent *a, pm_time now);
void ice_consent_tick(pm_ice_agent *a, pm_time now);
void ice_consent_response(pm_ice_agent *a, int idx, pm_time now);
pm_time ice_consent_deadline(const pm_ice_agent *a);
bool ice_consent_expired(const pm_ice_agent *a, pm_time now);

#endif
