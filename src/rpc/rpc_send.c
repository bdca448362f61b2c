/*
 * Sending: Godot 3.2's rpcp / rsetp / _send_rpc / _send_confirm_path and
 * send_bytes. A node's path is cached per sender: the first call to peers
 * that have not confirmed it goes to each of them separately with the path
 * appended (after a SIMPLIFY_PATH), later ones carry only the cache id and
 * go out as one packet to the whole target.
 */
#include "rpc/rpc_internal.h"

#include "wire/godot_mpapi.h"
#include "wire/godot_variant.h"

int pm_rpc_put(pm_rpc *r, int32_t target, pm_mp_transfer_mode mode, const uint8_t *data, size_t len)
{
    pm_mp_set_target_peer(r->mp, target);
    pm_mp_set_transfer_mode(r->mp, mode);
    pm_mp_set_transfer_channel(r->mp, 0);
    int rc = pm_mp_put_packet(r->mp, data, len);
    if (rc == PM_OK)
        r->stats.packets_sent++;
    else
        PM_WARN(&r->env, PM_RPC_COMPONENT, "sending %zu bytes to %d failed: %s", len, (int)target,
                pm_strerror(rc));
    return rc;
}

/* Does target `to` (0 all, N one, -N all but N) include `peer`? */
static bool targets(int32_t to, int32_t peer)
{
    return to == 0 || (to > 0 && peer == to) || (to < 0 && peer != -to);
}

static pm_rpc_confirm *confirm_of(pm_rpc_node *n, int32_t peer)
{
    for (size_t i = 0; i < n->n_confirms; i++)
        if (n->confirms[i].peer == peer)
            return &n->confirms[i];
    return NULL;
}

