/*
 * Hashes the wire layer needs, written here so that STUN and SCTP codecs do
 * not depend on OpenSSL (which only the DTLS adapter may see):
 *  - CRC-32 (ISO-HDLC, reflected 0xEDB88320): STUN FINGERPRINT (RFC 8489 14.7)
 *  - CRC-32C (Castagnoli, reflected 0x82F63B78): SCTP checksum (RFC 9260 App. B);
 *    uses the SSE4.2 crc32 instruction when the CPU has it because SCTP
 *    checksums every packet on the data path.
 *  - SHA-1 (FIPS 180-4) and HMAC-SHA1 (RFC 2104): STUN MESSAGE-INTEGRITY
 *  - MD5 (RFC 1321): TURN long-term credential key (RFC 8489 9.2.2)
 * None of these are used for anything where collision resistance matters.
 */
#include "base.h"

#include <pthread.h>

/* ---- CRC-32 / CRC-32C: slicing-by-8 tables, built once ---- */

static uint32_t crc32_tab[8][256];
static uint32_t crc32c_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc32c_use_hw;

static void crc_build(uint32_t tab[8][256], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
}

static bool crc32c_hw_probe(void);

static void crc_build_all(void)
{
    crc_build(crc32_tab, 0xEDB88320u);
    crc_build(crc32c_tab, 0x82F63B78u);
    crc32c_use_hw = crc32c_hw_probe();
}

/* Objects may live on different threads, so the one-time table build is
 * guarded by pthread_once (part of libc on current glibc). */
static void crc_init(void)
{
    pthread_once(&crc_once, crc_build_all);
}

static uint32_t crc_slice8(uint32_t tab[8][256], uint32_t c, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^
            tab[4][lo >> 24] ^ tab[3][p[4]] ^ tab[2][p[5]] ^ tab[1][p[6]] ^ tab[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
    return c;
}

uint32_t pm_crc32(const uint8_t *p, size_t n)
{
    crc_init();
    return ~crc_slice8(crc32_tab, 0xFFFFFFFFu, p, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PM_HAVE_CRC32C_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* x86 is little-endian, as the reflected CRC wants */
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c64;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

static bool crc32c_hw_probe(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
#else
static bool crc32c_hw_probe(void)
{
    return false;
}
#endif

uint32_t pm_crc32c(const uint8_t *p, size_t n)
{
    crc_init();
#ifdef PM_HAVE_CRC32C_HW
    if (crc32c_use_hw)
        return ~crc32c_hw(0xFFFFFFFFu, p, n);
#endif
    return ~crc_slice8(crc32c_tab, 0xFFFFFFFFu, p, n);
}

uint32_t pm_crc32c_continue(uint32_t crc, const uint8_t *p, size_t n)
{
    crc_init();
#ifdef PM_HAVE_CRC32C_HW
    if (crc32c_use_hw)
        return ~crc32c_hw(~crc, p, n);
#endif
    return ~crc_slice8(crc32c_tab, ~crc, p, n);
}

/* Table-only CRC-32C, so tests can compare it with the hardware path. */
uint32_t pm_crc32c_sw(const uint8_t *p, size_t n);
uint32_t pm_crc32c_sw(const uint8_t *p, size_t n)
{
    crc_init();
    return ~crc_slice8(crc32c_tab, 0xFFFFFFFFu, p, n);
}

/* ---- SHA-1 (FIPS 180-4 section 6.1) ---- */

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t total; /* bytes */
    uint8_t block[64];
    size_t fill;
} sha1_ctx;

static uint32_t rol32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static void sha1_block(uint32_t h[5], const uint8_t *b)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = pm_rd32(b + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(bb, 30);
        bb = a;
        a = t;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void sha1_init(sha1_ctx *s)
{
    static const uint32_t iv[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->fill = 0;
}

static void sha1_update(sha1_ctx *s, const uint8_t *p, size_t n)
{
    s->total += n;
    if (s->fill) {
        size_t take = PM_MIN(n, 64 - s->fill);
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
        if (s->fill < 64)
            return;
        sha1_block(s->h, s->block);
        s->fill = 0;
    }
    while (n >= 64) {
        sha1_block(s->h, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(s->block, p, n);
        s->fill = n;
    }
}

static void sha1_final(sha1_ctx *s, uint8_t out[20])
{
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->fill < 56) ? 56 - s->fill : 120 - s->fill;
    pm_wr64(pad + padlen, bits);
    sha1_update(s, pad, padlen + 8);
    for (int i = 0; i < 5; i++)
        pm_wr32(out + 4 * i, s->h[i]);
}

void pm_sha1(const uint8_t *p, size_t n, uint8_t out[20])
{
    sha1_ctx s;
    sha1_init(&s);
    sha1_update(&s, p, n);
    sha1_final(&s, out);
}

/* ---- HMAC-SHA1 (RFC 2104) ---- */

void pm_hmac_sha1_2(const uint8_t *key, size_t klen, const uint8_t *p1, size_t n1,
                    const uint8_t *p2, size_t n2, uint8_t out[20])
{
    uint8_t k[64] = {0};
    if (klen > 64)
        pm_sha1(key, klen, k); /* RFC 2104 section 2: long keys are hashed first */
    else if (klen)
        memcpy(k, key, klen);
    uint8_t ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    uint8_t inner[20];
    sha1_ctx s;
    sha1_init(&s);
    sha1_update(&s, ipad, 64);
    if (n1)
        sha1_update(&s, p1, n1);
    if (n2)
        sha1_update(&s, p2, n2);
    sha1_final(&s, inner);
    sha1_init(&s);
    sha1_update(&s, opad, 64);
    sha1_update(&s, inner, 20);
    sha1_final(&s, out);
}

void pm_hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *p, size_t n, uint8_t out[20])
{
    pm_hmac_sha1_2(key, klen, p, n, NULL, 0, out);
}

/* ---- MD5 (RFC 1321) ---- */

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void md5_block(uint32_t h[4], const uint8_t *b)
{
    /* Per-round shift amounts and the sine-derived constants of RFC 1321 3.4. */
    static const uint8_t s[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = rd32le(b + 4 * i);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (bb & c) | (~bb & d);
            g = i;
        } else if (i < 32) {
            f = (d & bb) | (~d & c);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = bb ^ c ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = c ^ (bb | ~d);
            g = (7 * i) & 15;
        }
        uint32_t t = d;
        d = c;
        c = bb;
        bb = bb + rol32(a + f + K[i] + m[g], s[i]);
        a = t;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
}

void pm_md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    size_t left = n;
    const uint8_t *q = p;
    while (left >= 64) {
        md5_block(h, q);
        q += 64;
        left -= 64;
    }
    uint8_t tail[128] = {0};
    if (left)
        memcpy(tail, q, left);
    tail[left] = 0x80;
    size_t tlen = (left < 56) ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 8 + (size_t)i] = (uint8_t)(bits >> (8 * i));
    md5_block(h, tail);
    if (tlen == 128)
        md5_block(h, tail + 64);
    for (int i = 0; i < 4; i++) {
        out[4 * i] = (uint8_t)h[i];
        out[4 * i + 1] = (uint8_t)(h[i] >> 8);
        out[4 * i + 2] = (uint8_t)(h[i] >> 16);
        out[4 * i + 3] = (uint8_t)(h[i] >> 24);
    }
}
