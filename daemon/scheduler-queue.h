/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The scheduler's candidates kept in order as jobs change, so that a pass takes the next job
 * without walking the queue: per user, the queued jobs in heaps (shared/heap) in the order
 * scheduler_pick_queued() would choose them, and the users in a heap by the slots they hold
 * and their best job; the running jobs in a list, with each user's counts. Pure: no loop, no
 * clock, no manager; the caller (scheduler.c) tells it every change of a job, and
 * tests/test-scheduler-queue.c checks every answer against scheduler-policy.c on the full
 * list of entries.
 *
 * Which queued jobs may start also depends on the network (network-policy.h): the verdict
 * depends only on a job's CostPolicy, so the queued jobs are kept per user and class, and
 * the caller says which classes may go now. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap.h"
#include "list.h"
#include "scheduler-policy.h"

/* A job's CostPolicy (0 and 1) or "none of them" (2). */
#define SCHEDULER_CLASSES 3U

typedef struct SchedulerQueue SchedulerQueue;
typedef struct SchedulerUser SchedulerUser;

/* What the queue knows of one job; embedded in the job, set with scheduler_queue_update(). */
typedef struct SchedulerItem {
        JobPriority priority;
        uid_t owner;
        unsigned cost_class;    /* < SCHEDULER_CLASSES */
        bool waiting;           /* the job is queued (whatever the network says) */
        bool active;            /* it holds a transfer slot */
        uint64_t run_started;   /* µs: when it last got a slot; 0 when never */
        uint64_t seq;           /* its place in the queue: older jobs have smaller numbers */

        /* The queue's own. */
        SchedulerUser *user;    /* NULL while not in the queue */
        HeapNode node;          /* in its user's heap, while waiting */
        ListNode active_node;   /* in the list of running jobs, while active */
} SchedulerItem;

/* `foreground_cap` is MaxForegroundTransfersPerUser (0 = none; root is exempt). */
int scheduler_queue_new(unsigned foreground_cap, SchedulerQueue **ret);
SchedulerQueue *scheduler_queue_free(SchedulerQueue *q);

/* A fresh item: in no queue, never run. */
void scheduler_item_init(SchedulerItem *item, uid_t owner, uint64_t seq);

/* A job enters the queue (with the fields the caller set) or leaves it. -ENOMEM when its user
 * cannot be recorded; then nothing changed. */
int scheduler_queue_add(SchedulerQueue *q, SchedulerItem *item);
void scheduler_queue_remove(SchedulerQueue *q, SchedulerItem *item);

/* The job's fields changed to those of `now` (its owner and seq stay). -ENOMEM when a heap
 * cannot grow: the item then stays out of the heaps until its next update. */
int scheduler_queue_update(SchedulerQueue *q, SchedulerItem *item, const SchedulerItem *now);

/* Which classes the network lets start (bit c for class c). Re-orders the users when it
 * changed. */
void scheduler_queue_set_go(SchedulerQueue *q, unsigned go_mask);
bool scheduler_queue_class_goes(const SchedulerQueue *q, unsigned cost_class);

/* The next queued foreground job that may start now (its owner under the cap), oldest first;
 * NULL when none. */
SchedulerItem *scheduler_queue_next_foreground(const SchedulerQueue *q);
/* The queued background job scheduler_pick_queued() would choose; NULL when none. */
SchedulerItem *scheduler_queue_next_background(const SchedulerQueue *q);

/* The item as scheduler-policy.c sees it: queued only when the network lets it go, with its
 * user's slots and foreground transfers. */
SchedulerEntry scheduler_queue_entry(const SchedulerQueue *q, const SchedulerItem *item);

/* The running jobs' entries in queue order (the order the policy's ties go by), in arrays the
 * queue keeps until the next call; their items in *ret_items. -ENOMEM. */
int scheduler_queue_active_entries(SchedulerQueue *q, SchedulerEntry **ret_entries, SchedulerItem ***ret_items,
                                   size_t *ret_n);

/* The queued foreground jobs of every user, whatever the network says, in an array the queue
 * keeps until the next call. -ENOMEM. */
int scheduler_queue_waiting_foreground(SchedulerQueue *q, SchedulerItem ***ret_items, size_t *ret_n);

/* The first running job, and the one after; any order. */
SchedulerItem *scheduler_queue_first_active(const SchedulerQueue *q);
SchedulerItem *scheduler_queue_next_active(const SchedulerItem *item);

unsigned scheduler_queue_active_background(const SchedulerQueue *q);
/* Users holding background slots. */
size_t scheduler_queue_owners(const SchedulerQueue *q);
/* Jobs in the queue of one user, and the foreground transfers that user runs. */
unsigned scheduler_queue_user_jobs(const SchedulerQueue *q, uid_t owner);
unsigned scheduler_queue_user_foreground(const SchedulerQueue *q, uid_t owner);
/* The best (smallest) priority of the background jobs that run or wait queued with the
 * network's leave; _JOB_PRIORITY_MAX when there is none. */
JobPriority scheduler_queue_best_background_priority(const SchedulerQueue *q);
