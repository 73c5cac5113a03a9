/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a download may write: a file no larger than MaxFileSize, and never into the free space
 * KeepFree leaves on the file system. The file system is asked for its free space once per
 * MiB written and again whenever a write would pass what the last answer allowed: never once
 * per write. The reserve is soft by what other downloads have on their way to the same file
 * system: each writer thread holds up to a few MiB not written yet, which only its own
 * transfer counts as pending. An answer serves every transfer to the same file system (by
 * device) for 100 ms, less what they were allowed since; a write it would not allow asks
 * afresh. Knows nothing of jobs or transfers; the loop thread's. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsops.h"
#include "http-util.h"

typedef enum WriteLimitHit {
        WRITE_LIMIT_NONE,
        WRITE_LIMIT_MAX_SIZE,
        WRITE_LIMIT_KEEP_FREE,
} WriteLimitHit;

typedef struct WriteLimits {
        uint64_t max_size;              /* 0 = none */
        dev_t fs_dev;                   /* the file's file system, 0: unknown (not shared) */
        DiskReserve keep_free;
        WriteLimitHit hit;              /* which one stopped the writes */
        bool space_checked;
        uint64_t space_allowance;       /* bytes that may still go before the reserve, as last asked */
        uint64_t since_space_check;     /* bytes written since the file system was last asked */
        uint64_t free_seen, reserve_seen;
} WriteLimits;

void write_limits_init(WriteLimits *w, uint64_t max_size, const DiskReserve *keep_free, dev_t fs_dev);

/* Whether a file of `size` bytes may be written (UINT64_MAX: unknown, fine); records the hit. */
bool write_limits_size_ok(WriteLimits *w, uint64_t size);

/* How many of len more bytes of the file on fd fit before the reserve (all of them without
 * KeepFree, or when the file system cannot say), when `pending` bytes allowed before are not
 * written yet; fewer records the hit. */
size_t write_limits_allowed(WriteLimits *w, int fd, uint64_t pending, size_t len);

/* The failure for the hit limit, msg filled; false when none was hit. */
bool write_limits_result(const WriteLimits *w, bool any_written, TransferResult *r, char *msg, size_t size);
