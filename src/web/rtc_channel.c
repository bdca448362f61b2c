/*
 * pm_rtc_channel over the browser's RTCDataChannel. Sending goes straight
 * to the browser (its bufferedAmount is the buffered amount); received
 * messages wait in the channel's queue until get_packet, as natively.
 *
 * Differences from the native stack, all the browser's: a page cannot
 * refuse incoming data, so a channel's unread messages are not bounded
 * (read them); abandoned messages are not counted (0); text messages must
 * be UTF-8 (PM_ERR_INVALID otherwise).
 */
#include "web/rtc_web.h"

void pm_rtc_channel_init_default(pm_rtc_channel_init *init)
{
    memset(init, 0, sizeof *init);
    init->id = -1;
    init->ordered = true;
    init->max_packet_lifetime = -1;
    init->max_retransmits = -1;
}

pm_rtc_channel *pm_web_channel_by_handle(pm_rtc_peer *pc, uint32_t handle)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        if (pc->channels[i]->handle == handle)
            return pc->channels[i];
    return NULL;
}

pm_rtc_channel *pm_web_channel_by_js(pm_rtc_peer *pc, int js)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        if (pc->channels[i]->js == js)
            return pc->channels[i];
    return NULL;
}

static bool id_in_use(const pm_rtc_peer *pc, int id)
{
    for (size_t i = 0; i < pc->channel_count; i++) {
        const pm_rtc_channel *c = pc->channels[i];
        if (c->id == id && c->state != PM_RTC_CHANNEL_CLOSED)
            return true;
    }
    return false;
}

static int validate_init(const pm_rtc_channel_init *in)
{
    if (in->negotiated != (in->id >= 0))
        return PM_ERR_INVALID; /* Godot: id iff negotiated */
    if (in->negotiated && in->id >= PM_WEB_MAX_STREAMS)
        return PM_ERR_INVALID;
    if (in->max_packet_lifetime >= 0 && in->max_retransmits >= 0)
        return PM_ERR_INVALID; /* W3C: never both */
    if (in->max_packet_lifetime > 65535 || in->max_retransmits > 65535)
        return PM_ERR_INVALID;
    return PM_OK;
}

int pm_web_channel_new(pm_rtc_peer *pc, int js, const char *label, const char *protocol,
                       const pm_rtc_channel_init *init, pm_rtc_channel **out)
{
    if (pc->channel_count == pc->channel_cap) {
        size_t ncap = pc->channel_cap ? pc->channel_cap * 2 : 4;
        pm_rtc_channel **n = pm_realloc(&pc->env, pc->channels, ncap * sizeof *n);
        if (!n)
            return PM_ERR_NOMEM;
        pc->channels = n;
        pc->channel_cap = ncap;
    }
    pm_rtc_channel *ch = pm_calloc(&pc->env, sizeof *ch);
    if (!ch)
        return PM_ERR_NOMEM;
    ch->label = pm_strdup(&pc->env, label ? label : "");
    ch->protocol = pm_strdup(&pc->env, protocol ? protocol : "");
    if (!ch->label || !ch->protocol) {
        pm_free(&pc->env, ch->label);
        pm_free(&pc->env, ch->protocol);
        pm_free(&pc->env, ch);
        return PM_ERR_NOMEM;
    }
    ch->pc = pc;
    ch->js = js;
    ch->handle = pc->next_handle++;
    ch->negotiated = init->negotiated;
    ch->id = init->id >= 0 ? init->id : PM_WEB_ID_UNASSIGNED;
    ch->ordered = init->ordered;
    ch->max_packet_lifetime = init->max_packet_lifetime;
    ch->max_retransmits = init->max_retransmits;
    ch->state = PM_RTC_CHANNEL_CONNECTING;
    ch->write_mode = PM_RTC_WRITE_BINARY; /* Godot's default */
    pm_fifo_init(&ch->recv, 0);
    pc->channels[pc->channel_count++] = ch;
    *out = ch;
    return PM_OK;
}

