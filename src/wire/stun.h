/*
 * STUN message codec (RFC 8489) with the attributes ICE (RFC 8445) and TURN
 * (RFC 8656) use. Pure: no allocation, no clock; parsing borrows the input.
 */
#ifndef PM_STUN_H
#define PM_STUN_H

#include "base/base.h"

#define PM_STUN_MAGIC       0x2112A442u /* RFC 8489 5 */
#define PM_STUN_HEADER_LEN  20
#define PM_STUN_TID_LEN     12
#define PM_STUN_FP_XOR      0x5354554Eu /* RFC 8489 14.7 */
#define PM_STUN_MAX_UNKNOWN 8           /* unknown comprehension-required attributes remembered */

/* Methods (RFC 8489 18.2, RFC 8656 17). */
enum {
    PM_STUN_BINDING = 0x001,
    PM_STUN_ALLOCATE = 0x003,
    PM_STUN_REFRESH = 0x004,
    PM_STUN_SEND = 0x006,
    PM_STUN_DATA = 0x007,
    PM_STUN_CREATE_PERMISSION = 0x008,
    PM_STUN_CHANNEL_BIND = 0x009,
};

/* Classes, already positioned at their bits of the message type (RFC 8489 5). */
enum {
    PM_STUN_REQUEST = 0x0000,
    PM_STUN_INDICATION = 0x0010,
    PM_STUN_SUCCESS = 0x0100,
    PM_STUN_ERROR = 0x0110,
};

