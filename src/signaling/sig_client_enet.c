/*
 * The signaling client core's ENet transport (signaling.h,
 * PM_SIGNAL_TRANSPORT_ENET): an ENet mesh (enet.h, create_mesh) whose links
 * are made through NATs by hole punching (punch.h).
 *
 * A link per announced peer: an ENet host with one peer slot, bound to an
 * ephemeral port, capturing the STUN and punch datagrams of its socket
 * (pm_enet_host_capture_raw). Its puncher announces the host's addresses
 * and, from the STUN server, its public one, as CANDIDATE messages with mid
 * "enet"; the peer's lines start the punching. Once a punch packet from the
 * peer arrives, the side the offer rule names connects ENet there (CONNECT
 * data: our id); the other side accepts a CONNECT whose data is the peer's
 * id. Connected, the host goes to the ENet mesh (pm_enet_add_mesh_peer) and
 * the link is done. A link that fails (punching, ENet's connect, or no
 * connect from the peer in time) reports PM_SIGNAL_EVENT_PEER_FAILED.
 *
 * ENet owns the sockets and reads the clock itself; addresses come from the
 * OS (src/io): this file is the core's one contact with I/O. The sockets
 * sit in one wait set (pm_sigcl_enet_fd), and the deadline is what the
 * hosts, the punchers and the ENet mesh say (their clock is pm_now()'s), so
 * the shell sleeps on them as on the WebRTC mesh.
 */
#include "io/io.h"
#include "signaling/punch.h"
#include "signaling/sig_client_internal.h"

#include <stdio.h>

/* After a punch got through, ENet's connect (ENet gives up by itself after
 * 5 to 30 s without answers) and, on the accepting side, the peer's CONNECT
 * must come within this. */
#define CONNECT_WAIT PM_SEC(15)
#define MAX_HOSTS    8
#define RAW_MAX      576 /* a captured datagram (enet.h keeps up to this) */

typedef struct sigcl_elink {
    int32_t peer;
    pm_enet_host *host;
    pm_punch *punch;
    bool connector;
    bool connecting;      /* connector: pm_enet_host_connect was called */
    pm_time reachable_at; /* when the punch got through (PM_TIME_NEVER: not yet) */
    pm_enet_packet_peer *pp;
} sigcl_elink;

/* ---- links ---- */

static sigcl_elink *link_of(pm_sigcl *c, int32_t peer)
{
    for (size_t i = 0; i < c->nelinks; i++)
        if (c->elinks[i].peer == peer)
            return &c->elinks[i];
    return NULL;
}

/* A link's host in the wait set (on), or out of it before it goes. */
static void watch_host(pm_sigcl *c, pm_enet_host *h, bool on)
{
    int fd = h && c->enet_waitset >= 0 ? pm_enet_host_fd(h) : -1;
    if (fd < 0)
        return;
    if (!on)
        pm_io_waitset_forget(c->enet_waitset, fd);
    else if (pm_io_waitset_watch(c->enet_waitset, fd, false) != PM_OK)
        PM_ERROR(&c->env, "signal", "cannot watch an ENet socket");
}

static void link_free(pm_sigcl *c, sigcl_elink *l)
{
    pm_punch_free(l->punch);
    watch_host(c, l->host, false);
    pm_enet_host_free(l->host); /* NULL once the mesh has it */
}

static void link_remove(pm_sigcl *c, sigcl_elink *l)
{
    link_free(c, l);
    *l = c->elinks[--c->nelinks];
}

static void link_failed(pm_sigcl *c, sigcl_elink *l, const char *reason)
{
    PM_WARN(&c->env, "signal", "peer %d: no ENet link: %s", (int)l->peer, reason);
    pm_sigcl_event(c, PM_SIGNAL_EVENT_PEER_FAILED, l->peer, 0, reason);
    link_remove(c, l);
}

