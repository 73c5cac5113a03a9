/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker threads: woken through a semaphore, results handed back through an eventfd that
 * the loop watches. The loop never waits for the pool's lock to take the
 * results: the threads may run 10 nice levels below it or only on idle CPUs, and one
 * preempted while holding the lock (the eventfd's wake-up of the loop preempts it on its own
 * CPU) would hold the loop until it gets a CPU again. Finished tasks go on a stack of
 * their own, pushed with compare-and-swap and taken whole by the loop, and the eventfd is
 * written outside the lock. The loop wakes a thread with sem_post(), which never waits: a
 * condition variable's signal does, in glibc before 2.41, for the threads an earlier signal
 * woke to run (84 ms at most for the loop in one hashed GiB on a busy machine).
 *
 * Why threads rather than io_uring: syncfs() and sync_file_range()'s policy, the per-
 * operation credentials (setfsuid/setfsgid/setgroups per thread, against registered
 * personalities per identity), and SQLite's checkpoint have no io_uring form, and io_uring
 * would run blocking file-system calls on its own kernel workers anyway. A hung file system
 * holds one thread; the pool grows while tasks wait and no thread is free. The loop's look
 * for an awaited result (io_pool_await()) is bounded and follows a submission: an idle pool
 * costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#include "cpu-gate.h"
#include "io-pool.h"
#include "log.h"
#include "thread-sched.h"
#include "util.h"

struct IoPool {
        sd_event_source *source;        /* the eventfd: finished tasks are waiting */
        int efd;
        unsigned max_threads, n_threads, n_idle, busy;
        unsigned n_woken;               /* posts made for idle threads that have not woken yet */
        unsigned n_starting;            /* started, not yet at the queue (each takes a task or idles) */
        int nice;                       /* of the threads: 0 is the loop's */
        bool background;                /* the threads run on CPUs that have nothing else to do */
        bool spare;                     /* a long task leaves a thread idle (io_pool_set_spare()) */
        bool gated;                     /* its tasks pass the CPU gate first (io_pool_set_gated()) */
        pthread_t *threads;
        pthread_mutex_t lock;
        sem_t work;                     /* posted once a task is queued (and per thread to stop) */
        bool stop;
        List queue;                     /* waiting for a thread */
        List near_queue;                /* the same for near_loop tasks: taken before queue's */
        _Atomic(IoTask *) done;         /* run, waiting for the loop: the last first */
        atomic_uint posting;            /* finished tasks whose eventfd write is still to come */
        IoTask *awaited;                /* the loop looks for its result before it next sleeps */
        int *held;                      /* per thread: the CPU io_pool_pin_idle() held it on,
                                         * plus one; 0: free */
        bool *idle;                     /* per thread: waiting for a task */
        cpu_set_t any;                  /* where a free thread may run: the process's CPUs */
        uint64_t await_until;           /* CLOCK_MONOTONIC µs */
        unsigned posts_owed;            /* wake-ups of idle threads for deferred tasks, made when
                                         * the loop next prepares to sleep (loop thread only) */
        void (*drained)(void *userdata);        /* io_pool_set_drained() */
        void *drained_userdata;
};

/* A worker's thread_sched_set() failed, and was logged. */
static atomic_bool sched_failed;

static IoTask *list_pop(List *l) {
        IoTask *t = LIST_ENTRY(l->head, IoTask, node);

        if (t)
                list_remove(l, &t->node);
        return t;
}

static bool queue_is_empty(const IoPool *p) {
        return list_is_empty(&p->near_queue) && list_is_empty(&p->queue);
}

/* A task a reply waits for goes before the long ones queued ahead of it: the store's
 * checkpoint that a Cancel's own commit asked for was queued just before that Cancel's
 * unlinks, and the one idle thread, woken for the checkpoint, ran its sync first (270 ms
 * behind a GiB's writeback) while the reply waited. */
static IoTask *queue_pop(IoPool *p) {
        IoTask *t = list_pop(&p->near_queue);

        return t ? t : list_pop(&p->queue);
}

/* On any thread, without a lock. */
static void done_push(IoPool *p, IoTask *t) {
        IoTask *top = atomic_load_explicit(&p->done, memory_order_relaxed);

        do
                t->done_next = top;
        while (!atomic_compare_exchange_weak_explicit(&p->done, &top, t, memory_order_release,
                                                      memory_order_relaxed));
}

/* On the loop: every finished task, in the order they were pushed. Only the loop takes, and it
 * takes the whole stack: no node comes back while a push reads it. */
static IoTask *done_take(IoPool *p) {
        IoTask *t = atomic_exchange_explicit(&p->done, NULL, memory_order_acquire), *order = NULL;

        while (t) {
                IoTask *next = t->done_next;

                t->done_next = order;
                order = t;
                t = next;
        }
        return order;
}

