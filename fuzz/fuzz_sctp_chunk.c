/*
 * libFuzzer target for the SCTP chunk codec (src/sctp/chunk.c): arbitrary
 * bytes as a packet; every chunk is parsed by its type. What parses must
 * point inside the input, and re-encodes to the same fields: DATA/I-DATA,
 * SACK, FORWARD-TSN/I-FORWARD-TSN and the RE-CONFIG parameters.
 */
#include "sctp/chunk.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    if (n && (p < data || p + n > data + size))
        abort();
}

static void check_data(const pm_chunk *c, const uint8_t *data, size_t size)
{
    pm_chunk_data d;
    if (pm_chunk_parse_data(c, &d) != PM_OK)
        return;
    inside(d.payload, d.len, data, size);
    if (d.len == 0)
        abort();
    static uint8_t out[70000];
    size_t n = pm_chunk_write_data(out, sizeof out, &d);
    if (n < 4)
        abort();
    pm_chunk back = {out[0], out[1], out + 4, pm_rd16(out + 2) - 4u};
    pm_chunk_data e;
    if (pm_chunk_parse_data(&back, &e) != PM_OK || e.tsn != d.tsn || e.sid != d.sid ||
        e.mid != d.mid || e.fsn != d.fsn || e.ppid != d.ppid || e.len != d.len ||
        memcmp(e.payload, d.payload, d.len) != 0)
        abort();
}

static void check_sack(const pm_chunk *c, const uint8_t *data, size_t size)
{
    pm_chunk_sack s;
    if (pm_chunk_parse_sack(c, &s) != PM_OK)
        return;
    inside(s.gaps, 4u * s.ngaps, data, size);
    inside(s.dups, 4u * s.ndups, data, size);
    static pm_sack_gap gaps[0x10000];
    static uint32_t dups[0x10000];
    for (size_t i = 0; i < s.ngaps; i++)
        pm_chunk_sack_gap(&s, i, &gaps[i].start, &gaps[i].end);
    for (size_t i = 0; i < s.ndups; i++)
        dups[i] = pm_rd32(s.dups + 4 * i);
    static uint8_t out[70000];
    size_t ng = s.ngaps, nd = s.ndups;
    size_t n = pm_chunk_write_sack(out, sizeof out, s.cum_tsn, s.a_rwnd, gaps, &ng, dups, &nd);
    pm_chunk back = {out[0], out[1], out + 4, n - 4};
    pm_chunk_sack t;
    if (!n || pm_chunk_parse_sack(&back, &t) != PM_OK || t.cum_tsn != s.cum_tsn ||
        t.a_rwnd != s.a_rwnd || t.ngaps != ng || t.ndups != nd)
        abort();
}

static void check_fwd(const pm_chunk *c, const uint8_t *data, size_t size)
{
    pm_chunk_fwd f;
    if (pm_chunk_parse_fwd(c, &f) != PM_OK)
        return;
    inside(f.entries, f.count * (f.idata ? 8u : 4u), data, size);
    static pm_fwd_entry e[0x4000];
    size_t n = PM_MIN(f.count, PM_ARRAY_LEN(e));
    for (size_t i = 0; i < n; i++)
        pm_chunk_fwd_entry(&f, i, &e[i]);
    static uint8_t out[70000];
    size_t k = n;
    size_t len = pm_chunk_write_fwd(out, sizeof out, f.idata, f.new_cum_tsn, e, &k);
    pm_chunk back = {out[0], out[1], out + 4, len - 4};
    pm_chunk_fwd g;
    if (!len || pm_chunk_parse_fwd(&back, &g) != PM_OK || g.new_cum_tsn != f.new_cum_tsn ||
        g.count != k)
        abort();
    for (size_t i = 0; i < k; i++) {
        pm_fwd_entry x;
        pm_chunk_fwd_entry(&g, i, &x);
        if (x.sid != e[i].sid || x.mid != e[i].mid || x.unordered != e[i].unordered)
            abort();
    }
}

static void check_reconfig(const pm_chunk *c, const uint8_t *data, size_t size)
{
    pm_reconf_iter it;
    pm_reconf_iter_init(&it, c);
    pm_reconf_param p;
    int rc;
    while ((rc = pm_reconf_next(&it, &p)) == 1) {
        inside(p.sids, 2u * p.nsids, data, size);
        if (p.type != PM_RECONF_OUT_RESET)
            continue;
        static uint16_t sids[0x8000];
        for (size_t i = 0; i < p.nsids; i++)
            sids[i] = pm_reconf_sid(&p, i);
        static uint8_t out[70000];
        size_t n = pm_chunk_write_reconf_out_reset(out, sizeof out, p.req_seq, p.resp_seq,
                                                   p.last_tsn, sids, p.nsids);
        pm_chunk back = {out[0], out[1], out + 4, n - 4};
        pm_reconf_iter bi;
        pm_reconf_iter_init(&bi, &back);
        pm_reconf_param q;
        if (!n || pm_reconf_next(&bi, &q) != 1 || q.req_seq != p.req_seq ||
            q.last_tsn != p.last_tsn || q.nsids != p.nsids ||
            memcmp(q.sids, p.sids, 2u * p.nsids) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_sctp_header h;
    if (pm_chunk_parse_header(data, size, &h) != PM_OK)
        return 0;
    (void)pm_chunk_crc_ok(data, size);
    pm_chunk_iter it;
    pm_chunk_iter_init(&it, data, size);
    pm_chunk c;
    int rc;
    while ((rc = pm_chunk_next(&it, &c)) == 1) {
        inside(c.value, c.value_len, data, size);
        pm_chunk_init in;
        uint32_t cum;
        const uint8_t *p;
        size_t n;
        uint16_t code;
        switch (c.type) {
        case PM_CHUNK_DATA:
        case PM_CHUNK_IDATA:
            check_data(&c, data, size);
            break;
        case PM_CHUNK_SACK:
            check_sack(&c, data, size);
            break;
        case PM_CHUNK_FORWARD_TSN:
        case PM_CHUNK_IFORWARD_TSN:
            check_fwd(&c, data, size);
            break;
        case PM_CHUNK_RECONFIG:
            check_reconfig(&c, data, size);
            break;
        case PM_CHUNK_INIT:
        case PM_CHUNK_INIT_ACK:
            if (pm_chunk_parse_init(&c, &in) == PM_OK)
                inside(in.cookie, in.cookie_len, data, size);
            break;
        case PM_CHUNK_SHUTDOWN:
            (void)pm_chunk_parse_shutdown(&c, &cum);
            break;
        case PM_CHUNK_HEARTBEAT:
        case PM_CHUNK_HEARTBEAT_ACK:
            if (pm_chunk_parse_heartbeat(&c, &p, &n) == PM_OK)
                inside(p, n, data, size);
            break;
        case PM_CHUNK_ABORT:
        case PM_CHUNK_ERROR:
            if (pm_chunk_first_cause(&c, &code, &p, &n) == 1)
                inside(p, n, data, size);
            break;
        default:
            break;
        }
    }
    return 0;
}