int pm_rtc_peer_create_channel(pm_rtc_peer *pc, const char *label, const pm_rtc_channel_init *init,
                               pm_rtc_channel **out)
{
    if (!pc || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_rtc_channel_init defaults;
    if (!init) {
        pm_rtc_channel_init_default(&defaults);
        init = &defaults;
    }
    if (pc->closed || pc->state == PM_RTC_STATE_FAILED)
        return PM_ERR_STATE;
    int rc = validate_init(init);
    if (rc != PM_OK)
        return rc;
    if ((label && strlen(label) > 65535) || (init->protocol && strlen(init->protocol) > 65535))
        return PM_ERR_INVALID;
    if (init->negotiated && id_in_use(pc, init->id))
        return PM_ERR_EXISTS;
    int js = pm_js_pc_create_channel(
        pc->js, label ? label : "", init->protocol ? init->protocol : "", init->negotiated,
        init->id, init->ordered, init->max_packet_lifetime, init->max_retransmits);
    if (!js)
        return PM_ERR_INVALID; /* the browser refused the options */
    rc = pm_web_channel_new(pc, js, label, init->protocol, init, out);
    if (rc != PM_OK) {
        pm_js_dc_close(js);
        pm_js_dc_free(js);
    }
    return rc;
}

/* ---- notes from the browser ------------------------------------------ */

static void finish_close(pm_rtc_channel *ch)
{
    if (ch->state == PM_RTC_CHANNEL_CLOSED)
        return;
    ch->state = PM_RTC_CHANNEL_CLOSED;
    pm_web_emit(ch->pc, PM_RTC_EVENT_CHANNEL_CLOSED, ch, PM_RTC_CHANNEL_CLOSED, NULL, NULL);
}

void pm_web_channel_apply(pm_rtc_channel *ch, const pm_web_note *n, const uint8_t *data)
{
    pm_rtc_peer *pc = ch->pc;
    switch ((pm_web_note_kind)n->kind) {
    case PM_WEB_NOTE_CHANNEL_OPEN:
        if (ch->state != PM_RTC_CHANNEL_CONNECTING)
            break;
        ch->id = n->info[0]; /* an in-band channel's id is known from now on */
        ch->state = PM_RTC_CHANNEL_OPEN;
        pm_web_emit(pc, PM_RTC_EVENT_CHANNEL_OPEN, ch, PM_RTC_CHANNEL_OPEN, NULL, NULL);
        break;
    case PM_WEB_NOTE_CHANNEL_CLOSED:
        finish_close(ch);
        break;
    case PM_WEB_NOTE_CHANNEL_MESSAGE:
        if (ch->released || ch->state == PM_RTC_CHANNEL_CLOSED)
            break;
        if (pm_fifo_push(&pc->env, &ch->recv, n->value ? 1 : 0, data, (size_t)n->len1, NULL, 0)) {
            PM_ERROR(&pc->env, "rtc", "out of memory: a message on '%s' was lost", ch->label);
            break;
        }
        pm_web_emit(pc, PM_RTC_EVENT_CHANNEL_MESSAGE, ch, 0, NULL, NULL);
        break;
    case PM_WEB_NOTE_BUFFERED_LOW:
        pm_web_emit(pc, PM_RTC_EVENT_BUFFERED_AMOUNT_LOW, ch, 0, NULL, NULL);
        break;
    default:
        break;
    }
}

void pm_web_channels_close_all(pm_rtc_peer *pc)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        finish_close(pc->channels[i]);
}

void pm_web_channel_destroy(pm_rtc_channel *ch)
{
    const pm_envr *env = &ch->pc->env;
    pm_js_dc_free(ch->js);
    pm_fifo_free(env, &ch->recv);
    pm_free(env, ch->label);
    pm_free(env, ch->protocol);
    pm_free(env, ch);
}

void pm_web_channels_reap(pm_rtc_peer *pc)
{
    size_t w = 0;
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *ch = pc->channels[i];
        if (ch->released && ch->state == PM_RTC_CHANNEL_CLOSED)
            pm_web_channel_destroy(ch);
        else
            pc->channels[w++] = ch;
    }
    pc->channel_count = w;
}

/* ---- the API --------------------------------------------------------- */

int pm_rtc_channel_put_packet(pm_rtc_channel *ch, const uint8_t *data, size_t len)
{
    if (!ch || (!data && len))
        return PM_ERR_INVALID;
    pm_rtc_peer *pc = ch->pc;
    if (ch->state != PM_RTC_CHANNEL_OPEN)
        return PM_ERR_STATE;
    if (len > pm_rtc_peer_max_message_size(pc)) {
        PM_INFO(&pc->env, "rtc", "message of %zu bytes exceeds max-message-size %zu", len,
                pm_rtc_peer_max_message_size(pc));
        return PM_ERR_TOO_BIG;
    }
    if (pm_js_dc_buffered(ch->js) + (double)len > PM_WEB_SEND_LIMIT)
        return PM_ERR_FULL;
    return pm_js_dc_send(ch->js, data, len, ch->write_mode == PM_RTC_WRITE_BINARY);
}

