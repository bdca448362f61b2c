/*
 * Lobbies of the signaling core: create/join, peer announcements, leave,
 * seal, relay (GODOT-SEMANTICS.md section 3).
 *
 * Announcements. In a mesh lobby everybody is told of everybody, as the
 * demo does. In a client/server lobby a client is told only of the host
 * and the host of every client (as the GDScript server, not the Node one,
 * whose extra PEER_CONNECTs make Godot 4's create_client() peers fail), and
 * a client may only send to the host.
 *
 * The effects (who is told what) are primitives shared with the cluster
 * (sig_cluster.c), where a lobby is a replica and its members may be on
 * other nodes (remote records, told nothing here: their node tells them).
 * On one node the decisions are taken here, at once; in a cluster Redis
 * takes them and every node applies the same events in the same order.
 */
#include "signaling/sig_core_internal.h"
#include "signaling/token.h"

#include <stdio.h>

static const char ALFNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void pm_sigsrv_random_name(pm_sigsrv *s, char *out, size_t n)
{
    /* From the environment's (cryptographic by default) random source; the
     * demo used Math.random. Rejection sampling keeps the 62 characters
     * equally likely. */
    size_t i = 0;
    while (i < n) {
        uint8_t buf[32];
        if (pm_random(&s->env, buf, sizeof buf) != PM_OK)
            memset(buf, 0, sizeof buf);
        for (size_t k = 0; k < sizeof buf && i < n; k++)
            if (buf[k] < 248) /* 248 = 4 * 62 */
                out[i++] = ALFNUM[buf[k] % 62];
    }
    out[n] = 0;
}

sig_lobby *pm_sigsrv_lobby_find(const pm_sigsrv *s, const char *name, size_t len)
{
    uintptr_t v;
    if (len > PM_SIG_MAX_LOBBY_NAME || !pm_map_get(&s->lobbies, pm_hash_bytes(name, len), &v))
        return NULL;
    sig_lobby *l = (sig_lobby *)v;
    /* Same hash is not the same name. */
    return strlen(l->name) == len && memcmp(l->name, name, len) == 0 ? l : NULL;
}

sig_lobby *pm_sigsrv_lobby_new(pm_sigsrv *s, const char *name, bool mesh)
{
    sig_lobby *l = pm_calloc(&s->env, sizeof *l);
    if (!l)
        return NULL;
    if (name) {
        snprintf(l->name, sizeof l->name, "%s", name);
        l->key = pm_hash_bytes(l->name, strlen(l->name));
        if (pm_map_get(&s->lobbies, l->key, NULL))
            l->key = 0; /* a clashing hash would hide the other lobby */
    } else {
        /* 62^16 names: a clash is astronomically rare, but a clashing hash
         * would hide the other lobby, so draw again. */
        for (int tries = 0; tries < 16; tries++) {
            pm_sigsrv_random_name(s, l->name, SIG_LOBBY_NAME_LEN);
            l->key = pm_hash_bytes(l->name, SIG_LOBBY_NAME_LEN);
            if (!pm_map_get(&s->lobbies, l->key, NULL))
                break;
            l->key = 0;
        }
    }
    if (!l->key || pm_map_put(&s->env, &s->lobbies, l->key, (uintptr_t)l) != PM_OK) {
        pm_free(&s->env, l);
        return NULL;
    }
    l->mesh = mesh;
    l->host_id = 1;
    return l;
}

static void unseal_list(pm_sigsrv *s, sig_lobby *l)
{
    if (!l->sealed)
        return;
    if (l->seal_prev)
        l->seal_prev->seal_next = l->seal_next;
    else if (s->seal_head == l)
        s->seal_head = l->seal_next;
    if (l->seal_next)
        l->seal_next->seal_prev = l->seal_prev;
    else if (s->seal_tail == l)
        s->seal_tail = l->seal_prev;
    l->seal_prev = l->seal_next = NULL;
}

