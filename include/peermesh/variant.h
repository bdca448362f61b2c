/*
 * peermesh/variant.h — Godot 3.x Variants and their binary encoding.
 *
 * Godot's "binary serialization API" (marshalls.cpp, what var2bytes,
 * bytes2var and every RPC argument use), for the 27 types of Godot 3:
 * a 4-byte little-endian header (type in the low byte, bit 16 = 64-bit INT
 * or REAL, or OBJECT sent as an instance id) and a body padded to 4 bytes.
 * The wire layout, what differs from Godot and why: docs/rpc.md.
 *
 * The C representation is a plain tagged union that you fill in yourself
 * (or with the pm_variant_* constructors below) and read directly. Nothing
 * in a pm_variant is owned by it: an encoder only reads it, and a decoded
 * tree lives in one block of memory that the decoder was given.
 *
 * Encoding is Godot's, byte for byte (tests/unit/test_godot_variant.c
 * holds vectors produced by Godot 3.2.3's var2bytes), except that padding
 * bytes are always zero (Godot leaves NodePath padding uninitialised).
 *
 * Decoding accepts what Godot 3.2.3's decode_variant accepts, with these
 * deliberate limits:
 *  - an OBJECT with its full contents (no instance-id flag) is refused with
 *    PM_ERR_UNSUPPORTED, as Godot refuses it unless allow_object_decoding;
 *  - nesting deeper than PM_VARIANT_MAX_DEPTH is refused (PM_ERR_TOO_BIG):
 *    Godot has no limit and recurses until its stack ends;
 *  - every count is checked against the bytes left before anything is
 *    allocated, so the memory a decode needs is bounded by a small multiple
 *    of the input (at most 14 bytes of memory per input byte, plus 64).
 * Strings end at their first NUL byte, as Godot's parse_utf8 does; they must
 * be UTF-8 as Godot 3.2 reads it (surrogates and 5/6-byte forms pass,
 * overlong forms and broken sequences do not).
 */
#ifndef PEERMESH_VARIANT_H
#define PEERMESH_VARIANT_H

#include "peermesh/common.h"

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Godot 3 Variant::Type; the values are the type ids on the wire. */
typedef enum pm_variant_type {
    PM_VARIANT_NIL = 0,
    PM_VARIANT_BOOL = 1,
    PM_VARIANT_INT = 2,  /**< int64 in C; 32 bits on the wire when it fits */
    PM_VARIANT_REAL = 3, /**< double in C; 32 bits on the wire when exact */
    PM_VARIANT_STRING = 4,
    PM_VARIANT_VECTOR2 = 5,     /**< f[0..1]: x, y */
    PM_VARIANT_RECT2 = 6,       /**< f[0..3]: position x, y, size x, y */
    PM_VARIANT_VECTOR3 = 7,     /**< f[0..2]: x, y, z */
    PM_VARIANT_TRANSFORM2D = 8, /**< f[0..5]: x axis, y axis, origin (2 each) */
    PM_VARIANT_PLANE = 9,       /**< f[0..3]: normal x, y, z, d */
    PM_VARIANT_QUAT = 10,       /**< f[0..3]: x, y, z, w */
    PM_VARIANT_AABB = 11,       /**< f[0..5]: position x, y, z, size x, y, z */
    PM_VARIANT_BASIS = 12,      /**< f[0..8]: the rows, elements[0][0..2], [1][0..2], [2][0..2] */
    PM_VARIANT_TRANSFORM = 13,  /**< f[0..11]: the basis as in BASIS, then origin x, y, z */
    PM_VARIANT_COLOR = 14,      /**< f[0..3]: r, g, b, a */
    PM_VARIANT_NODE_PATH = 15,  /**< s: the text form, e.g. "/root/Main/Player:position:x" */
    PM_VARIANT_RID = 16,        /**< no value: Godot sends RIDs as an empty RID */
    PM_VARIANT_OBJECT = 17,     /**< object_id: Godot's instance id (0 = null) */
    PM_VARIANT_DICTIONARY = 18, /**< dict: count key/value pairs, in wire order */
    PM_VARIANT_ARRAY = 19,      /**< array: count items */
    PM_VARIANT_POOL_BYTE_ARRAY = 20,    /**< pool.bytes[count] */
    PM_VARIANT_POOL_INT_ARRAY = 21,     /**< pool.ints[count] (int32) */
    PM_VARIANT_POOL_REAL_ARRAY = 22,    /**< pool.reals[count] (float) */
    PM_VARIANT_POOL_STRING_ARRAY = 23,  /**< pool.strings[count] */
    PM_VARIANT_POOL_VECTOR2_ARRAY = 24, /**< pool.reals[2 * count] */
    PM_VARIANT_POOL_VECTOR3_ARRAY = 25, /**< pool.reals[3 * count] */
    PM_VARIANT_POOL_COLOR_ARRAY = 26,   /**< pool.reals[4 * count] */
} pm_variant_type;

