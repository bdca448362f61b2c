/* Names of signaling.h's enums, for logs and summaries. Pure: the public header only. */
#include "peermesh/signaling.h"

const char *pm_signal_state_to_string(pm_signal_state state)
{
    switch (state) {
    case PM_SIGNAL_CONNECTING:
        return "connecting";
    case PM_SIGNAL_OPEN:
        return "open";
    case PM_SIGNAL_JOINED:
        return "joined";
    case PM_SIGNAL_SEALED:
        return "sealed";
    case PM_SIGNAL_CLOSED:
        return "closed";
    }
    return "unknown";
}

const char *pm_signal_event_type_to_string(pm_signal_event_type type)
{
    switch (type) {
    case PM_SIGNAL_EVENT_OPEN:
        return "open";
    case PM_SIGNAL_EVENT_ID:
        return "id";
    case PM_SIGNAL_EVENT_JOINED:
        return "joined";
    case PM_SIGNAL_EVENT_PEER_ANNOUNCED:
        return "peer_announced";
    case PM_SIGNAL_EVENT_PEER_LEFT:
        return "peer_left";
    case PM_SIGNAL_EVENT_SEALED:
        return "sealed";
    case PM_SIGNAL_EVENT_CLOSED:
        return "closed";
    case PM_SIGNAL_EVENT_ICE_SERVERS:
        return "ice_servers";
    case PM_SIGNAL_EVENT_PEER_FAILED:
        return "peer_failed";
    case PM_SIGNAL_EVENT_HOST_CHANGED:
        return "host_changed";
    }
    return "unknown";
}
