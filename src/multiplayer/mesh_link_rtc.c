/*
 * The mesh's link over a WebRTC peer connection: the negotiated channels of
 * mesh.h on a pm_rtc_peer, and pm_mesh_add_peer() itself.
 */
#include "mesh_internal.h"

typedef struct rtc_link {
    pm_envr env;
    pm_rtc_peer *pc;
    pm_rtc_channel *chans[PM_MESH_MAX_CHANNELS];
    int count;
} rtc_link;

static pm_rtc_state l_state(const void *link)
{
    return pm_rtc_peer_get_state(((const rtc_link *)link)->pc);
}

static int l_create_channel(void *link, int index, const pm_mesh_chan_spec *spec)
{
    rtc_link *l = link;
    if (index != l->count || index >= PM_MESH_MAX_CHANNELS)
        return PM_ERR_INVALID;
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init);
    init.negotiated = true;
    init.id = spec->stream_id;
    init.ordered = spec->ordered;
    init.max_packet_lifetime = spec->max_packet_lifetime;
    int rc = pm_rtc_peer_create_channel(l->pc, spec->label, &init, &l->chans[index]);
    if (rc == PM_OK) {
        /* Godot's multiplayer sends binary messages (WriteMode BINARY, the default). */
        pm_rtc_channel_set_write_mode(l->chans[index], PM_RTC_WRITE_BINARY);
        l->count++;
    }
    return rc;
}

static pm_rtc_channel_state l_channel_state(const void *link, int index)
{
    const rtc_link *l = link;
    return index < l->count ? pm_rtc_channel_get_ready_state(l->chans[index])
                            : PM_RTC_CHANNEL_CLOSED;
}

static int l_put(void *link, int index, const uint8_t *data, size_t len)
{
    rtc_link *l = link;
    return index < l->count ? pm_rtc_channel_put_packet(l->chans[index], data, len)
                            : PM_ERR_INVALID;
}

static int l_get(void *link, int index, const uint8_t **data, size_t *len)
{
    rtc_link *l = link;
    return index < l->count ? pm_rtc_channel_get_packet(l->chans[index], data, len) : PM_ERR_AGAIN;
}

static int l_available(const void *link, int index)
{
    const rtc_link *l = link;
    return index < l->count ? pm_rtc_channel_get_available_packet_count(l->chans[index]) : 0;
}

static size_t l_max_message(const void *link)
{
    return pm_rtc_peer_max_message_size(((const rtc_link *)link)->pc);
}

static void l_poll(void *link)
{
    rtc_link *l = link;
    int rc = pm_rtc_peer_poll(l->pc);
    if (rc < 0 && rc != PM_ERR_CLOSED)
        PM_WARN(&l->env, "mesh", "connection poll: %s", pm_strerror(rc));
}

static pm_time l_next_timeout(const void *link)
{
    return pm_rtc_peer_next_timeout(((const rtc_link *)link)->pc);
}

static int l_fd(const void *link)
{
    return pm_rtc_peer_fd(((const rtc_link *)link)->pc);
}

static void l_close(void *link)
{
    pm_rtc_peer_close(((rtc_link *)link)->pc);
}

static void l_destroy(void *link)
{
    rtc_link *l = link;
    pm_rtc_peer_free(l->pc);
    pm_envr env = l->env;
    pm_free(&env, l);
}

static void l_stats(const void *link, pm_mesh_link_stats *out)
{
    const rtc_link *l = link;
    out->rtt = pm_rtc_peer_rtt(l->pc);
    out->abandoned = 0;
    out->has_pair = pm_rtc_peer_get_selected_pair(l->pc, &out->pair) == PM_OK;
    for (int i = 0; i < l->count; i++)
        out->abandoned += pm_rtc_channel_get_messages_abandoned(l->chans[i]);
}

static pm_rtc_peer *l_connection(const void *link)
{
    return ((const rtc_link *)link)->pc;
}

static pm_rtc_channel *const *l_channels(const void *link)
{
    return ((const rtc_link *)link)->chans;
}

static const pm_mesh_link_ops RTC_LINK = {
    .state = l_state,
    .create_channel = l_create_channel,
    .channel_state = l_channel_state,
    .put = l_put,
    .get = l_get,
    .available = l_available,
    .max_message = l_max_message,
    .poll = l_poll,
    .next_timeout = l_next_timeout,
    .fd = l_fd,
    .close = l_close,
    .destroy = l_destroy,
    .stats = l_stats,
    .connection = l_connection,
    .channels = l_channels,
};

int pm_mesh_add_peer(pm_mesh *m, pm_rtc_peer *pc, int32_t id, int unreliable_lifetime)
{
    if (!m || !pc)
        return PM_ERR_INVALID;
    rtc_link *l = pm_calloc(&m->env, sizeof *l);
    if (!l)
        return PM_ERR_NOMEM;
    l->env = m->env;
    l->pc = pc;
    int rc = pm_mesh_add_link(m, &RTC_LINK, l, id, unreliable_lifetime);
    if (rc != PM_OK) {
        /* The caller keeps the connection: give back what was created on it. */
        for (int i = 0; i < l->count; i++)
            pm_rtc_channel_release(l->chans[i]);
        pm_free(&m->env, l);
    }
    return rc;
}
