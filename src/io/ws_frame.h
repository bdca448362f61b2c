/*
 * The reading side of a WebSocket server connection (RFC 6455 section 5),
 * sans-I/O: the bytes a client sent, in whatever pieces they arrive, go in;
 * out come pieces of message payload (unmasked in place), control frames and
 * protocol errors with the close code each calls for. ws.c reads plain ws://
 * server connections through it, because libwebsockets 4.1 accepts frames a
 * server must refuse (unmasked ones, close codes that do not exist).
 *
 * Strict as section 5 asks of a server: every frame masked (5.1), no
 * reserved bits (no extension is negotiated, 5.2), known opcodes only,
 * control frames whole and at most 125 bytes (5.5), continuations only
 * inside a fragmented message and no new message inside one (5.4), 63-bit
 * lengths (5.2), close payloads of 0 or 2+ bytes with a code that may be
 * sent (7.4) and a UTF-8 reason (5.5.1). Text payloads are not checked for
 * UTF-8 here: the message consumer does that for the whole message.
 */
#ifndef PM_IO_WS_FRAME_H
#define PM_IO_WS_FRAME_H

#include "base/base.h"

/* RFC 6455 section 7.4.1 close codes this reader asks for. */
#define PM_WS_CLOSE_NORMAL   1000
#define PM_WS_CLOSE_PROTOCOL 1002
#define PM_WS_CLOSE_BAD_DATA 1007
#define PM_WS_CLOSE_TOO_BIG  1009
#define PM_WS_CONTROL_MAX    125 /* section 5.5 */

typedef enum pm_wsr_kind {
    PM_WSR_NONE = 0, /**< input consumed, nothing to report yet */
    PM_WSR_DATA,     /**< data/len: a piece of the current message; `end` on its last piece */
    PM_WSR_PING,     /**< data/len: the ping's payload, to be echoed in a pong */
    PM_WSR_PONG,     /**< data/len: the pong's payload */
    PM_WSR_CLOSE,    /**< code (0: the frame had none) and reason: answer, then hang up */
    PM_WSR_ERROR,    /**< code and reason to close with; everything after is ignored */
} pm_wsr_kind;

typedef struct pm_wsr_event {
    pm_wsr_kind kind;
    bool binary;         /**< DATA: the message is binary */
    bool end;            /**< DATA: this piece completes the message */
    const uint8_t *data; /**< DATA: into the caller's input; PING/PONG/CLOSE: into the reader */
    size_t len;
    int code;           /**< CLOSE, ERROR */
    const char *reason; /**< CLOSE (borrowed from the reader), ERROR (static); NUL-terminated */
} pm_wsr_event;

typedef struct pm_wsr {
    size_t max_message;
    bool stopped; /* after CLOSE or ERROR */
    /* The header of the frame being read. */
    uint8_t hdr[14];
    size_t hdr_len;
    /* The frame being read. */
    bool in_frame;
    uint8_t opcode;
    bool fin;
    uint8_t mask[4];
    uint64_t left;
    size_t mask_at;
    /* The message being read (fragments of it). */
    bool in_message;
    bool message_binary;
    uint64_t message_len;
    /* A control frame's payload, gathered whole; +1 for a reason's NUL. */
    uint8_t ctl[PM_WS_CONTROL_MAX + 1];
    size_t ctl_len;
} pm_wsr;

/** Start reading a connection; messages longer than max_message are an error (1009). */
void pm_wsr_init(pm_wsr *r, size_t max_message);

/**
 * Read from in[0..len) up to the next event and say what it is. Returns the
 * bytes consumed (all of them when the event is NONE); call again with the
 * rest. DATA pieces point into `in`, unmasked in place (hence not const).
 * Once CLOSE or ERROR came out, all further input is consumed as NONE.
 */
size_t pm_wsr_read(pm_wsr *r, uint8_t *in, size_t len, pm_wsr_event *ev);

/** May a peer send this close code (RFC 6455 section 7.4, IANA registry)? */
bool pm_ws_close_code_valid(int code);

#endif
