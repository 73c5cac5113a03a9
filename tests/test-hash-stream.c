/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hashing a file off the loop (daemon/hash-stream.c) on a real IoPool and sd-event loop: the
 * digest over a file written piece by piece after a prefix it already held, a restart, a
 * stream freed while its thread reads (also held in the test pause), failed reads, and the
 * buffers handed over as they go to the writer, and when the hashing competes for the CPU (the
 * backlog's bound). GLib's SHA-256/SHA-512 is the oracle. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body-check.h"
#include "hash-stream-internal.h"
#include "io-pool.h"
#include "proc-stat.h"
#include "test-cases.h"
#include "util.h"

#define TIMEOUT_USEC (60 * USEC_PER_SEC)

typedef struct Loop {
        sd_event *event;
        IoPool *pool;
        IoPool *background;             /* the streams of the fixture hash there until finished */
        int done_calls;
        int error;
} Loop;

static void
loop_init (Loop *l)
{
        *l = (Loop) { 0 };
        g_assert_cmpint (sd_event_new (&l->event), >=, 0);
        g_assert_cmpint (io_pool_new (l->event, 2, &l->pool), ==, 0);
        g_assert_cmpint (io_pool_new (l->event, 2, &l->background), ==, 0);
        io_pool_set_background (l->background);
}

static void
loop_done (Loop *l)
{
        l->pool = io_pool_free (l->pool);
        l->background = io_pool_free (l->background);
        l->event = sd_event_unref (l->event);
}

static void
on_done (HashStream *s, int error, void *userdata)
{
        Loop *l = userdata;

        l->done_calls++;
        l->error = error;
}

static unsigned
loop_busy (Loop *l)
{
        return io_pool_busy (l->pool) + io_pool_busy (l->background);
}

/* Runs the loop until the callback came, or (done_calls < 0) until no task is left. */
static void
loop_run_until (Loop *l, bool until_idle)
{
        uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC;

        while (until_idle ? loop_busy (l) > 0 : l->done_calls == 0) {
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                g_assert_cmpint (sd_event_run (l->event, 100 * USEC_PER_MSEC), >=, 0);
        }
}

static uint8_t *
pattern (size_t n)
{
        uint8_t *buf = g_malloc (n ? n : 1);

        for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t) (i ^ (i >> 8) ^ (i >> 16) ^ (i >> 24));
        return buf;
}

static int
temp_file (char **ret_path)
{
        g_autoptr (GError) error = NULL;
        int fd = g_file_open_tmp ("xferd-test-hash-stream-XXXXXX", ret_path, &error);

        g_assert_no_error (error);
        return fd;
}

static void
write_at (int fd, const uint8_t *p, size_t n, size_t at)
{
        for (size_t done = 0; done < n;) {
                ssize_t k = pwrite (fd, p + done, n - done, (off_t) (at + done));
                g_assert_cmpint (k, >, 0);
                done += (size_t) k;
        }
}

static void
assert_digest (Hasher *h, DigestAlgorithm a, GChecksumType type, const uint8_t *p, size_t n)
{
        char buf[DIGEST_STRING_MAX];
        Digest d;
        g_autofree char *hex = g_compute_checksum_for_data (type, p, n);
        g_autofree char *want = g_strdup_printf ("%s:%s", digest_algorithm_to_string (a), hex);

        g_assert_cmpint (hasher_get_digest (h, a, &d), ==, 0);
        g_assert_cmpstr (digest_to_string (&d, buf), ==, want);
}

/* What every case starts from: a temporary file holding the first `held` of n pattern bytes,
 * a loop with its pool, and a stream hashing that file with a new hasher of `algorithms`. */
typedef struct Fixture {
        Loop l;
        uint8_t *data;
        size_t n;
        char *path;
        int fd;
        HashStream *s;
} Fixture;

static void
fixture_init (Fixture *f, size_t n, size_t held, unsigned algorithms)
{
        Hasher *h = NULL;

        *f = (Fixture) { .data = pattern (n), .n = n };
        f->fd = temp_file (&f->path);
        loop_init (&f->l);
        write_at (f->fd, f->data, held, 0);
        g_assert_cmpint (hasher_new (algorithms, &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f->l.pool, f->l.background, f->fd, h, held, &f->s), ==, 0);
}

static void
fixture_done (Fixture *f)
{
        f->fd = safe_close (f->fd);
        loop_done (&f->l);
        g_unlink (f->path);
        g_free (f->path);
        g_free (f->data);
}

