/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A token bucket in bytes for a transfer's bandwidth limit: bytes may go while it holds
 * tokens, it may run into debt by one chunk, and it refills at `rate` bytes a second up to a
 * quarter second of burst, so a pause does not turn into a spike. Pure: the caller passes
 * the time (µs, CLOCK_MONOTONIC) and arms its own timer. */

#include <stddef.h>
#include <stdint.h>

typedef struct TokenBucket {
        uint64_t rate;          /* bytes/s, 0 = unlimited */
        double tokens;
        uint64_t refilled_usec;
} TokenBucket;

void token_bucket_init(TokenBucket *b, uint64_t rate, uint64_t now);
/* 0 when bytes may go now, else how long (µs) until the debt is paid. */
uint64_t token_bucket_wait(TokenBucket *b, uint64_t now);
/* n bytes went. */
void token_bucket_take(TokenBucket *b, size_t n);
/* A new rate, keeping what was earned at the old one (up to the new burst). */
void token_bucket_set_rate(TokenBucket *b, uint64_t rate, uint64_t now);
