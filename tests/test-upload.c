/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Upload jobs over tus, against the tus project's reference server
 * (tus-node-server with its FileStore, tests/tus/server.mjs; tus-server.h):
 * an upload end to end, resuming from the server's offset after the server
 * went away and after xferd was killed, Cancel deleting the server's partial
 * upload (also while the server is down or hangs), and the one-file and
 * Complete rules of upload jobs.
 *
 * "Mid-upload" is a byte count, never a timing: the server stops reading the
 * upload's body at a pause point (PAUSE_AT) and the test waits until the
 * server's data file holds exactly that many bytes.
 *
 * How "bytes sent in total" is measured: the server logs, for every request
 * body, the upload offset it started at and how many bytes it added to the
 * upload, across its restarts (server.mjs, "The log"). Their sum is what
 * reached the server. Bytes still in the kernel's socket buffers when a
 * server or xferd dies are not counted; they are bounded by the buffer sizes
 * and never arrive anywhere.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bus-fixture.h"
#include "secret-check.h"
#include "test-cases.h"
#include "tus-server.h"
#include "xferd-process.h"

#define SIZE (8 * 1024 * 1024)
#define PAUSE_AT (3 * 1024 * 1024 + 17)
/* Cancel "at once": the reply does not wait for the network. Generous for
 * sanitizer builds; a Cancel that waited on a frozen server would take the
 * whole call timeout. */
#define CANCEL_REPLY_MAX_USEC (2 * G_USEC_PER_SEC)

typedef struct {
        BusFixture *fx;
        TusServer *tus;
        char *src;             /* the file to upload */
        GBytes *content;
        /* The upload of env_new_paused(): the job, and the upload's id and path on the
         * server. */
        char *job, *upload, *path;
        XferdLog *log;         /* xferd's captured output (ENV_SECRET), or NULL */
} Env;

typedef enum {
        ENV_PLAIN = 0,
        /* xferd's output captured, and a server that answers with a relative Location: the
         * upload's URL keeps the creation URL's "user:password@". */
        ENV_SECRET = 1 << 0,
} EnvFlags;

static void
env_free (Env *env)
{
        if (!env)
                return;
        /* The server first: the fixture's teardown removes its directory. */
        tus_server_free (env->tus);
        bus_fixture_free (env->fx);
        if (env->log)
                xferd_log_free (env->log);
        g_free (env->src);
        g_clear_pointer (&env->content, g_bytes_unref);
        g_free (env->job);
        g_free (env->upload);
        g_free (env->path);
        g_free (env);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

/* Deterministic "random" bytes: no pattern the transfer could get right by
 * accident (an offset error shows as a mismatch). */
static GBytes *
random_bytes (gsize size, guint32 seed)
{
        g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
        guint32 *words = g_malloc (size + sizeof (guint32));

        for (gsize i = 0; i < size / sizeof (guint32) + 1; i++)
                words[i] = g_rand_int (rand);
        return g_bytes_new_take (words, size);
}

/* A fixture, a tus server (pause_at: its pause point) and a SIZE-byte source
 * file; NULL when the tus server cannot run (the test is skipped or, under
 * CI, failed). */
static Env *
env_new_full (guint64 pause_at, const char *const *extra_args, EnvFlags flags)
{
        BusFixtureOptions options = { .extra_args = extra_args };
        g_autoptr(Env) env = g_new0 (Env, 1);
        g_autoptr(GError) error = NULL;

        env->fx = flags & ENV_SECRET ? bus_fixture_new_logged (&options, &env->log) : bus_fixture_new (&options);
        g_autofree char *workdir = bus_fixture_mkdir (env->fx, "tus");
        env->tus = flags & ENV_SECRET ? tus_server_new_relative (workdir, pause_at) : tus_server_new (workdir, pause_at);
        if (!env->tus)
                return NULL;
        g_autofree char *src_dir = bus_fixture_mkdir (env->fx, "src");
        env->src = g_build_filename (src_dir, "payload.bin", NULL);
        env->content = random_bytes (SIZE, 7);
        g_file_set_contents (env->src, g_bytes_get_data (env->content, NULL), SIZE, &error);
        g_assert_no_error (error);
        return g_steal_pointer (&env);
}

static Env *
env_new_with (guint64 pause_at, const char *const *extra_args)
{
        return env_new_full (pause_at, extra_args, ENV_PLAIN);
}

static Env *
env_new (guint64 pause_at)
{
        return env_new_with (pause_at, NULL);
}

/* Manager.CreateJob with type=upload. */
static char *
create_upload_job (BusFixture *fx, const char *name, char **id)
{
        return xferd_create_job_with (fx, name, id, "type", "upload", NULL);
}

/* An upload job of env's file, resumed; MinimumRetryDelay at the fixture's
 * floor (1 s) so that a retry after a lost server comes soon. */
static char *
start_upload (Env *env, char **id)
{
        g_autofree char *job = create_upload_job (env->fx, "upload", id);
        g_autofree char *type = job_get_string (env->fx, job, "Type");

        g_assert_cmpstr (type, ==, "upload");
        job_set (env->fx, job, "MinimumRetryDelay", g_variant_new_uint32 (1));
        xferd_add_file (env->fx, job, tus_server_endpoint (env->tus), env->src);
        xferd_job_call (env->fx, job, "Resume");
        return g_steal_pointer (&job);
}

/* Waits until the job's UploadUrl is set (the creation POST was answered)
 * and returns it. The property announces its change; the loop also re-reads
 * it now and then in case the announcement comes with another change. */
static char *
wait_upload_url (BusFixture *fx, const char *job)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) WAIT_TIMEOUT_MS * 1000;

        for (;;) {
                guint seen = fx->signals->len;
                g_autofree char *url = job_get_string (fx, job, "UploadUrl");

                if (*url)
                        return g_steal_pointer (&url);
                if (g_get_monotonic_time () > deadline) {
                        g_autofree char *state = job_get_string (fx, job, "State");
                        g_autofree char *message = job_get_string (fx, job, "ErrorMessage");
                        g_test_message ("job %s has no UploadUrl; State %s, ErrorMessage '%s'", job, state, message);
                        g_assert_not_reached ();
                }
                bus_wait_signal (fx, &seen, job, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                 NULL, NULL, 100);
        }
}

