/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Complete: moving finished files into place, alone or batched. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define AUTO_COMPLETE_WINDOW_USEC (5 * USEC_PER_MSEC)

void complete_auto_queue(Job *j) {
        Manager *m = j->manager;

        assert(j);

        if (list_node_is_linked(&m->auto_complete, &j->auto_complete_node))
                return;
        manager_crash_point("auto-complete-queued");
        list_prepend(&m->auto_complete, &j->auto_complete_node);
        /* Jobs that finish within a few milliseconds of each other complete as one batch,
         * which shares its durability work (see sync_policy_sync()). */
        if (sd_event_source_get_enabled(m->auto_complete_source, NULL) > 0)
                return;
        (void) sd_event_source_set_time_relative(m->auto_complete_source, AUTO_COMPLETE_WINDOW_USEC);
        (void) sd_event_source_set_enabled(m->auto_complete_source, SD_EVENT_ONESHOT);
}

void complete_work_fail(CompleteWork *w, int r, const char *format, ...) {
        va_list ap;

        assert(w);
        assert(format);

        va_start(ap, format);
        w->r = call_error_setv(&w->e, r < 0 ? r : -EIO, CALL_ERROR_COMPLETE_FAILED, format, ap);
        va_end(ap);
}

/* A finished temporary file is gone: the file starts over on the next Resume. */
static void job_reset_file(Job *j, size_t i) {
        JobFile *f = j->files[i];

        f->completed = false;
        f->temp_exists = false;
        f->bytes_transferred = 0;
        f->bytes_total = UINT64_MAX;
        f->validator = mfree(f->validator);
        checkpoint_save_file(j, i);
        if (j->current > i)
                j->current = i;
}

/* The steps of a batch of completions, each on a worker thread with the loop in between:
 *
 *   finish   open each finished temporary file, give it its mode, sync its data
 *   (loop)   a job cancelled meanwhile drops out; "committed" is recorded for the rest (the
 *            data is durable, the temporary file still named: a restart finishes the rename,
 *            see job_finish_renames())
 *   rename   each file over its destination, then each directory synced once
 *   (loop)   the temporary files recorded as gone, the state machine, the replies
 *
 * A crash or power cut anywhere leaves a state the next start completes; the store never
 * says "moved" before the directory holding the new name is on disk. */

static void complete_step_finished(FileBatch *fb);
static void complete_step_renamed(FileBatch *fb);

static void complete_batch_free(CompleteBatch *b) {
        free(b->works);
        free(b);
}

/* The daemon stops between two steps: the store says what the next start finishes. */
static void complete_batch_drop(CompleteBatch *b) {
        for (size_t w = 0; w < b->n; w++) {
                b->works[w].job->completing = NULL;
                if (b->works[w].call) {
                        b->works[w].call->next = NULL;
                        manager_calls_shutdown(&b->works[w].call);
                }
        }
        complete_batch_free(b);
}

static void complete_batch_dropped(FileBatch *fb) {
        complete_batch_drop(fb->userdata);
}

static bool work_active(const CompleteWork *w) {
        return w->r >= 0 && !job_state_is_final(w->job->state);
}

/* Records the files of the batch as they are now, in one transaction. */
static int batch_record(Manager *m, CompleteBatch *b, const FileBatch *fb) {
        int r;

        r = store_begin(m->store);
        if (r < 0)
                return r;
        for (size_t k = 0; k < fb->n_ops; k++) {
                Job *j = b->works[fb->ops[k].owner_index].job;
                if (!job_state_is_final(j->state))
                        checkpoint_save_file(j, fb->ops[k].file_index);
        }
        return store_end(m->store);
}

/* After the renames: the files as they are now and the completion of every job still to be
 * completed, in one commit for the whole batch; each job's Complete then stores nothing more
 * (job_apply_stored()). If that commit fails, each job that completed stores its own; the
 * file records of a job whose rename failed are then left to recovery, which looks for the
 * file under both of its names. */
