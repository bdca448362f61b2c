/*
 * Unit tests: the signaling client's protocol core (src/signaling/
 * sig_client.c), sans-I/O. Server messages in, in either protocol; checked:
 * the messages it sends (JOIN, offers by each offer rule, candidates,
 * SEAL), its close and abort, its events and states, the mesh it sets up
 * for each kind of lobby, the configuration its peer factory gets (ICE
 * servers from the signaling server included), its deadline, and that it
 * ignores what it should.
 */
#include "testutil.h"

#include "signaling/sig_client.h"
#include "wire/signal_msg.h"

#include <stdio.h>

#define MAX_SEEN 32

typedef struct sent {
    int type;
    int64_t id;
    char data[64];
} sent;

typedef struct harness {
    pm_envr env;
    pm_signal_client_config cfg;
    pm_sigproto proto;
    pm_sigcl *c;
    pm_addr local;
    /* what the factory saw */
    int peers_made;
    int32_t last_peer;
    size_t last_ice_count;
    char last_ice_user[64];
    int refuse; /* the factory fails with this when non-zero */
    /* what came out */
    sent sends[MAX_SEEN];
    int nsends, closes, aborts, close_code;
    pm_signal_event events[MAX_SEEN];
    char reason[128], lobby[80];
    int nevents;
} harness;

static harness H;

static int factory(void *ud, int32_t peer_id, const pm_rtc_config *cfg, pm_rtc_peer **out)
{
    harness *h = ud;
    h->last_peer = peer_id;
    h->last_ice_count = cfg->ice_server_count;
    h->last_ice_user[0] = 0;
    for (size_t i = 0; i < cfg->ice_server_count; i++)
        if (cfg->ice_servers[i].username)
            snprintf(h->last_ice_user, sizeof h->last_ice_user, "%s", cfg->ice_servers[i].username);
    if (h->refuse)
        return h->refuse;
    pm_rtc_config c = *cfg;
    c.external_transport = true;
    c.local_addrs = &h->local;
    c.local_addr_count = 1;
    int rc = pm_rtc_peer_new(&c, out);
    h->peers_made += rc == PM_OK;
    return rc;
}

static void start(pm_signal_protocol proto, bool mesh, pm_signal_offer_rule rule)
{
    memset(&H, 0, sizeof H);
    pm_test_envr(&H.env, 77);
    assert_int_equal(pm_addr_parse(&H.local, "10.0.0.1", 5000), PM_OK);
    pm_signal_client_config_default(&H.cfg);
    H.cfg.protocol = proto;
    H.cfg.mesh = mesh;
    H.cfg.offer_rule = rule;
    H.proto = proto == PM_SIGNAL_PROTOCOL_TEXT ? PM_SIGPROTO_TEXT : PM_SIGPROTO_JSON;
}

static void create(void)
{
    pm_sigcl_peer_factory f = {.new_peer = factory, .ud = &H};
    assert_int_equal(pm_sigcl_new(&H.env, &H.cfg, &f, pm_test_clock_now, &H.c), PM_OK);
}

static void drain(void)
{
    pm_sigcl_output o;
    pm_buf scratch = {0};
    while (pm_sigcl_poll_output(H.c, &o)) {
        if (o.kind == PM_SIGCL_OUT_SEND) {
            pm_sigmsg m;
            assert_int_equal(pm_sigmsg_decode(&H.env, H.proto, o.data, o.len, &scratch, &m), PM_OK);
            assert_true(H.nsends < MAX_SEEN);
            sent *s = &H.sends[H.nsends++];
            s->type = m.type;
            s->id = m.id;
            snprintf(s->data, sizeof s->data, "%.*s", (int)PM_MIN(m.data_len, 63), m.data);
        } else if (o.kind == PM_SIGCL_OUT_CLOSE) {
            H.closes++;
            H.close_code = o.code;
        } else {
            assert_int_equal(o.kind, PM_SIGCL_OUT_ABORT);
            H.aborts++;
        }
    }
    pm_buf_free(&H.env, &scratch);
    pm_signal_event ev;
    while (pm_sigcl_next_event(H.c, &ev)) {
        assert_true(H.nevents < MAX_SEEN);
        H.events[H.nevents++] = ev;
        if (ev.type == PM_SIGNAL_EVENT_CLOSED)
            snprintf(H.reason, sizeof H.reason, "%s", ev.reason);
        if (ev.type == PM_SIGNAL_EVENT_JOINED)
            snprintf(H.lobby, sizeof H.lobby, "%s", ev.lobby);
    }
}

