/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure decision of daemon/network-policy.c: may a job start, must it stop, does a failure
 * count, for every source, Metered and Connectivity value and cost policy. */
#include <glib.h>

#include "network-policy.h"
#include "test-cases.h"

static NetworkView nm(NetworkMetered m, NetworkConnectivity c) {
        return (NetworkView) { .source = NETWORK_SOURCE_NETWORKMANAGER, .metered = m, .connectivity = c };
}

static void test_strings(void) {
        g_assert_cmpstr(cost_policy_to_string(COST_POLICY_ALWAYS), ==, "always");
        g_assert_cmpstr(cost_policy_to_string(COST_POLICY_UNMETERED), ==, "unmetered");
        g_assert_cmpint(cost_policy_from_string("always"), ==, COST_POLICY_ALWAYS);
        g_assert_cmpint(cost_policy_from_string("unmetered"), ==, COST_POLICY_UNMETERED);
        g_assert_cmpint(cost_policy_from_string("Always"), ==, _COST_POLICY_INVALID);
        g_assert_cmpint(cost_policy_from_string(""), ==, _COST_POLICY_INVALID);
        g_assert_cmpint(cost_policy_from_string(NULL), ==, _COST_POLICY_INVALID);
        g_assert_null(cost_policy_to_string(_COST_POLICY_MAX));

        g_assert_cmpstr(network_metered_to_string(NETWORK_METERED_GUESS_YES), ==, "guess-yes");
        g_assert_cmpstr(network_connectivity_to_string(NETWORK_CONNECTIVITY_PORTAL), ==, "portal");
        g_assert_cmpstr(network_source_to_string(NETWORK_SOURCE_ABSENT), ==, "absent");
        g_assert_cmpstr(network_source_to_string(NETWORK_SOURCE_NETWORKMANAGER), ==, "networkmanager");
        for (int i = 0; i < _NETWORK_METERED_MAX; i++)
                g_assert_nonnull(network_metered_to_string(i));
        for (int i = 0; i < _NETWORK_CONNECTIVITY_MAX; i++)
                g_assert_nonnull(network_connectivity_to_string(i));
        for (int i = 0; i < _NETWORK_SOURCE_MAX; i++)
                g_assert_nonnull(network_source_to_string(i));
}

/* NetworkManager's numbers, as its D-Bus API documents them; unknown ones are UNKNOWN. */
static const struct {
        uint32_t number;
        NetworkMetered metered;
} metered_numbers[] = {
        { 0, NETWORK_METERED_UNKNOWN },
        { 1, NETWORK_METERED_YES },
        { 2, NETWORK_METERED_NO },
        { 3, NETWORK_METERED_GUESS_YES },
        { 4, NETWORK_METERED_GUESS_NO },
        { 5, NETWORK_METERED_UNKNOWN },
        { UINT32_MAX, NETWORK_METERED_UNKNOWN },
};
static const struct {
        uint32_t number;
        NetworkConnectivity connectivity;
} connectivity_numbers[] = {
        { 0, NETWORK_CONNECTIVITY_UNKNOWN },
        { 1, NETWORK_CONNECTIVITY_NONE },
        { 2, NETWORK_CONNECTIVITY_PORTAL },
        { 3, NETWORK_CONNECTIVITY_LIMITED },
        { 4, NETWORK_CONNECTIVITY_FULL },
        { 5, NETWORK_CONNECTIVITY_UNKNOWN },
};

static void test_numbers(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(metered_numbers); i++)
                g_assert_cmpint(network_metered_from_uint(metered_numbers[i].number), ==, metered_numbers[i].metered);
        for (size_t i = 0; i < G_N_ELEMENTS(connectivity_numbers); i++)
                g_assert_cmpint(network_connectivity_from_uint(connectivity_numbers[i].number), ==,
                                connectivity_numbers[i].connectivity);
}

