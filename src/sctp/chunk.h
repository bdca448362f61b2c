/*
 * SCTP packet and chunk codec (RFC 9260 sections 3 and 3.3, RFC 3758
 * FORWARD-TSN, RFC 8260 I-DATA and I-FORWARD-TSN, RFC 6525 RE-CONFIG).
 * Pure functions: no state, no allocation. Parsers borrow the input (every
 * pointer they return points into it); writers take an output buffer and
 * its capacity and return the bytes written, or 0 when the chunk does not
 * fit (nothing useful was written then).
 *
 * Every parser validates lengths against the chunk it is given and returns
 * PM_ERR_PARSE for anything malformed; nothing here reads past the input.
 */
#ifndef PM_SCTP_CHUNK_H
#define PM_SCTP_CHUNK_H

#include "base/base.h"

/* RFC 9260 section 3.1: the common header. */
#define PM_SCTP_HEADER_LEN 12
/* RFC 9260 section 3.3.1 / RFC 8260 section 2.1: fixed part of DATA / I-DATA. */
#define PM_SCTP_DATA_HDR  16
#define PM_SCTP_IDATA_HDR 20

/* RFC 9260 section 3.2, RFC 3758, RFC 8260, RFC 6525: chunk types. */
enum {
    PM_CHUNK_DATA = 0,
    PM_CHUNK_INIT = 1,
    PM_CHUNK_INIT_ACK = 2,
    PM_CHUNK_SACK = 3,
    PM_CHUNK_HEARTBEAT = 4,
    PM_CHUNK_HEARTBEAT_ACK = 5,
    PM_CHUNK_ABORT = 6,
    PM_CHUNK_SHUTDOWN = 7,
    PM_CHUNK_SHUTDOWN_ACK = 8,
    PM_CHUNK_ERROR = 9,
    PM_CHUNK_COOKIE_ECHO = 10,
    PM_CHUNK_COOKIE_ACK = 11,
    PM_CHUNK_SHUTDOWN_COMPLETE = 14,
    PM_CHUNK_IDATA = 64,
    PM_CHUNK_RECONFIG = 130,
    PM_CHUNK_FORWARD_TSN = 192,
    PM_CHUNK_IFORWARD_TSN = 194,
};

/* DATA / I-DATA flags (RFC 9260 section 3.3.1, RFC 7053 I bit). */
#define PM_DATA_END       0x01
#define PM_DATA_BEGIN     0x02
#define PM_DATA_UNORDERED 0x04
#define PM_DATA_IMMEDIATE 0x08
/* ABORT / SHUTDOWN-COMPLETE: the T bit (verification tag reflected). */
#define PM_CHUNK_FLAG_T 0x01

/* RFC 9260 section 3.3.10: error cause codes we send or name in logs. */
enum {
    PM_CAUSE_INVALID_STREAM = 1,
    PM_CAUSE_MISSING_PARAM = 2,
    PM_CAUSE_STALE_COOKIE = 3,
    PM_CAUSE_OUT_OF_RESOURCE = 4,
    PM_CAUSE_UNRECOGNIZED_CHUNK = 6,
    PM_CAUSE_INVALID_PARAM = 7,
    PM_CAUSE_UNRECOGNIZED_PARAMS = 8,
    PM_CAUSE_NO_USER_DATA = 9,
    PM_CAUSE_COOKIE_IN_SHUTDOWN = 10,
    PM_CAUSE_RESTART_NEW_ADDRESSES = 11,
    PM_CAUSE_USER_ABORT = 12,
    PM_CAUSE_PROTOCOL_VIOLATION = 13,
};

/* RFC 6525 section 4: RE-CONFIG parameter types and results. */
enum {
    PM_RECONF_OUT_RESET = 13,
    PM_RECONF_IN_RESET = 14,
    PM_RECONF_TSN_RESET = 15,
    PM_RECONF_RESPONSE = 16,
    PM_RECONF_ADD_OUT = 17,
    PM_RECONF_ADD_IN = 18,
};
enum {
    PM_RECONF_SUCCESS_NOTHING = 0,
    PM_RECONF_SUCCESS_PERFORMED = 1,
    PM_RECONF_DENIED = 2,
    PM_RECONF_ERROR_WRONG_SSN = 3,
    PM_RECONF_ERROR_IN_PROGRESS = 4,
    PM_RECONF_ERROR_BAD_SEQ = 5,
    PM_RECONF_IN_PROGRESS = 6,
};

/* ---- the packet ---- */

typedef struct pm_sctp_header {
    uint16_t src_port, dst_port;
    uint32_t vtag;
} pm_sctp_header;

