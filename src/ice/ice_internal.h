/*
 * ICE agent internals shared by the files of src/ice/ (agent, gather, check,
 * answer, nominate, consent, turn, resolve). Not part of any public interface.
 */
#ifndef PM_ICE_INTERNAL_H
#define PM_ICE_INTERNAL_H

#include "ice/ice.h"
#include "wire/candidate.h"
#include "wire/stun.h"
#include "wire/turn.h"

#define ICE_COMP "ice"

/* Table limits: a flood of remote candidates or checks is bounded. The
 * tables of local and remote candidates, pairs and transactions start small
 * and grow (doubling, from ICE_GROW_FIRST entries) up to these limits as
 * they are used, so an agent with a few candidates costs a few KB; once an
 * agent has its candidates and pairs the steady state does not allocate. */
#define ICE_GROW_FIRST  2
#define ICE_MAX_HOSTS   8
#define ICE_MAX_SERVERS 4
#define ICE_MAX_PATHS   (1 + PM_ICE_MAX_TURN) /* the socket, then each relay */
#define ICE_MAX_LOCAL   (ICE_MAX_HOSTS + ICE_MAX_SERVERS + 2 * PM_ICE_MAX_TURN)
#define ICE_MAX_REMOTE  32 /* remote candidates */
#define ICE_MAX_PAIRS   64 /* (path, remote candidate) pairs */
#define ICE_MAX_PENDING 8  /* checks seen before the remote credentials */
/* Peer-reflexive candidates not yet validated are cheap to create (one
 * check from anyone who saw the SDP), so they are capped per remote IP and
 * in total, and a signalled candidate may evict one: a flood of checks from
 * many ports can never keep the real candidates out of the table. */
#define ICE_MAX_PRFLX_PER_IP 4
#define ICE_MAX_PRFLX        (ICE_MAX_REMOTE / 2)
#define ICE_MAX_TXN          64
#define ICE_MAX_EVENTS       64
#define ICE_MAX_MSG          640         /* largest STUN message we build (USERNAME <= 265) */
#define ICE_TX_LIMIT         (64 * 1024) /* bytes of queued output */
#define ICE_APP_LIMIT        (1 << 20)   /* relayed application bytes from streams, unread */
#define ICE_MAX_MDNS         8           /* ".local" candidates being resolved */

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
/* STUN/TURN server transactions over UDP: RFC 8489 6.2.1 RTO 500 ms
 * doubling, 7 tries, capped so gathering ends within ~9.5 s, not 39.5 s.
 * Over TCP/TLS nothing is retransmitted (RFC 8489 6.2.2); the answer must
 * come within ICE_STREAM_TIMEOUT. */
#define ICE_SERVER_RTO     PM_MS(500)
#define ICE_SERVER_RTO_MAX PM_MS(1600)
#define ICE_SERVER_SENDS   7
#define ICE_STREAM_TIMEOUT PM_SEC(10)
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
#define ICE_CONSENT_GRACE PM_SEC(2)
/* The selected pair's consent request unanswered this long, while the
 * remote is heard on another valid pair of the same path: follow it. */
#define ICE_FOLLOW_AFTER    PM_MS(500)
#define ICE_CONSENT_RTO_MAX PM_MS(500)
/* mDNS one-shot questions (RFC 6762 5.1): at 0, 0.5, 1.5 s; no answer by
 * 3 s and the candidate is dropped (browsers answer within milliseconds). */
#define ICE_MDNS_FIRST_RETRY PM_MS(500)
#define ICE_MDNS_TIMEOUT     PM_SEC(5)

/* TURN client (RFC 8656). Refresh a minute before expiry (as libjuice);
 * permissions last 300 s and channel bindings 600 s. */
