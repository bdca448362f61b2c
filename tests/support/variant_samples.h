/* One value of every Godot 3 Variant type, for codec and RPC tests. */
#ifndef PM_TEST_VARIANT_SAMPLES_H
#define PM_TEST_VARIANT_SAMPLES_H

#include "peermesh/variant.h"

#define PM_TEST_VARIANT_SAMPLES 32

/**
 * Fill out[0..PM_TEST_VARIANT_SAMPLES) with values covering all 27 types
 * (several INTs and REALs of both widths, nested containers); returns how
 * many. The values point into static storage.
 */
size_t pm_test_variant_samples(pm_variant *out);

#endif
