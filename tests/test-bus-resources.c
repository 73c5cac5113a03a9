/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd's bus resources do not grow with its callers, and a lost bus is never a
 * silent, successful exit; a bus that stops reading xferd stops neither xferd's
 * loop nor xferd, nor grows xferd's heap by replies that wait (unread-replies).
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
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "bus-flood.h"
#include "proc-stat.h"
#include "test-cases.h"
#include "xferd-env.h"
#include "xferd-process.h"

/* xferd's own rules: the NameOwnerChanged match, plus whatever sd-bus adds by
 * itself. Anything per caller would be hundreds. */
#define MAX_MATCH_RULES 8

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

/* dbus-daemon's figure `key` (GetConnectionStats) of connection unique_name. */
static guint32
connection_stat (BusFixture *fx, const char *unique_name, const char *key)
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
        g_assert_true (g_variant_lookup (stats, key, "u", &n));
        return n;
}

/* dbus-daemon's count of match rules of connection unique_name. */
static guint32
match_rules (BusFixture *fx, const char *unique_name)
{
        return connection_stat (fx, unique_name, "MatchRules");
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
        pid_t pid;

        if (!test_needs_root_and_users ())
                return;
        fx = bus_fixture_new (&options);
        pid = xferd_process_start (fx);

        /* The bus goes away under xferd; its wrapper (now our child: the fixture is a
         * subreaper) still records how it ends, and the test, not teardown, judges that. */
        g_subprocess_send_signal (fx->dbus_daemon, SIGKILL);
        g_subprocess_wait (fx->dbus_daemon, NULL, NULL);
        g_assert_true (bus_fixture_take_xferd_end (fx, pid, &status, WAIT_TIMEOUT_MS));
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), !=, 0);
        log = bus_fixture_wait_xferd_log (fx, "Lost the connection to the system bus", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
}

/* ListJobs of 2 500 jobs: a reply of about 500 KiB, more than one write to the bus. Every row
 * is the job's (id, name, type, state, owner, bytes, path), in the order the jobs were made; the
 * names' lengths run from 1 to 200 bytes, some beyond ASCII, so the rows start at every
 * alignment; ListJobsCompact has the same rows without paths; and the connection goes on: a
 * signal and another call come through. */
#define LARGE_LIST_JOBS 2500

static char *
large_list_name (guint i)
{
        g_autofree char *fill = g_strnfill (i % 200, "abcdefgh"[i % 8]);

        return i % 7 == 0 ? g_strdup_printf ("\u00e9%s", fill) : g_strdup_printf ("%c%s", 'A' + (char) (i % 26), fill);
}

