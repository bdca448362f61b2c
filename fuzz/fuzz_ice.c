/*
 * libFuzzer target: the ICE agent. An agent with remote credentials and a
 * remote candidate is fed a sequence of operations decoded from the input:
 * raw datagrams, datagrams signed with the right keys (so authenticated
 * paths are reachable), well-formed checks and responses with fuzzed
 * fields, and timer advances. Invariants are checked after every step.
 */
#include "fuzz_util.h"
#include "ice/ice.h"
#include "wire/stun.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static pm_time fuzz_clock;
static pm_time fuzz_now(void *ud)
{
    (void)ud;
    return fuzz_clock;
}

static uint64_t rd64r(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | rd8(r);
    return v;
}

static const char *RPWD = "0123456789abcdefghijklmn";
static const char *RUFRAG = "rem0";
static pm_addr addrs[4];
static uint8_t last_tid[PM_STUN_TID_LEN];
static bool have_tid;

static void drain(pm_ice_agent *ag)
{
    pm_ice_transmit tx;
    for (int guard = 0; guard < 10000 && pm_ice_poll_transmit(ag, &tx); guard++) {
        const uint8_t *d = tx.data;
        size_t len = tx.len;
        check(tx.kind == PM_ICE_TX_DATAGRAM && tx.stream == PM_ICE_STREAM_UDP);
        check(pm_stun_is_stun(d, len));
        pm_stun_msg m;
        check(pm_stun_parse(&m, d, len) == PM_OK);
        if (m.cls == PM_STUN_REQUEST) {
            memcpy(last_tid, m.tid, sizeof last_tid);
            have_tid = true;
        }
    }
    pm_ice_event ev;
    for (int guard = 0; guard < 10000 && pm_ice_poll_event(ag, &ev); guard++)
        if (ev.type == PM_ICE_EV_LOCAL_CANDIDATE)
            check(ev.candidate && strncmp(ev.candidate, "candidate:", 10) == 0);
}

/* Raw attribute bytes from the input, then integrity + fingerprint. */
static size_t signed_msg(reader *r, pm_ice_agent *ag, uint8_t *buf, size_t cap)
{
    uint16_t type = rd16(r) & 0x3FFF;
    size_t alen = rd8(r) * 4u;
    if (alen > r->n)
        alen = r->n & ~(size_t)3;
    if (PM_STUN_HEADER_LEN + alen + 64 > cap)
        return 0;
    pm_wr16(buf, type);
    pm_wr32(buf + 4, PM_STUN_MAGIC);
    if (have_tid && (type & 0x0100))
        memcpy(buf + 8, last_tid, PM_STUN_TID_LEN);
    else
        memset(buf + 8, 0x5a, PM_STUN_TID_LEN);
    memcpy(buf + PM_STUN_HEADER_LEN, r->p, alen);
    r->p += alen;
    r->n -= alen;
    pm_stun_builder b = {buf, cap, PM_STUN_HEADER_LEN + alen, PM_OK};
    pm_wr16(buf + 2, (uint16_t)alen);
    const char *key = (type & 0x0100) ? RPWD : pm_ice_local_pwd(ag);
    int n = pm_stun_finish(&b, (const uint8_t *)key, strlen(key), true);
    return n > 0 ? (size_t)n : 0;
}

/* A well-formed check (request) with fuzzed fields. */
static size_t good_request(reader *r, pm_ice_agent *ag, uint8_t *buf, size_t cap)
{
    uint8_t flags = rd8(r);
    uint8_t tid[PM_STUN_TID_LEN];
    memset(tid, rd8(r), sizeof tid);
    char user[64];
    snprintf(user, sizeof user, "%s:%s", pm_ice_local_ufrag(ag), (flags & 1) ? "other" : RUFRAG);
    pm_stun_builder b;
    pm_stun_begin(&b, buf, cap, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), tid);
    pm_stun_add_str(&b, PM_STUN_ATTR_USERNAME, user);
    if (!(flags & 2))
        pm_stun_add_u32(&b, PM_STUN_ATTR_PRIORITY, (uint32_t)rd64r(r));
    if (flags & 4)
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLING, rd64r(r));
    if (flags & 8)
        pm_stun_add_u64(&b, PM_STUN_ATTR_ICE_CONTROLLED, rd64r(r));
    if (flags & 16)
        pm_stun_add_flag(&b, PM_STUN_ATTR_USE_CANDIDATE);
    if (flags & 32)
        pm_stun_add_u32(&b, rd16(r), 0);
    const char *key = (flags & 64) ? "bad" : pm_ice_local_pwd(ag);
    int n = pm_stun_finish(&b, (const uint8_t *)key, strlen(key), !(flags & 128));
    return n > 0 ? (size_t)n : 0;
}

