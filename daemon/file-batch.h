/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File operations of one call (or one batch of completions) as a worker-pool task: copies of
 * the names, the directory as recorded and the owner's identity, never a job. The loop fills
 * the files, submits the batch for one step, and reads each file's result in done(). */

#include "fsops.h"
#include "io-pool.h"

typedef enum FileStep {
        FILE_STEP_FINISH,       /* open each finished temporary file, give it its mode, sync the data */
        FILE_STEP_RENAME,       /* rename each over its destination, then sync each directory once */
        FILE_STEP_UNLINK,       /* unlink each name (a file still open loses only its name) */
        FILE_STEP_CLOSE,        /* close each descriptor: an unlinked file's blocks are freed */
} FileStep;

typedef struct FileOp {
        FsIdentity identity;    /* a copy */
        char *dir;
        dev_t dev;
        ino_t ino;
        char *temp_name;
        char *final_name;       /* FINISH, RENAME */
        int fd;                 /* FINISH: the opened file, while its data is synced (closed by the
                                 * step); UNLINK: the file still open, closed by file_batch_close() */
        dev_t fs_dev;           /* FINISH: its file system, and its size, as the open found them */
        uint64_t size;
        int r;                  /* the step's result for this file; a failed file skips later steps,
                                 * -ECANCELED: left out (its job failed or was cancelled) */
        bool opened;            /* FINISH: it could be opened (else r says why) */
        bool synced;            /* FINISH: its data is on disk */
        int dir_sync_r;         /* RENAME: syncing its directory after the renames */
        size_t owner_index;     /* the loop's: which job of the batch */
        size_t file_index;      /* the loop's: which file of that job */
} FileOp;

typedef struct FileBatch FileBatch;
struct FileBatch {
        IoTask task;
        FileStep step;
        FileOp *ops;
        size_t n_ops, n_allocated;
        void (*done)(FileBatch *b);     /* on the loop; owns the batch from then on */
        void (*dropped)(FileBatch *b);  /* the daemon stops first: for userdata, before the free */
        void *userdata;
};

FileBatch *file_batch_new(void (*done)(FileBatch *b), void *userdata);
FileBatch *file_batch_free(FileBatch *b);
/* Adds a file (copies everything); NULL final_name for unlinks. */
int file_batch_add(FileBatch *b, const FsIdentity *id, const char *dir, dev_t dev, ino_t ino,
                   const char *temp_name, const char *final_name, size_t owner_index, size_t file_index);
void file_batch_submit(FileBatch *b, IoPool *pool, FileStep step);
/* The same through io_pool_submit_awaited(): a reply waits for the step, which the pool's
 * thread starts once the loop is done with the dispatch that asked for it. */
void file_batch_submit_awaited(FileBatch *b, IoPool *pool, FileStep step, uint64_t max_usec);
/* Frees the batch once a worker has closed the descriptors it holds (the last close of an
 * unlinked file frees its blocks: on a file system mounted with `discard`, milliseconds);
 * at once when it holds none. On the loop, after done(). */
void file_batch_close(FileBatch *b, IoPool *pool);

/* sync-policy.c, on a worker thread: the data of every opened file (fd >= 0, r >= 0) reaches
 * the disk; a file whose data may not have gets r < 0. */
void sync_policy_sync(FileOp *ops, size_t n);
/* Whether one syncfs() of a file system pays for `own` bytes of dirty data when the system
 * holds `dirty` (UINT64_MAX: unknown, it does not): they are nearly all of it, and the
 * syncfs() would not wait for other programs' data. Pure. */
bool sync_policy_syncfs_pays(uint64_t dirty, uint64_t own);
/* On a worker thread: the file system of fd synced ahead of a batch's sync when that pays
 * for the `own` bytes of finished files written since the last (sync-ahead.c): 1 when it
 * was synced, 0 when a syncfs() did not pay (nothing done), < 0 when syncfs() failed. */
int sync_policy_sync_ahead(int fd, uint64_t own);
