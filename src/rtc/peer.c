/* Peer connection: lifecycle, events, output queue and the public entry points. */
#include "rtc_internal.h"

#include <stdio.h>

void pm_rtc_config_default(pm_rtc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enable_ipv6 = true;
    cfg->include_loopback = true;
    cfg->resolve_mdns = true;
    cfg->max_message_size = PM_RTC_DEFAULT_MAX_MESSAGE;
    cfg->consent_timeout = PM_SEC(30);
    cfg->disconnected_after = PM_SEC(5);
}

void pm_rtc_channel_init_default(pm_rtc_channel_init *init)
{
    memset(init, 0, sizeof *init);
    init->id = -1;
    init->ordered = true;
    init->max_packet_lifetime = -1;
    init->max_retransmits = -1;
}

/* ---- events ---------------------------------------------------------- */

static void queue_event(pm_rtc_peer *pc, const pm_rtc_ev *e)
{
    if (pm_queue_push(&pc->env, &pc->events, e) != PM_OK) {
        PM_ERROR(&pc->env, "rtc", "out of memory queueing event %d", (int)e->type);
        pm_free(&pc->env, e->text);
        pm_free(&pc->env, e->text2);
    }
}

void pm_rtc_emit(pm_rtc_peer *pc, pm_rtc_event_type type, pm_rtc_channel *ch, int state)
{
    pm_rtc_ev e = {type, ch ? ch->handle : 0, state, NULL, NULL, NULL};
    queue_event(pc, &e);
}

void pm_rtc_emit_text(pm_rtc_peer *pc, pm_rtc_event_type type, const char *sdp_type,
                      const char *text)
{
    pm_rtc_ev e = {type, 0, 0, sdp_type, NULL, NULL};
    if (text && *text && !(e.text = pm_strdup(&pc->env, text))) {
        PM_ERROR(&pc->env, "rtc", "out of memory queueing event %d", (int)type);
        return;
    }
    queue_event(pc, &e);
}

void pm_rtc_emit_ice_error(pm_rtc_peer *pc, const char *url, int code, const char *text)
{
    pm_rtc_ev e = {PM_RTC_EVENT_ICE_CANDIDATE_ERROR, 0, code, NULL, NULL, NULL};
    e.text = url && *url ? pm_strdup(&pc->env, url) : NULL;
    e.text2 = text && *text ? pm_strdup(&pc->env, text) : NULL;
    if ((url && *url && !e.text) || (text && *text && !e.text2)) {
        PM_ERROR(&pc->env, "rtc", "out of memory queueing an ICE candidate error");
        pm_free(&pc->env, e.text);
        pm_free(&pc->env, e.text2);
        return;
    }
    queue_event(pc, &e);
}

/* Free what the last event lent out (its strings live until the next call). */
static void end_event_loan(pm_rtc_peer *pc)
{
    pm_free(&pc->env, pc->ev_text);
    pm_free(&pc->env, pc->ev_text2);
    pc->ev_text = pc->ev_text2 = NULL;
}

bool pm_rtc_peer_next_event(pm_rtc_peer *pc, pm_rtc_event *ev)
{
    if (!pc || !ev)
        return false;
    end_event_loan(pc);
    for (;;) {
        const pm_rtc_ev *front = pm_queue_front(&pc->events);
        if (!front) {
            pm_rtc_channels_reap(pc);
            return false;
        }
        pm_rtc_ev e = *front;
        pm_queue_pop(&pc->events);
        memset(ev, 0, sizeof *ev);
        ev->type = e.type;
        ev->state = e.state;
        if (e.handle) {
            /* A released channel is no longer the application's: its
             * queued events are dropped (rtc.h), or a program that tracks
             * channels from OPEN would hold one that is freed once it closes. */
            ev->channel = pm_rtc_channel_by_handle(pc, e.handle);
            if (!ev->channel || ev->channel->released)
                continue;
        }
        pc->ev_text = e.text;
        pc->ev_text2 = e.text2;
        switch (ev->type) {
        case PM_RTC_EVENT_DESCRIPTION:
            ev->sdp_type = e.sdp_type;
            ev->sdp = e.text ? e.text : "";
            break;
        case PM_RTC_EVENT_CANDIDATE:
            ev->mid = pc->mid;
            ev->mline_index = 0;
            ev->candidate = e.text ? e.text : "";
            break;
        case PM_RTC_EVENT_ICE_CANDIDATE_ERROR:
            ev->url = e.text ? e.text : "";
            ev->error_text = e.text2 ? e.text2 : "";
            ev->error_code = ev->state;
            ev->state = 0;
            break;
        default:
            break;
        }
        return true;
    }
}