/** Parse the common header; PM_ERR_PARSE when shorter than 12 bytes. */
int pm_chunk_parse_header(const uint8_t *pkt, size_t len, pm_sctp_header *h);
/** Write the common header with a zero checksum field. */
void pm_chunk_write_header(uint8_t *pkt, uint16_t src, uint16_t dst, uint32_t vtag);
/** RFC 9260 Appendix A: store the CRC32c of the whole packet. */
void pm_chunk_set_crc(uint8_t *pkt, size_t len);
/** True when the packet's CRC32c matches. */
bool pm_chunk_crc_ok(const uint8_t *pkt, size_t len);
/** True when the checksum field is zero (RFC 9653). */
bool pm_chunk_crc_zero(const uint8_t *pkt, size_t len);

/** One chunk as found in a packet; `value` excludes the 4-byte chunk header. */
typedef struct pm_chunk {
    uint8_t type, flags;
    const uint8_t *value;
    size_t value_len;
} pm_chunk;

typedef struct pm_chunk_iter {
    const uint8_t *pkt;
    size_t len, off;
} pm_chunk_iter;

/** Iterate the chunks of a packet (after its common header). */
void pm_chunk_iter_init(pm_chunk_iter *it, const uint8_t *pkt, size_t len);
/** 1: `c` is the next chunk; 0: no more; PM_ERR_PARSE: a chunk length is
 *  wrong (the rest of the packet must be ignored). */
int pm_chunk_next(pm_chunk_iter *it, pm_chunk *c);

/* ---- DATA and I-DATA ---- */

typedef struct pm_chunk_data {
    bool idata;
    uint8_t flags; /**< PM_DATA_* */
    uint32_t tsn;
    uint16_t sid;
    uint32_t mid;  /**< SSN (DATA, 16 bits) or MID (I-DATA) */
    uint32_t fsn;  /**< I-DATA: fragment sequence number (0 on the first) */
    uint32_t ppid; /**< DATA: always; I-DATA: on the first fragment only */
    const uint8_t *payload;
    size_t len; /**< never 0 (RFC 9260 section 3.3.1: no user data is an error) */
} pm_chunk_data;

/** DATA or I-DATA (by c->type). PM_ERR_PARSE also for an empty payload. */
int pm_chunk_parse_data(const pm_chunk *c, pm_chunk_data *d);
/** Header size of a DATA (false) or I-DATA (true) chunk. */
static inline size_t pm_chunk_data_header(bool idata)
{
    return idata ? PM_SCTP_IDATA_HDR : PM_SCTP_DATA_HDR;
}
/** Write a DATA or I-DATA chunk with `d->len` bytes of `d->payload`, padded. */
size_t pm_chunk_write_data(uint8_t *out, size_t cap, const pm_chunk_data *d);

/* ---- INIT and INIT-ACK ---- */

typedef struct pm_chunk_init {
    uint32_t initiate_tag;
    uint32_t a_rwnd;
    uint16_t out_streams, in_streams;
    uint32_t initial_tsn;
    bool forward_tsn;      /**< RFC 3758 Forward-TSN-Supported, or FORWARD-TSN listed */
    bool idata;            /**< I-DATA and I-FORWARD-TSN listed (RFC 8260 section 2.2.1) */
    bool reconfig;         /**< RE-CONFIG listed (RFC 6525 section 5.1) */
    bool zero_checksum;    /**< RFC 9653: takes packets without a CRC32c (over DTLS) */
    const uint8_t *cookie; /**< INIT-ACK: the State Cookie (required) */
    size_t cookie_len;
} pm_chunk_init;

/** INIT or INIT-ACK (by c->type). */
int pm_chunk_parse_init(const pm_chunk *c, pm_chunk_init *i);
/** Write INIT (type PM_CHUNK_INIT) or INIT-ACK (with i->cookie). */
size_t pm_chunk_write_init(uint8_t *out, size_t cap, uint8_t type, const pm_chunk_init *i);

/* ---- SACK ---- */

typedef struct pm_chunk_sack {
    uint32_t cum_tsn;
    uint32_t a_rwnd;
    uint16_t ngaps, ndups;
    const uint8_t *gaps; /**< ngaps x (start, end), offsets from cum_tsn */
    const uint8_t *dups; /**< ndups x TSN */
} pm_chunk_sack;

int pm_chunk_parse_sack(const pm_chunk *c, pm_chunk_sack *s);
static inline void pm_chunk_sack_gap(const pm_chunk_sack *s, size_t i, uint16_t *start,
                                     uint16_t *end)
{
    *start = pm_rd16(s->gaps + 4 * i);
    *end = pm_rd16(s->gaps + 4 * i + 2);
}
typedef struct pm_sack_gap {
    uint16_t start, end;
} pm_sack_gap;
/** Write a SACK; as many gap blocks and then duplicates as fit are written
 *  (*ngaps and *ndups are set to the numbers written). */
