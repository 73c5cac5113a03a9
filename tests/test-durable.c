/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The durable queue (issue 3): a job, once accepted, survives kill -9 of
 * xferd. Each test kills the real xferd with SIGKILL at a chosen moment — the
 * closest a test gets to pulling the power, as far as xferd can tell — brings
 * a new instance up by D-Bus activation and checks that every job either
 * finishes with exactly the right bytes or stays as the user left it, and
 * that no temporary file leaks:
 *
 *  - a large download killed mid-transfer resumes with Range from what is on
 *    disk and ends byte-exact (and we print how much was fetched twice);
 *  - jobs in every resting and running state come back in the right state
 *    with their properties;
 *  - a resource that changed between attempts, or a server that ignores
 *    Range, restarts the file from zero instead of splicing versions;
 *  - a Cancel killed after its commit but before its unlinks is finished by
 *    the next start;
 *  - a truncated or garbage database is moved aside once and the daemon
 *    works;
 *  - Suspend, kill, Resume continues the partial file.
 *
 * Fault points are byte counts of the test HTTP server (it stalls or drops
 * after N body bytes), never timings.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-cases.h"
#include "xferd-env.h"

/* Large enough that a restart from zero would be obvious in the figure the
 * first test prints, small enough for the sanitizer build. */
#define BIG_SIZE (32 * 1024 * 1024)
#define BIG_STALL (8 * 1024 * 1024 + 12345)
/* Odd sizes: no chunk or page boundary hides an off-by-one. */
#define SIZE (4 * 1024 * 1024 + 4321)
#define STALL (1024 * 1024 + 777)
#define SMALL_SIZE (200 * 1000 + 17)
/* Waits for whole transfers after a restart, which the sanitizer build slows. */
#define TRANSFER_TIMEOUT_MS 60000

/* settings: the contents of an xferd.conf, given with --config so that they
 * hold for every instance the test activates; NULL for none. */
static XferdEnv *
env_new_with (const char *settings)
{
        const BusFixtureOptions options = { .config = settings };

        return xferd_env_new_logged (&options);
}

static XferdEnv *
env_new (void)
{
        return env_new_with (NULL);
}

/* ------------------------------------------------------------- helpers */

/* The resource v2 of a generated v1: every byte differs, so any byte of v1
 * left in a file that should hold v2 shows. */
static GBytes *
other_version (GBytes *v1)
{
        gsize size;
        const guint8 *src = g_bytes_get_data (v1, &size);
        guint8 *buf = g_malloc (size);

        for (gsize i = 0; i < size; i++)
                buf[i] = (guint8) ~src[i];
        return g_bytes_new_take (buf, size);
}

/* When a file that should hold v2 does not, says whether it is a splice:
 * v1 up to some byte, v2 from there on. */
static void
describe_versions (const char *path, GBytes *v1, GBytes *v2)
{
        g_autofree char *data = NULL;
        gsize len, size;
        const guint8 *a = g_bytes_get_data (v1, &size);
        const guint8 *b = g_bytes_get_data (v2, NULL);
        gsize i = 0;

        if (!g_file_get_contents (path, &data, &len, NULL) || len != size)
                return;
        while (i < len && (guint8) data[i] == a[i])
                i++;
        gsize from_v1 = i;
        while (i < len && (guint8) data[i] == b[i])
                i++;
        if (from_v1 > 0 && i == len)
                g_test_message ("%s is a splice of two versions: bytes 0..%" G_GSIZE_FORMAT
                                " are the old one, the rest the new one", path, from_v1 - 1);
}

/* START of a "bytes=START-" header (asserts that form: xferd asks for the
 * rest of the file, open-ended). */
static guint64
range_start (const char *range)
{
        const char *p;
        char *end;
        guint64 start;

        g_assert_nonnull (range);
        g_assert_true (g_str_has_prefix (range, "bytes="));
        p = range + strlen ("bytes=");
        start = g_ascii_strtoull (p, &end, 10);
        g_assert_true (end != p);
        g_assert_cmpstr (end, ==, "-");
        return start;
}

static gboolean
match_job_removed (const RecordedSignal *sig, gpointer data)
{
        const char *sid;

        if (!g_variant_is_of_type (sig->params, G_VARIANT_TYPE ("(sos)")))
                return FALSE;
        g_variant_get (sig->params, "(&s&o&s)", &sid, NULL, NULL);
        return strcmp (sid, data) == 0;
}

/* Like xferd_wait_job_removed(), with room for a whole large transfer. */
static char *
wait_job_removed (XferdEnv *env, const char *id, guint timeout_ms)
{
        const RecordedSignal *sig = bus_wait_signal (env->fx, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                     "JobRemoved", match_job_removed, (gpointer) id, timeout_ms);
        const char *final_state;

        if (!sig)
                return g_strdup ("(no JobRemoved)");
        g_variant_get (sig->params, "(&s&o&s)", NULL, NULL, &final_state);
        return g_strdup (final_state);
}

/* The test's file, size generated bytes at path (xferd_env_serve()) with etag as their ETag
 * (NULL: no validator at all), downloaded into env->dest, AutoComplete as asked, the response
 * held after stall bytes: returns the job once its temporary file holds them. */
static char *
start_held (XferdEnv *env, const char *path, gsize size, const char *etag, goffset stall, gboolean auto_complete)
{
        xferd_env_serve (env, path, size);
        http_server_set_validators (env->http, path, etag, NULL);
        http_server_stall_after (env->http, path, stall);
        g_autofree char *job = xferd_download (env->fx, env->url, env->dest, auto_complete, NULL);
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, stall);

        return g_steal_pointer (&job);
}

/* The job of id completed by itself within timeout_ms, and dest holds content. */
static void
assert_acknowledged (XferdEnv *env, const char *id, guint timeout_ms, const char *dest, GBytes *content)
{
        g_autofree char *final_state = wait_job_removed (env, id, timeout_ms);

        g_assert_cmpstr (final_state, ==, "acknowledged");
        assert_file_content (dest, content);
}

/* The job held by start_held(), let go, ends acknowledged with its file alone in the directory
 * (assert_dest_complete()), after one more request that asked for the rest from a byte after 0
 * and (held > 0) at most held, with etag as its If-Range (NULL: not checked). Returns that
 * byte. */
static guint64
assert_resumed (XferdEnv *env, const char *job, goffset held, const char *etag)
{
        assert_acknowledged (env, xferd_job_id (job), TRANSFER_TIMEOUT_MS, env->dest, env->content);
        assert_dest_complete (env);
        g_assert_cmpuint (http_server_request_count (env->http, env->path), ==, 2);
        g_autofree char *range = http_server_last_header (env->http, env->path, "Range");
        g_autofree char *if_range = http_server_last_header (env->http, env->path, "If-Range");
        g_test_message ("the request that resumed: Range: %s, If-Range: %s", range, if_range);
        guint64 start = range_start (range);
        g_assert_cmpuint (start, >, 0);
        if (held > 0)
                g_assert_cmpuint (start, <=, (guint64) held);
        if (etag)
                g_assert_cmpstr (if_range, ==, etag);
        return start;
}

