/* One value of every Godot 3 Variant type (variant_samples.h). */
#include "variant_samples.h"

size_t pm_test_variant_samples(pm_variant *items)
{
    static const uint8_t bytes[] = {9, 8, 7, 6, 5};
    static const int32_t ints[] = {INT32_MIN, 0, INT32_MAX};
    static const float reals[] = {0.5f, -1, 1e30f, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const pm_variant_str strs[] = {{"x", 1}, {"", 0}, {"\xe2\x82\xac", 3}};
    static pm_variant inner[4];
    inner[0] = pm_variant_string("key");
    inner[1] = pm_variant_vector2(1, 2);
    inner[2] = pm_variant_int(7);
    inner[3] = pm_variant_array(inner, 2);
    size_t n = 0;
    items[n++] = pm_variant_nil();
    items[n++] = pm_variant_bool(true);
    items[n++] = pm_variant_int(-5);
    items[n++] = pm_variant_int(INT64_MIN);
    items[n++] = pm_variant_real(2.75);
    items[n++] = pm_variant_real(-1.0 / 3.0);
    items[n++] = pm_variant_string("hello, world");
    for (int t = PM_VARIANT_VECTOR2; t <= PM_VARIANT_COLOR; t++)
        items[n++] = pm_variant_math((pm_variant_type)t, reals);
    items[n++] = pm_variant_node_path("/root/Main/Player:position:x");
    items[n] = pm_variant_nil();
    items[n++].type = PM_VARIANT_RID;
    items[n++] = pm_variant_object_id(77);
    items[n++] = pm_variant_dictionary(inner, 2);
    items[n++] = pm_variant_array(inner + 2, 2);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_BYTE_ARRAY, bytes, 5);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_INT_ARRAY, ints, 3);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_REAL_ARRAY, reals, 3);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_STRING_ARRAY, strs, 3);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_VECTOR2_ARRAY, reals, 3);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_VECTOR3_ARRAY, reals, 2);
    items[n++] = pm_variant_pool(PM_VARIANT_POOL_COLOR_ARRAY, reals, 3);
    return n;
}
