/* Signaling integration helpers (sigtest.h). */
#include "sigtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- raw clients ---- */

static void on_open(void *ud, uint64_t conn, const pm_addr *a, const char *t)
{
    ((st_client *)ud)->open = true;
}

static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, bool binary)
{
    st_client *c = ud;
    assert_true(c->nmsg < ST_MSGS);
    assert_true(len < ST_MSG_SIZE);
    memcpy(c->msg[c->nmsg], data, len);
    c->msg[c->nmsg][len] = 0;
    c->nmsg++;
}

static void on_closed(void *ud, uint64_t conn, int code, const char *reason, bool local)
{
    st_client *c = ud;
    c->closed = true;
    c->code = code;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
}

void st_client_connect(st_client *c, const char *url)
{
    memset(c, 0, sizeof *c);
    pm_ws_config wc = {.allow_self_signed = true, .client_tls = strncmp(url, "wss:", 4) == 0};
    pm_ws_handler h = {
        .ud = c, .on_open = on_open, .on_message = on_message, .on_closed = on_closed};
    assert_int_equal(pm_ws_new(&wc, &h, &c->ws), PM_OK);
    assert_int_equal(pm_ws_connect(c->ws, url, &c->conn), PM_OK);
}

void st_client_send(st_client *c, const char *text)
{
    assert_int_equal(pm_ws_send(c->ws, c->conn, text, strlen(text), false), PM_OK);
}

void st_client_free(st_client *c)
{
    pm_ws_free(c->ws);
    c->ws = NULL;
}

/* ---- pumping ---- */

bool st_pump_until(st_world *w, st_cond cond, void *ud, pm_time limit)
{
    pm_time end = pm_now() + limit;
    for (;;) {
        for (size_t i = 0; i < w->nsrv; i++)
            if (w->srv[i])
                pm_signal_server_poll(w->srv[i], 0);
        for (size_t i = 0; i < w->ncl; i++)
            if (w->cl[i] && w->cl[i]->ws)
                pm_ws_service(w->cl[i]->ws, 0);
        if (w->extra)
            w->extra(w->extra_ud);
        if (cond && cond(ud))
            return true;
        if (pm_now() >= end)
            return false;
        struct timespec ts = {0, 500 * 1000};
        nanosleep(&ts, NULL);
    }
}

void st_pump_for(st_world *w, pm_time span)
{
    (void)st_pump_until(w, NULL, NULL, span);
}

typedef struct want_msgs {
    st_client *c;
    int n;
} want_msgs;

static bool has_msgs(void *ud)
{
    want_msgs *m = ud;
    return m->c->nmsg >= m->n;
}

static bool is_closed(void *ud)
{
    return ((st_client *)ud)->closed;
}

static bool is_open(void *ud)
{
    return ((st_client *)ud)->open;
}

void st_wait_msgs(st_world *w, st_client *c, int count)
{
    want_msgs m = {c, count};
    if (!st_pump_until(w, has_msgs, &m, ST_DEADLINE))
        fail_msg("waited for %d messages, got %d (last: %s)", count, c->nmsg,
                 c->nmsg ? c->msg[c->nmsg - 1] : "-");
}

void st_wait_closed(st_world *w, st_client *c)
{
    if (!st_pump_until(w, is_closed, c, ST_DEADLINE))
        fail_msg("connection not closed");
}

void st_wait_open(st_world *w, st_client *c)
{
    if (!st_pump_until(w, is_open, c, ST_DEADLINE))
        fail_msg("connection not open");
}

void st_url(const pm_signal_server *srv, char *buf, size_t cap)
{
    snprintf(buf, cap, "ws://127.0.0.1:%u/", (unsigned)pm_signal_server_port(srv));
}

/* ---- meshes of pm_signal_clients ---- */

