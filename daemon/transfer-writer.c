/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The writer of a transfer: the buffers the loop filled, written to the file in order on a
 * thread of the write pool (one task at a time per transfer), as the file's owner, so that the
 * loop only reads sockets and copies. The file's hash stream gets the same buffers as they go
 * to a task and hashes them on a thread of its own meanwhile: on two CPUs the hash and the
 * pwrite() take the time of the longer, not of both. The loop takes each buffer back once its
 * task is done, counts its bytes as written, and passes it on to the hashers that lack them;
 * a 206's Content-Digest range hasher goes with each task and hashes what it writes. Without
 * a pool the buffers are written on the loop, as before. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "log.h"
#include "transfer-internal.h"
#include "util.h"

typedef struct Writer {
        IoTask task;                    /* first: the pool hands it back */
        Transfer *transfer;             /* NULL once the transfer is gone: done() frees */
        int fd;                         /* a duplicate: the transfer's owner may close its own */
        FsIdentity identity;            /* a copy: the job may go before a task of a cancelled transfer */

        /* The loop thread's. */
        bool running;                   /* a task is queued or runs */
        bool collected;                 /* transfer_writer_drain() took its results already */

        /* Set before the task is submitted, read by its thread (the pool's lock orders them);
         * then the thread's until it is finished. */
        List buffers;
        size_t attempted;               /* buffers the thread wrote, the failed one included */
        size_t last_done;               /* bytes of the last one that landed */
        int error;
        Hasher *range_hasher;           /* the response's (a 206's Content-Digest), the task's own */
        bool range_fault;               /* its updates fail (a test's fault point) */
        unsigned range_response;        /* of which response (BodyCheck.range_response) */
        bool range_failed;
        bool pause;                     /* XFERD_TEST_WRITE_PAUSE (writer_new()) */

        atomic_bool cancelled;          /* the transfer is gone: no pwrite() after this */
        atomic_bool stopping;           /* the transfer stops: the test pause ends */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool started;                   /* under lock: the thread took the task */
        bool stolen;                    /* under lock: a stop took it back before that */
        bool finished;                  /* under lock: the thread is done with the buffers */
} Writer;

/* On the loop: the range hasher back to the transfer's check, or dropped when a newer
 * response has its own; a failed update fails the body as on the loop. */
static void writer_range_back(Transfer *t, Writer *w) {
        if (w->range_failed && w->range_hasher && w->range_response == t->check.range_response)
                body_check_range_lost(&t->check);
        if (w->range_failed || t->check.range_hasher)
                w->range_hasher = hasher_free(w->range_hasher);
        else
                t->check.range_hasher = TAKE_PTR(w->range_hasher);
        w->range_failed = false;
}

static void writer_destroy(Writer *w) {
        hasher_free(w->range_hasher);
        body_buffer_release_all(&w->buffers);
        safe_close(w->fd);
        fs_identity_done(&w->identity);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
}

/* On the loop, for the test pause after a cancel: only tried, since the writer's thread runs
 * 10 nice levels below the loop and, preempted inside the lock, would hold the loop for as
 * long as it waits for a CPU. The pause looks again by itself soon. */
