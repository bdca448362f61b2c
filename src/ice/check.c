/*
 * Remote candidates, the check list of (path, remote candidate) pairs, STUN
 * transactions, connectivity checks with Ta pacing and a triggered-check
 * queue (RFC 8445 6.1.4, 7.2), retransmission, and response processing.
 */
#include "ice_internal.h"

#include <stdio.h>

/* ---- priorities ---- */

static uint32_t relay_local_pref(const pm_ice_agent *a, uint8_t via)
{
    const ice_turn *t = ice_turn_of_via(a, via);
    /* Chrome's order: UDP relays above TCP above TLS, then server order. */
    uint32_t transport = t ? (uint32_t)t->transport : 0;
    return ICE_TURN_RELAY_LOCALPREF - 1000 * transport - (uint32_t)(via - 1);
}

static uint32_t path_local_pref(const pm_ice_agent *a, uint8_t via, uint8_t family)
{
    return via == 0 ? ice_local_pref(a, family) : relay_local_pref(a, via);
}

uint32_t ice_prflx_priority(const pm_ice_agent *a, uint8_t via, uint8_t family)
{
    /* RFC 8445 7.1.1: PRIORITY = what a prflx candidate of this base would get. */
    return ((uint32_t)ICE_TYPEPREF_PRFLX << 24) | (path_local_pref(a, via, family) << 8) |
           (256 - ICE_COMPONENT);
}

uint32_t ice_path_priority(const pm_ice_agent *a, uint8_t via, uint8_t family)
{
    /* The local side of a pair is the socket's host candidate, or the relay. */
    uint32_t type = via == 0 ? ICE_TYPEPREF_HOST : ICE_TYPEPREF_RELAY;
    return (type << 24) | (path_local_pref(a, via, family) << 8) | (256 - ICE_COMPONENT);
}

bool ice_path_usable(const pm_ice_agent *a, uint8_t via, uint8_t family)
{
    if (via == 0) {
        if (a->relay_only)
            return false;
        for (size_t i = 0; i < a->nhosts; i++)
            if (a->hosts[i].family == family)
                return true;
        return false;
    }
    const ice_turn *t = ice_turn_of_via(a, via);
    return t && t->state == TURN_READY && t->relayed.family == family;
}

static uint64_t pair_priority(const pm_ice_agent *a, const ice_pair *p)
{
    /* RFC 8445 6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
    uint64_t l = ice_path_priority(a, p->via, p->remote.family), r = a->remotes[p->r].prio;
    uint64_t g = a->controlling ? l : r, d = a->controlling ? r : l;
    return (PM_MIN(g, d) << 32) + 2 * PM_MAX(g, d) + (g > d ? 1 : 0);
}

void ice_update_priorities(pm_ice_agent *a)
{
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].used)
            a->pairs[i].prio = pair_priority(a, &a->pairs[i]);
}

/* ---- pairs ---- */

int ice_pair_find(const pm_ice_agent *a, uint8_t via, const pm_addr *remote)
{
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].used && a->pairs[i].via == via &&
            pm_addr_equal(&a->pairs[i].remote, remote))
            return (int)i;
    return -1;
}

static bool same_foundation(const pm_ice_agent *a, const ice_pair *x, const ice_pair *y)
{
    return x->via == y->via && x->remote.family == y->remote.family &&
           strcmp(a->remotes[x->r].foundation, a->remotes[y->r].foundation) == 0;
}

/* RFC 8445 6.1.2.6: a pair waits unless a pair with its foundation already
 * waits or is in progress; then it is frozen until that one completes. */
static ice_pair_state initial_state(const pm_ice_agent *a, const ice_pair *p)
{
    for (size_t i = 0; i < a->npairs; i++) {
        const ice_pair *q = &a->pairs[i];
        if (q != p && q->used && same_foundation(a, p, q) &&
            (q->state == ICE_PAIR_WAITING || q->state == ICE_PAIR_IN_PROGRESS))
            return ICE_PAIR_FROZEN;
    }
    return ICE_PAIR_WAITING;
}

