/*
 * Remote ".local" host candidates (RFC 8838 / draft-ietf-mmusic-mdns-ice-
 * candidates): browsers hide their addresses behind mDNS names. Each such
 * candidate waits here while one-shot mDNS questions (RFC 6762 5.1) go out
 * on the PM_ICE_STREAM_MDNS route; the first answer with an address turns it
 * into an ordinary remote candidate. Without an answer by ICE_MDNS_TIMEOUT
 * it is dropped with a log line: nothing waits for it any longer.
 */
#include "ice_internal.h"

#include "wire/mdns.h"

#include <stdio.h>
#include <strings.h>

static void ask(pm_ice_agent *a, ice_mdns *e, pm_time now)
{
    uint8_t q[PM_MDNS_NAME_MAX + 64];
    int n = pm_mdns_build_query(q, sizeof q, e->name, e->queries == 0);
    if (n > 0) {
        bool v4 = false, v6 = false;
        for (size_t i = 0; i < a->nhosts; i++) {
            v4 |= a->hosts[i].family == 4;
            v6 |= a->hosts[i].family == 6;
        }
        pm_addr group;
        if (v4 || !v6) {
            pm_addr_parse(&group, PM_MDNS_GROUP_V4, PM_MDNS_PORT);
            ice_queue(a, PM_ICE_TX_DATAGRAM, PM_ICE_STREAM_MDNS, &group, q, (size_t)n);
        }
        if (v6) {
            pm_addr_parse(&group, PM_MDNS_GROUP_V6, PM_MDNS_PORT);
            ice_queue(a, PM_ICE_TX_DATAGRAM, PM_ICE_STREAM_MDNS, &group, q, (size_t)n);
        }
    }
    /* 0, 0.5, 1.5, 3.5 s: doubling, as RFC 6762 5.2 does for continuous queries. */
    e->next_query = now + (ICE_MDNS_FIRST_RETRY << e->queries);
    e->queries++;
}

int ice_mdns_add(pm_ice_agent *a, const pm_candidate *c, pm_time now)
{
    if (!a->mdns) { /* the first ".local" candidate: most agents never see one */
        a->mdns = pm_calloc(&a->env, ICE_MAX_MDNS * sizeof *a->mdns);
        if (!a->mdns)
            return PM_ERR_NOMEM;
    }
    ice_mdns *free_slot = NULL;
    for (size_t i = 0; i < ICE_MAX_MDNS; i++) {
        ice_mdns *e = &a->mdns[i];
        if (e->used && e->port == c->addr.port && strcasecmp(e->name, c->hostname) == 0)
            return PM_OK; /* the same candidate again */
        if (!e->used && !free_slot)
            free_slot = e;
    }
    if (!free_slot) {
        PM_INFO(&a->env, ICE_COMP, "too many mDNS candidates being resolved; dropping %s",
                c->hostname);
        return PM_ERR_FULL;
    }
    ice_mdns *e = free_slot;
    memset(e, 0, sizeof *e);
    e->used = true;
    snprintf(e->name, sizeof e->name, "%s", c->hostname);
    e->port = c->addr.port;
    e->type = c->type;
    e->prio = c->priority;
    snprintf(e->foundation, sizeof e->foundation, "%s", c->foundation);
    e->deadline = now + ICE_MDNS_TIMEOUT;
    PM_DEBUG(&a->env, ICE_COMP, "resolving mDNS candidate %s", e->name);
    ask(a, e, now);
    return PM_OK;
}

int pm_ice_handle_mdns(pm_ice_agent *a, pm_time now, const uint8_t *data, size_t len)
{
    if (!data)
        return PM_ERR_INVALID;
    if (a->state == PM_ICE_CLOSED)
        return PM_ERR_CLOSED;
    if (now > a->now)
        a->now = now;
    int rc = PM_OK;
    for (size_t i = 0; a->mdns && i < ICE_MAX_MDNS; i++) {
        ice_mdns *e = &a->mdns[i];
        if (!e->used)
            continue;
        pm_addr addrs[4];
        size_t n = 0;
        rc = pm_mdns_parse_response(data, len, e->name, addrs, PM_ARRAY_LEN(addrs), &n);
        if (rc != PM_OK)
            break; /* malformed, or a question (ours looped back): nothing for anyone */
        bool added = false;
        for (size_t j = 0; j < n; j++) {
            addrs[j].port = e->port;
            bool usable = false;
            for (size_t h = 0; h < a->nhosts; h++)
                usable |= a->hosts[h].family == addrs[j].family;
            if (!usable && !a->relay_only)
                continue;
            if (PM_LOG_ON(&a->env, PM_LOG_DEBUG)) {
                char buf[PM_ADDR_STRLEN];
                PM_DEBUG(&a->env, ICE_COMP, "mDNS: %s is %s", e->name,
                         pm_addr_format(&addrs[j], buf, sizeof buf));
            }
            added |= ice_add_remote(a, &addrs[j], e->type, e->prio, e->foundation) >= 0;
        }
        if (added)
            e->used = false;
    }
    ice_run(a, a->now);
    return rc == PM_ERR_NOT_FOUND ? PM_OK : rc;
}

void ice_mdns_tick(pm_ice_agent *a, pm_time now)
{
    for (size_t i = 0; a->mdns && i < ICE_MAX_MDNS; i++) {
        ice_mdns *e = &a->mdns[i];
        if (!e->used)
            continue;
        if (now >= e->deadline) {
            PM_INFO(&a->env, ICE_COMP, "mDNS candidate %s: no answer in %lld ms; dropped", e->name,
                    (long long)(ICE_MDNS_TIMEOUT / 1000));
            e->used = false;
            a->dirty = true; /* the check list may now be all failed */
            continue;
        }
        if (now >= e->next_query)
            ask(a, e, now);
    }
}

pm_time ice_mdns_deadline(const pm_ice_agent *a)
{
    pm_time t = PM_TIME_NEVER;
    for (size_t i = 0; a->mdns && i < ICE_MAX_MDNS; i++)
        if (a->mdns[i].used)
            t = PM_MIN(t, PM_MIN(a->mdns[i].next_query, a->mdns[i].deadline));
    return t;
}

bool ice_mdns_pending(const pm_ice_agent *a)
{
    for (size_t i = 0; a->mdns && i < ICE_MAX_MDNS; i++)
        if (a->mdns[i].used)
            return true;
    return false;
}

void ice_mdns_clear(pm_ice_agent *a)
{
    if (a->mdns)
        memset(a->mdns, 0, ICE_MAX_MDNS * sizeof *a->mdns);
}