/* ---- output ---------------------------------------------------------- */

/* The driver's transmit kinds are the public ones. */
_Static_assert((int)PM_TRANSMIT_DATAGRAM == (int)PM_RTC_TX_DATAGRAM &&
                   (int)PM_TRANSMIT_MDNS == (int)PM_RTC_TX_MDNS &&
                   (int)PM_TRANSMIT_STREAM_OPEN == (int)PM_RTC_TX_STREAM_OPEN &&
                   (int)PM_TRANSMIT_STREAM_DATA == (int)PM_RTC_TX_STREAM_DATA &&
                   (int)PM_TRANSMIT_STREAM_CLOSE == (int)PM_RTC_TX_STREAM_CLOSE,
               "pm_transmit_kind and pm_rtc_transmit_kind must agree");

void pm_rtc_queue(pm_rtc_peer *pc, pm_rtc_transmit_kind kind, uint32_t stream, const pm_addr *to,
                  const uint8_t *d, size_t n)
{
    pm_rtc_route r;
    memset(&r, 0, sizeof r);
    if (to)
        r.to = *to;
    r.stream = stream;
    if (pm_fifo_push(&pc->env, &pc->tx, (uint32_t)kind, &r, sizeof r, d, n) != PM_OK)
        PM_WARN(&pc->env, "rtc", "dropping output: out of memory");
}

void pm_rtc_queue_datagram(pm_rtc_peer *pc, const pm_addr *to, const uint8_t *d, size_t n)
{
    pm_rtc_queue(pc, PM_RTC_TX_DATAGRAM, 0, to, d, n);
}

/* The host address of the family a datagram to `to` leaves from. */
static pm_addr local_for(const pm_rtc_peer *pc, const pm_addr *to)
{
    for (size_t i = 0; i < pc->host_addr_count; i++)
        if (pc->host_addrs[i].family == to->family)
            return pc->host_addrs[i];
    if (pc->host_addr_count)
        return pc->host_addrs[0];
    pm_addr none;
    memset(&none, 0, sizeof none);
    return none;
}

bool pm_rtc_take_transmit(pm_rtc_peer *pc, pm_transmit *out)
{
    const uint8_t *d;
    size_t n;
    uint32_t kind;
    if (!pm_fifo_peek(&pc->tx, &kind, &d, &n))
        return false;
    /* Popped but not copied: the record stays readable until the next push,
     * i.e. until the peer is next driven (see pm_fifo_pop). */
    pm_fifo_pop(&pc->tx);
    pm_rtc_route r;
    memcpy(&r, d, sizeof r);
    memset(out, 0, sizeof *out);
    out->kind = (pm_transmit_kind)kind; /* the same values as pm_rtc_transmit_kind */
    out->stream = r.stream;
    out->to = r.to;
    if (kind == PM_RTC_TX_DATAGRAM)
        out->from = local_for(pc, &out->to);
    out->data = d + sizeof r;
    out->len = n - sizeof r;
    return true;
}

bool pm_rtc_peer_poll_transmit(pm_rtc_peer *pc, pm_rtc_transmit *out)
{
    pm_transmit t;
    if (!pc || !out || !pm_rtc_take_transmit(pc, &t))
        return false;
    *out = (pm_rtc_transmit){(pm_rtc_transmit_kind)t.kind, t.stream, t.from, t.to, t.data, t.len};
    return true;
}

/* ---- states ---------------------------------------------------------- */

