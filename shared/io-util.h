/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* All of a buffer through read(2) and write(2), which may move fewer bytes than asked and be
 * interrupted by a signal: the loops that go on until the whole buffer is through. */

#include <stddef.h>
#include <sys/types.h>

/* Writes the n bytes at p to fd, at its file position. Returns 0, or a negative errno (what
 * was written before the failure stays written); -EIO where a write takes no byte. */
int write_full(int fd, const void *p, size_t n);

/* Writes the n bytes at p to fd at offset (the file position is left alone). Returns 0, or a
 * negative errno (-EIO where a write takes no byte); *ret_done says how many bytes were
 * written, also after a failure. */
int pwrite_full(int fd, const void *p, size_t n, off_t offset, size_t *ret_done);

/* Reads up to n bytes into buf from fd at offset (the file position is left alone), stopping
 * early only at the end of the file. Returns how many bytes were read, or a negative errno. */
ssize_t pread_full(int fd, void *buf, size_t n, off_t offset);
