/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>

#include "scheduler-policy.h"

bool scheduler_is_background(JobPriority p) {
        return p != JOB_PRIORITY_FOREGROUND;
}

static bool entry_runs_in_background(const SchedulerEntry *e) {
        return e->active && scheduler_is_background(e->priority);
}

static bool entry_runs_in_foreground(const SchedulerEntry *e) {
        return e->active && !scheduler_is_background(e->priority);
}

size_t scheduler_count_active_background(const SchedulerEntry *v, size_t n) {
        size_t count = 0;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++)
                count += entry_runs_in_background(&v[i]);
        return count;
}

static int compare_owner(const void *a, const void *b, void *entries) {
        const SchedulerEntry *v = entries;
        uid_t x = v[*(const size_t *) a].owner, y = v[*(const size_t *) b].owner;

        return x < y ? -1 : x > y;
}

size_t scheduler_count_owners(SchedulerEntry *v, size_t n, size_t *scratch) {
        size_t owners = 0;

        assert(v || n == 0);
        assert(scratch || n == 0);

        /* Sorted by owner, each user's entries are one run: O(n log n), whatever the number
         * of users or jobs. */
        for (size_t i = 0; i < n; i++)
                scratch[i] = i;
        if (n > 1)
                qsort_r(scratch, n, sizeof *scratch, compare_owner, v);

        for (size_t start = 0, end; start < n; start = end) {
                unsigned slots = 0, foreground = 0;

                for (end = start; end < n && v[scratch[end]].owner == v[scratch[start]].owner; end++) {
                        slots += entry_runs_in_background(&v[scratch[end]]);
                        foreground += entry_runs_in_foreground(&v[scratch[end]]);
                }
                for (size_t k = start; k < end; k++) {
                        v[scratch[k]].owner_slots = slots;
                        v[scratch[k]].owner_foreground = foreground;
                }
                owners += slots > 0;
        }
        return owners;
}

void scheduler_recount_owner(SchedulerEntry *v, size_t n, uid_t owner) {
        unsigned slots = 0, foreground = 0;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++)
                if (v[i].owner == owner) {
                        slots += entry_runs_in_background(&v[i]);
                        foreground += entry_runs_in_foreground(&v[i]);
                }
        for (size_t i = 0; i < n; i++)
                if (v[i].owner == owner) {
                        v[i].owner_slots = slots;
                        v[i].owner_foreground = foreground;
                }
}

bool scheduler_foreground_may_start(const SchedulerEntry *e, unsigned cap) {
        assert(e);

        return e->owner == 0 || cap == 0 || e->owner_foreground < cap;
}

size_t scheduler_pick_queued(const SchedulerEntry *v, size_t n) {
        size_t best = SCHEDULER_NONE;

        assert(v || n == 0);

        for (size_t i = 0; i < n; i++) {
                const SchedulerEntry *e = &v[i], *b = best == SCHEDULER_NONE ? NULL : &v[best];

                if (!e->queued || !scheduler_is_background(e->priority))
                        continue;
                if (!b || e->owner_slots < b->owner_slots ||
                    (e->owner_slots == b->owner_slots &&
                     (e->priority < b->priority || (e->priority == b->priority && e->run_started < b->run_started))))
                        best = i;
        }
        return best;
}

bool scheduler_preempts(const SchedulerEntry *waiting, const SchedulerEntry *victim) {
        assert(waiting);
        assert(victim);

        if (victim->owner == waiting->owner)
                return victim->priority > waiting->priority;
        if (victim->owner_slots > waiting->owner_slots + 1)
                return true;
        if (victim->owner_slots == waiting->owner_slots + 1)
                return victim->priority > waiting->priority;
        return false;
}

size_t scheduler_pick_victim(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting) {
        size_t worst = SCHEDULER_NONE;

        assert(v || n == 0);
        assert(waiting);

        for (size_t i = 0; i < n; i++) {
                const SchedulerEntry *e = &v[i], *w = worst == SCHEDULER_NONE ? NULL : &v[worst];

                if (!entry_runs_in_background(e) || !scheduler_preempts(waiting, e))
                        continue;
                if (!w || e->owner_slots > w->owner_slots ||
                    (e->owner_slots == w->owner_slots &&
                     (e->priority > w->priority || (e->priority == w->priority && e->run_started < w->run_started))))
                        worst = i;
        }
        return worst;
}

/* Whether e may take turns with waiting: of the same priority, and yielding keeps the split
 * between users at least as fair. */
static bool entry_takes_turns_with(const SchedulerEntry *e, const SchedulerEntry *waiting) {
        return entry_runs_in_background(e) && e->priority == waiting->priority &&
               (e->owner == waiting->owner || e->owner_slots >= waiting->owner_slots + 1);
}

size_t scheduler_pick_turn_over(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting, uint64_t now,
                                uint64_t slice) {
        size_t victim = SCHEDULER_NONE;

        assert(v || n == 0);
        assert(waiting);

        for (size_t i = 0; i < n; i++)
                if (entry_takes_turns_with(&v[i], waiting) && now >= v[i].run_started + slice &&
                    (victim == SCHEDULER_NONE || v[i].run_started < v[victim].run_started))
                        victim = i;
        return victim;
}

uint64_t scheduler_turn_deadline(const SchedulerEntry *v, size_t n, const SchedulerEntry *waiting, uint64_t slice) {
        uint64_t earliest = UINT64_MAX;

        assert(v || n == 0);
        assert(waiting);

        for (size_t i = 0; i < n; i++)
                if (entry_takes_turns_with(&v[i], waiting) && v[i].run_started < earliest)
                        earliest = v[i].run_started;
        return earliest == UINT64_MAX ? UINT64_MAX : earliest + slice;
}

uint64_t scheduler_rate(JobPriority priority, uint64_t job_limit, uint64_t global_limit, size_t n_owners,
                        unsigned owner_slots) {
        uint64_t rate = job_limit;

        if (scheduler_is_background(priority) && global_limit > 0 && n_owners > 0 && owner_slots > 0) {
                uint64_t share = global_limit / n_owners / owner_slots;
                if (share == 0)
                        share = 1;
                if (rate == 0 || share < rate)
                        rate = share;
        }
        return rate;
}

uint64_t scheduler_lane_rate(uint64_t job_rate, unsigned n_lanes) {
        if (job_rate == 0 || n_lanes <= 1)
                return job_rate;
        uint64_t share = job_rate / n_lanes;
        return share > 0 ? share : 1;
}
