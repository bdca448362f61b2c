/*
 * JSEP (RFC 8829) for a data-only session: offers and answers are built from
 * our own state (WEBRTC-NOTES 1.3) and never echo what we do not implement.
 */
#include "rtc_internal.h"

#include "wire/candidate.h"

#include <stdio.h>
#include <strings.h>

/* For logs: the a=setup: value, "none" without one. */
static const char *setup_name(pm_sdp_setup s)
{
    const char *name = pm_sdp_setup_name(s);
    return name ? name : "none";
}

int pm_rtc_build_local(pm_rtc_peer *pc, bool is_offer, const pm_sdp *offer)
{
    pm_sdp_local l;
    memset(&l, 0, sizeof l);
    l.session_id = pc->session_id;
    l.session_version = pc->session_version;
    l.mid = pc->mid;
    l.ice_ufrag = pm_ice_local_ufrag(pc->ice);
    l.ice_pwd = pm_ice_local_pwd(pc->ice);
    l.fingerprint = pm_rtc_certificate_fingerprint(pc->cert);
    /* RFC 8842 section 5.2: the offerer says actpass; we answer active so our
     * ClientHello can leave as soon as ICE works (RFC 5763 section 5). */
    /* A later offer (ICE restart) states the role DTLS already has: the
     * association is kept, so there is nothing to choose (RFC 8842 5.5). */
    l.setup = is_offer && !pc->negotiated
                  ? PM_SDP_SETUP_ACTPASS
                  : (pc->dtls_client ? PM_SDP_SETUP_ACTIVE : PM_SDP_SETUP_PASSIVE);
    l.sctp_port = PM_RTC_SCTP_PORT;
    l.max_message_size = pc->local_max_message;
    l.zero_checksum = pm_sctp_takes_zero_checksum();
    l.bundle = is_offer ? true : (offer && offer->bundle);
    l.offer = is_offer ? NULL : offer;
    size_t cap = 4096;
    char *buf = pm_alloc(&pc->env, cap);
    if (!buf)
        return PM_ERR_NOMEM;
    int n = pm_sdp_build(&l, buf, cap);
    if (n < 0) {
        pm_free(&pc->env, buf);
        return n;
    }
    char *fit = pm_realloc(&pc->env, buf, (size_t)n + 1); /* kept for the connection's life */
    if (fit)
        buf = fit;
    pm_free(&pc->env, pc->local_sdp);
    pm_free(&pc->env, pc->local_type);
    pc->local_sdp = buf;
    pc->local_type = pm_strdup(&pc->env, is_offer ? "offer" : "answer");
    PM_DEBUG(&pc->env, "rtc", "local %s (setup %s)", pc->local_type, setup_name(l.setup));
    return PM_OK;
}

static void set_signaling(pm_rtc_peer *pc, pm_rtc_signaling_state s)
{
    if (pc->signaling == s)
        return;
    pc->signaling = s;
    pm_rtc_emit(pc, PM_RTC_EVENT_SIGNALING_STATE, NULL, (int)s);
}

static void start_gathering(pm_rtc_peer *pc)
{
    if (pc->gathering != PM_RTC_GATHERING_NEW)
        return;
    pc->gathering = PM_RTC_GATHERING_GATHERING;
    pm_rtc_emit(pc, PM_RTC_EVENT_GATHERING_STATE, NULL, (int)pc->gathering);
    pm_ice_gather(pc->ice, pc->now);
    if (pc->state == PM_RTC_STATE_NEW)
        pm_rtc_set_state(pc, PM_RTC_STATE_CONNECTING);
}

int pm_rtc_peer_create_offer(pm_rtc_peer *pc)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (pc->signaling != PM_RTC_SIGNALING_STABLE || pc->negotiated || pc->have_remote)
        return PM_ERR_STATE;
    pc->offerer = true;
    pm_ice_set_controlling(pc->ice, true);
    int rc = pm_rtc_build_local(pc, true, NULL);
    if (rc != PM_OK)
        return rc;
    set_signaling(pc, PM_RTC_SIGNALING_HAVE_LOCAL_OFFER);
    pm_rtc_emit_text(pc, PM_RTC_EVENT_DESCRIPTION, "offer", pc->local_sdp);
    start_gathering(pc);
    pm_rtc_drive(pc);
    return PM_OK;
}

