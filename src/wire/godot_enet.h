/*
 * Godot's framing over ENet (GODOT-SEMANTICS.md section 4): the Godot 3.2
 * NetworkedMultiplayerENet 8-byte source/target header and its config-channel
 * system messages, the Godot 3 and Godot 4 channel and packet-flag layouts,
 * the 3.2 server's relay decision, and the MultiplayerAPI raw-bytes command
 * byte (section 5). Pure codec: no ENet, no sockets, no clock.
 *
 * All Godot integers on this wire are little-endian (Godot's encode_uint32).
 */
#ifndef PM_GODOT_ENET_H
#define PM_GODOT_ENET_H

#include "base/base.h"
#include "peermesh/multiplayer.h"

/* ENet packet flags as they appear in ENetPacket.flags (enet.h 1.3.17). */
#define PM_GENET_FLAG_RELIABLE            (1u << 0)
#define PM_GENET_FLAG_UNSEQUENCED         (1u << 1)
#define PM_GENET_FLAG_UNRELIABLE_FRAGMENT (1u << 3)

/* ENet limits (enet/protocol.h: ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT, _PEER_ID). */
#define PM_GENET_MAX_CHANNELS 255
#define PM_GENET_MAX_PEERS    4095

/* Godot 3.2 channels (section 4.1): 0 config, 1 reliable, 2 unreliable, 3+ extra. */
#define PM_GENET3_CH_CONFIG      0
#define PM_GENET3_CH_RELIABLE    1
#define PM_GENET3_CH_UNRELIABLE  2
#define PM_GENET3_CH_FIRST_EXTRA 3
/* Godot 4 channels (section 4.3): 0 reliable, 1 unreliable, 2+ extra. */
#define PM_GENET4_CH_RELIABLE    0
#define PM_GENET4_CH_UNRELIABLE  1
#define PM_GENET4_CH_FIRST_EXTRA 2

/* The 3.2 data header and system message are both exactly 8 bytes. */
#define PM_GENET_HEADER_LEN         8
#define PM_GENET_SYSMSG_LEN         8
#define PM_GENET_SYSMSG_ADD_PEER    0
#define PM_GENET_SYSMSG_REMOVE_PEER 1

/* Peer ids: 1 is the server; clients pick 2..2^31-1 (Godot masks with 0x7FFFFFFF). */
#define PM_GENET_SERVER_ID 1
#define PM_GENET_MIN_ID    2
#define PM_GENET_MAX_ID    0x7FFFFFFF

/* MultiplayerAPI raw-bytes command byte: 3.2 RAW = 4 (5.1), 4.x RAW = 3 (5.3). */
#define PM_GODOT3_CMD_RAW 0x04
#define PM_GODOT4_CMD_RAW 0x03

/** Which Godot generation's ENet layout. Values match pm_enet_format. */
typedef enum pm_genet_format {
    PM_GENET_GODOT3 = 3,
    PM_GENET_GODOT4 = 4,
} pm_genet_format;

/** The 3.2 data header. */
typedef struct pm_genet_header {
    uint32_t source; /**< sender's unique id (1 = server) */
    int32_t target;  /**< 0 broadcast, >0 one peer, <0 all except -target */
} pm_genet_header;

/** A 3.2 config-channel system message. */
typedef struct pm_genet_sysmsg {
    uint32_t type;    /**< PM_GENET_SYSMSG_ADD_PEER or _REMOVE_PEER */
    uint32_t peer_id; /**< a client id, PM_GENET_MIN_ID..PM_GENET_MAX_ID */
} pm_genet_sysmsg;

/** Where and how a packet goes out: ENet channel and ENet packet flags. */
typedef struct pm_genet_route {
    uint8_t channel;
    uint32_t flags;
} pm_genet_route;

/** What a received packet is, from its ENet channel and flags. */
typedef struct pm_genet_class {
    bool config;              /**< Godot 3 config channel: a system message */
    int channel;              /**< interface channel: 0 default, k extra channel k */
    pm_mp_transfer_mode mode; /**< from the received flags */
} pm_genet_class;

/** The 3.2 server's decision for a data packet from client `source`. */
typedef struct pm_genet_relay {
    bool local;      /**< queue it for the server application */
    bool forward;    /**< send copies to other clients */
    int32_t to;      /**< forward to this one client only (0: to every client but the
                          sender and `exclude`) */
    int32_t exclude; /**< a client that gets no copy (0: none) */
} pm_genet_relay;

static inline uint32_t pm_genet_rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void pm_genet_wr32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/** True for a client id a 3.2 or 4.x server accepts (2..2^31-1). */
bool pm_genet_id_is_client(uint32_t id);
/** Turn 32 random bits into a client id (never 0 or 1), as Godot's generator. */
uint32_t pm_genet_id_from_random(uint32_t r);

/** Write the 8-byte header. */
void pm_genet_header_write(uint8_t out[PM_GENET_HEADER_LEN], uint32_t source, int32_t target);
/** Read the header of a data packet; PM_ERR_PARSE when shorter than 8 bytes. */
int pm_genet_header_read(const uint8_t *p, size_t len, pm_genet_header *out);

/** Write a system message. PM_ERR_INVALID for an unknown type or a non-client id. */
int pm_genet_sysmsg_write(uint8_t out[PM_GENET_SYSMSG_LEN], uint32_t type, uint32_t peer_id);
/**
 * Read a system message. PM_ERR_PARSE unless it is exactly 8 bytes with a
 * known type and a client id (Godot only checks >= 8 bytes; a longer or
 * id-less message was never sent by any Godot and is rejected here).
 */
int pm_genet_sysmsg_read(const uint8_t *p, size_t len, pm_genet_sysmsg *out);

/**
 * ENet channel and flags for sending with `mode` on interface channel
 * `channel` (0 default, k extra channel k). `always_ordered` is 3.2's option
 * (UNRELIABLE sent sequenced). PM_ERR_INVALID when the channel would be
 * beyond `channel_count` (the ENet channels of the connection) or the mode
 * is unknown.
 */
int pm_genet_route_for_send(pm_genet_format fmt, pm_mp_transfer_mode mode, int channel,
                            bool always_ordered, size_t channel_count, pm_genet_route *out);

/** Classify a received packet by its ENet channel and flags. */
void pm_genet_classify(pm_genet_format fmt, uint8_t enet_channel, uint32_t flags,
                       pm_genet_class *out);

/** Number of ENet channels for `extra` extra channels; PM_ERR_INVALID past 255. */
int pm_genet_channel_count(pm_genet_format fmt, int extra);

/** The 3.2 server's relay decision (section 4.1, "Server receive logic"). */
void pm_genet_relay_plan(uint32_t source, int32_t target, bool relay_enabled, pm_genet_relay *out);

/** MultiplayerAPI raw-bytes command byte of a generation. */
uint8_t pm_godot_raw_command(pm_genet_format fmt);
/**
 * Unwrap a MultiplayerAPI raw packet `[cmd][payload >= 1 byte]` (Godot
 * ignores shorter ones). PM_ERR_PARSE otherwise. For Godot 4 only the low
 * 3 bits are the command (CMD_MASK).
 */
int pm_godot_raw_unwrap(pm_genet_format fmt, const uint8_t *p, size_t len, const uint8_t **payload,
                        size_t *payload_len);

#endif
