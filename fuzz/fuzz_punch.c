/*
 * libFuzzer target: UDP hole punching for one link (src/signaling/punch.c).
 * A puncher with a STUN server is fed, as the input decides, candidate
 * lines (fuzzed text, or well-formed ones with fuzzed fields), datagrams
 * (raw bytes, punch packets carrying its own nonce or not, STUN answers to
 * its own transaction with fuzzed attributes) and timer jumps. Outputs are
 * drained and checked: every datagram is a punch packet or a STUN request,
 * every line parses back, the state only moves forward, a failure has a
 * reason, and a reachable link has an address.
 */
#include "fuzz_util.h"
#include "signaling/punch.h"
#include "wire/stun.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_punch: check failed at line %d\n", line);
        abort();
    }
}
#define check(ok) check_at((ok), __LINE__)

static pm_time fuzz_now(void *ud)
{
    (void)ud;
    return 0;
}

/* What the last STUN request and punch packets said: to answer them. */
typedef struct seen {
    uint8_t tid[PM_STUN_TID_LEN];
    bool have_tid;
    uint64_t nonce;
    bool have_nonce;
} seen;

static void drain(pm_punch *p, seen *s)
{
    pm_addr to;
    uint8_t buf[128];
    size_t len;
    while (pm_punch_poll_datagram(p, &to, buf, sizeof buf, &len)) {
        check(pm_punch_is_ours(buf, len));
        check(to.family == 4 && to.port != 0);
        if (len == PM_PUNCH_PACKET_LEN) {
            s->nonce = pm_rd64(buf + 17);
            s->have_nonce = true;
        } else {
            pm_stun_msg m;
            check(pm_stun_parse(&m, buf, len) == PM_OK);
            check(m.method == PM_STUN_BINDING && m.cls == PM_STUN_REQUEST);
            memcpy(s->tid, m.tid, sizeof s->tid);
            s->have_tid = true;
        }
    }
    char line[PM_PUNCH_LINE_MAX];
    while (pm_punch_poll_line(p, line, sizeof line)) {
        char tag[16], nonce[24], type[8], ip[64];
        unsigned port;
        check(sscanf(line, "%15s %23s %7s %63s %u", tag, nonce, type, ip, &port) == 5);
        check(strcmp(tag, "pmpunch1") == 0 && port > 0 && port < 65536);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rng_state = 0x9e3779b97f4a7c15ull;
    pm_env e = {0};
    e.now = fuzz_now;
    e.random = fuzz_random;
    e.log = fuzz_log;
    e.log_level = PM_LOG_TRACE; /* format every log line too */
    e.log_level_set = true;
    pm_envr env;
    pm_env_resolve(&env, &e);

    pm_addr stun, hosts[2], peer;
    pm_addr_parse(&stun, "203.0.113.1", 3478);
    pm_addr_parse(&hosts[0], "10.0.0.2", 4000);
    pm_addr_parse(&hosts[1], "2001:db8::2", 4000); /* skipped: ENet is IPv4 */
    pm_addr_parse(&peer, "198.51.100.7", 5000);
    pm_punch_config cfg = {.peer_id = 9,
                           .stun = &stun,
                           .stun_name = "stun:203.0.113.1",
                           .hosts = hosts,
                           .host_count = 2,
                           .timeout = PM_SEC(2),
                           .interval = PM_MS(50),
                           .stun_timeout = PM_SEC(1)};
    pm_time now = PM_SEC(1000);
    pm_punch *p = pm_punch_new(&env, &cfg, now);
    if (!p)
        return 0;
    seen s = {0};
    reader r = {data, size};
    pm_punch_state last = pm_punch_get_state(p);
    while (r.n) {
        uint8_t op = rd8(&r);
        const uint8_t *d;
        size_t n;
        switch (op % 7) {
        case 0: { /* a fuzzed line */
            n = take(&r, rd8(&r) % 120, &d);
            char line[128];
            memcpy(line, d, n);
            line[n] = 0;
            (void)pm_punch_remote_line(p, now, line);
            break;
        }
        case 1: { /* a well-formed line with fuzzed fields */
            char line[128];
            snprintf(line, sizeof line, "pmpunch1 %x %s 198.51.100.%u %u", rd8(&r) % 3,
                     rd8(&r) & 1 ? "srflx" : "host", rd8(&r), 1 + rd8(&r) * 256u);
            (void)pm_punch_remote_line(p, now, line);
            break;
        }
        case 2: /* raw bytes from somewhere */
            n = take(&r, rd8(&r), &d);
            if (pm_punch_is_ours(d, n))
                pm_punch_datagram(p, now, rd8(&r) & 1 ? &stun : &peer, d, n);
            break;
        case 3: { /* a punch packet with our nonce, or nearly */
            uint8_t b[PM_PUNCH_PACKET_LEN];
            memcpy(b, "PMPUNCH1", 8);
            b[8] = rd8(&r) % 3;
            pm_wr64(b + 9, s.have_nonce && rd8(&r) % 4 ? s.nonce : rd8(&r));
            pm_wr64(b + 17, rd8(&r) % 3);
            peer.port = (uint16_t)(5000 + rd8(&r) % 4);
            pm_punch_datagram(p, now, &peer, b, sizeof b);
            break;
        }
        case 4: { /* a STUN answer to our request */
            uint8_t b[128];
            pm_stun_builder sb;
            uint8_t tid[PM_STUN_TID_LEN] = {0};
            if (s.have_tid && rd8(&r) % 4)
                memcpy(tid, s.tid, sizeof tid);
            uint16_t cls = rd8(&r) & 1 ? PM_STUN_SUCCESS : PM_STUN_ERROR;
            pm_stun_begin(&sb, b, sizeof b, pm_stun_type(PM_STUN_BINDING, cls), tid);
            uint8_t what = rd8(&r);
            pm_addr mapped;
            if (what & 1)
                pm_addr_parse(&mapped, what & 2 ? "2001:db8::9" : "192.0.2.9", rd8(&r));
            else
                mapped = hosts[0];
            if (what & 4)
                pm_stun_add_xaddr(&sb, PM_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
            if (cls == PM_STUN_ERROR)
                pm_stun_add_error(&sb, 400 + rd8(&r), NULL);
            int len = pm_stun_finish(&sb, NULL, 0, what & 8);
            if (len > 0)
                pm_punch_datagram(p, now, &stun, b, (size_t)len);
            break;
        }
        case 5: /* time passes */
            now += (pm_time)rd8(&r) * PM_MS(20);
            pm_punch_timeout(p, now);
            break;
        default: { /* to the deadline */
            pm_time t = pm_punch_next_timeout(p);
            if (t != PM_TIME_NEVER) {
                check(t >= now - PM_SEC(60));
                now = t > now ? t : now;
                pm_punch_timeout(p, now);
            }
            break;
        }
        }
        drain(p, &s);
        pm_punch_state st = pm_punch_get_state(p);
        check(st >= last || (last == PM_PUNCH_REACHABLE && st == PM_PUNCH_FAILED));
        last = st;
        if (st == PM_PUNCH_FAILED)
            check(pm_punch_reason(p)[0] != 0 && pm_punch_next_timeout(p) == PM_TIME_NEVER);
        if (st == PM_PUNCH_REACHABLE)
            check(pm_punch_peer_addr(p) != NULL);
        if (pm_punch_public_addr(p))
            check(pm_punch_public_addr(p)->family == 4);
    }
    pm_punch_free(p);
    return 0;
}
