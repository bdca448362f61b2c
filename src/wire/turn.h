/*
 * TURN framing (RFC 8656): ChannelData messages, the header of a Send
 * indication carrying application data, and splitting the byte stream of a
 * TCP or TLS connection to a TURN server back into messages. STUN message
 * bodies (Allocate, Refresh, CreatePermission, ChannelBind, Data
 * indications) are built and parsed with wire/stun.h. Pure: no allocation.
 */
#ifndef PM_TURN_H
#define PM_TURN_H

#include "base/base.h"
#include "wire/stun.h"

/* RFC 8656 section 12: channel numbers 0x4000-0x4FFF (RFC 5766 allowed up to 0x7FFF). */
#define PM_TURN_CHANNEL_MIN 0x4000
#define PM_TURN_CHANNEL_MAX 0x4FFF
#define PM_TURN_CHANNEL_HDR 4
/* A Send indication's bytes before its data: STUN header, XOR-PEER-ADDRESS
 * (IPv6: 4 + 20) and the DATA attribute header. */
#define PM_TURN_SEND_HDR_MAX (PM_STUN_HEADER_LEN + 24 + 4)
/* REQUESTED-TRANSPORT value for UDP relaying (RFC 8656 section 18.7). */
#define PM_TURN_PROTO_UDP 17
/* Default lifetimes (RFC 8656 sections 3.2, 9 and 12). */
#define PM_TURN_ALLOCATION_LIFETIME_S 600
#define PM_TURN_PERMISSION_LIFETIME_S 300
#define PM_TURN_CHANNEL_LIFETIME_S    600

/** Bytes of zero padding that bring `len` to a multiple of 4. */
static inline size_t pm_turn_pad(size_t len)
{
    return (4 - (len & 3)) & 3;
}

/** RFC 7983 demultiplexing: a first byte of 64..79 is TURN ChannelData. */
bool pm_turn_is_channel_data(const uint8_t *buf, size_t len);

/**
 * Parse one ChannelData message (RFC 8656 section 12.4). `len` may exceed
 * the message by its padding (at most 3 bytes, as over TCP, or UDP padding
 * some servers add); anything more is PM_ERR_PARSE, as is a channel number
 * outside 0x4000-0x4FFF or a length field longer than the buffer. On PM_OK
 * *data points into buf.
 */
int pm_turn_channel_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
                          size_t *dlen);

/** Write the 4-byte ChannelData header for `len` (<= 65535) data bytes. */
void pm_turn_channel_header(uint8_t hdr[PM_TURN_CHANNEL_HDR], uint16_t channel, size_t len);

/**
 * Write a Send indication's header (RFC 8656 section 11.1) for `len` bytes
 * of data to `peer`: the bytes that precede the data. The data follow it
 * directly, then pm_turn_pad(len) zero bytes; no integrity or fingerprint.
 * Returns the header length, PM_ERR_INVALID for a bad peer address or
 * PM_ERR_TOO_BIG when the message would not fit STUN's 16-bit length.
 */
int pm_turn_send_header(uint8_t hdr[PM_TURN_SEND_HDR_MAX], const uint8_t tid[PM_STUN_TID_LEN],
                        const pm_addr *peer, size_t len);

/**
 * Frame a TCP/TLS byte stream from a TURN server (RFC 8656 section 12.5,
 * RFC 6062 section 4.1 style): how long the next message at `buf` is once
 * complete (a STUN message: 20 + its length; ChannelData: 4 + its length
 * rounded up to 4). Returns PM_OK with *frame_len set, PM_ERR_AGAIN when
 * fewer than 4 bytes are there yet, PM_ERR_PARSE when the bytes are neither
 * (the stream is then unusable).
 */
int pm_turn_stream_frame_len(const uint8_t *buf, size_t avail, size_t *frame_len);

#endif
