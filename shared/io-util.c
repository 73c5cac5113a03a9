/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "io-util.h"
#include "util.h"

int write_full(int fd, const void *p, size_t n) {
        size_t done = 0;

        assert(fd >= 0);
        assert(p || n == 0);

        while (done < n) {
                ssize_t k = write(fd, (const char *) p + done, n - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return 0;
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
