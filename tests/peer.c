/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "peer.h"

#include <signal.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include "poll-wait.h"

guint16
peer_free_port (void)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, &error);
        g_assert_no_error (error);
        g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
        g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
        g_socket_bind (sock, any, FALSE, &error);
        g_assert_no_error (error);
        g_autoptr(GSocketAddress) bound = g_socket_get_local_address (sock, &error);
        g_assert_no_error (error);
        return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
port_accepts (guint16 port)
{
        g_autoptr(GSocketClient) client = g_socket_client_new ();
        g_autoptr(GSocketConnection) conn = NULL;

        g_socket_client_set_timeout (client, 1);
        conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
        return conn != NULL;
}

gboolean
peer_wait_port (GSubprocess *proc, guint16 port, guint timeout_ms)
{
        gint64 deadline = poll_deadline (timeout_ms);

        /* The peers announce nothing on a pipe: poll. The identifier is gone once the process
         * ended and GLib reaped it. */
        do {
                if (!g_subprocess_get_identifier (proc))
                        return FALSE;
                if (port_accepts (port))
                        return TRUE;
        } while (poll_again (deadline, 20));
        return FALSE;
}

void
peer_skip_or_fail (const char *format, ...)
{
        g_autofree char *what = NULL;
        va_list ap;

        va_start (ap, format);
        what = g_strdup_vprintf (format, ap);
        va_end (ap);
        if (g_strcmp0 (g_getenv ("CI"), "true") == 0) {
                g_test_message ("CI=true: a test that cannot run fails");
                g_test_fail_printf ("%s", what);
        } else {
                g_test_skip (what);
        }
}

void
peer_unavailable (const char *peer, const char *why)
{
        peer_skip_or_fail ("%s cannot run: %s", peer, why);
}

static void
die_with_parent (gpointer data)
{
        prctl (PR_SET_PDEATHSIG, GPOINTER_TO_INT (data));
}

GSubprocessLauncher *
peer_launcher_new (GSubprocessFlags flags, int signo)
{
        GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

        g_subprocess_launcher_set_child_setup (launcher, die_with_parent, GINT_TO_POINTER (signo), NULL);
        return launcher;
}

gboolean
peer_run (const char *cwd, const char *const *envp, const char *const *argv, char **out, GError **error)
{
        GSpawnFlags flags = G_SPAWN_SEARCH_PATH | (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL);
        g_autoptr(GError) failed = NULL;
        g_autofree char *err = NULL, *cmd = NULL;
        int status = 0;

        g_assert_nonnull (argv);
        if (!g_spawn_sync (cwd, (char **) argv, (char **) envp, flags, NULL, NULL, out, &err, &status, &failed) ||
            !g_spawn_check_wait_status (status, &failed)) {
                cmd = g_strjoinv (" ", (char **) argv);
                g_set_error (error, failed->domain, failed->code, "%s: %s\n%s", cmd, failed->message,
                             err ? err : "");
                return FALSE;
        }
        return TRUE;
}

void
peer_stop (GSubprocess **proc, int signo)
{
        g_autoptr(GError) error = NULL;

        if (!*proc)
                return;
        g_subprocess_send_signal (*proc, signo);
        g_subprocess_wait (*proc, NULL, &error);
        g_assert_no_error (error);
        g_clear_object (proc);
}

void
peer_remove_tree (const char *path)
{
        g_autoptr(GDir) dir = NULL;
        const char *name;

        if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
                dir = g_dir_open (path, 0, NULL);
                while (dir && (name = g_dir_read_name (dir))) {
                        g_autofree char *child = g_build_filename (path, name, NULL);
                        peer_remove_tree (child);
                }
        }
        (void) g_remove (path);
}
