/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A download's body written off the loop (daemon/transfer-writer.c), through
 * the real xferd, with the writer held by XFERD_TEST_WRITE_PAUSE=1 so that
 * every case acts while writes are queued, however fast the machine is:
 * Suspend replies with every byte received in the file (then a Resume goes on
 * with a Range from there), Cancel leaves nothing and the thread does not
 * bring the file back, and a kill -9 with writes held resumes to a verified
 * file, or to Integrity when the server's bytes changed meanwhile; Suspend and
 * Cancel also while the file's hash stream holds the held task's buffers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (4 * 1024 * 1024 + 4321)
/* Fits the transfer's four buffers: all of it is received while the writer is held. */
#define HELD (2 * 1024 * 1024 + 17)
#define PAUSED "Test pause: the writer holds bytes"

/* A download of SIZE bytes (with its sha256 checksum and auto-complete, or neither), the
 * server stalling after HELD, with the writer held: returns once the writer holds its first
 * bytes and the server has sent HELD. */
static char *
start_held (XferdEnv *env, gboolean checksum, char **id)
{
        g_autoptr(GVariantBuilder) o = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);

        xferd_process_setenv (env->fx, "XFERD_TEST_WRITE_PAUSE", "1");
        xferd_env_serve (env, "/file.bin", SIZE);
        http_server_set_validators (env->http, "/file.bin", "\"v1\"", NULL);
        http_server_stall_after (env->http, "/file.bin", HELD);
        g_variant_builder_add (o, "{sv}", "auto-complete", g_variant_new_boolean (checksum));
        if (checksum) {
                g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, env->content);
                g_autofree char *sum = g_strconcat ("sha256:", hex, NULL);
                g_variant_builder_add (o, "{sv}", "checksum", g_variant_new_string (sum));
        }
        g_autofree char *job = xferd_download_with (env->fx, env->url, env->dest, o, id);

        g_assert_true (xferd_log_wait (env->log, PAUSED, 1, WAIT_TIMEOUT_MS));
        g_assert_true (http_server_wait_stalled (env->http, "/file.bin", 1, WAIT_TIMEOUT_MS));
        return g_steal_pointer (&job);
}

/* The next xferd writes freely; the server sends the rest. */
static void
release_writer_and_server (XferdEnv *env)
{
        xferd_process_kill (env->fx);
        xferd_process_setenv (env->fx, "XFERD_TEST_WRITE_PAUSE", "");
        http_server_release (env->http, "/file.bin");
}

/* Suspend while the writer holds the bytes: at the reply the temporary file holds every byte
 * xferd had received (its log says how many), and BytesTransferred says so; the next
 * instance's Resume asks for the rest from there and the file completes byte-exact. With a
 * checksum the hash stream holds the held task's buffers too (hashed beside the write): the
 * file still checks out (auto-complete moves it). */
static void
test_suspend_while_queued (gconstpointer data)
{
        gboolean checksum = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *id = NULL;
        g_autofree char *job = start_held (env, checksum, &id);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        guint64 from = G_MAXUINT64, received = 0;

        xferd_job_call (env->fx, job, "Suspend");
        g_assert_true (xferd_log_wait (env->log, "Stopping with bytes [", 1, WAIT_TIMEOUT_MS));
        g_autofree char *line = xferd_log_grep (env->log, "Stopping with bytes [");
        g_assert_nonnull (line);
        g_assert_cmpint (sscanf (strstr (line, "["), "[%" SCNu64 ", %" SCNu64 ")", &from, &received), ==, 2);
        g_assert_cmpuint (from, ==, 0);
        g_assert_cmpuint (received, >, 0);
        g_assert_cmpuint (received, <=, HELD);
        g_assert_cmpint (file_size (temp), ==, (goffset) received);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, received);

        release_writer_and_server (env);
        xferd_job_call (env->fx, job, "Resume");
        if (checksum)
                assert_job_removed (env->fx, id, "acknowledged");
        else {
                job_wait_state (env->fx, job, "transferred");
                g_assert_false (xferd_complete (env->fx, job));
        }
        assert_last_range (env->http, "/file.bin", received);
        assert_dest_complete (env);
}



/* Cancel while the writer holds the bytes: nothing is left at the reply, none of them is
 * written, and a second Cancel is refused. With a checksum the hash stream holds the task's
 * buffers too: each goes with the last of the two to let go. */
