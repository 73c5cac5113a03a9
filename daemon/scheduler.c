/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler: runs its choices (scheduler-policy.c) on the queue and carries them out: fair
 * shares between users first, then priorities. The candidates are kept in order as jobs
 * change (scheduler-queue.c), so a pass costs the jobs it starts or stops, not the queue. */
#include "log.h"
#include "manager-internal.h"
#include "network-policy.h"
#include "scheduler-policy.h"
#include "scheduler-queue.h"
#include "util.h"

/* Start attempts of one pass: a few times the usual slots, far below a large queue. */
#define SCHEDULER_PASS_STARTS 32U

void scheduler_wake(Manager *m) {
        assert(m);

        (void) sd_event_source_set_enabled(m->schedule_source, SD_EVENT_ONESHOT);
}

/* The network's verdict depends on a job's CostPolicy alone: one class per policy, and one for
 * a job without a valid one. */
static unsigned cost_class(CostPolicy p) {
        return p >= 0 && p < _COST_POLICY_MAX ? (unsigned) p : (unsigned) _COST_POLICY_MAX;
}

static SchedulerItem item_of(const Job *j) {
        SchedulerItem now = j->sched;

        now.priority = j->priority;
        now.cost_class = cost_class(j->cost_policy);
        now.waiting = j->state == JOB_QUEUED;
        now.active = job_state_is_active(j->state);
        now.run_started = j->run_started;
        return now;
}

int scheduler_job_added(Job *j) {
        Manager *m;
        int r;

        assert(j);

        m = j->manager;
        scheduler_item_init(&j->sched, j->owner, m->schedule_seq++);
        j->sched = item_of(j);
        r = scheduler_queue_add(m->schedule_queue, &j->sched);
        if (r < 0 && j->sched.user) {
                /* In the queue but out of the heaps: the job's next change tries again. */
                log_job_error(j->id, j->owner, NULL, "Cannot queue the job for the scheduler: %s", strerror(-r));
                r = 0;
        }
        if (r >= 0)
                job_wait_mark(j);
        return r;
}

void scheduler_job_removed(Job *j) {
        assert(j);

        scheduler_queue_remove(j->manager->schedule_queue, &j->sched);
        job_wait_unmark(j);
}

void scheduler_job_changed(Job *j) {
        Manager *m;
        SchedulerItem now;
        int r;

        assert(j);

        m = j->manager;
        now = item_of(j);
        /* A running foreground job more or less changes what its owner's queued ones wait for. */
        if (!scheduler_is_background(now.priority) != !scheduler_is_background(j->sched.priority) ||
            (!scheduler_is_background(now.priority) && now.active != j->sched.active))
                m->wait_foreground_changed = true;
        r = scheduler_queue_update(m->schedule_queue, &j->sched, &now);
        if (r < 0)
                log_job_error(j->id, j->owner, NULL, "Cannot queue the job for the scheduler: %s", strerror(-r));
        if (j->sched.user)
                job_wait_mark(j);
}

/* Which classes of CostPolicy the network lets start, told to the queue. */
void scheduler_sync_network(Manager *m) {
        unsigned go = 0;

        assert(m);

        for (unsigned c = 0; c < SCHEDULER_CLASSES; c++) {
                CostPolicy p = c < _COST_POLICY_MAX ? (CostPolicy) c : _COST_POLICY_INVALID;
                /* Without a watcher (it could not be made) xferd behaves as it did before it
                 * asked: as network_wait_verdict(). */
                if (!m->network_cost || network_may_start(network_cost_view(m->network_cost), p) == NETWORK_VERDICT_GO)
                        go |= 1U << c;
        }
        if (!scheduler_queue_class_goes(m->schedule_queue, 0) != !(go & 1U) ||
            !scheduler_queue_class_goes(m->schedule_queue, 1) != !(go & 2U) ||
            !scheduler_queue_class_goes(m->schedule_queue, 2) != !(go & 4U))
                m->wait_walk_all = true;
        scheduler_queue_set_go(m->schedule_queue, go);
}

unsigned scheduler_count_running(Manager *m) {
        assert(m);

        return scheduler_queue_active_background(m->schedule_queue);
}

/* A transfer's first rate, as if one user ran them all: the pass that started it ends with
 * scheduler_apply_rates(), which gives each user its share. */
uint64_t scheduler_job_rate(const Job *j, unsigned n_background) {
        assert(j);

        return scheduler_rate(j->priority, j->bandwidth_limit, j->manager->config.background_bandwidth_limit, 1,
                              n_background);
}

