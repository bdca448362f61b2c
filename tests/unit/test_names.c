/*
 * Unit tests: the *_to_string names of the public enums. Every value has
 * its own name, values outside an enum are "unknown", nothing is NULL.
 */
#include "testutil.h"

#include "peermesh/enet.h"
#include "peermesh/rpc.h"
#include "peermesh/signaling.h"

/* Names of values lo..hi: all known and distinct; lo-1 and hi+1 unknown. */
static void check_enum(const char *(*name)(int), int lo, int hi)
{
    for (int v = lo; v <= hi; v++) {
        const char *n = name(v);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int w = lo; w < v; w++)
            assert_string_not_equal(name(w), n);
    }
    assert_string_equal(name(lo - 1), "unknown");
    assert_string_equal(name(hi + 1), "unknown");
}

#define WRAP(fn, type)                                                                             \
    static const char *fn##_int(int v)                                                             \
    {                                                                                              \
        return fn((type)v);                                                                        \
    }
WRAP(pm_rtc_state_to_string, pm_rtc_state)
WRAP(pm_rtc_gathering_state_to_string, pm_rtc_gathering_state)
WRAP(pm_rtc_signaling_state_to_string, pm_rtc_signaling_state)
WRAP(pm_rtc_channel_state_to_string, pm_rtc_channel_state)
WRAP(pm_rtc_event_type_to_string, pm_rtc_event_type)
WRAP(pm_mp_event_type_to_string, pm_mp_event_type)
WRAP(pm_mp_status_to_string, pm_mp_status)
WRAP(pm_mp_transfer_mode_to_string, pm_mp_transfer_mode)
WRAP(pm_signal_state_to_string, pm_signal_state)
WRAP(pm_signal_event_type_to_string, pm_signal_event_type)
WRAP(pm_enet_event_type_to_string, pm_enet_event_type)
WRAP(pm_enet_peer_state_to_string, pm_enet_peer_state)
WRAP(pm_rpc_event_type_to_string, pm_rpc_event_type)
WRAP(pm_rpc_mode_to_string, pm_rpc_mode)

static void all_names(void **state)
{
    check_enum(pm_rtc_state_to_string_int, PM_RTC_STATE_NEW, PM_RTC_STATE_CLOSED);
    check_enum(pm_rtc_gathering_state_to_string_int, PM_RTC_GATHERING_NEW,
               PM_RTC_GATHERING_COMPLETE);
    check_enum(pm_rtc_signaling_state_to_string_int, PM_RTC_SIGNALING_STABLE,
               PM_RTC_SIGNALING_CLOSED);
    check_enum(pm_rtc_channel_state_to_string_int, PM_RTC_CHANNEL_CONNECTING,
               PM_RTC_CHANNEL_CLOSED);
    check_enum(pm_rtc_event_type_to_string_int, PM_RTC_EVENT_DESCRIPTION,
               PM_RTC_EVENT_SELECTED_PAIR);
    check_enum(pm_mp_event_type_to_string_int, PM_MP_EVENT_PEER_CONNECTED,
               PM_MP_EVENT_HOST_CHANGED);
    check_enum(pm_mp_status_to_string_int, PM_MP_DISCONNECTED, PM_MP_CONNECTED);
    check_enum(pm_mp_transfer_mode_to_string_int, PM_MP_TRANSFER_UNRELIABLE,
               PM_MP_TRANSFER_RELIABLE);
    check_enum(pm_signal_state_to_string_int, PM_SIGNAL_CONNECTING, PM_SIGNAL_CLOSED);
    check_enum(pm_signal_event_type_to_string_int, PM_SIGNAL_EVENT_OPEN,
               PM_SIGNAL_EVENT_HOST_CHANGED);
    check_enum(pm_enet_event_type_to_string_int, PM_ENET_EVENT_ERROR, PM_ENET_EVENT_RECEIVE);
    check_enum(pm_enet_peer_state_to_string_int, PM_ENET_PEER_DISCONNECTED, PM_ENET_PEER_ZOMBIE);
    check_enum(pm_rpc_event_type_to_string_int, PM_RPC_EVENT_PEER_CONNECTED,
               PM_RPC_EVENT_HOST_CHANGED);
    check_enum(pm_rpc_event_type_to_string_int, PM_RPC_EVENT_CALL, PM_RPC_EVENT_RAW);
    check_enum(pm_rpc_mode_to_string_int, PM_RPC_MODE_DISABLED, PM_RPC_MODE_PUPPETSYNC);
    assert_string_equal(pm_rpc_mode_to_string(PM_RPC_MODE_PUPPETSYNC), "puppetsync");
    /* The spellings `peermesh rpc` prints (its JSON events). */
    assert_string_equal(pm_rpc_event_type_to_string(PM_RPC_EVENT_PEER_CONNECTED), "peer_connected");
    assert_string_equal(pm_rpc_event_type_to_string(PM_RPC_EVENT_RAW), "raw");
    /* The spellings the tools print and the docs show. */
    assert_string_equal(pm_rtc_signaling_state_to_string(PM_RTC_SIGNALING_HAVE_LOCAL_OFFER),
                        "have-local-offer");
    assert_string_equal(pm_mp_event_type_to_string(PM_MP_EVENT_PEER_CONNECTED), "peer_connected");
    assert_string_equal(pm_mp_transfer_mode_to_string(PM_MP_TRANSFER_UNRELIABLE_ORDERED),
                        "unreliable_ordered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
