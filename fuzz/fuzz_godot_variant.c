/*
 * libFuzzer target for the Godot 3.x Variant codec: whatever measures as
 * valid must decode into exactly the measured memory (and not into less),
 * within the documented bound, and re-encode into bytes that decode to an
 * equal value.
 */
#include "wire/godot_variant.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t used, mem;
    if (pm_variant_measure(data, size, &used, &mem) != PM_OK)
        return 0;
    if (used > size || mem > 14 * size + 64)
        abort();
    void *block = malloc(mem);
    pm_variant *v;
    if (!block)
        return 0;
    if (pm_variant_decode(data, size, block, mem - 1, &v, NULL) != PM_ERR_TOO_BIG)
        abort();
    size_t used2;
    if (pm_variant_decode(data, size, block, mem, &v, &used2) != PM_OK || used2 != used)
        abort();
    size_t n;
    if (pm_variant_encoded_size(v, &n) != PM_OK)
        abort();
    uint8_t *enc = malloc(n);
    if (enc && pm_variant_encode(v, enc, n, NULL) == PM_OK) {
        pm_variant *w;
        if (pm_variant_decode_new(enc, n, &w, &used2) != PM_OK || used2 != n ||
            !pm_variant_equal(v, w))
            abort();
        pm_variant_free(w);
    } else if (enc) {
        abort();
    }
    free(enc);
    free(block);
    return 0;
}
