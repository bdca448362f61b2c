/*
 * pm_rtc_peer over the browser's RTCPeerConnection: configuration, JSEP
 * with the native stack's checks and error codes, the notes the browser
 * queued (applied in poll), and the event queue.
 */
#include "web/rtc_web.h"
#include "wire/candidate.h"
#include "wire/sdp.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <strings.h>

void pm_rtc_config_default(pm_rtc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enable_ipv6 = true;
    cfg->include_loopback = true;
    cfg->max_message_size = PM_WEB_DEFAULT_MAX_MESSAGE;
    cfg->consent_timeout = PM_SEC(30);
    cfg->disconnected_after = PM_SEC(5);
}

/* ---- events ---------------------------------------------------------- */

void pm_web_emit(pm_rtc_peer *pc, pm_rtc_event_type type, pm_rtc_channel *ch, int state,
                 const char *s1, const char *s2)
{
    uint8_t hdr[8];
    uint32_t handle = ch ? ch->handle : 0;
    memcpy(hdr, &handle, 4);
    memcpy(hdr + 4, &state, 4);
    size_t l1 = s1 ? strlen(s1) + 1 : 0, l2 = s2 ? strlen(s2) + 1 : 0;
    pm_buf b = {0};
    if (pm_buf_append(&pc->env, &b, hdr, sizeof hdr) ||
        (l1 && pm_buf_append(&pc->env, &b, s1, l1)) ||
        (l2 && pm_buf_append(&pc->env, &b, s2, l2)) ||
        pm_fifo_push(&pc->env, &pc->events, (uint32_t)type, b.data, b.len, NULL, 0))
        PM_ERROR(&pc->env, "rtc", "out of memory queueing event %d", (int)type);
    pm_buf_free(&pc->env, &b);
}

bool pm_rtc_peer_next_event(pm_rtc_peer *pc, pm_rtc_event *ev)
{
    if (!pc || !ev)
        return false;
    for (;;) {
        uint32_t tag;
        const uint8_t *d;
        size_t n;
        if (!pm_fifo_peek(&pc->events, &tag, &d, &n)) {
            pm_web_channels_reap(pc);
            return false;
        }
        /* Lend a copy: the queue may grow (and move) before the next call. */
        pc->ev_taken.len = 0;
        int rc = pm_buf_append(&pc->env, &pc->ev_taken, d, n);
        pm_fifo_pop(&pc->events);
        if (rc != PM_OK)
            return false;
        d = pc->ev_taken.data;
        memset(ev, 0, sizeof *ev);
        ev->type = (pm_rtc_event_type)tag;
        uint32_t handle;
        memcpy(&handle, d, 4);
        memcpy(&ev->state, d + 4, 4);
        const char *s1 = n > 8 ? (const char *)d + 8 : NULL;
        const char *s2 = s1 && strlen(s1) + 9 < n ? s1 + strlen(s1) + 1 : NULL;
        if (handle) {
            ev->channel = pm_web_channel_by_handle(pc, handle);
            if (!ev->channel || ev->channel->released)
                continue; /* the channel was given back meanwhile: nothing to report */
        }
        switch (ev->type) {
        case PM_RTC_EVENT_DESCRIPTION:
            ev->sdp_type = s1;
            ev->sdp = s2;
            break;
        case PM_RTC_EVENT_CANDIDATE:
            ev->candidate = s1 ? s1 : "";
            ev->mid = s2 ? s2 : "0";
            ev->mline_index = ev->state;
            ev->state = 0;
            break;
        default:
            break;
        }
        return true;
    }
}

static void set_state(pm_rtc_peer *pc, pm_rtc_state s)
{
    if (pc->state == s || pc->state == PM_RTC_STATE_CLOSED)
        return;
    pc->state = s;
    pm_web_emit(pc, PM_RTC_EVENT_STATE, NULL, (int)s, NULL, NULL);
}

static void set_gathering(pm_rtc_peer *pc, pm_rtc_gathering_state s)
{
    if (pc->gathering == s)
        return;
    pc->gathering = s;
    pm_web_emit(pc, PM_RTC_EVENT_GATHERING_STATE, NULL, (int)s, NULL, NULL);
}

static void set_signaling(pm_rtc_peer *pc, pm_rtc_signaling_state s)
{
    if (pc->signaling == s || pc->signaling == PM_RTC_SIGNALING_CLOSED)
        return;
    pc->signaling = s;
    pm_web_emit(pc, PM_RTC_EVENT_SIGNALING_STATE, NULL, (int)s, NULL, NULL);
}

/* ---- creating -------------------------------------------------------- */

