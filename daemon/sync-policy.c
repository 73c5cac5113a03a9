/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How the data of a batch of finished files reaches the disk. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "file-batch.h"
#include "util.h"

/* Dirty and under-writeback page cache of the whole system, from /proc/meminfo; UINT64_MAX
 * when it cannot be read. */
static uint64_t system_dirty_bytes(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
        char line[128];
        uint64_t total = 0;
        unsigned found = 0;

        if (!f)
                return UINT64_MAX;
        while (found < 2 && fgets(line, sizeof line, f)) {
                unsigned long long kb;
                if (sscanf(line, "Dirty: %llu kB", &kb) == 1 || sscanf(line, "Writeback: %llu kB", &kb) == 1) {
                        total += (uint64_t) kb * 1024;
                        found++;
                }
        }
        return found == 2 ? total : UINT64_MAX;
}

/* The data of every opened file reaches the disk before any rename. This runs on a worker
 * thread: a slow disk holds that thread, never the event loop.
 *
 * Many files whose data is nearly all the dirty data there is: one syncfs() per file
 * system, one journal commit for all. Otherwise syncfs() would also wait for what others
 * wrote, for as long as that takes; then the writeback of
 * every file starts first, so that the disk works on the whole batch at once, and each is
 * waited for with fdatasync() (the later ones find their data written and, on a journalling
 * file system, their metadata in the commit the first one forced). */
#define SYNCFS_THRESHOLD 8

#define SYNCFS_FOREIGN_MAX (16u * 1024u * 1024u)

#define SYNCFS_OWN_MAX (64u * 1024u * 1024u)

/* One file system of a batch and how its syncfs() went. */
typedef struct FsSync {
        dev_t dev;
        int r;
} FsSync;

static bool op_pending(const FileOp *op) {
        return op->fd >= 0 && op->r >= 0;
}

static void sync_one(FileOp *op) {
        op->r = fdatasync(op->fd) < 0 ? -errno : 0;
        op->synced = op->r >= 0;
}

void sync_policy_sync(FileOp *ops, size_t n) {
        size_t n_fds = 0, n_fs = 0;
        uint64_t own = 0;
        _cleanup_free_ FsSync *fs = NULL;

        assert(ops || n == 0);

        for (size_t i = 0; i < n; i++)
                if (op_pending(&ops[i]))
                        n_fds++;
        if (n_fds == 0)
                return;

        if (n_fds >= SYNCFS_THRESHOLD && (fs = calloc(n_fds, sizeof *fs))) {
                uint64_t dirty = system_dirty_bytes();
                for (size_t i = 0; i < n; i++)
                        if (op_pending(&ops[i]))
                                own += ops[i].size;
                /* Capped: the bytes of big files may be written back already (transfers start
                 * that early), and must not make room for other programs' dirty data. */
                if (own > SYNCFS_OWN_MAX)
                        own = SYNCFS_OWN_MAX;
                if (dirty != UINT64_MAX && dirty <= own + SYNCFS_FOREIGN_MAX) {
                        for (size_t i = 0; i < n; i++) {
                                size_t k;
                                if (!op_pending(&ops[i]))
                                        continue;
                                /* The file system and size as the open found them (fsops_open_finished()). */
                                for (k = 0; k < n_fs && fs[k].dev != ops[i].fs_dev; k++)
                                        ;
                                if (k == n_fs) {
                                        fs[k].dev = ops[i].fs_dev;
                                        fs[k].r = syncfs(ops[i].fd) < 0 ? -errno : 0;
                                        n_fs++;
                                }
                                /* A file system whose syncfs() failed: each of its files says
                                 * for itself whether its data is safe. */
                                if (fs[k].r < 0)
                                        sync_one(&ops[i]);
                                else
                                        ops[i].synced = true;
                        }
                        return;
                }
        }

        for (size_t i = 0; i < n; i++)
                if (op_pending(&ops[i]))
                        (void) sync_file_range(ops[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        for (size_t i = 0; i < n; i++)
                if (op_pending(&ops[i]))
                        sync_one(&ops[i]);
}
