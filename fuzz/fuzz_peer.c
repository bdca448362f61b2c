/*
 * Fuzz target: a peer connection (A) and a live partner (B), both sans-I/O
 * on one virtual clock, with the fuzzer as the network between them and as
 * B's misbehaving half. The partner completes real ICE, DTLS and SCTP
 * handshakes, so everything behind them is reachable: DTLS records, SCTP
 * chunks and DCEP messages arrive at A through the same code as from a
 * browser. A recorded DTLS transcript could not be replayed instead: the
 * handshake's secrets come from OpenSSL's and usrsctp's own randomness,
 * which no seed of ours controls.
 *
 * Input: a header byte (bit 0: A offers, else B; bit 1: A opens an in-band
 * channel first; bit 2: B does; bit 3: both open negotiated channel 5),
 * then operations, each an opcode byte (low 4 bits: operation, high 4
 * bits: its small argument) and its operands:
 *
 *   0 STEP          let the network run: deliver queued datagrams, advance
 *                   1 ms per round, then (arg) x 10 ms more
 *   1 DROP          drop the next datagram (arg bit 0: B->A, else A->B)
 *   2 DUP           deliver the next datagram twice
 *   3 FLIP u16 u8   xor a byte of the next datagram
 *   4 RAW u16 ...   a datagram to A (arg bit 0: from B's address, else a stranger's)
 *   5 SCTP u16 ...  chunks in an SCTP packet from B (A's verification tag,
 *                   valid CRC), through B's DTLS: reaches A's SCTP stack
 *   6 MSG u16 u8 u16 ...  an SCTP message from B's stack on a stream (u16)
 *                   with a PPID (u8 selects DCEP, string, binary, their
 *                   empty forms, or a raw one): DCEP and channel data
 *   7 MUTATE u16 u8 xor a byte of B's next SCTP packet before encryption
 *                   (CRC fixed up): malformed chunks inside valid records
 *   8 API-A / 9 API-B  (arg selects) create a channel, send, close,
 *                   release, change the write mode or threshold, close the peer
 *  10 CLOCK u16     advance the clock by that many ms (consent, timeouts)
 *  11 CAND u8 ...   a remote candidate line for A
 *
 * Missing operand bytes read as zero. With PM_FUZZ_RECORD=DIR in the
 * environment, each run also writes what crossed the network as seeds of
 * the other targets (DIR/fuzz_sdp, fuzz_candidate, fuzz_stun, fuzz_dcep):
 * see fuzz/README.md.
 */
#define _GNU_SOURCE
#include "base/base.h"
#include "dtls/dtls.h"
#include "peermesh/rtc.h"
#include "sctp/sctp.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_QUEUED  512
#define MAX_CHANS   16
#define MAX_ROUNDS  200
#define MAX_PAYLOAD 70000
#define SCTP_HEADER 12

/* ---- the virtual clock, shared with OpenSSL and usrsctp ---- */

static pm_time fake_now;

/* OpenSSL's DTLS timer and usrsctp read gettimeofday through the PLT: the
 * executable's definition wins (exported: the target links with
 * ENABLE_EXPORTS), so the whole stack runs on the fuzzer's clock. */
__attribute__((visibility("default"))) int gettimeofday(struct timeval *restrict tv,
                                                        void *restrict tz)
{
    (void)tz;
    pm_time t = fake_now + (pm_time)1700000000 * 1000000;
    tv->tv_sec = t / 1000000;
    tv->tv_usec = t % 1000000;
    return 0;
}

static pm_time fuzz_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static int fuzz_random(void *ud, uint8_t *buf, size_t len)
{
    uint64_t *s = ud;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(*s >> 56);
    }
    return PM_OK;
}

static void quiet_log(void *ud, pm_log_level l, const char *c, const char *m)
{
    (void)ud;
    (void)l;
    (void)c;
    (void)m;
}

/* ---- the two peers ---- */

typedef struct side {
    pm_env env;
    uint64_t rng;
    pm_addr addr;
    pm_rtc_peer *pc;
    pm_rtc_channel *chans[MAX_CHANS];
    int nchans;    /* a released channel is forgotten: no event names it again (rtc.h) */
    pm_dtls *dtls; /* learnt by the wrappers below */
    pm_sctp *sctp;
} side;

static side A, B;
static side *driving; /* whose call into the library is running */
static uint32_t a_vtag;
static bool a_vtag_known;
static bool mutate_pending;
static uint16_t mutate_pos;
static uint8_t mutate_xor;
static const char *record_dir;

static void record(const char *target, const void *data, size_t len);

