/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a job waits for (WaitReason): the facts from the scheduler, the network and the
 * transfer, judged by wait-reason.c; and announcing a reason that changed without a change of
 * the job's own state (another job started or ended). */
#include "manager-internal.h"
#include "util.h"
#include "wait-reason.h"

static bool job_is_background(const Job *j) {
        return j->priority != JOB_PRIORITY_FOREGROUND;
}

static bool wait_slots_full(Manager *m) {
        return scheduler_queue_active_background(m->schedule_queue) >= m->config.max_background_transfers;
}

static WaitReason job_wait_reason_value(const Job *j) {
        Manager *m = j->manager;
        WaitFacts f = {
                .state = j->state,
                .network_down = idle_job_waits_for_network(j),
                .throttled = download_lanes_throttled(j),
                .network = j->state == JOB_QUEUED ? network_wait_verdict(j) : NETWORK_VERDICT_GO,
        };

        if (j->state == JOB_QUEUED && !job_is_background(j) && j->owner != 0 &&
            m->config.max_foreground_transfers_per_user > 0) {
                /* A foreground job waits only for its owner's cap. */
                f.slots_full = scheduler_queue_user_foreground(m->schedule_queue, j->owner) >=
                               m->config.max_foreground_transfers_per_user;
        } else if (j->state == JOB_QUEUED && job_is_background(j)) {
                /* The counts the scheduler's queue keeps: no walk of the other jobs. */
                scheduler_sync_network(m);
                f.slots_full = wait_slots_full(m);
                /* A better background job holds a slot or waits ahead of this one. */
                f.higher_priority_first = scheduler_queue_best_background_priority(m->schedule_queue) < j->priority;
        }
        return wait_reason_decide(&f);
}

const char *job_wait_reason(const Job *j) {
        assert(j);

        return wait_reason_to_string(job_wait_reason_value(j));
}

void job_wait_mark(Job *j) {
        assert(j);

        if (j->manager->wait_updating || list_node_is_linked(&j->manager->wait_dirty, &j->wait_node))
                return;
        list_append(&j->manager->wait_dirty, &j->wait_node);
}

void job_wait_unmark(Job *j) {
        assert(j);

        if (list_node_is_linked(&j->manager->wait_dirty, &j->wait_node))
                list_remove(&j->manager->wait_dirty, &j->wait_node);
}

void job_wait_reason_told(Job *j) {
        assert(j);

        WaitReason r = job_wait_reason_value(j);

        /* The journal hears why a job waits for the network once, when it starts to. */
        if ((int) r != j->wait_reason_told)
                network_wait_log(j, r);
        j->wait_reason_told = (int) r;
        /* Told with the facts of this moment, which may differ from those of the last check. */
        if (j->counted)
                job_wait_mark(j);
}

static void job_wait_check(Job *j) {
        if (j->state != JOB_QUEUED)
                return;
        if (j->manager->wait_silent)
                j->wait_reason_told = (int) job_wait_reason_value(j);
        else if ((int) job_wait_reason_value(j) != j->wait_reason_told)
                manager_notify_changed(j, JOB_CHANGE_WAIT);
}

static void wait_check_foreground(Manager *m) {
        SchedulerItem **items;
        size_t n;

        if (scheduler_queue_waiting_foreground(m->schedule_queue, &items, &n) < 0) {
                /* Out of memory: the walk of every job instead, next time. */
                m->wait_walk_all = true;
                return;
        }
        for (size_t i = 0; i < n; i++)
                job_wait_check(scheduler_job_of(items[i]));
}

void manager_update_wait_reasons(Manager *m) {
        JobPriority best;
        bool full;

        assert(m);

        /* Only queued jobs wait for others; the rest change their reason with their state.
         * A queued background job's reason depends on the others through two facts only: are
         * the slots full, and the best priority running or waiting. While they stay what they
         * were at the last check, only the jobs told or changed since then need a look. */
        scheduler_sync_network(m);
        full = wait_slots_full(m);
        best = scheduler_queue_best_background_priority(m->schedule_queue);
        m->wait_updating = true;
        if (m->wait_walk_all || full != m->wait_told_slots_full || (int) best != m->wait_told_best_priority) {
                m->wait_walk_all = false;
                m->wait_foreground_changed = false;
                m->wait_told_slots_full = full;
                m->wait_told_best_priority = (int) best;
                while (!list_is_empty(&m->wait_dirty))
                        list_remove(&m->wait_dirty, m->wait_dirty.head);
                for (Job *j = job_first(&m->jobs); j; j = job_next(j))
                        job_wait_check(j);
                m->wait_updating = m->wait_silent = false;
                return;
        }
        if (m->wait_foreground_changed) {
                m->wait_foreground_changed = false;
                wait_check_foreground(m);
        }
        for (ListNode *node; (node = m->wait_dirty.head);) {
                list_remove(&m->wait_dirty, node);
                job_wait_check(LIST_ENTRY(node, Job, wait_node));
        }
        m->wait_updating = false;
}
