/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WaitReason decision of daemon/wait-reason.c: one row per reason, and what wins when
 * several facts hold. */
#include <glib.h>

#include "test-cases.h"
#include "wait-reason.h"

static const char *
decide (JobState state, gboolean network_down, gboolean throttled, gboolean slots_full, gboolean higher)
{
        WaitFacts f = {
                .state = state, .network_down = network_down, .throttled = throttled,
                .slots_full = slots_full, .higher_priority_first = higher,
        };

        return wait_reason_to_string (wait_reason_decide (&f));
}

static void
test_each_reason (void)
{
        g_assert_cmpstr (decide (JOB_TRANSFERRING, FALSE, FALSE, FALSE, FALSE), ==, "");
        g_assert_cmpstr (decide (JOB_CONNECTING, FALSE, FALSE, TRUE, TRUE), ==, "");
        g_assert_cmpstr (decide (JOB_SUSPENDED, FALSE, FALSE, FALSE, FALSE), ==, "suspended");
        g_assert_cmpstr (decide (JOB_TRANSIENT_ERROR, FALSE, FALSE, FALSE, FALSE), ==, "retry-delay");
        g_assert_cmpstr (decide (JOB_TRANSIENT_ERROR, TRUE, FALSE, FALSE, FALSE), ==, "no-network");
        g_assert_cmpstr (decide (JOB_QUEUED, FALSE, FALSE, TRUE, FALSE), ==, "max-transfers");
        g_assert_cmpstr (decide (JOB_QUEUED, FALSE, FALSE, FALSE, TRUE), ==, "higher-priority");
        g_assert_cmpstr (decide (JOB_QUEUED, FALSE, FALSE, FALSE, FALSE), ==, "");
        g_assert_cmpstr (decide (JOB_TRANSFERRING, FALSE, TRUE, FALSE, FALSE), ==, "bandwidth-limit");
}

static const char *
decide_network (JobState state, NetworkVerdict network, gboolean slots_full, gboolean higher)
{
        WaitFacts f = { .state = state, .network = network, .slots_full = slots_full,
                        .higher_priority_first = higher };

        return wait_reason_to_string (wait_reason_decide (&f));
}

/* What NetworkManager says holds a queued job back before the scheduler's reasons; a job
 * waiting for NetworkManager's first answer (a round trip) shows no reason. */
static void
test_network (void)
{
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_METERED, FALSE, FALSE), ==,
                         "metered-network");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_PORTAL, FALSE, FALSE), ==, "captive-portal");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_OFFLINE, FALSE, FALSE), ==, "no-network");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_METERED, TRUE, TRUE), ==, "metered-network");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_PORTAL, TRUE, TRUE), ==, "captive-portal");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_ANSWER, FALSE, FALSE), ==, "");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_WAIT_ANSWER, TRUE, FALSE), ==, "max-transfers");
        g_assert_cmpstr (decide_network (JOB_QUEUED, NETWORK_VERDICT_GO, FALSE, TRUE), ==, "higher-priority");
        /* Only a queued job waits for the network. */
        g_assert_cmpstr (decide_network (JOB_SUSPENDED, NETWORK_VERDICT_WAIT_METERED, FALSE, FALSE), ==, "suspended");
        g_assert_cmpstr (decide_network (JOB_TRANSFERRING, NETWORK_VERDICT_WAIT_METERED, FALSE, FALSE), ==, "");
}

static void
test_precedence (void)
{
        /* Slots full and a better job ahead: the better job is the reason. */
        g_assert_cmpstr (decide (JOB_QUEUED, FALSE, FALSE, TRUE, TRUE), ==, "higher-priority");
        /* States that say it all have no reason, whatever the facts. */
        g_assert_cmpstr (decide (JOB_TRANSFERRED, TRUE, TRUE, TRUE, TRUE), ==, "");
        g_assert_cmpstr (decide (JOB_ERROR, TRUE, TRUE, TRUE, TRUE), ==, "");
        g_assert_cmpstr (decide (JOB_CANCELLED, TRUE, TRUE, TRUE, TRUE), ==, "");
        /* Suspended wins over anything the scheduler thinks. */
        g_assert_cmpstr (decide (JOB_SUSPENDED, TRUE, TRUE, TRUE, TRUE), ==, "suspended");
}

static const TestCase test_cases[] = {
        { "/wait-reason/each", test_each_reason },
        { "/wait-reason/precedence", test_precedence },
        { "/wait-reason/network", test_network },
        { NULL, NULL }
};

int
main (int argc, char **argv)
{
        return test_main (argc, argv, test_cases);
}
