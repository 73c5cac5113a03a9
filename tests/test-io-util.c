/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole buffers through write(2), pwrite(2) and pread(2) (shared/io-util.c): every byte in, the
 * read that stops only at the end of the file, and the errors as negative errno. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io-util.h"
#include "test-cases.h"
#include "util.h"

#define SIZE (3 * 1024 * 1024 + 17)

static void test_round_trip(void) {
        g_autofree guint8 *out = g_malloc(SIZE), *in = g_malloc(SIZE + 2000);
        _cleanup_close_ int fd = memfd_create("test-io-util", MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        for (size_t i = 0; i < SIZE; i++)
                out[i] = (guint8) (i * 7 + i / 251);
        g_assert_cmpint(write_full(fd, out, SIZE), ==, 0);
        g_assert_cmpint(write_full(fd, out, 0), ==, 0);

        /* The whole file, then a read that the end of the file cuts short, then none. */
        g_assert_cmpint(pread_full(fd, in, SIZE, 0), ==, SIZE);
        g_assert_cmpmem(in, SIZE, out, SIZE);
        g_assert_cmpint(pread_full(fd, in, 100, SIZE - 40), ==, 40);
        g_assert_cmpmem(in, 40, out + SIZE - 40, 40);
        g_assert_cmpint(pread_full(fd, in, 100, SIZE), ==, 0);

        /* The file position is pread_full()'s to leave alone: the writes went on from it. */
        g_assert_cmpint(lseek(fd, 0, SEEK_CUR), ==, SIZE);

        /* Over the middle and past the end, at offsets; the file position stays. */
        size_t done = 1;
        g_assert_cmpint(pwrite_full(fd, out, SIZE, 1000, &done), ==, 0);
        g_assert_cmpuint(done, ==, SIZE);
        g_assert_cmpint(lseek(fd, 0, SEEK_CUR), ==, SIZE);
        g_assert_cmpint(pread_full(fd, in, SIZE + 2000, 0), ==, SIZE + 1000);
        g_assert_cmpmem(in, 1000, out, 1000);
        g_assert_cmpint(pread_full(fd, in, SIZE, 1000), ==, SIZE);
        g_assert_cmpmem(in, SIZE, out, SIZE);
}

static void test_errors(void) {
        int p[2];
        char buf[8] = { 0 };

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        /* A pipe has no offsets; nothing was written. */
        size_t done = 1;
        g_assert_cmpint(pread_full(p[0], buf, sizeof buf, 0), ==, -ESPIPE);
        g_assert_cmpint(pwrite_full(p[1], buf, sizeof buf, 0, &done), ==, -ESPIPE);
        g_assert_cmpuint(done, ==, 0);
        /* Nobody reads: EPIPE (SIGPIPE ignored, as the apt method has it). */
        g_assert_cmpint(close(p[0]), ==, 0);
        g_assert_true(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
        g_assert_cmpint(write_full(p[1], buf, sizeof buf), ==, -EPIPE);
        g_assert_cmpint(close(p[1]), ==, 0);
}

/* A descriptor whose writes take no byte and report no error, as a FUSE file system may answer:
 * this program's write(2) and pwrite(2) stand in front of the C library's for it, up to
 * ZERO_MAX times, then fail with ENOSPC (so that a loop that asks again ends, and is seen).
 * Every other descriptor goes to the C library's own, found behind ours. */
#define ZERO_MAX 100
static int zero_fd = -1;
static unsigned zero_calls;

/* The name the headers give pwrite() (pwrite64 where off_t is made 64 bits wide). */
#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
#  define PWRITE_SYMBOL "pwrite64"
#else
#  define PWRITE_SYMBOL "pwrite"
#endif

static bool zero_write(int fd, size_t n, ssize_t *ret) {
        if (fd != zero_fd || n == 0)
                return false;
        if (zero_calls++ < ZERO_MAX)
                *ret = 0;
        else {
                errno = ENOSPC;
                *ret = -1;
        }
        return true;
}

ssize_t write(int fd, const void *p, size_t n) {
        static ssize_t (*next)(int, const void *, size_t);
        ssize_t k;

        if (zero_write(fd, n, &k))
                return k;
        if (!next)
                *(void **) &next = dlsym(RTLD_NEXT, "write");  /* POSIX's way past ISO C's cast rule */
        return next(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t offset) {
        static ssize_t (*next)(int, const void *, size_t, off_t);
        ssize_t k;

        if (zero_write(fd, n, &k))
                return k;
        if (!next)
                *(void **) &next = dlsym(RTLD_NEXT, PWRITE_SYMBOL);
        return next(fd, p, n, offset);
}

static void test_no_progress(void) {
        _cleanup_close_ int fd = memfd_create("test-io-util", MFD_CLOEXEC);
        char buf[16] = { 0 };
        size_t done = 1;

        g_assert_cmpint(fd, >=, 0);
        zero_fd = fd;
        /* One write that takes nothing is an error at once, not a loop. */
        zero_calls = 0;
        g_assert_cmpint(write_full(fd, buf, sizeof buf), ==, -EIO);
        g_assert_cmpuint(zero_calls, ==, 1);
        zero_calls = 0;
        g_assert_cmpint(pwrite_full(fd, buf, sizeof buf, 10, &done), ==, -EIO);
        g_assert_cmpuint(zero_calls, ==, 1);
        g_assert_cmpuint(done, ==, 0);
        /* Nothing to write asks nothing. */
        zero_calls = 0;
        g_assert_cmpint(write_full(fd, buf, 0), ==, 0);
        g_assert_cmpuint(zero_calls, ==, 0);
        zero_fd = -1;
}

const TestCase test_cases[] = {
        { "/io-util/round-trip", test_round_trip },
        { "/io-util/errors", test_errors },
        { "/io-util/no-progress", test_no_progress },
        { NULL, NULL }
};
