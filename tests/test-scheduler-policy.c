/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler's rules (daemon/scheduler-policy.c) on plain entries: which queued job runs
 * next, which running job yields, whose turn is over, the fair shares between users, the cap
 * on a user's foreground transfers, and the rate shares. */
#include <glib.h>

#include "scheduler-policy.h"
#include "test-cases.h"

#define FG JOB_PRIORITY_FOREGROUND
#define HIGH JOB_PRIORITY_HIGH
#define NORMAL JOB_PRIORITY_NORMAL
#define LOW JOB_PRIORITY_LOW

#define A 1001
#define B 1002
#define C 1003

static SchedulerEntry queued_of(uid_t owner, JobPriority p, uint64_t run_started) {
        return (SchedulerEntry) { .owner = owner, .priority = p, .queued = true, .run_started = run_started };
}

static SchedulerEntry running_of(uid_t owner, JobPriority p, uint64_t run_started) {
        return (SchedulerEntry) { .owner = owner, .priority = p, .active = true, .run_started = run_started };
}

/* One user's jobs: the rules among them are those of priorities alone. */
static SchedulerEntry queued(JobPriority p, uint64_t run_started) {
        return queued_of(A, p, run_started);
}

static SchedulerEntry running(JobPriority p, uint64_t run_started) {
        return running_of(A, p, run_started);
}

static SchedulerEntry idle_entry(JobPriority p) {
        return (SchedulerEntry) { .owner = A, .priority = p };
}

