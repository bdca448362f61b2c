/*
 * Godot's framing over ENet: header, system messages, channel layouts and
 * the 3.2 relay decision. See godot_enet.h and GODOT-SEMANTICS.md section 4.
 */
#include "wire/godot_enet.h"

bool pm_genet_id_is_client(uint32_t id)
{
    return id >= PM_GENET_MIN_ID && id <= PM_GENET_MAX_ID;
}

uint32_t pm_genet_id_from_random(uint32_t r)
{
    /* Godot keeps 31 bits so the id is a positive int32 on every side. */
    uint32_t id = r & PM_GENET_MAX_ID;
    return id < PM_GENET_MIN_ID ? id + PM_GENET_MIN_ID : id;
}

void pm_genet_header_write(uint8_t out[PM_GENET_HEADER_LEN], uint32_t source, int32_t target)
{
    pm_genet_wr32le(out, source);
    pm_genet_wr32le(out + 4, (uint32_t)target);
}

int pm_genet_header_read(const uint8_t *p, size_t len, pm_genet_header *out)
{
    if (!p || len < PM_GENET_HEADER_LEN)
        return PM_ERR_PARSE;
    out->source = pm_genet_rd32le(p);
    out->target = (int32_t)pm_genet_rd32le(p + 4);
    return PM_OK;
}

int pm_genet_sysmsg_write(uint8_t out[PM_GENET_SYSMSG_LEN], uint32_t type, uint32_t peer_id)
{
    if (type != PM_GENET_SYSMSG_ADD_PEER && type != PM_GENET_SYSMSG_REMOVE_PEER)
        return PM_ERR_INVALID;
    if (!pm_genet_id_is_client(peer_id))
        return PM_ERR_INVALID;
    pm_genet_wr32le(out, type);
    pm_genet_wr32le(out + 4, peer_id);
    return PM_OK;
}

int pm_genet_sysmsg_read(const uint8_t *p, size_t len, pm_genet_sysmsg *out)
{
    if (!p || len != PM_GENET_SYSMSG_LEN)
        return PM_ERR_PARSE;
    uint32_t type = pm_genet_rd32le(p);
    uint32_t id = pm_genet_rd32le(p + 4);
    if (type != PM_GENET_SYSMSG_ADD_PEER && type != PM_GENET_SYSMSG_REMOVE_PEER)
        return PM_ERR_PARSE;
    if (!pm_genet_id_is_client(id))
        return PM_ERR_PARSE;
    out->type = type;
    out->peer_id = id;
    return PM_OK;
}

int pm_genet_channel_count(pm_genet_format fmt, int extra)
{
    int first = fmt == PM_GENET_GODOT3 ? PM_GENET3_CH_FIRST_EXTRA : PM_GENET4_CH_FIRST_EXTRA;
    if (extra < 0 || extra > PM_GENET_MAX_CHANNELS - first)
        return PM_ERR_INVALID;
    return first + extra;
}

int pm_genet_route_for_send(pm_genet_format fmt, pm_mp_transfer_mode mode, int channel,
                            bool always_ordered, size_t channel_count, pm_genet_route *out)
{
    bool g3 = fmt == PM_GENET_GODOT3;
    int ch;
    uint32_t flags;
    switch (mode) {
    case PM_MP_TRANSFER_RELIABLE:
        ch = g3 ? PM_GENET3_CH_RELIABLE : PM_GENET4_CH_RELIABLE;
        flags = PM_GENET_FLAG_RELIABLE;
        break;
    case PM_MP_TRANSFER_UNRELIABLE_ORDERED:
        /* 3.2 has no unreliable fragments: big packets are fragmented reliably. */
        ch = g3 ? PM_GENET3_CH_UNRELIABLE : PM_GENET4_CH_UNRELIABLE;
        flags = g3 ? 0 : PM_GENET_FLAG_UNRELIABLE_FRAGMENT;
        break;
    case PM_MP_TRANSFER_UNRELIABLE:
        ch = g3 ? PM_GENET3_CH_UNRELIABLE : PM_GENET4_CH_UNRELIABLE;
        if (g3)
            flags = always_ordered ? 0 : PM_GENET_FLAG_UNSEQUENCED;
        else
            flags = PM_GENET_FLAG_UNSEQUENCED | PM_GENET_FLAG_UNRELIABLE_FRAGMENT;
        break;
    default:
        return PM_ERR_INVALID;
    }
    if (channel < 0 || channel > PM_GENET_MAX_CHANNELS)
        return PM_ERR_INVALID;
    if (channel > 0) /* extra channel k: Godot 3 uses ENet channel 2 + k, Godot 4 1 + k */
        ch = (g3 ? PM_GENET3_CH_FIRST_EXTRA : PM_GENET4_CH_FIRST_EXTRA) + channel - 1;
    if ((size_t)ch >= channel_count || ch >= PM_GENET_MAX_CHANNELS)
        return PM_ERR_INVALID;
    out->channel = (uint8_t)ch;
    out->flags = flags;
    return PM_OK;
}

void pm_genet_classify(pm_genet_format fmt, uint8_t enet_channel, uint32_t flags,
                       pm_genet_class *out)
{
    int first = fmt == PM_GENET_GODOT3 ? PM_GENET3_CH_FIRST_EXTRA : PM_GENET4_CH_FIRST_EXTRA;
    out->config = fmt == PM_GENET_GODOT3 && enet_channel == PM_GENET3_CH_CONFIG;
    out->channel = enet_channel >= first ? enet_channel - first + 1 : 0;
    /* Godot 4's get_packet_mode(): the mode follows from how ENet delivered it. */
    if (flags & PM_GENET_FLAG_RELIABLE)
        out->mode = PM_MP_TRANSFER_RELIABLE;
    else if (flags & PM_GENET_FLAG_UNSEQUENCED)
        out->mode = PM_MP_TRANSFER_UNRELIABLE;
    else
        out->mode = PM_MP_TRANSFER_UNRELIABLE_ORDERED;
}

void pm_genet_relay_plan(uint32_t source, int32_t target, bool relay_enabled, pm_genet_relay *out)
{
    (void)source; /* the caller checked it against the connection's id */
    *out = (pm_genet_relay){0};
    if (target == PM_GENET_SERVER_ID) {
        out->local = true;
    } else if (!relay_enabled) {
        /* 3.2: any other destination is dropped when the server does not relay. */
    } else if (target == 0) {
        out->local = true;
        out->forward = true;
    } else if (target < 0) {
        /* INT32_MIN excludes an id no client can have (ids stop at 2^31-1). */
        int32_t excluded = target == INT32_MIN ? 0 : -target;
        out->forward = true;
        out->exclude = excluded;
        out->local = excluded != PM_GENET_SERVER_ID;
    } else {
        out->forward = true;
        out->to = target;
    }
}

uint8_t pm_godot_raw_command(pm_genet_format fmt)
{
    return fmt == PM_GENET_GODOT3 ? PM_GODOT3_CMD_RAW : PM_GODOT4_CMD_RAW;
}

int pm_godot_raw_unwrap(pm_genet_format fmt, const uint8_t *p, size_t len, const uint8_t **payload,
                        size_t *payload_len)
{
    if (!p || len < 2)
        return PM_ERR_PARSE;
    /* Godot 4 keeps per-subsystem flags in the high bits (CMD_MASK = 7). */
    uint8_t cmd = fmt == PM_GENET_GODOT3 ? p[0] : (uint8_t)(p[0] & 7);
    if (cmd != pm_godot_raw_command(fmt))
        return PM_ERR_PARSE;
    *payload = p + 1;
    *payload_len = len - 1;
    return PM_OK;
}
