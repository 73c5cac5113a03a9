/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing a job to the store, and the rate-limited progress checkpoints. */
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)

/* What no call waits for (progress, a transfer's own events): a failed write is logged and the
 * daemon goes on; the in-memory job stays right, and the next successful write of the job
 * brings the store up to date. Calls store through checkpoint_store_row(), which they check. */
void checkpoint_save_row(Job *j) {
        assert(j);

        (void) store_save_job_row(j->manager->store, j);
}

void checkpoint_save(Job *j) {
        assert(j);

        (void) store_save_job(j->manager->store, j);
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

/* Counters that moved since the last checkpoint, stored before a signal carries them:
 * everything a signal reports is in the store (a state change that is not stored, such as
 * connecting → transferring, comes with the bytes of the same loop iteration). Only the
 * counters: the row in memory may be older than the stored one (job_apply_full() stores a
 * new state before it takes it, and tells the old one in between). BytesTransferred needs
 * no more: after a crash the temporary file is the truth. The caller holds the transaction;
 * the timer's checkpoint still follows. */
void checkpoint_before_telling(Job *j) {
        assert(j);

        if (checkpoint_is_marked(j) && j->manager->store)
                (void) store_save_job_counters(j->manager->store, j);
}

int checkpoint_store_row(Job *j, const Job *row) {
        int r;

        assert(j);
        assert(row);

        r = store_save_job_row(j->manager->store, row);
        if (r < 0)
                return r;
        return store_commit(j->manager->store);
}

int checkpoint_store_whole(Job *j, const Job *row) {
        int r;

        assert(j);
        assert(row);

        r = store_save_job(j->manager->store, row);
        if (r < 0)
                return r;
        return store_commit(j->manager->store);
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
        for (ListNode *n = m->dirty.head; n; n = n->next) {
                j = LIST_ENTRY(n, Job, dirty_node);
                checkpoint_save_in_flight(j);
                checkpoint_save_row(j);  /* the NoProgressTimeout clock survives a restart */
        }
        (void) store_end(m->store);
        /* Told once stored. */
        while ((j = LIST_ENTRY(m->dirty.head, Job, dirty_node))) {
                list_remove(&m->dirty, &j->dirty_node);
                job_notify_progress(j);
        }
        return 0;
}

void checkpoint_mark(Job *j) {
        Manager *m = j->manager;

        assert(j);

        job_rate_sample(j);
        if (checkpoint_is_marked(j))
                return;
        list_prepend(&m->dirty, &j->dirty_node);

        /* One timer for all jobs, armed only while something changed: no wake-ups when idle. */
        if (sd_event_source_get_enabled(m->progress_timer, NULL) > 0)
                return;
        (void) sd_event_source_set_time_relative(m->progress_timer, PROGRESS_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_ONESHOT);
}

bool checkpoint_is_marked(const Job *j) {
        assert(j);

        return list_node_is_linked(&j->manager->dirty, &j->dirty_node);
}

void checkpoint_unmark(Job *j) {
        assert(j);

        if (checkpoint_is_marked(j))
                list_remove(&j->manager->dirty, &j->dirty_node);
        /* Nothing left to write: the timer would only wake an idle daemon. */
        if (list_is_empty(&j->manager->dirty))
                (void) sd_event_source_set_enabled(j->manager->progress_timer, SD_EVENT_OFF);
}
