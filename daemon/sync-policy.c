/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How the data of a batch of finished files reaches the disk. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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
 * file system, their metadata in the commit the first one forced), by several threads at
 * once: each fdatasync() ends with a flush of the disk's cache, and flushes asked for
 * together are done as one. */
#define SYNCFS_THRESHOLD 8

#define SYNCFS_FOREIGN_MAX (16u * 1024u * 1024u)

#define SYNCFS_OWN_MAX (64u * 1024u * 1024u)

/* One file system of a batch and how its syncfs() went. */
typedef struct FsSync {
        dev_t dev;
        int r;
} FsSync;

bool sync_policy_syncfs_pays(uint64_t dirty, uint64_t own) {
        /* Capped: the bytes of big files may be written back already (transfers start that
         * early), and must not make room for other programs' dirty data. */
        if (own > SYNCFS_OWN_MAX)
                own = SYNCFS_OWN_MAX;
        return dirty != UINT64_MAX && dirty <= own + SYNCFS_FOREIGN_MAX;
}

int sync_policy_sync_ahead(int fd, uint64_t own) {
        assert(fd >= 0);

        if (!sync_policy_syncfs_pays(system_dirty_bytes(), own))
                return 0;
        return syncfs(fd) < 0 ? -errno : 1;
}

static bool op_pending(const FileOp *op) {
        return op->fd >= 0 && op->r >= 0;
}

static void sync_one(FileOp *op) {
        op->r = fdatasync(op->fd) < 0 ? -errno : 0;
        op->synced = op->r >= 0;
}

/* Threads that wait for fdatasync() at once, the caller's among them. 1000 files of 16 KiB
 * whose writeback had started, on the 2-CPU test VM while other programs wrote: 2.0-4.1 s on
 * one thread, 0.09-0.20 s on eight (a syncfs() of the same: 0.12 s). */
#define SYNC_THREADS_MAX 8

/* The files of a batch, taken one at a time by each thread that syncs them. */
typedef struct SyncShare {
        FileOp *ops;
        size_t n;
        atomic_size_t next;
} SyncShare;

static void *sync_share_run(void *p) {
        SyncShare *s = p;

        for (size_t i; (i = atomic_fetch_add(&s->next, 1)) < s->n;)
                if (op_pending(&s->ops[i]))
                        sync_one(&s->ops[i]);
        return NULL;
}

/* Each pending file with fdatasync(), by up to SYNC_THREADS_MAX threads; fewer when no more
 * can be started. */
static void sync_each(FileOp *ops, size_t n, size_t n_pending) {
        SyncShare s = { .ops = ops, .n = n };
        pthread_t threads[SYNC_THREADS_MAX - 1];
        size_t n_threads = 0, want = (n_pending < SYNC_THREADS_MAX ? n_pending : SYNC_THREADS_MAX) - 1;

        while (n_threads < want && pthread_create(&threads[n_threads], NULL, sync_share_run, &s) == 0)
                n_threads++;
        sync_share_run(&s);
        for (size_t k = 0; k < n_threads; k++)
                (void) pthread_join(threads[k], NULL);
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
                if (sync_policy_syncfs_pays(dirty, own)) {
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
        sync_each(ops, n, n_fds);
}
