/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The data of finished small files written to disk while more files transfer, so that the
 * sync of their Complete finds little left to do.
 *
 * A large download starts the writeback of its bytes as it goes (transfer-write.c); a small
 * file's end starts nothing, and a job of 1000 files of 16 KiB left all of them to Complete:
 * its syncfs() then wrote 16 MiB of data and, on ext4 without a journal, each dirty block of
 * the inode tables one synchronous write after the other, 20–30 ms with the loop and the
 * client waiting. Here the ends of small files are counted, and after every SYNC_AHEAD_FILES
 * files (or SYNC_AHEAD_BYTES) one syncfs() of the last one's file system goes to a pool of
 * its own (one thread, 10 nice levels below the loop: a stuck file system's syncfs() holds
 * only it, never other downloads' writeback), one at a time, while the system's dirty data is
 * nearly all ours (the sync policy's rule: never one that would wait for other programs'
 * data). Nothing here promises anything: Complete syncs as before (data before rename,
 * durable before the reply), and finds the data and the inodes written. 1000 files of 16 KiB
 * written in about 100 ms: the final syncfs() 20–30 ms alone, 1.5–3 ms after syncs ahead
 * every 20 ms. */
#include <fcntl.h>
#include <stdlib.h>

#include "file-batch.h"
#include "manager-internal.h"
#include "util.h"

/* Files smaller than this had no writeback started while they transferred. */
#define SYNC_AHEAD_FILE_MAX (8u * 1024u * 1024u)
#define SYNC_AHEAD_FILES 64u
#define SYNC_AHEAD_BYTES (8u * 1024u * 1024u)

typedef struct SyncAhead {
        IoTask task;                    /* first: the pool hands it back */
        int fd;                         /* a duplicate: the lane closes its own at once */
        uint64_t own;                   /* the bytes of the files counted for it */
} SyncAhead;

static void sync_ahead_run(IoTask *t) {
        SyncAhead *s = (SyncAhead *) t;

        (void) sync_policy_sync_ahead(s->fd, s->own);
        s->fd = safe_close(s->fd);
}

static void sync_ahead_free(IoTask *t) {
        SyncAhead *s = (SyncAhead *) t;

        safe_close(s->fd);
        free(s);
}

void download_sync_ahead(Manager *m, int fd, uint64_t size) {
        SyncAhead *s;

        assert(m);
        assert(fd >= 0);

        if (size >= SYNC_AHEAD_FILE_MAX)
                return;
        m->sync_ahead_files++;
        m->sync_ahead_bytes += size;
        /* One at a time: the pool holds only these. */
        if (io_pool_busy(m->sync_ahead_pool) > 0 ||
            (m->sync_ahead_files < SYNC_AHEAD_FILES && m->sync_ahead_bytes < SYNC_AHEAD_BYTES))
                return;
        s = calloc(1, sizeof *s);
        if (!s)
                return;  /* Complete syncs all the same */
        s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (s->fd < 0) {
                free(s);
                return;
        }
        s->task = (IoTask) { .run = sync_ahead_run, .done = sync_ahead_free, .drop = sync_ahead_free };
        s->own = m->sync_ahead_bytes;
        m->sync_ahead_files = 0;
        m->sync_ahead_bytes = 0;
        io_pool_submit(m->sync_ahead_pool, &s->task);
}
