/*
 * Nomination (RFC 8445 8.1). Controlling: regular nomination — once a pair
 * is valid, repeat the check on the best valid pair with USE-CANDIDATE. We
 * do it as soon as no better pair is still being checked (or after a short
 * wait), not after a long timer: setup latency matters. Controlled: accept
 * USE-CANDIDATE on any check (as aggressive nomination did) and nominate a
 * pair once it is also valid.
 */
#include "ice_internal.h"

int ice_best_valid(const pm_ice_agent *a)
{
    int best = -1;
    for (size_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].valid && (best < 0 || a->pairs[i].prio > a->pairs[best].prio))
            best = (int)i;
    return best;
}

/* A pair better than `best` that may still become valid. */
static bool better_pending(const pm_ice_agent *a, int best)
{
    for (size_t i = 0; i < a->npairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->used && p->prio > a->pairs[best].prio && !p->valid &&
            (p->state == ICE_PAIR_WAITING || p->state == ICE_PAIR_FROZEN ||
             p->state == ICE_PAIR_IN_PROGRESS))
            return true;
    }
    return false;
}

void ice_set_nominated(pm_ice_agent *a, int idx)
{
    ice_pair *p = &a->pairs[idx];
    /* With several nominations (controlled side) the best one wins. */
    if (a->nominated >= 0 && a->nominated != idx && a->pairs[a->nominated].prio >= p->prio)
        return;
    if (a->nominated >= 0)
        a->pairs[a->nominated].nominated = false;
    p->nominated = true;
    a->nominated = idx;
    if (a->nominating == idx)
        a->nominating = -1;
    PM_DEBUG(&a->env, ICE_COMP, "pair nominated (%s)", a->controlling ? "by us" : "by remote");
    /* RFC 8445 8.1.2: stop checks that can no longer change the outcome. */
    for (size_t i = 0; i < a->npairs; i++) {
        ice_pair *q = &a->pairs[i];
        if (q->used && (int)i != idx && q->txn >= 0 && a->controlling)
            ice_txn_cancel(a, q->txn);
    }
}

void ice_on_valid(pm_ice_agent *a, int idx, pm_time now)
{
    (void)idx;
    if (a->first_valid == PM_TIME_NEVER)
        a->first_valid = now;
}

void ice_nominate_tick(pm_ice_agent *a, pm_time now)
{
    if (!a->controlling || a->nominated >= 0 || a->nominating >= 0 || !a->have_rcreds)
        return;
    int best = ice_best_valid(a);
    if (best < 0)
        return;
    if (better_pending(a, best) && now < a->first_valid + ICE_NOMINATION_WAIT)
        return;
    /* Not paced: one extra request on a pair that just answered. */
    a->nominating = best;
    if (ice_start_check(a, best, now, true, false) != PM_OK)
        a->nominating = -1;
}

pm_time ice_nominate_deadline(const pm_ice_agent *a)
{
    if (!a->controlling || a->nominated >= 0 || a->nominating >= 0 || !a->have_rcreds)
        return PM_TIME_NEVER;
    int best = ice_best_valid(a);
    if (best < 0)
        return PM_TIME_NEVER;
    return better_pending(a, best) ? a->first_valid + ICE_NOMINATION_WAIT : a->now;
}
