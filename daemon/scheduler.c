/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler: priorities, preemption, turns, bandwidth shares. */
#include "log.h"
#include "manager-internal.h"
#include "util.h"

void manager_schedule(Manager *m) {
        (void) sd_event_source_set_enabled(m->schedule_source, SD_EVENT_ONESHOT);
}

static bool job_is_background(const Job *j) {
        return j->priority != JOB_PRIORITY_FOREGROUND;
}

unsigned manager_count_active_background(Manager *m) {
        unsigned n = 0;

        for (Job *j = m->jobs_head; j; j = j->next)
                if (job_state_is_active(j->state) && job_is_background(j))
                        n++;
        return n;
}

/* The rate a job's transfer may use: its own limit, and for background jobs an even share of
 * the global background limit. Foreground jobs are never held back by the global limit. */
uint64_t job_effective_rate(const Job *j, unsigned n_background) {
        uint64_t global = j->manager->config.background_bandwidth_limit, rate = j->bandwidth_limit;

        if (job_is_background(j) && global > 0 && n_background > 0) {
                uint64_t share = global / n_background;
                if (share == 0)
                        share = 1;
                if (rate == 0 || share < rate)
                        rate = share;
        }
        return rate;
}

void manager_apply_rates(Manager *m) {
        unsigned n = manager_count_active_background(m);

        for (Job *j = m->jobs_head; j; j = j->next)
                if (j->transfer)
                        (void) transfer_set_max_speed(j->transfer, job_effective_rate(j, n));
}

static uint64_t now_monotonic(Manager *m) {
        uint64_t t;

        if (sd_event_now(m->event, CLOCK_MONOTONIC, &t) < 0)
                t = now_monotonic_usec();
        return t;
}

static void manager_start_job(Job *j) {
        j->run_started = now_monotonic(j->manager);
        int r = job_apply_full(j, JOB_EVENT_START, 0, NULL);
        if (r > 0 && (r & JOB_ACTION_START_TRANSFER))
                job_start_transfer(j);
}

static void manager_preempt_job(Job *j) {
        log_job_debug(j->id, j->owner, NULL, "Priority %s: gives its slot to a job of higher or equal priority.",
                      job_priority_to_string(j->priority));
        (void) job_apply_full(j, JOB_EVENT_PREEMPT, 0, NULL);
}

/* The next background job to run: highest priority first, then the one that waited longest
 * for a turn (never run before counts as longest), then the oldest. */
static Job *manager_pick_queued(Manager *m) {
        Job *best = NULL;

        for (Job *j = m->jobs_head; j; j = j->next) {
                if (j->state != JOB_QUEUED || !job_is_background(j))
                        continue;
                if (!best || j->priority < best->priority ||
                    (j->priority == best->priority && j->run_started < best->run_started))
                        best = j;
        }
        return best;
}

/* The running background job that yields first: lowest priority, then the longest running. */
static Job *manager_pick_victim(Manager *m) {
        Job *worst = NULL;

        for (Job *j = m->jobs_head; j; j = j->next) {
                if (!job_state_is_active(j->state) || !job_is_background(j))
                        continue;
                if (!worst || j->priority > worst->priority ||
                    (j->priority == worst->priority && j->run_started < worst->run_started))
                        worst = j;
        }
        return worst;
}

static void manager_arm_slice(Manager *m, const Job *waiting) {
        uint64_t earliest = UINT64_MAX;

        /* Only while a queued job waits for a running one of its own priority. */
        for (Job *j = m->jobs_head; waiting && j; j = j->next)
                if (job_state_is_active(j->state) && job_is_background(j) && j->priority == waiting->priority &&
                    j->run_started < earliest)
                        earliest = j->run_started;
        if (earliest == UINT64_MAX) {
                (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(m->slice_timer, earliest + m->config.time_slice_usec);
        (void) sd_event_source_set_enabled(m->slice_timer, SD_EVENT_ONESHOT);
}

int on_schedule(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Job *next, *waiting;

        /* Foreground jobs start at once. Starting may end a job at once (nothing left to fetch),
         * so walk with care. */
        for (Job *j = m->jobs_head; j; j = next) {
                next = j->next;
                if (j->state == JOB_QUEUED && !job_is_background(j))
                        manager_start_job(j);
        }

        /* Background jobs by priority while slots are free; a higher one takes the slot of a
         * lower one, whose partial data stays and continues later with Range. */
        while ((waiting = manager_pick_queued(m))) {
                if (manager_count_active_background(m) < m->config.max_background_transfers) {
                        manager_start_job(waiting);
                        continue;
                }
                Job *victim = manager_pick_victim(m);
                if (!victim || victim->priority <= waiting->priority)
                        break;
                manager_preempt_job(victim);
                manager_start_job(waiting);
        }

        manager_arm_slice(m, waiting);
        manager_apply_rates(m);
        manager_update_wait_reasons(m);
        return 0;
}

/* Jobs of one priority take turns: the one that ran longest yields to the one that waited. */
int on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        Job *waiting = manager_pick_queued(m), *victim = NULL;
        uint64_t now = now_monotonic(m);

        if (!waiting)
                return 0;
        for (Job *j = m->jobs_head; j; j = j->next)
                if (job_state_is_active(j->state) && job_is_background(j) && j->priority == waiting->priority &&
                    now >= j->run_started + m->config.time_slice_usec &&
                    (!victim || j->run_started < victim->run_started))
                        victim = j;
        if (victim) {
                manager_preempt_job(victim);
                manager_start_job(waiting);
        }
        manager_schedule(m);
        return 0;
}

int manager_set_max_background_transfers(Manager *m, uint32_t n) {
        if (n == 0)
                return -EINVAL;
        m->config.max_background_transfers = n;
        manager_schedule(m);
        return 0;
}

int manager_set_background_bandwidth_limit(Manager *m, uint64_t bps) {
        m->config.background_bandwidth_limit = bps;
        manager_apply_rates(m);
        return 0;
}
