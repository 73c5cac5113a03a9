/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file operations of a batch, run on a worker thread with each owner's identity. */
#include <pthread.h>
#include <sys/resource.h>
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

void file_batch_submit_awaited(FileBatch *b, IoPool *pool, FileStep step, uint64_t max_usec) {
        assert(b);
        assert(pool);

        b->step = step;
        io_pool_submit_awaited(pool, &b->task, max_usec);
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

/* A batch this large (a job of many small files) is worked by two threads, each half of its
 * files: the loop waits for it, and the machine's other CPU is idle meanwhile. Measured with
 * 1000 files of 16 KiB on 2 CPUs: opening them took 15 ms on one thread, renaming them 16 ms. */
#define SPLIT_MIN 64

typedef void (*RangeWork)(FileBatch *b, size_t from, size_t to);

typedef struct Half {
        FileBatch *b;
        size_t from, to;
        RangeWork work;
} Half;

static void *half_run(void *p) {
        Half *h = p;

        h->work(h->b, h->from, h->to);
        return NULL;
}

/* work() on the files from..to: two halves at once for a large range (each thread switches to
 * each file's owner for its own calls), else, or without a second thread, in one go. */
static void batch_split_range(FileBatch *b, size_t from, size_t to, RangeWork work) {
        Half h = { .b = b, .from = from + (to - from) / 2, .to = to, .work = work };
        pthread_t t;

        if (to - from < SPLIT_MIN || pthread_create(&t, NULL, half_run, &h) != 0) {
                work(b, from, to);
                return;
        }
        work(b, from, h.from);
        (void) pthread_join(t, NULL);
}

static void batch_split(FileBatch *b, RangeWork work) {
        batch_split_range(b, 0, b->n_ops, work);
}

static void open_files(FileBatch *b, size_t from, size_t to) {
        FsDirCache cache = FS_DIR_CACHE_INIT;

        for (size_t i = from; i < to; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);
                struct stat st;

                op->fd = fsops_open_finished(&op->identity, &d, &cache, op->temp_name, 0644, &st);
                if (op->fd < 0) {
                        op->r = op->fd;
                        op->fd = -1;
                        continue;
                }
                op->opened = true;
                op->fs_dev = st.st_dev;
                op->size = (uint64_t) st.st_size;
        }
        fs_dir_cache_done(&cache);
}

/* The files FINISH holds open at once: a job of thousands must not take the daemon's last
 * descriptor, which curl's sockets, the bus and the store need as well. A quarter of what the
 * limit allows (256 of systemd's default 1024; xferd raises its soft limit to the hard one at
 * start), at least 16; a larger batch is finished in rounds of that many files, each opened,
 * synced and closed before the next. */
#define FINISH_OPEN_MIN 16u

static size_t finish_round(void) {
        struct rlimit rl;
        uint64_t n;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return SIZE_MAX;
        n = (uint64_t) rl.rlim_cur / 4;
        if (n < FINISH_OPEN_MIN)
                return FINISH_OPEN_MIN;
        return n < (uint64_t) SIZE_MAX ? (size_t) n : SIZE_MAX;
}

static void batch_finish(FileBatch *b) {
        size_t round = finish_round();

        for (size_t from = 0; from < b->n_ops; from += round) {
                size_t to = b->n_ops - from > round ? from + round : b->n_ops;

                batch_split_range(b, from, to, open_files);
                for (size_t i = from; i < to; i++)
                        if (b->ops[i].fd >= 0)
                                io_pool_test_delay("FSYNC", b->ops[i].dir);
                sync_policy_sync(b->ops + from, to - from);
                if (to == b->n_ops)
                        break;
                for (size_t i = from; i < to; i++)
                        b->ops[i].fd = safe_close(b->ops[i].fd);
        }
        /* Synced (or not), the last round's descriptors stay open through the renames (a rename
         * needs none and minds none) and are closed by a worker after the replies
         * (file_batch_close()), not by the loop, which has a thousand other things to do for a
         * job of a thousand files, and not before the renames: 1000 closes on two threads held
         * Complete's reply for 2–3 ms. */
}

static bool same_dir(const FileOp *a, const FileOp *b) {
        return a->dev == b->dev && a->ino == b->ino;
}

static void rename_files(FileBatch *b, size_t from, size_t to) {
        FsDirCache cache = FS_DIR_CACHE_INIT;
        size_t failed_owner = SIZE_MAX;

        for (size_t i = from; i < to; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);

                if (op->r < 0)
                        continue;
                /* After a failure the job's later files stay where they are (-ECANCELED: not
                 * tried), as "call Complete again to continue" says; those of the other half of
                 * a split batch may have moved already, and stay moved. */
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
        fs_dir_cache_done(&cache);
}

static void batch_rename(FileBatch *b) {
        FsDirCache cache = FS_DIR_CACHE_INIT;

        batch_split(b, rename_files);
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

/* A file of this size or more, closed already, is unlinked open (its blocks freed by the close
 * after the reply, file_batch_close()); at most this many a batch (descriptors are finite). */
#define UNLINK_KEEP_SIZE (16u * 1024u * 1024u)
#define UNLINK_KEEP_MAX 16u

static void batch_unlink(FileBatch *b) {
        unsigned kept = 0;

        for (size_t i = 0; i < b->n_ops; i++) {
                FileOp *op = &b->ops[i];
                FsDir d = op_dir(op);

                io_pool_test_delay("UNLINK", op->dir);
                if (op->fd >= 0 || kept >= UNLINK_KEEP_MAX) {
                        op->r = fsops_unlink(&op->identity, &d, op->temp_name);
                        continue;
                }
                op->r = fsops_unlink_kept(&op->identity, &d, op->temp_name, UNLINK_KEEP_SIZE, &op->fd);
                if (op->fd >= 0)
                        kept++;
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
                        if (b->ops[i].fd >= 0) {
                                io_pool_test_delay("CLOSE", b->ops[i].dir);
                                b->ops[i].fd = safe_close(b->ops[i].fd);
                        }
                break;
        }
}
