/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Job.Cancel, the heart of xferd: from each of the seven non-final states,
 * the reply comes only after every temporary file is gone, so listing the
 * directory right after the reply finds nothing of the job. Then the final
 * job refuses every mutating call, leaves ListJobs and GetJob, announces
 * JobRemoved, and its object still answers State. Also the partial Complete,
 * which shares the "stop, keep what is done, delete the rest" path. The state's
 * PropertiesChanged and JobRemoved arrive before the reply.
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "poll-wait.h"
#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (1024 * 1024 + 123)
#define STALL (256 * 1024)

static XferdEnv *
env_new (const char *path)
{
        return xferd_env_new_serving (NULL, path, SIZE);
}

/* A mutating call on a final job fails with InvalidState. */
static void
assert_invalid_state (BusFixture *fx, const char *job, const char *method, GVariant *params,
                      const GVariantType *reply_type)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (fx, job, method, params, reply_type, &error);

        g_test_message ("%s on a final job", method);
        bus_assert_error (error, XFERD_ERROR ("InvalidState"));
}

static void
assert_final_job_refuses_calls (BusFixture *fx, const char *job, const char *url, const char *dest)
{
        g_autoptr(GError) error = NULL;

        assert_invalid_state (fx, job, "Cancel", NULL, G_VARIANT_TYPE_UNIT);
        assert_invalid_state (fx, job, "Suspend", NULL, G_VARIANT_TYPE_UNIT);
        assert_invalid_state (fx, job, "Resume", NULL, G_VARIANT_TYPE_UNIT);
        assert_invalid_state (fx, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"));
        assert_invalid_state (fx, job, "AddFile", g_variant_new ("(ss)", url, dest), G_VARIANT_TYPE_UNIT);
        assert_invalid_state (fx, job, "AddFiles", g_variant_new_parsed ("([(%s, %s)],)", url, dest),
                              G_VARIANT_TYPE_UNIT);
        /* A property write is a mutation too. */
        bus_set_property (fx, job, XFERD_JOB_IFACE, "DisplayName", g_variant_new_string ("renamed"), &error);
        bus_assert_error (error, XFERD_ERROR ("InvalidState"));
}

/* A temporary file is unlinked while a stopped transfer still holds it open (the name goes
 * at once, its blocks later); xferd closes it soon after the reply. */
static void
assert_closes_files (XferdEnv *env)
{
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);
        pid_t pid = xferd_process_pid (env->fx);

        while (xferd_process_holds (pid, env->dir, TRUE))
                g_assert_true (poll_again (deadline, 10));
}

/* After Cancel returned: nothing of the job on disk, the job is final and
 * gone from the queue, but its object still says "cancelled". */
static void
assert_cancelled_and_gone (XferdEnv *env, const char *job)
{
        const char *id = xferd_job_id (job);

        assert_dir_empty (env->dir);
        assert_closes_files (env);
        assert_job_removed (env->fx, id, "cancelled");
        g_assert_false (xferd_lists_job (env->fx, id));
        xferd_assert_no_such_job (env->fx, id);
        assert_job_string (env->fx, job, "State", "cancelled");
        assert_final_job_refuses_calls (env->fx, job, env->url, env->dest);
        /* Still nothing: the refused calls did not bring anything back. */
        assert_dir_empty (env->dir);
}

static void
cancel (XferdEnv *env, const char *job, const char *expected_state)
{
        g_autofree char *state = job_get_string (env->fx, job, "State");

        /* The point of each test is the state Cancel is called in. */
        g_assert_cmpstr (state, ==, expected_state);
        xferd_job_call (env->fx, job, "Cancel");
        assert_cancelled_and_gone (env, job);
}

static void
test_cancel_suspended_new (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");
        g_autofree char *job = xferd_create_job (env->fx, "new", NULL);

        xferd_add_file (env->fx, job, env->url, env->dest);
        cancel (env, job, "suspended");
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 0);
}

/* Suspended with partial data on disk: Cancel deletes it. */
static void
test_cancel_suspended_partial (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");

        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, NULL);
        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        g_assert_true (g_file_test (temp, G_FILE_TEST_EXISTS));
        cancel (env, job, "suspended");
}

