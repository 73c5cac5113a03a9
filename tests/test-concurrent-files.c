/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MaxConcurrentFiles: a download transfers up to that many of its files at
 * once. The server proves the overlap by counting responses held at their
 * stall point (never by timing), and that no more than N are in flight, over
 * http and https; files finish in any order with exact bytes and counters;
 * Cancel in the middle leaves nothing, a partial Complete only the files
 * transferred; kill -9 and a restart, or Suspend and Resume, continue every
 * partial file with Range; a file added while there is room starts at once;
 * each file is checked against its own checksum; the property and the option
 * take 1..16 only; a change while running takes effect at once; one file's
 * permanent error stops the others.
 */
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "poll-wait.h"
#include "test-cases.h"
#include "tls-ca.h"
#include "xferd-env.h"

#define SIZE (300 * 1024 + 17)
#define STALL (64 * 1024)

static const char *const nothing[] = { NULL };

typedef struct {
        XferdEnv *env;
        gboolean own_env;       /* env is freed with the files */
        guint n;
        char **paths;           /* server paths "/f0.bin", … */
        char **dests;           /* destinations */
        GBytes **contents;
        char *job, *id;
} Files;

/* n files of different sizes on the server, each held after STALL bytes. */
static Files *
files_new (XferdEnv *env, guint n)
{
        Files *f = g_new0 (Files, 1);

        f->env = env;
        f->n = n;
        f->paths = g_new0 (char *, n + 1);
        f->dests = g_new0 (char *, n + 1);
        f->contents = g_new0 (GBytes *, n);
        for (guint i = 0; i < n; i++) {
                f->paths[i] = g_strdup_printf ("/f%u.bin", i);
                f->dests[i] = g_strdup_printf ("%s/f%u.bin", env->dir, i);
                f->contents[i] = http_server_add_generated (env->http, f->paths[i], SIZE + i * 1000);
                http_server_stall_after (env->http, f->paths[i], STALL);
        }
        return f;
}

/* files_new() in an environment of their own (xferd_env_new (NULL)), freed with them. */
static Files *
files_new_with_env (guint n)
{
        Files *f = files_new (xferd_env_new (NULL), n);

        f->own_env = TRUE;
        return f;
}

static void
files_free (Files *f)
{
        for (guint i = 0; i < f->n; i++)
                g_bytes_unref (f->contents[i]);
        g_free (f->contents);
        g_strfreev (f->paths);
        g_strfreev (f->dests);
        g_free (f->job);
        g_free (f->id);
        if (f->own_env)
                xferd_env_free (f->env);
        g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Files, files_free)

static guint64
files_total (const Files *f)
{
        guint64 sum = 0;

        for (guint i = 0; i < f->n; i++)
                sum += g_bytes_get_size (f->contents[i]);
        return sum;
}

/* CreateJob with "max-concurrent-files" (max NULL: without the option): the reply, or NULL and
 * error. */
static GVariant *
create_job (XferdEnv *env, const guint32 *max, GError **error)
{
        GVariantBuilder options;

        g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
        if (max)
                g_variant_builder_add (&options, "{sv}", "max-concurrent-files", g_variant_new_uint32 (*max));
        return bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "concurrent", &options),
                                 G_VARIANT_TYPE ("(so)"), error);
}

/* create_job() that succeeds (max 0: without the option): the job path, its id in *id if
 * asked. */
static char *
create_job_ok (XferdEnv *env, guint32 max, char **id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = create_job (env, max > 0 ? &max : NULL, &error);
        const char *job_id, *path;

        g_assert_no_error (error);
        g_variant_get (reply, "(&s&o)", &job_id, &path);
        if (id)
                *id = g_strdup (job_id);
        return g_strdup (path);
}

static void
files_add (Files *f, guint from, guint to)
{
        for (guint i = from; i < to; i++) {
                g_autofree char *url = http_server_url (f->env->http, f->paths[i]);
                xferd_add_file (f->env->fx, f->job, url, f->dests[i]);
        }
}

/* The job with its first `added` files, resumed; max 0: without the option. */
static void
files_start_some (Files *f, guint32 max, guint added)
{
        f->job = create_job_ok (f->env, max, &f->id);
        bus_fixture_note_xferd (f->env->fx);
        files_add (f, 0, added);
        xferd_job_call (f->env->fx, f->job, "Resume");
}