static void
test_large_list (void)
{
        BusFixtureOptions options = { .idle_timeout = 0, .config = "[Daemon]\nMaxJobsPerUser=10000\nMaxJobs=10000\n" };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);
        g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; i < LARGE_LIST_JOBS; i++) {
                g_autofree char *name = large_list_name (i);
                g_autoptr(GVariant) reply = bus_call_manager (fx, "CreateJob", g_variant_new ("(sa{sv})", name, NULL),
                                                              G_VARIANT_TYPE ("(so)"), NULL);
                const char *id;

                g_assert_nonnull (reply);
                g_variant_get (reply, "(&so)", &id, NULL);
                g_ptr_array_add (ids, g_strdup (id));
        }

        g_autoptr(GVariant) full = bus_call_manager (fx, "ListJobs", g_variant_new ("(b)", FALSE),
                                                     G_VARIANT_TYPE ("(a(ssssutto))"), NULL);
        g_autoptr(GVariant) compact = bus_call_manager (fx, "ListJobsCompact", g_variant_new ("(b)", FALSE),
                                                        G_VARIANT_TYPE ("(a(ssssutt))"), NULL);
        g_assert_nonnull (full);
        g_assert_nonnull (compact);
        g_autoptr(GVariant) rows = g_variant_get_child_value (full, 0);
        g_autoptr(GVariant) compact_rows = g_variant_get_child_value (compact, 0);
        g_assert_cmpuint (g_variant_n_children (rows), ==, LARGE_LIST_JOBS);
        g_assert_cmpuint (g_variant_n_children (compact_rows), ==, LARGE_LIST_JOBS);
        g_assert_cmpuint (g_variant_get_size (full), >, 2 * 256 * 1024);
        for (guint i = 0; i < LARGE_LIST_JOBS; i++) {
                g_autoptr(GVariant) row = g_variant_get_child_value (rows, i);
                g_autoptr(GVariant) compact_row = g_variant_get_child_value (compact_rows, i);
                g_autofree char *name = large_list_name (i);
                g_autofree char *path = g_strconcat (XFERD_JOB_PATH_PREFIX, (char *) ids->pdata[i], NULL);
                const char *id, *row_name, *type, *state, *row_path, *c_id, *c_name, *c_type, *c_state;
                guint32 owner, c_owner;
                guint64 done, total, c_done, c_total;

                g_variant_get (row, "(&s&s&s&sutt&o)", &id, &row_name, &type, &state, &owner, &done, &total, &row_path);
                g_assert_cmpstr (id, ==, ids->pdata[i]);
                g_assert_cmpstr (row_name, ==, name);
                g_assert_cmpstr (type, ==, "download");
                g_assert_cmpstr (state, ==, "suspended");
                g_assert_cmpuint (owner, ==, getuid ());
                g_assert_cmpuint (done, ==, 0);
                g_assert_cmpuint (total, ==, 0);
                g_assert_cmpstr (row_path, ==, path);
                g_variant_get (compact_row, "(&s&s&s&sutt)", &c_id, &c_name, &c_type, &c_state, &c_owner, &c_done,
                               &c_total);
                g_assert_cmpstr (c_id, ==, id);
                g_assert_cmpstr (c_name, ==, row_name);
                g_assert_cmpstr (c_state, ==, state);
        }

        /* The connection goes on: a change's signal, and a call's reply. */
        g_autofree char *first = g_strconcat (XFERD_JOB_PATH_PREFIX, (char *) ids->pdata[0], NULL);
        bus_call_job (fx, first, "Cancel", NULL, NULL, NULL);
        g_assert_nonnull (bus_wait_signal (fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobRemoved", NULL, NULL,
                                           WAIT_TIMEOUT_MS));
        g_autoptr(GVariant) after = bus_call_manager (fx, "ListJobsCompact", g_variant_new ("(b)", FALSE),
                                                      G_VARIANT_TYPE ("(a(ssssutt))"), NULL);
        g_autoptr(GVariant) after_rows = g_variant_get_child_value (after, 0);
        g_assert_cmpuint (g_variant_n_children (after_rows), ==, LARGE_LIST_JOBS - 1);
}

/* A bus that carries messages of at most MESSAGE_LIMIT bytes (dbus-daemon drops a connection
 * that sends a larger one), and xferd told so (by default it keeps under dbus-daemon's default,
 * 32 MiB): lists that would pass it are refused with LimitsExceeded, and xferd stays on the bus.
 * A row of ListJobs here takes 367 bytes, one of ListJobsCompact 306. */
#define MESSAGE_LIMIT 131072
#define MESSAGE_JOBS_FIT 300
#define MESSAGE_JOBS_OVER 400

static void
assert_list_rows (BusFixture *fx, const char *method, const char *type, guint n)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, method, g_variant_new ("(b)", FALSE), G_VARIANT_TYPE (type),
                                                      &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) rows = g_variant_get_child_value (reply, 0);
        g_assert_cmpuint (g_variant_n_children (rows), ==, n);
}

