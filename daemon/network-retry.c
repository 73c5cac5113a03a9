/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Retrying jobs that failed for the network when the network changes. */
#include "log.h"
#include "manager-internal.h"
#include "netwatch.h"
#include "util.h"

#define NETWORK_SETTLE_USEC (2 * USEC_PER_SEC)

/* Connectivity may be back: jobs that failed for the network try again now instead of
 * waiting out their retry delay, as BITS does. News comes in bursts (an address, then its
 * routes): one retry once the burst has settled, not one per message. */
int network_retry_on_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        Job *n;

        assert(m);

        for (Job *j = job_first(&m->jobs); j; j = n) {
                n = job_next(j);
                if (idle_job_waits_for_network(j)) {
                        log_job_info(j->id, j->owner, NULL, "The network changed: retrying now.");
                        (void) job_apply(j, JOB_EVENT_RETRY_DUE, NULL);
                }
        }
        return 0;
}

static void on_network_changed(void *userdata) {
        Manager *m = userdata;

        if (sd_event_source_get_enabled(m->network_timer, NULL) > 0)
                return;
        (void) sd_event_source_set_time_relative(m->network_timer, NETWORK_SETTLE_USEC);
        (void) sd_event_source_set_enabled(m->network_timer, SD_EVENT_ONESHOT);
}

void network_retry_update_watch(Manager *m) {
        bool need;

        assert(m);

        need = m->n_network_waiting > 0;
        if (m->check_counts)
                idle_check_counts(m);
        if (need && !m->netwatch) {
                int r = netwatch_new(m->event, on_network_changed, m, &m->netwatch);
                if (r < 0)
                        log_debug_errno(r, "Cannot watch the network");
        } else if (!need)
                m->netwatch = netwatch_free(m->netwatch);
}