/* The job with every file added, resumed. */
static void
files_start (Files *f, guint32 max)
{
        files_start_some (f, max, f->n);
}

/* Waits until files [from, to) are each held at their stall point at the same time. */
static void
assert_held (Files *f, guint from, guint to)
{
        for (guint i = from; i < to; i++)
                g_assert_true (http_server_wait_stalled (f->env->http, f->paths[i], 1, WAIT_TIMEOUT_MS));
        for (guint i = from; i < to; i++)
                g_assert_cmpuint (http_server_stalled_count (f->env->http, f->paths[i]), ==, 1);
}

static void
assert_not_requested (Files *f, guint from, guint to)
{
        for (guint i = from; i < to; i++)
                g_assert_cmpuint (http_server_request_count (f->env->http, f->paths[i]), ==, 0);
}

static void
release (Files *f, guint i)
{
        http_server_release (f->env->http, f->paths[i]);
}

static void
release_all (Files *f)
{
        for (guint i = 0; i < f->n; i++)
                release (f, i);
}

/* File i is let go and finishes first: the job's one transferred file. */
static void
release_first (Files *f, guint i)
{
        release (f, i);
        g_assert_true (bus_wait_property (f->env->fx, f->job, XFERD_JOB_IFACE, "FilesTransferred",
                                          g_variant_new_uint32 (1), WAIT_TIMEOUT_MS));
}

/* assert_held() of files [0, n), and each one's temporary file holds its STALL bytes. */
static void
assert_held_on_disk (Files *f, guint n)
{
        assert_held (f, 0, n);
        for (guint i = 0; i < n; i++) {
                g_autofree char *temp = xferd_temp_path (f->env->fx, f->job, i);
                g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));
        }
}

/* files_start() with max (0: without the option, one at a time), and the first max files
 * held (assert_held()), their temporary files too if on_disk. */
static void
files_start_held (Files *f, guint32 max, gboolean on_disk)
{
        guint n = MAX (max, 1);

        files_start (f, max);
        if (on_disk)
                assert_held_on_disk (f, n);
        else
                assert_held (f, 0, n);
}

/* files_new_with_env (n), files_start_held(). */
static Files *
files_started (guint n, guint32 max, gboolean on_disk)
{
        Files *f = files_new_with_env (n);

        files_start_held (f, max, on_disk);
        return f;
}

/* Every file came in two requests, the second from its STALL bytes on. */
static void
assert_each_resumed (Files *f)
{
        for (guint i = 0; i < f->n; i++) {
                g_assert_cmpuint (http_server_request_count (f->env->http, f->paths[i]), ==, 2);
                assert_last_range (f->env->http, f->paths[i], STALL);
        }
}

/* Transferred: every counter exact; then Complete and every file in place. */
static void
assert_transferred_and_complete (Files *f)
{
        job_wait_state (f->env->fx, f->job, "transferred");
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "FilesTransferred"), ==, f->n);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "FilesTotal"), ==, f->n);
        g_assert_cmpuint (job_get_uint64 (f->env->fx, f->job, "BytesTransferred"), ==, files_total (f));
        g_assert_cmpuint (job_get_uint64 (f->env->fx, f->job, "BytesTotal"), ==, files_total (f));
        g_assert_false (xferd_complete (f->env->fx, f->job));
        for (guint i = 0; i < f->n; i++)
                assert_file_content (f->dests[i], f->contents[i]);
        g_auto(GStrv) names = list_dir (f->env->dir);
        g_assert_cmpuint (g_strv_length (names), ==, f->n);
}

/* Four of six files in flight at once, never a fifth; they finish in any order. */
static void
test_overlap (void)
{
        g_autoptr(Files) f = files_started (6, 4, FALSE);

        assert_not_requested (f, 4, 6);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "MaxConcurrentFiles"), ==, 4);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "CurrentFile"), ==, 0);

        /* The last one first: it finishes while the others are held, and its lane takes the
         * next file. CurrentFile stays at the first file not transferred. */
        release_first (f, 3);
        assert_held (f, 4, 5);
        assert_not_requested (f, 5, 6);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "CurrentFile"), ==, 0);
        release_all (f);
        assert_transferred_and_complete (f);
}

/* Over https (where a server may offer HTTP/2, so the files wait for the first connection
 * to say whether it multiplexes) the files still run at once against an HTTP/1.1 server:
 * the wait ends with the TLS handshake, not with the first file. */
