/*
 * gd3_peer.c — WebRTCPeerConnection on a pm_rtc_peer.
 *
 * Godot's contract (GODOT-SEMANTICS.md section 2): signals come out of
 * poll() on the caller's thread; set_remote_description("offer") answers by
 * itself; initialize() starts over in state NEW. The pm_rtc_peer is made
 * lazily (first call that needs it), so `WebRTCPeerConnection.new()`
 * followed by initialize() binds one socket, not two.
 *
 * Re-entrancy: a handler of our signals may call anything on this
 * connection, including poll() (a nested poll does nothing: the outer one is
 * still delivering), close(), initialize() (the old pm_rtc_peer's remaining
 * events are then dropped) or drop the last reference to the object (its
 * destroy callback runs inside the emit; the loop sees `owner` gone and
 * stops). `busy` keeps our struct alive until the outermost poll returns.
 */
#include "gd3.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct gd3_peer {
    gd_webrtc_peer_connection iface; /* first: Godot holds &iface */
    gd_object *owner;                /* NULL once Godot's object is gone */
    gd3_link *link;                  /* NULL until the first use */
    gd3_rtc_config config;           /* from initialize(); defaults until then */
    bool configured;
    int busy; /* polls in progress */
} gd3_peer;

gd3_link *gd3_link_new(pm_rtc_peer *pc)
{
    gd3_link *link = calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->refs = 1;
    link->pc = pc;
    gd3_live.links++;
    return link;
}

void gd3_link_ref(gd3_link *link)
{
    link->refs++;
}

void gd3_link_unref(gd3_link *link)
{
    if (!link || --link->refs > 0)
        return;
    pm_rtc_peer_free(link->pc);
    free(link);
    gd3_live.links--;
}

/* Close our pm_rtc_peer (if any) and let go of it. */
static void detach(gd3_peer *p)
{
    if (!p->link)
        return;
    pm_rtc_peer_close(p->link->pc);
    gd3_link *link = p->link;
    p->link = NULL;
    gd3_link_unref(link);
}

static void peer_free(gd3_peer *p)
{
    gd3_rtc_config_free(&p->config);
    free(p);
    gd3_live.peers--;
}

/* The pm_rtc_peer, made on first use from the configuration; NULL (logged). */
static pm_rtc_peer *pc_of(gd3_peer *p, const char *what, gd_error *err)
{
    *err = GD_OK;
    if (p->link)
        return p->link->pc;
    gd3_rtc_config fallback;
    gd3_rtc_config *c = &p->config;
    if (!p->configured) {
        *err = gd3_rtc_config_parse(NULL, &fallback);
        if (*err != GD_OK)
            return NULL;
        c = &fallback;
    }
    pm_rtc_peer *pc = NULL;
    int rc = pm_rtc_peer_new(&c->cfg, &pc);
    if (!p->configured)
        gd3_rtc_config_free(&fallback);
    if (rc != PM_OK) {
        gd3_error("%s: cannot create the peer connection: %s", what, pm_strerror(rc));
        *err = gd3_error_from_pm(rc);
        return NULL;
    }
    p->link = gd3_link_new(pc);
    if (!p->link) {
        pm_rtc_peer_free(pc);
        *err = GD_ERR_OUT_OF_MEMORY;
        return NULL;
    }
    return pc;
}

static gd_int get_connection_state(const void *data)
{
    const gd3_peer *p = data;
    return p->link ? (gd_int)pm_rtc_peer_get_state(p->link->pc) : PM_RTC_STATE_NEW;
}

static gd_error initialize(void *data, const gd_dictionary *config)
{
    gd3_peer *p = data;
    gd3_rtc_config parsed;
    gd_error err = gd3_rtc_config_parse(config, &parsed);
    if (err != GD_OK)
        return err; /* logged; the connection is left as it was */
    detach(p);
    gd3_rtc_config_free(&p->config);
    p->config = parsed;
    p->configured = true;
    /* Bind now, so that a bad bind address or a full port range shows here. */
    pc_of(p, "initialize", &err);
    return err;
}

