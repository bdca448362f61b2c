/*
 * The mesh's state machine with scripted connections (GODOT-SEMANTICS.md
 * 1.4-1.9): every connection is a test double whose connection state,
 * channel states and queued messages the test sets directly, so each case
 * states exactly which events a poll must produce, in which order.
 */
#include "multiplayer/mesh_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- the scripted link ---------------------------------------------------- */

#define MAX_Q 16

typedef struct script_link {
    pm_rtc_state state;
    pm_rtc_channel_state ch[PM_MESH_MAX_CHANNELS];
    int nch;
    pm_mesh_chan_spec spec[PM_MESH_MAX_CHANNELS];
    char labels[PM_MESH_MAX_CHANNELS][16];
    uint8_t q[PM_MESH_MAX_CHANNELS][MAX_Q][32];
    size_t qlen[PM_MESH_MAX_CHANNELS][MAX_Q];
    int qhead[PM_MESH_MAX_CHANNELS], qcount[PM_MESH_MAX_CHANNELS];
    int sent[PM_MESH_MAX_CHANNELS];
    size_t last_sent_len;
    uint8_t last_sent[32];
    size_t max_message;
    int fail_create_at; /* channel index whose creation fails, or -1 */
    int polls;
    bool closed, destroyed;
    pm_time next;
    uint64_t abandoned;
} script_link;

static script_link pool[16];
static int pool_used;

static script_link *new_link(void)
{
    assert_true(pool_used < 16);
    script_link *l = &pool[pool_used++];
    memset(l, 0, sizeof *l);
    l->state = PM_RTC_STATE_NEW;
    l->max_message = 65536;
    l->fail_create_at = -1;
    l->next = PM_TIME_NEVER;
    return l;
}

static pm_rtc_state s_state(const void *link)
{
    return ((const script_link *)link)->state;
}
static int s_create(void *link, int index, const pm_mesh_chan_spec *spec)
{
    script_link *l = link;
    if (index == l->fail_create_at)
        return PM_ERR_NOMEM;
    assert_int_equal(index, l->nch);
    l->spec[index] = *spec;
    snprintf(l->labels[index], sizeof l->labels[index], "%s", spec->label);
    l->spec[index].label = l->labels[index];
    l->ch[index] = PM_RTC_CHANNEL_CONNECTING;
    l->nch++;
    return PM_OK;
}
static pm_rtc_channel_state s_chstate(const void *link, int i)
{
    return ((const script_link *)link)->ch[i];
}
static int s_put(void *link, int i, const uint8_t *d, size_t n)
{
    script_link *l = link;
    if (l->ch[i] != PM_RTC_CHANNEL_OPEN)
        return PM_ERR_STATE;
    if (n > l->max_message)
        return PM_ERR_TOO_BIG;
    l->sent[i]++;
    l->last_sent_len = PM_MIN(n, sizeof l->last_sent);
    memcpy(l->last_sent, d, l->last_sent_len);
    return PM_OK;
}
static int s_get(void *link, int i, const uint8_t **d, size_t *n)
{
    script_link *l = link;
    if (!l->qcount[i])
        return PM_ERR_AGAIN;
    int at = l->qhead[i];
    *d = l->q[i][at];
    *n = l->qlen[i][at];
    l->qhead[i] = (at + 1) % MAX_Q;
    l->qcount[i]--;
    return PM_OK;
}
static int s_avail(const void *link, int i)
{
    return ((const script_link *)link)->qcount[i];
}
static size_t s_max(const void *link)
{
    return ((const script_link *)link)->max_message;
}
static void s_poll(void *link)
{
    ((script_link *)link)->polls++;
}
static pm_time s_next(const void *link)
{
    return ((const script_link *)link)->next;
}
static void s_close(void *link)
{
    script_link *l = link;
    l->closed = true;
    l->state = PM_RTC_STATE_CLOSED;
}
static void s_destroy(void *link)
{
    script_link *l = link;
    assert_false(l->destroyed); /* exactly once */
    l->destroyed = true;
}
static void s_stats(const void *link, pm_mesh_link_stats *out)
{
    out->rtt = PM_MS(12);
    out->abandoned = ((const script_link *)link)->abandoned;
}

static const pm_mesh_link_ops SCRIPT = {
    .state = s_state,
    .create_channel = s_create,
    .channel_state = s_chstate,
    .put = s_put,
    .get = s_get,
    .available = s_avail,
    .max_message = s_max,
    .poll = s_poll,
    .next_timeout = s_next,
    .close = s_close,
    .destroy = s_destroy,
    .stats = s_stats,
};

static void open_all(script_link *l)
{
    l->state = PM_RTC_STATE_CONNECTED;
    for (int i = 0; i < l->nch; i++)
        l->ch[i] = PM_RTC_CHANNEL_OPEN;
}

static void inject(script_link *l, int ch, const char *text)
{
    assert_true(l->qcount[ch] < MAX_Q);
    int at = (l->qhead[ch] + l->qcount[ch]) % MAX_Q;
    size_t n = strlen(text);
    memcpy(l->q[ch][at], text, n);
    l->qlen[ch][at] = n;
    l->qcount[ch]++;
}

/* ---- helpers ---------------------------------------------------------------- */

static pm_env env;

static pm_mesh *new_mesh_cfg(pm_time connect_timeout, pm_time grace)
{
    pool_used = 0;
    pm_test_env(&env, 7);
    pm_mesh_config cfg;
    pm_mesh_config_default(&cfg);
    cfg.env = &env;
    cfg.connect_timeout = connect_timeout;
    cfg.disconnect_grace = grace;
    pm_mesh *m = NULL;
    assert_int_equal(pm_mesh_new(&cfg, &m), PM_OK);
    return m;
}

static pm_mesh *new_mesh(void)
{
    return new_mesh_cfg(0, 0);
}

static script_link *add(pm_mesh *m, int32_t id)
{
    script_link *l = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, id, 1), PM_OK);
    return l;
}

/* Drain the events as text: "+N" connected, "-N" disconnected, "ok" succeeded,
 * "fail" failed, "sd" server disconnected; space separated. */