void pm_rtc_set_state(pm_rtc_peer *pc, pm_rtc_state st)
{
    if (pc->state == st || pc->state == PM_RTC_STATE_CLOSED)
        return;
    /* Failed is terminal until close, except that an ICE restart may bring
     * back a connection whose DTLS and SCTP never failed. */
    if (pc->state == PM_RTC_STATE_FAILED && st != PM_RTC_STATE_CLOSED &&
        !(pc->ice_failed_only && st == PM_RTC_STATE_CONNECTED))
        return;
    pc->state = st;
    pm_rtc_emit(pc, PM_RTC_EVENT_STATE, NULL, (int)st);
}

void pm_rtc_fail(pm_rtc_peer *pc, const char *why)
{
    if ((pc->state == PM_RTC_STATE_FAILED && !pc->ice_failed_only) ||
        pc->state == PM_RTC_STATE_CLOSED)
        return;
    pc->ice_failed_only = false;
    PM_WARN(&pc->env, "rtc", "connection failed: %s", why);
    pm_rtc_channels_close_all(pc);
    pm_rtc_set_state(pc, PM_RTC_STATE_FAILED);
}

pm_rtc_state pm_rtc_peer_get_state(const pm_rtc_peer *pc)
{
    return pc ? pc->state : PM_RTC_STATE_CLOSED;
}
pm_rtc_gathering_state pm_rtc_peer_get_gathering_state(const pm_rtc_peer *pc)
{
    return pc ? pc->gathering : PM_RTC_GATHERING_NEW;
}
pm_rtc_signaling_state pm_rtc_peer_get_signaling_state(const pm_rtc_peer *pc)
{
    return pc ? pc->signaling : PM_RTC_SIGNALING_CLOSED;
}

size_t pm_rtc_peer_max_message_size(const pm_rtc_peer *pc)
{
    if (!pc)
        return 0;
    uint64_t remote = pc->have_remote ? pc->remote_max_message : 65536;
    if (remote == 0 || remote > pc->local_max_message)
        remote = pc->local_max_message; /* 0 = unlimited (RFC 8841 section 6) */
    return (size_t)remote;
}

pm_time pm_rtc_peer_rtt(const pm_rtc_peer *pc)
{
    return pc && pc->ice ? pm_ice_rtt(pc->ice) : -1;
}

/* ---- construction ---------------------------------------------------- */

/* Numeric literals always; names only in socket mode (the OS resolver). */
static int resolve_host(const pm_ice_url *url, const pm_socket_driver *driver, pm_addr *out)
{
    if (pm_addr_parse(out, url->host, url->port) == PM_OK)
        return PM_OK;
    if (driver && driver->resolve(url->host, url->port, out, 1) == 1)
        return PM_OK;
    return PM_ERR_NOT_FOUND;
}

static int add_turn(pm_rtc_peer *pc, const pm_ice_url *url, const pm_ice_server *s,
                    const char *text, const pm_socket_driver *driver)
{
    if (pc->turn_count >= PM_RTC_MAX_TURN) {
        PM_WARN(&pc->env, "rtc", "more than %d TURN URLs: %s ignored", PM_RTC_MAX_TURN, text);
        return PM_OK;
    }
    /* The whole table at once: the ICE agent keeps pointers into it. */
    if (!pc->turn && !(pc->turn = pm_calloc(&pc->env, PM_RTC_MAX_TURN * sizeof *pc->turn)))
        return PM_ERR_NOMEM;
    pm_rtc_turn *t = &pc->turn[pc->turn_count];
    memset(t, 0, sizeof *t);
    if (resolve_host(url, driver, &t->ice.addr) != PM_OK) {
        PM_WARN(&pc->env, "rtc", "cannot resolve TURN server %s", url->host);
        return PM_OK;
    }
    snprintf(t->url, sizeof t->url, "%s", text);
    snprintf(t->host, sizeof t->host, "%s", url->host);
    snprintf(t->username, sizeof t->username, "%s", s->username);
    snprintf(t->credential, sizeof t->credential, "%s", s->credential);
    t->ice.transport = url->scheme == PM_ICE_URL_TURNS ? PM_ICE_TURN_TLS
                       : url->transport_tcp            ? PM_ICE_TURN_TCP
                                                       : PM_ICE_TURN_UDP;
    t->ice.username = t->username;
    t->ice.password = t->credential;
    t->ice.url = t->url;
    pc->turn_count++;
    return PM_OK;
}