/* Waits until job reaches `state`, with room for a whole transfer. */
static void
wait_state_long (XferdEnv *env, const char *job, const char *state)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) TRANSFER_TIMEOUT_MS * 1000;

        /* job_wait_state gives up after WAIT_TIMEOUT_MS; go round while the
         * job is still moving (not stuck in a state only a call leaves). */
        for (;;) {
                g_autofree char *reached = job_wait_state_get (env->fx, job, state);
                if (g_strcmp0 (reached, state) == 0)
                        return;
                if (g_get_monotonic_time () > deadline ||
                    g_strv_contains ((const char *const[]) { "error", "cancelled", "acknowledged", NULL }, reached))
                        g_assert_cmpstr (reached, ==, state);
        }
}

/* CreateJob with a priority and a description (NULL: not given). */
static char *
create_job_with (XferdEnv *env, const char *name, const char *priority, const char *description, char **id)
{
        return xferd_create_job_with (env->fx, name, id, "priority", priority, "description", description, NULL);
}

/* A job named name of two files, added in one AddFiles call, resumed. */
static char *
start_two_files (XferdEnv *env, const char *name, const char *first_url, const char *first_dest,
                 const char *second_url, const char *second_dest, char **id)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *job = create_job_with (env, name, NULL, NULL, id);
        g_autoptr(GVariant) added = bus_call_job (env->fx, job, "AddFiles",
                                                  g_variant_new_parsed ("([(%s, %s), (%s, %s)],)",
                                                                        first_url, first_dest,
                                                                        second_url, second_dest),
                                                  G_VARIANT_TYPE_UNIT, &error);

        g_assert_no_error (error);
        xferd_job_call (env->fx, job, "Resume");
        return g_steal_pointer (&job);
}

/* The xferd of pid died at crash_point (XFERD_TEST_CRASH_POINT): gone (see
 * xferd_process_wait_gone() for from), and the point named in its log. */
static void
assert_died_at (XferdEnv *env, pid_t pid, guint from, const char *crash_point)
{
        g_autofree char *reached = g_strdup_printf ("Crash point '%s' reached", crash_point);

        g_assert_true (xferd_process_wait_gone (env->fx, pid, from, WAIT_TIMEOUT_MS));
        g_assert_true (xferd_log_wait (env->log, reached, 1, WAIT_TIMEOUT_MS));
}

/* Calls method on job, and the xferd that runs it dies at crash_point inside the call: no
 * reply. */
static void
call_dying_at (XferdEnv *env, const char *job, const char *method, const GVariantType *reply_type,
               const char *crash_point)
{
        g_autoptr(GError) error = NULL;
        pid_t pid = xferd_process_pid (env->fx);
        guint from = env->fx->signals->len;
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, method, NULL, reply_type, &error);

        g_assert_null (reply);
        bus_assert_error (error, "org.freedesktop.DBus.Error.NoReply");
        assert_died_at (env, pid, from, crash_point);
}

static void
set_http_headers (XferdEnv *env, const char *job, const char *const *headers)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "SetHttpHeaders",
                                                  g_variant_new ("(^as)", headers), G_VARIANT_TYPE_UNIT, &error);

        g_assert_no_error (error);
}

/* Waits for the `index`-th request (0-based) on path, so that "the last
 * request's headers" are that request's. */
static void
wait_request (XferdEnv *env, const char *path, guint index)
{
        g_assert_true (http_server_wait_requests (env->http, path, index + 1, WAIT_TIMEOUT_MS));
}

/* ------------------------------------------- 1. kill -9 during a transfer */

static void
test_kill_during_transfer (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = start_held (env, "/big.bin", BIG_SIZE, "\"big-v1\"", BIG_STALL, TRUE);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        goffset held = file_size (temp);
        g_test_message ("the temporary file holds %" G_GOFFSET_FORMAT " bytes at the kill", held);

        xferd_process_kill (env->fx);
        /* The old response can end now; new requests are not stalled. */
        http_server_release (env->http, "/big.bin");
        /* The crash took nothing from the disk: the file is what resumes. */
        g_assert_cmpint (file_size (temp), ==, held);

        xferd_process_start (env->fx);
        /* One request before the kill, one after, which asked for the rest and named the
         * version its bytes came from. */
        guint64 start = assert_resumed (env, job, held, "\"big-v1\"");

        /* The first response stopped at the stall point; the second sent
         * everything from `start` on. */
        guint64 served = BIG_STALL + (BIG_SIZE - start);
        g_test_message ("RE-DOWNLOAD: %" G_GUINT64_FORMAT " bytes served for a %d-byte file, "
                        "%" G_GUINT64_FORMAT " bytes transferred again after the crash",
                        served, BIG_SIZE, served - BIG_SIZE);
}

/* Bytes whose version nothing names (no ETag, no Last-Modified) are never
 * continued: a restart could splice two versions of the resource. */
static void
test_no_validator_restarts (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = start_held (env, "/plain.bin", BIG_SIZE, NULL, BIG_STALL, TRUE);

        xferd_process_kill (env->fx);
        http_server_release (env->http, "/plain.bin");
        xferd_process_start (env->fx);
        assert_acknowledged (env, xferd_job_id (job), TRANSFER_TIMEOUT_MS, env->dest, env->content);

        /* The second request asked for the whole file. */
        g_assert_cmpuint (http_server_request_count (env->http, "/plain.bin"), ==, 2);
        g_autofree char *range = http_server_last_header (env->http, "/plain.bin", "Range");
        g_assert_null (range);
}

/* A job nobody touched for JobInactivityTimeout is cancelled with its
 * temporary files (BITS's JobInactivityTimeout; 90 days by default). */
static void
test_inactive_job_cancelled (void)
{
        g_autoptr(XferdEnv) env = env_new_with ("[Daemon]\nJobInactivityTimeoutSec=2\n");
        /* Partial data on disk, then left alone. */
        g_autofree char *job = start_held (env, "/idle.bin", SIZE, NULL, STALL, FALSE);
        xferd_job_call (env->fx, job, "Suspend");
        http_server_release (env->http, "/idle.bin");

        assert_job_removed (env->fx, xferd_job_id (job), "cancelled");
        assert_dir_empty (env->dir);
}

/* The daemon dies after a download finished, before its automatic completion ran: the
 * next instance completes it by itself. */
static void
test_auto_complete_after_crash (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *url = NULL, *dest = NULL;
        g_autoptr(GBytes) content = xferd_env_serve_file (env, "auto.bin", SIZE, &url, &dest);
        g_autofree char *id = NULL;

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "auto-complete-queued");
        guint from = env->fx->signals->len;
        g_autofree char *job = xferd_download (env->fx, url, dest, TRUE, &id);
        assert_died_at (env, xferd_process_pid (env->fx), from, "auto-complete-queued");
        /* Transferred, not completed: only the temporary file. */
        g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        xferd_process_start (env->fx);
        assert_acknowledged (env, id, WAIT_TIMEOUT_MS, dest, content);
        /* It came back as transferred, as stored before the crash point (which follows the
         * Transferred signal): no second request. Had the signal gone out before the commit,
         * the job would have come back queued and asked the server again. */
        g_assert_cmpuint (http_server_request_count (env->http, "/auto.bin"), ==, 1);
        const char *const names[] = { "auto.bin", NULL };
        assert_dir_is (env->dir, names);
}

