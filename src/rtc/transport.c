/*
 * The transport stack of a peer connection: ICE -> DTLS -> SCTP, the RFC
 * 7983 demultiplexer, and the drive loop that moves work between layers.
 */
#include "rtc_internal.h"

#include <stdio.h>

/* ---- callbacks from DTLS and SCTP (only queue work; see rtc_internal.h) ---- */

/* Application bytes (DTLS records) to the selected path: straight from the
 * socket, or framed for the TURN relay the path goes through. */
static void send_app(pm_rtc_peer *pc, const uint8_t *d, size_t n)
{
    if (pc->remote_via == 0) {
        pm_rtc_queue_datagram(pc, &pc->remote, d, n);
        return;
    }
    uint8_t hdr[PM_ICE_RELAY_HDR_MAX];
    size_t hlen, pad;
    uint32_t stream;
    pm_addr to;
    if (pm_ice_relay_frame(pc->ice, pc->remote_via, &pc->remote, n, hdr, &hlen, &pad, &stream,
                           &to) != PM_OK) {
        pc->dropped_datagrams++;
        return;
    }
    static const uint8_t zeros[4];
    pc->relay_buf.len = 0;
    if (pm_buf_append(&pc->env, &pc->relay_buf, hdr, hlen) ||
        pm_buf_append(&pc->env, &pc->relay_buf, d, n) ||
        pm_buf_append(&pc->env, &pc->relay_buf, zeros, pad)) {
        PM_WARN(&pc->env, "rtc", "dropping outgoing datagram: out of memory");
        return;
    }
    if (stream == PM_ICE_STREAM_UDP)
        pm_rtc_queue_datagram(pc, &to, pc->relay_buf.data, pc->relay_buf.len);
    else
        pm_rtc_stream_write(pc, stream, pc->relay_buf.data, pc->relay_buf.len);
}

static void dtls_send_cb(void *ud, const uint8_t *d, size_t n)
{
    pm_rtc_peer *pc = ud;
    if (pc->have_remote_addr)
        send_app(pc, d, n);
}

static void dtls_recv_cb(void *ud, const uint8_t *d, size_t n)
{
    pm_rtc_peer *pc = ud;
    /* Straight into SCTP, without a copy: DTLS calls us between SSL_read
     * calls, never from inside OpenSSL, and SCTP's output re-enters DTLS
     * only through pm_dtls_write, which dtls.h allows here. Records that
     * beat the association wait in the inbox (in order). */
    if (pc->sctp && pc->inbox.count == 0) {
        pm_sctp_handle_packet(pc->sctp, pc->now, d, n);
        return;
    }
    if (pm_fifo_push(&pc->env, &pc->inbox, 0, d, n, NULL, 0) != PM_OK)
        PM_WARN(&pc->env, "rtc", "dropping an SCTP packet: out of memory");
}

static void dtls_state_cb(void *ud, pm_dtls_state st)
{
    (void)ud;
    (void)st; /* states are read after each DTLS call in drive(); nothing to queue */
}

static void sctp_send_cb(void *ud, const uint8_t *d, size_t n)
{
    pm_rtc_peer *pc = ud;
    /* May run from another association's timer tick; DTLS is not inside a
     * call of its own here, so encrypting now is safe. */
    if (pc->dtls && pm_dtls_get_state(pc->dtls) == PM_DTLS_CONNECTED)
        (void)pm_dtls_write(pc->dtls, d, n);
}

/* ---- setup ----------------------------------------------------------- */

int pm_rtc_transports_init(pm_rtc_peer *pc)
{
    pm_ice_config ic;
    memset(&ic, 0, sizeof ic);
    ic.controlling = false;
    ic.host_addrs = pc->host_addrs;
    ic.host_addr_count = pc->host_addr_count;
    ic.stun_servers = pc->stun_addrs;
    ic.stun_server_count = pc->stun_addr_count;
    pm_ice_turn_server turn[PM_RTC_MAX_TURN];
    for (size_t i = 0; i < pc->turn_count; i++)
        turn[i] = pc->turn[i].ice;
    ic.turn_servers = turn;
    ic.turn_server_count = pc->turn_count;
    ic.relay_only = pc->relay_only;
    ic.resolve_mdns = pc->resolve_mdns;
    ic.consent_timeout = pc->consent_timeout;
    ic.disconnected_after = pc->disconnected_after;
    return pm_ice_agent_new(&pc->env, &ic, &pc->ice);
}