static void free_records(pm_sigsrv *s, sig_lobby *l)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->members[i]->remote)
            pm_free(&s->env, l->members[i]);
    pm_sigsrv_cluster_lobby_free(s, l);
    pm_free(&s->env, l->members);
}

void pm_sigsrv_lobby_destroy(pm_sigsrv *s, sig_lobby *l)
{
    unseal_list(s, l);
    (void)pm_map_del(&s->lobbies, l->key);
    if (pm_sigsrv_info_allowed(s))
        PM_INFO(&s->env, "signal", "lobby %s closed", l->name);
    free_records(s, l);
    pm_free(&s->env, l);
}

void pm_sigsrv_lobbies_free(pm_sigsrv *s)
{
    for (size_t i = 0; i < s->lobbies.cap; i++) {
        if (!s->lobbies.slots[i].used)
            continue;
        sig_lobby *l = (sig_lobby *)s->lobbies.slots[i].value;
        free_records(s, l);
        pm_free(&s->env, l);
    }
}

sig_conn *pm_sigsrv_member(const sig_lobby *l, int32_t id, size_t *at)
{
    for (size_t i = 0; i < l->count; i++) {
        if (l->members[i]->peer_id == id) {
            if (at)
                *at = i;
            return l->members[i];
        }
    }
    return NULL;
}

/* 2..2^31-1, unique in the lobby (the demo's abs(int32) could be 0, 1 or a
 * duplicate). */
static int32_t new_peer_id(pm_sigsrv *s, const sig_lobby *l)
{
    for (;;) {
        int32_t id = (int32_t)(pm_random_u32(&s->env) & SIG_ID_MAX);
        if (id >= 2 && !pm_sigsrv_member(l, id, NULL))
            return id;
    }
}

int pm_sigsrv_lobby_add(pm_sigsrv *s, sig_lobby *l, sig_conn *c)
{
    if (l->count == l->cap) {
        size_t n = l->cap ? l->cap * 2 : 4;
        sig_conn **m = pm_realloc(&s->env, l->members, n * sizeof *m);
        if (!m)
            return PM_ERR_NOMEM;
        l->members = m;
        l->cap = n;
    }
    l->members[l->count++] = c;
    c->lobby = l;
    if (!c->remote)
        s->stats.peers_in_lobbies++;
    return PM_OK;
}

/* Take the member at `at` out (the order of the others is kept). */
void pm_sigsrv_lobby_remove_at(pm_sigsrv *s, sig_lobby *l, size_t at)
{
    sig_conn *c = l->members[at];
    memmove(&l->members[at], &l->members[at + 1], (l->count - at - 1) * sizeof *l->members);
    l->count--;
    c->lobby = NULL;
    if (!c->remote)
        s->stats.peers_in_lobbies--;
}

/* The ICE servers this peer gets with its id: STUN URLs as they are, TURN
 * URLs with fresh REST credentials. Empty when none are configured. */
static void build_ice(pm_sigsrv *s, pm_time now, const sig_conn *c, pm_buf *out)
{
    out->len = 0;
    const pm_signal_server_config *cfg = &s->cfg;
    if (!cfg->stun_url_count && !cfg->turn_url_count)
        return;
    int rc = pm_buf_append(&s->env, out, "[", 1);
    if (rc == PM_OK && cfg->stun_url_count)
        rc = pm_sig_ice_json_append(&s->env, out, cfg->stun_urls, cfg->stun_url_count, NULL, NULL);
    if (rc == PM_OK && cfg->turn_url_count) {
        char user[96], pass[64], who[16];
        int64_t expiry = pm_sigsrv_unix_now(s, now) + cfg->turn_ttl / 1000000;
        snprintf(who, sizeof who, "%d", (int)c->peer_id);
        rc = pm_sig_turn_credentials(cfg->turn_secret, who, expiry, user, sizeof user, pass,
                                     sizeof pass);
        if (rc == PM_OK)
            rc = pm_sig_ice_json_append(&s->env, out, cfg->turn_urls, cfg->turn_url_count, user,
                                        pass);
        if (rc == PM_OK)
            s->stats.turn_credentials++;
    }
    if (rc == PM_OK)
        rc = pm_buf_append(&s->env, out, "]", 1);
    if (rc != PM_OK)
        out->len = 0;
}

