/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd's bus resources do not grow with its callers, and a lost bus is never a
 * silent, successful exit.
 *
 * dbus-daemon allows a connection 512 match rules; past that AddMatch fails and
 * sd-bus closes the connection. xferd once added one match per caller (and left
 * it behind when the caller left before the match was installed), so 513 live
 * callers, or enough quick connect–call–close cycles, took it off the bus for
 * every user. Here: 600 live connections (250 as each test user, 100 as root),
 * then 10 000 connect–call–close cycles; xferd must keep its name, its match
 * rules (GetConnectionStats) must stay a handful, and another caller must be
 * answered.
 *
 * Needs root and the users xferd-test-a / xferd-test-b (as test-multiuser);
 * skips without them unless CI=true.
 */
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "poll-wait.h"
#include "test-cases.h"
#include "xferd-process.h"

/* xferd's own rules: the NameOwnerChanged match, plus whatever sd-bus adds by
 * itself. Anything per caller would be hundreds. */
#define MAX_MATCH_RULES 8

/* The flood client, copied where the test users can run it. */
static char *
flood_binary (BusFixture *fx)
{
        const char *built = g_getenv ("XFERD_BUS_FLOOD");
        g_autoptr(GError) error = NULL;
        g_autofree char *contents = NULL;
        char *copy;
        gsize len;

        g_assert_nonnull (built);
        g_file_get_contents (built, &contents, &len, &error);
        g_assert_no_error (error);
        copy = g_build_filename (fx->tmpdir, "xferd-bus-flood", NULL);
        g_file_set_contents_full (copy, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0755, &error);
        g_assert_no_error (error);
        return copy;
}

/* Starts the flood client as user (NULL: root) with stdin and stdout piped. */
static GSubprocess *
flood_spawn (BusFixture *fx, const char *binary, const char *user, const char *mode, guint n)
{
        g_autoptr(GSubprocessLauncher) launcher =
                g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_autofree char *address = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", fx->address);
        g_autofree char *count = g_strdup_printf ("%u", n);
        g_autoptr(GError) error = NULL;
        GSubprocess *proc;

        /* The client is no subject of this test: no leak check of it in a sanitizer build
         * (the users could not read the suppressions file). */
        if (g_getenv ("ASAN_OPTIONS")) {
                g_autofree char *opts = g_strconcat (g_getenv ("ASAN_OPTIONS"), ":detect_leaks=0", NULL);
                g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", opts, TRUE);
        }
        if (user)
                proc = g_subprocess_launcher_spawn (launcher, &error, "runuser", "-u", user, "--", "env",
                                                    address, binary, mode, count, NULL);
        else
                proc = g_subprocess_launcher_spawn (launcher, &error, "env", address, binary, mode, count, NULL);
        g_assert_no_error (error);
        return proc;
}