void pm_rtc_transports_free(pm_rtc_peer *pc)
{
    pm_sctp_free(pc->sctp);
    pc->sctp = NULL;
    pm_dtls_free(pc->dtls);
    pc->dtls = NULL;
    pm_ice_agent_free(pc->ice);
    pc->ice = NULL;
    for (size_t i = 0; i < pc->turn_count; i++) {
        pm_tls_free(pc->turn[i].tls);
        pc->turn[i].tls = NULL;
    }
}

static int create_dtls(pm_rtc_peer *pc)
{
    pm_dtls_callbacks cb = {pc, dtls_send_cb, dtls_recv_cb, dtls_state_cb};
    int rc = pm_dtls_new(&pc->env, pc->cert, pc->dtls_client, &cb, &pc->dtls);
    if (rc != PM_OK)
        return rc;
    rc = pm_dtls_set_remote_fingerprint(pc->dtls, pc->remote_fp_algo, pc->remote_fp);
    if (rc != PM_OK)
        PM_WARN(&pc->env, "rtc", "remote fingerprint unusable (%s %s)", pc->remote_fp_algo,
                pc->remote_fp);
    /* Replay DTLS datagrams that arrived before we knew our role. */
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&pc->early_dtls, NULL, &d, &n)) {
        pm_dtls_handle_datagram(pc->dtls, pc->now, d, n);
        pm_fifo_pop(&pc->early_dtls);
    }
    return rc;
}

static int create_sctp(pm_rtc_peer *pc)
{
    pm_sctp_config sc;
    pm_sctp_config_default(&sc);
    sc.local_port = PM_RTC_SCTP_PORT;
    sc.remote_port = pc->remote_sctp_port;
    size_t mms = pm_rtc_peer_max_message_size(pc);
    sc.max_message_size = PM_MAX(mms, (size_t)pc->local_max_message);
    sc.zero_checksum_in_init = pc->remote_zero_checksum;
    pm_sctp_callbacks cb = {pc, sctp_send_cb};
    int rc = pm_sctp_new(&pc->env, &sc, &cb, &pc->sctp);
    if (rc != PM_OK)
        return rc;
    return pm_sctp_connect(pc->sctp, pc->now);
}

/* ---- TURN connections (TCP, or TLS through src/dtls/tls.h) ---------- */

static pm_rtc_turn *turn_of_stream(pm_rtc_peer *pc, uint32_t stream)
{
    return stream >= 1 && stream <= pc->turn_count ? &pc->turn[stream - 1] : NULL;
}

/* Move what TLS has to send onto the connection. */
static void tls_flush(pm_rtc_peer *pc, uint32_t stream, pm_tls *tls)
{
    uint8_t buf[16384];
    size_t n;
    while ((n = pm_tls_output(tls, buf, sizeof buf)) > 0)
        pm_rtc_queue(pc, PM_RTC_TX_STREAM_DATA, stream, NULL, buf, n);
}

/* Plaintext TURN bytes for connection `stream`. */
void pm_rtc_stream_write(pm_rtc_peer *pc, uint32_t stream, const uint8_t *d, size_t n)
{
    pm_rtc_turn *t = turn_of_stream(pc, stream);
    if (!t || !t->tls) {
        pm_rtc_queue(pc, PM_RTC_TX_STREAM_DATA, stream, NULL, d, n);
        return;
    }
    if (pm_tls_write(t->tls, d, n) != PM_OK)
        pc->dropped_datagrams++; /* failed: reported when the failure is seen */
    tls_flush(pc, stream, t->tls);
}

static void stream_open(pm_rtc_peer *pc, uint32_t stream, const pm_addr *to)
{
    pm_rtc_turn *t = turn_of_stream(pc, stream);
    if (!t)
        return;
    pm_rtc_queue(pc, PM_RTC_TX_STREAM_OPEN, stream, to, NULL, 0);
    if (t->ice.transport != PM_ICE_TURN_TLS)
        return;
    pm_tls_free(t->tls);
    t->tls = NULL;
    int rc = pm_tls_client_new(&pc->env, t->host, !pc->turn_tls_insecure, &t->tls);
    if (rc != PM_OK) {
        pm_ice_stream_closed(pc->ice, pc->now, stream, "cannot set up TLS");
        pm_rtc_queue(pc, PM_RTC_TX_STREAM_CLOSE, stream, NULL, NULL, 0);
        return;
    }
    tls_flush(pc, stream, t->tls); /* ClientHello */
}

