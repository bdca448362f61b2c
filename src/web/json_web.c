/*
 * The WebAssembly build's src/wire/signal_json_jansson.c: the same two
 * functions on the browser's JSON.parse (js/json.js) instead of jansson, so
 * the signaling codec needs no C JSON library in a page. What they accept
 * and refuse follows the jansson version; the differences are the engines':
 * JSON.parse takes lone surrogate escapes ("\ud800", which jansson refuses;
 * they come out as U+FFFD) and reads integers beyond 2^53 as the nearest
 * double.
 */
#include "web/web.h"
#include "wire/signal_msg.h"

int pm_sigmsg_decode_json_slow(const pm_envr *env, const uint8_t *in, size_t len, pm_buf *scratch,
                               pm_sigmsg *out)
{
    if (!out || !scratch)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    scratch->len = 0;
    pm_web_note n;
    if (!in || !pm_js_json_sigmsg(in, len, &n))
        return PM_ERR_PARSE;
    size_t dlen = (size_t)n.len1, ilen = (size_t)n.len2;
    /* [data] NUL [ice] NUL */
    if (pm_buf_reserve(env, scratch, dlen + ilen + 2) != PM_OK) {
        pm_js_note_payload(NULL, NULL);
        return PM_ERR_NOMEM;
    }
    uint8_t *d = scratch->data;
    pm_js_note_payload(dlen ? d : NULL, ilen ? d + dlen + 1 : NULL);
    d[dlen] = 0;
    d[dlen + 1 + ilen] = 0;
    scratch->len = dlen + 1 + ilen;
    out->type = n.value;
    out->id = (int64_t)(uint32_t)n.info[0] | ((int64_t)n.info[1] << 32);
    out->data = (const char *)d;
    out->data_len = dlen;
    if (ilen) {
        out->ice = (const char *)d + dlen + 1;
        out->ice_len = ilen;
    }
    return PM_OK;
}

/* The flat list of js/json.js: per server "S", then "u<url>\0"..., "n<user>\0", "c<cred>\0". */
static int unflatten(pm_sig_ice_list *out)
{
    const char *p = (const char *)out->store.data, *end = p + out->store.len;
    pm_sig_ice_server *srv = NULL;
    while (p < end) {
        char tag = *p++;
        if (tag == 'S') {
            if (out->count == PM_SIG_MAX_ICE_SERVERS)
                return PM_ERR_PARSE;
            srv = &out->servers[out->count++];
            continue;
        }
        const char *s = p;
        p += strlen(p) + 1; /* the JS side ended every string with its NUL */
        if (!srv || p > end)
            return PM_ERR_PARSE;
        if (tag == 'u' && srv->url_count < PM_SIG_MAX_ICE_URLS)
            srv->urls[srv->url_count++] = s;
        else if (tag == 'n')
            srv->username = s;
        else if (tag == 'c')
            srv->credential = s;
        else
            return PM_ERR_PARSE;
    }
    return PM_OK;
}

int pm_sig_ice_list_parse(const pm_envr *env, const char *json, size_t len, pm_sig_ice_list *out)
{
    if (!out)
        return PM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    pm_web_note n;
    if (!json || !pm_js_json_ice_list(json, len, PM_SIG_MAX_ICE_SERVERS, PM_SIG_MAX_ICE_URLS, &n))
        return PM_ERR_PARSE;
    size_t flat = (size_t)n.len1;
    /* One more byte, so the last string is terminated even if the encoding were cut. */
    if (pm_buf_reserve(env, &out->store, flat + 1) != PM_OK) {
        pm_js_note_payload(NULL, NULL);
        return PM_ERR_NOMEM;
    }
    pm_js_note_payload(flat ? out->store.data : NULL, NULL);
    out->store.data[flat] = 0;
    out->store.len = flat;
    int rc = unflatten(out);
    if (rc != PM_OK)
        pm_sig_ice_list_free(env, out);
    return rc;
}