static int resolve_ice_servers(pm_rtc_peer *pc, const pm_rtc_config *cfg,
                               const pm_socket_driver *driver)
{
    for (size_t i = 0; i < cfg->ice_server_count; i++) {
        const pm_ice_server *s = &cfg->ice_servers[i];
        int rc = pm_ice_server_validate(s);
        if (rc != PM_OK) {
            PM_ERROR(&pc->env, "rtc", "invalid ICE server entry %zu: %s", i, pm_strerror(rc));
            return rc;
        }
        for (size_t u = 0; u < s->url_count; u++) {
            pm_ice_url url;
            pm_ice_url_parse(s->urls[u], &url);
            if (url.scheme == PM_ICE_URL_TURN || url.scheme == PM_ICE_URL_TURNS) {
                if (add_turn(pc, &url, s, s->urls[u], driver) != PM_OK)
                    return PM_ERR_NOMEM;
                continue;
            }
            if (url.scheme != PM_ICE_URL_STUN) {
                PM_INFO(&pc->env, "rtc", "ICE server %s: stuns: is not supported", s->urls[u]);
                continue;
            }
            if (pc->stun_addr_count >= PM_RTC_MAX_STUN)
                continue;
            if (resolve_host(&url, driver, &pc->stun_addrs[pc->stun_addr_count]) != PM_OK) {
                PM_WARN(&pc->env, "rtc", "cannot resolve STUN server %s", url.host);
                continue;
            }
            pc->stun_addr_count++;
        }
    }
    if (pc->relay_only && pc->turn_count == 0)
        PM_WARN(&pc->env, "rtc", "relay-only policy without a usable TURN server");
    return PM_OK;
}

static int setup_addresses(pm_rtc_peer *pc, const pm_rtc_config *cfg)
{
    if (!cfg->external_transport)
        return pm_rtc_sockets_open(pc, cfg);
    size_t n = PM_MIN(cfg->local_addr_count, (size_t)PM_RTC_MAX_HOST_ADDRS);
    if (n == 0 || !cfg->local_addrs)
        return PM_ERR_INVALID;
    memcpy(pc->host_addrs, cfg->local_addrs, n * sizeof(pm_addr));
    pc->host_addr_count = n;
    return PM_OK;
}

