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
         * which shares its durability work (see sync_policy_sync_batch()). */
        if (sd_event_source_get_enabled(m->auto_complete_source, NULL) > 0)
                return;
        uint64_t now;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_source_set_time(m->auto_complete_source, now + AUTO_COMPLETE_WINDOW_USEC);
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

/* Opens every finished file of the job (nothing is renamed yet), checking that each
 * destination directory is still the one recorded. */
static void work_open(CompleteWork *w, FsDirCache *cache) {
        Job *j = w->job;

        for (size_t i = 0; i < j->n_files && w->r >= 0; i++) {
                JobFile *f = j->files[i];
                FsDir d = job_file_dir(f);

                if (!f->completed || f->committed)
                        continue;
                int fd = fsops_open_finished(&j->identity, &d, cache, f->temp_name, 0644);
                if (fd == -ENOENT && f->temp_exists) {
                        job_reset_file(j, i);
                        complete_work_fail(w, fd, "The temporary file of %s vanished; the file was reset and the job "
                                  "suspended: Resume it to download the file again.", f->path);
                        (void) job_apply(j, JOB_EVENT_SUSPEND, NULL);
                } else if (fd < 0)
                        complete_work_fail(w, fd, "Cannot move the finished file into place at %s: %s%s. Nothing was "
                                  "moved; call Complete again once it is fixed.", f->path, strerror(-fd),
                                  fd == -ESTALE ? " (its directory was replaced since the file was added)" : "");
                else
                        w->fds[i] = fd;
        }
}

/* A directory that received renames in this batch, to be synced once after all of them. */
typedef struct RenamedDir {
        const JobFile *file;            /* one file renamed into it: its path, dev and ino */
        const FsIdentity *identity;     /* its owner's, to open the directory with */
        bool sync_failed;
} RenamedDir;

static bool renamed_dir_sync_failed(const RenamedDir *set, size_t n, const JobFile *f) {
        for (size_t k = 0; k < n; k++)
                if (set[k].file->dir_dev == f->dir_dev && set[k].file->dir_ino == f->dir_ino)
                        return set[k].sync_failed;
        return false;
}

static void renamed_dir_add(RenamedDir *set, size_t *n, const JobFile *f, const FsIdentity *id) {
        for (size_t k = 0; k < *n; k++)
                if (set[k].file->dir_dev == f->dir_dev && set[k].file->dir_ino == f->dir_ino)
                        return;
        set[(*n)++] = (RenamedDir) { .file = f, .identity = id };
}

static void work_rename(CompleteWork *w, RenamedDir *dirs, size_t *n_dirs, FsDirCache *cache) {
        Job *j = w->job;

        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                FsDir d = job_file_dir(f);

                if (w->fds[i] < 0)
                        continue;
                if (w->r < 0) {
                        f->committed = false;  /* recorded ahead, but not moved after all */
                        continue;
                }
                int r = fsops_rename(&j->identity, &d, cache, f->temp_name, f->name);
                if (r < 0) {
                        complete_work_fail(w, r, "Cannot move the finished file into place at %s: %s%s. Files moved "
                                  "so far stay; call Complete again to continue.", f->path, strerror(-r),
                                  r == -ESTALE ? " (its directory was replaced)" : "");
                        f->committed = false;
                        continue;
                }
                f->temp_exists = false;
                renamed_dir_add(dirs, n_dirs, f, &j->identity);
        }
}

/* Records every opened file of the batch as the renames left it, in one transaction. */
static int batch_record(Manager *m, CompleteWork *works, size_t n) {
        int r;

        r = store_begin(m->store);
        if (r < 0)
                return r;
        for (size_t w = 0; w < n; w++)
                for (size_t i = 0; i < works[w].job->n_files; i++)
                        if (works[w].fds[i] >= 0)
                                checkpoint_save_file(works[w].job, i);
        return store_end(m->store);
}

/* Completes several jobs at once, sharing the durability work: data first (grouped), then
 * the renames, then each directory once. Every job gets its own result in works[]. */