static void unfreeze(pm_ice_agent *a, const ice_pair *done)
{
    for (size_t i = 0; i < a->npairs; i++) {
        ice_pair *q = &a->pairs[i];
        if (q->used && q->state == ICE_PAIR_FROZEN && same_foundation(a, q, done))
            q->state = ICE_PAIR_WAITING;
    }
}

/* Forget a pair so its slot can be reused: no transaction (live or
 * lingering) and no triggered check may refer to the index afterwards. */
static void pair_evict(pm_ice_agent *a, int idx)
{
    for (int i = 0; i < (int)a->ntxns; i++)
        if (a->txns[i].kind == ICE_TXN_CHECK && a->txns[i].target == idx)
            ice_txn_free(a, i);
    size_t kept = 0;
    for (size_t k = 0; k < a->trig_count; k++) {
        uint8_t j = a->trig[(a->trig_head + k) % ICE_MAX_PAIRS];
        if (j != idx)
            a->trig[(a->trig_head + kept++) % ICE_MAX_PAIRS] = j;
    }
    a->trig_count = kept;
    ice_pair *p = &a->pairs[idx];
    p->state = ICE_PAIR_FAILED;
    unfreeze(a, p);
    memset(p, 0, sizeof *p);
    p->state = ICE_PAIR_FAILED;
    p->txn = -1;
}

int ice_pair_add(pm_ice_agent *a, uint8_t via, int r)
{
    const pm_addr *remote = &a->remotes[r].addr;
    int idx = ice_pair_find(a, via, remote);
    if (idx >= 0)
        return idx;
    for (size_t i = 0; i < a->npairs && idx < 0; i++)
        if (!a->pairs[i].used)
            idx = (int)i;
    if (idx < 0) {
        if (a->npairs == ICE_MAX_PAIRS) {
            PM_DEBUG(&a->env, ICE_COMP, "check list full");
            return PM_ERR_FULL;
        }
        if (a->npairs == a->pairs_cap) {
            ice_pair *grown = ice_grow(a, a->pairs, &a->pairs_cap, ICE_MAX_PAIRS, sizeof *grown);
            if (!grown)
                return PM_ERR_NOMEM;
            a->pairs = grown;
        }
        idx = (int)a->npairs++;
    }
    ice_pair *p = &a->pairs[idx];
    memset(p, 0, sizeof *p);
    p->used = true;
    p->via = via;
    p->r = (uint8_t)r;
    p->remote = *remote;
    p->txn = -1;
    p->srtt = -1;
    p->last_response = PM_TIME_NEVER;
    p->prio = pair_priority(a, p);
    p->state = initial_state(a, p);
    if (via)
        ice_turn_need_peer(a, via, remote, false); /* the permission goes out now */
    if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
        char buf[PM_ADDR_STRLEN];
        PM_DEBUG(&a->env, ICE_COMP, "pair %s -> %s %s candidate %s", via ? "relay" : "socket",
                 pm_cand_type_name(a->remotes[r].type), pm_addr_format(remote, buf, sizeof buf),
                 p->state == ICE_PAIR_FROZEN ? "(frozen)" : "");
    }
    return idx;
}

/* A signalled remote candidate meets every local path of its family. */
void ice_pairs_for_remote(pm_ice_agent *a, int r)
{
    for (uint8_t via = 0; via < ICE_MAX_PATHS; via++)
        if (ice_path_usable(a, via, a->remotes[r].addr.family))
            (void)ice_pair_add(a, via, r);
}

/* A path that became usable (a relay allocated) meets every signalled
 * remote candidate; peer-reflexive ones stay with the path they came on. */
void ice_pairs_for_path(pm_ice_agent *a, uint8_t via)
{
    for (size_t r = 0; r < a->nremotes; r++) {
        const ice_remote *rc = &a->remotes[r];
        if (rc->used && rc->type != PM_CAND_PRFLX && ice_path_usable(a, via, rc->addr.family))
            (void)ice_pair_add(a, via, (int)r);
    }
    a->dirty = true;
}

