/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing a job to the store, and the rate-limited progress checkpoints. */
#include "manager-internal.h"
#include "store.h"
#include "util.h"

#define PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)

/* A failed write is logged and the daemon goes on: the in-memory job stays right, and the
 * next successful write of the job brings the store up to date. */
void job_save_row(Job *j) {
        if (j->manager->store)
                (void) store_save_job_row(j->manager->store, j);
}

void job_save(Job *j) {
        if (j->manager->store)
                (void) store_save_job(j->manager->store, j);
}

void job_save_file(Job *j, size_t i) {
        if (j->manager->store && i < j->n_files)
                (void) store_save_file(j->manager->store, j, i);
}

int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        Job *j;

        /* Checkpoints of how far files got, one transaction for all jobs; the byte count that
         * counts after a crash is the temporary file's real size. */
        if (m->store) {
                (void) store_begin(m->store);
                for (j = m->dirty_head; j; j = j->dirty_next) {
                        job_save_file(j, j->current);
                        job_save_row(j);  /* the NoProgressTimeout clock survives a restart */
                }
                (void) store_end(m->store);
        }
        /* Told once stored. */
        while ((j = m->dirty_head)) {
                m->dirty_head = j->dirty_next;
                j->dirty_next = NULL;
                j->in_dirty_list = false;
                job_notify_progress(j);
        }
        return 0;
}

void job_mark_progress(Job *j) {
        Manager *m = j->manager;
        uint64_t now;

        job_rate_sample(j);
        if (j->in_dirty_list)
                return;
        j->in_dirty_list = true;
        j->dirty_next = m->dirty_head;
        m->dirty_head = j;

        /* One timer for all jobs, armed only while something changed: no wake-ups when idle. */
        if (sd_event_source_get_enabled(m->progress_timer, NULL) > 0)
                return;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_set_time(m->progress_timer, now + PROGRESS_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_ONESHOT);
}

void job_unmark_progress(Job *j) {
        Manager *m = j->manager;

        if (!j->in_dirty_list)
                return;
        for (Job **p = &m->dirty_head; *p; p = &(*p)->dirty_next)
                if (*p == j) {
                        *p = j->dirty_next;
                        break;
                }
        j->dirty_next = NULL;
        j->in_dirty_list = false;
}
