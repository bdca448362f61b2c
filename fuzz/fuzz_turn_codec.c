/* libFuzzer target: TURN framing. Split arbitrary bytes as a TCP stream
 * from a TURN server would be split, parse each frame as ChannelData or
 * STUN, and check what parses re-encodes to the same bytes. */
#include "wire/turn.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void one_frame(const uint8_t *f, size_t n)
{
    uint16_t ch;
    const uint8_t *d;
    size_t dlen;
    if (pm_turn_channel_parse(f, n, &ch, &d, &dlen) == PM_OK) {
        check(ch >= PM_TURN_CHANNEL_MIN && ch <= PM_TURN_CHANNEL_MAX);
        check(d == f + PM_TURN_CHANNEL_HDR && dlen <= n - PM_TURN_CHANNEL_HDR);
        uint8_t hdr[PM_TURN_CHANNEL_HDR];
        pm_turn_channel_header(hdr, ch, dlen);
        check(memcmp(hdr, f, sizeof hdr) == 0);
        return;
    }
    pm_stun_msg m;
    if (pm_stun_parse(&m, f, n) != PM_OK || !m.has_xor_peer || !m.has_data)
        return;
    /* A Data indication: rebuild it as a Send indication and parse that. */
    static uint8_t out[PM_TURN_SEND_HDR_MAX + 65536 + 4];
    int h = pm_turn_send_header(out, m.tid, &m.xor_peer, m.data.len);
    if (h < 0)
        return;
    memcpy(out + h, m.data.p, m.data.len);
    memset(out + h + m.data.len, 0, pm_turn_pad(m.data.len));
    pm_stun_msg m2;
    size_t total = (size_t)h + m.data.len + pm_turn_pad(m.data.len);
    check(pm_stun_parse(&m2, out, total) == PM_OK);
    check(m2.has_xor_peer && pm_addr_equal(&m2.xor_peer, &m.xor_peer));
    check(m2.has_data && m2.data.len == m.data.len);
    check(m.data.len == 0 || memcmp(m2.data.p, m.data.p, m.data.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)pm_turn_is_channel_data(data, size);
    one_frame(data, size); /* as one datagram */
    size_t off = 0;
    for (int guard = 0; guard < 100000 && off < size; guard++) {
        size_t fl = 0;
        int rc = pm_turn_stream_frame_len(data + off, size - off, &fl);
        if (rc == PM_ERR_AGAIN || rc == PM_ERR_PARSE)
            break;
        check(rc == PM_OK && fl >= PM_TURN_CHANNEL_HDR);
        if (fl > size - off)
            break; /* incomplete: a stream would wait for more */
        one_frame(data + off, fl);
        off += fl;
    }
    return 0;
}
