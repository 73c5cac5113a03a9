/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failures: fatal HTTP errors, transient errors and retries (with the retry
 * delay floor lowered to 1 s by the fixture), resuming after a dropped
 * connection, and the argument checks of the calls.
 */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (512 * 1024 + 7)
#define DROP (100 * 1000)

static XferdEnv *
env_new_with (const BusFixtureOptions *options)
{
        return xferd_env_new_serving (options, "/file.bin", SIZE);
}

static XferdEnv *
env_new (void)
{
        return env_new_with (NULL);
}

/* xferd_start_job() of the env's file. */
static char *
start_job (XferdEnv *env, guint retry_delay)
{
        return xferd_start_job (env->fx, "errors", env->url, env->dest, retry_delay);
}

static void
complete_and_check (XferdEnv *env, const char *job)
{
        g_assert_false (xferd_complete (env->fx, job));
        assert_dest_complete (env);
}

/* start_job() with the first response cut after DROP bytes. */
static char *
start_job_dropped (XferdEnv *env, guint retry_delay)
{
        http_server_drop_after (env->http, "/file.bin", DROP, 1);
        return start_job (env, retry_delay);
}

/* The job took `requests` requests, the last one for the bytes from DROP on; then Complete and
 * the file byte-exact. */
static void
assert_resumed_after_drop (XferdEnv *env, const char *job, guint requests)
{
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, requests);
        assert_last_range (env->http, "/file.bin", DROP);
        complete_and_check (env, job);
}

static gboolean
contains (GPtrArray *states, const char *state)
{
        for (guint i = 0; i < states->len; i++)
                if (strcmp (g_ptr_array_index (states, i), state) == 0)
                        return TRUE;
        return FALSE;
}

/* 404: error, ErrorName Http, the status in the message, Failed emitted. */
static void
test_http_404 (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        http_server_fail (env->http, "/file.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "error");

        job_assert_error (env->fx, job, "Http", "404");
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "ErrorCount"), >=, 1);

        const RecordedSignal *failed = bus_wait_signal (env->fx, NULL, job, XFERD_JOB_IFACE, "Failed",
                                                        NULL, NULL, WAIT_TIMEOUT_MS);
        g_assert_nonnull (failed);
        const char *sig_name, *sig_message;
        g_variant_get (failed->params, "(&s&s)", &sig_name, &sig_message);
        g_assert_cmpstr (sig_name, ==, XFERD_ERROR ("Http"));
        /* Signals are broadcast: the status, but never the URL. */
        g_assert_nonnull (strstr (sig_message, "404"));
        g_assert_null (strstr (sig_message, "127.0.0.1"));

        /* Fatal: no retry. */
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));
}

/* 503 once, then 200: transient-error, a retry, transferred. */
static void
test_503_then_200 (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        /* Retry-After keeps the job in transient-error long enough to read
         * the error properties without a race. */
        http_server_fail (env->http, "/file.bin", 503, "Busy", 2, 1);
        g_autofree char *job = start_job (env, 1);
        job_wait_state (env->fx, job, "transient-error");
        job_assert_error (env->fx, job, "Http", "503");

        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 2);
        g_autoptr(GPtrArray) history = job_state_history (env->fx, job);
        g_assert_true (contains (history, "transient-error"));
        /* Error properties are empty outside error states. */
        assert_job_string (env->fx, job, "ErrorName", "");
        complete_and_check (env, job);
}

/* A PropertiesChanged whose State is data. */
static gboolean
tells_state (const RecordedSignal *sig, gpointer data)
{
        const char *iface, *state = NULL;
        g_autoptr(GVariant) changed = NULL;
        g_autofree const char **invalidated = NULL;

        g_variant_get (sig->params, "(&s@a{sv}^a&s)", &iface, &changed, &invalidated);
        return g_variant_lookup (changed, "State", "&s", &state) && g_str_equal (state, data);
}