static gd_object *create_data_channel(void *data, const char *label, const gd_dictionary *opts)
{
    gd3_peer *p = data;
    pm_rtc_channel_init init;
    char *protocol;
    if (gd3_channel_init_parse(opts, &init, &protocol) != GD_OK)
        return NULL;
    gd_error err;
    pm_rtc_peer *pc = pc_of(p, "create_data_channel", &err);
    pm_rtc_channel *ch = NULL;
    int rc = pc ? pm_rtc_peer_create_channel(pc, label ? label : "", &init, &ch) : PM_OK;
    free(protocol);
    if (!pc)
        return NULL;
    if (rc != PM_OK) {
        gd3_error("create_data_channel(\"%s\"): %s%s", label ? label : "", pm_strerror(rc),
                  rc == PM_ERR_EXISTS  ? " (that negotiated id is taken)"
                  : rc == PM_ERR_STATE ? " (the connection is closed)"
                                       : "");
        return NULL;
    }
    gd_object *obj = gd3_channel_wrap(p->link, ch);
    if (!obj)
        pm_rtc_channel_release(ch);
    return obj;
}

static gd_error create_offer(void *data)
{
    gd3_peer *p = data;
    gd_error err;
    pm_rtc_peer *pc = pc_of(p, "create_offer", &err);
    if (!pc)
        return err;
    int rc = pm_rtc_peer_create_offer(pc);
    if (rc != PM_OK)
        gd3_error("create_offer: %s (an offer needs a new, open connection)", pm_strerror(rc));
    return gd3_error_from_pm(rc);
}

static gd_error create_answer(void *data)
{
    (void)data;
    return GD_ERR_UNAVAILABLE; /* answers are made by set_remote_description("offer") */
}

static gd_error set_description(gd3_peer *p, bool remote, const char *type, const char *sdp)
{
    const char *what = remote ? "set_remote_description" : "set_local_description";
    if (!type || !sdp || (strcmp(type, "offer") != 0 && strcmp(type, "answer") != 0)) {
        gd3_error("%s: type must be \"offer\" or \"answer\", not \"%s\"", what,
                  type ? type : "(null)");
        return GD_ERR_INVALID_PARAMETER;
    }
    gd_error err;
    pm_rtc_peer *pc = pc_of(p, what, &err);
    if (!pc)
        return err;
    int rc = remote ? pm_rtc_peer_set_remote_description(pc, type, sdp)
                    : pm_rtc_peer_set_local_description(pc, type, sdp);
    if (rc != PM_OK) {
        const char *why = rc == PM_ERR_PARSE         ? "unusable SDP"
                          : rc == PM_ERR_STATE       ? "not expected in this signaling state"
                          : rc == PM_ERR_UNSUPPORTED ? "re-negotiation or a modified SDP"
                          : rc == PM_ERR_CLOSED      ? "the connection is closed"
                                                     : pm_strerror(rc);
        gd3_error("%s(\"%s\"): %s (%s)", what, type, why, pm_strerror(rc));
    }
    return gd3_error_from_pm(rc);
}

static gd_error set_remote_description(void *data, const char *type, const char *sdp)
{
    return set_description(data, true, type, sdp);
}

static gd_error set_local_description(void *data, const char *type, const char *sdp)
{
    return set_description(data, false, type, sdp);
}

static gd_error add_ice_candidate(void *data, const char *mid, int index, const char *cand)
{
    gd3_peer *p = data;
    gd_error err;
    pm_rtc_peer *pc = pc_of(p, "add_ice_candidate", &err);
    if (!pc)
        return err;
    int rc = pm_rtc_peer_add_ice_candidate(pc, mid, index, cand ? cand : "");
    if (rc != PM_OK)
        gd3_error("add_ice_candidate(\"%s\", %d, \"%.120s\"): %s", mid ? mid : "", index,
                  cand ? cand : "", pm_strerror(rc));
    return gd3_error_from_pm(rc);
}

