/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "retry-policy.h"
#include "util.h"

uint64_t retry_policy_delay_usec(const RetryPolicy *p, bool foreground, uint32_t failures,
                                 uint32_t minimum_retry_delay, uint64_t retry_after_usec) {
        uint64_t cap = (uint64_t) minimum_retry_delay * USEC_PER_SEC, delay;

        assert(p);

        if (!foreground)
                return retry_after_usec > cap ? retry_after_usec : cap;

        /* The server knows best when it will be back. */
        if (retry_after_usec > 0)
                return retry_after_usec;

        delay = p->foreground_base_usec;
        /* Doubling stops at the cap; 63 doublings of a microsecond already pass any u32 of
         * seconds, so the loop is short even for a long run of failures. */
        for (uint32_t i = 1; i < failures && delay < cap; i++)
                delay *= 2;
        return delay < cap ? delay : cap;
}