/* ---- link-time wrappers (-Wl,--wrap): who owns which DTLS/SCTP endpoint ---- */

int __real_pm_dtls_new(const pm_envr *env, pm_rtc_certificate *cert, bool client,
                       const pm_dtls_callbacks *cb, pm_dtls **out);
int __wrap_pm_dtls_new(const pm_envr *env, pm_rtc_certificate *cert, bool client,
                       const pm_dtls_callbacks *cb, pm_dtls **out);
void __real_pm_dtls_free(pm_dtls *d);
void __wrap_pm_dtls_free(pm_dtls *d);
int __real_pm_dtls_write(pm_dtls *d, const uint8_t *data, size_t len);
int __wrap_pm_dtls_write(pm_dtls *d, const uint8_t *data, size_t len);
int __real_pm_sctp_new(const pm_envr *env, const pm_sctp_config *cfg, const pm_sctp_callbacks *cb,
                       pm_sctp **out);
int __wrap_pm_sctp_new(const pm_envr *env, const pm_sctp_config *cfg, const pm_sctp_callbacks *cb,
                       pm_sctp **out);
void __real_pm_sctp_free(pm_sctp *s);
void __wrap_pm_sctp_free(pm_sctp *s);

int __wrap_pm_dtls_new(const pm_envr *env, pm_rtc_certificate *cert, bool client,
                       const pm_dtls_callbacks *cb, pm_dtls **out)
{
    int rc = __real_pm_dtls_new(env, cert, client, cb, out);
    if (rc == PM_OK && driving)
        driving->dtls = *out;
    return rc;
}

void __wrap_pm_dtls_free(pm_dtls *d)
{
    if (d && d == A.dtls)
        A.dtls = NULL;
    if (d && d == B.dtls)
        B.dtls = NULL;
    __real_pm_dtls_free(d);
}

int __wrap_pm_sctp_new(const pm_envr *env, const pm_sctp_config *cfg, const pm_sctp_callbacks *cb,
                       pm_sctp **out)
{
    int rc = __real_pm_sctp_new(env, cfg, cb, out);
    if (rc == PM_OK && driving)
        driving->sctp = *out;
    return rc;
}

void __wrap_pm_sctp_free(pm_sctp *s)
{
    if (s && s == A.sctp)
        A.sctp = NULL;
    if (s && s == B.sctp)
        B.sctp = NULL;
    __real_pm_sctp_free(s);
}

static void fix_crc(uint8_t *p, size_t n)
{
    memset(p + 8, 0, 4);
    uint32_t crc = pm_crc32c(p, n);
    for (int i = 0; i < 4; i++)
        p[8 + i] = (uint8_t)(crc >> (8 * i)); /* RFC 9260 Appendix A: little end first */
}

/* The DCEP messages in an SCTP packet, as seeds for fuzz_dcep. */
static void record_dcep(const uint8_t *p, size_t n)
{
    for (size_t off = SCTP_HEADER; off + 4 <= n;) {
        size_t clen = (size_t)p[off + 2] << 8 | p[off + 3];
        if (clen < 4 || off + clen > n)
            return;
        if (p[off] == 0 && clen > 16 && pm_rd32(p + off + 12) == 50)
            record("fuzz_dcep", p + off + 16, clen - 16);
        off += (clen + 3) & ~(size_t)3;
    }
}

/* Every SCTP packet either side sends passes here before encryption. */
int __wrap_pm_dtls_write(pm_dtls *d, const uint8_t *data, size_t len)
{
    if (record_dir && len > SCTP_HEADER)
        record_dcep(data, len);
    if (d != B.dtls || len < SCTP_HEADER)
        return __real_pm_dtls_write(d, data, len);
    uint32_t vtag = pm_rd32(data + 4);
    if (vtag) { /* B addresses A by A's tag (only an INIT carries 0) */
        a_vtag = vtag;
        a_vtag_known = true;
    }
    if (!mutate_pending || len > 65536)
        return __real_pm_dtls_write(d, data, len);
    mutate_pending = false;
    static uint8_t copy[65536];
    memcpy(copy, data, len);
    copy[SCTP_HEADER + mutate_pos % (len - SCTP_HEADER)] ^= mutate_xor;
    fix_crc(copy, len);
    return __real_pm_dtls_write(d, copy, len);
}

/* ---- the network ---- */

typedef struct dgram {
    uint8_t *data;
    size_t len;
} dgram;

