/*
 * Join tokens and TURN REST credentials (pure; time is passed in).
 *
 *  - Join token (server option token_secret): "<expiry>:<user>:<hex>" where
 *    hex = lower-case hex of HMAC-SHA1(secret, "<expiry>:<user>") and expiry
 *    is in Unix seconds. A shared secret (auth_secret) is compared as is.
 *  - TURN REST API (draft-uberti-behave-turn-rest-00, coturn's
 *    use-auth-secret): username "<expiry>:<user>", password
 *    base64(HMAC-SHA1(secret, username)).
 */
#ifndef PM_SIG_TOKEN_H
#define PM_SIG_TOKEN_H

#include "base/base.h"

#define PM_SIG_TOKEN_MAX_USER 64
/* "<20 digits>:<64 user>:<40 hex>" and the NUL. */
#define PM_SIG_TOKEN_MAX 128

/** Compare two strings in time that depends only on their lengths. */
bool pm_sig_secret_equal(const char *a, const char *b);

/** PM_OK when `token` is valid for `secret` at unix_now, else PM_ERR_AUTH. */
int pm_sig_token_verify(const char *secret, const char *token, int64_t unix_now);

/**
 * TURN REST credentials for `user` valid until expiry_unix. user_out gets
 * "<expiry>:<user>", pass_out the base64 HMAC. PM_ERR_TOO_BIG when a buffer
 * is short.
 */
int pm_sig_turn_credentials(const char *secret, const char *user, int64_t expiry_unix,
                            char *user_out, size_t user_cap, char *pass_out, size_t pass_cap);

/** Standard base64 with padding (RFC 4648 section 4). Returns the length or PM_ERR_TOO_BIG. */
int pm_sig_base64(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
