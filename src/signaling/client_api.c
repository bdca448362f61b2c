/*
 * The signaling client's API where it does not depend on the WebSocket
 * underneath: defaults, getters, seal and close, events (client_shell.h).
 */
#include "signaling/client_shell.h"

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

int pm_signal_client_new_core(const pm_envr *env, const pm_signal_client_config *cfg,
                              pm_sigcl **out)
{
    const char *url = cfg->url;
    bool ok = url && (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0);
    int rc = ok ? pm_sigcl_new(env, cfg, NULL, pm_env_now(env), out) : PM_ERR_INVALID;
    if (rc == PM_ERR_INVALID)
        PM_ERROR(env, "signal", "bad client configuration (url %s)", url ? url : "-");
    return rc;
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
