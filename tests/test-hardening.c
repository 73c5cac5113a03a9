/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hardening against hostile input and failing parts (issue 18, items 2, 3, 5, 6 and 8):
 *
 * - limits on every input of variable size, checked before the input is read in full:
 *   headers (count and bytes, per job and per user), file lists, option dictionaries,
 *   names, descriptions and URLs;
 * - a store that cannot commit fails the call and changes nothing, also after a restart;
 *   a store that cannot be opened read-write stops xferd with a log line;
 * - every string on the bus is valid UTF-8 without control characters, whatever a server
 *   sends and however long a URL is; xferctl never prints control characters either;
 * - URL credentials and query tokens appear in no log line, property, signal or error;
 * - ErrorName/ErrorMessage are empty outside the error states, the temporary files of
 *   jobs in a store that was moved aside are removed, and a URL without a host is refused.
 *
 * The tests that mount a tmpfs or act as other users need root (and the users
 * xferd-test-a, xferd-test-b for the latter); they skip without, or fail when CI=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret-check.h"
#include "test-cases.h"
#include "xferctl-run.h"

#define USER_A "xferd-test-a"
#define USER_B "xferd-test-b"
#define DBUS_ERROR_LIMITS_EXCEEDED "org.freedesktop.DBus.Error.LimitsExceeded"
#define DBUS_ERROR_IO "org.freedesktop.DBus.Error.IOError"
#define SAFE_REPLACEMENT "\xef\xbf\xbd"  /* U+FFFD */

/* ------------------------------------------------------------- helpers */

static gboolean
need_root (void)
{
        return test_needs (geteuid () == 0 ? NULL : "root");
}

static gboolean
is_control (gunichar c)
{
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
}

/* Whether s is valid UTF-8 without control characters; logs what is wrong. */
static gboolean
text_is_clean (const char *what, const char *s)
{
        if (!g_utf8_validate (s, -1, NULL)) {
                g_test_message ("%s is not valid UTF-8", what);
                return FALSE;
        }
        for (const char *p = s; *p; p = g_utf8_next_char (p))
                if (is_control (g_utf8_get_char (p))) {
                        g_test_message ("%s holds control character U+%04X", what, g_utf8_get_char (p));
                        return FALSE;
                }
        return TRUE;
}

/* Every string inside v is clean. */
static void
assert_variant_clean (GVariant *v)
{
        if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING) || g_variant_is_of_type (v, G_VARIANT_TYPE_OBJECT_PATH)) {
                g_assert_true (text_is_clean (g_variant_get_type_string (v), g_variant_get_string (v, NULL)));
                return;
        }
        if (!g_variant_is_container (v))
                return;
        for (gsize i = 0; i < g_variant_n_children (v); i++) {
                g_autoptr(GVariant) child = g_variant_get_child_value (v, i);
                assert_variant_clean (child);
        }
}

static GVariant *
get_all (BusFixture *fx, const char *job, GError **error)
{
        return bus_call (fx, job, "org.freedesktop.DBus.Properties", "GetAll",
                         g_variant_new ("(s)", XFERD_JOB_IFACE), G_VARIANT_TYPE ("(a{sv})"), error);
}

static GVariant *
get_managed_objects (BusFixture *fx, GError **error)
{
        return bus_call (fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                         NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), error);
}

/* SetHttpHeaders with n headers "X-Header-<i>: <value of value_len bytes>"; the call's error
 * in *error. */
static void
set_headers (BusFixture *fx, const char *job, guint n, gsize value_len, GError **error)
{
        g_autoptr(GPtrArray) headers = g_ptr_array_new_full (n + 1, g_free);
        g_autofree char *value = g_strnfill (value_len, 'v');

        for (guint i = 0; i < n; i++)
                g_ptr_array_add (headers, g_strdup_printf ("X-Header-%u: %s", i, value));
        g_ptr_array_add (headers, NULL);
        g_autoptr(GVariant) reply = bus_call_job (fx, job, "SetHttpHeaders",
                                                  g_variant_new ("(^as)", (char **) headers->pdata),
                                                  G_VARIANT_TYPE_UNIT, error);
}

static guint
header_name_count (BusFixture *fx, const char *job)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) names = bus_get_property (fx, job, XFERD_JOB_IFACE, "HttpHeaderNames", &error);

        g_assert_no_error (error);
        return (guint) g_variant_n_children (names);
}

/* The message of error, without GDBus's "GDBus.Error:name: " prefix. */
static char *
error_text (const GError *error)
{
        g_autoptr(GError) copy = g_error_copy (error);

        g_dbus_error_strip_remote_error (copy);
        return g_strdup (copy->message);
}

#define assert_error_mentions(error, needle) G_STMT_START {                    \
        g_autofree char *text__ = error_text (error);                          \
        if (!strstr (text__, (needle)))                                        \
                g_test_message ("error message: %s", text__);                  \
        g_assert_nonnull (strstr (text__, (needle)));                          \
} G_STMT_END

static void
assert_headers_accepted (BusFixture *fx, const char *job, guint n, gsize value_len)
{
        g_autoptr(GError) error = NULL;

        set_headers (fx, job, n, value_len, &error);
        g_assert_no_error (error);
}

/* set_headers() is refused with LimitsExceeded, the message naming setting and limit. */
static void
assert_headers_refused (BusFixture *fx, const char *job, guint n, gsize value_len, const char *setting,
                        const char *limit)
{
        g_autoptr(GError) error = NULL;

        set_headers (fx, job, n, value_len, &error);
        bus_assert_error (error, DBUS_ERROR_LIMITS_EXCEEDED);
        assert_error_mentions (error, setting);
        assert_error_mentions (error, limit);
}

/* ================================================== 2. input limits */

/* 300 000 headers: refused at once with the limit and its setting named, the job unchanged,
 * and the daemon still answers. Without a limit reading them took many seconds and the
 * job kept them all. */
static void
test_headers_count (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);

        assert_headers_refused (env->fx, job, 300000, 1, "MaxHttpHeaders", "64");
        g_assert_cmpuint (header_name_count (env->fx, job), ==, 0);
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (jobs), ==, 1);

        /* The default limit, exactly. */
        assert_headers_accepted (env->fx, job, 64, 8);
        g_assert_cmpuint (header_name_count (env->fx, job), ==, 64);
        assert_headers_refused (env->fx, job, 65, 8, "MaxHttpHeaders", "64");
        g_assert_cmpuint (header_name_count (env->fx, job), ==, 64);
}