/* The upload id of the job, checking that UploadUrl is a resource under the
 * creation endpoint. */
static char *
upload_id_of (Env *env, const char *job)
{
        g_autofree char *url = wait_upload_url (env->fx, job);

        g_test_message ("UploadUrl: %s", url);
        g_assert_true (g_str_has_prefix (url, tus_server_endpoint (env->tus)));
        return g_strdup (tus_upload_id (url));
}

/* upload_id_of(), once the server holds PAUSE_AT bytes of it and pauses (env_new (PAUSE_AT)). */
static char *
upload_id_paused (Env *env, const char *job)
{
        char *id = upload_id_of (env, job);

        g_assert_true (tus_server_wait_paused (env->tus, id, PAUSE_AT, WAIT_TIMEOUT_MS));
        return id;
}

/* "/files/<id>", the path the server logs. */
static char *
upload_path (const char *id)
{
        return g_strconcat ("/files/", id, NULL);
}

/* env_new_with (PAUSE_AT, extra_args) and an upload of its file (start_upload()) that the
 * server holds at the pause point: env->job, env->upload and env->path. */
static Env *
env_new_paused (const char *const *extra_args)
{
        g_autoptr(Env) env = env_new_with (PAUSE_AT, extra_args);

        if (!env)
                return NULL;
        env->job = start_upload (env, NULL);
        env->upload = upload_id_paused (env, env->job);
        env->path = upload_path (env->upload);
        return g_steal_pointer (&env);
}

static void
assert_server_has_whole_file (Env *env, const char *id)
{
        g_autofree char *data = tus_server_data_path (env->tus, id);

        assert_file_content (data, env->content);
}

/* The common end of the resume tests: the job finished, the server has the
 * file byte for byte, the upload was created once, and the run after the
 * interruption asked for the offset and sent only the rest. */
