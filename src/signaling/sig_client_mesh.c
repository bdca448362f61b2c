/*
 * The signaling client core, mesh side: create the mesh in the mode the id
 * says, a peer connection per announced peer (through the peer factory),
 * who offers, applying and relaying descriptions and candidates (the demo's
 * multiplayer_client.gd).
 */
#include "signaling/sig_client_internal.h"

void pm_sigcl_free_ice(pm_sigcl *c)
{
    pm_free(&c->env, c->ice);
    c->ice = NULL;
    c->ice_count = 0;
    pm_sig_ice_list_free(&c->env, &c->server_ice);
}

/* The user's ICE servers followed by the valid ones the server gave. */
static void merge_ice(pm_sigcl *c, const char *json, size_t len)
{
    if (pm_sig_ice_list_parse(&c->env, json, len, &c->server_ice) != PM_OK) {
        PM_WARN(&c->env, "signal", "ignoring an unreadable ICE server list from the server");
        return;
    }
    size_t n = c->cfg.rtc.ice_server_count + c->server_ice.count;
    c->ice = pm_calloc(&c->env, (n ? n : 1) * sizeof *c->ice);
    if (!c->ice)
        return;
    for (size_t i = 0; i < c->cfg.rtc.ice_server_count; i++)
        c->ice[c->ice_count++] = c->cfg.rtc.ice_servers[i];
    size_t added = 0;
    for (size_t i = 0; i < c->server_ice.count; i++) {
        const pm_sig_ice_server *s = &c->server_ice.servers[i];
        pm_ice_server e = {.urls = s->urls,
                           .url_count = s->url_count,
                           .username = s->username,
                           .credential = s->credential};
        if (pm_ice_server_validate(&e) != PM_OK) {
            PM_WARN(&c->env, "signal", "ignoring an invalid ICE server from the server (%s)",
                    s->url_count ? s->urls[0] : "no URL");
            continue;
        }
        c->ice[c->ice_count++] = e;
        added++;
    }
    pm_sigcl_event(c, PM_SIGNAL_EVENT_ICE_SERVERS, (int32_t)added, 0, NULL);
}

void pm_sigcl_on_id(pm_sigcl *c, const pm_sigmsg *m)
{
    int32_t id = (int32_t)m->id;
    /* 4.x tells the lobby's mode ("true" = mesh); 3.x lobbies are meshes. */
    c->mesh_lobby =
        c->proto == PM_SIGPROTO_TEXT || (m->data_len == 4 && memcmp(m->data, "true", 4) == 0);
    if (m->ice && m->ice_len)
        merge_ice(c, m->ice, m->ice_len);
    int rc = PM_OK;
    if (c->cfg.transport == PM_SIGNAL_TRANSPORT_ENET) {
        rc = pm_sigcl_enet_on_id(c, id);
    } else {
        const pm_mp_transfer_mode *x = c->cfg.extra_channels;
        size_t nx = c->cfg.extra_channel_count;
        rc = pm_mesh_new(&c->cfg.mesh_config, &c->mesh);
        if (rc == PM_OK) {
            if (c->proto == PM_SIGPROTO_TEXT)
                rc = pm_mesh_initialize(c->mesh, id, c->cfg.server_compatibility);
            else if (c->mesh_lobby)
                rc = pm_mesh_create_mesh(c->mesh, id, x, nx);
            else if (id == 1)
                rc = pm_mesh_create_server(c->mesh, x, nx);
            else
                rc = pm_mesh_create_client(c->mesh, id, x, nx);
        }
        if (rc != PM_OK) {
            pm_mesh_free(c->mesh);
            c->mesh = NULL;
        }
    }
    if (rc != PM_OK) {
        PM_ERROR(&c->env, "signal", "cannot set up the mesh as node %d: %s", (int)id,
                 pm_strerror(rc));
        pm_sigcl_close_with(c, SIGCL_CLOSE_INTERNAL);
        return;
    }
    c->id = id;
    c->host_id = 1;
    PM_INFO(&c->env, "signal", "our id is %d (%s lobby)", (int)id,
            c->mesh_lobby ? "mesh" : "client/server");
    pm_sigcl_event(c, PM_SIGNAL_EVENT_ID, id, 0, NULL);
}

bool pm_sigcl_we_offer(const pm_sigcl *c, int32_t peer)
{
    pm_signal_offer_rule rule = c->cfg.offer_rule;
    if (rule == PM_SIGNAL_OFFER_AUTO)
        rule = c->proto == PM_SIGPROTO_TEXT ? PM_SIGNAL_OFFER_LOWER : PM_SIGNAL_OFFER_HIGHER;
    /* 4.x: `if id < own_id: offer` (the newcomer offers to those there);
     * 3.x: `if id > own_id: offer` (the host offers to everyone). */
    return rule == PM_SIGNAL_OFFER_HIGHER ? peer < c->id : peer > c->id;
}

