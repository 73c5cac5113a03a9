/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferctl ($XFERCTL_BINARY) against the real xferd on the private bus: the
 * download verb (success, a server error, Ctrl-C), the job verbs, JOB given
 * as a display name, --json listings, exit statuses. What the verbs did is
 * checked independently through GDBus and the file system.
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "xferd-env.h"

#define SIZE (700 * 1024 + 3)
#define STALL (128 * 1024)

static const char *const nothing[] = { NULL };

static XferdEnv *
env_new (void)
{
        return xferd_env_new_serving (NULL, "/file.bin", SIZE);
}

static const char *
xferctl_binary (void)
{
        return g_getenv ("XFERCTL_BINARY");
}

/* Runs xferctl --user ARGS...; returns its exit status. */
static int
xferctl (XferdEnv *env, char **out, char **err, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        va_list ap;
        const char *arg;

        g_ptr_array_add (argv, (gpointer) xferctl_binary ());
        g_ptr_array_add (argv, (gpointer) "--user");
        va_start (ap, err);
        while ((arg = va_arg (ap, const char *)))
                g_ptr_array_add (argv, (gpointer) arg);
        va_end (ap);
        g_ptr_array_add (argv, NULL);
        return bus_fixture_run (env->fx, (const char *const *) argv->pdata, out, err);
}

static gboolean
skip_without_xferctl (void)
{
        if (xferctl_binary ())
                return FALSE;
        g_test_skip ("XFERCTL_BINARY is not set");
        return TRUE;
}

static gboolean
no_jobs_listed (BusFixture *fx)
{
        g_autoptr(GVariant) jobs = xferd_list_jobs (fx);

        return g_variant_n_children (jobs) == 0;
}

static void
test_download (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();

        g_assert_cmpint (xferctl (env, NULL, NULL, "--no-progress", "download", env->url, env->dest, NULL), ==, 0);
        const char *const names[] = { "file.bin", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (env->dest, env->content);
        g_assert_true (no_jobs_listed (env->fx));
}

/* A failed download: the message names the status, the job is cancelled,
 * nothing is left, exit status 1. */
static void
test_download_404 (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *err = NULL;

        http_server_fail (env->http, "/file.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        g_assert_cmpint (xferctl (env, NULL, &err, "--no-progress", "download", env->url, env->dest, NULL), ==, 1);
        g_assert_nonnull (strstr (err, "404"));
        assert_dir_is (env->dir, nothing);
        g_assert_true (no_jobs_listed (env->fx));
}

static gboolean
match_any_job_new (const RecordedSignal *sig, gpointer data)
{
        return g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(so)"));
}

/* Ctrl-C during a download cancels the job and says the partial file was
 * removed; nothing is left. */
static void
test_download_interrupted (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL, *err = NULL;
        const char *argv[] = { xferctl_binary (), "--user", "--no-progress", "download",
                               env->url, env->dest, NULL };

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, argv);
        const RecordedSignal *job_new = bus_wait_signal (env->fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                         "JobNew", match_any_job_new, NULL, WAIT_TIMEOUT_MS);
        g_assert_nonnull (job_new);
        const char *job;
        g_variant_get (job_new->params, "(&s&o)", NULL, &job);
        g_autofree char *job_path = g_strdup (job);
        g_autofree char *temp = xferd_temp_path (env->fx, job_path, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));

        g_subprocess_send_signal (proc, SIGINT);
        g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
        g_assert_no_error (error);
        g_test_message ("stdout: %s\nstderr: %s", out, err);
        g_assert_true (g_subprocess_get_if_exited (proc));
        g_assert_cmpint (g_subprocess_get_exit_status (proc), !=, 0);
        g_autofree char *said = g_strconcat (out, err, NULL);
        g_assert_nonnull (strstr (said, "removed"));
        assert_dir_is (env->dir, nothing);
        g_autofree char *state = job_get_string (env->fx, job_path, "State");
        g_assert_cmpstr (state, ==, "cancelled");
}

/* create / add / resume / wait / complete, JOB given by id and by name. */
static void
test_job_verbs (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *out = NULL;

        g_assert_cmpint (xferctl (env, &out, NULL, "create", "verbs-job", NULL), ==, 0);
        g_autofree char *id = g_strstrip (g_strdup (out));
        g_assert_cmpuint (strlen (id), ==, 32);
        g_autofree char *job = g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
        g_autofree char *state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "suspended");

        g_assert_cmpint (xferctl (env, NULL, NULL, "add", id, env->url, env->dest, NULL), ==, 0);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        /* A unique id prefix is enough. */
        char prefix[9];
        g_strlcpy (prefix, id, sizeof prefix);
        g_assert_cmpint (xferctl (env, NULL, NULL, "resume", prefix, NULL), ==, 0);
        g_assert_cmpint (xferctl (env, NULL, NULL, "--no-progress", "wait", "verbs-job", NULL), ==, 0);
        g_free (state);
        state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "transferred");

        g_autofree char *info = NULL;
        g_assert_cmpint (xferctl (env, &info, NULL, "info", "verbs-job", NULL), ==, 0);
        g_assert_nonnull (strstr (info, id));
        g_autofree char *files = NULL;
        g_assert_cmpint (xferctl (env, &files, NULL, "files", id, NULL), ==, 0);
        g_assert_nonnull (strstr (files, env->dest));

        g_assert_cmpint (xferctl (env, NULL, NULL, "complete", id, NULL), ==, 0);
        assert_file_content (env->dest, env->content);
        g_free (state);
        state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "acknowledged");
}