typedef struct link {
    dgram q[MAX_QUEUED];
    int n;
    int drop, dup; /* act on the next datagram(s) */
    bool flip;
    uint16_t flip_pos;
    uint8_t flip_xor;
} link;

static link to_b, to_a;

static void enqueue(link *l, const uint8_t *d, size_t n)
{
    if (l->n == MAX_QUEUED)
        return;
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return;
    memcpy(copy, d, n);
    l->q[l->n++] = (dgram){copy, n};
}

static void link_clear(link *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->q[i].data);
    memset(l, 0, sizeof *l);
}

static void collect(side *s, link *out)
{
    pm_rtc_transmit t;
    driving = s;
    while (s->pc && pm_rtc_peer_poll_transmit(s->pc, &t)) {
        if (record_dir && t.len && t.data[0] <= 3)
            record("fuzz_stun", t.data, t.len);
        enqueue(out, t.data, t.len);
    }
    driving = NULL;
}

static void deliver_one(side *to, const side *from, const uint8_t *d, size_t n)
{
    if (!to->pc)
        return;
    driving = to;
    pm_rtc_peer_handle_datagram(to->pc, fake_now, &to->addr, &from->addr, d, n);
    driving = NULL;
}

/* Deliver what is queued, applying the pending drop / duplicate / flip. */
static bool deliver(link *l, side *to, const side *from)
{
    dgram q[MAX_QUEUED];
    int n = l->n;
    memcpy(q, l->q, sizeof q[0] * (size_t)n);
    l->n = 0;
    for (int i = 0; i < n; i++) {
        if (l->drop > 0) {
            l->drop--;
        } else {
            if (l->flip && q[i].len) {
                q[i].data[l->flip_pos % q[i].len] ^= l->flip_xor;
                l->flip = false;
            }
            deliver_one(to, from, q[i].data, q[i].len);
            if (l->dup > 0) {
                l->dup--;
                deliver_one(to, from, q[i].data, q[i].len);
            }
        }
        free(q[i].data);
    }
    return n > 0;
}

/* ---- events, signaling and reading ---- */

static void remember(side *s, pm_rtc_channel *ch)
{
    for (int i = 0; i < s->nchans; i++)
        if (s->chans[i] == ch)
            return;
    if (s->nchans < MAX_CHANS)
        s->chans[s->nchans++] = ch;
}

static void forget(side *s, pm_rtc_channel *ch)
{
    for (int i = 0; i < s->nchans; i++)
        if (s->chans[i] == ch)
            s->chans[i] = s->chans[--s->nchans];
}

static bool drain(side *s, side *other)
{
    if (!s->pc)
        return false;
    bool any = false;
    pm_rtc_event ev;
    driving = s;
    while (pm_rtc_peer_next_event(s->pc, &ev)) {
        any = true;
        driving = other;
        switch (ev.type) {
        case PM_RTC_EVENT_DESCRIPTION:
            if (record_dir)
                record("fuzz_sdp", ev.sdp, strlen(ev.sdp));
            if (other->pc)
                pm_rtc_peer_set_remote_description(other->pc, ev.sdp_type, ev.sdp);
            break;
        case PM_RTC_EVENT_CANDIDATE:
            if (record_dir && ev.candidate[0])
                record("fuzz_candidate", ev.candidate, strlen(ev.candidate));
            if (other->pc)
                pm_rtc_peer_add_ice_candidate(other->pc, ev.mid, ev.mline_index, ev.candidate);
            break;
        case PM_RTC_EVENT_DATA_CHANNEL:
        case PM_RTC_EVENT_CHANNEL_OPEN:
            remember(s, ev.channel);
            break;
        default:
            break;
        }
        driving = s;
    }
    for (int i = 0; i < s->nchans; i++) {
        const uint8_t *d;
        size_t n;
        while (pm_rtc_channel_get_packet(s->chans[i], &d, &n) == PM_OK)
            any = true;
    }
    driving = NULL;
    return any;
}

static void timers(side *s)
{
    if (s->pc && pm_rtc_peer_next_timeout(s->pc) <= fake_now) {
        driving = s;
        pm_rtc_peer_handle_timeout(s->pc, fake_now);
        driving = NULL;
    }
}

