/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"
#include "wait-reason.h"

static const char *const wait_reason_table[_WAIT_REASON_MAX] = {
        [WAIT_NONE]            = "",
        [WAIT_SUSPENDED]       = "suspended",
        [WAIT_RETRY_DELAY]     = "retry-delay",
        [WAIT_NO_NETWORK]      = "no-network",
        [WAIT_MAX_TRANSFERS]   = "max-transfers",
        [WAIT_HIGHER_PRIORITY] = "higher-priority",
        [WAIT_BANDWIDTH_LIMIT] = "bandwidth-limit",
};

const char *wait_reason_to_string(WaitReason r) {
        assert(r >= 0 && r < _WAIT_REASON_MAX);
        return wait_reason_table[r];
}

WaitReason wait_reason_decide(const WaitFacts *f) {
        assert(f);

        switch (f->state) {
        case JOB_SUSPENDED:
                return WAIT_SUSPENDED;
        case JOB_TRANSIENT_ERROR:
                return f->network_down ? WAIT_NO_NETWORK : WAIT_RETRY_DELAY;
        case JOB_QUEUED:
                /* Priority first: with a free slot it would still wait for the better job. */
                if (f->higher_priority_first)
                        return WAIT_HIGHER_PRIORITY;
                if (f->slots_full)
                        return WAIT_MAX_TRANSFERS;
                return WAIT_NONE;
        case JOB_TRANSFERRING:
                return f->throttled ? WAIT_BANDWIDTH_LIMIT : WAIT_NONE;
        default:
                return WAIT_NONE;
        }
}
