/*
 * SCTP codec (see chunk.h). Field layouts cite the RFC section that defines
 * them; every length is checked before the bytes it covers are read.
 */
#include "sctp/chunk.h"

/* RFC 9260 section 3.2: chunk header (type, flags, length). */
#define CHUNK_HDR 4
/* RFC 9260 section 3.2.1: parameter header (type, length). */
#define PARAM_HDR 4

/* RFC 9260 section 3.3.2.1 and RFC 3758 / RFC 5061: INIT parameters we use. */
#define PARAM_STATE_COOKIE   7
#define PARAM_SUPPORTED_EXT  0x8008
#define PARAM_FORWARD_TSN_OK 0xC000
/* RFC 9653 section 4: Zero Checksum Acceptable, with the Error Detection
 * Method Identifier 1 (SCTP over DTLS, RFC 8261). */
#define PARAM_ZERO_CHECKSUM 0x8001
#define EDMID_DTLS          1
/* RFC 9260 section 3.3.5: the HEARTBEAT chunk's Heartbeat Info parameter. */
#define PARAM_HEARTBEAT_INFO 1
/* RFC 9260 section 3.3.2: INIT / INIT-ACK fixed part. */
#define INIT_FIXED 16

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* ---- the packet ---- */

int pm_chunk_parse_header(const uint8_t *pkt, size_t len, pm_sctp_header *h)
{
    if (!pkt || len < PM_SCTP_HEADER_LEN)
        return PM_ERR_PARSE;
    h->src_port = pm_rd16(pkt);
    h->dst_port = pm_rd16(pkt + 2);
    h->vtag = pm_rd32(pkt + 4);
    return PM_OK;
}

void pm_chunk_write_header(uint8_t *pkt, uint16_t src, uint16_t dst, uint32_t vtag)
{
    pm_wr16(pkt, src);
    pm_wr16(pkt + 2, dst);
    pm_wr32(pkt + 4, vtag);
    memset(pkt + 8, 0, 4);
}

/* RFC 9260 Appendix A: the CRC32c of the packet with a zero checksum field,
 * stored least significant byte first. */
static uint32_t packet_crc(const uint8_t *pkt, size_t len)
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    /* pm_crc32c has no incremental form: the field is zeroed on a copy of
     * the first 12 bytes and the rest is folded in by a second call. */
    uint8_t head[PM_SCTP_HEADER_LEN];
    memcpy(head, pkt, 8);
    memcpy(head + 8, zero, 4);
    if (len == PM_SCTP_HEADER_LEN)
        return pm_crc32c(head, PM_SCTP_HEADER_LEN);
    return pm_crc32c_continue(pm_crc32c(head, PM_SCTP_HEADER_LEN), pkt + PM_SCTP_HEADER_LEN,
                              len - PM_SCTP_HEADER_LEN);
}

void pm_chunk_set_crc(uint8_t *pkt, size_t len)
{
    memset(pkt + 8, 0, 4);
    uint32_t c = pm_crc32c(pkt, len);
    pkt[8] = (uint8_t)c;
    pkt[9] = (uint8_t)(c >> 8);
    pkt[10] = (uint8_t)(c >> 16);
    pkt[11] = (uint8_t)(c >> 24);
}

bool pm_chunk_crc_zero(const uint8_t *pkt, size_t len)
{
    return len >= PM_SCTP_HEADER_LEN && pm_rd32(pkt + 8) == 0;
}

bool pm_chunk_crc_ok(const uint8_t *pkt, size_t len)
{
    if (len < PM_SCTP_HEADER_LEN)
        return false;
    uint32_t c = packet_crc(pkt, len);
    return pkt[8] == (uint8_t)c && pkt[9] == (uint8_t)(c >> 8) && pkt[10] == (uint8_t)(c >> 16) &&
           pkt[11] == (uint8_t)(c >> 24);
}

void pm_chunk_iter_init(pm_chunk_iter *it, const uint8_t *pkt, size_t len)
{
    it->pkt = pkt;
    it->len = len;
    it->off = PM_SCTP_HEADER_LEN;
}

