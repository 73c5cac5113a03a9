/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * apt downloads through xferd: the real apt-get, as root (so it runs the xferd+http method
 * as _apt), in an apt root of its own, against a repository made with dpkg-deb and
 * apt-ftparchive and served on 127.0.0.1 (apt-repo.h), with xferd on a private bus
 * configured like the system bus.
 *
 * Needs root, _apt, apt, apt-utils, dpkg-dev, gpg and gpgv; without them the tests skip,
 * or fail when CI=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "apt-checks.h"
#include "apt-repo.h"
#include "bus-fixture.h"
#include "http-server.h"
#include "poll-wait.h"

/* ---------------------------------------------------------------- update */

static void
test_update_trusted (AptEnv *env, gconstpointer data)
{
        guint from = apt_signals_mark (env->fx);
        g_autofree char *out = apt_update_ok (env);

        /* No InRelease in this suite: its 404 is apt's "Ign". */
        g_assert_nonnull (strstr (out, "Ign:1 xferd+http://127.0.0.1"));
        g_assert_nonnull (strstr (out, "plain Release"));
        g_autofree char *lists_packages = apt_lists_file (env->apt->lists, "plain", "main_binary-all_Packages");
        g_autofree char *repo_packages = g_build_filename (apt_test_repo->dir, "dists", "plain", "main", "binary-all",
                                                           "Packages", NULL);
        g_autofree char *expected = NULL;
        g_assert_true (g_file_get_contents (repo_packages, &expected, NULL, NULL));
        g_autoptr(GBytes) bytes = g_bytes_new (expected, strlen (expected));
        apt_assert_file_bytes (lists_packages, bytes);
        apt_assert_jobs_of_apt (env->fx, from, 3);

        /* Again: apt asks with If-Modified-Since and xferd's 304 is apt's IMS hit. */
        guint releases = http_server_request_count (apt_test_repo->http, "/dists/plain/Release");
        guint packages = http_server_request_count (apt_test_repo->http, "/dists/plain/main/binary-all/Packages");
        from = apt_signals_mark (env->fx);
        g_autofree char *again = apt_update_ok (env);
        g_assert_nonnull (strstr (again, "Hit:"));
        g_assert_cmpuint (http_server_request_count (apt_test_repo->http, "/dists/plain/Release"), ==, releases + 1);
        g_autofree char *ims = http_server_last_header (apt_test_repo->http, "/dists/plain/Release", "If-Modified-Since");
        g_assert_nonnull (ims);
        /* The same Release: apt does not ask for Packages again. */
        g_assert_cmpuint (http_server_request_count (apt_test_repo->http, "/dists/plain/main/binary-all/Packages"), ==,
                          packages);
        g_autofree char *partial = g_build_filename (env->apt->lists, "partial", NULL);
        apt_assert_dir_holds_only (partial, NULL);
        apt_assert_jobs_of_apt (env->fx, from, 1);
}

static void
test_update_signed (AptEnv *env, gconstpointer data)
{
        guint from = apt_signals_mark (env->fx);
        g_autofree char *out = apt_update_ok (env);

        g_assert_nonnull (strstr (out, "signed InRelease"));
        g_assert_null (strstr (out, "NO_PUBKEY"));
        g_autofree char *inrelease = apt_lists_file (env->apt->lists, "signed", "InRelease");
        g_assert_true (g_file_test (inrelease, G_FILE_TEST_IS_REGULAR));
        apt_assert_jobs_of_apt (env->fx, from, 2);

        g_autofree char *again = apt_update_ok (env);
        g_assert_nonnull (strstr (again, "Hit:1 xferd+http://127.0.0.1"));
        g_autofree char *ims = http_server_last_header (apt_test_repo->http, "/dists/signed/InRelease", "If-Modified-Since");
        g_assert_nonnull (ims);
}

/* ---------------------------------------------------------------- packages */

