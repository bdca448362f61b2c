/*
 * UDP hole punching for one link (punch.h): candidate lines, a STUN
 * Binding for our public address, punch packets and their answers.
 */
#include "signaling/punch.h"

#include "wire/stun.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define PUNCH_MAGIC       "PMPUNCH1"
#define PUNCH_MAGIC_LEN   8
#define PUNCH_KIND_PUNCH  0
#define PUNCH_KIND_ANSWER 1
#define LINE_TAG          "pmpunch1"
#define STUN_FIRST_RTO    PM_MS(250)
#define OUT_CAP           16 /* queued datagrams; punching refills every interval */
#define DGRAM_MAX         48

typedef struct punch_dgram {
    pm_addr to;
    size_t len;
    uint8_t data[DGRAM_MAX];
} punch_dgram;

typedef struct punch_target {
    pm_addr addr;
    bool srflx;
} punch_target;

struct pm_punch {
    pm_envr env;
    int32_t peer_id;
    pm_time timeout, interval, stun_timeout;
    pm_addr hosts[PM_PUNCH_MAX_HOSTS];
    size_t nhosts;
    uint64_t nonce, peer_nonce;
    bool have_peer_nonce;
    pm_punch_state state;
    pm_time start, first_line, next_punch;

    /* STUN: one transaction, retransmitted with a doubling timeout. */
    bool has_stun, stun_pending, stun_ok;
    pm_addr stun;
    char stun_name[96];
    uint8_t tid[PM_STUN_TID_LEN];
    pm_time stun_next, stun_rto, stun_deadline;
    pm_addr public_addr;

    punch_target targets[PM_PUNCH_MAX_TARGETS];
    size_t ntargets;
    pm_addr peer_addr;
    char reason[PM_PUNCH_REASON_MAX];

    punch_dgram out[OUT_CAP];
    size_t out_head, out_count;
    char lines[PM_PUNCH_MAX_HOSTS + 1][PM_PUNCH_LINE_MAX];
    size_t line_head, line_count;
};

/* ---- output queues ---- */

static void queue_dgram(pm_punch *p, const pm_addr *to, const uint8_t *d, size_t n)
{
    if (p->out_count == OUT_CAP || n > DGRAM_MAX)
        return; /* nobody is sending: the next round will try again */
    punch_dgram *g = &p->out[(p->out_head + p->out_count++) % OUT_CAP];
    g->to = *to;
    g->len = n;
    memcpy(g->data, d, n);
}

static void queue_line(pm_punch *p, const char *type, const pm_addr *a)
{
    if (p->line_count == PM_ARRAY_LEN(p->lines))
        return;
    char ip[PM_ADDR_STRLEN];
    char *l = p->lines[(p->line_head + p->line_count++) % PM_ARRAY_LEN(p->lines)];
    snprintf(l, PM_PUNCH_LINE_MAX, LINE_TAG " %016llx %s %s %u", (unsigned long long)p->nonce, type,
             pm_addr_format_ip(a, ip, sizeof ip), (unsigned)a->port);
}

bool pm_punch_poll_datagram(pm_punch *p, pm_addr *to, uint8_t *buf, size_t cap, size_t *len)
{
    if (!p->out_count)
        return false;
    punch_dgram *g = &p->out[p->out_head];
    p->out_head = (p->out_head + 1) % OUT_CAP;
    p->out_count--;
    if (g->len > cap)
        return false;
    *to = g->to;
    memcpy(buf, g->data, g->len);
    *len = g->len;
    return true;
}

bool pm_punch_poll_line(pm_punch *p, char *line, size_t cap)
{
    if (!p->line_count)
        return false;
    snprintf(line, cap, "%s", p->lines[p->line_head]);
    p->line_head = (p->line_head + 1) % PM_ARRAY_LEN(p->lines);
    p->line_count--;
    return true;
}

/* ---- packets ---- */

static void send_punch(pm_punch *p, const pm_addr *to, int kind)
{
    uint8_t b[PM_PUNCH_PACKET_LEN];
    memcpy(b, PUNCH_MAGIC, PUNCH_MAGIC_LEN);
    b[8] = (uint8_t)kind;
    pm_wr64(b + 9, p->have_peer_nonce ? p->peer_nonce : 0);
    pm_wr64(b + 17, p->nonce);
    queue_dgram(p, to, b, sizeof b);
}

