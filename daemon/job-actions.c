/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Carrying out the state machine's actions for an event. */
#include "signed-list.h"
#include "log.h"
#include "manager-internal.h"
#include "safe-text.h"
#include "store.h"
#include "tus.h"
#include "util.h"

JobContext job_context(const Job *j) {
        assert(j);

        return (JobContext) {
                .type = j->type,
                .has_files = j->n_files > 0,
                .auto_complete = j->auto_complete,
                .no_progress_timeout_zero = j->no_progress_timeout == 0,
        };
}

static void job_stop_transfer_full(Job *j, bool keep_data) {
        /* Every file in flight stops before anything else: no byte after this. */
        download_lanes_stop(j, keep_data);
        j->upload = tus_upload_free(j->upload);
        /* gpgv is killed: nothing runs on for a stopped job. */
        j->signed_list = signed_list_free(j->signed_list);
        j->fd = safe_close(j->fd);
}

void job_stop_transfer(Job *j) {
        assert(j);

        job_stop_transfer_full(j, true);
}

/* The message comes partly from a server (a reason phrase, a Location) and is read over D-Bus:
 * URLs lose their credentials, and it becomes valid UTF-8 without control characters. */
void job_set_error(Job *j, ErrorName name, const char *message, const char *summary) {
        assert(j);
        assert(message);
        assert(summary);

        idle_uncount(j);
        /* The record keeps the contract's string: the store holds it as it is. */
        (void) free_and_strdup(&j->error_name, error_name_to_string(name));
        free(j->error_message);
        j->error_message = safe_message_dup(message, JOB_ERROR_MESSAGE_MAX);
        free(j->error_summary);
        j->error_summary = safe_message_dup(summary, JOB_ERROR_SUMMARY_MAX);
        idle_recount(j);
}

static const char *event_verb(JobEvent e) {
        switch (e) {
        case JOB_EVENT_RESUME:
                return "resumed";
        case JOB_EVENT_SUSPEND:
                return "suspended";
        case JOB_EVENT_CANCEL:
                return "cancelled";
        case JOB_EVENT_COMPLETE:
                return "completed";
        case JOB_EVENT_ADD_FILES:
                return "given files";
        default:
                return "changed";
        }
}

/* The job's row as the event leaves it, worked out before anything changes: the store gets it
 * first (durable intent first), then the job takes it on (job_take_row). A shallow copy that
 * shares the job's strings and files: it frees nothing and does not outlive the call. */
static Job job_row_after(const Job *j, const JobTransition *t, JobEvent event, uint64_t retry_after_usec,
                         uint64_t now) {
        Job row = *j;

        if (t->actions & JOB_ACTION_DISARM_RETRY)
                row.retry_time = 0;
        if (t->actions & JOB_ACTION_CLEAR_ERROR)
                row.error_name = row.error_message = row.error_summary = NULL;
        if (t->actions & JOB_ACTION_RECORD_ERROR)
                row.error_count++;
        row.state = t->state;
        if (t->actions & JOB_ACTION_ARM_RETRY)
                row.retry_time = retry_due_time(j, retry_after_usec, now);
        if (t->state == JOB_QUEUED && j->state != JOB_QUEUED && event == JOB_EVENT_RESUME)
                row.last_progress_time = now;
        if (t->state == JOB_TRANSFERRED)
                row.completion_time = now;
        if (job_state_is_final(t->state)) {
                row.retire_time = now;
                /* Headers are secrets a final job has no use for: not in the store either. */
                row.http_headers = NULL;
        }
        if (t->state != j->state || event < JOB_EVENT_START)
                row.modification_time = now;
        return row;
}

