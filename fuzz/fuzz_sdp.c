/*
 * libFuzzer target for the SDP codec: parse arbitrary bytes; whenever they
 * parse into something with a data-channel m-line, answer it and check that
 * our own answer parses back with the same shape.
 */
#include "wire/sdp.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pm_sdp offer, answer;
    if (pm_sdp_parse((const char *)data, size, &offer) != PM_OK || offer.dc_index < 0)
        return 0;

    const char *cands[PM_SDP_MAX_CANDIDATES];
    for (int i = 0; i < offer.candidate_count; i++)
        cands[i] = offer.candidates[i];
    const char *mid = offer.mlines[offer.dc_index].mid;
    pm_sdp_local l = {
        .session_id = offer.session_id,
        .session_version = offer.session_version,
        .mid = mid,
        .ice_ufrag = "fUzZ",
        .ice_pwd = "fuzzpasswordfuzzpasswd",
        .fingerprint = "sha-256 00:11:22:33",
        .setup = PM_SDP_SETUP_ACTIVE,
        .sctp_port = offer.sctp_port,
        .max_message_size = offer.max_message_size,
        .bundle = offer.bundle,
        .candidates = cands,
        .candidate_count = offer.candidate_count,
        .end_of_candidates = offer.end_of_candidates,
        .offer = &offer,
    };
    static char buf[32768];
    int n = pm_sdp_build(&l, buf, sizeof buf);
    if (n < 0)
        abort(); /* a parsed offer must always be answerable */
    if (pm_sdp_parse(buf, (size_t)n, &answer) != PM_OK)
        abort();
    if (answer.mline_count != offer.mline_count || answer.dc_index != offer.dc_index ||
        answer.candidate_count != offer.candidate_count || strcmp(answer.ice_ufrag, "fUzZ") != 0 ||
        answer.setup != PM_SDP_SETUP_ACTIVE)
        abort();
    for (int i = 0; i < offer.mline_count; i++) {
        if (strcmp(answer.mlines[i].mid, offer.mlines[i].mid) != 0 ||
            strcmp(answer.mlines[i].media, offer.mlines[i].media) != 0)
            abort();
        if (i != offer.dc_index && answer.mlines[i].port != 0)
            abort();
    }
    return 0;
}
