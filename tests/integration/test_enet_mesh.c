/*
 * Integration: a 4-peer ENet mesh on loopback in both wire formats. The
 * application builds each link itself as a hole-punching program would
 * (bound hosts, a raw punch datagram with socket_send, one side connects),
 * then hands each host to its mesh with add_mesh_peer.
 */
#include "enet_testnode.h"

#include <stdio.h>

#define NPEERS  4
#define WAIT_MS 5000

static tn_node mesh[NPEERS];

typedef struct link {
    pm_enet_host *a, *b;
    pm_enet_packet_peer *pa, *pb;
} link;

/* Service two hosts until both see their CONNECT (like a punching program). */
static void make_link(link *l, int channels)
{
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, channels, 0, 0, &l->a),
                     PM_OK);
    assert_int_equal(pm_enet_host_create_bound(NULL, "127.0.0.1", 0, 1, channels, 0, 0, &l->b),
                     PM_OK);
    uint16_t port_b = pm_enet_host_get_local_port(l->b);
    /* A punch datagram: not ENet, must be ignored by the other host. */
    static const uint8_t punch[] = {'p', 'u', 'n', 'c', 'h'};
    assert_int_equal(pm_enet_host_socket_send(l->a, "127.0.0.1", port_b, punch, sizeof punch),
                     PM_OK);
    assert_int_equal(pm_enet_host_connect(l->a, "127.0.0.1", port_b, channels, 0, &l->pa), PM_OK);
    l->pb = NULL;
    bool ca = false, cb = false;
    pm_time deadline = pm_now() + PM_MS(WAIT_MS);
    while (!(ca && cb) && pm_now() < deadline) {
        pm_enet_event ev;
        while (pm_enet_host_service(l->a, 0, &ev) > 0)
            ca |= ev.type == PM_ENET_EVENT_CONNECT;
        while (pm_enet_host_service(l->b, 0, &ev) > 0)
            if (ev.type == PM_ENET_EVENT_CONNECT) {
                cb = true;
                l->pb = ev.peer;
            }
        tn_sleep_us(200);
    }
    assert_true(ca && cb);
    assert_int_equal(pm_enet_packet_peer_get_state(l->pa), PM_ENET_PEER_CONNECTED);
    assert_int_equal(pm_enet_packet_peer_get_state(l->pb), PM_ENET_PEER_CONNECTED);
    tn_no_throttle(l->pa);
    tn_no_throttle(l->pb);
}

static bool all_have(tn_node *v, size_t n, void *ud)
{
    size_t want = *(size_t *)ud;
    for (size_t i = 0; i < n; i++)
        if (v[i].e && v[i].nrx < want)
            return false;
    return true;
}

static bool all_saw_leave(tn_node *v, size_t n, void *ud)
{
    int32_t id = *(int32_t *)ud;
    for (size_t i = 0; i < n; i++)
        if (v[i].e && pm_mp_get_connection_status(v[i].mp) == PM_MP_CONNECTED &&
            pm_mp_get_unique_id(v[i].mp) != id &&
            !tn_count_events(&v[i], PM_MP_EVENT_PEER_DISCONNECTED, id))
            return false;
    return true;
}

static bool first_saw_leave(tn_node *v, size_t n, void *ud)
{
    (void)n;
    return tn_count_events(&v[0], PM_MP_EVENT_PEER_DISCONNECTED, *(int32_t *)ud) > 0;
}