static const char *events(pm_mesh *m)
{
    static char buf[512];
    buf[0] = 0;
    pm_mp_event ev;
    while (pm_mp_next_event(pm_mesh_multiplayer(m), &ev)) {
        char one[32];
        switch (ev.type) {
        case PM_MP_EVENT_PEER_CONNECTED:
            snprintf(one, sizeof one, "+%d", (int)ev.peer_id);
            break;
        case PM_MP_EVENT_PEER_DISCONNECTED:
            snprintf(one, sizeof one, "-%d", (int)ev.peer_id);
            break;
        case PM_MP_EVENT_CONNECTION_SUCCEEDED:
            snprintf(one, sizeof one, "ok");
            break;
        case PM_MP_EVENT_CONNECTION_FAILED:
            snprintf(one, sizeof one, "fail");
            break;
        case PM_MP_EVENT_SERVER_DISCONNECTED:
            snprintf(one, sizeof one, "sd");
            break;
        case PM_MP_EVENT_HOST_CHANGED:
            snprintf(one, sizeof one, "host%d", (int)ev.peer_id);
            break;
        }
        if (buf[0])
            strcat(buf, " ");
        strcat(buf, one);
    }
    return buf;
}

static const char *poll_events(pm_mesh *m)
{
    assert_int_equal(pm_mesh_poll(m), PM_OK);
    return events(m);
}

static pm_mp_status status(pm_mesh *m)
{
    return pm_mp_get_connection_status(pm_mesh_multiplayer(m));
}

static int put(pm_mesh *m, int32_t target, pm_mp_transfer_mode mode, int channel, const char *s)
{
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    pm_mp_set_target_peer(mp, target);
    pm_mp_set_transfer_mode(mp, mode);
    pm_mp_set_transfer_channel(mp, channel);
    return pm_mp_put_packet(mp, (const uint8_t *)s, strlen(s));
}

/* ---- 1.2 set-up and add_peer --------------------------------------------------- */

static void test_channels_created(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_mp_transfer_mode extra[] = {PM_MP_TRANSFER_RELIABLE, PM_MP_TRANSFER_UNRELIABLE_ORDERED,
                                   PM_MP_TRANSFER_UNRELIABLE};
    assert_int_equal(pm_mesh_create_mesh(m, 5, extra, 3), PM_OK);
    script_link *l = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, 250), PM_OK);
    assert_int_equal(l->nch, 6);
    const char *labels[] = {"reliable", "ordered", "unreliable", "4", "5", "6"};
    const bool ordered[] = {true, true, false, true, true, false};
    const int lifetime[] = {-1, 250, 250, -1, 250, 250};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(l->spec[i].label, labels[i]);
        assert_int_equal(l->spec[i].stream_id, i + 1);
        assert_int_equal(l->spec[i].ordered, ordered[i]);
        assert_int_equal(l->spec[i].max_packet_lifetime, lifetime[i]);
    }
    /* PM_MESH_LIFETIME_RELIABLE: Godot's effective behaviour, every channel reliable. */
    script_link *r = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, r, 3, PM_MESH_LIFETIME_RELIABLE), PM_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r->spec[i].max_packet_lifetime, -1);
    pm_mesh_peer_info info;
    assert_int_equal(pm_mesh_get_peer(m, 2, &info), PM_OK);
    assert_int_equal(info.channel_count, 6);
    assert_null(info.connection);
    assert_false(info.connected);
    pm_mesh_free(m);
    assert_true(l->destroyed && r->destroyed);
}

static void test_add_peer_errors(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    script_link *l = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, 1), PM_ERR_STATE); /* not set up */
    assert_int_equal(pm_mesh_initialize(m, 0, false), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_initialize(m, -4, false), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_initialize(m, 3, false), PM_OK);
    assert_int_equal(pm_mesh_initialize(m, 4, false), PM_ERR_STATE);
    assert_int_equal(pm_mesh_create_mesh(m, 4, NULL, 0), PM_ERR_STATE);
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 0, 1), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, -2, 1), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 3, 1), PM_ERR_INVALID); /* ourselves */
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, -2), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, 65536), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_add_link(m, NULL, l, 2, 1), PM_ERR_INVALID);
    l->state = PM_RTC_STATE_CONNECTING;
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, 1), PM_ERR_STATE); /* not NEW */
    l->state = PM_RTC_STATE_NEW;
    l->fail_create_at = 1;
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 2, 1), PM_ERR_NOMEM);
    assert_false(pm_mesh_has_peer(m, 2));
    script_link *ok = add(m, 2);
    script_link *dup = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, dup, 2, 1), PM_ERR_EXISTS);
    assert_true(pm_mesh_has_peer(m, 2));
    assert_int_equal(pm_mesh_add_peer(m, NULL, 4, 1), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_add_peer(NULL, NULL, 4, 1), PM_ERR_INVALID);
    pm_mesh_free(m);
    assert_true(ok->destroyed);
    assert_false(dup->destroyed);
    assert_false(l->destroyed);
}

static void test_v4_modes(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    pm_mp_transfer_mode bad = (pm_mp_transfer_mode)7;
    assert_int_equal(pm_mesh_create_server(m, &bad, 1), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_create_server(m, NULL, 2), PM_ERR_INVALID);
    pm_mp_transfer_mode many[PM_MESH_MAX_EXTRA_CHANNELS + 1] = {0};
    assert_int_equal(pm_mesh_create_server(m, many, PM_MESH_MAX_EXTRA_CHANNELS + 1),
                     PM_ERR_INVALID);
    assert_int_equal(pm_mesh_create_client(m, 1, NULL, 0), PM_ERR_INVALID);

    /* Server: id 1, CONNECTED, refuses peer 1, relays. */
    assert_int_equal(pm_mesh_create_server(m, NULL, 0), PM_OK);
    assert_int_equal(pm_mp_get_unique_id(mp), 1);
    assert_true(pm_mp_is_server(mp));
    assert_int_equal(status(m), PM_MP_CONNECTED);
    assert_true(pm_mp_is_server_relay_supported(mp));
    script_link *l = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, l, 1, 1), PM_ERR_INVALID);
    script_link *c = add(m, 7);
    open_all(c);
    assert_string_equal(poll_events(m), "+7");
    pm_mesh_close(m);
    assert_true(c->destroyed);

    /* Client: CONNECTING, only peer 1; PEER_CONNECTED(1) then CONNECTION_SUCCEEDED. */
    assert_int_equal(pm_mesh_create_client(m, 9, NULL, 0), PM_OK);
    assert_int_equal(status(m), PM_MP_CONNECTING);
    assert_true(pm_mp_is_server_relay_supported(mp));
    assert_false(pm_mp_is_server(mp));
    script_link *other = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, other, 2, 1), PM_ERR_INVALID);
    script_link *srv = add(m, 1);
    assert_string_equal(poll_events(m), "");
    srv->state = PM_RTC_STATE_CONNECTED; /* channels not open yet */
    assert_string_equal(poll_events(m), "");
    open_all(srv);
    assert_string_equal(poll_events(m), "+1 ok");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    srv->state = PM_RTC_STATE_FAILED;
    assert_string_equal(poll_events(m), "-1 sd");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_STATE);
    assert_int_equal(pm_mp_get_unique_id(mp), 9);
    pm_mesh_close(m);

    /* Mesh: no relay. */
    assert_int_equal(pm_mesh_create_mesh(m, 4, NULL, 0), PM_OK);
    assert_false(pm_mp_is_server_relay_supported(mp));
    assert_int_equal(status(m), PM_MP_CONNECTED);
    pm_mesh_free(m);
}