static void
test_overlap_https (void)
{
        g_autoptr(TlsCa) ca = tls_ca_new_or_skip ();

        if (!ca)
                return;
        g_autofree char *config = g_strdup_printf ("[Network]\nCAFile=%s\n", ca->ca_file);
        BusFixtureOptions options = { .config = config };
        g_autoptr(XferdEnv) env = xferd_env_new (&options);
        /* The environment's server, now one that speaks TLS. */
        http_server_free (env->http);
        env->http = tls_ca_server_new (ca);
        g_autoptr(Files) f = files_new (env, 4);
        g_autofree char *url = http_server_url (env->http, "/f0.bin");
        g_assert_true (g_str_has_prefix (url, "https:"));

        files_start_held (f, 4, FALSE);
        release_all (f);
        assert_transferred_and_complete (f);
}

/* Cancel with four files in flight, each partly on disk: nothing is left once it replies. */
static void
test_cancel (void)
{
        g_autoptr(Files) f = files_started (5, 4, TRUE);

        xferd_job_call (f->env->fx, f->job, "Cancel");
        assert_dir_is (f->env->dir, nothing);
        assert_job_removed (f->env->fx, f->id, "cancelled");
        release_all (f);
        assert_dir_is (f->env->dir, nothing);
}

/* Complete with the last file done and three in flight: that file moves into place, the three
 * partial ones go, partial = true. */
static void
test_complete_partial (void)
{
        g_autoptr(Files) f = files_started (4, 4, FALSE);

        release_first (f, 3);
        g_assert_true (xferd_complete (f->env->fx, f->job));
        const char *const last[] = { "f3.bin", NULL };
        assert_dir_is (f->env->dir, last);
        assert_file_content (f->dests[3], f->contents[3]);
        for (guint i = 0; i < 3; i++)
                release (f, i);
        assert_dir_is (f->env->dir, last);
}

/* kill -9 with four partial files: after the restart each continues from its bytes. */
static void
test_kill_resume (void)
{
        g_autoptr(Files) f = files_started (4, 4, TRUE);

        xferd_process_kill (f->env->fx);
        for (guint i = 0; i < f->n; i++) {
                release (f, i);
                g_assert_cmpuint (http_server_request_count (f->env->http, f->paths[i]), ==, 1);
        }
        xferd_process_start (f->env->fx);

        assert_transferred_and_complete (f);
        assert_each_resumed (f);
}

/* kill -9 right after a file's end is listed, before the store has it, with two files in
 * flight and the next ones' temporary files recorded but never made: the next start finds
 * each file as the disk has it, and every byte and counter is exact, nothing left over. */
static void
test_kill_end_unstored (void)
{
        g_autoptr(Files) f = files_new_with_env (6);

        xferd_process_setenv (f->env->fx, "XFERD_TEST_CRASH_POINT", "file-end-listed");
        files_start_held (f, 2, TRUE);
        /* Asked now: a call after the crash would start xferd again. */
        g_autofree char *temp = xferd_temp_path (f->env->fx, f->job, 2);
        pid_t pid = xferd_process_pid (f->env->fx);
        guint from = f->env->fx->signals->len;
        release (f, 0);
        g_assert_true (xferd_process_wait_killed (f->env->fx, pid, from, WAIT_TIMEOUT_MS));
        xferd_process_setenv (f->env->fx, "XFERD_TEST_CRASH_POINT", "");
        assert_not_requested (f, 2, f->n);
        g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));

        release_all (f);
        xferd_process_start (f->env->fx);
        assert_transferred_and_complete (f);
}

/* A reply that says a file is transferred is a promise the store keeps: kill -9 right after
 * Get FilesTransferred answered 1, and the restarted xferd still says 1 (the file's path is
 * held again at the server, so a second download of it cannot end). */
static void
test_kill_after_reply (void)
{
        g_autoptr(Files) f = files_started (3, 2, TRUE);
        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);

        release (f, 1);
        while (job_get_uint32 (f->env->fx, f->job, "FilesTransferred") < 1)
                g_assert_true (poll_again (deadline, 1));
        xferd_process_kill (f->env->fx);
        http_server_stall_after (f->env->http, f->paths[1], STALL);
        xferd_process_start (f->env->fx);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "FilesTransferred"), ==, 1);
        release_all (f);
        assert_transferred_and_complete (f);
}