static void
assert_resumed (Env *env, const char *job, const char *id, guint resumed_run)
{
        g_autofree char *path = upload_path (id);
        g_autoptr(GPtrArray) writes = tus_server_writes (env->tus, id);
        g_autofree char *log = tus_server_log (env->tus);
        guint64 total = tus_server_bytes_received (env->tus, id);
        guint64 before = 0, after = 0;
        const TusWrite *first_after = NULL;

        g_test_message ("server log:\n%s", log);
        assert_server_has_whole_file (env, id);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, SIZE);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, SIZE);

        /* One upload resource: xferd kept its URL rather than starting over. */
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "POST", "/files/", 0), ==, 1);
        /* After the interruption xferd asked the server for its offset. */
        g_assert_cmpuint (tus_server_count_requests (env->tus, resumed_run, "HEAD", path, 200), >=, 1);

        for (guint i = 0; i < writes->len; i++) {
                const TusWrite *w = g_ptr_array_index (writes, i);
                if (w->run < resumed_run) {
                        before += w->received;
                } else {
                        if (!first_after)
                                first_after = w;
                        after += w->received;
                }
        }
        /* Before the interruption the server got exactly up to the pause
         * point; afterwards xferd went on from there: offset > 0, and only
         * the rest was sent. */
        g_assert_cmpuint (before, ==, PAUSE_AT);
        g_assert_nonnull (first_after);
        g_assert_cmpuint (first_after->offset, ==, PAUSE_AT);
        g_assert_cmpuint (first_after->offset, >, 0);
        g_assert_cmpuint (after, ==, SIZE - PAUSE_AT);
        g_assert_cmpuint (total * 10, <, (guint64) SIZE * 12);
}

/* ------------------------------------------------------- xferd killed */

/* ------------------------------------------------------------- tests */

static void
test_upload_end_to_end (void)
{
        g_autoptr(Env) env = env_new (TUS_NO_PAUSE);
        g_autofree char *id = NULL;

        if (!env)
                return;
        g_autofree char *job = create_upload_job (env->fx, "upload", &id);
        assert_job_string (env->fx, job, "UploadUrl", "");
        xferd_add_file (env->fx, job, tus_server_endpoint (env->tus), env->src);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTotal"), ==, 1);
        xferd_job_call (env->fx, job, "Resume");

        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (bus_count_signals (env->fx, job, XFERD_JOB_IFACE, "Transferred", NULL, NULL), ==, 1);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, SIZE);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTotal"), ==, SIZE);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);

        g_autofree char *upload = upload_id_of (env, job);
        g_autofree char *path = upload_path (upload);
        assert_server_has_whole_file (env, upload);
        /* Upload-Metadata carried the file name (the FileStore keeps the
         * decoded metadata in the info file). */
        g_autofree char *info_path = tus_server_info_path (env->tus, upload);
        g_autofree char *info = NULL;
        g_assert_true (g_file_get_contents (info_path, &info, NULL, NULL));
        g_test_message ("upload info: %s", info);
        g_assert_nonnull (strstr (info, "\"filename\":\"payload.bin\""));
        g_assert_nonnull (strstr (info, "\"size\":8388608"));
        /* Created once, every byte sent once. */
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "POST", "/files/", 201), ==, 1);
        g_assert_cmpuint (tus_server_bytes_received (env->tus, upload), ==, SIZE);
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "DELETE", path, 0), ==, 0);

        /* Complete acknowledges; the server keeps the upload. */
        g_assert_false (xferd_complete (env->fx, job));
        assert_job_string (env->fx, job, "State", "acknowledged");
        assert_job_removed (env->fx, id, "acknowledged");
        g_assert_cmpuint (tus_server_count_files_of (env->tus, upload), ==, 2);
        assert_server_has_whole_file (env, upload);
        /* The source is untouched. */
        assert_file_content (env->src, env->content);
}

/* The server goes away mid-upload and comes back on the same port with the same directory:
 * xferd asks for the offset and sends the rest. SIGTERM, or SIGKILL: the server has no chance
 * to say anything. */
