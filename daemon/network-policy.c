/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stddef.h>

#include "network-policy.h"
#include "util.h"

static const char *const cost_policy_table[_COST_POLICY_MAX] = {
        [COST_POLICY_ALWAYS] = "always",
        [COST_POLICY_UNMETERED] = "unmetered",
};

static const char *const metered_table[_NETWORK_METERED_MAX] = {
        [NETWORK_METERED_UNKNOWN] = "unknown",
        [NETWORK_METERED_YES] = "yes",
        [NETWORK_METERED_NO] = "no",
        [NETWORK_METERED_GUESS_YES] = "guess-yes",
        [NETWORK_METERED_GUESS_NO] = "guess-no",
};

static const char *const connectivity_table[_NETWORK_CONNECTIVITY_MAX] = {
        [NETWORK_CONNECTIVITY_UNKNOWN] = "unknown",
        [NETWORK_CONNECTIVITY_NONE] = "none",
        [NETWORK_CONNECTIVITY_PORTAL] = "portal",
        [NETWORK_CONNECTIVITY_LIMITED] = "limited",
        [NETWORK_CONNECTIVITY_FULL] = "full",
};

static const char *const source_table[_NETWORK_SOURCE_MAX] = {
        [NETWORK_SOURCE_NOT_WATCHING] = "not-watching",
        [NETWORK_SOURCE_ASKING] = "asking",
        [NETWORK_SOURCE_ABSENT] = "absent",
        [NETWORK_SOURCE_NETWORKMANAGER] = "networkmanager",
};

NetworkMetered network_metered_from_uint(uint32_t v) {
        return v < _NETWORK_METERED_MAX ? (NetworkMetered) v : NETWORK_METERED_UNKNOWN;
}

NetworkConnectivity network_connectivity_from_uint(uint32_t v) {
        return v < _NETWORK_CONNECTIVITY_MAX ? (NetworkConnectivity) v : NETWORK_CONNECTIVITY_UNKNOWN;
}

bool network_view_is_metered(const NetworkView *v) {
        assert(v);
        return v->source == NETWORK_SOURCE_NETWORKMANAGER &&
               (v->metered == NETWORK_METERED_YES || v->metered == NETWORK_METERED_GUESS_YES);
}

bool network_view_is_unusable(const NetworkView *v) {
        /* Unknown connectivity (checks disabled, as on most servers, or not run yet) is no
         * reason to hold anything back: that is how xferd behaved before it asked. */
        assert(v);
        return v->source == NETWORK_SOURCE_NETWORKMANAGER &&
               (v->connectivity == NETWORK_CONNECTIVITY_NONE || v->connectivity == NETWORK_CONNECTIVITY_PORTAL ||
                v->connectivity == NETWORK_CONNECTIVITY_LIMITED);
}

NetworkVerdict network_may_start(const NetworkView *v, CostPolicy p) {
        assert(v);
        if (v->source == NETWORK_SOURCE_NOT_WATCHING || v->source == NETWORK_SOURCE_ASKING)
                return NETWORK_VERDICT_WAIT_ANSWER;
        /* Connectivity first: it holds back every job, and a captive portal is something a
         * person can act on at once. */
        if (network_view_is_unusable(v))
                return v->connectivity == NETWORK_CONNECTIVITY_PORTAL ? NETWORK_VERDICT_WAIT_PORTAL
                                                                      : NETWORK_VERDICT_WAIT_OFFLINE;
        if (p == COST_POLICY_UNMETERED && network_view_is_metered(v))
                return NETWORK_VERDICT_WAIT_METERED;
        return NETWORK_VERDICT_GO;
}

bool network_must_stop(const NetworkView *v, CostPolicy p) {
        assert(v);
        return p == COST_POLICY_UNMETERED && network_view_is_metered(v);
}

bool network_failure_counts(const NetworkView *v) {
        assert(v);
        return !network_view_is_unusable(v);
}

bool network_became_usable(const NetworkView *before, const NetworkView *after) {
        assert(before);
        assert(after);
        return network_view_is_unusable(before) &&
               (after->source == NETWORK_SOURCE_ABSENT || after->source == NETWORK_SOURCE_NETWORKMANAGER) &&
               !network_view_is_unusable(after);
}

CostPolicy cost_policy_default(JobPriority priority, CostPolicy background_default) {
        if (priority == JOB_PRIORITY_FOREGROUND)
                return COST_POLICY_ALWAYS;
        return background_default >= 0 && background_default < _COST_POLICY_MAX ? background_default
                                                                                 : COST_POLICY_UNMETERED;
}

const char *cost_policy_to_string(CostPolicy p) {
        return string_table_get(cost_policy_table, _COST_POLICY_MAX, p);
}

CostPolicy cost_policy_from_string(const char *s) {
        return (CostPolicy) string_table_lookup(cost_policy_table, _COST_POLICY_MAX, s);
}

const char *network_metered_to_string(NetworkMetered m) {
        return string_table_get(metered_table, _NETWORK_METERED_MAX, m);
}

const char *network_connectivity_to_string(NetworkConnectivity c) {
        return string_table_get(connectivity_table, _NETWORK_CONNECTIVITY_MAX, c);
}

const char *network_source_to_string(NetworkSource s) {
        return string_table_get(source_table, _NETWORK_SOURCE_MAX, s);
}