/* n generated files added to job (PREFIX0.bin of `size` bytes, PREFIX1.bin one more, …), their
 * bytes and destinations appended to contents and dests; then the job resumed until transferred. */
static void
add_generated_transferred (XferdEnv *env, const char *job, const char *prefix, guint n, gsize size,
                           GPtrArray *contents, GPtrArray *dests)
{
        for (guint i = 0; i < n; i++) {
                g_autofree char *path = g_strdup_printf ("/%s%u.bin", prefix, i);
                g_autofree char *url = http_server_url (env->http, path);

                g_ptr_array_add (contents, http_server_add_generated (env->http, path, size + i));
                g_ptr_array_add (dests, g_strdup_printf ("%s%s", env->dir, path));
                xferd_add_file (env->fx, job, url, dests->pdata[dests->len - 1]);
        }
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
}

/* Every file at its destination with its bytes, and nothing else in the directory. */
static void
assert_all_in_place (XferdEnv *env, GPtrArray *contents, GPtrArray *dests)
{
        for (guint i = 0; i < dests->len; i++)
                assert_file_content (dests->pdata[i], contents->pdata[i]);
        g_auto(GStrv) names = list_dir (env->dir);
        g_assert_cmpuint (g_strv_length (names), ==, dests->len);
}

/* Complete of a job of many files (a batch of 64 or more is worked on two threads): a file
 * that cannot move (a directory is at its destination) fails the call, the files moved stay,
 * and Complete again, once it can, moves the rest; every file in place with its bytes. */
static void
test_complete_many (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        enum { N = 100, BLOCKED = 70 };
        g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
        g_autoptr(GPtrArray) dests = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GError) error = NULL;
        g_autofree char *job = create_job_ok (env, 16, NULL);

        bus_fixture_note_xferd (env->fx);
        add_generated_transferred (env, job, "m", N, 1000, contents, dests);

        g_assert_cmpint (g_mkdir (dests->pdata[BLOCKED], 0755), ==, 0);
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"), &error);
        bus_assert_error (error, XFERD_ERROR ("CompleteFailed"));
        g_assert_null (reply);
        g_autofree char *state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "transferred");
        /* Each half of the batch stops at its own failure: the first file moved either way. */
        assert_file_content (dests->pdata[0], contents->pdata[0]);

        g_assert_cmpint (g_rmdir (dests->pdata[BLOCKED]), ==, 0);
        g_assert_false (xferd_complete (env->fx, job));
        assert_all_in_place (env, contents, dests);
}

/* The soft limit of descriptors xferd runs with, from /proc. */
static guint64
process_soft_nofile (guint32 pid)
{
        g_autofree char *path = g_strdup_printf ("/proc/%u/limits", pid);
        g_autofree char *text = NULL;
        const char *line;

        g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
        line = strstr (text, "Max open files");
        g_assert_nonnull (line);
        return g_ascii_strtoull (line + strlen ("Max open files"), NULL, 10);
}

/* Started with a soft limit of descriptors below its hard one (as systemd starts every
 * service: 1024 of 524288), xferd raises it; and a Complete of more files than its limit
 * allows open at once moves every one (it failed with "Too many open files" after opening
 * them all to sync their data). */
static void
test_complete_fd_limit (void)
{
        enum { N = 400, LIMIT = 200 };
        struct rlimit saved, soft, low = { .rlim_cur = LIMIT, .rlim_max = LIMIT };
        g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
        g_autoptr(GPtrArray) dests = g_ptr_array_new_with_free_func (g_free);
        guint32 pid;

        /* xferd (started by the bus, which is started from here) inherits the soft limit. */
        g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
        g_assert_cmpuint (saved.rlim_max, >=, 2 * LIMIT);
        soft = (struct rlimit) { .rlim_cur = MIN (1024, saved.rlim_max / 2), .rlim_max = saved.rlim_max };
        g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &soft), ==, 0);
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *job = create_job_ok (env, 16, NULL);

        g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
        pid = bus_fixture_note_xferd (env->fx);
        g_assert_cmpuint (process_soft_nofile (pid), ==, saved.rlim_max);
        /* Now fewer than the job's files. */
        g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, &low, NULL), ==, 0);
        add_generated_transferred (env, job, "l", N, 100, contents, dests);
        g_assert_false (xferd_complete (env->fx, job));
        assert_all_in_place (env, contents, dests);
}

/* Suspend with four partial files keeps each, its bytes counted exactly; Resume continues
 * every one with Range. A file added meanwhile joins the files in flight. */
