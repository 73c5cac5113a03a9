/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler's queue (daemon/scheduler-queue.c) against its rules (scheduler-policy.c):
 * thousands of random changes of jobs (state, priority, network class, turns, arrivals and
 * departures) and of what the network allows, and after each one every answer of the queue
 * compared with the policy's choice on the full list of entries, as the scheduler used to
 * fill it on every pass. */
#include <glib.h>

#include "scheduler-queue.h"
#include "test-cases.h"

enum { N = 300, USERS = 5 };

typedef struct Model {
        SchedulerQueue *q;
        SchedulerItem items[N];
        bool in[N];             /* in the queue (a listed job) */
        unsigned cap;
} Model;

/* Every job in the queue as the policy sees it, in queue order (seq is the index). */
static size_t model_entries(const Model *m, SchedulerEntry *v, size_t *index) {
        size_t n = 0;

        for (size_t i = 0; i < N; i++) {
                const SchedulerItem *it = &m->items[i];
                if (!m->in[i])
                        continue;
                v[n] = (SchedulerEntry) {
                        .priority = it->priority,
                        .owner = it->owner,
                        .queued = it->waiting && scheduler_queue_class_goes(m->q, it->cost_class),
                        .active = it->active,
                        .run_started = it->run_started,
                };
                index[n++] = i;
        }
        return n;
}

static size_t item_index(const Model *m, const SchedulerItem *it) {
        return it ? (size_t) (it - m->items) : SIZE_MAX;
}

static void check(Model *m) {
        SchedulerEntry v[N], *active;
        SchedulerItem **active_items;
        size_t index[N], scratch[N], n, n_active, owners, want, got;
        unsigned jobs_of[USERS] = { 0 };

        n = model_entries(m, v, index);
        owners = scheduler_count_owners(v, n, scratch);
        g_assert_cmpuint(scheduler_queue_owners(m->q), ==, owners);
        g_assert_cmpuint(scheduler_queue_active_background(m->q), ==, scheduler_count_active_background(v, n));

        /* The next background job. */
        want = scheduler_pick_queued(v, n);
        got = item_index(m, scheduler_queue_next_background(m->q));
        g_assert_cmpuint(got, ==, want == SCHEDULER_NONE ? SIZE_MAX : index[want]);

        /* The next foreground job: the oldest queued one whose owner is under the cap. */
        want = SIZE_MAX;
        for (size_t k = 0; k < n && want == SIZE_MAX; k++)
                if (v[k].queued && !scheduler_is_background(v[k].priority) &&
                    scheduler_foreground_may_start(&v[k], m->cap))
                        want = index[k];
        g_assert_cmpuint(item_index(m, scheduler_queue_next_foreground(m->q)), ==, want);

        /* Each item's entry has its owner's counts. */
        for (size_t k = 0; k < n; k++) {
                SchedulerEntry e = scheduler_queue_entry(m->q, &m->items[index[k]]);
                g_assert_true(e.queued == v[k].queued);
                g_assert_cmpuint(e.owner_slots, ==, v[k].owner_slots);
                g_assert_cmpuint(e.owner_foreground, ==, v[k].owner_foreground);
                g_assert_cmpuint(scheduler_queue_user_foreground(m->q, v[k].owner), ==, v[k].owner_foreground);
                jobs_of[v[k].owner - 1000]++;
        }
        for (unsigned u = 0; u < USERS; u++)
                g_assert_cmpuint(scheduler_queue_user_jobs(m->q, 1000 + u), ==, jobs_of[u]);

        /* The best background priority running or queued with the network's leave. */
        JobPriority best = _JOB_PRIORITY_MAX;
        for (size_t k = 0; k < n; k++)
                if (scheduler_is_background(v[k].priority) && (v[k].active || v[k].queued) && v[k].priority < best)
                        best = v[k].priority;
        g_assert_cmpint(scheduler_queue_best_background_priority(m->q), ==, best);

        /* The victim, the turn over and its deadline, from the running jobs alone, for a few
         * of the waiting jobs (every one would make the test slow, not better). */
        g_assert_cmpint(scheduler_queue_active_entries(m->q, &active, &active_items, &n_active), ==, 0);
        for (size_t k = 0, tried = 0; k < n && tried < 8; k++) {
                const SchedulerEntry *w = &v[k];
                size_t a, b;

                if (!w->queued || !scheduler_is_background(w->priority) || (k + n) % 4 != 0)
                        continue;
                tried++;
                a = scheduler_pick_victim(v, n, w);
                b = scheduler_pick_victim(active, n_active, w);
                g_assert_cmpuint(a == SCHEDULER_NONE ? SIZE_MAX : index[a], ==,
                                 b == SCHEDULER_NONE ? SIZE_MAX : item_index(m, active_items[b]));
                a = scheduler_pick_turn_over(v, n, w, 50, 20);
                b = scheduler_pick_turn_over(active, n_active, w, 50, 20);
                g_assert_cmpuint(a == SCHEDULER_NONE ? SIZE_MAX : index[a], ==,
                                 b == SCHEDULER_NONE ? SIZE_MAX : item_index(m, active_items[b]));
                g_assert_cmpuint(scheduler_turn_deadline(v, n, w, 20), ==,
                                 scheduler_turn_deadline(active, n_active, w, 20));
        }
}

