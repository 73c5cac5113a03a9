/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every row of the contract's state table, checked against the pure state machine. */
#include <errno.h>
#include <glib.h>

#include "job.h"
#include "test-cases.h"

static const JobState all_states[] = {
        JOB_QUEUED, JOB_CONNECTING, JOB_TRANSFERRING, JOB_SUSPENDED, JOB_ERROR,
        JOB_TRANSIENT_ERROR, JOB_TRANSFERRED, JOB_ACKNOWLEDGED, JOB_CANCELLED,
};

static const JobState non_final[] = {
        JOB_QUEUED, JOB_CONNECTING, JOB_TRANSFERRING, JOB_SUSPENDED, JOB_ERROR,
        JOB_TRANSIENT_ERROR, JOB_TRANSFERRED,
};

static JobContext ctx_download(void) {
        return (JobContext) { .type = JOB_DOWNLOAD, .has_files = true };
}

static JobTransition expect_ok(JobState from, JobEvent ev, const JobContext *ctx, JobState to) {
        JobTransition t;
        int r = job_transition(from, ev, ctx, &t);

        if (r != 0 || t.state != to)
                g_error("%s + %s: expected %s, got r=%d state=%s", job_state_to_string(from),
                        job_event_to_string(ev), job_state_to_string(to), r,
                        r == 0 ? job_state_to_string(t.state) : "-");
        return t;
}

static void expect_fail(JobState from, JobEvent ev, const JobContext *ctx, int err) {
        JobTransition t;
        int r = job_transition(from, ev, ctx, &t);

        if (r != err)
                g_error("%s + %s: expected %d, got %d", job_state_to_string(from), job_event_to_string(ev), err, r);
}

static void test_strings(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(all_states); i++) {
                const char *s = job_state_to_string(all_states[i]);
                g_assert_nonnull(s);
                g_assert_cmpint(job_state_from_string(s), ==, all_states[i]);
        }
        /* The contract's BITS numbers. */
        g_assert_cmpint(JOB_QUEUED, ==, 0);
        g_assert_cmpint(JOB_TRANSIENT_ERROR, ==, 5);
        g_assert_cmpint(JOB_CANCELLED, ==, 8);
        g_assert_cmpstr(job_state_to_string(JOB_TRANSIENT_ERROR), ==, "transient-error");
        g_assert_cmpint(job_state_from_string("bogus"), ==, _JOB_STATE_INVALID);
        g_assert_cmpint(job_priority_from_string("foreground"), ==, JOB_PRIORITY_FOREGROUND);
        g_assert_cmpint(job_priority_from_string("urgent"), ==, _JOB_PRIORITY_INVALID);
        g_assert_cmpint(job_type_from_string("upload"), ==, JOB_UPLOAD);
        g_assert_null(job_state_to_string(_JOB_STATE_MAX));
}

static void test_resume(void) {
        JobContext c = ctx_download();
        JobContext empty = { .type = JOB_DOWNLOAD, .has_files = false };
        JobTransition t;

        /* suspended, error, transient-error → queued */
        t = expect_ok(JOB_SUSPENDED, JOB_EVENT_RESUME, &c, JOB_QUEUED);
        g_assert_true(t.actions & JOB_ACTION_SCHEDULE);
        t = expect_ok(JOB_ERROR, JOB_EVENT_RESUME, &c, JOB_QUEUED);
        g_assert_true(t.actions & JOB_ACTION_CLEAR_ERROR);
        t = expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_RESUME, &c, JOB_QUEUED);
        g_assert_true(t.actions & JOB_ACTION_DISARM_RETRY);

        /* no files → Empty, state stays */
        expect_fail(JOB_SUSPENDED, JOB_EVENT_RESUME, &empty, -ENODATA);

        /* already on its way: unchanged, success, nothing to do */
        const JobState unchanged[] = { JOB_QUEUED, JOB_CONNECTING, JOB_TRANSFERRING, JOB_TRANSFERRED };
        for (size_t i = 0; i < G_N_ELEMENTS(unchanged); i++) {
                t = expect_ok(unchanged[i], JOB_EVENT_RESUME, &c, unchanged[i]);
                g_assert_cmpuint(t.actions, ==, 0);
        }
}