static void
test_suspend_resume (void)
{
        g_autoptr(Files) f = files_started (4, 4, TRUE);

        xferd_job_call (f->env->fx, f->job, "Suspend");
        g_assert_cmpuint (job_get_uint64 (f->env->fx, f->job, "BytesTransferred"), ==, 4 * STALL);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "FilesTransferred"), ==, 0);
        release_all (f);
        xferd_job_call (f->env->fx, f->job, "Resume");
        assert_transferred_and_complete (f);
        assert_each_resumed (f);
}

/* A file added while fewer than MaxConcurrentFiles are in flight starts at once. */
static void
test_add_while_running (void)
{
        g_autoptr(Files) f = files_new_with_env (3);

        files_start_some (f, 3, 2);
        assert_held (f, 0, 2);
        assert_not_requested (f, 2, 3);
        files_add (f, 2, 3);
        assert_held (f, 0, 3);
        release_all (f);
        assert_transferred_and_complete (f);
}

static void
assert_invalid (BusFixture *fx, const char *job, guint32 value)
{
        g_autoptr(GError) error = NULL;

        bus_set_property (fx, job, XFERD_JOB_IFACE, "MaxConcurrentFiles", g_variant_new_uint32 (value), &error);
        bus_assert_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
        g_assert_nonnull (strstr (error->message, "between 1 and 16"));
}

/* 1..16 for the property and the options; the default 1; stored across a restart. */
static void
test_property (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);
        g_autofree char *job = xferd_create_job (env->fx, "plain", NULL);

        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 1);
        assert_invalid (env->fx, job, 0);
        assert_invalid (env->fx, job, 17);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 1);
        job_set (env->fx, job, "MaxConcurrentFiles", g_variant_new_uint32 (16));
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 16);

        const guint32 bad[] = { 0, 17, 1000 };
        for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) reply = create_job (env, &bad[i], &error);
                g_assert_null (reply);
                bus_assert_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
                g_assert_nonnull (strstr (error->message, "between 1 and 16"));
        }
        g_autofree char *seven = create_job_ok (env, 7, NULL);
        g_assert_cmpuint (job_get_uint32 (env->fx, seven, "MaxConcurrentFiles"), ==, 7);
        {
                /* Download takes it too; the wrong type is refused. */
                GVariantBuilder options;
                g_autoptr(GError) error = NULL;
                g_autofree char *url = http_server_url (env->http, "/none.bin");
                g_autofree char *dest = xferd_env_path (env, "none.bin");
                g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
                g_variant_builder_add (&options, "{sv}", "max-concurrent-files", g_variant_new_uint64 (2));
                g_autoptr(GVariant) reply = bus_call_manager (env->fx, "Download",
                                                              g_variant_new ("(ssa{sv})", url, dest, &options),
                                                              G_VARIANT_TYPE ("(so)"), &error);
                g_assert_null (reply);
                bus_assert_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
        }

        /* Stored. */
        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "MaxConcurrentFiles"), ==, 16);
}

/* Each file in flight is checked against its own checksum: all right, the job completes;
 * one wrong, the job fails with Integrity and nothing of it moves into place. */
static void
test_checksums (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new (NULL);

        for (guint wrong = 0; wrong < 2; wrong++) {
                g_autoptr(Files) f = files_new (env, 4);
                g_autoptr(GError) error = NULL;

                f->job = create_job_ok (env, 4, NULL);
                for (guint i = 0; i < f->n; i++) {
                        g_autofree char *url = http_server_url (env->http, f->paths[i]);
                        g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, f->contents[i]);
                        /* The second round: file 2 expects the digest of file 1. */
                        if (wrong && i == 2) {
                                g_free (hex);
                                hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, f->contents[1]);
                        }
                        g_autofree char *sum = g_strconcat ("sha256:", hex, NULL);
                        g_autofree char *dest = g_strdup_printf ("%s/r%u-f%u.bin", env->dir, wrong, i);
                        g_free (f->dests[i]);
                        f->dests[i] = g_steal_pointer (&dest);
                        GVariantBuilder options;
                        g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
                        g_variant_builder_add (&options, "{sv}", "checksum", g_variant_new_string (sum));
                        g_autoptr(GVariant) r = bus_call_job (env->fx, f->job, "AddFileWithOptions",
                                                              g_variant_new ("(ssa{sv})", url, f->dests[i], &options),
                                                              G_VARIANT_TYPE_UNIT, &error);
                        g_assert_no_error (error);
                }
                xferd_job_call (env->fx, f->job, "Resume");
                assert_held (f, 0, 4);
                release_all (f);
                if (!wrong) {
                        assert_transferred_and_complete (f);
                        continue;
                }
                job_wait_state (env->fx, f->job, "error");
                job_assert_error (env->fx, f->job, "Integrity", NULL);
                xferd_job_call (env->fx, f->job, "Cancel");
                /* Only the first round's files. */
                g_auto(GStrv) names = list_dir (env->dir);
                g_assert_cmpuint (g_strv_length (names), ==, 4);
                for (guint i = 0; i < 4; i++)
                        g_assert_true (g_str_has_prefix (names[i], "r0-"));
        }
}