static void test_metered(void) {
        /* GUESS_YES is YES; everything else is unmetered. */
        static const struct {
                NetworkMetered m;
                bool metered;
        } rows[] = {
                { NETWORK_METERED_YES, true },
                { NETWORK_METERED_GUESS_YES, true },
                { NETWORK_METERED_NO, false },
                { NETWORK_METERED_GUESS_NO, false },
                { NETWORK_METERED_UNKNOWN, false },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
                NetworkView v = nm(rows[i].m, NETWORK_CONNECTIVITY_FULL);

                g_assert_cmpint(network_view_is_metered(&v), ==, rows[i].metered);
                g_assert_cmpint(network_may_start(&v, COST_POLICY_UNMETERED), ==,
                                rows[i].metered ? NETWORK_VERDICT_WAIT_METERED : NETWORK_VERDICT_GO);
                g_assert_cmpint(network_may_start(&v, COST_POLICY_ALWAYS), ==, NETWORK_VERDICT_GO);
                g_assert_cmpint(network_must_stop(&v, COST_POLICY_UNMETERED), ==, rows[i].metered);
                g_assert_false(network_must_stop(&v, COST_POLICY_ALWAYS));
                /* A metered network fails nothing: failures count there as anywhere. */
                g_assert_true(network_failure_counts(&v));
        }
}

static void test_connectivity(void) {
        static const struct {
                NetworkConnectivity c;
                NetworkVerdict verdict;
        } rows[] = {
                { NETWORK_CONNECTIVITY_UNKNOWN, NETWORK_VERDICT_GO },
                { NETWORK_CONNECTIVITY_NONE, NETWORK_VERDICT_WAIT_OFFLINE },
                { NETWORK_CONNECTIVITY_PORTAL, NETWORK_VERDICT_WAIT_PORTAL },
                { NETWORK_CONNECTIVITY_LIMITED, NETWORK_VERDICT_WAIT_OFFLINE },
                { NETWORK_CONNECTIVITY_FULL, NETWORK_VERDICT_GO },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
                NetworkView v = nm(NETWORK_METERED_NO, rows[i].c);
                bool go = rows[i].verdict == NETWORK_VERDICT_GO;

                /* Every policy alike: connectivity holds back every job. */
                g_assert_cmpint(network_may_start(&v, COST_POLICY_ALWAYS), ==, rows[i].verdict);
                g_assert_cmpint(network_may_start(&v, COST_POLICY_UNMETERED), ==, rows[i].verdict);
                g_assert_cmpint(network_view_is_unusable(&v), ==, !go);
                g_assert_cmpint(network_failure_counts(&v), ==, go);
                /* A transfer that still runs is left to end by itself. */
                g_assert_false(network_must_stop(&v, COST_POLICY_ALWAYS));
                g_assert_false(network_must_stop(&v, COST_POLICY_UNMETERED));
        }

        /* Behind a portal on a metered network, the portal is the reason to show. */
        NetworkView both = nm(NETWORK_METERED_YES, NETWORK_CONNECTIVITY_PORTAL);
        g_assert_cmpint(network_may_start(&both, COST_POLICY_UNMETERED), ==, NETWORK_VERDICT_WAIT_PORTAL);
}

/* Without NetworkManager: unmetered, connectivity unknown, as before xferd asked. Before any
 * answer: nothing starts, nothing stops, failures count. */
static void test_sources(void) {
        NetworkView absent = { .source = NETWORK_SOURCE_ABSENT, .metered = NETWORK_METERED_YES,
                               .connectivity = NETWORK_CONNECTIVITY_NONE };
        NetworkView asking = { .source = NETWORK_SOURCE_ASKING, .metered = NETWORK_METERED_YES,
                               .connectivity = NETWORK_CONNECTIVITY_NONE };
        NetworkView idle = { .source = NETWORK_SOURCE_NOT_WATCHING };

        /* Stale values left in an absent view mean nothing. */
        g_assert_false(network_view_is_metered(&absent));
        g_assert_false(network_view_is_unusable(&absent));
        g_assert_cmpint(network_may_start(&absent, COST_POLICY_UNMETERED), ==, NETWORK_VERDICT_GO);
        g_assert_false(network_must_stop(&absent, COST_POLICY_UNMETERED));
        g_assert_true(network_failure_counts(&absent));

        g_assert_cmpint(network_may_start(&asking, COST_POLICY_ALWAYS), ==, NETWORK_VERDICT_WAIT_ANSWER);
        g_assert_cmpint(network_may_start(&asking, COST_POLICY_UNMETERED), ==, NETWORK_VERDICT_WAIT_ANSWER);
        g_assert_false(network_must_stop(&asking, COST_POLICY_UNMETERED));
        g_assert_true(network_failure_counts(&asking));
        g_assert_cmpint(network_may_start(&idle, COST_POLICY_ALWAYS), ==, NETWORK_VERDICT_WAIT_ANSWER);
}

