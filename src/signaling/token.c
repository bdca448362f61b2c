/* Join tokens and TURN REST credentials (token.h). */
#include "signaling/token.h"
#include "peermesh/signaling.h"

#include <stdio.h>

bool pm_sig_secret_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    /* Walk the longer one whole so the time does not leak the matching prefix. */
    size_t n = na > nb ? na : nb;
    unsigned diff = (unsigned)(na ^ nb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < na ? (unsigned char)a[i] : 0;
        unsigned char y = i < nb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

static bool user_valid(const char *u, size_t n)
{
    if (n == 0 || n > PM_SIG_TOKEN_MAX_USER)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static void hmac_hex(const char *secret, const char *msg, size_t n, char out[41])
{
    uint8_t mac[20];
    pm_hmac_sha1((const uint8_t *)secret, strlen(secret), (const uint8_t *)msg, n, mac);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[40] = 0;
}

int pm_signal_token_make(const char *secret, const char *user, int64_t expiry_unix, char *out,
                         size_t cap)
{
    if (!secret || !*secret || !user || !out || expiry_unix < 0 || !user_valid(user, strlen(user)))
        return PM_ERR_INVALID;
    char signed_part[PM_SIG_TOKEN_MAX];
    int n = snprintf(signed_part, sizeof signed_part, "%lld:%s", (long long)expiry_unix, user);
    if (n < 0 || (size_t)n >= sizeof signed_part)
        return PM_ERR_INVALID;
    char mac[41];
    hmac_hex(secret, signed_part, (size_t)n, mac);
    int m = snprintf(out, cap, "%s:%s", signed_part, mac);
    return m >= 0 && (size_t)m < cap ? PM_OK : PM_ERR_TOO_BIG;
}

int pm_sig_token_verify(const char *secret, const char *token, int64_t unix_now)
{
    if (!secret || !*secret || !token)
        return PM_ERR_AUTH;
    size_t len = strlen(token);
    if (len >= PM_SIG_TOKEN_MAX)
        return PM_ERR_AUTH;
    const char *c1 = memchr(token, ':', len);
    if (!c1)
        return PM_ERR_AUTH;
    const char *c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - token));
    if (!c2 || token + len - (c2 + 1) != 40)
        return PM_ERR_AUTH;
    /* Expiry: 1..20 decimal digits. */
    size_t digits = (size_t)(c1 - token);
    if (digits == 0 || digits > 18)
        return PM_ERR_AUTH;
    int64_t expiry = 0;
    for (size_t i = 0; i < digits; i++) {
        if (token[i] < '0' || token[i] > '9')
            return PM_ERR_AUTH;
        expiry = expiry * 10 + (token[i] - '0');
    }
    if (!user_valid(c1 + 1, (size_t)(c2 - c1 - 1)))
        return PM_ERR_AUTH;
    char mac[41];
    hmac_hex(secret, token, (size_t)(c2 - token), mac);
    if (!pm_sig_secret_equal(mac, c2 + 1))
        return PM_ERR_AUTH;
    return expiry > unix_now ? PM_OK : PM_ERR_AUTH;
}

int pm_sig_base64(const uint8_t *in, size_t n, char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (need + 1 > cap)
        return PM_ERR_TOO_BIG;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = 0;
    return (int)o;
}

int pm_sig_turn_credentials(const char *secret, const char *user, int64_t expiry_unix,
                            char *user_out, size_t user_cap, char *pass_out, size_t pass_cap)
{
    if (!secret || !user || !user_out || !pass_out)
        return PM_ERR_INVALID;
    int n = snprintf(user_out, user_cap, "%lld:%s", (long long)expiry_unix, user);
    if (n < 0 || (size_t)n >= user_cap)
        return PM_ERR_TOO_BIG;
    uint8_t mac[20];
    pm_hmac_sha1((const uint8_t *)secret, strlen(secret), (const uint8_t *)user_out, (size_t)n,
                 mac);
    return pm_sig_base64(mac, sizeof mac, pass_out, pass_cap) < 0 ? PM_ERR_TOO_BIG : PM_OK;
}