static void
test_upload_server_stopped (gconstpointer data)
{
        int signo = GPOINTER_TO_INT (data);
        g_autoptr(Env) env = env_new_paused (NULL);

        if (!env)
                return;
        tus_server_stop (env->tus, signo);
        /* With the server down the job cannot get on. */
        job_wait_state (env->fx, env->job, "transient-error");
        g_autofree char *data_file = tus_server_data_path (env->tus, env->upload);
        g_assert_true (g_file_test (data_file, G_FILE_TEST_IS_REGULAR));

        tus_server_restart (env->tus, TUS_NO_PAUSE);
        job_wait_state (env->fx, env->job, "transferred");
        if (signo == SIGTERM) {
                assert_resumed (env, env->job, env->upload, 2);
                g_autofree char *url = job_get_string (env->fx, env->job, "UploadUrl");
                g_assert_cmpstr (tus_upload_id (url), ==, env->upload);
                g_assert_false (xferd_complete (env->fx, env->job));
                return;
        }

        /* The killed run logged no WRITE line for the body it was reading:
         * what it received is what its data file held, the pause point. */
        g_autoptr(GPtrArray) writes = tus_server_writes (env->tus, env->upload);
        g_assert_cmpuint (writes->len, >=, 1);
        const TusWrite *first = g_ptr_array_index (writes, 0);
        g_assert_cmpuint (first->run, ==, 2);
        g_assert_cmpuint (first->offset, ==, PAUSE_AT);
        g_assert_cmpuint (tus_server_bytes_received (env->tus, env->upload), ==, SIZE - PAUSE_AT);
        g_assert_cmpuint (tus_server_count_requests (env->tus, 2, "HEAD", env->path, 200), >=, 1);
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "POST", "/files/", 0), ==, 1);
        assert_server_has_whole_file (env, env->upload);
}

/* kill -9 xferd mid-upload; the next call activates a new xferd, which
 * takes the job up again from the server's offset. The server keeps
 * running: its stalled request from the dead xferd is dropped when the new
 * xferd's first request for the upload arrives. */
static void
test_upload_xferd_killed (void)
{
        g_autoptr(Env) env = env_new_paused (NULL);

        if (!env)
                return;
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "HEAD", env->path, 0), ==, 0);

        xferd_process_kill (env->fx);
        /* This call activates the new xferd. */
        job_wait_state (env->fx, env->job, "transferred");
        bus_fixture_note_xferd (env->fx);

        g_autoptr(GPtrArray) writes = tus_server_writes (env->tus, env->upload);
        g_autofree char *log = tus_server_log (env->tus);
        guint64 total = tus_server_bytes_received (env->tus, env->upload);
        g_test_message ("server log:\n%s", log);
        assert_server_has_whole_file (env, env->upload);
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "POST", "/files/", 0), ==, 1);
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "HEAD", env->path, 200), >=, 1);
        /* The dead xferd's body: exactly up to the pause point, dropped.
         * Then the new xferd from the server's offset. */
        g_assert_cmpuint (writes->len, >=, 2);
        const TusWrite *dead = g_ptr_array_index (writes, 0);
        const TusWrite *next = g_ptr_array_index (writes, 1);
        g_assert_cmpuint (dead->offset, ==, 0);
        g_assert_cmpuint (dead->received, ==, PAUSE_AT);
        g_assert_cmpstr (dead->how, ==, "dropped");
        g_assert_cmpuint (next->offset, ==, PAUSE_AT);
        g_assert_cmpuint (total, ==, SIZE);
        g_assert_cmpuint (total * 10, <, (guint64) SIZE * 12);
        g_assert_cmpuint (job_get_uint64 (env->fx, env->job, "BytesTransferred"), ==, SIZE);
        g_autofree char *url = job_get_string (env->fx, env->job, "UploadUrl");
        g_assert_cmpstr (tus_upload_id (url), ==, env->upload);
        g_assert_false (xferd_complete (env->fx, env->job));
}

/* The DELETE of a cancelled upload retried after 1 s instead of 5 s: 1, 2, 4, ... */
static const char *const fast_delete_retries[] = { "--delete-retry-base=1", NULL };

/* Cancel, timed: returns how long the call took. */
static gint64
timed_cancel (BusFixture *fx, const char *job)
{
        gint64 start = g_get_monotonic_time ();

        xferd_job_call (fx, job, "Cancel");
        gint64 took = g_get_monotonic_time () - start;
        g_test_message ("Cancel took %" G_GINT64_FORMAT " ms", took / 1000);
        return took;
}

