/*
 * Data channels (RFC 8831) and their establishment protocol (RFC 8832).
 *
 * Stream ids: the DTLS client uses even ids, the server odd ones (RFC 8832
 * section 6). In-band channels created before the DTLS role is known get
 * their id when SCTP comes up. Messages: PPID 51 string / 53 binary; empty
 * ones travel as PPID 56 / 57 with a single zero byte (RFC 8831 section 6.6).
 */
#include "rtc_internal.h"

#include "wire/dcep.h"

static bool id_in_use(const pm_rtc_peer *pc, int id, const pm_rtc_channel *except)
{
    for (size_t i = 0; i < pc->channel_count; i++) {
        const pm_rtc_channel *c = pc->channels[i];
        if (c != except && c->id == id && c->state != PM_RTC_CHANNEL_CLOSED)
            return true;
    }
    return false;
}

pm_rtc_channel *pm_rtc_channel_by_handle(pm_rtc_peer *pc, uint32_t handle)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        if (pc->channels[i]->handle == handle)
            return pc->channels[i];
    return NULL;
}

static pm_rtc_channel *by_sid(pm_rtc_peer *pc, uint16_t sid)
{
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *c = pc->channels[i];
        if (c->id == sid && c->state != PM_RTC_CHANNEL_CLOSED)
            return c;
    }
    return NULL;
}

static int validate_init(const pm_rtc_channel_init *in)
{
    if (in->negotiated != (in->id >= 0))
        return PM_ERR_INVALID; /* Godot: id iff negotiated */
    if (in->negotiated && in->id >= PM_RTC_MAX_STREAMS)
        return PM_ERR_INVALID;
    if (in->max_packet_lifetime >= 0 && in->max_retransmits >= 0)
        return PM_ERR_INVALID; /* W3C: never both */
    if (in->max_packet_lifetime > 65535 || in->max_retransmits > 65535)
        return PM_ERR_INVALID;
    return PM_OK;
}

int pm_rtc_channel_create(pm_rtc_peer *pc, const char *label, size_t label_len,
                          const char *protocol, size_t proto_len, const pm_rtc_channel_init *in,
                          bool local, pm_rtc_channel **out)
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
    ch->pc = pc;
    ch->handle = pc->next_handle++;
    ch->label = pm_strndup(&pc->env, label ? label : "", label ? label_len : 0);
    ch->protocol = pm_strndup(&pc->env, protocol ? protocol : "", protocol ? proto_len : 0);
    if (!ch->label || !ch->protocol) {
        pm_free(&pc->env, ch->label);
        pm_free(&pc->env, ch->protocol);
        pm_free(&pc->env, ch);
        return PM_ERR_NOMEM;
    }
    ch->negotiated = in->negotiated;
    ch->id = in->id >= 0 ? in->id : PM_RTC_ID_UNASSIGNED;
    ch->ordered = in->ordered;
    ch->max_packet_lifetime = in->max_packet_lifetime;
    ch->max_retransmits = in->max_retransmits;
    ch->locally_created = local && !in->negotiated;
    ch->state = PM_RTC_CHANNEL_CONNECTING;
    ch->write_mode = PM_RTC_WRITE_BINARY; /* Godot's default */
    pm_fifo_init(&ch->recv, 0);
    pm_fifo_init(&ch->send, 0);
    pc->channels[pc->channel_count++] = ch;
    *out = ch;
    return PM_OK;
}

/* ---- opening --------------------------------------------------------- */

static void set_open(pm_rtc_channel *ch)
{
    if (ch->state != PM_RTC_CHANNEL_CONNECTING)
        return;
    ch->state = PM_RTC_CHANNEL_OPEN;
    pm_rtc_emit(ch->pc, PM_RTC_EVENT_CHANNEL_OPEN, ch, PM_RTC_CHANNEL_OPEN);
}

static int assign_id(pm_rtc_peer *pc, pm_rtc_channel *ch)
{
    int start = pc->dtls_client ? 0 : 1;
    for (int id = start; id < PM_RTC_MAX_STREAMS; id += 2) {
        if (!id_in_use(pc, id, ch)) {
            ch->id = id;
            return PM_OK;
        }
    }
    return PM_ERR_FULL;
}

