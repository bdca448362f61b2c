/*
 * SDP for data-channel sessions (RFC 8866 syntax; RFC 8841 SCTP-over-DTLS,
 * RFC 8839 ICE attributes, RFC 8829 JSEP). Pure codec: no allocation beyond
 * the fixed-size structs, no I/O.
 *
 * The parser accepts what Chromium, Firefox, pion and aiortc produce:
 * session-level ice-ufrag/ice-pwd/fingerprint/setup/ice-options/ice-lite
 * (media level overrides), CRLF or LF line ends, candidates inline,
 * end-of-candidates, unknown attributes and extra (audio/video) m-lines,
 * which are recorded so an answer can reject them. The builder writes only
 * what we implement; it never echoes unknown attributes (no a=sctp-init).
 */
#ifndef PM_SDP_H
#define PM_SDP_H

#include "base/base.h"

#define PM_SDP_MAX_CANDIDATES 32
#define PM_SDP_MAX_MLINES     8
#define PM_SDP_CANDIDATE_MAX  256

typedef enum pm_sdp_setup {
    PM_SDP_SETUP_NONE = 0,
    PM_SDP_SETUP_ACTPASS,
    PM_SDP_SETUP_ACTIVE,
    PM_SDP_SETUP_PASSIVE,
    PM_SDP_SETUP_HOLDCONN,
} pm_sdp_setup;

/** The a=setup: value of `s` (RFC 4145 section 4); NULL for NONE or a value out of range. */
const char *pm_sdp_setup_name(pm_sdp_setup s);

/** Any m-line of the description (only the data-channel one is used). */
typedef struct pm_sdp_mline {
    char media[16]; /**< "application", "audio", "video", ... */
    char proto[40]; /**< "UDP/DTLS/SCTP", "DTLS/SCTP", ... */
    char fmt[64];   /**< "webrtc-datachannel" or the format list (cut at a
                         token boundary if longer; an answer needs only one) */
    char mid[64];
    uint16_t port; /**< m-line port; 0 means rejected/disabled (RFC 3264 section 6) */
    bool is_datachannel;
} pm_sdp_mline;

typedef struct pm_sdp {
    uint64_t session_id;
    uint64_t session_version;
    pm_sdp_mline mlines[PM_SDP_MAX_MLINES];
    int mline_count;
    int dc_index; /**< index of the data-channel m-line, -1 if none */
    char ice_ufrag[257];
    char ice_pwd[257];
    bool ice_lite;
    bool ice_trickle;          /**< a=ice-options contains "trickle" */
    char fingerprint_algo[16]; /**< lower case: "sha-256" */
    char fingerprint[192];     /**< "AB:CD:..." as written */
    pm_sdp_setup setup;
    uint16_t sctp_port; /**< 0 if absent (then 5000 is implied) */
    bool has_max_message_size;
    uint64_t max_message_size; /**< 0 means unlimited (RFC 8841 section 6) */
    bool zero_checksum;        /**< a=peermesh-zero-checksum (see pm_sdp_local) */
    bool bundle;               /**< a=group:BUNDLE present */
    char candidates[PM_SDP_MAX_CANDIDATES][PM_SDP_CANDIDATE_MAX]; /**< "candidate:..." values */
    int candidate_count;
    bool end_of_candidates;
} pm_sdp;

/**
 * Parse `text` (len bytes, need not be NUL-terminated). Fields of the
 * data-channel m-line (or session level) only. Returns PM_OK, or
 * PM_ERR_PARSE for malformed SDP (bad v= line, m-line syntax, overlong
 * values). A valid SDP lacking WebRTC essentials still parses; the caller
 * checks dc_index, ufrag/pwd, fingerprint.
 */
int pm_sdp_parse(const char *text, size_t len, pm_sdp *out);

/** What we put in an offer or answer. */
typedef struct pm_sdp_local {
    uint64_t session_id;
    uint64_t session_version;
    const char *mid; /**< "0" in offers; the offer's mid in answers */
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *fingerprint; /**< "sha-256 AB:CD:..." */
    pm_sdp_setup setup;
    uint16_t sctp_port;
    uint64_t max_message_size;
    /** write a=peermesh-zero-checksum: our SCTP parses RFC 9653's Zero
     *  Checksum Acceptable parameter in an INIT (and takes packets without
     *  a CRC32c), so the other side may announce it in its INIT (pion 3.1
     *  drops an INIT with a parameter it does not know). Others ignore it. */
    bool zero_checksum;
    bool bundle;                   /**< write a=group:BUNDLE <mid> */
    const char *const *candidates; /**< optional inline candidates */
    int candidate_count;
    bool end_of_candidates;
    /** Answer only: the offer's m-lines, so other media are rejected (port 0)
     *  in the same order. NULL for offers. */
    const pm_sdp *offer;
} pm_sdp_local;

/** Write SDP into buf (CRLF lines, NUL-terminated). Returns length or PM_ERR_TOO_BIG. */
int pm_sdp_build(const pm_sdp_local *in, char *buf, size_t cap);

#endif
