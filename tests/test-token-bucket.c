/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bandwidth limit's token bucket (daemon/token-bucket.c). */
#include <glib.h>

#include "token-bucket.h"

#define SEC G_USEC_PER_SEC

static void
test_unlimited (void)
{
        TokenBucket b;

        token_bucket_init (&b, 0, 0);
        token_bucket_take (&b, 1u << 30);
        g_assert_cmpuint (token_bucket_wait (&b, 0), ==, 0);
}

static void
test_rate (void)
{
        TokenBucket b;

        /* 1000 B/s starts with a quarter second of burst: 250 bytes. */
        token_bucket_init (&b, 1000, 10 * SEC);
        g_assert_cmpuint (token_bucket_wait (&b, 10 * SEC), ==, 0);
        token_bucket_take (&b, 250);
        /* 500 bytes in debt: half a second (plus the millisecond of margin). */
        token_bucket_take (&b, 500);
        g_assert_cmpuint (token_bucket_wait (&b, 10 * SEC), ==, SEC / 2 + 1000);
        /* A quarter second later half of it is paid. */
        g_assert_cmpuint (token_bucket_wait (&b, 10 * SEC + SEC / 4), ==, SEC / 4 + 1000);
        g_assert_cmpuint (token_bucket_wait (&b, 10 * SEC + SEC / 2 + 1), ==, 0);
        /* A long pause earns no more than the burst. */
        g_assert_cmpuint (token_bucket_wait (&b, 100 * SEC), ==, 0);
        token_bucket_take (&b, 250);
        g_assert_cmpuint (token_bucket_wait (&b, 100 * SEC), >, 0);
}

static void
test_set_rate (void)
{
        TokenBucket b;

        token_bucket_init (&b, 1000, 0);
        token_bucket_take (&b, 1250);
        g_assert_cmpuint (token_bucket_wait (&b, 0), ==, SEC + 1000);
        /* Twice the rate: the same debt is paid in half the time. */
        token_bucket_set_rate (&b, 2000, 0);
        g_assert_cmpuint (token_bucket_wait (&b, 0), ==, SEC / 2 + 1000);
        /* No limit: nothing waits, and a later limit starts with its burst. */
        token_bucket_set_rate (&b, 0, 0);
        g_assert_cmpuint (token_bucket_wait (&b, 0), ==, 0);
        token_bucket_set_rate (&b, 4000, 0);
        token_bucket_take (&b, 1000);
        g_assert_cmpuint (token_bucket_wait (&b, 0), >, 0);
        /* The same rate again changes nothing. */
        token_bucket_set_rate (&b, 4000, 5 * SEC);
        g_assert_cmpuint (b.refilled_usec, ==, 0);
}

int
main (int argc, char *argv[])
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/token-bucket/unlimited", test_unlimited);
        g_test_add_func ("/token-bucket/rate", test_rate);
        g_test_add_func ("/token-bucket/set-rate", test_set_rate);
        return g_test_run ();
}