void scheduler_apply_rates(Manager *m) {
        size_t owners;

        assert(m);

        /* Only running jobs have transfers. */
        owners = scheduler_queue_owners(m->schedule_queue);
        for (SchedulerItem *i = scheduler_queue_first_active(m->schedule_queue); i; i = scheduler_queue_next_active(i)) {
                Job *j = scheduler_job_of(i);
                if (j->lanes) {
                        SchedulerEntry e = scheduler_queue_entry(m->schedule_queue, i);
                        download_lanes_set_rate(j, scheduler_rate(j->priority, j->bandwidth_limit,
                                                                  m->config.background_bandwidth_limit, owners,
                                                                  e.owner_slots));
                }
        }
}

void scheduler_done(Manager *m) {
        assert(m);

        m->schedule_entries = mfree(m->schedule_entries);
        m->schedule_jobs = mfree(m->schedule_jobs);
        m->schedule_scratch = mfree(m->schedule_scratch);
        m->n_schedule_entries = m->n_schedule_entries_allocated = m->n_schedule_jobs_allocated = 0;
        m->n_schedule_scratch_allocated = 0;
        m->schedule_queue = scheduler_queue_free(m->schedule_queue);
}

/* Out of memory for the entries: a second later rather than a busy loop of attempts. */
static int scheduler_retry_later(Manager *m, int r) {
        log_error_errno(r, "Cannot schedule background jobs, trying again in a second");
        (void) sd_event_source_set_time_relative(m->slice_timer, USEC_PER_SEC);
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_ONESHOT);
        return 0;
}

/* Whether the job runs now: a start can fail at once (its directory is gone). */
static bool scheduler_start_job(Job *j) {
        int r;

        assert(!j->manager->batch_open);
        j->run_started = event_now(j->manager->event, CLOCK_MONOTONIC);
        r = job_apply_full(j, JOB_EVENT_START, 0, NULL);
        if (r > 0 && (r & JOB_ACTION_START_TRANSFER))
                download_start(j);
        /* Told now rather than in a loop iteration of its own: no batch of calls is open (the
         * callers settle it before they pick a job), so nothing untold is committed later. */
        job_changes_flush(j);
        return job_state_is_active(j->state);
}

static void scheduler_preempt_job(Job *j) {
        log_job_debug(j->id, j->owner, NULL, "Priority %s: gives its slot to a job of higher or equal priority.",
                      job_priority_to_string(j->priority));
        (void) job_apply_full(j, JOB_EVENT_PREEMPT, 0, NULL);
}

/* The running job that yields its slot to `waiting` (scheduler_pick_victim() on the running
 * jobs, the only ones it considers); NULL when none would. */
static int scheduler_find_victim(Manager *m, SchedulerItem *waiting, Job **ret) {
        SchedulerEntry *v, w;
        SchedulerItem **items;
        size_t n, victim;
        int r;

        r = scheduler_queue_active_entries(m->schedule_queue, &v, &items, &n);
        if (r < 0)
                return r;
        w = scheduler_queue_entry(m->schedule_queue, waiting);
        victim = scheduler_pick_victim(v, n, &w);
        *ret = victim == SCHEDULER_NONE ? NULL : scheduler_job_of(items[victim]);
        return 0;
}