/* After run(): finished, the task on the stack, then the eventfd. Nothing of the task is
 * touched after the push: the loop may take it and free it at once. posting counts the
 * finishes whose eventfd write is still to come, for a loop that saw its awaited task
 * finished (io_pool_await()) and must not poll before the write. */
static void task_finished(IoPool *p, IoTask *t) {
        atomic_fetch_add_explicit(&p->posting, 1, memory_order_relaxed);
        atomic_store_explicit(&t->finished, true, memory_order_release);
        done_push(p, t);
        (void) eventfd_write(p->efd, 1);
        atomic_fetch_sub_explicit(&p->posting, 1, memory_order_release);
}

typedef struct WorkerStart {
        IoPool *pool;
        unsigned index;                 /* in threads, held and idle */
} WorkerStart;

static void *worker(void *userdata) {
        WorkerStart *start = userdata;
        IoPool *p = start->pool;
        unsigned me = start->index;

        free(start);

        /* Per thread on Linux: the loop and the other pools keep theirs. Relative to the
         * loop's (a daemon started at nice 15 keeps its hashing below itself, never above).
         * The kernel's default slice, not the loop's short one, which a thread started from
         * it inherits: a worker's long runs would take the CPU from others at every wake-up. */
        int r = p->background ? thread_sched_set_background()
                              : thread_sched_set(thread_sched_get_nice() + (p->nice > 0 ? p->nice : 0), 0);
        /* Once: a system call filter that forbids it fails every thread alike. */
        if (r < 0 && !atomic_exchange(&sched_failed, true))
                log_debug_errno(r, "Cannot set the CPU priority of worker threads (the pools run at the loop's)");
        pthread_mutex_lock(&p->lock);
        p->n_starting--;
        for (;;) {
                IoTask *t;

                if (!p->stop && queue_is_empty(p)) {
                        p->n_idle++;
                        p->idle[me] = true;
                        pthread_mutex_unlock(&p->lock);
                        /* A post may be one whose task another thread took meanwhile: the
                         * queue is looked at again. */
                        while (sem_wait(&p->work) < 0 && errno == EINTR)
                                ;
                        pthread_mutex_lock(&p->lock);
                        p->idle[me] = false;
                        p->n_idle--;
                        if (p->n_woken > 0)
                                p->n_woken--;
                        continue;
                }
                if (p->stop)
                        break;
                t = queue_pop(p);
                /* Long work (a sync, a checkpoint) goes to whichever CPU is free. */
                bool release = p->held[me] != 0 && !t->near_loop;
                if (release)
                        p->held[me] = 0;
                pthread_mutex_unlock(&p->lock);
                if (release)
                        (void) sched_setaffinity(0, sizeof p->any, &p->any);
                if (p->gated)
                        cpu_gate_pass();
                atomic_store_explicit(&t->cpu, sched_getcpu() + 1, memory_order_relaxed);
                t->run(t);
                /* The loop reads the counter and then takes every finished task. */
                task_finished(p, t);
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        IoPool *p = userdata;
        eventfd_t v;
        IoTask *t, *next;

        (void) eventfd_read(p->efd, &v);
        /* Every finished task at once. */
        for (t = done_take(p); t; t = next) {
                next = t->done_next;
                if (t == p->awaited)
                        p->awaited = NULL;
                p->busy--;
                t->done(t);
        }
        if (p->busy == 0 && p->drained)
                p->drained(p->drained_userdata);
        return 0;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
}

/* Before the loop polls. The worker is often woken onto the loop's CPU: until it starts, the
 * loop yields that CPU to it; once it runs there (the loop preempted it), the loop sleeps and
 * leaves it the CPU; on another CPU, the loop spins without giving its own away. When the
 * result comes, the eventfd is readable and the poll returns at once. */
static int on_prepare(sd_event_source *s, void *userdata) {
        IoPool *p = userdata;
        IoTask *t = p->awaited;

        /* The threads of tasks submitted by io_pool_submit_deferred() wake now: the loop is done
         * with what it dispatched, and yields to them below or sleeps. */
        for (; p->posts_owed > 0; p->posts_owed--)
                (void) sem_post(&p->work);
        while (t && !atomic_load_explicit(&t->finished, memory_order_acquire) &&
               now_monotonic_usec() < p->await_until) {
                int cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);

                if (cpu == sched_getcpu() + 1)
                        break;
                if (cpu == 0)
                        (void) sched_yield();
                else
                        cpu_relax();
        }
        /* Seen finished, the result may still be a moment from the eventfd: a poll before the
         * write misses it, and the loop dispatches another source first (a curl dispatch of up
         * to a MiB). The worker may be preempted in between, even on this CPU: yield to it. */
        if (t && atomic_load_explicit(&t->finished, memory_order_acquire))
                while (atomic_load_explicit(&p->posting, memory_order_acquire) > 0 &&
                       now_monotonic_usec() < p->await_until)
                        (void) sched_yield();
        p->awaited = NULL;
        (void) sd_event_source_set_prepare(s, NULL);
        return 0;
}

