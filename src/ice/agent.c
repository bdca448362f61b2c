/*
 * ICE agent lifecycle, credentials, restart, remote candidates, the event,
 * transmit and relayed-data queues, the state machine and the timer entry
 * points.
 */
#include "ice_internal.h"

#include "wire/mdns.h"

#include <stdio.h>

static const char *state_name(pm_ice_state s)
{
    static const char *names[] = {"new",          "checking", "connected", "completed",
                                  "disconnected", "failed",   "closed"};
    return (unsigned)s < PM_ARRAY_LEN(names) ? names[s] : "?";
}

const char *pm_ice_turn_transport_name(int transport)
{
    switch (transport) {
    case PM_ICE_TURN_UDP:
        return "udp";
    case PM_ICE_TURN_TCP:
        return "tcp";
    case PM_ICE_TURN_TLS:
        return "tls";
    default:
        return "none";
    }
}

static void add_hosts(pm_ice_agent *a, const pm_ice_config *cfg)
{
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
            PM_WARN(&a->env, ICE_COMP, "more than %d host addresses; ignoring the rest",
                    ICE_MAX_HOSTS);
            break;
        }
        a->hosts[a->nhosts++] = *h;
    }
}

void *ice_grow(pm_ice_agent *a, void *arr, size_t *cap, size_t max, size_t size)
{
    if (*cap >= max)
        return NULL;
    size_t n = *cap ? PM_MIN(*cap * 2, max) : PM_MIN((size_t)ICE_GROW_FIRST, max);
    uint8_t *p = pm_realloc(&a->env, arr, n * size);
    if (!p) {
        PM_WARN(&a->env, ICE_COMP, "out of memory growing a table to %zu entries", n);
        return NULL;
    }
    memset(p + *cap * size, 0, (n - *cap) * size);
    *cap = n;
    return p;
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
    a->relay_only = cfg->relay_only;
    a->resolve_mdns = cfg->resolve_mdns;
    a->tiebreaker = pm_random_u64(env);
    pm_random_ice_chars(env, a->lufrag, ICE_UFRAG_LEN);
    pm_random_ice_chars(env, a->lpwd, ICE_PWD_LEN);
    a->ta = cfg->ta > 0 ? cfg->ta : ICE_DEFAULT_TA;
    a->consent_interval = cfg->consent_interval > 0 ? cfg->consent_interval : ICE_DEFAULT_CONSENT;
    a->consent_timeout = cfg->consent_timeout > 0 ? cfg->consent_timeout : ICE_DEFAULT_CONSENT_TO;
    a->disconnected_after =
        cfg->disconnected_after > 0 ? cfg->disconnected_after : ICE_DEFAULT_DISCONNECT;
    add_hosts(a, cfg);
    for (size_t i = 0; i < cfg->stun_server_count && cfg->stun_servers; i++) {
        if (a->nservers == ICE_MAX_SERVERS) {
            PM_WARN(env, ICE_COMP, "more than %d STUN servers; ignoring the rest", ICE_MAX_SERVERS);
            break;
        }
        a->servers[a->nservers++].addr = cfg->stun_servers[i];
    }
    if (ice_turn_init(a, cfg->turn_servers, cfg->turn_servers ? cfg->turn_server_count : 0) !=
        PM_OK) {
        pm_free(env, a);
        return PM_ERR_NOMEM;
    }
    if (a->relay_only && a->nturn == 0)
        PM_WARN(env, ICE_COMP, "relay-only policy without a TURN server: nothing can connect");
    a->last_check = INT64_MIN / 4; /* "long ago": the first check may go at once */
    a->fail_deadline = PM_TIME_NEVER;
    a->selected = a->nominated = a->nominating = -1;
    a->consent_txn = -1;
    a->consent_next = PM_TIME_NEVER;
    a->consent_pending_since = PM_TIME_NEVER;
    a->first_valid = PM_TIME_NEVER;
    pm_fifo_init(&a->tx, ICE_TX_LIMIT);
    pm_fifo_init(&a->app, ICE_APP_LIMIT);
    *out = a;
    return PM_OK;
}

