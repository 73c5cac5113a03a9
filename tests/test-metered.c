/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Metered networks and captive portals (issue 14), end to end: the real xferd
 * on a private system-type bus on which NetworkManager is python3-dbusmock's
 * networkmanager template (nm-mock.h). A job's CostPolicy, its WaitReason,
 * and what NetworkManager's Metered and Connectivity do to it: waiting
 * before a start, stopping within a second mid-transfer with the partial
 * data kept and resumed by Range, captive portals that neither start an
 * attempt nor count a failure, NetworkManager coming and going, and an idle
 * daemon that NetworkManager's news does not wake.
 *
 * Needs root (xferd runs as the system service of a system-type bus) and
 * Debian's python3-dbusmock; skips without them unless CI=true.
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "nm-mock.h"
#include "test-cases.h"
#include "xferd-env.h"
#include "xferd-process.h"

#define SIZE (512 * 1024 + 77)
#define STALL (128 * 1024)
/* The bound for starting or stopping after NetworkManager's news. */
#define WITHIN_MS 1000

static gboolean
skip_unless_ready (void)
{
        if (geteuid () != 0) {
                if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
                        g_error ("the metered tests need root (xferd as a system service)");
                g_test_skip ("needs root: xferd runs as the system service of a test bus");
                return TRUE;
        }
        return nm_mock_skip_if_missing ();
}

static XferdEnv *
env_new (const char *config, const char *const *extra_args)
{
        BusFixtureOptions o = {
                .system_bus = TRUE,
                .extra_bus_policy = nm_mock_bus_policy,
                .config = config,
                .extra_args = extra_args,
        };

        return xferd_env_new (&o);
}

/* CreateJob with these options (NULL: not given), one file, Resume. */
static char *
start_job (XferdEnv *env, const char *path, const char *cost_policy, const char *priority, char **dest)
{
        g_autofree char *url = http_server_url (env->http, path);
        char *job = xferd_create_job_with (env->fx, path + 1, NULL, "cost-policy", cost_policy, "priority", priority,
                                           NULL);

        *dest = xferd_env_path (env, path + 1);
        xferd_add_file (env->fx, job, url, *dest);
        xferd_job_call (env->fx, job, "Resume");
        return job;
}

static gboolean
wait_string (XferdEnv *env, const char *path, const char *iface, const char *name, const char *value,
             guint timeout_ms)
{
        return bus_wait_property (env->fx, path, iface, name, g_variant_new_string (value), timeout_ms);
}

static char *
manager_string (XferdEnv *env, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = bus_get_property (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, name, &error);

        g_assert_no_error (error);
        return g_variant_dup_string (v, NULL);
}

#define assert_manager_string(env, name, value) G_STMT_START {                          \
        g_autofree char *got__ = manager_string ((env), (name));                        \
        g_assert_cmpstr (got__, ==, (value));                                           \
} G_STMT_END

/* The job finishes with the generated content, completes, and the file is byte-exact. */
static void
finish (XferdEnv *env, const char *job, const char *dest, GBytes *content)
{
        job_wait_state (env->fx, job, "transferred");
        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (dest, content);
}

/* Waits until the job's transfer stalls after STALL bytes (http_server_stall_after()) and its
 * temporary file holds them; returns that file's path. */
static char *
wait_stalled (XferdEnv *env, const char *job, const char *path)
{
        g_autofree char *temp = NULL;

        g_assert_true (http_server_wait_stalled (env->http, path, 1, WAIT_TIMEOUT_MS));
        temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));
        return g_steal_pointer (&temp);
}

/* Metered before the start: the unmetered job (the default of a background job) waits without
 * a request; an `always` job and a foreground job (always by default) run. */
