/*
 * libFuzzer target for our own SCTP association (src/sctp/assoc.h): each
 * input is a script run against an association that a scripted peer has
 * just established (with I-DATA or without, by the first byte). The script
 * feeds arbitrary chunks in packets with a correct header and checksum (so
 * that they reach the state machines) or the wrong tag, lets time pass,
 * and calls the API (send, reset, poll, shut down). Nothing may crash or
 * leak (ASan), and the association's books must balance after every step
 * (sc_consistent). Built only with our own SCTP (PM_SCTP=own).
 */
#include "sctp/assoc.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG  0x11223344u
#define ITSN 77u

typedef struct script {
    const uint8_t *p;
    size_t n;
} script;

static unsigned byte(script *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

static size_t sent_bytes;
static uint32_t s_tag;
static bool got_init;

static void out_cb(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    if (n < PM_SCTP_HEADER_LEN || n > 1184 || (!pm_chunk_crc_ok(p, n) && !pm_chunk_crc_zero(p, n)))
        abort(); /* we only ever send valid packets of at most 1184 bytes */
    sent_bytes += n;
    pm_chunk_iter it;
    pm_chunk_iter_init(&it, p, n);
    pm_chunk c;
    while (pm_chunk_next(&it, &c) == 1) {
        pm_chunk_init i;
        if (c.type == PM_CHUNK_INIT && pm_chunk_parse_init(&c, &i) == PM_OK) {
            s_tag = i.initiate_tag;
            got_init = true;
        }
    }
}

static pm_time now_us;

static pm_time clock_now(void *ud)
{
    (void)ud;
    return now_us;
}

static int fixed_random(void *ud, uint8_t *buf, size_t len)
{
    uint64_t *st = ud;
    for (size_t i = 0; i < len; i++) {
        *st = *st * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(*st >> 56);
    }
    return PM_OK;
}

static void feed(pm_sctp *s, uint32_t vtag, const uint8_t *chunks, size_t n)
{
    static uint8_t pkt[PM_SCTP_HEADER_LEN + 4096];
    n = PM_MIN(n, sizeof pkt - PM_SCTP_HEADER_LEN);
    pm_chunk_write_header(pkt, 5000, 5000, vtag);
    memcpy(pkt + PM_SCTP_HEADER_LEN, chunks, n);
    pm_chunk_set_crc(pkt, PM_SCTP_HEADER_LEN + n);
    (void)pm_sctp_handle_packet(s, now_us, pkt, PM_SCTP_HEADER_LEN + n);
}

static void poll_all(pm_sctp *s)
{
    pm_sctp_event ev;
    for (int i = 0; i < 100000 && pm_sctp_poll_event(s, &ev); i++)
        if (ev.type == PM_SCTP_EV_MESSAGE && (!ev.data || ev.len == 0))
            abort(); /* messages are never empty */
}

static void establish(pm_sctp *s, bool idata)
{
    got_init = false;
    if (pm_sctp_connect(s, now_us) != PM_OK || !got_init)
        abort();
    static const uint8_t cookie[8] = "cookie!";
    pm_chunk_init i = {.initiate_tag = TAG,
                       .a_rwnd = 1 << 20,
                       .out_streams = 64,
                       .in_streams = 64,
                       .initial_tsn = ITSN,
                       .forward_tsn = true,
                       .idata = idata,
                       .reconfig = true,
                       .cookie = cookie,
                       .cookie_len = sizeof cookie};
    uint8_t c[256];
    size_t n = pm_chunk_write_init(c, sizeof c, PM_CHUNK_INIT_ACK, &i);
    feed(s, s_tag, c, n);
    n = pm_chunk_write_empty(c, sizeof c, PM_CHUNK_COOKIE_ACK, 0);
    feed(s, s_tag, c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    script sc = {data, size};
    now_us = 1000000;
    uint64_t seed = 1;
    pm_env e;
    memset(&e, 0, sizeof e);
    e.now = clock_now;
    e.random = fixed_random;
    e.random_ud = &seed;
    e.log_level = PM_LOG_ERROR;
    e.log_level_set = true;
    pm_envr env;
    pm_env_resolve(&env, &e);
    pm_sctp_config cfg;
    pm_sctp_config_default(&cfg);
    unsigned first = byte(&sc);
    if (first & 2) { /* small buffers reach the window and buffer limits */
        cfg.send_buffer = cfg.recv_buffer = 16384;
        cfg.max_message_size = 8192;
    }
    pm_sctp_callbacks cb = {NULL, out_cb};
    pm_sctp *s;
    if (pm_sctp_new(&env, &cfg, &cb, &s) != PM_OK)
        return 0;
    establish(s, first & 1);
    static uint8_t buf[8192];
    for (int step = 0; step < 256 && sc.n; step++) {
        unsigned op = byte(&sc);
        switch (op % 8) {
        case 0:
        case 1:
        case 2: { /* a packet of chunks from the input */
            size_t hi = byte(&sc);
            size_t n = (hi << 8) | byte(&sc);
            n = PM_MIN(n, sc.n);
            uint32_t vtag = op % 8 == 2 ? (op & 0x80 ? TAG : 0) : s_tag;
            feed(s, vtag, sc.p, n);
            sc.p += n;
            sc.n -= n;
            break;
        }
        case 3: /* time passes */
            now_us += (pm_time)byte(&sc) * (op & 0x80 ? 100000 : 1000);
            (void)pm_sctp_handle_timeout(s, now_us);
            break;
        case 4: { /* the application sends */
            uint16_t sid = (uint16_t)byte(&sc);
            size_t len = byte(&sc);
            len = 1 + (len << 5);
            pm_sctp_sendopts o = {.unordered = op & 0x10, .pr_policy = (op >> 5) % 3};
            o.pr_value = byte(&sc);
            memset(buf, (int)op, PM_MIN(len, sizeof buf));
            (void)pm_sctp_send(s, sid, 53, buf, PM_MIN(len, sizeof buf), &o);
            break;
        }
        case 5:
            (void)pm_sctp_reset_stream(s, (uint16_t)byte(&sc));
            break;
        case 6:
            poll_all(s);
            break;
        case 7:
            if (op & 0x80)
                pm_sctp_shutdown(s);
            (void)pm_sctp_buffered(s);
            (void)pm_sctp_stream_abandoned(s, (uint16_t)byte(&sc));
            (void)pm_sctp_next_timeout(s, now_us);
            break;
        }
        if (!sc_consistent(s))
            abort();
    }
    poll_all(s);
    pm_sctp_free(s);
    return 0;
}
