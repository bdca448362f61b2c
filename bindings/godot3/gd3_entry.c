/*
 * gd3_entry.c — the four GDNative entry points, the only symbols the
 * library exports (exports.map).
 *
 * Order of calls by Godot 3.2 for a singleton library listed in
 * project.godot's [gdnative] singletons: godot_gdnative_init, then
 * godot_gdnative_singleton (we become the default WebRTC implementation);
 * godot_nativescript_init when our NativeScript classes are first needed
 * (the first WebRTCPeerConnection.new()); godot_gdnative_terminate at exit.
 */
#include "gd3.h"

#include <stdio.h>

#define GD_EXPORT __attribute__((visibility("default")))

GD_EXPORT void godot_gdnative_init(gd_init_options *options);
GD_EXPORT void godot_gdnative_terminate(gd_terminate_options *options);
GD_EXPORT void godot_gdnative_singleton(void);
GD_EXPORT void godot_nativescript_init(void *handle);

static bool registered; /* we are the engine's default WebRTC library */

static void unregistered(void)
{
    registered = false;
}

/* WebRTCPeerConnection.new() on a native build lands here. */
static gd_error create_peer_connection(gd_object *owner)
{
    if (!registered || !gd3_ns)
        return GD_ERR_UNCONFIGURED;
    void *ud;
    return gd3_attach_script(owner, GD3_PEER_CLASS, &ud) ? GD_OK : GD_FAILED;
}

static const gd_webrtc_library library = {
    .version = {GD_NET_WEBRTC_MAJOR, GD_NET_WEBRTC_MINOR},
    .unregistered = unregistered,
    .create_peer_connection = create_peer_connection,
};

void godot_gdnative_init(gd_init_options *options)
{
    gd3_api = options->api_struct;
    gd3_library = options->gd_native_library;
    for (unsigned i = 0; i < gd3_api->num_extensions; i++) {
        const gd_api_header *ext = gd3_api->extensions[i];
        if (ext->type == GD_EXT_NATIVESCRIPT) {
            gd3_ns = (const gd_nativescript_api *)ext;
        } else if (ext->type == GD_EXT_NET) {
            for (const gd_api_header *n = ext; n; n = n->next) {
                if (n->version.major == GD_NET_WEBRTC_MAJOR &&
                    n->version.minor == GD_NET_WEBRTC_MINOR)
                    gd3_net = (const gd_net_3_2_api *)n;
            }
        }
    }
}

void godot_gdnative_singleton(void)
{
    if (!gd3_api)
        return;
    if (!gd3_ns || !gd3_net) {
        gd3_error("this Godot has no %s: peermesh needs Godot 3.2 or newer with the "
                  "gdnative module",
                  !gd3_ns ? "NativeScript extension" : "net 3.2 (WebRTC) extension");
        return;
    }
    if (!gd3_glue_init())
        return;
    registered = gd3_net->set_webrtc_library(&library) == GD_OK;
    if (!registered)
        gd3_error("the engine refused peermesh as its WebRTC library");
}

void godot_nativescript_init(void *handle)
{
    if (!gd3_ns)
        return;
    gd3_ns->register_class(handle, GD3_PEER_CLASS, "WebRTCPeerConnectionGDNative",
                           (gd_instance_create_func){.create_func = gd3_peer_create},
                           (gd_instance_destroy_func){.destroy_func = gd3_peer_destroy});
    gd3_ns->register_class(handle, GD3_CHANNEL_CLASS, "WebRTCDataChannelGDNative",
                           (gd_instance_create_func){.create_func = gd3_channel_create},
                           (gd_instance_destroy_func){.destroy_func = gd3_channel_destroy});
}

void godot_gdnative_terminate(gd_terminate_options *options)
{
    (void)options;
    if (registered) {
        registered = false;
        gd3_net->set_webrtc_library(NULL);
    }
    if (gd3_api)
        gd3_glue_terminate();
    /* Godot frees every object before it unloads the library: anything of
     * ours still alive here leaked (tests/godot3 look for this line). */
    if (gd3_live.peers || gd3_live.channels || gd3_live.links)
        gd3_error("still alive at exit: %ld connections, %ld channels, %ld native peers",
                  gd3_live.peers, gd3_live.channels, gd3_live.links);
}
