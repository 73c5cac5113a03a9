/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferctl ($XFERCTL_BINARY) against the real xferd on the private bus: the
 * download verb (success, a server error, Ctrl-C, several URLs, refusing to
 * overwrite, --timeout and --retries), the job verbs, complete without
 * --partial, JOB given as a display name or an id prefix, --json on every
 * verb, logs, and the exit statuses. What the verbs did is checked
 * independently through GDBus and the file system. The terminal side (the
 * progress line) is in test-xferctl-term.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-cases.h"
#include "xferctl-run.h"

#define STALL (128 * 1024)

static void
test_download (XferdEnv *env)
{
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "download", env->url, env->dest, NULL), ==, 0);
        const char *const names[] = { "file.bin", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (env->dest, env->content);
        g_assert_true (xferctl_no_jobs (env));
}

/* A failed download: the message names the status, the job is cancelled,
 * nothing is left, exit status 4 (the transfer failed). */
static void
test_download_404 (XferdEnv *env)
{
        g_autofree char *err = NULL;

        http_server_fail (env->http, "/file.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "--no-progress", "download", env->url, env->dest, NULL), ==,
                         XFERCTL_EXIT_TRANSFER);
        g_assert_nonnull (strstr (err, "404"));
        assert_dir_empty (env->dir);
        g_assert_true (xferctl_no_jobs (env));
}

static gboolean
match_any_job_new (const RecordedSignal *sig, gpointer data)
{
        return g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(so)"));
}

/* The job xferctl made: waits for its JobNew; returns its path. */
static char *
wait_job_new (XferdEnv *env)
{
        const RecordedSignal *job_new = bus_wait_signal (env->fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                         "JobNew", match_any_job_new, NULL, WAIT_TIMEOUT_MS);
        const char *job;

        g_assert_nonnull (job_new);
        g_variant_get (job_new->params, "(&s&o)", NULL, &job);
        return g_strdup (job);
}

/* Ctrl-C during a download cancels the job and says the partial file was
 * removed; nothing is left; exit status 130. */
static void
test_download_interrupted (XferdEnv *env)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL, *err = NULL;
        const char *argv[] = { g_getenv ("XFERCTL_BINARY"), "--user", "--no-progress", "download",
                               env->url, env->dest, NULL };

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, argv);
        g_autofree char *job_path = wait_job_new (env);
        /* xferctl makes the job, then adds its file: the file is there once it transfers. */
        job_wait_state (env->fx, job_path, "transferring");
        g_autofree char *temp = xferd_wait_temp (env->fx, job_path, 0, STALL);

        g_subprocess_send_signal (proc, SIGINT);
        g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
        g_assert_no_error (error);
        g_test_message ("stdout: %s\nstderr: %s", out, err);
        g_assert_true (g_subprocess_get_if_exited (proc));
        g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, XFERCTL_EXIT_SIGINT);
        g_autofree char *said = g_strconcat (out, err, NULL);
        g_assert_nonnull (strstr (said, "removed"));
        assert_dir_empty (env->dir);
        assert_job_string (env->fx, job_path, "State", "cancelled");
}

/* download makes a foreground job: it does not queue behind background work. */
static void
test_download_foreground (XferdEnv *env)
{
        const char *argv[] = { g_getenv ("XFERCTL_BINARY"), "--user", "--no-progress", "download",
                               env->url, env->dest, NULL };

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, argv);
        g_autofree char *job = wait_job_new (env);
        g_autofree char *priority = job_get_string (env->fx, job, "Priority");
        g_assert_cmpstr (priority, ==, "foreground");
        g_subprocess_send_signal (proc, SIGINT);
        g_assert_true (g_subprocess_wait (proc, NULL, NULL));

        /* --priority changes it. */
        g_autofree char *low = NULL;
        http_server_release (env->http, "/file.bin");
        g_assert_cmpint (xferctl_run (env, &low, NULL, "--json", "--no-progress", "--priority", "low", "download",
                                      env->url, env->dest, NULL), ==, 0);
        g_autoptr(JsonNode) root = xferctl_parse_json (low);
        const char *path = json_object_get_string_member (json_node_get_object (root), "Path");
        assert_job_string (env->fx, path, "Priority", "low");
}

/* An existing destination is refused before any job is made; --force
 * replaces it. */
static void
test_download_no_overwrite (XferdEnv *env)
{
        g_autofree char *err = NULL;
        g_autoptr(GBytes) old = g_bytes_new_static ("old\n", 4);

        g_assert_true (g_file_set_contents (env->dest, "old\n", 4, NULL));
        g_assert_cmpint (xferctl_run (env, NULL, &err, "--no-progress", "download", env->url, env->dest, NULL), ==,
                         XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err, "exists"));
        g_assert_nonnull (strstr (err, "--force"));
        assert_file_content (env->dest, old);
        g_assert_cmpuint (bus_count_signals (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew", NULL, NULL), ==, 0);

        /* The directory form names the same file. */
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "download", env->url, "-o", env->dir, NULL), ==,
                         XFERCTL_EXIT_FAILURE);
        assert_file_content (env->dest, old);

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "--force", "download", env->url, env->dest, NULL),
                         ==, 0);
        assert_file_content (env->dest, env->content);
}

