/*
 * multiplayer_internal.h — the interface wrapper as the built-in transports
 * (mesh, ENet) create it: with their own resolved environment, so that it
 * allocates through the allocator the user injected.
 */
#ifndef PM_MULTIPLAYER_INTERNAL_H
#define PM_MULTIPLAYER_INTERNAL_H

#include "base/base.h"
#include "peermesh/multiplayer.h"

/**
 * pm_multiplayer_new() allocating from `env` (copied; pm_multiplayer_free
 * gives the memory back to the same allocator). Same errors.
 */
int pm_multiplayer_new_env(const pm_envr *env, const pm_multiplayer_ops *ops, void *impl,
                           pm_multiplayer **out);

#endif