/* A job's signals leave out the error and retry properties (and the cache's bytes, the
 * completion time) while they stay zero or empty, as its InterfacesAdded told them; they come
 * again when they change, either way; and what the signals said of every property of a state
 * change (its InterfacesAdded, then its PropertiesChanged) is what Get answers once the job is
 * transferred. */
static void
test_signals_leave_out_zero (void)
{
        static const char *const state_properties[] = {
                "State", "ModificationTime", "TransferCompletionTime", "ErrorName", "ErrorCount",
                "NextRetryTime", "BytesTransferred", "BytesTotal", "FilesTransferred", "FilesTotal",
                "CurrentFile", "Rate", "ExpectedEndTime", "WaitReason", "BytesFromCache", "BytesFromOrigin",
                NULL,
        };
        g_autoptr(XferdEnv) env = env_new ();
        g_autoptr(GHashTable) last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_variant_unref);
        guint states = 0;
        gboolean failed = FALSE, cleared = FALSE;

        http_server_fail (env->http, "/file.bin", 503, "Busy", 2, 1);
        g_autofree char *job = start_job (env, 1);
        job_wait_state (env->fx, job, "transferred");
        /* Get may answer the state before this test has read the signal that tells it (the
         * signal goes out at the end of the daemon's loop iteration): the signals are read
         * up to that one. */
        g_assert_nonnull (bus_wait_signal (env->fx, NULL, job, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                           tells_state, (gpointer) "transferred", WAIT_TIMEOUT_MS));

        for (guint i = 0; i < env->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                const char *object = NULL;
                if (g_strcmp0 (sig->member, "InterfacesAdded") == 0) {
                        g_autoptr(GVariant) ifaces = NULL, props = NULL;
                        GVariantIter iter;
                        const char *name;
                        GVariant *value;

                        g_variant_get (sig->params, "(&o@a{sa{sv}})", &object, &ifaces);
                        if (g_strcmp0 (object, job) != 0)
                                continue;
                        props = g_variant_lookup_value (ifaces, XFERD_JOB_IFACE, G_VARIANT_TYPE_VARDICT);
                        g_assert_nonnull (props);
                        g_variant_iter_init (&iter, props);
                        while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
                                g_hash_table_replace (last, g_strdup (name), value);
                        continue;
                }
                if (g_strcmp0 (sig->path, job) != 0 || g_strcmp0 (sig->member, "PropertiesChanged") != 0)
                        continue;
                const char *iface, *state = NULL, *error_name = NULL;
                guint64 next_retry = 0;
                g_autoptr(GVariant) changed = NULL;
                g_autofree const char **invalidated = NULL;
                g_variant_get (sig->params, "(&s@a{sv}^a&s)", &iface, &changed, &invalidated);
                g_autoptr(GVariant) count = g_variant_lookup_value (changed, "ErrorCount", NULL);
                if (g_variant_lookup (changed, "State", "&s", &state)) {
                        states++;
                        if (g_str_equal (state, "transient-error")) {
                                g_assert_true (g_variant_lookup (changed, "ErrorName", "&s", &error_name));
                                g_assert_cmpstr (error_name, ==, XFERD_ERROR ("Http"));
                                g_assert_nonnull (count);
                                g_assert_true (g_variant_lookup (changed, "NextRetryTime", "t", &next_retry));
                                g_assert_cmpuint (next_retry, >, 0);
                                failed = TRUE;
                        } else if (failed && !cleared) {
                                /* The next state: no error, no retry pending, one failure. */
                                g_assert_true (g_variant_lookup (changed, "ErrorName", "&s", &error_name));
                                g_assert_cmpstr (error_name, ==, "");
                                g_assert_true (g_variant_lookup (changed, "NextRetryTime", "t", &next_retry));
                                g_assert_cmpuint (next_retry, ==, 0);
                                g_assert_nonnull (count);
                                cleared = TRUE;
                        } else if (!failed) {
                                /* Still 0, as the job's InterfacesAdded said. */
                                g_assert_null (count);
                        }
                }
                GVariantIter iter;
                const char *name;
                GVariant *value;
                g_variant_iter_init (&iter, changed);
                while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
                        g_hash_table_replace (last, g_strdup (name), value);
        }
        g_assert_cmpuint (states, >=, 5);
        g_assert_true (failed);
        g_assert_true (cleared);

        for (const char *const *p = state_properties; *p; p++) {
                GVariant *told = g_hash_table_lookup (last, *p);
                g_autoptr(GError) error = NULL;
                if (!told)
                        g_error ("%s: no signal of the job carried it", *p);
                g_autoptr(GVariant) now = bus_get_property (env->fx, job, XFERD_JOB_IFACE, *p, &error);
                g_assert_no_error (error);
                if (!g_variant_equal (told, now)) {
                        g_autofree char *a = g_variant_print (told, TRUE), *b = g_variant_print (now, TRUE);
                        g_error ("%s: the signals said %s, Get says %s", *p, a, b);
                }
        }
        complete_and_check (env, job);
}