/* Several URLs into a directory as one job (names from the URLs), and a
 * list of URLs from a file (-i) with comments and blank lines. */
static void
test_download_several (XferdEnv *env)
{
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/b.bin", 1000);
        g_autoptr(GBytes) c = http_server_add_generated (env->http, "/c.bin", 2000);
        g_autofree char *url_b = http_server_url (env->http, "/b.bin");
        g_autofree char *url_c = http_server_url (env->http, "/c.bin");
        g_autofree char *out = NULL, *err = NULL;

        /* stderr is no terminal: plain progress lines, one when the file changes. */
        g_assert_cmpint (xferctl_run (env, &out, &err, "download", env->url, url_b, "-o", env->dir, NULL), ==, 0);
        const char *const two[] = { "b.bin", "file.bin", NULL };
        assert_dir_is (env->dir, two);
        assert_file_content (env->dest, env->content);
        /* One job: the plain progress names the second file of two. Its JobNew may reach the
         * test's connection only after xferctl ended: waited for before counting. */
        g_assert_nonnull (strstr (err, "file 2/2: b.bin"));
        g_free (wait_job_new (env));
        g_assert_cmpuint (bus_count_signals (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew", NULL, NULL), ==, 1);

        g_autofree char *sub = bus_fixture_mkdir (env->fx, "list");
        g_autofree char *list = g_build_filename (sub, "urls.txt", NULL);
        g_autofree char *text = g_strdup_printf ("# two files\n\n  %s  \n%s\n", url_b, url_c);
        g_assert_true (g_file_set_contents (list, text, -1, NULL));
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "download", "-i", list, "-o", sub, NULL), ==, 0);
        const char *const three[] = { "b.bin", "c.bin", "urls.txt", NULL };
        assert_dir_is (sub, three);
        g_autofree char *cpath = g_build_filename (sub, "c.bin", NULL);
        assert_file_content (cpath, c);

        /* Two URLs onto one name, a path among URLs: usage errors, nothing made. */
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", url_b, url_b, "-o", sub, NULL), ==, XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", "not-a-url", url_b, "-o", sub, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", NULL), ==, XFERCTL_EXIT_USAGE);
}

/* --concurrent-files of download and create, set concurrent-files (or MaxConcurrentFiles), info;
 * values outside 1..16 refused by xferctl or the daemon. */
static void
test_concurrent_files (XferdEnv *env)
{
        g_autoptr(GBytes) b = http_server_add_generated (env->http, "/b.bin", 1000);
        g_autofree char *url_b = http_server_url (env->http, "/b.bin");
        g_autofree char *out = NULL, *err = NULL, *info = NULL;

        g_assert_cmpint (xferctl_run (env, &out, NULL, "create", "--concurrent-files", "4", "cf-job", NULL), ==, 0);
        g_autofree char *id = g_strstrip (g_strdup (out));
        g_autofree char *job = g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 4);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "set", id, "concurrent-files", "2", NULL), ==, 0);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 2);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "set", id, "MaxConcurrentFiles", "17", NULL), ==,
                         XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err, "between 1 and 16"));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 2);
        g_assert_cmpint (xferctl_run (env, &info, NULL, "info", id, NULL), ==, 0);
        g_assert_nonnull (strstr (info, "MaxConcurrentFiles"));

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", "--concurrent-files", "0", env->url, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", "--concurrent-files", "17", env->url, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "download", "--concurrent-files", "2",
                                      env->url, url_b, "-o", env->dir, NULL), ==, 0);
        const char *const two[] = { "b.bin", "file.bin", NULL };
        assert_dir_is (env->dir, two);
        assert_file_content (env->dest, env->content);
}

/* --timeout gives up: the job is cancelled, nothing is left, exit 6. */
static void
test_download_timeout (XferdEnv *env)
{
        g_autofree char *err = NULL;

        http_server_stall_after (env->http, "/file.bin", STALL);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "--no-progress", "--timeout", "2", "download", env->url, env->dest,
                                      NULL), ==, XFERCTL_EXIT_TIMEOUT);
        g_assert_nonnull (strstr (err, "--timeout"));
        assert_dir_empty (env->dir);
        g_assert_true (xferctl_no_jobs (env));
}

/* --retries N gives up when attempt N+1 fails: cancelled, nothing left,
 * exit 7; the server saw exactly N+1 requests. */
static void
test_download_retries (XferdEnv *env)
{
        g_autofree char *err = NULL, *out = NULL;

        http_server_fail (env->http, "/file.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        g_assert_cmpint (xferctl_run (env, &out, &err, "--json", "--no-progress", "--retries", "1", "--retry-delay", "1",
                                      "download", env->url, env->dest, NULL), ==, XFERCTL_EXIT_RETRIES);
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 2);
        g_assert_nonnull (strstr (err, "503"));
        g_assert_nonnull (strstr (err, "--retries 1"));
        assert_dir_empty (env->dir);
        g_assert_true (xferctl_no_jobs (env));
        g_autoptr(JsonNode) root = xferctl_parse_json (out);
        JsonObject *o = json_node_get_object (root);
        g_assert_cmpstr (json_object_get_string_member (o, "Result"), ==, "retries");
        g_assert_cmpint (json_object_get_int_member (o, "ErrorCount"), ==, 2);
}

