/*
 * The part of the configuration both implementations share: the defaults
 * (each implementation says its window size) and a configuration with
 * every unset (zero) field taken from them.
 */
#include "sctp/config.h"

void pm_sctp_config_default(pm_sctp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    /* RFC 8841 section 5: a=sctp-port defaults to 5000. */
    cfg->local_port = cfg->remote_port = 5000;
    /* What peermesh accepts and advertises (a=max-message-size, RFC 8841 6). */
    cfg->max_message_size = 262144;
    cfg->send_buffer = cfg->recv_buffer = pm_sctp_default_buffer();
    /* RFC 8831 section 6.2 allows 65535; ours cost nothing until used,
     * usrsctp's are allocated at once (WEBRTC-NOTES 4.3), and the rtc
     * layer allocates ids below 1024. */
    cfg->streams = 1024;
}

int pm_sctp_config_resolve(const pm_sctp_config *in, pm_sctp_config *out)
{
    pm_sctp_config d;
    pm_sctp_config_default(&d);
    *out = in ? *in : d;
    if (!out->local_port)
        out->local_port = d.local_port;
    if (!out->remote_port)
        out->remote_port = d.remote_port;
    if (!out->max_message_size)
        out->max_message_size = d.max_message_size;
    if (!out->send_buffer)
        out->send_buffer = d.send_buffer;
    if (!out->recv_buffer)
        out->recv_buffer = d.recv_buffer;
    if (!out->streams)
        out->streams = d.streams;
    /* A whole message must fit either buffer (usrsctp refuses a message
     * larger than SO_SNDBUF with EMSGSIZE; ours would never send it). */
    out->send_buffer = PM_MAX(out->send_buffer, out->max_message_size);
    out->recv_buffer = PM_MAX(out->recv_buffer, out->max_message_size);
    if (out->send_buffer > INT32_MAX || out->recv_buffer > INT32_MAX)
        return PM_ERR_INVALID;
    return PM_OK;
}
