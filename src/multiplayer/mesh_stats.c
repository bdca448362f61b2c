/* Per-peer statistics (beyond Godot: godot-proposals#13294 asks for RTT and pair stats). */
#include "mesh_internal.h"

int pm_mesh_get_peer_stats(const pm_mesh *m, int32_t id, pm_mesh_peer_stats *out)
{
    if (!m || !out)
        return PM_ERR_INVALID;
    const pm_mesh_peer *p = pm_mesh_find(m, id);
    if (!p)
        return PM_ERR_NOT_FOUND;
    *out = p->st;
    pm_mesh_link_stats ls;
    memset(&ls, 0, sizeof ls);
    ls.rtt = -1;
    if (p->ops->stats)
        p->ops->stats(p->link, &ls);
    out->rtt = ls.rtt;
    out->unreliable_abandoned = ls.abandoned;
    out->has_pair = ls.has_pair;
    out->pair = ls.pair;
    return PM_OK;
}