/* The later of MinimumRetryDelay and Retry-After decides when to retry. */
static void
test_retry_after (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        http_server_fail (env->http, "/file.bin", 429, NULL, 3, 1);
        g_autofree char *job = start_job (env, 1);
        job_wait_state (env->fx, job, "transient-error");
        job_wait_state (env->fx, job, "transferred");
        gint64 first = http_server_request_time (env->http, "/file.bin", 0);
        gint64 second = http_server_request_time (env->http, "/file.bin", 1);
        g_test_message ("retried after %.2f s", (double) (second - first) / G_USEC_PER_SEC);
        /* Not "about 3 s": only "not before". */
        g_assert_cmpint (second - first, >=, 3 * G_USEC_PER_SEC - 100 * 1000);
        complete_and_check (env, job);
}

/* The connection drops mid-body: a transient error; the retry asks for the
 * rest with Range and the result is byte-exact. */
static void
test_drop_then_resume (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        g_autofree char *job = start_job_dropped (env, 1);
        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GPtrArray) history = job_state_history (env->fx, job);
        g_assert_true (contains (history, "transient-error"));
        assert_resumed_after_drop (env, job, 2);
}

/* An attempt that fails before any body (here a 503, which names no version) must not
 * forget the version of the bytes already held: the next attempt still continues them. */
static void
test_error_between_keeps_validator (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        g_autofree char *job = start_job_dropped (env, 600);
        job_wait_state (env->fx, job, "transient-error");
        http_server_fail (env->http, "/file.bin", 503, NULL, -1, 1);
        xferd_job_call (env->fx, job, "Resume");
        g_assert_true (http_server_wait_requests (env->http, "/file.bin", 2, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, job, "transient-error");
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");

        assert_resumed_after_drop (env, job, 3);
}

/* A full disk is a transient error that keeps the partial data: the temporary file holds
 * exactly the first bytes of the resource (received bytes are buffered, so a write that fails
 * part-way must not leave a hole or let later bytes in), and once there is room again the
 * transfer continues from the file's size and ends byte-exact. Needs root for the tmpfs. */
static void
test_disk_full (void)
{
        /* The file system's own ENOSPC, not the reserve that KeepFree stops at before it
         * (test-privileges checks that). */
        static const BusFixtureOptions options = { .config = "[Daemon]\nKeepFree=0\n" };
        g_autoptr(XferdEnv) env = env_new_with (&options);

        int r = getuid () != 0 ? -EPERM : xferd_env_mount_tmpfs (env, env->dir, 0, "size=256k,mode=0755");

        if (r < 0) {
                g_test_skip_printf ("cannot mount a small tmpfs: %s", g_strerror (-r));
                return;
        }

        g_autofree char *job = start_job (env, 600);
        job_wait_state (env->fx, job, "transient-error");
        job_assert_error (env->fx, job, "LocalFile", g_strerror (ENOSPC));

        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_autofree char *held = NULL;
        gsize n_held = 0;
        g_assert_true (g_file_get_contents (temp, &held, &n_held, NULL));
        g_assert_cmpuint (n_held, >, 0);
        g_assert_cmpuint (n_held, <, SIZE);
        g_assert_cmpmem (held, n_held, g_bytes_get_data (env->content, NULL), n_held);
        /* What the job says it holds is what the file holds. */
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, n_held);

        g_assert_cmpint (mount (NULL, env->dir, NULL, MS_REMOUNT, "size=4m,mode=0755"), ==, 0);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        assert_last_range (env->http, "/file.bin", n_held);
        complete_and_check (env, job);
}

