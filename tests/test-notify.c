/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify and the watchdog, as systemd would see them: the test starts the
 * build's xferd directly (not by activation) on a private dbus-daemon, with
 * NOTIFY_SOCKET naming a datagram socket the test owns and WATCHDOG_USEC set,
 * and reads what xferd sends there: READY=1 once it serves the bus, WATCHDOG=1
 * pings while it runs, STOPPING=1 after SIGTERM.
 *
 * WATCHDOG_PID follows sd_watchdog_enabled(3): when it is set, only the
 * process with that pid pings; when it is unset, any process does.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bus-fixture.h"
#include "peer.h"
#include "poll-wait.h"

#define WATCHDOG_USEC "500000"

typedef struct {
        char *tmpdir;
        GSubprocess *dbus_daemon;
        char *bus_address;
        int notify_fd;
        char *notify_path;
        GSubprocess *xferd;
        gboolean xferd_reaped;
        GPtrArray *messages;    /* every notification line, in arrival order */
        GPtrArray *times;       /* g_get_monotonic_time() of each line, as gint64* */
} NotifyFixture;

static void
start_bus (NotifyFixture *f)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *config = g_build_filename (f->tmpdir, "bus.conf", NULL);
        g_autofree char *socket_path = g_build_filename (f->tmpdir, "bus", NULL);
        g_autofree char *services = g_build_filename (f->tmpdir, "services", NULL);
        g_autofree char *config_arg = NULL;
        g_autofree char *text = NULL;

        /* An empty service directory: nothing here is started by activation. */
        g_assert_cmpint (g_mkdir (services, 0700), ==, 0);
        text = bus_session_config (socket_path, services);
        g_assert_true (g_file_set_contents (config, text, -1, &error));
        g_assert_no_error (error);

        config_arg = g_strdup_printf ("--config-file=%s", config);
        /* Children die with the test: a failed assertion must not leave a dbus-daemon or an xferd
         * behind holding meson's output pipes. */
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGTERM);
        const char *argv[] = { "dbus-daemon", config_arg, "--nofork", "--print-address=3", NULL };
        f->dbus_daemon = bus_daemon_spawn (launcher, argv, &f->bus_address);
}

static void
fixture_setup (NotifyFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        f->tmpdir = g_dir_make_tmp ("xferd-notify-XXXXXX", &error);
        g_assert_no_error (error);
        f->messages = g_ptr_array_new_with_free_func (g_free);
        f->times = g_ptr_array_new_with_free_func (g_free);

        start_bus (f);

        f->notify_path = g_build_filename (f->tmpdir, "notify", NULL);
        g_assert_cmpuint (strlen (f->notify_path), <, sizeof sa.sun_path);
        strcpy (sa.sun_path, f->notify_path);
        f->notify_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        g_assert_cmpint (f->notify_fd, >=, 0);
        g_assert_cmpint (bind (f->notify_fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
}

static void
fixture_teardown (NotifyFixture *f, gconstpointer data)
{
        if (f->xferd) {
                if (!f->xferd_reaped) {
                        g_subprocess_force_exit (f->xferd);
                        g_subprocess_wait (f->xferd, NULL, NULL);
                }
                g_clear_object (&f->xferd);
        }
        if (f->dbus_daemon) {
                g_subprocess_send_signal (f->dbus_daemon, SIGTERM);
                g_subprocess_wait (f->dbus_daemon, NULL, NULL);
                g_clear_object (&f->dbus_daemon);
        }
        if (f->notify_fd >= 0)
                close (f->notify_fd);
        g_ptr_array_unref (f->messages);
        g_ptr_array_unref (f->times);

        /* Ours alone: state/, services/, bus.conf and the sockets. */
        peer_remove_tree (f->tmpdir);
        g_free (f->tmpdir);
        g_free (f->bus_address);
        g_free (f->notify_path);
}

typedef enum {
        WATCHDOG_PID_OWN,       /* WATCHDOG_PID = xferd's pid, as systemd sets it */
        WATCHDOG_PID_UNSET,
        WATCHDOG_PID_OTHER,     /* the pid of another process: xferd must not ping */
} WatchdogPid;

/* Starts xferd on the fixture's bus as systemd would, with NOTIFY_SOCKET (unless notify is
 * FALSE), WATCHDOG_USEC and, as mode says, WATCHDOG_PID. */
static void
start_xferd (NotifyFixture *f, WatchdogPid mode, gboolean notify)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGTERM);

        g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s/state", f->tmpdir);
        g_autofree char *other_pid = g_strdup_printf ("%d", (int) getppid ());
        const char *const unset[] = {
                "WATCHDOG_PID", "DBUS_SYSTEM_BUS_ADDRESS", "JOURNAL_STREAM", "LISTEN_FDS",
                "LISTEN_PID", "STATE_DIRECTORY", "XDG_CONFIG_HOME",
        };

        for (size_t i = 0; i < G_N_ELEMENTS (unset); i++)
                g_subprocess_launcher_unsetenv (launcher, unset[i]);
        g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", f->bus_address, TRUE);
        if (notify)
                g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", f->notify_path, TRUE);
        else
                g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
        g_subprocess_launcher_setenv (launcher, "WATCHDOG_USEC", WATCHDOG_USEC, TRUE);
        /* No settings file of the machine's user. */
        g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->tmpdir, TRUE);
        if (mode == WATCHDOG_PID_OTHER)
                g_subprocess_launcher_setenv (launcher, "WATCHDOG_PID", other_pid, TRUE);

        if (mode == WATCHDOG_PID_OWN)
                /* The pid is known only once the process exists: let it set its own, then exec
                 * xferd, which keeps the pid. */
                f->xferd = g_subprocess_launcher_spawn (
                        launcher, &error, "/bin/sh", "-c", "WATCHDOG_PID=$$; export WATCHDOG_PID; exec \"$0\" \"$@\"",
                        xferd_binary (), "--user", "--idle-timeout=0", state_arg, "--log-level=debug", NULL);
        else
                f->xferd = g_subprocess_launcher_spawn (
                        launcher, &error, xferd_binary (), "--user", "--idle-timeout=0", state_arg,
                        "--log-level=debug", NULL);
        g_assert_no_error (error);
}

