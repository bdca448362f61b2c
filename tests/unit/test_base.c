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

/* The borrowed head: a lent record stays valid and unchanged while pushes
 * grow and wrap the ring, until the next lend or pop (ASan checks the reads). */
static void fifo_lend(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 8);
    pm_fifo f;
    pm_fifo_init(&f, 0);
    uint64_t rng = 7;
    enum { N = 6000 };
    static uint32_t model_len[N];
    uint32_t head = 0, tail = 0; /* model: records head..tail-1, tag = index */
    static uint8_t tmp[9000];
    const uint8_t *lent = NULL;
    size_t lent_len = 0;
    uint32_t lent_tag = 0;
    for (int step = 0; step < 4 * N; step++) {
        unsigned op = (unsigned)(pm_test_rand(&rng) % 8);
        if (op < 5 && tail < N) {
            /* Mostly small records, now and then a big one that grows the ring. */
            uint32_t len = (uint32_t)(pm_test_rand(&rng) % (op == 0 ? 9000 : 300));
            for (uint32_t i = 0; i < len; i++)
                tmp[i] = (uint8_t)(tail * 7 + i);
            assert_int_equal(pm_fifo_push(&env, &f, tail, tmp, len, NULL, 0), PM_OK);
            model_len[tail++] = len;
        } else if (op < 7) {
            if (lent)
                head++; /* lending again ends the previous loan */
            uint32_t tag;
            bool got = pm_fifo_lend(&env, &f, &tag, &lent, &lent_len);
            assert_int_equal(got, head < tail);
            lent = got ? lent : NULL;
            if (got) {
                assert_int_equal(tag, head);
                assert_int_equal(lent_len, model_len[head]);
                lent_tag = tag;
            }
        } else if (head < tail) {
            pm_fifo_pop(&f);
            head++;
            lent = NULL;
        }
        if (lent) {
            assert_true(f.lent);
            assert_int_equal(f.lent_len, lent_len);
            for (size_t i = 0; i < lent_len; i++)
                assert_int_equal(lent[i], (uint8_t)(lent_tag * 7 + i));
        } else {
            assert_false(f.lent);
        }
        assert_int_equal(f.count, tail - head);
    }
    pm_fifo_free(&env, &f);
    assert_null(f.pinned);
}

/* Two loans in a row, each outliving a growth of the ring: the second
 * record is lent from the ring the first growth made, so the second growth
 * must keep that one (it freed it, under a loan, while it kept the first
 * loan's ring that nobody used any more). */
static void fifo_lend_across_two_growths(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 10);
    pm_fifo f;
    pm_fifo_init(&f, 0);
    static uint8_t rec[4000];
    for (uint32_t i = 0; i < 2; i++) {
        memset(rec, 'a' + (int)i, 100);
        assert_int_equal(pm_fifo_push(&env, &f, i, rec, 100, NULL, 0), PM_OK);
    }
    uint32_t tag;
    const uint8_t *d;
    size_t n;
    for (uint32_t loan = 0; loan < 2; loan++) {
        assert_true(pm_fifo_lend(&env, &f, &tag, &d, &n));
        assert_int_equal(tag, loan);
        uint8_t *before = f.data;
        for (uint32_t k = 2; f.data == before; k++) /* push until the ring grows */
            assert_int_equal(pm_fifo_push(&env, &f, k, rec, sizeof rec, NULL, 0), PM_OK);
        assert_int_equal(n, 100);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(d[i], 'a' + (int)loan);
    }
    pm_fifo_free(&env, &f);
    assert_null(f.pinned);
}

static void queue_model(void **st)
{
    (void)st;
    pm_envr env;
    pm_test_envr(&env, 9);
    typedef struct item {
        uint64_t a;
        uint32_t b;
    } item;
    pm_queue q;
    pm_queue_init(&q, sizeof(item));
    assert_null(pm_queue_front(&q));
    uint64_t rng = 11, head = 0, tail = 0;
    for (int step = 0; step < 20000; step++) {
        /* Phases of growth and of draining, so the ring wraps at every size. */
        bool push = (pm_test_rand(&rng) % 100) < (uint64_t)((step / 2000) % 2 ? 40 : 60);
        if (push) {
            item it = {tail * 3, (uint32_t)tail};
            assert_int_equal(pm_queue_push(&env, &q, &it), PM_OK);
            tail++;
        } else if (head < tail) {
            const item *it = pm_queue_front(&q);
            assert_non_null(it);
            assert_true(it->a == head * 3 && it->b == (uint32_t)head);
            pm_queue_pop(&q);
            head++;
        } else {
            assert_null(pm_queue_front(&q));
        }
        assert_int_equal(q.count, tail - head);
    }
    pm_queue_free(&env, &q);
    assert_int_equal(q.count, 0);
    assert_int_equal(q.item_size, sizeof(item));
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
        cmocka_unit_test(addr_parse_format), cmocka_unit_test(fifo_model),
        cmocka_unit_test(fifo_lend),         cmocka_unit_test(fifo_lend_across_two_growths),
        cmocka_unit_test(fifo_limit),        cmocka_unit_test(queue_model),
        cmocka_unit_test(strerror_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