static void job_take_row(Job *j, const Job *row) {
        /* Every state a job passes through is announced, however quickly the next follows:
         * a state not told yet goes out before it is left (with whatever else waits). */
        if (row->state != j->state && (j->changes_untold & JOB_CHANGE_STATE))
                job_changes_flush(j);
        idle_uncount(j);
        if (!row->error_name) {
                j->error_name = mfree(j->error_name);
                j->error_message = mfree(j->error_message);
                j->error_summary = mfree(j->error_summary);
        }
        j->error_count = row->error_count;
        j->state = row->state;
        j->retry_time = row->retry_time;
        j->last_progress_time = row->last_progress_time;
        j->completion_time = row->completion_time;
        j->retire_time = row->retire_time;
        j->modification_time = row->modification_time;
        idle_recount(j);
        scheduler_job_changed(j);
}

/* Files are stored with the row when they are what the call adds, or what Complete made of
 * them (committed), which is then the one commit of the completion. */
static bool job_event_stores_whole(JobEvent event, const JobTransition *t) {
        return event == JOB_EVENT_ADD_FILES || (t->actions & JOB_ACTION_COMMIT_FILES);
}

int job_store_event(Job *j, JobEvent event) {
        JobContext ctx = job_context(j);
        JobTransition t;
        int r;

        assert(j);

        r = job_transition(j->state, event, &ctx, &t);
        if (r < 0)
                return r;
        Job row = job_row_after(j, &t, event, 0, manager_now_realtime(j->manager));
        return job_event_stores_whole(event, &t) ? store_save_job(j->manager->store, &row)
                                                 : store_save_job_row(j->manager->store, &row);
}

int job_apply_stored(Job *j, JobEvent event, CallError *e) {
        Manager *m;
        int r;

        assert(j);

        m = j->manager;
        m->stored_ahead = j;
        r = job_apply(j, event, e);
        m->stored_ahead = NULL;
        return r;
}

/* Runs one event through the state machine and performs its actions in the fixed order: store
 * the change, stop the transfer, act on files, change the state, tell the observer.
 * START_TRANSFER and AUTO_COMPLETE are left to the caller, which runs them once this returns.
 * A call (an event before JOB_EVENT_START) whose change the store refuses fails and changes
 * nothing; for other events the failure is logged by the store and the job goes on. */
