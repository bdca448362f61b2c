/*
 * The process-wide half of the SCTP adapter (WEBRTC-NOTES 4.2, 4.4):
 * usrsctp_init_nothreads with our conn_output, the sysctls, CRC32c offload,
 * the registry that maps AF_CONN addresses to associations, and the shared
 * 10 ms timer tick. This is the one place in peermesh with global state, as
 * usrsctp itself is global.
 */
#include "sctp/usrsctp/usrsctp_glue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <usrsctp.h>

/* Slot index in the low bits of an id, a generation above it: a stale id of
 * a freed association never matches the slot's next owner. */
#define SLOT_BITS 20u
#define SLOT_MASK ((1u << SLOT_BITS) - 1u)

/* usrsctp's own timer thread and Chrome both tick every 10 ms (WEBRTC-NOTES 4.2). */
#define TICK_MS 10
/* A clock that jumps back further than this is a different clock (tests
 * switch between virtual and real time): restart the tick from it. */
#define CLOCK_RESYNC_MS 1000
/* Cap one catch-up step; usrsctp fires each expired timer once anyway. */
#define MAX_ELAPSED_MS 60000

/* RFC 9260 section 3.1: the checksum field of the common header. */
#define SCTP_CSUM_OFFSET   8
#define SCTP_COMMON_HEADER 12

typedef struct slot {
    uintptr_t id; /* 0: free */
    pm_sctp *s;
} slot;

static struct {
    pthread_mutex_t mu;
    int refs;
    bool inited;
    bool debug;
    slot *slots;
    uint32_t nslots;
    uintptr_t gen;
    int64_t last_ms;
    bool tick_valid;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local pm_sctp *tl_current;

void pm_usrsctp_lock(void)
{
    pthread_mutex_lock(&g.mu);
}

void pm_usrsctp_unlock(void)
{
    pthread_mutex_unlock(&g.mu);
}

static pm_sctp *lookup_locked(uintptr_t id)
{
    uint32_t idx = (uint32_t)(id & SLOT_MASK);
    if (id == 0 || idx >= g.nslots || g.slots[idx].id != id)
        return NULL;
    return g.slots[idx].s;
}

pm_sctp *pm_usrsctp_enter(pm_sctp *s)
{
    pm_sctp *prev = tl_current;
    tl_current = s;
    return prev;
}

/* ---- usrsctp callbacks: never call back into usrsctp from here ---- */

static int conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    if (length < SCTP_COMMON_HEADER)
        return 0;
    uint8_t *p = buffer; /* usrsctp's own linear copy; ours to patch */
    /* CRC32c offload is on, so usrsctp left the field zero; RFC 9260
     * Appendix A: the CRC is stored least significant byte first. */
    uint32_t crc = pm_crc32c(p, length);
    p[SCTP_CSUM_OFFSET] = (uint8_t)crc;
    p[SCTP_CSUM_OFFSET + 1] = (uint8_t)(crc >> 8);
    p[SCTP_CSUM_OFFSET + 2] = (uint8_t)(crc >> 16);
    p[SCTP_CSUM_OFFSET + 3] = (uint8_t)(crc >> 24);
    pm_usrsctp_lock();
    pm_sctp *s = lookup_locked((uintptr_t)addr);
    if (!s) {
        /* Output after close (usrsctp#405): the association is gone. */
        pm_usrsctp_unlock();
        return 0;
    }
    if (s == tl_current) {
        /* Inside a call of this very association, on its owner's thread. */
        pm_usrsctp_unlock();
        pm_sctp_glue_emit(s, p, length);
        return 0;
    }
    /* Driven by another association's timers (or usrsctp's iterator thread):
     * queue it for the owner, which picks it up on its next call. */
    pm_sctp_glue_defer_locked(s, p, length);
    pm_usrsctp_unlock();
    return 0;
}

void pm_usrsctp_upcall(struct socket *so, void *arg, int flags)
{
    (void)so;
    (void)flags;
    pm_usrsctp_lock();
    pm_sctp *s = lookup_locked((uintptr_t)arg);
    if (s)
        pm_sctp_glue_wake_locked(s);
    pm_usrsctp_unlock();
}

