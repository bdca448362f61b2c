/*
 * Godot 3.x Variant binary encoding (godot_variant.h, peermesh/variant.h).
 *
 * Decoding mirrors Godot 3.2.3's decode_variant check for check (which
 * lengths it tests, which flags it reads, where a string ends), with two
 * additions for safety: a nesting limit, and counts compared with the bytes
 * left before any loop or allocation. One walker does both passes: with no
 * arena it only validates and adds up the memory the second pass will take.
 */
#include "wire/godot_variant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Each element of an ARRAY, and each string, takes at least a 4-byte header. */
#define MIN_VARIANT_LEN 4u
#define MIN_STRING_LEN  4u

typedef struct walker {
    pm_gv_arena *arena; /* NULL: measure only */
    size_t mem;         /* measure: arena bytes the decode will need */
    int err;            /* first allocation failure */
} walker;

/* ---- small helpers ---- */

/* Memory from the arena (NULL in the measuring pass, and for n == 0). */
static void *walk_alloc(walker *w, size_t n)
{
    if (n == 0)
        return NULL;
    size_t a = pm_gv_align(n);
    if (!w->arena) {
        w->mem += a;
        return NULL;
    }
    if (a > w->arena->cap - w->arena->used) {
        w->err = PM_ERR_TOO_BIG;
        return NULL;
    }
    void *p = w->arena->base + w->arena->used;
    w->arena->used += a;
    return p;
}

size_t pm_gv_cstr_len(const char *s, size_t n)
{
    const char *z = memchr(s, 0, n);
    return z ? (size_t)(z - s) : n;
}

bool pm_gv_utf8_valid(const char *s, size_t n)
{
    /* Lead byte ranges, continuation counts and the smallest code point
     * each length may carry (anything smaller is an overlong form). */
    static const struct {
        uint8_t lo, hi, extra, mask;
        uint32_t min;
    } forms[] = {
        {0xC0, 0xDF, 1, 0x1F, 0x80},      {0xE0, 0xEF, 2, 0x0F, 0x800},
        {0xF0, 0xF7, 3, 0x07, 0x10000},   {0xF8, 0xFB, 4, 0x03, 0x200000},
        {0xFC, 0xFD, 5, 0x01, 0x4000000},
    };
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t f = 0;
        while (f < PM_ARRAY_LEN(forms) && !(c >= forms[f].lo && c <= forms[f].hi))
            f++;
        if (f == PM_ARRAY_LEN(forms) || n - i - 1 < forms[f].extra)
            return false;
        uint32_t cp = c & forms[f].mask;
        for (size_t k = 1; k <= forms[f].extra; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < forms[f].min)
            return false;
        i += forms[f].extra + 1u;
    }
    return true;
}

/* ---- decoding ---- */

/*
 * Godot's _decode_string: u32 length (as int32, so >= 2^31 is refused), the
 * bytes, zero to three padding bytes that must be there. The value ends at
 * the first NUL. `out` NULL: validate and account only.
 */
static int read_string(walker *w, const uint8_t **p, size_t *len, pm_variant_str *out)
{
    if (*len < 4)
        return PM_ERR_PARSE;
    uint32_t n = pm_rd32le(*p);
    if (n > INT32_MAX || (size_t)n + pm_gv_pad4(n) > *len - 4)
        return PM_ERR_PARSE;
    const char *s = (const char *)*p + 4;
    size_t slen = pm_gv_cstr_len(s, n);
    if (!pm_gv_utf8_valid(s, slen))
        return PM_ERR_PARSE;
    char *copy = walk_alloc(w, slen + 1);
    if (w->err)
        return w->err;
    if (copy) {
        memcpy(copy, s, slen);
        copy[slen] = 0;
    }
    if (out)
        *out = (pm_variant_str){.ptr = copy ? copy : "", .len = slen};
    size_t adv = 4 + (size_t)n + pm_gv_pad4(n);
    *p += adv;
    *len -= adv;
    return PM_OK;
}

static int walk(walker *w, const uint8_t *p, size_t len, int depth, pm_variant *out, size_t *used);

