/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovery at start-up: stored jobs, interrupted cancels and completions. */
#include <malloc.h>
#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "manager-internal.h"
#include "safe-text.h"
#include "store.h"
#include "util.h"

/* The disk is the truth for how far a file got. */
/* Complete records a file as committed before it renames it (manager_complete_batch): one
 * still recorded with its temporary file was being moved into place when the daemon
 * stopped. Its data was synced before that record; the move finishes now. */
static void job_finish_renames(Job *j) {
        bool changed = false;

        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                FsDir d = job_file_dir(f);

                if (!f->committed || !f->temp_exists)
                        continue;
                changed = true;
                struct stat st;
                int r = fsops_stat_regular(&j->identity, &d, NULL, f->temp_name, &st);
                if (r >= 0)
                        r = fsops_rename(&j->identity, &d, NULL, f->temp_name, f->name);
                else if (r == -ENOENT && fsops_stat_regular(&j->identity, &d, NULL, f->name, &st) >= 0) {
                        f->temp_exists = false;  /* moved before the daemon stopped */
                        continue;
                }
                if (r >= 0) {
                        log_job_info(j->id, j->owner, NULL, "Finished moving %s into place.", f->path);
                        r = fsops_sync_directory(&j->identity, &d, NULL);
                        if (r < 0)
                                log_warning_errno(r, "Cannot sync directory %s", d.path);
                        f->temp_exists = false;
                        continue;
                }
                /* Neither name is there, or the directory is gone or replaced: not done. The
                 * file is checked again below (job_recover_files) like any other. */
                log_job_warning(j->id, j->owner, NULL, "Cannot finish moving %s into place: %s.", f->path,
                                strerror(-r));
                f->committed = false;
        }
        if (changed)
                checkpoint_save(j);
}

/* Returns whether a file's record changed. */
static bool job_recover_files(Job *j) {
        bool changed = false;

        for (size_t i = 0; i < j->n_files; i++) {
                JobFile *f = j->files[i];
                FsDir d = job_file_dir(f);
                struct stat st;

                if (!f->temp_exists || f->committed)
                        continue;
                int r = fsops_stat_regular(&j->identity, &d, NULL, f->temp_name, &st);
                if (r >= 0) {
                        changed |= f->bytes_transferred != (uint64_t) st.st_size;
                        f->bytes_transferred = (uint64_t) st.st_size;
                        if (f->completed && f->bytes_total != UINT64_MAX && f->bytes_total != f->bytes_transferred) {
                                f->completed = false;
                                changed = true;
                        }
                        continue;
                }
                if (r != -ENOENT && r != -ESTALE)
                        log_warning_errno(r, "Cannot check temporary file %s/%s of job %s", f->dir, f->temp_name, j->id);
                /* Gone (or its directory replaced): the file starts over. */
                f->temp_exists = false;
                f->completed = false;
                f->bytes_transferred = 0;
                f->validator = mfree(f->validator);
                changed = true;
        }
        j->current = 0;
        while (j->current < j->n_files && j->files[j->current]->completed)
                j->current++;
        return changed;
}

/* Replaces *s with its safe form (safe-text.h) when it is not clean; true when it did. */
static bool clean_text(char **s, size_t max) {
        char *clean;

        if (!*s || safe_text_is_clean(*s))
                return false;
        clean = safe_message_dup(*s, max);
        if (!clean)
                return false;
        free(*s);
        *s = clean;
        return true;
}

/* A store written by an older xferd may hold what this one never sends: texts that are not
 * valid, clean UTF-8 (a server's reason phrase, once kept as it came), an error outside the
 * error states. Returns true when the job changed. */
static bool job_clean_stored(Job *j) {
        bool changed = false;

        changed |= clean_text(&j->display_name, JOB_DISPLAY_NAME_MAX);
        changed |= clean_text(&j->description, JOB_DESCRIPTION_MAX);
        changed |= clean_text(&j->error_message, JOB_ERROR_MESSAGE_MAX);
        changed |= clean_text(&j->error_summary, JOB_ERROR_SUMMARY_MAX);
        if (j->upload_url && !safe_text_is_clean(j->upload_url)) {
                /* Not a URL a request can use: the upload starts over with a new one. */
                j->upload_url = mfree(j->upload_url);
                changed = true;
        }
        if (j->state != JOB_ERROR && j->state != JOB_TRANSIENT_ERROR && (j->error_name || j->error_message)) {
                j->error_name = mfree(j->error_name);
                j->error_message = mfree(j->error_message);
                j->error_summary = mfree(j->error_summary);
                changed = true;
        }
        return changed;
}