static void
test_upload_cancel (void)
{
        g_autoptr(Env) env = env_new_paused (NULL);

        if (!env)
                return;
        g_assert_cmpuint (tus_server_count_files_of (env->tus, env->upload), ==, 2);

        g_assert_cmpint (timed_cancel (env->fx, env->job), <, CANCEL_REPLY_MAX_USEC);
        assert_job_string (env->fx, env->job, "State", "cancelled");

        /* The termination DELETE removes the data and the info file. */
        g_assert_true (tus_server_wait_requests (env->tus, 0, "DELETE", env->path, 204, 1, WAIT_TIMEOUT_MS));
        g_assert_true (tus_server_wait_upload_gone (env->tus, env->upload, WAIT_TIMEOUT_MS));
        g_auto(GStrv) left = list_dir (tus_server_upload_dir (env->tus));
        g_assert_cmpuint (g_strv_length (left), ==, 0);

        xferd_job_call_refused (env->fx, env->job, "Cancel", XFERD_ERROR ("InvalidState"));
        assert_job_removed (env->fx, xferd_job_id (env->job), "cancelled");
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "DELETE", env->path, 0), ==, 1);
}

/* xferd dies inside Cancel, after "cancelled" is stored and before the DELETE is: the next
 * instance still deletes the server's partial upload. */
static void
test_upload_cancel_crash (void)
{
        g_autoptr(Env) env = env_new (PAUSE_AT);
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;

        if (!env)
                return;
        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "cancel-committed");
        g_autofree char *job = start_upload (env, &id);
        g_autofree char *upload = upload_id_paused (env, job);
        g_autofree char *path = upload_path (upload);

        pid_t pid = xferd_process_pid (env->fx);
        guint from = env->fx->signals->len;
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "Cancel", NULL, G_VARIANT_TYPE_UNIT, &error);
        g_assert_null (reply);
        g_assert_true (xferd_process_wait_killed (env->fx, pid, from, WAIT_TIMEOUT_MS));
        g_assert_cmpuint (tus_server_count_requests (env->tus, 0, "DELETE", path, 0), ==, 0);

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        xferd_process_start (env->fx);
        g_assert_true (tus_server_wait_requests (env->tus, 0, "DELETE", path, 204, 1, WAIT_TIMEOUT_MS));
        g_assert_true (tus_server_wait_upload_gone (env->tus, upload, WAIT_TIMEOUT_MS));
        assert_job_string (env->fx, job, "State", "cancelled");
}

/* Reads the start of one request from a connection the test accepted and
 * closes it without an answer: to xferd the server is broken. */
static char *
accept_and_drop (GSocket *listener)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocket) conn = g_socket_accept (listener, NULL, &error);
        char buf[1024];
        gssize n;

        g_assert_no_error (error);
        g_socket_set_timeout (conn, WAIT_TIMEOUT_MS / 1000);
        n = g_socket_receive (conn, buf, sizeof buf - 1, NULL, &error);
        g_assert_no_error (error);
        buf[MAX (n, 0)] = '\0';
        g_socket_close (conn, NULL);
        return g_strndup (buf, strcspn (buf, "\r\n"));
}

/* The server is down when Cancel comes: the job is cancelled at once, and
 * the DELETE is retried in the background until the server is back. While
 * the server is away the test listens on its port itself, to see a DELETE
 * fail (accepted, then cut without an answer) before the server returns: so
 * the DELETE that finally succeeds is a retry, whatever the timing. */
static void
test_upload_cancel_server_down (void)
{
        g_autoptr(Env) env = env_new_paused (fast_delete_retries);

        if (!env)
                return;
        g_autofree char *delete_line = g_strdup_printf ("DELETE %s HTTP/1.1", env->path);

        tus_server_stop (env->tus, SIGTERM);
        g_assert_cmpint (timed_cancel (env->fx, env->job), <, CANCEL_REPLY_MAX_USEC);
        assert_job_string (env->fx, env->job, "State", "cancelled");
        assert_job_removed (env->fx, xferd_job_id (env->job), "cancelled");
        /* Nobody could delete anything yet. */
        g_assert_cmpuint (tus_server_count_files_of (env->tus, env->upload), ==, 2);

        /* A DELETE that fails. The one sent right at Cancel may have met a
         * closed port already; one is enough. */
        {
                g_autoptr(GError) error = NULL;
                g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                            G_SOCKET_PROTOCOL_TCP, &error);
                g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
                g_autoptr(GSocketAddress) address =
                        g_inet_socket_address_new (loopback, tus_server_get_port (env->tus));

                g_assert_no_error (error);
                g_socket_bind (listener, address, TRUE, &error);
                g_assert_no_error (error);
                g_socket_listen (listener, &error);
                g_assert_no_error (error);
                g_socket_set_timeout (listener, WAIT_TIMEOUT_MS / 1000);
                g_autofree char *request = accept_and_drop (listener);
                g_test_message ("while the server was away: %s", request);
                g_assert_cmpstr (request, ==, delete_line);
                g_socket_close (listener, NULL);
        }
        g_assert_cmpuint (tus_server_count_files_of (env->tus, env->upload), ==, 2);

        /* The server is back: a retried DELETE removes the partial upload. */
        tus_server_restart (env->tus, TUS_NO_PAUSE);
        g_assert_true (tus_server_wait_requests (env->tus, 2, "DELETE", env->path, 204, 1, 3 * WAIT_TIMEOUT_MS));
        g_assert_true (tus_server_wait_upload_gone (env->tus, env->upload, WAIT_TIMEOUT_MS));
        g_auto(GStrv) left = list_dir (tus_server_upload_dir (env->tus));
        g_assert_cmpuint (g_strv_length (left), ==, 0);
        xferd_job_call_refused (env->fx, env->job, "Cancel", XFERD_ERROR ("InvalidState"));
}

