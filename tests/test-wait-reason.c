/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WaitReason decision of daemon/wait-reason.c: one row per reason, and what wins when
 * several facts hold. */
#include <glib.h>

#include "test-cases.h"
#include "wait-reason.h"

/* The facts, and the token WaitReason shows for them. */
typedef struct {
        WaitFacts facts;
        const char *reason;
} WaitRow;

static void
check_rows (const WaitRow *rows, gsize n)
{
        for (gsize i = 0; i < n; i++) {
                g_test_message ("row %" G_GSIZE_FORMAT ": state %d, network %d", i, rows[i].facts.state,
                                rows[i].facts.network);
                g_assert_cmpstr (wait_reason_to_string (wait_reason_decide (&rows[i].facts)), ==, rows[i].reason);
        }
}

static const WaitRow each_reason[] = {
        { { .state = JOB_TRANSFERRING }, "" },
        { { .state = JOB_CONNECTING, .slots_full = TRUE, .higher_priority_first = TRUE }, "" },
        { { .state = JOB_SUSPENDED }, "suspended" },
        { { .state = JOB_TRANSIENT_ERROR }, "retry-delay" },
        { { .state = JOB_TRANSIENT_ERROR, .network_down = TRUE }, "no-network" },
        { { .state = JOB_QUEUED, .slots_full = TRUE }, "max-transfers" },
        { { .state = JOB_QUEUED, .higher_priority_first = TRUE }, "higher-priority" },
        { { .state = JOB_QUEUED }, "" },
        { { .state = JOB_TRANSFERRING, .throttled = TRUE }, "bandwidth-limit" },
};

static void
test_each_reason (void)
{
        check_rows (each_reason, G_N_ELEMENTS (each_reason));
}

/* What NetworkManager says holds a queued job back before the scheduler's reasons; a job
 * waiting for NetworkManager's first answer (a round trip) shows no reason. */
static const WaitRow network_rows[] = {
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_METERED }, "metered-network" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_PORTAL }, "captive-portal" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_OFFLINE }, "no-network" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_METERED, .slots_full = TRUE,
            .higher_priority_first = TRUE }, "metered-network" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_PORTAL, .slots_full = TRUE,
            .higher_priority_first = TRUE }, "captive-portal" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_ANSWER }, "" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_WAIT_ANSWER, .slots_full = TRUE }, "max-transfers" },
        { { .state = JOB_QUEUED, .network = NETWORK_VERDICT_GO, .higher_priority_first = TRUE }, "higher-priority" },
        /* Only a queued job waits for the network. */
        { { .state = JOB_SUSPENDED, .network = NETWORK_VERDICT_WAIT_METERED }, "suspended" },
        { { .state = JOB_TRANSFERRING, .network = NETWORK_VERDICT_WAIT_METERED }, "" },
};

static void
test_network (void)
{
        check_rows (network_rows, G_N_ELEMENTS (network_rows));
}

/* Every fact at once where the state alone decides. */
#define ALL_FACTS .network_down = TRUE, .throttled = TRUE, .slots_full = TRUE, .higher_priority_first = TRUE

static const WaitRow precedence[] = {
        /* Slots full and a better job ahead: the better job is the reason. */
        { { .state = JOB_QUEUED, .slots_full = TRUE, .higher_priority_first = TRUE }, "higher-priority" },
        /* States that say it all have no reason, whatever the facts. */
        { { .state = JOB_TRANSFERRED, ALL_FACTS }, "" },
        { { .state = JOB_ERROR, ALL_FACTS }, "" },
        { { .state = JOB_CANCELLED, ALL_FACTS }, "" },
        /* Suspended wins over anything the scheduler thinks. */
        { { .state = JOB_SUSPENDED, ALL_FACTS }, "suspended" },
};

static void
test_precedence (void)
{
        check_rows (precedence, G_N_ELEMENTS (precedence));
}

const TestCase test_cases[] = {
        { "/wait-reason/each", test_each_reason },
        { "/wait-reason/precedence", test_precedence },
        { "/wait-reason/network", test_network },
        { NULL, NULL }
};
