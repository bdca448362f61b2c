/*
 * Candidate gathering (RFC 8445 5.1.1): host candidates for the configured
 * addresses (all served by the one socket), then server-reflexive
 * candidates from Binding requests to the STUN servers, sent through the
 * same socket.
 */
#include "ice_internal.h"

#include <stdio.h>

static uint32_t type_pref(pm_cand_type t)
{
    switch (t) {
    case PM_CAND_HOST:
        return ICE_TYPEPREF_HOST;
    case PM_CAND_PRFLX:
        return ICE_TYPEPREF_PRFLX;
    case PM_CAND_SRFLX:
        return ICE_TYPEPREF_SRFLX;
    case PM_CAND_RELAY:
        return ICE_TYPEPREF_RELAY;
    }
    return 0;
}

/* RFC 8445 5.1.1.3: same type, base IP and server -> same foundation.
 * A CRC of those is stable across calls and sessions, like Chrome's. */
static uint32_t foundation(pm_cand_type type, const pm_addr *base, const pm_addr *server)
{
    uint8_t key[1 + 2 * 17] = {(uint8_t)type};
    key[1] = base->family;
    memcpy(key + 2, base->ip, 16);
    if (server) {
        key[18] = server->family;
        memcpy(key + 19, server->ip, 16);
    }
    return pm_crc32(key, sizeof key);
}

/* Each host address gets its own local preference (RFC 8445 5.1.2.1):
 * by family (IPv6 first), then in configuration order. */
static uint32_t base_local_pref(const pm_ice_agent *a, const pm_addr *base)
{
    for (size_t i = 0; i < a->nhosts; i++)
        if (pm_addr_equal(&a->hosts[i], base))
            return (uint32_t)((base->family == 6 ? ICE_LOCALPREF_V6 : ICE_LOCALPREF_V4) - i);
    return ice_local_pref(a, base->family);
}

static void add_local(pm_ice_agent *a, pm_cand_type type, const pm_addr *addr, const pm_addr *base,
                      const pm_addr *server)
{
    if (a->nlocal == ICE_MAX_LOCAL)
        return;
    ice_local *l = &a->local[a->nlocal];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->addr = *addr;
    l->base = *base;
    l->priority = (type_pref(type) << 24) | (base_local_pref(a, base) << 8) | (256 - ICE_COMPONENT);
    pm_candidate c;
    memset(&c, 0, sizeof c);
    snprintf(c.foundation, sizeof c.foundation, "%u", foundation(type, base, server));
    c.component = ICE_COMPONENT;
    c.transport = PM_CAND_UDP;
    c.priority = l->priority;
    c.type = type;
    c.addr = *addr;
    if (type != PM_CAND_HOST) {
        c.has_related = true;
        c.related = *base;
    }
    if (pm_candidate_format(&c, l->line, sizeof l->line) < 0)
        return;
    PM_DEBUG(&a->env, ICE_COMP, "local %s", l->line);
    ice_push_event(a, PM_ICE_EV_LOCAL_CANDIDATE, (int)a->nlocal);
    a->nlocal++;
}

static const pm_addr *host_of_family(const pm_ice_agent *a, uint8_t family)
{
    for (size_t i = 0; i < a->nhosts; i++)
        if (a->hosts[i].family == family)
            return &a->hosts[i];
    return NULL;
}

static void check_done(pm_ice_agent *a)
{
    if (a->gathering_done)
        return;
    for (size_t i = 0; i < a->nservers; i++)
        if (!a->servers[i].done)
            return;
    a->gathering_done = true;
    PM_DEBUG(&a->env, ICE_COMP, "gathering done (%zu local candidates)", a->nlocal);
    ice_push_event(a, PM_ICE_EV_GATHERING_DONE, -1);
}

void ice_server_transmit(pm_ice_agent *a, ice_txn *t)
{
    uint8_t buf[64];
    pm_stun_builder b;
    pm_stun_begin(&b, buf, sizeof buf, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), t->tid);
    int n = pm_stun_finish(&b, NULL, 0, true);
    if (n > 0)
        ice_send(a, &a->servers[t->target].addr, buf, (size_t)n);
}

int ice_gather_start(pm_ice_agent *a, pm_time now)
{
    a->gathering_started = true;
    for (size_t i = 0; i < a->nhosts; i++)
        add_local(a, PM_CAND_HOST, &a->hosts[i], &a->hosts[i], NULL);
    for (size_t i = 0; i < a->nservers; i++) {
        ice_server *s = &a->servers[i];
        if (!host_of_family(a, s->addr.family)) {
            s->done = true; /* no socket address of that family */
            continue;
        }
        int ti = ice_txn_alloc(a, ICE_TXN_SERVER, (int)i, now);
        if (ti < 0) {
            s->done = true;
            continue;
        }
        ice_txn *t = &a->txns[ti];
        t->max_sends = ICE_SERVER_SENDS;
        t->rto = ICE_SERVER_RTO;
        t->rto_max = ICE_SERVER_RTO_MAX;
        ice_txn_transmit(a, ti, now);
    }
    check_done(a);
    return PM_OK;
}

void ice_gather_response(pm_ice_agent *a, int ti, const pm_addr *from, const pm_stun_msg *m)
{
    ice_txn *t = &a->txns[ti];
    ice_server *s = &a->servers[t->target];
    if (!pm_addr_equal(from, &s->addr))
        return; /* a response must come from the server we asked */
    ice_txn_free(a, ti);
    s->done = true;
    const pm_addr *mapped = m->has_xor_mapped ? &m->xor_mapped : m->has_mapped ? &m->mapped : NULL;
    if (m->cls != PM_STUN_SUCCESS || !mapped) {
        PM_DEBUG(&a->env, ICE_COMP, "STUN server answered with error %u", m->error_code);
        check_done(a);
        return;
    }
    const pm_addr *base = host_of_family(a, mapped->family);
    bool redundant = !base;
    /* RFC 8445 5.1.3: drop a srflx equal to a host or another srflx. */
    for (size_t i = 0; i < a->nlocal && !redundant; i++)
        redundant = pm_addr_equal(&a->local[i].addr, mapped);
    if (!redundant)
        add_local(a, PM_CAND_SRFLX, mapped, base, &s->addr);
    check_done(a);
}

void ice_gather_timeout(pm_ice_agent *a, int ti)
{
    ice_txn *t = &a->txns[ti];
    PM_DEBUG(&a->env, ICE_COMP, "STUN server %d did not answer", t->target);
    a->servers[t->target].done = true;
    check_done(a);
}
