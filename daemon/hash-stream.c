/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loop's side of a hash stream: what is handed to a thread and when, what comes back, the
 * owner's calls. The task on the thread is hash-stream-task.c's; what the two share, and how,
 * is in hash-stream-internal.h. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "body-buffer.h"
#include "hash-stream-internal.h"
#include "log.h"
#include "util.h"

/* A task hands the stream back after this much, so that several streams share the threads. */
#define TASK_MAX (32u * 1024u * 1024u)
/* The most buffers a stream holds: a transfer's buffers come back once written and hashed, so
 * a stream that held more would hold the transfer to the hash's pace. A stream behind (a
 * resume's prefix, a hash starved of CPU) holds none: it reads those bytes back from the page
 * cache later, and the transfer goes on at the network's and the writer's pace, the hash's
 * backlog then overlapping the final sync instead of stretching the transfer. */
#define HOLD_MAX 4u
/* The most a stream hashing in the background lets its backlog grow before it competes for the
 * CPU (at its pool's level) until it is under half of it: about 0.3 s of SHA-256 with the
 * CPU's extensions, which the final sync of so large a file may hide on a slow disk. */
#define BACKGROUND_BACKLOG_MAX (512u * 1024u * 1024u)
/* Once less than that is left to write, the bound is what is left, but never below this
 * (about 5 ms of SHA-256 with the CPU's extensions). */
#define BACKGROUND_BACKLOG_MIN (8u * 1024u * 1024u)

/* Releases the stream's buffers of l (listed by their hash_node). */
static void release_all(List *l) {
        BodyBuffer *b;

        while ((b = LIST_ENTRY(l->head, BodyBuffer, hash_node))) {
                list_remove(l, &b->hash_node);
                body_buffer_release(b);
        }
}

static void stream_destroy(HashStream *s) {
        release_all(&s->fed);
        release_all(&s->task_buffers);
        hasher_free(s->hasher);
        hasher_free(atomic_load(&s->mark));
        hasher_free(s->spare);
        safe_close(s->fd);
        pthread_cond_destroy(&s->pause_cond);
        pthread_mutex_destroy(&s->pause_lock);
        free(s);
}

/* On the loop, while no task runs: the hasher changed here, the mark is no copy of it. */
static void mark_drop(HashStream *s) {
        hasher_free(atomic_exchange(&s->mark, NULL));
}

/* On the loop, before a task: a mark for a free that comes before the task's first piece. */
static void mark_ensure(HashStream *s) {
        Hasher *m = NULL;

        if (atomic_load(&s->mark))
                return;
        if (hasher_new(0, &m) < 0)
                return;
        if (hasher_copy(m, s->hasher) < 0) {
                hasher_free(m);
                return;
        }
        atomic_store(&s->mark, m);
}

static void stream_kick(HashStream *s);

static void stream_task_back(IoTask *t) {
        HashStream *s = (HashStream *) t;

        s->running = false;
        s->pause = false;
        /* Also those a hurried task left: the file holds them, the next task reads them. */
        release_all(&s->task_buffers);
        if (s->freed) {
                stream_destroy(s);
                return;
        }
        if (s->restart_pending) {
                /* What the task read may be of the bytes before the truncation. */
                s->restart_pending = false;
                s->error = hasher_reset(s->hasher);
                mark_drop(s);
        } else if (s->task_error < 0 && s->error == 0)
                s->error = s->task_error;
        atomic_store(&s->progress, hasher_get_size(s->hasher));
        /* Once a stream: the tests wait for it to stop a transfer whose hash has begun. */
        if (!s->told && s->error == 0 && hasher_get_size(s->hasher) > 0) {
                s->told = true;
                log_debug("A hash stream holds its first %" PRIu64 " bytes.", hasher_get_size(s->hasher));
        }
        for (DigestAlgorithm a = 0; a < _DIGEST_ALGORITHM_MAX; a++)
                if ((s->add_pending & DIGEST_ALGORITHM_BIT(a)) && s->error == 0)
                        s->error = hasher_add_algorithm(s->hasher, a);
        if (s->add_pending != 0)
                mark_drop(s);
        s->add_pending = 0;
        stream_kick(s);
}