static void
test_cancel_while_queued (gconstpointer data)
{
        gboolean checksum = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *job = start_held (env, checksum, NULL);

        xferd_job_call (env->fx, job, "Cancel");
        assert_dir_empty (env->dir);
        xferd_job_call_refused (env->fx, job, "Cancel", XFERD_ERROR ("InvalidState"));
        assert_dir_empty (env->dir);
        g_assert_cmpuint (xferd_log_count (env->log, "Stopping with bytes ["), ==, 0);
}



/* kill -9 while the writer holds the bytes; the next xferd resumes the job and checks the
 * whole file against the checksum: right, or wrong when the server's bytes changed. */
static void
test_kill_while_queued (gconstpointer data)
{
        gboolean changed = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autofree char *id = NULL;
        g_autofree char *job = start_held (env, TRUE, &id);

        release_writer_and_server (env);
        if (changed) {
                g_autofree guint8 *other = g_bytes_unref_to_data (g_bytes_ref (env->content), &(gsize) { 0 });
                other[SIZE / 2] ^= 0xff;
                http_server_add_bytes (env->http, "/file.bin", g_bytes_new_take (g_steal_pointer (&other), SIZE));
        }
        xferd_process_start (env->fx);
        if (changed) {
                job_wait_state (env->fx, job, "error");
                job_assert_error (env->fx, job, "Integrity", "does not match its checksum");
                assert_dir_empty (env->dir);
        } else {
                assert_job_removed (env->fx, id, "acknowledged");
                assert_dest_complete (env);
        }
}



/* One more file of the job on the server (SIZE bytes, stalling after HELD) and in the job. */
static void
add_held_file (XferdEnv *env, const char *job, guint i)
{
        g_autofree char *name = g_strdup_printf ("/f%u.bin", i);
        g_autofree char *dest = g_strdup_printf ("%s/f%u.bin", env->dir, i);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, name, SIZE);
        g_autofree char *url = http_server_url (env->http, name);

        http_server_stall_after (env->http, name, HELD);
        xferd_add_file (env->fx, job, url, dest);
}

/* More files in flight than the write pool has threads (4), each file's writer held: the
 * first four files' writes hold the four threads, the two added later wait in the pool's
 * queue. A Suspend must still reply: a stop waits for its own write in flight only, and takes
 * back a task still queued behind other files'. */
static void
test_suspend_more_than_threads (void)
{
        g_autoptr(XferdEnv) env = xferd_env_new_logged (NULL);
        g_autoptr(GError) error = NULL;
        GVariantBuilder options;
        const char *id, *path;

        xferd_process_setenv (env->fx, "XFERD_TEST_WRITE_PAUSE", "1");
        g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add (&options, "{sv}", "max-concurrent-files", g_variant_new_uint32 (6));
        g_autoptr(GVariant) reply = bus_call_manager (env->fx, "CreateJob", g_variant_new ("(sa{sv})", "many", &options),
                                                      G_VARIANT_TYPE ("(so)"), &error);
        g_assert_no_error (error);
        bus_fixture_note_xferd (env->fx);
        g_variant_get (reply, "(&s&o)", &id, &path);
        for (guint i = 0; i < 4; i++)
                add_held_file (env, path, i);
        xferd_job_call (env->fx, path, "Resume");
        g_assert_true (xferd_log_wait (env->log, PAUSED, 4, WAIT_TIMEOUT_MS));
        for (guint i = 4; i < 6; i++)
                add_held_file (env, path, i);
        g_assert_true (xferd_log_wait (env->log, "Test pause: a writer task is queued", 6, WAIT_TIMEOUT_MS));
        xferd_job_call (env->fx, path, "Suspend");
        g_assert_cmpuint (xferd_log_count (env->log, PAUSED), ==, 4);
}

const TestCase test_cases[] = {
        { "/writer/suspend-more-than-threads", test_suspend_more_than_threads },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/writer/suspend-while-queued", test_suspend_while_queued, GINT_TO_POINTER (FALSE) },
        { "/writer/cancel-while-queued", test_cancel_while_queued, GINT_TO_POINTER (FALSE) },
        { "/writer/suspend-while-queued-checksum", test_suspend_while_queued, GINT_TO_POINTER (TRUE) },
        { "/writer/cancel-while-queued-checksum", test_cancel_while_queued, GINT_TO_POINTER (TRUE) },
        /* The server's bytes unchanged, or changed. */
        { "/writer/kill-while-queued-right", test_kill_while_queued, GINT_TO_POINTER (FALSE) },
        { "/writer/kill-while-queued-wrong", test_kill_while_queued, GINT_TO_POINTER (TRUE) },
        { NULL, NULL, NULL }
};