/* Bytes per job: three headers of 8000 bytes are within the limit of one header but not of
 * the job (16384 by default). */
static void
test_headers_bytes_per_job (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);

        assert_headers_accepted (env->fx, job, 2, 8000);
        assert_headers_refused (env->fx, job, 3, 8000, "MaxHttpHeaderBytes", "16384");
        g_assert_cmpuint (header_name_count (env->fx, job), ==, 2);

        /* A single header of 10 MB stops at the first check, as before. */
        set_headers (env->fx, job, 1, 10 * 1024 * 1024, &error);
        g_assert_nonnull (error);
        g_clear_error (&error);
        g_assert_cmpuint (header_name_count (env->fx, job), ==, 2);
}

/* A limit from xferd.conf is the one applied and named. */
static void
test_headers_setting (void)
{
        BusFixtureOptions options = { .config = "[Daemon]\nMaxHttpHeaders=3\nMaxHttpHeaderBytes=100\n" };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);

        assert_headers_refused (env->fx, job, 4, 1, "MaxHttpHeaders", "3");
        assert_headers_refused (env->fx, job, 2, 60, "MaxHttpHeaderBytes", "100");
        assert_headers_accepted (env->fx, job, 3, 10);
}

/* Per user: the headers of all of a user's jobs together (MaxHttpHeaderBytesPerUser); a
 * user other than root, on the system bus. Headers of a cancelled job no longer count. */
static void
test_headers_per_user (void)
{
        if (!test_needs_root_and_users ())
                return;
        BusFixtureOptions options = {
                .system_bus = TRUE,
                .config = "[Daemon]\nMaxHttpHeaderBytesPerUser=20000\n",
        };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        g_autoptr(BusClient) a = bus_client_new (env->fx, USER_A);
        g_autoptr(BusClient) b = bus_client_new (env->fx, USER_B);
        g_autoptr(GError) error = NULL;
        g_autofree char *v1 = g_strnfill (6000, 'a');
        g_autofree char *v2 = g_strnfill (8000, 'b');
        g_autofree char *h1 = g_strdup_printf ("X-One: %s", v1);
        g_autofree char *h1b = g_strdup_printf ("X-One-More: %s", v1);
        g_autofree char *h2 = g_strdup_printf ("X-Two: %s", v2);

        /* 12 KB and then 8 KB more: over 20 000 bytes. */
        g_autofree char *job1 = bus_client_create_job (a, "one", NULL);
        g_autofree char *job2 = bus_client_create_job (a, "two", NULL);
        g_autoptr(GVariant) r1 = bus_client_call_job (a, job1, "SetHttpHeaders",
                                                      g_variant_new_parsed ("([%s, %s],)", h1, h1b),
                                                      G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) r2 = bus_client_call_job (a, job2, "SetHttpHeaders",
                                                      g_variant_new_parsed ("([%s],)", h2), G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, DBUS_ERROR_LIMITS_EXCEEDED);
        assert_error_mentions (error, "MaxHttpHeaderBytesPerUser");
        g_clear_error (&error);

        /* Another user has a budget of its own. */
        g_autofree char *job_b = bus_client_create_job (b, "b", NULL);
        g_autoptr(GVariant) r3 = bus_client_call_job (b, job_b, "SetHttpHeaders",
                                                      g_variant_new_parsed ("([%s],)", h2), G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);

        /* Replacing a job's own headers counts them once. */
        g_autoptr(GVariant) r4 = bus_client_call_job (a, job1, "SetHttpHeaders",
                                                      g_variant_new_parsed ("([%s, %s],)", h1, h1b),
                                                      G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);

        /* A final job's headers are gone: they count no more. */
        bus_client_job_call (a, job1, "Cancel");
        g_autoptr(GVariant) r5 = bus_client_call_job (a, job2, "SetHttpHeaders",
                                                      g_variant_new_parsed ("([%s],)", h2), G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
}

/* A cancelled or completed job keeps no headers, in memory or in the store. */
static void
test_headers_dropped_when_final (void)
{
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(XferdEnv) env = xferd_env_new_serving (&options, "/file.bin", 1000);
        g_autoptr(GError) error = NULL;
        g_autofree char *state = xferd_process_state_dir (env->fx);
        g_autofree char *db_path = g_build_filename (state, "xferd.db", NULL);
        const char *marker = "X-Marker: Zq8uMarkerValueQx";
        const char *headers[] = { marker, NULL };

        g_autofree char *cancelled = xferd_create_job (env->fx, "cancelled", NULL);
        g_autoptr(GVariant) r1 = bus_call_job (env->fx, cancelled, "SetHttpHeaders", g_variant_new ("(^as)", headers),
                                               G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_autofree char *done = xferd_create_job (env->fx, "completed", NULL);
        g_autoptr(GVariant) r2 = bus_call_job (env->fx, done, "SetHttpHeaders", g_variant_new ("(^as)", headers),
                                               G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        xferd_add_file (env->fx, done, env->url, env->dest);
        xferd_job_call (env->fx, done, "Resume");
        job_wait_state (env->fx, done, "transferred");
        g_autofree char *sent = http_server_last_header (env->http, "/file.bin", "X-Marker");
        g_assert_cmpstr (sent, ==, "Zq8uMarkerValueQx");
        g_assert_false (xferd_complete (env->fx, done));
        xferd_job_call (env->fx, cancelled, "Cancel");

        /* Both objects are still there (retention), without header names. */
        g_assert_cmpuint (header_name_count (env->fx, cancelled), ==, 0);
        g_assert_cmpuint (header_name_count (env->fx, done), ==, 0);

        /* And the store has no trace of them, once xferd closed it (idle exit). */
        pid_t pid = xferd_process_pid (env->fx);
        g_assert_true (xferd_process_wait_gone (env->fx, pid, 0, WAIT_TIMEOUT_MS));
        sqlite3 *db = NULL;
        g_autofree char *uri = g_strdup_printf ("file:%s?immutable=1", db_path);
        g_assert_cmpint (sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), ==, SQLITE_OK);
        sqlite3_stmt *st = NULL;
        g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM jobs WHERE http_headers IS NOT NULL "
                                                 "AND http_headers != ''", -1, &st, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
        g_assert_cmpint (sqlite3_column_int (st, 0), ==, 0);
        sqlite3_finalize (st);
        sqlite3_close (db);
}

/* AddFiles with 20 000 entries from a user (root is exempt from MaxFilesPerJob): refused with
 * TooManyFiles naming the setting, before the paths are looked at. */
static void
test_add_files_limit_user (void)
{
        if (!test_needs_root_and_users ())
                return;
        BusFixtureOptions options = { .system_bus = TRUE, .config = "[Daemon]\nMaxFilesPerJob=5\n" };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        g_autoptr(BusClient) a = bus_client_new (env->fx, USER_A);
        g_autoptr(GError) error = NULL;
        g_autofree char *job = bus_client_create_job (a, "files", NULL);
        g_autoptr(GString) files = g_string_new ("([");

        for (guint i = 0; i < 20000; i++)
                g_string_append_printf (files, "%s('http://127.0.0.1:9/x', '/nonexistent/%u')", i ? ", " : "", i);
        g_string_append (files, "],)");
        g_autoptr(GVariant) r1 = bus_client_call_job (a, job, "AddFiles", g_variant_new_parsed (files->str),
                                                      G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("TooManyFiles"));
        assert_error_mentions (error, "MaxFilesPerJob");
        assert_error_mentions (error, "5");
}

/* An option dictionary with the same key 100 000 times is refused at the second. */
static void
test_option_dict (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autoptr(GError) error = NULL;
        GVariantBuilder options;

        g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
        for (guint i = 0; i < 100000; i++)
                g_variant_builder_add (&options, "{sv}", "priority", g_variant_new_string ("low"));
        g_autoptr(GVariant) r1 = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "dup", &options),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        assert_error_mentions (error, "priority");
        g_clear_error (&error);
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (jobs), ==, 0);

        /* An unknown key of a megabyte is refused without being sent back whole. */
        g_autofree char *key = g_strnfill (1024 * 1024, 'k');
        g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
        g_variant_builder_add (&options, "{sv}", key, g_variant_new_string ("x"));
        g_autoptr(GVariant) r2 = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "big", &options),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_autofree char *text = error_text (error);
        g_assert_cmpuint (strlen (text), <, 1024);
}