/* hash_stream_finish() at size, which starts a read, and the loop until it is done. */
static void
finish_and_run (Fixture *f, size_t size)
{
        g_assert_cmpint (hash_stream_finish (f->s, size, on_done, &f->l), ==, 0);
        loop_run_until (&f->l, false);
}

/* The stream, done, hands back its hasher holding both digests of n bytes of data. */
static void
assert_both_digests (HashStream *s, const uint8_t *data, size_t n)
{
        Hasher *h = hash_stream_free (s);

        g_assert_nonnull (h);
        g_assert_cmpuint (hasher_get_size (h), ==, n);
        assert_digest (h, DIGEST_SHA256, G_CHECKSUM_SHA256, data, n);
        assert_digest (h, DIGEST_SHA512, G_CHECKSUM_SHA512, data, n);
        hasher_free (h);
}

/* A file held 5 MiB (a resume), then grows in uneven pieces while the loop runs: the digests
 * over every byte, with both algorithms. */
static void
test_pieces (void)
{
        size_t n = 48u * 1024u * 1024u + 4321, held = 5u * 1024u * 1024u + 7;
        Fixture f;

        fixture_init (&f, n, held, DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        for (size_t at = held, piece = 1; at < n; piece = piece * 7 % 3000001 + 65536) {
                size_t k = piece < n - at ? piece : n - at;
                write_at (f.fd, f.data + at, k, at);
                at += k;
                hash_stream_written (f.s, at);
                g_assert_cmpint (sd_event_run (f.l.event, 0), >=, 0);
        }
        /* Our descriptor may go: the stream has its own. */
        f.fd = safe_close (f.fd);
        finish_and_run (&f, n);
        g_assert_cmpint (f.l.done_calls, ==, 1);
        g_assert_cmpint (f.l.error, ==, 0);
        /* Caught up: at once, without a callback. */
        g_assert_cmpint (hash_stream_finish (f.s, n, on_done, &f.l), ==, 1);
        g_assert_cmpint (f.l.done_calls, ==, 1);

        assert_both_digests (f.s, f.data, n);
        fixture_done (&f);
}

static void
on_available (void *userdata)
{
        (*(int *) userdata)++;
}

/* A file held 5 MiB (a resume), then the transfer hands over the bytes written after them in
 * its buffers: they are hashed from the buffers (the file holds other bytes there, so a read
 * back would show), in file order, and every buffer comes back to its set; a set that ran dry
 * says when one is back; an orphaned set goes with its last buffer. */
static void
test_buffers (void)
{
        size_t n = 24u * 1024u * 1024u + 999, held = 5u * 1024u * 1024u + 7;
        g_autofree uint8_t *zeros = g_malloc0 (n);
        int available = 0;
        BodySet *set = NULL;
        Hasher *h = NULL;
        BodyBuffer *b;
        Fixture f;

        fixture_init (&f, n, held, DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        /* The prefix first: a stream still reading it back holds no buffer (/hash-stream/behind). */
        loop_run_until (&f.l, true);
        g_assert_cmpint (body_set_new (3, 0, on_available, &available, &set), ==, 0);
        for (size_t at = held, piece = 1; at < n; piece = piece * 7 % BODY_BUFFER_SIZE + 4096) {
                size_t k = piece < n - at ? piece : n - at;
                int r;

                while ((r = body_set_get (set, at, &b)) == -EAGAIN) {
                        int before = available;
                        g_assert_cmpuint (body_set_out (set), ==, 3);
                        while (available == before)
                                g_assert_cmpint (sd_event_run (f.l.event, 100 * USEC_PER_MSEC), >=, 0);
                }
                g_assert_cmpint (r, ==, 0);
                memcpy (b->data, f.data + at, k);
                b->len = k;
                write_at (f.fd, zeros, k, at);
                at += k;
                hash_stream_feed (f.s, b);
                g_assert_cmpint (sd_event_run (f.l.event, 0), >=, 0);
        }
        /* Hashed before the verdict is asked for: a task that hurries then leaves its buffers,
         * and the next one reads their bytes back (the zeros here). */
        loop_run_until (&f.l, true);
        g_assert_cmpint (hash_stream_finish (f.s, n, on_done, &f.l), ==, 1);
        g_assert_cmpint (available, >, 0);
        g_assert_cmpuint (body_set_out (set), ==, 0);

        /* Buffers fed to a stream that is freed while its thread works come back too, after
         * their owner let go of the set. */
        assert_both_digests (f.s, f.data, n);
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f.l.pool, NULL, f.fd, h, 0, &f.s), ==, 0);
        for (size_t i = 0; i < 3; i++) {
                g_assert_cmpint (body_set_get (set, i * BODY_BUFFER_SIZE, &b), ==, 0);
                memcpy (b->data, f.data + i * BODY_BUFFER_SIZE, BODY_BUFFER_SIZE);
                b->len = BODY_BUFFER_SIZE;
                hash_stream_feed (f.s, b);
        }
        g_assert_cmpint (body_set_get (set, 0, &b), ==, -EAGAIN);
        body_set_orphan (set);
        hasher_free (hash_stream_free (f.s));
        loop_run_until (&f.l, true);
        fixture_done (&f);
}