/* RTCConfiguration.iceServers as JSON, from what pm_ice_server_validate accepted. */
static int ice_json(const pm_envr *env, const pm_rtc_config *cfg, pm_buf *out)
{
    int rc = pm_buf_append(env, out, "[", 1);
    for (size_t i = 0; rc == PM_OK && i < cfg->ice_server_count; i++) {
        const pm_ice_server *s = &cfg->ice_servers[i];
        rc = pm_ice_server_validate(s);
        if (rc == PM_OK)
            rc =
                pm_sig_ice_json_append(env, out, s->urls, s->url_count, s->username, s->credential);
    }
    if (rc == PM_OK)
        rc = pm_buf_append(env, out, "]", 2); /* with the terminator */
    return rc;
}

int pm_rtc_peer_new(const pm_rtc_config *cfg_in, pm_rtc_peer **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_rtc_config defaults;
    if (!cfg_in) {
        pm_rtc_config_default(&defaults);
        cfg_in = &defaults;
    }
    if (cfg_in->ice_server_count && !cfg_in->ice_servers)
        return PM_ERR_INVALID;
    pm_envr env;
    pm_env_resolve(&env, cfg_in->env);
    if (cfg_in->external_transport || cfg_in->certificate) {
        PM_ERROR(&env, "rtc", "a browser has no sans-I/O transport and makes its own certificate");
        return PM_ERR_UNSUPPORTED;
    }
    pm_buf ice = {0};
    int rc = ice_json(&env, cfg_in, &ice);
    if (rc != PM_OK) {
        pm_buf_free(&env, &ice);
        return rc;
    }
    pm_rtc_peer *pc = pm_calloc(&env, sizeof *pc);
    if (!pc) {
        pm_buf_free(&env, &ice);
        return PM_ERR_NOMEM;
    }
    pc->env = env;
    pc->next_handle = 1;
    pc->rtt = -1;
    pc->local_max_message =
        cfg_in->max_message_size ? cfg_in->max_message_size : PM_WEB_DEFAULT_MAX_MESSAGE;
    pm_fifo_init(&pc->events, 0);
    pc->js = pm_js_pc_new((const char *)ice.data);
    pm_buf_free(&env, &ice);
    if (!pc->js) {
        PM_ERROR(&env, "rtc", "the browser refused to create an RTCPeerConnection");
        pm_free(&env, pc);
        return PM_ERR_UNSUPPORTED;
    }
    *out = pc;
    return PM_OK;
}

void pm_rtc_peer_close(pm_rtc_peer *pc)
{
    if (!pc || pc->closed)
        return;
    pc->closed = true;
    pm_js_pc_close(pc->js); /* the browser reports nothing after this: we do */
    pm_web_channels_close_all(pc);
    set_signaling(pc, PM_RTC_SIGNALING_CLOSED);
    set_state(pc, PM_RTC_STATE_CLOSED);
}

void pm_rtc_peer_free(pm_rtc_peer *pc)
{
    if (!pc)
        return;
    pm_rtc_peer_close(pc);
    for (size_t i = 0; i < pc->channel_count; i++)
        pm_web_channel_destroy(pc->channels[i]);
    pm_js_pc_free(pc->js);
    pm_free(&pc->env, pc->channels);
    pm_free(&pc->env, pc->local_type);
    pm_free(&pc->env, pc->local_sdp);
    pm_fifo_free(&pc->env, &pc->events);
    pm_buf_free(&pc->env, &pc->ev_taken);
    pm_buf_free(&pc->env, &pc->note1);
    pm_buf_free(&pc->env, &pc->note2);
    pm_envr env = pc->env;
    pm_free(&env, pc);
}

/* ---- JSEP ------------------------------------------------------------ */

int pm_rtc_peer_create_offer(pm_rtc_peer *pc)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    if (pc->offered || pc->have_remote)
        return PM_ERR_STATE;
    pc->offered = true;
    pm_js_pc_create_offer(pc->js);
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
    /* The browser applied its description when it made it; only the same text is accepted. */
    return strcmp(sdp, pc->local_sdp) == 0 ? PM_OK : PM_ERR_UNSUPPORTED;
}

