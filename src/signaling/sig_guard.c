/*
 * What keeps one address or one busy minute from costing everyone: the
 * per-address records (connections, and a token bucket of joins: each join
 * or leave fans out to the whole lobby, so churn from one address would
 * otherwise cost O(lobby) per cycle without bound) and the budget of
 * per-event info lines in the log.
 */
#include "signaling/sig_core_internal.h"

#include <stdio.h>

#define TOKEN_UNIT       1000000 /* one message or join, in millionths */
#define INFO_PER_SECOND  20      /* lobby event lines a second, then a count */
#define ADDR_GC_INTERVAL PM_SEC(10)

bool pm_sigsrv_bucket_take(int64_t *tokens, pm_time *at, pm_time now, uint32_t rate, uint32_t burst)
{
    if (!rate)
        return true;
    int64_t cap = (int64_t)burst * TOKEN_UNIT;
    pm_time elapsed = now - *at;
    *at = now;
    if (elapsed > 0) {
        /* Refill at `rate` per second: one microsecond is worth `rate`
         * millionths. Bound first: no overflow. */
        if (elapsed >= cap / (int64_t)rate + 1)
            *tokens = cap;
        else
            *tokens = PM_MIN(cap, *tokens + elapsed * (int64_t)rate);
    }
    if (*tokens < TOKEN_UNIT)
        return false;
    *tokens -= TOKEN_UNIT;
    return true;
}

/* Would the join bucket be full again by `now`? */
static bool bucket_full(const pm_sigsrv *s, const sig_addr *a, pm_time now)
{
    const pm_signal_server_config *cfg = &s->cfg;
    if (!cfg->join_rate)
        return true;
    int64_t cap = (int64_t)cfg->join_burst * TOKEN_UNIT;
    pm_time elapsed = now - a->join_at;
    return elapsed >= cap / (int64_t)cfg->join_rate + 1 ||
           a->join_tokens + elapsed * (int64_t)cfg->join_rate >= cap;
}

sig_addr *pm_sigsrv_addr(pm_sigsrv *s, uint64_t key)
{
    uintptr_t v;
    if (pm_map_get(&s->addresses, key, &v))
        return (sig_addr *)v;
    sig_addr *a = pm_calloc(&s->env, sizeof *a);
    if (!a)
        return NULL;
    a->join_tokens = (int64_t)s->cfg.join_burst * TOKEN_UNIT;
    a->join_at = s->now;
    a->lingering = true; /* until a connection counts on it */
    s->lingering++;
    if (pm_map_put(&s->env, &s->addresses, key, (uintptr_t)a) != PM_OK) {
        s->lingering--;
        pm_free(&s->env, a);
        return NULL;
    }
    return a;
}

void pm_sigsrv_addr_hold(pm_sigsrv *s, sig_addr *a)
{
    if (a->lingering) {
        a->lingering = false;
        s->lingering--;
    }
    a->conns++;
}

static void addr_drop(pm_sigsrv *s, uint64_t key, sig_addr *a)
{
    (void)pm_map_del(&s->addresses, key);
    if (a->lingering)
        s->lingering--;
    pm_free(&s->env, a);
}

void pm_sigsrv_addr_release(pm_sigsrv *s, uint64_t key)
{
    uintptr_t v;
    if (!pm_map_get(&s->addresses, key, &v))
        return;
    sig_addr *a = (sig_addr *)v;
    if (a->conns && --a->conns)
        return;
    /* Its last connection is gone; an address that joined a lot is kept
     * until its bucket refills, or reconnecting would reset it. */
    if (bucket_full(s, a, s->now)) {
        addr_drop(s, key, a);
    } else if (!a->lingering) {
        a->lingering = true;
        s->lingering++;
        if (s->next_addr_gc == PM_TIME_NEVER)
            s->next_addr_gc = s->now + ADDR_GC_INTERVAL;
    }
}

bool pm_sigsrv_join_allowed(pm_sigsrv *s, pm_time now, const sig_conn *c)
{
    if (!s->cfg.join_rate || !c->addr_key)
        return true;
    uintptr_t v;
    if (!pm_map_get(&s->addresses, c->addr_key, &v))
        return true;
    sig_addr *a = (sig_addr *)v;
    return pm_sigsrv_bucket_take(&a->join_tokens, &a->join_at, now, s->cfg.join_rate,
                                 s->cfg.join_burst);
}

void pm_sigsrv_addr_gc(pm_sigsrv *s, pm_time now)
{
    s->next_addr_gc = PM_TIME_NEVER;
    if (!s->lingering)
        return;
    /* Deleting shifts entries back: rescan the slot after a delete. */
    for (size_t i = 0; i < s->addresses.cap;) {
        pm_map_slot *e = &s->addresses.slots[i];
        sig_addr *a = e->used ? (sig_addr *)e->value : NULL;
        if (a && a->lingering && !a->conns && bucket_full(s, a, now)) {
            addr_drop(s, e->key, a);
            continue;
        }
        i++;
    }
    if (s->lingering)
        s->next_addr_gc = now + ADDR_GC_INTERVAL;
}

void pm_sigsrv_addresses_free(pm_sigsrv *s)
{
    for (size_t i = 0; i < s->addresses.cap; i++)
        if (s->addresses.slots[i].used)
            pm_free(&s->env, (void *)s->addresses.slots[i].value);
    pm_map_free(&s->env, &s->addresses);
    s->lingering = 0;
}

bool pm_sigsrv_info_allowed(pm_sigsrv *s)
{
    if (!PM_LOG_ON(&s->env, PM_LOG_INFO))
        return false;
    if (s->now - s->log_window >= PM_SEC(1)) {
        if (s->log_suppressed)
            PM_INFO(&s->env, "signal", "%llu lobby events not logged (over %d a second)",
                    (unsigned long long)s->log_suppressed, INFO_PER_SECOND);
        s->log_window = s->now;
        s->log_lines = 0;
        s->log_suppressed = 0;
    }
    if (s->log_lines < INFO_PER_SECOND) {
        s->log_lines++;
        return true;
    }
    s->log_suppressed++;
    return false;
}
