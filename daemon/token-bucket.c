/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "token-bucket.h"
#include "util.h"

static double token_bucket_cap(const TokenBucket *b) {
        return (double) b->rate / 4.0;
}

static void token_bucket_refill(TokenBucket *b, uint64_t now) {
        if (now > b->refilled_usec) {
                b->tokens += (double) b->rate * (double) (now - b->refilled_usec) / (double) USEC_PER_SEC;
                if (b->tokens > token_bucket_cap(b))
                        b->tokens = token_bucket_cap(b);
        }
        b->refilled_usec = now;
}

void token_bucket_init(TokenBucket *b, uint64_t rate, uint64_t now) {
        assert(b);

        *b = (TokenBucket) { .rate = rate, .refilled_usec = now };
        b->tokens = token_bucket_cap(b);
}

uint64_t token_bucket_wait_usec(TokenBucket *b, uint64_t now) {
        assert(b);

        if (b->rate == 0)
                return 0;
        token_bucket_refill(b, now);
        if (b->tokens > 0)
                return 0;
        /* A millisecond more, so that the wake-up finds the debt paid. */
        return (uint64_t) (-b->tokens * (double) USEC_PER_SEC / (double) b->rate) + USEC_PER_MSEC;
}

void token_bucket_consume(TokenBucket *b, size_t n) {
        assert(b);

        if (b->rate > 0)
                b->tokens -= (double) n;
}

void token_bucket_set_rate(TokenBucket *b, uint64_t rate, uint64_t now) {
        assert(b);

        token_bucket_refill(b, now);
        b->rate = rate;
        if (b->rate == 0 || b->tokens > token_bucket_cap(b))
                b->tokens = token_bucket_cap(b);
}
