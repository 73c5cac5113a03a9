/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>

#include "job.h"
#include "util.h"

static const char *const state_table[_JOB_STATE_MAX] = {
        [JOB_QUEUED] = "queued",
        [JOB_CONNECTING] = "connecting",
        [JOB_TRANSFERRING] = "transferring",
        [JOB_SUSPENDED] = "suspended",
        [JOB_ERROR] = "error",
        [JOB_TRANSIENT_ERROR] = "transient-error",
        [JOB_TRANSFERRED] = "transferred",
        [JOB_ACKNOWLEDGED] = "acknowledged",
        [JOB_CANCELLED] = "cancelled",
};

static const char *const type_table[_JOB_TYPE_MAX] = {
        [JOB_DOWNLOAD] = "download",
        [JOB_UPLOAD] = "upload",
};

static const char *const priority_table[_JOB_PRIORITY_MAX] = {
        [JOB_PRIORITY_FOREGROUND] = "foreground",
        [JOB_PRIORITY_HIGH] = "high",
        [JOB_PRIORITY_NORMAL] = "normal",
        [JOB_PRIORITY_LOW] = "low",
};

static const char *const event_table[_JOB_EVENT_MAX] = {
        [JOB_EVENT_RESUME] = "resume",
        [JOB_EVENT_SUSPEND] = "suspend",
        [JOB_EVENT_CANCEL] = "cancel",
        [JOB_EVENT_COMPLETE] = "complete",
        [JOB_EVENT_ADD_FILES] = "add-files",
        [JOB_EVENT_MODIFY] = "modify",
        [JOB_EVENT_START] = "start",
        [JOB_EVENT_RESPONSE] = "response",
        [JOB_EVENT_ALL_DONE] = "all-done",
        [JOB_EVENT_FAIL_TRANSIENT] = "fail-transient",
        [JOB_EVENT_FAIL_FATAL] = "fail-fatal",
        [JOB_EVENT_RETRY_DUE] = "retry-due",
        [JOB_EVENT_NO_PROGRESS] = "no-progress",
        [JOB_EVENT_PREEMPT] = "preempt",
        [JOB_EVENT_RECOVER] = "recover",
        [JOB_EVENT_COMPLETE_FAILED] = "complete-failed",
};

const char *job_state_to_string(JobState s) {
        return string_table_get(state_table, _JOB_STATE_MAX, s);
}

JobState job_state_from_string(const char *s) {
        return (JobState) string_table_lookup(state_table, _JOB_STATE_MAX, s);
}

const char *job_type_to_string(JobType t) {
        return string_table_get(type_table, _JOB_TYPE_MAX, t);
}

JobType job_type_from_string(const char *s) {
        return (JobType) string_table_lookup(type_table, _JOB_TYPE_MAX, s);
}

const char *job_priority_to_string(JobPriority p) {
        return string_table_get(priority_table, _JOB_PRIORITY_MAX, p);
}

JobPriority job_priority_from_string(const char *s) {
        return (JobPriority) string_table_lookup(priority_table, _JOB_PRIORITY_MAX, s);
}

const char *job_event_to_string(JobEvent e) {
        return string_table_get(event_table, _JOB_EVENT_MAX, e);
}

bool job_state_is_final(JobState s) {
        return s == JOB_ACKNOWLEDGED || s == JOB_CANCELLED;
}

bool job_state_is_active(JobState s) {
        return s == JOB_CONNECTING || s == JOB_TRANSFERRING;
}

bool job_state_change_is_durable(JobState from, JobState to) {
        const JobContext ctx = { .has_files = true };
        JobTransition a, b;

        if (from == to)
                return false;
        /* Read off the RECOVER row, so the two can never disagree. */
        if (job_transition(from, JOB_EVENT_RECOVER, &ctx, &a) < 0 ||
            job_transition(to, JOB_EVENT_RECOVER, &ctx, &b) < 0)
                return true;
        return a.state != b.state;
}

static int set(JobTransition *ret, JobState state, unsigned actions) {
        *ret = (JobTransition) { .state = state, .actions = actions };
        return 0;
}

/* What leaving an active or waiting state takes: a running transfer stops, a retry timer goes. */
static unsigned leave_actions(JobState s) {
        unsigned a = 0;

        if (job_state_is_active(s))
                a |= JOB_ACTION_STOP_TRANSFER | JOB_ACTION_SCHEDULE;
        if (s == JOB_TRANSIENT_ERROR)
                a |= JOB_ACTION_DISARM_RETRY;
        return a;
}

static int transition_failure(JobState state, bool fatal, const JobContext *ctx, JobTransition *ret) {
        if (!job_state_is_active(state))
                return -EINVAL;

        /* The transfer has already ended by itself: nothing to stop, but its slot is free. */
        if (fatal || ctx->no_progress_timeout_zero)
                return set(ret, JOB_ERROR,
                           JOB_ACTION_RECORD_ERROR | JOB_ACTION_EMIT_FAILED | JOB_ACTION_SCHEDULE);

        return set(ret, JOB_TRANSIENT_ERROR,
                   JOB_ACTION_RECORD_ERROR | JOB_ACTION_ARM_RETRY | JOB_ACTION_SCHEDULE);
}