/* A server that ignores Range answers the resumed request with 200 and the
 * whole body: the file must still come out byte-exact. */
static void
test_drop_then_range_ignored (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        http_server_set_ignore_range (env->http, "/file.bin", TRUE);
        g_autofree char *job = start_job_dropped (env, 1);
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, SIZE);
        complete_and_check (env, job);
}

/* No byte for --stall-timeout seconds: a transient Timeout error. */
static void
test_stall_timeout (void)
{
        static const char *const args[] = { "--stall-timeout=1", NULL };
        BusFixtureOptions options = { .extra_args = args };
        g_autoptr(XferdEnv) env = env_new_with (&options);

        http_server_stall_after (env->http, "/file.bin", DROP);

        g_autofree char *job = start_job (env, 600);
        job_wait_state (env->fx, job, "transient-error");
        job_assert_error (env->fx, job, "Timeout", NULL);
}

/* A redirect to another http URL is followed. */
static void
test_redirect_followed (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *old_url = http_server_url (env->http, "/old");

        http_server_redirect (env->http, "/old", 302, env->url);
        g_autofree char *job = xferd_download (env->fx, old_url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/old"), ==, 1);
        complete_and_check (env, job);
}

/* The job's own headers (credentials, often) go only to the origin the job named: through a
 * redirect on the same server they are sent, to another server they are not. */
static void
test_redirect_keeps_headers_home (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autoptr(HttpServer) other = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (other, "/file.bin", SIZE);
        g_autofree char *other_url = http_server_url (other, "/file.bin");
        g_autofree char *here_url = http_server_url (env->http, "/here");
        g_autofree char *away_url = http_server_url (env->http, "/away");
        g_autoptr(GError) error = NULL;

        http_server_redirect (env->http, "/here", 302, env->url);
        http_server_redirect (env->http, "/away", 307, other_url);

        const char *headers[] = { "X-Api-Key: s3cret", NULL };
        g_autofree char *job = xferd_create_job (env->fx, "headers", NULL);
        g_autoptr(GVariant) set = bus_call_job (env->fx, job, "SetHttpHeaders",
                                                g_variant_new ("(^as)", headers), G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        g_autofree char *away_dest = xferd_env_path (env, "away.bin");
        xferd_add_file (env->fx, job, here_url, env->dest);
        xferd_add_file (env->fx, job, away_url, away_dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");

        g_autofree char *home = http_server_last_header (env->http, "/file.bin", "X-Api-Key");
        g_assert_cmpstr (home, ==, "s3cret");
        g_autofree char *away = http_server_last_header (other, "/file.bin", "X-Api-Key");
        g_assert_null (away);
        g_assert_cmpuint (http_server_request_count (other, "/file.bin"), ==, 1);
        g_assert_false (xferd_complete (env->fx, job));
}

/* A redirect to file:// is refused: error, UnsupportedProtocol, nothing read. */
static void
test_redirect_to_file (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *old_url = http_server_url (env->http, "/old");

        http_server_redirect (env->http, "/old", 302, "file:///etc/passwd");
        g_autofree char *job = xferd_download (env->fx, old_url, env->dest, FALSE, NULL);
        job_wait_state (env->fx, job, "error");
        job_assert_error (env->fx, job, "UnsupportedProtocol", NULL);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, 0);
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));
}

