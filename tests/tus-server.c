/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tus reference server as a test subprocess: see tus-server.h. */
#include "tus-server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>

#include "peer.h"
#include "poll-wait.h"

/* Starting node and loading tus-node-server takes well under a second; this
 * is for slow machines. */
#define START_TIMEOUT_MS 30000

struct TusServer {
        char *node;
        char *script;
        char *upload_dir;
        char *log_path;
        char *endpoint;
        guint16 port;
        GSubprocess *proc;
        GArray *pids;         /* guint32 pid of each run, in order */
        gboolean relative_location;
};

/* ------------------------------------------------------------ starting */

/* Why the reference server cannot run here, or NULL when it can. */
static char *
why_unavailable (const char *node, const char *script)
{
        if (!script || !*script)
                return g_strdup ("XFERD_TUS_SERVER is not set (run the tests with meson test)");
        if (!node || !*node)
                return g_strdup ("node was not found when meson configured the build "
                                 "(install nodejs and npm, run scripts/setup-deps.sh, reconfigure)");
        if (!g_file_test (script, G_FILE_TEST_IS_REGULAR))
                return g_strdup_printf ("%s does not exist", script);
        g_autofree char *dir = g_path_get_dirname (script);
        g_autofree char *module = g_build_filename (dir, "node_modules", "@tus", "server", "package.json", NULL);
        g_autofree char *store = g_build_filename (dir, "node_modules", "@tus", "file-store", "package.json", NULL);
        if (!g_file_test (module, G_FILE_TEST_IS_REGULAR) || !g_file_test (store, G_FILE_TEST_IS_REGULAR))
                return g_strdup_printf ("the tus server's packages are not installed: run `npm ci` in %s "
                                        "(scripts/setup-deps.sh does)", dir);
        return NULL;
}

/* Reads stdout until "PORT=<n>\n"; 0 when the server ended or the deadline
 * passed first. */
static guint16
read_port (GSubprocess *proc)
{
        GInputStream *out = g_subprocess_get_stdout_pipe (proc);
        int fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (out));
        gint64 deadline = g_get_monotonic_time () + (gint64) START_TIMEOUT_MS * 1000;
        g_autoptr(GString) text = g_string_new (NULL);

        for (;;) {
                const char *line = strstr (text->str, "PORT=");
                if (line && strchr (line, '\n')) {
                        guint64 port = g_ascii_strtoull (line + 5, NULL, 10);
                        return port > 0 && port <= G_MAXUINT16 ? (guint16) port : 0;
                }
                gint64 left = deadline - g_get_monotonic_time ();
                if (left <= 0)
                        return 0;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int n = poll (&p, 1, (int) (left / 1000) + 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                char buf[256];
                ssize_t k = read (fd, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return 0;  /* the server exited */
                g_string_append_len (text, buf, k);
        }
}

/* Starts one run; FALSE with *why set when it does not start. */
static gboolean
start (TusServer *s, guint64 pause_at, char **why)
{
        /* A test that aborts leaves no server behind. */
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, SIGKILL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GError) error = NULL;

        g_ptr_array_add (argv, g_strdup (s->node));
        g_ptr_array_add (argv, g_strdup (s->script));
        g_ptr_array_add (argv, g_strdup ("--dir"));
        g_ptr_array_add (argv, g_strdup (s->upload_dir));
        g_ptr_array_add (argv, g_strdup ("--port"));
        g_ptr_array_add (argv, g_strdup_printf ("%u", s->port));
        g_ptr_array_add (argv, g_strdup ("--log"));
        g_ptr_array_add (argv, g_strdup (s->log_path));
        if (s->relative_location)
                g_ptr_array_add (argv, g_strdup ("--relative-location"));
        if (pause_at != TUS_NO_PAUSE) {
                g_ptr_array_add (argv, g_strdup ("--pause-at"));
                g_ptr_array_add (argv, g_strdup_printf ("%" G_GUINT64_FORMAT, pause_at));
        }
        g_ptr_array_add (argv, NULL);

        /* stderr stays the test's: node's errors land in the test log. */
        s->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
        if (!s->proc) {
                *why = g_strdup_printf ("%s: %s", s->node, error->message);
                return FALSE;
        }
        guint16 port = read_port (s->proc);
        if (port == 0) {
                *why = g_strdup_printf ("%s %s did not print its port (see its messages above)",
                                        s->node, s->script);
                peer_stop (&s->proc, SIGKILL);
                return FALSE;
        }
        if (s->port == 0) {
                s->port = port;
                s->endpoint = g_strdup_printf ("http://127.0.0.1:%u/files/", port);
        }
        g_assert_cmpuint (port, ==, s->port);
        guint32 pid = (guint32) atoi (g_subprocess_get_identifier (s->proc));
        g_array_append_val (s->pids, pid);
        g_test_message ("tus server run %u: pid %u, port %u, pause at %s", s->pids->len, pid, port,
                        pause_at == TUS_NO_PAUSE ? "-" : (const char *) argv->pdata[argv->len - 2]);
        return TRUE;
}

