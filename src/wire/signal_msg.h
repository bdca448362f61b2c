/*
 * Signaling messages of Godot's WebRTC signaling demo, in its two wire
 * formats (GODOT-SEMANTICS.md section 3; docs/signaling.md):
 *
 *  - the 4.x JSON protocol: one text frame {"type": T, "id": I, "data": S}
 *    (signal_json.c, with jansson or the browser's JSON.parse);
 *  - the 3.x text protocol: one text frame "<C>: <arg>\n<payload>"
 *    (signal_text.c).
 *
 * Both decode to and encode from one struct, so a server can relay between
 * a 3.x and a 4.x client. Pure codecs: no I/O, no clock.
 *
 * Our only extension rides in places both Godot clients ignore: an
 * "ice_servers" member next to the three keys of the JSON ID message, and the
 * payload of the text "I:" message (which the 3.x client skips). Both carry
 * the same JSON array, RTCConfiguration.iceServers style.
 */
#ifndef PM_SIGNAL_MSG_H
#define PM_SIGNAL_MSG_H

#include "base/base.h"

/* Message types: the 4.x enum (demo's ws_webrtc_client.gd / server.js). */
typedef enum pm_sigmsg_type {
    PM_SIGMSG_JOIN = 0,
    PM_SIGMSG_ID = 1,
    PM_SIGMSG_PEER_CONNECT = 2,
    PM_SIGMSG_PEER_DISCONNECT = 3,
    PM_SIGMSG_OFFER = 4,
    PM_SIGMSG_ANSWER = 5,
    PM_SIGMSG_CANDIDATE = 6,
    PM_SIGMSG_SEAL = 7,
    /* Our extension (docs/signaling.md, "Named lobbies"): create a lobby of
     * the name in `data`, `id` as JOIN's (0 mesh, other client/server); text
     * "L: <name>". A server without the extension treats it as an unknown
     * type, as the demo does. */
    PM_SIGMSG_CREATE = 8,
    /* Our extension (docs/signaling.md, host migration): the lobby's host
     * changed to peer `id`. JSON type 9, text "H: <id>". Server to client. */
    PM_SIGMSG_HOST = 9,
    /* A text command letter outside the protocol; JSON types above 9 keep
     * their number. Either is "Invalid command" to the server. */
    PM_SIGMSG_UNKNOWN = 1000,
} pm_sigmsg_type;

/* The two wire formats. */
typedef enum pm_sigproto {
    PM_SIGPROTO_NONE = 0,
    PM_SIGPROTO_JSON = 1, /* Godot 4.x demo */
    PM_SIGPROTO_TEXT = 2, /* Godot 3.x demo */
} pm_sigproto;

/* Longest lobby name we accept in a JOIN (the demo's are 16 or 32). */
#define PM_SIG_MAX_LOBBY_NAME 64

/**
 * A name a CREATE may ask for: 1..PM_SIG_MAX_LOBBY_NAME bytes of letters,
 * digits, '-', '_' and '.', so that people can say it and type it.
 */
bool pm_sig_lobby_name_valid(const char *name, size_t len);

/**
 * One message. `data` and `ice` are borrowed: from the decoded input or the
 * decoder's scratch buffer, valid until either changes. They may contain
 * NUL bytes; lengths are authoritative.
 */
typedef struct pm_sigmsg {
    int type;   /**< pm_sigmsg_type, or any other value the peer sent */
    int64_t id; /**< >= 0 when present; -1 for a text destination that is no integer */
    const char *data;
    size_t data_len;
    const char *ice; /**< ID only: JSON array of ICE servers, or NULL */
    size_t ice_len;
} pm_sigmsg;

/**
 * Which format a first message is in: JSON when its first non-blank byte is
 * '{', text otherwise.
 */
pm_sigproto pm_sigmsg_detect(const uint8_t *in, size_t len);

/**
 * Decode a 4.x JSON message as the demo server does: "type" and "id" must be
 * numbers >= 0 (fractions are floored, integers beyond 2^53 refused);
 * "data" is "" unless it is a string. `ice_servers` (any JSON value) is
 * re-serialised into `scratch` and exposed as out->ice. Strings are copied
 * into `scratch` (reset first). PM_ERR_PARSE for anything else (invalid
 * JSON or UTF-8, not an object, missing or bad numbers).
 */