size_t pm_chunk_write_sack(uint8_t *out, size_t cap, uint32_t cum_tsn, uint32_t a_rwnd,
                           const pm_sack_gap *gaps, size_t *ngaps, const uint32_t *dups,
                           size_t *ndups);

/* ---- FORWARD-TSN and I-FORWARD-TSN ---- */

typedef struct pm_chunk_fwd {
    bool idata;
    uint32_t new_cum_tsn;
    size_t count; /**< stream entries */
    const uint8_t *entries;
} pm_chunk_fwd;

typedef struct pm_fwd_entry {
    uint16_t sid;
    bool unordered; /**< I-FORWARD-TSN only */
    uint32_t mid;   /**< SSN (FORWARD-TSN) or MID */
} pm_fwd_entry;

int pm_chunk_parse_fwd(const pm_chunk *c, pm_chunk_fwd *f);
void pm_chunk_fwd_entry(const pm_chunk_fwd *f, size_t i, pm_fwd_entry *e);
/** Write FORWARD-TSN (idata false) or I-FORWARD-TSN; as many entries as fit
 *  (*n is set to the number written). */
size_t pm_chunk_write_fwd(uint8_t *out, size_t cap, bool idata, uint32_t new_cum_tsn,
                          const pm_fwd_entry *e, size_t *n);

/* ---- RE-CONFIG (RFC 6525) ---- */

typedef struct pm_reconf_param {
    uint16_t type;     /**< PM_RECONF_* */
    uint32_t req_seq;  /**< requests; RESPONSE: the response sequence number */
    uint32_t resp_seq; /**< OUT_RESET: the response sequence number it answers */
    uint32_t last_tsn; /**< OUT_RESET: the sender's last assigned TSN */
    uint32_t result;   /**< RESPONSE */
    uint16_t nsids;    /**< OUT_RESET / IN_RESET: 0 means every stream */
    const uint8_t *sids;
    uint16_t new_streams; /**< ADD_OUT / ADD_IN */
} pm_reconf_param;

/** Iterate the parameters of a RE-CONFIG chunk (RFC 6525 section 3.1: one or two). */
typedef struct pm_reconf_iter {
    const uint8_t *p;
    size_t len, off;
} pm_reconf_iter;
void pm_reconf_iter_init(pm_reconf_iter *it, const pm_chunk *c);
/** 1: next parameter in *p (unknown types have only `type` set); 0: end; PM_ERR_PARSE. */
int pm_reconf_next(pm_reconf_iter *it, pm_reconf_param *p);
static inline uint16_t pm_reconf_sid(const pm_reconf_param *p, size_t i)
{
    return pm_rd16(p->sids + 2 * i);
}
/** RE-CONFIG with one Outgoing SSN Reset Request (nsids 0: every stream). */
size_t pm_chunk_write_reconf_out_reset(uint8_t *out, size_t cap, uint32_t req_seq,
                                       uint32_t resp_seq, uint32_t last_tsn, const uint16_t *sids,
                                       size_t nsids);
/** RE-CONFIG with one Re-configuration Response. */
size_t pm_chunk_write_reconf_response(uint8_t *out, size_t cap, uint32_t resp_seq, uint32_t result);

/* ---- everything else ---- */

/** A chunk with no value (COOKIE-ACK, SHUTDOWN-ACK, SHUTDOWN-COMPLETE). */
size_t pm_chunk_write_empty(uint8_t *out, size_t cap, uint8_t type, uint8_t flags);
/** A chunk whose value is given bytes (COOKIE-ECHO; HEARTBEAT/-ACK info). */
size_t pm_chunk_write_raw(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                          const uint8_t *value, size_t len);
/** SHUTDOWN: cumulative TSN ack. */
int pm_chunk_parse_shutdown(const pm_chunk *c, uint32_t *cum_tsn);
size_t pm_chunk_write_shutdown(uint8_t *out, size_t cap, uint32_t cum_tsn);
/** HEARTBEAT / HEARTBEAT-ACK: the Heartbeat Info parameter's body. */
int pm_chunk_parse_heartbeat(const pm_chunk *c, const uint8_t **info, size_t *len);
size_t pm_chunk_write_heartbeat(uint8_t *out, size_t cap, uint8_t type, const uint8_t *info,
                                size_t len);
/** ABORT or ERROR with one cause (`info` may be NULL when len is 0). */
size_t pm_chunk_write_cause(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, uint16_t code,
                            const uint8_t *info, size_t len);
/** The first error cause of an ABORT or ERROR: 0 when there is none. */
int pm_chunk_first_cause(const pm_chunk *c, uint16_t *code, const uint8_t **info, size_t *len);

/** Serial number arithmetic (RFC 1982) on TSNs and 32-bit MIDs. */
static inline bool pm_tsn_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool pm_tsn_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
/** The same on 16-bit SSNs. */
static inline bool pm_ssn_lt(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(a - b) < 0;
}

#endif
