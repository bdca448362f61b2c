/*
 * The mesh's poll: Godot's "connected" rule, removal of dead peers, the
 * order of connection events (3.2 server compatibility and 4.x modes), and
 * the two timers that go beyond Godot (connect timeout, disconnect grace).
 */
#include "mesh_internal.h"

/* FAILED by ICE only: every channel is still open, so an ICE restart may
 * bring the connection back (pm_rtc_peer_restart_ice). */
static bool recoverable(const pm_mesh *m, const pm_mesh_peer *p)
{
    if (!p->connected)
        return false;
    for (int i = 0; i < m->chan_count; i++)
        if (p->ops->channel_state(p->link, i) != PM_RTC_CHANNEL_OPEN)
            return false;
    return true;
}

/* Godot poll() step 2: may this peer's channels be looked at? False: skip it (or it was
 * scheduled for removal). */
static bool connection_usable(pm_mesh *m, pm_mesh_peer *p, pm_time now)
{
    pm_rtc_state st = p->ops->state(p->link);
    switch (st) {
    case PM_RTC_STATE_NEW:
    case PM_RTC_STATE_CONNECTING:
        return false; /* not ready yet */
    case PM_RTC_STATE_CONNECTED:
        p->disconnected_since = -1;
        return true;
    case PM_RTC_STATE_DISCONNECTED:
    case PM_RTC_STATE_FAILED:
        /* Godot treats ICE's transient "disconnected" as fatal; with a grace
         * period we wait for consent to come back (or an ICE restart) first. */
        if (m->disconnect_grace > 0 && (st == PM_RTC_STATE_DISCONNECTED || recoverable(m, p))) {
            if (p->disconnected_since < 0) {
                p->disconnected_since = now;
                PM_INFO(&m->env, "mesh", "node %d: peer %d %s; waiting %lld ms", (int)m->unique_id,
                        (int)p->id, st == PM_RTC_STATE_FAILED ? "failed (ICE)" : "disconnected",
                        (long long)(m->disconnect_grace / 1000));
            }
            if (now - p->disconnected_since < m->disconnect_grace)
                return false;
        }
        p->to_remove = true;
        return false;
    default: /* CLOSED */
        p->to_remove = true;
        return false;
    }
}

/* Godot poll() steps 3-4: count open channels; a closing or closed one removes the peer. */
static void check_channels(pm_mesh *m, pm_mesh_peer *p, pm_time now)
{
    int ready = 0;
    for (int i = 0; i < m->chan_count; i++) {
        pm_rtc_channel_state cs = p->ops->channel_state(p->link, i);
        if (cs == PM_RTC_CHANNEL_CONNECTING)
            continue;
        if (cs == PM_RTC_CHANNEL_OPEN) {
            ready++;
            continue;
        }
        p->to_remove = true;
        return;
    }
    if (ready == m->chan_count && !p->connected) {
        p->connected = true;
        p->to_announce = true;
        p->st.connected_at = now;
    }
}

static void remove_scheduled(pm_mesh *m)
{
    for (size_t i = 0; i < m->peer_count;) {
        if (!m->peers[i].to_remove) {
            i++;
            continue;
        }
        int32_t id = m->peers[i].id;
        PM_INFO(&m->env, "mesh", "node %d: peer %d left (%s)", (int)m->unique_id, (int)id,
                m->peers[i].connected ? "was connected" : "never connected");
        pm_mesh_remove_peer(m, id); /* shifts the array: same i again */
    }
}

/* Godot 3.2: newly connected peers, in ascending id order. */
static void announce_legacy(pm_mesh *m)
{
    for (size_t i = 0; i < m->peer_count; i++) {
        pm_mesh_peer *p = &m->peers[i];
        if (!p->to_announce)
            continue;
        p->to_announce = false;
        if (m->status == PM_MP_CONNECTED)
            pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, p->id);
        if (m->status != PM_MP_CONNECTED && pm_mesh_is_our_server(m, p->id)) {
            m->status = PM_MP_CONNECTED;
            pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, p->id);
            pm_mesh_emit(m, PM_MP_EVENT_CONNECTION_SUCCEEDED, p->id);
            /* The burst: every other peer already connected, this poll's included. */
            for (size_t j = 0; j < m->peer_count; j++) {
                m->peers[j].to_announce = false;
                if (m->peers[j].id != p->id && m->peers[j].connected)
                    pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, m->peers[j].id);
            }
            return;
        }
    }
}

/* Godot 4: a client announces only its server; SceneMultiplayer's connected_to_server
 * (CONNECTION_SUCCEEDED here) follows. */
static void announce_v4(pm_mesh *m)
{
    for (size_t i = 0; i < m->peer_count; i++) {
        pm_mesh_peer *p = &m->peers[i];
        if (!p->to_announce)
            continue;
        p->to_announce = false;
        if (m->mode != PM_MESH_MODE_CLIENT) {
            pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, p->id);
            continue;
        }
        if (p->id != PM_MP_TARGET_SERVER) {
            PM_ERROR(&m->env, "mesh", "bug: client has peer %d", (int)p->id);
            continue;
        }
        bool was_connecting = m->status != PM_MP_CONNECTED;
        m->status = PM_MP_CONNECTED;
        pm_mesh_emit(m, PM_MP_EVENT_PEER_CONNECTED, PM_MP_TARGET_SERVER);
        if (was_connecting)
            pm_mesh_emit(m, PM_MP_EVENT_CONNECTION_SUCCEEDED, PM_MP_TARGET_SERVER);
    }
}

/* Beyond Godot: a client whose server never connected gives up. */
static void check_connect_timeout(pm_mesh *m, pm_time now)
{
    if (m->status != PM_MP_CONNECTING || m->connect_timeout <= 0 ||
        now - m->setup_at < m->connect_timeout)
        return;
    PM_WARN(&m->env, "mesh", "node %d: the server did not connect within %lld ms",
            (int)m->unique_id, (long long)(m->connect_timeout / 1000));
    m->status = PM_MP_DISCONNECTED;
    pm_mesh_emit(m, PM_MP_EVENT_CONNECTION_FAILED, PM_MP_TARGET_SERVER);
}

int pm_mesh_poll_at(pm_mesh *m, pm_time now)
{
    if (m->peer_count) {
        for (size_t i = 0; i < m->peer_count; i++) {
            pm_mesh_peer *p = &m->peers[i];
            p->ops->poll(p->link);
            if (connection_usable(m, p, now))
                check_channels(m, p, now);
        }
        remove_scheduled(m);
        if (m->mode == PM_MESH_MODE_LEGACY)
            announce_legacy(m);
        else
            announce_v4(m);
        if (m->next_packet_peer == 0)
            pm_mesh_find_next_peer(m);
    }
    check_connect_timeout(m, now);
    return PM_OK;
}

int pm_mesh_poll(pm_mesh *m)
{
    if (!m)
        return PM_ERR_INVALID;
    return pm_mesh_poll_at(m, pm_env_now(&m->env));
}

pm_time pm_mesh_next_timeout(const pm_mesh *m)
{
    if (!m)
        return PM_TIME_NEVER;
    pm_time t = PM_TIME_NEVER;
    for (size_t i = 0; i < m->peer_count; i++) {
        const pm_mesh_peer *p = &m->peers[i];
        t = PM_MIN(t, p->ops->next_timeout(p->link));
        if (p->disconnected_since >= 0)
            t = PM_MIN(t, p->disconnected_since + m->disconnect_grace);
    }
    if (m->status == PM_MP_CONNECTING && m->connect_timeout > 0)
        t = PM_MIN(t, m->setup_at + m->connect_timeout);
    return t;
}