#define PM_VARIANT_TYPE_COUNT 27
/** Deepest nesting of ARRAY / DICTIONARY the codec accepts (the outermost value is depth 1). */
#define PM_VARIANT_MAX_DEPTH 64

/** A UTF-8 string of `len` bytes. Decoded strings are also NUL-terminated (ptr[len] == 0). */
typedef struct pm_variant_str {
    const char *ptr;
    size_t len;
} pm_variant_str;

/** One Godot Variant. Only the member named for `type` is meaningful. */
typedef struct pm_variant {
    pm_variant_type type;
    union {
        bool b;             /**< BOOL */
        int64_t i;          /**< INT */
        double r;           /**< REAL */
        pm_variant_str s;   /**< STRING, NODE_PATH */
        float f[12];        /**< VECTOR2 ... COLOR: pm_variant_float_count(type) floats */
        uint64_t object_id; /**< OBJECT */
        struct {
            const struct pm_variant *items; /**< ARRAY: count items */
            size_t count;
        } array;
        struct {
            const struct pm_variant *items; /**< items[2k] is key k, items[2k + 1] its value */
            size_t count;                   /**< pairs */
        } dict;
        struct {
            union {
                const uint8_t *bytes;          /**< POOL_BYTE_ARRAY */
                const int32_t *ints;           /**< POOL_INT_ARRAY */
                const float *reals;            /**< POOL_REAL/VECTOR2/VECTOR3/COLOR_ARRAY */
                const pm_variant_str *strings; /**< POOL_STRING_ARRAY */
            };
            size_t count; /**< elements (a Vector2 element is 2 floats) */
        } pool;
    };
} pm_variant;

/** Floats in the value of a math type (VECTOR2 2 ... TRANSFORM 12), or in one element of a pool
 * of vectors or colors; 0 for every other type. */
PM_API size_t pm_variant_float_count(pm_variant_type type);

/** Godot's name of a type ("Vector2", "PoolIntArray"...); "?" for an unknown value. */
PM_API const char *pm_variant_type_name(pm_variant_type type);

/**
 * The encoded size of `v`. PM_ERR_INVALID when `v` cannot be sent: an
 * unknown type, a NULL pointer with a non-zero count, a string with a NUL
 * byte or invalid UTF-8 (Godot would drop it), a count above 2^31-1, or
 * nesting deeper than PM_VARIANT_MAX_DEPTH.
 */
PM_API int pm_variant_encoded_size(const pm_variant *v, size_t *out);

/**
 * Encode `v` into out[0..cap). *written (may be NULL) gets the length.
 * PM_ERR_INVALID as pm_variant_encoded_size, PM_ERR_TOO_BIG when cap is too
 * small (nothing useful is written then).
 */
PM_API int pm_variant_encode(const pm_variant *v, uint8_t *out, size_t cap, size_t *written);

/**
 * Check that data[0..len) starts with one valid Variant. *used (may be
 * NULL) gets its encoded length, *mem (may be NULL) the bytes of memory
 * pm_variant_decode needs for it. PM_ERR_PARSE for malformed or truncated
 * input, PM_ERR_UNSUPPORTED for a full object, PM_ERR_TOO_BIG for nesting
 * deeper than PM_VARIANT_MAX_DEPTH. Allocates nothing.
 */
PM_API int pm_variant_measure(const uint8_t *data, size_t len, size_t *used, size_t *mem);

/**
 * Decode one Variant from data[0..len) into `mem`, a caller-owned block of
 * mem_len bytes aligned as malloc aligns (at least what pm_variant_measure
 * said). *out points into mem and stays valid while mem does; the tree
 * does not point into `data`. *used (may be NULL) gets the encoded length.
 * Errors as pm_variant_measure, and PM_ERR_TOO_BIG when mem is too small.
 */