/* ---- remote candidates ---- */

/* A peer-reflexive candidate no pair has validated: all a forged check creates. */
static bool evictable(const pm_ice_agent *a, size_t r)
{
    if (!a->remotes[r].used || a->remotes[r].type != PM_CAND_PRFLX)
        return false;
    for (size_t i = 0; i < a->npairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->used && p->r == r &&
            (p->valid || (int)i == a->selected || (int)i == a->nominated ||
             (int)i == a->nominating))
            return false;
    }
    return true;
}

static bool same_ip(const pm_addr *x, const pm_addr *y)
{
    return x->family == y->family && memcmp(x->ip, y->ip, x->family == 4 ? 4 : 16) == 0;
}

/* The oldest evictable remote (from `ip` only, when given), or -1. */
static int oldest_evictable(const pm_ice_agent *a, const pm_addr *ip, size_t *count)
{
    int best = -1;
    *count = 0;
    for (size_t i = 0; i < a->nremotes; i++) {
        if (!evictable(a, i) || (ip && !same_ip(&a->remotes[i].addr, ip)))
            continue;
        (*count)++;
        if (best < 0 || a->remotes[i].seq < a->remotes[best].seq)
            best = (int)i;
    }
    return best;
}

static void remote_evict(pm_ice_agent *a, int r)
{
    if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
        char buf[PM_ADDR_STRLEN];
        PM_DEBUG(&a->env, ICE_COMP, "evicting unvalidated peer-reflexive candidate %s",
                 pm_addr_format(&a->remotes[r].addr, buf, sizeof buf));
    }
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].used && a->pairs[i].r == r)
            pair_evict(a, (int)i);
    memset(&a->remotes[r], 0, sizeof a->remotes[r]);
}

/* Where a new remote candidate goes. Peer-reflexive: at most
 * ICE_MAX_PRFLX_PER_IP unvalidated ones per remote IP and ICE_MAX_PRFLX in
 * all, the oldest making room for the newest. Signalled: a free slot, else
 * the oldest unvalidated peer-reflexive candidate's. */
int ice_remote_slot(pm_ice_agent *a, const pm_addr *addr, pm_cand_type type)
{
    size_t n;
    int victim = -1;
    if (type == PM_CAND_PRFLX) {
        victim = oldest_evictable(a, addr, &n);
        if (n < ICE_MAX_PRFLX_PER_IP) {
            victim = oldest_evictable(a, NULL, &n);
            if (n < ICE_MAX_PRFLX)
                victim = -1;
        }
    }
    if (victim < 0) {
        for (size_t i = 0; i < a->nremotes; i++)
            if (!a->remotes[i].used)
                return (int)i;
        if (a->nremotes < ICE_MAX_REMOTE && a->nremotes == a->remotes_cap) {
            ice_remote *grown =
                ice_grow(a, a->remotes, &a->remotes_cap, ICE_MAX_REMOTE, sizeof *grown);
            if (!grown)
                return PM_ERR_NOMEM;
            a->remotes = grown;
        }
        if (a->nremotes < ICE_MAX_REMOTE)
            return (int)a->nremotes++;
        if (type != PM_CAND_PRFLX)
            victim = oldest_evictable(a, NULL, &n);
    }
    if (victim < 0)
        return PM_ERR_FULL;
    remote_evict(a, victim);
    return victim;
}

static int remote_find(const pm_ice_agent *a, const pm_addr *addr)
{
    for (size_t i = 0; i < a->nremotes; i++)
        if (a->remotes[i].used && pm_addr_equal(&a->remotes[i].addr, addr))
            return (int)i;
    return -1;
}

