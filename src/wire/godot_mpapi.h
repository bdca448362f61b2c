/*
 * Godot 3.2's MultiplayerAPI packets (core/io/multiplayer_api.cpp;
 * GODOT-SEMANTICS.md 5.1 and 5.2): the first byte is the command.
 *
 *   REMOTE_CALL   [0][u32 target][name NUL][u8 argc][argc Variants][path NUL]?
 *   REMOTE_SET    [1][u32 target][name NUL][1 Variant][path NUL]?
 *   SIMPLIFY_PATH [2][u32 cache id][path]
 *   CONFIRM_PATH  [3][path]
 *   RAW           [4][payload, at least 1 byte]
 *
 * `target` is the sender's path-cache id, or 0x80000000 | offset when the
 * node path is appended at `offset` (the end of the call). Paths are relative
 * to the scene root ("Main/Player"); a path runs to its NUL or to the end of
 * the packet. Integers are little-endian. Pure codec: no state, no I/O.
 */
#ifndef PM_GODOT_MPAPI_H
#define PM_GODOT_MPAPI_H

#include "base/base.h"

#define PM_GMP_CMD_REMOTE_CALL   0
#define PM_GMP_CMD_REMOTE_SET    1
#define PM_GMP_CMD_SIMPLIFY_PATH 2
#define PM_GMP_CMD_CONFIRM_PATH  3
#define PM_GMP_CMD_RAW           4

#define PM_GMP_TARGET_INLINE 0x80000000u /* target: bit 31 = path appended at the offset */
#define PM_GMP_MAX_ARGS      255         /* argc is one byte */
#define PM_GMP_REMOTE_MIN    6           /* command, target, at least an empty name's NUL */

/** A parsed REMOTE_CALL or REMOTE_SET. Pointers borrow the packet. */
typedef struct pm_gmp_remote {
    uint8_t cmd;       /**< PM_GMP_CMD_REMOTE_CALL or _REMOTE_SET */
    bool inline_path;  /**< the path is in the packet, else cache_id names it */
    uint32_t cache_id; /**< the sender's path-cache id (when !inline_path) */
    const char *path;  /**< inline path, UTF-8, path_len bytes (not NUL-terminated) */
    size_t path_len;
    const char *name; /**< method or property: NUL-terminated in the packet */
    size_t name_len;
    const uint8_t *body; /**< after the name: CALL [argc][args], SET [value]; >= 1 byte */
    size_t body_len;
} pm_gmp_remote;

/**
 * Parse a REMOTE_CALL / REMOTE_SET. PM_ERR_PARSE when it is shorter than
 * Godot allows, the name has no NUL before the body (or before an inline
 * path), the body is empty, or the name or inline path is not UTF-8.
 */
int pm_gmp_parse_remote(const uint8_t *p, size_t len, pm_gmp_remote *out);

/** Parse SIMPLIFY_PATH: the cache id and the path (possibly empty). PM_ERR_PARSE. */
int pm_gmp_parse_simplify(const uint8_t *p, size_t len, uint32_t *id, const char **path,
                          size_t *path_len);

/** Parse CONFIRM_PATH: the path (at least one byte in the packet). PM_ERR_PARSE. */
int pm_gmp_parse_confirm(const uint8_t *p, size_t len, const char **path, size_t *path_len);

/** Append [cmd][target][name NUL] to `b` (cmd REMOTE_CALL or REMOTE_SET). */
int pm_gmp_put_remote_header(const pm_envr *env, pm_buf *b, uint8_t cmd, uint32_t target,
                             const char *name, size_t name_len);
/** Append SIMPLIFY_PATH [2][id][path NUL]. */
int pm_gmp_put_simplify(const pm_envr *env, pm_buf *b, uint32_t id, const char *path,
                        size_t path_len);
/** Append CONFIRM_PATH [3][path NUL]. */
int pm_gmp_put_confirm(const pm_envr *env, pm_buf *b, const char *path, size_t path_len);

#endif
