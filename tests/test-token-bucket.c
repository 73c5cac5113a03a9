/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bandwidth token bucket (daemon/token-bucket.c) with a clock the test moves. */
#include <glib.h>

#include "test-cases.h"
#include "token-bucket.h"

#define MS 1000ULL
#define SEC 1000000ULL

static void test_unlimited(void) {
        TokenBucket b;

        token_bucket_init(&b, 0, 5 * SEC);
        for (int i = 0; i < 10; i++) {
                token_bucket_consume(&b, 1 << 20);
                g_assert_cmpuint(token_bucket_wait_usec(&b, 5 * SEC), ==, 0);
        }
}

static void test_debt(void) {
        TokenBucket b;

        /* 1000 bytes/s: a quarter second (250 bytes) saved up at the start. */
        token_bucket_init(&b, 1000, 10 * SEC);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 10 * SEC), ==, 0);
        token_bucket_consume(&b, 250);
        /* Exactly empty is a debt of nothing: wait the extra millisecond only. */
        g_assert_cmpuint(token_bucket_wait_usec(&b, 10 * SEC), ==, 1 * MS);
        token_bucket_consume(&b, 500);
        /* 500 bytes of debt at 1000 bytes/s: half a second, plus the millisecond. */
        g_assert_cmpuint(token_bucket_wait_usec(&b, 10 * SEC), ==, 501 * MS);
        /* A quarter second later, half of it is paid. */
        g_assert_cmpuint(token_bucket_wait_usec(&b, 10 * SEC + 250 * MS), ==, 251 * MS);
        /* Paid off. */
        g_assert_cmpuint(token_bucket_wait_usec(&b, 10 * SEC + 501 * MS), ==, 0);
}

static void test_burst_cap(void) {
        TokenBucket b;

        token_bucket_init(&b, 4000, 0);
        token_bucket_consume(&b, 1000);
        /* An hour idle saves up no more than a quarter second: 1000 bytes. */
        g_assert_cmpuint(token_bucket_wait_usec(&b, 3600 * SEC), ==, 0);
        token_bucket_consume(&b, 1000);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 3600 * SEC), ==, 1 * MS);
        /* A clock that does not move on adds nothing. */
        token_bucket_consume(&b, 400);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 3600 * SEC - SEC), ==, 101 * MS);
}

static void test_set_rate(void) {
        TokenBucket b;

        token_bucket_init(&b, 1000, 0);
        token_bucket_consume(&b, 1250);
        /* 1000 bytes of debt; the same debt at twice the rate takes half as long. */
        token_bucket_set_rate(&b, 2000, 0);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 0), ==, 501 * MS);
        /* Lifting the limit forgives the debt. */
        token_bucket_set_rate(&b, 0, 0);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 0), ==, 0);
        /* A lower rate cuts what was saved up to its own quarter second. */
        token_bucket_init(&b, 8000, 0);
        token_bucket_set_rate(&b, 400, 0);
        token_bucket_consume(&b, 100);
        g_assert_cmpuint(token_bucket_wait_usec(&b, 0), ==, 1 * MS);
}

const TestCase test_cases[] = {
        { "/token-bucket/unlimited", test_unlimited },
        { "/token-bucket/debt", test_debt },
        { "/token-bucket/burst-cap", test_burst_cap },
        { "/token-bucket/set-rate", test_set_rate },
        { NULL, NULL }
};
