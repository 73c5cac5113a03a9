/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole buffers through write(2), pwrite(2) and pread(2) (shared/io-util.c): every byte in, the
 * read that stops only at the end of the file, and the errors as negative errno. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
 * ZERO_MAX times, then fail with ENOSPC (so that a loop that asks again ends, and is seen). */
#define ZERO_MAX 100
static int zero_fd = -1;
static unsigned zero_calls;

ssize_t write(int fd, const void *p, size_t n) {
        if (fd == zero_fd && n > 0) {
                if (zero_calls++ < ZERO_MAX)
                        return 0;
                errno = ENOSPC;
                return -1;
        }
        return syscall(SYS_write, fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t offset) {
        if (fd == zero_fd && n > 0) {
                if (zero_calls++ < ZERO_MAX)
                        return 0;
                errno = ENOSPC;
                return -1;
        }
        return syscall(SYS_pwrite64, fd, p, n, offset);
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
