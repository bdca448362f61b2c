/* rtc_names.h — the W3C/Godot spellings of rtc.h's enums, for logs and summaries. */
#ifndef PM_CLI_RTC_NAMES_H
#define PM_CLI_RTC_NAMES_H

#include "peermesh/rtc.h"

const char *pm_cli_state_name(int state);           /* pm_rtc_state: "connected" */
const char *pm_cli_gathering_name(int state);       /* pm_rtc_gathering_state: "complete" */
const char *pm_cli_signaling_name(int state);       /* pm_rtc_signaling_state: "stable" */
const char *pm_cli_channel_state_name(int state);   /* pm_rtc_channel_state: "open" */
const char *pm_cli_event_name(pm_rtc_event_type t); /* "channel-open" */

#endif
