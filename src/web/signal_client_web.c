/*
 * pm_signal_client in a page: the signaling client core (sig_client.c, the
 * same code as natively) on the browser's WebSocket (js/ws.js). The
 * WebSocket's callbacks only queue notes; pm_signal_client_poll() hands
 * them to the core with the time, then carries out what the core has to
 * send. The core makes its peers with pm_rtc_peer_new(), which is
 * RTCPeerConnection here. The rest of the API is src/signaling/client_api.c.
 *
 * What the browser decides instead of the configuration: TLS trust for
 * wss:// (ca_file and allow_self_signed are not used), and an abort (a
 * page cannot drop a WebSocket without a close frame: it closes it and
 * forgets it). pm_signal_client_fd() is PM_ERR_UNSUPPORTED.
 */
#include "signaling/client_shell.h"
#include "web/web.h"

struct pm_signal_client {
    pm_envr env;
    pm_sigcl *core;
    int ws;      /* the WebSocket's handle; 0 once forgotten */
    pm_buf note; /* payload of the note being handed over, NUL-terminated */
};

pm_sigcl *pm_signal_client_core(const pm_signal_client *c)
{
    return c->core;
}

static void forget_ws(pm_signal_client *c)
{
    pm_js_ws_free(c->ws);
    c->ws = 0;
}

void pm_signal_client_flush(pm_signal_client *c)
{
    pm_sigcl_output o;
    while (pm_sigcl_poll_output(c->core, &o)) {
        switch (o.kind) {
        case PM_SIGCL_OUT_SEND: {
            int rc = c->ws ? pm_js_ws_send(c->ws, o.data, o.len) : PM_ERR_STATE;
            if (rc != PM_OK)
                PM_WARN(&c->env, "signal", "cannot send a signaling message: %s", pm_strerror(rc));
            break;
        }
        case PM_SIGCL_OUT_CLOSE:
            if (c->ws)
                pm_js_ws_close(c->ws, o.code, o.data, o.len);
            break;
        case PM_SIGCL_OUT_ABORT:
            /* The core has reported CLOSED already: its close event must not reach it. */
            forget_ws(c);
            break;
        }
    }
}

int pm_signal_client_new(const pm_signal_client_config *cfg, pm_signal_client **out)
{
    if (!cfg || !out)
        return PM_ERR_INVALID;
    *out = NULL;
    pm_envr env;
    pm_env_resolve(&env, cfg->env);
    pm_signal_client *c = pm_calloc(&env, sizeof *c);
    if (!c)
        return PM_ERR_NOMEM;
    c->env = env;
    int rc = pm_signal_client_new_core(&env, cfg, &c->core);
    if (rc == PM_OK) {
        c->ws = pm_js_ws_open(cfg->url);
        if (!c->ws) {
            PM_ERROR(&env, "signal", "the browser refuses the url %s", cfg->url);
            rc = PM_ERR_INVALID;
        }
    }
    if (rc != PM_OK) {
        pm_signal_client_free(c);
        return rc;
    }
    *out = c;
    return PM_OK;
}

void pm_signal_client_free(pm_signal_client *c)
{
    if (!c)
        return;
    forget_ws(c);
    pm_sigcl_free(c->core);
    pm_buf_free(&c->env, &c->note);
    pm_envr env = c->env;
    pm_free(&env, c);
}

/* Hand one WebSocket note to the core. */
static void deliver(pm_signal_client *c, const pm_web_note *n)
{
    size_t len = (size_t)n->len1;
    if (pm_buf_reserve(&c->env, &c->note, len + 1) != PM_OK) {
        pm_js_note_payload(NULL, NULL);
        PM_ERROR(&c->env, "signal", "out of memory: a signaling message was lost");
        return;
    }
    pm_js_note_payload(len ? c->note.data : NULL, NULL);
    c->note.data[len] = 0;
    pm_time now = pm_env_now(&c->env);
    switch ((pm_web_note_kind)n->kind) {
    case PM_WEB_NOTE_WS_OPEN:
        pm_sigcl_open(c->core, now);
        break;
    case PM_WEB_NOTE_WS_MESSAGE:
        pm_sigcl_receive(c->core, now, c->note.data, len, n->value != 0);
        break;
    case PM_WEB_NOTE_WS_CLOSED:
        forget_ws(c);
        pm_sigcl_closed(c->core, now, n->value, (const char *)c->note.data);
        break;
    default:
        break;
    }
    pm_signal_client_flush(c);
}

int pm_signal_client_poll(pm_signal_client *c)
{
    if (!c)
        return PM_ERR_INVALID;
    pm_web_note n;
    while (c->ws && pm_js_ws_next(c->ws, &n))
        deliver(c, &n);
    pm_sigcl_timeout(c->core, pm_env_now(&c->env));
    pm_signal_client_flush(c);
    return pm_signal_client_status(c);
}

pm_time pm_signal_client_next_timeout(const pm_signal_client *c)
{
    if (!c)
        return PM_TIME_NEVER;
    if (c->ws && pm_js_ws_pending(c->ws))
        return pm_env_now(&c->env);
    return pm_sigcl_next_deadline(c->core);
}

int pm_signal_client_fd(const pm_signal_client *c)
{
    return c ? PM_ERR_UNSUPPORTED : PM_ERR_INVALID; /* a page has no descriptors (signaling.h) */
}
