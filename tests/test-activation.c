/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lifetime: D-Bus activation starts xferd on the first call, an idle xferd
 * exits and is activated again (jobs that need no work and retained final
 * objects do not keep it: they are stored and served by the next instance),
 * the ObjectManager announces jobs, and a final job's object is removed
 * (InterfacesRemoved) when its retention ends.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bus-fixture.h"
#include "test-cases.h"
#include "xferd-env.h"
#include "xferd-process.h"

static gboolean
name_has_owner (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (fx, "NameHasOwner", g_variant_new ("(s)", XFERD_BUS_NAME),
                                                     G_VARIANT_TYPE ("(b)"), &error);
        gboolean owned;

        g_assert_no_error (error);
        g_variant_get (reply, "(b)", &owned);
        return owned;
}

static gboolean
is_activatable (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (fx, "ListActivatableNames", NULL, G_VARIANT_TYPE ("(as)"),
                                                     &error);
        g_autofree const char **names = NULL;

        g_assert_no_error (error);
        g_variant_get (reply, "(^a&s)", &names);
        return g_strv_contains (names, XFERD_BUS_NAME);
}

static void
assert_manager_answers (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) version = bus_get_property (fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                        "Version", &error);

        g_assert_no_error (error);
        g_assert_true (g_variant_is_of_type (version, G_VARIANT_TYPE_STRING));
        g_assert_cmpstr (g_variant_get_string (version, NULL), !=, "");
}

static void
test_first_call_activates (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);

        g_assert_true (is_activatable (fx));
        g_assert_false (name_has_owner (fx));
        assert_manager_answers (fx);
        g_assert_true (name_has_owner (fx));
        bus_fixture_note_xferd (fx);
}

/* Idle with nothing to do, xferd exits; the next call brings it back. */
static void
test_idle_exit_and_reactivation (void)
{
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);

        assert_manager_answers (fx);
        bus_fixture_note_xferd (fx);
        g_assert_true (bus_fixture_wait_xferd_gone (fx, WAIT_TIMEOUT_MS));
        g_assert_false (name_has_owner (fx));

        assert_manager_answers (fx);
        g_assert_true (name_has_owner (fx));
        bus_fixture_note_xferd (fx);
        g_assert_cmpuint (fx->xferd_pids->len, ==, 2);
}

/* A job that must be worked on keeps xferd running past its idle timeout. */
static void
test_busy_daemon_stays (void)
{
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(XferdEnv) env = xferd_env_new_serving (&options, "/file.bin", 100000);

        /* transferring for as long as the test wants. */
        g_autofree char *job = xferd_env_download_stalled (env, 1000, NULL, NULL);
        /* Several idle timeouts long; the daemon must not go away meanwhile. */
        g_assert_false (bus_fixture_wait_xferd_gone (env->fx, 3000));
        http_server_release (env->http, env->path);
        job_wait_state (env->fx, job, "transferred");
}

static gboolean
match_object_path (const RecordedSignal *sig, gpointer data)
{
        const char *path;

        g_variant_get_child (sig->params, 0, "&o", &path);
        return strcmp (path, data) == 0;
}

/* ObjectManager: a new job is announced and listed with its interface. */
static void
test_object_manager (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autofree char *job = xferd_create_job (fx, "om", NULL);
        g_autoptr(GError) error = NULL;

        g_assert_nonnull (bus_wait_signal (fx, NULL, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                           "InterfacesAdded", match_object_path, job, WAIT_TIMEOUT_MS));
        g_autoptr(GVariant) reply = bus_call (fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                              "GetManagedObjects", NULL,
                                              G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) objects = g_variant_get_child_value (reply, 0);
        g_autoptr(GVariant) ifaces = g_variant_lookup_value (objects, job, G_VARIANT_TYPE ("a{sa{sv}}"));
        g_assert_nonnull (ifaces);
        g_autoptr(GVariant) props = g_variant_lookup_value (ifaces, XFERD_JOB_IFACE, G_VARIANT_TYPE_VARDICT);
        g_assert_nonnull (props);
        const char *state;
        g_assert_true (g_variant_lookup (props, "State", "&s", &state));
        g_assert_cmpstr (state, ==, "suspended");
}

/* With --retention=2 a cancelled job's object answers State for a while,
 * then InterfacesRemoved is sent and the object is gone. */
static void
test_retention (void)
{
        BusFixtureOptions options = { .retention = 2 };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (fx, "retained", &id);
        g_autoptr(GError) error = NULL;

        xferd_job_call (fx, job, "Cancel");
        assert_job_string (fx, job, "State", "cancelled");
        g_assert_nonnull (bus_wait_signal (fx, NULL, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                           "InterfacesRemoved", match_object_path, job, WAIT_TIMEOUT_MS));

        g_autoptr(GVariant) gone = bus_get_property (fx, job, XFERD_JOB_IFACE, "State", &error);
        g_assert_null (gone);
        g_autofree char *remote = g_dbus_error_get_remote_error (error);
        g_test_message ("State of a removed job: %s: %s", remote, error->message);
        /* sd-bus answers UnknownObject for a path nobody serves; a fallback
         * vtable that no longer finds the job may say UnknownInterface. */
        g_assert_true (g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
                       g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0);
}

/* GetJob through activation: the job is known to the new process. */
static void
assert_job_known (BusFixture *fx, const char *id, const char *job)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, "GetJob", g_variant_new ("(s)", id),
                                                      G_VARIANT_TYPE ("(o)"), &error);
        const char *path;

        g_assert_no_error (error);
        g_variant_get (reply, "(&o)", &path);
        g_assert_cmpstr (path, ==, job);
}

/* Idle with only a suspended job and a retained final one, xferd exits (they
 * are stored); the next activation serves both as they were. */
