/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Downloads end to end through the real xferd: byte-exact content, the
 * hidden temporary file before Complete, the final mode, state signals,
 * Suspend/Resume keeping partial data, several files, request headers.
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "xferd-env.h"

#define SIZE (1024 * 1024 + 123)   /* several curl writes, not a round number */
#define STALL (256 * 1024)

/* Auto-complete (the default): the file appears by itself, byte-exact,
 * mode 0644, with nothing else left in the directory. */
static void
test_auto_complete (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, TRUE, &id);

        g_assert_nonnull (bus_wait_signal (env->fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew",
                                           xferd_match_job_new, id, WAIT_TIMEOUT_MS));
        g_autofree char *final_state = xferd_wait_job_removed (env->fx, id);
        g_assert_cmpstr (final_state, ==, "acknowledged");

        const char *const names[] = { "file.bin", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (env->dest, env->content);
        assert_file_mode (env->dest, 0644);
        g_autofree char *state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "acknowledged");
        g_assert_false (xferd_lists_job (env->fx, id));
        xferd_assert_no_such_job (env->fx, id);
}

/* auto-complete false: only a hidden temporary file in the destination's
 * directory until Complete, then the file with mode 0644. */
static void
test_manual_complete (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);

        job_wait_state (env->fx, job, "transferred");
        g_assert_nonnull (bus_wait_signal (env->fx, NULL, job, XFERD_JOB_IFACE, "Transferred",
                                           NULL, NULL, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, SIZE);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, SIZE);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);
        g_assert_true (xferd_lists_job (env->fx, id));

        /* ListFiles: (env->url, local path, temporary path, total, transferred, completed) */
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) files = bus_call_job (env->fx, job, "ListFiles", NULL,
                                                  G_VARIANT_TYPE ("(a(sssttb))"), &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) entries = g_variant_get_child_value (files, 0);
        g_assert_cmpuint (g_variant_n_children (entries), ==, 1);
        const char *furl, *fpath, *ftemp;
        guint64 total, done;
        gboolean completed;
        g_variant_get_child (entries, 0, "(&s&s&sttb)", &furl, &fpath, &ftemp, &total, &done, &completed);
        g_assert_cmpstr (furl, ==, env->url);
        g_assert_cmpstr (fpath, ==, env->dest);
        g_assert_cmpuint (total, ==, SIZE);
        g_assert_cmpuint (done, ==, SIZE);
        g_assert_true (completed);

        /* The temporary file: hidden, in the destination's directory. */
        g_autofree char *temp_dir = g_path_get_dirname (ftemp);
        g_autofree char *temp_name = g_path_get_basename (ftemp);
        g_assert_cmpstr (temp_dir, ==, env->dir);
        g_assert_true (temp_name[0] == '.');
        const char *const before[] = { temp_name, NULL };
        assert_dir_is (env->dir, before);
        assert_file_content (ftemp, env->content);
        assert_file_mode (ftemp, 0600);

        g_assert_false (xferd_complete (env->fx, job));
        const char *const after[] = { "file.bin", NULL };
        assert_dir_is (env->dir, after);
        assert_file_content (env->dest, env->content);
        assert_file_mode (env->dest, 0644);
        job_wait_state (env->fx, job, "acknowledged");
        g_autofree char *final_state = xferd_wait_job_removed (env->fx, id);
        g_assert_cmpstr (final_state, ==, "acknowledged");
        xferd_assert_no_such_job (env->fx, id);
}

/* Every state change is announced with PropertiesChanged. */
static void
test_state_signals (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        xferd_complete (env->fx, job);
        g_autoptr(GPtrArray) history = job_state_history (env->fx, job);
        g_ptr_array_add (history, NULL);
        g_autofree char *seen = g_strjoinv (" ", (GStrv) history->pdata);
        g_test_message ("State values in PropertiesChanged: %s", seen);

        /* In this order, possibly with others between (queued may be set
         * before the object is announced). */
        static const char *const expected[] = { "connecting", "transferring", "transferred", "acknowledged", NULL };
        guint next = 0;
        for (guint i = 0; history->pdata[i] && expected[next]; i++)
                if (strcmp (history->pdata[i], expected[next]) == 0)
                        next++;
        g_assert_cmpstr (expected[next], ==, NULL);
}

/* Suspend stops the transfer and keeps the partial data; Resume goes on
 * from where it stopped (a Range request) and the result is byte-exact. */