static int transition(JobState state, JobEvent event, const JobContext *ctx, JobTransition *ret) {
        if (state < 0 || state >= _JOB_STATE_MAX || !ctx || !ret)
                return -EINVAL;

        if (job_state_is_final(state)) {
                /* Nothing changes a final job again; the calls a client makes learn why. */
                switch (event) {
                case JOB_EVENT_RESUME:
                case JOB_EVENT_SUSPEND:
                case JOB_EVENT_CANCEL:
                case JOB_EVENT_COMPLETE:
                case JOB_EVENT_ADD_FILES:
                case JOB_EVENT_MODIFY:
                        return -ESTALE;
                default:
                        return -EINVAL;
                }
        }

        switch (event) {

        case JOB_EVENT_RESUME:
                switch (state) {
                case JOB_SUSPENDED:
                case JOB_ERROR:
                case JOB_TRANSIENT_ERROR:
                        if (!ctx->has_files)
                                return -ENODATA;
                        return set(ret, JOB_QUEUED,
                                   leave_actions(state) | JOB_ACTION_CLEAR_ERROR | JOB_ACTION_SCHEDULE);
                default:
                        /* queued, connecting, transferring, transferred: already on its way. */
                        return set(ret, state, 0);
                }

        case JOB_EVENT_SUSPEND:
                if (state == JOB_SUSPENDED)
                        return set(ret, state, 0);
                return set(ret, JOB_SUSPENDED, leave_actions(state) | JOB_ACTION_SCHEDULE);

        case JOB_EVENT_CANCEL:
                return set(ret, JOB_CANCELLED,
                           leave_actions(state) | JOB_ACTION_UNLINK_TEMPORARIES |
                           JOB_ACTION_SCHEDULE | JOB_ACTION_RETIRE);

        case JOB_EVENT_COMPLETE:
                /* An upload is only done when the server has every byte. */
                if (ctx->type == JOB_UPLOAD && state != JOB_TRANSFERRED)
                        return -EBUSY;
                return set(ret, JOB_ACKNOWLEDGED,
                           leave_actions(state) | JOB_ACTION_COMMIT_FILES |
                           JOB_ACTION_SCHEDULE | JOB_ACTION_RETIRE);

        case JOB_EVENT_ADD_FILES:
                if (state == JOB_TRANSFERRED)
                        return set(ret, JOB_SUSPENDED, 0);
                return set(ret, state, 0);

        case JOB_EVENT_MODIFY:
                return set(ret, state, 0);

        case JOB_EVENT_START:
                if (state != JOB_QUEUED)
                        return -EINVAL;
                return set(ret, JOB_CONNECTING, JOB_ACTION_START_TRANSFER);

        case JOB_EVENT_RESPONSE:
                if (state == JOB_CONNECTING)
                        return set(ret, JOB_TRANSFERRING, 0);
                if (state == JOB_TRANSFERRING)
                        return set(ret, state, 0);
                return -EINVAL;

        case JOB_EVENT_ALL_DONE:
                if (!job_state_is_active(state))
                        return -EINVAL;
                return set(ret, JOB_TRANSFERRED,
                           JOB_ACTION_CLEAR_ERROR | JOB_ACTION_EMIT_TRANSFERRED | JOB_ACTION_SCHEDULE |
                           (ctx->auto_complete ? JOB_ACTION_AUTO_COMPLETE : 0));

        case JOB_EVENT_FAIL_TRANSIENT:
                return transition_failure(state, false, ctx, ret);

        case JOB_EVENT_FAIL_FATAL:
                return transition_failure(state, true, ctx, ret);

        case JOB_EVENT_RETRY_DUE:
                if (state != JOB_TRANSIENT_ERROR)
                        return -EINVAL;
                return set(ret, JOB_QUEUED, JOB_ACTION_SCHEDULE);

        case JOB_EVENT_NO_PROGRESS:
                if (state != JOB_TRANSIENT_ERROR)
                        return -EINVAL;
                return set(ret, JOB_ERROR,
                           JOB_ACTION_DISARM_RETRY | JOB_ACTION_RECORD_ERROR | JOB_ACTION_EMIT_FAILED);

        case JOB_EVENT_PREEMPT:
                if (!job_state_is_active(state))
                        return -EINVAL;
                return set(ret, JOB_QUEUED, JOB_ACTION_STOP_TRANSFER | JOB_ACTION_SCHEDULE);

        case JOB_EVENT_RECOVER:
                /* A transfer that was running when the daemon stopped runs again. */
                if (job_state_is_active(state) || state == JOB_QUEUED)
                        return set(ret, JOB_QUEUED, JOB_ACTION_SCHEDULE);
                if (state == JOB_TRANSIENT_ERROR)
                        return set(ret, state, JOB_ACTION_ARM_RETRY);
                return set(ret, state, 0);

        case JOB_EVENT_COMPLETE_FAILED:
                if (state != JOB_TRANSFERRED)
                        return -EINVAL;
                return set(ret, JOB_ERROR, JOB_ACTION_RECORD_ERROR | JOB_ACTION_EMIT_FAILED);

        case _JOB_EVENT_MAX:
                break;
        }

        return -EINVAL;
}

static bool state_is_error(JobState s) {
        return s == JOB_ERROR || s == JOB_TRANSIENT_ERROR;
}

int job_transition(JobState state, JobEvent event, const JobContext *ctx, JobTransition *ret) {
        int r = transition(state, event, ctx, ret);

        /* The contract: ErrorName and ErrorMessage are empty outside error and transient-error,
         * whichever way a job leaves them. */
        if (r >= 0 && state_is_error(state) && !state_is_error(ret->state))
                ret->actions |= JOB_ACTION_CLEAR_ERROR;
        return r;
}