int pm_chunk_next(pm_chunk_iter *it, pm_chunk *c)
{
    if (it->off >= it->len)
        return 0;
    if (it->len - it->off < CHUNK_HDR) {
        it->off = it->len;
        return PM_ERR_PARSE;
    }
    const uint8_t *p = it->pkt + it->off;
    size_t clen = pm_rd16(p + 2);
    if (clen < CHUNK_HDR || clen > it->len - it->off) {
        it->off = it->len;
        return PM_ERR_PARSE;
    }
    c->type = p[0];
    c->flags = p[1];
    c->value = p + CHUNK_HDR;
    c->value_len = clen - CHUNK_HDR;
    /* The last chunk's padding may be missing (RFC 9260 section 3.2). */
    it->off += PM_MIN(pad4(clen), it->len - it->off);
    return 1;
}

/* Chunk header + value, padded with zeros; 0 when it does not fit. */
static size_t begin_chunk(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, size_t value_len)
{
    size_t total = CHUNK_HDR + value_len;
    if (total > 0xFFFF || pad4(total) > cap)
        return 0;
    out[0] = type;
    out[1] = flags;
    pm_wr16(out + 2, (uint16_t)total);
    memset(out + total, 0, pad4(total) - total);
    return pad4(total);
}

/* ---- DATA and I-DATA ---- */

int pm_chunk_parse_data(const pm_chunk *c, pm_chunk_data *d)
{
    bool idata = c->type == PM_CHUNK_IDATA;
    if (c->type != PM_CHUNK_DATA && !idata)
        return PM_ERR_PARSE;
    size_t hdr = pm_chunk_data_header(idata) - CHUNK_HDR;
    if (c->value_len <= hdr)
        return PM_ERR_PARSE; /* no user data: RFC 9260 section 6.2 */
    const uint8_t *v = c->value;
    d->idata = idata;
    d->flags = c->flags;
    d->tsn = pm_rd32(v);
    d->sid = pm_rd16(v + 4);
    if (idata) {
        /* RFC 8260 section 2.1: TSN, SID, reserved, MID, PPID or FSN. */
        d->mid = pm_rd32(v + 8);
        bool begin = (c->flags & PM_DATA_BEGIN) != 0;
        d->ppid = begin ? pm_rd32(v + 12) : 0;
        d->fsn = begin ? 0 : pm_rd32(v + 12);
    } else {
        d->mid = pm_rd16(v + 6);
        d->ppid = pm_rd32(v + 8);
        d->fsn = 0;
    }
    d->payload = v + hdr;
    d->len = c->value_len - hdr;
    return PM_OK;
}

size_t pm_chunk_write_data(uint8_t *out, size_t cap, const pm_chunk_data *d)
{
    size_t hdr = pm_chunk_data_header(d->idata);
    size_t n = begin_chunk(out, cap, d->idata ? PM_CHUNK_IDATA : PM_CHUNK_DATA, d->flags,
                           hdr - CHUNK_HDR + d->len);
    if (!n)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr32(v, d->tsn);
    pm_wr16(v + 4, d->sid);
    if (d->idata) {
        pm_wr16(v + 6, 0);
        pm_wr32(v + 8, d->mid);
        pm_wr32(v + 12, (d->flags & PM_DATA_BEGIN) ? d->ppid : d->fsn);
    } else {
        pm_wr16(v + 6, (uint16_t)d->mid);
        pm_wr32(v + 8, d->ppid);
    }
    if (d->len)
        memcpy(out + hdr, d->payload, d->len);
    return n;
}

/* ---- INIT and INIT-ACK ---- */

static void parse_supported_ext(const uint8_t *p, size_t n, pm_chunk_init *i)
{
    bool idata = false, ifwd = false;
    for (size_t k = 0; k < n; k++) {
        switch (p[k]) {
        case PM_CHUNK_FORWARD_TSN:
            i->forward_tsn = true;
            break;
        case PM_CHUNK_RECONFIG:
            i->reconfig = true;
            break;
        case PM_CHUNK_IDATA:
            idata = true;
            break;
        case PM_CHUNK_IFORWARD_TSN:
            ifwd = true;
            break;
        default:
            break;
        }
    }
    /* RFC 8260 section 2.2.1: I-DATA needs I-FORWARD-TSN for PR-SCTP. */
    i->idata = idata && ifwd;
}

