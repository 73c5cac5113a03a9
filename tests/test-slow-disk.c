/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A destination whose file system hangs does not stop the daemon: the
 * fdatasync, renames and unlinks of Complete and Cancel run on worker
 * threads. meson sets XFERD_TEST_DELAY (see daemon/io-pool.h), which the bus
 * hands to the xferd it activates: a worker holds fsyncs in directories named
 * slow-fsync for 5 s, renames in slow-rename and unlinks in slow-unlink for
 * 2 s, and logs "Test delay: ..." when it starts to, so every case knows the
 * operation hangs at that moment; no case sleeps.
 *
 * - another user's ListJobs is answered while a destination's fsync hangs;
 * - Cancel while Complete syncs: Cancel replies once the temporary file is
 *   gone, without waiting for the sync; Complete then fails with
 *   InvalidState; nothing of the job is left;
 * - Cancel while the unlink hangs replies only after the unlink;
 * - Cancel of a running transfer whose unlink hangs: the transfer stops when
 *   the call is handled, not once the unlink is done;
 * - Cancel while Complete renames waits for the renames and finds the job
 *   completed (InvalidState).
 * - Cancel of a transferred job (its file closed) whose file is large: the name
 *   goes before the reply, the blocks after it (the file is unlinked open and
 *   closed afterwards, held 2 s in slow-close).
 * - Complete's files closed after its reply (held in slow-close): the daemon is
 *   idle once they are, and exits.
 */
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-cases.h"
#include "xferd-env.h"

#define SIZE (64 * 1024 + 3)
#define USER_B "xferd-test-b"
/* What the daemon owes another caller while one destination hangs; the bench row reports
 * the real figure, this bound only has to hold on a loaded machine under sanitizers. */
#define ANSWER_BOUND_USEC (1000 * 1000)

/* Calls a job method without waiting; the reply lands in *a while the fixture's context runs. */
static void
job_call_async (XferdEnv *env, const char *job, const char *method, BusAsyncReply *a)
{
        bus_call_async (env->fx, env->fx->conn, job, XFERD_JOB_IFACE, method, NULL, NULL, a);
}

static gboolean
wait_reply (XferdEnv *env, BusAsyncReply *a, guint timeout_ms)
{
        return bus_fixture_run_until (env->fx, &a->done, timeout_ms);
}

/* The XferdEnvMake of every case: setup says whether on a system-type bus, where user B calls
 * too (root only; NULL, the case skipped, without), else a session bus whose xferd's output
 * is read (env->log); SIZE bytes at /file.bin. */
static XferdEnv *
slow_disk_env_make (gconstpointer setup)
{
        const BusFixtureOptions *options = setup;

        if (options->system_bus &&
            !test_needs (geteuid () == 0 && getpwnam (USER_B) ? NULL : "root and the user " USER_B))
                return NULL;
        XferdEnv *env = options->system_bus ? xferd_env_new (options) : xferd_env_new_logged (options);

        g_assert_nonnull (g_getenv ("XFERD_TEST_DELAY"));
        xferd_env_serve (env, "/file.bin", SIZE);
        return env;
}

/* The directory where the daemon delays one operation (slow-fsync, slow-rename, slow-unlink). */
static char *
slow_dir (XferdEnv *env, const char *name)
{
        char *dir = g_build_filename (env->dir, name, NULL);

        g_assert_no_errno (g_mkdir (dir, 0755));
        return dir;
}

static void
wait_delay_logged (XferdEnv *env, const char *what)
{
        g_autofree char *needle = g_strdup_printf ("Test delay: %s", what);

        if (env->log)
                g_assert_true (xferd_log_wait (env->log, needle, 1, WAIT_TIMEOUT_MS));
        else {
                g_autofree char *log = bus_fixture_wait_xferd_log (env->fx, needle, WAIT_TIMEOUT_MS);
                g_assert_nonnull (log);
        }
}

/* A job with the test's file transferred (not completed) into a new directory where the daemon
 * delays one operation (slow_dir()): *dir; *temp, its temporary file, if asked. */
static char *
transferred_job (XferdEnv *env, const char *slow, char **dir, char **temp)
{
        *dir = slow_dir (env, slow);
        g_autofree char *dest = g_build_filename (*dir, "file.bin", NULL);
        char *job = xferd_download (env->fx, env->url, dest, FALSE, NULL);

        job_wait_state (env->fx, job, "transferred");
        if (temp)
                *temp = xferd_temp_path (env->fx, job, 0);
        return job;
}

