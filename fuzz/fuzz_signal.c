/*
 * libFuzzer target for the signaling protocols: both message formats (4.x
 * JSON, 3.x text), the candidate payload and the ICE server list, then the
 * server's protocol core fed the input as a conversation, the WebSocket
 * frame reader of the server's connections fed the input as a byte stream,
 * and a cluster node fed the input as messages from its Redis channel.
 *
 * Codec properties: whatever decodes must re-encode, and the re-encoding
 * must decode to the same type, id and data. Core properties: nothing
 * crashes or leaks, every output names a connection that exists, and when
 * every connection is gone nothing is left (no lobby, no peer).
 */
#include "io/ws_frame.h"
#include "signaling/sig_core.h"
#include "wire/signal_msg.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fixed_random(void *ud, uint8_t *buf, size_t len)
{
    uint64_t *s = ud;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(*s >> 56);
    }
    return PM_OK;
}

static void check_round_trip(const pm_envr *env, pm_sigproto proto, const pm_sigmsg *m)
{
    pm_buf out = {0}, scratch = {0};
    /* Types a format cannot carry, and JSON data that is not UTF-8, are
     * legitimately refused by the encoder. */
    if (pm_sigmsg_encode(env, proto, m, &out) == PM_OK) {
        pm_sigmsg back;
        if (pm_sigmsg_decode(env, proto, out.data, out.len, &scratch, &back) != PM_OK)
            abort();
        if (back.type != m->type)
            abort();
        /* Text JOIN and CREATE carry a trimmed lobby name on the command line, no id. */
        bool named = m->type == PM_SIGMSG_JOIN || m->type == PM_SIGMSG_CREATE;
        bool id_kept =
            proto == PM_SIGPROTO_JSON || (!named && m->type != PM_SIGMSG_SEAL && m->id >= 0);
        if (id_kept && back.id != m->id)
            abort();
        bool data_kept = m->type != PM_SIGMSG_ID && m->type != PM_SIGMSG_SEAL &&
                         (proto == PM_SIGPROTO_JSON || !named);
        if (data_kept &&
            (back.data_len != m->data_len || memcmp(back.data, m->data, m->data_len) != 0))
            abort();
    }
    pm_buf_free(env, &out);
    pm_buf_free(env, &scratch);
}

static void fuzz_codecs(const pm_envr *env, const uint8_t *data, size_t size)
{
    pm_buf scratch = {0}, slow_scratch = {0};
    pm_sigmsg m, slow;
    (void)pm_sigmsg_detect(data, size);
    /* The fast JSON path must agree with jansson on everything. */
    int fast_rc = pm_sigmsg_decode_json(env, data, size, &scratch, &m);
    int slow_rc = pm_sigmsg_decode_json_slow(env, data, size, &slow_scratch, &slow);
    if (fast_rc != slow_rc)
        abort();
    if (fast_rc == PM_OK &&
        (m.type != slow.type || m.id != slow.id || m.data_len != slow.data_len ||
         memcmp(m.data, slow.data, m.data_len) != 0 || m.ice_len != slow.ice_len))
        abort();
    pm_buf_free(env, &slow_scratch);
    if (fast_rc == PM_OK) {
        if (m.type != PM_SIGMSG_ID)
            m.ice = NULL; /* only ID carries it; keep the comparison simple */
        check_round_trip(env, PM_SIGPROTO_JSON, &m);
        if (m.ice) {
            pm_sig_ice_list l;
            if (pm_sig_ice_list_parse(env, m.ice, m.ice_len, &l) == PM_OK)
                pm_sig_ice_list_free(env, &l);
        }
    }
    if (pm_sigmsg_decode_text(data, size, &m) == PM_OK) {
        if (m.data_len && !pm_utf8_valid((const uint8_t *)m.data, m.data_len))
            abort(); /* the decoder promised UTF-8 */
        check_round_trip(env, PM_SIGPROTO_TEXT, &m);
        pm_sig_candidate c;
        if (pm_sig_candidate_parse(m.data, m.data_len, &c) == PM_OK) {
            if (c.mid + c.mid_len > m.data + m.data_len ||
                c.candidate + c.candidate_len > m.data + m.data_len)
                abort();
        }
    }
    pm_sig_ice_list l;
    if (pm_sig_ice_list_parse(env, (const char *)data, size, &l) == PM_OK)
        pm_sig_ice_list_free(env, &l);
    pm_buf_free(env, &scratch);
}

