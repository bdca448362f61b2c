/* Unit tests: src/base/hash.c against published test vectors. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

uint32_t pm_crc32c_sw(const uint8_t *p, size_t n); /* hash.c: table-only path */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void check_sha1(const void *data, size_t n, const char *want)
{
    uint8_t d[20];
    char h[41];
    pm_sha1(data, n, d);
    hex(d, 20, h);
    assert_string_equal(h, want);
}

static void check_md5(const char *s, const char *want)
{
    uint8_t d[16];
    char h[33];
    pm_md5((const uint8_t *)s, strlen(s), d);
    hex(d, 16, h);
    assert_string_equal(h, want);
}

static void crc_vectors(void **st)
{
    (void)st;
    const uint8_t *s = (const uint8_t *)"123456789";
    assert_int_equal(pm_crc32(s, 9), 0xCBF43926u);
    assert_int_equal(pm_crc32c(s, 9), 0xE3069283u);
    assert_int_equal(pm_crc32c_sw(s, 9), 0xE3069283u);
    assert_int_equal(pm_crc32(s, 0), 0);
    assert_int_equal(pm_crc32c(s, 0), 0);
    /* RFC 3720 B.4: 32 bytes of zeros / 0xff / incrementing. */
    uint8_t b[32];
    memset(b, 0, sizeof b);
    assert_int_equal(pm_crc32c(b, 32), 0x8A9136AAu);
    memset(b, 0xff, sizeof b);
    assert_int_equal(pm_crc32c(b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    assert_int_equal(pm_crc32c(b, 32), 0x46DD794Eu);
    /* Every length and alignment: hardware and table paths agree, and the
     * sliced CRC-32 equals a bitwise reference. */
    uint8_t big[300];
    uint64_t rng = 5;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)pm_test_rand(&rng);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= sizeof big; n += 7) {
            assert_int_equal(pm_crc32c(big + off, n), pm_crc32c_sw(big + off, n));
            uint32_t c = 0xFFFFFFFFu;
            for (size_t i = 0; i < n; i++) {
                c ^= big[off + i];
                for (int k = 0; k < 8; k++)
                    c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
            }
            assert_int_equal(pm_crc32(big + off, n), ~c);
        }
    }
}

static void sha1_vectors(void **st)
{
    (void)st;
    /* FIPS 180-2 appendix A and common vectors. */
    check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha1(m2, strlen(m2), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    static uint8_t million[1000000];
    memset(million, 'a', sizeof million);
    check_sha1(million, sizeof million, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

/* Every length up to a few blocks (all padding cases) against OpenSSL,
 * which the test executable links anyway. */
static void cross_check_openssl(void **st)
{
    (void)st;
    uint8_t buf[400];
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)pm_test_rand(&rng);
    for (size_t n = 0; n <= sizeof buf; n++) {
        uint8_t a[20], b[EVP_MAX_MD_SIZE];
        unsigned bl = 0;
        pm_sha1(buf, n, a);
        assert_int_equal(EVP_Digest(buf, n, b, &bl, EVP_sha1(), NULL), 1);
        assert_memory_equal(a, b, 20);
        pm_md5(buf, n, a);
        assert_int_equal(EVP_Digest(buf, n, b, &bl, EVP_md5(), NULL), 1);
        assert_memory_equal(a, b, 16);
        size_t klen = n % 100;
        pm_hmac_sha1(buf + 7, klen, buf, n, a);
        assert_non_null(HMAC(EVP_sha1(), buf + 7, (int)klen, buf, n, b, &bl));
        assert_memory_equal(a, b, 20);
    }
}

static void hmac_vectors(void **st)
{
    (void)st;
    /* RFC 2202 section 3, test cases 1-7. */
    struct {
        uint8_t key[80];
        size_t klen;
        const char *data;
        size_t dlen;
        const char *want;
    } v[7];
    memset(v, 0, sizeof v);
    memset(v[0].key, 0x0b, 20);
    v[0].klen = 20;
    v[0].data = "Hi There";
    v[0].want = "b617318655057264e28bc0b6fb378c8ef146be00";
    memcpy(v[1].key, "Jefe", 4);
    v[1].klen = 4;
    v[1].data = "what do ya want for nothing?";
    v[1].want = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
    memset(v[2].key, 0xaa, 20);
    v[2].klen = 20;
    static char dd[51], cd[51];
    memset(dd, 0xdd, 50);
    v[2].data = dd;
    v[2].want = "125d7342b9ac11cd91a39af48aa17b4f63f175d3";
    for (int i = 0; i < 25; i++)
        v[3].key[i] = (uint8_t)(i + 1);
    v[3].klen = 25;
    memset(cd, 0xcd, 50);
    v[3].data = cd;
    v[3].want = "4c9007f4026250c6bc8414f9bf50c86c2d7235da";
    memset(v[4].key, 0x0c, 20);
    v[4].klen = 20;
    v[4].data = "Test With Truncation";
    v[4].want = "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04";
    memset(v[5].key, 0xaa, 80);
    v[5].klen = 80;
    v[5].data = "Test Using Larger Than Block-Size Key - Hash Key First";
    v[5].want = "aa4ae5e15272d00e95705637ce8a3b55ed402112";
    memset(v[6].key, 0xaa, 80);
    v[6].klen = 80;
    v[6].data = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
    v[6].want = "e8e99d0f45237d786d6bbaa7965c7808bbff1a91";
    for (int i = 0; i < 7; i++) {
        size_t dlen = strlen(v[i].data);
        uint8_t d[20];
        char h[41];
        pm_hmac_sha1(v[i].key, v[i].klen, (const uint8_t *)v[i].data, dlen, d);
        hex(d, 20, h);
        assert_string_equal(h, v[i].want);
        /* Two-piece form gives the same MAC at every split point. */
        for (size_t split = 0; split <= dlen; split++) {
            uint8_t d2[20];
            pm_hmac_sha1_2(v[i].key, v[i].klen, (const uint8_t *)v[i].data, split,
                           (const uint8_t *)v[i].data + split, dlen - split, d2);
            assert_memory_equal(d, d2, 20);
        }
    }
}

static void md5_vectors(void **st)
{
    (void)st;
    /* RFC 1321 appendix A.5. */
    check_md5("", "d41d8cd98f00b204e9800998ecf8427e");
    check_md5("a", "0cc175b9c0f1b6a831c399e269772661");
    check_md5("abc", "900150983cd24fb0d6963f7d28e17f72");
    check_md5("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    check_md5("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    check_md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
              "d174ab98d277d9f5a5611c2c9f419d9f");
    check_md5("1234567890123456789012345678901234567890123456789012345678901234567890123456789"
              "0",
              "57edf4a22be3c955ac49da2e2107b67a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_vectors),         cmocka_unit_test(sha1_vectors),
        cmocka_unit_test(hmac_vectors),        cmocka_unit_test(md5_vectors),
        cmocka_unit_test(cross_check_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
