/*
 * gd3_config.c — Godot's configuration dictionaries to peermesh structs.
 *
 * initialize({"iceServers": [{"urls": "stun:..." or ["stun:...", ...],
 *              "username": "...", "credential": "..."}, ...],
 *             "peermesh": {"bindAddress": "127.0.0.1", "portMin": N,
 *                          "portMax": N, "enableIpv6": bool,
 *                          "includeLoopback": bool}})
 * Other keys (a browser would pass them to RTCConfiguration) are ignored, as
 * Godot's native implementations do. $PEERMESH_BIND_ADDRESS supplies the
 * bind address when the dictionary does not (to keep an unmodified game on
 * one interface, e.g. loopback in tests).
 *
 * create_data_channel(label, {"negotiated": bool, "id": int,
 *   "maxPacketLifeTime": ms, "maxPacketLifetime": ms (WebRTCMultiplayer's
 *   spelling), "maxRetransmits": n, "ordered": bool, "protocol": "..."}).
 */
#include "gd3.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ICE_SERVERS 32
#define MAX_URLS        16 /* per server */

static char *keep(gd3_rtc_config *c, char *s)
{
    if (!s)
        return NULL;
    if (c->string_count == c->string_cap) {
        size_t cap = c->string_cap ? c->string_cap * 2 : 16;
        char **grown = realloc(c->strings, cap * sizeof *grown);
        if (!grown) {
            free(s);
            return NULL;
        }
        c->strings = grown;
        c->string_cap = cap;
    }
    c->strings[c->string_count++] = s;
    return s;
}

void gd3_rtc_config_free(gd3_rtc_config *c)
{
    for (size_t i = 0; i < c->string_count; i++)
        free(c->strings[i]);
    free(c->strings);
    if (c->servers) {
        for (size_t i = 0; i < c->cfg.ice_server_count; i++)
            free((void *)c->servers[i].urls);
    }
    free(c->servers);
    memset(c, 0, sizeof *c);
}

/* A string key of `dict` (any value converted to text), kept in c; NULL if absent. */
static const char *get_string(gd3_rtc_config *c, const gd_dictionary *dict, const char *key)
{
    gd_variant v;
    if (!gd3_dict_get(dict, key, &v))
        return NULL;
    char *s = gd3_variant_to_cstr(&v);
    gd3_api->variant_destroy(&v);
    return keep(c, s);
}

static gd_error parse_urls(gd3_rtc_config *c, const gd_variant *urls, pm_ice_server *server)
{
    int type = gd3_api->variant_get_type(urls);
    const char **list = calloc(MAX_URLS, sizeof *list);
    if (!list)
        return GD_ERR_OUT_OF_MEMORY;
    server->urls = list;
    if (type == GD_TYPE_STRING) {
        list[0] = keep(c, gd3_variant_to_cstr(urls));
        server->url_count = list[0] ? 1 : 0;
        return list[0] ? GD_OK : GD_ERR_OUT_OF_MEMORY;
    }
    if (type != GD_TYPE_ARRAY) {
        gd3_error("initialize: iceServers[].urls must be a String or an Array of Strings");
        return GD_ERR_INVALID_PARAMETER;
    }
    gd_array arr = gd3_api->variant_as_array(urls);
    gd_int n = gd3_api->array_size(&arr);
    gd_error err = GD_OK;
    if (n < 1 || n > MAX_URLS) {
        gd3_error("initialize: iceServers[].urls holds %d URLs (1 to %d)", n, MAX_URLS);
        err = GD_ERR_INVALID_PARAMETER;
    }
    for (gd_int i = 0; err == GD_OK && i < n; i++) {
        gd_variant u = gd3_api->array_get(&arr, i);
        if (gd3_api->variant_get_type(&u) != GD_TYPE_STRING) {
            gd3_error("initialize: iceServers[].urls[%d] is not a String", i);
            err = GD_ERR_INVALID_PARAMETER;
        } else if (!(list[i] = keep(c, gd3_variant_to_cstr(&u)))) {
            err = GD_ERR_OUT_OF_MEMORY;
        }
        gd3_api->variant_destroy(&u);
    }
    gd3_api->array_destroy(&arr);
    server->url_count = err == GD_OK ? (size_t)n : 0;
    return err;
}