#define ICE_TURN_REFRESH_EARLY   PM_SEC(60)
#define ICE_TURN_PERM_REFRESH    PM_SEC(240)
#define ICE_TURN_CHAN_REFRESH    PM_SEC(540)
#define ICE_TURN_MAX_PERMS       16
#define ICE_TURN_MAX_CHANS       16
#define ICE_TURN_MAX_STALE       3 /* 438 answers followed in a row */
#define ICE_TURN_STREAM_BUF_MAX  (70 * 1024)
#define ICE_TURN_RELAY_LOCALPREF 32000 /* below host local preferences; UDP > TCP > TLS */

typedef enum ice_pair_state {
    ICE_PAIR_FROZEN = 0,
    ICE_PAIR_WAITING,
    ICE_PAIR_IN_PROGRESS,
    ICE_PAIR_SUCCEEDED,
    ICE_PAIR_FAILED,
} ice_pair_state;

typedef struct ice_local {
    pm_cand_type type;
    uint8_t via; /* path the candidate belongs to (relay k: k+1) */
    pm_addr addr;
    pm_addr base;
    uint32_t priority;
    char line[PM_CAND_LINE_MAX];
} ice_local;

typedef struct ice_remote {
    bool used;
    pm_addr addr;
    pm_cand_type type;
    uint32_t prio;
    char foundation[PM_CAND_FOUNDATION_MAX + 1];
    uint32_t seq; /* order of creation (eviction picks the oldest) */
} ice_remote;

/* One (path, remote candidate) pair. */
typedef struct ice_pair {
    bool used;
    uint8_t via;
    uint8_t r;      /* index into remotes[] */
    pm_addr remote; /* copy of remotes[r].addr: the hot path compares it */
    uint64_t prio;  /* RFC 8445 6.1.2.3 pair priority */
    ice_pair_state state;
    bool valid;
    bool nominated;
    bool remote_nominated; /* USE-CANDIDATE received (controlled side) */
    bool triggered;        /* in the triggered-check queue */
    int txn;               /* live check transaction, -1 */
    pm_time last_response; /* last authenticated success response */
    pm_time heard;         /* last check or application data from the remote on it (0: never) */
    pm_time srtt;          /* -1 until measured */
    pm_addr mapped;        /* XOR-MAPPED-ADDRESS of our last successful check */
} ice_pair;

typedef enum ice_txn_kind {
    ICE_TXN_FREE = 0,
    ICE_TXN_CHECK,
    ICE_TXN_SERVER,
    ICE_TXN_TURN,
} ice_txn_kind;

typedef enum ice_turn_op {
    ICE_TURN_ALLOCATE = 1,
    ICE_TURN_REFRESH,
    ICE_TURN_PERMISSION,
    ICE_TURN_CHANNEL,
} ice_turn_op;

typedef struct ice_txn {
    uint8_t tid[PM_STUN_TID_LEN];
    ice_txn_kind kind;
    bool live;          /* retransmitting; a timeout is a failure */
    bool use_candidate; /* check carries USE-CANDIDATE */
    bool consent;       /* consent-freshness request (RFC 7675) */
    bool controlling;   /* our role when the request was built */
    uint8_t sends, max_sends;
    int target;     /* pair index (CHECK), server index (SERVER), TURN index (TURN) */
    ice_turn_op op; /* TURN */
    int arg;        /* TURN: permission or channel index; REFRESH: requested lifetime */
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
    uint8_t via;
    uint32_t priority;
    bool use_candidate;
    uint32_t rufrag_crc; /* the sender's ufrag, checked once we learn it */
    size_t rufrag_len;
} ice_pending;

typedef struct ice_event {
    pm_ice_event_type type;
    pm_ice_state state;
    int local; /* index into local[] for LOCAL_CANDIDATE; TURN index for SERVER_ERROR */
    int code;
} ice_event;

/* ---- TURN ---- */

