/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The scheduler's choices as pure functions: which queued job runs next, which running job
 * yields its slot, whose turn is over, whether a foreground job may start, and the rate a job
 * may use. No I/O, no clock, no manager: they read plain entries the caller fills
 * (scheduler.c) and tests check every rule (tests/test-scheduler-policy.c).
 *
 * Users first, then priorities: the background slots and the background bandwidth are shared
 * fairly between the users who want them, and a job's priority orders it only against jobs
 * of its own user, or of a user who holds as many slots. So one user's `high` jobs cannot
 * keep another user's `normal` job waiting, and nobody gains a slot from another by choosing
 * a higher priority. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"

/* What the scheduler needs to know of a job. */
typedef struct SchedulerEntry {
        JobPriority priority;
        uid_t owner;
        bool queued;            /* waiting for a transfer slot */
        bool active;            /* holds one: connecting or transferring */
        uint64_t run_started;   /* µs, monotonic: when it last got a slot; 0 when never */
        /* Of the entries of the same owner (scheduler_count_owners()): */
        unsigned owner_slots;           /* active background jobs */
        unsigned owner_foreground;      /* active foreground jobs */
} SchedulerEntry;

/* Returned when no entry fits. */
#define SCHEDULER_NONE SIZE_MAX

/* Background jobs share MaxBackgroundTransfers slots and BackgroundBandwidthLimit; foreground
 * jobs start at once (up to MaxForegroundTransfersPerUser of one user) and are never held
 * back by either. */
bool scheduler_is_background(JobPriority p);
size_t scheduler_count_active_background(const SchedulerEntry *v, size_t n);

/* Fills owner_slots and owner_foreground of every entry; scratch holds n indices (its order
 * is the caller's no more). Returns how many users hold background slots. */
size_t scheduler_count_owners(SchedulerEntry *v, size_t n, size_t *scratch);
/* The same for the entries of one owner, after one of them started or stopped. */
void scheduler_recount_owner(SchedulerEntry *v, size_t n, uid_t owner);

/* Whether a queued foreground job may start: root's always, others' while their owner runs
 * fewer than `cap` foreground transfers (0 = no cap). */
bool scheduler_foreground_may_start(const SchedulerEntry *e, unsigned cap);

/* The next background job to run: of the user holding the fewest slots, then the highest
 * priority, then the one that waited longest for a turn (never run before counts as
 * longest), then the first in the array (the oldest). */
size_t scheduler_pick_queued(const SchedulerEntry *v, size_t n);

/* Whether `victim` gives its slot to `waiting`. Within one user: to a strictly higher
 * priority. Between users: always when the victim's user holds two slots or more than the
 * waiting job's (a fairer split), to a strictly higher priority when it holds one more (the
 * split stays as fair), never otherwise. Equal priorities take turns instead. */
bool scheduler_preempts(const SchedulerEntry *waiting, const SchedulerEntry *victim);

/* The running background job that yields its slot to `waiting`: of those that would
 * (scheduler_preempts()), the one whose user holds the most slots, then the lowest priority,
 * then the longest running, then the first; SCHEDULER_NONE when none would. */
size_t scheduler_pick_victim(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting);

/* Turns among background jobs of the priority of `waiting`: the running job of that priority
 * whose turn of `slice` µs is over at `now` and that may yield to `waiting` without making
 * the split between users less fair (its own user's, or one holding more slots), the longest
 * running first; SCHEDULER_NONE when none is. */
size_t scheduler_pick_turn_over(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting, uint64_t now,
                                uint64_t slice);

/* When the next such turn ends: the earliest start among those jobs plus `slice`;
 * UINT64_MAX when none runs. */
uint64_t scheduler_turn_deadline(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting, uint64_t slice);

/* The rate (bytes/s, 0 = unlimited) a job's transfer may use: its own limit, and for a
 * background job a share of the global background limit: even between the `n_owners` users
 * running background jobs, and that user's share even between its `owner_slots` jobs (at
 * least 1 byte/s). */
uint64_t scheduler_rate(JobPriority priority, uint64_t job_limit, uint64_t global_limit, size_t n_owners,
                        unsigned owner_slots);

/* The rate of one of a job's `n_lanes` files in flight (MaxConcurrentFiles): an even split of
 * the job's rate (0 = unlimited stays so), at least 1 byte/s. */
uint64_t scheduler_lane_rate(uint64_t job_rate, unsigned n_lanes);