int pm_chunk_parse_init(const pm_chunk *c, pm_chunk_init *i)
{
    if ((c->type != PM_CHUNK_INIT && c->type != PM_CHUNK_INIT_ACK) || c->value_len < INIT_FIXED)
        return PM_ERR_PARSE;
    memset(i, 0, sizeof *i);
    const uint8_t *v = c->value;
    i->initiate_tag = pm_rd32(v);
    i->a_rwnd = pm_rd32(v + 4);
    i->out_streams = pm_rd16(v + 8);
    i->in_streams = pm_rd16(v + 10);
    i->initial_tsn = pm_rd32(v + 12);
    size_t off = INIT_FIXED;
    while (off + PARAM_HDR <= c->value_len) {
        uint16_t type = pm_rd16(v + off);
        size_t plen = pm_rd16(v + off + 2);
        if (plen < PARAM_HDR || plen > c->value_len - off)
            return PM_ERR_PARSE;
        const uint8_t *pv = v + off + PARAM_HDR;
        size_t pvlen = plen - PARAM_HDR;
        switch (type) {
        case PARAM_STATE_COOKIE:
            i->cookie = pv;
            i->cookie_len = pvlen;
            break;
        case PARAM_SUPPORTED_EXT:
            parse_supported_ext(pv, pvlen, i);
            break;
        case PARAM_FORWARD_TSN_OK:
            i->forward_tsn = true;
            break;
        case PARAM_ZERO_CHECKSUM:
            i->zero_checksum = pvlen >= 4 && pm_rd32(pv) == EDMID_DTLS;
            break;
        default:
            /* RFC 9260 section 3.2.1: the two high bits say what to do with
             * an unknown parameter; 0x: stop processing the parameters. */
            if (!(type & 0x8000))
                return PM_OK;
            break;
        }
        off += pad4(plen);
    }
    return PM_OK;
}

size_t pm_chunk_write_init(uint8_t *out, size_t cap, uint8_t type, const pm_chunk_init *i)
{
    uint8_t ext[4];
    size_t next = 0;
    if (i->forward_tsn)
        ext[next++] = PM_CHUNK_FORWARD_TSN;
    if (i->reconfig)
        ext[next++] = PM_CHUNK_RECONFIG;
    if (i->idata) {
        ext[next++] = PM_CHUNK_IDATA;
        ext[next++] = PM_CHUNK_IFORWARD_TSN;
    }
    size_t vlen = INIT_FIXED;
    if (next)
        vlen += pad4(PARAM_HDR + next);
    if (i->forward_tsn)
        vlen += PARAM_HDR;
    if (i->zero_checksum)
        vlen += PARAM_HDR + 4;
    bool cookie = type == PM_CHUNK_INIT_ACK;
    if (cookie)
        vlen += pad4(PARAM_HDR + i->cookie_len);
    size_t n = begin_chunk(out, cap, type, 0, vlen);
    if (!n)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr32(v, i->initiate_tag);
    pm_wr32(v + 4, i->a_rwnd);
    pm_wr16(v + 8, i->out_streams);
    pm_wr16(v + 10, i->in_streams);
    pm_wr32(v + 12, i->initial_tsn);
    size_t off = INIT_FIXED;
    if (next) {
        pm_wr16(v + off, PARAM_SUPPORTED_EXT);
        pm_wr16(v + off + 2, (uint16_t)(PARAM_HDR + next));
        memcpy(v + off + PARAM_HDR, ext, next);
        memset(v + off + PARAM_HDR + next, 0, pad4(PARAM_HDR + next) - PARAM_HDR - next);
        off += pad4(PARAM_HDR + next);
    }
    if (i->forward_tsn) {
        pm_wr16(v + off, PARAM_FORWARD_TSN_OK);
        pm_wr16(v + off + 2, PARAM_HDR);
        off += PARAM_HDR;
    }
    if (i->zero_checksum) {
        pm_wr16(v + off, PARAM_ZERO_CHECKSUM);
        pm_wr16(v + off + 2, PARAM_HDR + 4);
        pm_wr32(v + off + PARAM_HDR, EDMID_DTLS);
        off += PARAM_HDR + 4;
    }
    if (cookie) {
        pm_wr16(v + off, PARAM_STATE_COOKIE);
        pm_wr16(v + off + 2, (uint16_t)(PARAM_HDR + i->cookie_len));
        if (i->cookie_len)
            memcpy(v + off + PARAM_HDR, i->cookie, i->cookie_len);
        /* the padding after the cookie was zeroed by begin_chunk */
    }
    return n;
}