void pm_ice_agent_free(pm_ice_agent *a)
{
    if (!a)
        return;
    pm_envr env = a->env;
    ice_turn_free(a);
    pm_fifo_free(&env, &a->tx);
    pm_fifo_free(&env, &a->app);
    pm_buf_free(&env, &a->tx_taken);
    pm_buf_free(&env, &a->app_taken);
    pm_free(&env, a->local);
    pm_free(&env, a->remotes);
    pm_free(&env, a->pairs);
    pm_free(&env, a->txns);
    pm_free(&env, a->mdns);
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

/* ---- events ---- */

void ice_push_event(pm_ice_agent *a, pm_ice_event_type type, int local)
{
    if (a->ev_count == ICE_MAX_EVENTS) {
        /* Only a caller that never polls gets here; keep the newest. */
        PM_WARN(&a->env, ICE_COMP, "event queue full; dropping the oldest event");
        a->ev_head = (a->ev_head + 1) % ICE_MAX_EVENTS;
        a->ev_count--;
    }
    ice_event *e = &a->ev[(a->ev_head + a->ev_count) % ICE_MAX_EVENTS];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->state = a->state;
    e->local = local;
    a->ev_count++;
}

void ice_push_error(pm_ice_agent *a, int turn, int code, const char *fmt, ...)
{
    char *text = a->turn[turn].err_text;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof a->turn[turn].err_text, fmt, ap);
    va_end(ap);
    PM_WARN(&a->env, ICE_COMP, "TURN server %s: %s", a->turn[turn].url, text);
    ice_push_event(a, PM_ICE_EV_SERVER_ERROR, turn);
    a->ev[(a->ev_head + a->ev_count - 1) % ICE_MAX_EVENTS].code = code;
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
    if (e->type == PM_ICE_EV_SERVER_ERROR && e->local >= 0 && (size_t)e->local < a->nturn) {
        snprintf(a->ev_text, sizeof a->ev_text, "%s", a->turn[e->local].err_text);
        ev->server = e->local;
        ev->error_code = e->code;
        ev->text = a->ev_text;
        ev->url = a->turn[e->local].url;
    }
    return true;
}

/* ---- output ---- */

void ice_queue(pm_ice_agent *a, pm_ice_tx_kind kind, uint32_t stream, const pm_addr *to,
               const uint8_t *msg, size_t len)
{
    ice_route r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    r.stream = stream;
    if (to)
        r.to = *to;
    int rc = pm_fifo_push(&a->env, &a->tx, 0, &r, sizeof r, msg, len);
    if (rc)
        PM_DEBUG(&a->env, ICE_COMP, "transmit queue full (%s); dropping a message",
                 pm_strerror(rc));
}

void ice_send(pm_ice_agent *a, const pm_addr *to, const uint8_t *msg, size_t len)
{
    ice_queue(a, PM_ICE_TX_DATAGRAM, PM_ICE_STREAM_UDP, to, msg, len);
}

void ice_send_via(pm_ice_agent *a, uint8_t via, const pm_addr *to, const uint8_t *msg, size_t len)
{
    if (via == 0)
        ice_send(a, to, msg, len);
    else
        ice_turn_wrap_send(a, via, to, msg, len);
}

bool pm_ice_poll_transmit(pm_ice_agent *a, pm_ice_transmit *out)
{
    const uint8_t *rec;
    size_t rlen;
    if (!pm_fifo_peek(&a->tx, NULL, &rec, &rlen))
        return false;
    ice_route r;
    a->tx_taken.len = 0;
    int rc = rlen >= sizeof r ? pm_buf_append(&a->env, &a->tx_taken, rec, rlen) : PM_ERR_PARSE;
    pm_fifo_pop(&a->tx);
    if (rc != PM_OK)
        return false;
    memcpy(&r, a->tx_taken.data, sizeof r);
    memset(out, 0, sizeof *out);
    out->kind = (pm_ice_tx_kind)r.kind;
    out->stream = r.stream;
    out->to = r.to;
    out->data = a->tx_taken.data + sizeof r;
    out->len = rlen - sizeof r;
    return true;
}

