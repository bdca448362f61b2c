/*
 * Candidate gathering (RFC 8445 5.1.1): host candidates for the configured
 * addresses (all served by the one socket), server-reflexive candidates
 * from Binding requests to the STUN servers (sent through the same socket)
 * and from TURN Allocate responses, and relayed candidates (turn.c). Under
 * the relay-only policy only relayed candidates are reported.
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

bool ice_have_local(const pm_ice_agent *a, const pm_addr *addr)
{
    for (size_t i = 0; i < a->nlocal; i++)
        if (pm_addr_equal(&a->local[i].addr, addr))
            return true;
    return false;
}

/* Add a local candidate and report it. `base` is the socket address for
 * host and server-reflexive candidates (also written as raddr/rport), the
 * server-reflexive address for a relayed one (RFC 8839 5.1: raddr of a
 * relayed candidate), or NULL. local_pref 0 = the base's. Returns the
 * index in local[], or -1 (table full, or not reported under the policy). */
int ice_add_local(pm_ice_agent *a, pm_cand_type type, uint8_t via, const pm_addr *addr,
                  const pm_addr *base, const pm_addr *server, uint32_t local_pref)
{
    if (a->nlocal == ICE_MAX_LOCAL || (a->relay_only && type != PM_CAND_RELAY))
        return -1;
    if (a->nlocal == a->local_cap) {
        ice_local *grown = ice_grow(a, a->local, &a->local_cap, ICE_MAX_LOCAL, sizeof *grown);
        if (!grown)
            return -1;
        a->local = grown;
    }
    ice_local *l = &a->local[a->nlocal];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->via = via;
    l->addr = *addr;
    l->base = base ? *base : *addr;
    if (!local_pref)
        local_pref = base_local_pref(a, &l->base);
    l->priority = (type_pref(type) << 24) | (local_pref << 8) | (256 - ICE_COMPONENT);
    pm_candidate c;
    memset(&c, 0, sizeof c);
    snprintf(c.foundation, sizeof c.foundation, "%u",
             foundation(type, type == PM_CAND_RELAY ? addr : &l->base, server));
    c.component = ICE_COMPONENT;
    c.transport = PM_CAND_UDP;
    c.priority = l->priority;
    c.type = type;
    c.addr = *addr;
    if (type != PM_CAND_HOST) {
        c.has_related = true;
        if (base) {
            c.related = *base;
        } else { /* Chrome's "raddr 0.0.0.0 rport 0" when there is none */
            memset(&c.related, 0, sizeof c.related);
            c.related.family = addr->family;
        }
    }
    if (pm_candidate_format(&c, l->line, sizeof l->line) < 0)
        return -1;
    PM_DEBUG(&a->env, ICE_COMP, "local %s", l->line);
    ice_push_event(a, PM_ICE_EV_LOCAL_CANDIDATE, (int)a->nlocal);
    return (int)a->nlocal++;
}

static const pm_addr *host_of_family(const pm_ice_agent *a, uint8_t family)
{
    for (size_t i = 0; i < a->nhosts; i++)
        if (a->hosts[i].family == family)
            return &a->hosts[i];
    return NULL;
}

void ice_check_gathering_done(pm_ice_agent *a)
{
    if (a->gathering_done || !a->gathering_started)
        return;
    for (size_t i = 0; i < a->nservers; i++)
        if (!a->servers[i].done)
            return;
    if (!ice_turn_done(a))
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

static void query_stun_servers(pm_ice_agent *a, pm_time now)
{
    for (size_t i = 0; i < a->nservers; i++) {
        ice_server *s = &a->servers[i];
        s->done = false;
        if (a->relay_only || !host_of_family(a, s->addr.family)) {
            s->done = true; /* not wanted, or no socket address of that family */
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
}

int ice_gather_start(pm_ice_agent *a, pm_time now)
{
    a->gathering_started = true;
    for (size_t i = 0; i < a->nhosts; i++)
        ice_add_local(a, PM_CAND_HOST, 0, &a->hosts[i], NULL, NULL, 0);
    query_stun_servers(a, now);
    ice_turn_start(a, now);
    ice_check_gathering_done(a);
    return PM_OK;
}

/* ICE restart: every candidate is reported again (the remote forgets the
 * old ones); server-reflexive ones are asked for again (a NAT may have
 * changed its mapping), relayed ones after a Refresh (turn.c). */
void ice_gather_restart(pm_ice_agent *a, pm_time now)
{
    for (int i = 0; i < (int)a->ntxns; i++)
        if (a->txns[i].kind == ICE_TXN_SERVER)
            ice_txn_free(a, i);
    a->gathering_done = false;
    a->nlocal = 0;
    for (size_t i = 0; i < a->nhosts; i++)
        ice_add_local(a, PM_CAND_HOST, 0, &a->hosts[i], NULL, NULL, 0);
    query_stun_servers(a, now);
    ice_turn_restart(a, now);
    ice_check_gathering_done(a);
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
        ice_check_gathering_done(a);
        return;
    }
    const pm_addr *base = host_of_family(a, mapped->family);
    /* RFC 8445 5.1.3: drop a srflx equal to a host or another srflx. */
    if (base && !ice_have_local(a, mapped))
        ice_add_local(a, PM_CAND_SRFLX, 0, mapped, base, &s->addr, 0);
    ice_check_gathering_done(a);
}

void ice_gather_timeout(pm_ice_agent *a, int ti)
{
    ice_txn *t = &a->txns[ti];
    PM_DEBUG(&a->env, ICE_COMP, "STUN server %d did not answer", t->target);
    a->servers[t->target].done = true;
    ice_check_gathering_done(a);
}
