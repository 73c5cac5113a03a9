/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What xferd believes about the network and why, in words for a person (`xferctl status`).
 * Pure: the values come from the daemon's properties, nothing is asked here. (What a job's
 * WaitReason means is wait-text.h's.) */

typedef struct NetworkFacts {
        const char *source;             /* Manager.NetworkSource */
        const char *metered;            /* Manager.NetworkMetered */
        const char *connectivity;       /* Manager.NetworkConnectivity */
        const char *default_cost_policy;/* Manager.DefaultCostPolicy; may be NULL */
} NetworkFacts;

/* *ret_summary: a few words ("metered, full connectivity"); *ret_why: a sentence or two on
 * where that comes from and what it does to jobs. Returns 0 or -ENOMEM. */
int network_status_text(const NetworkFacts *f, char **ret_summary, char **ret_why);
