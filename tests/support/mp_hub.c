/* In-memory multiplayer endpoints for tests (mp_hub.h). */
#include "mp_hub.h"

#include <stdlib.h>
#include <string.h>

#define HUB_MAX 16

typedef struct hub_packet {
    int32_t from;
    pm_mp_transfer_mode mode;
    uint8_t *data;
    size_t len;
} hub_packet;

typedef struct hub_end {
    pm_test_hub *hub;
    int32_t id;
    pm_multiplayer *mp;
    pm_mp_status status;
    bool linked[HUB_MAX];
    hub_packet *q;
    size_t qhead, qlen, qcap;
    uint8_t *current;
    pm_mp_event ev[256];
    size_t evhead, evlen;
} hub_end;

struct pm_test_hub {
    hub_end ends[HUB_MAX];
    size_t n;
    pm_test_sent *sent;
    size_t nsent, capsent;
};

static hub_end *end_of(pm_test_hub *h, int32_t id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ends[i].id == id)
            return &h->ends[i];
    abort();
}

static void push_event(hub_end *e, pm_mp_event_type type, int32_t peer)
{
    if (e->evlen == 256)
        abort();
    e->ev[(e->evhead + e->evlen++) % 256] = (pm_mp_event){.type = type, .peer_id = peer};
}

static void enqueue(hub_end *e, int32_t from, const uint8_t *data, size_t len,
                    pm_mp_transfer_mode mode)
{
    if (e->qhead + e->qlen == e->qcap) {
        if (e->qhead) {
            memmove(e->q, e->q + e->qhead, e->qlen * sizeof *e->q);
            e->qhead = 0;
        } else {
            e->qcap = e->qcap ? 2 * e->qcap : 16;
            e->q = realloc(e->q, e->qcap * sizeof *e->q);
            if (!e->q)
                abort();
        }
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, data, len);
    e->q[e->qhead + e->qlen++] = (hub_packet){.from = from, .mode = mode, .data = copy, .len = len};
}

static int op_poll(void *impl)
{
    (void)impl;
    return PM_OK;
}

static int op_put(void *impl, int32_t target, pm_mp_transfer_mode mode, int channel,
                  const uint8_t *data, size_t len)
{
    hub_end *e = impl;
    pm_test_hub *h = e->hub;
    if (e->status != PM_MP_CONNECTED)
        return PM_ERR_STATE;
    (void)channel;
    if (h->nsent == h->capsent) {
        h->capsent = h->capsent ? 2 * h->capsent : 64;
        h->sent = realloc(h->sent, h->capsent * sizeof *h->sent);
        if (!h->sent)
            abort();
    }
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    h->sent[h->nsent++] =
        (pm_test_sent){.from = e->id, .target = target, .mode = mode, .data = copy, .len = len};
    bool any = false;
    for (size_t i = 0; i < h->n; i++) {
        hub_end *to = &h->ends[i];
        if (!e->linked[i] || to == e)
            continue;
        if (target == 0 || (target > 0 && to->id == target) || (target < 0 && to->id != -target)) {
            enqueue(to, e->id, data, len, mode);
            any = true;
        }
    }
    return any || target <= 0 ? PM_OK : PM_ERR_INVALID;
}

static int op_get(void *impl, pm_mp_packet *out)
{
    hub_end *e = impl;
    free(e->current);
    e->current = NULL;
    if (!e->qlen)
        return PM_ERR_AGAIN;
    hub_packet p = e->q[e->qhead++];
    e->qlen--;
    e->current = p.data;
    *out = (pm_mp_packet){.data = p.data, .len = p.len, .from = p.from, .mode = p.mode};
    return PM_OK;
}

static int op_count(const void *impl)
{
    return (int)((const hub_end *)impl)->qlen;
}

static bool op_next_event(void *impl, pm_mp_event *ev)
{
    hub_end *e = impl;
    if (!e->evlen)
        return false;
    *ev = e->ev[e->evhead];
    e->evhead = (e->evhead + 1) % 256;
    e->evlen--;
    return true;
}

static int32_t op_id(const void *impl)
{
    return ((const hub_end *)impl)->id;
}

static pm_mp_status op_status(const void *impl)
{
    return ((const hub_end *)impl)->status;
}

static const pm_multiplayer_ops hub_ops = {
    .poll = op_poll,
    .put_packet = op_put,
    .get_packet = op_get,
    .get_available_packet_count = op_count,
    .next_event = op_next_event,
    .get_unique_id = op_id,
    .get_connection_status = op_status,
};

pm_test_hub *pm_test_hub_new(void)
{
    return calloc(1, sizeof(pm_test_hub));
}

void pm_test_hub_clear_sent(pm_test_hub *h)
{
    for (size_t i = 0; i < h->nsent; i++)
        free(h->sent[i].data);
    h->nsent = 0;
}

void pm_test_hub_free(pm_test_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        hub_end *e = &h->ends[i];
        for (size_t k = 0; k < e->qlen; k++)
            free(e->q[e->qhead + k].data);
        free(e->q);
        free(e->current);
        pm_multiplayer_free(e->mp);
    }
    pm_test_hub_clear_sent(h);
    free(h->sent);
    free(h);
}

pm_multiplayer *pm_test_hub_add(pm_test_hub *h, int32_t id)
{
    if (h->n == HUB_MAX)
        abort();
    hub_end *e = &h->ends[h->n++];
    *e = (hub_end){.hub = h, .id = id, .status = PM_MP_CONNECTED};
    if (pm_multiplayer_new(&hub_ops, e, &e->mp) != PM_OK)
        abort();
    return e->mp;
}

void pm_test_hub_link(pm_test_hub *h, int32_t a, int32_t b)
{
    hub_end *ea = end_of(h, a), *eb = end_of(h, b);
    ea->linked[eb - h->ends] = true;
    eb->linked[ea - h->ends] = true;
    push_event(ea, PM_MP_EVENT_PEER_CONNECTED, b);
    push_event(eb, PM_MP_EVENT_PEER_CONNECTED, a);
}

void pm_test_hub_unlink(pm_test_hub *h, int32_t a, int32_t b)
{
    hub_end *ea = end_of(h, a), *eb = end_of(h, b);
    ea->linked[eb - h->ends] = false;
    eb->linked[ea - h->ends] = false;
    push_event(ea, PM_MP_EVENT_PEER_DISCONNECTED, b);
    push_event(eb, PM_MP_EVENT_PEER_DISCONNECTED, a);
}

void pm_test_hub_set_status(pm_test_hub *h, int32_t id, pm_mp_status status)
{
    end_of(h, id)->status = status;
}

void pm_test_hub_inject(pm_test_hub *h, int32_t to, int32_t from, const uint8_t *data, size_t len,
                        pm_mp_transfer_mode mode)
{
    enqueue(end_of(h, to), from, data, len, mode);
}

void pm_test_hub_event(pm_test_hub *h, int32_t to, pm_mp_event_type type, int32_t peer)
{
    push_event(end_of(h, to), type, peer);
}

size_t pm_test_hub_sent_count(const pm_test_hub *h)
{
    return h->nsent;
}

const pm_test_sent *pm_test_hub_sent(const pm_test_hub *h, size_t i)
{
    return i < h->nsent ? &h->sent[i] : NULL;
}

size_t pm_test_hub_pending(const pm_test_hub *h, int32_t id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ends[i].id == id)
            return h->ends[i].qlen;
    return 0;
}