static void
test_before_start (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) a = http_server_add_generated (env->http, "/a.bin", SIZE);
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/b.bin", SIZE);
        g_autoptr(GBytes) c = http_server_add_generated (env->http, "/c.bin", SIZE);
        g_autofree char *a_dest = NULL, *b_dest = NULL, *c_dest = NULL;

        g_autofree char *waiting = start_job (env, "/a.bin", NULL, NULL, &a_dest);
        g_autofree char *always = start_job (env, "/b.bin", "always", NULL, &b_dest);
        g_autofree char *foreground = start_job (env, "/c.bin", NULL, "foreground", &c_dest);

        assert_job_string (env->fx, waiting, "CostPolicy", "unmetered");
        assert_job_string (env->fx, always, "CostPolicy", "always");
        assert_job_string (env->fx, foreground, "CostPolicy", "always");
        g_assert_true (wait_string (env, waiting, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));
        finish (env, always, b_dest, b);
        finish (env, foreground, c_dest, c);

        /* Both ran through scheduler passes meanwhile; the waiting job never asked. */
        assert_job_string (env->fx, waiting, "State", "queued");
        assert_job_string (env->fx, waiting, "WaitReason", "metered-network");
        g_assert_cmpuint (http_server_request_count (env->http, "/a.bin"), ==, 0);
        assert_manager_string (env, "NetworkSource", "networkmanager");
        assert_manager_string (env, "NetworkMetered", "yes");
        assert_manager_string (env, "NetworkConnectivity", "full");
        assert_manager_string (env, "DefaultCostPolicy", "unmetered");
        g_autofree char *log = bus_fixture_wait_xferd_log (env->fx, "Waits for an unmetered network", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
        xferd_job_call (env->fx, waiting, "Cancel");
}

/* YES → NO while the job waits: it starts within a second. */
static void
test_yes_to_no (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;
        g_autofree char *job = start_job (env, "/f.bin", "unmetered", NULL, &dest);

        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));
        nm_mock_set_metered (nm, NM_METERED_NO);
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 1, WITHIN_MS));
        finish (env, job, dest, content);
        assert_job_string (env->fx, job, "WaitReason", "");
}

/* NO → YES mid-transfer: stopped within a second, the partial data kept; NO again: resumed
 * with Range, byte-exact. */
static void
test_stop_mid_transfer (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", NULL, NULL, &dest);
        g_autofree char *temp = wait_stalled (env, job, "/f.bin");
        assert_job_string (env->fx, job, "State", "transferring");

        nm_mock_set_metered (nm, NM_METERED_YES);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "State", "queued", WITHIN_MS));
        assert_job_string (env->fx, job, "WaitReason", "metered-network");
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, STALL);
        g_assert_true (g_file_test (temp, G_FILE_TEST_IS_REGULAR));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 0);

        http_server_release (env->http, "/f.bin");
        nm_mock_set_metered (nm, NM_METERED_NO);
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 2, WITHIN_MS));
        finish (env, job, dest, content);
        assert_last_range (env->http, "/f.bin", STALL);
        g_assert_cmpuint (http_server_request_count (env->http, "/f.bin"), ==, 2);
}

/* NetworkManager's guesses count: GUESS_YES as YES, GUESS_NO as NO. */
static void
test_guess (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_GUESS_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) a = http_server_add_generated (env->http, "/a.bin", SIZE);
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/b.bin", SIZE);
        g_autofree char *a_dest = NULL, *b_dest = NULL;

        g_autofree char *waiting = start_job (env, "/a.bin", "unmetered", NULL, &a_dest);
        g_autofree char *always = start_job (env, "/b.bin", "always", NULL, &b_dest);
        g_assert_true (wait_string (env, waiting, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));
        finish (env, always, b_dest, b);
        g_assert_cmpuint (http_server_request_count (env->http, "/a.bin"), ==, 0);
        assert_manager_string (env, "NetworkMetered", "guess-yes");

        nm_mock_set_metered (nm, NM_METERED_GUESS_NO);
        g_assert_true (http_server_wait_requests (env->http, "/a.bin", 1, WITHIN_MS));
        finish (env, waiting, a_dest, a);
}

/* Behind a captive portal (and with limited or no connectivity) no job starts an attempt and
 * none counts a failure; at FULL they start at once. */