static void
test_message_limit (void)
{
        static const char *const env[] = { "XFERD_TEST_MESSAGE_MAX_BYTES=" G_STRINGIFY (MESSAGE_LIMIT), NULL };
        BusFixtureOptions options = {
                .system_bus = TRUE,
                .idle_timeout = 0,
                .config = "[Daemon]\nMaxJobsPerUser=10000\nMaxJobs=10000\n",
                .extra_bus_policy = "  <limit name=\"max_message_size\">" G_STRINGIFY (MESSAGE_LIMIT) "</limit>\n",
                .xferd_env = env,
        };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);
        g_autoptr(GError) error = NULL;
        guint32 pid;

        for (guint i = 0; i < MESSAGE_JOBS_OVER; i++) {
                g_autofree char *name = g_strdup_printf ("%0200u", i);
                g_autofree char *job = xferd_create_job (fx, name, NULL);

                if (i + 1 == MESSAGE_JOBS_FIT)
                        assert_list_rows (fx, "ListJobs", "(a(ssssutto))", MESSAGE_JOBS_FIT);
        }
        pid = bus_fixture_note_xferd (fx);
        g_assert_cmpuint (pid, >, 0);

        /* 147 KB of rows: refused, where sending them would have cost xferd the bus. */
        g_autoptr(GVariant) refused = bus_call_manager (fx, "ListJobs", g_variant_new ("(b)", FALSE),
                                                        G_VARIANT_TYPE ("(a(ssssutto))"), &error);
        g_assert_null (refused);
        bus_assert_error (error, "org.freedesktop.DBus.Error.LimitsExceeded");
        g_assert_nonnull (strstr (error->message, "ListJobsCompact"));
        g_clear_error (&error);
        g_autoptr(GVariant) objects = bus_call (fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                "GetManagedObjects", NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_null (objects);
        bus_assert_error (error, "org.freedesktop.DBus.Error.LimitsExceeded");

        /* The compact rows, 122 KB, still fit; the same daemon answers. */
        assert_list_rows (fx, "ListJobsCompact", "(a(ssssutt))", MESSAGE_JOBS_OVER);
        g_assert_cmpuint (bus_fixture_note_xferd (fx), ==, pid);
        g_autofree char *log = bus_fixture_xferd_log (fx);
        g_assert_null (strstr (log, "Lost the connection"));
}

/* The rows' counters and every field of the first and the last row (the rows between are
 * written as the first, the last row's fields after its id go through sd-bus): a download held
 * in the middle of its body among jobs without files, in each place, and alone; each row as the
 * job's own properties say. */
#define COUNTS_SIZE (256 * 1024)
#define COUNTS_STALL (96 * 1024)

static void
assert_rows_match (BusFixture *fx, guint n_rows)
{
        g_autoptr(GVariant) full = bus_call_manager (fx, "ListJobs", g_variant_new ("(b)", FALSE),
                                                     G_VARIANT_TYPE ("(a(ssssutto))"), NULL);
        g_autoptr(GVariant) compact = bus_call_manager (fx, "ListJobsCompact", g_variant_new ("(b)", FALSE),
                                                        G_VARIANT_TYPE ("(a(ssssutt))"), NULL);
        g_autoptr(GVariant) rows = g_variant_get_child_value (full, 0);
        g_autoptr(GVariant) compact_rows = g_variant_get_child_value (compact, 0);

        g_assert_cmpuint (g_variant_n_children (rows), ==, n_rows);
        g_assert_cmpuint (g_variant_n_children (compact_rows), ==, n_rows);
        for (guint i = 0; i < n_rows; i++) {
                const char *id, *name, *type, *state, *path, *c_id, *c_name, *c_type, *c_state;
                guint32 owner, c_owner;
                guint64 done, total, c_done, c_total;

                g_variant_get_child (rows, i, "(&s&s&s&sutt&o)", &id, &name, &type, &state, &owner, &done, &total,
                                     &path);
                g_variant_get_child (compact_rows, i, "(&s&s&s&sutt)", &c_id, &c_name, &c_type, &c_state, &c_owner,
                                     &c_done, &c_total);
                g_autofree char *want_path = g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
                g_assert_cmpstr (path, ==, want_path);
                g_autofree char *prop_name = job_get_string (fx, path, "DisplayName");
                g_autofree char *prop_state = job_get_string (fx, path, "State");
                g_autofree char *prop_type = job_get_string (fx, path, "Type");
                g_assert_cmpstr (name, ==, prop_name);
                g_assert_cmpstr (state, ==, prop_state);
                g_assert_cmpstr (type, ==, prop_type);
                g_assert_cmpuint (owner, ==, getuid ());
                g_assert_cmpuint (done, ==, job_get_uint64 (fx, path, "BytesTransferred"));
                g_assert_cmpuint (total, ==, job_get_uint64 (fx, path, "BytesTotal"));
                g_assert_cmpstr (c_id, ==, id);
                g_assert_cmpstr (c_name, ==, name);
                g_assert_cmpstr (c_type, ==, type);
                g_assert_cmpstr (c_state, ==, state);
                g_assert_cmpuint (c_owner, ==, owner);
                g_assert_cmpuint (c_done, ==, done);
                g_assert_cmpuint (c_total, ==, total);
        }
}