static void io_pool_freep(IoPool **p) {
        io_pool_free(*p);
}

int io_pool_new(sd_event *event, unsigned max_threads, IoPool **ret) {
        _cleanup_(io_pool_freep) IoPool *p = NULL;
        int r;

        assert(event);
        assert(max_threads > 0);
        assert(ret);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        /* What io_pool_free() undoes first, so that it can free a pool made in part. */
        p->efd = -1;
        pthread_mutex_init(&p->lock, NULL);
        (void) sem_init(&p->work, 0, 0);
        atomic_init(&p->done, NULL);
        p->max_threads = max_threads;
        p->threads = calloc(max_threads, sizeof(pthread_t));
        p->held = calloc(max_threads, sizeof(int));
        p->idle = calloc(max_threads, sizeof(bool));
        if (!p->threads || !p->held || !p->idle)
                return -ENOMEM;
        if (sched_getaffinity(0, sizeof p->any, &p->any) < 0)
                CPU_ZERO(&p->any);  /* unknown: io_pool_pin_idle() holds no thread */
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->source, p->efd, EPOLLIN, on_done, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->source, "io-pool");
        *ret = TAKE_PTR(p);
        return 0;
}

IoPool *io_pool_free(IoPool *p) {
        IoTask *t;

        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                (void) sem_post(&p->work);
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        while ((t = queue_pop(p)))
                t->drop(t);
        for (IoTask *next, *d = done_take(p); d; d = next) {
                next = d->done_next;
                d->drop(d);
        }
        sd_event_source_disable_unref(p->source);
        safe_close(p->efd);
        (void) sem_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        free(p->held);
        free(p->idle);
        return mfree(p);
}

/* Started from the loop thread, whose file-system identity is its own between operations:
 * a thread inherits the credentials and capabilities of its creator at that moment, and the
 * signal mask, which keeps every signal for the loop's signalfd. */
static int start_thread(IoPool *p) {
        sigset_t all, old;
        int r;

        WorkerStart *start = malloc(sizeof *start);
        if (!start)
                return -ENOMEM;
        *start = (WorkerStart) { .pool = p, .index = p->n_threads };
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&p->threads[p->n_threads], NULL, worker, start);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                free(start);
                return r;
        }
        p->n_threads++;
        p->n_starting++;
        return 0;
}

/* Under the pool's lock, which it releases. With defer, an idle thread's wake-up is owed
 * until the loop's next prepare (on_prepare()) instead of made now. */
static void queue_and_unlock(IoPool *p, IoTask *t, bool defer) {
        bool inline_run = false, wake;
        List *queue = t->near_loop ? &p->near_queue : &p->queue;
        /* A pool that keeps a spare counts the threads that take a queued task without a new
         * one (the idle ones and those still starting) against what they need to take: every
         * task queued, this one, and after a long one (a checkpoint, a sync, a close that frees
         * blocks) one thread more, left idle for the short task a reply waits for, which then
         * finds one held on the loop's CPU instead of waiting for a thread to be created and to
         * get a CPU (8.7 ms on a busy machine). Any other pool starts a thread only when none
         * is idle. */
        size_t ready = p->n_idle, needed = 1;

        if (p->spare) {
                ready += p->n_starting;
                needed = p->queue.n + p->near_queue.n + (t->near_loop ? 1 : 2);
        }
        atomic_store_explicit(&t->finished, false, memory_order_relaxed);
        atomic_store_explicit(&t->cpu, 0, memory_order_relaxed);
        p->busy++;
        list_append(queue, &t->node);
        for (; ready < needed && p->n_threads < p->max_threads; ready++) {
                int r = start_thread(p);
                if (r < 0) {
                        if (p->n_threads == 0) {
                                log_warning_errno(r, "Cannot start a worker thread; working on the event loop");
                                list_remove(queue, &t->node);
                                inline_run = true;
                        }
                        break;
                }
        }
        /* A post only for an idle thread no post is on its way to yet: a busy thread takes
         * the next task without one, and posts nobody waits for would later send each idle
         * thread through the lock for nothing, right when the loop may submit again. */
        wake = !inline_run && p->n_idle > p->n_woken;
        if (wake)
                p->n_woken++;
        pthread_mutex_unlock(&p->lock);
        if (inline_run) {
                t->run(t);
                task_finished(p, t);
        } else if (wake && defer)
                p->posts_owed++;
        else if (wake)
                (void) sem_post(&p->work);
}

