/*
 * ICE agent lifecycle, credentials, remote candidates, the event and
 * transmit queues, the state machine and the timer entry points.
 */
#include "ice_internal.h"

#include <stdio.h>

static const char *state_name(pm_ice_state s)
{
    static const char *names[] = {"new",          "checking", "connected", "completed",
                                  "disconnected", "failed",   "closed"};
    return (unsigned)s < PM_ARRAY_LEN(names) ? names[s] : "?";
}

int pm_ice_agent_new(const pm_envr *env, const pm_ice_config *cfg, pm_ice_agent **out)
{
    if (!env || !cfg || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_ice_agent *a = pm_calloc(env, sizeof *a);
    if (!a)
        return PM_ERR_NOMEM;
    a->env = *env;
    a->state = PM_ICE_NEW;
    a->controlling = cfg->controlling;
    a->tiebreaker = pm_random_u64(env);
    pm_random_ice_chars(env, a->lufrag, ICE_UFRAG_LEN);
    pm_random_ice_chars(env, a->lpwd, ICE_PWD_LEN);
    a->ta = cfg->ta > 0 ? cfg->ta : ICE_DEFAULT_TA;
    a->consent_interval = cfg->consent_interval > 0 ? cfg->consent_interval : ICE_DEFAULT_CONSENT;
    a->consent_timeout = cfg->consent_timeout > 0 ? cfg->consent_timeout : ICE_DEFAULT_CONSENT_TO;
    a->disconnected_after =
        cfg->disconnected_after > 0 ? cfg->disconnected_after : ICE_DEFAULT_DISCONNECT;
    for (size_t i = 0; i < cfg->host_addr_count && cfg->host_addrs; i++) {
        const pm_addr *h = &cfg->host_addrs[i];
        if (h->family != 4 && h->family != 6)
            continue;
        bool dup = false;
        for (size_t k = 0; k < a->nhosts; k++)
            dup |= pm_addr_equal(&a->hosts[k], h);
        if (dup)
            continue;
        if (a->nhosts == ICE_MAX_HOSTS) {
            PM_WARN(env, ICE_COMP, "more than %d host addresses; ignoring the rest", ICE_MAX_HOSTS);
            break;
        }
        a->hosts[a->nhosts++] = *h;
    }
    for (size_t i = 0; i < cfg->stun_server_count && cfg->stun_servers; i++) {
        if (a->nservers == ICE_MAX_SERVERS) {
            PM_WARN(env, ICE_COMP, "more than %d STUN servers; ignoring the rest", ICE_MAX_SERVERS);
            break;
        }
        a->servers[a->nservers++].addr = cfg->stun_servers[i];
    }
    a->last_check = INT64_MIN / 4; /* "long ago": the first check may go at once */
    a->fail_deadline = PM_TIME_NEVER;
    a->selected = a->nominated = a->nominating = -1;
    a->consent_txn = -1;
    a->consent_next = PM_TIME_NEVER;
    a->consent_pending_since = PM_TIME_NEVER;
    a->first_valid = PM_TIME_NEVER;
    pm_fifo_init(&a->tx, ICE_TX_LIMIT);
    *out = a;
    return PM_OK;
}

void pm_ice_agent_free(pm_ice_agent *a)
{
    if (!a)
        return;
    pm_envr env = a->env;
    pm_fifo_free(&env, &a->tx);
    pm_free(&env, a);
}

const char *pm_ice_local_ufrag(const pm_ice_agent *a)
{
    return a->lufrag;
}

const char *pm_ice_local_pwd(const pm_ice_agent *a)
{
    return a->lpwd;
}

bool pm_ice_is_controlling(const pm_ice_agent *a)
{
    return a->controlling;
}

void pm_ice_set_controlling(pm_ice_agent *a, bool controlling)
{
    if (a->controlling == controlling)
        return;
    a->controlling = controlling;
    if (!controlling)
        a->nominating = -1;
    ice_update_priorities(a);
    a->dirty = true;
}

/* ---- events and transmit queue ---- */

void ice_push_event(pm_ice_agent *a, pm_ice_event_type type, int local)
{
    if (a->ev_count == ICE_MAX_EVENTS) {
        /* Only a caller that never polls gets here; keep the newest. */
        PM_WARN(&a->env, ICE_COMP, "event queue full; dropping the oldest event");
        a->ev_head = (a->ev_head + 1) % ICE_MAX_EVENTS;
        a->ev_count--;
    }
    ice_event *e = &a->ev[(a->ev_head + a->ev_count) % ICE_MAX_EVENTS];
    e->type = type;
    e->state = a->state;
    e->local = local;
    a->ev_count++;
}

bool pm_ice_poll_event(pm_ice_agent *a, pm_ice_event *ev)
{
    if (!a->ev_count)
        return false;
    const ice_event *e = &a->ev[a->ev_head];
    a->ev_head = (a->ev_head + 1) % ICE_MAX_EVENTS;
    a->ev_count--;
    memset(ev, 0, sizeof *ev);
    ev->type = e->type;
    ev->state = e->state;
    if (e->type == PM_ICE_EV_LOCAL_CANDIDATE && e->local >= 0 && (size_t)e->local < a->nlocal)
        ev->candidate = a->local[e->local].line;
    return true;
}

void ice_send(pm_ice_agent *a, const pm_addr *to, const uint8_t *msg, size_t len)
{
    int rc = pm_fifo_push(&a->env, &a->tx, 0, to, sizeof *to, msg, len);
    if (rc)
        PM_DEBUG(&a->env, ICE_COMP, "transmit queue full (%s); dropping a STUN message",
                 pm_strerror(rc));
}

bool pm_ice_poll_transmit(pm_ice_agent *a, pm_addr *to, const uint8_t **data, size_t *len)
{
    uint32_t tag;
    const uint8_t *rec;
    size_t rlen;
    if (!pm_fifo_peek(&a->tx, &tag, &rec, &rlen))
        return false;
    if (rlen < sizeof *to || rlen - sizeof *to > sizeof a->tx_scratch) {
        pm_fifo_pop(&a->tx); /* cannot happen: we only push what fits */
        return false;
    }
    memcpy(to, rec, sizeof *to);
    *len = rlen - sizeof *to;
    memcpy(a->tx_scratch, rec + sizeof *to, *len);
    pm_fifo_pop(&a->tx);
    *data = a->tx_scratch;
    return true;
}

/* ---- credentials and remote candidates ---- */

static bool ice_chars_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return false;
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

int pm_ice_set_remote_credentials(pm_ice_agent *a, const char *ufrag, const char *pwd,
                                  bool ice_lite)
{
    if (!ice_chars_ok(ufrag, ICE_UFRAG_MIN, ICE_CRED_MAX) ||
        !ice_chars_ok(pwd, ICE_PWD_MIN, ICE_CRED_MAX))
        return PM_ERR_INVALID;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (a->have_rcreds) {
        if (strcmp(a->rufrag, ufrag) == 0 && strcmp(a->rpwd, pwd) == 0)
            return PM_OK;
        PM_WARN(&a->env, ICE_COMP, "remote credentials changed: ICE restart is not supported");
        return PM_ERR_STATE;
    }
    snprintf(a->rufrag, sizeof a->rufrag, "%s", ufrag);
    snprintf(a->rpwd, sizeof a->rpwd, "%s", pwd);
    a->have_rcreds = true;
    a->remote_lite = ice_lite;
    if (ice_lite && !a->controlling) {
        /* RFC 8445 6.1.1: a full agent facing a lite agent is controlling. */
        a->controlling = true;
        ice_update_priorities(a);
    }
    a->fail_deadline_armed = true;
    ice_adopt_pending(a);
    a->dirty = true;
    return PM_OK;
}

int pm_ice_add_remote_candidate(pm_ice_agent *a, const char *line, pm_time now)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    pm_candidate c;
    if (pm_candidate_parse(&c, line) != PM_OK) {
        PM_DEBUG(&a->env, ICE_COMP, "unparsable remote candidate");
        return PM_ERR_PARSE;
    }
    if (c.transport != PM_CAND_UDP || c.hostname[0] || c.component != ICE_COMPONENT) {
        PM_DEBUG(&a->env, ICE_COMP, "ignoring remote candidate (%s%s, component %u)",
                 c.transport == PM_CAND_UDP ? "udp" : "not udp", c.hostname[0] ? ", hostname" : "",
                 c.component);
        return PM_ERR_UNSUPPORTED;
    }
    static const uint8_t zero[16];
    if (c.addr.port == 0 || memcmp(c.addr.ip, zero, c.addr.family == 4 ? 4 : 16) == 0)
        return PM_ERR_UNSUPPORTED;
    if (a->state == PM_ICE_FAILED)
        return PM_ERR_STATE;
    if (now > a->now)
        a->now = now;
    int idx = ice_pair_find(a, &c.addr);
    if (idx >= 0) {
        ice_pair *p = &a->pairs[idx];
        if (p->rtype == PM_CAND_PRFLX && c.type != PM_CAND_PRFLX) {
            /* The signalled candidate replaces what we learned (RFC 8445 7.3.1.3). */
            p->rtype = c.type;
            p->rprio = c.priority;
            snprintf(p->rfoundation, sizeof p->rfoundation, "%s", c.foundation);
            ice_update_priorities(a);
        }
        return PM_OK;
    }
    idx = ice_pair_add(a, &c.addr, c.type, c.priority, c.foundation);
    if (idx < 0)
        return idx;
    ice_run(a, a->now);
    return PM_OK;
}