/* The first stun: or turn: (UDP) URL of our ICE servers, resolved to IPv4. */
static void pick_stun(pm_sigcl *c)
{
    const pm_ice_server *list = c->ice ? c->ice : c->cfg.rtc.ice_servers;
    size_t n = c->ice ? c->ice_count : c->cfg.rtc.ice_server_count;
    for (size_t i = 0; i < n && !c->have_stun; i++) {
        for (size_t k = 0; k < list[i].url_count && !c->have_stun; k++) {
            pm_ice_url u;
            if (pm_ice_url_parse(list[i].urls[k], &u) != PM_OK || u.transport_tcp ||
                (u.scheme != PM_ICE_URL_STUN && u.scheme != PM_ICE_URL_TURN))
                continue;
            pm_addr a[4];
            int got = pm_io_resolve(u.host, u.port, a, PM_ARRAY_LEN(a));
            for (int j = 0; j < got && !c->have_stun; j++) {
                if (a[j].family != 4)
                    continue;
                c->stun = a[j];
                c->have_stun = true;
                snprintf(c->stun_name, sizeof c->stun_name, "%s", list[i].urls[k]);
            }
            if (!c->have_stun)
                PM_WARN(&c->env, "signal", "ENet: cannot use %s for STUN (no IPv4 address)",
                        list[i].urls[k]);
        }
    }
    if (!c->have_stun)
        PM_WARN(&c->env, "signal",
                "ENet: no STUN server among the ICE servers: only host addresses are "
                "exchanged (peers behind different NATs will not connect)");
}

int pm_sigcl_enet_on_id(pm_sigcl *c, int32_t id)
{
    if (!c->mesh_lobby) {
        PM_ERROR(&c->env, "signal", "the ENet transport needs a mesh lobby");
        return PM_ERR_UNSUPPORTED;
    }
    int rc = pm_enet_new(&c->cfg.enet, &c->enet);
    if (rc == PM_OK)
        rc = pm_enet_create_mesh(c->enet, id);
    if (rc == PM_OK && (c->enet_waitset = pm_io_waitset_new()) < 0)
        rc = PM_ERR_IO;
    if (rc == PM_OK)
        rc = pm_io_waitset_watch(c->enet_waitset, pm_enet_fd(c->enet), false);
    if (rc != PM_OK) {
        pm_io_waitset_close(c->enet_waitset);
        c->enet_waitset = -1;
        pm_enet_free(c->enet);
        c->enet = NULL;
        return rc;
    }
    pick_stun(c);
    return PM_OK;
}

void pm_sigcl_enet_on_peer(pm_sigcl *c, int32_t peer)
{
    pm_multiplayer *mp = pm_enet_multiplayer(c->enet);
    if (link_of(c, peer) || pm_enet_get_peer(c->enet, peer) || !mp)
        return;
    if (c->nelinks == c->elinks_cap) {
        size_t cap = c->elinks_cap ? c->elinks_cap * 2 : 4;
        sigcl_elink *n = pm_realloc(&c->env, c->elinks, cap * sizeof *n);
        if (!n)
            return;
        c->elinks = n;
        c->elinks_cap = cap;
    }
    sigcl_elink *l = &c->elinks[c->nelinks];
    memset(l, 0, sizeof *l);
    l->peer = peer;
    l->connector = pm_sigcl_we_offer(c, peer);
    l->reachable_at = PM_TIME_NEVER;
    const char *bind = c->cfg.enet.bind_ip;
    int rc = pm_enet_host_create_bound(&c->env.e, bind, 0, 1, 0, 0, 0, &l->host);
    if (rc == PM_OK)
        rc = pm_enet_host_capture_raw(l->host, true);
    if (rc == PM_OK)
        watch_host(c, l->host, true);
    uint16_t port = rc == PM_OK ? pm_enet_host_get_local_port(l->host) : 0;
    pm_addr hosts[MAX_HOSTS];
    size_t nh = 0;
    if (bind && *bind && strcmp(bind, "*") != 0 && strcmp(bind, "0.0.0.0") != 0) {
        if (pm_addr_parse(&hosts[0], bind, port) == PM_OK)
            nh = 1;
    } else {
        nh = pm_io_host_addrs(false, false, port, hosts, MAX_HOSTS);
    }
    pm_punch_config pc = {
        .peer_id = peer,
        .stun = c->have_stun ? &c->stun : NULL,
        .stun_name = c->stun_name,
        .hosts = hosts,
        .host_count = nh,
        .timeout = c->cfg.punch_timeout,
    };
    if (rc == PM_OK && !port)
        rc = PM_ERR_IO;
    if (rc == PM_OK && !(l->punch = pm_punch_new(&c->env, &pc, c->enet_now)))
        rc = PM_ERR_NOMEM;
    c->nelinks++;
    pm_sigcl_event(c, PM_SIGNAL_EVENT_PEER_ANNOUNCED, peer, 0, NULL);
    if (rc != PM_OK) {
        char why[96];
        snprintf(why, sizeof why, "cannot open an ENet socket: %s", pm_strerror(rc));
        link_failed(c, l, why);
        return;
    }
    PM_DEBUG(&c->env, "signal", "peer %d: ENet link on port %u, %s", (int)peer, (unsigned)port,
             l->connector ? "we connect" : "it connects");
}