static void send_stun(pm_punch *p)
{
    uint8_t b[DGRAM_MAX];
    pm_stun_builder sb;
    pm_stun_begin(&sb, b, sizeof b, pm_stun_type(PM_STUN_BINDING, PM_STUN_REQUEST), p->tid);
    int n = pm_stun_finish(&sb, NULL, 0, true);
    if (n > 0)
        queue_dgram(p, &p->stun, b, (size_t)n);
}

bool pm_punch_is_ours(const uint8_t *d, size_t n)
{
    if (n == PM_PUNCH_PACKET_LEN && memcmp(d, PUNCH_MAGIC, PUNCH_MAGIC_LEN) == 0)
        return true;
    return pm_stun_is_stun(d, n);
}

/* ---- state ---- */

/* Append to a bounded string (cut short when full). */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t cap, size_t *off,
                                                         const char *fmt, ...)
{
    if (*off >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    *off = w < 0 ? cap : PM_MIN(cap, *off + (size_t)w);
}

static void fail(pm_punch *p, const char *reason)
{
    if (p->state == PM_PUNCH_FAILED)
        return;
    p->state = PM_PUNCH_FAILED;
    size_t off = 0;
    append(p->reason, sizeof p->reason, &off, "%s", reason);
    p->stun_pending = false;
    PM_INFO(&p->env, "punch", "peer %d: %s", (int)p->peer_id, p->reason);
}

void pm_punch_fail(pm_punch *p, const char *reason)
{
    fail(p, reason);
}

/* What we know about our own side, for a failure's reason. */
static void our_side(const pm_punch *p, char *buf, size_t cap, size_t *off)
{
    char a[PM_ADDR_STRLEN];
    if (!p->has_stun)
        append(buf, cap, off, "no STUN server, so only our host addresses were sent");
    else if (p->stun_ok)
        append(buf, cap, off, "our public address %s (from %s)",
               pm_addr_format(&p->public_addr, a, sizeof a), p->stun_name);
    else
        append(buf, cap, off, "no answer from STUN server %s, so only our host addresses were sent",
               p->stun_name);
}

static void time_out(pm_punch *p)
{
    char r[PM_PUNCH_REASON_MAX];
    size_t off = 0;
    double secs = (double)p->timeout / 1e6;
    if (p->state == PM_PUNCH_WAITING) {
        append(r, sizeof r, &off, "peer %d sent no address in %g s (", (int)p->peer_id, secs);
    } else {
        append(r, sizeof r, &off, "hole punching failed: nothing from peer %d at ",
               (int)p->peer_id);
        for (size_t i = 0; i < p->ntargets; i++) {
            char a[PM_ADDR_STRLEN];
            append(r, sizeof r, &off, "%s%s %s", i ? ", " : "",
                   p->targets[i].srflx ? "srflx" : "host",
                   pm_addr_format(&p->targets[i].addr, a, sizeof a));
        }
        append(r, sizeof r, &off, " in %g s (", secs);
    }
    our_side(p, r, sizeof r, &off);
    append(r, sizeof r, &off, ")%s",
           p->state == PM_PUNCH_WAITING ? "" : "; a symmetric NAT or a firewall on either side");
    fail(p, r);
}

pm_punch *pm_punch_new(const pm_envr *env, const pm_punch_config *cfg, pm_time now)
{
    pm_punch *p = pm_calloc(env, sizeof *p);
    if (!p)
        return NULL;
    p->env = *env;
    p->peer_id = cfg->peer_id;
    p->timeout = cfg->timeout > 0 ? cfg->timeout : PM_SEC(10);
    p->interval = cfg->interval > 0 ? cfg->interval : PM_MS(100);
    p->stun_timeout = cfg->stun_timeout > 0 ? cfg->stun_timeout : PM_SEC(3);
    p->start = now;
    p->next_punch = PM_TIME_NEVER;
    p->nonce = pm_random_u64(&p->env);
    for (size_t i = 0; i < cfg->host_count && p->nhosts < PM_PUNCH_MAX_HOSTS; i++) {
        if (cfg->hosts[i].family != 4)
            continue; /* ENet is IPv4 only */
        p->hosts[p->nhosts++] = cfg->hosts[i];
        queue_line(p, "host", &cfg->hosts[i]);
    }
    if (cfg->stun && cfg->stun->family == 4) {
        char a[PM_ADDR_STRLEN];
        p->has_stun = p->stun_pending = true;
        p->stun = *cfg->stun;
        snprintf(p->stun_name, sizeof p->stun_name, "%s",
                 cfg->stun_name ? cfg->stun_name : pm_addr_format(cfg->stun, a, sizeof a));
        (void)pm_random(&p->env, p->tid, sizeof p->tid);
        p->stun_rto = STUN_FIRST_RTO;
        p->stun_next = now;
        p->stun_deadline = now + p->stun_timeout;
    }
    pm_punch_timeout(p, now);
    return p;
}

void pm_punch_free(pm_punch *p)
{
    if (p) {
        pm_envr env = p->env;
        pm_free(&env, p);
    }
}

static void on_stun(pm_punch *p, const uint8_t *d, size_t n)
{
    pm_stun_msg m;
    if (!p->stun_pending || pm_stun_parse(&m, d, n) != PM_OK || m.method != PM_STUN_BINDING ||
        memcmp(m.tid, p->tid, sizeof p->tid) != 0)
        return;
    p->stun_pending = false;
    if (m.cls != PM_STUN_SUCCESS || !m.has_xor_mapped || m.xor_mapped.family != 4 ||
        m.xor_mapped.port == 0) {
        PM_INFO(&p->env, "punch", "peer %d: STUN server %s refused the binding (%u)",
                (int)p->peer_id, p->stun_name, m.has_error ? m.error_code : 0);
        return;
    }
    p->stun_ok = true;
    p->public_addr = m.xor_mapped;
    for (size_t i = 0; i < p->nhosts; i++)
        if (pm_addr_equal(&p->hosts[i], &m.xor_mapped))
            return; /* no NAT in between: the host line says it all */
    queue_line(p, "srflx", &m.xor_mapped);
    if (PM_LOG_ON(&p->env, PM_LOG_DEBUG)) {
        char a[PM_ADDR_STRLEN];
        PM_DEBUG(&p->env, "punch", "peer %d: our public address is %s", (int)p->peer_id,
                 pm_addr_format(&m.xor_mapped, a, sizeof a));
    }
}

static void on_punch(pm_punch *p, pm_time now, const pm_addr *from, const uint8_t *d)
{
    uint64_t to_nonce = pm_rd64(d + 9), from_nonce = pm_rd64(d + 17);
    if (to_nonce != p->nonce || p->state == PM_PUNCH_FAILED)
        return; /* not for this link (or a stale session) */
    if (p->have_peer_nonce && from_nonce != p->peer_nonce)
        return;
    p->peer_nonce = from_nonce;
    p->have_peer_nonce = true;
    if (d[8] == PUNCH_KIND_PUNCH)
        send_punch(p, from, PUNCH_KIND_ANSWER);
    if (p->state == PM_PUNCH_REACHABLE)
        return;
    p->state = PM_PUNCH_REACHABLE;
    p->peer_addr = *from;
    if (p->next_punch == PM_TIME_NEVER)
        p->next_punch = now + p->interval;
    if (PM_LOG_ON(&p->env, PM_LOG_INFO)) {
        char a[PM_ADDR_STRLEN];
        PM_INFO(&p->env, "punch", "peer %d reachable at %s after %lld ms", (int)p->peer_id,
                pm_addr_format(from, a, sizeof a), (long long)((now - p->start) / 1000));
    }
}

void pm_punch_datagram(pm_punch *p, pm_time now, const pm_addr *from, const uint8_t *d, size_t n)
{
    if (n == PM_PUNCH_PACKET_LEN && memcmp(d, PUNCH_MAGIC, PUNCH_MAGIC_LEN) == 0)
        on_punch(p, now, from, d);
    else if (p->has_stun && pm_addr_equal(from, &p->stun))
        on_stun(p, d, n);
    pm_punch_timeout(p, now);
}

int pm_punch_remote_line(pm_punch *p, pm_time now, const char *line)
{
    char tag[16], nonce[24], type[8], ip[64];
    unsigned port;
    if (sscanf(line, "%15s %23s %7s %63s %u", tag, nonce, type, ip, &port) != 5 ||
        strcmp(tag, LINE_TAG) != 0 || port == 0 || port > 65535 ||
        (strcmp(type, "host") != 0 && strcmp(type, "srflx") != 0))
        return PM_ERR_PARSE;
    char *end;
    uint64_t n = strtoull(nonce, &end, 16);
    pm_addr a;
    if (*end || pm_addr_parse(&a, ip, (uint16_t)port) != PM_OK)
        return PM_ERR_PARSE;
    if (a.family != 4)
        return PM_ERR_UNSUPPORTED;
    if (p->have_peer_nonce && n != p->peer_nonce)
        return PM_ERR_STATE;
    if (p->state == PM_PUNCH_FAILED)
        return PM_ERR_STATE;
    p->peer_nonce = n;
    p->have_peer_nonce = true;
    for (size_t i = 0; i < p->ntargets; i++)
        if (pm_addr_equal(&p->targets[i].addr, &a))
            return PM_OK;
    if (p->ntargets == PM_PUNCH_MAX_TARGETS)
        return PM_ERR_FULL;
    p->targets[p->ntargets++] = (punch_target){a, strcmp(type, "srflx") == 0};
    if (p->state == PM_PUNCH_WAITING) {
        p->state = PM_PUNCH_PUNCHING;
        p->first_line = now;
    }
    if (p->state == PM_PUNCH_PUNCHING)
        send_punch(p, &a, PUNCH_KIND_PUNCH); /* at once; rounds follow */
    if (p->next_punch == PM_TIME_NEVER)
        p->next_punch = now + p->interval;
    return PM_OK;
}

static pm_time fail_at(const pm_punch *p)
{
    if (p->state == PM_PUNCH_WAITING)
        return p->start + p->timeout;
    if (p->state == PM_PUNCH_PUNCHING)
        return p->first_line + p->timeout;
    return PM_TIME_NEVER;
}

void pm_punch_timeout(pm_punch *p, pm_time now)
{
    if (p->state == PM_PUNCH_FAILED)
        return;
    if (p->stun_pending && now >= p->stun_deadline) {
        p->stun_pending = false;
        PM_INFO(&p->env, "punch", "peer %d: no answer from STUN server %s in %lld ms",
                (int)p->peer_id, p->stun_name, (long long)(p->stun_timeout / 1000));
    }
    if (p->stun_pending && now >= p->stun_next) {
        send_stun(p);
        p->stun_next = now + p->stun_rto;
        p->stun_rto *= 2;
    }
    if (now >= fail_at(p)) {
        time_out(p);
        return;
    }
    if (p->next_punch != PM_TIME_NEVER && now >= p->next_punch) {
        if (p->state == PM_PUNCH_REACHABLE)
            send_punch(p, &p->peer_addr, PUNCH_KIND_PUNCH);
        else
            for (size_t i = 0; i < p->ntargets; i++)
                send_punch(p, &p->targets[i].addr, PUNCH_KIND_PUNCH);
        p->next_punch = now + p->interval;
    }
}

pm_time pm_punch_next_timeout(const pm_punch *p)
{
    if (p->state == PM_PUNCH_FAILED)
        return PM_TIME_NEVER;
    pm_time t = PM_MIN(p->next_punch, fail_at(p));
    if (p->stun_pending)
        t = PM_MIN(t, PM_MIN(p->stun_next, p->stun_deadline));
    return t;
}

pm_punch_state pm_punch_get_state(const pm_punch *p)
{
    return p->state;
}

const pm_addr *pm_punch_peer_addr(const pm_punch *p)
{
    return p->state == PM_PUNCH_REACHABLE ? &p->peer_addr : NULL;
}

const char *pm_punch_reason(const pm_punch *p)
{
    return p->reason;
}

const pm_addr *pm_punch_public_addr(const pm_punch *p)
{
    return p->stun_ok ? &p->public_addr : NULL;
}