static void mesh_add(st_mesh *m, const char *url, const char *lobby, pm_signal_protocol proto,
                     bool mesh)
{
    assert_true(m->n < ST_PEERS);
    pm_signal_client_config cc;
    pm_signal_client_config_default(&cc);
    cc.url = url;
    cc.lobby = lobby;
    cc.protocol = proto;
    cc.mesh = mesh;
    cc.rtc.bind_address = "127.0.0.1";
    cc.rtc.enable_ipv6 = false;
    cc.transport = m->transport;
    cc.enet.bind_ip = "127.0.0.1";
    cc.punch_timeout = PM_MS(500);
    assert_int_equal(pm_signal_client_new(&cc, &m->c[m->n]), PM_OK);
    m->n++;
}

void st_mesh_add(st_mesh *m, const char *url, const char *lobby, pm_signal_protocol proto)
{
    mesh_add(m, url, lobby, proto, true);
}

void st_mesh_add_cs(st_mesh *m, const char *url, const char *lobby)
{
    mesh_add(m, url, lobby, PM_SIGNAL_PROTOCOL_JSON, false);
}

static void mesh_drain(st_mesh *m, int i)
{
    pm_signal_event sev;
    while (pm_signal_client_next_event(m->c[i], &sev)) {
        if (sev.type == PM_SIGNAL_EVENT_JOINED && i == 0)
            snprintf(m->lobby, sizeof m->lobby, "%s", sev.lobby);
        if (sev.type == PM_SIGNAL_EVENT_SEALED)
            m->sealed[i] = true;
        if (sev.type == PM_SIGNAL_EVENT_HOST_CHANGED)
            m->host[i] = sev.peer_id;
        if (sev.type == PM_SIGNAL_EVENT_PEER_FAILED) {
            m->failed[i]++;
            snprintf(m->failure[i], sizeof m->failure[i], "%s", sev.reason);
        }
        if (sev.type == PM_SIGNAL_EVENT_CLOSED) {
            m->closed[i] = true;
            m->close_code[i] = sev.close_code;
            snprintf(m->reason[i], sizeof m->reason[i], "%s", sev.reason);
        }
    }
    pm_multiplayer *mp = pm_signal_client_multiplayer(m->c[i]);
    if (!mp)
        return;
    pm_mp_event ev;
    while (pm_mp_next_event(mp, &ev)) {
        if (ev.type == PM_MP_EVENT_PEER_CONNECTED)
            m->connected[i]++;
        else if (ev.type == PM_MP_EVENT_PEER_DISCONNECTED)
            m->connected[i]--;
        else if (ev.type == PM_MP_EVENT_SERVER_DISCONNECTED)
            m->server_lost[i]++;
    }
    pm_mp_packet pkt;
    while (pm_mp_get_packet(mp, &pkt) == PM_OK) {
        char expect[64];
        snprintf(expect, sizeof expect, "from %d", (int)pkt.from);
        assert_int_equal(pkt.len, strlen(expect));
        assert_memory_equal(pkt.data, expect, pkt.len);
        m->got[i]++;
    }
}

void st_mesh_pump(void *ud)
{
    st_mesh *m = ud;
    for (int i = 0; i < m->n; i++) {
        if (!m->c[i])
            continue;
        pm_signal_client_poll(m->c[i]);
        mesh_drain(m, i);
    }
}

static int live(const st_mesh *m)
{
    int n = 0;
    for (int i = 0; i < m->n; i++)
        n += m->c[i] != NULL;
    return n;
}

bool st_mesh_lobby_known(void *ud)
{
    return ((st_mesh *)ud)->lobby[0] != 0;
}

