/*
 * peer_signal.h — JSON-lines signaling of the interop peer interface:
 *
 *   {"type":"offer","sdp":"v=0\r\n..."}   {"type":"answer","sdp":"..."}
 *   {"type":"candidate","candidate":"candidate:...","sdpMid":"0"}
 *   {"type":"candidate","candidate":"","sdpMid":"0"}      (end of candidates)
 *
 * Input arrives on a pipe in arbitrary pieces; pm_cli_lines reassembles it.
 */
#ifndef PM_CLI_PEER_SIGNAL_H
#define PM_CLI_PEER_SIGNAL_H

#include "json_out.h" /* json_t */

#include "peermesh/rtc.h"

#include <stdbool.h>
#include <stddef.h>

/* An SDP is a few kilobytes; anything far larger is not signaling. */
#define PM_CLI_MAX_LINE ((size_t)1 << 20)

/* Reassembles newline-terminated lines from a byte stream. */
typedef struct pm_cli_lines {
    char *buf;
    size_t start; /* first byte not yet returned */
    size_t len;   /* bytes held */
    size_t cap;
    bool skipping;  /* dropping the rest of an over-long line */
    size_t dropped; /* over-long lines dropped so far */
} pm_cli_lines;

void pm_cli_lines_init(pm_cli_lines *r);
void pm_cli_lines_free(pm_cli_lines *r);

/** Append received bytes. PM_ERR_NOMEM on allocation failure. */
int pm_cli_lines_push(pm_cli_lines *r, const char *data, size_t n);

/**
 * Take the next complete line, without its "\n" or "\r\n", NUL-terminated
 * and borrowed until the next push. False when no complete line is held.
 */
bool pm_cli_lines_next(pm_cli_lines *r, const char **line, size_t *len);

typedef enum pm_cli_signal_status {
    PM_CLI_SIGNAL_APPLIED,
    PM_CLI_SIGNAL_IGNORED, /* malformed or unusable message: log it and go on */
    PM_CLI_SIGNAL_FATAL,   /* the remote description was rejected: the run fails */
} pm_cli_signal_status;

/**
 * Parse one signaling line and apply it to `pc` (remote description or
 * candidate). Any problem is described in err (cap bytes).
 */
pm_cli_signal_status pm_cli_signal_apply(pm_rtc_peer *pc, const char *line, size_t len, char *err,
                                         size_t cap);

/** {"type":type,"sdp":sdp}; NULL on allocation failure. */
json_t *pm_cli_signal_description(const char *type, const char *sdp);

/** {"type":"candidate","candidate":candidate,"sdpMid":mid}; NULL on allocation failure. */
json_t *pm_cli_signal_candidate(const char *candidate, const char *mid);

#endif
