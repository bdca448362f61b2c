/*
 * pm_rpc: lifecycle, the node registry and its RPC modes, and the set of
 * connected peers with their path caches. The mode rules are Godot 3.2's
 * _can_call_mode and _should_call_local (multiplayer_api.cpp).
 */
#include "rpc/rpc_internal.h"

#include "wire/godot_variant.h"

void pm_rpc_config_default(pm_rpc_config *cfg)
{
    if (cfg)
        *cfg = (pm_rpc_config){
            .max_decode_memory = PM_RPC_DEFAULT_MAX_DECODE,
            .max_path_cache_bytes = PM_RPC_DEFAULT_MAX_PATH_CACHE,
        };
}

int pm_rpc_new(const pm_rpc_config *cfg, pm_multiplayer *mp, pm_rpc **out)
{
    if (!out || !mp)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_rpc_config def;
    if (!cfg) {
        pm_rpc_config_default(&def);
        cfg = &def;
    }
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_rpc *r = pm_calloc(&env, sizeof *r);
    if (!r)
        return PM_ERR_NOMEM;
    r->env = env;
    r->mp = mp;
    r->max_decode_memory = cfg->max_decode_memory;
    r->max_path_cache_bytes = cfg->max_path_cache_bytes;
    pm_fifo_init(&r->local, 0);
    *out = r;
    return PM_OK;
}

static void free_members(const pm_envr *env, pm_rpc_members *m)
{
    for (size_t i = 0; i < m->count; i++)
        pm_free(env, m->items[i].name);
    pm_free(env, m->items);
}

static void free_node(const pm_envr *env, pm_rpc_node *n)
{
    free_members(env, &n->methods);
    free_members(env, &n->props);
    pm_free(env, n->confirms);
    pm_free(env, n->rel);
    pm_free(env, n->abs);
    pm_free(env, n);
}

void pm_rpc_free(pm_rpc *r)
{
    if (!r)
        return;
    pm_envr env = r->env;
    pm_rpc_clear_peers(r);
    pm_free(&env, r->peers);
    for (size_t i = 0; i < r->n_nodes; i++)
        free_node(&env, r->nodes[i]);
    pm_free(&env, r->nodes);
    pm_buf_free(&env, &r->out);
    pm_buf_free(&env, &r->body);
    pm_buf_free(&env, &r->sys);
    pm_fifo_free(&env, &r->local);
    pm_free(&env, r->scratch);
    pm_free(&env, r);
}

pm_multiplayer *pm_rpc_multiplayer(pm_rpc *r)
{
    return r ? r->mp : NULL;
}

/* ---- paths ---- */

/* The relative part of a declared path: "/root/A/B" or "A/B" -> "A/B". NULL when the
 * path is not one we accept (rpc.h, pm_rpc_add_node). */
static const char *declared_rel(const char *path)
{
    if (!path)
        return NULL;
    const char *rel = path;
    if (path[0] == '/') {
        if (strncmp(path, PM_RPC_ROOT, PM_RPC_ROOT_LEN) != 0)
            return NULL;
        rel = path + PM_RPC_ROOT_LEN;
    }
    size_t len = strlen(rel);
    if (!len || !pm_gv_utf8_valid(rel, len) || strchr(rel, ':'))
        return NULL;
    for (const char *part = rel;;) {
        const char *end = strchr(part, '/');
        size_t n = end ? (size_t)(end - part) : strlen(part);
        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
            return NULL;
        if (!end)
            return rel;
        part = end + 1;
    }
}

pm_rpc_node *pm_rpc_find_node(const pm_rpc *r, const char *path, size_t len)
{
    /* Godot resolves the path from the root node; an absolute "/root/..." path
     * names the same node as its relative form. */
    if (len > PM_RPC_ROOT_LEN && memcmp(path, PM_RPC_ROOT, PM_RPC_ROOT_LEN) == 0) {
        path += PM_RPC_ROOT_LEN;
        len -= PM_RPC_ROOT_LEN;
    }
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i]->rel_len == len && memcmp(r->nodes[i]->rel, path, len) == 0)
            return r->nodes[i];
    return NULL;
}

pm_rpc_node *pm_rpc_declared_node(const pm_rpc *r, const char *path)
{
    const char *rel = declared_rel(path);
    return rel ? pm_rpc_find_node(r, rel, strlen(rel)) : NULL;
}

