/*
 * DCEP codec (RFC 8832) and PPID classification (RFC 8831 section 8).
 */
#include "wire/dcep.h"

/* RFC 8832 section 5.1: fixed part of DATA_CHANNEL_OPEN before the label. */
#define DCEP_OPEN_HDR 12

static bool channel_type_known(uint8_t t)
{
    switch (t) {
    case PM_DCEP_RELIABLE:
    case PM_DCEP_RELIABLE_UNORDERED:
    case PM_DCEP_PR_REXMIT:
    case PM_DCEP_PR_REXMIT_UNORDERED:
    case PM_DCEP_PR_TIMED:
    case PM_DCEP_PR_TIMED_UNORDERED:
        return true;
    default:
        return false;
    }
}

int pm_dcep_type(const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return PM_ERR_PARSE;
    return p[0];
}

int pm_dcep_parse_open(const uint8_t *p, size_t n, pm_dcep_open *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!p || n < DCEP_OPEN_HDR || p[0] != PM_DCEP_OPEN)
        return PM_ERR_PARSE;
    /* An unknown type gives no way to honour the requested reliability, so the
     * channel must not be opened (RFC 8832 section 6). */
    if (!channel_type_known(p[1]))
        return PM_ERR_PARSE;
    uint16_t label_len = pm_rd16(p + 8);
    uint16_t proto_len = pm_rd16(p + 10);
    /* The message has no padding (section 5.1): the lengths must account for
     * every byte, neither overrunning nor leaving a tail. */
    if ((size_t)DCEP_OPEN_HDR + label_len + proto_len != n)
        return PM_ERR_PARSE;
    out->channel_type = p[1];
    out->priority = pm_rd16(p + 2);
    out->reliability = pm_rd32(p + 4);
    out->label_len = label_len;
    out->label = p + DCEP_OPEN_HDR;
    out->protocol_len = proto_len;
    out->protocol = p + DCEP_OPEN_HDR + label_len;
    return PM_OK;
}

int pm_dcep_build_open(const pm_dcep_open *o, uint8_t *buf, size_t cap)
{
    if (!o || !buf || !channel_type_known(o->channel_type) || (o->label_len && !o->label) ||
        (o->protocol_len && !o->protocol))
        return PM_ERR_INVALID;
    size_t n = (size_t)DCEP_OPEN_HDR + o->label_len + o->protocol_len;
    if (n > cap)
        return PM_ERR_TOO_BIG;
    buf[0] = PM_DCEP_OPEN;
    buf[1] = o->channel_type;
    pm_wr16(buf + 2, o->priority);
    /* Section 5.1: the parameter is ignored for reliable channels; send 0. */
    bool reliable =
        o->channel_type == PM_DCEP_RELIABLE || o->channel_type == PM_DCEP_RELIABLE_UNORDERED;
    pm_wr32(buf + 4, reliable ? 0 : o->reliability);
    pm_wr16(buf + 8, o->label_len);
    pm_wr16(buf + 10, o->protocol_len);
    if (o->label_len)
        memcpy(buf + DCEP_OPEN_HDR, o->label, o->label_len);
    if (o->protocol_len)
        memcpy(buf + DCEP_OPEN_HDR + o->label_len, o->protocol, o->protocol_len);
    return (int)n;
}

int pm_dcep_build_ack(uint8_t *buf, size_t cap)
{
    if (!buf)
        return PM_ERR_INVALID;
    if (cap < 1)
        return PM_ERR_TOO_BIG;
    buf[0] = PM_DCEP_ACK;
    return 1;
}

bool pm_ppid_is_string(uint32_t ppid)
{
    /* 54 (string partial) is deprecated but still accepted on receive. */
    return ppid == PM_PPID_STRING || ppid == PM_PPID_STRING_PARTIAL || ppid == PM_PPID_STRING_EMPTY;
}