static void test_suspend(void) {
        JobContext c = ctx_download();
        JobTransition t;

        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++)
                expect_ok(non_final[i], JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED);

        /* An active transfer stops; partial data is kept (no unlink). */
        t = expect_ok(JOB_TRANSFERRING, JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED);
        g_assert_true(t.actions & JOB_ACTION_STOP_TRANSFER);
        g_assert_false(t.actions & JOB_ACTION_UNLINK_TEMPORARIES);
        t = expect_ok(JOB_CONNECTING, JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED);
        g_assert_true(t.actions & JOB_ACTION_STOP_TRANSFER);
        t = expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED);
        g_assert_true(t.actions & JOB_ACTION_DISARM_RETRY);
}

static void test_cancel(void) {
        JobContext c = ctx_download();

        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++) {
                JobTransition t = expect_ok(non_final[i], JOB_EVENT_CANCEL, &c, JOB_CANCELLED);
                /* Every temporary file goes, and the job leaves the queue. */
                g_assert_true(t.actions & JOB_ACTION_UNLINK_TEMPORARIES);
                g_assert_true(t.actions & JOB_ACTION_RETIRE);
                g_assert_false(t.actions & JOB_ACTION_COMMIT_FILES);
                if (job_state_is_active(non_final[i]))
                        g_assert_true(t.actions & JOB_ACTION_STOP_TRANSFER);
                if (non_final[i] == JOB_TRANSIENT_ERROR)
                        g_assert_true(t.actions & JOB_ACTION_DISARM_RETRY);
        }
}

static void test_complete(void) {
        JobContext c = ctx_download();
        JobContext up = { .type = JOB_UPLOAD, .has_files = true };

        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++) {
                JobTransition t = expect_ok(non_final[i], JOB_EVENT_COMPLETE, &c, JOB_ACKNOWLEDGED);
                g_assert_true(t.actions & JOB_ACTION_COMMIT_FILES);
                g_assert_true(t.actions & JOB_ACTION_RETIRE);
                g_assert_false(t.actions & JOB_ACTION_UNLINK_TEMPORARIES);
        }

        /* Uploads: transferred only. */
        expect_ok(JOB_TRANSFERRED, JOB_EVENT_COMPLETE, &up, JOB_ACKNOWLEDGED);
        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++)
                if (non_final[i] != JOB_TRANSFERRED)
                        expect_fail(non_final[i], JOB_EVENT_COMPLETE, &up, -EBUSY);
}

static void test_add_files(void) {
        JobContext c = ctx_download();

        /* transferred → suspended: new work, Resume again */
        expect_ok(JOB_TRANSFERRED, JOB_EVENT_ADD_FILES, &c, JOB_SUSPENDED);
        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++)
                if (non_final[i] != JOB_TRANSFERRED)
                        expect_ok(non_final[i], JOB_EVENT_ADD_FILES, &c, non_final[i]);
}

static void test_final_is_final(void) {
        const JobEvent calls[] = {
                JOB_EVENT_RESUME, JOB_EVENT_SUSPEND, JOB_EVENT_CANCEL,
                JOB_EVENT_COMPLETE, JOB_EVENT_ADD_FILES, JOB_EVENT_MODIFY,
        };
        const JobState finals[] = { JOB_ACKNOWLEDGED, JOB_CANCELLED };
        JobContext c = ctx_download();

        for (size_t s = 0; s < G_N_ELEMENTS(finals); s++) {
                g_assert_true(job_state_is_final(finals[s]));
                for (size_t e = 0; e < G_N_ELEMENTS(calls); e++)
                        expect_fail(finals[s], calls[e], &c, -ESTALE);
                /* Internal events cannot move a final job either. */
                for (JobEvent e = JOB_EVENT_START; e < _JOB_EVENT_MAX; e++)
                        expect_fail(finals[s], e, &c, -EINVAL);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++)
                g_assert_false(job_state_is_final(non_final[i]));
}