void io_pool_submit(IoPool *p, IoTask *t) {
        assert(p);
        assert(t && t->run && t->done && t->drop);

        pthread_mutex_lock(&p->lock);
        queue_and_unlock(p, t, false);
}

bool io_pool_try_submit(IoPool *p, IoTask *t) {
        assert(p);
        assert(t && t->run && t->done && t->drop);

        if (pthread_mutex_trylock(&p->lock) != 0)
                return false;
        queue_and_unlock(p, t, false);
        return true;
}

int io_pool_pin_idle(IoPool *p) {
        int cpu = sched_getcpu();
        bool any = false;
        cpu_set_t one;

        assert(p);

        if (cpu < 0 || CPU_COUNT(&p->any) < 2 || !CPU_ISSET(cpu, &p->any))
                return -1;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_mutex_lock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++) {
                if (!p->idle[i])
                        continue;
                /* Already there: no system call, the common case. */
                if (p->held[i] == cpu + 1 || pthread_setaffinity_np(p->threads[i], sizeof one, &one) == 0) {
                        p->held[i] = cpu + 1;
                        any = true;
                }
        }
        pthread_mutex_unlock(&p->lock);
        return any ? cpu : -1;
}

void io_pool_await(IoPool *p, IoTask *t, uint64_t max_usec) {
        assert(p);
        assert(t);

        if (max_usec == 0)
                return;
        p->awaited = t;
        p->await_until = now_monotonic_usec() + max_usec;
        (void) sd_event_source_set_prepare(p->source, on_prepare);
}

void io_pool_submit_deferred(IoPool *p, IoTask *t) {
        assert(p);
        assert(t && t->run && t->done && t->drop);

        pthread_mutex_lock(&p->lock);
        queue_and_unlock(p, t, true);
        if (p->posts_owed > 0)
                (void) sd_event_source_set_prepare(p->source, on_prepare);
}

void io_pool_submit_awaited(IoPool *p, IoTask *t, uint64_t max_usec) {
        assert(p);

        io_pool_submit_deferred(p, t);
        io_pool_await(p, t, max_usec);
}

void io_pool_set_nice(IoPool *p, int nice) {
        assert(p);

        p->nice = nice;
}

void io_pool_set_spare(IoPool *p) {
        assert(p);

        p->spare = true;
}

void io_pool_set_gated(IoPool *p) {
        assert(p);

        p->gated = true;
}

void io_pool_set_background(IoPool *p) {
        assert(p);

        p->background = true;
}

void io_pool_set_priority(IoPool *p, int64_t priority) {
        assert(p);

        (void) sd_event_source_set_priority(p->source, priority);
}

void io_pool_set_drained(IoPool *p, void (*drained)(void *userdata), void *userdata) {
        assert(p);

        p->drained = drained;
        p->drained_userdata = userdata;
}

unsigned io_pool_busy(const IoPool *p) {
        return p ? p->busy : 0;
}

bool io_pool_has_room(const IoPool *p) {
        assert(p);
        return p->busy < p->max_threads;
}

void io_pool_test_lock(IoPool *p, bool lock) {
        assert(p);

        if (lock)
                pthread_mutex_lock(&p->lock);
        else
                pthread_mutex_unlock(&p->lock);
}

void io_pool_test_delay(const char *what, const char *dir) {
        const char *spec = getenv("XFERD_TEST_DELAY"), *base;

        if (!spec || !dir || !(base = strrchr(dir, '/')))
                return;
        base++;
        /* OPERATION:SECONDS:DIRECTORY_NAME[,…] */
        while (*spec) {
                size_t len = strcspn(spec, ",");
                char entry[256], op[32], name[200];
                double secs;

                if (len < sizeof entry) {
                        memcpy(entry, spec, len);
                        entry[len] = 0;
                        if (sscanf(entry, "%31[^:]:%lf:%199s", op, &secs, name) == 3 && streq(op, what) &&
                            streq(name, base) && secs > 0) {
                                struct timespec ts = { .tv_sec = (time_t) secs,
                                                       .tv_nsec = (long) ((secs - (double) (time_t) secs) * 1e9) };
                                /* The tests wait for this line to know the operation hangs now. */
                                log_info("Test delay: %s in %s for %g s.", what, dir, secs);
                                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                                        ;
                                return;
                        }
                }
                spec += len;
                if (*spec == ',')
                        spec++;
        }
}