int pm_rtc_channel_get_packet(pm_rtc_channel *ch, const uint8_t **data, size_t *len)
{
    if (!ch || !data || !len)
        return PM_ERR_INVALID;
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    /* Lent where it lies in the queue (it stays put until the next get_packet). */
    if (!pm_fifo_lend(&ch->pc->env, &ch->recv, &tag, &d, &n))
        return PM_ERR_AGAIN;
    ch->last_was_string = tag == 1;
    *data = d;
    *len = n;
    return PM_OK;
}

int pm_rtc_channel_get_available_packet_count(const pm_rtc_channel *ch)
{
    return ch ? (int)(ch->recv.count - ch->recv.lent) : 0;
}

bool pm_rtc_channel_was_string_packet(const pm_rtc_channel *ch)
{
    return ch && ch->last_was_string;
}

int pm_rtc_channel_set_write_mode(pm_rtc_channel *ch, pm_rtc_write_mode mode)
{
    if (!ch || (mode != PM_RTC_WRITE_TEXT && mode != PM_RTC_WRITE_BINARY))
        return PM_ERR_INVALID;
    ch->write_mode = mode;
    return PM_OK;
}

pm_rtc_write_mode pm_rtc_channel_get_write_mode(const pm_rtc_channel *ch)
{
    return ch ? ch->write_mode : PM_RTC_WRITE_BINARY;
}

pm_rtc_channel_state pm_rtc_channel_get_ready_state(const pm_rtc_channel *ch)
{
    return ch ? ch->state : PM_RTC_CHANNEL_CLOSED;
}

const char *pm_rtc_channel_get_label(const pm_rtc_channel *ch)
{
    return ch ? ch->label : "";
}

const char *pm_rtc_channel_get_protocol(const pm_rtc_channel *ch)
{
    return ch ? ch->protocol : "";
}

int pm_rtc_channel_get_id(const pm_rtc_channel *ch)
{
    return ch ? ch->id : PM_WEB_ID_UNASSIGNED;
}

bool pm_rtc_channel_is_ordered(const pm_rtc_channel *ch)
{
    return ch && ch->ordered;
}

bool pm_rtc_channel_is_negotiated(const pm_rtc_channel *ch)
{
    return ch && ch->negotiated;
}

int pm_rtc_channel_get_max_packet_lifetime(const pm_rtc_channel *ch)
{
    return ch ? ch->max_packet_lifetime : -1;
}

int pm_rtc_channel_get_max_retransmits(const pm_rtc_channel *ch)
{
    return ch ? ch->max_retransmits : -1;
}

uint64_t pm_rtc_channel_get_messages_abandoned(const pm_rtc_channel *ch)
{
    (void)ch;
    return 0; /* browsers do not say */
}

size_t pm_rtc_channel_get_buffered_amount(const pm_rtc_channel *ch)
{
    return ch && ch->state != PM_RTC_CHANNEL_CLOSED ? (size_t)pm_js_dc_buffered(ch->js) : 0;
}

void pm_rtc_channel_set_buffered_amount_low_threshold(pm_rtc_channel *ch, size_t bytes)
{
    if (ch)
        pm_js_dc_set_low_threshold(ch->js, (double)bytes);
}

void pm_rtc_channel_set_userdata(pm_rtc_channel *ch, void *ud)
{
    if (ch)
        ch->userdata = ud;
}

void *pm_rtc_channel_get_userdata(const pm_rtc_channel *ch)
{
    return ch ? ch->userdata : NULL;
}

pm_rtc_peer *pm_rtc_channel_get_peer(const pm_rtc_channel *ch)
{
    return ch ? ch->pc : NULL;
}

void pm_rtc_channel_close(pm_rtc_channel *ch)
{
    if (!ch || ch->state == PM_RTC_CHANNEL_CLOSED || ch->state == PM_RTC_CHANNEL_CLOSING)
        return;
    if (ch->pc->state != PM_RTC_STATE_CONNECTED) {
        /* Not up (or no longer): nothing to tell the remote, closed at once as natively. */
        pm_js_dc_close(ch->js);
        finish_close(ch);
        return;
    }
    ch->state = PM_RTC_CHANNEL_CLOSING;
    pm_js_dc_close(ch->js); /* the browser's close event makes it CLOSED */
}

void pm_rtc_channel_release(pm_rtc_channel *ch)
{
    if (!ch)
        return;
    ch->released = true;
    pm_rtc_channel_close(ch);
}