int pm_rtc_peer_set_local_description(pm_rtc_peer *pc, const char *type, const char *sdp)
{
    if (!pc || !type || !sdp)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (!pc->local_type || strcmp(type, pc->local_type) != 0)
        return PM_ERR_STATE;
    /* Our descriptions are applied when created; only the same text is accepted. */
    return strcmp(sdp, pc->local_sdp) == 0 ? PM_OK : PM_ERR_UNSUPPORTED;
}

/* Our DTLS role from the remote's a=setup: first negotiation. */
static int choose_role(pm_rtc_peer *pc, pm_sdp_setup setup, bool is_offer)
{
    if (is_offer) {
        /* Their actpass or passive: we are the DTLS client; their active: server. */
        pc->dtls_client = setup != PM_SDP_SETUP_ACTIVE;
        return PM_OK;
    }
    if (setup == PM_SDP_SETUP_ACTPASS || setup == PM_SDP_SETUP_HOLDCONN) {
        PM_WARN(&pc->env, "rtc", "answer with a=setup:%s is invalid", setup_name(setup));
        return PM_ERR_PARSE;
    }
    pc->dtls_client = setup == PM_SDP_SETUP_PASSIVE;
    return PM_OK;
}

/* A later description (ICE restart) must keep the DTLS association: same
 * fingerprint, and a setup that does not flip the roles. */
static int check_same_dtls(pm_rtc_peer *pc, const pm_sdp *sdp, pm_sdp_setup setup)
{
    if (strcasecmp(sdp->fingerprint_algo, pc->remote_fp_algo) != 0 ||
        strcasecmp(sdp->fingerprint, pc->remote_fp) != 0) {
        PM_WARN(&pc->env, "rtc", "re-negotiation with a new DTLS fingerprint is not supported");
        return PM_ERR_UNSUPPORTED;
    }
    bool flips = (setup == PM_SDP_SETUP_ACTIVE && pc->dtls_client) ||
                 (setup == PM_SDP_SETUP_PASSIVE && !pc->dtls_client);
    if (flips) {
        PM_WARN(&pc->env, "rtc", "re-negotiation that swaps the DTLS roles is not supported");
        return PM_ERR_UNSUPPORTED;
    }
    return PM_OK;
}

/* The remote's ICE credentials: the first ones, or on re-negotiation new
 * ones (an ICE restart, ours or theirs) or the same ones (nothing to do). */
static int take_ice_credentials(pm_rtc_peer *pc, const pm_sdp *sdp, bool is_offer)
{
    bool restart = pc->have_remote && !pm_ice_restarting(pc->ice) && is_offer;
    if (restart) {
        if (pm_ice_has_remote_credentials(pc->ice, sdp->ice_ufrag, sdp->ice_pwd))
            return PM_OK; /* unchanged: a re-offer without a restart */
        PM_INFO(&pc->env, "rtc", "remote restarted ICE: restarting ours");
        pm_ice_restart(pc->ice, pc->now);
        pc->gathering = PM_RTC_GATHERING_GATHERING;
        pm_rtc_emit(pc, PM_RTC_EVENT_GATHERING_STATE, NULL, (int)pc->gathering);
    }
    int rc = pm_ice_set_remote_credentials(pc->ice, sdp->ice_ufrag, sdp->ice_pwd, sdp->ice_lite);
    if (rc != PM_OK) {
        PM_WARN(&pc->env, "rtc", "remote ICE credentials rejected%s",
                pc->have_remote ? " (an ICE restart must change them)" : "");
        return PM_ERR_PARSE;
    }
    return PM_OK;
}