static void
test_suspend_resume (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", SIZE);

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, job, "transferring");
        /* Partial data is private to the owner. */
        assert_file_mode (temp, 0600);

        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        GStatBuf st;
        g_assert_no_errno (g_stat (temp, &st));
        g_assert_cmpint (st.st_size, ==, STALL);
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));

        http_server_release (env->http, "/file.bin");
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 2);
        g_autofree char *range = http_server_last_header (env->http, "/file.bin", "Range");
        g_autofree char *expected_range = g_strdup_printf ("bytes=%u-", STALL);
        g_assert_cmpstr (range, ==, expected_range);

        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (env->dest, env->content);
}

/* Complete replaces an existing destination. */
static void
test_replace_existing (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 4096);
        g_autoptr(GError) error = NULL;

        g_file_set_contents (env->dest, "old content", -1, &error);
        g_assert_no_error (error);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GBytes) old = g_bytes_new_static ("old content", 11);
        assert_file_content (env->dest, old);    /* untouched before Complete */

        g_assert_false (xferd_complete (env->fx, job));
        const char *const names[] = { "file.bin", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (env->dest, env->content);
}

static void
test_empty_file (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autoptr(HttpServer) http = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (http, "/empty", 0);
        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest = g_build_filename (dir, "empty", NULL);
        g_autofree char *url = http_server_url (http, "/empty");
        g_autofree char *job = xferd_download (fx, url, dest, FALSE, NULL);

        job_wait_state (fx, job, "transferred");
        g_assert_false (xferd_complete (fx, job));
        assert_file_content (dest, content);
        assert_file_mode (dest, 0644);
}

