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

/* The numbers a queued job's reason needs from all jobs, recounted when the loop moved on
 * or something changed since the last count. */
static void manager_wait_scan(Manager *m) {
        uint64_t now;

        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_monotonic_usec();
        if (now == m->wait_scan_usec && m->change_gen == m->wait_scan_gen)
                return;
        m->wait_scan_usec = now;
        m->wait_scan_gen = m->change_gen;
        m->wait_scan_active_background = 0;
        m->wait_scan_best_priority = _JOB_PRIORITY_MAX;
        for (Job *o = job_first(&m->jobs); o; o = job_next(o)) {
                if (!job_is_background(o))
                        continue;
                if (job_state_is_active(o->state))
                        m->wait_scan_active_background++;
                /* A job the network holds back goes ahead of nobody. */
                if ((job_state_is_active(o->state) ||
                     (o->state == JOB_QUEUED && network_wait_verdict(o) == NETWORK_VERDICT_GO)) &&
                    (int) o->priority < m->wait_scan_best_priority)
                        m->wait_scan_best_priority = (int) o->priority;
        }
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
                /* A foreground job waits only for its owner's cap. Few are ever queued, so
                 * counting its owner's running ones for each is cheap enough. */
                unsigned running = 0;
                for (Job *o = job_first(&m->jobs); o; o = job_next(o))
                        running += o->owner == j->owner && !job_is_background(o) && job_state_is_active(o->state);
                f.slots_full = running >= m->config.max_foreground_transfers_per_user;
        } else if (j->state == JOB_QUEUED && job_is_background(j)) {
                manager_wait_scan(m);
                f.slots_full = m->wait_scan_active_background >= m->config.max_background_transfers;
                /* A better background job holds a slot or waits ahead of this one. */
                f.higher_priority_first = m->wait_scan_best_priority < (int) j->priority;
        }
        return wait_reason_decide(&f);
}

const char *job_wait_reason(const Job *j) {
        assert(j);

        return wait_reason_to_string(job_wait_reason_value(j));
}

void job_wait_reason_told(Job *j) {
        assert(j);

        WaitReason r = job_wait_reason_value(j);

        /* The journal hears why a job waits for the network once, when it starts to. */
        if ((int) r != j->wait_reason_told)
                network_wait_log(j, r);
        j->wait_reason_told = (int) r;
}

void manager_update_wait_reasons(Manager *m) {
        assert(m);

        /* Only queued jobs wait for others; the rest change their reason with their state. */
        for (Job *j = job_first(&m->jobs); j; j = job_next(j))
                if (j->state == JOB_QUEUED && (int) job_wait_reason_value(j) != j->wait_reason_told)
                        manager_notify_changed(j, JOB_CHANGE_WAIT);
}