/* NoProgressTimeout = 0: a transient failure is an error at once. */
static void
test_no_progress_timeout_zero (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "impatient", NULL);

        http_server_fail (env->http, "/file.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        job_set (env->fx, job, "NoProgressTimeout", g_variant_new_uint32 (0));
        xferd_add_file (env->fx, job, env->url, env->dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "error");
        g_autofree char *name = job_get_string (env->fx, job, "ErrorName");
        g_assert_true (g_str_has_suffix (name, "Http") || g_str_has_suffix (name, "NoProgress"));
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);
}

/* The resource shrank below the partial data: the resumed request gets 416
 * and the file restarts from zero; never an error. Resume from
 * transient-error makes the retry happen now instead of after a delay. */
static void
test_416_restarts (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autoptr(GBytes) small = http_pattern_bytes (DROP / 2);

        /* The same ETag for both versions (a server that gets it wrong), so that If-Range
         * matches and the range request reaches the shorter resource: 416. */
        http_server_set_validators (env->http, "/file.bin", "\"same\"", NULL);
        g_autofree char *job = start_job_dropped (env, 600);
        job_wait_state (env->fx, job, "transient-error");
        http_server_add_bytes (env->http, "/file.bin", small);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");

        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), >=, 3);
        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (env->dest, small);
}

/* Strings over their limits: StringTooLong. */
static void
test_string_too_long (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "short", NULL);
        g_autofree char *name = g_strnfill (257, 'n');
        g_autofree char *description = g_strnfill (1025, 'd');
        g_autoptr(GError) error = NULL;

        bus_set_property (env->fx, job, XFERD_JOB_IFACE, "DisplayName", g_variant_new_string (name), &error);
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));
        g_clear_error (&error);
        bus_set_property (env->fx, job, XFERD_JOB_IFACE, "Description", g_variant_new_string (description), &error);
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));
        g_clear_error (&error);
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", name, NULL),
                                                      G_VARIANT_TYPE ("(so)"), &error);
        bus_assert_error (error, XFERD_ERROR ("StringTooLong"));

        /* At the limit is fine. */
        name[256] = '\0';
        job_set (env->fx, job, "DisplayName", g_variant_new_string (name));
}

static void
assert_call_fails (BusFixture *fx, const char *job, const char *method, GVariant *params,
                   const char *error_name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = job ? bus_call_job (fx, job, method, params, NULL, &error)
                                        : bus_call_manager (fx, method, params, NULL, &error);

        g_test_message ("%s -> %s?", method, error_name);
        bus_assert_error (error, error_name);
}

static GVariant *
one_option (const char *key, GVariant *value)
{
        GVariantBuilder b;

        g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add (&b, "{sv}", key, value);
        return g_variant_builder_end (&b);
}

static void
test_unsupported_protocol (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "protocols", NULL);

        assert_call_fails (env->fx, job, "AddFile", g_variant_new ("(ss)", "file:///etc/passwd", env->dest),
                           XFERD_ERROR ("UnsupportedProtocol"));
        assert_call_fails (env->fx, job, "AddFile", g_variant_new ("(ss)", "ftp://127.0.0.1/x", env->dest),
                           XFERD_ERROR ("UnsupportedProtocol"));
        assert_call_fails (env->fx, NULL, "Download",
                           g_variant_new ("(ss@a{sv})", "file:///etc/passwd", env->dest, one_option ("priority", g_variant_new_string ("normal"))),
                           XFERD_ERROR ("UnsupportedProtocol"));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 0);
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));
}

/* A password typed with an unencoded '/', '#' or '?' cuts a URL's authority short: the error
 * that the URL is invalid must still show none of it. */