bool pm_ice_poll_app(pm_ice_agent *a, pm_ice_app *app)
{
    const uint8_t *rec;
    size_t rlen;
    uint32_t via;
    if (!pm_fifo_peek(&a->app, &via, &rec, &rlen))
        return false;
    a->app_taken.len = 0;
    int rc =
        rlen >= sizeof(pm_addr) ? pm_buf_append(&a->env, &a->app_taken, rec, rlen) : PM_ERR_PARSE;
    pm_fifo_pop(&a->app);
    if (rc != PM_OK)
        return false;
    app->via = (uint8_t)via;
    memcpy(&app->from, a->app_taken.data, sizeof(pm_addr));
    app->data = a->app_taken.data + sizeof(pm_addr);
    app->len = rlen - sizeof(pm_addr);
    return true;
}

/* ---- credentials, restart and remote candidates ---- */

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

static void set_state(pm_ice_agent *a, pm_ice_state s)
{
    if (a->state == s)
        return;
    PM_INFO(&a->env, ICE_COMP, "state %s -> %s", state_name(a->state), state_name(s));
    a->state = s;
    ice_push_event(a, PM_ICE_EV_STATE, -1);
}

int pm_ice_set_remote_credentials(pm_ice_agent *a, const char *ufrag, const char *pwd,
                                  bool ice_lite)
{
    if (!ice_chars_ok(ufrag, ICE_UFRAG_MIN, ICE_CRED_MAX) ||
        !ice_chars_ok(pwd, ICE_PWD_MIN, ICE_CRED_MAX))
        return PM_ERR_INVALID;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    bool same = a->have_rcreds && strcmp(a->rufrag, ufrag) == 0 && strcmp(a->rpwd, pwd) == 0;
    if (same && !a->restarting)
        return PM_OK;
    if (a->have_rcreds) {
        if (!a->restarting) {
            PM_WARN(&a->env, ICE_COMP, "remote credentials changed without an ICE restart");
            return PM_ERR_STATE;
        }
        if (same) {
            PM_WARN(&a->env, ICE_COMP, "ICE restart: the remote kept its credentials");
            return PM_ERR_INVALID; /* RFC 8445 9: a restart changes both sides' */
        }
        /* The remote restarted too: a new check list (RFC 8445 9). */
        ice_clear_checklist(a);
        PM_INFO(&a->env, ICE_COMP, "ICE restart: new remote credentials, checks start over");
    }
    snprintf(a->rufrag, sizeof a->rufrag, "%s", ufrag);
    snprintf(a->rpwd, sizeof a->rpwd, "%s", pwd);
    a->have_rcreds = true;
    a->remote_lite = ice_lite;
    if (a->restarting) {
        a->restarting = false;
        a->old_lufrag[0] = a->old_lpwd[0] = '\0';
        if (a->state == PM_ICE_FAILED || a->state == PM_ICE_DISCONNECTED ||
            a->state == PM_ICE_CONNECTED || a->state == PM_ICE_COMPLETED)
            set_state(a, PM_ICE_CHECKING);
    }
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

int pm_ice_restart(pm_ice_agent *a, pm_time now)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    if (!a->restarting) {
        /* Checks with the old credentials keep being answered until the
         * remote's new ones arrive (it may not have restarted yet). */
        memcpy(a->old_lufrag, a->lufrag, sizeof a->lufrag);
        memcpy(a->old_lpwd, a->lpwd, sizeof a->lpwd);
    }
    pm_random_ice_chars(&a->env, a->lufrag, ICE_UFRAG_LEN);
    pm_random_ice_chars(&a->env, a->lpwd, ICE_PWD_LEN);
    a->restarting = true;
    a->remote_done = false;
    a->npending = 0;
    ice_mdns_clear(a);
    PM_INFO(&a->env, ICE_COMP, "ICE restart: new local credentials");
    if (a->gathering_started)
        ice_gather_restart(a, a->now);
    a->dirty = true;
    return PM_OK;
}