static void batch_record_completions(Manager *m, CompleteBatch *b, const FileBatch *fb) {
        (void) store_begin(m->store);
        (void) batch_record(m, b, fb);
        for (size_t w = 0; w < b->n; w++) {
                CompleteWork *cw = &b->works[w];
                Job *j = cw->job;

                if (cw->r < 0 || job_state_is_final(j->state))
                        continue;
                if (j->type == JOB_UPLOAD)
                        /* The server has every byte; nothing on disk changes. */
                        for (size_t i = 0; i < j->n_files; i++)
                                j->files[i]->committed = true;
                cw->stored = job_store_event(j, JOB_EVENT_COMPLETE) >= 0;
        }
        if (store_end(m->store) < 0)
                for (size_t w = 0; w < b->n; w++)
                        b->works[w].stored = false;
}

static void complete_batch_start(CompleteBatch *b) {
        Manager *m = b->manager;
        FileBatch *fb;

        fb = file_batch_new(complete_step_finished, b);
        if (!fb) {
                for (size_t w = 0; w < b->n; w++)
                        b->works[w].r = call_error_set(&b->works[w].e, -ENOMEM, CALL_ERROR_INTERNAL, "Out of memory.");
                /* Nothing was opened: the last step only reports. */
                fb = file_batch_new(complete_step_renamed, b);
                if (!fb) {
                        log_oom();
                        complete_batch_drop(b);
                        return;
                }
                fb->dropped = complete_batch_dropped;
                for (size_t w = 0; w < b->n; w++)
                        b->works[w].job->completing = b;
                complete_step_renamed(fb);
                return;
        }
        fb->dropped = complete_batch_dropped;
        for (size_t w = 0; w < b->n; w++) {
                Job *j = b->works[w].job;

                j->completing = b;
                if (j->type != JOB_DOWNLOAD)
                        continue;
                for (size_t i = 0; i < j->n_files && b->works[w].r >= 0; i++) {
                        JobFile *f = j->files[i];

                        if (!f->completed || f->committed)
                                continue;
                        if (file_batch_add(fb, &j->identity, f->dir, f->dir_dev, f->dir_ino, f->temp_name, f->name,
                                           w, i) < 0)
                                b->works[w].r = call_error_set(&b->works[w].e, -ENOMEM, CALL_ERROR_INTERNAL,
                                                               "Out of memory.");
                }
        }
        file_batch_submit(fb, m->io_pool, FILE_STEP_FINISH);
}

/* Data synced (or not): decide per job, record "committed", then rename. */
static void complete_step_finished(FileBatch *fb) {
        CompleteBatch *b = fb->userdata;
        Manager *m = b->manager;

        for (size_t k = 0; k < fb->n_ops; k++) {
                FileOp *op = &fb->ops[k];
                CompleteWork *w = &b->works[op->owner_index];
                Job *j = w->job;
                JobFile *f = j->files[op->file_index];

                if (!work_active(w))
                        continue;
                /* The files in file order: the first failure of a job stands for it. */
                if (!op->opened && op->r == -ENOENT && f->temp_exists) {
                        job_reset_file(j, op->file_index);
                        complete_work_fail(w, op->r, "The temporary file of %s vanished; the file was reset and the job "
                                  "suspended: Resume it to download the file again.", f->path);
                        w->reset = true;
                } else if (!op->opened)
                        complete_work_fail(w, op->r, "Cannot move the finished file into place at %s: %s%s. Nothing was "
                                  "moved; call Complete again once it is fixed.", f->path, strerror(-op->r),
                                  op->r == -ESTALE ? " (its directory was replaced since the file was added)" : "");
                else if (!op->synced)
                        complete_work_fail(w, op->r, "Cannot write %s to disk: %s", f->path, strerror(-op->r));
        }
        for (size_t w = 0; w < b->n; w++) {
                Job *j = b->works[w].job;

                if (b->works[w].reset)
                        (void) job_apply(j, JOB_EVENT_SUSPEND, NULL);
                else if (b->works[w].r >= 0 && job_state_is_final(j->state))
                        /* Cancel came first: its reply waits for the unlinks, not for this. */
                        b->works[w].r = call_error_set(&b->works[w].e, -ESTALE, CALL_ERROR_INVALID_STATE,
                                                       "Job %s was cancelled while it was being completed; "
                                                       "nothing was moved.", j->id);
        }

        for (size_t k = 0; k < fb->n_ops; k++) {
                FileOp *op = &fb->ops[k];

                if (work_active(&b->works[op->owner_index]))
                        b->works[op->owner_index].job->files[op->file_index]->committed = true;
                else
                        op->r = -ECANCELED;
        }
        int r = batch_record(m, b, fb);
        if (r < 0)
                /* Without that record a crash after a rename could not be told from a lost
                 * file: nothing moves. */
                for (size_t k = 0; k < fb->n_ops; k++) {
                        FileOp *op = &fb->ops[k];
                        CompleteWork *w = &b->works[op->owner_index];

                        if (op->r == -ECANCELED)
                                continue;
                        w->job->files[op->file_index]->committed = false;
                        op->r = -ECANCELED;
                        if (w->r >= 0) {
                                complete_work_fail(w, r, "Cannot record the completion of job %s in the job store "
                                                   "in the state directory %s: %s. Nothing was moved; call "
                                                   "Complete again.", w->job->id, m->config.state_dir, strerror(-r));
                                w->e.kind = CALL_ERROR_IO;
                        }
                }
        manager_crash_point("complete-renaming");
        b->renaming = true;
        fb->done = complete_step_renamed;
        file_batch_submit(fb, m->io_pool, FILE_STEP_RENAME);
}