int job_apply_full(Job *j, JobEvent event, uint64_t retry_after_usec, CallError *e) {
        JobContext ctx = job_context(j);
        JobTransition t;
        int r;

        assert(j);

        r = job_transition(j->state, event, &ctx, &t);
        if (r == -ESTALE)
                return call_error_set(e, r, CALL_ERROR_INVALID_STATE,
                                      "Job %s is %s: a finished job cannot be %s any more.",
                                      j->id, job_state_to_string(j->state), event_verb(event));
        if (r == -EBUSY)
                return call_error_set(e, r, CALL_ERROR_INVALID_STATE,
                                      "Job %s is %s: an upload can only be completed once it is transferred.",
                                      j->id, job_state_to_string(j->state));
        if (r == -ENODATA)
                return call_error_set(e, r, CALL_ERROR_EMPTY,
                                      "Job %s has no files: add one with AddFile before resuming it.", j->id);
        if (r < 0) {
                log_job_debug(j->id, j->owner, NULL, "Event %s ignored in state %s.", job_event_to_string(event),
                              job_state_to_string(j->state));
                return call_error_set(e, r, CALL_ERROR_INVALID_STATE, "Job %s is %s: nothing to do.",
                                      j->id, job_state_to_string(j->state));
        }

        JobState old = j->state;
        bool call = event < JOB_EVENT_START;
        bool changed = t.state != old || call;
        Job row = job_row_after(j, &t, event, retry_after_usec, manager_now_realtime(j->manager));

        /* Durable intent first: once "cancelled" is stored, a crash before the unlinks below
         * is finished by the next start, which removes what the store still lists. A move
         * between queued, connecting and transferring is not stored: a restart makes all three
         * queued (it costs one commit per job and state otherwise; ModificationTime may come
         * back a little older after a crash). A row stored ahead (job_store_event(), or by
         * the batch a Download is part of) is not stored again. */
        bool whole = job_event_stores_whole(event, &t);
        bool ahead = manager_batch_stores(j) || j->manager->stored_ahead == j;
        bool stored_whole = ahead && whole;
        if (changed && (call || job_state_change_is_durable(old, t.state)) && !ahead) {
                r = checkpoint_store(j, &row, whole);
                if (r < 0 && call)
                        return checkpoint_store_error(j, r, e);
                stored_whole = whole && r >= 0;
        }

        bool unlinks = t.actions & (JOB_ACTION_UNLINK_TEMPORARIES | JOB_ACTION_COMMIT_FILES);
        _cleanup_(lane_fds_close) LaneFds fds = { 0 };
        if (t.actions & JOB_ACTION_STOP_TRANSFER) {
                if (unlinks)
                        download_lanes_take_fds(j, &fds);
                job_stop_transfer_full(j, !unlinks);
        }
        if (t.actions & JOB_ACTION_DISARM_RETRY)
                retry_disarm(j);
        job_take_row(j, &row);
        /* Resumed: the NoProgressTimeout clock and what counts as progress start again. */
        if (t.state == JOB_QUEUED && old != JOB_QUEUED && event == JOB_EVENT_RESUME)
                progress_meter_reset(&j->progress, j->last_progress_time, j->received);
        /* A run of bytes ends or starts here: no sample of another run counts for Rate. */
        if (t.state != old && (old == JOB_TRANSFERRING || t.state == JOB_TRANSFERRING))
                job_rate_reset(j);
        if (event == JOB_EVENT_RESUME)
                j->failures_in_row = 0;
        if (t.actions & JOB_ACTION_ARM_RETRY)
                retry_arm(j);

        /* The server's copy of a cancelled upload goes too (with the job's headers, which go
         * from the job now); Cancel never waits on the network. */
        if (event == JOB_EVENT_CANCEL && j->type == JOB_UPLOAD && j->upload_url)
                delete_queue_add_upload(j->manager, j);
        unsigned also = 0;
        if (job_state_is_final(t.state) && j->http_headers) {
                j->http_headers = strv_free(j->http_headers);
                also = JOB_CHANGE_SETTINGS;  /* HttpHeaderNames */
        }

        if (unlinks) {
                if (event == JOB_EVENT_CANCEL)
                        manager_crash_point("cancel-committed");
                /* On a worker thread: the state below is told once the files are gone, as it
                 * was when the unlinks ran here, and the call replies after that. */
                if (pending_unlink_start(j, t.actions & JOB_ACTION_UNLINK_TEMPORARIES, &fds))
                        j->signals_deferred = changed ? JOB_CHANGE_STATE : 0;
                else if (!stored_whole)
                        checkpoint_save(j);
        }

        if (changed && t.state != old && checkpoint_is_marked(j)) {
                /* The state change carries the counters; keep the checkpoint too, in the
                 * commit below. */
                checkpoint_save_in_flight(j);
                (void) checkpoint_before_telling(j);
                checkpoint_unmark(j);
        }
        /* A caller's transaction may be open (a finished file and what follows): what it
         * holds is durable before anyone hears of the change. */
        (void) store_commit(j->manager->store);
        if (changed && j->signals_deferred)
                j->signals_deferred |= JOB_CHANGE_STATE | also;
        else if (changed)
                manager_notify_changed(j, JOB_CHANGE_STATE | also);

        if (t.state != old)
                log_job_debug(j->id, j->owner, NULL, "%s → %s (%s).", job_state_to_string(old),
                              job_state_to_string(t.state), job_event_to_string(event));

        /* The job's other signals follow the PropertiesChanged of what led to them. */
        if (t.actions & (JOB_ACTION_EMIT_TRANSFERRED | JOB_ACTION_EMIT_FAILED | JOB_ACTION_RETIRE))
                job_changes_flush(j);
        if ((t.actions & JOB_ACTION_EMIT_TRANSFERRED) && j->manager->observer.job_transferred)
                j->manager->observer.job_transferred(j->manager, j);
        if ((t.actions & JOB_ACTION_EMIT_FAILED) && j->manager->observer.job_failed)
                j->manager->observer.job_failed(j->manager, j);
        if (t.actions & JOB_ACTION_RETIRE)
                retention_retire(j);
        if (t.actions & JOB_ACTION_SCHEDULE)
                scheduler_wake(j->manager);
        idle_check(j->manager);

        return (int) t.actions;
}

