/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When a job that failed transiently tries again. Pure: no clock, no job, no I/O.
 *
 * A foreground job has someone waiting on it: it backs off from a short first delay
 * (5 s), doubling with each failure in a row, up to its MinimumRetryDelay, and a server's
 * Retry-After counts as given, also when it is shorter. A background job keeps the
 * contract's rule: MinimumRetryDelay or Retry-After, whichever is later. */

#include <stdbool.h>
#include <stdint.h>

typedef struct RetryPolicy {
        uint64_t foreground_base_usec;  /* the first foreground delay (xferd --foreground-retry-base) */
} RetryPolicy;

#define RETRY_POLICY_DEFAULT_BASE_USEC (5ULL * 1000000ULL)

/* The delay before the next attempt. failures counts the failed attempts in a row, the one
 * just made included (1 after the first failure); minimum_retry_delay is the job's, in
 * seconds; retry_after_usec the server's Retry-After, 0 when it sent none. */
uint64_t retry_policy_delay_usec(const RetryPolicy *p, bool foreground, uint32_t failures,
                                 uint32_t minimum_retry_delay, uint64_t retry_after_usec);