static void
test_portal (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_NO, NM_CONNECTIVITY_PORTAL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;
        g_autofree char *job = start_job (env, "/f.bin", "always", "foreground", &dest);

        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "captive-portal", WAIT_TIMEOUT_MS));
        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_LIMITED);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "no-network", WAIT_TIMEOUT_MS));
        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_NONE);
        g_assert_true (wait_string (env, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "NetworkConnectivity", "none",
                                    WAIT_TIMEOUT_MS));
        assert_job_string (env->fx, job, "WaitReason", "no-network");
        assert_job_string (env->fx, job, "State", "queued");
        g_assert_cmpuint (http_server_request_count (env->http, "/f.bin"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 0);

        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_FULL);
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 1, WITHIN_MS));
        finish (env, job, dest, content);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 0);
}

/* An attempt that fails while connectivity is not full counts nothing and does not wait out
 * the retry delay (600 s): the job waits for the network, then goes on at once with Range. */
static void
test_failure_not_full (void)
{
        static const char *const args[] = { "--stall-timeout=2", NULL };

        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, args);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", NULL, NULL, &dest);
        g_autofree char *temp = wait_stalled (env, job, "/f.bin");

        /* Connectivity goes; the running transfer is left to end by itself: stalled, it fails
         * after --stall-timeout. */
        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_LIMITED);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "no-network", WAIT_TIMEOUT_MS));
        assert_job_string (env->fx, job, "State", "queued");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 0);
        assert_job_string (env->fx, job, "ErrorName", "");
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, STALL);
        g_autoptr(GPtrArray) states = job_state_history (env->fx, job);
        for (guint i = 0; i < states->len; i++)
                g_assert_cmpstr (g_ptr_array_index (states, i), !=, "transient-error");

        http_server_release (env->http, "/f.bin");
        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_FULL);
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 2, WITHIN_MS));
        finish (env, job, dest, content);
        assert_last_range (env->http, "/f.bin", STALL);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 0);
}

/* A job that failed for the network while connectivity looked full waits out its retry
 * delay (600 s); when NetworkManager reports connectivity again it tries at once. */
static void
test_full_again_retries (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        /* A port nobody listens on, for now: the connection is refused ("Network"). */
        HttpServer *gone = http_server_new ();
        guint16 port = http_server_get_port (gone);
        g_autofree char *url = http_server_url (gone, "/f.bin");
        g_autofree char *dest = xferd_env_path (env, "f.bin");
        g_autofree char *job = xferd_create_job (env->fx, "f", NULL);

        http_server_free (gone);
        job_set (env->fx, job, "CostPolicy", g_variant_new_string ("always"));
        xferd_add_file (env->fx, job, url, dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transient-error");
        assert_job_string (env->fx, job, "WaitReason", "no-network");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 1);

        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_NONE);
        g_assert_true (wait_string (env, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "NetworkConnectivity", "none",
                                    WAIT_TIMEOUT_MS));
        g_autoptr(GError) error = NULL;
        g_autoptr(HttpServer) back = http_server_new_on_port (port, &error);
        g_assert_no_error (error);
        g_autoptr(GBytes) content = http_server_add_generated (back, "/f.bin", SIZE);

        nm_mock_set_connectivity (nm, NM_CONNECTIVITY_FULL);
        g_assert_true (http_server_wait_requests (back, "/f.bin", 1, WITHIN_MS));
        finish (env, job, dest, content);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), ==, 1);
}

/* No NetworkManager: unmetered, connectivity unknown, said once in the log however often the
 * daemon looks; then NetworkManager appears, metered, and the running unmetered job stops. */