/* Only when the pool is freed before the stream's owner let go, which the manager avoids. */
static void stream_task_dropped(IoTask *t) {
        HashStream *s = (HashStream *) t;

        s->running = false;
        release_all(&s->task_buffers);
        if (s->freed)
                stream_destroy(s);
        else if (s->error == 0)
                s->error = -ECANCELED;
}

/* The backlog a stream in the background may have. A backlog larger than what is left to write
 * is hashed after the transfer's last byte, by one thread on one CPU while the others have
 * nothing left to do (a GiB's 0.3-0.4 s on two CPUs): the stream competes from then on, so
 * that less is left after the last byte (10 nice levels below the loop it gets about half a
 * CPU of two: docs/benchmarks.md). */
uint64_t hash_stream_backlog_bound(uint64_t written, uint64_t total) {
        uint64_t left;

        if (total == UINT64_MAX)
                return BACKGROUND_BACKLOG_MAX;
        /* All written (or more than the server said): the verdict is asked for next. */
        left = total > written ? total - written : 0;
        if (left >= BACKGROUND_BACKLOG_MAX)
                return BACKGROUND_BACKLOG_MAX;
        return left > BACKGROUND_BACKLOG_MIN ? left : BACKGROUND_BACKLOG_MIN;
}

/* Whether the next task goes to the background pool: nobody waits for the verdict yet, and
 * the backlog is within its bound. */
static bool stream_background(HashStream *s) {
        uint64_t hashed = atomic_load(&s->progress), behind = s->written > hashed ? s->written - hashed : 0;
        uint64_t bound = hash_stream_backlog_bound(s->written, s->total);

        if (!s->background_pool)
                return false;
        if (behind > bound)
                s->catching_up = true;
        else if (behind < bound / 2)
                s->catching_up = false;
        return !s->catching_up;
}

/* Hands the written range to a thread, or tells the owner the verdict may be read. */
static void stream_kick(HashStream *s) {
        uint64_t size;

        /* A background task behind by too much ends after its piece; the next competes. */
        if (s->running && s->task_background && !stream_background(s))
                atomic_store(&s->hurry, true);
        if (s->running || s->held)
                return;
        size = hasher_get_size(s->hasher);
        /* With no algorithm (yet) there is nothing to read the bytes for. */
        if (s->error == 0 && size < s->written && s->algorithms != 0) {
                BodyBuffer *first = LIST_ENTRY(s->fed.head, BodyBuffer, hash_node);
                uint64_t end = first && first->offset < s->written ? first->offset : s->written;

                /* The file's bytes before the first buffer, then the buffers, unless those
                 * bytes are many: then they alone, and the buffers wait. */
                if (end > size && end - size > TASK_MAX)
                        s->task_end = size + TASK_MAX;
                else {
                        s->task_end = end;
                        s->task_buffers = s->fed;
                        s->fed = (List) { NULL, NULL, 0 };
                }
                s->running = true;
                mark_ensure(s);
                atomic_store(&s->task_state, TASK_QUEUED);
                atomic_store(&s->hurry, false);
                /* The background only where a thread is free: queued there behind other
                 * streams' tasks, a verdict asked for meanwhile would wait for them, on threads
                 * a busy machine hardly runs. Its pieces are short, since an idle CPU may be
                 * taken back at any moment. */
                s->task_background = stream_background(s) && io_pool_has_room(s->background_pool);
                s->task_piece = s->task_background ? HASH_STREAM_BACKGROUND_PIECE : HASH_STREAM_PIECE;
                /* Its threads take only idle CPUs: one of them holding its pool's lock just now
                 * may not run again for long, and the loop does not wait for it. */
                if (s->task_background && io_pool_try_submit(s->background_pool, &s->task))
                        return;
                s->task_background = false;
                s->task_piece = HASH_STREAM_PIECE;
                io_pool_submit(s->pool, &s->task);
                return;
        }
        /* Nothing left to hash from them (or nothing will be). */
        release_all(&s->fed);
        if (s->finishing && (s->error < 0 || size >= s->end)) {
                s->finishing = false;
                /* May free s. More than the file's bytes hashed: it shrank, then grew. */
                s->done(s, s->error < 0 ? s->error : size == s->end ? 0 : -ENODATA, s->userdata);
        }
}