static void writer_wake(Writer *w) {
        if (pthread_mutex_trylock(&w->lock) != 0)
                return;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

/* On the writer's thread: the test pause until the transfer stops, looking every few
 * milliseconds (writer_wake() may miss it). */
static void writer_pause(Writer *w) {
        pthread_mutex_lock(&w->lock);
        while (!atomic_load(&w->cancelled) && !atomic_load(&w->stopping)) {
                struct timespec ts = timespec_realtime_after(5 * USEC_PER_MSEC);

                (void) pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        }
        pthread_mutex_unlock(&w->lock);
}

/* On a thread of the pool. */
static void writer_run(IoTask *task) {
        Writer *w = (Writer *) task;
        bool stolen;

        pthread_mutex_lock(&w->lock);
        stolen = w->stolen;
        w->started = !stolen;
        pthread_mutex_unlock(&w->lock);
        if (stolen)
                goto finish;  /* the loop wrote the buffers itself */
        if (w->pause) {
                BodyBuffer *first = LIST_ENTRY(w->buffers.head, BodyBuffer, node);
                /* The tests wait for this line to know that writes are held now. */
                log_info("Test pause: the writer holds bytes from %" PRIu64 " until the transfer stops.",
                         first ? first->offset : 0);
                writer_pause(w);
        }
        for (ListNode *n = w->buffers.head; n && !atomic_load(&w->cancelled); n = n->next) {
                BodyBuffer *b = LIST_ENTRY(n, BodyBuffer, node);
                size_t done = 0;

                w->attempted++;
                /* b->len stays: a hash stream may be reading the buffer meanwhile. */
                w->error = fsops_write_at(&w->identity, w->fd, b->data, b->len, b->offset, &done);
                w->last_done = done;
                /* A 206's Content-Digest: hashed as written, also while the loop waits (else
                 * it would). */
                if (w->range_hasher && !w->range_failed && done > 0) {
                        w->range_failed = w->range_fault || hasher_update(w->range_hasher, b->data, done) < 0;
                        b->range_hashed = !w->range_failed;
                }
                if (w->error < 0)
                        break;  /* no byte behind a hole */
        }
finish:
        /* The transfer is gone (Cancel): its file, unlinked by now or soon, may lose its last
         * descriptor here, which frees the blocks; here, not on the loop. */
        if (atomic_load(&w->cancelled))
                w->fd = safe_close(w->fd);
        pthread_mutex_lock(&w->lock);
        w->finished = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

/* On the loop: the task's buffers written (in order), the rest after a failure dropped. */
static void writer_collect(Transfer *t, Writer *w) {
        BodyBuffer *b;

        writer_range_back(t, w);
        for (size_t i = 0; (b = LIST_ENTRY(w->buffers.head, BodyBuffer, node)); i++) {
                list_remove(&w->buffers, &b->node);
                if (i + 1 < w->attempted)
                        transfer_buffer_written(t, b, b->len, 0);
                else if (i + 1 == w->attempted)
                        transfer_buffer_written(t, b, w->last_done, w->error);
                else
                        body_buffer_release(b);
        }
}

static void writer_kick(Transfer *t);

static void writer_done(IoTask *task) {
        Writer *w = (Writer *) task;
        Transfer *t = w->transfer;

        w->running = false;
        if (!t) {
                writer_destroy(w);
                return;
        }
        if (w->collected)
                w->collected = false;
        else
                writer_collect(t, w);
        /* Bytes that waited for the writer to be free go now, in one task. */
        if (t->cur && list_is_empty(&t->write_queue))
                (void) transfer_write_flush(t);
        writer_kick(t);
        /* Last: the end of the transfer, whose owner may free it. */
        if (!w->running && t->end_pending)
                transfer_on_writes_done(t);
}

static void writer_dropped(IoTask *task) {
        Writer *w = (Writer *) task;

        w->running = false;
        if (!w->transfer)
                writer_destroy(w);
        else {
                w->error = -ECANCELED;  /* only when the pool is freed before the transfer */
                writer_range_back(w->transfer, w);
        }
}

/* A copy of the owner's identity, or the daemon's own without one. */
static int identity_copy(const FsIdentity *from, FsIdentity *to) {
        if (!from) {
                *to = (FsIdentity) { .uid = getuid(), .gid = getgid() };
                return 0;
        }
        return fs_identity_copy(from, to);
}

static Writer *writer_new(Transfer *t) {
        _cleanup_free_ Writer *w = calloc(1, sizeof *w);

        if (!w || identity_copy(t->identity, &w->identity) < 0)
                return NULL;
        w->fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
        if (w->fd < 0) {
                fs_identity_done(&w->identity);
                return NULL;
        }
        w->task = (IoTask) { .run = writer_run, .done = writer_done, .drop = writer_dropped };
        w->transfer = t;
        /* XFERD_TEST_WRITE_PAUSE=1: every task waits before its first write until the transfer
         * stops (Suspend, Cancel), so that a test acts while writes are queued, however fast
         * the machine is. */
        w->pause = streq_ptr(getenv("XFERD_TEST_WRITE_PAUSE"), "1");
        atomic_init(&w->cancelled, false);
        atomic_init(&w->stopping, false);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        return TAKE_PTR(w);
}

/* Writes b on the loop. */
static void write_here(Transfer *t, BodyBuffer *b) {
        size_t done = 0;
        int r = fsops_write_at(t->identity, t->fd, b->data, b->len, b->offset, &done);

        transfer_buffer_written(t, b, done, r);
}

/* Hands the queued buffers to a thread when none of this transfer's runs. */
static void writer_kick(Transfer *t) {
        BodyBuffer *first = LIST_ENTRY(t->write_queue.head, BodyBuffer, node);
        Writer *w;

        if (!first || (t->writer && t->writer->running))
                return;
        /* A write failed before them: no byte lands behind the hole it left. */
        if (first->offset != t->position) {
                body_buffer_release_all(&t->write_queue);
                t->queued_end = t->position;
                return;
        }
        if (!t->writer)
                t->writer = writer_new(t);
        w = t->writer;
        if (!w) {
                BodyBuffer *b;
                /* No thread of its own: written here, as without a pool. */
                while ((b = LIST_ENTRY(t->write_queue.head, BodyBuffer, node))) {
                        list_remove(&t->write_queue, &b->node);
                        write_here(t, b);
                }
                return;
        }
        w->buffers = t->write_queue;
        t->write_queue = (List) { NULL, NULL, 0 };
        w->attempted = w->last_done = 0;
        w->error = 0;
        /* The hash stream starts on them now, beside the write. */
        for (ListNode *n = w->buffers.head; n; n = n->next)
                body_check_queued(&t->check, LIST_ENTRY(n, BodyBuffer, node));
        /* The task owns it meanwhile: a transfer freed during the task cannot free it under
         * the thread. */
        w->range_hasher = TAKE_PTR(t->check.range_hasher);
        w->range_fault = t->check.range_fault;
        w->range_response = t->check.range_response;
        w->finished = w->started = w->stolen = false;
        w->running = true;
        if (w->pause)
                log_info("Test pause: a writer task is queued from byte %" PRIu64 ".", t->position);
        io_pool_submit(t->write_pool, &w->task);
}

/* The most of a request's last bytes written on the loop rather than by the writer. */
#define WRITE_HERE_MAX (256u * 1024u)

bool transfer_writer_queue(Transfer *t, BodyBuffer *b, bool last) {
        size_t allowed;

        assert(t);
        assert(b);

        /* After a failure no byte may land behind the hole it left. */
        if (t->write_errno != 0) {
                body_buffer_release(b);
                return false;
        }
        allowed = write_limits_allowed(&t->limits, t->fd, t->queued_end - t->position, b->len);
        if (allowed < b->len) {
                b->len = allowed;
                t->write_errno = ENOSPC;  /* the KeepFree reserve: what fits is still written */
        }
        t->queued_end = b->offset + b->len;
        /* A small file's whole body is such a last piece: its pwrite() into the page cache
         * costs less than the two thread wake-ups there and back, which made 1000 files of
         * 16 KiB take half as long again. */
        if (!t->write_pool || (last && b->len <= WRITE_HERE_MAX && transfer_writer_idle(t)))
                write_here(t, b);
        else {
                list_append(&t->write_queue, &b->node);
                writer_kick(t);
        }
        return t->write_errno == 0;
}

bool transfer_writer_idle(const Transfer *t) {
        assert(t);

        return list_is_empty(&t->write_queue) && !(t->writer && t->writer->running);
}

void transfer_writer_drain(Transfer *t) {
        Writer *w;
        BodyBuffer *b;

        assert(t);

        w = t->writer;
        if (!transfer_writer_idle(t))
                log_debug("Stopping with bytes [%" PRIu64 ", %" PRIu64 ") received and not written yet: writing them first.",
                          t->position, t->queued_end);
        if (w && w->running && !w->collected) {
                /* A few MiB at most: Suspend replies once the bytes received are on disk. */
                atomic_store(&w->stopping, true);
                pthread_mutex_lock(&w->lock);
                pthread_cond_broadcast(&w->cond);
                /* A task still queued (behind other transfers' in the pool) is taken back:
                 * the loop waits only for this transfer's write in flight. */
                if (!w->started)
                        w->stolen = true;
                while (!w->stolen && !w->finished)
                        pthread_cond_wait(&w->cond, &w->lock);
                pthread_mutex_unlock(&w->lock);
                if (w->stolen) {
                        List q = w->buffers;
                        writer_range_back(t, w);
                        /* Before the queue: they came first. */
                        w->buffers = (List) { NULL, NULL, 0 };
                        while ((b = LIST_ENTRY(t->write_queue.head, BodyBuffer, node))) {
                                list_remove(&t->write_queue, &b->node);
                                list_append(&q, &b->node);
                        }
                        t->write_queue = q;
                } else
                        writer_collect(t, w);
                w->collected = true;  /* done() comes later and finds nothing to do */
        }
        while ((b = LIST_ENTRY(t->write_queue.head, BodyBuffer, node))) {
                list_remove(&t->write_queue, &b->node);
                if (b->offset != t->position) {
                        body_buffer_release(b);  /* behind the hole of a failed write */
                        t->queued_end = t->position;
                }
                else
                        write_here(t, b);
        }
}

void transfer_writer_detach(Transfer *t) {
        Writer *w;

        assert(t);

        body_buffer_release_all(&t->write_queue);
        w = TAKE_PTR(t->writer);
        if (!w)
                return;
        if (!w->running) {
                writer_destroy(w);
                return;
        }
        /* The thread stops before its next pwrite() (on its own descriptor: the file, unlinked
         * by now or soon, is never created again) and done() frees. */
        w->transfer = NULL;
        atomic_store(&w->cancelled, true);
        writer_wake(w);
}