static uint8_t dcep_channel_type(const pm_rtc_channel *ch)
{
    uint8_t t = PM_DCEP_RELIABLE;
    if (ch->max_retransmits >= 0)
        t = PM_DCEP_PR_REXMIT;
    else if (ch->max_packet_lifetime >= 0)
        t = PM_DCEP_PR_TIMED;
    return (uint8_t)(t | (ch->ordered ? 0 : 0x80));
}

/*
 * Send DATA_CHANNEL_OPEN; the channel opens once SCTP took it. When SCTP's
 * buffer is full the OPEN stays pending and pm_rtc_channels_flush() retries
 * it before any data of the channel.
 */
static void send_open(pm_rtc_channel *ch)
{
    pm_rtc_peer *pc = ch->pc;
    if (ch->id == PM_RTC_ID_UNASSIGNED && assign_id(pc, ch) != PM_OK) {
        PM_WARN(&pc->env, "rtc", "no free stream id for channel '%s'", ch->label);
        ch->open_pending = false;
        ch->state = PM_RTC_CHANNEL_CLOSED;
        pm_rtc_emit(pc, PM_RTC_EVENT_CHANNEL_CLOSED, ch, PM_RTC_CHANNEL_CLOSED);
        return;
    }
    pm_dcep_open o;
    memset(&o, 0, sizeof o);
    o.channel_type = dcep_channel_type(ch);
    o.reliability = ch->max_retransmits >= 0       ? (uint32_t)ch->max_retransmits
                    : ch->max_packet_lifetime >= 0 ? (uint32_t)ch->max_packet_lifetime
                                                   : 0;
    o.label = (const uint8_t *)ch->label;
    o.label_len = (uint16_t)strlen(ch->label);
    o.protocol = (const uint8_t *)ch->protocol;
    o.protocol_len = (uint16_t)strlen(ch->protocol);
    size_t cap = 12u + o.label_len + o.protocol_len;
    uint8_t *buf = pm_alloc(&pc->env, cap);
    int n = buf ? pm_dcep_build_open(&o, buf, cap) : PM_ERR_NOMEM;
    int rc = n > 0 ? pm_rtc_sctp_send(pc, (uint16_t)ch->id, PM_PPID_DCEP, buf, (size_t)n, NULL) : n;
    pm_free(&pc->env, buf);
    ch->open_pending = rc != PM_OK;
    if (rc == PM_OK) {
        ch->open_sent = true;
        /* RFC 8832 section 6: the opener may send right away (ordered until ACK). */
        set_open(ch);
    } else if (rc != PM_ERR_AGAIN) {
        PM_WARN(&pc->env, "rtc", "DATA_CHANNEL_OPEN for '%s' not sent yet: %s", ch->label,
                pm_strerror(rc));
    }
}

static void send_ack(pm_rtc_channel *ch)
{
    uint8_t ack[1];
    pm_dcep_build_ack(ack, sizeof ack);
    ch->ack_pending =
        pm_rtc_sctp_send(ch->pc, (uint16_t)ch->id, PM_PPID_DCEP, ack, sizeof ack, NULL) != PM_OK;
}

void pm_rtc_channels_on_sctp_up(pm_rtc_peer *pc)
{
    /* Negotiated channels first so in-band ids avoid theirs. */
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *ch = pc->channels[i];
        if (ch->negotiated && ch->state == PM_RTC_CHANNEL_CONNECTING)
            set_open(ch);
    }
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *ch = pc->channels[i];
        if (ch->locally_created && ch->state == PM_RTC_CHANNEL_CONNECTING && !ch->open_sent)
            send_open(ch);
    }
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
    size_t ll = label ? strlen(label) : 0;
    size_t pl = init->protocol ? strlen(init->protocol) : 0;
    if (ll > 65535 || pl > 65535)
        return PM_ERR_INVALID;
    if (init->negotiated && id_in_use(pc, init->id, NULL))
        return PM_ERR_EXISTS;
    rc = pm_rtc_channel_create(pc, label, ll, init->protocol, pl, init, true, out);
    if (rc == PM_OK && pc->sctp_up) {
        if ((*out)->negotiated)
            set_open(*out);
        else
            send_open(*out);
    }
    return rc;
}

/* ---- receiving ------------------------------------------------------- */

