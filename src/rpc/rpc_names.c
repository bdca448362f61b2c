/*
 * Names of rpc.h's enums: the multiplayer peer's signal names as
 * multiplayer.h spells them (peer_connected, ...; Godot's MultiplayerAPI
 * prefixes network_), ours (call, set, raw), and the GDScript RPC keywords. Pure: public header
 * only, so every build has them (the WebAssembly one too).
 */
#include "peermesh/rpc.h"

const char *pm_rpc_event_type_to_string(pm_rpc_event_type type)
{
    switch (type) {
    case PM_RPC_EVENT_PEER_CONNECTED:
        return "peer_connected";
    case PM_RPC_EVENT_PEER_DISCONNECTED:
        return "peer_disconnected";
    case PM_RPC_EVENT_CONNECTED_TO_SERVER:
        return "connected_to_server";
    case PM_RPC_EVENT_CONNECTION_FAILED:
        return "connection_failed";
    case PM_RPC_EVENT_SERVER_DISCONNECTED:
        return "server_disconnected";
    case PM_RPC_EVENT_HOST_CHANGED:
        return "host_changed";
    case PM_RPC_EVENT_CALL:
        return "call";
    case PM_RPC_EVENT_SET:
        return "set";
    case PM_RPC_EVENT_RAW:
        return "raw";
    }
    return "unknown";
}

const char *pm_rpc_mode_to_string(pm_rpc_mode mode)
{
    switch (mode) {
    case PM_RPC_MODE_DISABLED:
        return "disabled";
    case PM_RPC_MODE_REMOTE:
        return "remote";
    case PM_RPC_MODE_MASTER:
        return "master";
    case PM_RPC_MODE_PUPPET:
        return "puppet";
    case PM_RPC_MODE_REMOTESYNC:
        return "remotesync";
    case PM_RPC_MODE_MASTERSYNC:
        return "mastersync";
    case PM_RPC_MODE_PUPPETSYNC:
        return "puppetsync";
    }
    return "unknown";
}