/* The server says: type, id, data (and for ID, the ice_servers extension). */
static void hear(int type, int64_t id, const char *data, const char *ice)
{
    pm_sigmsg m = {.type = type,
                   .id = id,
                   .data = data,
                   .data_len = data ? strlen(data) : 0,
                   .ice = ice,
                   .ice_len = ice ? strlen(ice) : 0};
    pm_buf b = {0};
    assert_int_equal(pm_sigmsg_encode(&H.env, H.proto, &m, &b), PM_OK);
    pm_sigcl_receive(H.c, pm_test_clock_now, b.data, b.len, false);
    pm_buf_free(&H.env, &b);
    drain();
}

static int count_sends(int type, int64_t id)
{
    int n = 0;
    for (int i = 0; i < H.nsends; i++)
        n += H.sends[i].type == type && H.sends[i].id == id;
    return n;
}

static void expect_event(int k, pm_signal_event_type type, int32_t peer)
{
    assert_true(k < H.nevents);
    assert_int_equal(H.events[k].type, type);
    assert_int_equal(H.events[k].peer_id, peer);
}

static pm_multiplayer *mp(void)
{
    return pm_mesh_multiplayer(pm_sigcl_mesh(H.c));
}

static void finish(void)
{
    pm_sigcl_free(H.c);
    H.c = NULL;
}

/* ---- tests ---- */