/* Auto-completed downloads (the default MaxBackgroundTransfers of them) held halfway by the
 * server until released together. */
enum { TOGETHER = 4 };
typedef struct {
        GBytes *content[TOGETHER];
        char *paths[TOGETHER], *dests[TOGETHER], *jobs[TOGETHER], *ids[TOGETHER];
} Together;

static void
together_start (XferdEnv *env, Together *t)
{
        for (guint i = 0; i < TOGETHER; i++) {
                g_autofree char *name = g_strdup_printf ("together-%u.bin", i);
                t->paths[i] = g_strdup_printf ("/%s", name);
                t->content[i] = http_server_add_generated (env->http, t->paths[i], SMALL_SIZE);
                http_server_stall_after (env->http, t->paths[i], SMALL_SIZE / 2);
                g_autofree char *url = http_server_url (env->http, t->paths[i]);
                t->dests[i] = xferd_env_path (env, name);
                t->jobs[i] = xferd_download (env->fx, url, t->dests[i], TRUE, &t->ids[i]);
        }
        for (guint i = 0; i < TOGETHER; i++)
                g_assert_true (bus_wait_property (env->fx, t->jobs[i], XFERD_JOB_IFACE, "BytesTransferred",
                                                  g_variant_new_uint64 (SMALL_SIZE / 2), TRANSFER_TIMEOUT_MS));
}

static void
together_release (XferdEnv *env, Together *t)
{
        for (guint i = 0; i < TOGETHER; i++)
                http_server_release (env->http, t->paths[i]);
}

static void
together_clear (Together *t)
{
        for (guint i = 0; i < TOGETHER; i++) {
                g_bytes_unref (t->content[i]);
                g_free (t->paths[i]);
                g_free (t->dests[i]);
                g_free (t->jobs[i]);
                g_free (t->ids[i]);
        }
}

/* Automatic completions that end together share one commit: once every job of them has
 * announced its end (JobRemoved, acknowledged), kill -9 loses none of them. Four downloads
 * (the default MaxBackgroundTransfers) stall, then all are let go at once. */
static void
test_auto_complete_batch_after_kill (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        Together t;

        together_start (env, &t);
        together_release (env, &t);
        for (guint i = 0; i < TOGETHER; i++) {
                g_autofree char *final_state = wait_job_removed (env, t.ids[i], TRANSFER_TIMEOUT_MS);
                g_assert_cmpstr (final_state, ==, "acknowledged");
        }

        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        for (guint i = 0; i < TOGETHER; i++) {
                g_autofree char *state = job_get_string (env->fx, t.jobs[i], "State");
                g_assert_cmpstr (state, ==, "acknowledged");
                assert_file_content (t.dests[i], t.content[i]);
                g_assert_cmpuint (http_server_request_count (env->http, t.paths[i]), ==, 1);
        }
        together_clear (&t);
}

/* Downloads that end together take `transferred` in one commit, once the loop has handled the
 * news already there: killed after the first of them is listed for it, none was told
 * transferred (nothing is told before that commit), and the next start finishes each with
 * its bytes. */
static void
test_ends_together_killed_before_commit (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        Together t;

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "download-done-listed");
        together_start (env, &t);
        guint from = env->fx->signals->len;
        pid_t pid = xferd_process_pid (env->fx);
        together_release (env, &t);
        assert_died_at (env, pid, from, "download-done-listed");
        for (guint i = 0; i < TOGETHER; i++) {
                g_autoptr(GPtrArray) states = job_state_history (env->fx, t.jobs[i]);
                for (guint k = 0; k < states->len; k++)
                        g_assert_cmpstr (g_ptr_array_index (states, k), !=, "transferred");
                g_assert_cmpuint (bus_count_signals (env->fx, t.jobs[i], XFERD_JOB_IFACE, "Transferred", NULL, NULL),
                                  ==, 0);
                g_assert_false (g_file_test (t.dests[i], G_FILE_TEST_EXISTS));
        }

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        xferd_process_start (env->fx);
        for (guint i = 0; i < TOGETHER; i++)
                assert_acknowledged (env, t.ids[i], TRANSFER_TIMEOUT_MS, t.dests[i], t.content[i]);
        together_clear (&t);
}

/* A finished but not completed file vanished while the daemon was down: the job does not
 * claim to be transferred; it is suspended, and Resume fetches the file again. */
static void
test_transferred_file_vanished (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *url = NULL, *dest = NULL;
        g_autoptr(GBytes) content = xferd_env_serve_file (env, "gone.bin", SMALL_SIZE, &url, &dest);
        g_autofree char *id = NULL;

        g_autofree char *job = xferd_download (env->fx, url, dest, FALSE, &id);
        job_wait_state (env->fx, job, "transferred");
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        xferd_process_kill (env->fx);
        g_assert_cmpint (g_unlink (temp), ==, 0);
        xferd_process_start (env->fx);

        assert_job_string (env->fx, job, "State", "suspended");
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (env->http, "/gone.bin"), ==, 2);
        g_assert_false (xferd_complete (env->fx, job));
        assert_file_content (dest, content);
}

/* A second daemon on the same store waits until the first is gone: two instances never
 * work on one store (an activation during the idle hand-off). */
static void
test_second_daemon_waits_for_store (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *state = xferd_process_state_dir (env->fx);

        xferd_process_start (env->fx);
        const char *argv[] = { g_getenv ("XFERD_BINARY"), "--user", "--log-level=debug", NULL, NULL };
        g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", state);
        argv[3] = state_arg;
        g_autoptr(GSubprocess) second = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
        g_assert_no_error (error);
        GInputStream *err = g_subprocess_get_stderr_pipe (second);
        g_autoptr(GDataInputStream) lines = g_data_input_stream_new (err);
        g_autofree char *line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (line);
        g_assert_nonnull (strstr (line, "waiting for it to exit"));
        /* Still waiting, not serving: it has not asked for the bus name. */
        g_assert_nonnull (g_subprocess_get_identifier (second));
        g_subprocess_force_exit (second);
        g_assert_true (g_subprocess_wait (second, NULL, NULL));
}

/* ----------------------------------------------- 2. jobs in every state */

/* Properties that no restart may change, whatever the state. */
static const char *const kept_always[] = {
        "Id", "Type", "Owner", "DisplayName", "Description", "Priority", "AutoComplete",
        "BandwidthLimit", "AllowInsecureRedirect", "MinimumRetryDelay", "NoProgressTimeout",
        "HttpHeaderNames", "ErrorCount", "CreationTime", "FilesTotal", NULL
};
/* And for a job at rest (nothing runs it), everything it shows. */
static const char *const kept_at_rest[] = {
        "State", "ErrorName", "ErrorMessage", "BytesTotal", "BytesTransferred", "FilesTransferred",
        "ModificationTime", "TransferCompletionTime", NULL
};