static gd_error parse_server(gd3_rtc_config *c, const gd_variant *entry, pm_ice_server *server)
{
    if (gd3_api->variant_get_type(entry) != GD_TYPE_DICTIONARY) {
        gd3_error("initialize: each iceServers entry must be a Dictionary");
        return GD_ERR_INVALID_PARAMETER;
    }
    gd_dictionary d = gd3_api->variant_as_dictionary(entry);
    gd_variant urls;
    gd_error err = GD_OK;
    if (!gd3_dict_get(&d, "urls", &urls)) {
        gd3_error("initialize: an iceServers entry has no \"urls\"");
        err = GD_ERR_INVALID_PARAMETER;
    } else {
        err = parse_urls(c, &urls, server);
        gd3_api->variant_destroy(&urls);
    }
    if (err == GD_OK) {
        server->username = get_string(c, &d, "username");
        server->credential = get_string(c, &d, "credential");
        int v = pm_ice_server_validate(server);
        if (v != PM_OK) {
            gd3_error("initialize: invalid ICE server %s (%s): check the URL syntax; TURN "
                      "needs \"username\" and \"credential\"",
                      server->url_count ? server->urls[0] : "", pm_strerror(v));
            err = GD_ERR_INVALID_PARAMETER;
        }
    }
    gd3_api->dictionary_destroy(&d);
    return err;
}

static gd_error parse_ice_servers(gd3_rtc_config *c, const gd_variant *v)
{
    if (gd3_api->variant_get_type(v) != GD_TYPE_ARRAY) {
        gd3_error("initialize: \"iceServers\" must be an Array of Dictionaries");
        return GD_ERR_INVALID_PARAMETER;
    }
    gd_array arr = gd3_api->variant_as_array(v);
    gd_int n = gd3_api->array_size(&arr);
    gd_error err = GD_OK;
    if (n > MAX_ICE_SERVERS) {
        gd3_error("initialize: %d ICE servers (at most %d)", n, MAX_ICE_SERVERS);
        err = GD_ERR_INVALID_PARAMETER;
    } else if (n > 0 && !(c->servers = calloc((size_t)n, sizeof *c->servers))) {
        err = GD_ERR_OUT_OF_MEMORY;
    }
    for (gd_int i = 0; err == GD_OK && i < n; i++) {
        gd_variant entry = gd3_api->array_get(&arr, i);
        c->cfg.ice_server_count = (size_t)i + 1; /* so that free sees its urls */
        err = parse_server(c, &entry, &c->servers[i]);
        gd3_api->variant_destroy(&entry);
    }
    gd3_api->array_destroy(&arr);
    c->cfg.ice_servers = c->servers;
    return err;
}

/* The "peermesh" sub-dictionary: what only a native stack can offer. */
static gd_error parse_peermesh(gd3_rtc_config *c, const gd_variant *v)
{
    if (gd3_api->variant_get_type(v) != GD_TYPE_DICTIONARY) {
        gd3_error("initialize: \"peermesh\" must be a Dictionary");
        return GD_ERR_INVALID_PARAMETER;
    }
    gd_dictionary d = gd3_api->variant_as_dictionary(v);
    gd_error err = GD_OK;
    const char *bind = get_string(c, &d, "bindAddress");
    if (bind)
        c->cfg.bind_address = bind;
    static const char *const ports[] = {"portMin", "portMax"};
    for (int i = 0; i < 2; i++) {
        gd_variant p;
        if (!gd3_dict_get(&d, ports[i], &p))
            continue;
        int64_t port = gd3_api->variant_as_int(&p);
        gd3_api->variant_destroy(&p);
        if (port < 0 || port > 65535) {
            gd3_error("initialize: peermesh.%s %lld is not a port", ports[i], (long long)port);
            err = GD_ERR_INVALID_PARAMETER;
        } else if (i == 0) {
            c->cfg.port_min = (uint16_t)port;
        } else {
            c->cfg.port_max = (uint16_t)port;
        }
    }
    gd_variant b;
    if (gd3_dict_get(&d, "enableIpv6", &b)) {
        c->cfg.enable_ipv6 = gd3_api->variant_as_bool(&b);
        gd3_api->variant_destroy(&b);
    }
    if (gd3_dict_get(&d, "includeLoopback", &b)) {
        c->cfg.include_loopback = gd3_api->variant_as_bool(&b);
        gd3_api->variant_destroy(&b);
    }
    gd3_api->dictionary_destroy(&d);
    return err;
}