/* A failure that does not count must never lead to an attempt at once: that would be a loop. */
static void test_no_loop(void) {
        for (int s = 0; s < _NETWORK_SOURCE_MAX; s++)
                for (int m = 0; m < _NETWORK_METERED_MAX; m++)
                        for (int c = 0; c < _NETWORK_CONNECTIVITY_MAX; c++) {
                                NetworkView v = { .source = s, .metered = m, .connectivity = c };

                                if (network_failure_counts(&v))
                                        continue;
                                g_assert_cmpint(network_may_start(&v, COST_POLICY_ALWAYS), !=, NETWORK_VERDICT_GO);
                                g_assert_cmpint(network_may_start(&v, COST_POLICY_UNMETERED), !=, NETWORK_VERDICT_GO);
                        }
}

/* A job that must stop would not be allowed to start again at once either. */
static void test_stop_means_wait(void) {
        for (int s = 0; s < _NETWORK_SOURCE_MAX; s++)
                for (int m = 0; m < _NETWORK_METERED_MAX; m++)
                        for (int c = 0; c < _NETWORK_CONNECTIVITY_MAX; c++)
                                for (int p = 0; p < _COST_POLICY_MAX; p++) {
                                        NetworkView v = { .source = s, .metered = m, .connectivity = c };

                                        if (network_must_stop(&v, p))
                                                g_assert_cmpint(network_may_start(&v, p), !=, NETWORK_VERDICT_GO);
                                }
}

static void test_became_usable(void) {
        NetworkView portal = nm(NETWORK_METERED_NO, NETWORK_CONNECTIVITY_PORTAL);
        NetworkView none = nm(NETWORK_METERED_NO, NETWORK_CONNECTIVITY_NONE);
        NetworkView full = nm(NETWORK_METERED_NO, NETWORK_CONNECTIVITY_FULL);
        NetworkView full_metered = nm(NETWORK_METERED_YES, NETWORK_CONNECTIVITY_FULL);
        NetworkView unknown = nm(NETWORK_METERED_NO, NETWORK_CONNECTIVITY_UNKNOWN);
        NetworkView absent = { .source = NETWORK_SOURCE_ABSENT };
        NetworkView asking = { .source = NETWORK_SOURCE_ASKING };

        g_assert_true(network_became_usable(&portal, &full));
        g_assert_true(network_became_usable(&none, &full_metered));
        g_assert_true(network_became_usable(&none, &unknown));
        /* NetworkManager gone: back to the rule without it, which holds nothing back. */
        g_assert_true(network_became_usable(&portal, &absent));
        g_assert_false(network_became_usable(&portal, &none));
        g_assert_false(network_became_usable(&full, &full));
        g_assert_false(network_became_usable(&absent, &full));
        /* No answer yet is not good news. */
        g_assert_false(network_became_usable(&portal, &asking));
}

static void test_defaults(void) {
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_FOREGROUND, COST_POLICY_UNMETERED), ==, COST_POLICY_ALWAYS);
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_HIGH, COST_POLICY_UNMETERED), ==, COST_POLICY_UNMETERED);
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_NORMAL, COST_POLICY_UNMETERED), ==, COST_POLICY_UNMETERED);
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_LOW, COST_POLICY_ALWAYS), ==, COST_POLICY_ALWAYS);
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_FOREGROUND, COST_POLICY_ALWAYS), ==, COST_POLICY_ALWAYS);
        g_assert_cmpint(cost_policy_default(JOB_PRIORITY_NORMAL, _COST_POLICY_INVALID), ==, COST_POLICY_UNMETERED);
}

const TestCase test_cases[] = {
        { "/network-policy/strings", test_strings },
        { "/network-policy/numbers", test_numbers },
        { "/network-policy/metered", test_metered },
        { "/network-policy/connectivity", test_connectivity },
        { "/network-policy/sources", test_sources },
        { "/network-policy/no-loop", test_no_loop },
        { "/network-policy/stop-means-wait", test_stop_means_wait },
        { "/network-policy/became-usable", test_became_usable },
        { "/network-policy/defaults", test_defaults },
        { NULL, NULL }
};