/* Pull what we need out of a parsed remote description and check it is usable. */
static int take_remote(pm_rtc_peer *pc, const pm_sdp *sdp, bool is_offer)
{
    if (sdp->dc_index < 0) {
        PM_WARN(&pc->env, "rtc", "remote description has no data-channel m-line");
        return PM_ERR_PARSE;
    }
    if (!sdp->ice_ufrag[0] || !sdp->ice_pwd[0] || !sdp->fingerprint[0] ||
        !sdp->fingerprint_algo[0]) {
        PM_WARN(&pc->env, "rtc", "remote description lacks ICE credentials or fingerprint");
        return PM_ERR_PARSE;
    }
    pm_sdp_setup setup = sdp->setup == PM_SDP_SETUP_NONE
                             ? (is_offer ? PM_SDP_SETUP_ACTPASS : PM_SDP_SETUP_ACTIVE)
                             : sdp->setup;
    int rc = pc->have_remote ? check_same_dtls(pc, sdp, setup) : choose_role(pc, setup, is_offer);
    if (rc != PM_OK)
        return rc;
    rc = take_ice_credentials(pc, sdp, is_offer);
    if (rc != PM_OK)
        return rc;
    if (pc->have_remote)
        return PM_OK; /* the rest was settled by the first negotiation */
    pc->role_known = true;
    snprintf(pc->remote_fp_algo, sizeof pc->remote_fp_algo, "%s", sdp->fingerprint_algo);
    snprintf(pc->remote_fp, sizeof pc->remote_fp, "%s", sdp->fingerprint);
    pc->remote_sctp_port = sdp->sctp_port ? sdp->sctp_port : PM_RTC_SCTP_PORT;
    pc->remote_max_message = sdp->has_max_message_size ? sdp->max_message_size : 65536;
    pc->remote_zero_checksum = sdp->zero_checksum;
    snprintf(pc->mid, sizeof pc->mid, "%s",
             sdp->mlines[sdp->dc_index].mid[0] ? sdp->mlines[sdp->dc_index].mid : "0");
    return PM_OK;
}

static void add_inline_candidates(pm_rtc_peer *pc, const pm_sdp *sdp)
{
    for (int i = 0; i < sdp->candidate_count; i++) {
        int rc = pm_ice_add_remote_candidate(pc->ice, sdp->candidates[i], pc->now);
        if (rc != PM_OK)
            PM_INFO(&pc->env, "rtc", "ignoring remote candidate '%s': %s", sdp->candidates[i],
                    pm_strerror(rc));
    }
    if (sdp->end_of_candidates)
        pm_ice_remote_gathering_done(pc->ice);
}

int pm_rtc_peer_set_remote_description(pm_rtc_peer *pc, const char *type, const char *text)
{
    if (!pc || !type || !text)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    bool is_offer;
    if (strcasecmp(type, "offer") == 0)
        is_offer = true;
    else if (strcasecmp(type, "answer") == 0)
        is_offer = false;
    else
        return strcasecmp(type, "pranswer") == 0 ? PM_ERR_UNSUPPORTED : PM_ERR_INVALID;
    if (is_offer && pc->signaling != PM_RTC_SIGNALING_STABLE)
        return PM_ERR_STATE;
    if (!is_offer && pc->signaling != PM_RTC_SIGNALING_HAVE_LOCAL_OFFER)
        return PM_ERR_STATE;
    bool again = pc->have_remote; /* a later negotiation: ICE restart */

    pm_sdp *sdp = pm_alloc(&pc->env, sizeof *sdp);
    if (!sdp)
        return PM_ERR_NOMEM;
    int rc = pm_sdp_parse(text, strlen(text), sdp);
    if (rc != PM_OK) {
        PM_WARN(&pc->env, "rtc", "remote %s does not parse", type);
    } else {
        rc = take_remote(pc, sdp, is_offer);
    }
    if (rc == PM_OK && is_offer) {
        if (!again) {
            pc->offerer = false;
            /* The answerer is controlled unless the remote is lite. */
            pm_ice_set_controlling(pc->ice, sdp->ice_lite);
        }
        pc->session_version += again ? 1 : 0;
        rc = pm_rtc_build_local(pc, false, sdp);
    }
    if (rc != PM_OK) {
        pm_free(&pc->env, sdp);
        if (!again)
            pc->role_known = false;
        return rc;
    }
    pc->have_remote = true;
    pc->ice_restarting = false;
    if (is_offer) {
        set_signaling(pc, PM_RTC_SIGNALING_HAVE_REMOTE_OFFER);
        pc->negotiated = true;
        set_signaling(pc, PM_RTC_SIGNALING_STABLE);
        pm_rtc_emit_text(pc, PM_RTC_EVENT_DESCRIPTION, "answer", pc->local_sdp);
        start_gathering(pc);
    } else {
        pc->negotiated = true;
        set_signaling(pc, PM_RTC_SIGNALING_STABLE);
    }
    add_inline_candidates(pc, sdp);
    pm_free(&pc->env, sdp);
    pm_rtc_flush_pending_candidates(pc);
    pm_rtc_drive(pc);
    return PM_OK;
}