static void test_scheduler_path(void) {
        JobContext c = ctx_download();
        JobTransition t;

        t = expect_ok(JOB_QUEUED, JOB_EVENT_START, &c, JOB_CONNECTING);
        g_assert_true(t.actions & JOB_ACTION_START_TRANSFER);
        expect_ok(JOB_CONNECTING, JOB_EVENT_RESPONSE, &c, JOB_TRANSFERRING);
        expect_ok(JOB_TRANSFERRING, JOB_EVENT_RESPONSE, &c, JOB_TRANSFERRING);
        t = expect_ok(JOB_TRANSFERRING, JOB_EVENT_ALL_DONE, &c, JOB_TRANSFERRED);
        g_assert_true(t.actions & JOB_ACTION_EMIT_TRANSFERRED);
        g_assert_false(t.actions & JOB_ACTION_AUTO_COMPLETE);

        JobContext ac = c;
        ac.auto_complete = true;
        t = expect_ok(JOB_TRANSFERRING, JOB_EVENT_ALL_DONE, &ac, JOB_TRANSFERRED);
        g_assert_true(t.actions & JOB_ACTION_AUTO_COMPLETE);

        /* Starting is only for queued jobs; a response only while active. */
        expect_fail(JOB_SUSPENDED, JOB_EVENT_START, &c, -EINVAL);
        expect_fail(JOB_SUSPENDED, JOB_EVENT_RESPONSE, &c, -EINVAL);
        expect_fail(JOB_QUEUED, JOB_EVENT_ALL_DONE, &c, -EINVAL);

        t = expect_ok(JOB_TRANSFERRING, JOB_EVENT_PREEMPT, &c, JOB_QUEUED);
        g_assert_true(t.actions & JOB_ACTION_STOP_TRANSFER);
}

static void test_failures(void) {
        JobContext c = ctx_download();
        JobContext zero = c;
        JobTransition t;

        zero.no_progress_timeout_zero = true;

        const JobState active[] = { JOB_CONNECTING, JOB_TRANSFERRING };
        for (size_t i = 0; i < G_N_ELEMENTS(active); i++) {
                t = expect_ok(active[i], JOB_EVENT_FAIL_TRANSIENT, &c, JOB_TRANSIENT_ERROR);
                g_assert_true(t.actions & JOB_ACTION_ARM_RETRY);
                g_assert_true(t.actions & JOB_ACTION_RECORD_ERROR);
                g_assert_false(t.actions & JOB_ACTION_EMIT_FAILED);

                /* NoProgressTimeout = 0: straight to error. */
                t = expect_ok(active[i], JOB_EVENT_FAIL_TRANSIENT, &zero, JOB_ERROR);
                g_assert_true(t.actions & JOB_ACTION_EMIT_FAILED);

                t = expect_ok(active[i], JOB_EVENT_FAIL_FATAL, &c, JOB_ERROR);
                g_assert_true(t.actions & JOB_ACTION_EMIT_FAILED);
                g_assert_true(t.actions & JOB_ACTION_RECORD_ERROR);
                /* Partial data is kept on failure. */
                g_assert_false(t.actions & JOB_ACTION_UNLINK_TEMPORARIES);
        }
        expect_fail(JOB_SUSPENDED, JOB_EVENT_FAIL_TRANSIENT, &c, -EINVAL);
        expect_fail(JOB_QUEUED, JOB_EVENT_FAIL_FATAL, &c, -EINVAL);

        /* transient-error → queued after the delay, → error without progress. */
        expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_RETRY_DUE, &c, JOB_QUEUED);
        t = expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_NO_PROGRESS, &c, JOB_ERROR);
        g_assert_true(t.actions & JOB_ACTION_EMIT_FAILED);
        expect_fail(JOB_SUSPENDED, JOB_EVENT_RETRY_DUE, &c, -EINVAL);

        /* Auto-complete that cannot rename → error. */
        t = expect_ok(JOB_TRANSFERRED, JOB_EVENT_COMPLETE_FAILED, &c, JOB_ERROR);
        g_assert_true(t.actions & JOB_ACTION_EMIT_FAILED);
}

static void test_recover(void) {
        JobContext c = ctx_download();

        expect_ok(JOB_QUEUED, JOB_EVENT_RECOVER, &c, JOB_QUEUED);
        expect_ok(JOB_CONNECTING, JOB_EVENT_RECOVER, &c, JOB_QUEUED);
        expect_ok(JOB_TRANSFERRING, JOB_EVENT_RECOVER, &c, JOB_QUEUED);
        expect_ok(JOB_SUSPENDED, JOB_EVENT_RECOVER, &c, JOB_SUSPENDED);
        expect_ok(JOB_ERROR, JOB_EVENT_RECOVER, &c, JOB_ERROR);
        expect_ok(JOB_TRANSFERRED, JOB_EVENT_RECOVER, &c, JOB_TRANSFERRED);
        JobTransition t = expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_RECOVER, &c, JOB_TRANSIENT_ERROR);
        g_assert_true(t.actions & JOB_ACTION_ARM_RETRY);
}