/*
 * The input as a conversation: records "<conn byte><len byte><message>";
 * connection byte bit 7 set: that connection goes away; byte 0xFF: time
 * passes (next byte * 100 ms).
 */
static void fuzz_core(const pm_envr *env, const uint8_t *data, size_t size)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.max_lobbies = 4;
    cfg.max_lobby_peers = 4;
    cfg.rate_burst = 50;
    cfg.named_lobbies = size & 1; /* both modes: the extension (CREATE) and strict */
    pm_sigsrv *s;
    pm_time now = PM_SEC(10);
    if (pm_sigsrv_new(env, &cfg, now, 0, &s) != PM_OK)
        return;
    enum { CONNS = 8 };
    uint64_t ids[CONNS] = {0};
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t who = data[i], len = data[i + 1];
        i += 2;
        if (who == 0xFF) {
            now += PM_MS(100) * len;
            pm_sigsrv_timeout(s, now);
        } else if (who & 0x80) {
            uint8_t k = who & 7;
            if (ids[k])
                pm_sigsrv_gone(s, now, ids[k]);
            ids[k] = 0;
        } else {
            uint8_t k = who & 7;
            if (!ids[k])
                ids[k] = pm_sigsrv_open(s, now, NULL, NULL, k + 1);
            size_t n = PM_MIN((size_t)len, size - i);
            pm_sigsrv_receive(s, now, ids[k], data + i, n, (who & 0x40) != 0);
            i += n;
        }
        pm_sigsrv_output o;
        while (pm_sigsrv_poll_output(s, &o)) {
            if (o.tid < 1 || o.tid > CONNS || ids[o.tid - 1] != o.conn)
                abort(); /* an output for a connection that is gone */
        }
    }
    for (int k = 0; k < CONNS; k++)
        if (ids[k])
            pm_sigsrv_gone(s, now, ids[k]);
    pm_signal_server_stats st;
    pm_sigsrv_get_stats(s, &st);
    if (pm_sigsrv_connection_count(s) != 0 || st.lobbies != 0 || st.peers_in_lobbies != 0 ||
        st.connections != 0)
        abort();
    pm_sigsrv_free(s);
}

/*
 * A cluster node with one member in a lobby hears the input as messages on
 * its channel, cut at NUL bytes: events of its lobby (any sequence, any
 * order) and relays. Nothing crashes, every output names the member's
 * connection or is a Redis command, and everything is freed.
 */
