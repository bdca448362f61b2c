/*
 * Lobbies of the signaling core: create/join, peer announcements, leave,
 * seal, relay (GODOT-SEMANTICS.md section 3).
 *
 * Announcements. In a mesh lobby everybody is told of everybody, as the
 * demo does. In a client/server lobby a client is told only of the host
 * and the host of every client (as the GDScript server, not the Node one,
 * whose extra PEER_CONNECTs make Godot 4's create_client() peers fail), and
 * a client may only send to the host.
 */
#include "signaling/sig_core_internal.h"
#include "signaling/token.h"

#include <stdio.h>

static const char ALFNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Random lobby name from the environment's (cryptographic by default)
 * random source; the demo used Math.random. Rejection sampling keeps the 62
 * characters equally likely. */
static void random_name(pm_sigsrv *s, char *out, size_t n)
{
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

static sig_lobby *lobby_find(const pm_sigsrv *s, const char *name, size_t len)
{
    uintptr_t v;
    if (len > PM_SIG_MAX_LOBBY_NAME || !pm_sig_map_get(&s->lobbies, pm_sig_hash(name, len), &v))
        return NULL;
    sig_lobby *l = (sig_lobby *)v;
    /* Same hash is not the same name. */
    return strlen(l->name) == len && memcmp(l->name, name, len) == 0 ? l : NULL;
}

/* A new lobby: named `name` (named lobbies), or with a random name when NULL. */
static sig_lobby *lobby_create(pm_sigsrv *s, bool mesh, const char *name, size_t name_len)
{
    sig_lobby *l = pm_calloc(&s->env, sizeof *l);
    if (!l)
        return NULL;
    if (name) {
        memcpy(l->name, name, name_len);
        l->key = pm_sig_hash(l->name, name_len);
        if (pm_sig_map_get(&s->lobbies, l->key, NULL))
            l->key = 0; /* another name with the same hash: refused as taken */
    }
    /* 62^16 names: a clash is astronomically rare, but a clashing hash
     * would hide the other lobby, so draw again. */
    for (int tries = 0; !name && tries < 16; tries++) {
        random_name(s, l->name, SIG_LOBBY_NAME_LEN);
        l->key = pm_sig_hash(l->name, SIG_LOBBY_NAME_LEN);
        if (!pm_sig_map_get(&s->lobbies, l->key, NULL))
            break;
        l->key = 0;
    }
    if (!l->key || pm_sig_map_put(&s->env, &s->lobbies, l->key, (uintptr_t)l) != PM_OK) {
        pm_free(&s->env, l);
        return NULL;
    }
    l->mesh = mesh;
    s->stats.lobbies_total++;
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

static void lobby_destroy(pm_sigsrv *s, sig_lobby *l)
{
    unseal_list(s, l);
    (void)pm_sig_map_del(&s->lobbies, l->key);
    PM_INFO(&s->env, "signal", "lobby %s closed", l->name);
    pm_free(&s->env, l->members);
    pm_free(&s->env, l);
}

void pm_sigsrv_lobbies_free(pm_sigsrv *s)
{
    for (size_t i = 0; i < s->lobbies.cap; i++) {
        if (!s->lobbies.slots[i].used)
            continue;
        sig_lobby *l = (sig_lobby *)s->lobbies.slots[i].value;
        pm_free(&s->env, l->members);
        pm_free(&s->env, l);
    }
}

static bool id_taken(const sig_lobby *l, int32_t id)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->members[i]->peer_id == id)
            return true;
    return false;
}

/* 2..2^31-1, unique in the lobby (the demo's abs(int32) could be 0, 1 or a
 * duplicate). */
static int32_t new_peer_id(pm_sigsrv *s, const sig_lobby *l)
{
    for (;;) {
        int32_t id = (int32_t)(pm_random_u32(&s->env) & SIG_ID_MAX);
        if (id >= 2 && !id_taken(l, id))
            return id;
    }
}

static int add_member(pm_sigsrv *s, sig_lobby *l, sig_conn *c)
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
    return PM_OK;
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

/* Does `a` learn about `b` (and may it address it)? */
static bool announced_to(const sig_lobby *l, const sig_conn *a, const sig_conn *b)
{
    return l->mesh || a->peer_id == 1 || b->peer_id == 1;
}

void pm_sigsrv_join(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name, size_t name_len,
                    bool mesh)
{
    sig_lobby *l;
    bool create = name_len == 0;
    /* The demo's checks, in its order; it let a peer already in a lobby
     * join another by name (GODOT-SEMANTICS.md 3.1), which we refuse. */
    if (create && s->lobbies.count >= s->cfg.max_lobbies) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_LOBBIES);
        return;
    }
    if (c->lobby) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_ALREADY_IN_LOBBY);
        return;
    }
    if (create) {
        l = lobby_create(s, mesh, NULL, 0);
        if (!l) {
            pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_TOO_MANY_LOBBIES);
            return;
        }
        PM_INFO(&s->env, "signal", "lobby %s created (%s)", l->name,
                mesh ? "mesh" : "client/server");
    } else {
        l = lobby_find(s, name, name_len);
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
    /* The first member of a lobby is its host: the creator (a named lobby is
     * created empty, then joined). */
    bool first = l->count == 0;
    c->peer_id = first ? 1 : new_peer_id(s, l);
    if (add_member(s, l, c) != PM_OK) {
        if (first)
            lobby_destroy(s, l);
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_LOBBY_FULL);
        return;
    }
    c->lobby = l;
    pm_sigsrv_unpend(s, c);
    s->stats.peers_in_lobbies++;

    /* The demo's order: ID, then PEER_CONNECTs both ways for each member,
     * then JOIN with the lobby name. */
    pm_buf ice = {0};
    build_ice(s, now, c, &ice);
    const char *mesh_flag = l->mesh ? "true" : "";
    pm_sigsrv_send(s, c, PM_SIGMSG_ID, c->peer_id, mesh_flag, strlen(mesh_flag),
                   ice.len ? (const char *)ice.data : NULL, ice.len);
    pm_buf_free(&s->env, &ice);
    for (size_t i = 0; i + 1 < l->count; i++) {
        sig_conn *p = l->members[i];
        if (!announced_to(l, p, c))
            continue;
        pm_sigsrv_send(s, p, PM_SIGMSG_PEER_CONNECT, c->peer_id, NULL, 0, NULL, 0);
        pm_sigsrv_send(s, c, PM_SIGMSG_PEER_CONNECT, p->peer_id, NULL, 0, NULL, 0);
    }
    pm_sigsrv_send(s, c, PM_SIGMSG_JOIN, 0, l->name, strlen(l->name), NULL, 0);
    PM_DEBUG(&s->env, "signal", "peer %d joined lobby %s (%zu peers)", (int)c->peer_id, l->name,
             l->count);
}