/* One event as a signal on the connection object. */
static void deliver(gd3_peer *p, gd3_link *link, const pm_rtc_event *ev)
{
    gd_variant a[3];
    const gd_variant *args[3] = {&a[0], &a[1], &a[2]};
    switch (ev->type) {
    case PM_RTC_EVENT_DESCRIPTION:
        gd3_variant_from_cstr(&a[0], ev->sdp_type);
        gd3_variant_from_cstr(&a[1], ev->sdp);
        gd3_emit(p->owner, "session_description_created", args, 2);
        gd3_api->variant_destroy(&a[0]);
        gd3_api->variant_destroy(&a[1]);
        break;
    case PM_RTC_EVENT_CANDIDATE:
        if (!ev->candidate || !*ev->candidate)
            break; /* end of candidates: Godot has no way to say it */
        gd3_variant_from_cstr(&a[0], ev->mid);
        gd3_api->variant_new_int(&a[1], ev->mline_index);
        gd3_variant_from_cstr(&a[2], ev->candidate);
        gd3_emit(p->owner, "ice_candidate_created", args, 3);
        for (int i = 0; i < 3; i++)
            gd3_api->variant_destroy(&a[i]);
        break;
    case PM_RTC_EVENT_DATA_CHANNEL: {
        gd_object *obj = gd3_channel_wrap(link, ev->channel);
        if (!obj) {
            pm_rtc_channel_release(ev->channel);
            break;
        }
        /* The variant claims the object's first reference: when the handler
         * keeps none, destroying it frees the object, and its destroy
         * callback releases the channel. */
        gd3_api->variant_new_object(&a[0], obj);
        gd3_emit(p->owner, "data_channel_received", args, 1);
        gd3_api->variant_destroy(&a[0]);
        break;
    }
    default:
        break;
    }
}

static gd_error poll(void *data)
{
    gd3_peer *p = data;
    if (!p->link)
        return GD_OK;
    if (p->busy)
        return GD_OK; /* called from one of our own signals: the outer poll delivers */
    gd3_link *link = p->link;
    gd3_link_ref(link);
    p->busy++;
    int rc = pm_rtc_peer_poll(link->pc);
    pm_rtc_event ev;
    while (p->owner && p->link == link && pm_rtc_peer_next_event(link->pc, &ev))
        deliver(p, link, &ev);
    p->busy--;
    gd3_link_unref(link);
    if (!p->owner && !p->busy) {
        peer_free(p); /* the object died in one of our signals */
        return GD_OK;
    }
    return rc == PM_ERR_CLOSED ? GD_OK : gd3_error_from_pm(rc);
}

static void close_peer(void *data)
{
    gd3_peer *p = data;
    if (p->link)
        pm_rtc_peer_close(p->link->pc);
}

void *gd3_peer_create(gd_object *owner, void *method_data)
{
    (void)method_data;
    gd3_peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->owner = owner;
    p->iface = (gd_webrtc_peer_connection){
        .version = {3, 1},
        .data = p,
        .get_connection_state = get_connection_state,
        .initialize = initialize,
        .create_data_channel = create_data_channel,
        .create_offer = create_offer,
        .create_answer = create_answer,
        .set_remote_description = set_remote_description,
        .set_local_description = set_local_description,
        .add_ice_candidate = add_ice_candidate,
        .poll = poll,
        .close = close_peer,
    };
    gd3_live.peers++;
    gd3_net->bind_webrtc_peer_connection(owner, &p->iface);
    return p;
}

void gd3_peer_destroy(gd_object *owner, void *method_data, void *user_data)
{
    (void)method_data;
    gd3_peer *p = user_data;
    if (!p)
        return;
    gd3_net->bind_webrtc_peer_connection(owner, NULL);
    p->owner = NULL;
    detach(p);
    if (!p->busy)
        peer_free(p);
}