bool pm_ice_has_remote_credentials(const pm_ice_agent *a, const char *ufrag, const char *pwd)
{
    return a->have_rcreds && ufrag && pwd && strcmp(a->rufrag, ufrag) == 0 &&
           strcmp(a->rpwd, pwd) == 0;
}

bool pm_ice_restarting(const pm_ice_agent *a)
{
    return a->restarting;
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
    if (c.transport != PM_CAND_UDP || c.component != ICE_COMPONENT) {
        PM_DEBUG(&a->env, ICE_COMP, "ignoring remote candidate (%s, component %u)",
                 c.transport == PM_CAND_UDP ? "udp" : "not udp", c.component);
        return PM_ERR_UNSUPPORTED;
    }
    if (now > a->now)
        a->now = now;
    if (c.hostname[0]) {
        if (!a->resolve_mdns || !pm_mdns_is_local_name(c.hostname)) {
            PM_DEBUG(&a->env, ICE_COMP, "ignoring remote candidate with host name %s", c.hostname);
            return PM_ERR_UNSUPPORTED;
        }
        if (c.addr.port == 0)
            return PM_ERR_UNSUPPORTED;
        int rc = ice_mdns_add(a, &c, a->now);
        a->dirty = true;
        return rc;
    }
    static const uint8_t zero[16];
    if (c.addr.port == 0 || memcmp(c.addr.ip, zero, c.addr.family == 4 ? 4 : 16) == 0)
        return PM_ERR_UNSUPPORTED;
    if (a->state == PM_ICE_FAILED && !a->restarting)
        return PM_ERR_STATE;
    int r = ice_add_remote(a, &c.addr, c.type, c.priority, c.foundation);
    if (r < 0)
        return r;
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

static bool all_pairs_failed(const pm_ice_agent *a)
{
    if (a->trig_count || a->npending || ice_mdns_pending(a) || !ice_turn_done(a))
        return false;
    bool any = false; /* no pair at all: checks from the remote may still come */
    for (size_t i = 0; i < a->npairs; i++) {
        if (a->pairs[i].used && a->pairs[i].state != ICE_PAIR_FAILED)
            return false;
        any |= a->pairs[i].used;
    }
    return any;
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
    a->have_prev = false; /* a restart found its new pair */
    const ice_pair *p = &a->pairs[sel];
    if (!a->reported_selected || a->reported_via != p->via ||
        !pm_addr_equal(&a->reported_addr, &p->remote)) {
        a->reported_selected = true;
        a->reported_via = p->via;
        a->reported_addr = p->remote;
        if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
            char buf[PM_ADDR_STRLEN];
            PM_DEBUG(&a->env, ICE_COMP, "selected pair -> %s via %s%s",
                     pm_addr_format(&p->remote, buf, sizeof buf), p->via ? "relay" : "socket",
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
    if (a->restarting)
        return; /* waiting for the remote's new credentials: keep the state */
    if (a->relay_only && a->gathering_done && !ice_turn_any_ready(a)) {
        PM_INFO(&a->env, ICE_COMP, "relay-only policy and no relayed candidate: nothing to try");
        set_state(a, PM_ICE_FAILED);
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

/* Everything that may be due after any input: TURN upkeep, mDNS questions,
 * paced checks, nomination, consent, state. Each step acts only when its
 * own deadline has come. A FAILED agent keeps its TURN allocations (a
 * restart may bring it back) but checks nothing. */
void ice_run(pm_ice_agent *a, pm_time now)
{
    a->dirty = false;
    if (a->state == PM_ICE_CLOSED)
        return;
    ice_turn_tick(a, now);
    ice_mdns_tick(a, now);
    if (a->state == PM_ICE_FAILED)
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
        /* Stop retransmitting checks and STUN queries; nothing more goes out
         * for them (TURN allocations stay for a restart). */
        for (int i = 0; i < (int)a->ntxns; i++) {
            if (a->txns[i].kind == ICE_TXN_SERVER)
                a->servers[a->txns[i].target].done = true;
            if (a->txns[i].kind == ICE_TXN_CHECK || a->txns[i].kind == ICE_TXN_SERVER)
                ice_txn_free(a, i);
        }
        ice_check_gathering_done(a);
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
    pm_stun_msg m;
    if (pm_stun_parse(&m, data, len) != PM_OK)
        return PM_ERR_PARSE;
    int rc;
    switch (m.cls) {
    case PM_STUN_REQUEST:
        rc = a->state == PM_ICE_FAILED ? PM_ERR_STATE : ice_handle_request(a, now, 0, from, &m);
        break;
    case PM_STUN_SUCCESS:
    case PM_STUN_ERROR:
        rc = ice_handle_response(a, now, 0, from, &m);
        break;
    default:
        rc = PM_OK; /* indications (keepalives) need nothing */
        break;
    }
    ice_run(a, now);
    return rc;
}

/* Application data from another valid pair than the selected one: the
 * remote may have moved (consent.c). Ask the selected pair for consent now
 * rather than at the next interval, and once that goes unanswered follow
 * the remote. The common case (data on the selected pair) costs one
 * address comparison. */
static void note_app(pm_ice_agent *a, pm_time now, const pm_ice_app *app)
{
    if (a->selected < 0)
        return;
    const ice_pair *s = &a->pairs[a->selected];
    if (s->via == app->via && pm_addr_equal(&s->remote, &app->from))
        return;
    int idx = ice_pair_find(a, app->via, &app->from);
    if (idx < 0 || !a->pairs[idx].valid)
        return;
    now = PM_MAX(now, a->now);
    if (a->consent_pending_since == PM_TIME_NEVER) {
        if (a->consent_next > now) {
            a->consent_next = now;
            a->dirty = true;
        }
        return;
    }
    ice_consent_heard(a, idx, now);
}

int pm_ice_handle_datagram(pm_ice_agent *a, pm_time now, const pm_addr *from, const uint8_t *data,
                           size_t len, pm_ice_app *app)
{
    if (!from || !data || !app)
        return PM_ERR_INVALID;
    app->len = 0;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    int k = ice_turn_for_server(a, from);
    if (k >= 0) {
        if (now > a->now)
            a->now = now;
        int rc = ice_turn_datagram(a, a->now, k, data, len, app);
        if (app->len)
            note_app(a, a->now, app);
        ice_run(a, a->now);
        return rc;
    }
    if (len > 0 && data[0] <= 3) /* RFC 7983: STUN */
        return pm_ice_handle_stun(a, now, from, data, len);
    if (a->relay_only)
        return PM_ERR_STATE; /* nothing comes straight to the socket under this policy */
    app->via = 0;
    app->from = *from;
    app->data = data;
    app->len = len;
    note_app(a, now, app);
    return PM_OK;
}

int pm_ice_handle_timeout(pm_ice_agent *a, pm_time now)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    now = a->now;
    ice_txn_timers(a, now);
    ice_run(a, now);
    return PM_OK;
}

pm_time pm_ice_next_timeout(const pm_ice_agent *a)
{
    if (a->state == PM_ICE_CLOSED)
        return PM_TIME_NEVER;
    bool failed = a->state == PM_ICE_FAILED; /* only TURN and mDNS upkeep goes on */
    if (!failed && (a->dirty || a->fail_deadline_armed))
        return a->now;
    pm_time t = PM_TIME_NEVER;
    for (int i = 0; i < (int)a->ntxns; i++) {
        const ice_txn *x = &a->txns[i];
        if (x->kind != ICE_TXN_FREE && x->live && x->next < t)
            t = x->next;
    }
    t = PM_MIN(t, ice_turn_deadline(a));
    t = PM_MIN(t, ice_mdns_deadline(a));
    if (!failed) {
        t = PM_MIN(t, ice_checks_deadline(a));
        t = PM_MIN(t, ice_nominate_deadline(a));
        t = PM_MIN(t, ice_consent_deadline(a));
        if (a->selected < 0 && !a->restarting)
            t = PM_MIN(t, a->fail_deadline);
    }
    return t == PM_TIME_NEVER ? t : PM_MAX(t, a->now);
}

/* ---- the selected path ---- */

bool pm_ice_selected_path(const pm_ice_agent *a, uint8_t *via, pm_addr *remote)
{
    if (a->state == PM_ICE_CLOSED)
        return false;
    if (a->selected >= 0 && a->state != PM_ICE_FAILED) {
        if (via)
            *via = a->pairs[a->selected].via;
        if (remote)
            *remote = a->pairs[a->selected].remote;
        return true;
    }
    if (a->have_prev) {
        if (via)
            *via = a->prev_via;
        if (remote)
            *remote = a->prev_remote;
        return true;
    }
    return false;
}

bool pm_ice_selected_remote(const pm_ice_agent *a, pm_addr *remote)
{
    return pm_ice_selected_path(a, NULL, remote);
}

bool pm_ice_is_valid_path(const pm_ice_agent *a, uint8_t via, const pm_addr *from)
{
    if (!from || a->state == PM_ICE_CLOSED)
        return false;
    if (a->selected >= 0 && a->pairs[a->selected].via == via &&
        pm_addr_equal(&a->pairs[a->selected].remote, from))
        return a->state != PM_ICE_FAILED; /* the common case first */
    if (a->have_prev && a->prev_via == via && pm_addr_equal(&a->prev_remote, from))
        return true;
    if (a->state == PM_ICE_FAILED)
        return false;
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].valid && a->pairs[i].via == via && pm_addr_equal(&a->pairs[i].remote, from))
            return true;
    return false;
}

bool pm_ice_is_valid_remote(const pm_ice_agent *a, const pm_addr *from)
{
    return pm_ice_is_valid_path(a, 0, from);
}

bool pm_ice_selected_info(const pm_ice_agent *a, pm_ice_pair_info *info)
{
    if (a->selected < 0 || a->state == PM_ICE_CLOSED) {
        if (a->have_prev && a->state != PM_ICE_CLOSED) {
            *info = a->prev_info;
            return true;
        }
        return false;
    }
    const ice_pair *p = &a->pairs[a->selected];
    memset(info, 0, sizeof *info);
    info->remote = p->remote;
    info->remote_type = a->remotes[p->r].type;
    info->rtt = p->srtt;
    info->relay_transport = -1;
    if (p->via) {
        const ice_turn *t = ice_turn_of_via(a, p->via);
        info->local_type = PM_CAND_RELAY;
        info->local = t ? t->relayed : p->remote;
        info->relay_transport = t ? (int)t->transport : -1;
        return true;
    }
    /* Through the socket: how the remote sees us (the mapped address of
     * our last successful check) tells host, srflx or prflx apart. */
    info->local_type = PM_CAND_PRFLX;
    info->local = p->mapped;
    for (size_t i = 0; i < a->nlocal; i++) {
        const ice_local *l = &a->local[i];
        if (l->via == 0 && pm_addr_equal(&l->addr, &p->mapped)) {
            info->local_type = l->type;
            break;
        }
    }
    if (p->mapped.family == 0) { /* never answered (nominated by the remote only) */
        info->local_type = PM_CAND_HOST;
        for (size_t i = 0; i < a->nhosts; i++)
            if (a->hosts[i].family == p->remote.family) {
                info->local = a->hosts[i];
                break;
            }
    }
    return true;
}

pm_time pm_ice_rtt(const pm_ice_agent *a)
{
    if (a->selected < 0)
        return a->have_prev ? a->prev_info.rtt : -1;
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
    while (a->app.count)
        pm_fifo_pop(&a->app);
    if (a->txns)
        memset(a->txns, 0, a->ntxns * sizeof *a->txns);
    ice_turn_close(a); /* releases allocations: that output stays queued */
    ice_mdns_clear(a);
    a->have_prev = false;
    set_state(a, PM_ICE_CLOSED);
}