typedef enum ice_turn_state {
    TURN_IDLE = 0,   /* not started (or relay-only without a server) */
    TURN_ALLOCATING, /* Allocate in flight (maybe authenticating) */
    TURN_READY,      /* relayed address allocated, refreshed */
    TURN_FAILED,     /* gave up: error, timeout, stream lost */
    TURN_CLOSED,     /* deallocated */
} ice_turn_state;

typedef struct ice_perm {
    pm_addr ip; /* port 0: permissions are per IP (RFC 8656 9) */
    bool installed, pending, failed;
    pm_time refresh_at;
} ice_perm;

typedef struct ice_chan {
    pm_addr peer;
    uint16_t number;
    bool bound, pending, failed;
    pm_time refresh_at;
} ice_chan;

typedef struct ice_turn {
    pm_addr server;
    pm_ice_turn_transport transport;
    char url[128];
    char username[514];
    char password[256];
    char realm[256];
    uint8_t nonce[256];
    size_t nonce_len;
    uint8_t key[16];
    bool have_key;
    bool sent_credentials; /* an Allocate with our credentials went out */
    int stale_tries;
    ice_turn_state state;
    int txn; /* Allocate or Refresh in flight, -1 */
    pm_addr relayed, mapped;
    bool have_mapped;
    uint32_t lifetime;    /* seconds granted */
    pm_time refresh_at;   /* next Refresh */
    int local;            /* relay candidate in local[], -1 */
    bool restart_pending; /* an ICE restart: re-emit the candidate after a Refresh */
    ice_perm perms[ICE_TURN_MAX_PERMS];
    size_t nperms;
    ice_chan chans[ICE_TURN_MAX_CHANS];
    size_t nchans;
    uint16_t next_channel;
    /* TCP/TLS: the stream's reassembly buffer. */
    bool stream_open;
    pm_buf rx;
    size_t rx_off;
    char err_text[160]; /* the last SERVER_ERROR's text */
} ice_turn;

typedef struct ice_mdns {
    bool used;
    char name[PM_CAND_HOSTNAME_MAX + 1];
    uint16_t port;
    pm_cand_type type;
    uint32_t prio;
    char foundation[PM_CAND_FOUNDATION_MAX + 1];
    int queries;
    pm_time next_query, deadline;
} ice_mdns;

/* Route header of a queued transmit. */
typedef struct ice_route {
    uint8_t kind; /* pm_ice_tx_kind */
    uint32_t stream;
    pm_addr to;
} ice_route;

struct pm_ice_agent {
    pm_envr env;
    pm_ice_state state;
    bool controlling;
    bool relay_only, resolve_mdns;
    uint64_t tiebreaker;
    char lufrag[ICE_UFRAG_LEN + 1];
    char lpwd[ICE_PWD_LEN + 1];
    char old_lufrag[ICE_UFRAG_LEN + 1]; /* during a restart: still answered */
    char old_lpwd[ICE_PWD_LEN + 1];
    char rufrag[ICE_CRED_MAX + 1];
    char rpwd[ICE_CRED_MAX + 1];
    bool have_rcreds, remote_lite, remote_done;
    bool restarting;
    bool dirty; /* state changed by a call without `now`: work is due now */

    pm_time ta, consent_interval, consent_timeout, disconnected_after;
    pm_time now; /* latest time seen */

    pm_addr hosts[ICE_MAX_HOSTS];
    size_t nhosts;
    ice_local *local; /* local_cap entries (<= ICE_MAX_LOCAL), nlocal in use */
    size_t nlocal, local_cap;
    ice_server servers[ICE_MAX_SERVERS];
    size_t nservers;
    ice_turn *turn; /* nturn entries (<= PM_ICE_MAX_TURN), NULL without TURN servers */
    size_t nturn;
    bool gathering_started, gathering_done;

