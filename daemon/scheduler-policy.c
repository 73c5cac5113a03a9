/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "scheduler-policy.h"

bool scheduler_is_background(JobPriority p) {
        return p != JOB_PRIORITY_FOREGROUND;
}

static bool entry_runs_in_background(const SchedulerEntry *e) {
        return e->active && scheduler_is_background(e->priority);
}

size_t scheduler_count_active_background(const SchedulerEntry *v, size_t n) {
        size_t count = 0;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++)
                count += entry_runs_in_background(&v[i]);
        return count;
}

size_t scheduler_pick_queued(const SchedulerEntry *v, size_t n) {
        size_t best = SCHEDULER_NONE;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++) {
                if (!v[i].queued || !scheduler_is_background(v[i].priority))
                        continue;
                if (best == SCHEDULER_NONE || v[i].priority < v[best].priority ||
                    (v[i].priority == v[best].priority && v[i].run_started < v[best].run_started))
                        best = i;
        }
        return best;
}

size_t scheduler_pick_victim(const SchedulerEntry *v, size_t n) {
        size_t worst = SCHEDULER_NONE;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++) {
                if (!entry_runs_in_background(&v[i]))
                        continue;
                if (worst == SCHEDULER_NONE || v[i].priority > v[worst].priority ||
                    (v[i].priority == v[worst].priority && v[i].run_started < v[worst].run_started))
                        worst = i;
        }
        return worst;
}

bool scheduler_preempts(const SchedulerEntry *waiting, const SchedulerEntry *victim) {
        assert(waiting);
        assert(victim);

        return victim->priority > waiting->priority;
}

size_t scheduler_pick_turn_over(const SchedulerEntry *v, size_t n, JobPriority priority, uint64_t now,
                                uint64_t slice) {
        size_t victim = SCHEDULER_NONE;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++)
                if (entry_runs_in_background(&v[i]) && v[i].priority == priority &&
                    now >= v[i].run_started + slice &&
                    (victim == SCHEDULER_NONE || v[i].run_started < v[victim].run_started))
                        victim = i;
        return victim;
}

uint64_t scheduler_turn_deadline(const SchedulerEntry *v, size_t n, JobPriority priority, uint64_t slice) {
        uint64_t earliest = UINT64_MAX;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++)
                if (entry_runs_in_background(&v[i]) && v[i].priority == priority && v[i].run_started < earliest)
                        earliest = v[i].run_started;
        return earliest == UINT64_MAX ? UINT64_MAX : earliest + slice;
}

uint64_t scheduler_rate(JobPriority priority, uint64_t job_limit, uint64_t global_limit, unsigned n_background) {
        uint64_t rate = job_limit;

        if (scheduler_is_background(priority) && global_limit > 0 && n_background > 0) {
                uint64_t share = global_limit / n_background;
                if (share == 0)
                        share = 1;
                if (rate == 0 || share < rate)
                        rate = share;
        }
        return rate;
}