/* What the client's connection received while armed, in order: P a PropertiesChanged of the
 * job, J JobRemoved, R a method return. Recorded in GDBus's worker thread, as they arrive. */
typedef struct Arrivals {
        GMutex lock;
        gboolean armed;
        const char *job;
        GString *seen;
} Arrivals;

static GDBusMessage *
record_arrival (GDBusConnection *conn, GDBusMessage *m, gboolean incoming, gpointer data)
{
        Arrivals *a = data;
        char c = 0;

        (void) conn;
        if (!incoming)
                return m;
        if (g_dbus_message_get_message_type (m) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN)
                c = 'R';
        else if (g_dbus_message_get_message_type (m) == G_DBUS_MESSAGE_TYPE_SIGNAL) {
                if (g_strcmp0 (g_dbus_message_get_member (m), "JobRemoved") == 0)
                        c = 'J';
                else if (g_strcmp0 (g_dbus_message_get_member (m), "PropertiesChanged") == 0 &&
                         g_strcmp0 (g_dbus_message_get_path (m), a->job) == 0)
                        c = 'P';
        }
        g_mutex_lock (&a->lock);
        if (a->armed && c)
                g_string_append_c (a->seen, c);
        g_mutex_unlock (&a->lock);
        return m;
}

static void
arrivals_free (gpointer data)
{
        Arrivals *a = data;

        g_string_free (a->seen, TRUE);
        g_mutex_clear (&a->lock);
        g_free (a);
}

/* The job's state change and JobRemoved reach the caller before Cancel's reply (they go out
 * in one write with it when the bus socket has room, else one by one, in that order). */
static void
test_cancel_told_before_reply (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");
        Arrivals *a = g_new0 (Arrivals, 1);
        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, NULL);
        g_autofree char *seen = NULL;
        const char *p, *j, *r;
        guint filter;

        g_mutex_init (&a->lock);
        a->seen = g_string_new (NULL);
        a->job = job;
        /* GDBus frees a once no filter call uses it any more. */
        filter = g_dbus_connection_add_filter (env->fx->conn, record_arrival, a, arrivals_free);
        g_mutex_lock (&a->lock);
        a->armed = TRUE;
        g_mutex_unlock (&a->lock);
        xferd_job_call (env->fx, job, "Cancel");
        g_mutex_lock (&a->lock);
        a->armed = FALSE;
        seen = g_strdup (a->seen->str);
        g_mutex_unlock (&a->lock);
        g_dbus_connection_remove_filter (env->fx->conn, filter);

        g_test_message ("arrived: %s", seen);
        p = strchr (seen, 'P');
        j = strchr (seen, 'J');
        r = strchr (seen, 'R');
        g_assert_nonnull (p);
        g_assert_nonnull (j);
        g_assert_nonnull (r);
        g_assert_true (p < j && j < r);
        assert_cancelled_and_gone (env, job);
}

/* queued: a second job waits while the only transfer slot is busy. */
static void
test_cancel_queued (void)
{
        g_autoptr(XferdEnv) env = env_new ("/busy.bin");
        g_autoptr(GBytes) other = http_server_add_generated (env->http, "/queued.bin", SIZE);
        g_autofree char *other_url = http_server_url (env->http, "/queued.bin");
        g_autofree char *busy_dir = bus_fixture_mkdir (env->fx, "busy");
        g_autofree char *busy_dest = g_build_filename (busy_dir, "busy.bin", NULL);

        if (geteuid () != 0) {
                g_test_skip ("MaxBackgroundTransfers can only be set by root");
                return;
        }
        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (1));

        http_server_stall_after (env->http, "/busy.bin", STALL);
        g_autofree char *busy = xferd_download (env->fx, env->url, busy_dest, FALSE, NULL);
        g_autofree char *busy_temp = xferd_wait_temp (env->fx, busy, 0, STALL);

        g_free (env->url);
        env->url = g_strdup (other_url);
        g_autofree char *job = xferd_download (env->fx, other_url, env->dest, FALSE, NULL);
        cancel (env, job, "queued");
        g_assert_cmpuint (http_server_request_count (env->http, "/queued.bin"), ==, 0);

        /* The busy job was not disturbed. */
        assert_job_string (env->fx, busy, "State", "transferring");
}

