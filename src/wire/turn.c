/* TURN framing (RFC 8656): ChannelData, Send indication headers, stream framing. */
#include "turn.h"

bool pm_turn_is_channel_data(const uint8_t *buf, size_t len)
{
    return buf && len >= PM_TURN_CHANNEL_HDR && buf[0] >= 64 && buf[0] <= 79;
}

int pm_turn_channel_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
                          size_t *dlen)
{
    if (!pm_turn_is_channel_data(buf, len))
        return PM_ERR_PARSE;
    uint16_t ch = pm_rd16(buf);
    size_t n = pm_rd16(buf + 2);
    if (ch < PM_TURN_CHANNEL_MIN || ch > PM_TURN_CHANNEL_MAX)
        return PM_ERR_PARSE;
    /* The data plus at most its padding (RFC 8656 section 12.5). */
    if (n > len - PM_TURN_CHANNEL_HDR || len - PM_TURN_CHANNEL_HDR - n > 3)
        return PM_ERR_PARSE;
    *channel = ch;
    *data = buf + PM_TURN_CHANNEL_HDR;
    *dlen = n;
    return PM_OK;
}

void pm_turn_channel_header(uint8_t hdr[PM_TURN_CHANNEL_HDR], uint16_t channel, size_t len)
{
    pm_wr16(hdr, channel);
    pm_wr16(hdr + 2, (uint16_t)len);
}

int pm_turn_send_header(uint8_t hdr[PM_TURN_SEND_HDR_MAX], const uint8_t tid[PM_STUN_TID_LEN],
                        const pm_addr *peer, size_t len)
{
    if (len > 0xFFFF)
        return PM_ERR_TOO_BIG;
    pm_stun_builder b;
    pm_stun_begin(&b, hdr, PM_TURN_SEND_HDR_MAX, pm_stun_type(PM_STUN_SEND, PM_STUN_INDICATION),
                  tid);
    pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    if (b.err)
        return b.err;
    /* DATA is the last attribute: its header here, its value after. */
    size_t total = b.len - PM_STUN_HEADER_LEN + 4 + len + pm_turn_pad(len);
    if (total > 0xFFFC)
        return PM_ERR_TOO_BIG;
    uint8_t *p = hdr + b.len;
    pm_wr16(p, PM_STUN_ATTR_DATA);
    pm_wr16(p + 2, (uint16_t)len);
    pm_wr16(hdr + 2, (uint16_t)total);
    return (int)(b.len + 4);
}

int pm_turn_stream_frame_len(const uint8_t *buf, size_t avail, size_t *frame_len)
{
    if (avail < 4)
        return PM_ERR_AGAIN;
    size_t n = pm_rd16(buf + 2);
    if ((buf[0] & 0xC0) == 0) {
        /* STUN: the length excludes the 20-byte header and is a multiple of 4.
         * The magic cookie is checked once the header is complete. */
        if (n & 3)
            return PM_ERR_PARSE;
        if (avail >= 8 && pm_rd32(buf + 4) != PM_STUN_MAGIC)
            return PM_ERR_PARSE;
        *frame_len = PM_STUN_HEADER_LEN + n;
        return PM_OK;
    }
    if (buf[0] >= 64 && buf[0] <= 79) {
        uint16_t ch = pm_rd16(buf);
        if (ch < PM_TURN_CHANNEL_MIN || ch > PM_TURN_CHANNEL_MAX)
            return PM_ERR_PARSE;
        *frame_len = PM_TURN_CHANNEL_HDR + n + pm_turn_pad(n);
        return PM_OK;
    }
    return PM_ERR_PARSE;
}
