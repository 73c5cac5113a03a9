/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Why a job is not transferring, as the token of its WaitReason property (docs/api.md).
 * Pure: the manager gathers the facts, this picks the one reason a person should hear. */

#include <stdbool.h>

#include "job.h"

typedef enum WaitReason {
        WAIT_NONE,              /* "": transferring, connecting, or a state that says it all */
        WAIT_SUSPENDED,         /* "suspended": until someone resumes it */
        WAIT_RETRY_DELAY,       /* "retry-delay": until NextRetryTime */
        WAIT_NO_NETWORK,        /* "no-network": failed for the network, until an address comes */
        WAIT_MAX_TRANSFERS,     /* "max-transfers": every background slot is taken */
        WAIT_HIGHER_PRIORITY,   /* "higher-priority": a job of higher priority goes first */
        WAIT_BANDWIDTH_LIMIT,   /* "bandwidth-limit": the transfer waits for its bandwidth budget */
        _WAIT_REASON_MAX,
} WaitReason;

typedef struct WaitFacts {
        JobState state;
        bool network_down;              /* transient-error for the network, waiting for it */
        bool throttled;                 /* transferring, paused until its bandwidth budget refills */
        bool slots_full;                /* queued: MaxBackgroundTransfers jobs run */
        bool higher_priority_first;     /* queued: a job of higher priority runs or waits ahead */
} WaitFacts;

WaitReason wait_reason_decide(const WaitFacts *f);

const char *wait_reason_to_string(WaitReason r);
