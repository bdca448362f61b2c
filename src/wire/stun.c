/* STUN message codec (RFC 8489) with ICE and TURN attributes. */
#include "stun.h"

#include <stdio.h>

/* RFC 8489 14.5/14.6: MESSAGE-INTEGRITY is 20 bytes; the SHA256 variant is
 * 16..32 bytes in multiples of 4. */
#define MI_LEN         20
#define MI_ATTR_LEN    (4 + MI_LEN)
#define FP_ATTR_LEN    8
#define ADDR_FAMILY_V4 0x01 /* RFC 8489 14.1 */
#define ADDR_FAMILY_V6 0x02

bool pm_stun_is_stun(const uint8_t *buf, size_t len)
{
    if (!buf || len < PM_STUN_HEADER_LEN || (buf[0] & 0xC0) != 0)
        return false;
    size_t mlen = pm_rd16(buf + 2);
    return (mlen & 3) == 0 && mlen + PM_STUN_HEADER_LEN == len && pm_rd32(buf + 4) == PM_STUN_MAGIC;
}

/* Decode (XOR-)MAPPED-ADDRESS-style values (RFC 8489 14.1, 14.2). */
static int decode_addr(const uint8_t *v, size_t len, bool xored, const uint8_t *hdr, pm_addr *out)
{
    if (len < 4)
        return PM_ERR_PARSE;
    memset(out, 0, sizeof *out);
    uint16_t port = pm_rd16(v + 2);
    if (xored)
        port ^= (uint16_t)(PM_STUN_MAGIC >> 16);
    out->port = port;
    if (v[1] == ADDR_FAMILY_V4) {
        if (len != 8)
            return PM_ERR_PARSE;
        out->family = 4;
        memcpy(out->ip, v + 4, 4);
        if (xored)
            for (int i = 0; i < 4; i++)
                out->ip[i] ^= hdr[4 + i];
    } else if (v[1] == ADDR_FAMILY_V6) {
        if (len != 20)
            return PM_ERR_PARSE;
        out->family = 6;
        memcpy(out->ip, v + 4, 16);
        if (xored) /* XOR with magic cookie || transaction id: header bytes 4..19 */
            for (int i = 0; i < 16; i++)
                out->ip[i] ^= hdr[4 + i];
    } else {
        return PM_ERR_PARSE;
    }
    return PM_OK;
}

static void set_bytes(pm_stun_bytes *b, bool *has, const uint8_t *v, uint16_t len)
{
    if (has && *has)
        return; /* RFC 8489 14: only the first occurrence counts */
    b->p = v;
    b->len = len;
    if (has)
        *has = true;
}

static int decode_addr_once(const uint8_t *v, uint16_t len, bool xored, const uint8_t *hdr,
                            bool *has, pm_addr *out)
{
    if (*has)
        return PM_OK;
    int rc = decode_addr(v, len, xored, hdr, out);
    if (rc == PM_OK)
        *has = true;
    return rc;
}

static int decode_error(pm_stun_msg *m, const uint8_t *v, uint16_t len)
{
    if (len < 4)
        return PM_ERR_PARSE;
    if (m->has_error)
        return PM_OK;
    unsigned cls = v[2] & 7, num = v[3];
    if (cls < 3 || cls > 6 || num > 99) /* RFC 8489 14.8: codes 300..699 */
        return PM_ERR_PARSE;
    m->has_error = true;
    m->error_code = (uint16_t)(cls * 100 + num);
    m->error_reason.p = v + 4;
    m->error_reason.len = (uint16_t)(len - 4);
    return PM_OK;
}

static void note_unknown(pm_stun_msg *m, uint16_t type)
{
    if (type >= 0x8000)
        return; /* comprehension-optional: ignore (RFC 8489 14) */
    for (size_t i = 0; i < m->unknown_count; i++)
        if (m->unknown[i] == type)
            return;
    if (m->unknown_count < PM_STUN_MAX_UNKNOWN)
        m->unknown[m->unknown_count++] = type;
}