/* NODE_PATH, new format only: names | 0x80000000, subnames, flags, then the strings. */
static int walk_node_path(walker *w, const uint8_t *p, size_t len, pm_variant *out, size_t *adv)
{
    if (len < 12 || !(pm_rd32le(p) & PM_GV_NODE_PATH_NEW))
        return PM_ERR_PARSE;
    uint64_t names = pm_rd32le(p) & ~PM_GV_NODE_PATH_NEW;
    uint64_t subs = pm_rd32le(p + 4);
    uint32_t flags = pm_rd32le(p + 8);
    if (flags & PM_GV_NODE_PATH_OLDPROP)
        subs++;
    uint64_t total = names + subs;
    const uint8_t *q = p + 12;
    size_t left = len - 12;
    if (total * MIN_STRING_LEN > left)
        return PM_ERR_PARSE;
    /* First pass over the strings: validate and size the text form. */
    walker probe = {0};
    size_t text = (flags & PM_GV_NODE_PATH_ABS) ? 1 : 0;
    for (uint64_t i = 0; i < total; i++) {
        pm_variant_str s;
        int r = read_string(&probe, &q, &left, &s);
        if (r != PM_OK)
            return r;
        text += s.len + (i > 0 || i >= names ? 1 : 0);
    }
    *adv = (size_t)(q - p);
    char *t = walk_alloc(w, text + 1);
    if (w->err)
        return w->err;
    if (!out)
        return PM_OK;
    out->type = PM_VARIANT_NODE_PATH;
    out->s = (pm_variant_str){.ptr = t ? t : "", .len = text};
    if (!t)
        return PM_OK;
    /* Second pass: "/" if absolute, names joined by '/', each subname after ':'. */
    size_t at = 0;
    if (flags & PM_GV_NODE_PATH_ABS)
        t[at++] = '/';
    q = p + 12;
    for (uint64_t i = 0; i < total; i++) {
        uint32_t n = pm_rd32le(q);
        size_t slen = pm_gv_cstr_len((const char *)q + 4, n);
        if (i >= names)
            t[at++] = ':';
        else if (i > 0)
            t[at++] = '/';
        memcpy(t + at, q + 4, slen);
        at += slen;
        q += 4 + (size_t)n + pm_gv_pad4(n);
    }
    t[at] = 0;
    return PM_OK;
}

/* ARRAY (pairs == false) or DICTIONARY: u32 count with bit 31 ignored, then the items. */
static int walk_container(walker *w, const uint8_t *p, size_t len, int depth, bool pairs,
                          pm_variant *out, size_t *adv)
{
    if (len < 4)
        return PM_ERR_PARSE;
    size_t count = pm_rd32le(p) & 0x7FFFFFFFu;
    size_t items = pairs ? count * 2 : count;
    if (items * MIN_VARIANT_LEN > len - 4)
        return PM_ERR_PARSE;
    pm_variant *v = walk_alloc(w, items * sizeof *v);
    if (w->err)
        return w->err;
    size_t at = 4;
    for (size_t i = 0; i < items; i++) {
        size_t n;
        int r = walk(w, p + at, len - at, depth + 1, v ? &v[i] : NULL, &n);
        if (r != PM_OK)
            return r;
        at += n;
    }
    if (out && pairs) {
        out->type = PM_VARIANT_DICTIONARY;
        out->dict.items = v;
        out->dict.count = count;
    } else if (out) {
        out->type = PM_VARIANT_ARRAY;
        out->array.items = v;
        out->array.count = count;
    }
    *adv = at;
    return PM_OK;
}

