/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker pool (daemon/io-pool.c) on a real sd-event loop: every task runs once on a thread
 * and comes back once on the loop, also in bursts, awaited or not; an awaited result is back
 * within the loop's next iteration, a task that hangs holds that iteration no longer than the
 * bound, and the threads sleep once the tasks are done (no CPU when idle); a task a reply
 * waits for runs on the loop's CPU (io_pool_pin_idle()) and before the long tasks queued ahead
 * of it, its thread woken once the loop prepares to sleep (io_pool_submit_deferred()), and a
 * long task leaves a thread idle for it; a worker runs at its pool's nice level below the
 * loop's and with the kernel's default slice, not the loop's short one; the loop never waits
 * for the pool's lock to take a result back; a gated pool's task waits while the CPU gate is
 * closed, until its last close is undone or its time is up. */
#include <dirent.h>
#include <glib.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "cpu-gate.h"
#include "io-pool.h"
#include "proc-stat.h"
#include "thread-sched.h"
#include "test-cases.h"
#include "util.h"

#define TIMEOUT_USEC (60 * USEC_PER_SEC)

typedef struct Task {
        IoTask task;
        pid_t run_tid;          /* the thread that ran it */
        int run_cpu;            /* where it ran */
        int run_cpus;           /* how many CPUs its thread could run on */
        int run_nice;           /* its thread's nice level */
        long long run_slice;    /* its thread's slice (ns), -1 when the kernel does not say */
        unsigned runs, dones;
        unsigned *done_calls;   /* the loop's count */
        pthread_mutex_t *hold;  /* run() waits for it when set */
} Task;

/* The calling thread's slice from /proc (ns), -1 when the kernel does not show it. */
static long long
thread_slice (void)
{
        g_autofree char *sched = NULL;
        const char *line;

        if (!g_file_get_contents ("/proc/thread-self/sched", &sched, NULL, NULL))
                return -1;
        line = strstr (sched, "\nse.slice");
        if (!line || !(line = strchr (line, ':')))
                return -1;
        return g_ascii_strtoll (line + 1, NULL, 10);
}

static void
task_run (IoTask *t)
{
        Task *k = (Task *) t;

        if (k->hold) {
                pthread_mutex_lock (k->hold);
                pthread_mutex_unlock (k->hold);
        }
        cpu_set_t set;

        k->run_tid = gettid ();
        k->run_cpu = sched_getcpu ();
        k->run_cpus = sched_getaffinity (0, sizeof set, &set) == 0 ? CPU_COUNT (&set) : -1;
        k->run_nice = thread_sched_get_nice ();
        k->run_slice = thread_slice ();
        k->runs++;
}

static void
task_done (IoTask *t)
{
        Task *k = (Task *) t;

        k->dones++;
        (*k->done_calls)++;
}

static void
task_drop (IoTask *t)
{
        (void) t;
        g_assert_not_reached ();
}

static void
task_init (Task *k, unsigned *done_calls)
{
        *k = (Task) { .task = { .run = task_run, .done = task_done, .drop = task_drop }, .done_calls = done_calls };
}

typedef struct Fixture {
        sd_event *event;
        IoPool *pool;
        unsigned done_calls;
} Fixture;

static Fixture *
fixture_new (void)
{
        Fixture *f = g_new0 (Fixture, 1);

        g_assert_cmpint (sd_event_new (&f->event), >=, 0);
        g_assert_cmpint (io_pool_new (f->event, 4, &f->pool), ==, 0);
        return f;
}