static void debug_printf(const char *fmt, ...)
{
    if (!g.debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("usrsctp: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ---- init and sysctls ---- */

typedef struct sysctl_setting {
    const char *name;
    int (*set)(uint32_t);
    uint32_t value;
} sysctl_setting;

/* WEBRTC-NOTES 4.4 (libdatachannel's values, Chrome's security choices). */
static const sysctl_setting sysctls[] = {
    /* Window-limited throughput: 1 MiB windows (Mozilla bug 1051685). */
    {"sendspace", usrsctp_sysctl_set_sctp_sendspace, 1024 * 1024},
    {"recvspace", usrsctp_sysctl_set_sctp_recvspace, 1024 * 1024},
    {"max_chunks_on_queue", usrsctp_sysctl_set_sctp_max_chunks_on_queue, 10240},
    {"initial_cwnd", usrsctp_sysctl_set_sctp_initial_cwnd, 10}, /* RFC 6928 style */
    {"max_burst_default", usrsctp_sysctl_set_sctp_max_burst_default, 10},
    {"default_cc_module", usrsctp_sysctl_set_sctp_default_cc_module, SCTP_CC_RFC2581},
    {"delayed_sack_time_default", usrsctp_sysctl_set_sctp_delayed_sack_time_default, 20},
    /* A SACK every 4 packets (libdatachannel: 2): threaded loopback goodput
     * 143-148 -> 174-192 MB/s; gaps are still SACKed at once, and the
     * simulator's transfers at 10 and 20 % loss took as long as before. */
    {"sack_freq_default", usrsctp_sysctl_set_sctp_sack_freq_default, 4},
    /* Games prefer short stalls: the backoff is capped at 3 s (libdatachannel
     * 10 s) and the first RTO is 500 ms as in dcSCTP; INIT gets 8 tries. */
    {"rto_min_default", usrsctp_sysctl_set_sctp_rto_min_default, 200},
    {"rto_max_default", usrsctp_sysctl_set_sctp_rto_max_default, 3000},
    {"init_rto_max_default", usrsctp_sysctl_set_sctp_init_rto_max_default, 3000},
    {"rto_initial_default", usrsctp_sysctl_set_sctp_rto_initial_default, 500},
    {"init_rtx_max_default", usrsctp_sysctl_set_sctp_init_rtx_max_default, 8},
    /* 10 as usrsctp's default and dcSCTP, not libdatachannel's 5: with 5, an
     * association under 20 % loss died of consecutive timeouts in the
     * simulator; a dead peer is detected by ICE consent (RFC 7675) anyway. */
    {"assoc_rtx_max_default", usrsctp_sysctl_set_sctp_assoc_rtx_max_default, 10},
    {"path_rtx_max_default", usrsctp_sysctl_set_sctp_path_rtx_max_default, 5},
    {"heartbeat_interval_default", usrsctp_sysctl_set_sctp_heartbeat_interval_default, 10000},
    /* ECN cannot cross DTLS/UDP; WebRTC needs neither ASCONF nor AUTH, and
     * turning them off shrinks the attack surface (ASCONF first: it needs AUTH). */
    {"ecn_enable", usrsctp_sysctl_set_sctp_ecn_enable, 0},
    {"asconf_enable", usrsctp_sysctl_set_sctp_asconf_enable, 0},
    {"auto_asconf", usrsctp_sysctl_set_sctp_auto_asconf, 0},
    {"auth_enable", usrsctp_sysctl_set_sctp_auth_enable, 0},
    {"pr_enable", usrsctp_sysctl_set_sctp_pr_enable, 1},             /* RFC 3758 */
    {"reconfig_enable", usrsctp_sysctl_set_sctp_reconfig_enable, 1}, /* RFC 6525 resets */
    {"nrsack_enable", usrsctp_sysctl_set_sctp_nrsack_enable, 0},
};

static void init_stack_locked(const pm_envr *env)
{
    g.debug = getenv("PEERMESH_USRSCTP_DEBUG") != NULL;
    /* Port 0: no UDP encapsulation socket; nothreads: we drive the timers. */
    usrsctp_init_nothreads(0, conn_output, debug_printf);
    /* sctp_init() resets every sysctl to its default, so they go after init. */
    for (size_t i = 0; i < PM_ARRAY_LEN(sysctls); i++) {
        if (sysctls[i].set(sysctls[i].value) != 0)
            PM_WARN(env, "sctp", "usrsctp sysctl %s=%u rejected", sysctls[i].name,
                    (unsigned)sysctls[i].value);
    }
    /* Receive-side CRC checks are redundant under DTLS; on send we compute it
     * ourselves in conn_output with the hardware CRC instruction. */
    usrsctp_enable_crc32c_offload();
    g.inited = true;
}

int pm_usrsctp_acquire(const pm_envr *env)
{
    pm_usrsctp_lock();
    if (!g.inited)
        init_stack_locked(env);
    g.refs++;
    pm_usrsctp_unlock();
    return PM_OK;
}

void pm_usrsctp_release(void)
{
    pm_usrsctp_lock();
    if (g.refs > 0 && --g.refs == 0) {
        /* No association is left to drive the clock; the next one may use a
         * different clock. usrsctp itself stays initialised: usrsctp_finish
         * fails while closed sockets wait for their kill timers, and a
         * re-init after finish is not reliable in 0.9.5. */
        g.tick_valid = false;
        free(g.slots);
        g.slots = NULL;
        g.nslots = 0;
    }
    pm_usrsctp_unlock();
}

/* ---- registry ---- */

int pm_usrsctp_register(pm_sctp *s, uintptr_t *id)
{
    pm_usrsctp_lock();
    uint32_t idx = 0;
    while (idx < g.nslots && g.slots[idx].id != 0)
        idx++;
    if (idx == g.nslots) {
        if (g.nslots >= SLOT_MASK) {
            pm_usrsctp_unlock();
            return PM_ERR_FULL;
        }
        uint32_t ncap = g.nslots ? g.nslots * 2 : 16;
        slot *ns = realloc(g.slots, ncap * sizeof *ns);
        if (!ns) {
            pm_usrsctp_unlock();
            return PM_ERR_NOMEM;
        }
        memset(ns + g.nslots, 0, (ncap - g.nslots) * sizeof *ns);
        g.slots = ns;
        g.nslots = ncap;
    }
    g.gen++;
    g.slots[idx].id = (g.gen << SLOT_BITS) | idx;
    g.slots[idx].s = s;
    *id = g.slots[idx].id;
    pm_usrsctp_unlock();
    return PM_OK;
}

void pm_usrsctp_unregister(uintptr_t id)
{
    pm_usrsctp_lock();
    uint32_t idx = (uint32_t)(id & SLOT_MASK);
    if (id != 0 && idx < g.nslots && g.slots[idx].id == id) {
        g.slots[idx].id = 0;
        g.slots[idx].s = NULL;
    }
    pm_usrsctp_unlock();
}

/* ---- the shared tick ---- */

/* usrsctp's tick handler keeps its "current" and "next" timer in globals and
 * assumes one ticking thread: two at once can let a closing association's
 * timer run on freed memory. One thread ticks at a time; a thread that finds
 * the tick taken skips it, because the ticking thread covers that time. */
static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;

void pm_usrsctp_advance(pm_time now)
{
    if (pthread_mutex_trylock(&tick_mu) != 0)
        return;
    int64_t ms = now / 1000;
    uint32_t elapsed = 0;
    pm_usrsctp_lock();
    if (!g.tick_valid || ms < g.last_ms - CLOCK_RESYNC_MS) {
        g.last_ms = ms;
        g.tick_valid = true;
    } else if (ms > g.last_ms) {
        int64_t d = ms - g.last_ms;
        elapsed = (uint32_t)(d > MAX_ELAPSED_MS ? MAX_ELAPSED_MS : d);
        g.last_ms = ms;
    }
    pm_usrsctp_unlock();
    /* Outside g.mu (timers call conn_output, which takes it), inside tick_mu
     * (which no callback takes, so the lock order tick_mu -> g.mu is safe). */
    if (elapsed)
        usrsctp_handle_timers(elapsed);
    pthread_mutex_unlock(&tick_mu);
}

pm_time pm_usrsctp_next_tick(void)
{
    pm_usrsctp_lock();
    pm_time t = g.tick_valid ? (pm_time)(g.last_ms + TICK_MS) * 1000 : PM_TIME_NEVER;
    pm_usrsctp_unlock();
    return t;
}