int hash_stream_new(IoPool *pool, IoPool *background_pool, int fd, Hasher *h, uint64_t written, HashStream **ret) {
        HashStream *s;
        int dfd;

        assert(pool);
        assert(fd >= 0);
        assert(h);
        assert(ret);

        /* Nothing is read without an algorithm: most downloads expect no digest and get none,
         * and their file's descriptor is not duplicated (and closed) for nothing. */
        if (hasher_get_algorithms(h) != 0) {
                dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (dfd < 0)
                        return -errno;
        } else
                dfd = -1;
        s = calloc(1, sizeof *s);
        if (!s) {
                safe_close(dfd);
                return -ENOMEM;
        }
        s->task = (IoTask) { .run = hash_stream_run, .done = stream_task_back, .drop = stream_task_dropped };
        s->pool = pool;
        s->background_pool = background_pool;
        s->fd = dfd;
        s->owner_fd = dfd < 0 ? fd : -1;
        s->hasher = h;
        s->algorithms = hasher_get_algorithms(h);
        s->pause = hash_stream_test_pause() && written > hasher_get_size(h);
        s->stall = hash_stream_test_stall() && written > hasher_get_size(h);
        atomic_init(&s->cancelled, false);
        atomic_init(&s->hurry, false);
        atomic_init(&s->task_state, TASK_OVER);
        atomic_init(&s->mark, NULL);
        pthread_mutex_init(&s->pause_lock, NULL);
        pthread_cond_init(&s->pause_cond, NULL);
        /* Bytes held are read in order from the disk; bytes just written from the page cache
         * (a new file has none of the first kind: no advice, one system call a file less). */
        if (written > 0 && dfd >= 0)
                (void) posix_fadvise(dfd, 0, 0, POSIX_FADV_SEQUENTIAL);
        s->written = s->from_file = written;
        s->total = UINT64_MAX;
        atomic_init(&s->progress, hasher_get_size(h));
        stream_kick(s);
        *ret = s;
        return 0;
}

void hash_stream_written(HashStream *s, uint64_t written) {
        assert(s);

        if (written <= s->written)
                return;
        s->written = written;
        stream_kick(s);
}

void hash_stream_set_total(HashStream *s, uint64_t total) {
        assert(s);

        /* Looked at by the next kick (the next bytes written). */
        s->total = total;
}

/* Whether the stream takes b (the next bytes after those it has): only while it is in step,
 * every byte it must read back from the file hashed, and holding few buffers. */
static bool stream_takes(HashStream *s, const BodyBuffer *b) {
        return s->error == 0 && !s->held && s->algorithms != 0 && b->offset == s->written &&
               atomic_load(&s->progress) >= s->from_file &&
               s->fed.n + (s->running ? s->task_buffers.n : 0) < HOLD_MAX;
}

static void stream_append(HashStream *s, BodyBuffer *b) {
        list_append(&s->fed, &b->hash_node);
        if (b->offset + b->len > s->written)
                s->written = b->offset + b->len;
        stream_kick(s);
}

void hash_stream_feed(HashStream *s, BodyBuffer *b) {
        uint64_t end;

        assert(s);
        assert(b);

        if (stream_takes(s, b)) {
                stream_append(s, b);
                return;
        }
        /* Read back from the file later. */
        end = b->offset + b->len;
        body_buffer_release(b);
        if (end > s->from_file)
                s->from_file = end;
        hash_stream_written(s, end);
}

void hash_stream_feed_ahead(HashStream *s, BodyBuffer *b) {
        assert(s);
        assert(b);

        /* Else the stream gets it (or only its end) once it is written. */
        if (!stream_takes(s, b))
                return;
        b->hashed_ahead = true;
        stream_append(s, body_buffer_ref(b));
}

uint64_t hash_stream_progress(const HashStream *s) {
        assert(s);

        if (s->error < 0 || s->algorithms == 0)
                return UINT64_MAX;
        return atomic_load(&s->progress);
}

void hash_stream_restart(HashStream *s) {
        assert(s);

        release_all(&s->fed);
        s->written = s->from_file = 0;
        s->total = UINT64_MAX;  /* until the new response says */
        s->error = 0;
        if (s->running)
                s->restart_pending = true;
        else {
                s->error = hasher_reset(s->hasher);
                mark_drop(s);
        }
        atomic_store(&s->progress, 0);
}