int pm_rpc_add_node(pm_rpc *r, const char *path, int32_t network_master)
{
    const char *rel = declared_rel(path);
    if (!r || !rel || network_master <= 0)
        return PM_ERR_INVALID;
    size_t len = strlen(rel);
    if (pm_rpc_find_node(r, rel, len))
        return PM_ERR_EXISTS;
    pm_rpc_node **nodes = pm_grow(&r->env, r->nodes, &r->cap_nodes, r->n_nodes + 1, sizeof *nodes);
    if (!nodes)
        return PM_ERR_NOMEM;
    r->nodes = nodes;
    pm_rpc_node *n = pm_calloc(&r->env, sizeof *n);
    char *abs = n ? pm_alloc(&r->env, PM_RPC_ROOT_LEN + len + 1) : NULL;
    if (!n || !abs || !(n->rel = pm_strdup(&r->env, rel))) {
        pm_free(&r->env, abs);
        pm_free(&r->env, n);
        return PM_ERR_NOMEM;
    }
    memcpy(abs, PM_RPC_ROOT, PM_RPC_ROOT_LEN);
    memcpy(abs + PM_RPC_ROOT_LEN, rel, len + 1);
    n->abs = abs;
    n->rel_len = len;
    n->master = network_master;
    r->nodes[r->n_nodes++] = n;
    return PM_OK;
}

int pm_rpc_remove_node(pm_rpc *r, const char *path)
{
    if (!r)
        return PM_ERR_INVALID;
    pm_rpc_node *n = pm_rpc_declared_node(r, path);
    if (!n)
        return PM_ERR_NOT_FOUND;
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i] == n) {
            r->nodes[i] = r->nodes[--r->n_nodes];
            break;
        }
    free_node(&r->env, n);
    return PM_OK;
}

int pm_rpc_set_network_master(pm_rpc *r, const char *path, int32_t network_master)
{
    if (!r || network_master <= 0)
        return PM_ERR_INVALID;
    pm_rpc_node *n = pm_rpc_declared_node(r, path);
    if (!n)
        return PM_ERR_NOT_FOUND;
    n->master = network_master;
    return PM_OK;
}

int32_t pm_rpc_get_network_master(const pm_rpc *r, const char *path)
{
    const pm_rpc_node *n = r ? pm_rpc_declared_node(r, path) : NULL;
    return n ? n->master : 0;
}

bool pm_rpc_node_is_master(const pm_rpc *r, const pm_rpc_node *n)
{
    return n->master == pm_mp_get_unique_id(r->mp);
}

bool pm_rpc_is_network_master(const pm_rpc *r, const char *path)
{
    const pm_rpc_node *n = r ? pm_rpc_declared_node(r, path) : NULL;
    return n && pm_rpc_node_is_master(r, n);
}

/* ---- modes ---- */

static int set_member(pm_rpc *r, const char *path, bool props, const char *name, pm_rpc_mode mode)
{
    if (!r || !name || !*name || (unsigned)mode > PM_RPC_MODE_PUPPETSYNC ||
        !pm_gv_utf8_valid(name, strlen(name)))
        return PM_ERR_INVALID;
    pm_rpc_node *n = pm_rpc_declared_node(r, path);
    if (!n)
        return PM_ERR_NOT_FOUND;
    pm_rpc_members *m = props ? &n->props : &n->methods;
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->items[i].name, name) != 0)
            continue;
        if (mode == PM_RPC_MODE_DISABLED) {
            pm_free(&r->env, m->items[i].name);
            m->items[i] = m->items[--m->count];
        } else {
            m->items[i].mode = mode;
        }
        return PM_OK;
    }
    if (mode == PM_RPC_MODE_DISABLED)
        return PM_OK;
    pm_rpc_member *items = pm_grow(&r->env, m->items, &m->cap, m->count + 1, sizeof *items);
    if (!items)
        return PM_ERR_NOMEM;
    m->items = items;
    char *copy = pm_strdup(&r->env, name);
    if (!copy)
        return PM_ERR_NOMEM;
    m->items[m->count++] = (pm_rpc_member){.name = copy, .mode = mode};
    return PM_OK;
}

int pm_rpc_set_method_mode(pm_rpc *r, const char *path, const char *method, pm_rpc_mode mode)
{
    return set_member(r, path, false, method, mode);
}

int pm_rpc_set_property_mode(pm_rpc *r, const char *path, const char *property, pm_rpc_mode mode)
{
    return set_member(r, path, true, property, mode);
}

pm_rpc_mode pm_rpc_member_mode(const pm_rpc_node *n, bool props, const char *name, size_t len)
{
    const pm_rpc_members *m = props ? &n->props : &n->methods;
    for (size_t i = 0; i < m->count; i++)
        if (strlen(m->items[i].name) == len && memcmp(m->items[i].name, name, len) == 0)
            return m->items[i].mode;
    return PM_RPC_MODE_DISABLED;
}

