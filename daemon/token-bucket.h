/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A bandwidth limit as a token bucket in bytes, pure: the caller passes the time and pauses
 * its transfer while the bucket is in debt (transfer.c). At most a quarter second of the rate
 * is saved up, so a pause does not turn into a spike. */

#include <stddef.h>
#include <stdint.h>

typedef struct TokenBucket {
        uint64_t rate;          /* bytes/s, 0 = unlimited */
        double tokens;          /* negative: a debt to pay before the next chunk */
        uint64_t refilled_usec; /* µs, monotonic */
} TokenBucket;

/* A full bucket (a quarter second) for `rate` at `now`. */
void token_bucket_init(TokenBucket *b, uint64_t rate, uint64_t now);
/* 0 when a chunk may go now, else how long (µs) to wait until the debt is paid. */
uint64_t token_bucket_wait_usec(TokenBucket *b, uint64_t now);
/* A chunk of n bytes went. */
void token_bucket_consume(TokenBucket *b, size_t n);
/* A new rate from `now` on; what was saved up stays, within the new quarter second. */
void token_bucket_set_rate(TokenBucket *b, uint64_t rate, uint64_t now);
