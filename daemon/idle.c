/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The busy and network-waiting counts, and whether the daemon is idle. */
#include "log.h"
#include "manager-internal.h"
#include "util.h"

static bool job_keeps_busy(const Job *j) {
        return j->state == JOB_QUEUED || job_state_is_active(j->state) || j->state == JOB_TRANSIENT_ERROR;
}

bool idle_job_waits_for_network(const Job *j) {
        ErrorName e;

        assert(j);

        if (j->state != JOB_TRANSIENT_ERROR)
                return false;
        e = error_name_from_string(j->error_name);
        return e == ERROR_NAME_NETWORK || e == ERROR_NAME_TIMEOUT;
}

/* Before and after every change of a listed job's state or error. */
void idle_uncount(Job *j) {
        assert(j);

        if (!j->counted)
                return;
        j->manager->n_busy -= job_keeps_busy(j);
        j->manager->n_network_waiting -= idle_job_waits_for_network(j);
}

void idle_recount(Job *j) {
        assert(j);

        if (!j->counted)
                return;
        j->manager->n_busy += job_keeps_busy(j);
        j->manager->n_network_waiting += idle_job_waits_for_network(j);
}

void idle_count_start(Job *j) {
        assert(j);

        j->counted = true;
        idle_recount(j);
}

void idle_count_stop(Job *j) {
        assert(j);

        idle_uncount(j);
        j->counted = false;
}

bool manager_is_idle(Manager *m) {
        assert(m);

        /* A DELETE owed to a server keeps us (the contract); a stuck unlink does not when it
         * is stored: the next start tries it again. */
        if (!list_is_empty(&m->pending_deletes))
                return false;
        /* A file operation under way owes a reply or a record. */
        if (io_pool_busy(m->io_pool) > 0)
                return false;
        return m->n_busy == 0;
}

/* Tests: the counts must agree with a walk over every job. */
void idle_check_counts(Manager *m) {
        unsigned busy = 0, waiting = 0;

        assert(m);

        for (Job *j = job_first(&m->jobs); j; j = job_next(j)) {
                busy += job_keeps_busy(j);
                waiting += idle_job_waits_for_network(j);
        }
        if (busy != m->n_busy || waiting != m->n_network_waiting) {
                log_error("Job counts out of step: busy %u (counted %u), waiting for the network %u (counted %u).",
                          busy, m->n_busy, waiting, m->n_network_waiting);
                abort();
        }
}

void idle_check(Manager *m) {
        bool idle = manager_is_idle(m);

        assert(m);

        network_retry_update_watch(m);
        network_wait_update(m);

        if (idle == m->idle)
                return;
        m->idle = idle;
        if (m->observer.idle_changed)
                m->observer.idle_changed(m, idle);
}
