/*
 * Godot 3.x Variant binary encoding, the encoding side (godot_variant.h,
 * peermesh/variant.h): Godot's encode_variant with objects as instance ids,
 * after a validation pass that refuses what a Godot receiver would drop.
 */
#include "wire/godot_variant.h"

#include <float.h>
#include <math.h>

/* Godot sends a REAL as float when the float holds the same value (NaN never does). */
static bool real_fits_f32(double d)
{
    if (isnan(d))
        return false;
    if (isinf(d))
        return true;
    /* Converting a double beyond float's range is undefined: decide first. */
    return d <= FLT_MAX && d >= -FLT_MAX && (double)(float)d == d;
}

static bool int_fits_i32(int64_t i)
{
    return i >= INT32_MIN && i <= INT32_MAX;
}

static bool string_ok(const char *s, size_t len)
{
    if (len > INT32_MAX || (!s && len))
        return false;
    return !len || (!memchr(s, 0, len) && pm_gv_utf8_valid(s, len));
}

/* A Godot string on the wire: u32 length, bytes, zero padding. */
static size_t string_size(size_t len)
{
    return 4 + len + pm_gv_pad4(len);
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t len, bool nul)
{
    size_t n = len + (nul ? 1 : 0);
    pm_wr32le(p, (uint32_t)n);
    if (len)
        memcpy(p + 4, s, len);
    memset(p + 4 + len, 0, n - len + pm_gv_pad4(n));
    return p + 4 + n + pm_gv_pad4(n);
}

/*
 * NodePath text form -> names and subnames: an optional leading '/' makes
 * it absolute, text before the first ':' is the names split at '/', the
 * rest the subnames split at ':'. Empty parts are kept, so every text the
 * decoder produces encodes back to the same text. `visit` sees each part.
 */
typedef struct np_parts {
    bool absolute;
    const char *path;
    size_t path_len;
    const char *subs;
    size_t subs_len; /* SIZE_MAX: no ':' at all */
} np_parts;

static np_parts np_split(const char *s, size_t len)
{
    np_parts np = {0};
    if (len && s[0] == '/') {
        np.absolute = true;
        s++;
        len--;
    }
    const char *colon = len ? memchr(s, ':', len) : NULL;
    np.path = s;
    np.path_len = colon ? (size_t)(colon - s) : len;
    np.subs = colon ? colon + 1 : NULL;
    np.subs_len = colon ? len - np.path_len - 1 : SIZE_MAX;
    return np;
}

/* Count the parts of s[0..len) separated by `sep` (an empty text has none when `none_if_empty`). */
static size_t np_count(const char *s, size_t len, char sep, bool none_if_empty)
{
    if (!len && none_if_empty)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == sep;
    return n;
}

static size_t np_size(const char *s, size_t len, char sep, bool none_if_empty)
{
    size_t total = 0, start = 0;
    if (!len && none_if_empty)
        return 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || s[i] == sep) {
            total += string_size(i - start);
            start = i + 1;
        }
    return total;
}

static uint8_t *np_put(uint8_t *p, const char *s, size_t len, char sep, bool none_if_empty)
{
    size_t start = 0;
    if (!len && none_if_empty)
        return p;
    for (size_t i = 0; i <= len; i++)
        if (i == len || s[i] == sep) {
            p = put_string(p, s + start, i - start, false);
            start = i + 1;
        }
    return p;
}

static size_t np_subs(const np_parts *np)
{
    return np->subs ? np_count(np->subs, np->subs_len, ':', false) : 0;
}

static int size_of(const pm_variant *v, int depth, size_t *out);

static int size_of_items(const pm_variant *items, size_t n, int depth, size_t *out)
{
    if (n && !items)
        return PM_ERR_INVALID;
    size_t total = 4;
    for (size_t i = 0; i < n; i++) {
        size_t s;
        int r = size_of(&items[i], depth + 1, &s);
        if (r != PM_OK)
            return r;
        total += s;
    }
    *out = total;
    return PM_OK;
}