/* Names, descriptions and URLs: one byte over the limit is StringTooLong naming the limit. */
static void
test_string_limits (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *name = g_strnfill (257, 'n');
        g_autofree char *description = g_strnfill (1025, 'd');
        g_autofree char *job = xferd_create_job (env->fx, "strings", NULL);

        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "DisplayName",
                                          g_variant_new_string (name), &error));
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));
        assert_error_mentions (error, "256");
        g_clear_error (&error);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "Description",
                                          g_variant_new_string (description), &error));
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));
        assert_error_mentions (error, "1024");
        g_clear_error (&error);

        g_autofree char *path = g_strnfill (2200 - strlen ("http://127.0.0.1:9/"), 'p');
        g_autofree char *url_ok = g_strconcat ("http://127.0.0.1:9/", path, NULL);
        g_autofree char *url_long = g_strconcat (url_ok, "p", NULL);
        g_autofree char *dest = xferd_env_path (env, "x");
        g_autoptr(GVariant) r1 = bus_call_job (env->fx, job, "AddFile", g_variant_new ("(ss)", url_long, dest),
                                               G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));
        assert_error_mentions (error, "2200");
        g_clear_error (&error);
        xferd_add_file (env->fx, job, url_ok, dest);
}

/* ============================================ 3. a failing store is told */

typedef struct {
        char *display_name;
        char *description;
        char *state;
        char *priority;
        guint32 files;
        guint headers;
        guint32 retry_delay;
        GVariant *list_files;
} JobView;

static void
job_view_clear (JobView *v)
{
        g_free (v->display_name);
        g_free (v->description);
        g_free (v->state);
        g_free (v->priority);
        g_clear_pointer (&v->list_files, g_variant_unref);
}

static void
job_view_read (BusFixture *fx, const char *job, JobView *v)
{
        g_autoptr(GError) error = NULL;

        v->display_name = job_get_string (fx, job, "DisplayName");
        v->description = job_get_string (fx, job, "Description");
        v->state = job_get_string (fx, job, "State");
        v->priority = job_get_string (fx, job, "Priority");
        v->files = job_get_uint32 (fx, job, "FilesTotal");
        v->headers = header_name_count (fx, job);
        v->retry_delay = job_get_uint32 (fx, job, "MinimumRetryDelay");
        v->list_files = bus_call_job (fx, job, "ListFiles", NULL, G_VARIANT_TYPE ("(a(sssttb))"), &error);
        g_assert_no_error (error);
}

static void
assert_job_view (BusFixture *fx, const char *job, const JobView *expected)
{
        JobView now = { 0 };

        job_view_read (fx, job, &now);
        g_assert_cmpstr (now.display_name, ==, expected->display_name);
        g_assert_cmpstr (now.description, ==, expected->description);
        g_assert_cmpstr (now.state, ==, expected->state);
        g_assert_cmpstr (now.priority, ==, expected->priority);
        g_assert_cmpuint (now.files, ==, expected->files);
        g_assert_cmpuint (now.headers, ==, expected->headers);
        g_assert_cmpuint (now.retry_delay, ==, expected->retry_delay);
        g_assert_true (g_variant_equal (now.list_files, expected->list_files));
        job_view_clear (&now);
}

/* Fills the file system of dir until nothing more fits; returns the filler's path. */
static char *
fill_up (const char *dir)
{
        g_autofree char *filler = g_build_filename (dir, "filler", NULL);
        int fd = open (filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        char block[4096] = { 0 };

        g_assert_cmpint (fd, >=, 0);
        for (;;) {
                ssize_t k = write (fd, block, sizeof block);
                if (k < 0) {
                        g_assert_cmpint (errno, ==, ENOSPC);
                        break;
                }
        }
        /* The last bytes that fit, below a block. */
        while (write (fd, block, 1) == 1)
                ;
        g_assert_no_errno (close (fd));
        return g_steal_pointer (&filler);
}

#define assert_store_error(error, state_dir) G_STMT_START {     \
        bus_assert_error ((error), DBUS_ERROR_IO);              \
        assert_error_mentions ((error), (state_dir));           \
        g_clear_error (&(error));                               \
} G_STMT_END