static GVariant *
snapshot (XferdEnv *env, const char *job, gboolean at_rest)
{
        GVariantBuilder b;

        g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
        for (guint pass = 0; pass < 2; pass++) {
                const char *const *names = pass == 0 ? kept_always : kept_at_rest;
                if (pass == 1 && !at_rest)
                        break;
                for (guint i = 0; names[i]; i++) {
                        g_autoptr(GError) error = NULL;
                        g_autoptr(GVariant) v = bus_get_property (env->fx, job, XFERD_JOB_IFACE, names[i], &error);
                        g_assert_no_error (error);
                        g_variant_builder_add (&b, "{sv}", names[i], v);
                }
        }
        return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
assert_snapshot (XferdEnv *env, const char *job, GVariant *before, gboolean at_rest)
{
        g_autoptr(GVariant) after = snapshot (env, job, at_rest);
        g_autofree char *b = g_variant_print (before, FALSE);
        g_autofree char *a = g_variant_print (after, FALSE);

        g_test_message ("job %s\n  before: %s\n  after:  %s", job, b, a);
        g_assert_cmpstr (a, ==, b);
}

/* (id, display name, state) of every job ListJobs shows, oldest first. */
static char *
list_jobs (XferdEnv *env)
{
        g_autoptr(GVariant) jobs = xferd_list_jobs (env->fx);
        g_autoptr(GString) out = g_string_new (NULL);

        for (gsize i = 0; i < g_variant_n_children (jobs); i++) {
                const char *id, *name, *state;

                g_variant_get_child (jobs, i, "(&s&s&s&sutto)", &id, &name, NULL, &state,
                                     NULL, NULL, NULL, NULL);
                g_string_append_printf (out, "%s %s (%s)\n", id, name, state);
        }
        return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
assert_header (XferdEnv *env, const char *path, const char *name, const char *value)
{
        g_autofree char *got = http_server_last_header (env->http, path, name);

        g_assert_cmpstr (got, ==, value);
}

static void
test_jobs_in_every_state (void)
{
        /* One transfer slot, in every instance, so that a job waits in queued. */
        g_autoptr(XferdEnv) env = env_new_with ("[Daemon]\nMaxBackgroundTransfers=1\n");
        g_autoptr(GBytes) small = http_server_add_generated (env->http, "/small.bin", SMALL_SIZE);
        g_autoptr(GBytes) busy_content = http_server_add_generated (env->http, "/busy.bin", SIZE);
        g_autoptr(GBytes) waiting_content = http_server_add_generated (env->http, "/waiting.bin", SMALL_SIZE);
        g_autoptr(GBytes) later_content = http_server_add_generated (env->http, "/later.bin", SMALL_SIZE);
        g_autofree char *small_url = http_server_url (env->http, "/small.bin");
        g_autofree char *busy_url = http_server_url (env->http, "/busy.bin");
        g_autofree char *waiting_url = http_server_url (env->http, "/waiting.bin");
        g_autofree char *later_url = http_server_url (env->http, "/later.bin");

        /* A validator, so that the partial file may be continued (see no-validator). */
        http_server_set_validators (env->http, "/busy.bin", "\"busy-v1\"", NULL);
        g_autofree char *missing_url = http_server_url (env->http, "/missing.bin");
        g_autofree char *flaky_url = http_server_url (env->http, "/flaky.bin");
        g_autofree char *small_dest = xferd_env_path (env, "small.bin");
        g_autofree char *busy_dest = xferd_env_path (env, "busy.bin");
        g_autofree char *waiting_dest = xferd_env_path (env, "waiting.bin");
        g_autofree char *later_dest = xferd_env_path (env, "later.bin");
        g_autofree char *missing_dest = xferd_env_path (env, "missing.bin");
        g_autofree char *flaky_dest = xferd_env_path (env, "flaky.bin");
        g_autofree char *err_id = NULL, *done_id = NULL, *flaky_id = NULL;
        g_autofree char *busy_id = NULL, *waiting_id = NULL, *paused_id = NULL;
        const char *const headers[] = { "X-Trace: durable-42", "Authorization: Bearer s3cret", NULL };

        http_server_fail (env->http, "/missing.bin", 404, NULL, -1, HTTP_SERVER_FOREVER);
        http_server_fail (env->http, "/flaky.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        http_server_stall_after (env->http, "/busy.bin", STALL);

        /* The only slot serves one job at a time, so the jobs that end at
         * rest go first. error: a 404. */
        g_autofree char *err = create_job_with (env, "broken link", "low", "answers 404", &err_id);
        xferd_add_file (env->fx, err, missing_url, missing_dest);
        xferd_job_call (env->fx, err, "Resume");
        job_wait_state (env->fx, err, "error");
        g_assert_cmpuint (job_get_uint32 (env->fx, err, "ErrorCount"), ==, 1);

        /* transferred, waiting for Complete. */
        g_autofree char *done = xferd_download (env->fx, small_url, small_dest, FALSE, &done_id);
        job_wait_state (env->fx, done, "transferred");

        /* transient-error, its next try an hour away. */
        g_autofree char *flaky = create_job_with (env, "flaky mirror", "high", NULL, &flaky_id);
        job_set (env->fx, flaky, "MinimumRetryDelay", g_variant_new_uint32 (3600));
        xferd_add_file (env->fx, flaky, flaky_url, flaky_dest);
        xferd_job_call (env->fx, flaky, "Resume");
        job_wait_state (env->fx, flaky, "transient-error");
        g_assert_cmpuint (job_get_uint32 (env->fx, flaky, "ErrorCount"), ==, 1);

        /* transferring: holds the slot, stalled in the middle of the body. */
        g_autofree char *busy = create_job_with (env, "busy download", NULL, NULL, &busy_id);
        set_http_headers (env, busy, headers);
        xferd_add_file (env->fx, busy, busy_url, busy_dest);
        xferd_job_call (env->fx, busy, "Resume");
        g_autofree char *busy_temp = xferd_wait_temp (env->fx, busy, 0, STALL);
        job_wait_state (env->fx, busy, "transferring");

        /* queued behind it. */
        g_autofree char *waiting = create_job_with (env, "waiting turn", NULL, "behind the busy one", &waiting_id);
        set_http_headers (env, waiting, headers);
        xferd_add_file (env->fx, waiting, waiting_url, waiting_dest);
        xferd_job_call (env->fx, waiting, "Resume");
        assert_job_string (env->fx, waiting, "State", "queued");

        /* suspended, with every setting moved off its default by a call. */
        g_autofree char *paused = create_job_with (env, "paused", "foreground", "left as it is", &paused_id);
        job_set (env->fx, paused, "DisplayName", g_variant_new_string ("paused by the user"));
        job_set (env->fx, paused, "Description", g_variant_new_string ("renamed, and every knob turned"));
        job_set (env->fx, paused, "BandwidthLimit", g_variant_new_uint64 (123456789));
        job_set (env->fx, paused, "AllowInsecureRedirect", g_variant_new_boolean (TRUE));
        job_set (env->fx, paused, "NoProgressTimeout", g_variant_new_uint32 (7777));
        job_set (env->fx, paused, "MinimumRetryDelay", g_variant_new_uint32 (42));
        job_set (env->fx, paused, "AutoComplete", g_variant_new_boolean (TRUE));
        set_http_headers (env, paused, headers);
        xferd_add_file (env->fx, paused, later_url, later_dest);

        g_autoptr(GVariant) err_before = snapshot (env, err, TRUE);
        g_autoptr(GVariant) done_before = snapshot (env, done, TRUE);
        g_autoptr(GVariant) flaky_before = snapshot (env, flaky, TRUE);
        g_autoptr(GVariant) busy_before = snapshot (env, busy, FALSE);
        g_autoptr(GVariant) waiting_before = snapshot (env, waiting, FALSE);
        g_autoptr(GVariant) paused_before = snapshot (env, paused, TRUE);
        g_autofree char *list_before = list_jobs (env);
        g_test_message ("ListJobs before the kill:\n%s", list_before);
        g_assert_cmpuint (http_server_request_count (env->http, "/flaky.bin"), ==, 1);
        g_assert_cmpuint (http_server_request_count (env->http, "/waiting.bin"), ==, 0);

        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);

        /* The same jobs, in the same order; the two that were running or
         * about to run are queued again. */
        g_autofree char *list_after = list_jobs (env);
        g_test_message ("ListJobs after the restart:\n%s", list_after);
        /* busy is queued, connecting or already transferring again,
         * depending on how far the new instance got. */
        g_auto(GStrv) lines = g_strsplit (list_after, "\n", -1);
        g_assert_cmpuint (g_strv_length (lines), ==, 7);
        g_autofree char *busy_prefix = g_strdup_printf ("%s busy download (", busy_id);
        g_assert_true (g_str_has_prefix (lines[3], busy_prefix));
        g_autofree char *busy_state = g_strndup (lines[3] + strlen (busy_prefix),
                                                 strlen (lines[3]) - strlen (busy_prefix) - 1);
        g_assert_true (g_strv_contains ((const char *const[]) { "queued", "connecting", "transferring", NULL },
                                        busy_state));
        g_autofree char *expected = g_strdup_printf ("%s broken link (error)\n"
                                                     "%s small.bin (transferred)\n"
                                                     "%s flaky mirror (transient-error)\n"
                                                     "%s busy download (%s)\n"
                                                     "%s waiting turn (queued)\n"
                                                     "%s paused by the user (suspended)\n",
                                                     err_id, done_id, flaky_id, busy_id, busy_state,
                                                     waiting_id, paused_id);
        g_assert_cmpstr (list_after, ==, expected);

        /* Jobs at rest are exactly as they were. */
        assert_snapshot (env, err, err_before, TRUE);
        assert_snapshot (env, done, done_before, TRUE);
        assert_snapshot (env, flaky, flaky_before, TRUE);
        assert_snapshot (env, paused, paused_before, TRUE);
        assert_snapshot (env, busy, busy_before, FALSE);
        assert_snapshot (env, waiting, waiting_before, FALSE);

        /* busy went on by itself, from its partial file, with its headers
         * (the values, not only the names, were kept). */
        wait_request (env, "/busy.bin", 1);
        g_autofree char *range = http_server_last_header (env->http, "/busy.bin", "Range");
        guint64 start = range_start (range);
        g_assert_cmpuint (start, >, 0);
        g_assert_cmpuint (start, <=, STALL);
        assert_header (env, "/busy.bin", "X-Trace", "durable-42");
        assert_header (env, "/busy.bin", "Authorization", "Bearer s3cret");
        g_assert_true (wait_file_size (busy_temp, (goffset) start + STALL, WAIT_TIMEOUT_MS));
        job_wait_state (env->fx, busy, "transferring");
        /* waiting still waits for the only slot; flaky waits for its hour. */
        assert_job_string (env->fx, waiting, "State", "queued");
        g_assert_cmpuint (http_server_request_count (env->http, "/waiting.bin"), ==, 0);
        g_assert_cmpuint (http_server_request_count (env->http, "/flaky.bin"), ==, 1);

        /* Let busy finish: waiting follows by itself. */
        http_server_release (env->http, "/busy.bin");
        wait_state_long (env, busy, "transferred");
        wait_state_long (env, waiting, "transferred");
        assert_header (env, "/waiting.bin", "X-Trace", "durable-42");
        g_assert_false (xferd_complete (env->fx, busy));
        g_assert_false (xferd_complete (env->fx, waiting));
        g_assert_false (xferd_complete (env->fx, done));
        assert_file_content (busy_dest, busy_content);
        assert_file_content (waiting_dest, waiting_content);
        assert_file_content (small_dest, small);

        /* The suspended job still knows its file and its settings: resumed,
         * it completes by itself (AutoComplete was set) with its headers. */
        xferd_job_call (env->fx, paused, "Resume");
        g_autofree char *paused_final = wait_job_removed (env, paused_id, TRANSFER_TIMEOUT_MS);
        g_assert_cmpstr (paused_final, ==, "acknowledged");
        assert_file_content (later_dest, later_content);
        assert_header (env, "/later.bin", "Authorization", "Bearer s3cret");
        assert_job_string (env->fx, err, "State", "error");
        assert_job_string (env->fx, flaky, "State", "transient-error");
}

/* ----------------------------------- 3. the resource changed, or no Range */

/* The resource changed (new ETag, new bytes of the same length) while the job did not run:
 * xferd was dead (data TRUE), or the job suspended, between two attempts of one instance
 * (FALSE). The partial bytes belong to the old version. */
static void
test_changed_at_rest (gconstpointer data)
{
        gboolean killed = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = start_held (env, "/res.bin", SIZE, "\"v1\"", STALL, TRUE);
        g_autoptr(GBytes) v2 = other_version (env->content);
        if (killed) {
                xferd_process_kill (env->fx);
        } else {
                xferd_job_call (env->fx, job, "Suspend");
                job_wait_state (env->fx, job, "suspended");
        }

        http_server_add_bytes (env->http, "/res.bin", v2);
        http_server_set_validators (env->http, "/res.bin", "\"v2\"", NULL);
        http_server_release (env->http, "/res.bin");
        if (killed)
                xferd_process_start (env->fx);
        else
                xferd_job_call (env->fx, job, "Resume");

        g_autofree char *final_state = wait_job_removed (env, xferd_job_id (job), TRANSFER_TIMEOUT_MS);
        g_autofree char *range = http_server_last_header (env->http, "/res.bin", "Range");
        g_autofree char *if_range = http_server_last_header (env->http, "/res.bin", "If-Range");
        g_test_message ("%u requests; the last: Range: %s, If-Range: %s",
                        http_server_request_count (env->http, "/res.bin"), range, if_range);
        g_assert_cmpstr (final_state, ==, "acknowledged");
        /* Never a splice of the two versions. */
        describe_versions (env->dest, env->content, v2);
        assert_file_content (env->dest, v2);
        const char *const names[] = { "file.bin", NULL };
        assert_dir_is (env->dir, names);
}

/* Between two attempts of one instance: the connection drops after STALL
 * bytes (transient error), the resource changes, Resume tries again. The
 * validator is an ETag or, when the server sends none, Last-Modified. */
static void
test_changed_between_attempts (gconstpointer data)
{
        gboolean use_etag = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *url = NULL, *dest = NULL;
        g_autoptr(GBytes) v1 = xferd_env_serve_file (env, "res.bin", SIZE, &url, &dest);
        g_autoptr(GBytes) v2 = other_version (v1);
        g_autofree char *id = NULL;
        const char *old_validator = use_etag ? "\"v1\"" : "Mon, 01 Jan 2024 00:00:00 GMT";
        const char *new_validator = use_etag ? "\"v2\"" : "Tue, 02 Jan 2024 00:00:00 GMT";

        if (use_etag)
                http_server_set_validators (env->http, "/res.bin", old_validator, NULL);
        else
                http_server_set_validators (env->http, "/res.bin", NULL, old_validator);
        http_server_drop_after (env->http, "/res.bin", STALL, 1);

        /* No retry of its own within the test: Resume is the next attempt. */
        g_autofree char *job = create_job_with (env, "changing", NULL, NULL, &id);
        job_set (env->fx, job, "MinimumRetryDelay", g_variant_new_uint32 (3600));
        job_set (env->fx, job, "AutoComplete", g_variant_new_boolean (TRUE));
        xferd_add_file (env->fx, job, url, dest);
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transient-error");
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_cmpint (file_size (temp), ==, STALL);

        http_server_add_bytes (env->http, "/res.bin", v2);
        if (use_etag)
                http_server_set_validators (env->http, "/res.bin", new_validator, NULL);
        else
                http_server_set_validators (env->http, "/res.bin", NULL, new_validator);
        xferd_job_call (env->fx, job, "Resume");

        g_autofree char *final_state = wait_job_removed (env, id, TRANSFER_TIMEOUT_MS);
        g_assert_cmpstr (final_state, ==, "acknowledged");
        describe_versions (dest, v1, v2);
        assert_file_content (dest, v2);
        /* It did try to resume, naming the version it held. */
        g_autofree char *range = http_server_last_header (env->http, "/res.bin", "Range");
        g_assert_cmpuint (range_start (range), ==, STALL);
        assert_header (env, "/res.bin", "If-Range", old_validator);
}

/* A server that answers a Range request with 200 and the whole body. */
static void
test_server_ignores_range (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        /* With a validator, so that xferd asks for the rest at all. */
        g_autofree char *job = start_held (env, "/file.bin", SIZE, "\"f1\"", STALL, TRUE);

        xferd_process_kill (env->fx);
        http_server_set_ignore_range (env->http, "/file.bin", TRUE);
        http_server_release (env->http, "/file.bin");
        xferd_process_start (env->fx);

        /* It asked for the rest and took the 200 from byte 0 in the same
         * response: no further request. */
        assert_resumed (env, job, 0, NULL);
}

/* The temporary file of a suspended job vanished, and the server now has a small new
 * version: Resume makes the file again, and it holds the new bytes before their validator is
 * stored (a body that is all here stores it with the file's end). Killed in between, the store
 * must not name those bytes with the old version's validator, or the next start resumes them
 * with If-Range: "v1" from a server back at v1 and splices the two versions. */
static void
test_recreated_file_killed_before_end (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        /* For this instance: the held v1 arrives in pieces, so only the new file stops there. */
        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "file-end-unstored");
        g_autofree char *job = start_held (env, "/res.bin", SIZE, "\"v1\"", STALL, TRUE);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_autoptr(GBytes) other = other_version (env->content);
        g_autoptr(GBytes) v2 = g_bytes_new_from_bytes (other, 0, 4096);

        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        g_assert_cmpint (g_unlink (temp), ==, 0);
        http_server_add_bytes (env->http, "/res.bin", v2);
        http_server_set_validators (env->http, "/res.bin", "\"v2\"", NULL);
        http_server_release (env->http, "/res.bin");

        guint from = env->fx->signals->len;
        pid_t pid = xferd_process_pid (env->fx);
        xferd_job_call (env->fx, job, "Resume");
        assert_died_at (env, pid, from, "file-end-unstored");
        g_assert_cmpint (file_size (temp), ==, 4096);

        /* Back at v1 (another mirror behind the same name, say). */
        http_server_add_bytes (env->http, "/res.bin", env->content);
        http_server_set_validators (env->http, "/res.bin", "\"v1\"", NULL);
        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        xferd_process_start (env->fx);
        assert_acknowledged (env, xferd_job_id (job), TRANSFER_TIMEOUT_MS, env->dest, env->content);
        assert_dest_complete (env);
}

/* ------------------------------------------- 4. kill -9 inside a Cancel */

typedef enum {
        CANCEL_KILLED_BEFORE_UNLINKS,
        CANCEL_KILLED_AFTER_REPLY,
        CANCEL_STOPPED_AFTER_REPLY,
} CancelEnd;

/* The daemon dies inside a Cancel: between the commit of the intent and the unlinks (no
 * reply; both files still there), or right after the reply, before the store learns that the
 * files are gone (the reply came, the files were gone when it came). Either way the next
 * start finishes the Cancel before it takes the name: nothing left, the job cancelled for good,
 * and files already gone are no failure. Stopped (SIGTERM) right after the reply, it stores
 * what it had left for its next checkpoint: the next start finds nothing to remove. */
static void
test_kill_inside_cancel (gconstpointer data)
{
        CancelEnd end = GPOINTER_TO_INT (data);
        gboolean after_reply = end != CANCEL_KILLED_BEFORE_UNLINKS;
        const char *crash_point = end == CANCEL_KILLED_AFTER_REPLY ? "cancel-replied" : "cancel-committed";
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *first_url = NULL, *first_dest = NULL, *second_url = NULL, *second_dest = NULL;
        g_autoptr(GBytes) first = xferd_env_serve_file (env, "first.bin", SMALL_SIZE, &first_url, &first_dest);
        g_autoptr(GBytes) second = xferd_env_serve_file (env, "second.bin", SIZE, &second_url, &second_dest);
        g_autofree char *id = NULL;

        /* Only the instance that runs the Cancel dies at the crash point. */
        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT",
                              end == CANCEL_STOPPED_AFTER_REPLY ? "" : crash_point);
        http_server_stall_after (env->http, "/second.bin", STALL);
        g_autofree char *job = start_two_files (env, "doomed", first_url, first_dest, second_url, second_dest, &id);
        /* Two temporary files: a whole one and a partial one. */
        g_autofree char *first_temp = xferd_temp_path (env->fx, job, 0);
        g_autofree char *second_temp = xferd_wait_temp (env->fx, job, 1, STALL);
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "FilesTransferred"), ==, 1);
        g_autofree char *first_name = g_path_get_basename (first_temp);
        g_autofree char *second_name = g_path_get_basename (second_temp);
        const char *temps[] = { first_name, second_name, NULL };
        if (strcmp (first_name, second_name) > 0) {
                temps[0] = second_name;
                temps[1] = first_name;
        }
        assert_dir_is (env->dir, temps);

        if (after_reply) {
                g_autoptr(GError) error = NULL;
                pid_t pid = xferd_process_pid (env->fx);
                guint from = env->fx->signals->len;
                g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "Cancel", NULL, G_VARIANT_TYPE_UNIT, &error);

                g_assert_no_error (error);
                assert_dir_empty (env->dir);
                if (end == CANCEL_STOPPED_AFTER_REPLY) {
                        g_assert_no_errno (kill (pid, SIGTERM));
                        g_assert_true (xferd_process_wait_gone (env->fx, pid, from, WAIT_TIMEOUT_MS));
                } else
                        assert_died_at (env, pid, from, crash_point);
        } else {
                call_dying_at (env, job, "Cancel", G_VARIANT_TYPE_UNIT, crash_point);
                /* It died between the commit and the unlinks, as the test wants:
                 * both files are still there. */
                assert_dir_is (env->dir, temps);
        }

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        http_server_release (env->http, "/second.bin");
        xferd_process_start (env->fx);

        /* The new instance finished the Cancel before it took the name. */
        assert_dir_empty (env->dir);
        xferd_assert_no_such_job (env->fx, id);
        g_assert_false (xferd_lists_job (env->fx, id));
        assert_job_string (env->fx, job, "State", "cancelled");
        /* Cancelled means it never transfers again. */
        g_assert_cmpuint (http_server_request_count (env->http, "/second.bin"), ==, 1);
        g_assert_cmpuint (http_server_request_count (env->http, "/first.bin"), ==, 1);
        g_assert_cmpuint (xferd_log_count (env->log, "Crash point"), ==, end == CANCEL_STOPPED_AFTER_REPLY ? 0 : 1);
        g_assert_cmpuint (xferd_log_count (env->log, "annot remove"), ==, 0);
        if (end == CANCEL_STOPPED_AFTER_REPLY)
                g_assert_cmpuint (xferd_log_count (env->log, "leftover temporary file"), ==, 0);
}

