/* JSON-lines signaling for `peermesh peer` (see peer_signal.h). */
#include "peer_signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pm_cli_lines_init(pm_cli_lines *r)
{
    memset(r, 0, sizeof *r);
}

void pm_cli_lines_free(pm_cli_lines *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Move held bytes to the front so the buffer only grows for real content. */
static void compact(pm_cli_lines *r)
{
    if (r->start == 0)
        return;
    memmove(r->buf, r->buf + r->start, r->len - r->start);
    r->len -= r->start;
    r->start = 0;
}

static int reserve(pm_cli_lines *r, size_t extra)
{
    if (r->len + extra + 1 <= r->cap) /* +1: room for a terminating NUL */
        return PM_OK;
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + extra + 1)
        cap *= 2;
    char *grown = realloc(r->buf, cap);
    if (!grown)
        return PM_ERR_NOMEM;
    r->buf = grown;
    r->cap = cap;
    return PM_OK;
}

int pm_cli_lines_push(pm_cli_lines *r, const char *data, size_t n)
{
    compact(r);
    int rc = reserve(r, n);
    if (rc < 0)
        return rc;
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return PM_OK;
}

/* An unterminated line past the limit is dropped up to its newline. */
static void drop_if_overlong(pm_cli_lines *r)
{
    if (r->len - r->start <= PM_CLI_MAX_LINE)
        return;
    if (!r->skipping)
        r->dropped++;
    r->skipping = true;
    r->start = r->len;
}

bool pm_cli_lines_next(pm_cli_lines *r, const char **line, size_t *len)
{
    for (;;) {
        char *begin = r->buf + r->start;
        char *nl = r->len > r->start ? memchr(begin, '\n', r->len - r->start) : NULL;
        if (!nl) {
            drop_if_overlong(r);
            return false;
        }
        r->start = (size_t)(nl - r->buf) + 1;
        if (r->skipping) { /* the tail of an over-long line */
            r->skipping = false;
            continue;
        }
        size_t n = (size_t)(nl - begin);
        if (n > 0 && begin[n - 1] == '\r')
            n--;
        begin[n] = '\0';
        *line = begin;
        *len = n;
        return true;
    }
}

static const char *string_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key)); /* NULL if absent or not a string */
}

static pm_cli_signal_status apply_description(pm_rtc_peer *pc, const char *type, const json_t *msg,
                                              char *err, size_t cap)
{
    const char *sdp = string_member(msg, "sdp");
    if (!sdp) {
        snprintf(err, cap, "%s without an \"sdp\" string", type);
        return PM_CLI_SIGNAL_FATAL;
    }
    int rc = pm_rtc_peer_set_remote_description(pc, type, sdp);
    if (rc < 0) {
        snprintf(err, cap, "remote %s rejected: %s", type, pm_strerror(rc));
        return PM_CLI_SIGNAL_FATAL;
    }
    return PM_CLI_SIGNAL_APPLIED;
}

/* A missing or null "candidate" is end-of-candidates, like an empty string. */
static pm_cli_signal_status apply_candidate(pm_rtc_peer *pc, const json_t *msg, char *err,
                                            size_t cap)
{
    const json_t *value = json_object_get(msg, "candidate");
    if (value && !json_is_string(value) && !json_is_null(value)) {
        snprintf(err, cap, "candidate message whose \"candidate\" is not a string");
        return PM_CLI_SIGNAL_IGNORED;
    }
    const char *candidate = json_is_string(value) ? json_string_value(value) : "";
    const json_t *index = json_object_get(msg, "sdpMLineIndex");
    int mline = json_is_integer(index) ? (int)json_integer_value(index) : -1;
    int rc = pm_rtc_peer_add_ice_candidate(pc, string_member(msg, "sdpMid"), mline, candidate);
    if (rc < 0) {
        snprintf(err, cap, "remote candidate \"%.200s\" not added: %s", candidate, pm_strerror(rc));
        return PM_CLI_SIGNAL_IGNORED;
    }
    return PM_CLI_SIGNAL_APPLIED;
}

pm_cli_signal_status pm_cli_signal_apply(pm_rtc_peer *pc, const char *line, size_t len, char *err,
                                         size_t cap)
{
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, 0, &jerr);
    if (!msg) {
        snprintf(err, cap, "bad signaling line (%s): %.120s", jerr.text, line);
        return PM_CLI_SIGNAL_IGNORED;
    }
    pm_cli_signal_status status = PM_CLI_SIGNAL_IGNORED;
    const char *type = string_member(msg, "type");
    if (!json_is_object(msg) || !type)
        snprintf(err, cap, "signaling line without a \"type\": %.120s", line);
    else if (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0)
        status = apply_description(pc, type, msg, err, cap);
    else if (strcmp(type, "candidate") == 0)
        status = apply_candidate(pc, msg, err, cap);
    else
        snprintf(err, cap, "unknown signaling message type \"%.40s\"", type);
    json_decref(msg);
    return status;
}

json_t *pm_cli_signal_description(const char *type, const char *sdp)
{
    return json_pack("{s:s, s:s}", "type", type, "sdp", sdp);
}

json_t *pm_cli_signal_candidate(const char *candidate, const char *mid)
{
    return json_pack("{s:s, s:s, s:s}", "type", "candidate", "candidate", candidate, "sdpMid", mid);
}