    ice_remote *remotes; /* remotes_cap entries (<= ICE_MAX_REMOTE) */
    size_t nremotes;     /* high-water mark of remotes[] */
    size_t remotes_cap;
    ice_pair *pairs; /* pairs_cap entries (<= ICE_MAX_PAIRS) */
    size_t npairs;   /* high-water mark of pairs[] */
    size_t pairs_cap;
    ice_pending pending[ICE_MAX_PENDING];
    size_t npending;
    ice_mdns *mdns; /* ICE_MAX_MDNS entries from the first ".local" candidate, else NULL */
    ice_txn *txns;  /* ntxns entries (<= ICE_MAX_TXN); free ones are ICE_TXN_FREE */
    size_t ntxns;
    uint8_t trig[ICE_MAX_PAIRS]; /* triggered-check FIFO of pair indices */
    size_t trig_head, trig_count;
    uint32_t prflx_count;
    uint32_t remote_seq;

    pm_time last_check; /* last paced check */
    bool checks_started;
    pm_time fail_deadline; /* no valid pair by then -> FAILED */
    bool fail_deadline_armed;

    int selected;   /* pair data uses, -1 */
    int nominated;  /* nominated pair, -1 */
    int nominating; /* controlling: pair whose USE-CANDIDATE check is in flight */
    pm_time first_valid;
    bool reported_selected;
    uint8_t reported_via;
    pm_addr reported_addr;
    /* A restart's previous pair: data keeps using it until a new one is valid. */
    bool have_prev;
    uint8_t prev_via;
    pm_addr prev_remote;
    pm_ice_pair_info prev_info;

    /* Consent freshness on the selected pair (RFC 7675). */
    int consent_txn;
    pm_time consent_next;
    pm_time consent_pending_since;
    bool disconnected;

    ice_event ev[ICE_MAX_EVENTS];
    size_t ev_head, ev_count;
    char ev_text[160]; /* SERVER_ERROR text of the event being lent out */
    pm_fifo tx;
    pm_buf tx_taken;
    pm_fifo app; /* relayed application datagrams from streams: [via][pm_addr][data] */
    pm_buf app_taken;
    uint8_t scratch[ICE_MAX_MSG + PM_TURN_SEND_HDR_MAX + 8];
};

/* agent.c */
/** Grow `arr` (`*cap` entries of `size` bytes) to twice its size, at least
 * ICE_GROW_FIRST and at most `max` entries, zeroing the new entries. The
 * new array, or NULL (at `max` already, or out of memory: `arr` and `*cap`
 * are unchanged). Entries move: no pointer into `arr` may be kept across. */