static void step(unsigned extra_ms)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        bool moved = drain(&A, &B);
        moved |= drain(&B, &A);
        collect(&A, &to_b);
        collect(&B, &to_a);
        moved |= deliver(&to_b, &B, &A);
        moved |= deliver(&to_a, &A, &B);
        fake_now += PM_MS(1);
        timers(&A);
        timers(&B);
        if (!moved)
            break;
    }
    pm_time until = fake_now + PM_MS(extra_ms);
    while (fake_now < until) {
        pm_time next = PM_MIN(A.pc ? pm_rtc_peer_next_timeout(A.pc) : PM_TIME_NEVER,
                              B.pc ? pm_rtc_peer_next_timeout(B.pc) : PM_TIME_NEVER);
        fake_now = PM_MAX(fake_now + 1, PM_MIN(next, until));
        timers(&A);
        timers(&B);
        drain(&A, &B);
        drain(&B, &A);
        collect(&A, &to_b);
        collect(&B, &to_a);
        deliver(&to_b, &B, &A);
        deliver(&to_a, &A, &B);
    }
}

/* ---- operands ---- */

typedef struct reader {
    const uint8_t *p;
    size_t n, off;
} reader;

static uint8_t rd8(reader *r)
{
    return r->off < r->n ? r->p[r->off++] : 0;
}

static uint16_t rd16(reader *r)
{
    uint16_t hi = rd8(r);
    return (uint16_t)(hi << 8 | rd8(r));
}

/* The next `want` input bytes (fewer at the end of the input). */
static const uint8_t *take(reader *r, size_t want, size_t *got)
{
    *got = PM_MIN(want, r->n - r->off);
    const uint8_t *p = r->p + r->off;
    r->off += *got;
    return p;
}

/* ---- operations ---- */

static void api(side *s, unsigned arg, reader *r)
{
    if (!s->pc)
        return;
    driving = s;
    pm_rtc_channel *ch = s->nchans ? s->chans[rd8(r) % s->nchans] : NULL;
    switch (arg % 7) {
    case 0: { /* create a channel */
        uint8_t flags = rd8(r), value = rd8(r);
        size_t n;
        const uint8_t *label = take(r, rd8(r) % 48, &n);
        char text[64];
        memcpy(text, label, n);
        text[n] = '\0';
        pm_rtc_channel_init init;
        pm_rtc_channel_init_default(&init);
        init.ordered = flags & 1;
        init.negotiated = flags & 2;
        init.id = init.negotiated ? value : -1;
        if (flags & 4)
            init.max_retransmits = value;
        else if (flags & 8)
            init.max_packet_lifetime = value;
        init.protocol = flags & 16 ? text : NULL;
        pm_rtc_channel *out;
        if (pm_rtc_peer_create_channel(s->pc, text, &init, &out) == PM_OK)
            remember(s, out);
        break;
    }
    case 1: { /* send */
        static uint8_t buf[MAX_PAYLOAD];
        size_t want = (size_t)rd16(r) * 2 % MAX_PAYLOAD, n;
        const uint8_t *d = take(r, PM_MIN(want, 64), &n);
        memcpy(buf, d, n);
        memset(buf + n, 0x5a, want - n); /* long messages need not cost input */
        if (ch)
            pm_rtc_channel_put_packet(ch, buf, want);
        break;
    }
    case 2:
        if (ch)
            pm_rtc_channel_close(ch);
        break;
    case 3:
        if (ch) {
            forget(s, ch);
            pm_rtc_channel_release(ch);
        }
        break;
    case 4:
        if (ch)
            pm_rtc_channel_set_write_mode(ch, rd8(r) & 1 ? PM_RTC_WRITE_TEXT : PM_RTC_WRITE_BINARY);
        break;
    case 5:
        if (ch)
            pm_rtc_channel_set_buffered_amount_low_threshold(ch, (size_t)rd16(r) * 64);
        break;
    default:
        pm_rtc_peer_close(s->pc);
        break;
    }
    driving = NULL;
}

static const uint32_t PPIDS[] = {50, 51, 53, 56, 57, 52, 54};

static void sctp_message(reader *r)
{
    uint16_t sid = rd16(r);
    uint8_t sel = rd8(r);
    uint32_t ppid = sel < 7 * 32 ? PPIDS[sel % 7] : rd16(r);
    size_t n;
    const uint8_t *d = take(r, rd16(r) % 2048, &n);
    if (!B.sctp)
        return;
    pm_sctp_sendopts o = {.unordered = sel & 0x80};
    driving = &B;
    pm_sctp_send(B.sctp, sid, ppid, d, n, &o);
    driving = NULL;
}

