/*
 * Answering connectivity checks (RFC 8445 7.3): authentication with our own
 * credentials (possible before we know the remote ones), role conflicts,
 * peer-reflexive learning and triggered checks.
 */
#include "ice_internal.h"

#include <stdio.h>

/* Reply to a request. Error responses to unauthenticated requests carry no
 * MESSAGE-INTEGRITY (RFC 8489 9.1.3); everything else is keyed with our pwd. */
static void respond(pm_ice_agent *a, uint8_t via, const pm_addr *to, const pm_stun_msg *req,
                    uint16_t error, const char *pwd)
{
    uint8_t buf[ICE_MAX_MSG];
    pm_stun_builder b;
    uint16_t cls = error ? PM_STUN_ERROR : PM_STUN_SUCCESS;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, cls), req->tid);
    if (error) {
        pm_stun_add_error(&b, error, NULL);
        if (error == PM_STUN_ERR_UNKNOWN_ATTRIBUTE)
            pm_stun_add_unknown(&b, req->unknown, req->unknown_count);
    } else {
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, to);
    }
    int n = pm_stun_finish(&b, (const uint8_t *)pwd, pwd ? strlen(pwd) : 0, true);
    if (n > 0)
        ice_send_via(a, via, to, buf, (size_t)n);
}

void ice_switch_role(pm_ice_agent *a, const char *why)
{
    a->controlling = !a->controlling;
    PM_INFO(&a->env, ICE_COMP, "role conflict (%s): now %s", why,
            a->controlling ? "controlling" : "controlled");
    if (!a->controlling)
        a->nominating = -1;
    ice_update_priorities(a);
    ice_push_event(a, PM_ICE_EV_ROLE_CHANGED, -1);
}

/* RFC 8445 7.3.1.1. Returns true when the request must be answered 487. */
static bool role_conflict(pm_ice_agent *a, const pm_stun_msg *m)
{
    if (a->controlling && m->has_controlling) {
        if (a->tiebreaker >= m->controlling)
            return true;
        ice_switch_role(a, "remote controlling with a larger tie-breaker");
    } else if (!a->controlling && m->has_controlled) {
        if (a->tiebreaker >= m->controlled)
            ice_switch_role(a, "remote controlled with a smaller tie-breaker");
        else
            return true;
    }
    return false;
}

/* Check before the remote credentials are known: remember its source so a
 * peer-reflexive candidate can be created once they arrive. */
static void remember_pending(pm_ice_agent *a, uint8_t via, const pm_addr *from,
                             const pm_stun_msg *m, const uint8_t *rufrag, size_t rlen)
{
    ice_pending *e = NULL;
    for (size_t i = 0; i < a->npending; i++)
        if (a->pending[i].via == via && pm_addr_equal(&a->pending[i].from, from))
            e = &a->pending[i];
    if (!e) {
        if (a->npending == ICE_MAX_PENDING)
            return; /* bounded: the remote's own checks will retry */
        e = &a->pending[a->npending++];
        memset(e, 0, sizeof *e);
        e->from = *from;
        e->via = via;
    }
    e->priority = m->priority;
    e->use_candidate |= m->use_candidate;
    e->rufrag_crc = pm_crc32(rufrag, rlen);
    e->rufrag_len = rlen;
}

/* The pair for a check that came from `from` on path `via`; a source we
 * know nothing of becomes a peer-reflexive candidate paired with that path
 * only (RFC 8445 7.3.1.3, 7.3.1.4). */
static int pair_for_check(pm_ice_agent *a, uint8_t via, const pm_addr *from, uint32_t priority)
{
    int idx = ice_pair_find(a, via, from);
    if (idx >= 0)
        return idx;
    /* RFC 8445 7.3.1.3: any foundation unique among the remote candidates. */
    char foundation[16];
    snprintf(foundation, sizeof foundation, "prflx%u", a->prflx_count + 1);
    int r = ice_add_remote(a, from, PM_CAND_PRFLX, priority, foundation);
    if (r < 0)
        return r;
    if (a->remotes[r].type == PM_CAND_PRFLX && strcmp(a->remotes[r].foundation, foundation) == 0) {
        a->prflx_count++;
        if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
            char buf[PM_ADDR_STRLEN];
            PM_DEBUG(&a->env, ICE_COMP, "learned peer-reflexive candidate %s%s",
                     pm_addr_format(from, buf, sizeof buf), via ? " through a relay" : "");
        }
    }
    return ice_pair_add(a, via, r);
}