static void fuzz_cluster(const pm_envr *env, const uint8_t *data, size_t size)
{
    pm_signal_server_config cfg;
    pm_signal_server_config_default(&cfg);
    cfg.redis_url = "redis://127.0.0.1";
    cfg.ping_interval = 0;
    pm_sigsrv *s;
    pm_time now = PM_SEC(10);
    if (pm_sigsrv_new(env, &cfg, now, 0, &s) != PM_OK)
        return;
    pm_sigsrv_cluster_state(s, now, true);
    uint64_t c = pm_sigsrv_open(s, now, NULL, NULL, 1);
    static const char join[] = "{\"type\":0,\"id\":0,\"data\":\"\"}";
    pm_sigsrv_receive(s, now, c, (const uint8_t *)join, sizeof join - 1, false);
    pm_sigsrv_output o;
    char lobby[32] = "";
    uint64_t cookie = 0;
    while (pm_sigsrv_poll_output(s, &o))
        if (o.kind == PM_SIGSRV_OUT_REDIS && o.argc > 4 && o.argv_len[4] == 16) {
            memcpy(lobby, o.argv[4], 16);
            lobby[16] = 0;
            cookie = o.tid;
        }
    /* Redis says yes: the lobby exists here, with its name known. */
    pm_redis_reply r[7] = {{.type = PM_REDIS_STRING, .str = "OK", .len = 2},
                           {.type = PM_REDIS_INTEGER, .integer = 1},
                           {.type = PM_REDIS_STRING, .str = "1", .len = 1},
                           {.type = PM_REDIS_STRING, .str = "1", .len = 1},
                           {.type = PM_REDIS_STRING, .str = "1", .len = 1},
                           {.type = PM_REDIS_ARRAY},
                           {.type = PM_REDIS_ARRAY, .elements = r, .count = 6}};
    pm_sigsrv_cluster_reply(s, now, cookie, &r[6]);
    /* Messages: "E<lobby>\n" + a piece of the input, or the piece alone. */
    for (size_t i = 0; i < size;) {
        const uint8_t *z = memchr(data + i, 0, size - i);
        size_t n = z ? (size_t)(z - (data + i)) : size - i;
        uint8_t msg[600];
        size_t m = 0;
        if (n && data[i] == '!') { /* an event of our lobby */
            m = (size_t)snprintf((char *)msg, sizeof msg, "E%s\n", lobby);
            i++, n--;
        }
        n = PM_MIN(n, sizeof msg - m);
        memcpy(msg + m, data + i, n);
        pm_sigsrv_cluster_message(s, now, msg, m + n);
        while (pm_sigsrv_poll_output(s, &o))
            if (o.kind != PM_SIGSRV_OUT_REDIS && o.tid != 1)
                abort();
        i += n + 1;
    }
    pm_sigsrv_gone(s, now, c);
    pm_sigsrv_free(s);
}

/*
 * The frame reader, the input cut in pieces of a size its first byte picks:
 * payload pieces lie inside the input, no message outgrows the limit,
 * control payloads stay within 125 bytes, and after a close or an error
 * nothing more comes out.
 */
static void fuzz_frames(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    size_t piece = (size_t)data[0] % 16 + 1;
    uint8_t *copy = malloc(size);
    if (!copy)
        return;
    memcpy(copy, data, size);
    enum { MAX = 300 };
    pm_wsr r;
    pm_wsr_init(&r, MAX);
    size_t message = 0;
    bool stopped = false;
    for (size_t at = 1; at < size;) {
        size_t end = PM_MIN(size, at + piece);
        while (at < end) {
            pm_wsr_event ev;
            size_t k = pm_wsr_read(&r, copy + at, end - at, &ev);
            if (k > end - at || (k == 0 && ev.kind == PM_WSR_NONE))
                abort(); /* no progress, or past the input */
            if (stopped && ev.kind != PM_WSR_NONE)
                abort();
            if (ev.kind == PM_WSR_DATA) {
                if (ev.len && (ev.data < copy + at || ev.data + ev.len > copy + at + k))
                    abort();
                message += ev.len;
                if (message > MAX)
                    abort();
                if (ev.end)
                    message = 0;
            } else if (ev.kind == PM_WSR_PING || ev.kind == PM_WSR_PONG) {
                if (ev.len > PM_WS_CONTROL_MAX)
                    abort();
            } else if (ev.kind == PM_WSR_CLOSE || ev.kind == PM_WSR_ERROR) {
                if (ev.kind == PM_WSR_CLOSE && ev.code && !pm_ws_close_code_valid(ev.code))
                    abort();
                stopped = true;
            }
            at += k;
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t seed;
    seed = 1;
    pm_env e;
    memset(&e, 0, sizeof e);
    e.random = fixed_random;
    e.random_ud = &seed;
    e.log_level = PM_LOG_ERROR;
    e.log_level_set = true;
    pm_envr env;
    pm_env_resolve(&env, &e);
    fuzz_codecs(&env, data, size);
    fuzz_core(&env, data, size);
    fuzz_frames(data, size);
    fuzz_cluster(&env, data, size);
    return 0;
}