/* create / add / resume / wait / complete, JOB given by id, name and prefix. */
static void
test_job_verbs (XferdEnv *env)
{
        g_autofree char *out = NULL;

        g_assert_cmpint (xferctl_run (env, &out, NULL, "create", "verbs-job", NULL), ==, 0);
        g_autofree char *id = g_strstrip (g_strdup (out));
        g_assert_cmpuint (strlen (id), ==, 32);
        g_autofree char *job = g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
        assert_job_string (env->fx, job, "State", "suspended");

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "add", id, env->url, env->dest, NULL), ==, 0);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        char prefix[9];
        g_strlcpy (prefix, id, sizeof prefix);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "resume", prefix, NULL), ==, 0);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "wait", "verbs-job", NULL), ==, 0);
        assert_job_string (env->fx, job, "State", "transferred");

        g_autofree char *info = NULL;
        g_assert_cmpint (xferctl_run (env, &info, NULL, "info", "verbs-job", NULL), ==, 0);
        g_assert_nonnull (strstr (info, id));
        g_autofree char *files = NULL;
        g_assert_cmpint (xferctl_run (env, &files, NULL, "files", id, NULL), ==, 0);
        g_assert_nonnull (strstr (files, env->dest));

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "complete", id, NULL), ==, 0);
        assert_file_content (env->dest, env->content);
        assert_job_string (env->fx, job, "State", "acknowledged");
}

/* download --checksum: right, the file is there; wrong, the Integrity message, exit status 5
 * and nothing left; options that belong to download and add only are usage errors elsewhere;
 * several URLs take a checksum list, not one checksum. */
static void
test_download_checksum (XferdEnv *env)
{
        g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, env->content);
        g_autofree char *right = g_strdup_printf ("--checksum=sha256:%s", hex);
        g_autofree char *wrong = g_strdup_printf ("--checksum=sha256:%064x", 7);
        g_autofree char *size = g_strdup_printf ("--size=%d", XFERCTL_SIZE);
        g_autofree char *err = NULL;

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", right, size, "download", env->url, env->dest,
                                  NULL), ==, 0);
        assert_file_content (env->dest, env->content);
        g_assert_cmpint (g_unlink (env->dest), ==, 0);

        g_assert_cmpint (xferctl_run (env, NULL, &err, "--no-progress", "download", env->url, env->dest, wrong, NULL),
                         ==, XFERCTL_EXIT_INTEGRITY);
        g_assert_nonnull (strstr (err, "does not match its checksum"));
        assert_dir_empty (env->dir);
        g_assert_true (xferctl_no_jobs (env));

        g_clear_pointer (&err, g_free);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "list", right, NULL), ==, XFERCTL_EXIT_USAGE);
        g_assert_nonnull (strstr (err, "--checksum does not apply to list"));
        g_clear_pointer (&err, g_free);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "--size=1.5G", "download", env->url, env->dest, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_nonnull (strstr (err, "exact size in bytes"));
        g_clear_pointer (&err, g_free);
        g_autofree char *other = http_server_url (env->http, "/other.bin");
        g_assert_cmpint (xferctl_run (env, NULL, &err, right, "download", env->url, other, "-o", env->dir, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_nonnull (strstr (err, "describe one file"));
}

/* add --checksum --mirror: the first URL fails, the mirror serves; info says what was
 * verified and from where. */
static void
test_add_verified_info (XferdEnv *env)
{
        g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA512, env->content);
        g_autofree char *checksum = g_strdup_printf ("--checksum=SHA512:%s", hex);
        g_autofree char *mirror = g_strdup_printf ("--mirror=%s", env->url);
        g_autofree char *missing = http_server_url (env->http, "/missing.bin");
        g_autofree char *out = NULL, *info = NULL;

        g_assert_cmpint (xferctl_run (env, &out, NULL, "create", "verified", NULL), ==, 0);
        g_autofree char *id = g_strstrip (g_strdup (out));
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "add", checksum, mirror, id, missing, env->dest, NULL), ==, 0);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "resume", id, NULL), ==, 0);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "wait", id, NULL), ==, 0);
        g_assert_cmpint (xferctl_run (env, &info, NULL, "info", id, NULL), ==, 0);
        g_test_message ("%s", info);
        g_autofree char *verified = g_strdup_printf ("verified: checksum (sha512:%s)", hex);
        g_autofree char *from = g_strdup_printf ("from mirror: %s", env->url);
        g_assert_nonnull (strstr (info, verified));
        g_assert_nonnull (strstr (info, from));
}

/* complete refuses a job that is not fully transferred and changes nothing;
 * --partial completes it, deletes the unfinished file and exits 1. */