/* download --checksum: right, the file is there; wrong, the Integrity message and nothing
 * left; options that belong to download and add only are usage errors elsewhere. */
static void
test_download_checksum (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, env->content);
        g_autofree char *right = g_strdup_printf ("--checksum=sha256:%s", hex);
        g_autofree char *wrong = g_strdup_printf ("--checksum=sha256:%064x", 7);
        g_autofree char *size = g_strdup_printf ("--size=%d", SIZE);
        g_autofree char *err = NULL;

        g_assert_cmpint (xferctl (env, NULL, NULL, "--no-progress", right, size, "download", env->url, env->dest,
                                  NULL), ==, 0);
        assert_file_content (env->dest, env->content);
        g_assert_cmpint (g_unlink (env->dest), ==, 0);

        g_assert_cmpint (xferctl (env, NULL, &err, "--no-progress", "download", env->url, env->dest, wrong, NULL),
                         ==, 1);
        g_assert_nonnull (strstr (err, "does not match its checksum"));
        assert_dir_is (env->dir, nothing);
        g_assert_true (no_jobs_listed (env->fx));

        g_clear_pointer (&err, g_free);
        g_assert_cmpint (xferctl (env, NULL, &err, "list", right, NULL), ==, 2);
        g_assert_nonnull (strstr (err, "apply to download and add only"));
        g_clear_pointer (&err, g_free);
        g_assert_cmpint (xferctl (env, NULL, &err, "--size=1.5G", "download", env->url, env->dest, NULL), ==, 2);
        g_assert_nonnull (strstr (err, "exact size in bytes"));
}

/* add --checksum --mirror: the first URL fails, the mirror serves; info says what was
 * verified and from where. */
static void
test_add_verified_info (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA512, env->content);
        g_autofree char *checksum = g_strdup_printf ("--checksum=SHA512:%s", hex);
        g_autofree char *mirror = g_strdup_printf ("--mirror=%s", env->url);
        g_autofree char *missing = http_server_url (env->http, "/missing.bin");
        g_autofree char *out = NULL, *info = NULL;

        g_assert_cmpint (xferctl (env, &out, NULL, "create", "verified", NULL), ==, 0);
        g_autofree char *id = g_strstrip (g_strdup (out));
        g_assert_cmpint (xferctl (env, NULL, NULL, "add", checksum, mirror, id, missing, env->dest, NULL), ==, 0);
        g_assert_cmpint (xferctl (env, NULL, NULL, "resume", id, NULL), ==, 0);
        g_assert_cmpint (xferctl (env, NULL, NULL, "--no-progress", "wait", id, NULL), ==, 0);
        g_assert_cmpint (xferctl (env, &info, NULL, "info", id, NULL), ==, 0);
        g_test_message ("%s", info);
        g_autofree char *verified = g_strdup_printf ("verified: checksum (sha512:%s)", hex);
        g_autofree char *from = g_strdup_printf ("from mirror: %s", env->url);
        g_assert_nonnull (strstr (info, verified));
        g_assert_nonnull (strstr (info, from));
}

/* suspend / cancel, and a second cancel fails with exit status 1. */
static void
test_suspend_cancel (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *id = NULL;
        g_autofree char *err = NULL;

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, FALSE, &id);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));

        g_assert_cmpint (xferctl (env, NULL, NULL, "suspend", id, NULL), ==, 0);
        g_autofree char *state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "suspended");
        g_assert_cmpint (xferctl (env, NULL, NULL, "cancel", id, NULL), ==, 0);
        assert_dir_is (env->dir, nothing);
        g_free (state);
        state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "cancelled");

        /* The job is final now: not found by id (it left the queue), or
         * refused; either way a failure. */
        g_assert_cmpint (xferctl (env, NULL, &err, "cancel", id, NULL), ==, 1);
        g_assert_cmpstr (err, !=, "");
}

static void
test_list_json (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "listed", &id);
        g_autofree char *out = NULL;
        g_autofree char *quoted_id = g_strdup_printf ("\"%s\"", id);

        g_assert_cmpint (xferctl (env, &out, NULL, "--json", "list", NULL), ==, 0);
        g_strstrip (out);
        g_assert_true (out[0] == '[' || out[0] == '{');
        g_assert_nonnull (strstr (out, quoted_id));

        g_autofree char *plain = NULL;
        g_assert_cmpint (xferctl (env, &plain, NULL, "list", NULL), ==, 0);
        g_assert_nonnull (strstr (plain, "listed"));
}

static void
test_usage_errors (void)
{
        if (skip_without_xferctl ())
                return;
        g_autoptr(XferdEnv) env = env_new ();

        g_assert_cmpint (xferctl (env, NULL, NULL, "no-such-verb", NULL), ==, 2);
        g_assert_cmpint (xferctl (env, NULL, NULL, "download", env->url, NULL), ==, 2);
        g_assert_cmpint (xferctl (env, NULL, NULL, "cancel", "no-such-job", NULL), ==, 1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/xferctl/download", test_download);
        g_test_add_func ("/xferctl/download-404", test_download_404);
        g_test_add_func ("/xferctl/download-interrupted", test_download_interrupted);
        g_test_add_func ("/xferctl/job-verbs", test_job_verbs);
        g_test_add_func ("/xferctl/download-checksum", test_download_checksum);
        g_test_add_func ("/xferctl/add-verified-info", test_add_verified_info);
        g_test_add_func ("/xferctl/suspend-cancel", test_suspend_cancel);
        g_test_add_func ("/xferctl/list-json", test_list_json);
        g_test_add_func ("/xferctl/usage-errors", test_usage_errors);
        return g_test_run ();
}