/* The file starts over (a 200 to a Range request) while a thread reads the old bytes, and the
 * server's algorithm comes with the new body: the digest is of the new bytes only. */
static void
test_restart (void)
{
        size_t n = 32u * 1024u * 1024u;
        g_autofree uint8_t *data = g_malloc (n);
        Fixture f;

        fixture_init (&f, n, n, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        for (size_t i = 0; i < n; i++)
                data[i] = (uint8_t) (f.data[i] + 1);
        g_assert_cmpint (hash_stream_add_algorithm (f.s, DIGEST_SHA512), ==, -EBUSY);

        g_assert_cmpint (ftruncate (f.fd, 0), ==, 0);
        hash_stream_restart (f.s);
        g_assert_cmpint (hash_stream_add_algorithm (f.s, DIGEST_SHA512), ==, 0);
        g_assert_cmpuint (hash_stream_get_algorithms (f.s), ==,
                          DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        write_at (f.fd, data, n, 0);
        hash_stream_written (f.s, n);
        finish_and_run (&f, n);
        g_assert_cmpint (f.l.error, ==, 0);
        assert_both_digests (f.s, data, n);
        fixture_done (&f);
}

/* Freed while a thread reads 256 MiB: nothing is called, the thread hands the stream back and
 * it is gone (the pool's tasks end, the sanitizers see no leak). */
static void
test_free_while_running (void)
{
        Fixture f;

        fixture_init (&f, 256u * 1024u * 1024u, 256u * 1024u * 1024u, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        g_assert_cmpint (hash_stream_finish (f.s, f.n, on_done, &f.l), ==, 0);
        g_assert_cmpuint (loop_busy (&f.l), ==, 1);
        /* A thread holds the hasher: nothing to hand back. */
        g_assert_null (hash_stream_free (f.s));
        loop_run_until (&f.l, true);
        g_assert_cmpint (f.l.done_calls, ==, 0);
        fixture_done (&f);
}

/* In the test pause a thread holds the stream after its first piece until the stream is
 * freed: only the free's wake-up ends the task (without it this case times out). */
static void
test_free_in_pause (void)
{
        if (g_test_subprocess ()) {
                Fixture f;

                g_assert_cmpint (setenv ("XFERD_TEST_HASH_PAUSE", "1", 1), ==, 0);
                fixture_init (&f, 8u * 1024u * 1024u, 8u * 1024u * 1024u, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
                g_assert_cmpint (hash_stream_finish (f.s, f.n, on_done, &f.l), ==, 0);
                /* Held: no callback however long the loop runs. */
                for (int i = 0; i < 5; i++)
                        g_assert_cmpint (sd_event_run (f.l.event, 20 * USEC_PER_MSEC), >=, 0);
                g_assert_cmpint (f.l.done_calls, ==, 0);
                g_assert_cmpuint (loop_busy (&f.l), ==, 1);
                g_assert_null (hash_stream_free (f.s));
                loop_run_until (&f.l, true);
                g_assert_cmpint (f.l.done_calls, ==, 0);
                fixture_done (&f);
                return;
        }
        g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed ();
}

/* The file is shorter than the transfer said, and a descriptor that cannot be read. */
static void
test_read_errors (void)
{
        size_t n = 3u * 1024u * 1024u;
        HashStream *s = NULL;
        Hasher *h = NULL;
        Fixture f;
        int dfd;

        fixture_init (&f, n, n, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        finish_and_run (&f, n + 100);
        g_assert_cmpint (f.l.error, ==, -ENODATA);
        /* The failure stays: the bytes cannot be trusted, and no hasher comes back. */
        g_assert_cmpint (hash_stream_finish (f.s, n + 100, on_done, &f.l), ==, -ENODATA);
        g_assert_null (hash_stream_free (f.s));

        /* A directory: every read fails with EISDIR. */
        dfd = open (g_get_tmp_dir (), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint (dfd, >=, 0);
        f.l.done_calls = 0;
        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA512), &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f.l.pool, NULL, dfd, h, 10, &s), ==, 0);
        g_assert_cmpint (hash_stream_finish (s, 10, on_done, &f.l), ==, 0);
        loop_run_until (&f.l, false);
        g_assert_cmpint (f.l.error, ==, -EISDIR);
        g_assert_null (hash_stream_free (s));

        /* No algorithm: nothing is read, and there is no verdict to wait for. */
        g_assert_cmpint (hasher_new (0, &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f.l.pool, NULL, f.fd, h, n, &s), ==, 0);
        g_assert_cmpuint (loop_busy (&f.l), ==, 0);
        g_assert_cmpint (hash_stream_finish (s, n, on_done, &f.l), ==, -ENOENT);
        h = hash_stream_free (s);
        g_assert_nonnull (h);
        g_assert_cmpuint (hasher_get_size (h), ==, 0);
        hasher_free (h);

        close (dfd);
        fixture_done (&f);
}

/* The transfer's buffers go to the stream as they go to the writer (hash_stream_feed_ahead()),
 * first while the held prefix is still read: they are hashed from memory after it (the file
 * never holds their bytes here, so a read back would show), the stream lets go of each once
 * hashed while the writer's reference keeps it out of the set, and it is back with the
 * writer's release. A held stream freed while a thread reads waits for that piece (or takes
 * back a task not started) and hands over a hasher holding a prefix of the file; after a
 * restart meanwhile it hands over none. */
static void
test_ahead (void)
{
        size_t n = 12u * 1024u * 1024u + 5, held = 5u * 1024u * 1024u + 7;
        BodyBuffer *mine[4];
        BodySet *set = NULL;
        BodyBuffer *b;
        Hasher *h;
        HashStream *s;
        Fixture f, big;

        fixture_init (&f, n, held, DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
        loop_run_until (&f.l, true);
        g_assert_cmpint (body_set_new (4, 0, NULL, NULL, &set), ==, 0);
        for (size_t at = held; at < n;) {
                size_t m = 0;

                for (; m < 4 && at < n; m++) {
                        g_assert_cmpint (body_set_get (set, at, &b), ==, 0);
                        b->len = MIN (BODY_BUFFER_SIZE - 3, n - at);
                        memcpy (b->data, f.data + at, b->len);
                        hash_stream_feed_ahead (f.s, b);
                        g_assert_true (b->hashed_ahead);
                        at += b->len;
                        mine[m] = b;
                }
                loop_run_until (&f.l, true);
                /* Hashed: only the writer's references are left. */
                g_assert_cmpuint (body_set_out (set), ==, m);
                for (size_t i = 0; i < m; i++)
                        body_buffer_release (mine[i]);
                g_assert_cmpuint (body_set_out (set), ==, 0);
        }
        g_assert_cmpint (hash_stream_finish (f.s, n, on_done, &f.l), ==, 1);
        assert_both_digests (f.s, f.data, n);

        fixture_init (&big, 64u * 1024u * 1024u, 64u * 1024u * 1024u, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        g_assert_cmpuint (loop_busy (&big.l), ==, 1);
        hash_stream_hold (big.s);
        h = hash_stream_free (big.s);
        g_assert_nonnull (h);
        g_assert_cmpuint (hasher_get_size (h), <, big.n);
        assert_digest (h, DIGEST_SHA256, G_CHECKSUM_SHA256, big.data, hasher_get_size (h));
        hasher_free (h);
        loop_run_until (&big.l, true);
        fixture_done (&big);

        g_assert_cmpint (hasher_new (DIGEST_ALGORITHM_BIT (DIGEST_SHA256), &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f.l.pool, NULL, f.fd, h, 0, &s), ==, 0);
        g_assert_cmpint (body_set_get (set, 0, &b), ==, 0);
        b->len = BODY_BUFFER_SIZE;
        memcpy (b->data, f.data, b->len);
        hash_stream_feed_ahead (s, b);
        g_assert_cmpuint (loop_busy (&f.l), ==, 1);
        hash_stream_restart (s);
        hash_stream_hold (s);
        g_assert_null (hash_stream_free (s));
        loop_run_until (&f.l, true);
        body_buffer_release (b);
        g_assert_cmpuint (body_set_out (set), ==, 0);

        body_set_orphan (set);
        fixture_done (&f);
}

/* Review R7: a held stream's free never waits for its thread. In the test stall the thread,
 * after its first piece, blocks opening and reading a FIFO, as a read from a hung file system
 * blocks; the held free hands over the hasher as of that piece at once (before the mark it
 * waited for the thread, which only this test's close below lets go: the case then failed),
 * and the thread, let go, ends. */
/* In a subprocess: the fixture's stream in the test stall, its thread blocked on the FIFO
 * `fifo` after the first piece of the prefix; returns the FIFO's writing end, whose close lets
 * the thread go on. */
static int
fixture_init_stalled (Fixture *f, const char *fifo, size_t n, size_t held, unsigned algorithms)
{
        uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC;
        int wfd;

        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        g_assert_cmpint (setenv ("XFERD_TEST_HASH_STALL", fifo, 1), ==, 0);
        fixture_init (f, n, held, algorithms);
        /* The writer's end opens once the thread has the FIFO open: it then blocks in read()
         * until the close. */
        while ((wfd = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
                g_assert_cmpint (errno, ==, ENXIO);
                g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                g_usleep (1000);
        }
        return wfd;
}

static void
fixture_done_stalled (Fixture *f, const char *dir, const char *fifo)
{
        fixture_done (f);
        g_unlink (fifo);
        g_rmdir (dir);
}

/* True in the subprocess that runs the case; the parent runs it there and checks it passed. */
static bool
in_subprocess (void)
{
        if (g_test_subprocess ())
                return true;
        g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed ();
        return false;
}

/* A held stream's free while its thread is stalled after the first piece of an 8 MiB prefix:
 * it hands over the hasher as of that piece, without waiting for the thread. locked: the
 * stream's test lock held meanwhile, as a preempted thread of the hash would hold it. */
static void
hold_first_piece (gboolean locked)
{
        g_autofree char *dir = g_dir_make_tmp ("xferd-test-hash-stall-XXXXXX", NULL);
        g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
        int wfd;
        Hasher *h;
        Fixture f;

        g_assert_nonnull (dir);
        wfd = fixture_init_stalled (&f, fifo, 8u * 1024u * 1024u, 8u * 1024u * 1024u,
                                    DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        if (locked)
                hash_stream_test_lock (f.s, true);
        else
                g_assert_cmpuint (loop_busy (&f.l), ==, 1);
        hash_stream_hold (f.s);
        h = hash_stream_free (f.s);
        g_assert_nonnull (h);
        g_assert_cmpuint (hasher_get_size (h), ==, HASH_STREAM_BACKGROUND_PIECE);
        assert_digest (h, DIGEST_SHA256, G_CHECKSUM_SHA256, f.data, hasher_get_size (h));
        hasher_free (h);
        /* The stream lives until its task is back on the loop. */
        if (locked)
                hash_stream_test_lock (f.s, false);
        close (wfd);
        loop_run_until (&f.l, true);
        fixture_done_stalled (&f, dir, fifo);
}

static void
test_hold_stalled (void)
{
        if (in_subprocess ())
                hold_first_piece (FALSE);
}

/* Review R4: the loop never waits for a lock a thread of the hash may hold (the background's
 * take only idle CPUs: one preempted inside a lock may not run again for as long as the
 * machine is busy). Here the lock is held by the test itself, for good, while the held free
 * takes the hasher as of the first piece: before, the free took that lock and the case hung
 * until the subprocess' timeout. */
static void
test_hold_locked (void)
{
        if (in_subprocess ())
                hold_first_piece (TRUE);
}

/* A stream behind (here its thread blocked on a FIFO in the test stall after the first piece
 * of a 8 MiB prefix) holds none of the transfer's buffers: neither as they go to the writer nor
 * once written; every one is back in its set at once, and the stream reads their bytes back
 * from the file (which holds them: a buffer's own bytes would not show a read back, so the
 * buffers carry zeros). Caught up, it takes the next buffer as it goes to the writer again. */
static void
test_behind (void)
{
        if (in_subprocess ()) {
                g_autofree char *dir = g_dir_make_tmp ("xferd-test-hash-behind-XXXXXX", NULL);
                g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
                size_t held = 8u * 1024u * 1024u, mid = 16u * 1024u * 1024u + 3, n = mid + BODY_BUFFER_SIZE;
                BodySet *set = NULL;
                BodyBuffer *b;
                int wfd;
                Fixture f;

                g_assert_nonnull (dir);
                wfd = fixture_init_stalled (&f, fifo, n, held,
                                            DIGEST_ALGORITHM_BIT (DIGEST_SHA256) | DIGEST_ALGORITHM_BIT (DIGEST_SHA512));
                g_assert_cmpuint (hash_stream_progress (f.s), ==, HASH_STREAM_BACKGROUND_PIECE);
                g_assert_cmpint (body_set_new (4, 0, NULL, NULL, &set), ==, 0);
                for (size_t at = held; at < mid;) {
                        g_assert_cmpint (body_set_get (set, at, &b), ==, 0);
                        b->len = MIN (BODY_BUFFER_SIZE - 5, mid - at);
                        memset (b->data, 0, b->len);
                        hash_stream_feed_ahead (f.s, b);
                        g_assert_false (b->hashed_ahead);
                        write_at (f.fd, f.data + at, b->len, at);
                        at += b->len;
                        hash_stream_feed (f.s, b);
                        g_assert_cmpuint (body_set_out (set), ==, 0);
                }
                close (wfd);
                finish_and_run (&f, mid);
                g_assert_cmpint (f.l.error, ==, 0);
                g_assert_cmpuint (hash_stream_progress (f.s), ==, mid);

                g_assert_cmpint (body_set_get (set, mid, &b), ==, 0);
                b->len = n - mid;
                memcpy (b->data, f.data + mid, b->len);
                hash_stream_feed_ahead (f.s, b);
                g_assert_true (b->hashed_ahead);
                write_at (f.fd, f.data + mid, b->len, mid);
                loop_run_until (&f.l, true);
                body_buffer_release (b);
                g_assert_cmpuint (body_set_out (set), ==, 0);
                g_assert_cmpint (hash_stream_finish (f.s, n, on_done, &f.l), ==, 1);
                assert_both_digests (f.s, f.data, n);
                body_set_orphan (set);
                fixture_done_stalled (&f, dir, fifo);
        }
}

/* Review R9 and H1: one set alone takes max + spare; sixteen hashed files at once (one job's
 * lanes) each have their first buffer and an even part of BODY_SHARED_MAX, not three or seven
 * more each; a set that borrowed while alone gives back what is beyond its part as its buffers
 * return, and keeps what is within it; what an orphaned set borrowed goes back as its buffers
 * are freed. */
static void
test_shared (void)
{
        BodySet *sets[16];
        List held[16];
        BodyBuffer *b;
        int r;

        g_assert_cmpuint (body_shared_out (), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS (sets); i++)
                held[i] = (List) { NULL, NULL, 0 };

        /* The first set alone: max + spare. */
        g_assert_cmpint (body_set_new (4, 4, NULL, NULL, &sets[0]), ==, 0);
        while ((r = body_set_get (sets[0], 0, &b)) == 0)
                list_append (&held[0], &b->node);
        g_assert_cmpint (r, ==, -EAGAIN);
        g_assert_cmpuint (body_set_out (sets[0]), ==, 8);
        g_assert_cmpuint (body_shared_out (), ==, 7);
        /* Alone it keeps a returned buffer (no allocation at every buffer). */
        b = LIST_ENTRY (held[0].head, BodyBuffer, node);
        list_remove (&held[0], &b->node);
        body_buffer_release (b);
        g_assert_cmpuint (body_shared_out (), ==, 7);
        g_assert_cmpint (body_set_get (sets[0], 0, &b), ==, 0);
        list_append (&held[0], &b->node);

        /* Fifteen more: each an even part of the 16 (one) while the shared ones last. */
        for (size_t i = 1; i < G_N_ELEMENTS (sets); i++)
                g_assert_cmpint (body_set_new (4, 4, NULL, NULL, &sets[i]), ==, 0);
        for (size_t i = 1; i < G_N_ELEMENTS (sets); i++) {
                while ((r = body_set_get (sets[i], 0, &b)) == 0)
                        list_append (&held[i], &b->node);
                g_assert_cmpint (r, ==, -EAGAIN);
        }
        g_assert_cmpuint (body_shared_out (), ==, BODY_SHARED_MAX);
        g_assert_cmpuint (body_set_out (sets[1]), ==, 2);
        g_assert_cmpuint (body_set_out (sets[9]), ==, 2);
        g_assert_cmpuint (body_set_out (sets[10]), ==, 1);
        g_assert_cmpuint (body_set_out (sets[15]), ==, 1);

        /* The first set's buffers beyond its part go back as they return; the last set takes
         * one. */
        for (unsigned k = 0; k < 6; k++) {
                b = LIST_ENTRY (held[0].head, BodyBuffer, node);
                list_remove (&held[0], &b->node);
                body_buffer_release (b);
        }
        g_assert_cmpuint (body_shared_out (), ==, BODY_SHARED_MAX - 6);
        g_assert_cmpuint (body_set_out (sets[0]), ==, 2);
        g_assert_cmpint (body_set_get (sets[15], 0, &b), ==, 0);
        list_append (&held[15], &b->node);
        g_assert_cmpuint (body_set_out (sets[15]), ==, 2);
        /* Within their part sets keep what returns. */
        b = LIST_ENTRY (held[1].head, BodyBuffer, node);
        list_remove (&held[1], &b->node);
        body_buffer_release (b);
        g_assert_cmpuint (body_shared_out (), ==, BODY_SHARED_MAX - 5);
        g_assert_cmpint (body_set_get (sets[1], 0, &b), ==, 0);
        list_append (&held[1], &b->node);

        /* The first set goes with its buffers out: they give back the shared ones as they come
         * back. */
        body_set_orphan (sets[0]);
        body_buffer_release_all (&held[0]);
        g_assert_cmpuint (body_shared_out (), ==, BODY_SHARED_MAX - 6);

        for (size_t i = 1; i < G_N_ELEMENTS (sets); i++) {
                body_buffer_release_all (&held[i]);
                body_set_orphan (sets[i]);
        }
        g_assert_cmpuint (body_shared_out (), ==, 0);
}

/* A stream with no algorithm (a download that expects no digest) holds no descriptor of its
 * own; the first algorithm (a server's digest field) takes one, and from then on the owner's
 * descriptor may go: the digest is of every byte. */
static void
test_no_algorithm (void)
{
        size_t n = 3u * 1024u * 1024u + 11;
        Hasher *h = NULL;
        unsigned before;
        Fixture f;
        int wfd;

        fixture_init (&f, n, 0, 0);
        before = proc_fd_count (getpid ());
        hasher_free (hash_stream_free (f.s));
        g_assert_cmpuint (proc_fd_count (getpid ()), ==, before);

        g_assert_cmpint (hasher_new (0, &h), ==, 0);
        g_assert_cmpint (hash_stream_new (f.l.pool, f.l.background, f.fd, h, 0, &f.s), ==, 0);
        g_assert_cmpuint (proc_fd_count (getpid ()), ==, before);
        g_assert_cmpuint (hash_stream_progress (f.s), ==, UINT64_MAX);
        g_assert_cmpint (hash_stream_add_algorithm (f.s, DIGEST_SHA256), ==, 0);
        g_assert_cmpint (hash_stream_add_algorithm (f.s, DIGEST_SHA512), ==, 0);
        g_assert_cmpuint (proc_fd_count (getpid ()), ==, before + 1);

        wfd = open (f.path, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint (wfd, >=, 0);
        f.fd = safe_close (f.fd);
        write_at (wfd, f.data, n, 0);
        safe_close (wfd);
        hash_stream_written (f.s, n);
        finish_and_run (&f, n);
        g_assert_cmpint (f.l.error, ==, 0);
        assert_both_digests (f.s, f.data, n);
        fixture_done (&f);
}

/* The fixture's file written from `from` to its end, the verdict, its SHA-256, the end. */
static void
write_rest_and_check (Fixture *f, size_t from)
{
        Hasher *h;

        write_at (f->fd, f->data + from, f->n - from, from);
        hash_stream_written (f->s, f->n);
        finish_and_run (f, f->n);
        g_assert_cmpint (f->l.error, ==, 0);
        h = hash_stream_free (f->s);
        assert_digest (h, DIGEST_SHA256, G_CHECKSUM_SHA256, f->data, f->n);
        hasher_free (h);
        fixture_done (f);
}

/* The backlog a stream in the background may have: 512 MiB, or near the end what is left to
 * write (8 MiB at least); 512 MiB when the file's size is not known. */
static void
test_backlog_bound (void)
{
        const uint64_t mib = 1024u * 1024u;

        g_assert_cmpuint (hash_stream_backlog_bound (0, UINT64_MAX), ==, 512 * mib);
        g_assert_cmpuint (hash_stream_backlog_bound (100 * mib, 2048 * mib), ==, 512 * mib);
        g_assert_cmpuint (hash_stream_backlog_bound (1536 * mib, 2048 * mib), ==, 512 * mib);
        g_assert_cmpuint (hash_stream_backlog_bound (1536 * mib + 1, 2048 * mib), ==, 512 * mib - 1);
        g_assert_cmpuint (hash_stream_backlog_bound (900 * mib, 1024 * mib), ==, 124 * mib);
        g_assert_cmpuint (hash_stream_backlog_bound (1020 * mib, 1024 * mib), ==, 8 * mib);
        /* Written all, or more than the server said: the least (the verdict comes next). */
        g_assert_cmpuint (hash_stream_backlog_bound (1024 * mib, 1024 * mib), ==, 8 * mib);
        g_assert_cmpuint (hash_stream_backlog_bound (2048 * mib, 1024 * mib), ==, 8 * mib);
}

/* A 64 MiB file, 40 MiB written at once: the backlog is more than the 24 MiB left, so the
 * task goes to the pool that competes for the CPU, not to the background; without the file's
 * size, with a larger one, or with 30 MiB written (34 left) it goes to the background. The
 * size comes from hash_stream_set_total(), or from the response through
 * body_check_accept(), or from the client's expected size when the response has none. The
 * digest is right every way. */
static void
test_backlog_near_end (void)
{
        const size_t mib = 1024u * 1024u, n = 64 * mib;
        static const struct {
                int how;                /* 0: no size, 1: set_total, 2: body_check_accept, 3: expected size */
                uint64_t total;
                size_t first;
                bool competes;
        } cases[] = {
                { 0, 0, 40 * mib, false },
                { 1, 64 * mib, 40 * mib, true },
                { 1, 256 * mib, 40 * mib, false },
                { 1, 64 * mib, 30 * mib, false },
                { 2, 64 * mib, 40 * mib, true },
                { 3, 64 * mib, 40 * mib, true },
        };

        for (size_t k = 0; k < G_N_ELEMENTS (cases); k++) {
                BodyCheck c = { 0 };
                Fixture f;

                fixture_init (&f, n, 0, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
                c.stream = f.s;
                if (cases[k].how == 1)
                        hash_stream_set_total (f.s, cases[k].total);
                else if (cases[k].how == 2)
                        g_assert_true (body_check_accept (&c, 200, cases[k].total, "http://127.0.0.1/f"));
                else if (cases[k].how == 3) {
                        c.expect_size = true;
                        c.expected_size = cases[k].total;
                        g_assert_true (body_check_accept (&c, 200, UINT64_MAX, "http://127.0.0.1/f"));
                }
                body_check_done (&c);
                write_at (f.fd, f.data, cases[k].first, 0);
                hash_stream_written (f.s, cases[k].first);
                g_assert_cmpuint (io_pool_busy (f.l.pool), ==, (cases[k].competes ? 1u : 0u));
                g_assert_cmpuint (io_pool_busy (f.l.background), ==, (cases[k].competes ? 0u : 1u));
                write_rest_and_check (&f, cases[k].first);
        }
}

/* As a download goes: a task in the background when the backlog is small; then the file
 * grows past the bound that what is left makes, while that task runs: it is told to end
 * after its piece (hurry), and the next task competes. */
static void
test_backlog_shrinks_while_running (void)
{
        const size_t mib = 1024u * 1024u, n = 48 * mib;
        Fixture f;

        fixture_init (&f, n, 0, DIGEST_ALGORITHM_BIT (DIGEST_SHA256));
        hash_stream_set_total (f.s, n);
        write_at (f.fd, f.data, 4 * mib, 0);
        hash_stream_written (f.s, 4 * mib);
        g_assert_cmpuint (io_pool_busy (f.l.background), ==, 1);
        g_assert_cmpuint (io_pool_busy (f.l.pool), ==, 0);
        g_assert_false (atomic_load (&f.s->hurry));
        write_at (f.fd, f.data + 4 * mib, 36 * mib, 4 * mib);
        hash_stream_written (f.s, 40 * mib);
        g_assert_true (atomic_load (&f.s->hurry));
        g_assert_true (f.s->catching_up);
        /* The background task ends after its piece; the rest goes to the other pool. */
        {
                uint64_t deadline = now_monotonic_usec () + TIMEOUT_USEC;

                while (io_pool_busy (f.l.background) > 0) {
                        g_assert_cmpuint (now_monotonic_usec (), <, deadline);
                        g_assert_cmpint (sd_event_run (f.l.event, 100 * USEC_PER_MSEC), >=, 0);
                }
        }
        g_assert_cmpuint (io_pool_busy (f.l.pool), ==, 1);
        write_rest_and_check (&f, 40 * mib);
}

const TestCase test_cases[] = {
        { "/hash-stream/pieces", test_pieces },
        { "/hash-stream/buffers", test_buffers },
        { "/hash-stream/restart", test_restart },
        { "/hash-stream/free-while-running", test_free_while_running },
        { "/hash-stream/free-in-pause", test_free_in_pause },
        { "/hash-stream/read-errors", test_read_errors },
        { "/hash-stream/ahead", test_ahead },
        { "/hash-stream/hold-stalled", test_hold_stalled },
        { "/hash-stream/hold-locked", test_hold_locked },
        { "/hash-stream/behind", test_behind },
        { "/hash-stream/shared", test_shared },
        { "/hash-stream/no-algorithm", test_no_algorithm },
        { "/hash-stream/backlog-bound", test_backlog_bound },
        { "/hash-stream/backlog-near-end", test_backlog_near_end },
        { "/hash-stream/backlog-shrinks-while-running", test_backlog_shrinks_while_running },
        { NULL, NULL }
};