bool pm_sigsrv_announced_to(const sig_lobby *l, const sig_conn *a, const sig_conn *b)
{
    return l->mesh || a->peer_id == 1 || b->peer_id == 1;
}

void pm_sigsrv_announce_join(pm_sigsrv *s, pm_time now, sig_lobby *l, sig_conn *c)
{
    /* The demo's order: ID, then PEER_CONNECTs both ways for each member,
     * then JOIN with the lobby name. Members on other nodes are told by
     * their node (pm_sigsrv_send skips them). */
    if (!c->remote) {
        pm_buf ice = {0};
        build_ice(s, now, c, &ice);
        const char *mesh_flag = l->mesh ? "true" : "";
        pm_sigsrv_send(s, c, PM_SIGMSG_ID, c->peer_id, mesh_flag, strlen(mesh_flag),
                       ice.len ? (const char *)ice.data : NULL, ice.len);
        pm_buf_free(&s->env, &ice);
    }
    for (size_t i = 0; i < l->count; i++) {
        sig_conn *p = l->members[i];
        if (p == c || p->departed || !pm_sigsrv_announced_to(l, p, c))
            continue;
        pm_sigsrv_send(s, p, PM_SIGMSG_PEER_CONNECT, c->peer_id, NULL, 0, NULL, 0);
        pm_sigsrv_send(s, c, PM_SIGMSG_PEER_CONNECT, p->peer_id, NULL, 0, NULL, 0);
    }
    if (l->host_id != 1) /* ours: who took over from the first host */
        pm_sigsrv_send(s, c, PM_SIGMSG_HOST, l->host_id, NULL, 0, NULL, 0);
    pm_sigsrv_send(s, c, PM_SIGMSG_JOIN, 0, l->name, strlen(l->name), NULL, 0);
    PM_DEBUG(&s->env, "signal", "peer %d joined lobby %s (%zu peers)", (int)c->peer_id, l->name,
             l->count);
}

void pm_sigsrv_announce_leave(pm_sigsrv *s, sig_lobby *l, const sig_conn *c)
{
    /* Also after a seal, as the demo's Node server. */
    for (size_t i = 0; i < l->count; i++)
        if (l->members[i] != c && pm_sigsrv_announced_to(l, l->members[i], c))
            pm_sigsrv_send(s, l->members[i], PM_SIGMSG_PEER_DISCONNECT, c->peer_id, NULL, 0, NULL,
                           0);
}

void pm_sigsrv_announce_host(pm_sigsrv *s, sig_lobby *l, int32_t next)
{
    l->host_id = next;
    s->stats.host_migrations++;
    for (size_t i = 0; i < l->count; i++)
        pm_sigsrv_send(s, l->members[i], PM_SIGMSG_HOST, next, NULL, 0, NULL, 0);
    if (pm_sigsrv_info_allowed(s))
        PM_INFO(&s->env, "signal", "lobby %s: %d is the host now", l->name, (int)next);
}

void pm_sigsrv_close_members(pm_sigsrv *s, sig_lobby *l, int code, const char *reason)
{
    while (l->count) {
        sig_conn *m = l->members[l->count - 1];
        pm_sigsrv_lobby_remove_at(s, l, l->count - 1);
        if (m->remote)
            pm_free(&s->env, m);
        else
            pm_sigsrv_close_conn(s, m, code, reason);
    }
}