/* One attribute before any integrity attribute. */
static int decode_attr(pm_stun_msg *m, uint16_t type, const uint8_t *v, uint16_t len)
{
    const uint8_t *hdr = m->raw;
    switch (type) {
    case PM_STUN_ATTR_MAPPED_ADDRESS:
        return decode_addr_once(v, len, false, hdr, &m->has_mapped, &m->mapped);
    case PM_STUN_ATTR_XOR_MAPPED_ADDRESS:
        return decode_addr_once(v, len, true, hdr, &m->has_xor_mapped, &m->xor_mapped);
    case PM_STUN_ATTR_XOR_RELAYED_ADDRESS:
        return decode_addr_once(v, len, true, hdr, &m->has_xor_relayed, &m->xor_relayed);
    case PM_STUN_ATTR_XOR_PEER_ADDRESS:
        return decode_addr_once(v, len, true, hdr, &m->has_xor_peer, &m->xor_peer);
    case PM_STUN_ATTR_ALTERNATE_SERVER:
        return decode_addr_once(v, len, false, hdr, &m->has_alternate, &m->alternate);
    case PM_STUN_ATTR_USERNAME:
        set_bytes(&m->username, &m->has_username, v, len);
        return PM_OK;
    case PM_STUN_ATTR_REALM:
        set_bytes(&m->realm, &m->has_realm, v, len);
        return PM_OK;
    case PM_STUN_ATTR_NONCE:
        set_bytes(&m->nonce, &m->has_nonce, v, len);
        return PM_OK;
    case PM_STUN_ATTR_SOFTWARE:
        set_bytes(&m->software, &m->has_software, v, len);
        return PM_OK;
    case PM_STUN_ATTR_DATA:
        set_bytes(&m->data, &m->has_data, v, len);
        return PM_OK;
    case PM_STUN_ATTR_ERROR_CODE:
        return decode_error(m, v, len);
    case PM_STUN_ATTR_UNKNOWN_ATTRIBUTES:
        if (len & 1)
            return PM_ERR_PARSE;
        if (!m->unknown_list.p)
            set_bytes(&m->unknown_list, NULL, v, len);
        return PM_OK;
    case PM_STUN_ATTR_PRIORITY:
        if (len != 4)
            return PM_ERR_PARSE;
        if (!m->has_priority) {
            m->has_priority = true;
            m->priority = pm_rd32(v);
        }
        return PM_OK;
    case PM_STUN_ATTR_USE_CANDIDATE:
        if (len != 0)
            return PM_ERR_PARSE;
        m->use_candidate = true;
        return PM_OK;
    case PM_STUN_ATTR_ICE_CONTROLLING:
    case PM_STUN_ATTR_ICE_CONTROLLED: {
        if (len != 8)
            return PM_ERR_PARSE;
        bool ing = type == PM_STUN_ATTR_ICE_CONTROLLING;
        bool *has = ing ? &m->has_controlling : &m->has_controlled;
        if (!*has) {
            *has = true;
            *(ing ? &m->controlling : &m->controlled) = pm_rd64(v);
        }
        return PM_OK;
    }
    case PM_STUN_ATTR_LIFETIME:
        if (len != 4)
            return PM_ERR_PARSE;
        if (!m->has_lifetime) {
            m->has_lifetime = true;
            m->lifetime = pm_rd32(v);
        }
        return PM_OK;
    case PM_STUN_ATTR_REQUESTED_TRANSPORT:
        if (len != 4)
            return PM_ERR_PARSE;
        if (!m->has_requested_transport) {
            m->has_requested_transport = true;
            m->requested_transport = v[0];
        }
        return PM_OK;
    case PM_STUN_ATTR_CHANNEL_NUMBER:
        if (len != 4)
            return PM_ERR_PARSE;
        if (!m->has_channel) {
            m->has_channel = true;
            m->channel = pm_rd16(v);
        }
        return PM_OK;
    case PM_STUN_ATTR_DONT_FRAGMENT:
        m->dont_fragment = true;
        return PM_OK;
    /* Recognised but not decoded: the TURN server side is not ours, and a
     * client never receives these. */
    case PM_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case PM_STUN_ATTR_EVEN_PORT:
    case PM_STUN_ATTR_RESERVATION_TOKEN:
    case PM_STUN_ATTR_PASSWORD_ALGORITHM:
    case PM_STUN_ATTR_USERHASH:
        return PM_OK;
    default:
        note_unknown(m, type);
        return PM_OK;
    }
}