static void
test_idle_exit_keeps_jobs (void)
{
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        g_autofree char *url = http_server_url (env->http, "/file.bin");
        g_autofree char *waiting_id = NULL, *cancelled_id = NULL;
        g_autofree char *waiting = xferd_create_job (env->fx, "waiting", &waiting_id);
        g_autofree char *cancelled = xferd_create_job (env->fx, "cancelled", &cancelled_id);

        xferd_add_file (env->fx, waiting, url, env->dest);
        xferd_job_call (env->fx, cancelled, "Cancel");
        g_assert_true (bus_fixture_wait_xferd_gone (env->fx, WAIT_TIMEOUT_MS));

        assert_job_known (env->fx, waiting_id, waiting);
        bus_fixture_note_xferd (env->fx);
        assert_job_string (env->fx, waiting, "State", "suspended");
        assert_job_string (env->fx, waiting, "DisplayName", "waiting");
        g_assert_cmpuint (job_get_uint32 (env->fx, waiting, "FilesTotal"), ==, 1);
        g_assert_true (xferd_lists_job (env->fx, waiting_id));

        /* The retained object is kept across the restart. */
        assert_job_string (env->fx, cancelled, "State", "cancelled");
        xferd_assert_no_such_job (env->fx, cancelled_id);
}

/* The fixture's own reach (review R16): an xferd that ends other than with exit status 0 fails
 * the test that ran it at teardown, also one the test waited for to go (such a wait used to take
 * its status and let it go). Here SIGABRT ends it, as a failed assertion on its way out would;
 * the subprocess's failure is the check. A test that ends xferd on purpose takes that end
 * instead (xferd_process_kill(), bus_fixture_take_xferd_end()). No core of xferd is left where
 * cores are on (ulimit -c, core_pattern, systemd-coredump): the subprocess's limit is 0 before
 * the bus starts (GLib's g_test_init() sets it in a test subprocess too, but says so nowhere),
 * dbus-daemon and xferd inherit it, and the case checks that xferd has it. */
static void
test_unclean_end_fails (void)
{
        if (g_test_subprocess ()) {
                const struct rlimit no_core = { 0, 0 };
                g_autoptr(BusFixture) fx = NULL;
                struct rlimit core;
                guint from;
                pid_t pid;

                g_assert_no_errno (setrlimit (RLIMIT_CORE, &no_core));
                fx = bus_fixture_new (NULL);
                pid = xferd_process_start (fx);
                from = fx->signals->len;
                g_assert_no_errno (prlimit (pid, RLIMIT_CORE, NULL, &core));
                g_assert_cmpuint (core.rlim_cur, ==, 0);
                g_assert_no_errno (kill (pid, SIGABRT));
                g_assert_true (xferd_process_wait_gone (fx, pid, from, WAIT_TIMEOUT_MS));
                return;
        }
        g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
        g_test_trap_assert_failed ();
        g_test_trap_assert_stderr ("*xferd * was killed by signal 6 (*");
}

/* The parent of pid, which /proc shows as named comm. */
static pid_t
parent_named (pid_t pid, const char *comm)
{
        g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
        g_autofree char *stat = NULL;
        g_autofree char *parent_path = NULL, *parent_stat = NULL, *named = g_strdup_printf (" (%s) ", comm);
        int ppid = 0;

        g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
        g_assert_nonnull (strrchr (stat, ')'));
        g_assert_cmpint (sscanf (strrchr (stat, ')') + 1, " %*c %d", &ppid), ==, 1);
        parent_path = g_strdup_printf ("/proc/%d/stat", ppid);
        g_assert_true (g_file_get_contents (parent_path, &parent_stat, NULL, NULL));
        g_assert_nonnull (strstr (parent_stat, named));
        return ppid;
}

/* Teardown's reach when the wrapper is gone (review R18; nothing in the tree kills it, the
 * subprocess does here): xferd's record stays "running" and xferd becomes the test's child.
 * Once it has ended, teardown reaps it at once, takes its own status as its end and fails the
 * test; it waited for a record that never came and left xferd a zombie. */
static void
test_lost_wrapper_fails (void)
{
        if (g_test_subprocess ()) {
                BusFixture *fx = bus_fixture_new (NULL);
                pid_t pid = xferd_process_start (fx);
                pid_t wrapper = parent_named (pid, "xferd-test-exec");
                g_autofree char *proc = g_strdup_printf ("/proc/%d", (int) pid);

                g_assert_no_errno (kill (wrapper, SIGKILL));
                (void) waitpid (wrapper, NULL, 0);      /* ours once the activation helper is gone */
                g_assert_no_errno (kill (pid, SIGTERM));
                g_assert_true (bus_fixture_wait_xferd_gone (fx, WAIT_TIMEOUT_MS));
                bus_fixture_free (fx);
                if (!g_file_test (proc, G_FILE_TEST_EXISTS))
                        g_print ("xferd %d was reaped\n", (int) pid);
                return;
        }
        g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
        g_test_trap_assert_failed ();
        g_test_trap_assert_stderr ("*xferd * ran on after its xferd-test-exec * was gone*");
        g_test_trap_assert_stdout ("*xferd * was reaped*");
}

const TestCase test_cases[] = {
        { "/activation/first-call-activates", test_first_call_activates },
        { "/activation/idle-exit-and-reactivation", test_idle_exit_and_reactivation },
        { "/activation/busy-daemon-stays", test_busy_daemon_stays },
        { "/activation/object-manager", test_object_manager },
        { "/activation/retention", test_retention },
        { "/activation/idle-exit-keeps-jobs", test_idle_exit_keeps_jobs },
        { "/activation/unclean-end-fails", test_unclean_end_fails },
        { "/activation/lost-wrapper-fails", test_lost_wrapper_fails },
        { NULL, NULL }
};
