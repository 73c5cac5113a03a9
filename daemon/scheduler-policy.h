/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The scheduler's choices as pure functions: which queued job runs next, which running job
 * yields its slot, whose turn is over, and the rate a job may use. No I/O, no clock, no
 * manager: they read plain entries the caller fills (scheduler.c) and tests check every rule
 * (tests/test-scheduler-policy.c). Each choice is one walk over the entries. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"

/* What the scheduler needs to know of a job. */
typedef struct SchedulerEntry {
        JobPriority priority;
        bool queued;            /* waiting for a transfer slot */
        bool active;            /* holds one: connecting or transferring */
        uint64_t run_started;   /* µs, monotonic: when it last got a slot; 0 when never */
} SchedulerEntry;

/* Returned when no entry fits. */
#define SCHEDULER_NONE SIZE_MAX

/* Background jobs share MaxBackgroundTransfers slots and BackgroundBandwidthLimit; foreground
 * jobs start at once and are never held back by either. */
bool scheduler_is_background(JobPriority p);
size_t scheduler_count_active_background(const SchedulerEntry *v, size_t n);

/* The next background job to run: highest priority first, then the one that waited longest
 * for a turn (never run before counts as longest), then the first in the array (the oldest). */
size_t scheduler_pick_queued(const SchedulerEntry *v, size_t n);

/* The running background job that yields first: lowest priority, then the longest running,
 * then the first in the array. */
size_t scheduler_pick_victim(const SchedulerEntry *v, size_t n);

/* Whether `victim` gives its slot to `waiting`: only to a job of strictly higher priority
 * (equal priorities take turns instead, see below). */
bool scheduler_preempts(const SchedulerEntry *waiting, const SchedulerEntry *victim);

/* Turns among background jobs of one priority: the running job of `priority` whose turn of
 * `slice` µs is over at `now`, the longest running first; SCHEDULER_NONE when none is. */
size_t scheduler_pick_turn_over(const SchedulerEntry *v, size_t n, JobPriority priority, uint64_t now,
                                uint64_t slice);

/* When the next turn of `priority` ends: the earliest start among its running background jobs
 * plus `slice`; UINT64_MAX when none runs. */
uint64_t scheduler_turn_deadline(const SchedulerEntry *v, size_t n, JobPriority priority, uint64_t slice);

/* The rate (bytes/s, 0 = unlimited) a job's transfer may use: its own limit, and for a
 * background job an even share of the global background limit among `n_background` running
 * background jobs (at least 1 byte/s). */
uint64_t scheduler_rate(JobPriority priority, uint64_t job_limit, uint64_t global_limit, unsigned n_background);
