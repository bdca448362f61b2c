/*
 * libFuzzer target: the TURN client of the ICE agent (src/ice/turn.c). An
 * agent with a UDP and a TCP TURN server is fed what the servers "say",
 * decoded from the input: answers to its latest requests (right transaction
 * id; class, method, error code and attributes fuzzed; signed with the right
 * long-term key or not), Data indications and ChannelData from fuzzed peers,
 * raw garbage, the same over the TCP stream cut at fuzzed places, timer
 * jumps, restarts, a lost stream and close. Invariants are checked on every
 * output.
 */
#include "fuzz_util.h"
#include "ice/ice.h"
#include "wire/stun.h"
#include "wire/turn.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

#define REALM "fuzz.test"
#define USER  "user"
#define PASS  "pass"

static pm_addr udp_server, tcp_server, peers[3];
static uint8_t last_tid[2][PM_STUN_TID_LEN]; /* per server: the latest request */
static uint16_t last_method[2];
static uint16_t last_channel[2];

static void note_request(int k, const uint8_t *d, size_t n)
{
    pm_stun_msg m;
    if (pm_stun_parse(&m, d, n) != PM_OK || m.cls != PM_STUN_REQUEST)
        return;
    memcpy(last_tid[k], m.tid, PM_STUN_TID_LEN);
    last_method[k] = m.method;
    if (m.has_channel)
        last_channel[k] = m.channel;
}

static void drain(pm_ice_agent *ag)
{
    pm_ice_transmit t;
    for (int guard = 0; guard < 10000 && pm_ice_poll_transmit(ag, &t); guard++) {
        switch (t.kind) {
        case PM_ICE_TX_DATAGRAM:
            check(t.stream == PM_ICE_STREAM_UDP || t.stream == PM_ICE_STREAM_MDNS);
            check(t.len > 0);
            if (t.stream == PM_ICE_STREAM_UDP)
                check(pm_stun_is_stun(t.data, t.len) || pm_turn_is_channel_data(t.data, t.len));
            if (pm_addr_equal(&t.to, &udp_server))
                note_request(0, t.data, t.len);
            break;
        case PM_ICE_TX_STREAM_DATA: {
            check(t.stream == 2);
            size_t off = 0, fl;
            /* Whatever goes on the stream is whole TURN frames. */
            while (off < t.len) {
                check(pm_turn_stream_frame_len(t.data + off, t.len - off, &fl) == PM_OK);
                check(fl <= t.len - off);
                note_request(1, t.data + off, fl);
                off += fl;
            }
            break;
        }
        case PM_ICE_TX_STREAM_OPEN:
        case PM_ICE_TX_STREAM_CLOSE:
            check(t.stream == 2);
            break;
        }
    }
    pm_ice_event ev;
    for (int guard = 0; guard < 10000 && pm_ice_poll_event(ag, &ev); guard++) {
        if (ev.type == PM_ICE_EV_SERVER_ERROR)
            check(ev.text && ev.url && ev.server >= 0 && ev.server < 2);
        if (ev.type == PM_ICE_EV_LOCAL_CANDIDATE)
            check(ev.candidate != NULL);
    }
    pm_ice_app app;
    for (int guard = 0; guard < 10000 && pm_ice_poll_app(ag, &app); guard++)
        check(app.via >= 1 && app.via <= 2);
}

/* A server message answering (or not) the latest request of server k. */
static size_t server_msg(reader *r, int k, uint8_t *buf, size_t cap)
{
    uint8_t flags = rd8(r);
    uint16_t method = (flags & 1) ? last_method[k] : (uint16_t)(rd8(r) & 0x0F);
    uint16_t cls = (flags & 2) ? PM_STUN_ERROR : (flags & 4) ? PM_STUN_INDICATION : PM_STUN_SUCCESS;
    uint8_t tid[PM_STUN_TID_LEN];
    memcpy(tid, last_tid[k], sizeof tid);
    if (flags & 8)
        tid[0] ^= rd8(r);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, cap, pm_stun_type(method, cls), tid);
    if (cls == PM_STUN_ERROR) {
        static const uint16_t codes[] = {401, 438, 437, 403, 486, 508, 300, 400, 442, 500};
        pm_stun_add_error(&b, codes[rd8(r) % PM_ARRAY_LEN(codes)], NULL);
    }
    if (flags & 16) {
        pm_stun_add_str(&b, PM_STUN_ATTR_REALM, REALM);
        pm_stun_add_str(&b, PM_STUN_ATTR_NONCE, (flags & 32) ? "n1" : "n2");
    }
    pm_addr relayed;
    pm_addr_parse(&relayed, "198.51.100.9", (uint16_t)(50000 + (rd8(r) & 7)));
    if (flags & 64) {
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &peers[rd8(r) % 3]);
        pm_stun_add_u32(&b, PM_STUN_ATTR_LIFETIME, rd16(r));
    }
    if (cls == PM_STUN_INDICATION) {
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_PEER_ADDRESS, &peers[rd8(r) % 3]);
        size_t want = rd8(r);
        size_t dl = PM_MIN(want, r->n);
        pm_stun_add(&b, PM_STUN_ATTR_DATA, r->p, dl);
        r->p += dl;
        r->n -= dl;
    }
    uint8_t key[16];
    pm_stun_long_term_key(USER, REALM, (flags & 128) ? "wrong" : PASS, key);
    int n = pm_stun_finish(&b, (cls == PM_STUN_SUCCESS) ? key : NULL, sizeof key, true);
    return n > 0 ? (size_t)n : 0;
}