/* ---- SACK ---- */

int pm_chunk_parse_sack(const pm_chunk *c, pm_chunk_sack *s)
{
    /* RFC 9260 section 3.3.4: cum TSN, a_rwnd, #gaps, #dups, blocks, dups. */
    if (c->type != PM_CHUNK_SACK || c->value_len < 12)
        return PM_ERR_PARSE;
    const uint8_t *v = c->value;
    s->cum_tsn = pm_rd32(v);
    s->a_rwnd = pm_rd32(v + 4);
    s->ngaps = pm_rd16(v + 8);
    s->ndups = pm_rd16(v + 10);
    if (c->value_len < 12 + 4 * ((size_t)s->ngaps + s->ndups))
        return PM_ERR_PARSE;
    s->gaps = v + 12;
    s->dups = v + 12 + 4 * (size_t)s->ngaps;
    return PM_OK;
}

size_t pm_chunk_write_sack(uint8_t *out, size_t cap, uint32_t cum_tsn, uint32_t a_rwnd,
                           const pm_sack_gap *gaps, size_t *ngaps, const uint32_t *dups,
                           size_t *ndups)
{
    if (cap < CHUNK_HDR + 12)
        return 0;
    size_t room = (PM_MIN(cap, 0xFFFF) - CHUNK_HDR - 12) / 4;
    size_t g = PM_MIN(*ngaps, PM_MIN(room, 0xFFFF));
    size_t d = PM_MIN(*ndups, PM_MIN(room - g, 0xFFFF));
    size_t n = begin_chunk(out, cap, PM_CHUNK_SACK, 0, 12 + 4 * (g + d));
    if (!n)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr32(v, cum_tsn);
    pm_wr32(v + 4, a_rwnd);
    pm_wr16(v + 8, (uint16_t)g);
    pm_wr16(v + 10, (uint16_t)d);
    v += 12;
    for (size_t k = 0; k < g; k++, v += 4) {
        pm_wr16(v, gaps[k].start);
        pm_wr16(v + 2, gaps[k].end);
    }
    for (size_t k = 0; k < d; k++, v += 4)
        pm_wr32(v, dups[k]);
    *ngaps = g;
    *ndups = d;
    return n;
}

/* ---- FORWARD-TSN and I-FORWARD-TSN ---- */

static size_t fwd_entry_size(bool idata)
{
    /* RFC 3758 section 3.2: sid + ssn; RFC 8260 section 2.3.1: sid, U, MID. */
    return idata ? 8 : 4;
}

int pm_chunk_parse_fwd(const pm_chunk *c, pm_chunk_fwd *f)
{
    bool idata = c->type == PM_CHUNK_IFORWARD_TSN;
    if ((c->type != PM_CHUNK_FORWARD_TSN && !idata) || c->value_len < 4)
        return PM_ERR_PARSE;
    size_t es = fwd_entry_size(idata);
    if ((c->value_len - 4) % es != 0)
        return PM_ERR_PARSE;
    f->idata = idata;
    f->new_cum_tsn = pm_rd32(c->value);
    f->count = (c->value_len - 4) / es;
    f->entries = c->value + 4;
    return PM_OK;
}

void pm_chunk_fwd_entry(const pm_chunk_fwd *f, size_t i, pm_fwd_entry *e)
{
    const uint8_t *p = f->entries + i * fwd_entry_size(f->idata);
    e->sid = pm_rd16(p);
    if (f->idata) {
        e->unordered = (pm_rd16(p + 2) & 1) != 0;
        e->mid = pm_rd32(p + 4);
    } else {
        e->unordered = false;
        e->mid = pm_rd16(p + 2);
    }
}

