/*
 * A small open-addressing hash map from 64-bit keys to pointer-sized
 * values (linear probing, backward-shift deletion). Used by the signaling
 * core for lobby names (hashed) and per-address counts, and by the
 * WebSocket transport for handshakes per address.
 */
#ifndef PM_MAP_H
#define PM_MAP_H

#include "base/base.h"

typedef struct pm_map_slot {
    uint64_t key;
    uintptr_t value;
    bool used;
} pm_map_slot;

typedef struct pm_map {
    pm_map_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
} pm_map;

/** Look a key up: true and *value when present. */
bool pm_map_get(const pm_map *m, uint64_t key, uintptr_t *value);
/** Insert or replace. PM_ERR_NOMEM when the table cannot grow. */
int pm_map_put(const pm_envr *env, pm_map *m, uint64_t key, uintptr_t value);
/** Remove; false when absent. */
bool pm_map_del(pm_map *m, uint64_t key);
void pm_map_free(const pm_envr *env, pm_map *m);

/** FNV-1a over bytes, then a final mix so nearby names spread. */
uint64_t pm_hash_bytes(const void *data, size_t len);

#endif