PM_API int pm_variant_decode(const uint8_t *data, size_t len, void *mem, size_t mem_len,
                             pm_variant **out, size_t *used);

/**
 * pm_variant_decode into a block from malloc; free it with
 * pm_variant_free(*out). Errors as pm_variant_decode, and PM_ERR_NOMEM.
 */
PM_API int pm_variant_decode_new(const uint8_t *data, size_t len, pm_variant **out, size_t *used);
/** Free a tree from pm_variant_decode_new (NULL is fine). */
PM_API void pm_variant_free(pm_variant *v);

/** Deep equality: same types and contents; floats compare bit for bit. */
PM_API bool pm_variant_equal(const pm_variant *a, const pm_variant *b);

/* ---- constructors: a Variant by value, borrowing any pointer given ---- */

static inline pm_variant pm_variant_nil(void)
{
    pm_variant v;
    memset(&v, 0, sizeof v);
    v.type = PM_VARIANT_NIL;
    return v;
}
static inline pm_variant pm_variant_bool(bool b)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_BOOL;
    v.b = b;
    return v;
}
static inline pm_variant pm_variant_int(int64_t i)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_INT;
    v.i = i;
    return v;
}
static inline pm_variant pm_variant_real(double r)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_REAL;
    v.r = r;
    return v;
}
/** A STRING of `len` bytes (not NUL-terminated necessarily). */
static inline pm_variant pm_variant_string_n(const char *s, size_t len)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_STRING;
    v.s.ptr = s;
    v.s.len = len;
    return v;
}
static inline pm_variant pm_variant_string(const char *s)
{
    return pm_variant_string_n(s, s ? strlen(s) : 0);
}
/** A NODE_PATH from its text form ("/root/Main", "Player:position"). */
static inline pm_variant pm_variant_node_path(const char *path)
{
    pm_variant v = pm_variant_string(path);
    v.type = PM_VARIANT_NODE_PATH;
    return v;
}
/** A math type (VECTOR2 ... COLOR) from pm_variant_float_count(type) floats. */
static inline pm_variant pm_variant_math(pm_variant_type type, const float *f)
{
    pm_variant v = pm_variant_nil();
    v.type = type;
    size_t n = pm_variant_float_count(type);
    if (f && n)
        memcpy(v.f, f, n * sizeof *f);
    return v;
}
static inline pm_variant pm_variant_vector2(float x, float y)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_VECTOR2;
    v.f[0] = x;
    v.f[1] = y;
    return v;
}
static inline pm_variant pm_variant_vector3(float x, float y, float z)
{
    pm_variant v = pm_variant_vector2(x, y);
    v.type = PM_VARIANT_VECTOR3;
    v.f[2] = z;
    return v;
}
/** RECT2, PLANE, QUAT or COLOR from four floats. */
static inline pm_variant pm_variant_float4(pm_variant_type type, float a, float b, float c, float d)
{
    pm_variant v = pm_variant_nil();
    v.type = type;
    v.f[0] = a;
    v.f[1] = b;
    v.f[2] = c;
    v.f[3] = d;
    return v;
}
static inline pm_variant pm_variant_color(float r, float g, float b, float a)
{
    return pm_variant_float4(PM_VARIANT_COLOR, r, g, b, a);
}
static inline pm_variant pm_variant_object_id(uint64_t id)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_OBJECT;
    v.object_id = id;
    return v;
}
static inline pm_variant pm_variant_array(const pm_variant *items, size_t count)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_ARRAY;
    v.array.items = items;
    v.array.count = count;
    return v;
}
/** A DICTIONARY of `pairs` pairs: items[2k] key, items[2k + 1] value. */
static inline pm_variant pm_variant_dictionary(const pm_variant *items, size_t pairs)
{
    pm_variant v = pm_variant_nil();
    v.type = PM_VARIANT_DICTIONARY;
    v.dict.items = items;
    v.dict.count = pairs;
    return v;
}
/** A pool array of `count` elements at `data` (see pm_variant_type for the element type). */
static inline pm_variant pm_variant_pool(pm_variant_type type, const void *data, size_t count)
{
    pm_variant v = pm_variant_nil();
    v.type = type;
    v.pool.bytes = (const uint8_t *)data;
    v.pool.count = count;
    return v;
}

#ifdef __cplusplus
}
#endif
#endif