size_t pm_chunk_write_fwd(uint8_t *out, size_t cap, bool idata, uint32_t new_cum_tsn,
                          const pm_fwd_entry *e, size_t *n)
{
    size_t es = fwd_entry_size(idata);
    if (cap < CHUNK_HDR + 4)
        return 0;
    size_t fit = PM_MIN(*n, (PM_MIN(cap, 0xFFFF) - CHUNK_HDR - 4) / es);
    size_t len = begin_chunk(out, cap, idata ? PM_CHUNK_IFORWARD_TSN : PM_CHUNK_FORWARD_TSN, 0,
                             4 + fit * es);
    if (!len)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr32(v, new_cum_tsn);
    v += 4;
    for (size_t k = 0; k < fit; k++, v += es) {
        pm_wr16(v, e[k].sid);
        if (idata) {
            pm_wr16(v + 2, e[k].unordered ? 1 : 0);
            pm_wr32(v + 4, e[k].mid);
        } else {
            pm_wr16(v + 2, (uint16_t)e[k].mid);
        }
    }
    *n = fit;
    return len;
}

/* ---- RE-CONFIG ---- */

void pm_reconf_iter_init(pm_reconf_iter *it, const pm_chunk *c)
{
    it->p = c->value;
    it->len = c->type == PM_CHUNK_RECONFIG ? c->value_len : 0;
    it->off = 0;
}

static int parse_reconf_value(uint16_t type, const uint8_t *v, size_t n, pm_reconf_param *p)
{
    switch (type) {
    case PM_RECONF_OUT_RESET: /* RFC 6525 section 4.1 */
        if (n < 12 || (n - 12) % 2)
            return PM_ERR_PARSE;
        p->req_seq = pm_rd32(v);
        p->resp_seq = pm_rd32(v + 4);
        p->last_tsn = pm_rd32(v + 8);
        p->nsids = (uint16_t)((n - 12) / 2);
        p->sids = v + 12;
        return PM_OK;
    case PM_RECONF_IN_RESET: /* section 4.2 */
        if (n < 4 || (n - 4) % 2)
            return PM_ERR_PARSE;
        p->req_seq = pm_rd32(v);
        p->nsids = (uint16_t)((n - 4) / 2);
        p->sids = v + 4;
        return PM_OK;
    case PM_RECONF_TSN_RESET: /* section 4.3 */
        if (n < 4)
            return PM_ERR_PARSE;
        p->req_seq = pm_rd32(v);
        return PM_OK;
    case PM_RECONF_RESPONSE: /* section 4.4: the TSN fields are optional */
        if (n != 8 && n != 16)
            return PM_ERR_PARSE;
        p->req_seq = pm_rd32(v);
        p->result = pm_rd32(v + 4);
        return PM_OK;
    case PM_RECONF_ADD_OUT: /* sections 4.5 and 4.6 */
    case PM_RECONF_ADD_IN:
        if (n < 8)
            return PM_ERR_PARSE;
        p->req_seq = pm_rd32(v);
        p->new_streams = pm_rd16(v + 4);
        return PM_OK;
    default:
        return PM_OK;
    }
}

int pm_reconf_next(pm_reconf_iter *it, pm_reconf_param *p)
{
    if (it->off + PARAM_HDR > it->len)
        return 0;
    const uint8_t *h = it->p + it->off;
    size_t plen = pm_rd16(h + 2);
    if (plen < PARAM_HDR || plen > it->len - it->off) {
        it->off = it->len;
        return PM_ERR_PARSE;
    }
    memset(p, 0, sizeof *p);
    p->type = pm_rd16(h);
    it->off += PM_MIN(pad4(plen), it->len - it->off);
    int rc = parse_reconf_value(p->type, h + PARAM_HDR, plen - PARAM_HDR, p);
    return rc == PM_OK ? 1 : rc;
}

size_t pm_chunk_write_reconf_out_reset(uint8_t *out, size_t cap, uint32_t req_seq,
                                       uint32_t resp_seq, uint32_t last_tsn, const uint16_t *sids,
                                       size_t nsids)
{
    size_t plen = PARAM_HDR + 12 + 2 * nsids;
    if (plen > 0xFFFF - CHUNK_HDR)
        return 0;
    size_t n = begin_chunk(out, cap, PM_CHUNK_RECONFIG, 0, pad4(plen));
    if (!n)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr16(v, PM_RECONF_OUT_RESET);
    pm_wr16(v + 2, (uint16_t)plen);
    pm_wr32(v + 4, req_seq);
    pm_wr32(v + 8, resp_seq);
    pm_wr32(v + 12, last_tsn);
    for (size_t k = 0; k < nsids; k++)
        pm_wr16(v + 16 + 2 * k, sids[k]);
    memset(v + plen, 0, pad4(plen) - plen);
    return n;
}