int ice_add_remote(pm_ice_agent *a, const pm_addr *addr, pm_cand_type type, uint32_t prio,
                   const char *foundation)
{
    int r = remote_find(a, addr);
    if (r >= 0) {
        ice_remote *rc = &a->remotes[r];
        if (rc->type == PM_CAND_PRFLX && type != PM_CAND_PRFLX) {
            /* The signalled candidate replaces what we learned (RFC 8445 7.3.1.3). */
            rc->type = type;
            rc->prio = prio;
            snprintf(rc->foundation, sizeof rc->foundation, "%s", foundation);
            ice_update_priorities(a);
            ice_pairs_for_remote(a, r);
        }
        return r;
    }
    r = ice_remote_slot(a, addr, type);
    if (r < 0) {
        PM_DEBUG(&a->env, ICE_COMP, "remote candidate table full");
        return r;
    }
    ice_remote *rc = &a->remotes[r];
    memset(rc, 0, sizeof *rc);
    rc->used = true;
    rc->addr = *addr;
    rc->type = type;
    rc->prio = prio;
    rc->seq = a->remote_seq++;
    snprintf(rc->foundation, sizeof rc->foundation, "%s", foundation);
    if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
        char buf[PM_ADDR_STRLEN];
        PM_DEBUG(&a->env, ICE_COMP, "remote %s candidate %s prio %u", pm_cand_type_name(type),
                 pm_addr_format(addr, buf, sizeof buf), prio);
    }
    if (type != PM_CAND_PRFLX)
        ice_pairs_for_remote(a, r);
    return r;
}

void ice_pair_fail(pm_ice_agent *a, int idx)
{
    ice_pair *p = &a->pairs[idx];
    p->state = ICE_PAIR_FAILED;
    p->valid = false;
    p->nominated = false;
    if (a->nominating == idx)
        a->nominating = -1;
    if (a->nominated == idx)
        a->nominated = -1;
    unfreeze(a, p);
    if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
        char buf[PM_ADDR_STRLEN];
        PM_DEBUG(&a->env, ICE_COMP, "pair %s -> %s failed", p->via ? "relay" : "socket",
                 pm_addr_format(&p->remote, buf, sizeof buf));
    }
}

/* A relay is gone (allocation lost, stream closed): its pairs fail. */
void ice_path_failed(pm_ice_agent *a, uint8_t via)
{
    for (size_t i = 0; i < a->npairs; i++) {
        ice_pair *p = &a->pairs[i];
        if (!p->used || p->via != via)
            continue;
        if (p->txn >= 0)
            ice_txn_free(a, p->txn);
        if (a->consent_txn >= 0 && a->txns[a->consent_txn].target == (int)i)
            ice_txn_free(a, a->consent_txn);
        ice_pair_fail(a, (int)i);
    }
    if (a->have_prev && a->prev_via == via)
        a->have_prev = false;
    a->dirty = true;
}

/* ICE restart with the remote's new credentials: a new check list. The
 * pair in use is remembered so data keeps flowing until a new one is valid. */
void ice_clear_checklist(pm_ice_agent *a)
{
    if (a->selected >= 0 && a->state != PM_ICE_FAILED) {
        a->have_prev = pm_ice_selected_info(a, &a->prev_info);
        a->prev_via = a->pairs[a->selected].via;
        a->prev_remote = a->pairs[a->selected].remote;
    }
    for (int i = 0; i < (int)a->ntxns; i++)
        if (a->txns[i].kind == ICE_TXN_CHECK)
            ice_txn_free(a, i);
    if (a->remotes) /* the tables keep their size: the new session will want as many */
        memset(a->remotes, 0, a->remotes_cap * sizeof *a->remotes);
    if (a->pairs)
        memset(a->pairs, 0, a->pairs_cap * sizeof *a->pairs);
    a->nremotes = a->npairs = 0;
    a->npending = 0;
    a->trig_head = a->trig_count = 0;
    a->selected = a->nominated = a->nominating = -1;
    a->consent_txn = -1;
    a->consent_next = PM_TIME_NEVER;
    a->consent_pending_since = PM_TIME_NEVER;
    a->disconnected = false;
    a->checks_started = false;
    a->first_valid = PM_TIME_NEVER;
    a->fail_deadline = PM_TIME_NEVER;
    a->reported_selected = false;
    a->remote_done = false;
    a->last_check = INT64_MIN / 4;
}