int pm_rtc_peer_new(const pm_rtc_config *cfg_in, pm_rtc_peer **out)
{
    if (!out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_rtc_config defaults;
    if (!cfg_in) {
        pm_rtc_config_default(&defaults);
        cfg_in = &defaults;
    }
    pm_envr env;
    pm_env_resolve(&env, cfg_in->env);
    pm_rtc_peer *pc = pm_calloc(&env, sizeof *pc);
    if (!pc)
        return PM_ERR_NOMEM;
    pc->env = env;
    pc->next_handle = 1;
    pc->local_max_message =
        cfg_in->max_message_size ? cfg_in->max_message_size : PM_RTC_DEFAULT_MAX_MESSAGE;
    pc->consent_timeout = cfg_in->consent_timeout ? cfg_in->consent_timeout : PM_SEC(30);
    pc->disconnected_after = cfg_in->disconnected_after ? cfg_in->disconnected_after : PM_SEC(5);
    pc->remote_max_message = 65536;
    pc->now = pm_env_now(&pc->env);
    pc->timers_due = true;
    snprintf(pc->mid, sizeof pc->mid, "0");
    pm_fifo_init(&pc->tx, 0);
    pm_queue_init(&pc->events, sizeof(pm_rtc_ev));
    pm_fifo_init(&pc->inbox, 0);
    pm_fifo_init(&pc->early_dtls, 0);
    pm_fifo_init(&pc->pending_candidates, 0);
    /* RFC 8866: a session id that is unique; 62 bits keeps it positive everywhere. */
    pc->session_id = pm_random_u64(&pc->env) >> 2;
    pc->session_version = 2;

    pc->relay_only = cfg_in->ice_transport_policy == PM_RTC_ICE_POLICY_RELAY;
    pc->turn_tls_insecure = cfg_in->turn_tls_insecure;
    pc->resolve_mdns = cfg_in->resolve_mdns;
    int rc = resolve_ice_servers(pc, cfg_in, cfg_in->external_transport ? NULL : env.sockets);
    if (rc == PM_OK)
        rc = setup_addresses(pc, cfg_in);
    if (rc == PM_OK) {
        if (cfg_in->certificate)
            pc->cert = pm_dtls_cert_ref(cfg_in->certificate);
        else
            rc = pm_dtls_cert_default(&pc->cert);
    }
    if (rc == PM_OK)
        rc = pm_rtc_transports_init(pc);
    if (rc != PM_OK) {
        pm_rtc_peer_free(pc);
        return rc;
    }
    *out = pc;
    return PM_OK;
}

/* Everything closed, whoever closed it (us, or the peer's close_notify). */
void pm_rtc_teardown(pm_rtc_peer *pc)
{
    if (pc->closed)
        return;
    pc->closed = true;
    pm_rtc_channels_close_all(pc);
    if (pc->dtls)
        pm_dtls_close(pc->dtls); /* close_notify (idempotent): the fastest teardown signal */
    if (pc->ice) {
        pm_ice_close(pc->ice);
        pm_rtc_drain_ice_output(pc); /* TURN deallocations, streams closed */
    }
    if (pc->signaling != PM_RTC_SIGNALING_CLOSED) {
        pc->signaling = PM_RTC_SIGNALING_CLOSED;
        pm_rtc_emit(pc, PM_RTC_EVENT_SIGNALING_STATE, NULL, (int)pc->signaling);
    }
    pm_rtc_set_state(pc, PM_RTC_STATE_CLOSED);
}

void pm_rtc_peer_close(pm_rtc_peer *pc)
{
    if (!pc)
        return;
    pm_rtc_teardown(pc);
    if (pc->sockets)
        pc->driver->flush(pc->sockets); /* close_notify goes out now: poll refuses after close */
}

void pm_rtc_peer_free(pm_rtc_peer *pc)
{
    if (!pc)
        return;
    pm_rtc_peer_close(pc);
    for (size_t i = 0; i < pc->channel_count; i++)
        pm_rtc_channel_destroy(pc->channels[i]);
    pm_free(&pc->env, pc->channels);
    pm_rtc_transports_free(pc);
    pm_free(&pc->env, pc->turn);
    if (pc->cert)
        pm_rtc_certificate_free(pc->cert);
    pm_rtc_sockets_close(pc);
    pm_free(&pc->env, pc->local_sdp);
    pm_free(&pc->env, pc->local_type);
    pm_fifo_free(&pc->env, &pc->tx);
    pm_buf_free(&pc->env, &pc->relay_buf);
    for (pm_rtc_ev *e; (e = pm_queue_front(&pc->events)); pm_queue_pop(&pc->events)) {
        pm_free(&pc->env, e->text);
        pm_free(&pc->env, e->text2);
    }
    pm_queue_free(&pc->env, &pc->events);
    end_event_loan(pc);
    pm_fifo_free(&pc->env, &pc->inbox);
    pm_fifo_free(&pc->env, &pc->early_dtls);
    pm_fifo_free(&pc->env, &pc->pending_candidates);
    pm_envr env = pc->env;
    pm_free(&env, pc);
}

/* ---- driving --------------------------------------------------------- */

void pm_rtc_input(pm_rtc_peer *pc, pm_time now, const pm_addr *from, const uint8_t *d, size_t n)
{
    pc->now = now;
    pm_rtc_on_datagram(pc, from, d, n);
    pm_rtc_drive(pc);
}

int pm_rtc_peer_handle_datagram(pm_rtc_peer *pc, pm_time now, const pm_addr *local,
                                const pm_addr *from, const uint8_t *data, size_t len)
{
    (void)local;
    if (!pc || !from || (!data && len))
        return PM_ERR_INVALID;
    if (pc->sockets)
        return PM_ERR_STATE; /* the socket driver feeds this peer */
    if (pc->closed)
        return PM_ERR_CLOSED;
    pm_rtc_input(pc, now, from, data, len);
    return PM_OK;
}

int pm_rtc_peer_handle_timeout(pm_rtc_peer *pc, pm_time now)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->closed)
        return PM_ERR_CLOSED;
    pc->now = now;
    pc->timers_due = true;
    pm_rtc_drive(pc);
    return PM_OK;
}

