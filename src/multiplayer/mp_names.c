/*
 * Names of multiplayer.h's enums: Godot's spellings (the signal names
 * peer_connected, ..., and the enum names of TransferMode and
 * ConnectionStatus). Pure: it sees the public header only.
 */
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
