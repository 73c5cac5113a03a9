/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A few worker threads for file-system calls that may block (fdatasync, syncfs, rename,
 * unlink, opening in a destination directory, a store checkpoint), so that the event loop
 * never waits for a slow or hung file system. run() works on a worker thread with a task's
 * plain data only (descriptors, names, an identity); done() gets the task back on the loop
 * thread, which alone touches jobs and transfers: a task may point back to its owner for
 * done() (a transfer's writeback does), never for run(). Knows nothing of jobs. */

#include <stdatomic.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "list.h"

typedef struct IoPool IoPool;
typedef struct IoTask IoTask;

struct IoTask {
        ListNode node;                  /* in the pool's queue */
        IoTask *done_next;              /* in the pool's finished tasks (a stack no lock guards) */
        void (*run)(IoTask *t);         /* on a worker thread */
        void (*done)(IoTask *t);        /* on the loop thread, after run() */
        void (*drop)(IoTask *t);        /* instead of done() when the pool is freed first */
        atomic_bool finished;           /* run() has returned (for io_pool_await()) */
        atomic_int cpu;                 /* the CPU run() started on, plus one; 0 before */
        bool near_loop;                 /* short, and a reply waits for it or for what it follows
                                         * (an unlink, a close): taken before the pool's other
                                         * queued tasks, and its thread stays where
                                         * io_pool_pin_idle() held it; any other task runs free */
};

int io_pool_new(sd_event *event, unsigned max_threads, IoPool **ret);
/* Lets the running tasks finish (their done() is not called), drops the queued ones. */
IoPool *io_pool_free(IoPool *p);

/* Queues the task; a thread is started when none is free (up to max_threads). Never fails:
 * without a thread the task runs on the loop thread, as everything did before. */
void io_pool_submit(IoPool *p, IoTask *t);
/* The same, unless a thread of the pool holds the pool's lock just now: false then, and the
 * task is not queued. For a pool whose threads take only idle CPUs, one of which may hold
 * the lock for as long as the machine is busy; the loop never waits for it. */
bool io_pool_try_submit(IoPool *p, IoTask *t);

/* The loop's priority for handing finished tasks back (default SD_EVENT_PRIORITY_NORMAL). */
void io_pool_set_priority(IoPool *p, int64_t priority);

/* How much nicer than the loop the threads the pool starts from now on are (default 0). */
void io_pool_set_nice(IoPool *p, int nice);

/* A task that is not near_loop starts one thread more when no other would be left idle
 * beside it (up to max_threads): the next near_loop task then finds an idle thread instead of
 * waiting for one to be created. For the pool that gets near_loop tasks; the others start a
 * thread only when a task finds none. */
void io_pool_set_spare(IoPool *p);

/* Bulk work: each task waits at the CPU gate (cpu-gate.h) before it runs. */
void io_pool_set_gated(IoPool *p);

/* The threads the pool starts from now on run only on a CPU that has nothing else to do
 * (thread_sched_set_background()), for work nobody waits for yet. */
void io_pool_set_background(IoPool *p);

/* Before submitting a task a reply waits for: the idle threads are held on the loop's CPU, so
 * that the one woken runs there as soon as the loop waits (the loop has nothing else to do
 * meanwhile). Woken onto the other CPU of a busy machine, a thread waited there behind other
 * work: 0.5 ms at the 90th percentile, 8 ms at the 99th, against 25 µs and 0.5 ms held. A
 * thread goes free again when it takes a task that is not near_loop. Returns the CPU, or -1
 * when none was held. */
int io_pool_pin_idle(IoPool *p);

/* A reply waits for this task, submitted just now and short (Cancel's unlinks): before the
 * loop next sleeps, it looks for the task's result for at most max_usec, so that it does not
 * sleep for a result that is about to come (on an idle CPU each wake-up costs up to
 * milliseconds). It yields its CPU until the task has started, and stops looking at once
 * when the task runs on the loop's own CPU. Once: a later iteration sleeps as usual. done()
 * still runs from the loop's dispatch, as for every task. */
void io_pool_await(IoPool *p, IoTask *t, uint64_t max_usec);

/* On the loop thread: io_pool_submit(), except that the idle thread that takes the task is
 * woken only when the loop next prepares to sleep, done with the dispatch that submitted it
 * (a thread already busy may take the task before). Woken at once, a thread held on the
 * loop's CPU (io_pool_pin_idle()) took that CPU from the dispatch (a Cancel's handler, by its
 * unlinks, in most Cancels), and the loop, preempted, then often waited behind other tasks
 * (nginx, the bus, a client) for its CPU back. Not for a store checkpoint: deferred too, it
 * ran 19 times in a traced round instead of 3, and the Cancels' p99 was the worse for it. */
void io_pool_submit_deferred(IoPool *p, IoTask *t);
/* io_pool_submit_deferred() and io_pool_await() in one: a reply waits for the task. */
void io_pool_submit_awaited(IoPool *p, IoTask *t, uint64_t max_usec);

/* Tasks submitted whose done() has not run yet. */
unsigned io_pool_busy(const IoPool *p);
/* drained() runs on the loop once the last task's done() has run (io_pool_busy() is 0 again),
 * whatever the task: a task whose done() tells nobody (a batch's closes) must not leave the
 * daemon counted busy. */
void io_pool_set_drained(IoPool *p, void (*drained)(void *userdata), void *userdata);
/* Whether a task submitted now finds a thread that has none (it waits for no other task). */
bool io_pool_has_room(const IoPool *p);

/* For the tests: takes (lock) or releases the pool's lock, as a thread of the pool preempted
 * inside it would hold it. */
void io_pool_test_lock(IoPool *p, bool lock);

/* Deterministic delays for the tests: XFERD_TEST_DELAY=OPERATION:SECONDS:NAME[,…] holds
 * OPERATION (FSYNC, RENAME, UNLINK or CLOSE) for SECONDS in every directory whose last component is
 * NAME, after logging "Test delay: …". Called by tasks on a worker thread. */
void io_pool_test_delay(const char *what, const char *dir);
