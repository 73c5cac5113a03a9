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

static WaitReason job_wait_reason_value(const Job *j) {
        Manager *m = j->manager;
        WaitFacts f = {
                .state = j->state,
                .network_down = job_waits_for_network(j),
                .throttled = j->transfer && transfer_is_paused(j->transfer),
        };

        if (j->state == JOB_QUEUED && job_is_background(j)) {
                f.slots_full = manager_count_active_background(m) >= m->config.max_background_transfers;
                /* A better background job holds a slot or waits ahead of this one. */
                for (Job *o = m->jobs_head; o; o = o->next)
                        if (o != j && job_is_background(o) && o->priority < j->priority &&
                            (o->state == JOB_QUEUED || job_state_is_active(o->state)))
                                f.higher_priority_first = true;
        }
        return wait_reason_decide(&f);
}

const char *job_wait_reason(const Job *j) {
        assert(j);

        return wait_reason_to_string(job_wait_reason_value(j));
}

void job_wait_reason_told(Job *j) {
        assert(j);

        j->wait_reason_told = (int) job_wait_reason_value(j);
}

void manager_update_wait_reasons(Manager *m) {
        assert(m);

        /* Only queued jobs wait for others; the rest change their reason with their state. */
        for (Job *j = m->jobs_head; j; j = j->next)
                if (j->state == JOB_QUEUED && (int) job_wait_reason_value(j) != j->wait_reason_told)
                        notify_changed(j, JOB_CHANGE_WAIT);
}
