/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's temporary files removed on a worker thread, and those that could not be removed yet,
 * retried until they are. */
#include "cpu-gate.h"
#include "digest.h"
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define UNLINK_RETRY_USEC (30 * USEC_PER_SEC)
/* How long the loop looks for the result of the unlinks a reply waits for before it sleeps:
 * the worker's wake-up and an unlink take 0.1-0.2 ms. */
#define UNLINK_AWAIT_USEC 200
/* How long the bulk work of downloads waits for them at most (cpu-gate.h). */
#define UNLINK_GATE_USEC 1000

void pending_unlink_free(PendingUnlink *p) {
        fs_identity_done(&p->identity);
        free(p->dir);
        free(p->name);
        free(p);
}

int pending_unlink_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        PendingUnlink *next;

        assert(m);

        for (PendingUnlink *u = LIST_ENTRY(m->pending_unlinks.head, PendingUnlink, node); u; u = next) {
                next = LIST_ENTRY(u->node.next, PendingUnlink, node);
                FsDir d = { .path = u->dir, .dev = u->dev, .ino = u->ino };
                int r = fsops_unlink(&u->identity, &d, u->name);
                if (r < 0) {
                        log_warning_errno(r, "Still cannot remove temporary file %s/%s, will try again", u->dir, u->name);
                        continue;
                }
                log_info("Removed temporary file %s/%s that could not be removed before.", u->dir, u->name);
                (void) store_remove_pending_unlink(m->store, u->dir, u->name);
                list_remove(&m->pending_unlinks, &u->node);
                pending_unlink_free(u);
        }

        if (!list_is_empty(&m->pending_unlinks)) {
                if (m->unlink_retry_usec < 3600 * USEC_PER_SEC)
                        m->unlink_retry_usec *= 2;
                (void) sd_event_source_set_time_relative(s, m->unlink_retry_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        idle_check(m);
        return 0;
}

/* Remembers a temporary file to remove later (stored unless it came from the store). */
static int manager_add_pending_unlink(Manager *m, uid_t owner, const char *dir, dev_t dev, ino_t ino,
                                      const char *name, bool save) {
        PendingUnlink *u = calloc(1, sizeof *u);

        if (!u || !(u->dir = strdup(dir)) || !(u->name = strdup(name)) || fs_identity_load(owner, &u->identity) < 0) {
                log_error("Out of memory: temporary file %s/%s is left behind.", dir, name);
                if (u) {
                        free(u->dir);
                        free(u->name);
                        free(u);
                }
                return -ENOMEM;
        }
        u->dev = dev;
        u->ino = ino;
        list_prepend(&m->pending_unlinks, &u->node);
        if (save)
                (void) store_add_pending_unlink(m->store, owner, dir, dev, ino, name);

        m->unlink_retry_usec = UNLINK_RETRY_USEC;
        (void) sd_event_source_set_time_relative(m->unlink_timer, UNLINK_RETRY_USEC);
        (void) sd_event_source_set_enabled(m->unlink_timer, SD_EVENT_ONESHOT);
        return 0;
}

static void manager_remember_unlink(Manager *m, const Job *j, const JobFile *f) {
        (void) manager_add_pending_unlink(m, j->owner, f->dir, f->dir_dev, f->dir_ino, f->temp_name, true);
}

/* The unlinks of one job are done: the state is told and whoever waits gets the reply; the
 * store learns that the files are gone after that, off the reply's path. The intent
 * (cancelled or acknowledged, these files) was committed before the unlinks, so until then
 * a crash only makes the next start unlink them again, which finds them gone. A failure is
 * remembered (stored at once) for a later try. */
static void on_job_unlinked(FileBatch *b) {
        Job *j = b->userdata;
        Manager *m = j->manager;
        JobCall *waiters;
        bool failed = false;

        for (size_t k = 0; k < b->n_ops; k++) {
                JobFile *f = j->files[b->ops[k].file_index];

                failed = failed || b->ops[k].r < 0;
                f->temp_exists = false;
                f->bytes_transferred = 0;
                f->validator = mfree(f->validator);
        }
        j->unlinking = NULL;

        /* The signals and the replies below in one write to the bus, which then wakes once
         * for them, not once a message (each a preemption of the loop on its CPU). */
        if (m->observer.unlinked_begin)
                m->observer.unlinked_begin(m);
        /* What the state change told would have been true too early before this. */
        if (j->signals_deferred) {
                unsigned changes = j->signals_deferred;
                j->signals_deferred = 0;
                manager_notify_changed(j, changes);
                job_changes_flush(j);
                if (job_state_is_final(j->state) && m->observer.job_removed)
                        m->observer.job_removed(m, j);
        }
        /* The state is announced before the replies (a job whose signals were not deferred
         * may still have changes gathered). */
        job_changes_flush(j);
        waiters = TAKE_PTR(j->unlink_waiters);
        while (waiters) {
                JobCall *c = waiters;
                waiters = c->next;
                manager_call_finish(c, 0, NULL, c->partial);
        }
        if (m->observer.unlinked_end)
                m->observer.unlinked_end(m);
        cpu_gate_open(j->unlink_gate);
        j->unlink_gate = 0;
        manager_crash_point("cancel-replied");

        if (failed || !job_state_is_final(j->state)) {
                (void) store_begin(m->store);
                for (size_t k = 0; k < b->n_ops; k++) {
                        const FileOp *op = &b->ops[k];
                        JobFile *f = j->files[op->file_index];

                        if (op->r < 0) {
                                log_warning_errno(op->r,
                                                  "Cannot remove temporary file %s/%s of job %s now, will try again",
                                                  f->dir, f->temp_name, j->id);
                                manager_remember_unlink(m, j, f);
                        }
                }
                checkpoint_save(j);
                (void) store_end(m->store);
        } else
                /* With the next progress checkpoint, in its transaction. */
                checkpoint_mark_files(j);
        file_batch_close(b, m->io_pool);
        retention_io_released(j);
        idle_check(m);
}

static void on_job_unlink_dropped(FileBatch *b) {
        Job *j = b->userdata;

        j->unlinking = NULL;
        cpu_gate_open(j->unlink_gate);
        j->unlink_gate = 0;
        manager_calls_shutdown(&j->unlink_waiters);
}

/* Removes the temporary files of the job on a worker thread: every one (all) or those not
 * committed. The store keeps listing them until they are gone (a restart removes what it
 * lists), and the job is told about afterwards. A file still open in fds (its transfer just
 * stopped) is closed after the reply. False when there was nothing to remove. */
bool pending_unlink_start(Job *j, bool all, LaneFds *fds) {
        FileBatch *b;

        assert(j);
        assert(!j->unlinking);

        b = file_batch_new(on_job_unlinked, j);
        if (!b) {
                log_oom();
                return false;
        }
        b->dropped = on_job_unlink_dropped;
        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];

                if (!f->temp_exists || (!all && f->committed))
                        continue;
                /* Recorded ahead of its creation and never made in this run: nothing to remove
                 * (the store learns it with the job's next write; a restart before that finds
                 * the name missing, which is as good). */
                if (f->temp_ahead) {
                        f->temp_exists = f->temp_ahead = false;
                        continue;
                }
                if (file_batch_add(b, &j->identity, f->dir, f->dir_dev, f->dir_ino, f->temp_name, NULL, 0, i) < 0) {
                        /* Stays listed in the store: the next start removes it. */
                        log_oom();
                        continue;
                }
                b->ops[b->n_ops - 1].fd = fds ? lane_fds_take(fds, i) : -1;
        }
        if (b->n_ops == 0) {
                file_batch_free(b);
                return false;
        }
        j->unlinking = b;
        b->task.near_loop = true;
        j->unlink_gate = cpu_gate_close(UNLINK_GATE_USEC);
        (void) io_pool_pin_idle(j->manager->io_pool);
        /* A reply waits for it, and an unlink is short: the loop looks for the result before
         * it sleeps, and wakes the thread then, once the handler is done (the commit below in
         * job_apply_full(), the signals). */
        file_batch_submit_awaited(b, j->manager->io_pool, FILE_STEP_UNLINK, UNLINK_AWAIT_USEC);
        return true;
}