bool st_mesh_full(void *ud)
{
    st_mesh *m = ud;
    int n = live(m);
    for (int i = 0; i < m->n; i++) {
        if (!m->c[i])
            continue;
        pm_multiplayer *mp = pm_signal_client_multiplayer(m->c[i]);
        if (!mp || pm_mp_get_connection_status(mp) != PM_MP_CONNECTED)
            return false;
        pm_mesh *mesh = pm_signal_client_mesh(m->c[i]);
        if (!mesh) { /* ENet: its events are the record */
            if (m->connected[i] != n - 1)
                return false;
            continue;
        }
        int32_t ids[ST_PEERS];
        size_t k = pm_mesh_get_peers(mesh, ids, ST_PEERS);
        if (k != (size_t)(n - 1))
            return false;
        for (size_t j = 0; j < k; j++) {
            pm_mesh_peer_info info;
            if (pm_mesh_get_peer(mesh, ids[j], &info) != PM_OK || !info.connected)
                return false;
        }
    }
    return true;
}

bool st_mesh_all_got(void *ud)
{
    st_mesh *m = ud;
    int n = live(m);
    for (int i = 0; i < m->n; i++)
        if (m->c[i] && m->got[i] < n - 1)
            return false;
    return true;
}

bool st_mesh_all_closed(void *ud)
{
    st_mesh *m = ud;
    for (int i = 0; i < m->n; i++)
        if (m->c[i] && !m->closed[i])
            return false;
    return true;
}

void st_mesh_send_everywhere(st_mesh *m)
{
    memset(m->got, 0, sizeof m->got);
    for (int i = 0; i < m->n; i++) {
        if (!m->c[i])
            continue;
        pm_multiplayer *mp = pm_signal_client_multiplayer(m->c[i]);
        char text[64];
        snprintf(text, sizeof text, "from %d", (int)pm_mp_get_unique_id(mp));
        pm_mp_set_target_peer(mp, PM_MP_TARGET_BROADCAST);
        assert_int_equal(pm_mp_put_packet(mp, (const uint8_t *)text, strlen(text)), PM_OK);
    }
}

void st_mesh_drop(st_mesh *m, int i)
{
    pm_signal_client_free(m->c[i]);
    m->c[i] = NULL;
}

void st_mesh_free_all(st_mesh *m)
{
    for (int i = 0; i < m->n; i++)
        if (m->c[i])
            st_mesh_drop(m, i);
}

/* ---- redis-server ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static const char *redis_server_path(void)
{
    static const char *const where[] = {"/usr/bin/redis-server", "/usr/local/bin/redis-server"};
    for (size_t i = 0; i < PM_ARRAY_LEN(where); i++)
        if (access(where[i], X_OK) == 0)
            return where[i];
    return NULL;
}

long long st_redis_command(const st_redis *r, const char *cmd)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    redisReply *x = redisCommand(c, cmd);
    long long v = -1;
    if (x && x->type == REDIS_REPLY_INTEGER)
        v = x->integer;
    else if (x && x->type == REDIS_REPLY_ARRAY)
        v = (long long)x->elements;
    else if (x && x->type == REDIS_REPLY_STATUS)
        v = 0;
    if (x)
        freeReplyObject(x);
    redisFree(c);
    return v;
}

bool st_redis_start(st_redis *r, int port)
{
    const char *exe = redis_server_path();
    if (!exe)
        return false;
    if (!port) {
        memset(r, 0, sizeof *r);
        snprintf(r->dir, sizeof r->dir, "/tmp/pm-redis-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        port = free_port();
        assert_true(port > 0);
    }
    r->port = port;
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", port);
    char port_s[16], log[128];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(exe, exe, "--port", port_s, "--bind", "127.0.0.1", "--dir", r->dir, "--save", "",
              "--appendonly", "no", "--daemonize", "no", "--logfile", log, (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
    for (int i = 0; i < 500; i++) {
        if (st_redis_command(r, "PING") == 0)
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("redis-server did not start on port %d", port);
    return false;
}

void st_redis_kill(st_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

void st_redis_stop(st_redis *r)
{
    st_redis_kill(r);
    char path[160];
    snprintf(path, sizeof path, "%s/redis.log", r->dir);
    unlink(path);
    rmdir(r->dir);
}

void st_need_redis(bool have)
{
    if (have)
        return;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0)
        fail_msg("redis-server is missing (scripts/install-deps.sh test installs it)");
    skip();
}