/* Pool arrays of fixed-size elements: u32 count (as int32), then the elements. */
static int walk_pool(walker *w, pm_variant_type type, const uint8_t *p, size_t len, pm_variant *out,
                     size_t *adv)
{
    if (len < 4)
        return PM_ERR_PARSE;
    uint32_t count = pm_rd32le(p);
    size_t floats = pm_variant_float_count(type);
    size_t elem = type == PM_VARIANT_POOL_BYTE_ARRAY ? 1 : floats ? 4 * floats : 4;
    if (count > INT32_MAX || (uint64_t)count * elem > len - 4)
        return PM_ERR_PARSE;
    size_t bytes = (size_t)count * elem;
    void *data = walk_alloc(w, bytes);
    if (w->err)
        return w->err;
    if (data) {
        if (type == PM_VARIANT_POOL_BYTE_ARRAY) {
            memcpy(data, p + 4, bytes);
        } else if (type == PM_VARIANT_POOL_INT_ARRAY) {
            int32_t *d = data;
            for (size_t i = 0; i < count; i++)
                d[i] = (int32_t)pm_rd32le(p + 4 + 4 * i);
        } else {
            float *d = data;
            for (size_t i = 0; i < bytes / 4; i++)
                d[i] = pm_gv_f32_from_bits(pm_rd32le(p + 4 + 4 * i));
        }
    }
    if (out) {
        out->type = type;
        out->pool.bytes = data;
        out->pool.count = count;
    }
    /* Godot pads byte arrays but does not check that the padding is there:
     * a packet may end right after the bytes. */
    *adv = 4 + bytes;
    if (type == PM_VARIANT_POOL_BYTE_ARRAY)
        *adv = PM_MIN(*adv + pm_gv_pad4(bytes), len);
    return PM_OK;
}

/* POOL_STRING_ARRAY: u32 count (as int32: Godot's loop runs no times when negative), strings. */
static int walk_pool_strings(walker *w, const uint8_t *p, size_t len, pm_variant *out, size_t *adv)
{
    if (len < 4)
        return PM_ERR_PARSE;
    uint32_t raw = pm_rd32le(p);
    size_t count = raw > INT32_MAX ? 0 : raw;
    if (count * MIN_STRING_LEN > len - 4)
        return PM_ERR_PARSE;
    pm_variant_str *s = walk_alloc(w, count * sizeof *s);
    if (w->err)
        return w->err;
    const uint8_t *q = p + 4;
    size_t left = len - 4;
    for (size_t i = 0; i < count; i++) {
        int r = read_string(w, &q, &left, s ? &s[i] : NULL);
        if (r != PM_OK)
            return r;
    }
    if (out) {
        out->type = PM_VARIANT_POOL_STRING_ARRAY;
        out->pool.strings = s;
        out->pool.count = count;
    }
    *adv = (size_t)(q - p);
    return PM_OK;
}

/* A scalar or math value with a fixed body of `n` bytes. */
static int walk_fixed(pm_variant_type type, uint32_t header, const uint8_t *p, size_t len,
                      pm_variant *out, size_t *adv)
{
    bool wide = (header & PM_GV_FLAG_64) != 0;
    size_t n = (type == PM_VARIANT_INT || type == PM_VARIANT_REAL) ? (wide ? 8 : 4)
               : type == PM_VARIANT_BOOL                           ? 4
                                         : 4 * pm_variant_float_count(type);
    if (len < n)
        return PM_ERR_PARSE;
    *adv = n;
    if (!out)
        return PM_OK;
    out->type = type;
    if (type == PM_VARIANT_BOOL)
        out->b = pm_rd32le(p) != 0;
    else if (type == PM_VARIANT_INT)
        out->i = wide ? (int64_t)pm_rd64le(p) : (int64_t)(int32_t)pm_rd32le(p);
    else if (type == PM_VARIANT_REAL)
        out->r =
            wide ? pm_gv_f64_from_bits(pm_rd64le(p)) : (double)pm_gv_f32_from_bits(pm_rd32le(p));
    else
        for (size_t i = 0; i < n / 4; i++)
            out->f[i] = pm_gv_f32_from_bits(pm_rd32le(p + 4 * i));
    return PM_OK;
}

