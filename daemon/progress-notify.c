/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Progress signals: coalesced per loop iteration (however many changes one iteration
 * brings, one PropertiesChanged), and at most one per job per MinimumNotificationInterval,
 * as BITS' MINIMUM_NOTIFICATION_INTERVAL_MS. State changes are told at once and carry the
 * counters, so they restart the interval. */
#include "manager-internal.h"
#include "store.h"
#include "util.h"

static uint64_t job_notify_due(const Job *j) {
        return j->progress_told_usec + (uint64_t) j->minimum_notification_interval * USEC_PER_MSEC;
}

static void job_notify_remove(Job *j) {
        Manager *m = j->manager;

        for (Job **p = &m->notify_head; *p; p = &(*p)->notify_next)
                if (*p == j) {
                        *p = j->notify_next;
                        break;
                }
        j->notify_next = NULL;
        j->notify_pending = false;
}

void job_notify_progress(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (!j->notify_pending) {
                j->notify_pending = true;
                j->notify_next = m->notify_head;
                m->notify_head = j;
        }
        /* Told at the end of this loop iteration, with whatever else it brings. */
        (void) sd_event_source_set_enabled(m->notify_source, SD_EVENT_ONESHOT);
}

void job_progress_told(Job *j) {
        assert(j);

        j->progress_told_usec = event_now(j->manager->event, CLOCK_MONOTONIC);
        if (j->notify_pending)
                job_notify_remove(j);
}

void job_notify_forget(Job *j) {
        assert(j);

        if (j->notify_pending)
                job_notify_remove(j);
}

/* Tells every pending job whose interval has passed; the timer wakes for the next one. */
static void manager_flush_progress(Manager *m) {
        uint64_t now = event_now(m->event, CLOCK_MONOTONIC), next = UINT64_MAX;
        Job *j, *following;

        for (j = m->notify_head; j; j = following) {
                following = j->notify_next;
                if (now >= job_notify_due(j))
                        manager_notify_changed(j, JOB_CHANGE_PROGRESS);  /* tells, and takes it off the list */
                else if (job_notify_due(j) < next)
                        next = job_notify_due(j);
        }
        if (next == UINT64_MAX)
                return;
        (void) sd_event_source_set_time(m->notify_timer, next);
        (void) sd_event_source_set_enabled(m->notify_timer, SD_EVENT_ONESHOT);
}

int on_notify_defer(sd_event_source *s, void *userdata) {
        manager_flush_progress(userdata);
        return 0;
}

int on_notify_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_flush_progress(userdata);
        return 0;
}

/* ---- every property change ------------------------------------------------------------ */

/* Changes are gathered per job and told once per loop iteration, in one PropertiesChanged
 * with every property that changed; earlier when another signal of the job (Transferred,
 * Failed, JobRemoved, InterfacesRemoved) or a reply that waited must come after them. */
void job_changes_gather(Job *j, unsigned changes) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (changes == 0)
                return;
        if (j->changes_untold == 0)
                list_append(&m->changed, &j->changed_node);
        j->changes_untold |= changes;
        /* A batch tells its changes when it closes (manager_batch_close()): a loop iteration
         * for each of its calls only to find it open would cost more than the call's reply. */
        if (!m->batch && !m->batch_open)
                (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_ONESHOT);
}

/* The changes whose signal carries the byte counters (bus/bus-observer.c). */
#define JOB_CHANGES_WITH_COUNTERS (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_FILES)

void job_changes_flush(Job *j) {
        Manager *m;
        unsigned changes;

        assert(j);

        m = j->manager;
        /* In a batch's call nothing is told; an open batch is committed and told first. */
        if (m->batch)
                return;
        manager_batch_release(m);
        changes = j->changes_untold;
        if (changes == 0)
                return;
        /* Committed before it is told, also inside a caller's open transaction, as
         * job_apply_full() does. */
        if ((changes & JOB_CHANGES_WITH_COUNTERS) && checkpoint_before_telling(j) &&
            store_commit(m->store) < 0)
                checkpoint_stored_unknown(j);
        job_changes_forget(j);
        /* A new job's announcement takes the place of what it gathered before. */
        if (changes & JOB_UNTOLD_NEW) {
                job_announce_new(j);
                return;
        }
        if (changes != 0 && m->observer.job_changed)
                m->observer.job_changed(m, j, changes);
}

void job_announce_new(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        /* The job's object (InterfacesAdded) with its state and everything its state's
         * PropertiesChanged would carry, as they are now, and JobNew: no PropertiesChanged of
         * the values it was made with follows (nobody knew it before), the next is its first
         * change after this one. What the announcement carries counts as told. */
        job_progress_told(j);
        job_wait_reason_told(j);
        if (m->observer.job_new)
                m->observer.job_new(m, j);
}

void job_changes_forget(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (j->changes_untold != 0)
                list_remove(&m->changed, &j->changed_node);
        j->changes_untold = 0;
        /* Told (or gone) before the source's turn: no loop iteration only to find nothing. */
        if (list_is_empty(&m->changed))
                (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_OFF);
}

static Job *changes_next_untold(Manager *m) {
        for (ListNode *n = m->changed.head; n; n = n->next) {
                Job *j = LIST_ENTRY(n, Job, changed_node);
                if (!download_done_holds(j))
                        return j;
        }
        return NULL;
}

void manager_changes_flush(Manager *m) {
        Job *j;

        assert(m);

        if (m->batch)
                return;
        manager_batch_release(m);
        /* The counters of every job told here in one transaction, not one each. */
        if (m->store) {
                bool wrote = false;
                int r;

                (void) store_begin(m->store);
                for (ListNode *n = m->changed.head; n; n = n->next) {
                        j = LIST_ENTRY(n, Job, changed_node);
                        if ((j->changes_untold & JOB_CHANGES_WITH_COUNTERS) && !download_done_holds(j))
                                wrote |= checkpoint_before_telling(j);
                }
                r = store_end(m->store);
                /* Inside a caller's open transaction too: committed before it is told. */
                if (wrote && r >= 0)
                        r = store_commit(m->store);
                if (wrote && r < 0)
                        for (ListNode *n = m->changed.head; n; n = n->next)
                                checkpoint_stored_unknown(LIST_ENTRY(n, Job, changed_node));
        }
        /* A download whose end waits for the commit it shares (download_on_done()) is told
         * then, its last state first: telling it here would cost a commit of its own. */
        while ((j = changes_next_untold(m)))
                job_changes_flush(j);
}

int on_changes_defer(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        /* An open batch tells everything when it closes. */
        if (m->batch_open)
                return 0;
        manager_changes_flush(m);
        return 0;
}