void hash_stream_hold(HashStream *s) {
        assert(s);
        s->held = true;
}

unsigned hash_stream_get_algorithms(const HashStream *s) {
        assert(s);
        return s->algorithms;
}

int hash_stream_add_algorithm(HashStream *s, DigestAlgorithm a) {
        int r;

        assert(s);
        assert(a >= 0 && a < _DIGEST_ALGORITHM_MAX);

        if (s->algorithms & DIGEST_ALGORITHM_BIT(a))
                return 0;
        if (s->written > 0)
                return -EBUSY;
        /* The first algorithm: the file will be read, from a descriptor of the stream's own
         * (the owner's is open: nothing is written yet). */
        if (s->fd < 0) {
                assert(s->owner_fd >= 0);
                s->fd = fcntl(s->owner_fd, F_DUPFD_CLOEXEC, 3);
                if (s->fd < 0)
                        return -errno;
                s->owner_fd = -1;
        }
        if (s->running) {
                /* Only a task from before a restart runs with nothing written. */
                assert(s->restart_pending);
                s->add_pending |= DIGEST_ALGORITHM_BIT(a);
        } else {
                r = hasher_add_algorithm(s->hasher, a);
                if (r < 0)
                        return r;
                mark_drop(s);
        }
        s->algorithms |= DIGEST_ALGORITHM_BIT(a);
        return 0;
}

int hash_stream_finish(HashStream *s, uint64_t end, HashStreamDone done, void *userdata) {
        assert(s);
        assert(done);

        if (s->error < 0)
                return s->error;
        if (s->algorithms == 0)
                return -ENOENT;
        /* Someone waits now: the rest in the pool at the usual level, a task running in the
         * background's ends after its piece. */
        if (s->background_pool) {
                s->background_pool = NULL;
                atomic_store(&s->hurry, s->running && s->task_background);
        }
        /* The file holds them: a shorter file shows as -ENODATA from the read. */
        if (end > s->written)
                s->written = end;
        if (!s->running && hasher_get_size(s->hasher) >= end) {
                if (hasher_get_size(s->hasher) > end)
                        return -ENODATA;  /* more was hashed than the file has: it shrank */
                return 1;
        }
        s->finishing = true;
        s->end = end;
        s->done = done;
        s->userdata = userdata;
        stream_kick(s);
        return 0;
}

Hasher *hash_stream_free(HashStream *s) {
        Hasher *h = NULL;

        if (!s)
                return NULL;
        if (s->running) {
                _cleanup_(hasher_freep) Hasher *m = NULL;
                bool keep = false;
                int error = 0;

                /* The thread stops after its piece (or its test pause) and done() frees. */
                release_all(&s->fed);
                s->freed = true;
                atomic_store(&s->cancelled, true);
                /* Only tried: the paused thread looks again by itself soon. */
                if (pthread_mutex_trylock(&s->pause_lock) == 0) {
                        pthread_cond_broadcast(&s->pause_cond);
                        pthread_mutex_unlock(&s->pause_lock);
                }
                /* A keeping stop, so that the next start goes on from here instead of hashing
                 * the whole file again: a task not started is taken back with the hasher, a
                 * task done leaves it, and from a task that runs the loop takes the mark, never
                 * waiting for the thread (its piece may be a read from a hung file system). */
                if (s->held) {
                        int state = TASK_QUEUED;

                        if (atomic_compare_exchange_strong(&s->task_state, &state, TASK_STOLEN))
                                keep = true;
                        else if (state == TASK_OVER) {
                                keep = true;
                                error = s->task_error;
                        } else
                                m = atomic_exchange(&s->mark, NULL);
                }
                /* done() frees the stream later, without the hasher. */
                if (s->error == 0 && !s->restart_pending && s->add_pending == 0) {
                        if (keep && error == 0)
                                h = TAKE_PTR(s->hasher);
                        else if (m)
                                h = TAKE_PTR(m);
                }
                return h;
        }
        if (s->error == 0)
                h = TAKE_PTR(s->hasher);
        stream_destroy(s);
        return h;
}