static TusServer *
server_new (const char *workdir, guint64 pause_at, gboolean relative_location)
{
        const char *node = g_getenv ("NODE");
        const char *script = g_getenv ("XFERD_TUS_SERVER");
        g_autofree char *why = why_unavailable (node, script);
        TusServer *s;

        if (why) {
                peer_unavailable ("the tus reference server", why);
                return NULL;
        }
        s = g_new0 (TusServer, 1);
        s->node = g_strdup (node);
        s->script = g_strdup (script);
        s->upload_dir = g_build_filename (workdir, "uploads", NULL);
        s->log_path = g_build_filename (workdir, "server.log", NULL);
        s->pids = g_array_new (FALSE, FALSE, sizeof (guint32));
        s->relative_location = relative_location;
        g_assert_no_errno (g_mkdir_with_parents (s->upload_dir, 0755));
        if (!start (s, pause_at, &why)) {
                peer_unavailable ("the tus reference server", why);
                tus_server_free (s);
                return NULL;
        }
        return s;
}

TusServer *
tus_server_new (const char *workdir, guint64 pause_at)
{
        return server_new (workdir, pause_at, FALSE);
}

TusServer *
tus_server_new_relative (const char *workdir, guint64 pause_at)
{
        return server_new (workdir, pause_at, TRUE);
}

void
tus_server_free (TusServer *s)
{
        if (!s)
                return;
        if (s->proc) {
                g_subprocess_send_signal (s->proc, SIGCONT);  /* in case a test froze it */
                tus_server_stop (s, SIGKILL);
        }
        g_free (s->node);
        g_free (s->script);
        g_free (s->upload_dir);
        g_free (s->log_path);
        g_free (s->endpoint);
        g_array_unref (s->pids);
        g_free (s);
}

void
tus_server_stop (TusServer *s, int signo)
{
        g_assert_nonnull (s->proc);
        peer_stop (&s->proc, signo);
        g_test_message ("tus server run %u ended (signal %d)", s->pids->len, signo);
}

void
tus_server_restart (TusServer *s, guint64 pause_at)
{
        g_autofree char *why = NULL;

        g_assert_null (s->proc);
        if (!start (s, pause_at, &why))
                g_error ("restarting the tus server on port %u: %s", s->port, why);
}

void
tus_server_signal (TusServer *s, int signo)
{
        g_assert_nonnull (s->proc);
        g_subprocess_send_signal (s->proc, signo);
}

guint16
tus_server_get_port (TusServer *s)
{
        return s->port;
}

const char *
tus_server_endpoint (TusServer *s)
{
        return s->endpoint;
}

const char *
tus_server_upload_dir (TusServer *s)
{
        return s->upload_dir;
}

char *
tus_server_data_path (TusServer *s, const char *id)
{
        return g_build_filename (s->upload_dir, id, NULL);
}

char *
tus_server_info_path (TusServer *s, const char *id)
{
        g_autofree char *name = g_strconcat (id, ".json", NULL);
        return g_build_filename (s->upload_dir, name, NULL);
}

guint
tus_server_count_files_of (TusServer *s, const char *id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) dir = g_dir_open (s->upload_dir, 0, &error);
        const char *name;
        guint n = 0;

        g_assert_no_error (error);
        while ((name = g_dir_read_name (dir)))
                if (g_str_has_prefix (name, id))
                        n++;
        return n;
}

gboolean
tus_server_wait_upload_gone (TusServer *s, const char *id, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        while (tus_server_count_files_of (s, id) > 0)
                if (!poll_again (deadline, 10))
                        return FALSE;
        return TRUE;
}

/* ----------------------------------------------------------- the log */

static char **
log_lines (TusServer *s)
{
        g_autofree char *text = NULL;

        if (!g_file_get_contents (s->log_path, &text, NULL, NULL))
                return g_new0 (char *, 1);
        return g_strsplit (text, "\n", -1);
}

