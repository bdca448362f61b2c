/* Open-addressing u64 -> uintptr map (see map.h). */
#include "base/map.h"

/* Keys are hashes or addresses already; one multiply spreads them. */
static size_t slot_of(const pm_map *m, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (m->cap - 1);
}

bool pm_map_get(const pm_map *m, uint64_t key, uintptr_t *value)
{
    if (!m->cap)
        return false;
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        const pm_map_slot *s = &m->slots[i];
        if (!s->used)
            return false;
        if (s->key == key) {
            if (value)
                *value = s->value;
            return true;
        }
    }
}

static int grow(const pm_envr *env, pm_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    pm_map_slot *ns = pm_calloc(env, ncap * sizeof *ns);
    if (!ns)
        return PM_ERR_NOMEM;
    pm_map old = *m;
    m->slots = ns;
    m->cap = ncap;
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].used)
            (void)pm_map_put(env, m, old.slots[i].key, old.slots[i].value);
    pm_free(env, old.slots);
    return PM_OK;
}

int pm_map_put(const pm_envr *env, pm_map *m, uint64_t key, uintptr_t value)
{
    /* Load factor <= 1/2 keeps probe runs short. */
    if ((m->count + 1) * 2 > m->cap) {
        int rc = grow(env, m);
        if (rc)
            return rc;
    }
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        pm_map_slot *s = &m->slots[i];
        if (!s->used) {
            s->used = true;
            s->key = key;
            s->value = value;
            m->count++;
            return PM_OK;
        }
        if (s->key == key) {
            s->value = value;
            return PM_OK;
        }
    }
}

bool pm_map_del(pm_map *m, uint64_t key)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1;
    size_t i = slot_of(m, key);
    for (;; i = (i + 1) & mask) {
        if (!m->slots[i].used)
            return false;
        if (m->slots[i].key == key)
            break;
    }
    /* Backward-shift: move later members of the run into the hole when
     * their home slot does not lie cyclically in (hole, j]. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->slots[j].key);
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].used = false;
    m->count--;
    return true;
}

void pm_map_free(const pm_envr *env, pm_map *m)
{
    pm_free(env, m->slots);
    memset(m, 0, sizeof *m);
}

uint64_t pm_hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}