/* Attribute types (RFC 8489 18.3, RFC 8445 16.1, RFC 8656 18). */
enum {
    PM_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    PM_STUN_ATTR_USERNAME = 0x0006,
    PM_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    PM_STUN_ATTR_ERROR_CODE = 0x0009,
    PM_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    PM_STUN_ATTR_CHANNEL_NUMBER = 0x000C,
    PM_STUN_ATTR_LIFETIME = 0x000D,
    PM_STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
    PM_STUN_ATTR_DATA = 0x0013,
    PM_STUN_ATTR_REALM = 0x0014,
    PM_STUN_ATTR_NONCE = 0x0015,
    PM_STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
    PM_STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
    PM_STUN_ATTR_EVEN_PORT = 0x0018,
    PM_STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
    PM_STUN_ATTR_DONT_FRAGMENT = 0x001A,
    PM_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    PM_STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    PM_STUN_ATTR_USERHASH = 0x001E,
    PM_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    PM_STUN_ATTR_RESERVATION_TOKEN = 0x0022,
    PM_STUN_ATTR_PRIORITY = 0x0024,
    PM_STUN_ATTR_USE_CANDIDATE = 0x0025,
    PM_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
    PM_STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
    PM_STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
    PM_STUN_ATTR_SOFTWARE = 0x8022,
    PM_STUN_ATTR_ALTERNATE_SERVER = 0x8023,
    PM_STUN_ATTR_FINGERPRINT = 0x8028,
    PM_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    PM_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Error codes used by ICE and TURN (RFC 8489 14.8, RFC 8445 7.3.1.1, RFC 8656 6). */
enum {
    PM_STUN_ERR_TRY_ALTERNATE = 300,
    PM_STUN_ERR_BAD_REQUEST = 400,
    PM_STUN_ERR_UNAUTHORIZED = 401,
    PM_STUN_ERR_FORBIDDEN = 403,
    PM_STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
    PM_STUN_ERR_ALLOCATION_MISMATCH = 437,
    PM_STUN_ERR_STALE_NONCE = 438,
    PM_STUN_ERR_WRONG_CREDENTIALS = 441,
    PM_STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
    PM_STUN_ERR_ALLOCATION_QUOTA = 486,
    PM_STUN_ERR_ROLE_CONFLICT = 487,
    PM_STUN_ERR_SERVER_ERROR = 500,
    PM_STUN_ERR_INSUFFICIENT_CAPACITY = 508,
};

static inline uint16_t pm_stun_type(uint16_t method, uint16_t cls)
{
    /* Method bits M0-M3, M4-M6, M7-M11 are split by the class bits C0 (bit 4)
     * and C1 (bit 8). */
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                      cls);
}
static inline uint16_t pm_stun_method(uint16_t type)
{
    return (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
static inline uint16_t pm_stun_class(uint16_t type)
{
    return (uint16_t)(type & 0x0110);
}

/** A borrowed byte range inside the parsed message (not NUL-terminated). */
typedef struct pm_stun_bytes {
    const uint8_t *p;
    uint16_t len;
} pm_stun_bytes;

/**
 * A parsed message. Every pm_stun_bytes points into the buffer given to
 * pm_stun_parse, which must outlive it. `has_*` flags say which attributes
 * were present (first occurrence wins, as RFC 8489 14 says).
 */
typedef struct pm_stun_msg {
    uint16_t type, method, cls;
    uint8_t tid[PM_STUN_TID_LEN];
    const uint8_t *raw;
    size_t len;

    bool has_mapped, has_xor_mapped, has_xor_relayed, has_xor_peer, has_alternate;
    pm_addr mapped, xor_mapped, xor_relayed, xor_peer, alternate;
    pm_stun_bytes username, realm, nonce, software, data, unknown_list;
    bool has_username, has_realm, has_nonce, has_software, has_data;

    bool has_priority, use_candidate, has_controlling, has_controlled;
    uint32_t priority;
    uint64_t controlling, controlled; /* tie-breakers */

    bool has_error;
    uint16_t error_code; /* 300..699 */
    pm_stun_bytes error_reason;

    bool has_lifetime, has_requested_transport, has_channel, dont_fragment;
    uint32_t lifetime;
    uint8_t requested_transport; /* IANA protocol number, 17 = UDP */
    uint16_t channel;

    /** Offset of the MESSAGE-INTEGRITY attribute header, 0 when absent. */
    size_t integrity_off;
    /** Offset of MESSAGE-INTEGRITY-SHA256, 0 when absent (recognised, not verified here). */
    size_t integrity256_off;
    bool has_fingerprint; /**< present and verified (parse fails when wrong) */

    /** Unknown comprehension-required attributes (< 0x8000), for a 420 answer. */
    uint16_t unknown[PM_STUN_MAX_UNKNOWN];
    size_t unknown_count;
} pm_stun_msg;

/**
 * Cheap demultiplexing test (RFC 7983, RFC 8489 5): first two bits zero,
 * magic cookie, length a multiple of 4 and equal to the datagram.
 */
bool pm_stun_is_stun(const uint8_t *buf, size_t len);

/**
 * Parse and validate one datagram: header, attribute framing and padding,
 * address families, FINGERPRINT (must be last; verified). Attributes after
 * MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 8489 14.5).
 * Returns PM_OK, or PM_ERR_PARSE for anything malformed (including a wrong
 * FINGERPRINT, which RFC 8489 7.3 treats as "not STUN").
 */
int pm_stun_parse(pm_stun_msg *m, const uint8_t *buf, size_t len);

/**
 * Verify MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the attribute,
 * header length adjusted to end after it; RFC 8489 14.5). For ICE the key is
 * the ice-pwd; for TURN the long-term key (pm_stun_long_term_key).
 * PM_OK, PM_ERR_NOT_FOUND when the message has no MESSAGE-INTEGRITY,
 * PM_ERR_AUTH on mismatch.
 */
int pm_stun_check_integrity(const pm_stun_msg *m, const uint8_t *key, size_t klen);

/** RFC 8489 9.2.2: MD5(username ":" realm ":" password) for long-term credentials. */
void pm_stun_long_term_key(const char *username, const char *realm, const char *password,
                           uint8_t key[16]);

/**
 * Builder writing into caller memory. Errors are sticky: after any add that
 * does not fit, pm_stun_finish returns PM_ERR_TOO_BIG.
 */
typedef struct pm_stun_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
} pm_stun_builder;

void pm_stun_begin(pm_stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
                   const uint8_t tid[PM_STUN_TID_LEN]);
/** Any attribute from raw bytes (padding added). */
void pm_stun_add(pm_stun_builder *b, uint16_t attr, const void *val, size_t len);
void pm_stun_add_str(pm_stun_builder *b, uint16_t attr, const char *s);
void pm_stun_add_u32(pm_stun_builder *b, uint16_t attr, uint32_t v);
void pm_stun_add_u64(pm_stun_builder *b, uint16_t attr, uint64_t v);
/** Zero-length attribute (USE-CANDIDATE, DONT-FRAGMENT). */
void pm_stun_add_flag(pm_stun_builder *b, uint16_t attr);
/** MAPPED-ADDRESS-style attribute (plain). */
void pm_stun_add_addr(pm_stun_builder *b, uint16_t attr, const pm_addr *a);
/** XOR-MAPPED-ADDRESS-style attribute (XOR-MAPPED/RELAYED/PEER-ADDRESS). */
void pm_stun_add_xaddr(pm_stun_builder *b, uint16_t attr, const pm_addr *a);
/** ERROR-CODE with a reason phrase (NULL = a standard phrase). */
void pm_stun_add_error(pm_stun_builder *b, uint16_t code, const char *reason);
/** UNKNOWN-ATTRIBUTES listing `n` attribute types. */
void pm_stun_add_unknown(pm_stun_builder *b, const uint16_t *types, size_t n);
/** REQUESTED-TRANSPORT (RFC 8656 18.7): protocol byte then RFFU. */
void pm_stun_add_transport(pm_stun_builder *b, uint8_t proto);
/** CHANNEL-NUMBER (RFC 8656 18.1): number then RFFU. */
void pm_stun_add_channel(pm_stun_builder *b, uint16_t channel);

/**
 * Append MESSAGE-INTEGRITY (when key != NULL) and FINGERPRINT (when
 * `fingerprint`), fix the header length. Returns the message length or
 * PM_ERR_TOO_BIG.
 */
int pm_stun_finish(pm_stun_builder *b, const uint8_t *key, size_t klen, bool fingerprint);

#endif
