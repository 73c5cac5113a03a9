/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing a job to the store, and the rate-limited progress checkpoints. */
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)

/* The counters as the store now holds them (row: a copy of j as stored, made now), once the
 * transaction commits; checkpoint_stored_unknown() takes that back when it does not. */
static void note_stored(Job *j, const Job *row) {
        if (row->bytes_from_cache == j->bytes_from_cache && row->bytes_from_origin == j->bytes_from_origin)
                j->counters_unstored = false;
}

void checkpoint_stored_unknown(Job *j) {
        assert(j);

        j->counters_unstored = true;
}

void checkpoint_stored(Job *j) {
        assert(j);

        j->counters_unstored = false;
}

/* What no call waits for (progress, a transfer's own events): a failed write is logged and the
 * daemon goes on; the in-memory job stays right, and the next successful write of the job
 * brings the store up to date. Calls store through checkpoint_store(), which they check. */
void checkpoint_save_row(Job *j) {
        assert(j);

        if (store_save_job_row(j->manager->store, j) >= 0)
                note_stored(j, j);
}

void checkpoint_save(Job *j) {
        assert(j);

        if (store_save_job(j->manager->store, j) >= 0)
                note_stored(j, j);
}

void checkpoint_save_file(Job *j, size_t i) {
        assert(j);

        if (i < j->n_files)
                (void) store_save_file(j->manager->store, j, i);
}

void checkpoint_save_in_flight(Job *j) {
        assert(j);

        if (j->lanes) {
                for (DownloadLane *l = j->lanes; l; l = l->next)
                        checkpoint_save_file(j, l->file);
                return;
        }
        /* Stopped: the files this run started and did not finish (downloads), else the
         * current one. */
        size_t end = j->next_file > j->current ? j->next_file : j->current + 1;
        for (size_t i = j->current; i < end && i < j->n_files; i++)
                if (!j->files[i]->completed)
                        checkpoint_save_file(j, i);
}

/* A final job's files, its row stored already (the intent of the event that made it final). */
static void checkpoint_save_files(Job *j) {
        for (size_t i = 0; i < j->n_files; i++)
                checkpoint_save_file(j, i);
}

/* Counters that moved since they were last stored, stored before a signal carries them:
 * everything a signal reports is in the store (a state change that is not stored, such as
 * connecting → transferring or a preemption, comes with the bytes received since the last
 * checkpoint). Only the counters: the row in memory may be older than the stored one
 * (job_apply_full() stores a new state before it takes it, and tells the old one in
 * between). BytesTransferred needs no more: after a crash the temporary file is the truth.
 * The caller commits; true when there is something to commit. */
bool checkpoint_before_telling(Job *j) {
        assert(j);

        /* FilesTransferred and the files' ends go with every state change. */
        download_store_ends(j->manager, j, true);
        if (!j->manager->store || !j->counters_unstored)
                return false;
        if (store_save_job_counters(j->manager->store, j) < 0)
                return false;
        note_stored(j, j);
        return true;
}

int checkpoint_store(Job *j, const Job *row, bool whole) {
        Store *s;
        int r;

        assert(j);
        assert(row);

        s = j->manager->store;
        r = whole ? store_save_job(s, row) : store_save_job_row(s, row);
        if (r < 0)
                return r;
        note_stored(j, row);
        r = store_commit(s);
        if (r < 0)
                checkpoint_stored_unknown(j);
        return r;
}

int checkpoint_store_error(Job *j, int r, CallError *e) {
        assert(j);
        assert(r < 0);

        return call_error_set(e, r, CALL_ERROR_IO,
                              "Cannot save the change to job %s in the job store in the state directory %s: %s. "
                              "Nothing was changed.", j->id, j->manager->config.state_dir, strerror(-r));
}

int checkpoint_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        Job *j;

        assert(m);

        /* Checkpoints of how far files got, one transaction for all jobs; the byte count that
         * counts after a crash is the temporary file's real size. */
        (void) store_begin(m->store);
        download_store_ends(m, NULL, true);
        for (ListNode *n = m->dirty.head; n; n = n->next) {
                j = LIST_ENTRY(n, Job, dirty_node);
                if (j->files_due) {
                        checkpoint_save_files(j);
                        continue;
                }
                checkpoint_save_in_flight(j);
                checkpoint_save_row(j);  /* the NoProgressTimeout clock survives a restart */
        }
        if (store_end(m->store) < 0)
                for (ListNode *n = m->dirty.head; n; n = n->next)
                        checkpoint_stored_unknown(LIST_ENTRY(n, Job, dirty_node));
        /* Told once stored. */
        while ((j = LIST_ENTRY(m->dirty.head, Job, dirty_node))) {
                list_remove(&m->dirty, &j->dirty_node);
                if (j->files_due)
                        j->files_due = false;
                else
                        job_notify_progress(j);
        }
        return 0;
}

void manager_job_store_reported(Job *j) {
        assert(j);

        download_store_ends(j->manager, j, true);
}

/* One timer for all jobs, armed only while something changed: no wake-ups when idle. */
static void checkpoint_arm(Manager *m) {
        if (sd_event_source_get_enabled(m->progress_timer, NULL) > 0)
                return;
        (void) sd_event_source_set_time_relative(m->progress_timer, PROGRESS_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_ONESHOT);
}

/* On the dirty list once, whatever it waits there for; the next checkpoint takes it. */
static void dirty_add(Job *j) {
        if (list_node_is_linked(&j->manager->dirty, &j->dirty_node))
                return;
        list_prepend(&j->manager->dirty, &j->dirty_node);
        checkpoint_arm(j->manager);
}

void checkpoint_mark(Job *j) {
        assert(j);

        job_rate_sample(j);
        dirty_add(j);
}

/* A final job whose last change no call waits for (its temporary files gone after the reply):
 * its files are written in the next checkpoint's transaction instead of a commit of their own
 * (its row was stored with the intent, before the unlinks). Lost in a crash before that, it
 * costs the next start an unlink that finds nothing. A final job has no progress, so it
 * waits on the same list, flagged: no list node more in every job. */
void checkpoint_mark_files(Job *j) {
        assert(j);
        assert(job_state_is_final(j->state));

        j->files_due = true;
        dirty_add(j);
}

/* At a stop: the final jobs whose write waits for the next checkpoint are written now
 * (progress is not: the next start measures the files). */
void checkpoint_flush_files(Manager *m) {
        assert(m);

        /* A manager whose store never opened has nothing to write. */
        if (!m->store)
                return;
        download_store_ends(m, NULL, true);
        if (list_is_empty(&m->dirty))
                return;
        (void) store_begin(m->store);
        for (ListNode *n = m->dirty.head; n; n = n->next) {
                Job *j = LIST_ENTRY(n, Job, dirty_node);
                if (j->files_due)
                        checkpoint_save_files(j);
        }
        (void) store_end(m->store);
}

/* Has progress to checkpoint. */
bool checkpoint_is_marked(const Job *j) {
        assert(j);

        return list_node_is_linked(&j->manager->dirty, &j->dirty_node) && !j->files_due;
}

/* Nothing of the job left to write: its progress is stored (or gone with it). */
void checkpoint_unmark(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (list_node_is_linked(&m->dirty, &j->dirty_node))
                list_remove(&m->dirty, &j->dirty_node);
        j->files_due = false;
        /* Nothing left to write: the timer would only wake an idle daemon. */
        if (list_is_empty(&m->dirty) && m->n_ends_unstored == 0)
                (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_OFF);
}
