/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hash stream's task on a thread of the pool: the bytes the file holds read back piece by
 * piece, then the buffers fed since hashed from memory, a copy of the hasher (the mark) left
 * after each whole piece; and the test pause and stall that hold it after its first piece. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cpu-gate.h"
#include "hash-stream-internal.h"
#include "log.h"
#include "util.h"

/* XFERD_TEST_HASH_PAUSE=1: the hashing of the bytes a file holds when its stream starts stops
 * after its first piece until the stream is freed, so a test can Cancel meanwhile, however
 * fast the machine is. */
bool hash_stream_test_pause(void) {
        static int pause = -1;

        if (pause < 0)
                pause = streq_ptr(getenv("XFERD_TEST_HASH_PAUSE"), "1");
        return pause;
}

/* XFERD_TEST_HASH_STALL=FIFO: as the pause, but the thread then blocks opening and reading the
 * FIFO until a writer closes it, as a read from a hung file system blocks, freed or not. */
const char *hash_stream_test_stall(void) {
        static const char *path;
        static bool looked;

        if (!looked) {
                path = getenv("XFERD_TEST_HASH_STALL");
                looked = true;
        }
        return path;
}

static void stall(void) {
        char c;
        int fd;

        log_info("Test stall: the hashing blocks on the FIFO after its first piece.");
        fd = open(hash_stream_test_stall(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                (void) read(fd, &c, 1);
        safe_close(fd);
}

/* The test pause's wait. The free only tries the lock (a thread preempted inside it would hold
 * the loop), so a wake-up may be missed: the wait looks again every few milliseconds. */
static void wait_for_cancel(HashStream *s) {
        pthread_mutex_lock(&s->pause_lock);
        while (!atomic_load(&s->cancelled)) {
                struct timespec ts = timespec_realtime_after(5 * USEC_PER_MSEC);

                (void) pthread_cond_timedwait(&s->pause_cond, &s->pause_lock, &ts);
        }
        pthread_mutex_unlock(&s->pause_lock);
}

/* On a thread of the pool, after a whole piece: the mark becomes the hasher as it is. The
 * copy goes into the last mark replaced, then the two swap in one step; a failed copy leaves
 * the older mark, a prefix all the same. A copy of a digest's state costs about a microsecond,
 * a piece a millisecond. */
static void mark(HashStream *s) {
        cpu_gate_pass();
        atomic_store(&s->progress, hasher_get_size(s->hasher));
        if (!s->spare && hasher_new(0, &s->spare) < 0)
                return;
        if (hasher_copy(s->spare, s->hasher) < 0)
                return;
        s->spare = atomic_exchange(&s->mark, s->spare);
}

/* On a thread of the pool: the task ends after its piece (the rest goes to the next task; the
 * test pause holds it all the same). */
static bool task_stops(HashStream *s) {
        return atomic_load(&s->cancelled) || (atomic_load(&s->hurry) && !s->pause);
}

/* On a thread of the pool: the file's bytes up to end, read back. */
static int hash_from_file(HashStream *s, uint64_t end) {
        int r;

        while (hasher_get_size(s->hasher) < end && !task_stops(s)) {
                r = hasher_update_from_fd(s->hasher, s->fd, end, s->task_piece);
                if (r < 0)
                        return r;
                mark(s);
                if (s->stall) {
                        s->stall = false;
                        stall();
                }
                if (s->pause) {
                        /* The tests wait for this line to know that the first piece is hashed. */
                        log_info("Test pause: the hashing holds after %" PRIu64 " bytes until the stream is freed.",
                                 hasher_get_size(s->hasher));
                        wait_for_cancel(s);
                        return 0;
                }
        }
        return 0;
}

/* On a thread of the pool. */
void hash_stream_run(IoTask *t) {
        HashStream *s = (HashStream *) t;
        int state = TASK_QUEUED;
        int r;

        if (!atomic_compare_exchange_strong(&s->task_state, &state, TASK_STARTED)) {
                s->fd = safe_close(s->fd);  /* stolen by the free: see below */
                return;
        }
        r = hash_from_file(s, s->task_end);
        for (ListNode *n = s->task_buffers.head; n && r >= 0 && !task_stops(s); n = n->next) {
                BodyBuffer *b = LIST_ENTRY(n, BodyBuffer, hash_node);
                uint64_t size = hasher_get_size(s->hasher);

                /* Bytes before the buffer that the hasher lacks are in the file already. */
                if (size < b->offset) {
                        r = hash_from_file(s, b->offset);
                        size = hasher_get_size(s->hasher);
                        if (r < 0 || size < b->offset)
                                break;
                }
                while (r >= 0 && b->offset + b->len > size && !task_stops(s)) {
                        uint64_t left = b->offset + b->len - size;
                        size_t k = left < s->task_piece ? (size_t) left : s->task_piece;

                        r = hasher_update(s->hasher, b->data + (size - b->offset), k);
                        if (r >= 0)
                                mark(s);
                        size += k;
                }
        }
        s->task_error = r < 0 ? r : 0;
        /* Freed meanwhile: the last descriptor of a deleted file may be this one, and its
         * close frees the file's blocks, which is no work for the loop. */
        if (atomic_load(&s->cancelled))
                s->fd = safe_close(s->fd);
        /* After it, the free may take the hasher. */
        atomic_store(&s->task_state, TASK_OVER);
}

void hash_stream_test_lock(HashStream *s, bool lock) {
        assert(s);

        if (lock)
                pthread_mutex_lock(&s->pause_lock);
        else
                pthread_mutex_unlock(&s->pause_lock);
}