/* A well-formed response to the last request the agent sent. */
static size_t good_response(reader *r, uint8_t *buf, size_t cap)
{
    if (!have_tid)
        return 0;
    uint8_t flags = rd8(r);
    pm_stun_builder b;
    uint16_t cls = (flags & 1) ? PM_STUN_ERROR : PM_STUN_SUCCESS;
    pm_stun_begin(&b, buf, cap, pm_stun_type(PM_STUN_BINDING, cls), last_tid);
    if (flags & 1)
        pm_stun_add_error(&b, (flags & 2) ? 487 : (uint16_t)(300 + rd16(r) % 400), NULL);
    else
        pm_stun_add_xaddr(&b, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &addrs[flags >> 6]);
    if (flags & 4)
        pm_stun_add_u32(&b, 0x0033, 0);
    const char *key = (flags & 8) ? "bad" : RPWD;
    int n = pm_stun_finish(&b, (flags & 16) ? NULL : (const uint8_t *)key, strlen(key), true);
    return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rng_state = 0x9E3779B97F4A7C15ull;
    fuzz_clock = PM_SEC(1);
    have_tid = false;
    pm_addr_parse(&addrs[0], "10.0.0.2", 2000); /* the signalled remote */
    pm_addr_parse(&addrs[1], "10.0.0.3", 3000);
    pm_addr_parse(&addrs[2], "2001:db8::2", 2000);
    pm_addr_parse(&addrs[3], "192.0.2.1", 3478); /* the STUN server */
    pm_env e;
    memset(&e, 0, sizeof e);
    e.random = fuzz_random;
    e.now = fuzz_now;
    e.log = fuzz_log;
    pm_envr env;
    pm_env_resolve(&env, &e);
    reader r = {data, size};
    pm_addr hosts[2];
    pm_addr_parse(&hosts[0], "10.0.0.1", 1000);
    pm_addr_parse(&hosts[1], "2001:db8::1", 1000);
    pm_ice_config cfg;
    memset(&cfg, 0, sizeof cfg);
    uint8_t setup = rd8(&r);
    cfg.controlling = setup & 1;
    cfg.host_addrs = hosts;
    cfg.host_addr_count = 2;
    cfg.stun_servers = &addrs[3];
    cfg.stun_server_count = (setup & 2) ? 1 : 0;
    pm_ice_agent *ag;
    if (pm_ice_agent_new(&env, &cfg, &ag) != PM_OK)
        return 0;
    pm_ice_gather(ag, fuzz_clock);
    if (!(setup & 4))
        check(pm_ice_set_remote_credentials(ag, RUFRAG, RPWD, setup & 8) == PM_OK);
    pm_ice_add_remote_candidate(ag, "candidate:1 1 udp 2130706431 10.0.0.2 2000 typ host",
                                fuzz_clock);
    if (setup & 16)
        pm_ice_remote_gathering_done(ag);
    drain(ag);

    uint8_t buf[2048];
    for (int steps = 0; steps < 256 && r.n; steps++) {
        uint8_t op = rd8(&r);
        const pm_addr *from = &addrs[(op >> 4) & 3];
        size_t len = 0;
        switch (op & 7) {
        case 0: { /* raw datagram */
            size_t want = (size_t)rd16(&r) % 600;
            len = PM_MIN(r.n, want);
            memcpy(buf, r.p, len);
            r.p += len;
            r.n -= len;
            break;
        }
        case 1:
            len = signed_msg(&r, ag, buf, sizeof buf);
            break;
        case 2:
            len = good_request(&r, ag, buf, sizeof buf);
            break;
        case 3:
            len = good_response(&r, buf, sizeof buf);
            break;
        case 4: { /* jump to the next deadline, or a little */
            pm_time t = pm_ice_next_timeout(ag);
            if (t != PM_TIME_NEVER && t > fuzz_clock)
                fuzz_clock = t;
            else
                fuzz_clock += PM_MS(rd8(&r));
            check(pm_ice_handle_timeout(ag, fuzz_clock) <= 0);
            break;
        }
        case 5:
            fuzz_clock += (pm_time)rd16(&r) * 1000;
            pm_ice_handle_timeout(ag, fuzz_clock);
            break;
        case 6:
            if (setup & 4)
                pm_ice_set_remote_credentials(ag, RUFRAG, RPWD, false);
            pm_ice_set_controlling(ag, op & 0x80);
            break;
        default:
            pm_ice_add_remote_candidate(ag,
                                        (op & 0x80) ? "1 1 udp 99 10.0.0.3 3000 typ srflx"
                                                    : "2 1 udp 98 2001:db8::2 2000 typ host",
                                        fuzz_clock);
            break;
        }
        if (len)
            check(pm_ice_handle_stun(ag, fuzz_clock, from, buf, len) <= 0);
        drain(ag);
        /* Invariants. */
        pm_time t = pm_ice_next_timeout(ag);
        pm_ice_state s = pm_ice_get_state(ag);
        check(s <= PM_ICE_CLOSED);
        if (s == PM_ICE_FAILED || s == PM_ICE_CLOSED)
            check(t == PM_TIME_NEVER);
        pm_addr sel;
        if (pm_ice_selected_remote(ag, &sel))
            check(pm_ice_is_valid_remote(ag, &sel));
        check(pm_ice_rtt(ag) >= -1);
    }
    /* Run the timers dry for a while: must settle, never spin. */
    int same = 0;
    for (int i = 0; i < 2000; i++) {
        pm_time t = pm_ice_next_timeout(ag);
        if (t == PM_TIME_NEVER)
            break;
        check(t < fuzz_clock + PM_SEC(120));
        same = t <= fuzz_clock ? same + 1 : 0;
        check(same < 100);
        fuzz_clock = PM_MAX(fuzz_clock, t);
        pm_ice_handle_timeout(ag, fuzz_clock);
        drain(ag);
    }
    pm_ice_close(ag);
    drain(ag);
    pm_ice_agent_free(ag);
    return 0;
}
