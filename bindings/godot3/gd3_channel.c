/*
 * gd3_channel.c — WebRTCDataChannel on a pm_rtc_channel.
 *
 * The channel object holds a reference on its connection's gd3_link, so it
 * may outlive the connection object: it then reads what had arrived,
 * reports CLOSED and refuses to send (ERR_UNCONFIGURED), as a closed channel
 * does. When Godot frees the object (the script dropped it, or the
 * connection's data_channel_received handler never kept it) the channel is
 * closed and released.
 *
 * Godot 3.2 conventions kept here: get_max_packet_life_time() and
 * get_max_retransmits() are 65535 when unset; get_id() is 65535 until an
 * in-band channel has a stream.
 */
#include "gd3.h"

#include <limits.h>
#include <stdlib.h>

#define GD3_UNSET 65535

typedef struct gd3_channel {
    gd_webrtc_data_channel iface; /* first: Godot holds &iface */
    gd3_link *link;               /* NULL until bound */
    pm_rtc_channel *ch;
} gd3_channel;

/* Every getter on an unbound channel (gd3_new_scripted failed half-way, or
 * a script attached by hand) answers as a closed channel would. */
#define CH(data) (((const gd3_channel *)(data))->ch)

static gd_error get_packet(void *data, const uint8_t **buffer, int *len)
{
    if (!buffer || !len)
        return GD_ERR_INVALID_PARAMETER;
    *buffer = NULL;
    *len = 0;
    if (!CH(data))
        return GD_ERR_UNCONFIGURED;
    size_t n = 0;
    int rc = pm_rtc_channel_get_packet(CH(data), buffer, &n);
    if (rc != PM_OK)
        return gd3_error_from_pm(rc); /* PM_ERR_AGAIN: ERR_UNAVAILABLE, as Godot's */
    *len = (int)n;
    return GD_OK;
}

static gd_error put_packet(void *data, const uint8_t *buffer, int len)
{
    pm_rtc_channel *ch = CH(data);
    if (len < 0 || (len > 0 && !buffer))
        return GD_ERR_INVALID_PARAMETER;
    if (!ch)
        return GD_ERR_UNCONFIGURED;
    int rc = pm_rtc_channel_put_packet(ch, buffer, (size_t)len);
    if (rc != PM_OK) {
        pm_rtc_channel_state st = pm_rtc_channel_get_ready_state(ch);
        gd3_error("put_packet on \"%s\" (%d bytes): %s%s", pm_rtc_channel_get_label(ch), len,
                  pm_strerror(rc),
                  rc == PM_ERR_STATE
                      ? (st == PM_RTC_CHANNEL_CONNECTING ? " (not open yet)" : " (closed)")
                  : rc == PM_ERR_TOO_BIG ? " (larger than get_max_packet_size())"
                                         : "");
    }
    return gd3_error_from_pm(rc);
}

static gd_int get_available_packet_count(const void *data)
{
    return CH(data) ? pm_rtc_channel_get_available_packet_count(CH(data)) : 0;
}

static gd_int get_max_packet_size(const void *data)
{
    if (!CH(data))
        return 0;
    size_t n = pm_rtc_peer_max_message_size(pm_rtc_channel_get_peer(CH(data)));
    return n > INT_MAX ? INT_MAX : (gd_int)n;
}

static void set_write_mode(void *data, gd_int mode)
{
    if (mode != PM_RTC_WRITE_TEXT && mode != PM_RTC_WRITE_BINARY) {
        gd3_error("set_write_mode(%d): use WRITE_MODE_TEXT (0) or WRITE_MODE_BINARY (1)", mode);
        return;
    }
    if (CH(data))
        pm_rtc_channel_set_write_mode(CH(data), (pm_rtc_write_mode)mode);
}

static gd_int get_write_mode(const void *data)
{
    return CH(data) ? (gd_int)pm_rtc_channel_get_write_mode(CH(data)) : PM_RTC_WRITE_BINARY;
}

static bool was_string_packet(const void *data)
{
    return CH(data) && pm_rtc_channel_was_string_packet(CH(data));
}

static gd_int get_ready_state(const void *data)
{
    return CH(data) ? (gd_int)pm_rtc_channel_get_ready_state(CH(data)) : PM_RTC_CHANNEL_CLOSED;
}

static const char *get_label(const void *data)
{
    return CH(data) ? pm_rtc_channel_get_label(CH(data)) : "";
}

static bool is_ordered(const void *data)
{
    return CH(data) && pm_rtc_channel_is_ordered(CH(data));
}

static int get_id(const void *data)
{
    return CH(data) ? pm_rtc_channel_get_id(CH(data)) : GD3_UNSET;
}

static int unset_as_65535(int v)
{
    return v < 0 ? GD3_UNSET : v;
}

static int get_max_packet_life_time(const void *data)
{
    return CH(data) ? unset_as_65535(pm_rtc_channel_get_max_packet_lifetime(CH(data))) : GD3_UNSET;
}

static int get_max_retransmits(const void *data)
{
    return CH(data) ? unset_as_65535(pm_rtc_channel_get_max_retransmits(CH(data))) : GD3_UNSET;
}

static const char *get_protocol(const void *data)
{
    const char *p = CH(data) ? pm_rtc_channel_get_protocol(CH(data)) : NULL;
    return p ? p : "";
}

static bool is_negotiated(const void *data)
{
    return CH(data) && pm_rtc_channel_is_negotiated(CH(data));
}

static gd_error poll(void *data)
{
    (void)data;
    return GD_OK; /* the connection's poll drives everything */
}

static void close_channel(void *data)
{
    if (CH(data))
        pm_rtc_channel_close(CH(data));
}

void *gd3_channel_create(gd_object *owner, void *method_data)
{
    (void)method_data;
    gd3_channel *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->iface = (gd_webrtc_data_channel){
        .version = {3, 1},
        .data = c,
        .get_packet = get_packet,
        .put_packet = put_packet,
        .get_available_packet_count = get_available_packet_count,
        .get_max_packet_size = get_max_packet_size,
        .set_write_mode = set_write_mode,
        .get_write_mode = get_write_mode,
        .was_string_packet = was_string_packet,
        .get_ready_state = get_ready_state,
        .get_label = get_label,
        .is_ordered = is_ordered,
        .get_id = get_id,
        .get_max_packet_life_time = get_max_packet_life_time,
        .get_max_retransmits = get_max_retransmits,
        .get_protocol = get_protocol,
        .is_negotiated = is_negotiated,
        .poll = poll,
        .close = close_channel,
    };
    gd3_live.channels++;
    gd3_net->bind_webrtc_data_channel(owner, &c->iface);
    return c;
}

void gd3_channel_destroy(gd_object *owner, void *method_data, void *user_data)
{
    (void)method_data;
    gd3_channel *c = user_data;
    if (!c)
        return;
    gd3_net->bind_webrtc_data_channel(owner, NULL);
    if (c->ch)
        pm_rtc_channel_release(c->ch);
    gd3_link_unref(c->link);
    free(c);
    gd3_live.channels--;
}

gd_object *gd3_channel_wrap(gd3_link *link, pm_rtc_channel *ch)
{
    void *ud;
    gd_object *obj = gd3_new_scripted("WebRTCDataChannelGDNative", GD3_CHANNEL_CLASS, &ud);
    if (!obj)
        return NULL;
    gd3_channel *c = ud;
    gd3_link_ref(link);
    c->link = link;
    c->ch = ch;
    return obj;
}