static int add_confirm(pm_rpc *r, pm_rpc_node *n, int32_t peer)
{
    pm_rpc_confirm *c =
        pm_grow(&r->env, n->confirms, &n->cap_confirms, n->n_confirms + 1, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    n->confirms = c;
    n->confirms[n->n_confirms++] = (pm_rpc_confirm){.peer = peer};
    return PM_OK;
}

/* Godot's _send_confirm_path: SIMPLIFY_PATH to every targeted peer that has
 * not been asked yet; true when every targeted peer has confirmed. */
static bool send_confirm_path(pm_rpc *r, pm_rpc_node *n, int32_t to)
{
    bool all = true;
    for (size_t i = 0; i < r->n_peers; i++) {
        int32_t peer = r->peers[i].id;
        if (!targets(to, peer))
            continue;
        pm_rpc_confirm *c = confirm_of(n, peer);
        if (c) {
            all = all && c->confirmed;
            continue;
        }
        all = false;
        r->sys.len = 0;
        if (pm_gmp_put_simplify(&r->env, &r->sys, n->send_id, n->rel, n->rel_len) != PM_OK ||
            add_confirm(r, n, peer) != PM_OK) {
            PM_ERROR(&r->env, PM_RPC_COMPONENT, "out of memory: path of %s not offered to %d",
                     n->abs, (int)peer);
            continue;
        }
        pm_rpc_put(r, peer, PM_MP_TRANSFER_RELIABLE, r->sys.data, r->sys.len);
    }
    return all;
}

/* Godot's _send_rpc, with r->body holding the encoded arguments. */
static int send_remote(pm_rpc *r, pm_rpc_node *n, int32_t to, bool unreliable, uint8_t cmd,
                       const char *name)
{
    if (!n->send_id)
        n->send_id = ++r->last_send_id;
    r->out.len = 0;
    int rc = pm_gmp_put_remote_header(&r->env, &r->out, cmd, n->send_id, name, strlen(name));
    if (rc == PM_OK)
        rc = pm_buf_append(&r->env, &r->out, r->body.data, r->body.len);
    if (rc != PM_OK)
        return rc;
    size_t ofs = r->out.len;
    pm_mp_transfer_mode mode = unreliable ? PM_MP_TRANSFER_UNRELIABLE : PM_MP_TRANSFER_RELIABLE;
    if (send_confirm_path(r, n, to))
        return pm_rpc_put(r, to, mode, r->out.data, ofs);
    /* Some have not confirmed: one packet each, the path appended for those. */
    rc = pm_buf_append(&r->env, &r->out, n->rel, n->rel_len + 1);
    if (rc != PM_OK)
        return rc;
    int first_error = PM_OK;
    for (size_t i = 0; i < r->n_peers; i++) {
        int32_t peer = r->peers[i].id;
        if (!targets(to, peer))
            continue;
        const pm_rpc_confirm *c = confirm_of(n, peer);
        bool cached = c && c->confirmed;
        pm_wr32le(r->out.data + 1, cached ? n->send_id : PM_GMP_TARGET_INLINE | (uint32_t)ofs);
        rc = pm_rpc_put(r, peer, mode, r->out.data, cached ? ofs : r->out.len);
        if (rc != PM_OK && first_error == PM_OK)
            first_error = rc;
    }
    return first_error;
}

/* r->body = [argc][args] (a call) or [value] (a set). */
static int encode_body(pm_rpc *r, bool set, const pm_variant *args, size_t argc)
{
    size_t total = set ? 0 : 1;
    for (size_t i = 0; i < argc; i++) {
        size_t n;
        int rc = pm_gv_encoded_size(&args[i], &n);
        if (rc != PM_OK) {
            PM_WARN(&r->env, PM_RPC_COMPONENT, "argument %zu (a %s) cannot be encoded", i + 1,
                    pm_variant_type_name(args[i].type));
            return rc;
        }
        total += n;
    }
    r->body.len = 0;
    int rc = pm_buf_reserve(&r->env, &r->body, total);
    if (rc != PM_OK)
        return rc;
    uint8_t *p = r->body.data;
    if (!set)
        *p++ = (uint8_t)argc;
    for (size_t i = 0; i < argc; i++)
        p = pm_gv_encode(&args[i], p);
    r->body.len = total;
    return PM_OK;
}

/* Queue a call that runs here: [u32 sender][u8 type][path NUL][name NUL][body]. */
static int queue_local(pm_rpc *r, const pm_rpc_node *n, bool set, const char *name)
{
    uint8_t head[5];
    pm_wr32le(head, (uint32_t)pm_mp_get_unique_id(r->mp));
    head[4] = set ? PM_RPC_EVENT_SET : PM_RPC_EVENT_CALL;
    r->sys.len = 0;
    int rc = pm_buf_append(&r->env, &r->sys, head, sizeof head);
    if (rc == PM_OK)
        rc = pm_buf_append(&r->env, &r->sys, n->rel, n->rel_len + 1);
    if (rc == PM_OK)
        rc = pm_buf_append(&r->env, &r->sys, name, strlen(name) + 1);
    if (rc == PM_OK)
        rc =
            pm_fifo_push(&r->env, &r->local, 0, r->sys.data, r->sys.len, r->body.data, r->body.len);
    return rc;
}

/* Godot's rpcp / rsetp. */
static int call_or_set(pm_rpc *r, const char *path, int32_t peer_id, bool unreliable, bool set,
                       const char *name, const pm_variant *args, size_t argc)
{
    if (!r || !name || !*name || argc > PM_GMP_MAX_ARGS || (argc && !args) ||
        peer_id == INT32_MIN || !pm_gv_utf8_valid(name, strlen(name)))
        return PM_ERR_INVALID;
    pm_rpc_node *n = pm_rpc_declared_node(r, path);
    if (!n) {
        PM_WARN(&r->env, PM_RPC_COMPONENT, "%s '%s': node %s is not declared", set ? "rset" : "rpc",
                name, path ? path : "(null)");
        return PM_ERR_NOT_FOUND;
    }
    if (pm_mp_get_connection_status(r->mp) != PM_MP_CONNECTED) {
        PM_WARN(&r->env, PM_RPC_COMPONENT, "%s '%s' on %s: the network peer is not connected",
                set ? "rset" : "rpc", name, n->abs);
        return PM_ERR_STATE;
    }
    int rc = encode_body(r, set, args, argc);
    if (rc != PM_OK)
        return rc == PM_ERR_NOMEM ? rc : PM_ERR_INVALID;
    int32_t me = pm_mp_get_unique_id(r->mp);
    bool skip = me == peer_id, local = false;
    if (peer_id == 0 || peer_id == me || (peer_id < 0 && peer_id != -me)) {
        pm_rpc_mode mode = pm_rpc_member_mode(n, set, name, strlen(name));
        local = pm_rpc_should_call_local(mode, pm_rpc_node_is_master(r, n), &skip);
    }
    if (skip && !local) {
        PM_WARN(&r->env, PM_RPC_COMPONENT,
                "%s '%s' on %s: calling ourselves is not allowed by its mode", set ? "rset" : "rpc",
                name, n->abs);
        return PM_ERR_INVALID;
    }
    if (!skip && peer_id != 0 && !pm_rpc_find_peer(r, peer_id < 0 ? -peer_id : peer_id)) {
        PM_WARN(&r->env, PM_RPC_COMPONENT, "%s '%s' on %s: peer %d is not connected",
                set ? "rset" : "rpc", name, n->abs, (int)peer_id);
        return PM_ERR_NOT_FOUND;
    }
    rc = skip ? PM_OK
              : send_remote(r, n, peer_id, unreliable,
                            set ? PM_GMP_CMD_REMOTE_SET : PM_GMP_CMD_REMOTE_CALL, name);
    if (local) {
        int lrc = queue_local(r, n, set, name);
        if (lrc != PM_OK && rc == PM_OK)
            rc = lrc;
    }
    return rc;
}

int pm_rpc_call(pm_rpc *r, const char *path, int32_t peer_id, bool unreliable, const char *method,
                const pm_variant *args, size_t argc)
{
    return call_or_set(r, path, peer_id, unreliable, false, method, args, argc);
}

int pm_rpc_set(pm_rpc *r, const char *path, int32_t peer_id, bool unreliable, const char *property,
               const pm_variant *value)
{
    if (!value)
        return PM_ERR_INVALID;
    return call_or_set(r, path, peer_id, unreliable, true, property, value, 1);
}

int pm_rpc_send_bytes(pm_rpc *r, int32_t peer_id, pm_mp_transfer_mode mode, const uint8_t *data,
                      size_t len)
{
    if (!r || !data || len < 1 || (unsigned)mode > PM_MP_TRANSFER_RELIABLE)
        return PM_ERR_INVALID;
    if (pm_mp_get_connection_status(r->mp) != PM_MP_CONNECTED)
        return PM_ERR_STATE;
    uint8_t cmd = PM_GMP_CMD_RAW;
    r->out.len = 0;
    int rc = pm_buf_append(&r->env, &r->out, &cmd, 1);
    if (rc == PM_OK)
        rc = pm_buf_append(&r->env, &r->out, data, len);
    return rc == PM_OK ? pm_rpc_put(r, peer_id, mode, r->out.data, r->out.len) : rc;
}