/* connecting: the server read the request and never answers. */
static void
test_cancel_connecting (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");

        http_server_hang (env->http, "/file.bin", HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        g_assert_true (http_server_wait_requests (env->http, "/file.bin", 1, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, job, "connecting");
        cancel (env, job, "connecting");
}

/* transferring: the server stalls mid-body; the temporary file holds the
 * bytes sent so far when Cancel is called. */
static void
test_cancel_transferring (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");

        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, NULL);
        cancel (env, job, "transferring");
}

/* transient-error: 503 and a retry delay far beyond the test. */
static void
test_cancel_transient_error (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");

        http_server_fail (env->http, "/file.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_start_job (env->fx, "transient", env->url, env->dest, 600);
        job_wait_state (env->fx, job, "transient-error");
        cancel (env, job, "transient-error");
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);
}

/* error: 404. */
static void
test_cancel_error (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");

        http_server_fail (env->http, "/file.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "error");
        cancel (env, job, "error");
}

/* transferred but not completed: the whole temporary file is deleted. */
static void
test_cancel_transferred (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (g_file_test (temp, G_FILE_TEST_IS_REGULAR));
        cancel (env, job, "transferred");
}

/* An acknowledged job refuses every mutating call too. */
static void
test_acknowledged_refuses_calls (void)
{
        g_autoptr(XferdEnv) env = env_new ("/file.bin");
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);

        job_wait_state (env->fx, job, "transferred");
        g_assert_false (xferd_complete (env->fx, job));
        assert_job_removed (env->fx, id, "acknowledged");
        assert_final_job_refuses_calls (env->fx, job, env->url, env->dest);
        assert_dest_complete (env);
        xferd_assert_no_such_job (env->fx, id);
        g_assert_false (xferd_lists_job (env->fx, id));
}

/* Complete with the first file done and the second still running: the first
 * is kept, the second (partial) deleted, partial = true. */
static void
test_complete_partial (void)
{
        g_autoptr(XferdEnv) env = env_new ("/first.bin");
        g_autoptr(GBytes) second = http_server_add_generated (env->http, "/second.bin", SIZE);
        g_autofree char *second_url = http_server_url (env->http, "/second.bin");
        g_autofree char *second_dest = xferd_env_path (env, "second.bin");
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "partial", &id);
        g_autoptr(GError) error = NULL;

        http_server_stall_after (env->http, "/second.bin", STALL);
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFiles",
                                                  g_variant_new_parsed ("([(%s, %s), (%s, %s)],)",
                                                                        env->url, env->dest,
                                                                        second_url, second_dest),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        xferd_job_call (env->fx, job, "Resume");
        g_autofree char *second_temp = xferd_wait_temp (env->fx, job, 1, STALL);
        job_wait_state (env->fx, job, "transferring");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);

        g_assert_true (xferd_complete (env->fx, job));
        assert_dest_complete (env);
        assert_job_string (env->fx, job, "State", "acknowledged");
        assert_job_removed (env->fx, id, "acknowledged");
}

/* xferd's log read, each transfer's teardown held 3 s after it is let go
 * (XFERD_TEST_TEARDOWN_DELAY), /file.bin served with size bytes. */
static XferdEnv *
env_new_teardown_delayed (gsize size)
{
        XferdEnv *env = xferd_env_new_logged (NULL);

        xferd_process_setenv (env->fx, "XFERD_TEST_TEARDOWN_DELAY", "3");
        xferd_env_serve (env, "/file.bin", size);
        return env;
}

/* The transfer's teardown (its handle out of curl, the connection closed) comes after the
 * reply; XFERD_TEST_TEARDOWN_DELAY holds it for seconds while the server goes on sending. The
 * Cancel is final at the reply all the same: curl's callbacks end the request without writing
 * or counting a byte, nothing comes back on disk, a second Cancel is refused; killed in that
 * window, the next start finds the job cancelled and downloads nothing. */
