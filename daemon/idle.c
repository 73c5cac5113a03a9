/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The busy and network-waiting counts, and whether the daemon is idle. */
#include "log.h"
#include "manager-internal.h"
#include "util.h"

static bool job_keeps_busy(const Job *j) {
        return j->state == JOB_QUEUED || job_state_is_active(j->state) || j->state == JOB_TRANSIENT_ERROR;
}

bool job_waits_for_network(const Job *j) {
        return j->state == JOB_TRANSIENT_ERROR && j->error_name &&
               (streq(j->error_name, "Network") || streq(j->error_name, "Timeout"));
}

/* Before and after every change of a listed job's state or error. */
void job_uncount(Job *j) {
        if (!j->counted)
                return;
        j->manager->n_busy -= job_keeps_busy(j);
        j->manager->n_network_waiting -= job_waits_for_network(j);
}

void job_recount(Job *j) {
        if (!j->counted)
                return;
        j->manager->n_busy += job_keeps_busy(j);
        j->manager->n_network_waiting += job_waits_for_network(j);
}

void job_count_start(Job *j) {
        j->counted = true;
        job_recount(j);
}

void job_count_stop(Job *j) {
        job_uncount(j);
        j->counted = false;
}

bool manager_is_idle(Manager *m) {
        /* A DELETE owed to a server keeps us (the contract); a stuck unlink does not when it
         * is stored: the next start tries it again. */
        if (m->pending_deletes)
                return false;
        /* A file operation under way owes a reply or a record. */
        if (io_pool_busy(m->io_pool) > 0)
                return false;
        if (!m->store)
                return !m->jobs_head && !m->retained_head && !m->pending_unlinks;
        return m->n_busy == 0;
}

/* Tests: the counts must agree with a walk over every job. */
void manager_check_counts(Manager *m) {
        unsigned busy = 0, waiting = 0;

        for (Job *j = m->jobs_head; j; j = j->next) {
                busy += job_keeps_busy(j);
                waiting += job_waits_for_network(j);
        }
        if (busy != m->n_busy || waiting != m->n_network_waiting) {
                log_error("Job counts out of step: busy %u (counted %u), waiting for the network %u (counted %u).",
                          busy, m->n_busy, waiting, m->n_network_waiting);
                abort();
        }
}

void manager_check_idle(Manager *m) {
        bool idle = manager_is_idle(m);

        manager_update_netwatch(m);

        if (idle == m->idle)
                return;
        m->idle = idle;
        if (m->observer.idle_changed)
                m->observer.idle_changed(m, idle);
}