static void
test_nm_appears (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(GBytes) first = http_server_add_generated (env->http, "/first.bin", SIZE);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *first_dest = NULL, *dest = NULL;

        /* One job from start to end: the daemon looks, finds nothing, and stops looking. */
        g_autofree char *before = start_job (env, "/first.bin", "unmetered", NULL, &first_dest);
        finish (env, before, first_dest, first);

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", "unmetered", NULL, &dest);
        g_free (wait_stalled (env, job, "/f.bin"));
        assert_manager_string (env, "NetworkSource", "absent");
        assert_manager_string (env, "NetworkMetered", "unknown");
        g_autofree char *log = bus_fixture_xferd_log (env->fx);
        const char *said = "NetworkManager is not on the system bus: the network counts as unmetered";
        const char *first_said = strstr (log, said);
        g_assert_nonnull (first_said);
        g_assert_null (strstr (first_said + 1, said));

        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "State", "queued", WITHIN_MS));
        assert_job_string (env->fx, job, "WaitReason", "metered-network");
        assert_manager_string (env, "NetworkSource", "networkmanager");

        http_server_release (env->http, "/f.bin");
        nm_mock_set_metered (nm, NM_METERED_NO);
        finish (env, job, dest, content);
        assert_last_range (env->http, "/f.bin", STALL);
}

/* NetworkManager leaves while the network is metered: back to the rule without it. */
static void
test_nm_disappears (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", "unmetered", NULL, &dest);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));
        nm_mock_stop (nm);
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 1, WITHIN_MS));
        g_free (wait_stalled (env, job, "/f.bin"));
        assert_manager_string (env, "NetworkSource", "absent");
        assert_manager_string (env, "NetworkConnectivity", "unknown");
        http_server_release (env->http, "/f.bin");
        finish (env, job, dest, content);
        /* Nothing busy: nothing watched. */
        assert_manager_string (env, "NetworkSource", "not-watching");
        g_autofree char *log = bus_fixture_wait_xferd_log (env->fx, "NetworkManager left the system bus",
                                                           WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
}

/* CostPolicy of a waiting job changes: always starts it at once, unmetered again stops it. Bad
 * values are InvalidArgs, from the property and from both methods' options. */
