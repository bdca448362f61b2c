/* Error strings. */
#include "base.h"

const char *pm_strerror(int err)
{
    switch (err) {
    case PM_OK:
        return "ok";
    case PM_ERR_INVALID:
        return "invalid argument or input";
    case PM_ERR_NOMEM:
        return "out of memory";
    case PM_ERR_AGAIN:
        return "would block, try again later";
    case PM_ERR_STATE:
        return "not allowed in the current state";
    case PM_ERR_PARSE:
        return "parse error";
    case PM_ERR_TOO_BIG:
        return "too big";
    case PM_ERR_NOT_FOUND:
        return "not found";
    case PM_ERR_IO:
        return "I/O error";
    case PM_ERR_CRYPTO:
        return "crypto or TLS error";
    case PM_ERR_CLOSED:
        return "closed";
    case PM_ERR_UNSUPPORTED:
        return "unsupported";
    case PM_ERR_TIMEOUT:
        return "timed out";
    case PM_ERR_EXISTS:
        return "already exists";
    case PM_ERR_REENTRANT:
        return "called from inside its own callback";
    case PM_ERR_AUTH:
        return "authentication failed";
    case PM_ERR_FULL:
        return "queue or table full";
    case PM_ERR_REFUSED:
        return "connection refused";
    case PM_ERR_UNREACHABLE:
        return "host or network unreachable";
    case PM_ERR_PROTOCOL:
        return "protocol error (unexpected answer)";
    default:
        return "unknown error";
    }
}
