/* Godot 3.2 WebSocketMultiplayerPeer framing (godot_wsmp.h). */
#include "wire/godot_wsmp.h"

void pm_gws_header_write(uint8_t out[PM_GWS_HEADER_LEN], uint8_t type, int32_t from, int32_t to)
{
    out[0] = type;
    pm_wr32le(out + 1, (uint32_t)from);
    pm_wr32le(out + 5, (uint32_t)to);
}

int pm_gws_header_read(const uint8_t *p, size_t len, pm_gws_header *out)
{
    if (!p || len < PM_GWS_HEADER_LEN)
        return PM_ERR_PARSE;
    *out = (pm_gws_header){
        .type = p[0],
        .from = (int32_t)pm_rd32le(p + 1),
        .to = (int32_t)pm_rd32le(p + 5),
    };
    return PM_OK;
}

void pm_gws_sys_write(uint8_t out[PM_GWS_SYS_LEN], uint8_t type, int32_t peer_id)
{
    pm_gws_header_write(out, type, 1, 0);
    pm_wr32le(out + PM_GWS_HEADER_LEN, (uint32_t)peer_id);
}

int pm_gws_sys_read(const uint8_t *p, size_t len, uint8_t *type, int32_t *peer_id)
{
    if (!p || len < PM_GWS_SYS_LEN || p[0] < PM_GWS_SYS_ADD || p[0] > PM_GWS_SYS_ID)
        return PM_ERR_PARSE;
    *type = p[0];
    *peer_id = (int32_t)pm_rd32le(p + PM_GWS_HEADER_LEN);
    return PM_OK;
}
