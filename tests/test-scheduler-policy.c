/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler's rules (daemon/scheduler-policy.c) on plain entries: which queued job runs
 * next, which running job yields, whose turn is over, and the rate shares. */
#include <glib.h>

#include "scheduler-policy.h"

#define FG JOB_PRIORITY_FOREGROUND
#define HIGH JOB_PRIORITY_HIGH
#define NORMAL JOB_PRIORITY_NORMAL
#define LOW JOB_PRIORITY_LOW

static SchedulerEntry queued(JobPriority p, uint64_t run_started) {
        return (SchedulerEntry) { .priority = p, .queued = true, .run_started = run_started };
}

static SchedulerEntry running(JobPriority p, uint64_t run_started) {
        return (SchedulerEntry) { .priority = p, .active = true, .run_started = run_started };
}

static SchedulerEntry idle_entry(JobPriority p) {
        return (SchedulerEntry) { .priority = p };
}

static void test_background(void) {
        g_assert_false(scheduler_is_background(FG));
        g_assert_true(scheduler_is_background(HIGH));
        g_assert_true(scheduler_is_background(NORMAL));
        g_assert_true(scheduler_is_background(LOW));

        SchedulerEntry v[] = { running(FG, 1), running(LOW, 2), queued(NORMAL, 0), idle_entry(HIGH), running(HIGH, 3) };
        g_assert_cmpuint(scheduler_count_active_background(v, G_N_ELEMENTS(v)), ==, 2);
        g_assert_cmpuint(scheduler_count_active_background(NULL, 0), ==, 0);
}

static void test_pick_queued(void) {
        /* Nothing queued; foreground jobs never wait for a slot. */
        g_assert_cmpuint(scheduler_pick_queued(NULL, 0), ==, SCHEDULER_NONE);
        SchedulerEntry none[] = { running(NORMAL, 5), queued(FG, 0), idle_entry(HIGH) };
        g_assert_cmpuint(scheduler_pick_queued(none, G_N_ELEMENTS(none)), ==, SCHEDULER_NONE);

        /* Highest priority first, wherever it is. */
        SchedulerEntry prio[] = { queued(LOW, 0), queued(NORMAL, 0), queued(HIGH, 900), queued(NORMAL, 0) };
        g_assert_cmpuint(scheduler_pick_queued(prio, G_N_ELEMENTS(prio)), ==, 2);

        /* One priority: the one that waited longest for a turn (an earlier start). */
        SchedulerEntry turn[] = { queued(NORMAL, 300), queued(NORMAL, 100), queued(NORMAL, 200) };
        g_assert_cmpuint(scheduler_pick_queued(turn, G_N_ELEMENTS(turn)), ==, 1);

        /* Never run before counts as longest. */
        SchedulerEntry fresh[] = { queued(NORMAL, 100), queued(NORMAL, 0) };
        g_assert_cmpuint(scheduler_pick_queued(fresh, G_N_ELEMENTS(fresh)), ==, 1);

        /* A full tie: the oldest (first) job. */
        SchedulerEntry tie[] = { running(NORMAL, 0), queued(NORMAL, 0), queued(NORMAL, 0) };
        g_assert_cmpuint(scheduler_pick_queued(tie, G_N_ELEMENTS(tie)), ==, 1);
}

static void test_pick_victim(void) {
        g_assert_cmpuint(scheduler_pick_victim(NULL, 0), ==, SCHEDULER_NONE);
        /* Foreground and queued jobs hold no background slot. */
        SchedulerEntry none[] = { running(FG, 1), queued(LOW, 0) };
        g_assert_cmpuint(scheduler_pick_victim(none, G_N_ELEMENTS(none)), ==, SCHEDULER_NONE);

        /* Lowest priority first. */
        SchedulerEntry prio[] = { running(HIGH, 1), running(LOW, 50), running(NORMAL, 2) };
        g_assert_cmpuint(scheduler_pick_victim(prio, G_N_ELEMENTS(prio)), ==, 1);

        /* One priority: the longest running (earliest start); a tie: the first. */
        SchedulerEntry runs[] = { running(NORMAL, 30), running(NORMAL, 10), running(NORMAL, 10) };
        g_assert_cmpuint(scheduler_pick_victim(runs, G_N_ELEMENTS(runs)), ==, 1);
}

static void test_preempts(void) {
        SchedulerEntry high = queued(HIGH, 0), normal = running(NORMAL, 0), other = running(HIGH, 0);

        g_assert_true(scheduler_preempts(&high, &normal));
        /* Equal priorities take turns instead; a lower one never displaces a higher one. */
        g_assert_false(scheduler_preempts(&high, &other));
        SchedulerEntry low = queued(LOW, 0);
        g_assert_false(scheduler_preempts(&low, &normal));
}

static void test_turns(void) {
        const uint64_t slice = 100;

        SchedulerEntry v[] = {
                running(NORMAL, 50),    /* turn over at 150 */
                running(NORMAL, 20),    /* turn over at 120: the longest running */
                running(HIGH, 0),       /* another priority */
                running(FG, 0),         /* foreground takes no turns */
                queued(NORMAL, 0),
        };
        size_t n = G_N_ELEMENTS(v);

        g_assert_cmpuint(scheduler_turn_deadline(v, n, NORMAL, slice), ==, 120);
        g_assert_cmpuint(scheduler_turn_deadline(v, n, HIGH, slice), ==, 100);
        g_assert_cmpuint(scheduler_turn_deadline(v, n, LOW, slice), ==, UINT64_MAX);
        g_assert_cmpuint(scheduler_turn_deadline(NULL, 0, NORMAL, slice), ==, UINT64_MAX);

        /* Before any turn is over, at its exact end, and when two are over. */
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, NORMAL, 119, slice), ==, SCHEDULER_NONE);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, NORMAL, 120, slice), ==, 1);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, NORMAL, 500, slice), ==, 1);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, LOW, 500, slice), ==, SCHEDULER_NONE);
        /* Equal starts: the first. */
        SchedulerEntry tie[] = { running(LOW, 5), running(LOW, 5) };
        g_assert_cmpuint(scheduler_pick_turn_over(tie, 2, LOW, 105, slice), ==, 0);
}

static void test_rate(void) {
        /* No global limit: the job's own, 0 meaning none. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 0, 3), ==, 0);
        g_assert_cmpuint(scheduler_rate(NORMAL, 500, 0, 3), ==, 500);
        /* An even share of the global limit, or the job's own when lower. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 900, 3), ==, 300);
        g_assert_cmpuint(scheduler_rate(LOW, 100, 900, 3), ==, 100);
        g_assert_cmpuint(scheduler_rate(HIGH, 1000, 900, 3), ==, 300);
        /* Foreground jobs are never held back by the global limit. */
        g_assert_cmpuint(scheduler_rate(FG, 0, 900, 3), ==, 0);
        g_assert_cmpuint(scheduler_rate(FG, 700, 900, 3), ==, 700);
        /* Nobody running in the background yet: no share to compute. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 900, 0), ==, 0);
        /* More jobs than bytes: at least 1 byte/s, never 0 (which would mean unlimited). */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 2, 5), ==, 1);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/scheduler-policy/background", test_background);
        g_test_add_func("/scheduler-policy/pick-queued", test_pick_queued);
        g_test_add_func("/scheduler-policy/pick-victim", test_pick_victim);
        g_test_add_func("/scheduler-policy/preempts", test_preempts);
        g_test_add_func("/scheduler-policy/turns", test_turns);
        g_test_add_func("/scheduler-policy/rate", test_rate);
        return g_test_run();
}