static size_t channel_data(reader *r, int k, uint8_t *buf, size_t cap)
{
    uint16_t ch = (rd8(r) & 1) ? last_channel[k] : rd16(r);
    size_t want = rd8(r);
    size_t dl = PM_MIN(PM_MIN(want, r->n), cap - 8);
    pm_turn_channel_header(buf, ch, dl);
    memcpy(buf + 4, r->p, dl);
    r->p += dl;
    r->n -= dl;
    size_t pad = pm_turn_pad(dl);
    memset(buf + 4 + dl, 0, pad);
    return 4 + dl + pad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rng_state = 0x9E3779B97F4A7C15ull;
    pm_time now = PM_SEC(1);
    memset(last_tid, 0, sizeof last_tid);
    memset(last_method, 0, sizeof last_method);
    memset(last_channel, 0, sizeof last_channel);
    pm_addr_parse(&udp_server, "192.0.2.10", 3478);
    pm_addr_parse(&tcp_server, "192.0.2.11", 3478);
    pm_addr_parse(&peers[0], "10.0.0.2", 2000); /* the signalled remote */
    pm_addr_parse(&peers[1], "203.0.113.7", 4000);
    pm_addr_parse(&peers[2], "2001:db8::9", 5000);
    pm_env e;
    memset(&e, 0, sizeof e);
    e.random = fuzz_random;
    e.log = fuzz_log;
    pm_envr env;
    pm_env_resolve(&env, &e);
    reader r = {data, size};
    pm_addr host;
    pm_addr_parse(&host, "10.0.0.1", 1000);
    pm_ice_turn_server ts[2] = {
        {.addr = udp_server, .transport = PM_ICE_TURN_UDP, .username = USER, .password = PASS},
        {.addr = tcp_server, .transport = PM_ICE_TURN_TCP, .username = USER, .password = PASS}};
    uint8_t setup = rd8(&r);
    pm_ice_config cfg = {.controlling = setup & 1,
                         .host_addrs = &host,
                         .host_addr_count = 1,
                         .turn_servers = ts,
                         .turn_server_count = 2,
                         .relay_only = setup & 2,
                         .resolve_mdns = true};
    pm_ice_agent *ag;
    if (pm_ice_agent_new(&env, &cfg, &ag) != PM_OK)
        return 0;
    pm_ice_gather(ag, now);
    pm_ice_set_remote_credentials(ag, "rem0", "0123456789abcdefghijklmn", false);
    pm_ice_add_remote_candidate(ag, "candidate:1 1 udp 2130706431 10.0.0.2 2000 typ host", now);
    drain(ag);

    uint8_t buf[2048];
    for (int steps = 0; steps < 256 && r.n; steps++) {
        uint8_t op = rd8(&r);
        int k = (op >> 7) & 1; /* 0: the UDP server, 1: the TCP server */
        size_t len = 0;
        switch (op & 7) {
        case 0:
        case 1:
            len = server_msg(&r, k, buf, sizeof buf);
            break;
        case 2:
            len = channel_data(&r, k, buf, sizeof buf);
            break;
        case 3: { /* raw bytes */
            size_t want = rd8(&r);
            len = PM_MIN(r.n, want);
            memcpy(buf, r.p, len);
            r.p += len;
            r.n -= len;
            break;
        }
        case 4: {
            pm_time t = pm_ice_next_timeout(ag);
            check(t == PM_TIME_NEVER || t >= now);
            now = (t != PM_TIME_NEVER && t > now) ? t : now + PM_MS(rd16(&r));
            pm_ice_handle_timeout(ag, now);
            break;
        }
        case 5:
            if (op & 8)
                pm_ice_restart(ag, now);
            else if (op & 16)
                pm_ice_stream_closed(ag, now, 2, "fuzz");
            else
                pm_ice_add_remote_candidate(ag, "2 1 udp 99 abcd.local 7 typ host", now);
            break;
        case 6: {
            uint8_t a[64];
            size_t want = rd8(&r) % sizeof a;
            size_t al = PM_MIN(r.n, want);
            memcpy(a, r.p, al);
            r.p += al;
            r.n -= al;
            pm_ice_handle_mdns(ag, now, a, al);
            break;
        }
        default:
            if (op & 8) {
                pm_ice_close(ag);
                drain(ag);
                pm_ice_agent_free(ag);
                return 0;
            }
            break;
        }
        if (len) {
            if (k == 0) {
                pm_ice_app app;
                if (pm_ice_handle_datagram(ag, now, &udp_server, buf, len, &app) == PM_OK &&
                    app.len)
                    check(app.via == 1 && app.data >= buf && app.data + app.len <= buf + len);
            } else {
                size_t cut = len ? rd8(&r) % (len + 1) : 0;
                pm_ice_handle_stream(ag, now, 2, buf, cut);
                pm_ice_handle_stream(ag, now, 2, buf + cut, len - cut);
            }
        }
        drain(ag);
    }
    pm_ice_close(ag);
    drain(ag);
    pm_ice_agent_free(ag);
    return 0;
}