/* ---- 1.6 / 1.7 the connected rule and mesh events ---------------------------------- */

static void test_mesh_connected_rule(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 3, false), PM_OK);
    assert_int_equal(status(m), PM_MP_CONNECTED);
    assert_false(pm_mp_is_server_relay_supported(pm_mesh_multiplayer(m)));
    script_link *a = add(m, 5), *b = add(m, 1), *c = add(m, 4);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(a->polls, 1);
    /* Channels open but the connection still CONNECTING: not connected. */
    for (int i = 0; i < 3; i++)
        a->ch[i] = PM_RTC_CHANNEL_OPEN;
    a->state = PM_RTC_STATE_CONNECTING;
    assert_string_equal(poll_events(m), "");
    /* Connection up, one channel still CONNECTING: not connected. */
    a->state = PM_RTC_STATE_CONNECTED;
    a->ch[2] = PM_RTC_CHANNEL_CONNECTING;
    assert_string_equal(poll_events(m), "");
    pm_mesh_peer_info info;
    assert_int_equal(pm_mesh_get_peer(m, 5, &info), PM_OK);
    assert_false(info.connected);
    /* All at once: announced in ascending id order, exactly once. */
    open_all(a);
    open_all(b);
    open_all(c);
    assert_string_equal(poll_events(m), "+1 +4 +5");
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_get_peer(m, 5, &info), PM_OK);
    assert_true(info.connected);
    int32_t ids[2];
    assert_int_equal(pm_mesh_get_peers(m, ids, 2), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 4);
    /* Peer 1 leaving a mesh without server compatibility is just a peer. */
    b->state = PM_RTC_STATE_CLOSED;
    assert_string_equal(poll_events(m), "-1");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    assert_true(b->destroyed);
    /* A closing channel removes the peer. */
    c->ch[1] = PM_RTC_CHANNEL_CLOSING;
    assert_string_equal(poll_events(m), "-4");
    /* ICE "disconnected" is fatal without a grace period (as Godot). */
    a->state = PM_RTC_STATE_DISCONNECTED;
    assert_string_equal(poll_events(m), "-5");
    assert_int_equal(pm_mesh_get_peers(m, NULL, 0), 0);
    pm_mesh_free(m);
}

static void test_server_compat_client(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    assert_int_equal(pm_mesh_initialize(m, 3, true), PM_OK);
    assert_int_equal(status(m), PM_MP_CONNECTING);
    assert_false(pm_mp_is_server_relay_supported(mp));
    script_link *s = add(m, 1), *p2 = add(m, 2), *p4 = add(m, 4);
    /* Other peers connect first: no events while the server is not connected. */
    open_all(p4);
    assert_string_equal(poll_events(m), "");
    open_all(p2);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(status(m), PM_MP_CONNECTING);
    /* Sending while CONNECTING is allowed. */
    assert_int_equal(put(m, 2, PM_MP_TRANSFER_RELIABLE, 0, "hi"), PM_OK);
    assert_int_equal(p2->sent[0], 1);
    /* The server connects: +1, succeeded, then the burst of the others in id order. */
    open_all(s);
    assert_string_equal(poll_events(m), "+1 ok +2 +4");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    /* Later peers are announced normally. */
    script_link *p6 = add(m, 6);
    open_all(p6);
    assert_string_equal(poll_events(m), "+6");
    /* The server leaves: -1, server disconnected, status DISCONNECTED (Godot's code). */
    s->state = PM_RTC_STATE_DISCONNECTED;
    assert_string_equal(poll_events(m), "-1 sd");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_STATE);
    assert_int_equal(pm_mp_get_unique_id(mp), 3);
    assert_true(pm_mesh_has_peer(m, 2)); /* the mesh peers stay */
    /* Other peers leaving afterwards are still reported. */
    p6->state = PM_RTC_STATE_FAILED;
    assert_string_equal(poll_events(m), "-6");
    pm_mesh_free(m);
}

static void test_server_compat_same_poll(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 5, true), PM_OK);
    script_link *p2 = add(m, 2), *p1 = add(m, 1), *p9 = add(m, 9), *p7 = add(m, 7);
    open_all(p9);
    assert_string_equal(poll_events(m), "");
    /* 1, 2 and 7 connect in the same poll; 9 connected before: no duplicates. */
    open_all(p1);
    open_all(p2);
    open_all(p7);
    assert_string_equal(poll_events(m), "+1 ok +2 +7 +9");
    assert_string_equal(poll_events(m), "");
    /* remove_peer of the server by hand: the same events. */
    assert_int_equal(pm_mesh_remove_peer(m, 1), PM_OK);
    assert_string_equal(events(m), "-1 sd");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_true(p1->destroyed);
    pm_mesh_free(m);
}

static void test_server_compat_server(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 1, true), PM_OK);
    assert_int_equal(status(m), PM_MP_CONNECTED);
    assert_true(pm_mp_is_server(pm_mesh_multiplayer(m)));
    script_link *a = add(m, 3), *b = add(m, 2);
    open_all(a);
    assert_string_equal(poll_events(m), "+3");
    open_all(b);
    assert_string_equal(poll_events(m), "+2");
    b->state = PM_RTC_STATE_CLOSED;
    assert_string_equal(poll_events(m), "-2");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    pm_mesh_free(m);
}

/* ---- failures, removal, timeouts -------------------------------------------------- */