int pm_stun_parse(pm_stun_msg *m, const uint8_t *buf, size_t len)
{
    if (!m || !pm_stun_is_stun(buf, len))
        return PM_ERR_PARSE;
    memset(m, 0, sizeof *m);
    m->raw = buf;
    m->len = len;
    m->type = pm_rd16(buf);
    m->method = pm_stun_method(m->type);
    m->cls = pm_stun_class(m->type);
    memcpy(m->tid, buf + 8, PM_STUN_TID_LEN);

    bool after_integrity = false;
    size_t off = PM_STUN_HEADER_LEN;
    while (off < len) {
        if (len - off < 4)
            return PM_ERR_PARSE;
        uint16_t type = pm_rd16(buf + off);
        uint16_t alen = pm_rd16(buf + off + 2);
        size_t padded = ((size_t)alen + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return PM_ERR_PARSE; /* attribute overruns the message */
        const uint8_t *v = buf + off + 4;
        if (type == PM_STUN_ATTR_FINGERPRINT) {
            /* RFC 8489 14.7: last attribute; CRC over everything before it
             * with the header length already covering it. */
            if (alen != 4 || off + FP_ATTR_LEN != len)
                return PM_ERR_PARSE;
            if ((pm_crc32(buf, off) ^ PM_STUN_FP_XOR) != pm_rd32(v))
                return PM_ERR_PARSE;
            m->has_fingerprint = true;
        } else if (after_integrity) {
            /* RFC 8489 14.5: ignore all but FINGERPRINT after integrity. */
        } else if (type == PM_STUN_ATTR_MESSAGE_INTEGRITY) {
            if (alen != MI_LEN)
                return PM_ERR_PARSE;
            m->integrity_off = off;
            after_integrity = true;
        } else if (type == PM_STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
            if (alen < 16 || alen > 32 || (alen & 3))
                return PM_ERR_PARSE;
            m->integrity256_off = off;
            after_integrity = true;
        } else {
            int rc = decode_attr(m, type, v, alen);
            if (rc)
                return rc;
        }
        off += 4 + padded;
    }
    return PM_OK;
}

int pm_stun_check_integrity(const pm_stun_msg *m, const uint8_t *key, size_t klen)
{
    if (!m || !m->raw || m->integrity_off < PM_STUN_HEADER_LEN ||
        m->integrity_off + MI_ATTR_LEN > m->len)
        return PM_ERR_NOT_FOUND;
    /* RFC 8489 14.5: the HMAC covers the header with its length set as if
     * MESSAGE-INTEGRITY were the last attribute, then everything before it. */
    uint8_t hdr[PM_STUN_HEADER_LEN];
    memcpy(hdr, m->raw, sizeof hdr);
    pm_wr16(hdr + 2, (uint16_t)(m->integrity_off - PM_STUN_HEADER_LEN + MI_ATTR_LEN));
    uint8_t mac[MI_LEN];
    pm_hmac_sha1_2(key, klen, hdr, sizeof hdr, m->raw + PM_STUN_HEADER_LEN,
                   m->integrity_off - PM_STUN_HEADER_LEN, mac);
    const uint8_t *got = m->raw + m->integrity_off + 4;
    uint8_t diff = 0; /* constant time: do not leak how many bytes matched */
    for (int i = 0; i < MI_LEN; i++)
        diff |= (uint8_t)(mac[i] ^ got[i]);
    return diff ? PM_ERR_AUTH : PM_OK;
}

void pm_stun_long_term_key(const char *username, const char *realm, const char *password,
                           uint8_t key[16])
{
    /* Bounded: each part is limited by STUN (username < 513, realm < 763). */
    char tmp[2048];
    int n = snprintf(tmp, sizeof tmp, "%s:%s:%s", username ? username : "", realm ? realm : "",
                     password ? password : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    pm_md5((const uint8_t *)tmp, (size_t)n, key);
}

/* ---- builder ---- */

static void set_len(pm_stun_builder *b)
{
    pm_wr16(b->buf + 2, (uint16_t)(b->len - PM_STUN_HEADER_LEN));
}

void pm_stun_begin(pm_stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
                   const uint8_t tid[PM_STUN_TID_LEN])
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->err = PM_OK;
    if (!buf || cap < PM_STUN_HEADER_LEN) {
        b->err = PM_ERR_TOO_BIG;
        return;
    }
    pm_wr16(buf, type & 0x3FFF);
    pm_wr16(buf + 2, 0);
    pm_wr32(buf + 4, PM_STUN_MAGIC);
    memcpy(buf + 8, tid, PM_STUN_TID_LEN);
    b->len = PM_STUN_HEADER_LEN;
}

/* Reserve an attribute of `len` value bytes; returns where the value goes. */
static uint8_t *attr_open(pm_stun_builder *b, uint16_t attr, size_t len)
{
    if (b->err)
        return NULL;
    size_t padded = (len + 3) & ~(size_t)3;
    /* The header length field is 16 bits: the whole message must fit. */
    if (len > 0xFFFF || b->cap - b->len < 4 + padded ||
        b->len + 4 + padded - PM_STUN_HEADER_LEN > 0xFFFC) {
        b->err = PM_ERR_TOO_BIG;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    pm_wr16(p, attr);
    pm_wr16(p + 2, (uint16_t)len);
    memset(p + 4 + len, 0, padded - len);
    b->len += 4 + padded;
    set_len(b);
    return p + 4;
}

void pm_stun_add(pm_stun_builder *b, uint16_t attr, const void *val, size_t len)
{
    uint8_t *p = attr_open(b, attr, len);
    if (p && len)
        memcpy(p, val, len);
}

void pm_stun_add_str(pm_stun_builder *b, uint16_t attr, const char *s)
{
    pm_stun_add(b, attr, s, s ? strlen(s) : 0);
}

void pm_stun_add_u32(pm_stun_builder *b, uint16_t attr, uint32_t v)
{
    uint8_t *p = attr_open(b, attr, 4);
    if (p)
        pm_wr32(p, v);
}

void pm_stun_add_u64(pm_stun_builder *b, uint16_t attr, uint64_t v)
{
    uint8_t *p = attr_open(b, attr, 8);
    if (p)
        pm_wr64(p, v);
}

void pm_stun_add_flag(pm_stun_builder *b, uint16_t attr)
{
    attr_open(b, attr, 0);
}

static void add_addr(pm_stun_builder *b, uint16_t attr, const pm_addr *a, bool xored)
{
    if (!a || (a->family != 4 && a->family != 6)) {
        if (!b->err)
            b->err = PM_ERR_INVALID;
        return;
    }
    size_t iplen = a->family == 4 ? 4 : 16;
    uint8_t *p = attr_open(b, attr, 4 + iplen);
    if (!p)
        return;
    p[0] = 0;
    p[1] = a->family == 4 ? ADDR_FAMILY_V4 : ADDR_FAMILY_V6;
    uint16_t port = a->port;
    if (xored)
        port ^= (uint16_t)(PM_STUN_MAGIC >> 16);
    pm_wr16(p + 2, port);
    for (size_t i = 0; i < iplen; i++)
        p[4 + i] = (uint8_t)(a->ip[i] ^ (xored ? b->buf[4 + i] : 0));
}

void pm_stun_add_addr(pm_stun_builder *b, uint16_t attr, const pm_addr *a)
{
    add_addr(b, attr, a, false);
}

void pm_stun_add_xaddr(pm_stun_builder *b, uint16_t attr, const pm_addr *a)
{
    add_addr(b, attr, a, true);
}

static const char *error_phrase(uint16_t code)
{
    switch (code) {
    case PM_STUN_ERR_TRY_ALTERNATE:
        return "Try Alternate";
    case PM_STUN_ERR_BAD_REQUEST:
        return "Bad Request";
    case PM_STUN_ERR_UNAUTHORIZED:
        return "Unauthenticated";
    case PM_STUN_ERR_FORBIDDEN:
        return "Forbidden";
    case PM_STUN_ERR_UNKNOWN_ATTRIBUTE:
        return "Unknown Attribute";
    case PM_STUN_ERR_STALE_NONCE:
        return "Stale Nonce";
    case PM_STUN_ERR_ROLE_CONFLICT:
        return "Role Conflict";
    case PM_STUN_ERR_SERVER_ERROR:
        return "Server Error";
    default:
        return "Error";
    }
}

void pm_stun_add_error(pm_stun_builder *b, uint16_t code, const char *reason)
{
    if (code < 300 || code > 699) {
        if (!b->err)
            b->err = PM_ERR_INVALID;
        return;
    }
    if (!reason)
        reason = error_phrase(code);
    size_t rlen = strlen(reason);
    if (rlen > 763) /* RFC 8489 14.8: fewer than 128 characters, at most 763 bytes */
        rlen = 763;
    uint8_t *p = attr_open(b, PM_STUN_ATTR_ERROR_CODE, 4 + rlen);
    if (!p)
        return;
    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, rlen);
}

void pm_stun_add_unknown(pm_stun_builder *b, const uint16_t *types, size_t n)
{
    uint8_t *p = attr_open(b, PM_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        pm_wr16(p + 2 * i, types[i]);
}

void pm_stun_add_transport(pm_stun_builder *b, uint8_t proto)
{
    uint8_t v[4] = {proto, 0, 0, 0};
    pm_stun_add(b, PM_STUN_ATTR_REQUESTED_TRANSPORT, v, 4);
}

void pm_stun_add_channel(pm_stun_builder *b, uint16_t channel)
{
    uint8_t v[4] = {(uint8_t)(channel >> 8), (uint8_t)channel, 0, 0};
    pm_stun_add(b, PM_STUN_ATTR_CHANNEL_NUMBER, v, 4);
}

int pm_stun_finish(pm_stun_builder *b, const uint8_t *key, size_t klen, bool fingerprint)
{
    if (b->err)
        return b->err;
    if (key) {
        /* Header length must already count MESSAGE-INTEGRITY (RFC 8489 14.5). */
        size_t before = b->len;
        uint8_t *p = attr_open(b, PM_STUN_ATTR_MESSAGE_INTEGRITY, MI_LEN);
        if (!p)
            return b->err;
        pm_hmac_sha1(key, klen, b->buf, before, p);
    }
    if (fingerprint) {
        size_t before = b->len;
        uint8_t *p = attr_open(b, PM_STUN_ATTR_FINGERPRINT, 4);
        if (!p)
            return b->err;
        pm_wr32(p, pm_crc32(b->buf, before) ^ PM_STUN_FP_XOR);
    }
    return (int)b->len;
}