static void
test_download (AptEnv *env, gconstpointer data)
{
        g_autofree char *update = apt_update_ok (env);
        g_autofree char *out = NULL;
        g_autofree char *big = apt_repo_deb_path ("big");

        /* The big one slowly: the small ones are done while it is still coming. */
        http_server_set_rate (apt_test_repo->http, big, 2 * 1024 * 1024);
        guint from = apt_signals_mark (env->fx);
        int status = apt_root_run (env->apt, &out, "download", "big", "tiny-a", "tiny-b", NULL);
        http_server_set_rate (apt_test_repo->http, big, 0);
        g_assert_cmpint (status, ==, 0);
        apt_assert_deb_in (env->apt->dl, "big");
        apt_assert_deb_in (env->apt->dl, "tiny-a");
        apt_assert_deb_in (env->apt->dl, "tiny-b");
        const char *const debs[] = { "big_1.0_all.deb", "tiny-a_1.0_all.deb", "tiny-b_2.0_all.deb", NULL };
        apt_assert_dir_holds_only (env->apt->dl, debs);
        apt_assert_jobs_of_apt (env->fx, from, 3);

        /* Pipelined: all three jobs existed before the first one ended. */
        g_autoptr(GPtrArray) ids = apt_jobs_since (env->fx, from);
        g_assert_cmpuint (ids->len, ==, 3);
        guint last_new = 0, first_removed = G_MAXUINT;
        for (guint i = from; i < env->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                if (g_strcmp0 (sig->member, "JobNew") == 0)
                        last_new = i;
                else if (g_strcmp0 (sig->member, "JobRemoved") == 0 && first_removed == G_MAXUINT)
                        first_removed = i;
        }
        g_assert_cmpuint (last_new, <, first_removed);

        /* The same through apt-get install --download-only, into the archives. */
        from = apt_signals_mark (env->fx);
        g_autofree char *install = NULL;
        g_assert_cmpint (apt_root_run (env->apt, &install, "install", "--download-only", "-y", "big", "tiny-a",
                                       "tiny-b", NULL), ==, 0);
        apt_assert_deb_in (env->apt->archives, "big");
        apt_assert_deb_in (env->apt->archives, "tiny-a");
        apt_assert_deb_in (env->apt->archives, "tiny-b");
        g_autofree char *partial = g_build_filename (env->apt->archives, "partial", NULL);
        apt_assert_dir_holds_only (partial, NULL);
        apt_assert_jobs_of_apt (env->fx, from, 3);
}

static void
test_hash_mismatch (AptEnv *env, gconstpointer data)
{
        g_autofree char *update = apt_update_ok (env);
        g_autofree char *out = NULL, *install = NULL;
        guint from = apt_signals_mark (env->fx);

        g_assert_cmpint (apt_root_run (env->apt, &out, "download", "tiny-bad", NULL), !=, 0);
        g_assert_nonnull (strstr (out, "Hash Sum mismatch"));
        apt_assert_dir_holds_only (env->apt->dl, NULL);

        g_assert_cmpint (apt_root_run (env->apt, &install, "install", "--download-only", "-y", "tiny-bad", NULL), !=, 0);
        g_assert_nonnull (strstr (install, "Hash Sum mismatch"));
        const char *const partial_only[] = { "partial", "lock", NULL };
        apt_assert_dir_holds_only (env->apt->archives, partial_only);
        g_autofree char *partial = g_build_filename (env->apt->archives, "partial", NULL);
        apt_assert_dir_holds_only (partial, NULL);
        apt_assert_jobs_of_apt (env->fx, from, 2);
}

static void
test_not_found (AptEnv *env, gconstpointer data)
{
        g_autofree char *update = apt_update_ok (env);
        g_autofree char *out = NULL;
        guint from = apt_signals_mark (env->fx);

        g_assert_cmpint (apt_root_run (env->apt, &out, "download", "tiny-gone", NULL), !=, 0);
        g_assert_nonnull (strstr (out, "404"));
        apt_assert_dir_holds_only (env->apt->dl, NULL);
        apt_assert_jobs_of_apt (env->fx, from, 1);
}