gd_error gd3_rtc_config_parse(const gd_dictionary *dict, gd3_rtc_config *out)
{
    memset(out, 0, sizeof *out);
    pm_rtc_config_default(&out->cfg);
    out->cfg.env = gd3_env();
    const char *bind = getenv("PEERMESH_BIND_ADDRESS");
    if (bind && *bind)
        out->cfg.bind_address = bind;
    gd_error err = GD_OK;
    gd_variant v;
    if (gd3_dict_get(dict, "iceServers", &v)) {
        err = parse_ice_servers(out, &v);
        gd3_api->variant_destroy(&v);
    }
    if (err == GD_OK && gd3_dict_get(dict, "peermesh", &v)) {
        err = parse_peermesh(out, &v);
        gd3_api->variant_destroy(&v);
    }
    if (err != GD_OK)
        gd3_rtc_config_free(out);
    return err;
}

/* An int option; false when absent. Non-numbers are an error. */
static bool get_int(const gd_dictionary *d, const char *key, int64_t *out, gd_error *err)
{
    gd_variant v;
    if (!gd3_dict_get(d, key, &v))
        return false;
    int t = gd3_api->variant_get_type(&v);
    if (t == GD_TYPE_INT || t == GD_TYPE_REAL || t == GD_TYPE_BOOL) {
        *out = gd3_api->variant_as_int(&v);
    } else {
        gd3_error("create_data_channel: option \"%s\" must be a number", key);
        *err = GD_ERR_INVALID_PARAMETER;
    }
    gd3_api->variant_destroy(&v);
    return *err == GD_OK;
}

static bool get_bool(const gd_dictionary *d, const char *key, bool *out)
{
    gd_variant v;
    if (!gd3_dict_get(d, key, &v))
        return false;
    *out = gd3_api->variant_as_bool(&v);
    gd3_api->variant_destroy(&v);
    return true;
}

gd_error gd3_channel_init_parse(const gd_dictionary *d, pm_rtc_channel_init *init, char **protocol)
{
    pm_rtc_channel_init_default(init);
    *protocol = NULL;
    gd_error err = GD_OK;
    int64_t n;
    get_bool(d, "negotiated", &init->negotiated);
    get_bool(d, "ordered", &init->ordered);
    if (get_int(d, "id", &n, &err)) {
        if (n < 0 || n > 65534) {
            gd3_error("create_data_channel: id %lld is out of range", (long long)n);
            err = GD_ERR_INVALID_PARAMETER;
        }
        init->id = (int)n;
    }
    /* The standard key first; WebRTCMultiplayer writes "maxPacketLifetime". */
    if (get_int(d, "maxPacketLifeTime", &n, &err) || get_int(d, "maxPacketLifetime", &n, &err)) {
        if (n < 0 || n > 65535) {
            gd3_error("create_data_channel: maxPacketLifeTime %lld is not 0..65535 ms",
                      (long long)n);
            err = GD_ERR_INVALID_PARAMETER;
        }
        init->max_packet_lifetime = (int)n;
    }
    if (get_int(d, "maxRetransmits", &n, &err)) {
        if (n < 0 || n > 65535) {
            gd3_error("create_data_channel: maxRetransmits %lld is not 0..65535", (long long)n);
            err = GD_ERR_INVALID_PARAMETER;
        }
        init->max_retransmits = (int)n;
    }
    gd_variant v;
    if (err == GD_OK && gd3_dict_get(d, "protocol", &v)) {
        *protocol = gd3_variant_to_cstr(&v);
        gd3_api->variant_destroy(&v);
        init->protocol = *protocol;
    }
    if (err == GD_OK && init->max_packet_lifetime >= 0 && init->max_retransmits >= 0) {
        gd3_error("create_data_channel: give maxPacketLifeTime or maxRetransmits, not both");
        err = GD_ERR_INVALID_PARAMETER;
    }
    if (err == GD_OK && init->negotiated != (init->id >= 0)) {
        gd3_error("create_data_channel: a negotiated channel needs an \"id\", and only a "
                  "negotiated one may have it");
        err = GD_ERR_INVALID_PARAMETER;
    }
    if (err != GD_OK) {
        free(*protocol);
        *protocol = NULL;
    }
    return err;
}
