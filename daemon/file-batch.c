/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file operations of a batch, run on a worker thread with each owner's identity. */
#include <stdlib.h>

#include "file-batch.h"
#include "util.h"

static void file_op_done(FileOp *op) {
        fs_identity_done(&op->identity);
        free(op->dir);
        free(op->temp_name);
        free(op->final_name);
        op->fd = safe_close(op->fd);
}

FileBatch *file_batch_free(FileBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_ops; i++)
                file_op_done(&b->ops[i]);
        free(b->ops);
        return mfree(b);
}

static void batch_run(IoTask *t);

static void batch_done(IoTask *t) {
        FileBatch *b = (FileBatch *) t;

        b->done(b);
}

/* The daemon stops with the batch unfinished: the store still says what the next start must
 * finish (temporary files to remove, renames to finish). */
static void batch_drop(IoTask *t) {
        FileBatch *b = (FileBatch *) t;

        if (b->dropped)
                b->dropped(b);
        file_batch_free(b);
}

FileBatch *file_batch_new(void (*done)(FileBatch *b), void *userdata) {
        FileBatch *b;

        assert(done);

        b = calloc(1, sizeof *b);
        if (!b)
                return NULL;
        b->task = (IoTask) { .run = batch_run, .done = batch_done, .drop = batch_drop };
        b->done = done;
        b->userdata = userdata;
        return b;
}

int file_batch_add(FileBatch *b, const FsIdentity *id, const char *dir, dev_t dev, ino_t ino,
                   const char *temp_name, const char *final_name, size_t owner_index, size_t file_index) {
        FileOp *op;
        int r;

        assert(b);
        assert(id);
        assert(dir);
        assert(temp_name);

        r = array_reserve((void **) &b->ops, &b->n_allocated, b->n_ops + 1, sizeof *b->ops);
        if (r < 0)
                return r;
        op = &b->ops[b->n_ops];
        *op = (FileOp) { .fd = -1, .dev = dev, .ino = ino, .owner_index = owner_index, .file_index = file_index };
        if (fs_identity_copy(id, &op->identity) < 0 || !(op->dir = strdup(dir)) ||
            !(op->temp_name = strdup(temp_name)) || (final_name && !(op->final_name = strdup(final_name)))) {
                file_op_done(op);
                return -ENOMEM;
        }
        b->n_ops++;
        return 0;
}

void file_batch_submit(FileBatch *b, IoPool *pool, FileStep step) {
        assert(b);
        assert(pool);

        b->step = step;
        io_pool_submit(pool, &b->task);
}

static void batch_closed(FileBatch *b) {
        file_batch_free(b);
}

void file_batch_close(FileBatch *b, IoPool *pool) {
        assert(b);
        assert(pool);

        for (size_t i = 0; i < b->n_ops; i++)
                if (b->ops[i].fd >= 0) {
                        b->done = batch_closed;
                        b->dropped = NULL;
                        /* Long work (the blocks freed), which no reply waits for: any CPU. */
                        b->task.near_loop = false;
                        file_batch_submit(b, pool, FILE_STEP_CLOSE);
                        return;
                }
        file_batch_free(b);
}

static FsDir op_dir(const FileOp *op) {
        return (FsDir) { .path = op->dir, .dev = op->dev, .ino = op->ino };
}

static void batch_finish(FileBatch *b) {
        FsDirCache cache = FS_DIR_CACHE_INIT;

        for (size_t i = 0; i < b->n_ops; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);

                op->fd = fsops_open_finished(&op->identity, &d, &cache, op->temp_name, 0644);
                if (op->fd < 0) {
                        op->r = op->fd;
                        op->fd = -1;
                }
        }
        fs_dir_cache_done(&cache);
        for (size_t i = 0; i < b->n_ops; i++)
                if (b->ops[i].fd >= 0)
                        io_pool_test_delay("FSYNC", b->ops[i].dir);
        sync_policy_sync(b->ops, b->n_ops);
}

static bool same_dir(const FileOp *a, const FileOp *b) {
        return a->dev == b->dev && a->ino == b->ino;
}

static void batch_rename(FileBatch *b) {
        FsDirCache cache = FS_DIR_CACHE_INIT;
        size_t failed_owner = SIZE_MAX;

        for (size_t i = 0; i < b->n_ops; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);

                if (op->r < 0)
                        continue;
                /* After a failure the job's later files stay where they are (-ECANCELED: not
                 * tried), as "call Complete again to continue" says. */
                if (op->owner_index == failed_owner) {
                        op->r = -ECANCELED;
                        continue;
                }
                io_pool_test_delay("RENAME", op->dir);
                /* The data was synced in the step before, with the loop in between: the
                 * directory is checked afresh. */
                op->r = fsops_rename(&op->identity, &d, &cache, op->temp_name, op->final_name);
                if (op->r < 0)
                        failed_owner = op->owner_index;
        }
        /* Each directory once, after every rename into it (jobs of a batch may share one). */
        for (size_t i = 0; i < b->n_ops; i++) {
                FileOp *op = &b->ops[i];
                size_t k;

                if (op->r < 0)
                        continue;
                for (k = 0; k < i; k++)
                        if (b->ops[k].r >= 0 && same_dir(&b->ops[k], op))
                                break;
                if (k < i) {
                        op->dir_sync_r = b->ops[k].dir_sync_r;
                        continue;
                }
                FsDir d = op_dir(op);
                op->dir_sync_r = fsops_sync_directory(&op->identity, &d, &cache);
        }
        fs_dir_cache_done(&cache);
}

static void batch_unlink(FileBatch *b) {
        for (size_t i = 0; i < b->n_ops; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);

                io_pool_test_delay("UNLINK", op->dir);
                op->r = fsops_unlink(&op->identity, &d, op->temp_name);
        }
}

static void batch_run(IoTask *t) {
        FileBatch *b = (FileBatch *) t;

        switch (b->step) {
        case FILE_STEP_FINISH:
                batch_finish(b);
                break;
        case FILE_STEP_RENAME:
                batch_rename(b);
                break;
        case FILE_STEP_UNLINK:
                batch_unlink(b);
                break;
        case FILE_STEP_CLOSE:
                for (size_t i = 0; i < b->n_ops; i++)
                        b->ops[i].fd = safe_close(b->ops[i].fd);
                break;
        }
}