static void
test_complete_partial (XferdEnv *env)
{
        g_autofree char *id = NULL, *err = NULL;

        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, &id);
        xferd_job_call (env->fx, job, "Suspend");

        g_assert_cmpint (xferctl_run (env, NULL, &err, "complete", id, NULL), ==, XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err, "not fully transferred"));
        g_assert_nonnull (strstr (err, "--partial"));
        assert_job_string (env->fx, job, "State", "suspended");
        g_assert_true (g_file_test (temp, G_FILE_TEST_EXISTS));

        g_autofree char *err2 = NULL;
        g_assert_cmpint (xferctl_run (env, NULL, &err2, "complete", "--partial", id, NULL), ==, XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err2, "partially"));
        assert_job_string (env->fx, job, "State", "acknowledged");
        assert_dir_empty (env->dir);
}

/* suspend / cancel, and a second cancel fails with exit status 1. */
static void
test_suspend_cancel (XferdEnv *env)
{
        g_autofree char *id = NULL;
        g_autofree char *err = NULL;

        g_autofree char *temp = NULL;
        g_autofree char *job = xferd_env_download_stalled (env, STALL, &temp, &id);

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "suspend", id, NULL), ==, 0);
        assert_job_string (env->fx, job, "State", "suspended");
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "cancel", id, NULL), ==, 0);
        assert_dir_empty (env->dir);
        assert_job_string (env->fx, job, "State", "cancelled");

        g_assert_cmpint (xferctl_run (env, NULL, &err, "cancel", id, NULL), ==, XFERCTL_EXIT_FAILURE);
        g_assert_cmpstr (err, !=, "");
}

/* Any unique prefix of an id names the job (also a finished one still on
 * the bus); an ambiguous prefix lists the candidates; none says so. */
static void
test_id_prefixes (XferdEnv *env)
{
        g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
        char *a = NULL, *b = NULL;

        /* Random ids: by the 17th two share a first digit. */
        while (!a) {
                char *id = NULL;
                g_autofree char *job = xferd_create_job (env->fx, "prefix", &id);

                for (guint i = 0; i < ids->len && !a; i++)
                        if (((char *) ids->pdata[i])[0] == id[0]) {
                                a = ids->pdata[i];
                                b = id;
                        }
                g_ptr_array_add (ids, id);
        }

        char one[2] = { a[0], 0 };
        g_autofree char *err = NULL;
        g_assert_cmpint (xferctl_run (env, NULL, &err, "info", one, NULL), ==, XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err, "ambiguous"));
        g_assert_nonnull (strstr (err, a));
        g_assert_nonnull (strstr (err, b));

        /* The shortest prefix that tells a from b, and upper case works too. */
        gsize k = 0;
        while (a[k] == b[k])
                k++;
        g_autofree char *unique = g_ascii_strup (a, (gssize) k + 1);
        g_autofree char *out = NULL;
        g_assert_cmpint (xferctl_run (env, &out, NULL, "info", unique, NULL), ==, 0);
        g_assert_nonnull (strstr (out, a));

        /* Two digits no id starts with. */
        char none[3] = "00";
        for (guint x = 0; x < 256; x++) {
                g_snprintf (none, sizeof none, "%02x", x);
                gboolean used = FALSE;
                for (guint i = 0; i < ids->len; i++)
                        used |= g_str_has_prefix (ids->pdata[i], none);
                if (!used)
                        break;
        }
        g_autofree char *err2 = NULL;
        g_assert_cmpint (xferctl_run (env, NULL, &err2, "info", none, NULL), ==, XFERCTL_EXIT_FAILURE);
        g_assert_nonnull (strstr (err2, "no job matches"));

        /* A cancelled job has left ListJobs but is still on the bus. */
        g_autofree char *job_a = g_strconcat (XFERD_JOB_PATH_PREFIX, a, NULL);
        xferd_job_call (env->fx, job_a, "Cancel");
        g_autofree char *prefix10 = g_strndup (a, 10);
        g_autofree char *gone = NULL;
        g_assert_cmpint (xferctl_run (env, &gone, NULL, "info", prefix10, NULL), ==, 0);
        g_assert_nonnull (strstr (gone, "cancelled"));
}

static JsonObject *
json_object_at (JsonNode *root, guint index)
{
        g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
        return json_array_get_object_element (json_node_get_array (root), index);
}

/* --json on every verb (upload has its own test): each prints JSON with
 * the D-Bus names. */
