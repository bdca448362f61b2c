/*
 * Godot 3.x Variant binary encoding (marshalls.cpp; GODOT-SEMANTICS.md 5.1):
 * the internal side of include/peermesh/variant.h. Pure codec: no I/O, no
 * clock; the only memory it touches is the arena its caller hands it.
 *
 * Decoding is one walk used twice: first to validate and measure (no
 * memory), then to fill an arena of exactly the measured size, so a decode
 * never allocates more than the input justifies.
 */
#ifndef PM_GODOT_VARIANT_H
#define PM_GODOT_VARIANT_H

#include "base/base.h"
#include "peermesh/variant.h"

/* Header bits (marshalls.cpp ENCODE_MASK, ENCODE_FLAG_64, ENCODE_FLAG_OBJECT_AS_ID). */
#define PM_GV_TYPE_MASK      0xFFu
#define PM_GV_FLAG_64        (1u << 16)
#define PM_GV_FLAG_OBJECT_ID (1u << 16)
/* NodePath: bit 31 of the name count marks the (only supported) new format. */
#define PM_GV_NODE_PATH_NEW     0x80000000u
#define PM_GV_NODE_PATH_ABS     1u /* flags: absolute path */
#define PM_GV_NODE_PATH_OLDPROP 2u /* flags: obsolete separate property, one more subname */
/* Arena allocations are rounded to this, enough for every member of pm_variant. */
#define PM_GV_ALIGN 8u

/** A bump allocator over caller-owned memory. */
typedef struct pm_gv_arena {
    uint8_t *base;
    size_t used;
    size_t cap;
} pm_gv_arena;

/* Bytes of padding after n bytes, to a multiple of 4. */
static inline size_t pm_gv_pad4(size_t n)
{
    return (4 - n % 4) % 4;
}

/* IEEE-754 bits of floats and doubles, as Godot's encode_float/encode_double write them. */
static inline float pm_gv_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t pm_gv_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline double pm_gv_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static inline uint64_t pm_gv_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/** `n` rounded up to PM_GV_ALIGN. */
static inline size_t pm_gv_align(size_t n)
{
    return (n + PM_GV_ALIGN - 1) & ~(size_t)(PM_GV_ALIGN - 1);
}

/**
 * Validate one Variant at p[0..len): *used its encoded length, *mem the
 * arena bytes its children, strings and arrays need (the pm_variant of the
 * value itself is the caller's). Errors as pm_variant_measure.
 */
int pm_gv_measure(const uint8_t *p, size_t len, size_t *used, size_t *mem);

/**
 * Decode one Variant into *out, its children from `arena`. PM_ERR_TOO_BIG
 * when the arena runs out; other errors as pm_variant_measure.
 */
int pm_gv_decode(const uint8_t *p, size_t len, pm_gv_arena *arena, pm_variant *out, size_t *used);

/** Encoded size of `v`; PM_ERR_INVALID when it cannot be encoded (variant.h). */
int pm_gv_encoded_size(const pm_variant *v, size_t *out);

/** Encode a value pm_gv_encoded_size accepted; returns the end of what was written. */
uint8_t *pm_gv_encode(const pm_variant *v, uint8_t *out);

/**
 * True when s[0..n) is UTF-8 as Godot 3.2's String::parse_utf8 reads it:
 * sequences of up to 6 bytes (surrogates and code points past U+10FFFF
 * pass), but no overlong form, stray continuation byte or cut sequence.
 */
bool pm_gv_utf8_valid(const char *s, size_t n);

/** Length of s[0..n) up to its first NUL (n when there is none). */
size_t pm_gv_cstr_len(const char *s, size_t n);

#endif