/* Acquire::http::Timeout bounds the time without progress, not the time of a download. */
static void
test_timeout (AptEnv *env, gconstpointer data)
{
        g_autofree char *update = apt_update_ok (env);
        g_autofree char *big = apt_repo_deb_path ("big");
        g_autofree char *tiny = apt_repo_deb_path ("tiny-b");
        g_autofree char *out = NULL, *hung = NULL;

        /* Four seconds of steady progress. */
        http_server_set_rate (apt_test_repo->http, big, 1024 * 1024);
        int status = apt_root_run (env->apt, &out, "download", "big", NULL);
        http_server_set_rate (apt_test_repo->http, big, 0);
        g_assert_cmpint (status, ==, 0);
        apt_assert_deb_in (env->apt->dl, "big");

        /* A server that never answers. */
        http_server_hang (apt_test_repo->http, tiny, HTTP_SERVER_FOREVER);
        gint64 start = g_get_monotonic_time ();
        status = apt_root_run (env->apt, &hung, "download", "tiny-b", NULL);
        gint64 took = g_get_monotonic_time () - start;
        http_server_hang (apt_test_repo->http, tiny, 0);
        g_assert_cmpint (status, !=, 0);
        g_assert_nonnull (strstr (hung, "No progress from xferd for 2 s"));
        g_assert_cmpint (took, >=, 2 * G_USEC_PER_SEC);
        g_assert_cmpint (took, <, 10 * G_USEC_PER_SEC);
        const char *const debs[] = { "big_1.0_all.deb", NULL };
        apt_assert_dir_holds_only (env->apt->dl, debs);
        apt_assert_no_jobs (env->fx);
}

/* ---------------------------------------------------------------- xferd missing */

/* From now on the bus starts `exec` for org.xferd.Transfer1 instead of xferd. */
static void
replace_activation (BusFixture *fx, const char *exec)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *file = g_build_filename (fx->tmpdir, "services", XFERD_BUS_NAME ".service", NULL);
        g_autofree char *text = g_strdup_printf ("[D-BUS Service]\nName=" XFERD_BUS_NAME "\nExec=%s\nUser=root\n", exec);

        g_file_set_contents (file, text, -1, &error);
        g_assert_no_error (error);
        /* ReloadConfig answers once the new service file is read. */
        g_autoptr(GVariant) reply = bus_driver_call (fx, "ReloadConfig", NULL, NULL, &error);
        g_assert_no_error (error);
}

static void
assert_update_fails_fast (AptEnv *env, const char *const *prefix, const char *why, gint64 within_usec)
{
        const char *const args[] = { "update", NULL };
        g_auto(GStrv) apt = apt_root_argv (env->apt, FALSE, args);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_autofree char *o = NULL, *e = NULL;

        g_strv_builder_addv (b, (const char **) prefix);
        g_strv_builder_addv (b, (const char **) apt);
        g_auto(GStrv) argv = g_strv_builder_end (b);
        gint64 start = g_get_monotonic_time ();
        int status = bus_fixture_run (env->fx, (const char *const *) argv, &o, &e);
        gint64 took = g_get_monotonic_time () - start;

        g_assert_cmpint (status, !=, 0);
        g_autofree char *out = g_strconcat (o, e, NULL);
        g_assert_nonnull (strstr (out, why));
        g_assert_nonnull (strstr (out, "E: Failed to fetch xferd+http://127.0.0.1"));
        g_assert_cmpint (took, <, within_usec);
}

static void
test_unavailable (AptEnv *env, gconstpointer data)
{
        g_autofree char *no_bus = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s/no-such-bus", env->fx->tmpdir);
        const char *const none[] = { NULL };
        const char *const elsewhere[] = { "env", no_bus, NULL };

        /* No bus at all. */
        assert_update_fails_fast (env, elsewhere, "cannot connect to the system bus", 10 * G_USEC_PER_SEC);

        /* A bus that cannot start xferd. */
        replace_activation (env->fx, "/bin/false");
        assert_update_fails_fast (env, none, "cannot be reached or started", 10 * G_USEC_PER_SEC);
        g_assert_cmpuint (bus_fixture_note_xferd (env->fx), ==, 0);

        /* Handed over to apt's own http method instead. */
        g_autofree char *conf = g_build_filename (env->apt->root, "etc", "apt.conf.d", "fallback.conf", NULL);
        g_assert_true (g_file_set_contents (conf, "Acquire::xferd::Fallback \"true\";\n", -1, NULL));
        g_autofree char *out = apt_update_ok (env);
        g_assert_nonnull (strstr (out, "http://127.0.0.1"));
        g_autofree char *packages = apt_lists_file (env->apt->lists, "plain", "main_binary-all_Packages");
        g_assert_true (g_file_test (packages, G_FILE_TEST_IS_REGULAR));
}