static void
test_json_every_verb (XferdEnv *env)
{
        g_autofree char *create = NULL, *add = NULL, *set = NULL, *resume = NULL, *wait = NULL, *info = NULL;
        g_autofree char *files = NULL, *list = NULL, *complete = NULL, *download = NULL, *suspend = NULL;
        g_autofree char *cancel = NULL;

        g_assert_cmpint (xferctl_run (env, &create, NULL, "--json", "create", "json-job", NULL), ==, 0);
        g_autoptr(JsonNode) c = xferctl_parse_json (create);
        const char *id = json_object_get_string_member (json_node_get_object (c), "Id");
        const char *path = json_object_get_string_member (json_node_get_object (c), "Path");
        g_assert_cmpuint (strlen (id), ==, 32);
        g_assert_true (g_str_has_suffix (path, id));

        g_assert_cmpint (xferctl_run (env, &add, NULL, "--json", "add", id, env->url, env->dir, NULL), ==, 0);
        g_autoptr(JsonNode) a = xferctl_parse_json (add);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (a), "LocalPath"), ==, env->dest);

        g_assert_cmpint (xferctl_run (env, &set, NULL, "--json", "set", id, "BandwidthLimit", "2M", NULL), ==, 0);
        g_autoptr(JsonNode) s = xferctl_parse_json (set);
        g_assert_cmpint (json_object_get_int_member (json_node_get_object (s), "BandwidthLimit"), ==, 2 << 20);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "set", id, "BandwidthLimit", "0", NULL), ==, 0);

        g_assert_cmpint (xferctl_run (env, &resume, NULL, "--json", "resume", id, NULL), ==, 0);
        g_autoptr(JsonNode) r = xferctl_parse_json (resume);
        g_assert_cmpstr (json_object_get_string_member (json_object_at (r, 0), "Id"), ==, id);
        g_assert_true (json_object_get_null_member (json_object_at (r, 0), "Error"));

        g_assert_cmpint (xferctl_run (env, &wait, NULL, "--json", "--no-progress", "wait", id, NULL), ==, 0);
        g_autoptr(JsonNode) w = xferctl_parse_json (wait);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (w), "Result"), ==, "transferred");

        g_assert_cmpint (xferctl_run (env, &info, NULL, "--json", "info", id, NULL), ==, 0);
        g_autoptr(JsonNode) i = xferctl_parse_json (info);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (i), "State"), ==, "transferred");

        g_assert_cmpint (xferctl_run (env, &files, NULL, "--json", "files", id, NULL), ==, 0);
        g_autoptr(JsonNode) f = xferctl_parse_json (files);
        g_assert_cmpstr (json_object_get_string_member (json_object_at (f, 0), "LocalPath"), ==, env->dest);

        g_assert_cmpint (xferctl_run (env, &list, NULL, "--json", "list", NULL), ==, 0);
        g_autoptr(JsonNode) l = xferctl_parse_json (list);
        g_assert_cmpstr (json_object_get_string_member (json_object_at (l, 0), "Id"), ==, id);

        g_assert_cmpint (xferctl_run (env, &complete, NULL, "--json", "complete", id, NULL), ==, 0);
        g_autoptr(JsonNode) cp = xferctl_parse_json (complete);
        g_assert_false (json_object_get_boolean_member (json_object_at (cp, 0), "Partial"));
        assert_file_content (env->dest, env->content);

        g_autofree char *other = xferd_env_path (env, "other.bin");
        g_assert_cmpint (xferctl_run (env, &download, NULL, "--json", "--no-progress", "download", env->url, other, NULL),
                         ==, 0);
        g_autoptr(JsonNode) d = xferctl_parse_json (download);
        JsonObject *dobj = json_node_get_object (d);
        g_assert_cmpstr (json_object_get_string_member (dobj, "Result"), ==, "completed");
        g_assert_cmpstr (json_object_get_string_member (dobj, "State"), ==, "acknowledged");
        g_assert_cmpint (json_object_get_int_member (dobj, "BytesTransferred"), ==, XFERCTL_SIZE);
        JsonObject *file0 = json_array_get_object_element (json_object_get_array_member (dobj, "Files"), 0);
        g_assert_cmpstr (json_object_get_string_member (file0, "LocalPath"), ==, other);

        g_autofree char *id2 = NULL;
        g_autofree char *job2 = xferd_create_job (env->fx, "json-2", &id2);
        g_assert_cmpint (xferctl_run (env, &suspend, NULL, "--json", "suspend", id2, NULL), ==, 0);
        xferctl_parse_json (suspend);
        g_assert_cmpint (xferctl_run (env, &cancel, NULL, "--json", "cancel", id2, "no-such-job", NULL), ==,
                         XFERCTL_EXIT_FAILURE);
        g_autoptr(JsonNode) cn = xferctl_parse_json (cancel);
        g_assert_true (json_object_get_null_member (json_object_at (cn, 0), "Error"));
        g_assert_false (json_object_get_null_member (json_object_at (cn, 1), "Error"));
}

/* monitor --json JOB: one JSON object a line until the job is final. */
static void
test_monitor_json (XferdEnv *env)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL, *out = NULL, *err = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "monitored", &id);
        const char *argv[] = { g_getenv ("XFERCTL_BINARY"), "--user", "--json", "monitor", id, NULL };
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, argv);
        g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));

        /* Its first line is the snapshot, read once it watches. */
        g_autofree char *first = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
        g_assert_no_error (error);
        g_autoptr(JsonNode) snap = xferctl_parse_json (first);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (snap), "Id"), ==, id);

        xferd_job_call (env->fx, job, "Cancel");
        g_assert_true (g_subprocess_wait (proc, NULL, &error));
        g_assert_no_error (error);
        g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
        g_autofree char *rest = NULL;
        while ((rest = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL))) {
                g_autoptr(JsonNode) line = xferctl_parse_json (rest);
                g_assert_true (JSON_NODE_HOLDS_OBJECT (line));
                g_clear_pointer (&rest, g_free);
        }
}

