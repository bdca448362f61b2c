/*
 * WebSocket frame reader of a server connection (ws_frame.h), RFC 6455
 * section 5.2:
 *
 *   byte 0: FIN RSV1 RSV2 RSV3 opcode(4)
 *   byte 1: MASK length(7); 126: +2 bytes of length, 127: +8 bytes
 *   then the 4-byte masking key when MASK is set, then the payload.
 */
#include "io/ws_frame.h"

enum {
    OP_CONTINUATION = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xA,
};

void pm_wsr_init(pm_wsr *r, size_t max_message)
{
    memset(r, 0, sizeof *r);
    r->max_message = max_message;
}

bool pm_ws_close_code_valid(int code)
{
    /* 1004 is reserved, 1005, 1006 and 1015 must never be on the wire;
     * 1012-1014 are IANA-registered since; 1016-2999 are reserved for the
     * protocol, 3000-4999 are for libraries and applications. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static size_t fail(pm_wsr *r, pm_wsr_event *ev, int code, const char *reason, size_t consumed)
{
    r->stopped = true;
    ev->kind = PM_WSR_ERROR;
    ev->code = code;
    ev->reason = reason;
    return consumed;
}

/* Bytes of header still needed, once the first two are in. */
static size_t header_size(const uint8_t *h)
{
    size_t n = 2;
    uint8_t len7 = h[1] & 0x7F;
    if (len7 == 126)
        n += 2;
    else if (len7 == 127)
        n += 8;
    if (h[1] & 0x80)
        n += 4;
    return n;
}

/* A complete header is in r->hdr: check it and start the frame. NULL = fine. */
static const char *start_frame(pm_wsr *r, int *code)
{
    const uint8_t *h = r->hdr;
    *code = PM_WS_CLOSE_PROTOCOL;
    r->fin = (h[0] & 0x80) != 0;
    r->opcode = h[0] & 0x0F;
    if (h[0] & 0x70)
        return "Reserved bits set";
    if (!(h[1] & 0x80))
        return "Frame not masked"; /* section 5.1: a server MUST close */
    uint8_t len7 = h[1] & 0x7F;
    size_t at = 2;
    uint64_t len = len7;
    if (len7 == 126) {
        len = pm_rd16(h + 2);
        at = 4;
    } else if (len7 == 127) {
        len = pm_rd64(h + 2);
        at = 10;
        if (len >> 63)
            return "Bad frame length";
    }
    memcpy(r->mask, h + at, 4);
    bool control = (r->opcode & 0x8) != 0;
    switch (r->opcode) {
    case OP_CONTINUATION:
        if (!r->in_message)
            return "Continuation outside a message";
        break;
    case OP_TEXT:
    case OP_BINARY:
        if (r->in_message)
            return "New message inside a fragmented one";
        break;
    case OP_CLOSE:
    case OP_PING:
    case OP_PONG:
        break;
    default:
        return "Unknown opcode";
    }
    if (control && (!r->fin || len > PM_WS_CONTROL_MAX))
        return "Bad control frame";
    if (!control) {
        if (r->opcode != OP_CONTINUATION) {
            r->in_message = true;
            r->message_binary = r->opcode == OP_BINARY;
            r->message_len = 0;
        }
        if (len > r->max_message - r->message_len) {
            *code = PM_WS_CLOSE_TOO_BIG;
            return "Message too big";
        }
        r->message_len += len;
    }
    r->in_frame = true;
    r->left = len;
    r->mask_at = 0;
    r->ctl_len = 0;
    return NULL;
}

static void unmask(pm_wsr *r, uint8_t *p, size_t n)
{
    size_t i = 0;
    /* Up to a 4-byte boundary of the key, then 8 bytes at a time. */
    for (; i < n && ((r->mask_at + i) & 3); i++)
        p[i] ^= r->mask[(r->mask_at + i) & 3];
    uint64_t key;
    memcpy(&key, r->mask, 4);
    memcpy((uint8_t *)&key + 4, r->mask, 4);
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= key;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= r->mask[(r->mask_at + i) & 3];
    r->mask_at = (r->mask_at + n) & 3;
}

/* The whole control frame is in r->ctl. */
static void end_control(pm_wsr *r, pm_wsr_event *ev)
{
    r->in_frame = false;
    ev->data = r->ctl;
    ev->len = r->ctl_len;
    if (r->opcode == OP_PING) {
        ev->kind = PM_WSR_PING;
        return;
    }
    if (r->opcode == OP_PONG) {
        ev->kind = PM_WSR_PONG;
        return;
    }
    /* Close: no payload, or a code and a UTF-8 reason (section 5.5.1). */
    r->stopped = true;
    ev->kind = PM_WSR_CLOSE;
    ev->code = 0;
    r->ctl[r->ctl_len] = 0;
    ev->reason = (const char *)r->ctl + (r->ctl_len >= 2 ? 2 : r->ctl_len);
    if (r->ctl_len == 0)
        return;
    int code = r->ctl_len >= 2 ? pm_rd16(r->ctl) : 0;
    if (r->ctl_len == 1 || !pm_ws_close_code_valid(code)) {
        ev->kind = PM_WSR_ERROR;
        ev->code = PM_WS_CLOSE_PROTOCOL;
        ev->reason = "Invalid close code";
    } else if (!pm_utf8_valid(r->ctl + 2, r->ctl_len - 2)) {
        ev->kind = PM_WSR_ERROR;
        ev->code = PM_WS_CLOSE_BAD_DATA;
        ev->reason = "Invalid close reason";
    } else {
        ev->code = code;
    }
}

size_t pm_wsr_read(pm_wsr *r, uint8_t *in, size_t len, pm_wsr_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (r->stopped)
        return len;
    size_t used = 0;
    if (!r->in_frame) {
        /* Gather the header: 2 bytes say how long it is. */
        size_t need = r->hdr_len < 2 ? 2 : header_size(r->hdr);
        while (r->hdr_len < need && used < len) {
            r->hdr[r->hdr_len++] = in[used++];
            if (r->hdr_len == 2)
                need = header_size(r->hdr);
        }
        if (r->hdr_len < need)
            return used;
        r->hdr_len = 0;
        int code;
        const char *why = start_frame(r, &code);
        if (why)
            return fail(r, ev, code, why, used);
        if (r->left == 0 && !(r->opcode & 0x8)) {
            /* An empty data frame: only its FIN says something. */
            r->in_frame = false;
            if (!r->fin)
                return used;
            r->in_message = false;
            ev->kind = PM_WSR_DATA;
            ev->binary = r->message_binary;
            ev->end = true;
            ev->data = in + used;
            return used;
        }
        if (r->left == 0) {
            end_control(r, ev);
            return used;
        }
    }
    size_t n = (size_t)PM_MIN((uint64_t)(len - used), r->left);
    if (n == 0)
        return used;
    uint8_t *p = in + used;
    unmask(r, p, n);
    r->left -= n;
    used += n;
    if (r->opcode & 0x8) {
        memcpy(r->ctl + r->ctl_len, p, n);
        r->ctl_len += n;
        if (r->left == 0)
            end_control(r, ev);
        return used;
    }
    ev->kind = PM_WSR_DATA;
    ev->binary = r->message_binary;
    ev->data = p;
    ev->len = n;
    if (r->left == 0) {
        r->in_frame = false;
        if (r->fin) {
            r->in_message = false;
            ev->end = true;
        }
    }
    return used;
}