static void on_dcep_open(pm_rtc_peer *pc, uint16_t sid, const uint8_t *d, size_t n)
{
    pm_dcep_open o;
    if (pm_dcep_parse_open(d, n, &o) != PM_OK) {
        PM_WARN(&pc->env, "rtc", "malformed DATA_CHANNEL_OPEN on stream %u", sid);
        return;
    }
    if (by_sid(pc, sid)) {
        PM_WARN(&pc->env, "rtc", "DATA_CHANNEL_OPEN for stream %u already in use", sid);
        return;
    }
    pm_rtc_channel_init in;
    pm_rtc_channel_init_default(&in);
    in.ordered = !(o.channel_type & 0x80);
    switch (o.channel_type & 0x7f) {
    case PM_DCEP_PR_REXMIT:
        in.max_retransmits = (int)PM_MIN(o.reliability, 65535u);
        break;
    case PM_DCEP_PR_TIMED:
        in.max_packet_lifetime = (int)PM_MIN(o.reliability, 65535u);
        break;
    default:
        break;
    }
    pm_rtc_channel *ch;
    if (pm_rtc_channel_create(pc, (const char *)o.label, o.label_len, (const char *)o.protocol,
                              o.protocol_len, &in, false, &ch) != PM_OK)
        return;
    ch->id = sid;
    ch->acked = true;
    send_ack(ch); /* retried by pm_rtc_channels_flush() if SCTP is full */
    pm_rtc_emit(pc, PM_RTC_EVENT_DATA_CHANNEL, ch, 0);
    set_open(ch);
}

void pm_rtc_channels_on_message(pm_rtc_peer *pc, uint16_t sid, uint32_t ppid, const uint8_t *d,
                                size_t n)
{
    if (ppid == PM_PPID_DCEP) {
        int t = pm_dcep_type(d, n);
        if (t == PM_DCEP_OPEN) {
            on_dcep_open(pc, sid, d, n);
        } else if (t == PM_DCEP_ACK) {
            pm_rtc_channel *ch = by_sid(pc, sid);
            if (ch)
                ch->acked = true;
        } else {
            PM_WARN(&pc->env, "rtc", "unknown DCEP message type %d on stream %u", t, sid);
        }
        return;
    }
    pm_rtc_channel *ch = by_sid(pc, sid);
    if (!ch || ch->state == PM_RTC_CHANNEL_CONNECTING) {
        PM_DEBUG(&pc->env, "rtc", "message on stream %u with no open channel dropped", sid);
        return;
    }
    if (ch->reset_in_seen || ch->released)
        return; /* nobody will read it */
    bool is_string;
    switch (ppid) {
    case PM_PPID_STRING:
    case PM_PPID_STRING_PARTIAL:
        is_string = true;
        break;
    case PM_PPID_STRING_EMPTY:
        is_string = true;
        n = 0;
        break;
    case PM_PPID_BINARY:
    case PM_PPID_BINARY_PARTIAL:
        is_string = false;
        break;
    case PM_PPID_BINARY_EMPTY:
        is_string = false;
        n = 0;
        break;
    default:
        PM_DEBUG(&pc->env, "rtc", "unknown PPID %u on stream %u dropped", ppid, sid);
        return;
    }
    if (pm_fifo_push(&pc->env, &ch->recv, is_string ? 1u : 0u, d, n, NULL, 0) != PM_OK) {
        PM_ERROR(&pc->env, "rtc", "out of memory: message on '%s' lost", ch->label);
        return;
    }
    pm_rtc_emit(pc, PM_RTC_EVENT_CHANNEL_MESSAGE, ch, 0);
}

/* ---- sending --------------------------------------------------------- */

static void check_low_threshold(pm_rtc_channel *ch)
{
    size_t amount = ch->buffered;
    if (amount > ch->low_threshold) {
        ch->above_threshold = true;
    } else if (ch->above_threshold) {
        ch->above_threshold = false;
        pm_rtc_emit(ch->pc, PM_RTC_EVENT_BUFFERED_AMOUNT_LOW, ch, 0);
    }
}

static void start_reset(pm_rtc_channel *ch)
{
    if (ch->reset_out_pending || ch->reset_out_done || ch->id == PM_RTC_ID_UNASSIGNED)
        return;
    int rc = ch->pc->sctp ? pm_sctp_reset_stream(ch->pc->sctp, (uint16_t)ch->id) : PM_ERR_STATE;
    if (rc == PM_OK)
        ch->reset_out_pending = true;
}