static char *
flood_read_line (GSubprocess *proc)
{
        g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
        g_autoptr(GError) error = NULL;
        char *line;

        g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
        line = g_data_input_stream_read_line (out, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (line);
        return line;
}

static void
flood_finish (GSubprocess *proc)
{
        g_autoptr(GError) error = NULL;

        g_output_stream_close (g_subprocess_get_stdin_pipe (proc), NULL, NULL);
        g_subprocess_wait_check (proc, NULL, &error);
        g_assert_no_error (error);
}

static char *
name_owner (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (fx, "GetNameOwner", g_variant_new ("(s)", XFERD_BUS_NAME),
                                                     G_VARIANT_TYPE ("(s)"), &error);
        char *owner;

        g_assert_no_error (error);
        g_variant_get (reply, "(s)", &owner);
        return owner;
}

/* dbus-daemon's count of match rules of connection unique_name. */
static guint32
match_rules (BusFixture *fx, const char *unique_name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_sync (
                fx->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.Debug.Stats",
                "GetConnectionStats", g_variant_new ("(s)", unique_name), G_VARIANT_TYPE ("(a{sv})"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_autoptr(GVariant) stats = NULL;
        guint32 n;

        g_assert_no_error (error);
        stats = g_variant_get_child_value (reply, 0);
        g_assert_true (g_variant_lookup (stats, "MatchRules", "u", &n));
        return n;
}

static void
assert_list_jobs_answered (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call (fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs",
                                              g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("(a(ssssutto))"),
                                              &error);

        g_assert_no_error (error);
        g_assert_nonnull (reply);
}

static void
test_many_callers (void)
{
        BusFixtureOptions options = { .system_bus = TRUE, .idle_timeout = 0 };
        g_autoptr(BusFixture) fx = NULL;
        g_autofree char *binary = NULL;
        g_autofree char *owner = NULL;
        g_autofree char *owner_after = NULL;
        const struct { const char *user; guint n; } holders[] = {
                { "xferd-test-a", 250 }, { "xferd-test-b", 250 }, { NULL, 100 },
        };
        GSubprocess *procs[G_N_ELEMENTS (holders)];
        guint32 rules;

        if (!test_needs_root_and_users ())
                return;
        fx = bus_fixture_new (&options);
        binary = flood_binary (fx);
        xferd_process_start (fx);
        owner = name_owner (fx);
        g_test_message ("xferd is %s with %u match rules", owner, match_rules (fx, owner));

        /* 600 live callers at once; each called once and stays connected. */
        for (guint i = 0; i < G_N_ELEMENTS (holders); i++)
                procs[i] = flood_spawn (fx, binary, holders[i].user, "hold", holders[i].n);
        for (guint i = 0; i < G_N_ELEMENTS (holders); i++) {
                g_autofree char *line = flood_read_line (procs[i]);
                g_autofree char *want = g_strdup_printf ("held %u", holders[i].n);
                g_assert_cmpstr (line, ==, want);
        }
        rules = match_rules (fx, owner);
        g_test_message ("with 600 live callers: %u match rules", rules);
        g_assert_cmpuint (rules, <=, MAX_MATCH_RULES);
        assert_list_jobs_answered (fx);
        for (guint i = 0; i < G_N_ELEMENTS (holders); i++) {
                flood_finish (procs[i]);
                g_object_unref (procs[i]);
        }

        /* 10 000 connect–call–close cycles, half of them gone before their reply. */
        for (guint i = 0; i < 2; i++) {
                const char *user = i == 0 ? "xferd-test-a" : "xferd-test-b";
                g_autoptr(GSubprocess) proc = flood_spawn (fx, binary, user, "cycle", 5000);
                g_autofree char *line = flood_read_line (proc);
                g_assert_cmpstr (line, ==, "cycled 5000 replies 2500");
                flood_finish (proc);
        }

        owner_after = name_owner (fx);
        g_assert_cmpstr (owner_after, ==, owner);
        rules = match_rules (fx, owner);
        g_test_message ("after 10000 cycles: %u match rules", rules);
        g_assert_cmpuint (rules, <=, MAX_MATCH_RULES);
        /* A third user (root here) is answered by the same xferd. */
        assert_list_jobs_answered (fx);
        g_free (owner_after);
        owner_after = name_owner (fx);
        g_assert_cmpstr (owner_after, ==, owner);
}

/* A lost bus connection is logged and ends xferd with a failure status, so the
 * service manager restarts it (its jobs are in the store). */
static void
test_lost_bus_fails_loudly (void)
{
        BusFixtureOptions options = { .system_bus = TRUE, .idle_timeout = 0 };
        g_autoptr(BusFixture) fx = NULL;
        g_autofree char *log = NULL;
        int status = 0;
        gint64 deadline;
        pid_t pid;

        if (!test_needs_root_and_users ())
                return;
        fx = bus_fixture_new (&options);
        pid = xferd_process_start (fx);

        /* The bus goes away under xferd; the fixture is a subreaper, so xferd becomes our
         * child once dbus-daemon is gone. */
        g_subprocess_send_signal (fx->dbus_daemon, SIGKILL);
        g_subprocess_wait (fx->dbus_daemon, NULL, NULL);
        deadline = poll_deadline (WAIT_TIMEOUT_MS);
        /* A process exit announces itself nowhere else. */
        while (waitpid (pid, &status, WNOHANG) != pid)
                g_assert_true (poll_again (deadline, 10));
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), !=, 0);
        log = bus_fixture_wait_xferd_log (fx, "Lost the connection to the system bus", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
}

const TestCase test_cases[] = {
        { "/bus-resources/many-callers", test_many_callers },
        { "/bus-resources/lost-bus-fails-loudly", test_lost_bus_fails_loudly },
        { NULL, NULL }
};