static void
test_change_policy (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autoptr(GError) error = NULL;
        g_autofree char *dest = NULL;

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", NULL, NULL, &dest);
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));

        bus_set_property (env->fx, job, XFERD_JOB_IFACE, "CostPolicy", g_variant_new_string ("sometimes"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_assert_nonnull (strstr (error->message, "always or unmetered"));
        g_clear_error (&error);
        assert_job_string (env->fx, job, "CostPolicy", "unmetered");

        job_set (env->fx, job, "CostPolicy", g_variant_new_string ("always"));
        g_assert_true (http_server_wait_requests (env->http, "/f.bin", 1, WITHIN_MS));
        g_free (wait_stalled (env, job, "/f.bin"));

        job_set (env->fx, job, "CostPolicy", g_variant_new_string ("unmetered"));
        g_assert_true (wait_string (env, job, XFERD_JOB_IFACE, "State", "queued", WITHIN_MS));
        assert_job_string (env->fx, job, "WaitReason", "metered-network");

        g_autoptr(GVariant) created = bus_call_manager (env->fx, "CreateJob",
                                                        g_variant_new_parsed ("('x', {'cost-policy': <'cheap'>})"),
                                                        G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_clear_error (&error);
        g_autofree char *url = http_server_url (env->http, "/f.bin");
        g_autofree char *other = xferd_env_path (env, "other.bin");
        g_autoptr(GVariant) downloaded = bus_call_manager (env->fx, "Download",
                                                           g_variant_new_parsed (
                                                                   "(%s, %s, {'cost-policy': <'Always'>})", url, other),
                                                           G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));

        http_server_release (env->http, "/f.bin");
        nm_mock_set_metered (nm, NM_METERED_NO);
        finish (env, job, dest, content);
        assert_last_range (env->http, "/f.bin", STALL);
}

/* DefaultCostPolicy=always in xferd.conf: background jobs transfer on a metered network too;
 * a job's policy survives a restart of the daemon. */
static void
test_default_policy (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new ("[Daemon]\nDefaultCostPolicy=always\n", NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;
        g_autofree char *job = start_job (env, "/f.bin", NULL, "low", &dest);

        assert_manager_string (env, "DefaultCostPolicy", "always");
        assert_job_string (env->fx, job, "CostPolicy", "always");
        finish (env, job, dest, content);

        g_autofree char *kept = xferd_create_job (env->fx, "kept", NULL);
        job_set (env->fx, kept, "CostPolicy", g_variant_new_string ("unmetered"));
        xferd_process_kill (env->fx);
        assert_job_string (env->fx, kept, "CostPolicy", "unmetered");
        g_autofree char *other = xferd_create_job (env->fx, "other", NULL);
        assert_job_string (env->fx, other, "CostPolicy", "always");
}

/* A DefaultCostPolicy= xferd does not know stops it with a message that says what would do. */
static void
test_bad_default (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new ("DefaultCostPolicy=cheap\n", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "ListJobs", g_variant_new ("(b)", FALSE),
                                                      G_VARIANT_TYPE ("(a(ssssutto))"), &error);

        g_assert_null (reply);
        g_assert_nonnull (error);
        g_autofree char *log = bus_fixture_wait_xferd_log (env->fx, "DefaultCostPolicy (always or unmetered)",
                                                           WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
}

/* --user reads the system bus too: a session bus for xferd, NetworkManager on another bus that
 * xferd finds through DBUS_SYSTEM_BUS_ADDRESS. */
static void
test_user_instance (void)
{
        if (nm_mock_skip_if_missing ())
                return;
        g_autoptr(BusFixture) system = bus_fixture_new (NULL);
        BusFixtureOptions o = { .system_bus_address = system->address };
        g_autoptr(XferdEnv) env = xferd_env_new (&o);
        g_autoptr(NmMock) nm = nm_mock_start (system, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) a = http_server_add_generated (env->http, "/a.bin", SIZE);
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/b.bin", SIZE);
        g_autofree char *a_dest = NULL, *b_dest = NULL;

        g_autofree char *waiting = start_job (env, "/a.bin", NULL, NULL, &a_dest);
        g_autofree char *always = start_job (env, "/b.bin", "always", NULL, &b_dest);
        g_assert_true (wait_string (env, waiting, XFERD_JOB_IFACE, "WaitReason", "metered-network", WAIT_TIMEOUT_MS));
        finish (env, always, b_dest, b);
        g_assert_cmpuint (http_server_request_count (env->http, "/a.bin"), ==, 0);

        nm_mock_set_metered (nm, NM_METERED_NO);
        g_assert_true (http_server_wait_requests (env->http, "/a.bin", 1, WITHIN_MS));
        finish (env, waiting, a_dest, a);
}

/* ---- xferctl ----------------------------------------------------------------------------- */

/* Runs xferctl --system ARGS… (NULL-terminated) on the test bus; returns its exit status. */
static int
xferctl (XferdEnv *env, char **out, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        const char *arg;
        va_list ap;

        g_ptr_array_add (argv, (gpointer) g_getenv ("XFERCTL_BINARY"));
        g_ptr_array_add (argv, (gpointer) "--system");
        va_start (ap, out);
        while ((arg = va_arg (ap, const char *)))
                g_ptr_array_add (argv, (gpointer) arg);
        va_end (ap);
        g_ptr_array_add (argv, NULL);
        return bus_fixture_run (env->fx, (const char *const *) argv->pdata, out, NULL);
}

typedef struct {
        char *line;             /* "" at the end of the stream */
        gboolean done;
} LineRead;

static void
on_line (GObject *source, GAsyncResult *result, gpointer data)
{
        LineRead *r = data;
        g_autoptr(GError) error = NULL;

        r->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
        g_assert_no_error (error);
        if (!r->line)
                r->line = g_strdup ("");
        r->done = TRUE;
}

/* Reads lines (the loop keeps running) until one contains needle; FALSE at the end of the
 * stream or after timeout_ms. */
static gboolean
wait_line (BusFixture *fx, GDataInputStream *in, const char *needle, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        for (;;) {
                LineRead *r = g_new0 (LineRead, 1);
                gint64 left = deadline - g_get_monotonic_time ();

                g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_line, r);
                /* A read still pending when the time is over keeps r: it ends with the stream. */
                if (!bus_fixture_run_until (fx, &r->done, left > 0 ? (guint) (left / 1000) : 0))
                        return FALSE;
                g_autofree char *line = g_steal_pointer (&r->line);
                g_free (r);
                g_test_message ("xferctl: %s", line);
                if (!*line || strstr (line, needle))
                        return *line != '\0';
        }
}

/* --cost-policy on create and download, the wait reason in the progress line, list and info,
 * and `xferctl status` saying what xferd believes about the network and why. */
static void
test_xferctl (void)
{
        if (skip_unless_ready ())
                return;
        if (!g_getenv ("XFERCTL_BINARY")) {
                g_test_skip ("XFERCTL_BINARY is not set");
                return;
        }
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *url = http_server_url (env->http, "/f.bin");
        g_autofree char *dest = xferd_env_path (env, "f.bin");
        g_autofree char *out = NULL;

        g_assert_cmpint (xferctl (env, &out, "status", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "Network:                not watched"));
        g_assert_nonnull (strstr (out, "DefaultCostPolicy:      unmetered"));
        g_clear_pointer (&out, g_free);

        g_assert_cmpint (xferctl (env, NULL, "--cost-policy=sometimes", "create", "x", NULL), ==, 2);
        g_assert_cmpint (xferctl (env, &out, "--cost-policy=always", "create", "mine", NULL), ==, 0);
        g_strstrip (out);
        g_autofree char *created = g_strdup_printf (XFERD_JOB_PATH_PREFIX "%s", out);
        g_clear_pointer (&out, g_free);
        assert_job_string (env->fx, created, "CostPolicy", "always");
        g_assert_cmpint (xferctl (env, NULL, "set", xferd_job_id (created), "CostPolicy", "unmetered", NULL), ==, 0);
        assert_job_string (env->fx, created, "CostPolicy", "unmetered");

        /* A download (foreground, so `always` unless told) asked to wait for an unmetered
         * network waits, and says why. */
        const char *argv[] = { g_getenv ("XFERCTL_BINARY"), "--system", "download", "--cost-policy=unmetered",
                               url, dest, NULL };
        g_autoptr(GSubprocess) download = bus_fixture_spawn (env->fx, argv);
        g_autoptr(GDataInputStream) progress = g_data_input_stream_new (g_subprocess_get_stderr_pipe (download));
        g_assert_true (wait_line (env->fx, progress, "waiting for an unmetered network", WAIT_TIMEOUT_MS));

        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_autofree char *job = NULL;
        for (gsize i = 0; i < g_variant_n_children (jobs); i++) {
                const char *path;

                g_variant_get_child (jobs, i, "(&s&s&s&sutt&o)", NULL, NULL, NULL, NULL, NULL, NULL, NULL, &path);
                if (g_strcmp0 (path, created) != 0)
                        job = g_strdup (path);
        }
        g_assert_nonnull (job);
        g_assert_cmpint (xferctl (env, &out, "list", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "metered-network"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (xferctl (env, &out, "--json", "list", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "\"WaitReason\": \"metered-network\""));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (xferctl (env, &out, "info", xferd_job_id (job), NULL), ==, 0);
        g_assert_nonnull (strstr (out, "metered-network"));
        g_assert_nonnull (strstr (out, "CostPolicy"));
        g_assert_nonnull (strstr (out, "unmetered"));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (xferctl (env, &out, "status", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "Network:                metered, full connectivity"));
        g_assert_nonnull (strstr (out, "NetworkManager says Metered=yes, Connectivity=full."));
        g_clear_pointer (&out, g_free);
        g_assert_cmpint (xferctl (env, &out, "--json", "status", NULL), ==, 0);
        g_assert_nonnull (strstr (out, "\"NetworkSource\": \"networkmanager\""));
        g_clear_pointer (&out, g_free);

        nm_mock_set_metered (nm, NM_METERED_NO);
        g_autoptr(GError) error = NULL;
        g_assert_true (g_subprocess_wait (download, NULL, &error));
        g_assert_no_error (error);
        g_assert_true (g_subprocess_get_if_exited (download));
        g_assert_cmpint (g_subprocess_get_exit_status (download), ==, 0);
        assert_file_content (dest, content);
        xferd_job_call (env->fx, created, "Cancel");
}

/* ---- wake-ups of an idle daemon ---------------------------------------------------------- */

/* Context switches a process made when it went to sleep and was woken (voluntary), summed
 * over its threads: each wake-up of its event loop is one. */
static guint64
voluntary_switches (pid_t pid)
{
        g_autofree char *dir = g_strdup_printf ("/proc/%d/task", (int) pid);
        g_autoptr(GDir) tasks = g_dir_open (dir, 0, NULL);
        const char *task;
        guint64 sum = 0;

        g_assert_nonnull (tasks);
        while ((task = g_dir_read_name (tasks))) {
                g_autofree char *path = g_build_filename (dir, task, "status", NULL);
                g_autofree char *status = NULL;
                const char *line;

                if (!g_file_get_contents (path, &status, NULL, NULL))
                        continue;  /* a thread that just ended */
                line = strstr (status, "\nvoluntary_ctxt_switches:");
                g_assert_nonnull (line);
                sum += g_ascii_strtoull (line + strlen ("\nvoluntary_ctxt_switches:"), NULL, 10);
        }
        return sum;
}

/* Whether every thread of pid sleeps (in its event loop's epoll_wait, for xferd): from then on
 * the count above moves only when something wakes it. */
static gboolean
all_threads_asleep (pid_t pid)
{
        g_autofree char *dir = g_strdup_printf ("/proc/%d/task", (int) pid);
        g_autoptr(GDir) tasks = g_dir_open (dir, 0, NULL);
        const char *task;

        g_assert_nonnull (tasks);
        while ((task = g_dir_read_name (tasks))) {
                g_autofree char *path = g_build_filename (dir, task, "stat", NULL);
                g_autofree char *stat = NULL;
                const char *end;

                if (!g_file_get_contents (path, &stat, NULL, NULL))
                        continue;
                /* "tid (comm) S ...": the state follows the last parenthesis. */
                end = strrchr (stat, ')');
                if (!end || end[1] != ' ' || end[2] != 'S')
                        return FALSE;
        }
        return TRUE;
}

static void
wait_asleep (pid_t pid)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) WAIT_TIMEOUT_MS * 1000;

        while (!all_threads_asleep (pid)) {
                g_assert_cmpint (g_get_monotonic_time (), <, deadline);
                g_usleep (10 * 1000);
        }
}

static GStrv
unique_names_of (BusFixture *fx, guint32 pid)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) names = bus_driver_call (fx, "ListNames", NULL, G_VARIANT_TYPE ("(as)"), &error);
        g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GVariantIter) iter = NULL;
        const char *name;

        g_assert_no_error (error);
        g_variant_get (names, "(as)", &iter);
        while (g_variant_iter_next (iter, "&s", &name)) {
                g_autoptr(GVariant) reply = NULL;
                guint32 owner_pid;

                if (name[0] != ':')
                        continue;
                reply = bus_driver_call (fx, "GetConnectionUnixProcessID", g_variant_new ("(s)", name),
                                         G_VARIANT_TYPE ("(u)"), NULL);
                if (!reply)
                        continue;
                g_variant_get (reply, "(u)", &owner_pid);
                if (owner_pid == pid)
                        g_ptr_array_add (found, g_strdup (name));
        }
        g_ptr_array_add (found, NULL);
        return (GStrv) g_ptr_array_steal (found, NULL);
}

