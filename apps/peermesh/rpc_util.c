/* Shared pieces of the RPC commands (rpc_util.h). */
#include "rpc_util.h"

#include "json_out.h"

#include <stdio.h>
#include <unistd.h>

int pm_cli_rpc_net_start(pm_cli_rpc_net *net, const pm_cli_rpc_where *w)
{
    *net = (pm_cli_rpc_net){0};
    int rc;
    if (w->lobby) {
        pm_signal_client_config cfg;
        pm_signal_client_config_default(&cfg);
        cfg.env = w->env;
        cfg.url = w->url;
        cfg.lobby = w->lobby;
        cfg.rtc.bind_address = PM_CLI_RPC_MESH_BIND;
        cfg.allow_self_signed = true;
        rc = pm_signal_client_new(&cfg, &net->sig);
    } else if (!w->ws) {
        pm_enet_config cfg;
        pm_enet_config_default(&cfg);
        cfg.env = w->env;
        cfg.bind_ip = w->server ? w->bind : NULL;
        rc = pm_enet_new(&cfg, &net->enet);
        if (rc == PM_OK)
            rc = w->server ? pm_enet_create_server(net->enet, w->port, 32, 0, 0, 0)
                           : pm_enet_create_client(net->enet, w->host, w->port, 0, 0, 0, 0);
        net->mp = pm_enet_multiplayer(net->enet);
    } else {
        pm_websocket_config cfg;
        pm_websocket_config_default(&cfg);
        cfg.env = w->env;
        cfg.bind_ip = w->bind;
        cfg.cert_file = w->cert;
        cfg.key_file = w->key;
        cfg.allow_self_signed = true;
        rc = pm_websocket_new(&cfg, &net->ws);
        if (rc == PM_OK)
            rc = w->server ? pm_websocket_create_server(net->ws, w->port)
                           : pm_websocket_create_client(net->ws, w->url);
        net->mp = pm_websocket_multiplayer(net->ws);
    }
    if (rc != PM_OK)
        pm_cli_rpc_net_free(net);
    return rc;
}

void pm_cli_rpc_net_free(pm_cli_rpc_net *net)
{
    pm_enet_free(net->enet);
    pm_websocket_free(net->ws);
    pm_signal_client_free(net->sig);
    *net = (pm_cli_rpc_net){0};
}

void pm_cli_rpc_net_poll(pm_cli_rpc_net *net)
{
    if (!net->sig)
        return;
    (void)pm_signal_client_poll(net->sig);
    net->mp = pm_signal_client_multiplayer(net->sig);
}

uint16_t pm_cli_rpc_net_port(const pm_cli_rpc_net *net)
{
    return net->enet ? pm_enet_get_local_port(net->enet) : pm_websocket_get_local_port(net->ws);
}

void pm_cli_rpc_net_wait(pm_cli_rpc_net *net, int timeout_ms)
{
    if (net->enet)
        (void)pm_enet_wait(net->enet, timeout_ms);
    else if (net->ws)
        (void)pm_websocket_wait(net->ws, timeout_ms);
    else if (net->sig)
        (void)usleep((useconds_t)timeout_ms * 1000); /* the mesh has no single socket to wait on */
}

static json_t *floats_json(const float *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(f[i]));
    return a;
}

static json_t *pool_json(const pm_variant *v)
{
    size_t n = v->pool.count;
    if (v->type == PM_VARIANT_POOL_BYTE_ARRAY) {
        char *hex = malloc(2 * n + 1);
        if (!hex)
            return json_null();
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", v->pool.bytes[i]);
        hex[2 * n] = 0;
        json_t *s = json_string(hex);
        free(hex);
        return s;
    }
    json_t *a = json_array();
    size_t per = pm_variant_float_count(v->type);
    for (size_t i = 0; i < n; i++) {
        if (v->type == PM_VARIANT_POOL_INT_ARRAY)
            json_array_append_new(a, json_integer(v->pool.ints[i]));
        else if (v->type == PM_VARIANT_POOL_STRING_ARRAY)
            json_array_append_new(a, json_stringn(v->pool.strings[i].ptr, v->pool.strings[i].len));
        else if (v->type == PM_VARIANT_POOL_REAL_ARRAY)
            json_array_append_new(a, json_real(v->pool.reals[i]));
        else
            json_array_append_new(a, floats_json(v->pool.reals + i * per, per));
    }
    return a;
}