static void sctp_raw(reader *r)
{
    static uint8_t pkt[2048];
    size_t n;
    const uint8_t *d = take(r, rd16(r) % (sizeof pkt - SCTP_HEADER), &n);
    if (!B.dtls || !a_vtag_known)
        return;
    pm_wr16(pkt, 5000);
    pm_wr16(pkt + 2, 5000);
    pm_wr32(pkt + 4, a_vtag);
    memcpy(pkt + SCTP_HEADER, d, n);
    fix_crc(pkt, SCTP_HEADER + n);
    driving = &B;
    __real_pm_dtls_write(B.dtls, pkt, SCTP_HEADER + n); /* not mutated again */
    driving = NULL;
}

static void run_op(uint8_t op, reader *r)
{
    unsigned arg = op >> 4;
    link *dir = arg & 1 ? &to_a : &to_b;
    switch (op & 15) {
    case 0:
        step(arg * 10);
        break;
    case 1:
        dir->drop++;
        break;
    case 2:
        dir->dup++;
        break;
    case 3:
        dir->flip = true;
        dir->flip_pos = rd16(r);
        dir->flip_xor = rd8(r) | 1;
        break;
    case 4: {
        size_t n;
        const uint8_t *d = take(r, rd16(r) % 2048, &n);
        static const side stranger = {.addr = {.family = 4, .ip = {127, 0, 0, 9}, .port = 9}};
        deliver_one(&A, arg & 1 ? &B : &stranger, d, n);
        break;
    }
    case 5:
        sctp_raw(r);
        break;
    case 6:
        sctp_message(r);
        break;
    case 7:
        mutate_pending = true;
        mutate_pos = rd16(r);
        mutate_xor = rd8(r) | 1;
        break;
    case 8:
        api(&A, arg, r);
        break;
    case 9:
        api(&B, arg, r);
        break;
    case 10:
        fake_now += PM_MS(rd16(r));
        timers(&A);
        timers(&B);
        break;
    case 11: {
        size_t n;
        const uint8_t *d = take(r, rd8(r), &n);
        char line[256];
        memcpy(line, d, n);
        line[n] = '\0';
        if (A.pc) {
            driving = &A;
            pm_rtc_peer_add_ice_candidate(A.pc, "0", 0, line);
            driving = NULL;
        }
        break;
    }
    default:
        break;
    }
}

/* ---- set-up ---- */

static void side_init(side *s, const char *ip, uint16_t port, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->rng = seed;
    s->env = (pm_env){.now = fuzz_clock,
                      .random = fuzz_random,
                      .random_ud = &s->rng,
                      .log = quiet_log,
                      .log_level = PM_LOG_ERROR};
    pm_addr_parse(&s->addr, ip, port);
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.env = &s->env;
    cfg.external_transport = true;
    cfg.local_addrs = &s->addr;
    cfg.local_addr_count = 1;
    driving = s;
    if (pm_rtc_peer_new(&cfg, &s->pc) != PM_OK)
        abort();
    driving = NULL;
}

static void open_channel(side *s, const char *label, bool negotiated)
{
    pm_rtc_channel_init init;
    pm_rtc_channel_init_default(&init);
    init.negotiated = negotiated;
    init.id = negotiated ? 5 : -1;
    pm_rtc_channel *ch;
    driving = s;
    if (pm_rtc_peer_create_channel(s->pc, label, &init, &ch) == PM_OK)
        remember(s, ch);
    driving = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    uint8_t header = rd8(&r);
    fake_now = PM_SEC(1000);
    a_vtag_known = false;
    mutate_pending = false;
    side_init(&A, "127.0.0.1", 5001, 1);
    side_init(&B, "127.0.0.2", 5002, 2);
    if (header & 2)
        open_channel(&A, "a", false);
    if (header & 4)
        open_channel(&B, "b", false);
    if (header & 8) {
        open_channel(&A, "n", true);
        open_channel(&B, "n", true);
    }
    side *offerer = header & 1 ? &A : &B;
    driving = offerer;
    pm_rtc_peer_create_offer(offerer->pc);
    driving = NULL;
    while (r.off < r.n)
        run_op(rd8(&r), &r);
    step(0);
    for (side *s = &A; s; s = s == &A ? &B : NULL) {
        driving = s;
        pm_rtc_peer_free(s->pc);
        s->pc = NULL;
        driving = NULL;
    }
    link_clear(&to_a);
    link_clear(&to_b);
    return 0;
}

/* ---- recording seeds for the other targets ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    record_dir = getenv("PM_FUZZ_RECORD");
    return 0;
}

static void record(const char *target, const void *data, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: one file per distinct seed */
    for (size_t i = 0; i < len; i++)
        h = (h ^ ((const uint8_t *)data)[i]) * 1099511628211ull;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", record_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/rec-%016llx", record_dir, target, (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(data, 1, len, f);
    fclose(f);
}