/* The server hangs (SIGSTOP: connections are accepted by the kernel, nothing
 * answers): Cancel still returns at once; when the server wakes up the
 * DELETE arrives and the partial upload disappears. */
static void
test_upload_cancel_server_hangs (void)
{
        g_autoptr(Env) env = env_new_paused (fast_delete_retries);

        if (!env)
                return;

        tus_server_signal (env->tus, SIGSTOP);
        g_assert_cmpint (timed_cancel (env->fx, env->job), <, CANCEL_REPLY_MAX_USEC);
        assert_job_string (env->fx, env->job, "State", "cancelled");
        g_assert_cmpuint (tus_server_count_files_of (env->tus, env->upload), ==, 2);

        tus_server_signal (env->tus, SIGCONT);
        g_assert_true (tus_server_wait_requests (env->tus, 0, "DELETE", env->path, 204, 1, 3 * WAIT_TIMEOUT_MS));
        g_assert_true (tus_server_wait_upload_gone (env->tus, env->upload, WAIT_TIMEOUT_MS));
        assert_job_removed (env->fx, xferd_job_id (env->job), "cancelled");
}

/* A creation endpoint with "user:password@" and a server that answers with a relative
 * Location: the upload's URL keeps them (its PATCH and DELETE requests carry them), but
 * UploadUrl, every property and signal, and the log of the DELETE and its retries while the
 * server is down show neither. */
static void
test_upload_credentials_never_shown (void)
{
        g_autoptr(Env) env = env_new_full (PAUSE_AT, fast_delete_retries, ENV_SECRET);

        if (!env)
                return;
        g_autofree char *endpoint = g_strdup_printf ("http://" SECRET_USER ":" SECRET_PASSWORD "@127.0.0.1:%u/files/",
                                                     tus_server_get_port (env->tus));
        g_autofree char *job = create_upload_job (env->fx, "credentials", NULL);
        job_set (env->fx, job, "MinimumRetryDelay", g_variant_new_uint32 (1));
        xferd_add_file (env->fx, job, endpoint, env->src);
        xferd_job_call (env->fx, job, "Resume");
        /* UploadUrl is the resource under the endpoint as shown: without them. */
        g_autofree char *upload = upload_id_paused (env, job);
        g_autofree char *path = upload_path (upload);
        assert_job_shows_no_secret (env->fx, job);

        /* The DELETE fails while the server is down, and is retried. */
        tus_server_stop (env->tus, SIGTERM);
        xferd_job_call (env->fx, job, "Cancel");
        g_assert_true (xferd_log_wait (env->log, "Cannot delete the partial upload at", 1, WAIT_TIMEOUT_MS));
        tus_server_restart (env->tus, TUS_NO_PAUSE);
        g_assert_true (tus_server_wait_requests (env->tus, 2, "DELETE", path, 204, 1, 3 * WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, "Removed the partial upload at", 1, WAIT_TIMEOUT_MS));
        assert_signals_show_no_secret (env->fx);
        assert_log_shows_no_secret (env->log, path);
}

/* An upload job holds exactly one file (BITS rule). No server needed: nothing
 * is transferred. */
