/*
 * The browser's side of the WebAssembly build: the functions the JavaScript
 * library (src/web/js/, linked with --js-library) gives the C code, and
 * the one record they hand back.
 *
 * The poll model. Browser callbacks (RTCPeerConnection, RTCDataChannel,
 * WebSocket, promise resolutions) never call C: they only append a "note"
 * to the JS queue of their peer connection or WebSocket. C pulls notes out
 * with pm_js_pc_next() / pm_js_ws_next() from inside the poll of the object
 * (pm_rtc_peer_poll, pm_signal_client_poll), so state only changes there,
 * as with the native stack. A note's payloads (strings as UTF-8, messages as
 * bytes) are copied into C memory with pm_js_note_payload() right after.
 *
 * Handles are small positive integers naming JS objects (0 = none). Calls on
 * a handle that was freed are ignored by the JS side.
 */
#ifndef PM_WEB_H
#define PM_WEB_H

#include "base/base.h"

/** What a note says. */
typedef enum pm_web_note_kind {
    PM_WEB_NOTE_STATE = 1,       /* value: pm_rtc_state */
    PM_WEB_NOTE_GATHERING,       /* value: pm_rtc_gathering_state */
    PM_WEB_NOTE_SIGNALING,       /* value: pm_rtc_signaling_state */
    PM_WEB_NOTE_DESCRIPTION,     /* payload 1: type, payload 2: sdp (set as local) */
    PM_WEB_NOTE_CANDIDATE,       /* value: m-line index; payload 1: mid, 2: candidate ("" = end) */
    PM_WEB_NOTE_ERROR,           /* payload 1: what failed (a JSEP step, logged) */
    PM_WEB_NOTE_DATA_CHANNEL,    /* channel: new in-band channel; payload 1: label, 2: protocol;
                                    info: id, ordered, max_packet_lifetime, max_retransmits */
    PM_WEB_NOTE_CHANNEL_OPEN,    /* channel; info[0]: its id */
    PM_WEB_NOTE_CHANNEL_CLOSED,  /* channel */
    PM_WEB_NOTE_CHANNEL_MESSAGE, /* channel; value: 1 string, 0 binary; payload 1: the bytes */
    PM_WEB_NOTE_BUFFERED_LOW,    /* channel */
    PM_WEB_NOTE_RTT,             /* value: round trip of the selected pair in us, or -1 */
    PM_WEB_NOTE_WS_OPEN = 32,    /* WebSocket open */
    PM_WEB_NOTE_WS_MESSAGE,      /* value: 1 binary, 0 text; payload 1: the bytes */
    PM_WEB_NOTE_WS_CLOSED,       /* value: close code (1006: none); payload 1: reason */
} pm_web_note_kind;

/** One note, written by the JS side (layout shared with src/web/js/: 9 int32). */
typedef struct pm_web_note {
    int32_t kind;    /* pm_web_note_kind */
    int32_t channel; /* channel handle for channel notes, else 0 */
    int32_t value;
    int32_t len1, len2; /* payload lengths in bytes */
    int32_t info[4];    /* DATA_CHANNEL / CHANNEL_OPEN details */
} pm_web_note;

/* ---- notes ---- */

/**
 * Copy the payloads of the note just taken into dst1 (len1 bytes) and dst2
 * (len2 bytes); either may be NULL when its length is 0. Drops them on the
 * JS side: call once after each successful *_next().
 */
void pm_js_note_payload(uint8_t *dst1, uint8_t *dst2);

/* ---- RTCPeerConnection (js/rtc.js) ---- */

/**
 * New RTCPeerConnection with iceServers from `ice_json` (a JSON array as in
 * RTCConfiguration). Returns its handle, or 0 when the browser refused the
 * configuration (or has no WebRTC).
 */