static void test_fail_before_connected(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 4, true), PM_OK);
    script_link *s = add(m, 1), *p = add(m, 2);
    p->state = PM_RTC_STATE_FAILED;
    s->state = PM_RTC_STATE_FAILED;
    /* Removed silently; the client stays CONNECTING (Godot never fails it). */
    assert_string_equal(poll_events(m), "");
    assert_false(pm_mesh_has_peer(m, 1));
    assert_false(pm_mesh_has_peer(m, 2));
    assert_true(s->destroyed && p->destroyed);
    assert_int_equal(status(m), PM_MP_CONNECTING);
    pm_test_clock_now += PM_SEC(3600);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(status(m), PM_MP_CONNECTING);
    assert_int_equal(pm_mesh_next_timeout(m), PM_TIME_NEVER);
    /* A new connection to the server can still succeed. */
    script_link *again = add(m, 1);
    open_all(again);
    assert_string_equal(poll_events(m), "+1 ok");
    pm_mesh_free(m);
}

static void test_connect_timeout(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh_cfg(PM_SEC(10), 0);
    assert_int_equal(pm_mesh_create_client(m, 6, NULL, 0), PM_OK);
    pm_time start = pm_test_clock_now;
    assert_int_equal(pm_mesh_next_timeout(m), start + PM_SEC(10));
    script_link *s = add(m, 1);
    s->next = start + PM_MS(5);
    assert_int_equal(pm_mesh_next_timeout(m), start + PM_MS(5));
    s->state = PM_RTC_STATE_CONNECTING;
    pm_test_clock_now = start + PM_SEC(10) - 1;
    assert_string_equal(poll_events(m), "");
    assert_int_equal(status(m), PM_MP_CONNECTING);
    pm_test_clock_now = start + PM_SEC(10);
    assert_string_equal(poll_events(m), "fail");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_string_equal(poll_events(m), ""); /* once */
    pm_mesh_close(m);
    /* A server connecting in time: no failure later. */
    assert_int_equal(pm_mesh_initialize(m, 6, true), PM_OK);
    s = add(m, 1);
    open_all(s);
    assert_string_equal(poll_events(m), "+1 ok");
    pm_test_clock_now += PM_SEC(60);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    /* A mesh never times out. */
    pm_mesh_close(m);
    assert_int_equal(pm_mesh_create_mesh(m, 6, NULL, 0), PM_OK);
    pm_test_clock_now += PM_SEC(60);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    pm_mesh_free(m);
}

static void test_disconnect_grace(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh_cfg(0, PM_SEC(5));
    assert_int_equal(pm_mesh_create_mesh(m, 2, NULL, 0), PM_OK);
    script_link *a = add(m, 3), *b = add(m, 4);
    open_all(a);
    open_all(b);
    assert_string_equal(poll_events(m), "+3 +4");
    pm_time t0 = pm_test_clock_now;
    a->state = PM_RTC_STATE_DISCONNECTED;
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_next_timeout(m), t0 + PM_SEC(5));
    /* Still a peer: packets can be sent (the channel layer decides). */
    assert_int_equal(put(m, 3, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_OK);
    pm_test_clock_now = t0 + PM_SEC(4);
    assert_string_equal(poll_events(m), "");
    /* Recovers: the timer is forgotten. */
    a->state = PM_RTC_STATE_CONNECTED;
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_next_timeout(m), PM_TIME_NEVER);
    pm_test_clock_now = t0 + PM_SEC(20);
    a->state = PM_RTC_STATE_DISCONNECTED;
    assert_string_equal(poll_events(m), "");
    pm_test_clock_now = t0 + PM_SEC(25) - 1;
    assert_string_equal(poll_events(m), "");
    pm_test_clock_now = t0 + PM_SEC(25);
    assert_string_equal(poll_events(m), "-3");
    /* FAILED by ICE alone (channels still open): the same grace, for an
     * ICE restart; it recovers to CONNECTED. */
    pm_time t1 = pm_test_clock_now;
    b->state = PM_RTC_STATE_FAILED;
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_next_timeout(m), t1 + PM_SEC(5));
    b->state = PM_RTC_STATE_CONNECTED;
    assert_string_equal(poll_events(m), "");
    /* FAILED with a channel gone is never given grace. */
    b->state = PM_RTC_STATE_FAILED;
    b->ch[0] = PM_RTC_CHANNEL_CLOSED;
    assert_string_equal(poll_events(m), "-4");
    pm_mesh_free(m);
}

static void test_remove_and_disconnect(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    assert_int_equal(pm_mesh_remove_peer(m, 3), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_mesh_initialize(m, 2, false), PM_OK);
    assert_int_equal(pm_mesh_remove_peer(m, 3), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_mesh_remove_peer(m, 0), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_mesh_remove_peer(m, -3), PM_ERR_NOT_FOUND);
    script_link *a = add(m, 3), *b = add(m, 4), *c = add(m, 5);
    /* Not connected yet: removed without an event. */
    assert_int_equal(pm_mesh_remove_peer(m, 3), PM_OK);
    assert_string_equal(events(m), "");
    assert_true(a->destroyed);
    assert_int_equal(pm_mesh_remove_peer(m, 3), PM_ERR_NOT_FOUND);
    open_all(b);
    open_all(c);
    assert_string_equal(poll_events(m), "+4 +5");
    /* disconnect_peer: graceful closes, the next poll removes with an event. */
    assert_int_equal(pm_mp_disconnect_peer(mp, 4, false), PM_OK);
    assert_true(b->closed);
    assert_true(pm_mesh_has_peer(m, 4));
    assert_string_equal(poll_events(m), "-4");
    /* force: erased at once, no event. */
    assert_int_equal(pm_mp_disconnect_peer(mp, 5, true), PM_OK);
    assert_true(c->destroyed);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mp_disconnect_peer(mp, 5, true), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_mp_get_connection_status(mp), PM_MP_CONNECTED);
    pm_mesh_close(m);
    /* A client forcing its server away: DISCONNECTED, no event. */
    assert_int_equal(pm_mesh_create_client(m, 8, NULL, 0), PM_OK);
    script_link *s = add(m, 1);
    open_all(s);
    assert_string_equal(poll_events(m), "+1 ok");
    assert_int_equal(pm_mp_disconnect_peer(mp, 1, true), PM_OK);
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_string_equal(poll_events(m), "");
    pm_mesh_free(m);
}