static void finish_close(pm_rtc_channel *ch)
{
    if (ch->state == PM_RTC_CHANNEL_CLOSED)
        return;
    ch->state = PM_RTC_CHANNEL_CLOSED;
    pm_fifo_free(&ch->pc->env, &ch->send);
    ch->buffered = 0;
    pm_rtc_emit(ch->pc, PM_RTC_EVENT_CHANNEL_CLOSED, ch, PM_RTC_CHANNEL_CLOSED);
}

/* Push queued messages of one channel into SCTP until it pushes back. */
static bool flush_channel(pm_rtc_channel *ch)
{
    uint32_t ppid;
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&ch->send, &ppid, &d, &n)) {
        int rc = pm_rtc_sctp_send(ch->pc, (uint16_t)ch->id, ppid, d, n, ch);
        if (rc == PM_ERR_AGAIN)
            return false;
        if (rc != PM_OK)
            PM_WARN(&ch->pc->env, "rtc", "send on '%s' failed: %s", ch->label, pm_strerror(rc));
        bool empty = ppid == PM_PPID_STRING_EMPTY || ppid == PM_PPID_BINARY_EMPTY;
        ch->buffered -= empty ? 0 : n;
        pm_fifo_pop(&ch->send);
    }
    return true;
}

void pm_rtc_channels_flush(pm_rtc_peer *pc)
{
    size_t n = pc->channel_count;
    if (n == 0)
        return;
    /* Round-robin start so one busy channel cannot starve the others. */
    size_t start = pc->rr_cursor++ % n;
    for (size_t k = 0; k < n; k++) {
        pm_rtc_channel *ch = pc->channels[(start + k) % n];
        if (ch->state == PM_RTC_CHANNEL_CLOSED)
            continue;
        /* DCEP goes before the channel's data (RFC 8832 section 6). */
        if (ch->open_pending)
            send_open(ch);
        if (ch->ack_pending)
            send_ack(ch);
        if (ch->open_pending || ch->ack_pending)
            continue;
        if (ch->state != PM_RTC_CHANNEL_OPEN && ch->state != PM_RTC_CHANNEL_CLOSING)
            continue;
        bool drained = flush_channel(ch);
        check_low_threshold(ch);
        if (ch->state == PM_RTC_CHANNEL_CLOSING && drained)
            start_reset(ch);
    }
}

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
    if (ch->buffered + len > PM_RTC_SEND_QUEUE_LIMIT)
        return PM_ERR_FULL;
    bool text = ch->write_mode == PM_RTC_WRITE_TEXT;
    uint32_t ppid = text ? (len ? PM_PPID_STRING : PM_PPID_STRING_EMPTY)
                         : (len ? PM_PPID_BINARY : PM_PPID_BINARY_EMPTY);
    static const uint8_t zero = 0;
    const uint8_t *payload = len ? data : &zero;
    size_t plen = len ? len : 1;
    if (ch->send.count == 0) {
        int rc = pm_rtc_sctp_send(pc, (uint16_t)ch->id, ppid, payload, plen, ch);
        if (rc == PM_OK)
            return PM_OK;
        if (rc != PM_ERR_AGAIN)
            return rc;
    }
    int rc = pm_fifo_push(&pc->env, &ch->send, ppid, payload, plen, NULL, 0);
    if (rc != PM_OK)
        return rc;
    ch->buffered += len;
    check_low_threshold(ch);
    return PM_OK;
}

/* ---- closing --------------------------------------------------------- */

static void on_reset(pm_rtc_channel *ch, bool incoming, bool outgoing, bool failed)
{
    if (failed) {
        /* The peer refused our reset: nothing will complete the handshake,
         * so the channel closes on our side alone. */
        PM_WARN(&ch->pc->env, "rtc", "peer refused to reset stream %d ('%s'): closed locally",
                ch->id, ch->label);
        ch->reset_out_pending = false;
        ch->reset_out_done = ch->reset_in_seen = true;
        finish_close(ch);
        return;
    }
    if (incoming) {
        ch->reset_in_seen = true;
        if (ch->state == PM_RTC_CHANNEL_OPEN || ch->state == PM_RTC_CHANNEL_CONNECTING)
            ch->state = PM_RTC_CHANNEL_CLOSING;
        /* RFC 8831 section 6.7: answer a reset by resetting ours. */
        if (ch->send.count == 0)
            start_reset(ch);
    }
    if (outgoing) {
        ch->reset_out_pending = false;
        ch->reset_out_done = true;
    }
    if (ch->reset_out_done && ch->reset_in_seen)
        finish_close(ch);
}

