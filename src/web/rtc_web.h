/*
 * rtc.h in the browser: a pm_rtc_peer is an RTCPeerConnection, a
 * pm_rtc_channel an RTCDataChannel (src/web/js/rtc.js). The C side keeps
 * what the API promises and the browser does not: the checks and error codes
 * of the native stack, the event queue with its borrowed strings, each
 * channel's received messages, and the states, which change only when
 * pm_rtc_peer_poll() applies the browser's notes (web.h).
 *
 * Files: rtc_peer.c (connection, JSEP, notes, events), rtc_channel.c (data
 * channels), rtc_unsupported.c (what a page cannot do: sans-I/O, sockets,
 * certificates).
 */
#ifndef PM_WEB_RTC_H
#define PM_WEB_RTC_H

#include "peermesh/rtc.h"
#include "web/web.h"

#define PM_WEB_DEFAULT_MAX_MESSAGE 262144u     /* as the native stack */
#define PM_WEB_REMOTE_MAX_MESSAGE  65536u      /* RFC 8841: when the remote says nothing */
#define PM_WEB_SEND_LIMIT          (16u << 20) /* browsers close a channel beyond it */
#define PM_WEB_PENDING_CANDIDATES  64          /* held before the remote description */
#define PM_WEB_ID_UNASSIGNED       65535
#define PM_WEB_MAX_STREAMS         1024      /* as the native stack: ids 0..1023 */
#define PM_WEB_STATS_PERIOD        PM_SEC(1) /* getStats() for the round trip */

struct pm_rtc_channel {
    pm_rtc_peer *pc;
    uint32_t handle; /* unique per peer; queued events name channels by it */
    int js;          /* the RTCDataChannel's handle */
    char *label;
    char *protocol;
    int id; /* stream id or PM_WEB_ID_UNASSIGNED */
    bool negotiated;
    bool ordered;
    int max_packet_lifetime;
    int max_retransmits;
    bool released; /* the user gave the handle back */
    pm_rtc_channel_state state;
    pm_rtc_write_mode write_mode;
    bool last_was_string;
    pm_fifo recv; /* tag: 1 = string; get_packet lends its head */
    void *userdata;
};

struct pm_rtc_peer {
    pm_envr env;
    int js; /* the RTCPeerConnection's handle */
    pm_rtc_state state;
    pm_rtc_gathering_state gathering;
    pm_rtc_signaling_state signaling;
    bool closed;
    bool offered;     /* create_offer accepted */
    bool have_remote; /* set_remote_description accepted */
    char *local_type; /* the local description, once the browser applied it */
    char *local_sdp;
    size_t held_candidates; /* candidates given before the remote description */
    uint32_t local_max_message;
    pm_time rtt;        /* selected pair's round trip (us), -1 unknown */
    pm_time next_stats; /* when to ask getStats() again */

    pm_rtc_channel **channels;
    size_t channel_count, channel_cap;
    uint32_t next_handle;

    pm_fifo events; /* tag: event type; record: [u32 handle][i32 state][s1 NUL][s2 NUL] */
    pm_buf ev_taken;
    pm_buf note1, note2; /* payloads of the note being applied */
};

/* rtc_peer.c */
void pm_web_emit(pm_rtc_peer *pc, pm_rtc_event_type type, pm_rtc_channel *ch, int state,
                 const char *s1, const char *s2);

/* rtc_channel.c */
int pm_web_channel_new(pm_rtc_peer *pc, int js, const char *label, const char *protocol,
                       const pm_rtc_channel_init *init, pm_rtc_channel **out);
pm_rtc_channel *pm_web_channel_by_js(pm_rtc_peer *pc, int js);
pm_rtc_channel *pm_web_channel_by_handle(pm_rtc_peer *pc, uint32_t handle);
/** Apply a channel note (OPEN, CLOSED, MESSAGE, BUFFERED_LOW) with payload 1. */
void pm_web_channel_apply(pm_rtc_channel *ch, const pm_web_note *n, const uint8_t *data);
/** The connection closed: every channel not yet CLOSED becomes CLOSED. */
void pm_web_channels_close_all(pm_rtc_peer *pc);
/** Free released channels that are CLOSED. */
void pm_web_channels_reap(pm_rtc_peer *pc);
void pm_web_channel_destroy(pm_rtc_channel *ch);

#endif