static void stream_close(pm_rtc_peer *pc, uint32_t stream)
{
    pm_rtc_turn *t = turn_of_stream(pc, stream);
    if (t && t->tls) {
        pm_tls_close(t->tls);
        tls_flush(pc, stream, t->tls);
        pm_tls_free(t->tls);
        t->tls = NULL;
    }
    pm_rtc_queue(pc, PM_RTC_TX_STREAM_CLOSE, stream, NULL, NULL, 0);
}

void pm_rtc_on_stream_closed(pm_rtc_peer *pc, uint32_t stream, const char *why)
{
    pm_rtc_turn *t = turn_of_stream(pc, stream);
    if (!t)
        return;
    pm_tls_free(t->tls);
    t->tls = NULL;
    pm_ice_stream_closed(pc->ice, pc->now, stream, why);
}

/* ---- input ----------------------------------------------------------- */

/* Application bytes from a path: DTLS, accepted only from a valid pair. */
static void on_app(pm_rtc_peer *pc, const pm_ice_app *app)
{
    uint8_t b = app->data[0];
    if (b < 20 || b > 63) {
        pc->dropped_datagrams++; /* RTP/RTCP, garbage */
        return;
    }
    if (!pm_ice_is_valid_path(pc->ice, app->via, &app->from)) {
        pc->dropped_datagrams++;
        return;
    }
    if (!pc->have_remote_addr) {
        pc->remote = app->from;
        pc->remote_via = app->via;
        pc->have_remote_addr = true;
    }
    if (pc->dtls) {
        pm_dtls_handle_datagram(pc->dtls, pc->now, app->data, app->len);
    } else if (pc->early_dtls.count < PM_RTC_EARLY_DTLS_MAX) {
        /* WEBRTC-NOTES 3.1: a ClientHello can beat the answer; keep it. */
        pm_fifo_push(&pc->env, &pc->early_dtls, 0, app->data, app->len, NULL, 0);
    }
}

void pm_rtc_on_datagram(pm_rtc_peer *pc, const pm_addr *from, const uint8_t *d, size_t n)
{
    if (pc->closed || n == 0) {
        pc->dropped_datagrams++;
        return;
    }
    pm_ice_app app;
    if (pm_ice_handle_datagram(pc->ice, pc->now, from, d, n, &app) != PM_OK)
        pc->dropped_datagrams++;
    if (app.len)
        on_app(pc, &app);
}

int pm_rtc_on_stream(pm_rtc_peer *pc, uint32_t stream, const uint8_t *d, size_t n)
{
    pm_rtc_turn *t = turn_of_stream(pc, stream);
    if (!t)
        return PM_ERR_NOT_FOUND;
    int rc = PM_OK;
    if (!t->tls) {
        rc = pm_ice_handle_stream(pc->ice, pc->now, stream, d, n);
    } else {
        rc = pm_tls_feed(t->tls, d, n);
        uint8_t buf[16384];
        int got;
        while (rc == PM_OK && (got = pm_tls_read(t->tls, buf, sizeof buf)) != 0) {
            if (got < 0) {
                rc = got;
                break;
            }
            (void)pm_ice_handle_stream(pc->ice, pc->now, stream, buf, (size_t)got);
        }
        if (t->tls)
            tls_flush(pc, stream, t->tls);
        if (rc != PM_OK) {
            char why[200];
            snprintf(why, sizeof why, "TLS: %s",
                     rc == PM_ERR_CLOSED ? "closed by the server" : pm_tls_error(t->tls));
            pm_rtc_on_stream_closed(pc, stream, why);
            pm_rtc_queue(pc, PM_RTC_TX_STREAM_CLOSE, stream, NULL, NULL, 0);
        }
    }
    pm_ice_app app;
    while (pm_ice_poll_app(pc->ice, &app))
        on_app(pc, &app);
    return rc;
}

/* ---- the drive loop -------------------------------------------------- */

