/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Jobs and what NetworkManager says (issue 14). The watcher (network-cost.c) is open while a
 * job is busy. A metered network stops the transfers of jobs whose CostPolicy is unmetered
 * and holds them back; connectivity none, limited or portal holds back every job, and a
 * failure then neither counts nor waits out a retry delay. The decisions are
 * network-policy.c's; here they are carried out. */
#include <inttypes.h>

#include "log.h"
#include "manager-internal.h"
#include "util.h"

static const NetworkView not_watching = { .source = NETWORK_SOURCE_NOT_WATCHING };

const NetworkView *manager_get_network(Manager *m) {
        assert(m);
        return m->network_cost ? network_cost_view(m->network_cost) : &not_watching;
}

NetworkVerdict network_wait_verdict(const Job *j) {
        assert(j);
        /* Without a watcher (it could not be made) xferd behaves as it did before it asked. */
        if (!j->manager->network_cost)
                return NETWORK_VERDICT_GO;
        return network_may_start(network_cost_view(j->manager->network_cost), j->cost_policy);
}

static void network_wait_stop_for_cost(Job *j, const NetworkView *v) {
        log_job_info(j->id, j->owner, NULL,
                     "The network is metered (NetworkManager: Metered=%s) and CostPolicy is unmetered: "
                     "stopping; the %" PRIu64 " bytes so far are kept and the rest follows on an unmetered network.",
                     network_metered_to_string(v->metered), job_counts(j).bytes_transferred);
        /* Preemption is exactly this: back to queued, the data kept for a Range request. */
        (void) job_apply_full(j, JOB_EVENT_PREEMPT, 0, NULL);
}

void network_wait_check_job(Job *j) {
        assert(j);
        if (!j->manager->network_cost)
                return;
        const NetworkView *v = network_cost_view(j->manager->network_cost);
        if (job_state_is_active(j->state) && network_must_stop(v, j->cost_policy))
                network_wait_stop_for_cost(j, v);
        scheduler_wake(j->manager);
        manager_update_wait_reasons(j->manager);
}

void network_wait_log(const Job *j, WaitReason r) {
        const NetworkView *v;

        assert(j);
        v = manager_get_network(j->manager);
        switch (r) {
        case WAIT_METERED_NETWORK:
                log_job_info(j->id, j->owner, NULL,
                             "Waits for an unmetered network: CostPolicy is unmetered and NetworkManager "
                             "says Metered=%s.", network_metered_to_string(v->metered));
                break;
        case WAIT_CAPTIVE_PORTAL:
                log_job_info(j->id, j->owner, NULL,
                             "Waits: NetworkManager reports a captive portal; no attempt starts until it "
                             "reports full connectivity.");
                break;
        case WAIT_NO_NETWORK:
                if (j->state == JOB_QUEUED)
                        log_job_info(j->id, j->owner, NULL,
                                     "Waits: NetworkManager reports connectivity '%s'; no attempt starts until "
                                     "it reports full connectivity.", network_connectivity_to_string(v->connectivity));
                break;
        default:
                break;
        }
}

bool network_wait_absorbs_failure(Job *j, ErrorName name, const char *message) {
        assert(j);
        if (!j->manager->network_cost || !job_state_is_active(j->state))
                return false;
        const NetworkView *v = network_cost_view(j->manager->network_cost);
        /* A full disk or a missing directory is no fault of the network. */
        if (network_failure_counts(v) || name == ERROR_NAME_LOCAL_FILE)
                return false;
        log_job_info(j->id, j->owner, j->current < j->n_files ? j->files[j->current]->url : NULL,
                     "%s; not counted, as NetworkManager reports connectivity '%s': the job waits for the network.",
                     strempty(message), network_connectivity_to_string(v->connectivity));
        return job_apply_full(j, JOB_EVENT_PREEMPT, 0, NULL) >= 0;
}

static void network_wait_on_changed(void *userdata, const NetworkView *before) {
        Manager *m = userdata;
        const NetworkView *v = network_cost_view(m->network_cost);
        bool usable_again = network_became_usable(before, v);
        Job *next;

        for (Job *j = job_first(&m->jobs); j; j = next) {
                next = job_next(j);
                if (job_state_is_active(j->state) && network_must_stop(v, j->cost_policy))
                        network_wait_stop_for_cost(j, v);
                else if (usable_again && idle_job_waits_for_network(j)) {
                        /* As after an address change: the retry delay was for a network that
                         * was not there. */
                        log_job_info(j->id, j->owner, NULL, "NetworkManager reports connectivity again: retrying now.");
                        (void) job_apply(j, JOB_EVENT_RETRY_DUE, NULL);
                }
        }
        scheduler_wake(m);
        /* What the network allows changes which jobs wait ahead of others (job-wait.c). */
        m->wait_walk_all = true;
        manager_update_wait_reasons(m);
        manager_batch_release(m);
        if (m->observer.network_changed)
                m->observer.network_changed(m);
}

int network_wait_new(Manager *m) {
        assert(m);
        return network_cost_new(m->event, network_wait_on_changed, m, &m->network_cost);
}

void network_wait_update(Manager *m) {
        bool need = m->n_busy > 0;

        assert(m);
        if (!m->network_cost || need == network_cost_is_started(m->network_cost))
                return;
        if (need) {
                network_cost_start(m->network_cost);
                /* Without a system bus the answer is there at once: let the jobs go. */
                scheduler_wake(m);
        } else
                network_cost_stop(m->network_cost);
        manager_batch_release(m);
        if (m->observer.network_changed)
                m->observer.network_changed(m);
}
