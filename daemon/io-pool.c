/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker threads: woken by a condition variable, results handed back through an
 * eventfd that the loop watches.
 *
 * Why threads rather than io_uring: syncfs() and sync_file_range()'s policy, the per-
 * operation credentials (setfsuid/setfsgid/setgroups per thread, against registered
 * personalities per identity), and SQLite's checkpoint have no io_uring form, and io_uring
 * would run blocking file-system calls on its own kernel workers anyway. A hung file system
 * holds one thread; the pool grows while tasks wait and no thread is free. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>

#include "io-pool.h"
#include "log.h"
#include "util.h"

struct IoPool {
        sd_event_source *source;        /* the eventfd: finished tasks are waiting */
        int efd;
        unsigned max_threads, n_threads, n_idle, busy;
        int nice;                       /* of the threads: 0 is the loop's */
        pthread_t *threads;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
        IoTask *queue_head, *queue_tail;        /* waiting for a thread */
        IoTask *done_head, *done_tail;          /* run, waiting for the loop */
};

static void queue_push(IoTask **head, IoTask **tail, IoTask *t) {
        t->next = NULL;
        if (*tail)
                (*tail)->next = t;
        else
                *head = t;
        *tail = t;
}

static IoTask *queue_pop(IoTask **head, IoTask **tail) {
        IoTask *t = *head;

        if (t) {
                *head = t->next;
                if (!*head)
                        *tail = NULL;
                t->next = NULL;
        }
        return t;
}

static void *worker(void *userdata) {
        IoPool *p = userdata;

        /* Per thread on Linux: the loop and the other pools keep theirs. Relative to the
         * loop's (a daemon started at nice 15 keeps its hashing below itself, never above). */
        if (p->nice > 0) {
                int base, prio;

                errno = 0;
                base = getpriority(PRIO_PROCESS, (id_t) gettid());
                prio = errno != 0 ? p->nice : base + p->nice;
                if (setpriority(PRIO_PROCESS, (id_t) gettid(), prio > 19 ? 19 : prio) < 0)
                        log_debug_errno(-errno, "Cannot lower the CPU priority of a worker thread");
        }
        pthread_mutex_lock(&p->lock);
        for (;;) {
                IoTask *t;

                while (!p->stop && !p->queue_head) {
                        p->n_idle++;
                        pthread_cond_wait(&p->wake, &p->lock);
                        p->n_idle--;
                }
                if (p->stop)
                        break;
                t = queue_pop(&p->queue_head, &p->queue_tail);
                pthread_mutex_unlock(&p->lock);
                t->run(t);
                pthread_mutex_lock(&p->lock);
                queue_push(&p->done_head, &p->done_tail, t);
                /* The loop reads the counter and then takes every finished task. */
                (void) eventfd_write(p->efd, 1);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        IoPool *p = userdata;
        eventfd_t v;
        IoTask *head, *t;

        (void) eventfd_read(p->efd, &v);
        pthread_mutex_lock(&p->lock);
        head = p->done_head;
        p->done_head = p->done_tail = NULL;
        pthread_mutex_unlock(&p->lock);
        while ((t = head)) {
                head = t->next;
                t->next = NULL;
                p->busy--;
                t->done(t);
        }
        return 0;
}

int io_pool_new(sd_event *event, unsigned max_threads, IoPool **ret) {
        IoPool *p;
        int r;

        assert(event);
        assert(max_threads > 0);
        assert(ret);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->max_threads = max_threads;
        p->threads = calloc(max_threads, sizeof(pthread_t));
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!p->threads || p->efd < 0) {
                r = p->threads ? -errno : -ENOMEM;
                safe_close(p->efd);
                free(p->threads);
                free(p);
                return r;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wake, NULL);
        r = sd_event_add_io(event, &p->source, p->efd, EPOLLIN, on_done, p);
        if (r < 0) {
                p->efd = safe_close(p->efd);
                io_pool_free(p);
                return r;
        }
        (void) sd_event_source_set_description(p->source, "io-pool");
        *ret = p;
        return 0;
}

IoPool *io_pool_free(IoPool *p) {
        IoTask *t;

        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        while ((t = queue_pop(&p->queue_head, &p->queue_tail)))
                t->drop(t);
        while ((t = queue_pop(&p->done_head, &p->done_tail)))
                t->drop(t);
        sd_event_source_disable_unref(p->source);
        safe_close(p->efd);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        free(p);
        return NULL;
}

/* Started from the loop thread, whose file-system identity is its own between operations:
 * a thread inherits the credentials and capabilities of its creator at that moment, and the
 * signal mask, which keeps every signal for the loop's signalfd. */
static int start_thread(IoPool *p) {
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&p->threads[p->n_threads], NULL, worker, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        p->n_threads++;
        return 0;
}

void io_pool_submit(IoPool *p, IoTask *t) {
        bool inline_run = false;

        assert(p);
        assert(t && t->run && t->done && t->drop);

        p->busy++;
        pthread_mutex_lock(&p->lock);
        queue_push(&p->queue_head, &p->queue_tail, t);
        if (p->n_idle == 0 && p->n_threads < p->max_threads) {
                int r = start_thread(p);
                if (r < 0 && p->n_threads == 0) {
                        log_warning_errno(r, "Cannot start a worker thread; working on the event loop");
                        (void) queue_pop(&p->queue_head, &p->queue_tail);
                        inline_run = true;
                }
        }
        if (!inline_run)
                pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        if (inline_run) {
                t->run(t);
                pthread_mutex_lock(&p->lock);
                queue_push(&p->done_head, &p->done_tail, t);
                pthread_mutex_unlock(&p->lock);
                (void) eventfd_write(p->efd, 1);
        }
}

void io_pool_set_nice(IoPool *p, int nice) {
        assert(p);

        p->nice = nice;
}

void io_pool_set_priority(IoPool *p, int64_t priority) {
        assert(p);

        (void) sd_event_source_set_priority(p->source, priority);
}

unsigned io_pool_busy(const IoPool *p) {
        return p ? p->busy : 0;
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
