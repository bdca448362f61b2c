/*
 * Godot 3.2 MultiplayerAPI packets (godot_mpapi.h). The checks follow
 * Godot's _process_packet / _process_get_node / _process_rpc in order;
 * where Godot would read a path out of the call's own bytes or past them
 * (an inline-path offset inside the header or the name), this codec refuses
 * the packet instead: no Godot ever sends one.
 */
#include "wire/godot_mpapi.h"

#include "wire/godot_variant.h"

/* A path runs to its NUL or to the end of the packet, and must be UTF-8. */
static int read_path(const uint8_t *p, size_t len, const char **path, size_t *path_len)
{
    const char *s = (const char *)p;
    size_t n = pm_gv_cstr_len(s, len);
    if (!pm_gv_utf8_valid(s, n))
        return PM_ERR_PARSE;
    *path = s;
    *path_len = n;
    return PM_OK;
}

int pm_gmp_parse_remote(const uint8_t *p, size_t len, pm_gmp_remote *out)
{
    if (!p || len < PM_GMP_REMOTE_MIN ||
        (p[0] != PM_GMP_CMD_REMOTE_CALL && p[0] != PM_GMP_CMD_REMOTE_SET))
        return PM_ERR_PARSE;
    pm_gmp_remote r = {.cmd = p[0]};
    uint32_t target = pm_rd32le(p + 1);
    size_t end = len; /* the call ends here, or where its inline path starts */
    if (target & PM_GMP_TARGET_INLINE) {
        size_t ofs = target & ~PM_GMP_TARGET_INLINE;
        if (ofs >= len || ofs < PM_GMP_REMOTE_MIN)
            return PM_ERR_PARSE;
        if (read_path(p + ofs, len - ofs, &r.path, &r.path_len) != PM_OK)
            return PM_ERR_PARSE;
        r.inline_path = true;
        end = ofs;
    } else {
        r.cache_id = target;
    }
    const uint8_t *nul = memchr(p + 5, 0, end - 5);
    if (!nul)
        return PM_ERR_PARSE;
    r.name = (const char *)p + 5;
    r.name_len = (size_t)(nul - (p + 5));
    if (!pm_gv_utf8_valid(r.name, r.name_len))
        return PM_ERR_PARSE;
    r.body = nul + 1;
    r.body_len = end - (size_t)(r.body - p);
    if (r.body_len == 0)
        return PM_ERR_PARSE;
    *out = r;
    return PM_OK;
}

int pm_gmp_parse_simplify(const uint8_t *p, size_t len, uint32_t *id, const char **path,
                          size_t *path_len)
{
    if (!p || len < 5 || p[0] != PM_GMP_CMD_SIMPLIFY_PATH)
        return PM_ERR_PARSE;
    if (read_path(p + 5, len - 5, path, path_len) != PM_OK)
        return PM_ERR_PARSE;
    *id = pm_rd32le(p + 1);
    return PM_OK;
}

int pm_gmp_parse_confirm(const uint8_t *p, size_t len, const char **path, size_t *path_len)
{
    if (!p || len < 2 || p[0] != PM_GMP_CMD_CONFIRM_PATH)
        return PM_ERR_PARSE;
    return read_path(p + 1, len - 1, path, path_len);
}

static int put_cmd_u32(const pm_envr *env, pm_buf *b, uint8_t cmd, uint32_t v)
{
    uint8_t h[5] = {cmd};
    pm_wr32le(h + 1, v);
    return pm_buf_append(env, b, h, sizeof h);
}

/* The text and its NUL (encode_cstring). */
static int put_cstr(const pm_envr *env, pm_buf *b, const char *s, size_t n)
{
    int r = n ? pm_buf_append(env, b, s, n) : PM_OK;
    return r == PM_OK ? pm_buf_append(env, b, "", 1) : r;
}

int pm_gmp_put_remote_header(const pm_envr *env, pm_buf *b, uint8_t cmd, uint32_t target,
                             const char *name, size_t name_len)
{
    int r = put_cmd_u32(env, b, cmd, target);
    return r == PM_OK ? put_cstr(env, b, name, name_len) : r;
}

int pm_gmp_put_simplify(const pm_envr *env, pm_buf *b, uint32_t id, const char *path,
                        size_t path_len)
{
    int r = put_cmd_u32(env, b, PM_GMP_CMD_SIMPLIFY_PATH, id);
    return r == PM_OK ? put_cstr(env, b, path, path_len) : r;
}

int pm_gmp_put_confirm(const pm_envr *env, pm_buf *b, const char *path, size_t path_len)
{
    uint8_t cmd = PM_GMP_CMD_CONFIRM_PATH;
    int r = pm_buf_append(env, b, &cmd, 1);
    return r == PM_OK ? put_cstr(env, b, path, path_len) : r;
}