json_t *pm_cli_variant_json(const pm_variant *v)
{
    json_t *value;
    switch (v->type) {
    case PM_VARIANT_NIL:
        return json_null();
    case PM_VARIANT_BOOL:
        return json_boolean(v->b);
    case PM_VARIANT_INT:
        return json_integer((json_int_t)v->i);
    case PM_VARIANT_REAL:
        return json_real(v->r);
    case PM_VARIANT_STRING:
        return json_stringn(v->s.ptr, v->s.len);
    case PM_VARIANT_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->array.count; i++)
            json_array_append_new(a, pm_cli_variant_json(&v->array.items[i]));
        return a;
    }
    case PM_VARIANT_DICTIONARY:
        value = json_array();
        for (size_t i = 0; i < v->dict.count; i++)
            json_array_append_new(value,
                                  json_pack("[o, o]", pm_cli_variant_json(&v->dict.items[2 * i]),
                                            pm_cli_variant_json(&v->dict.items[2 * i + 1])));
        break;
    case PM_VARIANT_NODE_PATH:
        value = json_stringn(v->s.ptr, v->s.len);
        break;
    case PM_VARIANT_RID:
        value = json_null();
        break;
    case PM_VARIANT_OBJECT:
        value = json_integer((json_int_t)v->object_id);
        break;
    default:
        value = v->type >= PM_VARIANT_POOL_BYTE_ARRAY
                    ? pool_json(v)
                    : floats_json(v->f, pm_variant_float_count(v->type));
        break;
    }
    return json_pack("{s:o}", pm_variant_type_name(v->type), value);
}

json_t *pm_cli_rpc_event_json(const pm_rpc_event *ev)
{
    json_t *o = json_pack("{s:s, s:i}", "event", pm_rpc_event_type_to_string(ev->type), "id",
                          (int)ev->peer_id);
    if (ev->type == PM_RPC_EVENT_CALL || ev->type == PM_RPC_EVENT_SET) {
        json_t *args = json_array();
        for (size_t i = 0; i < ev->argc; i++)
            json_array_append_new(args, pm_cli_variant_json(&ev->args[i]));
        json_object_set_new(o, "path", json_string(ev->path));
        json_object_set_new(o, ev->type == PM_RPC_EVENT_CALL ? "method" : "property",
                            json_string(ev->name));
        json_object_set_new(o, ev->type == PM_RPC_EVENT_CALL ? "args" : "value",
                            ev->type == PM_RPC_EVENT_CALL ? args
                                                          : json_incref(json_array_get(args, 0)));
        if (ev->type == PM_RPC_EVENT_SET)
            json_decref(args);
        json_object_set_new(o, "local", json_boolean(ev->local));
    }
    if (ev->type == PM_RPC_EVENT_RAW) {
        pm_variant bytes = pm_variant_pool(PM_VARIANT_POOL_BYTE_ARRAY, ev->data, ev->len);
        json_t *hex = pm_cli_variant_json(&bytes);
        json_object_set(o, "bytes", json_object_get(hex, "PoolByteArray"));
        json_decref(hex);
    }
    if (ev->type >= PM_RPC_EVENT_CALL)
        json_object_set_new(o, "reliable", json_boolean(ev->mode == PM_MP_TRANSFER_RELIABLE));
    return o;
}

void pm_cli_json_log(void *ud, pm_log_level level, const char *component, const char *msg)
{
    (void)ud;
    static const char *const levels[] = {"error", "warn", "info", "debug", "trace"};
    pm_cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "event", "log", "level",
                                (unsigned)level < 5 ? levels[level] : "?", "component", component,
                                "message", msg));
}