static void test_refuse_new_connections(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    assert_int_equal(pm_mesh_create_mesh(m, 1, NULL, 0), PM_OK);
    script_link *a = add(m, 2);
    assert_false(pm_mp_is_refusing_new_connections(mp));
    pm_mp_set_refuse_new_connections(mp, true);
    assert_true(pm_mp_is_refusing_new_connections(mp));
    script_link *b = new_link();
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, b, 3, 1), PM_ERR_STATE);
    assert_false(pm_mesh_has_peer(m, 3));
    /* Existing peers are unaffected. */
    open_all(a);
    assert_string_equal(poll_events(m), "+2");
    /* close() does not reset it (as Godot). */
    pm_mesh_close(m);
    assert_true(pm_mp_is_refusing_new_connections(mp));
    pm_mp_set_refuse_new_connections(mp, false);
    assert_int_equal(pm_mesh_create_mesh(m, 1, NULL, 0), PM_OK);
    assert_int_equal(pm_mesh_add_link(m, &SCRIPT, b, 3, 1), PM_OK);
    pm_mesh_free(m);
}

static void test_close(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    pm_mp_transfer_mode extra[] = {PM_MP_TRANSFER_RELIABLE};
    assert_int_equal(pm_mesh_create_mesh(m, 3, extra, 1), PM_OK);
    script_link *a = add(m, 1), *b = add(m, 2);
    open_all(a);
    assert_string_equal(poll_events(m), "+1");
    pm_mp_set_target_peer(mp, 2);
    pm_mp_close(mp);
    assert_string_equal(events(m), ""); /* no events */
    assert_true(a->destroyed && b->destroyed);
    assert_int_equal(pm_mp_get_unique_id(mp), 0);
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_int_equal(pm_mp_get_target_peer(mp), 0);
    assert_int_equal(pm_mesh_get_peers(m, NULL, 0), 0);
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_STATE);
    pm_mp_packet pkt;
    assert_int_equal(pm_mp_get_packet(mp, &pkt), PM_ERR_AGAIN);
    assert_string_equal(poll_events(m), "");
    pm_mesh_close(m); /* idempotent */
    /* The extra channel configuration is forgotten: set up again without it. */
    assert_int_equal(pm_mesh_create_mesh(m, 3, NULL, 0), PM_OK);
    script_link *c = add(m, 1);
    assert_int_equal(c->nch, 3);
    assert_int_equal(put(m, 1, PM_MP_TRANSFER_RELIABLE, 1, "x"), PM_ERR_INVALID);
    pm_mesh_free(m);
    pm_mesh_free(NULL);
    pm_mesh_close(NULL);
}

/* ---- 1.4 routing ------------------------------------------------------------- */

static void test_target_forms(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_mp_transfer_mode extra[] = {PM_MP_TRANSFER_UNRELIABLE, PM_MP_TRANSFER_RELIABLE};
    assert_int_equal(pm_mesh_create_mesh(m, 1, extra, 2), PM_OK);
    script_link *a = add(m, 2), *b = add(m, 3), *c = add(m, 4), *d = add(m, 5);
    open_all(a);
    open_all(b);
    open_all(c);
    /* d is not connected: broadcasts try it, fail, and still return PM_OK. */
    assert_string_equal(poll_events(m), "+2 +3 +4");

    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "all"), PM_OK);
    assert_int_equal(a->sent[0] + b->sent[0] + c->sent[0], 3);
    assert_int_equal(d->sent[0], 0);
    pm_mesh_peer_stats st;
    assert_int_equal(pm_mesh_get_peer_stats(m, 5, &st), PM_OK);
    assert_int_equal(st.packets_send_failed, 1);

    assert_int_equal(put(m, -3, PM_MP_TRANSFER_UNRELIABLE_ORDERED, 0, "but3"), PM_OK);
    assert_int_equal(a->sent[1], 1);
    assert_int_equal(b->sent[1], 0);
    assert_int_equal(c->sent[1], 1);
    assert_memory_equal(c->last_sent, "but3", 4);

    assert_int_equal(put(m, -99, PM_MP_TRANSFER_UNRELIABLE, 0, "x"), PM_OK); /* excludes nobody */
    assert_int_equal(a->sent[2] + b->sent[2] + c->sent[2], 3);

    assert_int_equal(put(m, 4, PM_MP_TRANSFER_UNRELIABLE, 0, "only4"), PM_OK);
    assert_int_equal(c->sent[2], 2);
    assert_int_equal(a->sent[2], 1);
    assert_memory_equal(c->last_sent, "only4", 5);

    /* Single target: unknown peer, ourselves, the channel's own error. */
    assert_int_equal(put(m, 9, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    assert_int_equal(put(m, 1, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_INVALID);
    assert_int_equal(put(m, 5, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_STATE);

    /* Extra channels: channel k is index k + 2, whatever the mode. */
    assert_int_equal(put(m, 2, PM_MP_TRANSFER_RELIABLE, 1, "e1"), PM_OK);
    assert_int_equal(a->sent[3], 1);
    assert_int_equal(put(m, 2, PM_MP_TRANSFER_UNRELIABLE, 2, "e2"), PM_OK);
    assert_int_equal(a->sent[4], 1);
    assert_int_equal(put(m, 2, PM_MP_TRANSFER_RELIABLE, 3, "e3"), PM_ERR_INVALID);
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 3, "e3"), PM_ERR_INVALID);
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    pm_mp_set_transfer_channel(mp, -1); /* ignored by the interface */
    assert_int_equal(pm_mp_get_transfer_channel(mp), 3);

    /* Too big for one target: nothing is sent to anyone. */
    b->max_message = 3;
    int before = a->sent[0];
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "four"), PM_ERR_TOO_BIG);
    assert_int_equal(a->sent[0], before);
    assert_int_equal(put(m, -3, PM_MP_TRANSFER_RELIABLE, 0, "four"), PM_OK);
    assert_int_equal(put(m, 3, PM_MP_TRANSFER_RELIABLE, 0, "four"), PM_ERR_TOO_BIG);

    /* Empty packets are packets. */
    assert_int_equal(put(m, 2, PM_MP_TRANSFER_RELIABLE, 0, ""), PM_OK);
    assert_int_equal(pm_mp_put_packet(mp, NULL, 3), PM_ERR_INVALID);
    /* The real limit: what a broadcast can carry, here peer 3's 3 bytes. */
    assert_int_equal(pm_mp_get_max_packet_size(mp), 3);

    assert_int_equal(pm_mesh_get_peer_stats(m, 2, &st), PM_OK);
    assert_int_equal(st.packets_sent, 7);
    assert_int_equal(st.bytes_sent, 3 + 4 + 1 + 2 + 2 + 4);
    assert_int_equal(st.rtt, PM_MS(12));
    assert_int_equal(pm_mesh_get_peer_stats(m, 77, &st), PM_ERR_NOT_FOUND);
    pm_mesh_free(m);
}

