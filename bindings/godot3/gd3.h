/*
 * gd3.h — internals of libpeermesh_godot3.so, the GDNative WebRTC library
 * that lets Godot 3.2's WebRTCPeerConnection / WebRTCDataChannel /
 * WebRTCMultiplayer run on peermesh (docs/godot.md).
 *
 * Object model. Godot owns the objects; we own what hangs off them:
 *
 *   WebRTCPeerConnectionGDNative  --script-->  gd3_peer   --ref-->  gd3_link
 *   WebRTCDataChannelGDNative     --script-->  gd3_channel --ref--> gd3_link
 *
 * A gd3_link holds the pm_rtc_peer and is counted: the connection and every
 * channel object of it hold one reference, so a channel object that outlives
 * its connection object keeps working (reads what arrived, reports CLOSED,
 * refuses to send) and the pm_rtc_peer is freed with the last of them. Our
 * state lives as long as Godot's object: NativeScript calls our create
 * callback when the script is attached (we bind the interface there) and our
 * destroy callback when the object dies or its script is replaced (we unbind
 * and close). A poll in progress holds its own reference, so a signal handler
 * that drops the last reference to the connection cannot pull the state out
 * from under the loop that emitted the signal.
 *
 * Everything runs on the thread that calls into Godot's WebRTC classes (the
 * main thread); nothing here is thread-safe, as nothing in peermesh is.
 */
#ifndef PM_GODOT3_GD3_H
#define PM_GODOT3_GD3_H

#include "gdnative_abi.h"

#include "peermesh/rtc.h"

/* ---- the engine's API (gd3_glue.c) ------------------------------------------ */

extern const gd_core_api *gd3_api;
extern const gd_nativescript_api *gd3_ns;
extern const gd_net_3_2_api *gd3_net;
extern gd_object *gd3_library; /* our GDNativeLibrary resource */

/** Class names we register (gd3_entry.c). */
#define GD3_PEER_CLASS    "PeermeshWebRTCPeerConnection"
#define GD3_CHANNEL_CLASS "PeermeshWebRTCDataChannel"

/** Log through Godot: errors and warnings show in the debugger and stderr. */
void gd3_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gd3_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** The pm_env for every peer: log sink into Godot, defaults otherwise. */
const pm_env *gd3_env(void);

/** Godot Error for a pm_err (PM_OK → OK). */
gd_error gd3_error_from_pm(int err);

/** A Godot String variant made from UTF-8. */
void gd3_variant_from_cstr(gd_variant *out, const char *s);

/** The variant as a malloc'd UTF-8 string (any type is converted), or NULL. */
char *gd3_variant_to_cstr(const gd_variant *v);

/** dict[key] into *out (to destroy) when present; false when absent. */
bool gd3_dict_get(const gd_dictionary *dict, const char *key, gd_variant *out);

/**
 * Attach our NativeScript `class_name` to `obj`: NativeScript then calls our
 * create callback, whose instance data lands in *userdata. False (logged)
 * when that failed.
 */
bool gd3_attach_script(gd_object *obj, const char *class_name, void **userdata);

/**
 * Construct a `base_class` object and attach our NativeScript `class_name`
 * to it; returns the object (its initial reference unclaimed, as Godot's
 * constructors do) with our instance data in *userdata, or NULL (logged).
 */
gd_object *gd3_new_scripted(const char *base_class, const char *class_name, void **userdata);

/** Emit `signal` with n arguments on the object. Returns false (logged) on failure. */
bool gd3_emit(gd_object *owner, const char *signal, const gd_variant **args, int n);

/** Look up the method binds and constructors we need; false (logged) if one is missing. */
bool gd3_glue_init(void);
/** Drop the cached NativeScript resources. */
void gd3_glue_terminate(void);

/* ---- configuration dictionaries (gd3_config.c) ------------------------------- */

/** Owned copies of the strings a pm_rtc_config points to. */
typedef struct gd3_rtc_config {
    pm_rtc_config cfg;
    pm_ice_server *servers;
    char **strings; /* everything allocated, freed together */
    size_t string_count;
    size_t string_cap;
} gd3_rtc_config;

/** initialize()'s dictionary (NULL = {}) → config. GD_OK or an error (logged). */
gd_error gd3_rtc_config_parse(const gd_dictionary *dict, gd3_rtc_config *out);
void gd3_rtc_config_free(gd3_rtc_config *c);

/** create_data_channel()'s options; *protocol is malloc'd (or NULL). */
gd_error gd3_channel_init_parse(const gd_dictionary *dict, pm_rtc_channel_init *init,
                                char **protocol);

/* ---- connections and channels (gd3_peer.c, gd3_channel.c) -------------------- */

/** What the connection object and its channel objects share. */
typedef struct gd3_link {
    int refs;
    pm_rtc_peer *pc;
} gd3_link;

gd3_link *gd3_link_new(pm_rtc_peer *pc);
void gd3_link_ref(gd3_link *link);
/** Drop a reference; the last one frees the pm_rtc_peer and its channels. */
void gd3_link_unref(gd3_link *link);

/** NativeScript callbacks of the two classes. */
void *gd3_peer_create(gd_object *owner, void *method_data);
void gd3_peer_destroy(gd_object *owner, void *method_data, void *user_data);
void *gd3_channel_create(gd_object *owner, void *method_data);
void gd3_channel_destroy(gd_object *owner, void *method_data, void *user_data);

/**
 * A new WebRTCDataChannelGDNative object for `ch` of `link` (takes a link
 * reference), or NULL (logged; the caller keeps `ch`).
 */
gd_object *gd3_channel_wrap(gd3_link *link, pm_rtc_channel *ch);

/** Live state counts, for tests and the benchmark. */
typedef struct gd3_stats {
    long peers, channels, links;
} gd3_stats;
extern gd3_stats gd3_live;

#endif