/* list --no-legend prints rows only; with COLUMNS the table fits, ids cut to
 * a unique prefix that still names the job. */
static void
test_list (XferdEnv *env)
{
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "a display name long enough to be cut in a narrow table", &id);
        g_autofree char *plain = NULL, *bare = NULL, *narrow = NULL;

        g_assert_cmpint (xferctl_run (env, &plain, NULL, "list", NULL), ==, 0);
        g_assert_nonnull (strstr (plain, "RATE"));
        g_assert_nonnull (strstr (plain, "WAITING"));
        g_assert_nonnull (strstr (plain, id));
        g_assert_cmpint (xferctl_run (env, &bare, NULL, "list", "--no-legend", NULL), ==, 0);
        g_assert_null (strstr (bare, "ID"));
        g_assert_true (g_str_has_prefix (bare, id));

        const char *argv[] = { "/usr/bin/env", "COLUMNS=72", g_getenv ("XFERCTL_BINARY"), "--user", "list", NULL };
        g_assert_cmpint (bus_fixture_run (env->fx, argv, &narrow, NULL), ==, 0);
        g_test_message ("%s", narrow);
        g_auto(GStrv) lines = g_strsplit (narrow, "\n", -1);
        for (guint i = 0; lines[i]; i++)
                g_assert_cmpuint (g_utf8_strlen (lines[i], -1), <=, 72);
        g_assert_null (strstr (narrow, id));
        g_autofree char *short_id = g_strndup (id, 8);
        g_assert_nonnull (strstr (narrow, short_id));

        g_autofree char *none = NULL;
        xferd_job_call (env->fx, job, "Cancel");
        g_assert_cmpint (xferctl_run (env, &none, NULL, "list", "--no-legend", NULL), ==, 0);
        g_assert_cmpstr (none, ==, "");
}

/* logs runs journalctl JOB_ID=<id>, or says there is no journal. */
static void
test_logs (XferdEnv *env)
{
        g_autofree char *id = NULL, *out = NULL, *err = NULL, *err2 = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "logged", &id);
        g_autofree char *bin = bus_fixture_mkdir (env->fx, "fake-bin");
        g_autofree char *fake = g_build_filename (bin, "journalctl", NULL);
        g_autofree char *path_fake = g_strdup_printf ("PATH=%s", bin);
        g_autofree char *empty = bus_fixture_mkdir (env->fx, "empty-bin");
        g_autofree char *path_empty = g_strdup_printf ("PATH=%s", empty);
        g_autofree char *match = g_strdup_printf ("JOB_ID=%s", id);

        g_assert_true (g_file_set_contents (fake, "#!/bin/sh\necho \"journalctl $*\"\n", -1, NULL));
        g_assert_cmpint (chmod (fake, 0755), ==, 0);

        /* No journalctl: said plainly. */
        const char *argv1[] = { "/usr/bin/env", path_empty, g_getenv ("XFERCTL_BINARY"), "--user", "logs", id, NULL };
        g_assert_cmpint (bus_fixture_run (env->fx, argv1, NULL, &err), ==, XFERCTL_EXIT_FAILURE);
        g_test_message ("%s", err);
        g_assert_nonnull (strstr (err, "journalctl is not installed"));

        /* With journalctl: either there is a journal to read, and journalctl gets the
         * match, or there is none here, which is said as plainly. */
        const char *argv2[] = { "/usr/bin/env", path_fake, g_getenv ("XFERCTL_BINARY"), "--user", "logs", "-n", "5",
                                id, NULL };
        int status = bus_fixture_run (env->fx, argv2, &out, &err2);
        g_test_message ("exit %d\nstdout: %s\nstderr: %s", status, out, err2);
        if (status == 0) {
                g_assert_nonnull (strstr (out, match));
                g_assert_nonnull (strstr (out, "--lines 5"));
        } else {
                g_assert_cmpint (status, ==, XFERCTL_EXIT_FAILURE);
                g_assert_nonnull (strstr (err2, "no systemd journal"));
        }
}