/* ---- 1.5 receiving and fairness -------------------------------------------------- */

static void expect_packet(pm_multiplayer *mp, int32_t from, const char *text, int channel,
                          pm_mp_transfer_mode mode)
{
    pm_mp_packet pkt;
    assert_int_equal(pm_mp_get_packet(mp, &pkt), PM_OK);
    assert_int_equal(pkt.from, from);
    assert_int_equal(pkt.len, strlen(text));
    assert_memory_equal(pkt.data, text, pkt.len);
    assert_int_equal(pkt.channel, channel);
    assert_int_equal(pkt.mode, mode);
}

static void test_fairness(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    pm_mp_transfer_mode extra[] = {PM_MP_TRANSFER_UNRELIABLE_ORDERED};
    assert_int_equal(pm_mesh_create_mesh(m, 1, extra, 1), PM_OK);
    script_link *a = add(m, 2), *b = add(m, 3), *c = add(m, 4);
    open_all(a);
    open_all(b);
    open_all(c);
    assert_string_equal(poll_events(m), "+2 +3 +4");
    inject(a, 2, "a-u1");
    inject(a, 0, "a-r1");
    inject(a, 3, "a-x1");
    inject(a, 1, "a-o1");
    inject(b, 0, "b-r1");
    inject(c, 1, "c-o1");
    inject(c, 1, "c-o2");
    /* Nothing until a poll finds the next peer (Godot's count is 0 then). */
    assert_int_equal(pm_mp_get_available_packet_count(mp), 0);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mp_get_available_packet_count(mp), 7);
    /* One packet per peer in turn; within a peer reliable, ordered, unreliable, extras. */
    expect_packet(mp, 2, "a-r1", 0, PM_MP_TRANSFER_RELIABLE);
    expect_packet(mp, 3, "b-r1", 0, PM_MP_TRANSFER_RELIABLE);
    expect_packet(mp, 4, "c-o1", 0, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    inject(b, 2, "b-u1"); /* arrives meanwhile */
    expect_packet(mp, 2, "a-o1", 0, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    expect_packet(mp, 3, "b-u1", 0, PM_MP_TRANSFER_UNRELIABLE);
    expect_packet(mp, 4, "c-o2", 0, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    expect_packet(mp, 2, "a-u1", 0, PM_MP_TRANSFER_UNRELIABLE);
    assert_int_equal(pm_mp_get_available_packet_count(mp), 1);
    expect_packet(mp, 2, "a-x1", 1, PM_MP_TRANSFER_UNRELIABLE_ORDERED);
    assert_int_equal(pm_mp_get_available_packet_count(mp), 0);
    pm_mp_packet pkt;
    assert_int_equal(pm_mp_get_packet(mp, &pkt), PM_ERR_AGAIN);
    assert_int_equal(pm_mp_get_packet(mp, NULL), PM_ERR_INVALID);

    /* A peer removed while it is next: the next get finds another one. */
    inject(b, 0, "b-r2");
    inject(c, 0, "c-r3");
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_remove_peer(m, 3), PM_OK);
    assert_string_equal(events(m), "-3");
    expect_packet(mp, 4, "c-r3", 0, PM_MP_TRANSFER_RELIABLE);

    pm_mesh_peer_stats st;
    assert_int_equal(pm_mesh_get_peer_stats(m, 2, &st), PM_OK);
    assert_int_equal(st.packets_received, 4);
    assert_int_equal(st.bytes_received, 16);
    assert_int_equal(st.packets_sent, 0);
    pm_mesh_free(m);
}

/* 3.2 delivers packets of peers not yet connected; Godot 4 skips them. */
static void test_unconnected_packets(void **state)
{
    (void)state;
    for (int legacy = 0; legacy < 2; legacy++) {
        pm_mesh *m = new_mesh();
        pm_multiplayer *mp = pm_mesh_multiplayer(m);
        if (legacy)
            assert_int_equal(pm_mesh_initialize(m, 1, false), PM_OK);
        else
            assert_int_equal(pm_mesh_create_mesh(m, 1, NULL, 0), PM_OK);
        script_link *a = add(m, 2), *b = add(m, 3);
        open_all(b);
        a->state = PM_RTC_STATE_CONNECTED;
        a->ch[0] = PM_RTC_CHANNEL_OPEN; /* its other channels are still opening */
        inject(a, 0, "early");
        inject(b, 0, "b");
        assert_string_equal(poll_events(m), "+3");
        assert_int_equal(pm_mp_get_available_packet_count(mp), legacy ? 2 : 1);
        if (legacy)
            expect_packet(mp, 2, "early", 0, PM_MP_TRANSFER_RELIABLE);
        expect_packet(mp, 3, "b", 0, PM_MP_TRANSFER_RELIABLE);
        pm_mp_packet pkt;
        assert_int_equal(pm_mp_get_packet(mp, &pkt), PM_ERR_AGAIN);
        open_all(a);
        assert_string_equal(poll_events(m), "+2");
        if (!legacy)
            expect_packet(mp, 2, "early", 0, PM_MP_TRANSFER_RELIABLE);
        pm_mesh_free(m);
    }
}

static void test_stats_and_misuse(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_new(NULL, NULL), PM_ERR_INVALID);
    pm_mesh_config cfg;
    pm_mesh_config_default(&cfg);
    cfg.connect_timeout = -1;
    pm_mesh *bad = NULL;
    assert_int_equal(pm_mesh_new(&cfg, &bad), PM_ERR_INVALID);
    assert_null(bad);
    assert_int_equal(pm_mesh_poll(NULL), PM_ERR_INVALID);
    assert_null(pm_mesh_multiplayer(NULL));
    assert_int_equal(pm_mesh_initialize(NULL, 1, false), PM_ERR_INVALID);
    assert_false(pm_mesh_has_peer(NULL, 1));
    assert_int_equal(pm_mesh_get_peers(NULL, NULL, 0), 0);
    pm_mesh_peer_info info;
    assert_int_equal(pm_mesh_get_peer(m, 1, &info), PM_ERR_NOT_FOUND);
    assert_int_equal(pm_mesh_get_peer(m, 1, NULL), PM_ERR_INVALID);
    pm_mesh_peer_stats st;
    assert_int_equal(pm_mesh_get_peer_stats(m, 1, NULL), PM_ERR_INVALID);
    /* Not set up: DISCONNECTED, id 0, puts refused, poll harmless. */
    pm_multiplayer *mp = pm_mesh_multiplayer(m);
    assert_int_equal(pm_mp_get_max_packet_size(mp), PM_MESH_DEFAULT_MAX_MESSAGE); /* no peer */
    /* Setters refuse what is not a value (and keep what they had). */
    assert_int_equal(pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_UNRELIABLE), PM_OK);
    assert_int_equal(pm_mp_set_transfer_mode(mp, (pm_mp_transfer_mode)3), PM_ERR_INVALID);
    assert_int_equal(pm_mp_set_transfer_mode(mp, (pm_mp_transfer_mode)-1), PM_ERR_INVALID);
    assert_int_equal(pm_mp_get_transfer_mode(mp), PM_MP_TRANSFER_UNRELIABLE);
    assert_int_equal(pm_mp_set_transfer_mode(NULL, PM_MP_TRANSFER_RELIABLE), PM_ERR_INVALID);
    assert_int_equal(pm_mp_set_transfer_channel(mp, 2), PM_OK);
    assert_int_equal(pm_mp_set_transfer_channel(mp, -1), PM_ERR_INVALID);
    assert_int_equal(pm_mp_get_transfer_channel(mp), 2);
    assert_int_equal(pm_mp_set_transfer_channel(mp, 0), PM_OK);
    assert_int_equal(pm_mp_set_transfer_mode(mp, PM_MP_TRANSFER_RELIABLE), PM_OK);
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_int_equal(pm_mp_get_unique_id(mp), 0);
    assert_int_equal(put(m, 0, PM_MP_TRANSFER_RELIABLE, 0, "x"), PM_ERR_STATE);
    assert_string_equal(poll_events(m), "");
    assert_int_equal(pm_mesh_create_mesh(m, 2, NULL, 0), PM_OK);
    script_link *a = add(m, 3);
    a->abandoned = 42;
    open_all(a);
    assert_string_equal(poll_events(m), "+3");
    assert_int_equal(pm_mesh_get_peer_stats(m, 3, &st), PM_OK);
    assert_int_equal(st.unreliable_abandoned, 42);
    assert_int_equal(st.connected_at, pm_test_clock_now);
    pm_mesh_free(m);
}