/* At start-up, before the first call is served. */
void pending_unlink_remove_temporary(Job *j, JobFile *f) {
        assert(j);
        assert(f);

        if (!f->temp_exists)
                return;

        FsDir d = job_file_dir(f);
        /* Recorded ahead of its creation and never made in this run: nothing to remove. */
        int r = f->temp_ahead ? 0 : fsops_unlink(&j->identity, &d, f->temp_name);
        f->temp_ahead = false;
        if (r < 0) {
                log_warning_errno(r, "Cannot remove temporary file %s/%s of job %s now, will try again",
                                  f->dir, f->temp_name, j->id);
                manager_remember_unlink(j->manager, j, f);
        }
        f->temp_exists = false;
        f->bytes_transferred = 0;
        f->validator = mfree(f->validator);
        /* What was hashed or verified were those bytes. */
        f->hasher = hasher_free(f->hasher);
        f->verified_by = 0;
        f->verified_checksum = mfree(f->verified_checksum);
}

int pending_unlink_adopt(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                         void *userdata) {
        Manager *m = userdata;
        FsIdentity id;
        FsDir d = { .path = dir, .dev = dev, .ino = ino };
        int r;

        assert(dir);
        assert(name);
        assert(m);

        r = fs_identity_load(owner, &id);
        if (r < 0)
                return r;
        r = fsops_unlink(&id, &d, name);
        fs_identity_done(&id);
        if (r >= 0) {
                log_info("Removed temporary file %s/%s left from before.", dir, name);
                return store_remove_pending_unlink(m->store, dir, name);
        }
        return manager_add_pending_unlink(m, owner, dir, dev, ino, name, false);
}