pm_time pm_rtc_deadline(const pm_rtc_peer *pc)
{
    if (pc->closed)
        return PM_TIME_NEVER;
    if (pc->tx.count > 0)
        return pc->now; /* output waiting */
    return pm_rtc_transports_deadline(pc);
}

pm_time pm_rtc_peer_next_timeout(const pm_rtc_peer *pc)
{
    if (!pc || pc->closed)
        return PM_TIME_NEVER;
    return pc->sockets ? pc->driver->next_timeout(pc->sockets) : pm_rtc_deadline(pc);
}

/* The sans-I/O core of the TURN connection and mDNS entry points, for both modes. */
int pm_rtc_stream_input(pm_rtc_peer *pc, pm_time now, uint32_t stream, const uint8_t *d, size_t n)
{
    pc->now = now;
    int rc = pm_rtc_on_stream(pc, stream, d, n);
    pm_rtc_drive(pc);
    return rc;
}

void pm_rtc_stream_end(pm_rtc_peer *pc, pm_time now, uint32_t stream, const char *why)
{
    pc->now = now;
    pm_rtc_on_stream_closed(pc, stream, why);
    pm_rtc_drive(pc);
}

int pm_rtc_mdns_input(pm_rtc_peer *pc, pm_time now, const uint8_t *d, size_t n)
{
    pc->now = now;
    int rc = pm_ice_handle_mdns(pc->ice, now, d, n);
    pm_rtc_drive(pc);
    return rc;
}

int pm_rtc_peer_handle_stream(pm_rtc_peer *pc, pm_time now, uint32_t stream, const uint8_t *data,
                              size_t len)
{
    if (!pc || (!data && len))
        return PM_ERR_INVALID;
    if (pc->sockets)
        return PM_ERR_STATE; /* the socket driver feeds this peer */
    if (pc->closed)
        return PM_ERR_CLOSED;
    return pm_rtc_stream_input(pc, now, stream, data, len);
}

int pm_rtc_peer_stream_closed(pm_rtc_peer *pc, pm_time now, uint32_t stream, const char *reason)
{
    if (!pc)
        return PM_ERR_INVALID;
    if (pc->sockets)
        return PM_ERR_STATE;
    if (pc->closed)
        return PM_ERR_CLOSED;
    pm_rtc_stream_end(pc, now, stream, reason);
    return PM_OK;
}

int pm_rtc_peer_handle_mdns(pm_rtc_peer *pc, pm_time now, const uint8_t *data, size_t len)
{
    if (!pc || !data)
        return PM_ERR_INVALID;
    if (pc->sockets)
        return PM_ERR_STATE;
    if (pc->closed)
        return PM_ERR_CLOSED;
    return pm_rtc_mdns_input(pc, now, data, len);
}

static pm_rtc_candidate_type public_type(pm_cand_type t)
{
    switch (t) {
    case PM_CAND_HOST:
        return PM_RTC_CANDIDATE_HOST;
    case PM_CAND_SRFLX:
        return PM_RTC_CANDIDATE_SRFLX;
    case PM_CAND_PRFLX:
        return PM_RTC_CANDIDATE_PRFLX;
    case PM_CAND_RELAY:
        return PM_RTC_CANDIDATE_RELAY;
    }
    return PM_RTC_CANDIDATE_HOST;
}

int pm_rtc_peer_get_selected_pair(const pm_rtc_peer *pc, pm_rtc_candidate_pair *out)
{
    if (!pc || !out)
        return PM_ERR_INVALID;
    pm_ice_pair_info info;
    if (!pc->ice || !pm_ice_selected_info(pc->ice, &info))
        return PM_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->local_type = public_type(info.local_type);
    out->remote_type = public_type(info.remote_type);
    out->local = info.local;
    out->remote = info.remote;
    out->relay_protocol =
        info.relay_transport >= 0 ? pm_ice_turn_transport_name(info.relay_transport) : NULL;
    out->rtt = info.rtt;
    return PM_OK;
}