static void json_mesh_lobby(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    static const char *const stun[] = {"stun:127.0.0.1:3478"};
    static const pm_ice_server user = {.urls = stun, .url_count = 1};
    H.cfg.rtc.ice_servers = &user;
    H.cfg.rtc.ice_server_count = 1;
    create();
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_CONNECTING);
    assert_null(pm_sigcl_mesh(H.c));
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    /* JOIN "" with id 0: create a mesh lobby. */
    assert_int_equal(H.nsends, 1);
    assert_int_equal(H.sends[0].type, PM_SIGMSG_JOIN);
    assert_int_equal(H.sends[0].id, 0);
    assert_string_equal(H.sends[0].data, "");
    expect_event(0, PM_SIGNAL_EVENT_OPEN, 0);
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_OPEN);

    hear(PM_SIGMSG_ID, 4, "true",
         "[{\"urls\":\"turn:127.0.0.1:3478\",\"username\":\"u1\",\"credential\":\"p1\"}]");
    expect_event(1, PM_SIGNAL_EVENT_ICE_SERVERS, 1);
    expect_event(2, PM_SIGNAL_EVENT_ID, 4);
    assert_int_equal(pm_sigcl_id(H.c), 4);
    assert_true(pm_sigcl_is_mesh_lobby(H.c));
    assert_int_equal(pm_mp_get_unique_id(mp()), 4);
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_CONNECTED);

    /* 4.x: the higher id offers. To 1 (lower): we offer, with candidates. */
    hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL);
    expect_event(3, PM_SIGNAL_EVENT_PEER_ANNOUNCED, 1);
    assert_int_equal(H.last_peer, 1);
    assert_int_equal(H.last_ice_count, 2); /* the user's, then the server's */
    assert_string_equal(H.last_ice_user, "u1");
    assert_int_equal(count_sends(PM_SIGMSG_OFFER, 1), 1);
    assert_true(strncmp(H.sends[1].data, "v=0", 3) == 0);
    pm_sigcl_timeout(H.c, pm_test_clock_now);
    drain();
    assert_true(count_sends(PM_SIGMSG_CANDIDATE, 1) >= 1);
    /* To 9 (higher): we wait for its offer. */
    hear(PM_SIGMSG_PEER_CONNECT, 9, NULL, NULL);
    expect_event(4, PM_SIGNAL_EVENT_PEER_ANNOUNCED, 9);
    assert_int_equal(count_sends(PM_SIGMSG_OFFER, 9), 0);
    assert_int_equal(H.peers_made, 2);
    /* Announced twice: one connection. */
    hear(PM_SIGMSG_PEER_CONNECT, 9, NULL, NULL);
    assert_int_equal(H.peers_made, 2);
    assert_int_equal(H.nevents, 5);

    hear(PM_SIGMSG_JOIN, 0, "LOBBYNAME", NULL);
    expect_event(5, PM_SIGNAL_EVENT_JOINED, 0);
    assert_string_equal(H.lobby, "LOBBYNAME");
    assert_string_equal(pm_sigcl_lobby(H.c), "LOBBYNAME");
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_JOINED);

    hear(PM_SIGMSG_PEER_DISCONNECT, 9, NULL, NULL);
    expect_event(6, PM_SIGNAL_EVENT_PEER_LEFT, 9);
    assert_false(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 9));
    assert_true(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 1));

    assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE); /* not the host */
    hear(PM_SIGMSG_SEAL, 0, NULL, NULL);
    expect_event(7, PM_SIGNAL_EVENT_SEALED, 0);
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_SEALED);
    int sends = H.nsends;
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_NORMAL, "Seal complete");
    drain();
    expect_event(8, PM_SIGNAL_EVENT_CLOSED, 0);
    assert_int_equal(H.events[8].close_code, PM_SIGNAL_CLOSE_NORMAL);
    assert_string_equal(H.reason, "Seal complete");
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_CLOSED);
    /* After a seal the mesh stays, and needs no more signaling. */
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_CONNECTED);
    assert_true(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 1));
    pm_sigcl_timeout(H.c, pm_test_clock_now + PM_SEC(1));
    hear(PM_SIGMSG_PEER_CONNECT, 12, NULL, NULL);
    assert_int_equal(H.nsends, sends);
    assert_int_equal(H.nevents, 9);
    assert_int_equal(H.closes + H.aborts, 0);
    finish();
}

static void text_protocol_lower_offers(void **st)
{
    start(PM_SIGNAL_PROTOCOL_TEXT, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.lobby = "ROOM";
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    assert_int_equal(H.sends[0].type, PM_SIGMSG_JOIN);
    assert_string_equal(H.sends[0].data, "ROOM");
    hear(PM_SIGMSG_ID, 3, NULL, NULL);
    assert_true(pm_sigcl_is_mesh_lobby(H.c)); /* 3.x lobbies are meshes */
    /* Godot 3.2 initialize(3, true): a client until peer 1 connects. */
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_CONNECTING);
    /* 3.x: the lower id offers. */
    hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL);
    hear(PM_SIGMSG_PEER_CONNECT, 5, NULL, NULL);
    assert_int_equal(count_sends(PM_SIGMSG_OFFER, 1), 0);
    assert_int_equal(count_sends(PM_SIGMSG_OFFER, 5), 1);
    hear(PM_SIGMSG_JOIN, 0, "ROOM", NULL);
    assert_string_equal(pm_sigcl_lobby(H.c), "ROOM");
    finish();
}

static void offer_rule_overrides(void **st)
{
    /* JSON with Godot 3's rule, and text with Godot 4's. */
    pm_signal_protocol protos[] = {PM_SIGNAL_PROTOCOL_JSON, PM_SIGNAL_PROTOCOL_TEXT};
    pm_signal_offer_rule rules[] = {PM_SIGNAL_OFFER_LOWER, PM_SIGNAL_OFFER_HIGHER};
    for (int k = 0; k < 2; k++) {
        start(protos[k], true, rules[k]);
        create();
        pm_sigcl_open(H.c, pm_test_clock_now);
        drain();
        hear(PM_SIGMSG_ID, 4, "true", NULL);
        hear(PM_SIGMSG_PEER_CONNECT, 2, NULL, NULL);
        hear(PM_SIGMSG_PEER_CONNECT, 6, NULL, NULL);
        bool lower = rules[k] == PM_SIGNAL_OFFER_LOWER;
        assert_int_equal(count_sends(PM_SIGMSG_OFFER, 2), lower ? 0 : 1);
        assert_int_equal(count_sends(PM_SIGMSG_OFFER, 6), lower ? 1 : 0);
        finish();
    }
}

