/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a download may write (see write-limits.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "util.h"
#include "write-limits.h"

#define SPACE_CHECK_INTERVAL (1024u * 1024u)

/* How long one file system's answer serves every transfer writing there: a job of many small
 * files asked once per file (one fstatvfs() of about fifteen system calls a file). */
#define SPACE_SHARE_USEC (100 * USEC_PER_MSEC)
#define SPACE_SHARED_FS 4

/* The last answer of a file system, and the bytes allowed there since. */
typedef struct SpaceSeen {
        dev_t dev;              /* 0: unused */
        uint64_t when;          /* µs, monotonic */
        uint64_t avail, size;   /* f_bavail and f_blocks, in bytes */
        uint64_t allowed;
} SpaceSeen;

static SpaceSeen space_seen[SPACE_SHARED_FS];

static SpaceSeen *space_find(dev_t dev) {
        if (dev == 0)
                return NULL;
        for (size_t i = 0; i < SPACE_SHARED_FS; i++)
                if (space_seen[i].dev == dev)
                        return &space_seen[i];
        return NULL;
}

/* The free (avail) and total bytes of fd's file system: an answer of the last 100 ms when
 * shared is true and one is known, else asked now (and kept for the others). False when the
 * file system cannot say. */
static bool space_look(dev_t dev, int fd, bool shared, uint64_t *ret_avail, uint64_t *ret_size) {
        SpaceSeen *s = space_find(dev);
        uint64_t now = now_monotonic_usec();
        struct statvfs sv;

        if (shared && s && now - s->when < SPACE_SHARE_USEC) {
                *ret_avail = s->avail > s->allowed ? s->avail - s->allowed : 0;
                *ret_size = s->size;
                return true;
        }
        if (fstatvfs(fd, &sv) < 0)
                return false;
        /* f_bavail: what an unprivileged writer may use, the root reserve excluded. */
        *ret_avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        *ret_size = (uint64_t) sv.f_blocks * sv.f_frsize;
        if (dev == 0)
                return true;
        if (!s) {
                s = &space_seen[0];
                for (size_t i = 1; i < SPACE_SHARED_FS; i++)
                        if (space_seen[i].when < s->when)
                                s = &space_seen[i];
        }
        *s = (SpaceSeen) { .dev = dev, .when = now, .avail = *ret_avail, .size = *ret_size };
        return true;
}

void write_limits_init(WriteLimits *w, uint64_t max_size, const DiskReserve *keep_free, dev_t fs_dev) {
        assert(w);
        assert(keep_free);

        *w = (WriteLimits) { .max_size = max_size, .keep_free = *keep_free, .fs_dev = fs_dev };
}

bool write_limits_size_ok(WriteLimits *w, uint64_t size) {
        assert(w);

        if (w->max_size == 0 || size == UINT64_MAX || size <= w->max_size)
                return true;
        w->hit = WRITE_LIMIT_MAX_SIZE;
        return false;
}

/* The allowance from the file system's answer, less the bytes allowed before but not written
 * yet, which take their space later. False when it cannot say. */
static bool space_check(WriteLimits *w, int fd, uint64_t pending, bool shared) {
        uint64_t avail, size;

        if (!space_look(w->fs_dev, fd, shared, &avail, &size))
                return false;
        w->free_seen = avail;
        w->reserve_seen = disk_reserve_bytes(&w->keep_free, size);
        w->space_allowance = w->free_seen > w->reserve_seen + pending ? w->free_seen - w->reserve_seen - pending : 0;
        w->since_space_check = 0;
        w->space_checked = true;
        return true;
}

size_t write_limits_allowed(WriteLimits *w, int fd, uint64_t pending, size_t len) {
        assert(w);

        if (w->keep_free.bytes == 0 && w->keep_free.percent == 0)
                return len;
        if (!w->space_checked || w->since_space_check >= SPACE_CHECK_INTERVAL || len > w->space_allowance) {
                /* Cannot tell: the write's own ENOSPC decides. A shared answer that would not
                 * allow it all is asked again: a write is held back on a fresh one only. */
                if (!space_check(w, fd, pending, true))
                        return len;
                if (len > w->space_allowance && !space_check(w, fd, pending, false))
                        return len;
        }
        if (len > w->space_allowance) {
                len = (size_t) w->space_allowance;
                w->hit = WRITE_LIMIT_KEEP_FREE;
        }
        w->space_allowance -= len;
        w->since_space_check += len;
        SpaceSeen *s = space_find(w->fs_dev);
        if (s)
                s->allowed += len;
        return len;
}

bool write_limits_result(const WriteLimits *w, bool any_written, TransferResult *r, char *msg, size_t size) {
        assert(w);
        assert(r);
        assert(msg);

        switch (w->hit) {
        case WRITE_LIMIT_MAX_SIZE:
                /* Waiting would not make the file smaller. */
                r->outcome = TRANSFER_FATAL;
                r->error_name = ERROR_NAME_LOCAL_FILE;
                snprintf(msg, size, "The file is larger than MaxFileSize, %" PRIu64 " bytes; the transfer stopped%s",
                         w->max_size, any_written ? " at that size" : " before its first byte");
                r->summary = "The file is larger than MaxFileSize";
                return true;
        case WRITE_LIMIT_KEEP_FREE:
                /* Like a full disk: retried, and it goes on once space is freed. */
                r->outcome = TRANSFER_TRANSIENT;
                r->local_errno = ENOSPC;
                r->error_name = ERROR_NAME_LOCAL_FILE;
                snprintf(msg, size, "The file system of the temporary file has %" PRIu64 " bytes free and KeepFree "
                         "keeps %" PRIu64 " bytes free there; waiting for space", w->free_seen, w->reserve_seen);
                r->summary = "Too little free space (KeepFree)";
                return true;
        case WRITE_LIMIT_NONE:
                break;
        }
        return false;
}