/* With the state directory full, every call that changes a job fails with an error naming
 * the state directory, and the job stays as it was: in memory, and after a restart. */
static void
test_store_full (void)
{
        if (!need_root ())
                return;
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *state = xferd_process_state_dir (env->fx);
        g_autofree char *url = http_server_url (env->http, "/file.bin");
        g_autofree char *dest2 = xferd_env_path (env, "second.bin");
        const char *headers[] = { "X-Kept: 1", NULL };
        const char *new_headers[] = { "X-New: 1", "X-Other: 2", NULL };
        JobView before = { 0 };

        g_assert_cmpint (xferd_env_mount_tmpfs (env, state, 0, "size=1m,mode=0700"), ==, 0);

        g_autofree char *job = xferd_create_job (env->fx, "before", NULL);
        job_set (env->fx, job, "Description", g_variant_new_string ("kept"));
        g_autoptr(GVariant) r0 = bus_call_job (env->fx, job, "SetHttpHeaders", g_variant_new ("(^as)", headers),
                                               G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        xferd_add_file (env->fx, job, url, env->dest);
        job_view_read (env->fx, job, &before);
        g_assert_cmpstr (before.state, ==, "suspended");

        g_autofree char *filler = fill_up (state);

        g_autoptr(GVariant) r1 = bus_call_job (env->fx, job, "SetHttpHeaders", g_variant_new ("(^as)", new_headers),
                                               G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        g_autoptr(GVariant) r2 = bus_call_job (env->fx, job, "AddFile", g_variant_new ("(ss)", url, dest2),
                                               G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        const char *files[][2] = { { url, dest2 } };
        g_autoptr(GVariant) r3 = bus_call_job (env->fx, job, "AddFiles",
                                               g_variant_new_parsed ("([(%s, %s)],)", files[0][0], files[0][1]),
                                               G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        g_autoptr(GVariant) r4 = bus_call_job (env->fx, job, "Resume", NULL, G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "DisplayName",
                                          g_variant_new_string ("after"), &error));
        assert_store_error (error, state);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "Description",
                                          g_variant_new_string ("lost"), &error));
        assert_store_error (error, state);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "Priority",
                                          g_variant_new_string ("low"), &error));
        assert_store_error (error, state);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "MinimumRetryDelay",
                                          g_variant_new_uint32 (1234), &error));
        assert_store_error (error, state);
        g_autoptr(GVariant) r5 = bus_call_job (env->fx, job, "Cancel", NULL, G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        g_autoptr(GVariant) r7 = bus_call_job (env->fx, job, "Suspend", NULL, G_VARIANT_TYPE_UNIT, &error);
        assert_store_error (error, state);
        g_autoptr(GVariant) r8 = bus_call_job (env->fx, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"), &error);
        assert_store_error (error, state);
        g_autoptr(GVariant) r6 = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "new", NULL),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        assert_store_error (error, state);
        /* A Download bound to its caller's connection: refused, and the caller's departure
         * finds nothing of the job that was never stored (its binding once kept the freed job,
         * and the departure walked it). */
        GDBusConnection *client = bus_connect (env->fx->address);
        g_autofree char *client_name = g_strdup (g_dbus_connection_get_unique_name (client));
        GVariantBuilder bound;
        guint from = 0;

        g_variant_builder_init (&bound, G_VARIANT_TYPE ("a{sv}"));
        g_variant_builder_add (&bound, "{sv}", "cancel-when-owner-gone", g_variant_new_boolean (TRUE));
        g_autoptr(GVariant) r9 = g_dbus_connection_call_sync (client, XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                                              XFERD_MANAGER_IFACE, "Download",
                                                              g_variant_new ("(ssa{sv})", url, dest2, &bound),
                                                              G_VARIANT_TYPE ("(so)"), G_DBUS_CALL_FLAGS_NONE,
                                                              WAIT_TIMEOUT_MS, NULL, &error);
        assert_store_error (error, state);
        g_dbus_connection_close_sync (client, NULL, NULL);
        g_object_unref (client);
        g_assert_true (bus_wait_name_lost (env->fx, &from, client_name, WAIT_TIMEOUT_MS));

        assert_job_view (env->fx, job, &before);
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (jobs), ==, 1);

        /* Room again, and a restart: the store says what the replies said. */
        g_assert_no_errno (unlink (filler));
        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        assert_job_view (env->fx, job, &before);
        g_autoptr(GVariant) jobs_after = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (jobs_after), ==, 1);

        /* And it works again. */
        job_set (env->fx, job, "DisplayName", g_variant_new_string ("after"));
        assert_job_string (env->fx, job, "DisplayName", "after");
        job_view_clear (&before);
}

/* A state directory xferd cannot write at start: no silent memory-only mode, but a log line
 * and an exit with a failure status (D-Bus activation reports it to the caller). */
static void
test_store_read_only_at_start (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *state = xferd_process_state_dir (env->fx);

        if (geteuid () == 0) {
                g_assert_cmpint (xferd_env_mount_tmpfs (env, state, MS_RDONLY, "size=64k,mode=0700"), ==, 0);
        } else {
                g_assert_no_errno (chmod (state, 0500));
        }

        g_autoptr(GVariant) r1 = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "ro", NULL),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        g_assert_nonnull (error);
        g_autofree char *remote = g_dbus_error_get_remote_error (error);
        g_test_message ("activation: %s: %s", remote, error->message);
        g_assert_cmpstr (remote, ==, bus_fixture_on_broker (env->fx) ? "org.freedesktop.DBus.Error.NameHasNoOwner"
                                                                      : "org.freedesktop.DBus.Error.Spawn.ChildExited");
        g_assert_true (xferd_log_wait (env->log, "Cannot open the job store", 1, WAIT_TIMEOUT_MS));
        g_autofree char *said = xferd_log_grep (env->log, "Cannot open the job store");
        g_assert_nonnull (strstr (said, state));
        int status = 0;
        g_assert_cmpint (bus_fixture_take_xferd_failure (env->fx, &status, WAIT_TIMEOUT_MS), >, 0);
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), ==, EXIT_FAILURE);
        if (geteuid () != 0)
                g_assert_no_errno (chmod (state, 0700));
}