static void client_server_lobby(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, false, PM_SIGNAL_OFFER_AUTO);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    assert_int_equal(H.sends[0].id, 1); /* JOIN id 1: create a client/server lobby */
    hear(PM_SIGMSG_ID, 1, "", NULL);
    assert_false(pm_sigcl_is_mesh_lobby(H.c));
    assert_true(pm_mp_is_server(mp()));
    hear(PM_SIGMSG_JOIN, 0, "CS", NULL);
    assert_int_equal(pm_sigcl_seal(H.c), PM_OK); /* the host may */
    drain();
    assert_int_equal(count_sends(PM_SIGMSG_SEAL, 0), 1);
    finish();

    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    hear(PM_SIGMSG_ID, 7, "", NULL); /* the lobby says: client/server */
    assert_false(pm_sigcl_is_mesh_lobby(H.c));
    assert_false(pm_mp_is_server(mp()));
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_CONNECTING);
    finish();
}

static void connect_timeout(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.connect_timeout = PM_SEC(2);
    create();
    pm_time t0 = pm_test_clock_now;
    assert_int_equal(pm_sigcl_next_deadline(H.c), t0 + PM_SEC(2));
    pm_sigcl_open(H.c, t0);
    pm_sigcl_timeout(H.c, t0 + PM_SEC(2) - 1);
    drain();
    assert_int_equal(H.aborts, 0);
    pm_sigcl_timeout(H.c, t0 + PM_SEC(2));
    drain();
    assert_int_equal(H.aborts, 1);
    assert_int_equal(pm_sigcl_state(H.c), PM_SIGNAL_CLOSED);
    expect_event(1, PM_SIGNAL_EVENT_CLOSED, 0);
    assert_int_equal(H.events[1].error, PM_ERR_TIMEOUT);
    assert_string_equal(H.reason, "no peer id from the server within 2.0 s");
    assert_int_equal(pm_sigcl_next_deadline(H.c), PM_TIME_NEVER);
    /* The dropped transport's own end and late input change nothing. */
    pm_sigcl_closed(H.c, t0 + PM_SEC(3), 1006, "");
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    drain();
    assert_int_equal(H.nevents, 2);
    assert_null(pm_sigcl_mesh(H.c));
    finish();

    /* With our id in time there is no timeout; the mesh's deadline remains. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.connect_timeout = PM_SEC(2);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    assert_int_equal(pm_sigcl_next_deadline(H.c), pm_mesh_next_timeout(pm_sigcl_mesh(H.c)));
    pm_sigcl_timeout(H.c, pm_test_clock_now + PM_SEC(5));
    drain();
    assert_int_equal(H.aborts, 0);
    finish();
}

static void user_close_keeps_mesh(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE); /* not even open */
    pm_sigcl_open(H.c, pm_test_clock_now);
    hear(PM_SIGMSG_ID, 1, "true", NULL);
    assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE); /* not joined yet */
    hear(PM_SIGMSG_JOIN, 0, "L", NULL);
    hear(PM_SIGMSG_PEER_CONNECT, 3, NULL, NULL);
    pm_sigcl_close(H.c);
    pm_sigcl_close(H.c); /* once */
    drain();
    assert_int_equal(H.closes, 1);
    assert_int_equal(H.close_code, PM_SIGNAL_CLOSE_NORMAL);
    assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE);
    int events = H.nevents, sends = H.nsends;
    hear(PM_SIGMSG_PEER_CONNECT, 5, NULL, NULL); /* closing: not read */
    assert_int_equal(H.nevents, events);
    assert_false(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 5));
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_NORMAL, "");
    drain();
    assert_int_equal(H.nevents, events + 1);
    assert_int_equal(H.nsends, sends);
    /* Our user asked for the close: the mesh stays. */
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_CONNECTED);
    assert_true(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 3));
    finish();
}