static void
test_invalid_url_hides_password (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        static const char *const urls[] = {
                "https://bob:pa/Zq9@127.0.0.1:9/x",
                "https://bob:p#Zq9@127.0.0.1:9/x",
                "https://bob:pa?Zq9@127.0.0.1:9/x",
        };

        for (gsize i = 0; i < G_N_ELEMENTS (urls); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) reply =
                        bus_call_manager (env->fx, "Download",
                                          g_variant_new ("(ss@a{sv})", urls[i], env->dest,
                                                         g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)),
                                          G_VARIANT_TYPE ("(o)"), &error);

                g_assert_null (reply);
                g_assert_nonnull (error);
                g_test_message ("%s: %s", urls[i], error->message);
                g_assert_null (strstr (error->message, "Zq9"));
                g_assert_null (strstr (error->message, "bob"));
        }
        g_assert_false (g_file_test (env->dest, G_FILE_TEST_EXISTS));
}

/* AddFiles' argument: n files m0..m(n-1) in env->dir; the last one's path is file `again`'s
 * instead (G_MAXUINT: none), or `last` when given. */
static GVariant *
many_files (XferdEnv *env, guint n, guint again, const char *last)
{
        GVariantBuilder b;

        g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
        for (guint i = 0; i < n; i++) {
                guint name = i == n - 1 && again != G_MAXUINT ? again : i;
                g_autofree char *path = g_strdup_printf ("%s/m%u.bin", env->dir, name);

                g_variant_builder_add (&b, "(ss)", env->url, i == n - 1 && last ? last : path);
        }
        return g_variant_new ("(a(ss))", &b);
}

static void
test_invalid_path (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "paths", NULL);
        g_autofree char *missing_dir = g_build_filename (env->dir, "no-such-dir", "file.bin", NULL);

        assert_call_fails (env->fx, job, "AddFile", g_variant_new ("(ss)", env->url, "file.bin"),
                           XFERD_ERROR ("InvalidPath"));
        assert_call_fails (env->fx, job, "AddFile", g_variant_new ("(ss)", env->url, missing_dir),
                           XFERD_ERROR ("InvalidPath"));
        assert_call_fails (env->fx, NULL, "Download",
                           g_variant_new ("(ss@a{sv})", env->url, "relative/file.bin",
                                          one_option ("priority", g_variant_new_string ("normal"))),
                           XFERD_ERROR ("InvalidPath"));

        /* Two files of one job with the same local path. */
        xferd_add_file (env->fx, job, env->url, env->dest);
        assert_call_fails (env->fx, job, "AddFile", g_variant_new ("(ss)", env->url, env->dest),
                           XFERD_ERROR ("InvalidPath"));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);

        /* The same in a call of many files (checked another way from 64 paths on): twice in
         * the call, or the job's path again; nothing is added either way. */
        assert_call_fails (env->fx, job, "AddFiles", many_files (env, 100, 10, NULL), XFERD_ERROR ("InvalidPath"));
        assert_call_fails (env->fx, job, "AddFiles", many_files (env, 100, G_MAXUINT, env->dest),
                           XFERD_ERROR ("InvalidPath"));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFiles", many_files (env, 100, G_MAXUINT, NULL),
                                                  NULL, NULL);
        g_assert_nonnull (reply);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 101);
}