static int walk(walker *w, const uint8_t *p, size_t len, int depth, pm_variant *out, size_t *used)
{
    if (depth > PM_VARIANT_MAX_DEPTH)
        return PM_ERR_TOO_BIG;
    if (len < 4)
        return PM_ERR_PARSE;
    uint32_t header = pm_rd32le(p);
    uint32_t type = header & PM_GV_TYPE_MASK;
    if (type >= PM_VARIANT_TYPE_COUNT)
        return PM_ERR_PARSE;
    if (out)
        *out = pm_variant_nil();
    const uint8_t *b = p + 4;
    size_t left = len - 4, adv = 0;
    int r = PM_OK;
    switch ((pm_variant_type)type) {
    case PM_VARIANT_NIL:
        break;
    case PM_VARIANT_RID:
        if (out)
            out->type = PM_VARIANT_RID;
        break;
    case PM_VARIANT_STRING: {
        const uint8_t *q = b;
        size_t l = left;
        r = read_string(w, &q, &l, out ? &out->s : NULL);
        if (out)
            out->type = PM_VARIANT_STRING;
        adv = (size_t)(q - b);
        break;
    }
    case PM_VARIANT_NODE_PATH:
        r = walk_node_path(w, b, left, out, &adv);
        break;
    case PM_VARIANT_OBJECT:
        /* Only instance ids: a full object is what allow_object_decoding guards. */
        if (!(header & PM_GV_FLAG_OBJECT_ID))
            return PM_ERR_UNSUPPORTED;
        if (left < 8)
            return PM_ERR_PARSE;
        if (out) {
            out->type = PM_VARIANT_OBJECT;
            out->object_id = pm_rd64le(b);
        }
        adv = 8;
        break;
    case PM_VARIANT_DICTIONARY:
    case PM_VARIANT_ARRAY:
        r = walk_container(w, b, left, depth, type == PM_VARIANT_DICTIONARY, out, &adv);
        break;
    case PM_VARIANT_POOL_STRING_ARRAY:
        r = walk_pool_strings(w, b, left, out, &adv);
        break;
    case PM_VARIANT_POOL_BYTE_ARRAY:
    case PM_VARIANT_POOL_INT_ARRAY:
    case PM_VARIANT_POOL_REAL_ARRAY:
    case PM_VARIANT_POOL_VECTOR2_ARRAY:
    case PM_VARIANT_POOL_VECTOR3_ARRAY:
    case PM_VARIANT_POOL_COLOR_ARRAY:
        r = walk_pool(w, (pm_variant_type)type, b, left, out, &adv);
        break;
    default:
        r = walk_fixed((pm_variant_type)type, header, b, left, out, &adv);
        break;
    }
    if (r != PM_OK)
        return r;
    *used = 4 + adv;
    return PM_OK;
}

int pm_gv_measure(const uint8_t *p, size_t len, size_t *used, size_t *mem)
{
    if (!p && len)
        return PM_ERR_INVALID;
    walker w = {0};
    size_t n = 0;
    int r = walk(&w, p, len, 1, NULL, &n);
    if (r != PM_OK)
        return r;
    if (used)
        *used = n;
    if (mem)
        *mem = w.mem;
    return PM_OK;
}

int pm_gv_decode(const uint8_t *p, size_t len, pm_gv_arena *arena, pm_variant *out, size_t *used)
{
    if ((!p && len) || !arena || !out)
        return PM_ERR_INVALID;
    walker w = {.arena = arena};
    size_t n = 0;
    int r = walk(&w, p, len, 1, out, &n);
    if (r != PM_OK)
        return r;
    if (used)
        *used = n;
    return PM_OK;
}

/* ---- the public API (peermesh/variant.h) ---- */

size_t pm_variant_float_count(pm_variant_type type)
{
    switch (type) {
    case PM_VARIANT_VECTOR2:
    case PM_VARIANT_POOL_VECTOR2_ARRAY:
        return 2;
    case PM_VARIANT_VECTOR3:
    case PM_VARIANT_POOL_VECTOR3_ARRAY:
        return 3;
    case PM_VARIANT_RECT2:
    case PM_VARIANT_PLANE:
    case PM_VARIANT_QUAT:
    case PM_VARIANT_COLOR:
    case PM_VARIANT_POOL_COLOR_ARRAY:
        return 4;
    case PM_VARIANT_TRANSFORM2D:
    case PM_VARIANT_AABB:
        return 6;
    case PM_VARIANT_BASIS:
        return 9;
    case PM_VARIANT_TRANSFORM:
        return 12;
    default:
        return 0;
    }
}

const char *pm_variant_type_name(pm_variant_type type)
{
    static const char *const names[PM_VARIANT_TYPE_COUNT] = {
        "Nil",
        "bool",
        "int",
        "float",
        "String",
        "Vector2",
        "Rect2",
        "Vector3",
        "Transform2D",
        "Plane",
        "Quat",
        "AABB",
        "Basis",
        "Transform",
        "Color",
        "NodePath",
        "RID",
        "Object",
        "Dictionary",
        "Array",
        "PoolByteArray",
        "PoolIntArray",
        "PoolRealArray",
        "PoolStringArray",
        "PoolVector2Array",
        "PoolVector3Array",
        "PoolColorArray",
    };
    return (unsigned)type < PM_VARIANT_TYPE_COUNT ? names[type] : "?";
}