/* The daemon dies inside Complete, after the files' data is synced and recorded as
 * committed but before any rename: the next start moves them into place by itself (nothing
 * is downloaded again), and Complete then finishes the job without partial files. */
static void
test_kill_inside_complete (gconstpointer data)
{
        gboolean remove_dir = GPOINTER_TO_INT (data);
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *first_url = NULL, *first_dest = NULL, *second_url = NULL, *second_dest = NULL;
        g_autoptr(GBytes) first = xferd_env_serve_file (env, "c1.bin", SMALL_SIZE, &first_url, &first_dest);
        g_autoptr(GBytes) second = xferd_env_serve_file (env, "c2.bin", SIZE, &second_url, &second_dest);
        g_autofree char *id = NULL;

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "complete-renaming");
        g_autofree char *job = start_two_files (env, "completing", first_url, first_dest, second_url, second_dest,
                                                &id);
        job_wait_state (env->fx, job, "transferred");

        call_dying_at (env, job, "Complete", G_VARIANT_TYPE ("(b)"), "complete-renaming");
        /* It died before the renames: the destinations do not exist yet. */
        g_assert_false (g_file_test (first_dest, G_FILE_TEST_EXISTS));
        g_assert_false (g_file_test (second_dest, G_FILE_TEST_EXISTS));

        xferd_process_setenv (env->fx, "XFERD_TEST_CRASH_POINT", "");
        if (remove_dir) {
                /* The user deletes the directory, temporary files and all, while xferd is
                 * down: the files are lost, and the restart must not call them moved. */
                g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", env->dir);
                g_assert_cmpint (system (cmd), ==, 0);
                xferd_process_start (env->fx);
                assert_job_string (env->fx, job, "State", "suspended");
                g_assert_cmpint (g_mkdir (env->dir, 0755), ==, 0);
                g_assert_true (xferd_complete (env->fx, job));  /* partial: nothing was moved */
                assert_dir_empty (env->dir);
                return;
        }
        xferd_process_start (env->fx);

        /* The new instance finished the renames before it took the name. */
        const char *const names[] = { "c1.bin", "c2.bin", NULL };
        assert_dir_is (env->dir, names);
        assert_file_content (first_dest, first);
        assert_file_content (second_dest, second);
        assert_job_string (env->fx, job, "State", "transferred");
        g_assert_false (xferd_complete (env->fx, job));         /* not partial */
        assert_dir_is (env->dir, names);
        assert_file_content (second_dest, second);
        g_assert_cmpuint (http_server_request_count (env->http, "/c1.bin"), ==, 1);
        g_assert_cmpuint (http_server_request_count (env->http, "/c2.bin"), ==, 1);
}