static void
test_list_counts (void)
{
        BusFixtureOptions options = { .idle_timeout = 0 };
        g_autoptr(XferdEnv) env = xferd_env_new_serving (&options, "/held.bin", COUNTS_SIZE);
        g_autofree char *before = xferd_create_job (env->fx, "before \u00e9", NULL);
        g_autofree char *held = xferd_env_download_stalled (env, COUNTS_STALL, NULL, NULL);

        g_assert_true (bus_wait_property (env->fx, held, XFERD_JOB_IFACE, "BytesTransferred",
                                          g_variant_new_uint64 (COUNTS_STALL), WAIT_TIMEOUT_MS));
        assert_rows_match (env->fx, 2);      /* last */
        g_autofree char *after = xferd_create_job (env->fx, "", NULL);
        assert_rows_match (env->fx, 3);      /* in the middle */
        bus_call_job (env->fx, before, "Cancel", NULL, NULL, NULL);
        assert_rows_match (env->fx, 2);      /* first */
        bus_call_job (env->fx, after, "Cancel", NULL, NULL, NULL);
        assert_rows_match (env->fx, 1);      /* alone: first and last */
}

/* A bus that stops reading xferd must not stop xferd. dbus-daemon stops reading a connection
 * whose messages still queued at their receivers exceed max_incoming_bytes: here 1 MB, reached by
 * one client that sends ListJobs (1 000 jobs of long names, 330 KB a reply) and reads no reply,
 * as any user could. xferd's further replies then fill its socket's send buffer (16 MiB as
 * root) and queue in sd-bus. xferd once wrote a large reply onto the socket itself and waited
 * for the bus to read it: its loop stood still (a download too), and after 25 s it left the bus
 * and exited. It also asked the bus who a new caller was and waited for the answer, which the
 * bus could not send before it read xferd's question: the same standstill. Here the loop must go
 * on (the download's file grows) while a new caller waits for its answer, and once the client
 * goes, the bus reads xferd again, the new caller's call is answered, and another caller's
 * ListJobs arrives whole. */
#define UNREAD_JOBS 1000
#define UNREAD_CALLS 150
#define UNREAD_RATE (256 * 1024)

/* Whether the file at path grows by step bytes, three times in a row, within timeout_ms each. */
static gboolean
file_keeps_growing (const char *path, goffset step, guint timeout_ms)
{
        for (guint i = 0; i < 3; i++) {
                GStatBuf st;

                g_assert_cmpint (g_stat (path, &st), ==, 0);
                if (!wait_file_size (path, st.st_size + step, timeout_ms))
                        return FALSE;
        }
        return TRUE;
}