/* ============================================== 5. valid UTF-8, always */

/* Every way a client reads a job works and gives clean text: Get of each text property,
 * GetAll, GetManagedObjects, ListJobs. */
static void
assert_job_readable (BusFixture *fx, const char *job)
{
        static const char *const texts[] = { "ErrorName", "ErrorMessage", "DisplayName", "Description", NULL };
        g_autoptr(GError) error = NULL;

        for (guint i = 0; texts[i]; i++) {
                g_autoptr(GVariant) v = bus_get_property (fx, job, XFERD_JOB_IFACE, texts[i], &error);
                g_assert_no_error (error);
                assert_variant_clean (v);
        }
        g_autoptr(GVariant) all = get_all (fx, job, &error);
        g_assert_no_error (error);
        assert_variant_clean (all);
        g_autoptr(GVariant) objects = get_managed_objects (fx, &error);
        g_assert_no_error (error);
        assert_variant_clean (objects);
        g_autofree char *objects_text = g_variant_print (objects, FALSE);
        g_assert_nonnull (strstr (objects_text, job));
        g_autoptr(GVariant) jobs = xferd_list_jobs (fx);
        assert_variant_clean (jobs);
}

static void
assert_failed_signal_clean (BusFixture *fx, const char *job)
{
        const RecordedSignal *failed = bus_wait_signal (fx, NULL, job, XFERD_JOB_IFACE, "Failed",
                                                        NULL, NULL, WAIT_TIMEOUT_MS);
        g_assert_nonnull (failed);
        assert_variant_clean (failed->params);
}

#define HOSTILE_REASON "Bad \xff reason \033[2J\033]0;owned\a \xef\xbf\xbe \xc3"

/* A server whose reason phrase holds an invalid byte, escape sequences, a noncharacter (U+FFFE:
 * valid UTF-8 that sd-bus refuses to send or read) and a cut character. */
static void
test_utf8_reason (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 1000);

        http_server_fail (env->http, "/file.bin", 404, HOSTILE_REASON, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "error");
        assert_job_readable (env->fx, job);
        assert_failed_signal_clean (env->fx, job);
        g_autofree char *message = job_get_string (env->fx, job, "ErrorMessage");
        g_test_message ("ErrorMessage: %s", message);
        g_assert_nonnull (strstr (message, "404"));
        g_assert_nonnull (strstr (message, "Bad " SAFE_REPLACEMENT " reason"));

        /* xferctl shows it without a control character. */
        g_autofree char *out = NULL;
        if (g_getenv ("XFERCTL_BINARY")) {
                g_assert_cmpint (xferctl_run (env, &out, NULL, "info", xferd_job_id (job), NULL), ==, 0);
                g_assert_null (strchr (out, '\033'));
                g_assert_null (strchr (out, '\a'));
                g_assert_true (g_utf8_validate (out, -1, NULL));
        }
}

/* The same for a job of another user, read by its owner and by root, on the system bus. */
static void
test_utf8_reason_owner_and_root (void)
{
        if (!test_needs_root_and_users ())
                return;
        BusFixtureOptions options = { .system_bus = TRUE };
        g_autoptr(XferdEnv) env = xferd_env_new_serving (&options, "/file.bin", 1000);
        g_autoptr(BusClient) a = bus_client_new (env->fx, USER_A);
        g_autoptr(GError) error = NULL;
        struct passwd *pw = getpwnam (USER_A);

        g_assert_no_errno (chown (env->dir, pw->pw_uid, pw->pw_gid));
        http_server_fail (env->http, "/file.bin", 404, HOSTILE_REASON, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = bus_client_create_job (a, "hostile", NULL);
        bus_client_add_file (a, job, env->url, env->dest);
        bus_client_subscribe (a);
        bus_client_job_call (a, job, "Resume");
        job_wait_state (env->fx, job, "error");

        /* Root. */
        assert_job_readable (env->fx, job);
        assert_failed_signal_clean (env->fx, job);
        /* The owner. */
        g_autoptr(GVariant) message = bus_client_get_property (a, job, XFERD_JOB_IFACE, "ErrorMessage", &error);
        g_assert_no_error (error);
        assert_variant_clean (message);
        g_autoptr(GVariant) all = bus_client_call (a, job, "org.freedesktop.DBus.Properties", "GetAll",
                                                   g_variant_new ("(s)", XFERD_JOB_IFACE), NULL, &error);
        g_assert_no_error (error);
        assert_variant_clean (all);
        g_autoptr(GVariant) objects = bus_client_call (a, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                       "GetManagedObjects", NULL, NULL, &error);
        g_assert_no_error (error);
        assert_variant_clean (objects);
        g_autoptr(GVariant) signals = bus_client_signals (a);
        g_autofree char *signals_text = g_variant_print (signals, FALSE);
        g_assert_nonnull (strstr (signals_text, "'Failed'"));
        assert_variant_clean (signals);
}

/* n copies of a 2-byte character after a 1-byte prefix or none: one of the two puts every
 * byte cut of a message inside a character. */
static char *
long_url (HttpServer *http, guint n, gboolean odd)
{
        g_autoptr(GString) path = g_string_new (odd ? "/x" : "/");

        for (guint i = 0; i < n; i++)
                g_string_append (path, "é");
        return http_server_url (http, path->str);
}

/* A URL of 1000 non-ASCII characters: the messages that name it are cut, and still valid. */
static void
test_utf8_long_url (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autoptr(GError) error = NULL;

        for (int odd = 0; odd <= 1; odd++) {
                g_autofree char *url = long_url (env->http, 1000 - odd, odd);
                g_autofree char *dest = xferd_env_path (env, odd ? "odd.bin" : "even.bin");
                g_assert_cmpuint (g_utf8_strlen (url, -1), >=, 1000);

                /* Not on the server: 404, with the URL in ErrorMessage. */
                g_autofree char *job = xferd_download (env->fx, url, dest, FALSE, NULL);
                job_wait_state (env->fx, job, "error");
                assert_job_readable (env->fx, job);
                assert_failed_signal_clean (env->fx, job);

                /* Refused URLs of the same length: the error reply names them, cut. */
                g_autofree char *no_host = g_strconcat ("http:///", strchr (url + 7, '/') + 1, NULL);
                g_autofree char *bad_ipv6 = g_strconcat ("http://[", strchr (url + 7, '/') + 1, NULL);
                const char *refused[] = { no_host, bad_ipv6, NULL };
                for (guint i = 0; refused[i]; i++) {
                        g_autofree char *other = xferd_create_job (env->fx, "refused", NULL);
                        g_autoptr(GVariant) r = bus_call_job (env->fx, other, "AddFile",
                                                              g_variant_new ("(ss)", refused[i], dest),
                                                              G_VARIANT_TYPE_UNIT, &error);
                        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
                        g_autofree char *text = error_text (error);
                        g_assert_true (text_is_clean ("the error message", text));
                        g_assert_nonnull (strstr (text, "URL"));
                        g_clear_error (&error);
                }
        }
}

/* Stops xferd (SIGTERM: its store is closed as it is), then changes one row of its store with
 * sql. */
static void
store_edit_one_row (BusFixture *fx, const char *sql)
{
        g_autofree char *state = xferd_process_state_dir (fx);
        g_autofree char *db_path = g_build_filename (state, "xferd.db", NULL);
        sqlite3 *db = NULL;

        pid_t pid = xferd_process_pid (fx);
        g_assert_cmpint (pid, >, 0);
        g_assert_no_errno (kill (pid, SIGTERM));
        g_assert_true (xferd_process_wait_gone (fx, pid, 0, WAIT_TIMEOUT_MS));
        g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_changes (db), ==, 1);
        sqlite3_close (db);
}