/* --------------------------------------------- 5. a broken database file */

typedef enum {
        BROKEN_GARBAGE,
        BROKEN_CUT_INSIDE_PAGE,
        BROKEN_CUT_AT_PAGE,
} BrokenKind;

static guint
be16 (const guint8 *p)
{
        return (guint) p[0] << 8 | p[1];
}

/* A real store holding a job with a file, as xferd leaves it when it exits
 * by itself (the WAL checkpointed into the file). */
static GBytes *
make_real_store (void)
{
        BusFixtureOptions options = { .idle_timeout = 1 };
        g_autoptr(BusFixture) fx = bus_fixture_new (&options);
        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest = g_build_filename (dir, "x.bin", NULL);
        g_autofree char *state = xferd_process_state_dir (fx);
        g_autofree char *db = g_build_filename (state, "xferd.db", NULL);
        g_autofree char *wal = g_build_filename (state, "xferd.db-wal", NULL);
        g_autoptr(GError) error = NULL;
        char *data;
        gsize len;

        /* A suspended job does not keep xferd from its idle exit. */
        g_autofree char *job = xferd_create_job (fx, "stored", NULL);
        xferd_add_file (fx, job, "http://127.0.0.1:9/x.bin", dest);
        pid_t pid = xferd_process_pid (fx);
        g_assert_true (xferd_process_wait_gone (fx, pid, 0, WAIT_TIMEOUT_MS));
        g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS) && file_size (wal) > 0);
        g_file_get_contents (db, &data, &len, &error);
        g_assert_no_error (error);
        return g_bytes_new_take (data, len);
}

