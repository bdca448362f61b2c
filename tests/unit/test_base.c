/* Unit tests: src/base (addresses, buffers, FIFO, errors). */
#include "testutil.h"

static void addr_parse_format(void **st)
{
    (void)st;
    pm_addr a;
    char buf[PM_ADDR_STRLEN];
    assert_int_equal(pm_addr_parse(&a, "127.0.0.1", 5000), PM_OK);
    assert_int_equal(a.family, 4);
    assert_string_equal(pm_addr_format(&a, buf, sizeof buf), "127.0.0.1:5000");
    assert_true(pm_addr_is_loopback(&a));
    assert_int_equal(pm_addr_parse(&a, "::1", 9), PM_OK);
    assert_string_equal(pm_addr_format(&a, buf, sizeof buf), "[::1]:9");
    assert_true(pm_addr_is_loopback(&a));
    assert_false(pm_addr_is_loopback(NULL)); /* a getter: neutral for NULL (common.h) */
    assert_int_equal(pm_addr_parse(&a, "2001:db8::1:0:0:1", 1), PM_OK);
    assert_string_equal(pm_addr_format_ip(&a, buf, sizeof buf), "2001:db8::1:0:0:1");
    assert_int_equal(pm_addr_parse(&a, "fe80::1%3", 1), PM_OK);
    assert_int_equal(a.scope_id, 3);
    assert_int_equal(pm_addr_parse(&a, "[::ffff:1.2.3.4]", 1), PM_OK);
    assert_int_equal(a.ip[12], 1);
    assert_int_equal(pm_addr_parse(&a, "1:2:3:4:5:6:7:8", 1), PM_OK);
    assert_string_equal(pm_addr_format_ip(&a, buf, sizeof buf), "1:2:3:4:5:6:7:8");
    assert_int_equal(pm_addr_parse(&a, "1::", 1), PM_OK);
    assert_string_equal(pm_addr_format_ip(&a, buf, sizeof buf), "1::");
    const char *bad[] = {"",
                         "1.2.3",
                         "1.2.3.256",
                         "1.2.3.4.5",
                         "::1::",
                         "1:2:3:4:5:6:7:8:9",
                         "host.example",
                         "12345::",
                         "1.2.3.4 ",
                         ":1",
                         "1:"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++)
        assert_int_equal(pm_addr_parse(&a, bad[i], 1), PM_ERR_PARSE);
}

static void fifo_model(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 7);
    pm_fifo f;
    pm_fifo_init(&f, 0);
    uint64_t rng = 42;
    /* Model: a queue of (tag, len) with payload byte = tag + i. */
    enum { N = 20000 };
    static uint32_t model_tag[N], model_len[N];
    size_t mh = 0, mt = 0;
    uint8_t tmp[5000];
    for (int step = 0; step < N; step++) {
        bool push = (pm_test_rand(&rng) % 3) != 0 || mh == mt;
        if (push && mt < N) {
            uint32_t len = (uint32_t)(pm_test_rand(&rng) % 3000);
            uint32_t tag = (uint32_t)step;
            for (uint32_t i = 0; i < len; i++)
                tmp[i] = (uint8_t)(tag + i);
            assert_int_equal(
                pm_fifo_push(&env, &f, tag, tmp, len / 2, tmp + len / 2, len - len / 2), PM_OK);
            model_tag[mt] = tag;
            model_len[mt++] = len;
        } else if (mh < mt) {
            uint32_t tag;
            const uint8_t *d;
            size_t len;
            assert_true(pm_fifo_peek(&f, &tag, &d, &len));
            assert_int_equal(tag, model_tag[mh]);
            assert_int_equal(len, model_len[mh]);
            for (size_t i = 0; i < len; i++)
                assert_int_equal(d[i], (uint8_t)(tag + i));
            pm_fifo_pop(&f);
            /* A popped record stays readable until the next push. */
            for (size_t i = 0; i < len; i++)
                assert_int_equal(d[i], (uint8_t)(tag + i));
            mh++;
        }
        assert_int_equal(f.count, mt - mh);
        if (step % 97 == 0) {
            /* Walking without popping visits every record in order. */
            pm_fifo_iter it;
            pm_fifo_iter_init(&f, &it);
            uint32_t tag;
            const uint8_t *d;
            size_t len, k = mh;
            while (pm_fifo_iter_next(&f, &it, &tag, &d, &len)) {
                assert_true(k < mt);
                assert_int_equal(tag, model_tag[k]);
                assert_int_equal(len, model_len[k]);
                if (len)
                    assert_int_equal(d[len - 1], (uint8_t)(tag + len - 1));
                k++;
            }
            assert_int_equal(k, mt);
        }
    }
    pm_fifo_free(&env, &f);
}

static void fifo_limit(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 7);
    pm_fifo f;
    pm_fifo_init(&f, 100);
    uint8_t b[60] = {0};
    assert_int_equal(pm_fifo_push(&env, &f, 1, b, 60, NULL, 0), PM_OK);
    assert_int_equal(pm_fifo_push(&env, &f, 2, b, 60, NULL, 0), PM_ERR_FULL);
    assert_int_equal(f.payload, 60);
    pm_fifo_free(&env, &f);
}

static void strerror_all(void **st)
{
    (void)st;
    for (int e = 0; e >= PM_ERR_PROTOCOL; e--)
        assert_string_not_equal(pm_strerror(e), "unknown error");
    assert_string_equal(pm_strerror(-999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addr_parse_format),
        cmocka_unit_test(fifo_model),
        cmocka_unit_test(fifo_limit),
        cmocka_unit_test(strerror_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
