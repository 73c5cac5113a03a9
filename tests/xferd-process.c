/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Controlling the xferd of a bus fixture: see xferd-process.h. */
#include "xferd-process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "poll-wait.h"
#define BUS_DRIVER_NAME  "org.freedesktop.DBus"
#define BUS_DRIVER_PATH  "/org/freedesktop/DBus"
#define BUS_DRIVER_IFACE "org.freedesktop.DBus"
#define DRIVER_CALL_TIMEOUT_MS 10000

static GVariant *
driver_call (BusFixture *fx, const char *method, GVariant *params, const GVariantType *reply_type,
             GError **error)
{
        return g_dbus_connection_call_sync (fx->conn, BUS_DRIVER_NAME, BUS_DRIVER_PATH, BUS_DRIVER_IFACE,
                                            method, params, reply_type, G_DBUS_CALL_FLAGS_NONE,
                                            DRIVER_CALL_TIMEOUT_MS, NULL, error);
}

pid_t
xferd_process_pid (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = driver_call (fx, "GetConnectionUnixProcessID",
                                                 g_variant_new ("(s)", XFERD_BUS_NAME),
                                                 G_VARIANT_TYPE ("(u)"), &error);
        guint32 pid;

        if (!reply) {
                /* The only expected failure: nobody owns the name right now. */
                g_autofree char *remote = g_dbus_error_get_remote_error (error);
                if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") != 0)
                        g_test_message ("GetConnectionUnixProcessID: %s", error->message);
                g_assert_cmpstr (remote, ==, "org.freedesktop.DBus.Error.NameHasNoOwner");
                return 0;
        }
        g_variant_get (reply, "(u)", &pid);
        return (pid_t) pid;
}

pid_t
xferd_process_start (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) version = bus_get_property (fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                        "Version", &error);
        pid_t pid;

        g_assert_no_error (error);
        bus_fixture_note_xferd (fx);
        pid = xferd_process_pid (fx);
        g_assert_cmpint (pid, >, 0);
        g_test_message ("xferd runs as pid %d", (int) pid);
        return pid;
}

/* Waits until xferd pid has ended (taking its end into *status when status is given) and the
 * bus has no owner of the name any more. */
static gboolean
wait_gone (BusFixture *fx, pid_t pid, guint signals_from, guint timeout_ms, int *status)
{
        gint64 deadline = poll_deadline (timeout_ms);
        gboolean ended = status ? bus_fixture_take_xferd_end (fx, pid, status, timeout_ms)
                                : bus_fixture_wait_xferd_end (fx, pid, timeout_ms);

        if (!ended) {
                g_test_message ("xferd %d is still alive after %u ms", (int) pid, timeout_ms);
                return FALSE;
        }
        /* The bus releases the name when it sees the connection close; until
         * then a call would still be routed to the dead owner. */
        gint64 left = deadline - g_get_monotonic_time ();
        if (!bus_wait_name_lost (fx, &signals_from, XFERD_BUS_NAME, left > 0 ? (guint) (left / 1000) + 1 : 1)) {
                g_test_message ("the bus still lists an owner of " XFERD_BUS_NAME " after xferd %d died",
                                (int) pid);
                return FALSE;
        }
        return xferd_process_pid (fx) == 0;
}

gboolean
xferd_process_wait_gone (BusFixture *fx, pid_t pid, guint signals_from, guint timeout_ms)
{
        return wait_gone (fx, pid, signals_from, timeout_ms, NULL);
}