static void random_change(Model *m, GRand *rand) {
        size_t i = g_rand_int_range(rand, 0, N);
        SchedulerItem now = m->items[i];

        if (!m->in[i]) {
                scheduler_item_init(&m->items[i], 1000 + g_rand_int_range(rand, 0, USERS), i);
                m->items[i].priority = g_rand_int_range(rand, 0, _JOB_PRIORITY_MAX);
                m->items[i].cost_class = g_rand_int_range(rand, 0, SCHEDULER_CLASSES);
                m->items[i].waiting = g_rand_boolean(rand);
                g_assert_cmpint(scheduler_queue_add(m->q, &m->items[i]), ==, 0);
                m->in[i] = true;
                return;
        }
        switch (g_rand_int_range(rand, 0, 8)) {
        case 0:
                scheduler_queue_remove(m->q, &m->items[i]);
                g_assert_null(m->items[i].user);
                m->in[i] = false;
                return;
        case 1: /* starts: a few distinct times, so that ties are common */
                now.waiting = false;
                now.active = true;
                now.run_started = g_rand_int_range(rand, 1, 60);
                break;
        case 2: /* yields, or a time slice ended */
                now.active = false;
                now.waiting = true;
                break;
        case 3: /* suspended, failed, done */
                now.active = now.waiting = false;
                break;
        case 4:
                now.priority = g_rand_int_range(rand, 0, _JOB_PRIORITY_MAX);
                break;
        case 5:
                now.cost_class = g_rand_int_range(rand, 0, SCHEDULER_CLASSES);
                break;
        case 6:
                now.waiting = !now.active;
                break;
        case 7:
                scheduler_queue_set_go(m->q, g_rand_int_range(rand, 0, 1 << SCHEDULER_CLASSES));
                return;
        }
        g_assert_cmpint(scheduler_queue_update(m->q, &m->items[i], &now), ==, 0);
}

static void run_random(unsigned cap, guint32 seed) {
        Model *m = g_new0(Model, 1);
        GRand *rand = g_rand_new_with_seed(seed);

        m->cap = cap;
        g_assert_cmpint(scheduler_queue_new(cap, &m->q), ==, 0);
        for (unsigned step = 0; step < 6000; step++) {
                random_change(m, rand);
                check(m);
        }
        /* Everyone leaves: the users go with their last job. */
        for (size_t i = 0; i < N; i++)
                if (m->in[i])
                        scheduler_queue_remove(m->q, &m->items[i]);
        g_assert_null(scheduler_queue_next_background(m->q));
        g_assert_null(scheduler_queue_next_foreground(m->q));
        g_assert_cmpuint(scheduler_queue_owners(m->q), ==, 0);
        g_assert_cmpuint(scheduler_queue_user_jobs(m->q, 1000), ==, 0);
        scheduler_queue_free(m->q);
        g_rand_free(rand);
        g_free(m);
}

static void test_random_capped(void) {
        run_random(2, 17);
}

static void test_random_uncapped(void) {
        run_random(0, 4711);
}

/* Root's foreground jobs are never capped, whatever the others'. */
static void test_root_foreground(void) {
        SchedulerQueue *q;
        SchedulerItem root[2], user[2];

        g_assert_cmpint(scheduler_queue_new(1, &q), ==, 0);
        for (unsigned k = 0; k < 2; k++) {
                scheduler_item_init(&root[k], 0, k);
                scheduler_item_init(&user[k], 1000, 10 + k);
                root[k].priority = user[k].priority = JOB_PRIORITY_FOREGROUND;
                root[k].active = user[k].active = k == 0;
                root[k].waiting = user[k].waiting = k == 1;
                g_assert_cmpint(scheduler_queue_add(q, &root[k]), ==, 0);
                g_assert_cmpint(scheduler_queue_add(q, &user[k]), ==, 0);
        }
        g_assert_true(scheduler_queue_next_foreground(q) == &root[1]);
        SchedulerItem now = root[1];
        now.waiting = false;
        now.active = true;
        g_assert_cmpint(scheduler_queue_update(q, &root[1], &now), ==, 0);
        /* The user runs one, its cap. */
        g_assert_null(scheduler_queue_next_foreground(q));
        g_assert_cmpuint(scheduler_queue_user_foreground(q, 0), ==, 2);
        scheduler_queue_free(q);
}

const TestCase test_cases[] = {
        { "/scheduler-queue/random-capped", test_random_capped },
        { "/scheduler-queue/random-uncapped", test_random_uncapped },
        { "/scheduler-queue/root-foreground", test_root_foreground },
        { NULL, NULL }
};