void pm_sigsrv_mark_sealed(pm_sigsrv *s, pm_time now, sig_lobby *l)
{
    l->sealed = true;
    l->sealed_at = now;
    l->seal_prev = s->seal_tail;
    if (s->seal_tail)
        s->seal_tail->seal_next = l;
    else
        s->seal_head = l;
    s->seal_tail = l;
    s->stats.seals++;
    for (size_t i = 0; i < l->count; i++)
        pm_sigsrv_send(s, l->members[i], PM_SIGMSG_SEAL, 0, NULL, 0, NULL, 0);
    if (pm_sigsrv_info_allowed(s))
        PM_INFO(&s->env, "signal", "lobby %s sealed with %zu peers", l->name, l->count);
}

/* ---- one node: the decisions ---- */

void pm_sigsrv_join(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name, size_t name_len,
                    bool mesh)
{
    sig_lobby *l;
    bool create = name_len == 0;
    /* The demo's checks, in its order; it let a peer already in a lobby
     * join another by name (GODOT-SEMANTICS.md 3.1), which we refuse. In a
     * cluster the lobby count is the cluster's, checked by Redis. */
    if (create && !s->cluster && s->lobbies.count >= s->cfg.max_lobbies) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_LOBBIES);
        return;
    }
    if (c->lobby || c->joining) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_ALREADY_IN_LOBBY);
        return;
    }
    if (!pm_sigsrv_join_allowed(s, now, c)) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_RATE, STR_JOIN_RATE);
        return;
    }
    if (s->cluster) {
        pm_sigsrv_cluster_join(s, now, c, name, name_len, mesh);
        return;
    }
    if (create) {
        l = pm_sigsrv_lobby_new(s, NULL, mesh);
        if (!l) {
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_LOBBIES);
            return;
        }
        s->stats.lobbies_total++;
        if (pm_sigsrv_info_allowed(s))
            PM_INFO(&s->env, "signal", "lobby %s created (%s)", l->name,
                    mesh ? "mesh" : "client/server");
    } else {
        l = pm_sigsrv_lobby_find(s, name, name_len);
        if (!l) {
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_DOES_NOT_EXISTS);
            return;
        }
        if (l->sealed) {
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_IS_SEALED);
            return;
        }
        if (l->count >= s->cfg.max_lobby_peers) {
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
            return;
        }
    }
    c->peer_id = create ? 1 : new_peer_id(s, l);
    if (pm_sigsrv_lobby_add(s, l, c) != PM_OK) {
        if (create)
            pm_sigsrv_lobby_destroy(s, l);
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
        return;
    }
    pm_sigsrv_unpend(s, c);
    pm_sigsrv_announce_join(s, now, l, c);
}

void pm_sigsrv_create_named(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                            size_t name_len, bool mesh)
{
    const char *refusal = NULL;
    if (c->lobby || c->joining)
        refusal = STR_ALREADY_IN_LOBBY;
    else if (!pm_sig_lobby_name_valid(name, name_len))
        refusal = STR_LOBBY_NAME_BAD;
    if (refusal) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, refusal);
        return;
    }
    if (!pm_sigsrv_join_allowed(s, now, c)) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_RATE, STR_JOIN_RATE);
        return;
    }
    if (s->cluster) {
        pm_sigsrv_cluster_create_named(s, now, c, name, name_len, mesh);
        return;
    }
    char lobby[PM_SIG_MAX_LOBBY_NAME + 1];
    memcpy(lobby, name, name_len);
    lobby[name_len] = 0;
    sig_lobby *l = NULL;
    if (s->lobbies.count >= s->cfg.max_lobbies)
        refusal = STR_TOO_MANY_LOBBIES;
    else if (pm_sigsrv_lobby_find(s, name, name_len))
        refusal = STR_LOBBY_EXISTS;
    else if (!(l = pm_sigsrv_lobby_new(s, lobby, mesh)))
        refusal = STR_LOBBY_EXISTS; /* a clash of hashes, or no memory */
    if (refusal) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, refusal);
        return;
    }
    s->stats.lobbies_total++;
    if (pm_sigsrv_info_allowed(s))
        PM_INFO(&s->env, "signal", "lobby %s created by name (%s)", l->name,
                mesh ? "mesh" : "client/server");
    /* Its creator is its first member and host, as with JOIN "". */
    c->peer_id = 1;
    if (pm_sigsrv_lobby_add(s, l, c) != PM_OK) {
        pm_sigsrv_lobby_destroy(s, l);
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
        return;
    }
    pm_sigsrv_unpend(s, c);
    pm_sigsrv_announce_join(s, now, l, c);
}