static void
test_upload_one_file_only (void)
{
        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        g_autofree char *dir = bus_fixture_mkdir (fx, "src");
        g_autofree char *a = g_build_filename (dir, "a.bin", NULL);
        g_autofree char *b = g_build_filename (dir, "b.bin", NULL);
        const char *url = "http://127.0.0.1:9/files/";
        g_autoptr(GError) error = NULL;

        g_assert_true (g_file_set_contents (a, "a", -1, NULL));
        g_assert_true (g_file_set_contents (b, "b", -1, NULL));

        g_autofree char *job = create_upload_job (fx, "one", NULL);
        xferd_add_file (fx, job, url, a);
        g_autoptr(GVariant) r1 = bus_call_job (fx, job, "AddFile", g_variant_new ("(ss)", url, b),
                                               G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("TooManyFiles"));
        g_clear_error (&error);
        g_autoptr(GVariant) r2 = bus_call_job (fx, job, "AddFiles", g_variant_new_parsed ("([(%s, %s)],)", url, b),
                                               G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("TooManyFiles"));
        g_clear_error (&error);
        g_assert_cmpuint (job_get_uint32 (fx, job, "FilesTotal"), ==, 1);

        /* Two files at once into an empty upload job: all or nothing. */
        g_autofree char *job2 = create_upload_job (fx, "two", NULL);
        g_autoptr(GVariant) r3 = bus_call_job (fx, job2, "AddFiles",
                                               g_variant_new_parsed ("([(%s, %s), (%s, %s)],)", url, a, url, b),
                                               G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("TooManyFiles"));
        g_clear_error (&error);
        g_assert_cmpuint (job_get_uint32 (fx, job2, "FilesTotal"), ==, 0);

        /* Complete needs `transferred`: a new job is suspended. */
        xferd_job_call_refused (fx, job, "Complete", XFERD_ERROR ("InvalidState"));
        assert_job_string (fx, job, "State", "suspended");
        xferd_job_call (fx, job, "Cancel");
        xferd_job_call (fx, job2, "Cancel");
}

/* Complete before `transferred` fails and changes nothing, also while the
 * upload runs; once the server has every byte it acknowledges. */
static void
test_upload_complete_needs_transferred (void)
{
        g_autoptr(Env) env = env_new_paused (NULL);

        if (!env)
                return;
        /* The PATCH is under way; its response comes only at the end, so
         * whether the job says connecting or transferring is the daemon's
         * choice. Either way it is not transferred. */
        g_autofree char *running = job_get_string (env->fx, env->job, "State");
        g_assert_true (g_strcmp0 (running, "transferring") == 0 || g_strcmp0 (running, "connecting") == 0);

        xferd_job_call_refused (env->fx, env->job, "Complete", XFERD_ERROR ("InvalidState"));
        assert_job_string (env->fx, env->job, "State", running);

        /* Let the body go on. */
        tus_server_signal (env->tus, SIGUSR1);
        job_wait_state (env->fx, env->job, "transferred");
        assert_server_has_whole_file (env, env->upload);
        g_assert_cmpuint (tus_server_bytes_received (env->tus, env->upload), ==, SIZE);
        g_assert_false (xferd_complete (env->fx, env->job));
        assert_job_removed (env->fx, xferd_job_id (env->job), "acknowledged");
        /* Nothing to Complete twice. */
        xferd_job_call_refused (env->fx, env->job, "Complete", XFERD_ERROR ("InvalidState"));
}

const TestCase test_cases[] = {
        { "/upload/end-to-end", test_upload_end_to_end },
        { "/upload/one-file-only", test_upload_one_file_only },
        { "/upload/complete-needs-transferred", test_upload_complete_needs_transferred },
        { "/upload/resume-after-xferd-killed", test_upload_xferd_killed },
        { "/upload/cancel", test_upload_cancel },
        { "/upload/cancel-crash", test_upload_cancel_crash },
        { "/upload/cancel-while-server-down", test_upload_cancel_server_down },
        { "/upload/cancel-while-server-hangs", test_upload_cancel_server_hangs },
        { "/upload/credentials-never-shown", test_upload_credentials_never_shown },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/upload/resume-after-server-restart", test_upload_server_stopped, GINT_TO_POINTER (SIGTERM) },
        { "/upload/resume-after-server-killed", test_upload_server_stopped, GINT_TO_POINTER (SIGKILL) },
        { NULL, NULL, NULL }
};