/* A bus whose activation of xferd never finishes: the method gives up after StartTimeout. */
static void
test_activation_hangs (AptEnv *env, gconstpointer data)
{
        g_autofree char *fifo = g_build_filename (env->fx->tmpdir, "hold", NULL);
        g_autofree char *script = g_build_filename (env->fx->tmpdir, "hang", NULL);
        g_autofree char *text = g_strdup_printf ("#!/bin/sh\n# never takes the name; ends when the test lets it\n"
                                                 "exec cat '%s'\n", fifo);
        const char *const none[] = { NULL };

        g_assert_no_errno (mkfifo (fifo, 0600));
        g_assert_true (g_file_set_contents (script, text, -1, NULL));
        g_assert_no_errno (g_chmod (script, 0755));
        replace_activation (env->fx, script);
        assert_update_fails_fast (env, none, "did not answer within 2 s", 10 * G_USEC_PER_SEC);

        /* Let the stand-in go (its reader is there by now: apt tried twice). */
        int fd = open (fifo, O_WRONLY | O_NONBLOCK);
        if (fd >= 0)
                close (fd);
}

/* ---------------------------------------------------------------- interruptions */

/* The xferd+http process under apt-get (its child). */
static pid_t
method_pid (pid_t apt)
{
        g_autofree char *children = g_strdup_printf ("/proc/%d/task/%d/children", apt, apt);
        g_autofree char *text = NULL;

        if (!g_file_get_contents (children, &text, NULL, NULL))
                return 0;
        g_auto(GStrv) pids = g_strsplit (g_strstrip (text), " ", -1);
        for (guint i = 0; pids[i]; i++) {
                g_autofree char *exe = g_strdup_printf ("/proc/%s/exe", pids[i]);
                g_autofree char *target = g_file_read_link (exe, NULL);
                if (target && g_str_has_suffix (target, "/xferd+http"))
                        return (pid_t) g_ascii_strtoll (pids[i], NULL, 10);
        }
        return 0;
}

/* Waits until pid has exited (reaping it if it became ours: the fixture is a subreaper). */
static gboolean
wait_process_gone (pid_t pid, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        do {
                if (waitpid (pid, NULL, WNOHANG) == pid)
                        return TRUE;
                if (kill (pid, 0) < 0 && errno == ESRCH)
                        return TRUE;
        } while (poll_again (deadline, 10));
        return FALSE;
}

typedef enum {
        STOP_SIGINT_GROUP,      /* Ctrl-C: apt-get and its method get SIGINT */
        STOP_SIGTERM_METHOD,    /* the method alone is told to stop */
        STOP_KILL_APT,          /* apt-get dies: the method's pipe closes */
        STOP_KILL_METHOD,       /* the method dies: xferd cancels its jobs (CancelWhenOwnerGone) */
} StopHow;