void pm_ice_remote_gathering_done(pm_ice_agent *a)
{
    a->remote_done = true;
    a->dirty = true;
}

int pm_ice_gather(pm_ice_agent *a, pm_time now)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    if (a->gathering_started)
        return PM_OK;
    int rc = ice_gather_start(a, a->now);
    ice_run(a, a->now);
    return rc;
}

/* ---- the state machine ---- */

uint32_t ice_local_pref(const pm_ice_agent *a, uint8_t family)
{
    /* The first host address of a family is preferred (RFC 8445 5.1.2.1). */
    for (size_t i = 0; i < a->nhosts; i++)
        if (a->hosts[i].family == family)
            return (uint32_t)((family == 6 ? ICE_LOCALPREF_V6 : ICE_LOCALPREF_V4) - i);
    return family == 6 ? ICE_LOCALPREF_V6 - ICE_MAX_HOSTS : ICE_LOCALPREF_V4 - ICE_MAX_HOSTS;
}

static void set_state(pm_ice_agent *a, pm_ice_state s)
{
    if (a->state == s)
        return;
    PM_INFO(&a->env, ICE_COMP, "state %s -> %s", state_name(a->state), state_name(s));
    a->state = s;
    ice_push_event(a, PM_ICE_EV_STATE, -1);
}

