/*
 * Names of multiplayer.h's enums: Godot's spellings (the signal names
 * peer_connected, ..., and the enum names of TransferMode and
 * ConnectionStatus); and of enet.h's (ENet's own, lower case). Pure: it sees
 * the public headers only, so every build has them (the WebAssembly one,
 * which has no ENet, too).
 */
#include "peermesh/enet.h"
#include "peermesh/multiplayer.h"

const char *pm_mp_event_type_to_string(pm_mp_event_type type)
{
    switch (type) {
    case PM_MP_EVENT_PEER_CONNECTED:
        return "peer_connected";
    case PM_MP_EVENT_PEER_DISCONNECTED:
        return "peer_disconnected";
    case PM_MP_EVENT_CONNECTION_SUCCEEDED:
        return "connection_succeeded";
    case PM_MP_EVENT_CONNECTION_FAILED:
        return "connection_failed";
    case PM_MP_EVENT_SERVER_DISCONNECTED:
        return "server_disconnected";
    case PM_MP_EVENT_HOST_CHANGED:
        return "host_changed";
    }
    return "unknown";
}

const char *pm_mp_status_to_string(pm_mp_status status)
{
    switch (status) {
    case PM_MP_DISCONNECTED:
        return "disconnected";
    case PM_MP_CONNECTING:
        return "connecting";
    case PM_MP_CONNECTED:
        return "connected";
    }
    return "unknown";
}

const char *pm_mp_transfer_mode_to_string(pm_mp_transfer_mode mode)
{
    switch (mode) {
    case PM_MP_TRANSFER_UNRELIABLE:
        return "unreliable";
    case PM_MP_TRANSFER_UNRELIABLE_ORDERED:
        return "unreliable_ordered";
    case PM_MP_TRANSFER_RELIABLE:
        return "reliable";
    }
    return "unknown";
}

const char *pm_enet_event_type_to_string(pm_enet_event_type type)
{
    switch (type) {
    case PM_ENET_EVENT_ERROR:
        return "error";
    case PM_ENET_EVENT_NONE:
        return "none";
    case PM_ENET_EVENT_CONNECT:
        return "connect";
    case PM_ENET_EVENT_DISCONNECT:
        return "disconnect";
    case PM_ENET_EVENT_RECEIVE:
        return "receive";
    }
    return "unknown";
}

const char *pm_enet_peer_state_to_string(pm_enet_peer_state state)
{
    static const char *const names[] = {
        [PM_ENET_PEER_DISCONNECTED] = "disconnected",
        [PM_ENET_PEER_CONNECTING] = "connecting",
        [PM_ENET_PEER_ACKNOWLEDGING_CONNECT] = "acknowledging_connect",
        [PM_ENET_PEER_CONNECTION_PENDING] = "connection_pending",
        [PM_ENET_PEER_CONNECTION_SUCCEEDED] = "connection_succeeded",
        [PM_ENET_PEER_CONNECTED] = "connected",
        [PM_ENET_PEER_DISCONNECT_LATER] = "disconnect_later",
        [PM_ENET_PEER_DISCONNECTING] = "disconnecting",
        [PM_ENET_PEER_ACKNOWLEDGING_DISCONNECT] = "acknowledging_disconnect",
        [PM_ENET_PEER_ZOMBIE] = "zombie",
    };
    int i = (int)state;
    return i >= 0 && i < (int)(sizeof names / sizeof names[0]) ? names[i] : "unknown";
}