void pm_sigsrv_leave(pm_sigsrv *s, sig_conn *c)
{
    sig_lobby *l = c->lobby;
    if (s->cluster) {
        pm_sigsrv_cluster_leave(s, c);
        return;
    }
    size_t at;
    if (!pm_sigsrv_member(l, c->peer_id, &at))
        return;
    pm_sigsrv_lobby_remove_at(s, l, at);
    if (c->peer_id == l->host_id && s->cfg.host_migration && l->mesh && l->count) {
        /* The host left a mesh lobby where others remain: the lowest id
         * takes over. Everyone hears of the old host leaving, then of the
         * new one. */
        int32_t next = SIG_ID_MAX;
        for (size_t i = 0; i < l->count; i++)
            next = PM_MIN(next, l->members[i]->peer_id);
        pm_sigsrv_announce_leave(s, l, c);
        pm_sigsrv_announce_host(s, l, next);
        return;
    }
    if (c->peer_id == l->host_id) {
        /* No host migration (as the demo): everyone goes, the lobby too. */
        pm_sigsrv_close_members(s, l, PM_SIGNAL_CLOSE_PROTOCOL, STR_HOST_DISCONNECTED);
        pm_sigsrv_lobby_destroy(s, l);
        return;
    }
    pm_sigsrv_announce_leave(s, l, c);
}

void pm_sigsrv_seal(pm_sigsrv *s, pm_time now, sig_conn *c)
{
    sig_lobby *l = c->lobby;
    if (c->peer_id != l->host_id) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_ONLY_HOST_CAN_SEAL);
        return;
    }
    /* A second SEAL changes nothing (the demo armed a second timer). */
    if (l->sealed)
        return;
    if (s->cluster) {
        pm_sigsrv_cluster_seal(s, c);
        return;
    }
    pm_sigsrv_mark_sealed(s, now, l);
}

void pm_sigsrv_seal_expire(pm_sigsrv *s, sig_lobby *l)
{
    unseal_list(s, l);
    if (s->cluster)
        pm_sigsrv_cluster_seal_expired(s, l);
    pm_sigsrv_close_members(s, l, PM_SIGNAL_CLOSE_NORMAL, STR_SEAL_COMPLETE);
    pm_sigsrv_lobby_destroy(s, l);
}

void pm_sigsrv_relay(pm_sigsrv *s, sig_conn *c, const pm_sigmsg *m)
{
    sig_lobby *l = c->lobby;
    sig_conn *dest = NULL;
    /* Exactly a peer of this lobby other than the sender, and one the
     * sender was told about; the source id is ours to stamp, never the
     * sender's to choose. */
    if (m->id >= 1 && m->id <= SIG_ID_MAX && m->id != c->peer_id)
        dest = pm_sigsrv_member(l, (int32_t)m->id, NULL);
    if (!dest || dest->departed || !pm_sigsrv_announced_to(l, c, dest)) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_INVALID_DEST);
        return;
    }
    s->stats.relayed[m->type - PM_SIGMSG_OFFER]++;
    s->stats.relayed_bytes += m->data_len;
    if (dest->remote)
        pm_sigsrv_cluster_relay(s, c, dest, m);
    else
        pm_sigsrv_send(s, dest, m->type, c->peer_id, m->data, m->data_len, NULL, 0);
}