/* The exit statuses of the command line, and per-verb help. */
static void
test_usage_errors (XferdEnv *env)
{
        g_autofree char *help = NULL, *err = NULL;

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "no-such-verb", NULL), ==, XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "add", env->url, NULL), ==, XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, &err, "list", "--force", NULL), ==, XFERCTL_EXIT_USAGE);
        g_assert_nonnull (strstr (err, "does not apply to list"));
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", "--retries", "-1", env->url, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "download", "--priority", "urgent", env->url, NULL), ==,
                         XFERCTL_EXIT_USAGE);
        g_assert_cmpint (xferctl_run (env, NULL, NULL, "cancel", "no-such-job", NULL), ==, XFERCTL_EXIT_FAILURE);

        /* VERB --help is that verb's help, with its options. */
        g_assert_cmpint (xferctl_run (env, &help, NULL, "download", "--help", NULL), ==, 0);
        g_assert_true (g_str_has_prefix (help, "Usage: xferctl download"));
        g_assert_nonnull (strstr (help, "--retries"));
        g_assert_null (strstr (help, "--partial"));
        g_free (help);
        g_assert_cmpint (xferctl_run (env, &help, NULL, "complete", "--help", NULL), ==, 0);
        g_assert_nonnull (strstr (help, "--partial"));
        g_free (help);
        g_assert_cmpint (xferctl_run (env, &help, NULL, "--help", NULL), ==, 0);
        g_assert_nonnull (strstr (help, "Exit status"));
}

/* An xferd that cannot start (an option it does not know). */
static const char *const bad_args[] = { "--no-such-option", NULL };
static const BusFixtureOptions unreachable = { .extra_args = bad_args };

/* A bus without xferd, or an xferd that cannot start: exit 3 and how to
 * start it. */
static void
test_unreachable (XferdEnv *env)
{
        g_autofree char *err = NULL, *err2 = NULL;
        int status = 0;

        g_assert_cmpint (xferctl_run (env, NULL, &err, "list", NULL), ==, XFERCTL_EXIT_UNREACHABLE);
        g_assert_nonnull (strstr (err, "systemctl --user start xferd"));
        /* The xferd the bus tried refused its option, with a failure status. */
        g_assert_cmpint (bus_fixture_take_xferd_failure (env->fx, &status, WAIT_TIMEOUT_MS), >, 0);
        g_assert_true (WIFEXITED (status));
        g_assert_cmpint (WEXITSTATUS (status), ==, EXIT_FAILURE);

        g_autofree char *address = g_strdup_printf ("DBUS_SESSION_BUS_ADDRESS=unix:path=%s/no-bus", env->dir);
        const char *argv[] = { "/usr/bin/env", address, g_getenv ("XFERCTL_BINARY"), "--user", "list", NULL };
        g_assert_cmpint (bus_fixture_run (env->fx, argv, NULL, &err2), ==, XFERCTL_EXIT_UNREACHABLE);
        g_assert_nonnull (strstr (err2, "cannot connect to the user bus"));
}

/* A daemon from before ListJobsCompact: the test itself owns xferd's name (this case's xferd
 * cannot start) with a Manager that has ListJobs only. */
#define OLD_DAEMON_ID "0123456789abcdef0123456789abcdef"

static void
old_manager_call (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                  const char *method, GVariant *params, GDBusMethodInvocation *invocation, gpointer data)
{
        (*(guint *) data)++;
        g_dbus_method_invocation_return_value (
                invocation, g_variant_new_parsed ("([(%s, 'from an old daemon', 'download', 'queued', @u 0, @t 0, "
                                                  "@t 100, %o)],)",
                                                  OLD_DAEMON_ID, XFERD_JOB_PATH_PREFIX OLD_DAEMON_ID));
}

typedef struct {
        char *out;
        gboolean done;
} Communicated;

static void
communicated (GObject *proc, GAsyncResult *result, gpointer data)
{
        Communicated *c = data;

        g_assert_true (g_subprocess_communicate_utf8_finish (G_SUBPROCESS (proc), result, &c->out, NULL, NULL));
        c->done = TRUE;
}