/* Fills the owners' counts, as the scheduler does before it chooses. */
static size_t count(SchedulerEntry *v, size_t n) {
        g_autofree size_t *scratch = g_new(size_t, n + 1);

        return scheduler_count_owners(v, n, scratch);
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

static void test_count_owners(void) {
        SchedulerEntry v[] = {
                running_of(B, NORMAL, 1), queued_of(A, HIGH, 0), running_of(A, LOW, 2), running_of(C, FG, 3),
                running_of(A, HIGH, 4), queued_of(C, NORMAL, 0), running_of(A, FG, 5), queued_of(B, FG, 0),
        };
        size_t n = G_N_ELEMENTS(v);

        /* Users holding background slots: A and B (C runs only in the foreground). */
        g_assert_cmpuint(count(v, n), ==, 2);
        g_assert_cmpuint(count(NULL, 0), ==, 0);
        const unsigned slots[] = { 1, 2, 2, 0, 2, 0, 2, 1 }, fg[] = { 0, 1, 1, 1, 1, 1, 1, 0 };
        for (size_t i = 0; i < n; i++) {
                g_assert_cmpuint(v[i].owner_slots, ==, slots[i]);
                g_assert_cmpuint(v[i].owner_foreground, ==, fg[i]);
        }

        /* A's queued high job starts: A's counts follow, nobody else's. */
        v[1].queued = false;
        v[1].active = true;
        scheduler_recount_owner(v, n, A);
        g_assert_cmpuint(v[1].owner_slots, ==, 3);
        g_assert_cmpuint(v[2].owner_slots, ==, 3);
        g_assert_cmpuint(v[0].owner_slots, ==, 1);
}

static void test_foreground_cap(void) {
        SchedulerEntry v[] = { running_of(A, FG, 1), running_of(A, FG, 2), queued_of(A, FG, 0), queued_of(B, FG, 0),
                               running_of(0, FG, 1), running_of(0, FG, 2), queued_of(0, FG, 0) };
        size_t n = G_N_ELEMENTS(v);

        count(v, n);
        /* A runs two: a third waits at a cap of 2, not at 3 or without a cap; B runs none. */
        g_assert_false(scheduler_foreground_may_start(&v[2], 2));
        g_assert_true(scheduler_foreground_may_start(&v[2], 3));
        g_assert_true(scheduler_foreground_may_start(&v[2], 0));
        g_assert_true(scheduler_foreground_may_start(&v[3], 2));
        /* Root is exempt. */
        g_assert_true(scheduler_foreground_may_start(&v[6], 1));
}

static void test_pick_queued(void) {
        /* Nothing queued; foreground jobs never wait for a slot. */
        g_assert_cmpuint(scheduler_pick_queued(NULL, 0), ==, SCHEDULER_NONE);
        SchedulerEntry none[] = { running(NORMAL, 5), queued(FG, 0), idle_entry(HIGH) };
        count(none, G_N_ELEMENTS(none));
        g_assert_cmpuint(scheduler_pick_queued(none, G_N_ELEMENTS(none)), ==, SCHEDULER_NONE);

        /* Highest priority first, wherever it is. */
        SchedulerEntry prio[] = { queued(LOW, 0), queued(NORMAL, 0), queued(HIGH, 900), queued(NORMAL, 0) };
        count(prio, G_N_ELEMENTS(prio));
        g_assert_cmpuint(scheduler_pick_queued(prio, G_N_ELEMENTS(prio)), ==, 2);

        /* One priority: the one that waited longest for a turn (an earlier start). */
        SchedulerEntry turn[] = { queued(NORMAL, 300), queued(NORMAL, 100), queued(NORMAL, 200) };
        count(turn, G_N_ELEMENTS(turn));
        g_assert_cmpuint(scheduler_pick_queued(turn, G_N_ELEMENTS(turn)), ==, 1);

        /* Never run before counts as longest. */
        SchedulerEntry fresh[] = { queued(NORMAL, 100), queued(NORMAL, 0) };
        count(fresh, G_N_ELEMENTS(fresh));
        g_assert_cmpuint(scheduler_pick_queued(fresh, G_N_ELEMENTS(fresh)), ==, 1);

        /* A full tie: the oldest (first) job. */
        SchedulerEntry tie[] = { running(NORMAL, 0), queued(NORMAL, 0), queued(NORMAL, 0) };
        count(tie, G_N_ELEMENTS(tie));
        g_assert_cmpuint(scheduler_pick_queued(tie, G_N_ELEMENTS(tie)), ==, 1);
}

/* Users before priorities: the user holding fewer slots goes first, whatever its priority. */
static void test_pick_queued_fair(void) {
        SchedulerEntry v[] = {
                running_of(A, HIGH, 1), running_of(A, HIGH, 2), queued_of(A, HIGH, 0),
                queued_of(B, LOW, 0), running_of(C, NORMAL, 3), queued_of(C, HIGH, 0),
        };
        size_t n = G_N_ELEMENTS(v);

        count(v, n);
        /* B holds none: its low job before A's (2 slots) and C's (1 slot) high ones. */
        g_assert_cmpuint(scheduler_pick_queued(v, n), ==, 3);
        /* Once B runs one, C and B hold one each: C's high job before A's. */
        v[3].queued = false;
        v[3].active = true;
        scheduler_recount_owner(v, n, B);
        g_assert_cmpuint(scheduler_pick_queued(v, n), ==, 5);
}

static void test_pick_victim(void) {
        SchedulerEntry high = queued(HIGH, 0);

        g_assert_cmpuint(scheduler_pick_victim(NULL, 0, &high), ==, SCHEDULER_NONE);
        /* Foreground and queued jobs hold no background slot. */
        SchedulerEntry none[] = { running(FG, 1), queued(LOW, 0) };
        count(none, G_N_ELEMENTS(none));
        g_assert_cmpuint(scheduler_pick_victim(none, G_N_ELEMENTS(none), &high), ==, SCHEDULER_NONE);

        /* Lowest priority first. */
        SchedulerEntry prio[] = { running(HIGH, 1), running(LOW, 50), running(NORMAL, 2) };
        count(prio, G_N_ELEMENTS(prio));
        g_assert_cmpuint(scheduler_pick_victim(prio, G_N_ELEMENTS(prio), &high), ==, 1);

        /* One priority: the longest running (earliest start); a tie: the first. */
        SchedulerEntry runs[] = { running(NORMAL, 30), running(NORMAL, 10), running(NORMAL, 10) };
        count(runs, G_N_ELEMENTS(runs));
        g_assert_cmpuint(scheduler_pick_victim(runs, G_N_ELEMENTS(runs), &high), ==, 1);
        /* Equal priorities never preempt. */
        SchedulerEntry normal = queued(NORMAL, 0);
        g_assert_cmpuint(scheduler_pick_victim(runs, G_N_ELEMENTS(runs), &normal), ==, SCHEDULER_NONE);
}

/* The case: A's four high jobs hold the four slots; B's normal job takes the slot of
 * the longest running of them. A's next high job does not take it back, nor does a high job
 * of B's take a second slot from A while A holds only one more. */
static void test_pick_victim_fair(void) {
        SchedulerEntry v[] = {
                running_of(A, HIGH, 10), running_of(A, HIGH, 5), running_of(A, HIGH, 20), running_of(A, HIGH, 30),
                queued_of(B, NORMAL, 0),
        };
        size_t n = G_N_ELEMENTS(v);

        count(v, n);
        g_assert_cmpuint(scheduler_pick_victim(v, n, &v[4]), ==, 1);
        v[1].active = false;
        v[1].queued = true;
        v[4].queued = false;
        v[4].active = true;
        scheduler_recount_owner(v, n, A);
        scheduler_recount_owner(v, n, B);
        g_assert_cmpuint(v[0].owner_slots, ==, 3);
        g_assert_cmpuint(v[4].owner_slots, ==, 1);
        /* A's waiting high job: B's normal one holds B's only slot. */
        g_assert_cmpuint(scheduler_pick_victim(v, n, &v[1]), ==, SCHEDULER_NONE);
        /* B's second (high) job: A holds 3 = 1 + 2, so a slot moves again, whatever priority. */
        SchedulerEntry b_low = queued_of(B, LOW, 0);
        b_low.owner_slots = 1;
        g_assert_cmpuint(scheduler_pick_victim(v, n, &b_low), ==, 0);
}

static void test_preempts(void) {
        SchedulerEntry high = queued(HIGH, 0), normal = running(NORMAL, 0), other = running(HIGH, 0);

        g_assert_true(scheduler_preempts(&high, &normal));
        /* Equal priorities take turns instead; a lower one never displaces a higher one. */
        g_assert_false(scheduler_preempts(&high, &other));
        SchedulerEntry low = queued(LOW, 0);
        g_assert_false(scheduler_preempts(&low, &normal));

        /* Between users: by the slots they hold first. */
        SchedulerEntry w = queued_of(B, LOW, 0), v = running_of(A, HIGH, 0);
        w.owner_slots = 0;
        v.owner_slots = 2;
        g_assert_true(scheduler_preempts(&w, &v));            /* 2 > 0 + 1: fairer */
        v.owner_slots = 1;
        g_assert_false(scheduler_preempts(&w, &v));           /* as fair: priority decides */
        w.priority = JOB_PRIORITY_HIGH;
        g_assert_false(scheduler_preempts(&w, &v));           /* equal: turns */
        v.priority = JOB_PRIORITY_NORMAL;
        g_assert_true(scheduler_preempts(&w, &v));            /* higher, and as fair */
        w.owner_slots = 1;
        g_assert_false(scheduler_preempts(&w, &v));           /* would be less fair */
}

static void test_turns(void) {
        const uint64_t slice = 100;

        SchedulerEntry v[] = {
                running(NORMAL, 50),    /* turn over at 150 */
                running(NORMAL, 20),    /* turn over at 120: the longest running */
                running(HIGH, 0),       /* another priority */
                running(FG, 0),         /* foreground takes no turns */
                queued(NORMAL, 0),
                queued(HIGH, 0),
                queued(LOW, 0),
        };
        size_t n = G_N_ELEMENTS(v);
        const SchedulerEntry *normal = &v[4], *high = &v[5], *low = &v[6];

        count(v, n);
        g_assert_cmpuint(scheduler_turn_deadline(v, n, normal, slice), ==, 120);
        g_assert_cmpuint(scheduler_turn_deadline(v, n, high, slice), ==, 100);
        g_assert_cmpuint(scheduler_turn_deadline(v, n, low, slice), ==, UINT64_MAX);
        g_assert_cmpuint(scheduler_turn_deadline(NULL, 0, normal, slice), ==, UINT64_MAX);

        /* Before any turn is over, at its exact end, and when two are over. */
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, normal, 119, slice), ==, SCHEDULER_NONE);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, normal, 120, slice), ==, 1);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, normal, 500, slice), ==, 1);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, low, 500, slice), ==, SCHEDULER_NONE);
        /* Equal starts: the first. */
        SchedulerEntry tie[] = { running(LOW, 5), running(LOW, 5), queued(LOW, 0) };
        count(tie, G_N_ELEMENTS(tie));
        g_assert_cmpuint(scheduler_pick_turn_over(tie, 3, &tie[2], 105, slice), ==, 0);
}