size_t pm_chunk_write_reconf_response(uint8_t *out, size_t cap, uint32_t resp_seq, uint32_t result)
{
    size_t n = begin_chunk(out, cap, PM_CHUNK_RECONFIG, 0, PARAM_HDR + 8);
    if (!n)
        return 0;
    uint8_t *v = out + CHUNK_HDR;
    pm_wr16(v, PM_RECONF_RESPONSE);
    pm_wr16(v + 2, PARAM_HDR + 8);
    pm_wr32(v + 4, resp_seq);
    pm_wr32(v + 8, result);
    return n;
}

/* ---- everything else ---- */

size_t pm_chunk_write_empty(uint8_t *out, size_t cap, uint8_t type, uint8_t flags)
{
    return begin_chunk(out, cap, type, flags, 0);
}

size_t pm_chunk_write_raw(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                          const uint8_t *value, size_t len)
{
    size_t n = begin_chunk(out, cap, type, flags, len);
    if (n && len)
        memcpy(out + CHUNK_HDR, value, len);
    return n;
}

int pm_chunk_parse_shutdown(const pm_chunk *c, uint32_t *cum_tsn)
{
    if (c->type != PM_CHUNK_SHUTDOWN || c->value_len < 4)
        return PM_ERR_PARSE;
    *cum_tsn = pm_rd32(c->value);
    return PM_OK;
}

size_t pm_chunk_write_shutdown(uint8_t *out, size_t cap, uint32_t cum_tsn)
{
    size_t n = begin_chunk(out, cap, PM_CHUNK_SHUTDOWN, 0, 4);
    if (n)
        pm_wr32(out + CHUNK_HDR, cum_tsn);
    return n;
}

int pm_chunk_parse_heartbeat(const pm_chunk *c, const uint8_t **info, size_t *len)
{
    /* RFC 9260 section 3.3.5: one Heartbeat Info parameter. */
    if ((c->type != PM_CHUNK_HEARTBEAT && c->type != PM_CHUNK_HEARTBEAT_ACK) ||
        c->value_len < PARAM_HDR)
        return PM_ERR_PARSE;
    size_t plen = pm_rd16(c->value + 2);
    if (pm_rd16(c->value) != PARAM_HEARTBEAT_INFO || plen < PARAM_HDR || plen > c->value_len)
        return PM_ERR_PARSE;
    *info = c->value + PARAM_HDR;
    *len = plen - PARAM_HDR;
    return PM_OK;
}

size_t pm_chunk_write_heartbeat(uint8_t *out, size_t cap, uint8_t type, const uint8_t *info,
                                size_t len)
{
    size_t n = begin_chunk(out, cap, type, 0, PARAM_HDR + len);
    if (!n)
        return 0;
    pm_wr16(out + CHUNK_HDR, PARAM_HEARTBEAT_INFO);
    pm_wr16(out + CHUNK_HDR + 2, (uint16_t)(PARAM_HDR + len));
    if (len)
        memcpy(out + CHUNK_HDR + PARAM_HDR, info, len);
    return n;
}

size_t pm_chunk_write_cause(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, uint16_t code,
                            const uint8_t *info, size_t len)
{
    /* RFC 9260 section 3.3.10: code, length, information, padded. */
    size_t clen = PARAM_HDR + len;
    size_t n = begin_chunk(out, cap, type, flags, pad4(clen));
    if (!n)
        return 0;
    pm_wr16(out + CHUNK_HDR, code);
    pm_wr16(out + CHUNK_HDR + 2, (uint16_t)clen);
    if (len)
        memcpy(out + CHUNK_HDR + PARAM_HDR, info, len);
    memset(out + CHUNK_HDR + clen, 0, pad4(clen) - clen);
    return n;
}

int pm_chunk_first_cause(const pm_chunk *c, uint16_t *code, const uint8_t **info, size_t *len)
{
    if (c->value_len < PARAM_HDR)
        return 0;
    size_t clen = pm_rd16(c->value + 2);
    if (clen < PARAM_HDR || clen > c->value_len)
        return PM_ERR_PARSE;
    *code = pm_rd16(c->value);
    *info = c->value + PARAM_HDR;
    *len = clen - PARAM_HDR;
    return 1;
}
