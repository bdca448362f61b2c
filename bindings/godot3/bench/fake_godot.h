/*
 * fake_godot.h — just enough of Godot 3.2's GDNative side to load
 * libpeermesh_godot3.so outside Godot: the core functions the add-on calls
 * (strings, variants, dictionaries, arrays, method binds, constructors,
 * printing), NativeScript class registration and the net 3.2 WebRTC
 * binding, all against our own ABI header (gdnative_abi.h).
 *
 * Objects are reference counted as Godot's References are: a new object
 * holds one unclaimed reference, the first variant claims it, and the last
 * variant to go frees the object (running its script's destroy callback).
 * emit_signal is recorded and handed to a callback, so a harness can do the
 * signaling that a game's GDScript would do.
 */
#ifndef PM_GODOT3_FAKE_GODOT_H
#define PM_GODOT3_FAKE_GODOT_H

#include "gdnative_abi.h"

typedef struct fake_object fake_object;

/** Called for every emit_signal: name and up to 3 arguments. */
typedef void (*fake_signal_fn)(void *ud, fake_object *obj, const char *signal,
                               const gd_variant *const *args, int n);

/** Load the library at `path` and run its init, singleton and nativescript entry points. */
bool fake_godot_load(const char *path, fake_signal_fn on_signal, void *ud);
/** Run godot_gdnative_terminate and unload. */
void fake_godot_unload(void);

/** WebRTCPeerConnection.new(): a scripted object, holding one reference for the caller. */
fake_object *fake_peer_connection_new(void);
/** Drop the caller's reference (frees the object at zero). */
void fake_object_unref(fake_object *obj);
void fake_object_ref(fake_object *obj);
/** The interfaces the add-on bound on the object (NULL if unbound). */
const gd_webrtc_peer_connection *fake_pc_iface(const fake_object *obj);
const gd_webrtc_data_channel *fake_dc_iface(const fake_object *obj);

/* Values, for harness code. */
void fake_variant_string(gd_variant *v, const char *s);
void fake_variant_int(gd_variant *v, int64_t i);
void fake_variant_bool(gd_variant *v, bool b);
const char *fake_variant_cstr(const gd_variant *v); /* NULL unless a String */
int64_t fake_variant_int_value(const gd_variant *v);
fake_object *fake_variant_object(const gd_variant *v);
void fake_variant_dictionary(gd_variant *v, const gd_dictionary *d); /* shares d */
void fake_variant_free(gd_variant *v);

/** A dictionary of string keys; values are copied in. */
gd_dictionary fake_dict_new(void);
void fake_dict_set(gd_dictionary *d, const char *key, const gd_variant *value);
void fake_dict_free(gd_dictionary *d);

#endif