static void run_mesh(pm_enet_format fmt)
{
    for (int i = 0; i < NPEERS; i++) {
        tn_init(&mesh[i], fmt);
        assert_int_equal(pm_enet_create_mesh(mesh[i].e, 10 + i), PM_OK);
        assert_int_equal(pm_enet_create_mesh(mesh[i].e, 10 + i), PM_ERR_STATE);
        assert_int_equal(pm_mp_get_connection_status(mesh[i].mp), PM_MP_CONNECTED);
        assert_int_equal(pm_mp_get_unique_id(mesh[i].mp), 10 + i);
        assert_false(pm_mp_is_server(mesh[i].mp));
        assert_false(pm_mp_is_server_relay_supported(mesh[i].mp));
        assert_null(pm_enet_get_host(mesh[i].e));
    }
    /* One link per pair; the lower id connects. Two extra channels on every link. */
    int channels = fmt == PM_ENET_FORMAT_GODOT3 ? 5 : 4;
    for (int i = 0; i < NPEERS; i++)
        for (int j = i + 1; j < NPEERS; j++) {
            link l;
            make_link(&l, channels);
            /* Data the application did not read yet is kept (it is sent before the hand-over). */
            if (i == 0 && j == 1) {
                uint8_t hdr[8 + 5];
                size_t off = 0;
                if (fmt == PM_ENET_FORMAT_GODOT3) {
                    uint32_t src = 11;
                    for (int k = 0; k < 4; k++)
                        hdr[k] = (uint8_t)(src >> (8 * k));
                    memset(hdr + 4, 0, 4);
                    off = 8;
                }
                memcpy(hdr + off, "early", 5);
                int ch = fmt == PM_ENET_FORMAT_GODOT3 ? 1 : 0;
                assert_int_equal(
                    pm_enet_packet_peer_send(l.pb, ch, hdr, off + 5, PM_ENET_FLAG_RELIABLE), PM_OK);
                pm_enet_host_flush(l.b);
                pm_time deadline = pm_now() + PM_MS(WAIT_MS);
                pm_enet_event ev;
                while (pm_enet_packet_peer_get_available_packet_count(l.pa) == 0 &&
                       pm_now() < deadline) {
                    (void)pm_enet_host_service(l.a, 1, &ev);
                    (void)pm_enet_host_service(l.b, 0, &ev);
                }
                assert_int_equal(pm_enet_packet_peer_get_available_packet_count(l.pa), 1);
            }
            assert_int_equal(pm_enet_add_mesh_peer(mesh[i].e, 10 + j, l.a), PM_OK);
            assert_int_equal(pm_enet_add_mesh_peer(mesh[j].e, 10 + i, l.b), PM_OK);
        }
    for (int i = 0; i < NPEERS; i++) {
        tn_poll(&mesh[i]);
        assert_int_equal(tn_count_events(&mesh[i], PM_MP_EVENT_PEER_CONNECTED, 0), NPEERS - 1);
        assert_non_null(pm_enet_get_peer(mesh[i].e, 10 + (i + 1) % NPEERS));
    }
    assert_int_equal(mesh[0].nrx, 1);
    assert_int_equal(tn_count_rx(&mesh[0], 11, "early"), 1);
    for (int i = 0; i < NPEERS; i++)
        tn_clear(&mesh[i]);

    /* Errors: duplicate id, own id, a host that is not one connected peer, not a mesh. */
    pm_enet_host *lonely;
    assert_int_equal(pm_enet_host_create(NULL, 1, 0, 0, 0, &lonely), PM_OK);
    assert_int_equal(pm_enet_add_mesh_peer(mesh[0].e, 11, lonely), PM_ERR_EXISTS);
    assert_int_equal(pm_enet_add_mesh_peer(mesh[0].e, 10, lonely), PM_ERR_INVALID);
    assert_int_equal(pm_enet_add_mesh_peer(mesh[0].e, 99, lonely), PM_ERR_INVALID);
    assert_int_equal(pm_enet_add_mesh_peer(mesh[0].e, 0, lonely), PM_ERR_INVALID);
    pm_enet *notmesh;
    assert_int_equal(pm_enet_new(NULL, &notmesh), PM_OK);
    assert_int_equal(pm_enet_add_mesh_peer(notmesh, 5, lonely), PM_ERR_STATE);
    pm_enet_free(notmesh);
    pm_enet_host_free(lonely);

    /* Broadcast, targeted, exclude-one, on default and extra channels. */
    char text[32];
    for (int i = 0; i < NPEERS; i++) {
        snprintf(text, sizeof text, "hello %d", i);
        assert_int_equal(tn_send(&mesh[i], 0, PM_MP_TRANSFER_RELIABLE, 0, text), PM_OK);
        snprintf(text, sizeof text, "next %d", i);
        assert_int_equal(
            tn_send(&mesh[i], 10 + (i + 1) % NPEERS, PM_MP_TRANSFER_UNRELIABLE, 2, text), PM_OK);
    }
    assert_int_equal(tn_send(&mesh[0], -12, PM_MP_TRANSFER_UNRELIABLE_ORDERED, 1, "not12"), PM_OK);
    assert_int_equal(tn_send(&mesh[0], 77, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    assert_int_equal(tn_send(&mesh[0], 11, PM_MP_TRANSFER_RELIABLE, 3, "x"), PM_ERR_INVALID);
    size_t want = NPEERS; /* 3 hellos + 1 next (+ not12 for two of them) */
    assert_true(tn_pump(mesh, NPEERS, all_have, &want, WAIT_MS));
    tn_settle(mesh, NPEERS, 50);
    for (int i = 0; i < NPEERS; i++) {
        for (int k = 0; k < NPEERS; k++) {
            snprintf(text, sizeof text, "hello %d", k);
            assert_int_equal(tn_count_rx(&mesh[i], 10 + k, text), k == i ? 0 : 1);
        }
        int prev = (i + NPEERS - 1) % NPEERS;
        snprintf(text, sizeof text, "next %d", prev);
        assert_int_equal(tn_count_rx(&mesh[i], 10 + prev, text), 1);
        assert_int_equal(tn_count_rx(&mesh[i], 10, "not12"), i == 1 || i == 3 ? 1 : 0);
        for (size_t k = 0; k < mesh[i].nrx; k++) {
            tn_packet *p = &mesh[i].rx[k];
            if (p->len == 6 && memcmp(p->data, "next ", 5) == 0) {
                assert_int_equal(p->channel, 2);
                assert_int_equal(p->mode, PM_MP_TRANSFER_UNRELIABLE);
            }
            if (p->len == 5 && memcmp(p->data, "not12", 5) == 0) {
                assert_int_equal(p->channel, 1);
                assert_int_equal(p->mode, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
            }
        }
    }
    for (int i = 0; i < NPEERS; i++)
        tn_clear(&mesh[i]);

    /* A peer leaves gracefully: the others drop its host and report it. */
    int32_t id = 13;
    assert_int_equal(pm_mp_disconnect_peer(mesh[0].mp, 13, false), PM_OK);
    assert_true(tn_pump(mesh, NPEERS, first_saw_leave, &id, WAIT_MS));
    assert_null(pm_enet_get_peer(mesh[0].e, 13));
    /* Forced: no event here, the other side notices. */
    assert_int_equal(pm_mp_disconnect_peer(mesh[1].mp, 12, true), PM_OK);
    assert_null(pm_enet_get_peer(mesh[1].e, 12));
    pm_mp_event ev;
    pm_mp_poll(mesh[1].mp);
    assert_false(pm_mp_next_event(mesh[1].mp, &ev));
    /* A peer closes entirely: everyone else reports it. */
    id = 11;
    pm_mp_close(mesh[1].mp);
    assert_int_equal(pm_mp_get_connection_status(mesh[1].mp), PM_MP_DISCONNECTED);
    assert_true(tn_pump(mesh, NPEERS, all_saw_leave, &id, WAIT_MS));
    assert_int_equal(tn_count_events(&mesh[3], PM_MP_EVENT_PEER_DISCONNECTED, 10), 1);
    for (int i = 0; i < NPEERS; i++)
        tn_free(&mesh[i]);
}

static void mesh_godot3(void **st)
{
    (void)st;
    run_mesh(PM_ENET_FORMAT_GODOT3);
}

static void mesh_godot4(void **st)
{
    (void)st;
    run_mesh(PM_ENET_FORMAT_GODOT4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mesh_godot3),
        cmocka_unit_test(mesh_godot4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