static void manager_complete_batch(Manager *m, CompleteWork *works, size_t n) {
        size_t total_files = 0, n_dirs = 0;
        RenamedDir *dirs;

        for (size_t w = 0; w < n; w++)
                total_files += works[w].job->n_files;
        dirs = calloc(total_files + 1, sizeof *dirs);
        if (!dirs) {
                for (size_t w = 0; w < n; w++)
                        works[w].r = call_error_set(&works[w].e, -ENOMEM, CALL_ERROR_INTERNAL, "Out of memory.");
                return;
        }

        /* Data synced, then "committed" recorded ahead of the renames (the file's data is
         * durable, its temporary file still named: a restart finishes the rename, see
         * job_finish_renames()), then the renames, each directory synced once, and only then
         * the records that the temporary files are gone. A crash or power cut anywhere leaves
         * a state the next start completes; the store never says "moved" before the
         * directory holding the new name is on disk. */
        FsDirCache cache = FS_DIR_CACHE_INIT;
        for (size_t w = 0; w < n; w++)
                if (works[w].r >= 0 && works[w].job->type == JOB_DOWNLOAD)
                        work_open(&works[w], &cache);
        /* The sync may take a while: the renames check the directories afresh. */
        fs_dir_cache_done(&cache);
        sync_policy_sync_batch(works, n);
        for (size_t w = 0; w < n; w++)
                for (size_t i = 0; works[w].r >= 0 && i < works[w].job->n_files; i++)
                        if (works[w].fds[i] >= 0)
                                works[w].job->files[i]->committed = true;
        int r = batch_record(m, works, n);
        if (r < 0)
                /* Without that record a crash after a rename could not be told from a lost
                 * file: nothing moves (work_rename puts every committed flag back). */
                for (size_t w = 0; w < n; w++)
                        if (works[w].r >= 0 && works[w].job->type == JOB_DOWNLOAD) {
                                complete_work_fail(&works[w], r, "Cannot record the completion of job %s in the job "
                                          "store in the state directory %s: %s. Nothing was moved; call "
                                          "Complete again.", works[w].job->id, m->config.state_dir, strerror(-r));
                                works[w].e.kind = CALL_ERROR_IO;
                        }
        manager_crash_point("complete-renaming");
        for (size_t w = 0; w < n; w++)
                if (works[w].job->type == JOB_DOWNLOAD)
                        work_rename(&works[w], dirs, &n_dirs, &cache);
        /* Each directory once, after every rename into it (jobs of a batch may share one). */
        for (size_t k = 0; k < n_dirs; k++) {
                FsDir d = job_file_dir(dirs[k].file);
                r = fsops_sync_directory(dirs[k].identity, &d, &cache);
                if (r < 0) {
                        log_warning_errno(r, "Cannot sync directory %s", d.path);
                        dirs[k].sync_failed = true;
                }
        }
        fs_dir_cache_done(&cache);
        /* A rename whose directory is not known to be on disk stays recorded with its
         * temporary name: a restart checks which of the two names exists. */
        for (size_t w = 0; w < n; w++)
                for (size_t i = 0; i < works[w].job->n_files; i++) {
                        JobFile *f = works[w].job->files[i];
                        if (works[w].fds[i] >= 0 && f->committed && !f->temp_exists &&
                            renamed_dir_sync_failed(dirs, n_dirs, f))
                                f->temp_exists = true;
                }
        (void) batch_record(m, works, n);

        for (size_t w = 0; w < n; w++) {
                Job *j = works[w].job;
                bool moved = false;

                for (size_t i = 0; i < j->n_files; i++) {
                        moved = moved || (works[w].fds[i] >= 0 && j->files[i]->committed);
                        works[w].fds[i] = safe_close(works[w].fds[i]);
                }
                if (works[w].r < 0)
                        continue;
                if (j->type == JOB_UPLOAD)
                        /* The server has every byte; nothing on disk changes. */
                        for (size_t i = 0; i < j->n_files; i++)
                                j->files[i]->committed = true;
                for (size_t i = 0; i < j->n_files; i++)
                        if (!j->files[i]->committed)
                                works[w].partial = true;
                works[w].r = job_apply(j, JOB_EVENT_COMPLETE, &works[w].e);
                if (works[w].r < 0 && works[w].e.kind == CALL_ERROR_IO && moved)
                        /* The files are in place already: say so, not "nothing changed". */
                        (void) call_error_set(&works[w].e, works[w].r, CALL_ERROR_IO,
                                              "The files of job %s are in place, but the job store in the state "
                                              "directory %s cannot record that it is complete: %s. Call Complete "
                                              "again.", j->id, m->config.state_dir, strerror(-works[w].r));
                if (works[w].r >= 0)
                        log_job_info(j->id, j->owner, NULL, "Completed%s.", works[w].partial ? " partially" : "");
        }
        free(dirs);
}

static int complete_work_init(CompleteWork *w, Job *j) {
        *w = (CompleteWork) { .job = j, .e = { .kind = CALL_ERROR_NONE } };
        w->fds = malloc((j->n_files + 1) * sizeof(int));
        if (!w->fds)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_files; i++)
                w->fds[i] = -1;
        return 0;
}

int job_complete(Job *j, bool *ret_partial, CallError *e) {
        JobContext ctx = job_context(j);
        JobTransition t;
        CompleteWork w;
        int r;

        assert(j);
        assert(ret_partial);

        /* Ask first: the renames happen only if the state allows Complete. */
        r = job_transition(j->state, JOB_EVENT_COMPLETE, &ctx, &t);
        if (r < 0)
                return job_apply(j, JOB_EVENT_COMPLETE, e);

        r = complete_work_init(&w, j);
        if (r < 0)
                return r;
        manager_complete_batch(j->manager, &w, 1);
        free(w.fds);
        if (w.r < 0) {
                if (e)
                        *e = w.e;
                return w.r;
        }
        if (ret_partial)
                *ret_partial = w.partial;
        return 0;
}

/* Auto-complete runs batched: jobs that finish in one loop iteration share one sync. */
int complete_on_auto_complete(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        CompleteWork *works;
        size_t n = 0;
        Job *j;

        assert(m);

        works = calloc(m->auto_complete.n + 1, sizeof *works);
        if (!works)
                return log_oom();
        while ((j = LIST_ENTRY(m->auto_complete.head, Job, auto_complete_node))) {
                list_remove(&m->auto_complete, &j->auto_complete_node);
                if (j->state != JOB_TRANSFERRED || !j->auto_complete)
                        continue;
                if (complete_work_init(&works[n], j) < 0) {
                        /* Stays transferred; Complete, or setting AutoComplete again, finishes it. */
                        log_oom();
                        continue;
                }
                n++;
        }
        manager_complete_batch(m, works, n);
        for (size_t w = 0; w < n; w++) {
                j = works[w].job;
                if (works[w].r < 0) {
                        log_job_warning(j->id, j->owner, NULL, "Automatic completion failed: %s", works[w].e.message);
                        if (j->state == JOB_TRANSFERRED) {
                                job_set_error(j, ERROR_NAME_COMPLETE_FAILED, works[w].e.message,
                                              "A file could not be moved into place");
                                (void) job_apply(j, JOB_EVENT_COMPLETE_FAILED, NULL);
                        }
                }
                free(works[w].fds);
        }
        free(works);
        return 0;
}