static void on_ice_state(pm_rtc_peer *pc, pm_ice_state st)
{
    bool up = pc->dtls && pm_dtls_get_state(pc->dtls) == PM_DTLS_CONNECTED;
    switch (st) {
    case PM_ICE_CHECKING:
        if (!up) /* during an ICE restart the connection stays what it is */
            pm_rtc_set_state(pc, PM_RTC_STATE_CONNECTING);
        break;
    case PM_ICE_CONNECTED:
    case PM_ICE_COMPLETED:
        if ((pc->state == PM_RTC_STATE_DISCONNECTED || pc->state == PM_RTC_STATE_FAILED) && up) {
            if (pc->state == PM_RTC_STATE_FAILED)
                PM_INFO(&pc->env, "rtc", "connection recovered (ICE restart)");
            pm_rtc_set_state(pc, PM_RTC_STATE_CONNECTED);
            pc->ice_failed_only = false;
        }
        break;
    case PM_ICE_DISCONNECTED:
        if (pc->state == PM_RTC_STATE_CONNECTED || pc->state == PM_RTC_STATE_CONNECTING)
            pm_rtc_set_state(pc, PM_RTC_STATE_DISCONNECTED);
        break;
    case PM_ICE_FAILED:
        if (up && pc->sctp_up) {
            /* DTLS and SCTP are intact: an ICE restart can bring the
             * connection back with every channel and message as it was. */
            PM_WARN(&pc->env, "rtc", "ICE failed (consent expired); an ICE restart can recover");
            pc->ice_failed_only = true;
            pm_rtc_set_state(pc, PM_RTC_STATE_FAILED);
        } else {
            pm_rtc_fail(pc, "ICE failed (no usable candidate pair, or consent expired)");
        }
        break;
    default:
        break;
    }
}

/* Everything the ICE agent wants sent, routed to the socket, the mDNS
 * socket or a TURN connection (through TLS for turns:). */
void pm_rtc_drain_ice_output(pm_rtc_peer *pc)
{
    pm_ice_transmit tx;
    while (pm_ice_poll_transmit(pc->ice, &tx)) {
        switch (tx.kind) {
        case PM_ICE_TX_DATAGRAM:
            if (tx.stream == PM_ICE_STREAM_MDNS)
                pm_rtc_queue(pc, PM_RTC_TX_MDNS, 0, &tx.to, tx.data, tx.len);
            else
                pm_rtc_queue_datagram(pc, &tx.to, tx.data, tx.len);
            break;
        case PM_ICE_TX_STREAM_OPEN:
            stream_open(pc, tx.stream, &tx.to);
            break;
        case PM_ICE_TX_STREAM_DATA:
            pm_rtc_stream_write(pc, tx.stream, tx.data, tx.len);
            break;
        case PM_ICE_TX_STREAM_CLOSE:
            stream_close(pc, tx.stream);
            break;
        }
    }
}

#define PATH_PROBES 3 /* heartbeats on demand after a new path: at 0, 0.5 and 1.5 s */

static void drain_ice(pm_rtc_peer *pc)
{
    pm_ice_event ev;
    bool new_path = false;
    while (pm_ice_poll_event(pc->ice, &ev)) {
        switch (ev.type) {
        case PM_ICE_EV_LOCAL_CANDIDATE:
            pm_rtc_emit_text(pc, PM_RTC_EVENT_CANDIDATE, NULL, ev.candidate);
            break;
        case PM_ICE_EV_GATHERING_DONE:
            pc->gathering = PM_RTC_GATHERING_COMPLETE;
            pm_rtc_emit_text(pc, PM_RTC_EVENT_CANDIDATE, NULL, "");
            pm_rtc_emit(pc, PM_RTC_EVENT_GATHERING_STATE, NULL, (int)pc->gathering);
            break;
        case PM_ICE_EV_STATE:
            on_ice_state(pc, ev.state);
            break;
        case PM_ICE_EV_SELECTED_PAIR:
            pm_rtc_emit(pc, PM_RTC_EVENT_SELECTED_PAIR, NULL, 0);
            new_path = true;
            break;
        case PM_ICE_EV_SERVER_ERROR:
            pm_rtc_emit_ice_error(pc, ev.url, ev.error_code, ev.text);
            break;
        case PM_ICE_EV_ROLE_CHANGED:
            break;
        }
    }
    pm_addr sel;
    uint8_t via;
    if (pm_ice_selected_path(pc->ice, &via, &sel)) {
        pc->remote = sel;
        pc->remote_via = via;
        pc->have_remote_addr = true;
    }
    /* A new path under a running association (a restart, a moved remote):
     * let SCTP find out now, over the new path, rather than when its
     * backed-off retransmission timer fires or, once it called the path
     * unreachable, its next heartbeat (10 s). Again after 0.5 and 1.5 s:
     * the remote may switch to the new path a moment after us, and an
     * answer it sends the old way is lost. */
    if (new_path && pc->sctp_up) {
        pc->path_probes = PATH_PROBES;
        pc->path_probe_at = pc->now;
    }
    if (pc->path_probes && pc->now >= pc->path_probe_at && pc->sctp && pc->sctp_up) {
        (void)pm_sctp_path_changed(pc->sctp, pc->now);
        pc->path_probes--;
        pc->path_probe_at = pc->now + (PATH_PROBES - pc->path_probes) * PM_MS(500);
    }
    pm_rtc_drain_ice_output(pc);
}