static int manager_adopt_job(Job *j, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now_realtime(m);
        bool changed = false;
        JobState stored_state;
        int r;

        j->manager = m;
        j->fd = -1;
        /* A job from before cost policies: the default for its priority, stored below. */
        if (j->cost_policy < 0 || j->cost_policy >= _COST_POLICY_MAX) {
                j->cost_policy = cost_policy_default(j->priority, m->config.default_cost_policy);
                changed = true;
        }
        progress_meter_reset(&j->progress, now, 0);
        /* Stored with the job: the groups of the caller that created it. Jobs stored before,
         * or created on a bus that did not tell: the user database's, now. */
        r = j->identity_from_caller ? 0 : fs_identity_load(j->owner, &j->identity);
        if (r < 0) {
                log_error_errno(r, "Cannot look up uid %u of job %s; leaving it in the store", (unsigned) j->owner, j->id);
                job_free(j);
                return 0;
        }

        if (job_clean_stored(j))
                checkpoint_save(j);
        if (j->state != JOB_CANCELLED)
                job_finish_renames(j);
        if (job_state_is_final(j->state)) {
                /* A cancel or complete that was interrupted finishes now. */
                bool dirty = false;
                for (size_t i = 0; i < j->n_files; i++)
                        if (j->files[i]->temp_exists && !j->files[i]->committed) {
                                log_job_info(j->id, j->owner, NULL, "%s: removing its leftover temporary file %s/%s.",
                                             job_state_to_string(j->state), j->files[i]->dir, j->files[i]->temp_name);
                                pending_unlink_remove_temporary(j, j->files[i]);
                                dirty = true;
                        }
                /* A cancelled upload whose server copy is not known to be deleted. */
                if (j->state == JOB_CANCELLED && j->type == JOB_UPLOAD && j->upload_url)
                        delete_queue_add_upload(m, j);
                /* Kept by an older xferd; a final job has no use for these secrets. */
                if (j->http_headers) {
                        j->http_headers = strv_free(j->http_headers);
                        dirty = true;
                }
                if (dirty)
                        checkpoint_save(j);
                if (j->retire_time + m->config.retention_usec <= now) {
                        (void) store_delete_job(m->store, j);
                        job_free(j);
                        return 0;
                }
                r = job_index_add(m, j);
                if (r < 0) {
                        job_free(j);
                        return r;
                }
                list_append(&m->retained, &j->queue_node);
                retention_arm(j);
                return 0;
        }

        changed |= job_recover_files(j);
        stored_state = j->state;

        JobContext ctx = job_context(j);
        JobTransition t;
        if (job_transition(j->state, JOB_EVENT_RECOVER, &ctx, &t) >= 0) {
                if (t.state != j->state)
                        log_job_info(j->id, j->owner, NULL, "Was %s when the daemon stopped: queued again.",
                                     job_state_to_string(j->state));
                j->state = t.state;
                if (t.actions & JOB_ACTION_ARM_RETRY) {
                        /* The stored wall-clock deadlines hold: NoProgressTimeout counts the time
                         * the daemon was down too; a passed retry deadline means now. */
                        if (now >= j->last_progress_time + (uint64_t) j->no_progress_timeout * USEC_PER_SEC) {
                                job_set_error(j, ERROR_NAME_NO_PROGRESS, "No progress within NoProgressTimeout",
                                              "No progress within NoProgressTimeout");
                                j->state = JOB_ERROR;
                        } else if (j->retry_time <= now)
                                j->state = JOB_QUEUED;
                        else
                                retry_arm_timer(j);
                }
        }

        if (j->state == JOB_TRANSFERRED && j->current < j->n_files) {
                /* A finished file vanished while the daemon was down: fetch it again. */
                log_job_info(j->id, j->owner, NULL, "A transferred file is gone from disk: suspended, Resume fetches it again.");
                j->state = JOB_SUSPENDED;
        }

        r = job_index_enter(m, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        idle_count_start(j);
        /* Only what recovery changed goes back to the store: 100 000 unchanged jobs cost
         * nothing more than their reading. */
        if (changed || j->state != stored_state)
                checkpoint_save(j);
        inactivity_arm(m, j->modification_time);
        /* An automatic completion the daemon did not get to before it stopped. */
        if (j->state == JOB_TRANSFERRED && j->auto_complete)
                complete_auto_queue(j);
        return 0;
}

/* One table of the right size for the index, not one doubling after another. */
static int manager_reserve_jobs(size_t n, void *userdata) {
        Manager *m = userdata;

        return hashmap_reserve(m->index, hashmap_size(m->index) + n) < 0 ? log_oom() : 0;
}

int manager_load(Manager *m) {
        int r;

        assert(m);

        (void) store_begin(m->store);
        r = store_load_pending_unlinks(m->store, pending_unlink_adopt, m);
        if (r < 0)
                log_warning_errno(r, "Cannot load the list of temporary files to remove");
        /* DELETEs first: they keep their stored deadlines, and jobs do not add them twice. */
        r = store_load_pending_deletes(m->store, delete_queue_adopt, m);
        if (r < 0)
                log_warning_errno(r, "Cannot load the list of uploads to delete on their servers");
        r = store_load_jobs(m->store, manager_reserve_jobs, manager_adopt_job, m);
        if (r < 0)
                log_error_errno(r, "Cannot load the stored jobs");
        (void) store_end(m->store);
        /* Reading the store leaves freed blocks between the jobs (SQLite's pages, the lists
         * and maps of the load): their pages go back to the system now. */
        (void) store_release_memory(m->store);
        (void) malloc_trim(0);

        log_info("Recovered %zu waiting job(s) from the store.", m->jobs.n);
        /* Nobody has heard a reason from this daemon yet: the first check records them
         * without a signal for every queued job. */
        m->wait_silent = m->wait_walk_all = true;
        scheduler_wake(m);
        m->idle = !manager_is_idle(m);  /* force a report of the real state */
        idle_check(m);
        return 0;
}