/* ---- transactions ---- */

int ice_txn_alloc(pm_ice_agent *a, ice_txn_kind kind, int target, pm_time now)
{
    int slot = -1;
    for (int i = 0; i < (int)a->ntxns && slot < 0; i++)
        if (a->txns[i].kind == ICE_TXN_FREE)
            slot = i;
    if (slot < 0) {
        size_t had = a->ntxns;
        ice_txn *grown = ice_grow(a, a->txns, &a->ntxns, ICE_MAX_TXN, sizeof *a->txns);
        if (grown) {
            a->txns = grown;
            slot = (int)had;
        }
    }
    if (slot < 0) {
        /* Reuse the oldest cancelled transaction: its answer is least likely. */
        for (int i = 0; i < (int)a->ntxns; i++)
            if (!a->txns[i].live && (slot < 0 || a->txns[i].last_sent < a->txns[slot].last_sent))
                slot = i;
        if (slot < 0) {
            PM_WARN(&a->env, ICE_COMP, "no free STUN transaction slot");
            return -1;
        }
        ice_txn_free(a, slot);
    }
    ice_txn *t = &a->txns[slot];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->target = target;
    t->live = true;
    t->first_sent = t->last_sent = now;
    (void)pm_random(&a->env, t->tid, sizeof t->tid);
    return slot;
}

ice_txn *ice_txn_find(pm_ice_agent *a, const uint8_t tid[PM_STUN_TID_LEN])
{
    for (int i = 0; i < (int)a->ntxns; i++)
        if (a->txns[i].kind != ICE_TXN_FREE && memcmp(a->txns[i].tid, tid, PM_STUN_TID_LEN) == 0)
            return &a->txns[i];
    return NULL;
}

/* Detach a transaction from whoever drives it (pair, consent, nomination, TURN). */
static void txn_detach(pm_ice_agent *a, int ti)
{
    ice_txn *t = &a->txns[ti];
    if (t->kind == ICE_TXN_CHECK && t->target >= 0 && (size_t)t->target < a->npairs &&
        a->pairs[t->target].txn == ti)
        a->pairs[t->target].txn = -1;
    if (t->kind == ICE_TXN_TURN && t->target >= 0 && (size_t)t->target < a->nturn &&
        a->turn[t->target].txn == ti)
        a->turn[t->target].txn = -1;
    if (a->consent_txn == ti)
        a->consent_txn = -1;
}

void ice_txn_cancel(pm_ice_agent *a, int ti)
{
    /* RFC 8445 7.2.5.4: no more retransmissions, no failure on timeout, but
     * a response may still arrive and count. */
    txn_detach(a, ti);
    a->txns[ti].live = false;
}

void ice_txn_free(pm_ice_agent *a, int ti)
{
    txn_detach(a, ti);
    memset(&a->txns[ti], 0, sizeof a->txns[ti]);
}

static int build_check(pm_ice_agent *a, const ice_txn *t, uint8_t *buf, size_t cap)
{
    const ice_pair *p = &a->pairs[t->target];
    char user[2 * ICE_CRED_MAX + 2];
    /* RFC 8445 7.2.2: USERNAME is "<receiver's ufrag>:<sender's ufrag>". */
    snprintf(user, sizeof user, "%s:%s", a->rufrag, a->lufrag);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, cap, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), t->tid);
    pm_stun_add_str(&b, PM_STUN_ATTR_USERNAME, user);
    pm_stun_add_u32(&b, PM_STUN_ATTR_PRIORITY, ice_prflx_priority(a, p->via, p->remote.family));
    if (t->controlling) {
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLING, a->tiebreaker);
        if (t->use_candidate)
            pm_stun_add_flag(&b, PM_STUN_ATTR_USE_CANDIDATE);
    } else {
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLED, a->tiebreaker);
    }
    /* RFC 8445 7.2.2: short-term credential keyed with the receiver's pwd. */
    return pm_stun_finish(&b, (const uint8_t *)a->rpwd, strlen(a->rpwd), true);
}