/* The native stack's test of a remote description, so the same SDP fails the same way here. */
static int check_remote(pm_rtc_peer *pc, const char *text, bool is_offer)
{
    pm_sdp *sdp = pm_alloc(&pc->env, sizeof *sdp);
    if (!sdp)
        return PM_ERR_NOMEM;
    int rc = pm_sdp_parse(text, strlen(text), sdp);
    if (rc != PM_OK) {
        PM_WARN(&pc->env, "rtc", "remote %s does not parse", is_offer ? "offer" : "answer");
    } else if (sdp->dc_index < 0) {
        PM_WARN(&pc->env, "rtc", "remote description has no data-channel m-line");
        rc = PM_ERR_PARSE;
    } else if (!sdp->ice_ufrag[0] || !sdp->ice_pwd[0] || !sdp->fingerprint[0] ||
               !sdp->fingerprint_algo[0]) {
        PM_WARN(&pc->env, "rtc", "remote description lacks ICE credentials or fingerprint");
        rc = PM_ERR_PARSE;
    } else if (!is_offer &&
               (sdp->setup == PM_SDP_SETUP_ACTPASS || sdp->setup == PM_SDP_SETUP_HOLDCONN)) {
        PM_WARN(&pc->env, "rtc", "answer with a=setup:actpass or holdconn is invalid");
        rc = PM_ERR_PARSE;
    }
    pm_free(&pc->env, sdp);
    return rc;
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
    if (pc->have_remote)
        return PM_ERR_UNSUPPORTED; /* re-negotiation: not in the native stack either */
    if (is_offer == pc->offered)
        return PM_ERR_STATE; /* an offer after ours, or an answer without one */
    int rc = check_remote(pc, text, is_offer);
    if (rc != PM_OK)
        return rc;
    pc->have_remote = true;
    pc->held_candidates = 0; /* the JS side adds them once the browser took the description */
    pm_js_pc_set_remote(pc->js, is_offer ? "offer" : "answer", text);
    return PM_OK;
}

int pm_rtc_peer_add_ice_candidate(pm_rtc_peer *pc, const char *mid, int mline_index,
                                  const char *candidate)
{
    if (!pc || !candidate)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    while (*candidate == ' ')
        candidate++;
    if (strncmp(candidate, "a=", 2) == 0)
        candidate += 2;
    if (candidate[0]) {
        if (strlen(candidate) >= PM_SDP_CANDIDATE_MAX)
            return PM_ERR_PARSE;
        pm_candidate parsed;
        if (pm_candidate_parse(&parsed, candidate) != PM_OK)
            return PM_ERR_PARSE;
        if (!pc->have_remote && pc->held_candidates >= PM_WEB_PENDING_CANDIDATES)
            return PM_ERR_FULL;
    }
    if (!pc->have_remote)
        pc->held_candidates++; /* the JS side holds it until the remote description */
    /* "candidate:" is what browsers want; the native API takes it with or without. */
    char line[PM_SDP_CANDIDATE_MAX + 16];
    bool prefixed = strncmp(candidate, "candidate:", 10) == 0;
    snprintf(line, sizeof line, "%s%s", candidate[0] && !prefixed ? "candidate:" : "", candidate);
    pm_js_pc_add_candidate(pc->js, mid ? mid : "", mline_index, line);
    return PM_OK;
}

/* ---- driving --------------------------------------------------------- */

static int take_payloads(pm_rtc_peer *pc, const pm_web_note *n)
{
    /* Room for the bytes and a terminator, so strings can be used as they are. */
    size_t l1 = (size_t)(n->len1 > 0 ? n->len1 : 0), l2 = (size_t)(n->len2 > 0 ? n->len2 : 0);
    if (pm_buf_reserve(&pc->env, &pc->note1, l1 + 1) ||
        pm_buf_reserve(&pc->env, &pc->note2, l2 + 1)) {
        pm_js_note_payload(NULL, NULL);
        return PM_ERR_NOMEM;
    }
    pm_js_note_payload(l1 ? pc->note1.data : NULL, l2 ? pc->note2.data : NULL);
    pc->note1.len = l1;
    pc->note1.data[l1] = 0;
    pc->note2.len = l2;
    pc->note2.data[l2] = 0;
    return PM_OK;
}

static void apply_description(pm_rtc_peer *pc, const char *type, const char *sdp)
{
    char *t = pm_strdup(&pc->env, type), *s = pm_strdup(&pc->env, sdp);
    if (!t || !s) {
        pm_free(&pc->env, t);
        pm_free(&pc->env, s);
        PM_ERROR(&pc->env, "rtc", "out of memory keeping the local description");
        return;
    }
    pm_free(&pc->env, pc->local_type);
    pm_free(&pc->env, pc->local_sdp);
    pc->local_type = t;
    pc->local_sdp = s;
    pm_web_emit(pc, PM_RTC_EVENT_DESCRIPTION, NULL, 0, t, s);
}

static void apply_data_channel(pm_rtc_peer *pc, const pm_web_note *n)
{
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init);
    init.ordered = n->info[1] != 0;
    init.max_packet_lifetime = n->info[2];
    init.max_retransmits = n->info[3];
    pm_rtc_channel *ch;
    int rc = pm_web_channel_new(pc, n->channel, (const char *)pc->note1.data,
                                (const char *)pc->note2.data, &init, &ch);
    if (rc != PM_OK) {
        PM_ERROR(&pc->env, "rtc", "cannot take the remote's channel: %s", pm_strerror(rc));
        pm_js_dc_close(n->channel);
        pm_js_dc_free(n->channel);
        return;
    }
    ch->id = n->info[0];
    pm_web_emit(pc, PM_RTC_EVENT_DATA_CHANNEL, ch, 0, NULL, NULL);
}