static void host_gone_closes_mesh(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    hear(PM_SIGMSG_ID, 6, "true", NULL);
    hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL);
    hear(PM_SIGMSG_JOIN, 0, "L", NULL);
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_PROTOCOL, "Room host has disconnected");
    drain();
    assert_int_equal(H.events[H.nevents - 1].type, PM_SIGNAL_EVENT_CLOSED);
    assert_int_equal(H.events[H.nevents - 1].close_code, PM_SIGNAL_CLOSE_PROTOCOL);
    assert_string_equal(H.reason, "Room host has disconnected");
    assert_int_equal(H.events[H.nevents - 1].error, PM_OK); /* a close frame says why */
    /* As the demo clients: no seal, so the mesh goes with the signaling. */
    assert_int_equal(pm_mp_get_connection_status(mp()), PM_MP_DISCONNECTED);
    assert_int_equal(pm_mesh_get_peers(pm_sigcl_mesh(H.c), NULL, 0), 0);
    assert_int_equal(pm_sigcl_next_deadline(H.c), PM_TIME_NEVER);
    finish();
}

static void ignores_what_it_should(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    /* Before the transport is open nothing is read. */
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    assert_int_equal(pm_sigcl_id(H.c), 0);
    pm_sigcl_open(H.c, pm_test_clock_now);
    pm_sigcl_open(H.c, pm_test_clock_now); /* once */
    drain();
    assert_int_equal(H.nsends, 1);
    static const char junk[] = "{\"type\":";
    pm_sigcl_receive(H.c, pm_test_clock_now, (const uint8_t *)junk, sizeof junk - 1, false);
    static const char bin[] = "{\"type\":1,\"id\":2,\"data\":\"true\"}";
    pm_sigcl_receive(H.c, pm_test_clock_now, (const uint8_t *)bin, sizeof bin - 1, true);
    hear(99, 2, "x", NULL);
    hear(PM_SIGMSG_ID, 0, "true", NULL);         /* no id */
    hear(PM_SIGMSG_PEER_CONNECT, 3, NULL, NULL); /* no mesh yet */
    hear(PM_SIGMSG_OFFER, 3, "v=0", NULL);       /* nobody to give it to */
    drain();
    assert_int_equal(H.nevents, 1); /* OPEN only */
    assert_int_equal(pm_sigcl_id(H.c), 0);
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    hear(PM_SIGMSG_ID, 8, "true", NULL); /* a second id changes nothing */
    assert_int_equal(pm_sigcl_id(H.c), 2);
    hear(PM_SIGMSG_CANDIDATE, 3, "\n0\n0\ncandidate:1 1 udp 1 10.0.0.3 5000 typ host", NULL);
    hear(PM_SIGMSG_PEER_CONNECT, 3, NULL, NULL);
    hear(PM_SIGMSG_CANDIDATE, 3, "not a candidate payload", NULL);
    hear(PM_SIGMSG_ANSWER, 3, "not sdp", NULL);
    assert_true(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 3));
    assert_int_equal(H.closes + H.aborts, 0);
    assert_int_equal(H.nevents, 3); /* OPEN, ID, PEER_ANNOUNCED */
    finish();
}

static void failures_of_mesh_and_factory(void **st)
{
    /* More extra channels than a mesh takes: no mesh, close 1011. */
    static pm_mp_transfer_mode extras[PM_MESH_MAX_EXTRA_CHANNELS + 1];
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.extra_channels = extras;
    H.cfg.extra_channel_count = PM_ARRAY_LEN(extras);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    assert_null(pm_sigcl_mesh(H.c));
    assert_int_equal(pm_sigcl_id(H.c), 0);
    assert_int_equal(H.closes, 1);
    assert_int_equal(H.close_code, 1011);
    finish();

    /* A factory that refuses: that peer is left out, nothing else changes. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    hear(PM_SIGMSG_ID, 2, "true", NULL);
    H.refuse = PM_ERR_FULL;
    hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL);
    assert_false(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 1));
    H.refuse = 0;
    hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL); /* announced again: tried again */
    assert_true(pm_mesh_has_peer(pm_sigcl_mesh(H.c), 1));
    assert_int_equal(H.nevents, 3); /* OPEN, ID, PEER_ANNOUNCED once */
    assert_int_equal(H.closes + H.aborts, 0);
    finish();
}

