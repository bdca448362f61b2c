/*
 * The parts of the 4.x JSON signaling format that need a full JSON parser
 * (jansson): messages beyond the demo's flat shape, and the ICE server list.
 * The WebAssembly build replaces this file with src/web/json_web.c (the
 * browser's JSON.parse), so keep what it decides in step with that one.
 */
#include "wire/signal_msg.h"

#include <jansson.h>
#include <math.h>

/* Integers beyond 2^53 cannot round-trip through the demo's JavaScript or
 * GDScript (double) numbers. */
#define SIG_MAX_NUMBER 9007199254740992.0

/* Node's `typeof x === 'number' ? Math.floor(x) : -1`, without the
 * precision loss: -1 for anything that is not a usable number. */
static int64_t number_field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && i <= ((json_int_t)1 << 53) ? (int64_t)i : -1;
    }
    if (json_is_real(v)) {
        double d = floor(json_real_value(v));
        return isfinite(d) && d >= 0 && d <= SIG_MAX_NUMBER ? (int64_t)d : -1;
    }
    return -1;
}

int pm_sigmsg_decode_json_slow(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                               pm_sigmsg *out)
{
    if (!out || !scratch)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    scratch->len = 0;
    if (!in)
        return PM_ERR_PARSE;
    json_error_t err;
    /* JSON_ALLOW_NUL: "\u0000" is legal JSON; lengths carry it through. */
    json_t *root = json_loadb((const char *)in, len, JSON_ALLOW_NUL, &err);
    if (!root)
        return PM_ERR_PARSE;
    int rc = PM_ERR_PARSE;
    if (!json_is_object(root))
        goto done;
    int64_t type = number_field(root, "type");
    int64_t id = number_field(root, "id");
    if (type < 0 || id < 0)
        goto done;
    out->type = type > 0x7fffffff ? 0x7fffffff : (int)type;
    out->id = id;
    size_t data_off = 0, data_len = 0, ice_off = 0, ice_len = 0;
    const json_t *data = json_object_get(root, "data");
    rc = PM_OK;
    if (json_is_string(data)) {
        data_len = json_string_length(data);
        rc = pm_buf_append(env, scratch, json_string_value(data), data_len);
    }
    const json_t *ice = json_object_get(root, "ice_servers");
    /* Only an array is an ICE server list; anything else is ignored. */
    if (rc == PM_OK && json_is_array(ice)) {
        size_t need = json_dumpb(ice, NULL, 0, JSON_COMPACT);
        ice_off = scratch->len + 1;
        rc = need ? pm_buf_reserve(env, scratch, ice_off + need + 1) : PM_ERR_PARSE;
        if (rc == PM_OK) {
            ice_len = json_dumpb(ice, (char *)scratch->data + ice_off, need, JSON_COMPACT);
            scratch->len = ice_off + ice_len;
            scratch->data[scratch->len] = 0;
        }
    }
    if (rc == PM_OK) {
        /* Pointers only now: appending may have moved the buffer. */
        out->data = scratch->data ? (const char *)scratch->data + data_off : "";
        out->data_len = data_len;
        if (ice_len) {
            out->ice = (const char *)scratch->data + ice_off;
            out->ice_len = ice_len;
        }
    }
done:
    json_decref(root);
    if (rc != PM_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

static int store_string(const pm_envr *env, pm_buf *store, const json_t *v, size_t *off)
{
    *off = store->len;
    size_t n = json_string_length(v);
    /* A NUL inside would silently shorten the string for its C users. */
    if (memchr(json_string_value(v), 0, n))
        return PM_ERR_PARSE;
    int rc = pm_buf_append(env, store, json_string_value(v), n);
    if (rc == PM_OK)
        rc = pm_buf_append(env, store, "", 1); /* keep the terminator */
    return rc;
}

/* Offsets of one server's strings in the store (+1; 0 = absent). */
typedef struct ice_offsets {
    size_t urls[PM_SIG_MAX_ICE_URLS];
    size_t username, credential;
} ice_offsets;

static int parse_server(const pm_envr *env, const json_t *entry, pm_buf *store, ice_offsets *o,
                        size_t *url_count)
{
    if (!json_is_object(entry))
        return PM_ERR_PARSE;
    const json_t *urls = json_object_get(entry, "urls");
    size_t off;
    int rc;
    *url_count = 0;
    if (json_is_string(urls)) {
        if ((rc = store_string(env, store, urls, &off)))
            return rc;
        o->urls[(*url_count)++] = off + 1;
    } else if (json_is_array(urls)) {
        size_t i;
        const json_t *u;
        json_array_foreach(urls, i, u)
        {
            if (!json_is_string(u))
                return PM_ERR_PARSE;
            if (*url_count == PM_SIG_MAX_ICE_URLS)
                break;
            if ((rc = store_string(env, store, u, &off)))
                return rc;
            o->urls[(*url_count)++] = off + 1;
        }
    } else {
        return PM_ERR_PARSE;
    }
    const json_t *user = json_object_get(entry, "username");
    const json_t *cred = json_object_get(entry, "credential");
    if ((user && !json_is_string(user)) || (cred && !json_is_string(cred)))
        return PM_ERR_PARSE;
    if (user) {
        if ((rc = store_string(env, store, user, &off)))
            return rc;
        o->username = off + 1;
    }
    if (cred) {
        if ((rc = store_string(env, store, cred, &off)))
            return rc;
        o->credential = off + 1;
    }
    return PM_OK;
}

int pm_sig_ice_list_parse(const pm_envr *env, const char *json, size_t len, pm_sig_ice_list *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!json)
        return PM_ERR_PARSE;
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    if (!root)
        return PM_ERR_PARSE;
    int rc = json_is_array(root) ? PM_OK : PM_ERR_PARSE;
    ice_offsets offs[PM_SIG_MAX_ICE_SERVERS];
    memset(offs, 0, sizeof offs);
    size_t i;
    const json_t *entry;
    if (rc == PM_OK) {
        json_array_foreach(root, i, entry)
        {
            if (out->count == PM_SIG_MAX_ICE_SERVERS)
                break;
            rc = parse_server(env, entry, &out->store, &offs[out->count],
                              &out->servers[out->count].url_count);
            if (rc)
                break;
            out->count++;
        }
    }
    json_decref(root);
    if (rc) {
        pm_sig_ice_list_free(env, out);
        return rc;
    }
    const char *base = (const char *)out->store.data;
    for (size_t s = 0; s < out->count; s++) {
        pm_sig_ice_server *srv = &out->servers[s];
        for (size_t u = 0; u < srv->url_count; u++)
            srv->urls[u] = base + offs[s].urls[u] - 1;
        srv->username = offs[s].username ? base + offs[s].username - 1 : NULL;
        srv->credential = offs[s].credential ? base + offs[s].credential - 1 : NULL;
    }
    return PM_OK;
}