static void
test_unread_replies (void)
{
        BusFixtureOptions options = {
                .system_bus = TRUE,
                .idle_timeout = 0,
                .config = "[Daemon]\nMaxJobsPerUser=10000\nMaxJobs=10000\n",
                .extra_bus_policy = "  <limit name=\"max_incoming_bytes\">1000000</limit>\n"
                                    "  <limit name=\"max_replies_per_connection\">10000</limit>\n",
        };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        g_autofree char *binary = flood_binary (env->fx);
        BusAsyncReply listed, created;
        g_autoptr(GDBusConnection) newcomer = NULL;
        g_autoptr(GError) error = NULL;
        guint32 pid;

        for (guint i = 0; i < UNREAD_JOBS; i++) {
                g_autofree char *name = g_strdup_printf ("%0200u", i);
                g_autofree char *job = xferd_create_job (env->fx, name, NULL);
        }
        pid = bus_fixture_note_xferd (env->fx);
        g_assert_cmpuint (pid, >, 0);
        xferd_env_serve (env, "/file.bin", 64 * UNREAD_RATE);
        http_server_set_rate (env->http, env->path, UNREAD_RATE);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, 1);

        /* A caller xferd has not seen yet, connected before the bus stops reading xferd (the
         * bus sends xferd a NameOwnerChanged of its arrival). */
        newcomer = bus_connect (env->fx->address);

        GSubprocess *flood = flood_spawn (env->fx, binary, NULL, "unread", UNREAD_CALLS);
        g_autofree char *line = flood_read_line (flood);
        g_assert_cmpstr (line, ==, "sent " G_STRINGIFY (UNREAD_CALLS));
        /* Another caller's ListJobs, whose reply waits behind the unread ones. (A caller xferd
         * knows already: a new one's calls wait for the bus to say who it is, as below.) */
        bus_call_async (env->fx, env->fx->conn, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs",
                        g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("(a(ssssutto))"), &listed);
        /* The new caller's call: xferd asks the bus who it is, and the question waits behind
         * the unread replies. */
        bus_call_async (env->fx, newcomer, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "CreateJob",
                        g_variant_new ("(sa{sv})", "newcomer", NULL), G_VARIANT_TYPE ("(so)"), &created);
        /* The loop runs on while the bus reads nothing of xferd. */
        g_assert_true (file_keeps_growing (temp, UNREAD_RATE / 8, 3000));
        g_assert_cmpint (kill ((pid_t) pid, 0), ==, 0);
        /* (And the test did what it says: the bus holds more of xferd's than it reads.) */
        g_autofree char *owner = name_owner (env->fx);
        g_assert_cmpuint (connection_stat (env->fx, owner, "IncomingBytes"), >, 1000000);

        /* Neither is answered while the bus reads nothing of xferd (whatever came is handled
         * first). */
        bus_fixture_run_for (env->fx, 100);
        g_assert_false (listed.done);
        g_assert_false (created.done);

        /* Once the client goes, the bus reads xferd again. The other caller's list was refused
         * rather than queued behind the unread ones (xferd's heap would grow by every such
         * reply), and a list asked now arrives whole. */
        flood_finish (flood);
        g_object_unref (flood);
        g_assert_true (bus_fixture_run_until (env->fx, &listed.done, WAIT_TIMEOUT_MS));
        g_assert_error (listed.error, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED);
        g_assert_nonnull (strstr (listed.error->message, "try again later"));
        bus_async_reply_clear (&listed);
        /* The new caller's job is made, and is its own. */
        g_assert_true (bus_fixture_run_until (env->fx, &created.done, WAIT_TIMEOUT_MS));
        g_assert_no_error (created.error);
        const char *created_path;
        g_variant_get (created.reply, "(&s&o)", NULL, &created_path);
        g_autofree char *created_name = job_get_string (env->fx, created_path, "DisplayName");
        g_assert_cmpstr (created_name, ==, "newcomer");
        g_assert_cmpuint (job_get_uint32 (env->fx, created_path, "Owner"), ==, getuid ());
        bus_async_reply_clear (&created);
        g_autoptr(GVariant) rows = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (rows), ==, UNREAD_JOBS + 2);
        g_assert_cmpuint (bus_fixture_note_xferd (env->fx), ==, pid);
        g_autofree char *log = bus_fixture_xferd_log (env->fx);
        g_assert_null (strstr (log, "closing the connection"));
        g_assert_null (strstr (log, "Bug:"));
}