static void apply(pm_rtc_peer *pc, const pm_web_note *n)
{
    const char *p1 = (const char *)pc->note1.data, *p2 = (const char *)pc->note2.data;
    switch ((pm_web_note_kind)n->kind) {
    case PM_WEB_NOTE_STATE:
        set_state(pc, (pm_rtc_state)n->value);
        break;
    case PM_WEB_NOTE_GATHERING:
        set_gathering(pc, (pm_rtc_gathering_state)n->value);
        break;
    case PM_WEB_NOTE_SIGNALING:
        set_signaling(pc, (pm_rtc_signaling_state)n->value);
        break;
    case PM_WEB_NOTE_DESCRIPTION:
        apply_description(pc, p1, p2);
        break;
    case PM_WEB_NOTE_CANDIDATE:
        pm_web_emit(pc, PM_RTC_EVENT_CANDIDATE, NULL, n->value, p2, p1);
        break;
    case PM_WEB_NOTE_ERROR:
        /* value 1: a JSEP step failed, and the connection with it (the native
         * stack would have refused the call); 0: a candidate it did not take. */
        if (n->value) {
            PM_ERROR(&pc->env, "rtc", "the browser failed %s", p1);
            set_state(pc, PM_RTC_STATE_FAILED);
        } else {
            PM_INFO(&pc->env, "rtc", "the browser ignored %s", p1);
        }
        break;
    case PM_WEB_NOTE_DATA_CHANNEL:
        apply_data_channel(pc, n);
        break;
    case PM_WEB_NOTE_CHANNEL_OPEN:
    case PM_WEB_NOTE_CHANNEL_CLOSED:
    case PM_WEB_NOTE_CHANNEL_MESSAGE:
    case PM_WEB_NOTE_BUFFERED_LOW: {
        pm_rtc_channel *ch = pm_web_channel_by_js(pc, n->channel);
        if (ch)
            pm_web_channel_apply(ch, n, pc->note1.data);
        break;
    }
    case PM_WEB_NOTE_RTT:
        pc->rtt = n->value;
        break;
    default:
        break;
    }
}

int pm_rtc_peer_poll(pm_rtc_peer *pc)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    pm_web_note n;
    while (!pc->closed && pm_js_pc_next(pc->js, &n)) {
        if (take_payloads(pc, &n) != PM_OK) {
            PM_ERROR(&pc->env, "rtc", "out of memory: a browser notification was lost");
            continue;
        }
        apply(pc, &n);
    }
    pm_time now = pm_env_now(&pc->env);
    if (pc->state == PM_RTC_STATE_CONNECTED && now >= pc->next_stats) {
        pc->next_stats = now + PM_WEB_STATS_PERIOD;
        pm_js_pc_request_stats(pc->js);
    }
    return PM_OK;
}

pm_time pm_rtc_peer_next_timeout(const pm_rtc_peer *pc)
{
    if (!pc || pc->closed)
        return PM_TIME_NEVER;
    if (pm_js_pc_pending(pc->js))
        return pm_env_now(&pc->env);
    return pc->state == PM_RTC_STATE_CONNECTED ? pc->next_stats : PM_TIME_NEVER;
}

/* ---- getters --------------------------------------------------------- */

pm_rtc_state pm_rtc_peer_get_state(const pm_rtc_peer *pc)
{
    return pc ? pc->state : PM_RTC_STATE_CLOSED;
}

pm_rtc_gathering_state pm_rtc_peer_get_gathering_state(const pm_rtc_peer *pc)
{
    return pc ? pc->gathering : PM_RTC_GATHERING_NEW;
}

pm_rtc_signaling_state pm_rtc_peer_get_signaling_state(const pm_rtc_peer *pc)
{
    return pc ? pc->signaling : PM_RTC_SIGNALING_CLOSED;
}

size_t pm_rtc_peer_max_message_size(const pm_rtc_peer *pc)
{
    if (!pc)
        return 0;
    double remote = pc->closed ? 0 : pm_js_pc_max_message(pc->js);
    if (!(remote > 0))
        remote = PM_WEB_REMOTE_MAX_MESSAGE; /* no SCTP transport yet */
    return remote > pc->local_max_message ? pc->local_max_message : (size_t)remote;
}

pm_time pm_rtc_peer_rtt(const pm_rtc_peer *pc)
{
    return pc ? pc->rtt : -1;
}

/* The browser's own SCTP carries the data channels. */
const char *pm_rtc_sctp_implementation(void)
{
    return "browser";
}