void pm_sigsrv_create_named(pm_sigsrv *s, pm_time now, sig_conn *c, const char *name,
                            size_t name_len, bool mesh)
{
    const char *refusal = NULL;
    if (c->lobby)
        refusal = STR_ALREADY_IN_LOBBY;
    else if (!pm_sig_lobby_name_valid(name, name_len))
        refusal = STR_LOBBY_NAME_BAD;
    else if (s->lobbies.count >= s->cfg.max_lobbies)
        refusal = STR_TOO_MANY_LOBBIES;
    else if (lobby_find(s, name, name_len))
        refusal = STR_LOBBY_EXISTS;
    sig_lobby *l = refusal ? NULL : lobby_create(s, mesh, name, name_len);
    if (!refusal && !l)
        refusal = STR_LOBBY_EXISTS; /* a clash of hashes, or no memory */
    if (refusal) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, refusal);
        return;
    }
    PM_INFO(&s->env, "signal", "lobby %s created by name (%s)", l->name,
            mesh ? "mesh" : "client/server");
    pm_sigsrv_join(s, now, c, name, name_len, mesh);
}

void pm_sigsrv_leave(pm_sigsrv *s, sig_conn *c)
{
    sig_lobby *l = c->lobby;
    c->lobby = NULL;
    s->stats.peers_in_lobbies--;
    size_t at = 0;
    while (at < l->count && l->members[at] != c)
        at++;
    if (at == l->count)
        return;
    memmove(&l->members[at], &l->members[at + 1], (l->count - at - 1) * sizeof *l->members);
    l->count--;
    if (c->peer_id == 1) {
        /* No host migration (as the demo): everyone goes, the lobby too. */
        while (l->count) {
            sig_conn *m = l->members[--l->count];
            m->lobby = NULL;
            s->stats.peers_in_lobbies--;
            pm_sigsrv_close_conn(s, m, PM_SIGNAL_CLOSE_PROTOCOL, STR_HOST_DISCONNECTED);
        }
        lobby_destroy(s, l);
        return;
    }
    /* Also after a seal, as the demo's Node server. */
    for (size_t i = 0; i < l->count; i++)
        if (announced_to(l, l->members[i], c))
            pm_sigsrv_send(s, l->members[i], PM_SIGMSG_PEER_DISCONNECT, c->peer_id, NULL, 0, NULL,
                           0);
}

void pm_sigsrv_seal(pm_sigsrv *s, pm_time now, sig_conn *c)
{
    sig_lobby *l = c->lobby;
    if (c->peer_id != 1) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_ONLY_HOST_CAN_SEAL);
        return;
    }
    /* A second SEAL changes nothing (the demo armed a second timer). */
    if (l->sealed)
        return;
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
    PM_INFO(&s->env, "signal", "lobby %s sealed with %zu peers", l->name, l->count);
}

void pm_sigsrv_seal_expire(pm_sigsrv *s, sig_lobby *l)
{
    unseal_list(s, l);
    while (l->count) {
        sig_conn *m = l->members[--l->count];
        m->lobby = NULL;
        s->stats.peers_in_lobbies--;
        pm_sigsrv_close_conn(s, m, PM_SIGNAL_CLOSE_NORMAL, STR_SEAL_COMPLETE);
    }
    lobby_destroy(s, l);
}

void pm_sigsrv_relay(pm_sigsrv *s, sig_conn *c, const pm_sigmsg *m)
{
    sig_lobby *l = c->lobby;
    sig_conn *dest = NULL;
    /* Exactly a peer of this lobby other than the sender, and one the
     * sender was told about; the source id is ours to stamp, never the
     * sender's to choose. */
    if (m->id >= 1 && m->id <= SIG_ID_MAX && m->id != c->peer_id) {
        for (size_t i = 0; i < l->count; i++) {
            if (l->members[i]->peer_id == (int32_t)m->id) {
                dest = l->members[i];
                break;
            }
        }
    }
    if (!dest || !announced_to(l, c, dest)) {
        pm_sigsrv_close_conn(s, c, PM_SIGNAL_CLOSE_PROTOCOL, STR_INVALID_DEST);
        return;
    }
    s->stats.relayed[m->type - PM_SIGMSG_OFFER]++;
    s->stats.relayed_bytes += m->data_len;
    pm_sigsrv_send(s, dest, m->type, c->peer_id, m->data, m->data_len, NULL, 0);
}
