/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cost and connectivity as pure logic: what xferd believes about the network (a NetworkView,
 * filled from NetworkManager by network-cost.c) and a job's CostPolicy go in; whether the job
 * may start an attempt, must stop the one it runs, and whether a failed attempt counts come
 * out. No I/O, no bus, no clock; tests/test-network-policy.c checks every combination. */

#include <stdbool.h>
#include <stdint.h>

#include "job.h"

typedef enum CostPolicy {
        COST_POLICY_ALWAYS,             /* transfer on any network */
        COST_POLICY_UNMETERED,          /* wait while the network is metered */
        _COST_POLICY_MAX,
        _COST_POLICY_INVALID = -1,
} CostPolicy;

/* NetworkManager's NMMetered values. */
typedef enum NetworkMetered {
        NETWORK_METERED_UNKNOWN = 0,
        NETWORK_METERED_YES = 1,
        NETWORK_METERED_NO = 2,
        NETWORK_METERED_GUESS_YES = 3,
        NETWORK_METERED_GUESS_NO = 4,
        _NETWORK_METERED_MAX,
} NetworkMetered;

/* NetworkManager's NMConnectivityState values. */
typedef enum NetworkConnectivity {
        NETWORK_CONNECTIVITY_UNKNOWN = 0,
        NETWORK_CONNECTIVITY_NONE = 1,
        NETWORK_CONNECTIVITY_PORTAL = 2,
        NETWORK_CONNECTIVITY_LIMITED = 3,
        NETWORK_CONNECTIVITY_FULL = 4,
        _NETWORK_CONNECTIVITY_MAX,
} NetworkConnectivity;

/* Where the view comes from. */
typedef enum NetworkSource {
        NETWORK_SOURCE_NOT_WATCHING,    /* no job needs to know: nothing is asked */
        NETWORK_SOURCE_ASKING,          /* the question is on its way; no answer yet */
        NETWORK_SOURCE_ABSENT,          /* no NetworkManager (or no system bus): unmetered, connectivity unknown */
        NETWORK_SOURCE_NETWORKMANAGER,  /* NetworkManager's Metered and Connectivity */
        _NETWORK_SOURCE_MAX,
} NetworkSource;

typedef struct NetworkView {
        NetworkSource source;
        NetworkMetered metered;                 /* meaningful with NETWORK_SOURCE_NETWORKMANAGER */
        NetworkConnectivity connectivity;       /* likewise */
} NetworkView;

/* The answer to "may this job start an attempt now?". */
typedef enum NetworkVerdict {
        NETWORK_VERDICT_GO,
        NETWORK_VERDICT_WAIT_ANSWER,    /* nothing known yet: a round trip, not a reason to show */
        NETWORK_VERDICT_WAIT_METERED,   /* WaitReason metered-network */
        NETWORK_VERDICT_WAIT_PORTAL,    /* WaitReason captive-portal */
        NETWORK_VERDICT_WAIT_OFFLINE,   /* WaitReason no-network (connectivity none or limited) */
        _NETWORK_VERDICT_MAX,
} NetworkVerdict;

/* Values from the bus become these; anything outside NetworkManager's ranges counts as unknown. */
NetworkMetered network_metered_from_uint(uint32_t v);
NetworkConnectivity network_connectivity_from_uint(uint32_t v);

/* GUESS_YES counts as YES. Only NetworkManager can say a network is metered. */
bool network_view_is_metered(const NetworkView *v);
/* Connectivity none, portal or limited, as NetworkManager says: no attempt can succeed. */
bool network_view_is_unusable(const NetworkView *v);

NetworkVerdict network_may_start(const NetworkView *v, CostPolicy p);
/* A running transfer must stop (keeping its data) at once. Connectivity alone never stops
 * one: a transfer that still moves bytes is worth keeping, and a failing one ends itself. */
bool network_must_stop(const NetworkView *v, CostPolicy p);
/* Whether a failed attempt counts (ErrorCount, the retry delay): not while NetworkManager says
 * there is no usable connectivity. Whenever it does not count, network_may_start() is not GO
 * for any policy, so the job waits instead of trying again at once. */
bool network_failure_counts(const NetworkView *v);
/* The view went from one where no attempt could succeed to one where it may: jobs that wait
 * out a retry delay because the network failed them try again now. */
bool network_became_usable(const NetworkView *before, const NetworkView *after);

/* A job's policy when its creator does not choose: foreground jobs are someone waiting at a
 * screen and transfer on any network; background jobs take the configured default. */
CostPolicy cost_policy_default(JobPriority priority, CostPolicy background_default);

const char *cost_policy_to_string(CostPolicy p);
CostPolicy cost_policy_from_string(const char *s);
/* "unknown", "yes", "no", "guess-yes", "guess-no". */
const char *network_metered_to_string(NetworkMetered m);
/* "unknown", "none", "portal", "limited", "full". */
const char *network_connectivity_to_string(NetworkConnectivity c);
/* "not-watching", "asking", "absent", "networkmanager". */
const char *network_source_to_string(NetworkSource s);
