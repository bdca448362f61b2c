/*
 * Consent freshness (RFC 7675) on the selected pair. A Binding request every
 * consent_interval x uniform(0.8, 1.2); only authenticated success responses
 * renew consent (the remote's own checks do not, RFC 7675 5.1). The requests
 * double as NAT keepalives.
 *
 * DISCONNECTED: no response for disconnected_after AND a request has been
 * outstanding for longer than a grace period. Requiring an unanswered
 * request keeps a healthy pair from flapping when the interval (4-6 s) is
 * longer than disconnected_after (5 s). FAILED: no response for
 * consent_timeout.
 *
 * Following the remote. When the remote's NAT gives it a new mapping (a
 * rebinding, a flushed conntrack), its requests and data reach us from a
 * new address while ours to the old one are lost: the remote keeps its
 * consent, we lose ours. So when the selected pair has a consent request
 * unanswered for ICE_FOLLOW_AFTER and the remote is heard (an authenticated
 * check, or data) on another valid pair of the same local path since it
 * went quiet, that pair becomes the selected (and nominated) one, on either
 * side: the remote's view of the path has not changed, only its address.
 * libwebrtc's controlled side likewise switches to the connection data
 * arrives on. Anything else (both sides moved, a network change) needs an
 * ICE restart.
 */
#include "ice_internal.h"

static pm_time jittered_interval(pm_ice_agent *a)
{
    uint32_t r = pm_random_u32(&a->env) % 401; /* 0..400 -> x0.800..x1.200 */
    return a->consent_interval * (800 + (pm_time)r) / 1000;
}

static pm_time grace(const pm_ice_agent *a)
{
    pm_time srtt = a->selected >= 0 ? a->pairs[a->selected].srtt : -1;
    return PM_MAX(ICE_CONSENT_GRACE, 3 * srtt);
}

void ice_consent_reset(pm_ice_agent *a, pm_time now)
{
    a->consent_next = now + jittered_interval(a);
    if (a->selected >= 0) {
        ice_pair *p = &a->pairs[a->selected];
        if (p->last_response == PM_TIME_NEVER || p->last_response < now - a->consent_interval) {
            /* A newly selected pair that has not answered for a while (it
             * was validated long ago) is asked at once, and its old silence
             * leaves it disconnected_after to answer before consent expires,
             * rather than failing the agent outright (RFC 7675 section 5.1). */
            a->consent_next = now;
            pm_time floor = now - a->consent_timeout + a->disconnected_after;
            if (p->last_response == PM_TIME_NEVER || p->last_response < floor)
                p->last_response = floor;
        }
    }
    a->consent_pending_since = PM_TIME_NEVER;
    a->disconnected = false;
    if (a->consent_txn >= 0)
        ice_txn_cancel(a, a->consent_txn);
}

void ice_consent_response(pm_ice_agent *a, int idx, pm_time now)
{
    (void)now;
    if (idx != a->selected)
        return;
    a->consent_pending_since = PM_TIME_NEVER;
    if (a->disconnected)
        PM_INFO(&a->env, ICE_COMP, "consent regained");
    a->disconnected = false;
}

static bool active(const pm_ice_agent *a)
{
    return a->selected >= 0 && a->have_rcreds &&
           (a->state == PM_ICE_CONNECTED || a->state == PM_ICE_COMPLETED ||
            a->state == PM_ICE_DISCONNECTED || a->state == PM_ICE_CHECKING ||
            a->state == PM_ICE_NEW);
}

static pm_time disconnect_at(const pm_ice_agent *a)
{
    const ice_pair *p = &a->pairs[a->selected];
    return PM_MAX(p->last_response + a->disconnected_after, a->consent_pending_since + grace(a));
}

void ice_consent_tick(pm_ice_agent *a, pm_time now)
{
    if (!active(a))
        return;
    if (now >= a->consent_next) {
        if (a->consent_pending_since == PM_TIME_NEVER)
            a->consent_pending_since = now;
        a->consent_next = now + jittered_interval(a);
        (void)ice_start_check(a, a->selected, now, false, true);
    }
    if (!a->disconnected && a->consent_pending_since != PM_TIME_NEVER && now >= disconnect_at(a)) {
        PM_INFO(&a->env, ICE_COMP, "no consent response for %lld ms",
                (long long)((now - a->pairs[a->selected].last_response) / 1000));
        a->disconnected = true;
    }
}

bool ice_consent_expired(const pm_ice_agent *a, pm_time now)
{
    if (a->selected < 0)
        return false;
    return now - a->pairs[a->selected].last_response >= a->consent_timeout;
}

pm_time ice_consent_deadline(const pm_ice_agent *a)
{
    if (!active(a))
        return PM_TIME_NEVER;
    pm_time t = a->consent_next;
    t = PM_MIN(t, a->pairs[a->selected].last_response + a->consent_timeout);
    if (!a->disconnected && a->consent_pending_since != PM_TIME_NEVER)
        t = PM_MIN(t, disconnect_at(a));
    return t;
}

void ice_consent_heard(pm_ice_agent *a, int idx, pm_time now)
{
    a->pairs[idx].heard = now;
    ice_consent_follow(a, idx, now);
}

void ice_consent_follow(pm_ice_agent *a, int idx, pm_time now)
{
    if (!active(a) || idx == a->selected || a->state == PM_ICE_FAILED)
        return;
    ice_pair *p = &a->pairs[idx];
    const ice_pair *s = &a->pairs[a->selected];
    pm_time since = a->consent_pending_since;
    if (!p->valid || p->via != s->via || since == PM_TIME_NEVER || now - since < ICE_FOLLOW_AFTER ||
        p->heard <= 0 || p->heard < since)
        return;
    if (PM_LOG_ON(&a->env, PM_LOG_INFO)) {
        char from[PM_ADDR_STRLEN], to[PM_ADDR_STRLEN];
        PM_INFO(&a->env, ICE_COMP, "the remote moved from %s to %s: following it",
                pm_addr_format(&s->remote, from, sizeof from),
                pm_addr_format(&p->remote, to, sizeof to));
    }
    if (a->nominated >= 0)
        a->pairs[a->nominated].nominated = false;
    p->nominated = true;
    a->nominated = idx;
    a->dirty = true; /* select_pair() makes it the selected one */
}