gboolean
xferd_process_wait_killed (BusFixture *fx, pid_t pid, guint signals_from, guint timeout_ms)
{
        int status;

        if (!wait_gone (fx, pid, signals_from, timeout_ms, &status))
                return FALSE;
        if (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
                return TRUE;
        if (WIFSIGNALED (status))
                g_test_message ("xferd %d was killed by signal %d, not SIGKILL", (int) pid, WTERMSIG (status));
        else
                g_test_message ("xferd %d exited with status %d, not killed by SIGKILL", (int) pid,
                                WEXITSTATUS (status));
        return FALSE;
}

pid_t
xferd_process_kill (BusFixture *fx)
{
        pid_t pid = xferd_process_pid (fx);
        guint from = fx->signals->len;

        g_assert_cmpint (pid, >, 0);
        g_test_message ("killing xferd %d with SIGKILL", (int) pid);
        g_assert_no_errno (kill (pid, SIGKILL));
        g_assert_true (xferd_process_wait_killed (fx, pid, from, WAIT_TIMEOUT_MS));
        return pid;
}

void
xferd_process_setenv (BusFixture *fx, const char *name, const char *value)
{
        g_autoptr(GError) error = NULL;
        GVariantBuilder env;

        g_variant_builder_init (&env, G_VARIANT_TYPE ("a{ss}"));
        g_variant_builder_add (&env, "{ss}", name, value);
        g_autoptr(GVariant) reply = driver_call (fx, "UpdateActivationEnvironment",
                                                 g_variant_new ("(a{ss})", &env), G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
}

char *
xferd_process_state_dir (BusFixture *fx)
{
        char *dir = g_build_filename (fx->tmpdir, "state", NULL);

        g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
        return dir;
}

/* ------------------------------------------------------------- the log */

struct XferdLog {
        int read_fd;
        int copy_fd;              /* the test's own stderr */
        GThread *thread;
        GMutex lock;
        GCond cond;
        GString *text;
        gboolean stop;
};

/* Reads the pipe until every writer is gone (EOF) or stop is set and the
 * pipe is drained; copies everything to the test's stderr. */
static gpointer
log_thread (gpointer data)
{
        XferdLog *log = data;
        char buf[8192];

        for (;;) {
                struct pollfd p = { .fd = log->read_fd, .events = POLLIN };
                int n = poll (&p, 1, 100);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0) {
                        g_mutex_lock (&log->lock);
                        gboolean stop = log->stop;
                        g_mutex_unlock (&log->lock);
                        if (stop)
                                break;
                        continue;
                }
                ssize_t k = read (log->read_fd, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                for (ssize_t done = 0; done < k;) {
                        ssize_t w = write (log->copy_fd, buf + done, (size_t) (k - done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break;
                        done += w;
                }
                g_mutex_lock (&log->lock);
                g_string_append_len (log->text, buf, k);
                g_cond_broadcast (&log->cond);
                g_mutex_unlock (&log->lock);
        }
        return NULL;
}

BusFixture *
bus_fixture_new_logged (const BusFixtureOptions *options, XferdLog **ret)
{
        XferdLog *log = g_new0 (XferdLog, 1);
        int fds[2];
        BusFixture *fx;

        g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
        g_mutex_init (&log->lock);
        g_cond_init (&log->cond);
        log->text = g_string_new (NULL);
        log->read_fd = fds[0];
        log->copy_fd = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint (log->copy_fd, >=, 0);
        log->thread = g_thread_new ("xferd-log", log_thread, log);

        /* The fixture hands our stderr to dbus-daemon as its stdout and
         * stderr, and dbus-daemon hands them to what it activates: point
         * stderr at the pipe just while the fixture starts the bus. */
        fflush (stderr);
        g_assert_no_errno (dup2 (fds[1], STDERR_FILENO));
        fx = bus_fixture_new (options);
        fflush (stderr);
        g_assert_no_errno (dup2 (log->copy_fd, STDERR_FILENO));
        close (fds[1]);

        *ret = log;
        return fx;
}

void
xferd_log_free (XferdLog *log)
{
        if (!log)
                return;
        g_mutex_lock (&log->lock);
        log->stop = TRUE;
        g_mutex_unlock (&log->lock);
        g_thread_join (log->thread);
        close (log->read_fd);
        close (log->copy_fd);
        g_string_free (log->text, TRUE);
        g_mutex_clear (&log->lock);
        g_cond_clear (&log->cond);
        g_free (log);
}

/* Called with the lock held. */
static guint
count_lines_locked (XferdLog *log, const char *needle, GString *matches)
{
        guint n = 0;
        const char *line = log->text->str;

        while (*line) {
                const char *end = strchr (line, '\n');
                gsize len = end ? (gsize) (end - line) : strlen (line);

                if (!end)
                        break;  /* an unfinished line is counted once it is whole */
                g_autofree char *copy = g_strndup (line, len);
                if (strstr (copy, needle)) {
                        n++;
                        if (matches)
                                g_string_append_printf (matches, "%s\n", copy);
                }
                line = end + 1;
        }
        return n;
}

guint
xferd_log_count (XferdLog *log, const char *needle)
{
        g_mutex_lock (&log->lock);
        guint n = count_lines_locked (log, needle, NULL);
        g_mutex_unlock (&log->lock);
        return n;
}

gboolean
xferd_log_wait (XferdLog *log, const char *needle, guint n, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
        gboolean ok;

        g_mutex_lock (&log->lock);
        while (!(ok = count_lines_locked (log, needle, NULL) >= n))
                if (!g_cond_wait_until (&log->cond, &log->lock, deadline))
                        break;
        ok = count_lines_locked (log, needle, NULL) >= n;
        g_mutex_unlock (&log->lock);
        return ok;
}

char *
xferd_log_grep (XferdLog *log, const char *needle)
{
        g_autoptr(GString) matches = g_string_new (NULL);

        g_mutex_lock (&log->lock);
        count_lines_locked (log, needle, matches);
        g_mutex_unlock (&log->lock);
        return g_strdup (matches->str);
}

gboolean
xferd_process_holds (pid_t pid, const char *path, gboolean under)
{
        g_autofree char *fds = g_strdup_printf ("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open (fds, 0, NULL);
        size_t len = strlen (path);
        const char *name;

        while (d && (name = g_dir_read_name (d))) {
                g_autofree char *link = g_build_filename (fds, name, NULL);
                g_autofree char *target = g_file_read_link (link, NULL);

                if (target && strncmp (target, path, len) == 0 && target[len] == (under ? '/' : '\0'))
                        return TRUE;
        }
        return FALSE;
}
