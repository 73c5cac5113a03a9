/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobInactivityTimeout: cancelling jobs nobody touched for a long time. */
#include <inttypes.h>

#include "log.h"
#include "manager-internal.h"
#include "util.h"

int inactivity_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now, next = UINT64_MAX;
        Job *n;

        assert(m);

        now = manager_now_realtime(m);
        for (Job *j = job_first(&m->jobs); j; j = n) {
                n = job_next(j);
                uint64_t deadline = j->modification_time + m->config.job_inactivity_usec;
                if (deadline <= now) {
                        log_job_info(j->id, j->owner, NULL, "Untouched for %" PRIu64 " s (JobInactivityTimeout): cancelling it.",
                                     m->config.job_inactivity_usec / USEC_PER_SEC);
                        (void) job_cancel(j, NULL, NULL);
                } else if (deadline < next)
                        next = deadline;
        }
        if (next != UINT64_MAX) {
                (void) sd_event_source_set_time(s, next);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* Modification times only grow, so a timer at the oldest deadline known is never late; it
 * looks again when it fires. */
void inactivity_arm(Manager *m, uint64_t modification_time) {
        uint64_t deadline, current;

        assert(m);

        deadline = modification_time + m->config.job_inactivity_usec;
        if (!m->inactivity_timer)
                return;
        if (sd_event_source_get_enabled(m->inactivity_timer, NULL) > 0 &&
            sd_event_source_get_time(m->inactivity_timer, &current) >= 0 && current <= deadline)
                return;
        (void) sd_event_source_set_time(m->inactivity_timer, deadline);
        (void) sd_event_source_set_enabled(m->inactivity_timer, SD_EVENT_ONESHOT);
}