static bool all_pairs_failed(const pm_ice_agent *a)
{
    if (a->npairs == 0 || a->trig_count || a->npending)
        return false;
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].state != ICE_PAIR_FAILED)
            return false;
    return true;
}

/* Pick the pair data uses: the nominated one, else the best valid one. */
static void select_pair(pm_ice_agent *a, pm_time now)
{
    int sel = a->nominated >= 0 ? a->nominated : ice_best_valid(a);
    if (sel == a->selected)
        return;
    bool lost = sel < 0 && a->selected >= 0;
    a->selected = sel;
    if (lost) {
        /* Lost every valid pair (a failed nomination): give checks time again. */
        a->fail_deadline = now + ICE_CHECKING_TIMEOUT;
        return;
    }
    if (sel < 0)
        return;
    const pm_addr *r = &a->pairs[sel].remote;
    if (!a->reported_selected || !pm_addr_equal(&a->reported_addr, r)) {
        a->reported_selected = true;
        a->reported_addr = *r;
        if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
            char buf[PM_ADDR_STRLEN];
            PM_DEBUG(&a->env, ICE_COMP, "selected pair -> %s%s", pm_addr_format(r, buf, sizeof buf),
                     a->nominated >= 0 ? " (nominated)" : "");
        }
        ice_push_event(a, PM_ICE_EV_SELECTED_PAIR, -1);
    }
    ice_consent_reset(a, now);
}

static void update_state(pm_ice_agent *a, pm_time now)
{
    if (a->state == PM_ICE_FAILED || a->state == PM_ICE_CLOSED)
        return;
    if (a->selected >= 0) {
        if (ice_consent_expired(a, now)) {
            PM_INFO(&a->env, ICE_COMP, "consent expired");
            set_state(a, PM_ICE_FAILED);
        } else if (a->disconnected) {
            set_state(a, PM_ICE_DISCONNECTED);
        } else {
            set_state(a, a->nominated >= 0 ? PM_ICE_COMPLETED : PM_ICE_CONNECTED);
        }
        return;
    }
    if ((a->remote_done && all_pairs_failed(a)) || now >= a->fail_deadline) {
        PM_INFO(&a->env, ICE_COMP, "no valid pair: %s",
                now >= a->fail_deadline ? "checking timed out" : "all checks failed");
        set_state(a, PM_ICE_FAILED);
        return;
    }
    if (a->checks_started)
        set_state(a, PM_ICE_CHECKING);
}