/* The measurement window: the test's loop runs (and NetworkManager keeps sending news) for
 * this long; what is measured is the count of wake-ups, not a time. */
static void
run_window (BusFixture *fx, NmMock *nm, guint seconds)
{
        for (guint i = 0; i < seconds; i++) {
                nm_mock_set (nm, i % 2 ? NM_METERED_YES : NM_METERED_NO,
                             i % 3 ? NM_CONNECTIVITY_FULL : NM_CONNECTIVITY_LIMITED);
                bus_fixture_run_for (fx, 1000);
        }
}

/* An idle daemon with NetworkManager present and busy: no connection to it, and not one
 * wake-up in 10 s. */
static void
test_idle_no_wakeups (void)
{
        if (skip_unless_ready ())
                return;
        g_autoptr(XferdEnv) env = env_new (NULL, NULL);
        g_autoptr(NmMock) nm = nm_mock_start (env->fx, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/f.bin", SIZE);
        g_autofree char *dest = NULL;

        http_server_stall_after (env->http, "/f.bin", STALL);
        g_autofree char *job = start_job (env, "/f.bin", NULL, NULL, &dest);
        g_free (wait_stalled (env, job, "/f.bin"));
        pid_t pid = xferd_process_pid (env->fx);
        g_assert_cmpint (pid, >, 0);
        /* While the job runs: the daemon's own connection and the one to NetworkManager. */
        g_auto(GStrv) busy = unique_names_of (env->fx, (guint32) pid);
        g_assert_cmpuint (g_strv_length (busy), ==, 2);
        g_autofree char *own = NULL;
        {
                g_autoptr(GVariant) owner = bus_driver_call (env->fx, "GetNameOwner",
                                                             g_variant_new ("(s)", XFERD_BUS_NAME),
                                                             G_VARIANT_TYPE ("(s)"), NULL);
                g_assert_nonnull (owner);
                g_variant_get (owner, "(s)", &own);
        }
        const char *watcher = g_strcmp0 (busy[0], own) == 0 ? busy[1] : busy[0];
        guint from = bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);

        http_server_release (env->http, "/f.bin");
        finish (env, job, dest, content);
        /* Idle: the connection to the system bus is closed. */
        g_assert_true (bus_wait_name_lost (env->fx, &from, watcher, WAIT_TIMEOUT_MS));
        g_auto(GStrv) idle = unique_names_of (env->fx, (guint32) pid);
        g_assert_cmpuint (g_strv_length (idle), ==, 1);
        g_assert_cmpstr (idle[0], ==, own);
        /* xferd's own connection hears of that name leaving too (one NameOwnerChanged match for
         * its callers): a call answered after it is one handled after it. Then the window
         * starts once xferd sleeps. */
        assert_manager_string (env, "NetworkSource", "not-watching");
        wait_asleep (pid);

        guint64 before = voluntary_switches (pid);
        run_window (env->fx, nm, 10);
        guint64 after = voluntary_switches (pid);
        g_test_message ("xferd's voluntary context switches: %" G_GUINT64_FORMAT " before, %" G_GUINT64_FORMAT
                        " after 10 s", before, after);
        g_assert_cmpuint (after, ==, before);

        /* The measure moves when the daemon does wake up: one call is enough. The count
         * goes up when xferd blocks again after the reply. */
        assert_manager_string (env, "NetworkSource", "not-watching");
        wait_asleep (pid);
        g_assert_cmpuint (voluntary_switches (pid), >, after);
}

const TestCase test_cases[] = {
        { "/metered/before-start", test_before_start },
        { "/metered/yes-to-no", test_yes_to_no },
        { "/metered/stop-mid-transfer", test_stop_mid_transfer },
        { "/metered/guess", test_guess },
        { "/metered/portal", test_portal },
        { "/metered/failure-not-full", test_failure_not_full },
        { "/metered/full-again-retries", test_full_again_retries },
        { "/metered/nm-appears", test_nm_appears },
        { "/metered/nm-disappears", test_nm_disappears },
        { "/metered/change-policy", test_change_policy },
        { "/metered/default-policy", test_default_policy },
        { "/metered/bad-default", test_bad_default },
        { "/metered/user-instance", test_user_instance },
        { "/metered/xferctl", test_xferctl },
        { "/metered/idle-no-wakeups", test_idle_no_wakeups },
        { NULL, NULL }
};