/* Reads notifications until one line equals `wanted` (NULL: none; just read until the
 * deadline) or timeout_ms passes. Returns whether it came. */
static gboolean
read_until (NotifyFixture *f, const char *wanted, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        for (;;) {
                gint64 now = g_get_monotonic_time ();
                struct pollfd p = { .fd = f->notify_fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (now >= deadline)
                        return FALSE;
                int r = poll (&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno == EINTR)
                        continue;
                g_assert_cmpint (r, >=, 0);
                if (r == 0)
                        return FALSE;

                n = recv (f->notify_fd, buf, sizeof buf - 1, 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                g_assert_cmpint (n, >=, 0);
                buf[n] = 0;

                gboolean found = FALSE;
                g_auto(GStrv) lines = g_strsplit (buf, "\n", -1);
                for (char **l = lines; *l; l++) {
                        if (!**l)
                                continue;
                        gint64 *t = g_new (gint64, 1);
                        *t = g_get_monotonic_time ();
                        g_test_message ("notify: %s", *l);
                        g_ptr_array_add (f->messages, g_strdup (*l));
                        g_ptr_array_add (f->times, t);
                        if (wanted && g_str_equal (*l, wanted))
                                found = TRUE;
                }
                if (found)
                        return TRUE;
        }
}

/* Index of the first message equal to s at or after from, or -1. */
static int
find_message (NotifyFixture *f, const char *s, guint from)
{
        for (guint i = from; i < f->messages->len; i++)
                if (g_str_equal (g_ptr_array_index (f->messages, i), s))
                        return (int) i;
        return -1;
}

static guint
count_messages (NotifyFixture *f, const char *s, guint from)
{
        guint n = 0;

        for (guint i = from; i < f->messages->len; i++)
                if (g_str_equal (g_ptr_array_index (f->messages, i), s))
                        n++;
        return n;
}

static void
wait_exit_status (NotifyFixture *f, int expected)
{
        g_autoptr(GError) error = NULL;

        /* xferd exits promptly on SIGTERM; the meson timeout catches a hang. */
        g_assert_true (g_subprocess_wait (f->xferd, NULL, &error));
        g_assert_no_error (error);
        f->xferd_reaped = TRUE;
        g_assert_true (g_subprocess_get_if_exited (f->xferd));
        g_assert_cmpint (g_subprocess_get_exit_status (f->xferd), ==, expected);
}

static void
check_ready_watchdog_stopping (NotifyFixture *f, WatchdogPid mode)
{
        int ready, stopping;

        start_xferd (f, mode, TRUE);

        /* READY=1 comes once xferd owns its name (the private bus is fast, but an ASan build
         * at start may take seconds). */
        g_assert_true (read_until (f, "READY=1", 30000));
        ready = find_message (f, "READY=1", 0);
        g_assert_cmpint (ready, >=, 0);

        /* WATCHDOG_USEC=0.5 s: at least two pings within 2 s of READY=1. */
        if (mode == WATCHDOG_PID_OTHER) {
                read_until (f, NULL, 1500);
                g_assert_cmpuint (count_messages (f, "WATCHDOG=1", 0), ==, 0);
        } else {
                gint64 ready_time = *(gint64 *) g_ptr_array_index (f->times, ready);
                guint pings = 0;

                /* Counted from READY=1 on: sd_event_set_watchdog() also pings once when it is
                 * enabled, before the daemon is ready. */
                while (pings < 2 && g_get_monotonic_time () < ready_time + 2 * G_USEC_PER_SEC) {
                        gint64 left = ready_time + 2 * G_USEC_PER_SEC - g_get_monotonic_time ();
                        if (!read_until (f, "WATCHDOG=1", (guint) MAX (left / 1000, 1)))
                                break;
                        pings = count_messages (f, "WATCHDOG=1", (guint) ready);
                }
                g_assert_cmpuint (pings, >=, 2);
        }

        g_subprocess_send_signal (f->xferd, SIGTERM);
        g_assert_true (read_until (f, "STOPPING=1", 20000));
        stopping = find_message (f, "STOPPING=1", 0);
        g_assert_cmpint (stopping, >, ready);
        wait_exit_status (f, 0);
}

static void
test_watchdog_pid_own (NotifyFixture *f, gconstpointer data)
{
        check_ready_watchdog_stopping (f, WATCHDOG_PID_OWN);
}

static void
test_watchdog_pid_unset (NotifyFixture *f, gconstpointer data)
{
        check_ready_watchdog_stopping (f, WATCHDOG_PID_UNSET);
}

static void
test_watchdog_pid_other (NotifyFixture *f, gconstpointer data)
{
        check_ready_watchdog_stopping (f, WATCHDOG_PID_OTHER);
}

/* Without NOTIFY_SOCKET nothing is sent and nothing breaks: xferd runs and stops as usual. */
static void
test_no_notify_socket (NotifyFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusConnection) conn = NULL;
        g_autoptr(GVariant) reply = NULL;

        start_xferd (f, WATCHDOG_PID_UNSET, FALSE);

        conn = bus_connect (f->bus_address);
        /* The bus has no activation for the name: wait until xferd owns it, then ask it. */
        for (gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);;) {
                g_autoptr(GVariant) owned = g_dbus_connection_call_sync (
                        conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                        "NameHasOwner", g_variant_new ("(s)", "org.xferd.Transfer1"), G_VARIANT_TYPE ("(b)"),
                        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
                gboolean has;

                g_assert_no_error (error);
                g_variant_get (owned, "(b)", &has);
                if (has)
                        break;
                g_assert_true (poll_again (deadline, 10));
        }
        reply = g_dbus_connection_call_sync (conn, "org.xferd.Transfer1", "/org/xferd/Transfer1",
                                             "org.freedesktop.DBus.Properties", "Get",
                                             g_variant_new ("(ss)", "org.xferd.Transfer1.Manager", "Version"),
                                             G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
        g_assert_no_error (error);

        read_until (f, NULL, 200);
        g_assert_cmpuint (f->messages->len, ==, 0);
        g_subprocess_send_signal (f->xferd, SIGTERM);
        wait_exit_status (f, 0);
}

int
main (int argc, char *argv[])
{
        g_test_init (&argc, &argv, NULL);

        g_test_add ("/notify/ready-watchdog-stopping", NotifyFixture, NULL,
                    fixture_setup, test_watchdog_pid_own, fixture_teardown);
        g_test_add ("/notify/watchdog-pid-unset", NotifyFixture, NULL,
                    fixture_setup, test_watchdog_pid_unset, fixture_teardown);
        g_test_add ("/notify/watchdog-pid-other", NotifyFixture, NULL,
                    fixture_setup, test_watchdog_pid_other, fixture_teardown);
        g_test_add ("/notify/no-notify-socket", NotifyFixture, NULL,
                    fixture_setup, test_no_notify_socket, fixture_teardown);
        return g_test_run ();
}
