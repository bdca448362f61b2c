/*
 * The part of pm_sctp_new both implementations share: a configuration with
 * every unset (zero) field taken from pm_sctp_config_default, which each
 * implementation defines with its own buffer sizes.
 */
#include "sctp/config.h"

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