/* RFC 8445 7.3.1.4 triggered checks and 7.3.1.5 nomination (controlled). */
static void on_check(pm_ice_agent *a, int idx, bool use_candidate, pm_time now)
{
    ice_pair *p = &a->pairs[idx];
    ice_consent_heard(a, idx, now);
    switch (p->state) {
    case ICE_PAIR_SUCCEEDED:
        break;
    case ICE_PAIR_IN_PROGRESS:
        if (p->txn >= 0 && a->nominating == idx)
            break; /* our nomination is in flight on it */
        if (p->txn >= 0)
            ice_txn_cancel(a, p->txn);
        p->state = ICE_PAIR_WAITING;
        ice_trigger(a, idx);
        break;
    case ICE_PAIR_FAILED:
    case ICE_PAIR_FROZEN:
    case ICE_PAIR_WAITING:
        p->state = ICE_PAIR_WAITING;
        ice_trigger(a, idx);
        break;
    }
    if (use_candidate && !a->controlling) {
        p->remote_nominated = true;
        if (p->valid)
            ice_set_nominated(a, idx);
    }
}

void ice_adopt_pending(pm_ice_agent *a)
{
    size_t rlen = strlen(a->rufrag);
    uint32_t crc = pm_crc32((const uint8_t *)a->rufrag, rlen);
    for (size_t i = 0; i < a->npending; i++) {
        const ice_pending *e = &a->pending[i];
        if (e->rufrag_len != rlen || e->rufrag_crc != crc)
            continue; /* a check from some other session */
        int idx = pair_for_check(a, e->via, &e->from, e->priority);
        if (idx >= 0)
            on_check(a, idx, e->use_candidate, a->now);
    }
    a->npending = 0;
}

/* Which of our credentials a USERNAME "<ours>:<theirs>" names: the
 * current ones, or during a restart the previous ones. NULL: neither. */
static const char *local_pwd_for(const pm_ice_agent *a, const pm_stun_bytes *u, size_t *ul)
{
    const char *ufrags[2] = {a->lufrag, a->restarting ? a->old_lufrag : ""};
    const char *pwds[2] = {a->lpwd, a->old_lpwd};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(ufrags[i]);
        if (n && u->len > n && memcmp(u->p, ufrags[i], n) == 0 && u->p[n] == ':') {
            *ul = n;
            return pwds[i];
        }
    }
    return NULL;
}

int ice_handle_request(pm_ice_agent *a, pm_time now, uint8_t via, const pm_addr *from,
                       const pm_stun_msg *m)
{
    if (m->method != PM_STUN_BINDING)
        return PM_ERR_UNSUPPORTED; /* TURN and others are not for the agent */
    if (via == 0 && a->relay_only)
        return PM_ERR_STATE; /* relay policy: the socket takes no checks */
    if (!m->has_username || !m->integrity_off) {
        respond(a, via, from, m, PM_STUN_ERR_BAD_REQUEST, NULL);
        return PM_ERR_PARSE;
    }
    size_t ul = 0;
    const char *pwd = local_pwd_for(a, &m->username, &ul);
    if (!pwd) {
        respond(a, via, from, m, PM_STUN_ERR_UNAUTHORIZED, NULL);
        return PM_ERR_AUTH;
    }
    if (pm_stun_check_integrity(m, (const uint8_t *)pwd, strlen(pwd)) != PM_OK) {
        PM_DEBUG(&a->env, ICE_COMP, "check with bad MESSAGE-INTEGRITY");
        respond(a, via, from, m, PM_STUN_ERR_UNAUTHORIZED, NULL);
        return PM_ERR_AUTH;
    }
    if (m->unknown_count) {
        respond(a, via, from, m, PM_STUN_ERR_UNKNOWN_ATTRIBUTE, pwd);
        return PM_ERR_UNSUPPORTED;
    }
    if (!m->has_priority) { /* RFC 8445 7.1.1: PRIORITY is mandatory */
        respond(a, via, from, m, PM_STUN_ERR_BAD_REQUEST, pwd);
        return PM_ERR_PARSE;
    }
    if (role_conflict(a, m)) {
        respond(a, via, from, m, PM_STUN_ERR_ROLE_CONFLICT, pwd);
        return PM_OK;
    }
    respond(a, via, from, m, 0, pwd);
    if (pwd != a->lpwd)
        return PM_OK; /* an old-credential check (consent during a restart): answered only */

    const uint8_t *rufrag = m->username.p + ul + 1;
    size_t rlen = m->username.len - ul - 1;
    if (!a->have_rcreds) {
        remember_pending(a, via, from, m, rufrag, rlen);
        return PM_OK;
    }
    if (rlen != strlen(a->rufrag) || memcmp(rufrag, a->rufrag, rlen) != 0)
        return PM_OK; /* answered, but not from the session we know */
    int idx = pair_for_check(a, via, from, m->priority);
    if (idx < 0)
        return PM_OK; /* table full: answered, not learned */
    on_check(a, idx, m->use_candidate, now);
    return PM_OK;
}