/* One (re)transmission, then schedule the next or the final timeout. */
void ice_txn_transmit(pm_ice_agent *a, int ti, pm_time now)
{
    ice_txn *t = &a->txns[ti];
    uint8_t buf[ICE_MAX_MSG];
    if (t->kind == ICE_TXN_SERVER) {
        ice_server_transmit(a, t);
    } else if (t->kind == ICE_TXN_TURN) {
        ice_turn_transmit(a, t);
    } else {
        int n = build_check(a, t, buf, sizeof buf);
        const ice_pair *p = &a->pairs[t->target];
        if (n > 0)
            ice_send_via(a, p->via, &p->remote, buf, (size_t)n);
    }
    t->sends++;
    t->last_sent = now;
    t->next = now + t->rto;
    if (t->sends < t->max_sends)
        t->rto = PM_MIN(t->rto * 2, t->rto_max);
}

static pm_time check_rto(const ice_pair *p)
{
    /* Twice the measured RTT when we have one, never below 100 ms. */
    pm_time rto = p->srtt >= 0 ? 2 * p->srtt : ICE_CHECK_RTO_MIN;
    return PM_MIN(PM_MAX(rto, ICE_CHECK_RTO_MIN), ICE_CHECK_RTO_MAX);
}

int ice_start_check(pm_ice_agent *a, int idx, pm_time now, bool use_candidate, bool consent)
{
    ice_pair *p = &a->pairs[idx];
    int ti = ice_txn_alloc(a, ICE_TXN_CHECK, idx, now);
    if (ti < 0)
        return PM_ERR_FULL;
    ice_txn *t = &a->txns[ti];
    t->use_candidate = use_candidate;
    t->consent = consent;
    t->controlling = a->controlling;
    t->max_sends = ICE_CHECK_SENDS;
    t->rto = check_rto(p);
    t->rto_max = consent ? ICE_CONSENT_RTO_MAX : ICE_CHECK_RTO_MAX;
    t->rto = PM_MIN(t->rto, t->rto_max);
    if (consent) {
        if (a->consent_txn >= 0)
            ice_txn_cancel(a, a->consent_txn);
        a->consent_txn = ti;
    } else {
        if (p->txn >= 0)
            ice_txn_cancel(a, p->txn);
        p->txn = ti;
        if (p->state != ICE_PAIR_SUCCEEDED)
            p->state = ICE_PAIR_IN_PROGRESS;
    }
    if (!a->checks_started) {
        a->checks_started = true;
        PM_DEBUG(&a->env, ICE_COMP, "connectivity checks start");
    }
    ice_txn_transmit(a, ti, now);
    return PM_OK;
}

/* ---- scheduling (RFC 8445 6.1.4.2) ---- */

/* A relayed pair waits for its TURN permission: checks sent before it is
 * installed would be dropped by the server. */
static bool sendable(const pm_ice_agent *a, const ice_pair *p)
{
    return p->via == 0 || ice_turn_permitted(a, p->via, &p->remote);
}

void ice_trigger(pm_ice_agent *a, int idx)
{
    ice_pair *p = &a->pairs[idx];
    if (p->triggered)
        return;
    p->triggered = true;
    a->trig[(a->trig_head + a->trig_count) % ICE_MAX_PAIRS] = (uint8_t)idx;
    a->trig_count++;
}

static bool trigger_wanted(const pm_ice_agent *a, const ice_pair *p)
{
    return p->used && p->state != ICE_PAIR_SUCCEEDED && p->txn < 0;
}

/* The first triggered pair that can go now, taken out of the queue; pairs
 * that need nothing any more are dropped, pairs waiting for a TURN
 * permission stay. */