void pm_sigcl_on_peer(pm_sigcl *c, int32_t peer)
{
    if (c->enet) {
        pm_sigcl_enet_on_peer(c, peer);
        return;
    }
    if (!c->mesh || pm_mesh_has_peer(c->mesh, peer))
        return;
    pm_rtc_config rc_cfg = c->cfg.rtc;
    if (c->ice) {
        rc_cfg.ice_servers = c->ice;
        rc_cfg.ice_server_count = c->ice_count;
    }
    pm_rtc_peer *pc = NULL;
    int rc = c->factory.new_peer ? c->factory.new_peer(c->factory.ud, peer, &rc_cfg, &pc)
                                 : pm_rtc_peer_new(&rc_cfg, &pc);
    if (rc == PM_OK)
        rc = pm_mesh_add_peer(c->mesh, pc, peer, c->cfg.unreliable_lifetime);
    if (rc != PM_OK) {
        PM_ERROR(&c->env, "signal", "cannot add peer %d: %s", (int)peer, pm_strerror(rc));
        pm_rtc_peer_free(pc);
        return;
    }
    pm_sigcl_event(c, PM_SIGNAL_EVENT_PEER_ANNOUNCED, peer, 0, NULL);
    if (pm_sigcl_we_offer(c, peer)) {
        rc = pm_rtc_peer_create_offer(pc);
        if (rc != PM_OK)
            PM_ERROR(&c->env, "signal", "cannot create an offer for peer %d: %s", (int)peer,
                     pm_strerror(rc));
    }
}

static sigcl_restart *restart_of(pm_sigcl *c, int32_t peer)
{
    for (size_t i = 0; i < c->nrestarts; i++)
        if (c->restarts[i].peer == peer)
            return &c->restarts[i];
    return NULL;
}

static void forget_restart(pm_sigcl *c, int32_t peer)
{
    sigcl_restart *r = restart_of(c, peer);
    if (r)
        *r = c->restarts[--c->nrestarts];
}

void pm_sigcl_on_peer_left(pm_sigcl *c, int32_t peer)
{
    forget_restart(c, peer);
    if (c->enet)
        pm_sigcl_enet_on_peer_left(c, peer);
    if (c->mesh && pm_mesh_has_peer(c->mesh, peer))
        (void)pm_mesh_remove_peer(c->mesh, peer);
    pm_sigcl_event(c, PM_SIGNAL_EVENT_PEER_LEFT, peer, 0, NULL);
}

static pm_rtc_peer *connection_of(pm_sigcl *c, int32_t peer)
{
    pm_mesh_peer_info info;
    if (!c->mesh || pm_mesh_get_peer(c->mesh, peer, &info) != PM_OK || !info.connection) {
        PM_WARN(&c->env, "signal", "signaling for unknown peer %d ignored", (int)peer);
        return NULL;
    }
    return info.connection;
}

void pm_sigcl_on_description(pm_sigcl *c, int32_t from, const char *type, const char *sdp,
                             size_t len)
{
    pm_rtc_peer *pc = connection_of(c, from);
    if (!pc)
        return;
    int rc = pm_rtc_peer_set_remote_description(pc, type, len ? sdp : "");
    if (rc != PM_OK)
        PM_WARN(&c->env, "signal", "peer %d: its %s was refused: %s", (int)from, type,
                pm_strerror(rc));
}

void pm_sigcl_on_candidate(pm_sigcl *c, int32_t from, const char *data, size_t len)
{
    pm_sig_candidate cand;
    if (pm_sig_candidate_parse(data, len, &cand) != PM_OK) {
        PM_WARN(&c->env, "signal", "peer %d: malformed candidate message", (int)from);
        return;
    }
    char mid[64], line[1024];
    if (cand.mid_len >= sizeof mid || cand.candidate_len >= sizeof line)
        return;
    memcpy(mid, cand.mid, cand.mid_len);
    mid[cand.mid_len] = 0;
    memcpy(line, cand.candidate, cand.candidate_len);
    line[cand.candidate_len] = 0;
    if (c->enet) {
        if (strcmp(mid, "enet") == 0)
            pm_sigcl_enet_on_line(c, from, line);
        return;
    }
    pm_rtc_peer *pc = connection_of(c, from);
    if (!pc)
        return;
    int rc = pm_rtc_peer_add_ice_candidate(pc, mid, cand.index, line);
    if (rc != PM_OK)
        PM_DEBUG(&c->env, "signal", "peer %d: candidate refused: %s", (int)from, pm_strerror(rc));
}