static void complete_work_report(CompleteWork *w) {
        Job *j = w->job;
        JobCall *c;

        if (!w->call)
                return;
        c = TAKE_PTR(w->call);
        c->partial = w->partial;
        /* Files not committed are being unlinked: the reply comes once they are gone. */
        if (w->r >= 0 && j->unlinking) {
                c->next = j->unlink_waiters;
                j->unlink_waiters = c;
                return;
        }
        /* What the call changed is announced before its reply. */
        job_changes_flush(j);
        manager_call_finish(c, w->r, &w->e, w->partial);
}

/* A Cancel that waited for the renames: it now finds the job completed, or cancels it. */
static void job_run_deferred_cancels(Job *j) {
        JobCall *list = TAKE_PTR(j->deferred_cancels);

        if (j->cancel_deferred) {
                j->cancel_deferred = false;
                (void) job_cancel(j, NULL, NULL);
        }

        while (list) {
                JobCall *c = list;
                CallError e = { .kind = CALL_ERROR_NONE };
                list = c->next;
                c->next = NULL;
                int r = job_cancel(j, c, &e);
                if (r <= 0) {
                        job_changes_flush(j);
                        manager_call_finish(c, r, &e, false);
                }
        }
}

static void complete_step_renamed(FileBatch *fb) {
        CompleteBatch *b = fb->userdata;
        Manager *m = b->manager;

        for (size_t k = 0; k < fb->n_ops; k++) {
                FileOp *op = &fb->ops[k];
                CompleteWork *w = &b->works[op->owner_index];
                JobFile *f = w->job->files[op->file_index];

                if (op->r == -ECANCELED) {
                        f->committed = false;  /* recorded ahead, perhaps, but not moved after all */
                        continue;
                }
                if (op->r < 0) {
                        complete_work_fail(w, op->r, "Cannot move the finished file into place at %s: %s%s. Files moved "
                                  "so far stay; call Complete again to continue.", f->path, strerror(-op->r),
                                  op->r == -ESTALE ? " (its directory was replaced)" : "");
                        f->committed = false;
                        continue;
                }
                w->moved = true;
                /* A rename whose directory is not known to be on disk stays recorded with its
                 * temporary name: a restart checks which of the two names exists. */
                if (op->dir_sync_r < 0)
                        log_warning_errno(op->dir_sync_r, "Cannot sync directory %s", op->dir);
                else
                        f->temp_exists = false;
        }
        batch_record_completions(m, b, fb);

        for (size_t w = 0; w < b->n; w++) {
                CompleteWork *cw = &b->works[w];
                Job *j = cw->job;

                j->completing = NULL;
                if (cw->r >= 0 && !job_state_is_final(j->state)) {
                        for (size_t i = 0; i < j->n_files; i++)
                                if (!j->files[i]->committed)
                                        cw->partial = true;
                        cw->r = cw->stored ? job_apply_stored(j, JOB_EVENT_COMPLETE, &cw->e)
                                           : job_apply(j, JOB_EVENT_COMPLETE, &cw->e);
                        if (cw->r < 0 && cw->e.kind == CALL_ERROR_IO && cw->moved)
                                /* The files are in place already: say so, not "nothing changed". */
                                (void) call_error_set(&cw->e, cw->r, CALL_ERROR_IO,
                                                      "The files of job %s are in place, but the job store in the "
                                                      "state directory %s cannot record that it is complete: %s. "
                                                      "Call Complete again.", j->id, m->config.state_dir,
                                                      strerror(-cw->r));
                        if (cw->r >= 0)
                                log_job_info(j->id, j->owner, NULL, "Completed%s.", cw->partial ? " partially" : "");
                } else if (cw->r >= 0)
                        cw->r = call_error_set(&cw->e, -ESTALE, CALL_ERROR_INVALID_STATE,
                                               "Job %s was cancelled while it was being completed.", j->id);
                if (b->automatic && cw->r < 0) {
                        log_job_warning(j->id, j->owner, NULL, "Automatic completion failed: %s", cw->e.message);
                        if (j->state == JOB_TRANSFERRED) {
                                job_set_error(j, ERROR_NAME_COMPLETE_FAILED, cw->e.message,
                                              "A file could not be moved into place");
                                (void) job_apply(j, JOB_EVENT_COMPLETE_FAILED, NULL);
                        }
                }
                complete_work_report(cw);
                job_run_deferred_cancels(j);
                retention_io_released(j);
        }
        /* The finished files' descriptors: closed by a worker once the replies are out. */
        file_batch_close(fb, m->io_pool);
        complete_batch_free(b);
        idle_check(m);
}

