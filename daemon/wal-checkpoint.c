/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's write-ahead log copied into the database on a worker thread, never inside a
 * commit that a caller waits for. */
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "util.h"

typedef struct WalCheckpoint {
        IoTask task;
        Manager *manager;
        Store *store;
        int r;
} WalCheckpoint;

static void wal_checkpoint_run(IoTask *t) {
        WalCheckpoint *c = (WalCheckpoint *) t;

        c->r = store_checkpoint(c->store);
}

static void wal_checkpoint_done(IoTask *t) {
        WalCheckpoint *c = (WalCheckpoint *) t;
        Manager *m = c->manager;

        if (c->r > 0)
                log_debug("Store checkpoint left %d pages in the log for the next one.", c->r);
        m->checkpointing = false;
        free(c);
        idle_check(m);
}

static void wal_checkpoint_drop(IoTask *t) {
        free(t);
}

/* From a commit (the store's wal hook): the log is long enough to copy. Whether a checkpoint
 * starts: not while one runs (the next commit asks again). */
bool wal_checkpoint_want(void *userdata) {
        Manager *m = userdata;
        WalCheckpoint *c;

        assert(m);

        if (m->checkpointing)
                return false;
        c = calloc(1, sizeof *c);
        if (!c) {
                log_oom();
                return false;
        }
        *c = (WalCheckpoint) {
                .task = { .run = wal_checkpoint_run, .done = wal_checkpoint_done, .drop = wal_checkpoint_drop },
                .manager = m,
                .store = m->store,
        };
        m->checkpointing = true;
        io_pool_submit(m->io_pool, &c->task);
        return true;
}