static GBytes *
broken_store (BrokenKind kind)
{
        if (kind == BROKEN_GARBAGE)
                return http_pattern_bytes (3 * 4096);

        g_autoptr(GBytes) real = make_real_store ();
        gsize size;
        const guint8 *p = g_bytes_get_data (real, &size);
        g_assert_cmpuint (size, >=, 100);
        guint page = be16 (p + 16) == 1 ? 65536 : be16 (p + 16);
        g_test_message ("the real store: %" G_GSIZE_FORMAT " bytes in pages of %u", size, page);
        g_assert_cmpuint (size, >, 2 * page);
        /* Inside a page: what a crash in the middle of extending the file
         * leaves. At a page boundary: pages missing that the header counts. */
        gsize cut = kind == BROKEN_CUT_INSIDE_PAGE ? size / 2 + 100 : 2 * page;
        return g_bytes_new_from_bytes (real, 0, cut);
}

static void
test_broken_store (gconstpointer data)
{
        BrokenKind kind = GPOINTER_TO_INT (data);
        g_autoptr(GBytes) broken = broken_store (kind);
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *url = NULL, *dest = NULL;
        g_autoptr(GBytes) content = xferd_env_serve_file (env, "file.bin", SMALL_SIZE, &url, &dest);
        g_autofree char *state = xferd_process_state_dir (env->fx);
        g_autofree char *db = g_build_filename (state, "xferd.db", NULL);
        g_autoptr(GError) error = NULL;

        /* Before the first activation: the first instance meets it. */
        g_file_set_contents_full (db, g_bytes_get_data (broken, NULL), (gssize) g_bytes_get_size (broken),
                                  G_FILE_SET_CONTENTS_NONE, 0600, &error);
        g_assert_no_error (error);

        pid_t pid = xferd_process_start (env->fx);
        g_assert_true (xferd_log_wait (env->log, "moved it to", 1, WAIT_TIMEOUT_MS));
        g_autofree char *said = xferd_log_grep (env->log, "moved it to");
        g_test_message ("xferd said: %s", said);

        /* Moved aside as it was, under one name. */
        g_auto(GStrv) names = list_dir (state);
        g_autofree char *broken_name = NULL;
        for (guint i = 0; names[i]; i++)
                if (g_str_has_prefix (names[i], "xferd.db.broken-")) {
                        g_assert_null (broken_name);
                        broken_name = g_strdup (names[i]);
                }
        g_assert_nonnull (broken_name);
        g_assert_nonnull (strstr (said, broken_name));
        g_autofree char *moved = g_build_filename (state, broken_name, NULL);
        assert_file_content (moved, broken);

        /* It works: a download goes through, in the same instance. */
        g_autofree char *id = NULL;
        g_autofree char *job = xferd_download (env->fx, url, dest, TRUE, &id);
        assert_acknowledged (env, id, TRANSFER_TIMEOUT_MS, dest, content);
        g_assert_cmpint (xferd_process_pid (env->fx), ==, pid);

        /* The fresh store is a working one: a job in it survives the next
         * crash, and the next start has nothing to complain about. */
        g_autofree char *kept_id = NULL;
        g_autofree char *kept = create_job_with (env, "kept", NULL, NULL, &kept_id);
        xferd_process_kill (env->fx);
        xferd_process_start (env->fx);
        assert_job_string (env->fx, kept, "State", "suspended");
        g_assert_true (xferd_lists_job (env->fx, kept_id));
        g_assert_cmpuint (xferd_log_count (env->log, "moved it to"), ==, 1);
        g_auto(GStrv) names_after = list_dir (state);
        guint n_broken = 0;
        for (guint i = 0; names_after[i]; i++)
                if (g_str_has_prefix (names_after[i], "xferd.db.broken-"))
                        n_broken++;
        g_assert_cmpuint (n_broken, ==, 1);
}