/* Only changes a restart would undo need the store. */
static void test_durable_changes(void) {
        g_assert_false(job_state_change_is_durable(JOB_QUEUED, JOB_CONNECTING));
        g_assert_false(job_state_change_is_durable(JOB_CONNECTING, JOB_TRANSFERRING));
        g_assert_false(job_state_change_is_durable(JOB_TRANSFERRING, JOB_QUEUED));
        g_assert_false(job_state_change_is_durable(JOB_SUSPENDED, JOB_SUSPENDED));
        g_assert_true(job_state_change_is_durable(JOB_SUSPENDED, JOB_QUEUED));
        g_assert_true(job_state_change_is_durable(JOB_TRANSFERRING, JOB_TRANSFERRED));
        g_assert_true(job_state_change_is_durable(JOB_TRANSFERRING, JOB_TRANSIENT_ERROR));
        g_assert_true(job_state_change_is_durable(JOB_TRANSIENT_ERROR, JOB_QUEUED));
        g_assert_true(job_state_change_is_durable(JOB_CONNECTING, JOB_CANCELLED));
        g_assert_true(job_state_change_is_durable(JOB_TRANSFERRED, JOB_ACKNOWLEDGED));
        g_assert_true(job_state_change_is_durable(JOB_QUEUED, JOB_SUSPENDED));
}

static void test_bad_input(void) {
        JobContext c = ctx_download();
        JobTransition t;

        g_assert_cmpint(job_transition(_JOB_STATE_MAX, JOB_EVENT_RESUME, &c, &t), ==, -EINVAL);
        g_assert_cmpint(job_transition(JOB_QUEUED, _JOB_EVENT_MAX, &c, &t), ==, -EINVAL);
        g_assert_cmpint(job_transition(JOB_QUEUED, JOB_EVENT_RESUME, NULL, &t), ==, -EINVAL);
}

/* ErrorName/ErrorMessage are empty outside error and transient-error: every transition out of
 * them clears the error, and no other transition does. */
static void test_error_cleared(void) {
        JobContext c = ctx_download();

        for (size_t i = 0; i < G_N_ELEMENTS(non_final); i++)
                for (JobEvent ev = 0; ev < _JOB_EVENT_MAX; ev++) {
                        JobState from = non_final[i];
                        JobTransition t;
                        bool from_error = from == JOB_ERROR || from == JOB_TRANSIENT_ERROR;
                        bool to_error;

                        if (job_transition(from, ev, &c, &t) < 0)
                                continue;
                        to_error = t.state == JOB_ERROR || t.state == JOB_TRANSIENT_ERROR;
                        if (from_error && !to_error && !(t.actions & JOB_ACTION_CLEAR_ERROR))
                                g_error("%s + %s → %s keeps the error", job_state_to_string(from),
                                        job_event_to_string(ev), job_state_to_string(t.state));
                        if (to_error && (t.actions & JOB_ACTION_CLEAR_ERROR))
                                g_error("%s + %s → %s clears the error it reports", job_state_to_string(from),
                                        job_event_to_string(ev), job_state_to_string(t.state));
                }
        /* The ones the contract names. */
        g_assert_true(expect_ok(JOB_ERROR, JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED).actions & JOB_ACTION_CLEAR_ERROR);
        g_assert_true(expect_ok(JOB_ERROR, JOB_EVENT_CANCEL, &c, JOB_CANCELLED).actions & JOB_ACTION_CLEAR_ERROR);
        g_assert_true(expect_ok(JOB_TRANSIENT_ERROR, JOB_EVENT_RETRY_DUE, &c, JOB_QUEUED).actions &
                      JOB_ACTION_CLEAR_ERROR);
        g_assert_false(expect_ok(JOB_SUSPENDED, JOB_EVENT_SUSPEND, &c, JOB_SUSPENDED).actions & JOB_ACTION_CLEAR_ERROR);
}

const TestCase test_cases[] = {
        { "/job/strings", test_strings },
        { "/job/resume", test_resume },
        { "/job/suspend", test_suspend },
        { "/job/cancel", test_cancel },
        { "/job/complete", test_complete },
        { "/job/add-files", test_add_files },
        { "/job/final-is-final", test_final_is_final },
        { "/job/scheduler-path", test_scheduler_path },
        { "/job/failures", test_failures },
        { "/job/recover", test_recover },
        { "/job/durable-changes", test_durable_changes },
        { "/job/bad-input", test_bad_input },
        { "/job/error-cleared", test_error_cleared },
        { NULL, NULL }
};