static void
test_cancel_before_teardown (gconstpointer data)
{
        gboolean killed = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = env_new_teardown_delayed (8 * SIZE);
        g_autofree char *id = NULL;

        http_server_set_rate (env->http, "/file.bin", 256 * 1024);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, 1);
        job_wait_state (env->fx, job, "transferring");

        xferd_job_call (env->fx, job, "Cancel");
        assert_dir_empty (env->dir);
        g_assert_cmpuint (xferd_log_count (env->log, "Test delay: a stopped request is released in"), ==, 1);
        guint64 counted = job_get_uint64 (env->fx, job, "BytesTransferred");
        /* More bytes come meanwhile: curl hands them to the stopped transfer, which refuses them. */
        guint64 sent = http_server_body_bytes (env->http, "/file.bin");
        g_assert_true (http_server_wait_body_bytes (env->http, "/file.bin", sent + 64 * 1024, WAIT_TIMEOUT_MS));
        if (killed) {
                xferd_process_kill (env->fx);
                xferd_process_setenv (env->fx, "XFERD_TEST_TEARDOWN_DELAY", "");
                xferd_process_start (env->fx);
                xferd_assert_no_such_job (env->fx, id);
        } else {
                g_assert_true (xferd_log_wait (env->log, "Test delay: 1 stopped requests released", 1, WAIT_TIMEOUT_MS));
                g_assert_cmpuint (xferd_log_count (env->log, "A stopped transfer refused"), ==, 1);
                g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, counted);
        }
        assert_dir_empty (env->dir);
        assert_job_string (env->fx, job, "State", "cancelled");
        xferd_job_call_refused (env->fx, job, "Cancel", XFERD_ERROR ("InvalidState"));
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);
        assert_dir_empty (env->dir);
}

/* Before a response the request is let go at once, whatever the delay: curl would go on
 * connecting and sending it (with the job's headers) after the reply otherwise. */
static void
test_cancel_before_response (gconstpointer data)
{
        gboolean redirected = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = env_new_teardown_delayed (SIZE);
        g_autofree char *url = NULL;

        http_server_hang (env->http, "/file.bin", HTTP_SERVER_FOREVER);
        /* Or the request after a redirect: the job has had a response, this request none. */
        if (redirected)
                http_server_redirect (env->http, "/moved.bin", 302, "/file.bin");
        url = redirected ? http_server_url (env->http, "/moved.bin") : g_strdup (env->url);
        g_autofree char *job = xferd_download (env->fx, url, env->dest, FALSE, NULL);
        g_assert_true (http_server_wait_requests (env->http, "/file.bin", 1, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, job, redirected ? "transferring" : "connecting");
        cancel (env, job, redirected ? "transferring" : "connecting");
        g_assert_cmpuint (xferd_log_count (env->log, "Test delay: a stopped request is released in"), ==, 0);
}

const TestCase test_cases[] = {
        { "/cancel/queued", test_cancel_queued },
        { "/cancel/connecting", test_cancel_connecting },
        { "/cancel/transferring", test_cancel_transferring },
        { "/cancel/told-before-reply", test_cancel_told_before_reply },
        { "/cancel/suspended", test_cancel_suspended_new },
        { "/cancel/suspended-with-partial-data", test_cancel_suspended_partial },
        { "/cancel/transient-error", test_cancel_transient_error },
        { "/cancel/error", test_cancel_error },
        { "/cancel/transferred", test_cancel_transferred },
        { "/cancel/acknowledged-refuses-calls", test_acknowledged_refuses_calls },
        { "/cancel/complete-partial", test_complete_partial },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/cancel/before-teardown", test_cancel_before_teardown, GINT_TO_POINTER (FALSE) },
        { "/cancel/before-teardown/killed", test_cancel_before_teardown, GINT_TO_POINTER (TRUE) },
        { "/cancel/before-teardown/connecting", test_cancel_before_response, GINT_TO_POINTER (FALSE) },
        { "/cancel/before-teardown/redirected", test_cancel_before_response, GINT_TO_POINTER (TRUE) },
        { NULL, NULL, NULL }
};