void pm_sigcl_enet_on_peer_left(pm_sigcl *c, int32_t peer)
{
    sigcl_elink *l = link_of(c, peer);
    if (l)
        link_remove(c, l);
    if (c->enet && pm_enet_get_peer(c->enet, peer))
        (void)pm_mp_disconnect_peer(pm_enet_multiplayer(c->enet), peer, false);
}

void pm_sigcl_enet_on_line(pm_sigcl *c, int32_t from, const char *line)
{
    sigcl_elink *l = link_of(c, from);
    if (!l) {
        PM_DEBUG(&c->env, "signal", "ENet address from peer %d without a link: ignored", (int)from);
        return;
    }
    int rc = pm_punch_remote_line(l->punch, c->enet_now, line);
    if (rc != PM_OK)
        PM_INFO(&c->env, "signal", "peer %d: ENet address '%s' refused: %s", (int)from, line,
                pm_strerror(rc));
}

/* ---- driving ---- */

/* The link is up: the host becomes the mesh's. */
static void hand_over(pm_sigcl *c, sigcl_elink *l)
{
    (void)pm_enet_host_capture_raw(l->host, false);
    pm_addr remote = {0};
    (void)pm_enet_packet_peer_get_remote_address(l->pp, &remote);
    int rc = pm_enet_add_mesh_peer(c->enet, l->peer, l->host);
    if (rc != PM_OK) {
        char why[96];
        snprintf(why, sizeof why, "the ENet mesh refused the connection: %s", pm_strerror(rc));
        link_failed(c, l, why);
        return;
    }
    char a[PM_ADDR_STRLEN];
    PM_INFO(&c->env, "signal", "peer %d: ENet connected with %s", (int)l->peer,
            pm_addr_format(&remote, a, sizeof a));
    watch_host(c, l->host, false); /* the mesh's set (pm_enet_fd) has it now */
    l->host = NULL;                /* the mesh's now */
    link_remove(c, l);
}

/* Service the host: ENet's handshake, and the datagrams the puncher wants.
 * Returns false when the link is gone (handed over or failed). */
static bool service(pm_sigcl *c, sigcl_elink *l, pm_time now)
{
    pm_enet_event ev;
    for (int budget = 64; budget-- > 0;) {
        int r = pm_enet_host_service(l->host, 0, &ev);
        if (r <= 0)
            break;
        if (ev.type == PM_ENET_EVENT_CONNECT) {
            /* The accepting side takes the peer only with its id in the data. */
            if (!l->connector && ev.data != (uint32_t)l->peer) {
                PM_INFO(&c->env, "signal", "peer %d: ENet CONNECT with data %u refused",
                        (int)l->peer, (unsigned)ev.data);
                pm_enet_packet_peer_disconnect_now(ev.peer, 0);
                continue;
            }
            l->pp = ev.peer;
            hand_over(c, l);
            return false;
        }
        if (ev.type == PM_ENET_EVENT_DISCONNECT && l->connecting) {
            char a[PM_ADDR_STRLEN], why[160];
            snprintf(why, sizeof why,
                     "ENet did not connect to %s after hole punching (no answer to CONNECT)",
                     pm_addr_format(pm_punch_peer_addr(l->punch), a, sizeof a));
            link_failed(c, l, why);
            return false;
        }
    }
    uint8_t buf[RAW_MAX];
    pm_addr from;
    size_t len;
    while (pm_enet_host_next_raw(l->host, &from, buf, sizeof buf, &len) != PM_ERR_AGAIN)
        if (pm_punch_is_ours(buf, len))
            pm_punch_datagram(l->punch, now, &from, buf, len);
    return true;
}