/* Texts an older xferd stored as they came (an invalid byte, a control character, a
 * noncharacter sd-bus refuses) are clean once loaded: every way of reading the job works,
 * ListJobs (whose rows take display names without sd-bus's check) and xferctl's list too. */
static void
test_utf8_stored_texts (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *job = xferd_create_job (env->fx, "plain", NULL);

        store_edit_one_row (env->fx, "UPDATE jobs SET display_name = CAST(X'61efbfbe62ff63' AS TEXT), "
                                     "description = CAST(X'641b5b324aefb79065' AS TEXT)");

        /* Activated again by the calls. */
        assert_job_readable (env->fx, job);
        g_autofree char *name = job_get_string (env->fx, job, "DisplayName");
        g_assert_cmpstr (name, ==, "a" SAFE_REPLACEMENT "b" SAFE_REPLACEMENT "c");
        g_autofree char *description = job_get_string (env->fx, job, "Description");
        g_assert_cmpstr (description, ==, "d" SAFE_REPLACEMENT "[2J" SAFE_REPLACEMENT "e");

        g_autofree char *out = NULL;
        if (g_getenv ("XFERCTL_BINARY")) {
                g_assert_cmpint (xferctl_run (env, &out, NULL, "list", NULL), ==, 0);
                g_assert_nonnull (strstr (out, xferd_job_id (job)));
        }
}

/* A stored id xferd would not make (here bytes that are not UTF-8): the row is skipped and
 * never sent (dbus-daemon would drop xferd's connection for it); the other job is served, by
 * the same xferd. */
static void
test_stored_foreign_id (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *good = xferd_create_job (env->fx, "good", NULL);
        g_autofree char *bad = xferd_create_job (env->fx, "bad", NULL);
        /* Still 32 bytes, the first one not UTF-8. */
        g_autofree char *sql = g_strdup_printf ("UPDATE jobs SET id = CAST(X'ff' AS TEXT) || substr(id, 2) "
                                                "WHERE id = '%s'", xferd_job_id (bad));

        store_edit_one_row (env->fx, sql);
        /* Activated again by the call. */
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_assert_cmpuint (g_variant_n_children (jobs), ==, 1);
        pid_t pid = xferd_process_pid (env->fx);
        g_assert_true (xferd_lists_job (env->fx, xferd_job_id (good)));
        assert_job_readable (env->fx, good);
        g_assert_cmpint (xferd_process_pid (env->fx), ==, pid);
}

/* Control characters: refused in a display name or description a client sets; replaced in
 * one xferd makes from a file name; never printed raw by xferctl. */
static void
test_control_characters (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 1000);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) r1 = bus_call_manager (env->fx, "CreateJob",
                                                   g_variant_new ("(sa{sv})", "name\033[2J", NULL),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_clear_error (&error);

        g_autofree char *job = xferd_create_job (env->fx, "plain", NULL);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "Description",
                                          g_variant_new_string ("line\nbreak\a"), &error));
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_clear_error (&error);
        g_assert_false (bus_set_property (env->fx, job, XFERD_JOB_IFACE, "DisplayName",
                                          g_variant_new_string ("\xc2\x9b" "31m"), &error));
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_clear_error (&error);

        /* Download names the job after the file, which may hold anything a file name may. */
        g_autofree char *dest = xferd_env_path (env, "evil\033[31m\a.bin");
        g_autofree char *dl = xferd_download (env->fx, env->url, dest, FALSE, NULL);
        g_autofree char *name = job_get_string (env->fx, dl, "DisplayName");
        g_assert_true (text_is_clean ("DisplayName", name));
        assert_job_readable (env->fx, dl);
        job_wait_state (env->fx, dl, "transferred");

        /* xferctl: the list and the job, with its files. */
        const char *const verbs[][2] = { { "list", NULL }, { "info", xferd_job_id (dl) }, { "files", xferd_job_id (dl) } };
        if (!g_getenv ("XFERCTL_BINARY"))
                return;
        for (guint i = 0; i < G_N_ELEMENTS (verbs); i++) {
                g_autofree char *out = NULL;
                g_assert_cmpint (xferctl_run (env, &out, NULL, verbs[i][0], verbs[i][1], NULL), ==, 0);
                g_assert_null (strchr (out, '\033'));
                g_assert_null (strchr (out, '\a'));
        }
}

/* ===================================================== 6. no secrets */