/* Every block the mesh holds, its multiplayer wrapper included, comes from the
 * injected allocator and goes back to it. */
#define MAX_BLOCKS 64
static void *blocks[MAX_BLOCKS];
static int live_blocks;

static void *track_alloc(void *ud, size_t n)
{
    void *p = malloc(n);
    for (int i = 0; p && i < MAX_BLOCKS; i++)
        if (!blocks[i]) {
            blocks[i] = p;
            live_blocks++;
            return p;
        }
    fail_msg("more than %d live blocks", MAX_BLOCKS);
    return NULL;
}
static void *track_realloc(void *ud, void *p, size_t n)
{
    if (!p)
        return track_alloc(ud, n);
    for (int i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i] == p) {
            void *q = realloc(p, n);
            if (q)
                blocks[i] = q;
            return q;
        }
    fail_msg("resized a block the allocator never gave: %p", p);
    return NULL;
}
static void track_free(void *ud, void *p)
{
    if (!p)
        return;
    for (int i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i] == p) {
            blocks[i] = NULL;
            live_blocks--;
            free(p);
            return;
        }
    fail_msg("freed a block the allocator never gave: %p", p);
}
static bool tracked(const void *p)
{
    for (int i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i] == p)
            return true;
    return false;
}

static void test_injected_allocator(void **state)
{
    (void)state;
    pm_test_env(&env, 7);
    env.alloc = track_alloc;
    env.realloc = track_realloc;
    env.free = track_free;
    pm_mesh_config cfg;
    pm_mesh_config_default(&cfg);
    cfg.env = &env;
    pm_mesh *m = NULL;
    assert_int_equal(pm_mesh_new(&cfg, &m), PM_OK);
    assert_true(tracked(m));
    assert_true(tracked(pm_mesh_multiplayer(m)));
    pm_mesh_free(m);
    assert_int_equal(live_blocks, 0);
}

/* add_peer on real (sans-I/O) WebRTC connections: the channels Godot creates. */
static pm_rtc_peer *new_rtc(pm_env *e, pm_addr *a)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = e;
    cfg.external_transport = true;
    cfg.local_addrs = a;
    cfg.local_addr_count = 1;
    pm_rtc_peer *pc = NULL;
    assert_int_equal(pm_rtc_peer_new(&cfg, &pc), PM_OK);
    return pc;
}