static int size_of_pool(const pm_variant *v, size_t *out)
{
    size_t n = v->pool.count;
    if (n > INT32_MAX || (n && !v->pool.bytes))
        return PM_ERR_INVALID;
    if (v->type == PM_VARIANT_POOL_STRING_ARRAY) {
        size_t total = 4;
        for (size_t i = 0; i < n; i++) {
            const pm_variant_str *s = &v->pool.strings[i];
            if (!string_ok(s->ptr, s->len) || s->len >= INT32_MAX)
                return PM_ERR_INVALID;
            total += string_size(s->len + 1);
        }
        *out = total;
        return PM_OK;
    }
    size_t floats = pm_variant_float_count(v->type);
    size_t elem = v->type == PM_VARIANT_POOL_BYTE_ARRAY ? 1 : floats ? 4 * floats : 4;
    *out = 4 + n * elem + pm_gv_pad4(n * elem);
    return PM_OK;
}

static int size_of(const pm_variant *v, int depth, size_t *out)
{
    if (!v || depth > PM_VARIANT_MAX_DEPTH)
        return PM_ERR_INVALID;
    size_t body = 0;
    switch (v->type) {
    case PM_VARIANT_NIL:
    case PM_VARIANT_RID:
        break;
    case PM_VARIANT_BOOL:
        body = 4;
        break;
    case PM_VARIANT_INT:
        body = int_fits_i32(v->i) ? 4 : 8;
        break;
    case PM_VARIANT_REAL:
        body = real_fits_f32(v->r) ? 4 : 8;
        break;
    case PM_VARIANT_STRING:
        if (!string_ok(v->s.ptr, v->s.len))
            return PM_ERR_INVALID;
        body = string_size(v->s.len);
        break;
    case PM_VARIANT_NODE_PATH: {
        if (!string_ok(v->s.ptr, v->s.len))
            return PM_ERR_INVALID;
        np_parts np = np_split(v->s.ptr, v->s.len);
        body = 12 + np_size(np.path, np.path_len, '/', true) +
               (np.subs ? np_size(np.subs, np.subs_len, ':', false) : 0);
        break;
    }
    case PM_VARIANT_OBJECT:
        body = 8;
        break;
    case PM_VARIANT_ARRAY:
    case PM_VARIANT_DICTIONARY: {
        bool array = v->type == PM_VARIANT_ARRAY;
        size_t n = array ? v->array.count : v->dict.count;
        if (n > INT32_MAX)
            return PM_ERR_INVALID;
        int r =
            size_of_items(array ? v->array.items : v->dict.items, array ? n : 2 * n, depth, &body);
        if (r != PM_OK)
            return r;
        break;
    }
    default:
        if ((unsigned)v->type >= PM_VARIANT_TYPE_COUNT)
            return PM_ERR_INVALID;
        if (v->type >= PM_VARIANT_POOL_BYTE_ARRAY) {
            int r = size_of_pool(v, &body);
            if (r != PM_OK)
                return r;
        } else {
            body = 4 * pm_variant_float_count(v->type);
        }
        break;
    }
    *out = 4 + body;
    return PM_OK;
}

int pm_gv_encoded_size(const pm_variant *v, size_t *out)
{
    size_t n;
    int r = size_of(v, 1, &n);
    if (r == PM_OK && out)
        *out = n;
    return r;
}

static uint8_t *put_pool(const pm_variant *v, uint8_t *p)
{
    size_t n = v->pool.count;
    pm_wr32le(p, (uint32_t)n);
    p += 4;
    switch (v->type) {
    case PM_VARIANT_POOL_BYTE_ARRAY:
        if (n)
            memcpy(p, v->pool.bytes, n);
        memset(p + n, 0, pm_gv_pad4(n));
        return p + n + pm_gv_pad4(n);
    case PM_VARIANT_POOL_INT_ARRAY:
        for (size_t i = 0; i < n; i++, p += 4)
            pm_wr32le(p, (uint32_t)v->pool.ints[i]);
        return p;
    case PM_VARIANT_POOL_STRING_ARRAY:
        /* Godot counts the NUL of each string in its length and sends it. */
        for (size_t i = 0; i < n; i++)
            p = put_string(p, v->pool.strings[i].ptr, v->pool.strings[i].len, true);
        return p;
    default: {
        size_t floats = n * pm_variant_float_count(v->type);
        if (v->type == PM_VARIANT_POOL_REAL_ARRAY)
            floats = n;
        for (size_t i = 0; i < floats; i++, p += 4)
            pm_wr32le(p, pm_gv_f32_bits(v->pool.reals[i]));
        return p;
    }
    }
}

