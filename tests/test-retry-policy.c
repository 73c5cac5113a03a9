/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The retry delays of daemon/retry-policy.c: foreground backoff, background rule,
 * Retry-After. */
#include <glib.h>

#include "retry-policy.h"
#include "test-cases.h"

#define S (G_GUINT64_CONSTANT (1000000))

static const RetryPolicy policy = { .foreground_base_usec = 5 * S };

static void
test_foreground_backoff (void)
{
        /* 5, 10, 20, 40 … up to MinimumRetryDelay (600 s), then stays there. */
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 1, 600, 0), ==, 5 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 2, 600, 0), ==, 10 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 3, 600, 0), ==, 20 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 7, 600, 0), ==, 320 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 8, 600, 0), ==, 600 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 5000, 600, 0), ==, 600 * S);
        /* A MinimumRetryDelay below the base caps the first delay too. */
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 1, 2, 0), ==, 2 * S);
        /* failures 0 (a retry without a count) is the first delay. */
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 0, 600, 0), ==, 5 * S);
}

static void
test_foreground_retry_after (void)
{
        /* Shorter than the backoff: honoured. Longer: honoured too. */
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 4, 600, 2 * S), ==, 2 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, TRUE, 1, 600, 900 * S), ==, 900 * S);
}

static void
test_background (void)
{
        /* The contract: MinimumRetryDelay or Retry-After, whichever is later; no backoff. */
        g_assert_cmpuint (retry_policy_delay_usec (&policy, FALSE, 1, 600, 0), ==, 600 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, FALSE, 9, 600, 0), ==, 600 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, FALSE, 1, 600, 2 * S), ==, 600 * S);
        g_assert_cmpuint (retry_policy_delay_usec (&policy, FALSE, 1, 60, 90 * S), ==, 90 * S);
}

const TestCase test_cases[] = {
        { "/retry-policy/foreground-backoff", test_foreground_backoff },
        { "/retry-policy/foreground-retry-after", test_foreground_retry_after },
        { "/retry-policy/background", test_background },
        { NULL, NULL }
};