int pm_variant_measure(const uint8_t *data, size_t len, size_t *used, size_t *mem)
{
    size_t m = 0;
    int r = pm_gv_measure(data, len, used, &m);
    if (r == PM_OK && mem)
        *mem = pm_gv_align(sizeof(pm_variant)) + m;
    return r;
}

int pm_variant_decode(const uint8_t *data, size_t len, void *mem, size_t mem_len, pm_variant **out,
                      size_t *used)
{
    if (!out || (!mem && mem_len))
        return PM_ERR_INVALID;
    size_t root = pm_gv_align(sizeof(pm_variant));
    if (mem_len < root)
        return PM_ERR_TOO_BIG;
    pm_gv_arena a = {.base = mem, .used = root, .cap = mem_len};
    pm_variant *v = mem;
    int r = pm_gv_decode(data, len, &a, v, used);
    if (r != PM_OK)
        return r;
    *out = v;
    return PM_OK;
}

int pm_variant_decode_new(const uint8_t *data, size_t len, pm_variant **out, size_t *used)
{
    if (!out)
        return PM_ERR_INVALID;
    size_t mem;
    int r = pm_variant_measure(data, len, NULL, &mem);
    if (r != PM_OK)
        return r;
    void *block = malloc(mem);
    if (!block)
        return PM_ERR_NOMEM;
    r = pm_variant_decode(data, len, block, mem, out, used);
    if (r != PM_OK)
        free(block);
    return r;
}

void pm_variant_free(pm_variant *v)
{
    free(v);
}

static bool str_equal(const pm_variant_str *a, const pm_variant_str *b)
{
    return a->len == b->len && (!a->len || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool items_equal(const pm_variant *a, const pm_variant *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!pm_variant_equal(&a[i], &b[i]))
            return false;
    return true;
}

static bool pool_equal(const pm_variant *a, const pm_variant *b)
{
    size_t n = a->pool.count;
    if (n != b->pool.count)
        return false;
    if (a->type == PM_VARIANT_POOL_STRING_ARRAY) {
        for (size_t i = 0; i < n; i++)
            if (!str_equal(&a->pool.strings[i], &b->pool.strings[i]))
                return false;
        return true;
    }
    size_t floats = pm_variant_float_count(a->type);
    size_t elem = a->type == PM_VARIANT_POOL_BYTE_ARRAY ? 1 : floats ? 4 * floats : 4;
    return !n || memcmp(a->pool.bytes, b->pool.bytes, n * elem) == 0;
}

bool pm_variant_equal(const pm_variant *a, const pm_variant *b)
{
    if (!a || !b || a->type != b->type)
        return a == b;
    switch (a->type) {
    case PM_VARIANT_NIL:
    case PM_VARIANT_RID:
        return true;
    case PM_VARIANT_BOOL:
        return a->b == b->b;
    case PM_VARIANT_INT:
        return a->i == b->i;
    case PM_VARIANT_REAL:
        return pm_gv_f64_bits(a->r) == pm_gv_f64_bits(b->r);
    case PM_VARIANT_STRING:
    case PM_VARIANT_NODE_PATH:
        return str_equal(&a->s, &b->s);
    case PM_VARIANT_OBJECT:
        return a->object_id == b->object_id;
    case PM_VARIANT_ARRAY:
        return a->array.count == b->array.count &&
               items_equal(a->array.items, b->array.items, a->array.count);
    case PM_VARIANT_DICTIONARY:
        return a->dict.count == b->dict.count &&
               items_equal(a->dict.items, b->dict.items, 2 * a->dict.count);
    default:
        if ((unsigned)a->type >= PM_VARIANT_TYPE_COUNT)
            return false;
        if (a->type >= PM_VARIANT_POOL_BYTE_ARRAY)
            return pool_equal(a, b);
        return memcmp(a->f, b->f, 4 * pm_variant_float_count(a->type)) == 0;
    }
}