/* Run number of a log line's pid, 0 if unknown. */
static guint
run_of (TusServer *s, const char *pid_text)
{
        guint32 pid = (guint32) g_ascii_strtoull (pid_text, NULL, 10);

        for (guint i = 0; i < s->pids->len; i++)
                if (g_array_index (s->pids, guint32, i) == pid)
                        return i + 1;
        return 0;
}

static void
tus_write_free (gpointer data)
{
        TusWrite *w = data;

        g_free (w->how);
        g_free (w);
}

GPtrArray *
tus_server_writes (TusServer *s, const char *id)
{
        g_auto(GStrv) lines = log_lines (s);
        GPtrArray *writes = g_ptr_array_new_with_free_func (tus_write_free);

        for (guint i = 0; lines[i]; i++) {
                /* <pid> WRITE <id> offset=<n> received=<n> <how> */
                g_auto(GStrv) f = g_strsplit (lines[i], " ", -1);
                if (g_strv_length (f) != 6 || strcmp (f[1], "WRITE") != 0 || strcmp (f[2], id) != 0)
                        continue;
                g_assert_true (g_str_has_prefix (f[3], "offset=") && g_str_has_prefix (f[4], "received="));
                TusWrite *w = g_new0 (TusWrite, 1);
                w->run = run_of (s, f[0]);
                w->offset = g_ascii_strtoull (f[3] + strlen ("offset="), NULL, 10);
                w->received = g_ascii_strtoull (f[4] + strlen ("received="), NULL, 10);
                w->how = g_strdup (f[5]);
                g_ptr_array_add (writes, w);
        }
        return writes;
}

guint64
tus_server_bytes_received (TusServer *s, const char *id)
{
        g_autoptr(GPtrArray) writes = tus_server_writes (s, id);
        guint64 sum = 0;

        for (guint i = 0; i < writes->len; i++)
                sum += ((TusWrite *) g_ptr_array_index (writes, i))->received;
        return sum;
}

guint
tus_server_count_requests (TusServer *s, guint run, const char *method, const char *path, guint status)
{
        g_auto(GStrv) lines = log_lines (s);
        guint n = 0;

        for (guint i = 0; lines[i]; i++) {
                /* <pid> REQUEST <METHOD> <path> <status> */
                g_auto(GStrv) f = g_strsplit (lines[i], " ", -1);
                if (g_strv_length (f) != 5 || strcmp (f[1], "REQUEST") != 0)
                        continue;
                if ((run == 0 || run_of (s, f[0]) == run) && strcmp (f[2], method) == 0 &&
                    strcmp (f[3], path) == 0 && (status == 0 || g_ascii_strtoull (f[4], NULL, 10) == status))
                        n++;
        }
        return n;
}

gboolean
tus_server_wait_requests (TusServer *s, guint run, const char *method, const char *path,
                          guint status, guint n, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        while (tus_server_count_requests (s, run, method, path, status) < n)
                if (!poll_again (deadline, 10))
                        return FALSE;
        return TRUE;
}

static gboolean
logged_pause (TusServer *s, const char *id)
{
        g_auto(GStrv) lines = log_lines (s);
        g_autofree char *needle = g_strdup_printf (" PAUSE %s ", id);

        for (guint i = 0; lines[i]; i++)
                if (strstr (lines[i], needle) && run_of (s, lines[i]) == s->pids->len)
                        return TRUE;
        return FALSE;
}

gboolean
tus_server_wait_paused (TusServer *s, const char *id, guint64 pause_at, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);
        g_autofree char *data = tus_server_data_path (s, id);
        GStatBuf st;

        /* The PAUSE line comes when the body stops being read; the bytes
         * before the pause point may still be on their way to the file. */
        for (;;) {
                if (logged_pause (s, id) && g_stat (data, &st) == 0 && (guint64) st.st_size >= pause_at) {
                        g_assert_cmpuint (st.st_size, ==, pause_at);
                        return TRUE;
                }
                if (!poll_again (deadline, 10)) {
                        g_autofree char *log = tus_server_log (s);
                        g_test_message ("upload %s did not pause at %" G_GUINT64_FORMAT "; server log:\n%s",
                                        id, pause_at, log);
                        return FALSE;
                }
        }
}

char *
tus_server_log (TusServer *s)
{
        char *text = NULL;

        if (!g_file_get_contents (s->log_path, &text, NULL, NULL))
                return g_strdup ("");
        return text;
}

guint
tus_server_run (TusServer *s)
{
        return s->pids->len;
}

const char *
tus_upload_id (const char *upload_url)
{
        const char *slash = strrchr (upload_url, '/');

        g_assert_nonnull (slash);
        g_assert_cmpstr (slash + 1, !=, "");
        return slash + 1;
}
