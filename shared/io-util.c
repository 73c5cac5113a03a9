/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "io-util.h"
#include "util.h"

/* offset < 0: at the file position (write()); else at offset (pwrite()). */
static int write_loop(int fd, const void *p, size_t n, off_t offset, size_t *ret_done) {
        size_t done = 0;
        int r = 0;

        assert(fd >= 0);
        assert(p || n == 0);

        while (done < n) {
                const char *from = (const char *) p + done;
                ssize_t k = offset < 0 ? write(fd, from, n - done) : pwrite(fd, from, n - done, offset + (off_t) done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                /* No byte taken and no error (a FUSE file system may answer so): asking again
                 * would spin the thread forever. */
                if (k == 0) {
                        r = -EIO;
                        break;
                }
                done += (size_t) k;
        }
        if (ret_done)
                *ret_done = done;
        return r;
}

int write_full(int fd, const void *p, size_t n) {
        return write_loop(fd, p, n, -1, NULL);
}

int pwrite_full(int fd, const void *p, size_t n, off_t offset, size_t *ret_done) {
        assert(offset >= 0);
        assert(ret_done);

        return write_loop(fd, p, n, offset, ret_done);
}

ssize_t pread_full(int fd, void *buf, size_t n, off_t offset) {
        size_t done = 0;

        assert(fd >= 0);
        assert(buf || n == 0);
        assert(offset >= 0);
        assert(n <= SSIZE_MAX);

        while (done < n) {
                ssize_t k = pread(fd, (char *) buf + done, n - done, offset + (off_t) done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}