static bool ice_usable(const pm_rtc_peer *pc)
{
    pm_ice_state s = pm_ice_get_state(pc->ice);
    return s == PM_ICE_CONNECTED || s == PM_ICE_COMPLETED || s == PM_ICE_DISCONNECTED;
}

static void step_dtls(pm_rtc_peer *pc)
{
    if (!pc->role_known || pc->state == PM_RTC_STATE_FAILED)
        return;
    if (!pc->dtls && (ice_usable(pc) || pc->early_dtls.count > 0)) {
        if (create_dtls(pc) != PM_OK && !pc->dtls) {
            pm_rtc_fail(pc, "cannot create the DTLS endpoint");
            return;
        }
    }
    if (pc->dtls && !pc->dtls_started && ice_usable(pc) && pc->have_remote_addr) {
        pm_dtls_set_rtt_hint(pc->dtls, pm_ice_rtt(pc->ice) > 0 ? pm_ice_rtt(pc->ice) : PM_MS(25));
        pc->dtls_started = true;
        pm_dtls_start(pc->dtls, pc->now);
    }
    if (!pc->dtls)
        return;
    switch (pm_dtls_get_state(pc->dtls)) {
    case PM_DTLS_CONNECTED:
        if (!pc->sctp) {
            PM_DEBUG(&pc->env, "rtc", "DTLS up (%s)", pm_dtls_cipher(pc->dtls));
            if (create_sctp(pc) != PM_OK) {
                pm_rtc_fail(pc, "cannot create the SCTP association");
                return;
            }
            pm_rtc_set_state(pc, PM_RTC_STATE_CONNECTED);
        }
        break;
    case PM_DTLS_FAILED:
        pm_rtc_fail(pc, "DTLS failed (handshake, alert or fingerprint mismatch)");
        break;
    case PM_DTLS_CLOSED:
        /* close_notify from the peer: it closed the connection. */
        pm_rtc_teardown(pc);
        break;
    default:
        break;
    }
}

static void drain_sctp(pm_rtc_peer *pc)
{
    if (!pc->sctp)
        return;
    const uint8_t *d;
    size_t n;
    while (pm_fifo_peek(&pc->inbox, NULL, &d, &n)) {
        pm_sctp_handle_packet(pc->sctp, pc->now, d, n);
        pm_fifo_pop(&pc->inbox);
    }
    pm_sctp_event ev;
    /* While a channel holds PM_RTC_RECV_QUEUE_LIMIT unread bytes, leave SCTP's
     * events where they are: its receive window closes and the remote slows
     * down, instead of our memory growing without bound. */
    while (!pm_rtc_channels_backlogged(pc) && pm_sctp_poll_event(pc->sctp, &ev)) {
        switch (ev.type) {
        case PM_SCTP_EV_CONNECTED:
            pc->sctp_up = true;
            pm_rtc_channels_on_sctp_up(pc);
            break;
        case PM_SCTP_EV_MESSAGE:
            pm_rtc_channels_on_message(pc, ev.sid, ev.ppid, ev.data, ev.len);
            break;
        case PM_SCTP_EV_STREAM_RESET:
            pm_rtc_channels_on_reset(pc, ev.sid, ev.incoming, ev.outgoing, ev.failed);
            break;
        case PM_SCTP_EV_SEND_READY:
            break; /* flushed below */
        case PM_SCTP_EV_CLOSED:
            pc->sctp_up = false;
            pm_rtc_channels_close_all(pc);
            if (!pc->closed)
                pm_rtc_fail(pc, "SCTP association lost");
            break;
        }
    }
}

