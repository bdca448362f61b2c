/* Shared by both SCTP implementations (internal to src/sctp). */
#ifndef PM_SCTP_CONFIG_H
#define PM_SCTP_CONFIG_H

#include "sctp/sctp.h"

/** `in` (may be NULL) with its zero fields set from pm_sctp_config_default;
 *  PM_ERR_INVALID for a buffer over 2 GiB. */
int pm_sctp_config_resolve(const pm_sctp_config *in, pm_sctp_config *out);

/** Each implementation's send and receive window, for pm_sctp_config_default. */
size_t pm_sctp_default_buffer(void);

#endif