static void
fixture_free (Fixture *f)
{
        io_pool_free (f->pool);
        sd_event_unref (f->event);
        g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

/* Runs the loop until no task is left, within TIMEOUT_USEC. */
static void
fixture_drain (Fixture *f)
{
        for (uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC; io_pool_busy (f->pool) > 0;) {
                g_assert_cmpint (sd_event_run (f->event, 100 * USEC_PER_MSEC), >=, 0);
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
        }
}

/* Until every thread of this process but the calling one sleeps. */
static void
wait_threads_sleep (void)
{
        uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC;

        while (!proc_threads_asleep (getpid (), gettid ())) {
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                g_usleep (1000);
        }
}

/* Bursts of 1 to 5 tasks, the last of each awaited (a bound of 0: not at all) or not, its
 * thread woken at once or (deferred) at the loop's prepare: each runs on a thread and comes
 * back on the loop once, and then the threads sleep. */
static void
bursts (uint64_t await_usec, bool deferred)
{
        g_autoptr (Fixture) f = fixture_new ();
        Task tasks[5];

        for (unsigned round = 0; round < 300; round++) {
                unsigned n = 1 + round % 5;

                f->done_calls = 0;
                for (unsigned i = 0; i < n; i++) {
                        task_init (&tasks[i], &f->done_calls);
                        if (deferred && round % 2 == 0 && i == n - 1)
                                io_pool_submit_awaited (f->pool, &tasks[i].task, await_usec);
                        else
                                io_pool_submit (f->pool, &tasks[i].task);
                }
                if (!deferred && round % 2 == 0)
                        io_pool_await (f->pool, &tasks[n - 1].task, await_usec);
                fixture_drain (f);
                g_assert_cmpuint (f->done_calls, ==, n);
                for (unsigned i = 0; i < n; i++) {
                        g_assert_cmpuint (tasks[i].runs, ==, 1);
                        g_assert_cmpuint (tasks[i].dones, ==, 1);
                        g_assert_cmpint (tasks[i].run_tid, !=, gettid ());
                }
        }
        wait_threads_sleep ();
}

static void
test_bursts (gconstpointer data)
{
        bursts (GPOINTER_TO_UINT (data), false);
}

static void
test_bursts_deferred (gconstpointer data)
{
        bursts (GPOINTER_TO_UINT (data), true);
}

/* This process's threads, the calling one included. */
static guint
count_threads (void)
{
        g_autoptr (GArray) tids = proc_thread_ids (getpid ());

        return tids->len;
}

/* Every thread of this process but the calling one onto the CPUs of set. */
static void
pin_other_threads (const cpu_set_t *set)
{
        g_autoptr (GArray) tids = proc_thread_ids (getpid ());

        for (guint i = 0; i < tids->len; i++) {
                pid_t tid = g_array_index (tids, pid_t, i);

                if (tid != gettid ())
                        g_assert_cmpint (sched_setaffinity (tid, sizeof *set, set), ==, 0);
        }
}

/* An awaited result is back in the loop's next iteration, even one that would not wait at
 * all, when its worker runs on another CPU than the loop's: the loop looked for it before its
 * poll, until the eventfd was written. A worker on the loop's own CPU cannot finish while the
 * loop spins, so there the loop stops looking (long before the bound) and the result comes
 * with a later iteration. Where a woken worker runs is the kernel's choice (on a busy machine
 * mostly the loop's CPU): the test holds the loop on one CPU and the pool's thread on the
 * other, then on the loop's. */
static void
test_await (void)
{
        g_autoptr (Fixture) f = fixture_new ();
        int loop_cpu, other_cpu = -1;
        cpu_set_t all, one, other;
        Task k;

        g_assert_cmpint (sched_getaffinity (0, sizeof all, &all), ==, 0);
        loop_cpu = sched_getcpu ();
        for (int c = 0; c < CPU_SETSIZE && other_cpu < 0; c++)
                if (c != loop_cpu && CPU_ISSET (c, &all))
                        other_cpu = c;
        /* Every thread the pool may have (fixture_new(): 4), started by tasks held at once: a
         * thread started later would have the loop's CPU, from the thread that starts it. */
        {
                pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
                Task held[4];

                pthread_mutex_lock (&hold);
                for (unsigned i = 0; i < G_N_ELEMENTS (held); i++) {
                        task_init (&held[i], &f->done_calls);
                        held[i].hold = &hold;
                        io_pool_submit (f->pool, &held[i].task);
                }
                pthread_mutex_unlock (&hold);
                fixture_drain (f);
                g_assert_cmpuint (count_threads (), ==, 1 + G_N_ELEMENTS (held));
        }
        CPU_ZERO (&one);
        CPU_SET (loop_cpu, &one);
        CPU_ZERO (&other);
        if (other_cpu >= 0)
                CPU_SET (other_cpu, &other);
        g_assert_cmpint (sched_setaffinity (0, sizeof one, &one), ==, 0);

        /* 500 beside: the write comes a moment after the finish, rarely later than the look.
         * With one CPU there is no beside: only the loop's CPU is tried. */
        for (unsigned i = other_cpu < 0 ? 500 : 0; i < 550; i++) {
                bool beside = i < 500;
                uint64_t t0;
                int r;

                if (i == 0 || i == 500)
                        pin_other_threads (beside ? &other : &one);
                f->done_calls = 0;
                task_init (&k, &f->done_calls);
                io_pool_submit (f->pool, &k.task);
                /* A bound far above the task's time: the spin ends when the result is there. */
                io_pool_await (f->pool, &k.task, 10 * USEC_PER_SEC);
                t0 = now_monotonic_usec ();
                r = sd_event_run (f->event, 0);
                g_assert_cmpint (r, >=, 0);
                g_assert_cmpint (atomic_load (&k.task.cpu), ==, (beside ? other_cpu : loop_cpu) + 1);
                if (beside)
                        g_assert_cmpint (r, >, 0);
                else if (r == 0) {
                        g_assert_cmpuint (now_monotonic_usec () - t0, <, 5 * USEC_PER_SEC);
                        g_assert_cmpint (sd_event_run (f->event, 10 * USEC_PER_SEC), >, 0);
                }
                g_assert_cmpuint (k.dones, ==, 1);
                g_assert_cmpuint (io_pool_busy (f->pool), ==, 0);
        }
        g_assert_cmpint (sched_setaffinity (0, sizeof all, &all), ==, 0);
        pin_other_threads (&all);
        if (other_cpu < 0)
                g_test_skip ("One CPU: no worker can run beside the loop (its own CPU was tried)");
}

/* A task that hangs: the loop looks for its result for the bound at most (less when the task
 * sleeps on the loop's own CPU), then goes on. */
static void
test_await_bounded (void)
{
        pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
        g_autoptr (Fixture) f = fixture_new ();
        Task k;
        uint64_t t0, spent;

        task_init (&k, &f->done_calls);
        k.hold = &hold;
        pthread_mutex_lock (&hold);
        io_pool_submit (f->pool, &k.task);
        t0 = now_monotonic_usec ();
        io_pool_await (f->pool, &k.task, 300 * USEC_PER_MSEC);
        g_assert_cmpint (sd_event_run (f->event, 0), ==, 0);
        spent = now_monotonic_usec () - t0;
        g_assert_cmpuint (k.dones, ==, 0);
        g_assert_cmpuint (spent, <, 10 * USEC_PER_SEC);
        /* Only once: the next iteration does not look again. */
        t0 = now_monotonic_usec ();
        g_assert_cmpint (sd_event_run (f->event, 0), ==, 0);
        g_assert_cmpuint (now_monotonic_usec () - t0, <, 300 * USEC_PER_MSEC);

        pthread_mutex_unlock (&hold);
        fixture_drain (f);
        g_assert_cmpuint (k.dones, ==, 1);
}

/* io_pool_submit_deferred() and io_pool_submit_awaited(): the idle thread is not woken before
 * the loop prepares to sleep (the dispatch that submitted the task goes on undisturbed); then
 * the task runs and its result is back. Without the deferral the idle thread took the task at
 * once. */
static void
test_await_deferred (void)
{
        g_autoptr (Fixture) f = fixture_new ();
        Task k;

        /* One thread, idle. */
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        fixture_drain (f);
        wait_threads_sleep ();

        for (unsigned round = 0; round < 4; round++) {
                uint64_t until;

                f->done_calls = 0;
                task_init (&k, &f->done_calls);
                if (round % 2 == 0)
                        io_pool_submit_awaited (f->pool, &k.task, 10 * USEC_PER_SEC);
                else
                        io_pool_submit_deferred (f->pool, &k.task);
                /* Long enough for a woken thread to take it many times over. */
                until = now_monotonic_usec () + 100 * USEC_PER_MSEC;
                while (now_monotonic_usec () < until) {
                        g_assert_cmpint (atomic_load (&k.task.cpu), ==, 0);
                        g_usleep (1000);
                }
                g_assert_cmpuint (k.runs, ==, 0);
                fixture_drain (f);
                g_assert_cmpuint (k.runs, ==, 1);
                g_assert_cmpuint (k.dones, ==, 1);
                g_assert_cmpint (k.run_tid, !=, gettid ());
                wait_threads_sleep ();
        }
}

/* A task a reply waits for (near_loop) is taken before the long tasks queued ahead of it: a
 * Cancel's commit asked for a store checkpoint just before the Cancel's unlinks were queued,
 * and the thread that came free ran the checkpoint's sync first (270 ms behind a GiB's
 * writeback) while the reply waited. Here every thread is busy, a long task (held) is queued,
 * then a near_loop one; the first thread to come free must take the near_loop one. */
static void
test_near_first (void)
{
        pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, rest = PTHREAD_MUTEX_INITIALIZER;
        g_autoptr (Fixture) f = fixture_new ();
        Task busy[4], slow, reply;
        uint64_t deadline;

        pthread_mutex_lock (&first);
        pthread_mutex_lock (&rest);
        /* The fixture's four threads, each busy with a task of its own. */
        for (unsigned i = 0; i < G_N_ELEMENTS (busy); i++) {
                task_init (&busy[i], &f->done_calls);
                busy[i].hold = i == 0 ? &first : &rest;
                io_pool_submit (f->pool, &busy[i].task);
        }
        /* Every thread has taken its task: the queue is empty. */
        deadline = now_monotonic_usec () + TIMEOUT_USEC;
        for (unsigned i = 0; i < G_N_ELEMENTS (busy); i++)
                while (atomic_load (&busy[i].task.cpu) == 0) {
                        g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                        g_usleep (1000);
                }
        task_init (&slow, &f->done_calls);
        slow.hold = &rest;
        io_pool_submit (f->pool, &slow.task);
        task_init (&reply, &f->done_calls);
        reply.task.near_loop = TRUE;
        io_pool_submit (f->pool, &reply.task);

        /* One thread comes free: the reply's task runs, the long one waits for its turn. */
        pthread_mutex_unlock (&first);
        deadline = now_monotonic_usec () + 10 * USEC_PER_SEC;
        while (reply.dones == 0) {
                g_assert_cmpint (sd_event_run (f->event, 100 * USEC_PER_MSEC), >=, 0);
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
        }
        g_assert_cmpuint (reply.runs, ==, 1);
        g_assert_cmpuint (slow.runs, ==, 0);
        g_assert_cmpuint (busy[0].dones, ==, 1);

        pthread_mutex_unlock (&rest);
        fixture_drain (f);
        g_assert_cmpuint (slow.runs, ==, 1);
        g_assert_cmpuint (slow.dones, ==, 1);
        g_assert_cmpuint (f->done_calls, ==, G_N_ELEMENTS (busy) + 2);
}

/* In a pool that keeps a spare (io_pool_set_spare()), a long task leaves a thread idle beside
 * it: the short task a reply waits for, submitted
 * while the long one runs, finds that thread waiting (held on the loop's CPU) instead of
 * waiting for a new one to be created and to get a CPU (8.7 ms on a busy machine: the
 * pool's only thread ran a store checkpoint when a Cancel's unlinks came). */
static void
test_spare (void)
{
        pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
        g_autoptr (Fixture) f = fixture_new ();
        unsigned before = count_threads ();
        uint64_t deadline;
        Task slow, reply;

        io_pool_set_spare (f->pool);
        pthread_mutex_lock (&hold);
        task_init (&slow, &f->done_calls);
        slow.hold = &hold;
        io_pool_submit (f->pool, &slow.task);
        /* Two threads started with it (pthread_create() has returned): one takes the held
         * task, the other stays idle. */
        g_assert_cmpuint (count_threads (), ==, before + 2);

        (void) io_pool_pin_idle (f->pool);
        task_init (&reply, &f->done_calls);
        reply.task.near_loop = TRUE;
        io_pool_submit (f->pool, &reply.task);
        deadline = now_monotonic_usec () + 10 * USEC_PER_SEC;
        while (reply.dones == 0) {
                g_assert_cmpint (sd_event_run (f->event, 100 * USEC_PER_MSEC), >=, 0);
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
        }
        g_assert_cmpuint (slow.runs, ==, 0);
        /* No thread was started for it. */
        g_assert_cmpuint (count_threads (), ==, before + 2);

        pthread_mutex_unlock (&hold);
        fixture_drain (f);
        g_assert_cmpuint (slow.dones, ==, 1);
}

/* A thread of the pool preempted while it holds the pool's lock (the test holds it here, as
 * long as it likes): a task finished meanwhile comes back on the loop all the same, and
 * io_pool_try_submit() refuses at once instead of waiting; once the lock is free it queues. */
static void
test_lock_held (void)
{
        pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
        g_autoptr (Fixture) f = fixture_new ();
        Task k, other;
        uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC;

        task_init (&k, &f->done_calls);
        task_init (&other, &f->done_calls);
        k.hold = &hold;
        pthread_mutex_lock (&hold);
        io_pool_submit (f->pool, &k.task);
        /* Its thread took it from the queue and left the lock. */
        while (atomic_load (&k.task.cpu) == 0) {
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                g_usleep (1000);
        }
        io_pool_test_lock (f->pool, true);
        g_assert_false (io_pool_try_submit (f->pool, &other.task));
        pthread_mutex_unlock (&hold);
        while (k.dones == 0) {
                g_assert_cmpint (sd_event_run (f->event, 100 * USEC_PER_MSEC), >=, 0);
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
        }
        g_assert_cmpuint (k.runs, ==, 1);
        io_pool_test_lock (f->pool, false);
        g_assert_true (io_pool_try_submit (f->pool, &other.task));
        fixture_drain (f);
        g_assert_cmpuint (other.runs, ==, 1);
        g_assert_cmpuint (other.dones, ==, 1);
        g_assert_cmpuint (f->done_calls, ==, 2);
}

/* io_pool_pin_idle() holds the idle thread on the caller's CPU: a near_loop task runs
 * there, and the thread stays held; the next task that is not near_loop runs free again, on
 * any CPU of the process. */
static void
test_pin_idle (void)
{
        g_autoptr (Fixture) f = fixture_new ();
        cpu_set_t mine;
        Task k;

        g_assert_cmpint (sched_getaffinity (0, sizeof mine, &mine), ==, 0);
        if (CPU_COUNT (&mine) < 2) {
                g_test_skip ("One CPU: there is nothing to hold a thread to");
                return;
        }
        /* One thread, idle. */
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        fixture_drain (f);
        wait_threads_sleep ();

        for (unsigned round = 0; round < 20; round++) {
                int cpu = io_pool_pin_idle (f->pool);

                g_assert_cmpint (cpu, >=, 0);
                for (unsigned i = 0; i < 2; i++) {
                        task_init (&k, &f->done_calls);
                        k.task.near_loop = TRUE;
                        io_pool_submit (f->pool, &k.task);
                        fixture_drain (f);
                        g_assert_cmpint (k.run_cpu, ==, cpu);
                        g_assert_cmpint (k.run_cpus, ==, 1);
                        wait_threads_sleep ();
                }
                task_init (&k, &f->done_calls);
                io_pool_submit (f->pool, &k.task);
                fixture_drain (f);
                g_assert_cmpint (k.run_cpus, ==, CPU_COUNT (&mine));
                wait_threads_sleep ();
        }
}

/* The loop's short slice (main.c) is inherited by the threads it starts: a worker sets the
 * default one back, at the loop's nice level plus its pool's (without that it kept 100 µs). In
 * a child: the slice and nice level are the calling thread's. */
static void
test_sched (void)
{
        if (g_test_subprocess ()) {
                g_autoptr (Fixture) f = fixture_new ();
                unsigned done_calls = 0;
                int nice = thread_sched_get_nice ();
                Task k;

                g_assert_cmpint (thread_sched_set (nice, THREAD_SCHED_LOOP_SLICE_NSEC), ==, 0);
                bool slices = thread_slice () == THREAD_SCHED_LOOP_SLICE_NSEC;
                if (!slices)
                        g_test_message ("The kernel shows no slice per thread: the nice level only.");
                io_pool_set_nice (f->pool, 3);
                task_init (&k, &done_calls);
                io_pool_submit (f->pool, &k.task);
                fixture_drain (f);
                g_assert_cmpuint (k.runs, ==, 1);
                g_assert_cmpint (k.run_nice, ==, MIN (nice + 3, 19));
                if (slices) {
                        g_assert_cmpint (k.run_slice, >, THREAD_SCHED_LOOP_SLICE_NSEC);
                        /* The loop keeps its own. */
                        g_assert_cmpint (thread_slice (), ==, THREAD_SCHED_LOOP_SLICE_NSEC);
                }
                return;
        }
        g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed ();
}

/* A gated pool's task waits at the closed gate (closed twice: the first open lets nobody go),
 * its thread asleep; the last open lets it run. The thread that closed the gate passes it. A
 * close whose time is up holds nobody, whatever an earlier close's was, and a close never
 * undone (an unlink that hangs) holds nobody once its time is up: the next close's open lets
 * its waiters go; an open that leaves an earlier deadline lets them go at that one. The gate
 * is closed for ten times what a wait of the test may take, so that a missing wake-up or a
 * deadline left from before fails the test's own bound. */
static void
test_gated (void)
{
        g_autoptr (Fixture) f = fixture_new ();
        uint64_t a, b;
        Task k;

        io_pool_set_gated (f->pool);
        /* The loop, which closes it, never waits at it: closed for 2 s, it passes at once. */
        uint64_t before = now_monotonic_usec ();
        a = cpu_gate_close (2 * USEC_PER_SEC);
        cpu_gate_pass ();
        g_assert_cmpuint (now_monotonic_usec () - before, <, USEC_PER_SEC);
        cpu_gate_open (a);

        a = cpu_gate_close (10 * TIMEOUT_USEC);
        b = cpu_gate_close (10 * TIMEOUT_USEC);
        g_assert_cmpuint (a, !=, 0);
        g_assert_cmpuint (b, !=, 0);
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        /* Its thread started, took the task and sleeps at the gate. */
        for (uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC; count_threads () < 2; g_usleep (1000))
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
        wait_threads_sleep ();
        g_assert_cmpuint (k.runs, ==, 0);
        cpu_gate_open (b);
        wait_threads_sleep ();
        g_assert_cmpuint (k.runs, ==, 0);
        g_assert_cmpuint (cpu_gate_closed (), ==, 1);
        cpu_gate_open (a);
        fixture_drain (f);
        g_assert_cmpuint (k.runs, ==, 1);
        g_assert_cmpuint (cpu_gate_closed (), ==, 0);

        /* Closed for a millisecond and never opened: the task runs all the same. */
        a = cpu_gate_close (USEC_PER_MSEC);
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        fixture_drain (f);
        g_assert_cmpuint (k.runs, ==, 1);

        /* That close still not undone, its time up: a later one holds the task, and its open
         * lets it go at once (not at the later close's deadline, ten timeouts away). */
        b = cpu_gate_close (10 * TIMEOUT_USEC);
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        wait_threads_sleep ();
        g_assert_cmpuint (k.runs, ==, 0);
        g_assert_cmpuint (cpu_gate_closed (), ==, 2);
        cpu_gate_open (b);
        fixture_drain (f);
        g_assert_cmpuint (k.runs, ==, 1);
        cpu_gate_open (a);
        g_assert_cmpuint (cpu_gate_closed (), ==, 0);

        /* Two closes left, the later one undone first: the task goes at the earlier one's
         * end (1 s), not at the undone one's (ten timeouts). */
        a = cpu_gate_close (USEC_PER_SEC);
        b = cpu_gate_close (10 * TIMEOUT_USEC);
        task_init (&k, &f->done_calls);
        io_pool_submit (f->pool, &k.task);
        wait_threads_sleep ();
        g_assert_cmpuint (k.runs, ==, 0);
        cpu_gate_open (b);
        fixture_drain (f);
        g_assert_cmpuint (k.runs, ==, 1);
        cpu_gate_open (a);
        g_assert_cmpuint (cpu_gate_closed (), ==, 0);

        /* 64 closes not undone: one more holds nobody, and its open is nothing. */
        uint64_t many[64];
        for (size_t i = 0; i < G_N_ELEMENTS (many); i++)
                many[i] = cpu_gate_close (10 * TIMEOUT_USEC);
        g_assert_cmpuint (cpu_gate_close (10 * TIMEOUT_USEC), ==, 0);
        cpu_gate_open (0);
        g_assert_cmpuint (cpu_gate_closed (), ==, G_N_ELEMENTS (many));
        for (size_t i = 0; i < G_N_ELEMENTS (many); i++)
                cpu_gate_open (many[i]);
        g_assert_cmpuint (cpu_gate_closed (), ==, 0);
}

const TestCase test_cases[] = {
        { "/io-pool/await", test_await },
        { "/io-pool/pin-idle", test_pin_idle },
        { "/io-pool/await-bounded", test_await_bounded },
        { "/io-pool/await-deferred", test_await_deferred },
        { "/io-pool/near-first", test_near_first },
        { "/io-pool/spare", test_spare },
        { "/io-pool/lock-held", test_lock_held },
        { "/io-pool/sched", test_sched },
        { "/io-pool/gated", test_gated },
        { NULL, NULL },
};

const TestDataCase test_data_cases[] = {
        { "/io-pool/bursts", test_bursts, GUINT_TO_POINTER (0) },
        { "/io-pool/bursts-awaited", test_bursts, GUINT_TO_POINTER (200) },
        { "/io-pool/bursts-deferred", test_bursts_deferred, GUINT_TO_POINTER (200) },
        { NULL, NULL, NULL },
};