static void flush_punch(pm_sigcl *c, sigcl_elink *l)
{
    pm_addr to;
    uint8_t buf[64];
    size_t len;
    char ip[PM_ADDR_STRLEN];
    while (pm_punch_poll_datagram(l->punch, &to, buf, sizeof buf, &len))
        (void)pm_enet_host_socket_send(l->host, pm_addr_format_ip(&to, ip, sizeof ip), to.port, buf,
                                       len);
    char line[PM_PUNCH_LINE_MAX];
    while (pm_punch_poll_line(l->punch, line, sizeof line)) {
        c->text.len = 0;
        if (pm_sig_candidate_format(&c->env, "enet", 0, line, &c->text) == PM_OK)
            (void)pm_sigcl_send(c, PM_SIGMSG_CANDIDATE, l->peer, (const char *)c->text.data,
                                c->text.len);
    }
}

/* One link's step; false when it is gone. */
static bool step(pm_sigcl *c, sigcl_elink *l, pm_time now)
{
    if (!service(c, l, now))
        return false;
    pm_punch_timeout(l->punch, now);
    flush_punch(c, l);
    pm_punch_state st = pm_punch_get_state(l->punch);
    if (st == PM_PUNCH_FAILED) {
        link_failed(c, l, pm_punch_reason(l->punch));
        return false;
    }
    if (st != PM_PUNCH_REACHABLE)
        return true;
    if (l->reachable_at == PM_TIME_NEVER)
        l->reachable_at = now;
    if (l->connector && !l->connecting) {
        const pm_addr *to = pm_punch_peer_addr(l->punch);
        char ip[PM_ADDR_STRLEN];
        int rc = pm_enet_host_connect(l->host, pm_addr_format_ip(to, ip, sizeof ip), to->port, 0,
                                      (uint32_t)c->id, NULL);
        if (rc != PM_OK) {
            char why[96];
            snprintf(why, sizeof why, "ENet cannot connect: %s", pm_strerror(rc));
            link_failed(c, l, why);
            return false;
        }
        l->connecting = true;
        pm_enet_host_flush(l->host);
    }
    if (now - l->reachable_at >= CONNECT_WAIT) {
        char why[128];
        snprintf(why, sizeof why,
                 "peer %d was reachable by hole punching but ENet did not "
                 "connect within %lld s",
                 (int)l->peer, (long long)(CONNECT_WAIT / PM_SEC(1)));
        link_failed(c, l, why);
        return false;
    }
    return true;
}

void pm_sigcl_enet_poll(pm_sigcl *c, pm_time now)
{
    c->enet_now = now;
    for (size_t i = 0; i < c->nelinks;) {
        if (step(c, &c->elinks[i], now))
            i++; /* else the last link moved into slot i */
    }
    (void)pm_mp_poll(pm_enet_multiplayer(c->enet));
}

int pm_sigcl_enet_fd(const pm_sigcl *c)
{
    return c->enet_waitset;
}

pm_time pm_sigcl_enet_deadline(const pm_sigcl *c)
{
    if (!c->enet)
        return PM_TIME_NEVER;
    /* The mesh's hosts; each link's host (ENet's handshake), puncher and connect wait. */
    pm_time t = pm_enet_next_timeout(c->enet);
    for (size_t i = 0; i < c->nelinks; i++) {
        const sigcl_elink *l = &c->elinks[i];
        t = PM_MIN(t, pm_enet_host_next_timeout(l->host));
        t = PM_MIN(t, pm_punch_next_timeout(l->punch));
        if (l->reachable_at != PM_TIME_NEVER)
            t = PM_MIN(t, l->reachable_at + CONNECT_WAIT);
    }
    return t;
}

void pm_sigcl_enet_close(pm_sigcl *c)
{
    while (c->nelinks)
        link_remove(c, &c->elinks[c->nelinks - 1]);
    if (c->enet)
        pm_mp_close(pm_enet_multiplayer(c->enet));
}

void pm_sigcl_enet_free(pm_sigcl *c)
{
    for (size_t i = 0; i < c->nelinks; i++)
        link_free(c, &c->elinks[i]);
    pm_free(&c->env, c->elinks);
    c->elinks = NULL;
    c->nelinks = 0;
    pm_enet_free(c->enet);
    c->enet = NULL;
    pm_io_waitset_close(c->enet_waitset);
    c->enet_waitset = -1;
}
