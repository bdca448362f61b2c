/*
 * Names of rtc.h's enums: the W3C spellings (RTCPeerConnectionState,
 * RTCSignalingState, ...), for logs and summaries. Pure: it sees the public
 * header only, so every build of rtc.h (native, WebAssembly) can compile it.
 */
#include "peermesh/rtc.h"

#define NAME_OR_UNKNOWN(table, value)                                                              \
    ((value) >= 0 && (size_t)(value) < sizeof(table) / sizeof((table)[0]) && (table)[value]        \
         ? (table)[value]                                                                          \
         : "unknown")

const char *pm_rtc_state_to_string(pm_rtc_state state)
{
    static const char *const names[] = {
        [PM_RTC_STATE_NEW] = "new",
        [PM_RTC_STATE_CONNECTING] = "connecting",
        [PM_RTC_STATE_CONNECTED] = "connected",
        [PM_RTC_STATE_DISCONNECTED] = "disconnected",
        [PM_RTC_STATE_FAILED] = "failed",
        [PM_RTC_STATE_CLOSED] = "closed",
    };
    return NAME_OR_UNKNOWN(names, (int)state);
}

const char *pm_rtc_gathering_state_to_string(pm_rtc_gathering_state state)
{
    static const char *const names[] = {
        [PM_RTC_GATHERING_NEW] = "new",
        [PM_RTC_GATHERING_GATHERING] = "gathering",
        [PM_RTC_GATHERING_COMPLETE] = "complete",
    };
    return NAME_OR_UNKNOWN(names, (int)state);
}

const char *pm_rtc_signaling_state_to_string(pm_rtc_signaling_state state)
{
    static const char *const names[] = {
        [PM_RTC_SIGNALING_STABLE] = "stable",
        [PM_RTC_SIGNALING_HAVE_LOCAL_OFFER] = "have-local-offer",
        [PM_RTC_SIGNALING_HAVE_REMOTE_OFFER] = "have-remote-offer",
        [PM_RTC_SIGNALING_HAVE_LOCAL_PRANSWER] = "have-local-pranswer",
        [PM_RTC_SIGNALING_HAVE_REMOTE_PRANSWER] = "have-remote-pranswer",
        [PM_RTC_SIGNALING_CLOSED] = "closed",
    };
    return NAME_OR_UNKNOWN(names, (int)state);
}

const char *pm_rtc_channel_state_to_string(pm_rtc_channel_state state)
{
    static const char *const names[] = {
        [PM_RTC_CHANNEL_CONNECTING] = "connecting",
        [PM_RTC_CHANNEL_OPEN] = "open",
        [PM_RTC_CHANNEL_CLOSING] = "closing",
        [PM_RTC_CHANNEL_CLOSED] = "closed",
    };
    return NAME_OR_UNKNOWN(names, (int)state);
}

const char *pm_rtc_event_type_to_string(pm_rtc_event_type type)
{
    static const char *const names[] = {
        [PM_RTC_EVENT_DESCRIPTION] = "description",
        [PM_RTC_EVENT_CANDIDATE] = "candidate",
        [PM_RTC_EVENT_DATA_CHANNEL] = "data-channel",
        [PM_RTC_EVENT_STATE] = "state",
        [PM_RTC_EVENT_GATHERING_STATE] = "gathering-state",
        [PM_RTC_EVENT_SIGNALING_STATE] = "signaling-state",
        [PM_RTC_EVENT_CHANNEL_OPEN] = "channel-open",
        [PM_RTC_EVENT_CHANNEL_CLOSED] = "channel-closed",
        [PM_RTC_EVENT_CHANNEL_MESSAGE] = "channel-message",
        [PM_RTC_EVENT_BUFFERED_AMOUNT_LOW] = "buffered-amount-low",
        [PM_RTC_EVENT_ICE_CANDIDATE_ERROR] = "ice-candidate-error",
        [PM_RTC_EVENT_SELECTED_PAIR] = "selected-pair",
    };
    return NAME_OR_UNKNOWN(names, (int)type);
}