static CompleteBatch *complete_batch_new(Manager *m, size_t n, bool automatic) {
        CompleteBatch *b = calloc(1, sizeof *b);

        if (!b)
                return NULL;
        b->works = calloc(n + 1, sizeof *b->works);
        if (!b->works)
                return mfree(b);
        b->manager = m;
        b->automatic = automatic;
        return b;
}

int job_complete(Job *j, JobCall *call, CallError *e) {
        JobContext ctx = job_context(j);
        JobTransition t;
        CompleteBatch *b;
        int r;

        assert(j);

        if (j->completing)
                return call_error_set(e, -EBUSY, CALL_ERROR_INVALID_STATE,
                                      "Job %s is being completed already.", j->id);
        /* Ask first: the renames happen only if the state allows Complete. */
        r = job_transition(j->state, JOB_EVENT_COMPLETE, &ctx, &t);
        if (r < 0)
                return job_apply(j, JOB_EVENT_COMPLETE, e);

        b = complete_batch_new(j->manager, 1, false);
        if (!b)
                return call_error_set(e, -ENOMEM, CALL_ERROR_INTERNAL, "Out of memory.");
        b->works[0] = (CompleteWork) { .job = j, .e = { .kind = CALL_ERROR_NONE }, .call = call };
        b->n = 1;
        complete_batch_start(b);
        return 1;
}

/* Auto-complete runs batched: jobs that finish within a few milliseconds share one sync. */
int complete_on_auto_complete(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        CompleteBatch *b;
        Job *j;

        assert(m);

        b = complete_batch_new(m, m->auto_complete.n, true);
        if (!b)
                return log_oom();
        while ((j = LIST_ENTRY(m->auto_complete.head, Job, auto_complete_node))) {
                list_remove(&m->auto_complete, &j->auto_complete_node);
                /* A Complete under way does it already. */
                if (j->state != JOB_TRANSFERRED || !j->auto_complete || j->completing)
                        continue;
                b->works[b->n++] = (CompleteWork) { .job = j, .e = { .kind = CALL_ERROR_NONE } };
        }
        if (b->n == 0) {
                complete_batch_free(b);
                return 0;
        }
        complete_batch_start(b);
        return 0;
}