void pm_rtc_channels_on_reset(pm_rtc_peer *pc, uint16_t sid, bool incoming, bool outgoing,
                              bool failed)
{
    if (sid != PM_SCTP_ALL_STREAMS) {
        pm_rtc_channel *ch = by_sid(pc, sid);
        if (ch)
            on_reset(ch, incoming, outgoing, failed);
        return;
    }
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *ch = pc->channels[i];
        if (ch->id != PM_RTC_ID_UNASSIGNED && ch->state != PM_RTC_CHANNEL_CLOSED)
            on_reset(ch, incoming, outgoing, failed);
    }
}

void pm_rtc_channel_close(pm_rtc_channel *ch)
{
    if (!ch || ch->state == PM_RTC_CHANNEL_CLOSED || ch->state == PM_RTC_CHANNEL_CLOSING)
        return;
    if (!ch->pc->sctp_up) {
        finish_close(ch);
        return;
    }
    ch->state = PM_RTC_CHANNEL_CLOSING;
    if (ch->send.count == 0)
        start_reset(ch);
    pm_rtc_drive(ch->pc);
}

void pm_rtc_channels_close_all(pm_rtc_peer *pc)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        finish_close(pc->channels[i]);
}

void pm_rtc_channel_destroy(pm_rtc_channel *ch)
{
    const pm_envr *env = &ch->pc->env;
    pm_fifo_free(env, &ch->recv);
    pm_fifo_free(env, &ch->send);
    pm_free(env, ch->label);
    pm_free(env, ch->protocol);
    pm_free(env, ch);
}

/* What the application has not taken yet (the lent message is taken). */
static size_t unread_bytes(const pm_rtc_channel *ch)
{
    return ch->recv.payload - ch->recv.lent_len;
}

bool pm_rtc_channels_backlogged(const pm_rtc_peer *pc)
{
    for (size_t i = 0; i < pc->channel_count; i++)
        if (unread_bytes(pc->channels[i]) >= PM_RTC_RECV_QUEUE_LIMIT)
            return true;
    return false;
}

void pm_rtc_channels_reap(pm_rtc_peer *pc)
{
    size_t w = 0;
    for (size_t i = 0; i < pc->channel_count; i++) {
        pm_rtc_channel *ch = pc->channels[i];
        if (ch->released && ch->state == PM_RTC_CHANNEL_CLOSED)
            pm_rtc_channel_destroy(ch);
        else
            pc->channels[w++] = ch;
    }
    pc->channel_count = w;
}

void pm_rtc_channel_release(pm_rtc_channel *ch)
{
    if (!ch)
        return;
    ch->released = true;
    if (ch->recv.lent)
        pm_fifo_pop(&ch->recv); /* the loan of the last get_packet ends here */
    pm_rtc_channel_close(ch);
}

/* ---- accessors ------------------------------------------------------- */

int pm_rtc_channel_get_packet(pm_rtc_channel *ch, const uint8_t **data, size_t *len)
{
    if (!ch || !data || !len)
        return PM_ERR_INVALID;
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    /* Borrowed head: the message is lent where it lies in the queue, which
     * keeps it in place (even if more arrivals grow the queue) until the
     * next get_packet or release. No copy. */
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
    return ch ? ch->id : PM_RTC_ID_UNASSIGNED;
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
size_t pm_rtc_channel_get_buffered_amount(const pm_rtc_channel *ch)
{
    return ch ? ch->buffered : 0;
}
void pm_rtc_channel_set_buffered_amount_low_threshold(pm_rtc_channel *ch, size_t bytes)
{
    if (ch)
        ch->low_threshold = bytes;
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

uint64_t pm_rtc_channel_get_messages_abandoned(const pm_rtc_channel *ch)
{
    if (!ch || ch->id == PM_RTC_ID_UNASSIGNED || !ch->pc->sctp || !ch->pc->sctp_up)
        return 0;
    return pm_sctp_stream_abandoned(ch->pc->sctp, (uint16_t)ch->id);
}