/* Jobs whose URLs carry a user, a password and a token fail in every way (an HTTP error, a
 * redirect to one, no server at all, bad URLs); not one log line, property, signal or error
 * shows any of the three. */
static void
test_no_secrets (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
        guint16 port = http_server_get_port (env->http);
        g_autofree char *url_401 = secret_url (port, "/401");
        g_autofree char *url_redirect = secret_url (port, "/redirect");
        g_autofree char *url_refused = secret_url (1, "/x");
        g_autofree char *dest = NULL;

        http_server_fail (env->http, "/401", 401, NULL, -1, HTTP_SERVER_FOREVER);
        http_server_redirect (env->http, "/redirect", 302, url_401);

        dest = xferd_env_path (env, "401.bin");
        g_ptr_array_add (jobs, xferd_download (env->fx, url_401, dest, FALSE, NULL));
        job_wait_state (env->fx, g_ptr_array_index (jobs, 0), "error");
        g_free (dest);
        dest = xferd_env_path (env, "redirect.bin");
        g_ptr_array_add (jobs, xferd_download (env->fx, url_redirect, dest, FALSE, NULL));
        job_wait_state (env->fx, g_ptr_array_index (jobs, 1), "error");
        g_free (dest);
        dest = xferd_env_path (env, "refused.bin");
        g_ptr_array_add (jobs, xferd_download (env->fx, url_refused, dest, FALSE, NULL));
        job_wait_state (env->fx, g_ptr_array_index (jobs, 2), "transient-error");

        /* URLs refused by AddFile, and calls that fail on a job. */
        const char *const bad[] = {
                "http://" SECRET_USER ":" SECRET_PASSWORD "@/x?token=" SECRET_TOKEN,
                "ftp://" SECRET_USER ":" SECRET_PASSWORD "@127.0.0.1/x?token=" SECRET_TOKEN,
                "http://" SECRET_USER ":" SECRET_PASSWORD "@[bad/x?token=" SECRET_TOKEN,
                "http://" SECRET_USER ":" SECRET_PASSWORD "@127.0.0.1/x y?token=" SECRET_TOKEN,
                NULL
        };
        g_autofree char *other = xferd_create_job (env->fx, "bad urls", NULL);
        for (guint i = 0; bad[i]; i++) {
                g_autoptr(GVariant) r = bus_call_job (env->fx, other, "AddFile", g_variant_new ("(ss)", bad[i], dest),
                                                      G_VARIANT_TYPE_UNIT, &error);
                g_assert_nonnull (error);
                g_ptr_array_add (errors, g_strdup (error->message));
                g_clear_error (&error);
        }
        g_autoptr(GVariant) r2 = bus_call_manager (env->fx, "Download",
                                                   g_variant_new ("(ssa{sv})", bad[0], dest, NULL),
                                                   G_VARIANT_TYPE ("(so)"), &error);
        g_assert_nonnull (error);
        g_ptr_array_add (errors, g_strdup (error->message));
        g_clear_error (&error);
        /* The same URL twice in one job. */
        xferd_add_file (env->fx, other, url_401, dest);
        g_autoptr(GVariant) r3 = bus_call_job (env->fx, other, "AddFile", g_variant_new ("(ss)", url_401, dest),
                                               G_VARIANT_TYPE_UNIT, &error);
        g_assert_nonnull (error);
        g_ptr_array_add (errors, g_strdup (error->message));
        g_clear_error (&error);
        g_ptr_array_add (jobs, g_strdup (other));

        /* Every error. */
        for (guint i = 0; i < errors->len; i++)
                assert_no_secret ("an error reply", g_ptr_array_index (errors, i));
        /* Every property of every job, and the object tree. */
        for (guint i = 0; i < jobs->len; i++)
                assert_job_shows_no_secret (env->fx, g_ptr_array_index (jobs, i));
        g_autoptr(GVariant) objects = get_managed_objects (env->fx, &error);
        g_assert_no_error (error);
        g_autofree char *objects_text = g_variant_print (objects, FALSE);
        assert_no_secret ("GetManagedObjects", objects_text);
        /* Every signal. */
        assert_signals_show_no_secret (env->fx);
        /* Cancelling and completing log too. */
        for (guint i = 0; i < jobs->len; i++)
                xferd_job_call (env->fx, g_ptr_array_index (jobs, i), "Cancel");
        /* Every log line, at debug level, of xferd from its start to its exit. */
        xferd_process_kill (env->fx);
        assert_log_shows_no_secret (env->log, "/401");
}

/* ================================================= 8. smaller findings */

/* ErrorName and ErrorMessage are empty in every state but error and transient-error. */
static void
test_error_cleared (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 1000);
        g_autofree char *dest2 = xferd_env_path (env, "two.bin");
        g_autofree char *dest3 = xferd_env_path (env, "three.bin");

        /* error → Suspend → suspended */
        http_server_fail (env->http, "/file.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "error");
        g_autofree char *name = job_get_string (env->fx, job, "ErrorName");
        g_assert_cmpstr (name, !=, "");
        xferd_job_call (env->fx, job, "Suspend");
        assert_job_string (env->fx, job, "ErrorName", "");
        assert_job_string (env->fx, job, "ErrorMessage", "");

        /* error → Cancel → cancelled (the object stays for the retention time) */
        g_autofree char *job2 = xferd_download (env->fx, env->url, dest2, FALSE, NULL);
        job_wait_state (env->fx, job2, "error");
        xferd_job_call (env->fx, job2, "Cancel");
        assert_job_string (env->fx, job2, "ErrorName", "");
        assert_job_string (env->fx, job2, "ErrorMessage", "");

        /* transient-error → Suspend → suspended, and after a restart still empty */
        http_server_fail (env->http, "/file.bin", 503, NULL, 3600, HTTP_SERVER_FOREVER);
        g_autofree char *job3 = xferd_download (env->fx, env->url, dest3, FALSE, NULL);
        job_wait_state (env->fx, job3, "transient-error");
        xferd_job_call (env->fx, job3, "Suspend");
        assert_job_string (env->fx, job3, "ErrorName", "");
        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        assert_job_string (env->fx, job3, "ErrorName", "");
        assert_job_string (env->fx, job3, "ErrorMessage", "");
        assert_job_string (env->fx, job, "ErrorName", "");
}

