/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a download may write (see write-limits.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "util.h"
#include "write-limits.h"

#define SPACE_CHECK_INTERVAL (1024u * 1024u)

void write_limits_init(WriteLimits *w, uint64_t max_size, const DiskReserve *keep_free) {
        assert(w);
        assert(keep_free);

        *w = (WriteLimits) { .max_size = max_size, .keep_free = *keep_free };
}

bool write_limits_size_ok(WriteLimits *w, uint64_t size) {
        assert(w);

        if (w->max_size == 0 || size == UINT64_MAX || size <= w->max_size)
                return true;
        w->hit = WRITE_LIMIT_MAX_SIZE;
        return false;
}

size_t write_limits_allowed(WriteLimits *w, int fd, uint64_t pending, size_t len) {
        struct statvfs sv;

        assert(w);

        if (w->keep_free.bytes == 0 && w->keep_free.percent == 0)
                return len;
        if (!w->space_checked || w->since_space_check >= SPACE_CHECK_INTERVAL || len > w->space_allowance) {
                /* Cannot tell: the write's own ENOSPC decides. */
                if (fstatvfs(fd, &sv) < 0)
                        return len;
                /* f_bavail: what an unprivileged writer may use, the root reserve excluded. */
                w->free_seen = (uint64_t) sv.f_bavail * sv.f_frsize;
                w->reserve_seen = disk_reserve_bytes(&w->keep_free, (uint64_t) sv.f_blocks * sv.f_frsize);
                /* Bytes allowed before but not written yet take their space later. */
                w->space_allowance = w->free_seen > w->reserve_seen + pending ? w->free_seen - w->reserve_seen - pending : 0;
                w->since_space_check = 0;
                w->space_checked = true;
        }
        if (len > w->space_allowance) {
                len = (size_t) w->space_allowance;
                w->hit = WRITE_LIMIT_KEEP_FREE;
        }
        w->space_allowance -= len;
        w->since_space_check += len;
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