static void test_rtc_link(void **state)
{
    (void)state;
    pm_mesh *m = new_mesh();
    pm_addr a;
    assert_int_equal(pm_addr_parse(&a, "127.0.0.1", 5000), PM_OK);
    pm_rtc_peer *pc = new_rtc(&env, &a);
    assert_int_equal(pm_mesh_add_peer(m, pc, 2, 250), PM_ERR_STATE); /* not set up */
    pm_mp_transfer_mode extra[] = {PM_MP_TRANSFER_UNRELIABLE};
    assert_int_equal(pm_mesh_create_mesh(m, 1, extra, 1), PM_OK);
    assert_int_equal(pm_mesh_add_peer(m, pc, 2, 250), PM_OK);
    pm_mesh_peer_info info;
    assert_int_equal(pm_mesh_get_peer(m, 2, &info), PM_OK);
    assert_ptr_equal(info.connection, pc);
    assert_int_equal(info.channel_count, 4);
    const char *labels[] = {"reliable", "ordered", "unreliable", "4"};
    const bool ordered[] = {true, true, false, false};
    const int lifetime[] = {-1, 250, 250, 250};
    for (int i = 0; i < 4; i++) {
        pm_rtc_channel *ch = info.channels[i];
        assert_string_equal(pm_rtc_channel_get_label(ch), labels[i]);
        assert_int_equal(pm_rtc_channel_get_id(ch), i + 1);
        assert_true(pm_rtc_channel_is_negotiated(ch));
        assert_int_equal(pm_rtc_channel_is_ordered(ch), ordered[i]);
        assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(ch), lifetime[i]);
        assert_int_equal(pm_rtc_channel_get_max_retransmits(ch), -1);
        assert_int_equal(pm_rtc_channel_get_write_mode(ch), PM_RTC_WRITE_BINARY);
        assert_int_equal(pm_rtc_channel_get_messages_abandoned(ch), 0);
    }
    pm_mesh_peer_stats st;
    assert_int_equal(pm_mesh_get_peer_stats(m, 2, &st), PM_OK);
    assert_int_equal(st.rtt, -1);
    assert_int_equal(st.unreliable_abandoned, 0);
    /* Not NEW: refused, and the caller still owns it. */
    pm_rtc_peer *closed = new_rtc(&env, &a);
    pm_rtc_peer_close(closed);
    assert_int_equal(pm_mesh_add_peer(m, closed, 3, 1), PM_ERR_STATE);
    pm_rtc_peer_free(closed);
    /* Refused for an id in use, then accepted under another: nothing was left on it. */
    pm_rtc_peer *again = new_rtc(&env, &a);
    assert_int_equal(pm_mesh_add_peer(m, again, 2, 1), PM_ERR_EXISTS);
    assert_int_equal(pm_mesh_add_peer(m, again, 3, PM_MESH_LIFETIME_RELIABLE), PM_OK);
    assert_int_equal(pm_mesh_get_peer(m, 3, &info), PM_OK);
    assert_int_equal(pm_rtc_channel_get_max_packet_lifetime(info.channels[2]), -1);
    /* Polling connections that never got a description: nothing happens. */
    assert_string_equal(poll_events(m), "");
    assert_true(pm_mesh_next_timeout(m) > 0);
    /* Leaving frees the connection (ASan checks it is freed exactly once). */
    assert_int_equal(pm_mesh_remove_peer(m, 2), PM_OK);
    pm_mesh_free(m);
}

/* Host migration (pm_mesh_set_host): in server compatibility the new host
 * takes peer 1's part; in mesh mode only the event. */
static void test_host_migration(void **state)
{
    (void)state;
    /* The old host leaves first: server lost, then the new one brings the
     * mesh back as at the start. */
    pm_mesh *m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 5, true), PM_OK);
    assert_int_equal(pm_mesh_get_host(m), 1);
    script_link *p1 = add(m, 1), *p3 = add(m, 3), *p7 = add(m, 7);
    open_all(p1);
    open_all(p3);
    open_all(p7);
    assert_string_equal(poll_events(m), "+1 ok +3 +7");
    p1->state = PM_RTC_STATE_DISCONNECTED;
    assert_string_equal(poll_events(m), "-1 sd");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    assert_int_equal(pm_mesh_set_host(m, 3), PM_OK);
    assert_int_equal(pm_mesh_get_host(m), 3);
    assert_int_equal(status(m), PM_MP_CONNECTING);
    assert_string_equal(poll_events(m), "host3 +3 ok +7");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    /* "The server" is the host now. */
    assert_int_equal(put(m, PM_MP_TARGET_SERVER, PM_MP_TRANSFER_RELIABLE, 0, "hi"), PM_OK);
    assert_int_equal(p3->sent[0], 1);
    assert_int_equal(pm_mesh_set_host(m, 3), PM_OK); /* the same: nothing */
    assert_string_equal(poll_events(m), "");
    /* Losing it is losing the server. */
    p3->state = PM_RTC_STATE_FAILED;
    assert_string_equal(poll_events(m), "-3 sd");
    assert_int_equal(status(m), PM_MP_DISCONNECTED);
    /* We become the host: connected at once, the others announced anew. */
    assert_int_equal(pm_mesh_set_host(m, 5), PM_OK);
    assert_string_equal(events(m), "host5 ok +7");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    assert_int_equal(put(m, PM_MP_TARGET_SERVER, PM_MP_TRANSFER_RELIABLE, 0, "x"),
                     PM_ERR_INVALID); /* that is us */
    pm_mesh_free(m);

    /* The signaling tells first: the old host leaving is only a peer leaving. */
    m = new_mesh();
    assert_int_equal(pm_mesh_initialize(m, 2, true), PM_OK);
    p1 = add(m, 1);
    script_link *p4 = add(m, 4);
    open_all(p1);
    open_all(p4);
    assert_string_equal(poll_events(m), "+1 ok +4");
    assert_int_equal(pm_mesh_set_host(m, 4), PM_OK);
    p1->state = PM_RTC_STATE_CLOSED;
    assert_string_equal(poll_events(m), "host4 -1");
    assert_int_equal(status(m), PM_MP_CONNECTED);
    pm_mesh_free(m);

    /* Mesh mode: the event only. Client/server modes: their server is 1. */
    m = new_mesh();
    assert_int_equal(pm_mesh_set_host(m, 2), PM_ERR_STATE); /* not set up */
    assert_int_equal(pm_mesh_create_mesh(m, 6, NULL, 0), PM_OK);
    assert_int_equal(pm_mesh_set_host(m, 0), PM_ERR_INVALID);
    assert_int_equal(pm_mesh_set_host(m, 9), PM_OK);
    assert_string_equal(events(m), "host9");
    assert_int_equal(pm_mesh_get_host(m), 9);
    pm_mesh_close(m);
    assert_int_equal(pm_mesh_create_client(m, 6, NULL, 0), PM_OK);
    assert_int_equal(pm_mesh_set_host(m, 9), PM_ERR_STATE);
    pm_mesh_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_created),
        cmocka_unit_test(test_add_peer_errors),
        cmocka_unit_test(test_v4_modes),
        cmocka_unit_test(test_mesh_connected_rule),
        cmocka_unit_test(test_server_compat_client),
        cmocka_unit_test(test_server_compat_same_poll),
        cmocka_unit_test(test_server_compat_server),
        cmocka_unit_test(test_host_migration),
        cmocka_unit_test(test_fail_before_connected),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_disconnect_grace),
        cmocka_unit_test(test_remove_and_disconnect),
        cmocka_unit_test(test_refuse_new_connections),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_fairness),
        cmocka_unit_test(test_unconnected_packets),
        cmocka_unit_test(test_stats_and_misuse),
        cmocka_unit_test(test_rtc_link),
        cmocka_unit_test(test_injected_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