/* Raised while running: more files start at once. Lowered: no new file starts until fewer
 * than the new number are in flight. */
static void
test_set_while_running (void)
{
        g_autoptr(Files) f = files_started (5, 0, FALSE);

        assert_not_requested (f, 1, 5);
        /* A limit far above what flows: the job's rate is split over its lanes from now on
         * (no timing is checked here; the split is test-scheduler-policy's). */
        job_set (f->env->fx, f->job, "BandwidthLimit", g_variant_new_uint64 (G_GUINT64_CONSTANT (1) << 32));

        job_set (f->env->fx, f->job, "MaxConcurrentFiles", g_variant_new_uint32 (3));
        assert_held (f, 0, 3);
        assert_not_requested (f, 3, 5);

        job_set (f->env->fx, f->job, "MaxConcurrentFiles", g_variant_new_uint32 (2));
        release_first (f, 0);
        /* Two still in flight: the lowered limit starts nothing new. */
        assert_not_requested (f, 3, 5);
        release (f, 1);
        assert_held (f, 3, 4);
        assert_not_requested (f, 4, 5);
        release_all (f);
        assert_transferred_and_complete (f);
}

/* One file answers 404: the job is in error and the other files in flight stop (their
 * bytes kept); Cancel then removes everything. */
static void
test_one_fails (void)
{
        g_autoptr(Files) f = files_new_with_env (3);

        http_server_fail (f->env->http, f->paths[2], 404, NULL, -1, HTTP_SERVER_FOREVER);
        files_start (f, 0);
        job_set (f->env->fx, f->job, "MaxConcurrentFiles", g_variant_new_uint32 (3));
        job_wait_state (f->env->fx, f->job, "error");
        job_assert_error (f->env->fx, f->job, "Http", NULL);
        /* Nothing runs on: what was held stays held, and no more bytes are asked for. */
        guint before = http_server_request_count (f->env->http, f->paths[0]);
        for (guint i = 0; i < 2; i++)
                release (f, i);
        g_assert_cmpuint (http_server_request_count (f->env->http, f->paths[0]), ==, before);
        g_assert_cmpuint (job_get_uint32 (f->env->fx, f->job, "FilesTransferred"), ==, 0);
        /* The partial files stay for a Resume. */
        g_auto(GStrv) names = list_dir (f->env->dir);
        g_assert_cmpuint (g_strv_length (names), >=, 2);
        xferd_job_call (f->env->fx, f->job, "Cancel");
        assert_dir_is (f->env->dir, nothing);
}

const TestCase test_cases[] = {
        { "/concurrent-files/overlap", test_overlap },
        { "/concurrent-files/overlap-https", test_overlap_https },
        { "/concurrent-files/cancel", test_cancel },
        { "/concurrent-files/complete-partial", test_complete_partial },
        { "/concurrent-files/complete-many", test_complete_many },
        { "/concurrent-files/complete-fd-limit", test_complete_fd_limit },
        { "/concurrent-files/kill-resume", test_kill_resume },
        { "/concurrent-files/kill-end-unstored", test_kill_end_unstored },
        { "/concurrent-files/kill-after-reply", test_kill_after_reply },
        { "/concurrent-files/suspend-resume", test_suspend_resume },
        { "/concurrent-files/add-while-running", test_add_while_running },
        { "/concurrent-files/checksums", test_checksums },
        { "/concurrent-files/property", test_property },
        { "/concurrent-files/set-while-running", test_set_while_running },
        { "/concurrent-files/one-fails", test_one_fails },
        { NULL, NULL }
};