static void
test_other_user_answered (XferdEnv *env)
{
        g_autofree char *dir = slow_dir (env, "slow-fsync");
        g_autofree char *dest = g_build_filename (dir, "file.bin", NULL);
        g_autoptr(BusClient) b = bus_client_new (env->fx, USER_B);
        g_autoptr(GVariant) warm = NULL, reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *job = NULL, *state = NULL;
        gint64 start, took;

        /* B's connection and uid are known to the daemon before the clock starts. */
        warm = bus_client_call_manager (b, "ListJobs", g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("(a(ssssutto))"),
                                        &error);
        g_assert_no_error (error);

        /* Root's download completes by itself into the directory whose fsync hangs. */
        job = xferd_download (env->fx, env->url, dest, TRUE, NULL);
        wait_delay_logged (env, "FSYNC");

        start = g_get_monotonic_time ();
        reply = bus_client_call_manager (b, "ListJobs", g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("(a(ssssutto))"),
                                         &error);
        took = g_get_monotonic_time () - start;
        g_assert_no_error (error);
        g_test_message ("ListJobs of another user while a fsync hangs: %.1f ms", took / 1000.0);
        g_assert_cmpint (took, <, ANSWER_BOUND_USEC);
        /* Answered while the sync still hung: the completion has not moved the file yet. */
        state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "transferred");
        g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));

        /* And the completion finishes once the sync does. */
        assert_job_removed (env->fx, job + strlen (XFERD_JOB_PATH_PREFIX), "acknowledged");
        assert_file_content (dest, env->content);
}

static void
test_cancel_during_complete (XferdEnv *env)
{
        g_autofree char *dir = NULL, *temp = NULL;
        g_autofree char *job = transferred_job (env, "slow-fsync", &dir, &temp);
        BusAsyncReply complete, cancel;

        g_assert_true (g_file_test (temp, G_FILE_TEST_IS_REGULAR));
        job_call_async (env, job, "Complete", &complete);
        wait_delay_logged (env, "FSYNC");

        job_call_async (env, job, "Cancel", &cancel);
        g_assert_true (wait_reply (env, &cancel, WAIT_TIMEOUT_MS));
        g_assert_no_error (cancel.error);
        /* Cancel did not wait for the sync Complete started, and left nothing. */
        g_assert_false (complete.done);
        assert_dir_empty (dir);

        g_assert_true (wait_reply (env, &complete, WAIT_TIMEOUT_MS));
        bus_assert_error (complete.error, XFERD_ERROR ("InvalidState"));
        assert_dir_empty (dir);
        assert_job_string (env->fx, job, "State", "cancelled");
        bus_async_reply_clear (&complete);
        bus_async_reply_clear (&cancel);
}

static void
test_cancel_waits_for_unlink (XferdEnv *env)
{
        g_autofree char *dir = NULL, *temp = NULL;
        g_autofree char *job = transferred_job (env, "slow-unlink", &dir, &temp);
        g_autoptr(GVariant) jobs = NULL;
        BusAsyncReply cancel;

        job_call_async (env, job, "Cancel", &cancel);
        wait_delay_logged (env, "UNLINK");
        /* The unlink hangs: no reply yet, the file is still there, and other calls are served. */
        jobs = xferd_list_jobs (env->fx);
        g_assert_nonnull (jobs);
        g_assert_false (cancel.done);
        g_assert_true (g_file_test (temp, G_FILE_TEST_EXISTS));

        g_assert_true (wait_reply (env, &cancel, WAIT_TIMEOUT_MS));
        g_assert_no_error (cancel.error);
        /* The reply came after the unlink. */
        g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
        assert_dir_empty (dir);
        assert_job_removed (env->fx, job + strlen (XFERD_JOB_PATH_PREFIX), "cancelled");
        bus_async_reply_clear (&cancel);
}

/* As large as the daemon's UNLINK_KEEP_SIZE (daemon/file-batch.c): freeing the blocks of a
 * closed file that large is left to the close after the reply. */
#define KEEP_SIZE (16 * 1024 * 1024)

static void
test_cancel_frees_blocks_after_reply (XferdEnv *env)
{
        g_autofree char *dir = slow_dir (env, "slow-close");
        g_autofree char *dest = g_build_filename (dir, "big.bin", NULL);
        g_autofree char *url = http_server_url (env->http, "/big.bin");
        g_autoptr(GBytes) body = g_bytes_new_take (g_malloc0 (KEEP_SIZE), KEEP_SIZE);
        g_autofree char *job = NULL, *temp = NULL;
        BusAsyncReply cancel;

        http_server_add_bytes (env->http, "/big.bin", body);
        job = xferd_download (env->fx, url, dest, FALSE, NULL);
        job_wait_state (env->fx, job, "transferred");
        temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (g_file_test (temp, G_FILE_TEST_EXISTS));

        job_call_async (env, job, "Cancel", &cancel);
        g_assert_true (wait_reply (env, &cancel, WAIT_TIMEOUT_MS));
        g_assert_no_error (cancel.error);
        /* The name went before the reply; the file, opened before its unlink, is closed (and its
         * blocks freed) only after the reply, on a worker: held there now. */
        g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
        assert_dir_empty (dir);
        wait_delay_logged (env, "CLOSE");
        assert_job_removed (env->fx, job + strlen (XFERD_JOB_PATH_PREFIX), "cancelled");
        bus_async_reply_clear (&cancel);
}