uint8_t *pm_gv_encode(const pm_variant *v, uint8_t *p)
{
    uint32_t header = (uint32_t)v->type;
    if ((v->type == PM_VARIANT_INT && !int_fits_i32(v->i)) ||
        (v->type == PM_VARIANT_REAL && !real_fits_f32(v->r)))
        header |= PM_GV_FLAG_64;
    if (v->type == PM_VARIANT_OBJECT)
        header |= PM_GV_FLAG_OBJECT_ID;
    pm_wr32le(p, header);
    p += 4;
    switch (v->type) {
    case PM_VARIANT_NIL:
    case PM_VARIANT_RID:
        return p;
    case PM_VARIANT_BOOL:
        pm_wr32le(p, v->b ? 1 : 0);
        return p + 4;
    case PM_VARIANT_INT:
        if (header & PM_GV_FLAG_64) {
            pm_wr64le(p, (uint64_t)v->i);
            return p + 8;
        }
        pm_wr32le(p, (uint32_t)(int32_t)v->i);
        return p + 4;
    case PM_VARIANT_REAL:
        if (header & PM_GV_FLAG_64) {
            pm_wr64le(p, pm_gv_f64_bits(v->r));
            return p + 8;
        }
        pm_wr32le(p, pm_gv_f32_bits((float)v->r));
        return p + 4;
    case PM_VARIANT_STRING:
        return put_string(p, v->s.ptr, v->s.len, false);
    case PM_VARIANT_NODE_PATH: {
        np_parts np = np_split(v->s.ptr, v->s.len);
        pm_wr32le(p, (uint32_t)np_count(np.path, np.path_len, '/', true) | PM_GV_NODE_PATH_NEW);
        pm_wr32le(p + 4, (uint32_t)np_subs(&np));
        pm_wr32le(p + 8, np.absolute ? PM_GV_NODE_PATH_ABS : 0);
        p = np_put(p + 12, np.path, np.path_len, '/', true);
        return np.subs ? np_put(p, np.subs, np.subs_len, ':', false) : p;
    }
    case PM_VARIANT_OBJECT:
        pm_wr64le(p, v->object_id);
        return p + 8;
    case PM_VARIANT_ARRAY:
    case PM_VARIANT_DICTIONARY: {
        bool array = v->type == PM_VARIANT_ARRAY;
        const pm_variant *items = array ? v->array.items : v->dict.items;
        size_t n = array ? v->array.count : v->dict.count;
        pm_wr32le(p, (uint32_t)n);
        p += 4;
        for (size_t i = 0; i < (array ? n : 2 * n); i++)
            p = pm_gv_encode(&items[i], p);
        return p;
    }
    default:
        if (v->type >= PM_VARIANT_POOL_BYTE_ARRAY)
            return put_pool(v, p);
        for (size_t i = 0; i < pm_variant_float_count(v->type); i++, p += 4)
            pm_wr32le(p, pm_gv_f32_bits(v->f[i]));
        return p;
    }
}

/* ---- the public API ---- */

int pm_variant_encoded_size(const pm_variant *v, size_t *out)
{
    return pm_gv_encoded_size(v, out);
}

int pm_variant_encode(const pm_variant *v, uint8_t *out, size_t cap, size_t *written)
{
    size_t n;
    int r = pm_gv_encoded_size(v, &n);
    if (r != PM_OK)
        return r;
    if (!out || n > cap)
        return PM_ERR_TOO_BIG;
    pm_gv_encode(v, out);
    if (written)
        *written = n;
    return PM_OK;
}