int job_apply(Job *j, JobEvent event, CallError *e) {
        assert(j);

        int r = job_apply_full(j, event, 0, e);
        return r < 0 ? r : 0;
}

void job_fail(Job *j, bool fatal, ErrorName name, const char *message, const char *summary,
              uint64_t retry_after_usec) {
        JobEvent event = fatal ? JOB_EVENT_FAIL_FATAL : JOB_EVENT_FAIL_TRANSIENT;
        JobContext ctx = job_context(j);
        JobTransition t;
        int r;

        assert(j);
        assert(message);

        /* Without usable connectivity no attempt could succeed: it does not count. */
        if (network_wait_absorbs_failure(j, name, message))
                return;
        /* Only a job that can fail takes the error: outside the error states ErrorName stays
         * empty. */
        if (job_transition(j->state, event, &ctx, &t) < 0) {
                log_job_info(j->id, j->owner, j->current < j->n_files ? j->files[j->current]->url : NULL, "%s",
                             message);
                return;
        }
        /* The failed transfer has ended by itself; the other files in flight stop with it,
         * their bytes kept for the next attempt. */
        download_lanes_stop(j, true);
        job_set_error(j, name, message, summary);
        r = job_apply_full(j, event, retry_after_usec, NULL);
        /* A retry logs the failure with its delay (retry_arm()); anything else here. */
        if (r < 0 || !(r & JOB_ACTION_ARM_RETRY))
                log_job_info(j->id, j->owner, j->current < j->n_files ? j->files[j->current]->url : NULL, "%s",
                             message);
}

void job_all_done(Job *j) {
        assert(j);

        int r = job_apply_full(j, JOB_EVENT_ALL_DONE, 0, NULL);
        if (r > 0 && (r & JOB_ACTION_AUTO_COMPLETE))
                complete_auto_queue(j);
}

void job_all_done_stored(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        m->stored_ahead = j;
        job_all_done(j);
        m->stored_ahead = NULL;
}

int job_resume(Job *j, CallError *e) {
        int r;

        assert(j);

        r = job_apply(j, JOB_EVENT_RESUME, e);
        if (r >= 0 && j->state == JOB_QUEUED)
                download_record_with_batch(j);
        return r;
}

int job_suspend(Job *j, CallError *e) {
        assert(j);

        return job_apply(j, JOB_EVENT_SUSPEND, e);
}

int job_cancel(Job *j, JobCall *call, CallError *e) {
        int r;

        assert(j);

        /* Files are being renamed over their destinations: that cannot be taken back, so the
         * Cancel waits and then finds the job completed, or, if Complete failed, cancels it. */
        if (j->completing && j->completing->renaming && !job_state_is_final(j->state)) {
                if (call) {
                        call->next = j->deferred_cancels;
                        j->deferred_cancels = call;
                } else
                        j->cancel_deferred = true;
                return 1;
        }
        /* The transfer stops and the temporary files go to a worker thread to be unlinked:
         * the caller replies once they are gone, and nothing of the job is left on disk. */
        r = job_apply(j, JOB_EVENT_CANCEL, e);
        if (r < 0)
                return r;
        log_job_info(j->id, j->owner, NULL, "Cancelled.");
        if (!j->unlinking)
                return 0;
        if (call) {
                call->next = j->unlink_waiters;
                j->unlink_waiters = call;
        }
        return 1;
}