/* Complete closes the finished files on a worker after its reply (held 2 s in slow-close): once
 * they are closed, the daemon is idle again and exits after its idle timeout. (It stayed,
 * counted busy by the close, when nothing else came to look again.) */
static void
test_idle_after_complete_closes (XferdEnv *env)
{
        g_autofree char *dir = NULL;
        g_autofree char *job = transferred_job (env, "slow-close", &dir, NULL);
        pid_t pid = xferd_process_pid (env->fx);

        g_assert_cmpint (pid, >, 0);
        g_assert_false (xferd_complete (env->fx, job));
        wait_delay_logged (env, "CLOSE");
        g_assert_true (xferd_process_wait_gone (env->fx, pid, 0, WAIT_TIMEOUT_MS));
}

static void
test_cancel_stops_transfer_before_unlink (XferdEnv *env)
{
        g_autofree char *dir = slow_dir (env, "slow-unlink");
        g_autofree char *dest = g_build_filename (dir, "slow.bin", NULL);
        g_autofree char *url = http_server_url (env->http, "/slow.bin");
        g_autoptr(GBytes) body = g_bytes_new_take (g_malloc0 (8 * 1024 * 1024), 8 * 1024 * 1024);
        g_autoptr(GVariant) jobs = NULL;
        g_autofree char *job = NULL, *temp = NULL;
        struct stat before, after;
        BusAsyncReply cancel;
        int fd;

        /* 2 s of the unlink's delay would bring another 512 KiB. */
        http_server_add_bytes (env->http, "/slow.bin", body);
        http_server_set_rate (env->http, "/slow.bin", 256 * 1024);
        job = xferd_download (env->fx, url, dest, FALSE, NULL);
        temp = xferd_wait_temp (env->fx, job, 0, 64 * 1024);
        /* The file as the transfer writes it, also once its name is gone. */
        fd = open (temp, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint (fd, >=, 0);

        job_call_async (env, job, "Cancel", &cancel);
        wait_delay_logged (env, "UNLINK");
        /* Answered after the Cancel was handled: its transfer has stopped by now. */
        jobs = xferd_list_jobs (env->fx);
        g_assert_nonnull (jobs);
        g_assert_no_errno (fstat (fd, &before));
        g_assert_false (cancel.done);

        g_assert_true (wait_reply (env, &cancel, WAIT_TIMEOUT_MS));
        g_assert_no_error (cancel.error);
        /* Not a byte while the unlink hung, and the name went before the reply. */
        g_assert_no_errno (fstat (fd, &after));
        g_assert_cmpint (after.st_size, ==, before.st_size);
        g_assert_cmpuint (after.st_nlink, ==, 0);
        assert_dir_empty (dir);
        g_assert_no_errno (close (fd));
        bus_async_reply_clear (&cancel);
}

static void
test_cancel_during_renames (XferdEnv *env)
{
        g_autofree char *dir = NULL;
        g_autofree char *job = transferred_job (env, "slow-rename", &dir, NULL);
        g_autofree char *dest = g_build_filename (dir, "file.bin", NULL);
        BusAsyncReply complete, cancel;

        job_call_async (env, job, "Complete", &complete);
        wait_delay_logged (env, "RENAME");
        job_call_async (env, job, "Cancel", &cancel);

        /* A rename cannot be taken back: Cancel waits for Complete and then finds the job final. */
        g_assert_true (wait_reply (env, &cancel, WAIT_TIMEOUT_MS));
        g_assert_true (complete.done);
        g_assert_cmpint (complete.when, <=, cancel.when);
        g_assert_no_error (complete.error);
        bus_assert_error (cancel.error, XFERD_ERROR ("InvalidState"));
        assert_file_content (dest, env->content);
        {
                const char *const names[] = { "file.bin", NULL };
                assert_dir_is (dir, names);
        }
        bus_async_reply_clear (&complete);
        bus_async_reply_clear (&cancel);
}

static const BusFixtureOptions system_bus = { .system_bus = TRUE };
static const BusFixtureOptions session_bus = { .system_bus = FALSE };
static const BusFixtureOptions session_bus_idle = { .system_bus = FALSE, .idle_timeout = 1 };

static const XferdEnvCase env_cases[] = {
        { "/slow-disk/other-user-answered-while-fsync-hangs", test_other_user_answered, &system_bus },
        { "/slow-disk/cancel-during-complete-sync", test_cancel_during_complete, &session_bus },
        { "/slow-disk/cancel-waits-for-unlink", test_cancel_waits_for_unlink, &session_bus },
        { "/slow-disk/cancel-stops-transfer-before-unlink", test_cancel_stops_transfer_before_unlink, &session_bus },
        { "/slow-disk/cancel-frees-blocks-after-reply", test_cancel_frees_blocks_after_reply, &session_bus },
        { "/slow-disk/idle-after-complete-closes", test_idle_after_complete_closes, &session_bus_idle },
        { "/slow-disk/cancel-during-renames", test_cancel_during_renames, &session_bus },
        { NULL, NULL, NULL }
};

const XferdEnvCases test_env_cases = { slow_disk_env_make, env_cases };
