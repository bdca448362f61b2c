/* Helpers shared by the mesh subcommands (see mesh_util.h). */
#include "mesh_util.h"

#include <stdio.h>

int pm_cli_mesh_connect(pm_mesh *mesh, int32_t peer, const char *bind_address,
                        int unreliable_lifetime)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = bind_address;
    pm_rtc_peer *pc = NULL;
    int rc = pm_rtc_peer_new(&cfg, &pc);
    if (rc < 0) {
        fprintf(stderr, "peermesh: cannot create a connection on %s: %s\n",
                bind_address ? bind_address : "*", pm_strerror(rc));
        return rc;
    }
    rc = pm_mesh_add_peer(mesh, pc, peer, unreliable_lifetime);
    if (rc < 0) {
        fprintf(stderr, "peermesh: cannot add peer %d: %s\n", (int)peer, pm_strerror(rc));
        pm_rtc_peer_free(pc);
    }
    return rc;
}

pm_rtc_peer *pm_cli_mesh_connection(const pm_mesh *mesh, int32_t peer)
{
    pm_mesh_peer_info info;
    return pm_mesh_get_peer(mesh, peer, &info) == PM_OK ? info.connection : NULL;
}

int pm_cli_mesh_drain(pm_mesh *mesh, pm_cli_mesh_signal_fn fn, void *ud)
{
    int drained = 0;
    size_t n = pm_mesh_get_peers(mesh, NULL, 0);
    int32_t ids[n ? n : 1];
    n = pm_mesh_get_peers(mesh, ids, n);
    for (size_t i = 0; i < n; i++) {
        pm_rtc_peer *pc = pm_cli_mesh_connection(mesh, ids[i]);
        pm_rtc_event ev;
        while (pc && pm_rtc_peer_next_event(pc, &ev)) {
            drained++;
            if (fn && (ev.type == PM_RTC_EVENT_DESCRIPTION || ev.type == PM_RTC_EVENT_CANDIDATE))
                fn(ud, ids[i], &ev);
        }
    }
    return drained;
}

void pm_cli_mesh_pump(pm_mesh *mesh, pm_cli_mesh_signal_fn on_signal, pm_cli_mesh_event_fn on_event,
                      void *ud)
{
    pm_mesh_poll(mesh);
    pm_cli_mesh_drain(mesh, on_signal, ud);
    pm_multiplayer *mp = pm_mesh_multiplayer(mesh);
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev))
        on_event(ud, &ev);
}

int pm_cli_mesh_apply(pm_rtc_peer *to, const pm_rtc_event *ev)
{
    if (!to)
        return PM_ERR_NOT_FOUND;
    if (ev->type == PM_RTC_EVENT_DESCRIPTION)
        return pm_rtc_peer_set_remote_description(to, ev->sdp_type, ev->sdp);
    if (ev->type == PM_RTC_EVENT_CANDIDATE)
        return pm_rtc_peer_add_ice_candidate(to, ev->mid, ev->mline_index, ev->candidate);
    return PM_OK;
}

int pm_cli_mesh_watch(pm_cli_loop *loop, pm_mesh *const *meshes, size_t count)
{
    pm_cli_loop_clear(loop);
    for (size_t m = 0; m < count; m++) {
        size_t n = pm_mesh_get_peers(meshes[m], NULL, 0);
        int32_t ids[n ? n : 1];
        n = pm_mesh_get_peers(meshes[m], ids, n);
        for (size_t i = 0; i < n; i++) {
            pm_rtc_peer *pc = pm_cli_mesh_connection(meshes[m], ids[i]);
            int rc = pc ? pm_cli_loop_add(loop, pc) : PM_OK;
            if (rc < 0)
                return rc;
        }
    }
    return PM_OK;
}

int pm_cli_mesh_wait(pm_cli_loop *loop, pm_mesh *mesh, int extra_fd, pm_time deadline,
                     bool *extra_ready)
{
    /* A full loop still waits on what it holds, and on the deadline. */
    (void)pm_cli_mesh_watch(loop, &mesh, 1);
    return pm_cli_loop_wait(loop, extra_fd, deadline, extra_ready);
}