int pm_rtc_peer_restart_ice(pm_rtc_peer *pc)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (!pc->negotiated || pc->signaling != PM_RTC_SIGNALING_STABLE)
        return PM_ERR_STATE;
    int rc = pm_ice_restart(pc->ice, pc->now);
    if (rc != PM_OK)
        return rc;
    pc->session_version++;
    rc = pm_rtc_build_local(pc, true, NULL);
    if (rc != PM_OK)
        return rc;
    pc->ice_restarting = true;
    PM_INFO(&pc->env, "rtc", "ICE restart: new offer");
    set_signaling(pc, PM_RTC_SIGNALING_HAVE_LOCAL_OFFER);
    pm_rtc_emit_text(pc, PM_RTC_EVENT_DESCRIPTION, "offer", pc->local_sdp);
    pc->gathering = PM_RTC_GATHERING_GATHERING;
    pm_rtc_emit(pc, PM_RTC_EVENT_GATHERING_STATE, NULL, (int)pc->gathering);
    pm_rtc_drive(pc);
    return PM_OK;
}

void pm_rtc_flush_pending_candidates(pm_rtc_peer *pc)
{
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&pc->pending_candidates, NULL, &d, &n)) {
        int rc = pm_ice_add_remote_candidate(pc->ice, (const char *)d, pc->now);
        if (rc != PM_OK)
            PM_INFO(&pc->env, "rtc", "ignoring remote candidate: %s", pm_strerror(rc));
        pm_fifo_pop(&pc->pending_candidates);
    }
    if (pc->pending_end_of_candidates)
        pm_ice_remote_gathering_done(pc->ice);
    pc->pending_end_of_candidates = false;
}

int pm_rtc_peer_add_ice_candidate(pm_rtc_peer *pc, const char *mid, int mline_index,
                                  const char *candidate)
{
    (void)mline_index;
    if (!pc || !candidate)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (mid && mid[0] && pc->have_remote && strcmp(mid, pc->mid) != 0) {
        PM_INFO(&pc->env, "rtc", "candidate for unknown mid '%s' ignored", mid);
        return PM_OK;
    }
    while (*candidate == ' ')
        candidate++;
    if (strncmp(candidate, "a=", 2) == 0)
        candidate += 2;
    if (candidate[0] == '\0') {
        if (pc->have_remote)
            pm_ice_remote_gathering_done(pc->ice);
        else
            pc->pending_end_of_candidates = true;
        pm_rtc_drive(pc);
        return PM_OK;
    }
    if (strlen(candidate) >= PM_SDP_CANDIDATE_MAX)
        return PM_ERR_PARSE;
    if (!pc->have_remote) {
        /* Held until the remote description; a malformed one is refused now. */
        pm_candidate parsed;
        if (pm_candidate_parse(&parsed, candidate) != PM_OK)
            return PM_ERR_PARSE;
        if (pc->pending_candidates.count >= PM_RTC_PENDING_CANDIDATES_MAX)
            return PM_ERR_FULL;
        return pm_fifo_push(&pc->env, &pc->pending_candidates, 0, candidate, strlen(candidate) + 1,
                            NULL, 0);
    }
    int rc = pm_ice_add_remote_candidate(pc->ice, candidate, pc->now);
    if (rc == PM_ERR_UNSUPPORTED) {
        PM_INFO(&pc->env, "rtc", "ignoring unusable candidate '%s'", candidate);
        rc = PM_OK;
    }
    pm_rtc_drive(pc);
    return rc;
}
