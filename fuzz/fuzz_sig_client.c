/*
 * libFuzzer target for the signaling client's core (src/signaling/
 * sig_client.c): the input is what a server says, in either protocol, to a
 * client that builds its mesh from it with sans-I/O peers.
 *
 * Input: a flags byte (bit 0: 3.x text protocol; bit 1: ask for a
 * client/server lobby; bits 2-3: offer rule), then records "<len><bytes>":
 * a message of len bytes, or for len 0xFF: time passes (next byte * 50 ms);
 * 0xFE: the transport closes (next two bytes: the code); 0xFD: our user
 * seals (next byte even) or closes (odd).
 *
 * Properties: nothing crashes or leaks; every SEND is a message the server
 * can decode in our protocol; after our CLOSE only an ABORT may follow (a
 * close that outlasts the connect timeout); nothing after an ABORT or once
 * the transport is gone (input is still fed then, and must be ignored);
 * CLOSED is reported once at most, and only in state CLOSED.
 */
#include "signaling/sig_client.h"
#include "wire/signal_msg.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PEERS 16

static pm_time fake_now;
static int peers_made;

static pm_time fuzz_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static int fixed_random(void *ud, uint8_t *buf, size_t len)
{
    uint64_t *s = ud;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(*s >> 56);
    }
    return PM_OK;
}

static pm_addr local_addr;

static int new_peer(void *ud, int32_t peer_id, const pm_rtc_config *cfg, pm_rtc_peer **out)
{
    (void)ud;
    (void)peer_id;
    if (peers_made >= MAX_PEERS)
        return PM_ERR_FULL; /* the core must cope with a factory that refuses */
    pm_rtc_config c = *cfg;
    c.external_transport = true;
    c.local_addrs = &local_addr;
    c.local_addr_count = 1;
    int rc = pm_rtc_peer_new(&c, out);
    peers_made += rc == PM_OK;
    return rc;
}

/* Datagrams go nowhere; drained so that no queue grows. */
static void drain_peers(pm_sigcl *c)
{
    pm_mesh *mesh = pm_sigcl_mesh(c);
    if (!mesh)
        return;
    int32_t ids[MAX_PEERS + 1];
    size_t n = pm_mesh_get_peers(mesh, ids, MAX_PEERS + 1);
    for (size_t i = 0; i < n && i <= MAX_PEERS; i++) {
        pm_mesh_peer_info info;
        pm_rtc_transmit t;
        if (pm_mesh_get_peer(mesh, ids[i], &info) == PM_OK && info.connection)
            while (pm_rtc_peer_poll_transmit(info.connection, &t))
                ;
    }
}

typedef struct watch {
    pm_sigproto proto;
    bool closing; /* we sent CLOSE: only an ABORT (the connect timeout) may follow */
    bool silent;  /* no output may come any more */
    int closed_events;
} watch;

static void check_outputs(const pm_envr *env, pm_sigcl *c, watch *w)
{
    pm_sigcl_output o;
    pm_buf scratch = {0};
    while (pm_sigcl_poll_output(c, &o)) {
        if (w->silent || (w->closing && o.kind != PM_SIGCL_OUT_ABORT))
            abort();
        pm_sigmsg m;
        if (o.kind == PM_SIGCL_OUT_SEND) {
            if (pm_sigmsg_decode(env, w->proto, o.data, o.len, &scratch, &m) != PM_OK)
                abort();
        } else if (o.kind == PM_SIGCL_OUT_CLOSE) {
            w->closing = true;
        } else if (o.kind == PM_SIGCL_OUT_ABORT) {
            w->silent = true;
        } else {
            abort();
        }
    }
    pm_buf_free(env, &scratch);
    pm_signal_event ev;
    while (pm_sigcl_next_event(c, &ev)) {
        if (ev.type < PM_SIGNAL_EVENT_OPEN || ev.type > PM_SIGNAL_EVENT_HOST_CHANGED)
            abort();
        if (ev.type == PM_SIGNAL_EVENT_CLOSED &&
            (++w->closed_events > 1 || pm_sigcl_state(c) != PM_SIGNAL_CLOSED))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static uint64_t seed;
    seed = 1;
    fake_now = PM_SEC(10);
    peers_made = 0;
    pm_addr_parse(&local_addr, "10.0.0.1", 5000);
    pm_env e = {.now = fuzz_clock, .random = fixed_random, .random_ud = &seed};
    e.log_level = PM_LOG_ERROR;
    e.log_level_set = true;
    pm_envr env;
    pm_env_resolve(&env, &e);

    pm_signal_client_config cfg;
    pm_signal_client_config_default(&cfg);
    cfg.protocol = data[0] & 1 ? PM_SIGNAL_PROTOCOL_TEXT : PM_SIGNAL_PROTOCOL_JSON;
    cfg.mesh = !(data[0] & 2);
    cfg.offer_rule = (pm_signal_offer_rule)((data[0] >> 2) % 3);
    pm_sigproto proto = data[0] & 1 ? PM_SIGPROTO_TEXT : PM_SIGPROTO_JSON;
    pm_sigcl_peer_factory factory = {.new_peer = new_peer};
    pm_sigcl *c;
    if (pm_sigcl_new(&env, &cfg, &factory, fake_now, &c) != PM_OK)
        abort();
    watch w = {.proto = proto};
    pm_sigcl_open(c, fake_now);
    check_outputs(&env, c, &w);
    size_t i = 1;
    while (i < size) {
        uint8_t len = data[i++];
        if (len == 0xFF && i < size) {
            fake_now += PM_MS(50) * data[i++];
            pm_sigcl_timeout(c, fake_now);
        } else if (len == 0xFE && i + 2 <= size) {
            int code = data[i] << 8 | data[i + 1];
            i += 2;
            pm_sigcl_closed(c, fake_now, code, "gone");
            w.silent = true;
        } else if (len == 0xFD && i < size) {
            if (data[i++] & 1)
                pm_sigcl_close(c);
            else
                (void)pm_sigcl_seal(c);
        } else {
            size_t n = PM_MIN((size_t)len, size - i);
            pm_sigcl_receive(c, fake_now, data + i, n, false);
            i += n;
        }
        drain_peers(c);
        check_outputs(&env, c, &w);
    }
    pm_sigcl_timeout(c, fake_now + PM_SEC(60));
    check_outputs(&env, c, &w);
    pm_sigcl_free(c);
    return 0;
}
