/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The retry timer of a job in transient-error, and NoProgressTimeout. */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "manager-internal.h"
#include "retry-policy.h"
#include "util.h"

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata);

uint64_t retry_due_time(const Job *j, uint64_t retry_after_usec, uint64_t now) {
        const RetryPolicy policy = { .foreground_base_usec = j->manager->config.foreground_retry_base_usec };

        /* The failure being recorded counts: retry_arm() adds it to failures_in_row. */
        return now + retry_policy_delay_usec(&policy, j->priority == JOB_PRIORITY_FOREGROUND, j->failures_in_row + 1,
                                             j->minimum_retry_delay, retry_after_usec);
}

void retry_arm(Job *j) {
        uint64_t now = manager_now_realtime(j->manager);

        assert(j);

        j->failures_in_row++;
        retry_arm_timer(j);
        /* Once per failed attempt, with when the next one comes. */
        log_job_info(j->id, j->owner, j->current < j->n_files ? j->files[j->current]->url : NULL,
                     "%s; retrying in %" PRIu64 " s.", strempty(j->error_message),
                     j->retry_time > now ? (j->retry_time - now + USEC_PER_SEC - 1) / USEC_PER_SEC : 0);
}

void retry_arm_timer(Job *j) {
        Manager *m = j->manager;
        int r;

        assert(j);

        /* Wall-clock deadline, so it means the same after a restart or a suspend of the machine. */
        uint64_t no_progress_at = j->last_progress_time + (uint64_t) j->no_progress_timeout * USEC_PER_SEC;
        uint64_t when = j->retry_time < no_progress_at ? j->retry_time : no_progress_at;
        uint64_t now = manager_now_realtime(m), accuracy;

        /* NextRetryTime promises the moment: the timer may be late by a twentieth of the
         * delay, never more than a second (a 5 s retry within 250 ms, a 10 min one within 1 s). */
        accuracy = when > now ? (when - now) / 20 : 0;
        if (accuracy < 10 * USEC_PER_MSEC)
                accuracy = 10 * USEC_PER_MSEC;
        if (accuracy > USEC_PER_SEC)
                accuracy = USEC_PER_SEC;

        if (j->retry_timer) {
                r = sd_event_source_set_time(j->retry_timer, when);
                if (r >= 0)
                        r = sd_event_source_set_time_accuracy(j->retry_timer, accuracy);
                if (r >= 0)
                        r = sd_event_source_set_enabled(j->retry_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(m->event, &j->retry_timer, CLOCK_REALTIME, when, accuracy,
                                      on_retry_timer, j);
        if (r < 0)
                log_error_errno(r, "Cannot arm the retry timer of job %s", j->id);
}

void retry_disarm(Job *j) {
        assert(j);

        j->retry_timer = sd_event_source_disable_unref(j->retry_timer);
        j->retry_time = 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;
        uint64_t now = manager_now_realtime(j->manager);

        if (j->state != JOB_TRANSIENT_ERROR)
                return 0;

        if (now >= j->last_progress_time + (uint64_t) j->no_progress_timeout * USEC_PER_SEC) {
                char msg[1024];
                snprintf(msg, sizeof msg, "No progress for %" PRIu32 " seconds (NoProgressTimeout); last error: %s",
                         j->no_progress_timeout, strempty(j->error_message));
                job_set_error(j, ERROR_NAME_NO_PROGRESS, msg, "No progress within NoProgressTimeout");
                (void) job_apply(j, JOB_EVENT_NO_PROGRESS, NULL);
                return 0;
        }
        if (now < j->retry_time) {
                (void) sd_event_source_set_time(s, j->retry_time);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        (void) job_apply(j, JOB_EVENT_RETRY_DUE, NULL);
        return 0;
}