/* Turns between users never make the split less fair: B (one slot) does not take A's only
 * slot in turn; C (no slot) does take a turn from B's. */
static void test_turns_fair(void) {
        const uint64_t slice = 100;
        SchedulerEntry v[] = {
                running_of(A, NORMAL, 10), running_of(B, NORMAL, 50), queued_of(B, NORMAL, 0), queued_of(C, NORMAL, 0),
        };
        size_t n = G_N_ELEMENTS(v);

        count(v, n);
        /* B's waiting job: only B's own running one takes turns with it. */
        g_assert_cmpuint(scheduler_turn_deadline(v, n, &v[2], slice), ==, 150);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, &v[2], 500, slice), ==, 1);
        /* C's: both hold one more slot than C, the longest running first. */
        g_assert_cmpuint(scheduler_turn_deadline(v, n, &v[3], slice), ==, 110);
        g_assert_cmpuint(scheduler_pick_turn_over(v, n, &v[3], 500, slice), ==, 0);
}

static void test_rate(void) {
        /* No global limit: the job's own, 0 meaning none. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 0, 1, 3), ==, 0);
        g_assert_cmpuint(scheduler_rate(NORMAL, 500, 0, 1, 3), ==, 500);
        /* One user: an even share of the global limit, or the job's own when lower. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 900, 1, 3), ==, 300);
        g_assert_cmpuint(scheduler_rate(LOW, 100, 900, 1, 3), ==, 100);
        g_assert_cmpuint(scheduler_rate(HIGH, 1000, 900, 1, 3), ==, 300);
        /* Foreground jobs are never held back by the global limit. */
        g_assert_cmpuint(scheduler_rate(FG, 0, 900, 1, 3), ==, 0);
        g_assert_cmpuint(scheduler_rate(FG, 700, 900, 1, 3), ==, 700);
        /* Nobody running in the background yet: no share to compute. */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 900, 0, 0), ==, 0);
        /* More jobs than bytes: at least 1 byte/s, never 0 (which would mean unlimited). */
        g_assert_cmpuint(scheduler_rate(NORMAL, 0, 2, 1, 5), ==, 1);
        /* Two users: half each, whatever the number of jobs. A with 3 jobs, B with 1. */
        g_assert_cmpuint(scheduler_rate(HIGH, 0, 1200, 2, 3), ==, 200);
        g_assert_cmpuint(scheduler_rate(LOW, 0, 1200, 2, 1), ==, 600);
}