static int pop_triggered(pm_ice_agent *a)
{
    int found = -1;
    size_t kept = 0, n = a->trig_count;
    for (size_t k = 0; k < n; k++) {
        uint8_t idx = a->trig[(a->trig_head + k) % ICE_MAX_PAIRS];
        ice_pair *p = &a->pairs[idx];
        bool want = trigger_wanted(a, p);
        if (found < 0 && want && sendable(a, p)) {
            found = idx;
            p->triggered = false;
            continue;
        }
        if (!want) {
            p->triggered = false;
            continue;
        }
        a->trig[(a->trig_head + kept++) % ICE_MAX_PAIRS] = idx;
    }
    a->trig_count = kept;
    return found;
}

/* Highest-priority Waiting pair, else highest-priority Frozen pair. */
static int next_ordinary(const pm_ice_agent *a)
{
    int best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        ice_pair_state want = pass == 0 ? ICE_PAIR_WAITING : ICE_PAIR_FROZEN;
        for (size_t i = 0; i < a->npairs; i++) {
            const ice_pair *p = &a->pairs[i];
            if (p->used && p->state == want && p->txn < 0 && sendable(a, p) &&
                (best < 0 || p->prio > a->pairs[best].prio))
                best = (int)i;
        }
    }
    return best;
}

static bool ordinary_pending(const pm_ice_agent *a)
{
    /* Once a pair is nominated, ordinary checks stop (RFC 8445 8.1.2). */
    return a->nominated < 0 && next_ordinary(a) >= 0;
}

static bool has_trigger_work(const pm_ice_agent *a)
{
    for (size_t i = 0; i < a->trig_count; i++) {
        const ice_pair *p = &a->pairs[a->trig[(a->trig_head + i) % ICE_MAX_PAIRS]];
        if (trigger_wanted(a, p) && sendable(a, p))
            return true;
    }
    return false;
}

void ice_checks_tick(pm_ice_agent *a, pm_time now)
{
    if (!a->have_rcreds || now < a->last_check + a->ta)
        return;
    int idx = pop_triggered(a);
    if (idx < 0 && a->nominated < 0)
        idx = next_ordinary(a);
    if (idx < 0)
        return;
    bool use = a->controlling && (a->nominated == idx || a->nominating == idx);
    if (ice_start_check(a, idx, now, use, false) == PM_OK)
        a->last_check = now;
}

pm_time ice_checks_deadline(const pm_ice_agent *a)
{
    if (!a->have_rcreds || (!has_trigger_work(a) && !ordinary_pending(a)))
        return PM_TIME_NEVER;
    return a->last_check + a->ta;
}

void ice_txn_timers(pm_ice_agent *a, pm_time now)
{
    for (int i = 0; i < (int)a->ntxns; i++) {
        ice_txn *t = &a->txns[i];
        if (t->kind == ICE_TXN_FREE || !t->live || t->next > now)
            continue;
        if (t->sends < t->max_sends) {
            ice_txn_transmit(a, i, now);
            continue;
        }
        /* Final timeout. */
        if (t->kind == ICE_TXN_SERVER) {
            ice_gather_timeout(a, i);
        } else if (t->kind == ICE_TXN_TURN) {
            ice_turn_timeout(a, i, now); /* frees the transaction */
            continue;
        } else if (!t->consent) {
            int idx = t->target;
            ice_txn_free(a, i);
            ice_pair_fail(a, idx);
            continue;
        }
        ice_txn_free(a, i);
    }
}

/* ---- responses (RFC 8445 7.2.5) ---- */

