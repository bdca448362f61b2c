/*
 * An in-memory multiplayer "network" for tests of layers above the
 * multiplayer interface (the RPC layer): endpoints with fixed ids, links
 * made and broken by the test (PEER_CONNECTED / PEER_DISCONNECTED on both
 * sides), packets delivered at once to every linked endpoint a target
 * covers, and a log of every packet sent so tests can check wire bytes.
 * Packets can also be injected as if a peer had sent them.
 */
#ifndef PM_TEST_MP_HUB_H
#define PM_TEST_MP_HUB_H

#include "peermesh/multiplayer.h"

typedef struct pm_test_hub pm_test_hub;

/** One packet an endpoint sent (the hub's log). */
typedef struct pm_test_sent {
    int32_t from;
    int32_t target;
    pm_mp_transfer_mode mode;
    uint8_t *data;
    size_t len;
} pm_test_sent;

pm_test_hub *pm_test_hub_new(void);
void pm_test_hub_free(pm_test_hub *h);
/** A new endpoint with `id`, status CONNECTED; the interface is owned by the hub. */
pm_multiplayer *pm_test_hub_add(pm_test_hub *h, int32_t id);
/** Link two endpoints (each gets PEER_CONNECTED of the other). */
void pm_test_hub_link(pm_test_hub *h, int32_t a, int32_t b);
/** Break a link (each gets PEER_DISCONNECTED of the other). */
void pm_test_hub_unlink(pm_test_hub *h, int32_t a, int32_t b);
void pm_test_hub_set_status(pm_test_hub *h, int32_t id, pm_mp_status status);
/** Queue a packet at endpoint `to` as if `from` had sent it. */
void pm_test_hub_inject(pm_test_hub *h, int32_t to, int32_t from, const uint8_t *data, size_t len,
                        pm_mp_transfer_mode mode);
/** Queue an event at endpoint `to`. */
void pm_test_hub_event(pm_test_hub *h, int32_t to, pm_mp_event_type type, int32_t peer);
size_t pm_test_hub_sent_count(const pm_test_hub *h);
const pm_test_sent *pm_test_hub_sent(const pm_test_hub *h, size_t i);
void pm_test_hub_clear_sent(pm_test_hub *h);
/** Packets waiting at an endpoint. */
size_t pm_test_hub_pending(const pm_test_hub *h, int32_t id);

#endif