/* data: a StopHow. */
static void
test_interrupt (AptEnv *env, gconstpointer data)
{
        StopHow how = (StopHow) GPOINTER_TO_INT (data);
        g_autofree char *update = apt_update_ok (env);
        g_autofree char *big = apt_repo_deb_path ("big");
        const char *const args[] = { "download", "big", NULL };
        g_auto(GStrv) argv = apt_root_argv (env->apt, TRUE, args);
        guint from = apt_signals_mark (env->fx);
        const RecordedSignal *sig;
        const char *id;

        http_server_set_rate (apt_test_repo->http, big, 256 * 1024);
        g_autoptr(GSubprocess) proc = bus_fixture_spawn (env->fx, (const char *const *) argv);
        pid_t apt = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (proc), NULL, 10);

        sig = bus_wait_signal (env->fx, &from, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew", NULL, NULL,
                               WAIT_TIMEOUT_MS);
        g_assert_nonnull (sig);
        g_variant_get (sig->params, "(&s&o)", &id, NULL);
        g_autofree char *job = apt_job_path (id);
        g_autofree char *job_id = g_strdup (id);
        job_wait_state (env->fx, job, "transferring");
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        /* In the middle of it. */
        g_assert_true (wait_file_size (temp, 256 * 1024, WAIT_TIMEOUT_MS));
        pid_t method = method_pid (apt);
        g_assert_cmpint (method, >, 0);

        switch (how) {
        case STOP_SIGINT_GROUP:
                g_assert_no_errno (kill (-apt, SIGINT));
                break;
        case STOP_SIGTERM_METHOD:
                g_assert_no_errno (kill (method, SIGTERM));
                break;
        case STOP_KILL_APT:
                g_assert_no_errno (kill (apt, SIGKILL));
                break;
        case STOP_KILL_METHOD:
                g_assert_no_errno (kill (method, SIGKILL));
                break;
        }

        assert_job_removed (env->fx, job_id, "cancelled");
        /* Until apt-get and the method (which shares its stderr) are gone. */
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) error = NULL;
        g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
        g_assert_no_error (error);
        g_test_message ("apt-get download big:\n%s%s", out, err);
        g_assert_false (g_subprocess_get_successful (proc));
        /* The method saw what it was meant to see (after a Ctrl-C, whichever came first). */
        if (how == STOP_SIGINT_GROUP)
                g_assert_true (strstr (err, "Interrupt: cancelling our jobs") || strstr (err, "apt closed the pipe"));
        else if (how == STOP_SIGTERM_METHOD) {
                g_assert_nonnull (strstr (err, "Terminated: cancelling our jobs"));
                g_assert_null (strstr (err, "apt closed the pipe"));
        } else if (how == STOP_KILL_APT)
                g_assert_nonnull (strstr (err, "apt closed the pipe"));
        else {
                /* Nobody but xferd could cancel it. */
                g_assert_null (strstr (err, "cancelling our jobs"));
                g_assert_nonnull (strstr (err, "Method xferd+http has died unexpectedly"));
        }
        g_assert_true (wait_process_gone (method, WAIT_TIMEOUT_MS));
        http_server_set_rate (apt_test_repo->http, big, 0);

        apt_assert_no_jobs (env->fx);
        apt_assert_dir_holds_only (env->apt->dl, NULL);
}

/* A case: what it does in its apt environment, made (after the check that apt can run here)
 * from the suite its apt's sources name and more apt.conf lines, and data for it. */
typedef struct {
        const char *path;       /* NULL ends the table */
        void (*func) (AptEnv *env, gconstpointer data);
        const char *sources;
        const char *extra_conf;
        gconstpointer data;
} AptCase;

static void
run_apt_case (gconstpointer data)
{
        const AptCase *c = data;

        if (!apt_test_available ())
                return;
        g_autoptr(AptEnv) env = apt_env_new (c->sources, c->extra_conf);
        c->func (env, c->data);
}

static const AptCase apt_cases[] = {
        { "/apt/update/trusted", test_update_trusted, PLAIN, NULL, NULL },
        { "/apt/update/signed", test_update_signed, SIGNED, NULL, NULL },
        { "/apt/download", test_download, PLAIN, NULL, NULL },
        { "/apt/hash-mismatch", test_hash_mismatch, PLAIN, NULL, NULL },
        { "/apt/not-found", test_not_found, PLAIN, NULL, NULL },
        { "/apt/timeout", test_timeout, PLAIN, "Acquire::http::Timeout \"2\";\n", NULL },
        { "/apt/unavailable", test_unavailable, PLAIN, NULL, NULL },
        { "/apt/activation-hangs", test_activation_hangs, PLAIN, "Acquire::xferd::StartTimeout \"2\";\n", NULL },
        { "/apt/interrupt/sigint", test_interrupt, PLAIN, NULL, GINT_TO_POINTER (STOP_SIGINT_GROUP) },
        { "/apt/interrupt/sigterm", test_interrupt, PLAIN, NULL, GINT_TO_POINTER (STOP_SIGTERM_METHOD) },
        { "/apt/interrupt/apt-killed", test_interrupt, PLAIN, NULL, GINT_TO_POINTER (STOP_KILL_APT) },
        { "/apt/interrupt/method-killed", test_interrupt, PLAIN, NULL, GINT_TO_POINTER (STOP_KILL_METHOD) },
        { NULL, NULL, NULL, NULL, NULL }
};

int
main (int argc, char **argv)
{
        int status;

        g_test_init (&argc, &argv, NULL);
        if (!apt_repo_missing ())
                apt_test_repo = apt_repo_new ();
        for (const AptCase *c = apt_cases; c->path; c++)
                g_test_add_data_func (c->path, c, run_apt_case);
        status = g_test_run ();
        apt_repo_free (apt_test_repo);
        return status;
}