void pm_rtc_drive(pm_rtc_peer *pc)
{
    if (pc->in_call)
        return;
    pc->in_call = true;
    /* Timers run once per point in time: a batch of datagrams received at
     * one `now` runs them once, not once per datagram. Anything they
     * schedule for that same time shows in the deadline, and
     * handle_timeout runs them again (timers_due). */
    if (pc->timers_due || pc->now != pc->timers_at) {
        pc->timers_due = false;
        pc->timers_at = pc->now;
        pm_ice_handle_timeout(pc->ice, pc->now);
        if (pc->dtls)
            pm_dtls_handle_timeout(pc->dtls, pc->now);
        if (pc->sctp)
            pm_sctp_handle_timeout(pc->sctp, pc->now);
    }
    /* Each pass can unlock work for another layer (ICE up -> DTLS start ->
     * SCTP up -> DCEP); a few passes reach a fixed point. */
    for (int pass = 0; pass < 4; pass++) {
        size_t before = pc->tx.count + pc->events.count + pc->inbox.count;
        drain_ice(pc);
        step_dtls(pc);
        drain_sctp(pc);
        if (pc->sctp_up)
            pm_rtc_channels_flush(pc);
        drain_sctp(pc);
        size_t after = pc->tx.count + pc->events.count + pc->inbox.count;
        if (after == before && pc->inbox.count == 0)
            break;
    }
    pc->in_call = false;
}

pm_time pm_rtc_transports_deadline(const pm_rtc_peer *pc)
{
    pm_time t = pm_ice_next_timeout(pc->ice);
    if (pc->path_probes && pc->sctp_up)
        t = PM_MIN(t, pc->path_probe_at);
    if (pc->dtls)
        t = PM_MIN(t, pm_dtls_next_timeout(pc->dtls, pc->now));
    if (pc->sctp)
        t = PM_MIN(t, pm_sctp_next_timeout(pc->sctp, pc->now));
    return t;
}

const char *pm_rtc_sctp_implementation(void)
{
    return pm_sctp_implementation();
}

int pm_rtc_sctp_send(pm_rtc_peer *pc, uint16_t sid, uint32_t ppid, const uint8_t *d, size_t n,
                     const pm_rtc_channel *ch)
{
    if (!pc->sctp || !pc->sctp_up)
        return PM_ERR_STATE;
    pm_sctp_sendopts o;
    memset(&o, 0, sizeof o);
    o.now = pm_env_now(&pc->env); /* pc->now dates from the last call into the peer */
    if (!ch) /* DCEP control: always ordered and reliable (RFC 8832 section 6) */
        return pm_sctp_send(pc->sctp, sid, ppid, d, n, &o);
    /* RFC 8832 section 6: until the DCEP ACK arrives, send ordered and reliable. */
    bool partial_ok = ch->negotiated || ch->acked || !ch->locally_created;
    o.unordered = !ch->ordered && partial_ok;
    /* With usrsctp 0.9.5 (the PM_SCTP=usrsctp build) a partly sent message
     * must not be abandoned (it aborts the association, usrsctp issue 592):
     * larger messages on a partially reliable channel then go reliably
     * (documented in rtc.h). Our own SCTP has no such limit. */
    if (n > pm_sctp_partial_reliability_limit())
        partial_ok = false;
    if (partial_ok && ch->max_retransmits >= 0) {
        o.pr_policy = PM_SCTP_PR_RTX;
        o.pr_value = (uint32_t)ch->max_retransmits;
    } else if (partial_ok && ch->max_packet_lifetime >= 0) {
        o.pr_policy = PM_SCTP_PR_TTL;
        o.pr_value = (uint32_t)ch->max_packet_lifetime;
    }
    return pm_sctp_send(pc->sctp, sid, ppid, d, n, &o);
}