static void bad_options(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    pm_sigcl *c = NULL;
    pm_signal_client_config bad = H.cfg;
    bad.lobby = "two\nlines";
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    bad = H.cfg;
    bad.offer_rule = (pm_signal_offer_rule)7;
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    bad = H.cfg;
    bad.extra_channel_count = 1;
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    bad = H.cfg;
    bad.connect_timeout = -1;
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    bad = H.cfg;
    bad.create_lobby = true; /* needs a name ... */
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    bad.lobby = "friday night"; /* ... one people can type */
    assert_int_equal(pm_sigcl_new(&H.env, &bad, NULL, 0, &c), PM_ERR_INVALID);
    assert_null(c);
}

/* The CLOSED event says what failed, each cause with its own code. */
static void failure_reasons(void **st)
{
    /* The transport never opened and knows nothing more (a browser): PM_ERR_IO. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.url = "ws://127.0.0.1:9";
    create();
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_ABNORMAL, "");
    drain();
    expect_event(0, PM_SIGNAL_EVENT_CLOSED, 0);
    assert_int_equal(H.events[0].error, PM_ERR_IO);
    assert_int_equal(H.events[0].close_code, PM_SIGNAL_CLOSE_ABNORMAL);
    assert_string_equal(H.reason, "could not connect to ws://127.0.0.1:9");
    finish();

    /* The shell knows: its code and sentence. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    create();
    pm_sigcl_failed(H.c, PM_ERR_REFUSED, "connection refused by 127.0.0.1:9");
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_ABNORMAL, "");
    drain();
    assert_int_equal(H.events[0].error, PM_ERR_REFUSED);
    assert_string_equal(H.reason, "connection refused by 127.0.0.1:9");
    finish();

    /* Open, then gone without a close frame. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.url = "ws://127.0.0.1:9080";
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_ABNORMAL, "");
    drain();
    assert_int_equal(H.events[1].error, PM_ERR_IO);
    assert_string_equal(H.reason, "lost the connection to ws://127.0.0.1:9080");
    finish();

    /* Never connected within the connect timeout. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.url = "ws://127.0.0.1:9080";
    H.cfg.connect_timeout = PM_MS(1500);
    create();
    pm_sigcl_timeout(H.c, pm_test_clock_now + PM_MS(1500));
    drain();
    assert_int_equal(H.events[0].error, PM_ERR_TIMEOUT);
    assert_int_equal(H.events[0].close_code, 0);
    assert_string_equal(H.reason, "no WebSocket connection to ws://127.0.0.1:9080 within 1.5 s");
    finish();
}

/* Named lobbies: CREATE instead of JOIN; a server without them is explained. */
static void named_lobby(void **st)
{
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.lobby = "friday";
    H.cfg.create_lobby = true;
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    assert_int_equal(H.nsends, 1);
    assert_int_equal(H.sends[0].type, PM_SIGMSG_CREATE);
    assert_int_equal(H.sends[0].id, 0);
    assert_string_equal(H.sends[0].data, "friday");
    hear(PM_SIGMSG_ID, 1, "true", NULL);
    hear(PM_SIGMSG_JOIN, 0, "friday", NULL);
    assert_string_equal(H.lobby, "friday");
    assert_int_equal(pm_sigcl_id(H.c), 1);
    finish();

    /* The text protocol, against a server in strict Godot-demo mode. */
    start(PM_SIGNAL_PROTOCOL_TEXT, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.lobby = "friday";
    H.cfg.create_lobby = true;
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    drain();
    assert_int_equal(H.sends[0].type, PM_SIGMSG_CREATE);
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_PROTOCOL,
                    "Invalid message when not in a lobby");
    drain();
    assert_int_equal(H.events[H.nevents - 1].error, PM_ERR_UNSUPPORTED);
    assert_non_null(strstr(H.reason, "does not offer named lobbies"));
    finish();

    /* A taken name is the server's word, a close frame: no error of ours. */
    start(PM_SIGNAL_PROTOCOL_JSON, true, PM_SIGNAL_OFFER_AUTO);
    H.cfg.lobby = "friday";
    H.cfg.create_lobby = true;
    create();
    pm_sigcl_open(H.c, pm_test_clock_now);
    pm_sigcl_closed(H.c, pm_test_clock_now, PM_SIGNAL_CLOSE_PROTOCOL, "Lobby already exists");
    drain();
    assert_int_equal(H.events[H.nevents - 1].error, PM_OK);
    assert_string_equal(H.reason, "Lobby already exists");
    finish();
}

/* Host migration: HOST moves the host role (who may seal) and the mesh's
 * (pm_mesh_set_host), in both protocols; a duplicate is nothing. */
static void host_changed(void **st)
{
    for (int proto = 0; proto < 2; proto++) {
        start(proto ? PM_SIGNAL_PROTOCOL_TEXT : PM_SIGNAL_PROTOCOL_JSON, true,
              PM_SIGNAL_OFFER_AUTO);
        H.cfg.lobby = "ROOM";
        create();
        pm_sigcl_open(H.c, pm_test_clock_now);
        hear(PM_SIGMSG_ID, 7, proto ? NULL : "true", NULL);
        hear(PM_SIGMSG_PEER_CONNECT, 1, NULL, NULL);
        hear(PM_SIGMSG_PEER_CONNECT, 3, NULL, NULL);
        hear(PM_SIGMSG_JOIN, 0, "ROOM", NULL);
        assert_int_equal(pm_sigcl_host(H.c), 1);
        assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE);
        /* The host leaves; 3 takes over. */
        H.nevents = 0;
        hear(PM_SIGMSG_PEER_DISCONNECT, 1, NULL, NULL);
        hear(PM_SIGMSG_HOST, 3, NULL, NULL);
        hear(PM_SIGMSG_HOST, 3, NULL, NULL);
        assert_int_equal(H.nevents, 2);
        expect_event(0, PM_SIGNAL_EVENT_PEER_LEFT, 1);
        expect_event(1, PM_SIGNAL_EVENT_HOST_CHANGED, 3);
        assert_int_equal(pm_sigcl_host(H.c), 3);
        assert_int_equal(pm_mesh_get_host(pm_sigcl_mesh(H.c)), 3);
        assert_int_equal(pm_sigcl_seal(H.c), PM_ERR_STATE);
        /* Then us: we may seal. */
        hear(PM_SIGMSG_PEER_DISCONNECT, 3, NULL, NULL);
        hear(PM_SIGMSG_HOST, 7, NULL, NULL);
        assert_int_equal(pm_sigcl_host(H.c), 7);
        assert_int_equal(pm_mesh_get_host(pm_sigcl_mesh(H.c)), 7);
        H.nsends = 0;
        assert_int_equal(pm_sigcl_seal(H.c), PM_OK);
        drain();
        assert_int_equal(count_sends(PM_SIGMSG_SEAL, 0), 1);
        finish();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_mesh_lobby),
        cmocka_unit_test(text_protocol_lower_offers),
        cmocka_unit_test(offer_rule_overrides),
        cmocka_unit_test(client_server_lobby),
        cmocka_unit_test(connect_timeout),
        cmocka_unit_test(user_close_keeps_mesh),
        cmocka_unit_test(host_gone_closes_mesh),
        cmocka_unit_test(ignores_what_it_should),
        cmocka_unit_test(failures_of_mesh_and_factory),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(failure_reasons),
        cmocka_unit_test(named_lobby),
        cmocka_unit_test(host_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
