/*
 * Send-side flow control shared by `peer` and `bench` (see cli.h): the
 * interop README's "bufferedAmount at or under 1 MiB, resuming at 256 KiB".
 */
#include "cli.h"

bool pm_cli_may_queue(const pm_rtc_channel *ch, bool *paused, size_t len)
{
    if (*paused)
        return false;
    size_t buffered = pm_rtc_channel_get_buffered_amount(ch);
    if (buffered > PM_CLI_LOW_WATER && buffered + len > PM_CLI_HIGH_WATER) {
        *paused = true;
        return false;
    }
    return true;
}