int pm_sigmsg_decode_json(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                          pm_sigmsg *out);

/** The same with the full JSON parser alone: the reference for the fast path (fuzzing). */
int pm_sigmsg_decode_json_slow(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                               pm_sigmsg *out);

/**
 * Decode a 3.x text message: a first line "<C>: <arg>" of at least three
 * characters, then "\n" and the payload. Letters: J and L (CREATE) (arg =
 * lobby name, trimmed), S, O/A/C/I/N/D/H (arg = integer id, trimmed; -1 when
 * it is not one).
 * Unknown letters give PM_SIGMSG_UNKNOWN. Borrowed from `in`.
 * PM_ERR_PARSE: no newline, short command line, no ": " after the letter,
 * invalid UTF-8.
 */
int pm_sigmsg_decode_text(const uint8_t *in, size_t len, pm_sigmsg *out);

/** Decode in the given format (scratch only used by JSON). */
int pm_sigmsg_decode(const pm_envr *env, pm_sigproto proto, const uint8_t *in, size_t len,
                     pm_buf *scratch, pm_sigmsg *out);

/**
 * Encode `m` (appended to `out`). JSON: integer numbers, data escaped, and
 * m->ice inserted verbatim as "ice_servers" when set (it must be valid
 * JSON). Text: the letter of m->type, then the id (or, for JOIN, the data as
 * lobby name), "\n", then the payload (data; for ID, the ice JSON).
 * PM_ERR_INVALID for a type that has no text letter, PM_ERR_NOMEM.
 */
int pm_sigmsg_encode(const pm_envr *env, pm_sigproto proto, const pm_sigmsg *m, pm_buf *out);
int pm_sigmsg_encode_json(const pm_envr *env, const pm_sigmsg *m, pm_buf *out);
int pm_sigmsg_encode_text(const pm_envr *env, const pm_sigmsg *m, pm_buf *out);

/* ---- Candidate payload: "\n<mid>\n<index>\n<candidate>" (both formats) ---- */

typedef struct pm_sig_candidate {
    const char *mid; /**< borrowed from the payload, not NUL-terminated */
    size_t mid_len;
    int index;
    const char *candidate; /**< borrowed, not NUL-terminated */
    size_t candidate_len;
} pm_sig_candidate;

/**
 * Split a candidate payload as the demo clients do: on "\n", dropping empty
 * parts; exactly three parts must remain and the second must be an integer.
 * PM_ERR_PARSE otherwise.
 */
int pm_sig_candidate_parse(const char *data, size_t len, pm_sig_candidate *out);

/** Format "\n<mid>\n<index>\n<candidate>" into out (appended). */
int pm_sig_candidate_format(const pm_envr *env, const char *mid, int index, const char *candidate,
                            pm_buf *out);

/* ---- ICE server list (the ice_servers extension) ---- */

#define PM_SIG_MAX_ICE_SERVERS 8
#define PM_SIG_MAX_ICE_URLS    8

typedef struct pm_sig_ice_server {
    const char *urls[PM_SIG_MAX_ICE_URLS];
    size_t url_count;
    const char *username;   /**< NULL when absent */
    const char *credential; /**< NULL when absent */
} pm_sig_ice_server;

/** A decoded list; the strings live in `store` (pm_sig_ice_list_free). */
typedef struct pm_sig_ice_list {
    pm_sig_ice_server servers[PM_SIG_MAX_ICE_SERVERS];
    size_t count;
    pm_buf store;
} pm_sig_ice_list;

/**
 * Parse a JSON array of {"urls": string | [strings], "username"?,
 * "credential"?}. Entries beyond the limits are dropped. PM_ERR_PARSE for
 * anything that is not such an array.
 */
int pm_sig_ice_list_parse(const pm_envr *env, const char *json, size_t len, pm_sig_ice_list *out);
void pm_sig_ice_list_free(const pm_envr *env, pm_sig_ice_list *list);

/** Append one entry {"urls":[...],"username":..,"credential":..} to a JSON array being built. */
int pm_sig_ice_json_append(const pm_envr *env, pm_buf *out, const char *const *urls, size_t n,
                           const char *username, const char *credential);

/** Append a JSON string literal (quoted, escaped) for bytes s[0..n). */
int pm_sig_json_string(const pm_envr *env, pm_buf *out, const char *s, size_t n);

#endif