/* A URL without a host is refused, whatever libcurl would make of it ("http:///etc/passwd"
 * is "http://etc/passwd" to it). */
static void
test_empty_host (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "hosts", NULL);
        const char *const urls[] = {
                "http:///etc/passwd", "https:///etc/passwd", "http:/etc/passwd", "http:etc/passwd",
                "http://@/x", "http://:80/x", "http://user@/x", "http://", NULL
        };

        for (guint i = 0; urls[i]; i++) {
                g_autoptr(GVariant) r = bus_call_job (env->fx, job, "AddFile", g_variant_new ("(ss)", urls[i], env->dest),
                                                      G_VARIANT_TYPE_UNIT, &error);
                g_test_message ("%s", urls[i]);
                bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
                g_clear_error (&error);
        }
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 0);
}

typedef enum {
        DAMAGE_NEWER_VERSION,   /* a schema this xferd does not know */
        DAMAGE_INDEX_PAGE,      /* one page of an index overwritten: the integrity check fails */
} Damage;

static void
damage_store (const char *db_path, Damage damage)
{
        if (damage == DAMAGE_NEWER_VERSION) {
                /* The header's user_version (bytes 60–63, big-endian). */
                int fd = open (db_path, O_WRONLY | O_CLOEXEC);
                const guint8 version[4] = { 0, 0, 0, 99 };
                g_assert_cmpint (fd, >=, 0);
                g_assert_cmpint (pwrite (fd, version, 4, 60), ==, 4);
                g_assert_no_errno (close (fd));
                return;
        }

        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int page = 0, page_size = 0;
        g_autofree char *uri = g_strdup_printf ("file:%s?immutable=1", db_path);
        g_assert_cmpint (sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), ==, SQLITE_OK);
        /* The index of the files' key (job, index). */
        g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND "
                                             "tbl_name = 'files'", -1, &st, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
        page = sqlite3_column_int (st, 0);
        sqlite3_finalize (st);
        g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA page_size", -1, &st, NULL), ==, SQLITE_OK);
        g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
        page_size = sqlite3_column_int (st, 0);
        sqlite3_finalize (st);
        sqlite3_close (db);
        g_assert_cmpint (page, >, 1);

        g_autofree guint8 *garbage = g_malloc (page_size);
        memset (garbage, 0xa5, page_size);
        int fd = open (db_path, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint (fd, >=, 0);
        g_assert_cmpint (pwrite (fd, garbage, page_size, (off_t) (page - 1) * page_size), ==, page_size);
        g_assert_no_errno (close (fd));
}

/* A store moved aside (corrupt, or from a newer xferd) held jobs with temporary files: their
 * jobs are lost with it, their temporary files must not be. */
static void
test_broken_store_temporaries (gconstpointer data)
{
        Damage damage = GPOINTER_TO_INT (data);
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(XferdEnv) env = xferd_env_new_logged (&options);
        g_autofree char *state = xferd_process_state_dir (env->fx);
        g_autofree char *db_path = g_build_filename (state, "xferd.db", NULL);
        g_autofree char *dest2 = xferd_env_path (env, "second.bin");

        xferd_env_serve (env, "/file.bin", 200000);
        http_server_stall_after (env->http, "/file.bin", 50000);

        /* A partial file, and a finished one, both only in temporary files. */
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, 50000);
        xferd_job_call (env->fx, job, "Suspend");
        http_server_release (env->http, "/file.bin");
        g_autofree char *job2 = xferd_download (env->fx, env->url, dest2, FALSE, NULL);
        job_wait_state (env->fx, job2, "transferred");
        g_autofree char *temp2 = xferd_temp_path (env->fx, job2, 0);
        g_assert_true (g_file_test (temp, G_FILE_TEST_EXISTS));
        g_assert_true (g_file_test (temp2, G_FILE_TEST_EXISTS));

        /* Both suspended and transferred jobs let xferd exit when idle: the store is closed. */
        pid_t pid = xferd_process_pid (env->fx);
        g_assert_true (xferd_process_wait_gone (env->fx, pid, 0, WAIT_TIMEOUT_MS));
        damage_store (db_path, damage);

        xferd_process_start (env->fx);
        g_assert_true (xferd_log_wait (env->log, "moved it to", 1, WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, "left from before", 2, WAIT_TIMEOUT_MS));
        g_auto(GStrv) names = list_dir (env->dir);
        g_autofree char *listing = g_strjoinv (", ", names);
        g_assert_cmpstr (listing, ==, "");
}

const TestCase test_cases[] = {
        { "/hardening/limits/headers-count", test_headers_count },
        { "/hardening/limits/headers-bytes-per-job", test_headers_bytes_per_job },
        { "/hardening/limits/headers-setting", test_headers_setting },
        { "/hardening/limits/headers-per-user", test_headers_per_user },
        { "/hardening/limits/headers-dropped-when-final", test_headers_dropped_when_final },
        { "/hardening/limits/add-files-user", test_add_files_limit_user },
        { "/hardening/limits/option-dict", test_option_dict },
        { "/hardening/limits/strings", test_string_limits },
        { "/hardening/store/full", test_store_full },
        { "/hardening/store/read-only-at-start", test_store_read_only_at_start },
        { "/hardening/utf8/reason", test_utf8_reason },
        { "/hardening/utf8/reason-owner-and-root", test_utf8_reason_owner_and_root },
        { "/hardening/utf8/long-url", test_utf8_long_url },
        { "/hardening/utf8/control-characters", test_control_characters },
        { "/hardening/utf8/stored-texts", test_utf8_stored_texts },
        { "/hardening/utf8/stored-foreign-id", test_stored_foreign_id },
        { "/hardening/secrets", test_no_secrets },
        { "/hardening/error-cleared", test_error_cleared },
        { "/hardening/empty-host", test_empty_host },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/hardening/broken-store-temporaries/newer-version", test_broken_store_temporaries,
          GINT_TO_POINTER (DAMAGE_NEWER_VERSION) },
        { "/hardening/broken-store-temporaries/damaged-page", test_broken_store_temporaries,
          GINT_TO_POINTER (DAMAGE_INDEX_PAGE) },
        { NULL, NULL, NULL }
};
