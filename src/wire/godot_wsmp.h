/*
 * Godot 3.2's WebSocketMultiplayerPeer framing
 * (modules/websocket/websocket_multiplayer_peer.cpp): every WebSocket
 * message of a multiplayer connection starts with a 9-byte header
 *
 *   [u8 type][i32 LE from][i32 LE to]
 *
 * type 0 (SYS_NONE) carries a MultiplayerAPI packet after the header; the
 * server's system messages carry one i32 LE peer id and always say from 1
 * to 0: SYS_ADD (a peer joined), SYS_DEL (a peer left), SYS_ID (your id).
 * `to` is 0 for everyone, N for peer N, -N for everyone but N. Pure codec.
 */
#ifndef PM_GODOT_WSMP_H
#define PM_GODOT_WSMP_H

#include "base/base.h"

#define PM_GWS_HEADER_LEN 9
#define PM_GWS_SYS_LEN    (PM_GWS_HEADER_LEN + 4)
#define PM_GWS_SYS_NONE   0
#define PM_GWS_SYS_ADD    1
#define PM_GWS_SYS_DEL    2
#define PM_GWS_SYS_ID     3

typedef struct pm_gws_header {
    uint8_t type;
    int32_t from;
    int32_t to;
} pm_gws_header;

void pm_gws_header_write(uint8_t out[PM_GWS_HEADER_LEN], uint8_t type, int32_t from, int32_t to);
/** PM_ERR_PARSE when shorter than the header. */
int pm_gws_header_read(const uint8_t *p, size_t len, pm_gws_header *out);
/** A system message about `peer_id` (13 bytes). */
void pm_gws_sys_write(uint8_t out[PM_GWS_SYS_LEN], uint8_t type, int32_t peer_id);
/**
 * Read a system message: PM_ERR_PARSE unless its type is ADD, DEL or ID and
 * at least 4 bytes of id follow the header (Godot reads the first 4 and
 * ignores the rest).
 */
int pm_gws_sys_read(const uint8_t *p, size_t len, uint8_t *type, int32_t *peer_id);

#endif
