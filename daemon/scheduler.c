/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler: runs its choices (scheduler-policy.c) on the queue and carries them out: fair
 * shares between users first, then priorities. */
#include "log.h"
#include "manager-internal.h"
#include "scheduler-policy.h"
#include "util.h"

void scheduler_wake(Manager *m) {
        assert(m);

        (void) sd_event_source_set_enabled(m->schedule_source, SD_EVENT_ONESHOT);
}

unsigned scheduler_count_running(Manager *m) {
        unsigned n = 0;

        assert(m);

        for (Job *j = job_first(&m->jobs); j; j = job_next(j))
                if (job_state_is_active(j->state) && scheduler_is_background(j->priority))
                        n++;
        return n;
}

/* A transfer's first rate, as if one user ran them all: the pass that started it ends with
 * scheduler_apply_rates(), which gives each user its share. */
uint64_t scheduler_job_rate(const Job *j, unsigned n_background) {
        assert(j);

        return scheduler_rate(j->priority, j->bandwidth_limit, j->manager->config.background_bandwidth_limit, 1,
                              n_background);
}

static int scheduler_fill(Manager *m);

void scheduler_apply_rates(Manager *m) {
        assert(m);

        /* Out of memory: the rates stay as they are until the next pass. */
        if (scheduler_fill(m) < 0)
                return;
        for (size_t i = 0; i < m->n_schedule_entries; i++) {
                Job *j = m->schedule_jobs[i];
                if (j->lanes)
                        download_lanes_set_rate(j, scheduler_rate(j->priority, j->bandwidth_limit,
                                                                  m->config.background_bandwidth_limit,
                                                                  m->schedule_owners,
                                                                  m->schedule_entries[i].owner_slots));
        }
}

void scheduler_done(Manager *m) {
        assert(m);

        m->schedule_entries = mfree(m->schedule_entries);
        m->schedule_jobs = mfree(m->schedule_jobs);
        m->schedule_scratch = mfree(m->schedule_scratch);
        m->n_schedule_entries = m->n_schedule_entries_allocated = m->n_schedule_jobs_allocated = 0;
        m->n_schedule_scratch_allocated = 0;
}

static void scheduler_entry_update(SchedulerEntry *e, const Job *j) {
        *e = (SchedulerEntry) {
                .priority = j->priority,
                .owner = j->owner,
                /* A job the network holds back (network-wait.c) waits for no slot: it neither
                 * runs nor takes a slot from another. */
                .queued = j->state == JOB_QUEUED && network_wait_verdict(j) == NETWORK_VERDICT_GO,
                .active = job_state_is_active(j->state),
                .run_started = j->run_started,
                /* Until scheduler_recount_owner(). */
                .owner_slots = e->owner_slots,
                .owner_foreground = e->owner_foreground,
        };
}

/* One entry per queued job, in queue order, in arrays kept from one pass to the next. Starting
 * or preempting a job never frees one, so the jobs stay valid for the pass. */
static int scheduler_fill(Manager *m) {
        size_t n = 0;
        int r;

        r = array_reserve((void **) &m->schedule_entries, &m->n_schedule_entries_allocated, m->jobs.n,
                          sizeof(SchedulerEntry));
        if (r < 0)
                return r;
        r = array_reserve((void **) &m->schedule_jobs, &m->n_schedule_jobs_allocated, m->jobs.n, sizeof(Job *));
        if (r < 0)
                return r;
        r = array_reserve((void **) &m->schedule_scratch, &m->n_schedule_scratch_allocated, m->jobs.n,
                          sizeof(size_t));
        if (r < 0)
                return r;
        for (Job *j = job_first(&m->jobs); j; j = job_next(j), n++) {
                assert(n < m->jobs.n);
                m->schedule_jobs[n] = j;
                m->schedule_entries[n] = (SchedulerEntry) { .queued = false };
                scheduler_entry_update(&m->schedule_entries[n], j);
        }
        m->n_schedule_entries = n;
        m->schedule_owners = scheduler_count_owners(m->schedule_entries, n, m->schedule_scratch);
        return 0;
}

static uint64_t now_monotonic(Manager *m) {
        uint64_t t;

        if (sd_event_now(m->event, CLOCK_MONOTONIC, &t) < 0)
                t = now_monotonic_usec();
        return t;
}

