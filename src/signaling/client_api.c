/*
 * The signaling client's API where it does not depend on the WebSocket
 * underneath: defaults, getters, seal and close, events (client_shell.h).
 */
#include "signaling/client_shell.h"

#include <stdlib.h>

#define DEFAULT_CONNECT_TIMEOUT PM_SEC(10)

void pm_signal_client_config_default(pm_signal_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mesh = true;
    cfg->protocol = PM_SIGNAL_PROTOCOL_JSON;
    cfg->offer_rule = PM_SIGNAL_OFFER_AUTO;
    cfg->server_compatibility = true;
    cfg->unreliable_lifetime = PM_MESH_LIFETIME_DEFAULT;
    pm_rtc_config_default(&cfg->rtc);
    pm_mesh_config_default(&cfg->mesh_config);
    cfg->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    cfg->ice_restart_interval = PM_SEC(5);
    pm_enet_config_default(&cfg->enet);
    cfg->enet.format = PM_ENET_FORMAT_GODOT4; /* Godot 4 has the ENet mesh */
    cfg->punch_timeout = PM_SEC(10);
}

/*
 * The URL, checked before anything connects, so a typo is an error that
 * says what is wrong rather than a connection that fails later: ws:// or
 * wss://, a host (a name, an IPv4 address or [IPv6]), an optional port of
 * 1..65535, then an optional /path or ?query; no spaces, no user@.
 */
static bool url_valid(const pm_envr *env, const char *url)
{
    const char *why = NULL;
    const char *p = url;
    if (!url) {
        PM_ERROR(env, "signal", "no signaling URL: set url to ws://HOST:PORT");
        return false;
    }
    if (strncmp(p, "ws://", 5) == 0)
        p += 5;
    else if (strncmp(p, "wss://", 6) == 0)
        p += 6;
    else
        why = "it must start with ws:// or wss://";
    size_t host = 0;
    if (!why && *p == '[') {
        host = strcspn(p, "]");
        why = p[host] != ']' || host < 3 ? "an IPv6 address needs [brackets]" : NULL;
        host++;
    } else if (!why) {
        host = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
        why = host == 0 ? "it has no host name or address" : NULL;
    }
    p += host;
    if (!why && *p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        why = end == p + 1 || port < 1 || port > 65535 ? "the port must be a number in 1..65535"
                                                       : NULL;
        p = end;
    }
    if (!why && *p && *p != '/' && *p != '?')
        why = *p == '@' ? "user@ is not supported" : "unexpected characters after the host";
    for (const char *q = p; !why && *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            why = "it contains spaces or control characters";
    if (why)
        PM_ERROR(env, "signal", "bad signaling URL \"%s\": %s", url, why);
    return why == NULL;
}

int pm_signal_client_new_core(const pm_envr *env, const pm_signal_client_config *cfg,
                              pm_sigcl **out)
{
    /* pm_sigcl_new logs what is wrong with the other options. */
    return url_valid(env, cfg->url) ? pm_sigcl_new(env, cfg, NULL, pm_env_now(env), out)
                                    : PM_ERR_INVALID;
}

int pm_signal_client_status(const pm_signal_client *c)
{
    pm_sigcl *core = pm_signal_client_core(c);
    pm_multiplayer *mp = pm_sigcl_multiplayer(core);
    bool mesh_alive = mp && pm_mp_get_connection_status(mp) != PM_MP_DISCONNECTED;
    return pm_sigcl_state(core) == PM_SIGNAL_CLOSED && !mesh_alive ? PM_ERR_CLOSED : PM_OK;
}

pm_signal_state pm_signal_client_state(const pm_signal_client *c)
{
    return c ? pm_sigcl_state(pm_signal_client_core(c)) : PM_SIGNAL_CLOSED;
}

int32_t pm_signal_client_id(const pm_signal_client *c)
{
    return c ? pm_sigcl_id(pm_signal_client_core(c)) : 0;
}

int32_t pm_signal_client_host(const pm_signal_client *c)
{
    return c ? pm_sigcl_host(pm_signal_client_core(c)) : 0;
}

const char *pm_signal_client_lobby(const pm_signal_client *c)
{
    return c ? pm_sigcl_lobby(pm_signal_client_core(c)) : "";
}

bool pm_signal_client_is_mesh_lobby(const pm_signal_client *c)
{
    return c && pm_sigcl_is_mesh_lobby(pm_signal_client_core(c));
}

pm_mesh *pm_signal_client_mesh(pm_signal_client *c)
{
    return c ? pm_sigcl_mesh(pm_signal_client_core(c)) : NULL;
}

pm_enet *pm_signal_client_enet(pm_signal_client *c)
{
    return c ? pm_sigcl_enet(pm_signal_client_core(c)) : NULL;
}

pm_multiplayer *pm_signal_client_multiplayer(pm_signal_client *c)
{
    return c ? pm_sigcl_multiplayer(pm_signal_client_core(c)) : NULL;
}

int pm_signal_client_seal(pm_signal_client *c)
{
    if (!c)
        return PM_ERR_STATE;
    int rc = pm_sigcl_seal(pm_signal_client_core(c));
    pm_signal_client_flush(c);
    return rc;
}

void pm_signal_client_close(pm_signal_client *c)
{
    if (!c)
        return;
    pm_sigcl_close(pm_signal_client_core(c));
    pm_signal_client_flush(c);
}

bool pm_signal_client_next_event(pm_signal_client *c, pm_signal_event *ev)
{
    return c && ev && pm_sigcl_next_event(pm_signal_client_core(c), ev);
}