/* The files of a job transfer one after another, in the order added. */
static void
test_two_files (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autoptr(HttpServer) http = http_server_new ();
        g_autoptr(GBytes) a = http_server_add_generated (http, "/a", SIZE);
        g_autoptr(GBytes) b = http_server_add_generated (http, "/b", 1000);
        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest_a = g_build_filename (dir, "a", NULL);
        g_autofree char *dest_b = g_build_filename (dir, "b", NULL);
        g_autofree char *url_a = http_server_url (http, "/a");
        g_autofree char *url_b = http_server_url (http, "/b");
        g_autofree char *job = xferd_create_job (fx, "two", NULL);
        g_autoptr(GError) error = NULL;

        /* b is held back: a must finish before b is asked for. */
        http_server_stall_after (http, "/a", SIZE / 2);
        g_autoptr(GVariant) reply = bus_call_job (fx, job, "AddFiles",
                                                  g_variant_new_parsed ("([(%s, %s), (%s, %s)],)",
                                                                        url_a, dest_a, url_b, dest_b),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTotal"), ==, 2);
        xferd_job_call (fx, job, "Resume");
        g_assert_true (http_server_wait_stalled (http, "/a", 1, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (http_server_request_count (http, "/b"), ==, 0);
        http_server_release (http, "/a");
        job_wait_state (fx, job, "transferred");
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTransferred"), ==, 2);
        g_assert_cmpuint (job_get_uint64 (fx, job, "BytesTotal"), ==, SIZE + 1000);

        g_assert_false (xferd_complete (fx, job));
        const char *const names[] = { "a", "b", NULL };
        assert_dir_is (dir, names);
        assert_file_content (dest_a, a);
        assert_file_content (dest_b, b);
}

/* SetHttpHeaders: sent with the requests; only the names are readable. */
static void
test_http_headers (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 100);
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);
        g_autoptr(GError) error = NULL;
        const char *headers[] = { "Authorization: Bearer s3cret", "X-Test: yes", NULL };

        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "SetHttpHeaders",
                                                  g_variant_new ("(^as)", headers),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) names = bus_get_property (env->fx, job, XFERD_JOB_IFACE, "HttpHeaderNames", &error);
        g_assert_no_error (error);
        g_autofree const char **name_list = g_variant_get_strv (names, NULL);
        g_assert_cmpuint (g_strv_length ((GStrv) name_list), ==, 2);
        g_assert_cmpstr (name_list[0], ==, "Authorization");
        g_assert_cmpstr (name_list[1], ==, "X-Test");

        xferd_add_file (env->fx, job, env->url, env->dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_autofree char *auth = http_server_last_header (env->http, "/file.bin", "Authorization");
        g_autofree char *test = http_server_last_header (env->http, "/file.bin", "X-Test");
        g_assert_cmpstr (auth, ==, "Bearer s3cret");
        g_assert_cmpstr (test, ==, "yes");
        xferd_complete (env->fx, job);
        assert_file_content (env->dest, env->content);
}

/* The proxy of the environment (http_proxy, as for curl) carries the request: the origin's
 * name is never resolved (.invalid cannot be), the proxy gets the absolute URL with the
 * origin's Host, and the job's headers go along (they are meant for that origin). The test
 * server plays the proxy and answers from its own content. */
static void
test_through_proxy (void)
{
        g_autoptr(HttpServer) proxy = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (proxy, "/file.bin", SIZE);
        g_autofree char *proxy_url = http_server_url (proxy, "");
        static const char *const names[] = { "http_proxy", "no_proxy", "NO_PROXY" };
        char *saved[G_N_ELEMENTS (names)];

        /* xferd is started by the fixture's dbus-daemon, which keeps this environment. */
        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                saved[i] = g_strdup (g_getenv (names[i]));
                g_unsetenv (names[i]);
        }
        g_setenv ("http_proxy", proxy_url, TRUE);
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
                if (saved[i])
                        g_setenv (names[i], saved[i], TRUE);
                else
                        g_unsetenv (names[i]);
                g_free (saved[i]);
        }

        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest = g_build_filename (dir, "file.bin", NULL);
        g_autofree char *job = xferd_create_job (fx, "proxied", NULL);
        const char *headers[] = { "X-Test: via-proxy", NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (fx, job, "SetHttpHeaders", g_variant_new ("(^as)", headers),
                                                  G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        xferd_add_file (fx, job, "http://origin.invalid/file.bin", dest);
        xferd_job_call (fx, job, "Resume");
        job_wait_state (fx, job, "transferred");

        g_assert_cmpuint (http_server_request_count (proxy, "/file.bin"), ==, 1);
        g_autofree char *host = http_server_last_header (proxy, "/file.bin", "Host");
        g_assert_cmpstr (host, ==, "origin.invalid");
        g_autofree char *test = http_server_last_header (proxy, "/file.bin", "X-Test");
        g_assert_cmpstr (test, ==, "via-proxy");
        g_assert_false (xferd_complete (fx, job));
        assert_file_content (dest, content);
}

/* AddFile on a transferred job: new work, back to suspended; Resume again. */
static void
test_add_file_when_transferred (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autoptr(HttpServer) http = http_server_new ();
        g_autoptr(GBytes) a = http_server_add_generated (http, "/a", 5000);
        g_autoptr(GBytes) b = http_server_add_generated (http, "/b", 7000);
        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest_a = g_build_filename (dir, "a", NULL);
        g_autofree char *dest_b = g_build_filename (dir, "b", NULL);
        g_autofree char *url_a = http_server_url (http, "/a");
        g_autofree char *url_b = http_server_url (http, "/b");
        g_autofree char *job = xferd_download (fx, url_a, dest_a, FALSE, NULL);

        job_wait_state (fx, job, "transferred");
        xferd_add_file (fx, job, url_b, dest_b);
        g_autofree char *state = job_get_string (fx, job, "State");
        g_assert_cmpstr (state, ==, "suspended");
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTransferred"), ==, 1);
        xferd_job_call (fx, job, "Resume");
        job_wait_state (fx, job, "transferred");
        /* The finished file is not fetched again. */
        g_assert_cmpuint (http_server_request_count (http, "/a"), ==, 1);
        g_assert_false (xferd_complete (fx, job));
        assert_file_content (dest_a, a);
        assert_file_content (dest_b, b);
}

/* A new job's properties: the contract's defaults. */
static void
test_new_job_properties (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (fx, "fresh", &id);
        g_autofree char *pid = job_get_string (fx, job, "Id");
        g_autofree char *type = job_get_string (fx, job, "Type");
        g_autofree char *name = job_get_string (fx, job, "DisplayName");
        g_autofree char *state = job_get_string (fx, job, "State");
        g_autofree char *priority = job_get_string (fx, job, "Priority");
        g_autofree char *error_name = job_get_string (fx, job, "ErrorName");

        g_assert_cmpuint (strlen (id), ==, 32);
        g_assert_cmpuint (strspn (id, "0123456789abcdef"), ==, 32);
        g_assert_cmpstr (pid, ==, id);
        g_assert_cmpstr (type, ==, "download");
        g_assert_cmpstr (name, ==, "fresh");
        g_assert_cmpstr (state, ==, "suspended");
        g_assert_cmpstr (priority, ==, "normal");
        g_assert_cmpstr (error_name, ==, "");
        g_assert_cmpuint (job_get_uint32 (fx, job, "Owner"), ==, getuid ());
        g_assert_false (job_get_boolean (fx, job, "AllowInsecureRedirect"));
        g_assert_cmpuint (job_get_uint64 (fx, job, "BandwidthLimit"), ==, 0);
        g_assert_cmpuint (job_get_uint64 (fx, job, "BytesTotal"), ==, 0);
        g_assert_cmpuint (job_get_uint64 (fx, job, "BytesTransferred"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTotal"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "ErrorCount"), ==, 0);
        g_assert_cmpuint (job_get_uint32 (fx, job, "MinimumRetryDelay"), ==, 600);
        g_assert_cmpuint (job_get_uint32 (fx, job, "NoProgressTimeout"), ==, 1209600);
        g_assert_cmpuint (job_get_uint64 (fx, job, "TransferCompletionTime"), ==, 0);
        guint64 created = job_get_uint64 (fx, job, "CreationTime");
        g_assert_cmpuint (created, >, (guint64) g_get_real_time () - 60 * G_USEC_PER_SEC);
        g_assert_cmpuint (created, <=, (guint64) g_get_real_time ());

        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (fx, "GetJob", g_variant_new ("(s)", id),
                                                      G_VARIANT_TYPE ("(o)"), &error);
        g_assert_no_error (error);
        const char *got;
        g_variant_get (reply, "(&o)", &got);
        g_assert_cmpstr (got, ==, job);
        g_assert_true (xferd_lists_job (fx, id));
}

/* Download's options, and its default display name (the file's base name). */
static void
test_download_options (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_serving (NULL, "/file.bin", 100);
        g_autoptr(GError) error = NULL;

        /* Stay away from the network: the point is the properties. */
        http_server_hang (env->http, "/file.bin", HTTP_SERVER_FOREVER);
        g_autofree char *plain = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        g_autofree char *plain_name = job_get_string (env->fx, plain, "DisplayName");
        g_assert_cmpstr (plain_name, ==, "file.bin");
        g_assert_false (job_get_boolean (env->fx, plain, "AutoComplete"));

        g_autofree char *dest2 = g_build_filename (env->dir, "other.bin", NULL);
        g_autoptr(GVariant) reply = bus_call_manager (
                env->fx, "Download",
                g_variant_new_parsed ("(%s, %s, {'display-name': <'My file'>, 'priority': <'low'>,"
                                      " 'description': <'why'>, 'auto-complete': <true>})",
                                      env->url, dest2),
                G_VARIANT_TYPE ("(so)"), &error);
        g_assert_no_error (error);
        const char *job;
        g_variant_get (reply, "(&s&o)", NULL, &job);
        g_autofree char *name = job_get_string (env->fx, job, "DisplayName");
        g_autofree char *priority = job_get_string (env->fx, job, "Priority");
        g_autofree char *description = job_get_string (env->fx, job, "Description");
        g_assert_cmpstr (name, ==, "My file");
        g_assert_cmpstr (priority, ==, "low");
        g_assert_cmpstr (description, ==, "why");
        g_assert_true (job_get_boolean (env->fx, job, "AutoComplete"));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/download/auto-complete", test_auto_complete);
        g_test_add_func ("/download/manual-complete", test_manual_complete);
        g_test_add_func ("/download/state-signals", test_state_signals);
        g_test_add_func ("/download/suspend-resume", test_suspend_resume);
        g_test_add_func ("/download/replace-existing", test_replace_existing);
        g_test_add_func ("/download/empty-file", test_empty_file);
        g_test_add_func ("/download/two-files", test_two_files);
        g_test_add_func ("/download/http-headers", test_http_headers);
        g_test_add_func ("/download/through-proxy", test_through_proxy);
        g_test_add_func ("/download/add-file-when-transferred", test_add_file_when_transferred);
        g_test_add_func ("/download/new-job-properties", test_new_job_properties);
        g_test_add_func ("/download/options", test_download_options);
        return g_test_run ();
}