/* Out of memory for the entries: a second later rather than a busy loop of attempts. */
static int scheduler_retry_later(Manager *m, int r) {
        log_error_errno(r, "Cannot schedule background jobs, trying again in a second");
        (void) sd_event_source_set_time(m->slice_timer, now_monotonic(m) + USEC_PER_SEC);
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_ONESHOT);
        return 0;
}

static void scheduler_start_job(Job *j) {
        int r;

        j->run_started = now_monotonic(j->manager);
        r = job_apply_full(j, JOB_EVENT_START, 0, NULL);
        if (r > 0 && (r & JOB_ACTION_START_TRANSFER))
                download_start(j);
}

static void scheduler_preempt_job(Job *j) {
        log_job_debug(j->id, j->owner, NULL, "Priority %s: gives its slot to a job of higher or equal priority.",
                      job_priority_to_string(j->priority));
        (void) job_apply_full(j, JOB_EVENT_PREEMPT, 0, NULL);
}

/* Starts or preempts entry i's job and brings the entries of its owner up to date. */
static void scheduler_start_entry(Manager *m, size_t i) {
        scheduler_start_job(m->schedule_jobs[i]);
        scheduler_entry_update(&m->schedule_entries[i], m->schedule_jobs[i]);
        scheduler_recount_owner(m->schedule_entries, m->n_schedule_entries, m->schedule_entries[i].owner);
}

static void scheduler_preempt_entry(Manager *m, size_t i) {
        scheduler_preempt_job(m->schedule_jobs[i]);
        scheduler_entry_update(&m->schedule_entries[i], m->schedule_jobs[i]);
        scheduler_recount_owner(m->schedule_entries, m->n_schedule_entries, m->schedule_entries[i].owner);
}

/* Only while a queued job waits for a running one of its own priority. */
static void scheduler_arm_slice(Manager *m, size_t waiting) {
        uint64_t deadline = UINT64_MAX;

        if (waiting != SCHEDULER_NONE)
                deadline = scheduler_turn_deadline(m->schedule_entries, m->n_schedule_entries,
                                                   &m->schedule_entries[waiting], m->config.time_slice_usec);
        if (deadline == UINT64_MAX) {
                (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(m->slice_timer, deadline);
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_ONESHOT);
}

int scheduler_on_schedule(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        size_t waiting;
        int r;

        assert(m);

        r = scheduler_fill(m);
        if (r < 0)
                return scheduler_retry_later(m, r);
        SchedulerEntry *v = m->schedule_entries;
        size_t n = m->n_schedule_entries;

        /* Foreground jobs start at once, up to MaxForegroundTransfersPerUser of one user. */
        for (size_t i = 0; i < n; i++)
                if (v[i].queued && !scheduler_is_background(v[i].priority) &&
                    scheduler_foreground_may_start(&v[i], m->config.max_foreground_transfers_per_user))
                        scheduler_start_entry(m, i);

        /* Background jobs while slots are free, the user holding the fewest first; a job takes
         * the slot of one that yields to it (a user holding more slots, or a lower priority),
         * whose partial data stays and continues later with Range. */
        while ((waiting = scheduler_pick_queued(v, n)) != SCHEDULER_NONE) {
                if (scheduler_count_active_background(v, n) < m->config.max_background_transfers) {
                        scheduler_start_entry(m, waiting);
                        continue;
                }
                size_t victim = scheduler_pick_victim(v, n, &v[waiting]);
                if (victim == SCHEDULER_NONE)
                        break;
                scheduler_preempt_entry(m, victim);
                scheduler_start_entry(m, waiting);
        }

        scheduler_arm_slice(m, waiting);
        scheduler_apply_rates(m);
        manager_update_wait_reasons(m);
        return 0;
}

/* Jobs of one priority take turns: the one that ran longest yields to the one that waited. */
int scheduler_on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        size_t waiting, victim;
        int r;

        assert(m);

        r = scheduler_fill(m);
        if (r < 0)
                return scheduler_retry_later(m, r);

        waiting = scheduler_pick_queued(m->schedule_entries, m->n_schedule_entries);
        if (waiting == SCHEDULER_NONE)
                return 0;
        victim = scheduler_pick_turn_over(m->schedule_entries, m->n_schedule_entries, &m->schedule_entries[waiting],
                                          now_monotonic(m), m->config.time_slice_usec);
        if (victim != SCHEDULER_NONE) {
                scheduler_preempt_entry(m, victim);
                scheduler_start_entry(m, waiting);
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