static void relay_peer(pm_sigcl *c, int32_t peer, pm_rtc_peer *pc)
{
    pm_rtc_event ev;
    while (pm_rtc_peer_next_event(pc, &ev)) {
        if (ev.type == PM_RTC_EVENT_DATA_CHANNEL) {
            /* The mesh uses negotiated channels only: an in-band channel
             * announced by a peer is nobody's to read, and unread it would
             * eventually pause the whole connection (rtc.h). */
            pm_rtc_channel_release(ev.channel);
        } else if (ev.type == PM_RTC_EVENT_DESCRIPTION) {
            int type = strcmp(ev.sdp_type, "offer") == 0 ? PM_SIGMSG_OFFER : PM_SIGMSG_ANSWER;
            (void)pm_sigcl_send(c, type, peer, ev.sdp, strlen(ev.sdp));
        } else if (ev.type == PM_RTC_EVENT_CANDIDATE && ev.candidate && *ev.candidate) {
            /* The demo clients cannot take an empty end-of-candidates line
             * (they require three non-empty parts), so none is sent. */
            c->text.len = 0;
            if (pm_sig_candidate_format(&c->env, ev.mid && *ev.mid ? ev.mid : "0",
                                        ev.mline_index < 0 ? 0 : ev.mline_index, ev.candidate,
                                        &c->text) == PM_OK)
                (void)pm_sigcl_send(c, PM_SIGMSG_CANDIDATE, peer, (const char *)c->text.data,
                                    c->text.len);
        }
    }
}

/*
 * Beyond Godot: a connection that was up and went DISCONNECTED or FAILED
 * (a NAT lost its mapping, a network changed) gets an ICE restart from the
 * side that offered to it, as long as signaling can carry the new offer;
 * another one every ice_restart_interval while it stays down (the first
 * offer or its answer may be lost, or the new candidates may not work yet).
 */
static void maybe_restart(pm_sigcl *c, pm_time now, int32_t peer, const pm_mesh_peer_info *info)
{
    pm_rtc_state st = pm_rtc_peer_get_state(info->connection);
    bool down = st == PM_RTC_STATE_DISCONNECTED || st == PM_RTC_STATE_FAILED;
    if (!down || !info->connected) {
        forget_restart(c, peer);
        return;
    }
    if (!c->cfg.ice_restart_interval || c->link != LINK_OPEN || !pm_sigcl_we_offer(c, peer))
        return;
    sigcl_restart *r = restart_of(c, peer);
    if (r && now - r->at < c->cfg.ice_restart_interval)
        return;
    if (!r) {
        if (c->nrestarts == c->restarts_cap) {
            size_t cap = c->restarts_cap ? c->restarts_cap * 2 : 4;
            sigcl_restart *n = pm_realloc(&c->env, c->restarts, cap * sizeof *n);
            if (!n)
                return;
            c->restarts = n;
            c->restarts_cap = cap;
        }
        r = &c->restarts[c->nrestarts++];
        r->peer = peer;
    }
    r->at = now;
    int rc = pm_rtc_peer_restart_ice(info->connection);
    if (rc == PM_OK)
        PM_INFO(&c->env, "signal", "peer %d: connection %s, restarting ICE", (int)peer,
                st == PM_RTC_STATE_FAILED ? "failed" : "disconnected");
    else
        PM_DEBUG(&c->env, "signal", "peer %d: no ICE restart now: %s", (int)peer, pm_strerror(rc));
}

pm_time pm_sigcl_next_restart(const pm_sigcl *c)
{
    pm_time t = PM_TIME_NEVER;
    if (c->link == LINK_OPEN)
        for (size_t i = 0; i < c->nrestarts; i++)
            t = PM_MIN(t, c->restarts[i].at + c->cfg.ice_restart_interval);
    return t;
}

void pm_sigcl_relay(pm_sigcl *c, pm_time now)
{
    if (!c->mesh)
        return;
    for (size_t i = c->nrestarts; i-- > 0;) /* peers the mesh dropped */
        if (!pm_mesh_has_peer(c->mesh, c->restarts[i].peer))
            c->restarts[i] = c->restarts[--c->nrestarts];
    size_t n = pm_mesh_get_peers(c->mesh, NULL, 0);
    if (n > c->ids_cap) {
        int32_t *ids = pm_realloc(&c->env, c->ids, n * sizeof *ids);
        if (!ids)
            return;
        c->ids = ids;
        c->ids_cap = n;
    }
    n = pm_mesh_get_peers(c->mesh, c->ids, c->ids_cap);
    for (size_t i = 0; i < n && i < c->ids_cap; i++) {
        pm_mesh_peer_info info;
        if (pm_mesh_get_peer(c->mesh, c->ids[i], &info) != PM_OK || !info.connection)
            continue;
        maybe_restart(c, now, c->ids[i], &info);
        relay_peer(c, c->ids[i], info.connection);
    }
}