static void on_success(pm_ice_agent *a, int ti, const pm_stun_msg *m, pm_time now)
{
    ice_txn t = a->txns[ti];
    ice_pair *p = &a->pairs[t.target];
    ice_txn_free(a, ti);
    if (t.sends == 1) { /* Karn: only unambiguous samples */
        pm_time sample = now - t.first_sent;
        p->srtt = p->srtt < 0 ? sample : (7 * p->srtt + sample) / 8;
    } else if (p->srtt < 0) {
        /* Only retransmitted exchanges so far: the time since the last
         * transmission is a lower bound, better than no estimate. */
        p->srtt = now - t.last_sent;
    }
    p->last_response = now;
    if (m->has_xor_mapped)
        p->mapped = m->xor_mapped;
    if (!p->valid) {
        p->valid = true;
        if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
            char buf[PM_ADDR_STRLEN];
            PM_DEBUG(&a->env, ICE_COMP, "pair %s -> %s valid", p->via ? "relay" : "socket",
                     pm_addr_format(&p->remote, buf, sizeof buf));
        }
        if (p->via) /* the relay now carries this peer: bind a channel */
            ice_turn_need_peer(a, p->via, &p->remote, true);
    }
    if (p->state != ICE_PAIR_SUCCEEDED) {
        p->state = ICE_PAIR_SUCCEEDED;
        unfreeze(a, p);
    }
    ice_consent_response(a, t.target, now);
    ice_consent_follow(a, t.target, now);
    if (t.use_candidate && t.controlling && a->controlling)
        ice_set_nominated(a, t.target);
    else if (!a->controlling && p->remote_nominated)
        ice_set_nominated(a, t.target);
    if (t.use_candidate && a->nominating == t.target && a->nominated != t.target)
        a->nominating = -1;
    ice_on_valid(a, t.target, now);
}

static void on_error(pm_ice_agent *a, int ti, const pm_stun_msg *m)
{
    ice_txn t = a->txns[ti];
    ice_txn_free(a, ti);
    if (m->has_error && m->error_code == PM_STUN_ERR_ROLE_CONFLICT) {
        /* RFC 8445 7.2.5.1: switch role (unless we already did since the
         * request went out) and retry the pair as a triggered check. */
        if (t.controlling == a->controlling)
            ice_switch_role(a, "487 response");
        if (a->nominating == t.target)
            a->nominating = -1;
        ice_pair *p = &a->pairs[t.target];
        if (!t.consent && p->state != ICE_PAIR_SUCCEEDED)
            p->state = ICE_PAIR_WAITING;
        ice_trigger(a, t.target);
        return;
    }
    PM_DEBUG(&a->env, ICE_COMP, "check failed with error %u", m->error_code);
    if (!t.consent)
        ice_pair_fail(a, t.target);
}

int ice_handle_response(pm_ice_agent *a, pm_time now, uint8_t via, const pm_addr *from,
                        const pm_stun_msg *m)
{
    ice_txn *t = ice_txn_find(a, m->tid);
    if (!t)
        return PM_OK; /* late answer to a retransmission, or not ours */
    int ti = (int)(t - a->txns);
    if (!t->live && now - t->last_sent > ICE_TXN_LINGER) {
        ice_txn_free(a, ti);
        return PM_OK;
    }
    if (t->kind == ICE_TXN_SERVER) {
        if (via == 0 && m->method == PM_STUN_BINDING)
            ice_gather_response(a, ti, from, m);
        return PM_OK;
    }
    if (t->kind == ICE_TXN_TURN)
        return PM_OK; /* only the TURN server's own channel answers those (turn.c) */
    if (m->method != PM_STUN_BINDING || a->state == PM_ICE_FAILED)
        return PM_OK;
    /* RFC 8445 7.2.5.1: responses are authenticated with the remote pwd. */
    if (pm_stun_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) != PM_OK) {
        PM_DEBUG(&a->env, ICE_COMP, "dropping response with bad or missing integrity");
        return PM_ERR_AUTH;
    }
    ice_pair *p = &a->pairs[t->target];
    if (p->via != via || !pm_addr_equal(from, &p->remote)) {
        /* RFC 8445 7.2.5.2.1: non-symmetric transport addresses -> failure. */
        bool consent = t->consent;
        int idx = t->target;
        ice_txn_free(a, ti);
        if (!consent)
            ice_pair_fail(a, idx);
        return PM_OK;
    }
    if (m->unknown_count) {
        /* RFC 8489 6.3.4: unknown comprehension-required attributes in a
         * response fail the transaction. */
        on_error(a, ti, m);
        return PM_OK;
    }
    if (m->cls == PM_STUN_SUCCESS)
        on_success(a, ti, m, now);
    else
        on_error(a, ti, m);
    return PM_OK;
}