/* Only while a queued job waits for a running one of its own priority. */
static void scheduler_arm_slice(Manager *m, SchedulerItem *waiting) {
        uint64_t deadline = UINT64_MAX;

        if (waiting) {
                SchedulerEntry *v, w;
                SchedulerItem **items;
                size_t n;

                if (scheduler_queue_active_entries(m->schedule_queue, &v, &items, &n) >= 0) {
                        w = scheduler_queue_entry(m->schedule_queue, waiting);
                        deadline = scheduler_turn_deadline(v, n, &w, m->config.time_slice_usec);
                }
        }
        if (deadline == UINT64_MAX) {
                (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(m->slice_timer, deadline);
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_ONESHOT);
}

/* XFERD_TEST_PASS_STARTS: tests read how many starts each pass tried. */
static void scheduler_pass_told(Manager *m, unsigned starts, bool more) {
        if (m->log_pass_starts && starts > 0)
                log_info("Scheduler pass: %u start attempts%s.", starts, more ? ", more later" : "");
}

/* A start that fails at once (its directory is gone) frees its slot again: without a bound one
 * pass would try every queued job while calls wait. The rest goes to the next loop iteration,
 * after the bus (of a higher priority) had its turn; the queue keeps the order. */
static bool scheduler_pass_full(unsigned starts) {
        return starts >= SCHEDULER_PASS_STARTS;
}

/* Every pass, also one cut by the bound, leaves the running jobs' shares and the queued jobs'
 * WaitReason as they now are: the jobs it started run with their share from their first
 * transfer's iteration, and the signals sent before the next pass tell what a Get would. Both
 * cost what changed: the rates walk the running jobs only when the pass started or stopped
 * one, the wait reasons walk the queue only when the slots filled or freed or the best
 * priority changed, as at the end of a series. */
static void scheduler_pass_end(Manager *m, unsigned starts, bool more, bool ran_changed, SchedulerItem *waiting) {
        scheduler_pass_told(m, starts, more);
        if (more)
                scheduler_wake(m);
        else
                scheduler_arm_slice(m, waiting);
        if (ran_changed || !more)
                scheduler_apply_rates(m);
        manager_update_wait_reasons(m);
}

int scheduler_on_schedule(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        SchedulerItem *waiting, *last = NULL;
        unsigned starts = 0;
        bool ran_changed = false;
        int r;

        assert(m);

        /* A batch of calls still open is settled first: a failed commit drops its jobs, which
         * no start may have taken up. */
        manager_batch_release(m);
        scheduler_sync_network(m);
        if (m->check_counts)
                scheduler_check_queue(m);

        /* Foreground jobs start at once, up to MaxForegroundTransfersPerUser of one user, oldest
         * first. A job the start left queued (it cannot be) would come back: stop there. */
        while ((waiting = scheduler_queue_next_foreground(m->schedule_queue)) && waiting != last) {
                if (scheduler_pass_full(starts)) {
                        scheduler_pass_end(m, starts, true, ran_changed, NULL);
                        return 0;
                }
                last = waiting;
                ran_changed |= scheduler_start_job(scheduler_job_of(waiting));
                starts++;
        }

        /* Background jobs while slots are free, the user holding the fewest first; a job takes
         * the slot of one that yields to it (a user holding more slots, or a lower priority),
         * whose partial data stays and continues later with Range. */
        last = NULL;
        while ((waiting = scheduler_queue_next_background(m->schedule_queue)) && waiting != last) {
                Job *victim;

                if (m->check_counts)
                        scheduler_check_queue(m);
                if (scheduler_pass_full(starts)) {
                        scheduler_pass_end(m, starts, true, ran_changed, NULL);
                        return 0;
                }
                last = waiting;
                starts++;
                if (scheduler_queue_active_background(m->schedule_queue) < m->config.max_background_transfers) {
                        ran_changed |= scheduler_start_job(scheduler_job_of(waiting));
                        continue;
                }
                r = scheduler_find_victim(m, waiting, &victim);
                if (r < 0)
                        return scheduler_retry_later(m, r);
                if (!victim)
                        break;
                scheduler_preempt_job(victim);
                (void) scheduler_start_job(scheduler_job_of(waiting));
                ran_changed = true;
        }

        scheduler_pass_end(m, starts, false, ran_changed, waiting);
        return 0;
}

/* Jobs of one priority take turns: the one that ran longest yields to the one that waited. */
int scheduler_on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        SchedulerItem *waiting, **items;
        SchedulerEntry *v, w;
        size_t n, victim;
        int r;

        assert(m);

        /* As a pass does: a failed commit of a batch still open drops its jobs, which the turn
         * must not have picked. */
        manager_batch_release(m);
        scheduler_sync_network(m);
        waiting = scheduler_queue_next_background(m->schedule_queue);
        if (!waiting)
                return 0;
        r = scheduler_queue_active_entries(m->schedule_queue, &v, &items, &n);
        if (r < 0)
                return scheduler_retry_later(m, r);
        w = scheduler_queue_entry(m->schedule_queue, waiting);
        victim = scheduler_pick_turn_over(v, n, &w, event_now(m->event, CLOCK_MONOTONIC), m->config.time_slice_usec);
        if (victim != SCHEDULER_NONE) {
                scheduler_preempt_job(scheduler_job_of(items[victim]));
                (void) scheduler_start_job(scheduler_job_of(waiting));
        }
        scheduler_wake(m);
        return 0;
}

int manager_set_max_background_transfers(Manager *m, uint32_t n) {
        assert(m);

        if (n == 0)
                return -EINVAL;
        m->config.max_background_transfers = n;
        scheduler_wake(m);
        return 0;
}

int manager_set_background_bandwidth_limit(Manager *m, uint64_t bps) {
        assert(m);

        m->config.background_bandwidth_limit = bps;
        scheduler_apply_rates(m);
        return 0;
}