int pm_js_pc_new(const char *ice_json);
/** Close and forget the connection and its channels (no more notes). */
void pm_js_pc_free(int pc);
/** RTCPeerConnection.close(). No note follows (the browser fires none). */
void pm_js_pc_close(int pc);
/**
 * createDataChannel(label, {negotiated, id, ordered, maxPacketLifeTime,
 * maxRetransmits, protocol}); -1 leaves id / a limit unset. Returns the
 * channel handle, or 0 when the browser refused it.
 */
int pm_js_pc_create_channel(int pc, const char *label, const char *protocol, int negotiated, int id,
                            int ordered, int max_packet_lifetime, int max_retransmits);
/** createOffer, then setLocalDescription: DESCRIPTION note, or ERROR. */
void pm_js_pc_create_offer(int pc);
/**
 * setRemoteDescription; for an offer also createAnswer and
 * setLocalDescription (DESCRIPTION note). Held candidates go in after it.
 */
void pm_js_pc_set_remote(int pc, const char *type, const char *sdp);
/** addIceCandidate, held until the remote description is set. "" = end of candidates. */
void pm_js_pc_add_candidate(int pc, const char *mid, int mline_index, const char *candidate);
/** Take the connection's next note into *out: 1, or 0 when there is none. */
int pm_js_pc_next(int pc, pm_web_note *out);
/** Number of notes waiting. */
int pm_js_pc_pending(int pc);
/** RTCSctpTransport.maxMessageSize, or 0 before there is an SCTP transport. */
double pm_js_pc_max_message(int pc);
/** Start getStats(); its round trip arrives as an RTT note. */
void pm_js_pc_request_stats(int pc);

/* ---- RTCDataChannel (js/rtc.js) ---- */

/**
 * send(): bytes as an ArrayBuffer (binary != 0) or as a string (UTF-8
 * decoded). PM_OK, PM_ERR_INVALID (text that is not UTF-8), PM_ERR_STATE
 * (the browser says the channel is not open), PM_ERR_IO (other failures).
 */
int pm_js_dc_send(int ch, const uint8_t *data, size_t len, int binary);
/** bufferedAmount. */
double pm_js_dc_buffered(int ch);
void pm_js_dc_set_low_threshold(int ch, double bytes);
/** close(): the CHANNEL_CLOSED note follows. */
void pm_js_dc_close(int ch);
/** Drop the handlers and the handle. */
void pm_js_dc_free(int ch);

/* ---- WebSocket (js/ws.js) ---- */

/** new WebSocket(url) (binaryType arraybuffer). Handle, or 0 for a URL the browser refuses. */
int pm_js_ws_open(const char *url);
int pm_js_ws_next(int ws, pm_web_note *out);
int pm_js_ws_pending(int ws);
/** send() one text message (UTF-8 bytes). PM_OK, PM_ERR_INVALID (not UTF-8), PM_ERR_STATE. */
int pm_js_ws_send(int ws, const uint8_t *data, size_t len);
/** close(code, reason); code 0: close() without one. */
void pm_js_ws_close(int ws, int code, const uint8_t *reason, size_t reason_len);
void pm_js_ws_free(int ws);

/* ---- JSON.parse (js/json.js) ---- */

/**
 * Parse a 4.x signaling message (wire/signal_msg.h's slow path). On success
 * returns 1 and fills `out`: value = type (clamped to 2^31-1), info[0..1] =
 * id (low, high 32 bits), len1 = data (UTF-8), len2 = ice_servers (compact
 * JSON, 0 when absent or not an array): take them with pm_js_note_payload.
 * Returns 0 for anything the demo server would refuse.
 */
int pm_js_json_sigmsg(const uint8_t *in, size_t len, pm_web_note *out);
/**
 * Parse an ICE server list (JSON array of {urls, username?, credential?}),
 * at most `max_servers` of at most `max_urls` URLs each, into a flat
 * encoding taken as payload 1: per server "S", then per URL "u<url>\0",
 * then "n<username>\0" and "c<credential>\0" when present. Returns 1, or 0
 * for anything that is not such a list (a string holding NUL included).
 */
int pm_js_json_ice_list(const char *in, size_t len, int max_servers, int max_urls,
                        pm_web_note *out);

#endif