bool pm_rpc_can_call(const pm_rpc *r, const pm_rpc_node *n, pm_rpc_mode mode, int32_t from)
{
    switch (mode) {
    case PM_RPC_MODE_REMOTE:
    case PM_RPC_MODE_REMOTESYNC:
        return true;
    case PM_RPC_MODE_MASTER:
    case PM_RPC_MODE_MASTERSYNC:
        return pm_rpc_node_is_master(r, n);
    case PM_RPC_MODE_PUPPET:
    case PM_RPC_MODE_PUPPETSYNC:
        return !pm_rpc_node_is_master(r, n) && from == n->master;
    default:
        return false;
    }
}

bool pm_rpc_should_call_local(pm_rpc_mode mode, bool is_master, bool *skip_remote)
{
    switch (mode) {
    case PM_RPC_MODE_MASTERSYNC:
        if (is_master)
            *skip_remote = true; /* the master runs it itself; nobody else would */
        return true;
    case PM_RPC_MODE_REMOTESYNC:
    case PM_RPC_MODE_PUPPETSYNC:
        return true;
    case PM_RPC_MODE_MASTER:
        if (is_master)
            *skip_remote = true;
        return is_master;
    case PM_RPC_MODE_PUPPET:
        return !is_master;
    default:
        return false;
    }
}

const char *pm_rpc_mode_name(pm_rpc_mode mode)
{
    static const char *const names[] = {"disabled",   "remote",     "master",    "puppet",
                                        "remotesync", "mastersync", "puppetsync"};
    return (unsigned)mode < PM_ARRAY_LEN(names) ? names[mode] : "?";
}

/* ---- connected peers ---- */

static size_t peer_index(const pm_rpc *r, int32_t id, bool *found)
{
    size_t lo = 0, hi = r->n_peers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->peers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < r->n_peers && r->peers[lo].id == id;
    return lo;
}

pm_rpc_peer *pm_rpc_find_peer(const pm_rpc *r, int32_t id)
{
    bool found;
    size_t i = peer_index(r, id, &found);
    return found ? &r->peers[i] : NULL;
}

int pm_rpc_add_peer(pm_rpc *r, int32_t id)
{
    bool found;
    size_t i = peer_index(r, id, &found);
    if (found)
        return PM_OK;
    pm_rpc_peer *p = pm_grow(&r->env, r->peers, &r->cap_peers, r->n_peers + 1, sizeof *p);
    if (!p)
        return PM_ERR_NOMEM;
    r->peers = p;
    memmove(&r->peers[i + 1], &r->peers[i], (r->n_peers - i) * sizeof *r->peers);
    r->peers[i] = (pm_rpc_peer){.id = id};
    r->n_peers++;
    return PM_OK;
}

static void free_peer_cache(pm_rpc *r, pm_rpc_peer *p)
{
    for (size_t k = 0; k < p->n_cache; k++)
        pm_free(&r->env, p->cache[k].path);
    pm_free(&r->env, p->cache);
    p->cache = NULL;
    p->n_cache = p->cap_cache = p->cache_bytes = 0;
}

/* Godot's _del_peer: forget the peer, its path cache and its confirmations. */
void pm_rpc_remove_peer(pm_rpc *r, int32_t id)
{
    bool found;
    size_t i = peer_index(r, id, &found);
    if (found) {
        free_peer_cache(r, &r->peers[i]);
        memmove(&r->peers[i], &r->peers[i + 1], (r->n_peers - i - 1) * sizeof *r->peers);
        r->n_peers--;
    }
    for (size_t k = 0; k < r->n_nodes; k++) {
        pm_rpc_node *n = r->nodes[k];
        for (size_t c = 0; c < n->n_confirms; c++)
            if (n->confirms[c].peer == id) {
                n->confirms[c] = n->confirms[--n->n_confirms];
                break;
            }
    }
}

void pm_rpc_clear_peers(pm_rpc *r)
{
    while (r->n_peers)
        pm_rpc_remove_peer(r, r->peers[r->n_peers - 1].id);
}

int32_t pm_rpc_get_unique_id(const pm_rpc *r)
{
    return r ? pm_mp_get_unique_id(r->mp) : 0;
}

size_t pm_rpc_get_connected_peers(const pm_rpc *r, int32_t *out, size_t cap)
{
    if (!r)
        return 0;
    for (size_t i = 0; out && i < cap && i < r->n_peers; i++)
        out[i] = r->peers[i].id;
    return r->n_peers;
}

void pm_rpc_get_stats(const pm_rpc *r, pm_rpc_stats *out)
{
    if (out)
        *out = r ? r->stats : (pm_rpc_stats){0};
}