/* list asks ListJobsCompact, and ListJobs once the daemon does not know it. */
static void
test_list_old_daemon (XferdEnv *env)
{
        static const GDBusInterfaceVTable vtable = { old_manager_call, NULL, NULL, { 0 } };
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (
                "<node><interface name='" XFERD_MANAGER_IFACE "'><method name='ListJobs'>"
                "<arg type='b' direction='in'/><arg type='a(ssssutto)' direction='out'/>"
                "</method></interface></node>", &error);
        Communicated c = { NULL, FALSE };
        guint listed = 0, object;

        g_assert_no_error (error);
        object = g_dbus_connection_register_object (env->fx->conn, XFERD_MANAGER_PATH, node->interfaces[0], &vtable,
                                                    &listed, NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) owned = g_dbus_connection_call_sync (
                env->fx->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "RequestName", g_variant_new ("(su)", XFERD_BUS_NAME, 4 /* DO_NOT_QUEUE */), G_VARIANT_TYPE ("(u)"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error (error);

        const char *argv[] = { g_getenv ("XFERCTL_BINARY"), "--user", "list", "--no-legend", NULL };
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, argv);
        /* Its calls are answered while it runs: our connection is served by this context. */
        g_subprocess_communicate_utf8_async (proc, NULL, NULL, communicated, &c);
        g_assert_true (bus_fixture_run_until (env->fx, &c.done, 30000));
        g_autofree char *out = c.out;
        g_test_message ("%s", out);
        g_assert_true (g_subprocess_get_if_exited (proc));
        g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
        g_assert_true (g_str_has_prefix (out, OLD_DAEMON_ID));
        g_assert_nonnull (strstr (out, "from an old daemon"));
        g_assert_cmpuint (listed, ==, 1);
        g_dbus_connection_unregister_object (env->fx->conn, object);
        /* Before the teardown, which would take the name's owner for an xferd to stop. */
        g_autoptr(GVariant) released = g_dbus_connection_call_sync (
                env->fx->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "ReleaseName", g_variant_new ("(s)", XFERD_BUS_NAME), G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                NULL, &error);
        g_assert_no_error (error);
}

/* GetManagedObjects would not fit in one D-Bus message (here: its limit lowered to about one
 * job's worth): the daemon answers LimitsExceeded instead of sending it and being dropped from
 * the bus; it stays, and list lists the jobs without the columns it would have added. */
static const char *const small_objects_limit[] = { "XFERD_TEST_MESSAGE_MAX_BYTES=8096", NULL };
static const BusFixtureOptions objects_limited = { .xferd_env = small_objects_limit };

static void
test_list_objects_too_large (XferdEnv *env)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *id1 = NULL, *id2 = NULL, *out = NULL;
        g_autofree char *job1 = xferd_create_job (env->fx, "first", &id1);

        /* One job fits. */
        g_autoptr(GVariant) objects = bus_call (env->fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                "GetManagedObjects", NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_no_error (error);
        g_autofree char *job2 = xferd_create_job (env->fx, "second", &id2);
        g_autoptr(GVariant) refused = bus_call (env->fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                "GetManagedObjects", NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_null (refused);
        bus_assert_error (error, "org.freedesktop.DBus.Error.LimitsExceeded");

        g_assert_cmpint (xferctl_run (env, &out, NULL, "list", "--no-legend", NULL), ==, 0);
        g_assert_nonnull (strstr (out, id1));
        g_assert_nonnull (strstr (out, id2));
}

/* Header names count toward that size: one job whose names alone are over the (lowered)
 * limit is refused too, where counting only its fixed parts and free texts let it through. */
static void
test_list_objects_header_names (XferdEnv *env)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "headers", &id);
        g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; i < 4; i++) {
                g_autofree char *name = g_strnfill (500, 'a' + i);
                g_ptr_array_add (headers, g_strdup_printf ("X-%s: v", name));
        }
        g_ptr_array_add (headers, NULL);
        g_autoptr(GVariant) set = bus_call_job (env->fx, job, "SetHttpHeaders",
                                                g_variant_new ("(^as)", (char **) headers->pdata), G_VARIANT_TYPE_UNIT,
                                                &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) refused = bus_call (env->fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                "GetManagedObjects", NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_null (refused);
        bus_assert_error (error, "org.freedesktop.DBus.Error.LimitsExceeded");
}

/* wait --timeout stops watching (exit 6) and leaves the job alone. */
static void
test_wait_timeout (XferdEnv *env)
{
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_create_job (env->fx, "waited", &id);

        g_assert_cmpint (xferctl_run (env, NULL, NULL, "--no-progress", "--timeout", "1", "wait", id, NULL), ==,
                         XFERCTL_EXIT_TIMEOUT);
        assert_job_string (env->fx, job, "State", "suspended");
}

static const XferdEnvCase env_cases[] = {
        { "/xferctl/download", test_download, NULL },
        { "/xferctl/download-404", test_download_404, NULL },
        { "/xferctl/download-interrupted", test_download_interrupted, NULL },
        { "/xferctl/download-foreground", test_download_foreground, NULL },
        { "/xferctl/download-no-overwrite", test_download_no_overwrite, NULL },
        { "/xferctl/download-several", test_download_several, NULL },
        { "/xferctl/concurrent-files", test_concurrent_files, NULL },
        { "/xferctl/download-timeout", test_download_timeout, NULL },
        { "/xferctl/download-retries", test_download_retries, NULL },
        { "/xferctl/job-verbs", test_job_verbs, NULL },
        { "/xferctl/download-checksum", test_download_checksum, NULL },
        { "/xferctl/add-verified-info", test_add_verified_info, NULL },
        { "/xferctl/complete-partial", test_complete_partial, NULL },
        { "/xferctl/suspend-cancel", test_suspend_cancel, NULL },
        { "/xferctl/id-prefixes", test_id_prefixes, NULL },
        { "/xferctl/json", test_json_every_verb, NULL },
        { "/xferctl/monitor-json", test_monitor_json, NULL },
        { "/xferctl/list", test_list, NULL },
        { "/xferctl/logs", test_logs, NULL },
        { "/xferctl/usage-errors", test_usage_errors, NULL },
        { "/xferctl/unreachable", test_unreachable, &unreachable },
        { "/xferctl/list-old-daemon", test_list_old_daemon, &unreachable },
        { "/xferctl/list-objects-too-large", test_list_objects_too_large, &objects_limited },
        { "/xferctl/list-objects-header-names", test_list_objects_header_names, &objects_limited },
        { "/xferctl/wait-timeout", test_wait_timeout, NULL },
        { NULL, NULL, NULL }
};

const XferdEnvCases test_env_cases = { xferctl_env_make, env_cases };