/* ------------------------------------- 6. Suspend, kill -9, then Resume */

static void
test_suspend_kill_resume (void)
{
        g_autoptr(XferdEnv) env = env_new ();
        g_autofree char *job = start_held (env, "/file.bin", SIZE, "\"s1\"", STALL, TRUE);
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        goffset held = file_size (temp);

        xferd_process_kill (env->fx);
        http_server_release (env->http, "/file.bin");
        xferd_process_start (env->fx);

        /* As the user left it: suspended, the partial file untouched, and
         * nothing fetched by itself. */
        assert_job_string (env->fx, job, "State", "suspended");
        g_assert_cmpint (file_size (temp), ==, held);
        g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, (guint64) held);
        g_assert_cmpuint (http_server_request_count (env->http, "/file.bin"), ==, 1);

        xferd_job_call (env->fx, job, "Resume");
        assert_resumed (env, job, held, "\"s1\"");
}

const TestCase test_cases[] = {
        { "/durable/kill-during-transfer", test_kill_during_transfer },
        { "/durable/no-validator", test_no_validator_restarts },
        { "/durable/inactive-job-cancelled", test_inactive_job_cancelled },
        { "/durable/auto-complete-after-crash", test_auto_complete_after_crash },
        { "/durable/auto-complete-batch-after-kill", test_auto_complete_batch_after_kill },
        { "/durable/ends-together-killed-before-commit", test_ends_together_killed_before_commit },
        { "/durable/transferred-file-vanished", test_transferred_file_vanished },
        { "/durable/second-daemon-waits-for-store", test_second_daemon_waits_for_store },
        { "/durable/jobs-in-every-state", test_jobs_in_every_state },
        { "/durable/server-ignores-range", test_server_ignores_range },
        { "/durable/suspend-kill-resume", test_suspend_kill_resume },
        { "/durable/recreated-file-killed-before-end", test_recreated_file_killed_before_end },
        { NULL, NULL }
};

const TestDataCase test_data_cases[] = {
        { "/durable/changed-resource/after-kill", test_changed_at_rest, GINT_TO_POINTER (TRUE) },
        { "/durable/changed-resource/while-suspended", test_changed_at_rest, GINT_TO_POINTER (FALSE) },
        { "/durable/changed-resource/between-attempts/etag", test_changed_between_attempts, GINT_TO_POINTER (TRUE) },
        { "/durable/changed-resource/between-attempts/last-modified", test_changed_between_attempts,
          GINT_TO_POINTER (FALSE) },
        { "/durable/kill-inside-cancel/before-unlinks", test_kill_inside_cancel,
          GINT_TO_POINTER (CANCEL_KILLED_BEFORE_UNLINKS) },
        { "/durable/kill-inside-cancel/after-reply", test_kill_inside_cancel, GINT_TO_POINTER (CANCEL_KILLED_AFTER_REPLY) },
        { "/durable/kill-inside-cancel/stopped-after-reply", test_kill_inside_cancel,
          GINT_TO_POINTER (CANCEL_STOPPED_AFTER_REPLY) },
        { "/durable/kill-inside-complete/renames-finished", test_kill_inside_complete, GINT_TO_POINTER (FALSE) },
        { "/durable/kill-inside-complete/directory-gone", test_kill_inside_complete, GINT_TO_POINTER (TRUE) },
        { "/durable/broken-store/garbage", test_broken_store, GINT_TO_POINTER (BROKEN_GARBAGE) },
        { "/durable/broken-store/truncated-inside-page", test_broken_store, GINT_TO_POINTER (BROKEN_CUT_INSIDE_PAGE) },
        { "/durable/broken-store/truncated-at-page", test_broken_store, GINT_TO_POINTER (BROKEN_CUT_AT_PAGE) },
        { NULL, NULL, NULL }
};
