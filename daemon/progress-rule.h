/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What counts as progress: at least PROGRESS_MIN_BYTES within PROGRESS_WINDOW_USEC. A server
 * that sends a few bytes a minute keeps its connection alive but holds a transfer slot for
 * nothing: for the stall rule (an attempt ends) and for NoProgressTimeout (a job ends) that
 * is no progress. Pure: no clock, no I/O. */

#include <stdbool.h>
#include <stdint.h>

#define PROGRESS_MIN_BYTES 1024u
#define PROGRESS_WINDOW_USEC (60ULL * 1000000ULL)

/* Bytes received since a moment, for one job. */
typedef struct ProgressMeter {
        uint64_t window_start;  /* µs */
        uint64_t window_bytes;  /* the received count at window_start */
} ProgressMeter;

/* Starts a window at `now` with `received` bytes counted so far. */
void progress_meter_reset(ProgressMeter *m, uint64_t now, uint64_t received);

/* `received` (never decreasing) bytes at `now`: true when that is progress, PROGRESS_MIN_BYTES
 * or more since the window began (the next window begins here); a window that lasted
 * PROGRESS_WINDOW_USEC without them is over, and the next begins, without progress. */
bool progress_meter_update(ProgressMeter *m, uint64_t now, uint64_t received);

/* The stall rule's speed (bytes/s, curl's low-speed limit): PROGRESS_MIN_BYTES a window,
 * rounded up (18 B/s); lower for a transfer held below that on purpose, half its own limit
 * `max_speed` (0 = none), and at least 1. */
long progress_low_speed_limit(uint64_t max_speed);