/* Unknown option keys, unknown job types and wrong value types → InvalidArgs. */
static void
test_invalid_args (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        assert_call_fails (env->fx, NULL, "CreateJob",
                           g_variant_new ("(s@a{sv})", "x", one_option ("no-such-option", g_variant_new_string ("1"))),
                           DBUS_ERROR_INVALID_ARGS);
        assert_call_fails (env->fx, NULL, "CreateJob",
                           g_variant_new ("(s@a{sv})", "x", one_option ("type", g_variant_new_string ("mirror"))),
                           DBUS_ERROR_INVALID_ARGS);
        assert_call_fails (env->fx, NULL, "CreateJob",
                           g_variant_new ("(s@a{sv})", "x", one_option ("type", g_variant_new_int32 (1))),
                           DBUS_ERROR_INVALID_ARGS);
        assert_call_fails (env->fx, NULL, "CreateJob",
                           g_variant_new ("(s@a{sv})", "x", one_option ("priority", g_variant_new_uint32 (1))),
                           DBUS_ERROR_INVALID_ARGS);
        assert_call_fails (env->fx, NULL, "Download",
                           g_variant_new ("(ss@a{sv})", env->url, env->dest,
                                          one_option ("no-such-option", g_variant_new_boolean (TRUE))),
                           DBUS_ERROR_INVALID_ARGS);
        assert_call_fails (env->fx, NULL, "Download",
                           g_variant_new ("(ss@a{sv})", env->url, env->dest,
                                          one_option ("auto-complete", g_variant_new_string ("yes"))),
                           DBUS_ERROR_INVALID_ARGS);

        /* A type=download job is fine. */
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "CreateJob",
                                                      g_variant_new ("(s@a{sv})", "x",
                                                                     one_option ("type", g_variant_new_string ("download"))),
                                                      G_VARIANT_TYPE ("(so)"), &error);
        g_assert_no_error (error);
}

/* MinimumRetryDelay below the floor (1 s in the tests) → InvalidArgs. */
static void
test_retry_delay_floor (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "floor", NULL);
        g_autoptr(GError) error = NULL;

        bus_set_property (env->fx, job, XFERD_JOB_IFACE, "MinimumRetryDelay", g_variant_new_uint32 (0), &error);
        bus_assert_error (error, DBUS_ERROR_INVALID_ARGS);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MinimumRetryDelay"), ==, 600);
        job_set (env->fx, job, "MinimumRetryDelay", g_variant_new_uint32 (1));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MinimumRetryDelay"), ==, 1);
}

/* Resume of a job without files: Empty, and it stays suspended. */
static void
test_resume_empty (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = xferd_create_job (env->fx, "empty", NULL);

        assert_call_fails (env->fx, job, "Resume", NULL, XFERD_ERROR ("Empty"));
        assert_job_string (env->fx, job, "State", "suspended");
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, 0);
}

static void
test_no_such_job (void)
{
        g_autoptr(XferdEnv) env = env_new ();

        xferd_assert_no_such_job (env->fx, "0123456789abcdef0123456789abcdef");
        xferd_assert_no_such_job (env->fx, "not-an-id");
}

const TestCase test_cases[] = {
        { "/errors/http-404", test_http_404 },
        { "/errors/503-then-200", test_503_then_200 },
        { "/errors/signals-leave-out-zero", test_signals_leave_out_zero },
        { "/errors/retry-after", test_retry_after },
        { "/errors/drop-then-resume", test_drop_then_resume },
        { "/errors/drop-then-range-ignored", test_drop_then_range_ignored },
        { "/errors/stall-timeout", test_stall_timeout },
        { "/errors/disk-full", test_disk_full },
        { "/errors/redirect-followed", test_redirect_followed },
        { "/errors/redirect-keeps-headers-home", test_redirect_keeps_headers_home },
        { "/errors/redirect-to-file", test_redirect_to_file },
        { "/errors/no-progress-timeout-zero", test_no_progress_timeout_zero },
        { "/errors/416-restarts", test_416_restarts },
        { "/errors/error-between-keeps-validator", test_error_between_keeps_validator },
        { "/errors/string-too-long", test_string_too_long },
        { "/errors/unsupported-protocol", test_unsupported_protocol },
        { "/errors/invalid-url-hides-password", test_invalid_url_hides_password },
        { "/errors/invalid-path", test_invalid_path },
        { "/errors/invalid-args", test_invalid_args },
        { "/errors/retry-delay-floor", test_retry_delay_floor },
        { "/errors/resume-empty", test_resume_empty },
        { "/errors/no-such-job", test_no_such_job },
        { NULL, NULL }
};