/* A job's files in flight share its rate evenly; none stays none, and never 0 (unlimited). */
static void test_lane_rate(void) {
        g_assert_cmpuint(scheduler_lane_rate(0, 16), ==, 0);
        g_assert_cmpuint(scheduler_lane_rate(1000, 0), ==, 1000);
        g_assert_cmpuint(scheduler_lane_rate(1000, 1), ==, 1000);
        g_assert_cmpuint(scheduler_lane_rate(1000, 4), ==, 250);
        g_assert_cmpuint(scheduler_lane_rate(1000, 3), ==, 333);
        g_assert_cmpuint(scheduler_lane_rate(10, 16), ==, 1);
        g_assert_cmpuint(scheduler_lane_rate(1, 2), ==, 1);
}

const TestCase test_cases[] = {
        { "/scheduler-policy/background", test_background },
        { "/scheduler-policy/count-owners", test_count_owners },
        { "/scheduler-policy/foreground-cap", test_foreground_cap },
        { "/scheduler-policy/pick-queued", test_pick_queued },
        { "/scheduler-policy/pick-queued-fair", test_pick_queued_fair },
        { "/scheduler-policy/pick-victim", test_pick_victim },
        { "/scheduler-policy/pick-victim-fair", test_pick_victim_fair },
        { "/scheduler-policy/preempts", test_preempts },
        { "/scheduler-policy/turns", test_turns },
        { "/scheduler-policy/turns-fair", test_turns_fair },
        { "/scheduler-policy/rate", test_rate },
        { "/scheduler-policy/lane-rate", test_lane_rate },
        { NULL, NULL }
};
