/* Names of enet.h's enums (ENet's own spellings, lower case). Pure: the public header only. */
#include "peermesh/enet.h"

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