void *ice_grow(pm_ice_agent *a, void *arr, size_t *cap, size_t max, size_t size);
void ice_push_event(pm_ice_agent *a, pm_ice_event_type type, int local);
void ice_push_error(pm_ice_agent *a, int turn, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ice_queue(pm_ice_agent *a, pm_ice_tx_kind kind, uint32_t stream, const pm_addr *to,
               const uint8_t *msg, size_t len);
void ice_send(pm_ice_agent *a, const pm_addr *to, const uint8_t *msg, size_t len);
void ice_send_via(pm_ice_agent *a, uint8_t via, const pm_addr *to, const uint8_t *msg, size_t len);
void ice_run(pm_ice_agent *a, pm_time now);
uint32_t ice_local_pref(const pm_ice_agent *a, uint8_t family);
int ice_add_remote(pm_ice_agent *a, const pm_addr *addr, pm_cand_type type, uint32_t prio,
                   const char *foundation);

/* gather.c */
int ice_gather_start(pm_ice_agent *a, pm_time now);
void ice_gather_restart(pm_ice_agent *a, pm_time now);
void ice_gather_response(pm_ice_agent *a, int txn, const pm_addr *from, const pm_stun_msg *m);
void ice_gather_timeout(pm_ice_agent *a, int txn);
void ice_server_transmit(pm_ice_agent *a, ice_txn *t);
void ice_check_gathering_done(pm_ice_agent *a);
int ice_add_local(pm_ice_agent *a, pm_cand_type type, uint8_t via, const pm_addr *addr,
                  const pm_addr *base, const pm_addr *server, uint32_t local_pref);
bool ice_have_local(const pm_ice_agent *a, const pm_addr *addr);

/* check.c */
int ice_pair_find(const pm_ice_agent *a, uint8_t via, const pm_addr *remote);
int ice_pair_add(pm_ice_agent *a, uint8_t via, int r);
void ice_pairs_for_remote(pm_ice_agent *a, int r);
void ice_pairs_for_path(pm_ice_agent *a, uint8_t via);
int ice_remote_slot(pm_ice_agent *a, const pm_addr *addr, pm_cand_type type);
void ice_pair_fail(pm_ice_agent *a, int idx);
void ice_path_failed(pm_ice_agent *a, uint8_t via);
void ice_clear_checklist(pm_ice_agent *a);
void ice_update_priorities(pm_ice_agent *a);
uint32_t ice_path_priority(const pm_ice_agent *a, uint8_t via, uint8_t family);
bool ice_path_usable(const pm_ice_agent *a, uint8_t via, uint8_t family);
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
int ice_handle_response(pm_ice_agent *a, pm_time now, uint8_t via, const pm_addr *from,
                        const pm_stun_msg *m);
uint32_t ice_prflx_priority(const pm_ice_agent *a, uint8_t via, uint8_t family);

/* answer.c */
int ice_handle_request(pm_ice_agent *a, pm_time now, uint8_t via, const pm_addr *from,
                       const pm_stun_msg *m);
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
/** The remote was heard on pair `idx` (an authenticated check, or data on a valid pair). */
void ice_consent_heard(pm_ice_agent *a, int idx, pm_time now);
/** Move the selected pair to `idx` if the remote has moved there (consent.c). */
void ice_consent_follow(pm_ice_agent *a, int idx, pm_time now);

/* turn.c */
int ice_turn_init(pm_ice_agent *a, const pm_ice_turn_server *servers, size_t n);
void ice_turn_free(pm_ice_agent *a);
void ice_turn_start(pm_ice_agent *a, pm_time now);
void ice_turn_restart(pm_ice_agent *a, pm_time now);
bool ice_turn_done(const pm_ice_agent *a);
bool ice_turn_any_ready(const pm_ice_agent *a);
int ice_turn_for_server(const pm_ice_agent *a, const pm_addr *from);
int ice_turn_for_stream(const pm_ice_agent *a, uint32_t stream);
void ice_turn_transmit(pm_ice_agent *a, ice_txn *t);
void ice_turn_response(pm_ice_agent *a, int ti, const pm_stun_msg *m, pm_time now);
void ice_turn_timeout(pm_ice_agent *a, int ti, pm_time now);
void ice_turn_tick(pm_ice_agent *a, pm_time now);
pm_time ice_turn_deadline(const pm_ice_agent *a);
void ice_turn_need_peer(pm_ice_agent *a, uint8_t via, const pm_addr *peer, bool channel);
bool ice_turn_permitted(const pm_ice_agent *a, uint8_t via, const pm_addr *peer);
void ice_turn_wrap_send(pm_ice_agent *a, uint8_t via, const pm_addr *peer, const uint8_t *msg,
                        size_t len);
int ice_turn_datagram(pm_ice_agent *a, pm_time now, int k, const uint8_t *data, size_t len,
                      pm_ice_app *app);
void ice_turn_close(pm_ice_agent *a);
const ice_turn *ice_turn_of_via(const pm_ice_agent *a, uint8_t via);

/* resolve.c */
int ice_mdns_add(pm_ice_agent *a, const pm_candidate *c, pm_time now);
void ice_mdns_tick(pm_ice_agent *a, pm_time now);
pm_time ice_mdns_deadline(const pm_ice_agent *a);
bool ice_mdns_pending(const pm_ice_agent *a);
void ice_mdns_clear(pm_ice_agent *a);

#endif
