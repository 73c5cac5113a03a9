/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A transfer rate: bytes over the last few seconds of samples. xferd measures a job's Rate
 * with it; xferctl too, for a daemon that does not report Rate. The window holds only samples of the current run of
 * bytes: its owner resets it whenever the job stops transferring (queued, retrying,
 * suspended), and it restarts by itself after a gap in the samples or when the count goes
 * down, so an old sample never drags the rate down after a pause. Pure: times are given. */

#include <stddef.h>
#include <stdint.h>

#define RATE_WINDOW_USEC (5ULL * 1000000ULL)
#define RATE_WINDOW_SAMPLES 64

typedef struct RateSample {
        uint64_t usec;
        uint64_t bytes;
} RateSample;

typedef struct RateWindow {
        RateSample samples[RATE_WINDOW_SAMPLES];
        size_t first, n;
} RateWindow;

void rate_window_reset(RateWindow *w);

/* A reading of the byte count at usec (monotonic). */
void rate_window_add(RateWindow *w, uint64_t usec, uint64_t bytes);

/* The time of the newest sample; 0 when there is none. */
uint64_t rate_window_newest_usec(const RateWindow *w);

/* Bytes per second at now: 0 when nothing moved for a whole window (a stall), negative
 * while there is too little history to say. */
double rate_window_get(RateWindow *w, uint64_t now);
