/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests (XFERD_TEST_CHECK_COUNTS): the scheduler's queue, kept as jobs change, must give what
 * the policy chooses on one entry per job filled by a walk of the whole queue, as the
 * scheduler once did on every pass. A disagreement aborts. */
#include "log.h"
#include "manager-internal.h"
#include "scheduler-policy.h"
#include "scheduler-queue.h"
#include "util.h"

static int scheduler_check_fill(Manager *m) {
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
                m->schedule_jobs[n] = j;
                m->schedule_entries[n] = (SchedulerEntry) {
                        .priority = j->priority,
                        .owner = j->owner,
                        .queued = j->state == JOB_QUEUED && network_wait_verdict(j) == NETWORK_VERDICT_GO,
                        .active = job_state_is_active(j->state),
                        .run_started = j->run_started,
                };
        }
        m->n_schedule_entries = n;
        m->schedule_owners = scheduler_count_owners(m->schedule_entries, n, m->schedule_scratch);
        return 0;
}

static void check_failed(const char *what, const Job *want, const Job *got) {
        log_error("Scheduler queue out of step: %s is %s, the walk says %s.", what, got ? got->id : "none",
                  want ? want->id : "none");
        abort();
}

void scheduler_check_queue(Manager *m) {
        SchedulerQueue *q = m->schedule_queue;
        SchedulerEntry *v;
        JobPriority best = _JOB_PRIORITY_MAX;
        Job *want = NULL, *got;
        size_t n, i;

        assert(m);

        if (scheduler_check_fill(m) < 0)
                return;
        v = m->schedule_entries;
        n = m->n_schedule_entries;

        i = scheduler_pick_queued(v, n);
        want = i == SCHEDULER_NONE ? NULL : m->schedule_jobs[i];
        got = scheduler_queue_next_background(q) ? scheduler_job_of(scheduler_queue_next_background(q)) : NULL;
        if (want != got)
                check_failed("the next background job", want, got);

        want = NULL;
        for (i = 0; i < n && !want; i++)
                if (v[i].queued && !scheduler_is_background(v[i].priority) &&
                    scheduler_foreground_may_start(&v[i], m->config.max_foreground_transfers_per_user))
                        want = m->schedule_jobs[i];
        got = scheduler_queue_next_foreground(q) ? scheduler_job_of(scheduler_queue_next_foreground(q)) : NULL;
        if (want != got)
                check_failed("the next foreground job", want, got);

        for (i = 0; i < n; i++)
                if (scheduler_is_background(v[i].priority) && (v[i].active || v[i].queued) && v[i].priority < best)
                        best = v[i].priority;
        if (scheduler_count_active_background(v, n) != scheduler_queue_active_background(q) ||
            m->schedule_owners != scheduler_queue_owners(q) || best != scheduler_queue_best_background_priority(q)) {
                log_error("Scheduler counts out of step: running %zu (counted %u), users with slots %zu (counted %zu), "
                          "best priority %d (counted %d).",
                          scheduler_count_active_background(v, n), scheduler_queue_active_background(q),
                          m->schedule_owners, scheduler_queue_owners(q), (int) best,
                          (int) scheduler_queue_best_background_priority(q));
                abort();
        }
        for (i = 0; i < n; i++) {
                SchedulerEntry e = scheduler_queue_entry(q, &m->schedule_jobs[i]->sched);
                if (e.owner_slots != v[i].owner_slots || e.owner_foreground != v[i].owner_foreground ||
                    e.queued != v[i].queued) {
                        log_error("Scheduler counts of job %s out of step.", m->schedule_jobs[i]->id);
                        abort();
                }
        }
}