/* Calls that carry file descriptors never reach xferd: it connects without fd passing, so the
 * bus refuses them to their sender. Before, each such call's descriptors (16 a call on the
 * system bus) stayed open in xferd while the call waited for its dispatch (a new caller's, for
 * the bus to say who it is; polkit's), and one caller's calls could take xferd's last
 * descriptor, and with it the bus. */
#define FD_CALLS 64
#define FDS_A_CALL 16

typedef struct {
        guint done, refused;
        gboolean all;           /* done == FD_CALLS */
} FdCalls;

static void
fd_call_done (GObject *source, GAsyncResult *result, gpointer data)
{
        FdCalls *c = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (source), NULL,
                                                                                     result, &error);

        c->done++;
        c->all = c->done == FD_CALLS;
        if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NOT_SUPPORTED))
                c->refused++;
}

static void
test_fds_refused (void)
{
        BusFixtureOptions options = { .idle_timeout = 0 };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);
        g_autoptr(GError) error = NULL;
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
        FdCalls calls = { 0, 0, FALSE };
        guint32 pid;
        guint before;

        for (guint i = 0; i < FDS_A_CALL; i++) {
                int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

                g_assert_cmpint (fd, >=, 0);
                g_assert_cmpint (g_unix_fd_list_append (fds, fd, &error), >=, 0);
                g_assert_no_error (error);
                close (fd);
        }
        assert_list_rows (fx, "ListJobs", "(a(ssssutto))", 0);
        pid = bus_fixture_note_xferd (fx);
        g_assert_cmpuint (pid, >, 0);
        before = proc_fd_count ((pid_t) pid);

        /* A caller new to xferd, its calls sent together. */
        g_autoptr(GDBusConnection) sender = bus_connect (fx->address);
        g_assert_true (g_dbus_connection_get_capabilities (sender) & G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING);
        for (guint i = 0; i < FD_CALLS; i++)
                g_dbus_connection_call_with_unix_fd_list (sender, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                          "ListJobs", g_variant_new ("(b)", FALSE),
                                                          G_VARIANT_TYPE ("(a(ssssutto))"), G_DBUS_CALL_FLAGS_NONE,
                                                          WAIT_TIMEOUT_MS, fds, NULL, fd_call_done, &calls);
        g_assert_true (bus_fixture_run_until (fx, &calls.all, WAIT_TIMEOUT_MS));
        /* Every one refused by the bus; xferd the same, its descriptors as before. */
        g_assert_cmpuint (calls.refused, ==, FD_CALLS);
        g_assert_cmpuint (bus_fixture_note_xferd (fx), ==, pid);
        g_assert_cmpuint (proc_fd_count ((pid_t) pid), <=, before + 2);
        /* The same caller without descriptors is answered. */
        bus_list_jobs_answered (sender);
}

const TestCase test_cases[] = {
        { "/bus-resources/many-callers", test_many_callers },
        { "/bus-resources/lost-bus-fails-loudly", test_lost_bus_fails_loudly },
        { "/bus-resources/large-list", test_large_list },
        { "/bus-resources/list-counts", test_list_counts },
        { "/bus-resources/message-limit", test_message_limit },
        { "/bus-resources/fds-refused", test_fds_refused },
        { "/bus-resources/unread-replies", test_unread_replies },
        { NULL, NULL }
};
