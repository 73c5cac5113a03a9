/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Final jobs: retired from the queue, kept on the bus for a while, then freed. */
#include "job-record.h"
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "util.h"

static void manager_expire_retained(Job *j);

static int retention_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        assert(userdata);

        manager_expire_retained(userdata);
        return 0;
}

/* The object stays readable for a while, so a late call learns InvalidState; the deadline is
 * wall-clock, so it holds across restarts. */
void retention_arm(Job *j) {
        Manager *m;
        int r;

        assert(j);

        m = j->manager;
        r = sd_event_add_time(m->event, &j->retention_timer, CLOCK_REALTIME, j->retire_time + m->config.retention_usec,
                              USEC_PER_SEC, retention_on_timer, j);
        if (r < 0)
                log_error_errno(r, "Cannot arm the retention timer of job %s", j->id);
}

void retention_retire(Job *j) {
        assert(j);

        Manager *m = j->manager;
        idle_count_stop(j);
        scheduler_job_removed(j);
        owner_gone_unbind(j);
        job_index_leave_queue(m, j);
        list_append(&m->retained, &j->queue_node);
        retry_disarm(j);

        /* Told with the state, once the temporary files are gone (job_unlink_temporaries()). */
        if (m->observer.job_removed && !j->signals_deferred) {
                job_changes_flush(j);
                m->observer.job_removed(m, j);
        }

        retention_arm(j);

        /* Final objects are bounded per user too: create and cancel in a loop must not pile up
         * objects, store rows and broadcasts; the oldest of the user's goes first. */
        if (j->owner != 0) {
                unsigned n = 0;
                for (Job *k = job_first(&m->retained); k; k = job_next(k))
                        if (k->owner == j->owner)
                                n++;
                for (Job *k = job_first(&m->retained), *next; k && n > m->config.max_jobs_per_user; k = next) {
                        next = job_next(k);
                        if (k->owner == j->owner && k != j) {
                                manager_expire_retained(k);
                                n--;
                        }
                }
        }
}

Job *job_free(Job *j) {
        if (!j)
                return NULL;
        /* A job freed while still queued (the daemon stopping with work left) leaves the
         * scheduler's heaps first: they would otherwise point into freed memory. */
        if (j->manager->schedule_queue)
                scheduler_job_removed(j);
        checkpoint_unmark(j);
        job_notify_forget(j);
        job_changes_forget(j);
        if (list_node_is_linked(&j->manager->auto_complete, &j->auto_complete_node))
                list_remove(&j->manager->auto_complete, &j->auto_complete_node);
        download_done_forget(j);
        job_stop_transfer(j);
        manager_calls_shutdown(&j->unlink_waiters);
        manager_calls_shutdown(&j->deferred_cancels);
        sd_event_source_disable_unref(j->retry_timer);
        sd_event_source_disable_unref(j->retention_timer);
        return job_record_free(j);
}

void retention_io_released(Job *j) {
        assert(j);

        if (j->expire_pending && !j->completing && !j->unlinking) {
                j->expire_pending = false;
                manager_expire_retained(j);
        }
}

/* The end of a final job's object: InterfacesRemoved, out of the store, freed. */
static void manager_expire_retained(Job *j) {
        Manager *m = j->manager;

        /* A worker thread still works on its files: the job goes when that is done. */
        if (j->completing || j->unlinking) {
                j->expire_pending = true;
                return;
        }

        job_changes_flush(j);
        if (m->observer.job_gone)
                m->observer.job_gone(m, j);
        (void) store_delete_job(m->store, j);
        list_remove(&m->retained, &j->queue_node);
        job_index_remove(m, j);
        job_free(j);
        idle_check(m);
}