/* Everything that may be due after any input: paced checks, nomination,
 * consent, state. Each step acts only when its own deadline has come. */
void ice_run(pm_ice_agent *a, pm_time now)
{
    a->dirty = false;
    if (a->state == PM_ICE_FAILED || a->state == PM_ICE_CLOSED)
        return;
    if (a->fail_deadline_armed) {
        a->fail_deadline_armed = false;
        if (a->fail_deadline == PM_TIME_NEVER)
            a->fail_deadline = now + ICE_CHECKING_TIMEOUT;
    }
    ice_checks_tick(a, now);
    ice_nominate_tick(a, now);
    select_pair(a, now);
    ice_consent_tick(a, now);
    update_state(a, now);
    if (a->state == PM_ICE_FAILED) {
        /* Stop retransmitting; nothing more goes out. */
        for (int i = 0; i < ICE_MAX_TXN; i++)
            if (a->txns[i].kind == ICE_TXN_CHECK)
                ice_txn_free(a, i);
    }
}

int pm_ice_handle_stun(pm_ice_agent *a, pm_time now, const pm_addr *from, const uint8_t *data,
                       size_t len)
{
    if (!from || !data)
        return PM_ERR_INVALID;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    now = a->now;
    if (a->state == PM_ICE_FAILED)
        return PM_ERR_STATE;
    pm_stun_msg m;
    if (pm_stun_parse(&m, data, len) != PM_OK)
        return PM_ERR_PARSE;
    int rc;
    switch (m.cls) {
    case PM_STUN_REQUEST:
        rc = ice_handle_request(a, now, from, &m);
        break;
    case PM_STUN_SUCCESS:
    case PM_STUN_ERROR:
        rc = ice_handle_response(a, now, from, &m);
        break;
    default:
        rc = PM_OK; /* indications (keepalives) need nothing */
        break;
    }
    ice_run(a, now);
    return rc;
}

int pm_ice_handle_timeout(pm_ice_agent *a, pm_time now)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    now = a->now;
    if (a->state == PM_ICE_FAILED)
        return PM_OK;
    ice_txn_timers(a, now);
    ice_run(a, now);
    return PM_OK;
}

pm_time pm_ice_next_timeout(const pm_ice_agent *a)
{
    if (a->state == PM_ICE_FAILED || a->state == PM_ICE_CLOSED)
        return PM_TIME_NEVER;
    if (a->dirty || a->fail_deadline_armed)
        return a->now;
    pm_time t = PM_TIME_NEVER;
    for (int i = 0; i < ICE_MAX_TXN; i++) {
        const ice_txn *x = &a->txns[i];
        if (x->kind != ICE_TXN_FREE && x->live && x->next < t)
            t = x->next;
    }
    t = PM_MIN(t, ice_checks_deadline(a));
    t = PM_MIN(t, ice_nominate_deadline(a));
    t = PM_MIN(t, ice_consent_deadline(a));
    if (a->selected < 0)
        t = PM_MIN(t, a->fail_deadline);
    return t == PM_TIME_NEVER ? t : PM_MAX(t, a->now);
}

bool pm_ice_selected_remote(const pm_ice_agent *a, pm_addr *remote)
{
    if (a->selected < 0 || a->state == PM_ICE_FAILED || a->state == PM_ICE_CLOSED)
        return false;
    if (remote)
        *remote = a->pairs[a->selected].remote;
    return true;
}

bool pm_ice_is_valid_remote(const pm_ice_agent *a, const pm_addr *from)
{
    if (!from || a->state == PM_ICE_FAILED || a->state == PM_ICE_CLOSED)
        return false;
    if (a->selected >= 0 && pm_addr_equal(&a->pairs[a->selected].remote, from))
        return true; /* the common case first */
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].valid && pm_addr_equal(&a->pairs[i].remote, from))
            return true;
    return false;
}

pm_time pm_ice_rtt(const pm_ice_agent *a)
{
    if (a->selected < 0)
        return -1;
    return a->pairs[a->selected].srtt;
}

pm_ice_state pm_ice_get_state(const pm_ice_agent *a)
{
    return a->state;
}

void pm_ice_close(pm_ice_agent *a)
{
    if (a->state == PM_ICE_CLOSED)
        return;
    while (a->tx.count)
        pm_fifo_pop(&a->tx);
    memset(a->txns, 0, sizeof a->txns);
    set_state(a, PM_ICE_CLOSED);
}
