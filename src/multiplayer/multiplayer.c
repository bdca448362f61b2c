/* The multiplayer-peer interface wrapper: current target, mode and channel over a transport. */
#include "multiplayer/multiplayer_internal.h"

struct pm_multiplayer {
    pm_envr env; /* what it was allocated from */
    const pm_multiplayer_ops *ops;
    void *impl;
    int32_t target;
    pm_mp_transfer_mode mode;
    int channel;
};

int pm_multiplayer_new_env(const pm_envr *env, const pm_multiplayer_ops *ops, void *impl,
                           pm_multiplayer **out)
{
    if (!ops || !out || !ops->poll || !ops->put_packet || !ops->get_packet || !ops->next_event)
        return PM_ERR_INVALID;
    pm_multiplayer *mp = pm_calloc(env, sizeof *mp);
    if (!mp)
        return PM_ERR_NOMEM;
    mp->env = *env;
    mp->ops = ops;
    mp->impl = impl;
    mp->mode = PM_MP_TRANSFER_RELIABLE;
    *out = mp;
    return PM_OK;
}

/* A transport of the user's own: the default environment (the system allocator). */
int pm_multiplayer_new(const pm_multiplayer_ops *ops, void *impl, pm_multiplayer **out)
{
    pm_envr env;
    pm_env_resolve(&env, NULL);
    return pm_multiplayer_new_env(&env, ops, impl, out);
}

void pm_multiplayer_free(pm_multiplayer *mp)
{
    if (mp) {
        pm_envr env = mp->env;
        pm_free(&env, mp);
    }
}

int pm_mp_poll(pm_multiplayer *mp)
{
    return mp ? mp->ops->poll(mp->impl) : PM_ERR_INVALID;
}

void pm_mp_set_target_peer(pm_multiplayer *mp, int32_t target)
{
    if (mp)
        mp->target = target;
}
int32_t pm_mp_get_target_peer(const pm_multiplayer *mp)
{
    return mp ? mp->target : 0;
}
int pm_mp_set_transfer_mode(pm_multiplayer *mp, pm_mp_transfer_mode mode)
{
    if (!mp || mode < PM_MP_TRANSFER_UNRELIABLE || mode > PM_MP_TRANSFER_RELIABLE)
        return PM_ERR_INVALID;
    mp->mode = mode;
    return PM_OK;
}
pm_mp_transfer_mode pm_mp_get_transfer_mode(const pm_multiplayer *mp)
{
    return mp ? mp->mode : PM_MP_TRANSFER_RELIABLE;
}
int pm_mp_set_transfer_channel(pm_multiplayer *mp, int channel)
{
    if (!mp || channel < 0)
        return PM_ERR_INVALID;
    mp->channel = channel;
    return PM_OK;
}
int pm_mp_get_transfer_channel(const pm_multiplayer *mp)
{
    return mp ? mp->channel : 0;
}

int pm_mp_put_packet(pm_multiplayer *mp, const uint8_t *data, size_t len)
{
    if (!mp || (!data && len))
        return PM_ERR_INVALID;
    return mp->ops->put_packet(mp->impl, mp->target, mp->mode, mp->channel, data, len);
}

int pm_mp_get_packet(pm_multiplayer *mp, pm_mp_packet *out)
{
    if (!mp || !out)
        return PM_ERR_INVALID;
    return mp->ops->get_packet(mp->impl, out);
}

int pm_mp_get_available_packet_count(const pm_multiplayer *mp)
{
    return mp && mp->ops->get_available_packet_count ? mp->ops->get_available_packet_count(mp->impl)
                                                     : 0;
}

bool pm_mp_next_event(pm_multiplayer *mp, pm_mp_event *ev)
{
    return mp && ev && mp->ops->next_event(mp->impl, ev);
}

int32_t pm_mp_get_unique_id(const pm_multiplayer *mp)
{
    return mp && mp->ops->get_unique_id ? mp->ops->get_unique_id(mp->impl) : 0;
}
bool pm_mp_is_server(const pm_multiplayer *mp)
{
    return pm_mp_get_unique_id(mp) == 1;
}
pm_mp_status pm_mp_get_connection_status(const pm_multiplayer *mp)
{
    return mp && mp->ops->get_connection_status ? mp->ops->get_connection_status(mp->impl)
                                                : PM_MP_DISCONNECTED;
}
void pm_mp_set_refuse_new_connections(pm_multiplayer *mp, bool refuse)
{
    if (mp && mp->ops->set_refuse_new_connections)
        mp->ops->set_refuse_new_connections(mp->impl, refuse);
}
bool pm_mp_is_refusing_new_connections(const pm_multiplayer *mp)
{
    return mp && mp->ops->is_refusing_new_connections &&
           mp->ops->is_refusing_new_connections(mp->impl);
}
int pm_mp_disconnect_peer(pm_multiplayer *mp, int32_t peer_id, bool force)
{
    if (!mp)
        return PM_ERR_INVALID;
    return mp->ops->disconnect_peer ? mp->ops->disconnect_peer(mp->impl, peer_id, force)
                                    : PM_ERR_UNSUPPORTED;
}
void pm_mp_close(pm_multiplayer *mp)
{
    if (mp && mp->ops->close)
        mp->ops->close(mp->impl);
}
bool pm_mp_is_server_relay_supported(const pm_multiplayer *mp)
{
    return mp && mp->ops->is_server_relay_supported && mp->ops->is_server_relay_supported(mp->impl);
}
size_t pm_mp_get_max_packet_size(const pm_multiplayer *mp)
{
    return mp && mp->ops->get_max_packet_size ? mp->ops->get_max_packet_size(mp->impl) : 0;
}
