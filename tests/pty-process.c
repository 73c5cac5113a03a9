/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pty-process.h"

struct PtyProcess {
        GSubprocess *proc;
        int master;
        GString *output;
        gboolean eof;
};

PtyProcess *
pty_process_spawn (BusFixture *fx, const char *const *argv, guint cols)
{
        struct winsize ws = { .ws_row = 24, .ws_col = (unsigned short) cols };
        g_autoptr(GError) error = NULL;
        PtyProcess *p = g_new0 (PtyProcess, 1);
        int slave;

        g_assert_cmpint (openpty (&p->master, &slave, NULL, NULL, &ws), ==, 0);
        g_assert_cmpint (fcntl (p->master, F_SETFL, fcntl (p->master, F_GETFL) | O_NONBLOCK), ==, 0);
        g_assert_cmpint (fcntl (p->master, F_SETFD, FD_CLOEXEC), ==, 0);
        p->output = g_string_new (NULL);

        g_autoptr(GSubprocessLauncher) launcher = bus_fixture_launcher (fx, G_SUBPROCESS_FLAGS_NONE);
        g_subprocess_launcher_take_stdin_fd (launcher, dup (slave));
        g_subprocess_launcher_take_stdout_fd (launcher, dup (slave));
        g_subprocess_launcher_take_stderr_fd (launcher, slave);
        g_subprocess_launcher_setenv (launcher, "TERM", "xterm", TRUE);
        p->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
        g_assert_no_error (error);
        /* Freeing the launcher closes our copies of the terminal's side: once the child
         * has closed its own, reading gives EIO, the end. */
        return p;
}

void
pty_process_free (PtyProcess *p)
{
        if (!p)
                return;
        /* A program the test did not see to its end does not outlive it. */
        if (p->proc && g_subprocess_get_identifier (p->proc)) {
                g_subprocess_force_exit (p->proc);
                g_subprocess_wait (p->proc, NULL, NULL);
        }
        g_clear_object (&p->proc);
        close (p->master);
        g_string_free (p->output, TRUE);
        g_free (p);
}

/* Reads what is there, waiting up to timeout_ms for something; FALSE at the end. */
static gboolean
read_some (PtyProcess *p, int timeout_ms)
{
        struct pollfd pfd = { .fd = p->master, .events = POLLIN };
        char buf[4096];
        ssize_t n;

        if (p->eof)
                return FALSE;
        if (poll (&pfd, 1, timeout_ms) <= 0)
                return TRUE;
        n = read (p->master, buf, sizeof buf);
        if (n > 0) {
                g_string_append_len (p->output, buf, n);
                return TRUE;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return TRUE;
        /* EIO: the other side is closed. */
        p->eof = TRUE;
        return FALSE;
}

gboolean
pty_process_wait_output (PtyProcess *p, gsize *from, const char *needle, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
        gsize start = from ? *from : 0;

        for (;;) {
                const char *hit = start <= p->output->len ? strstr (p->output->str + start, needle) : NULL;
                gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

                if (hit) {
                        if (from)
                                *from = (gsize) (hit - p->output->str) + strlen (needle);
                        return TRUE;
                }
                if (left <= 0 || !read_some (p, (int) MIN (left, 100)))
                        break;
        }
        g_test_message ("terminal output so far:\n%s", p->output->str);
        return FALSE;
}

const char *
pty_process_output (PtyProcess *p)
{
        return p->output->str;
}

void
pty_process_send_signal (PtyProcess *p, int signo)
{
        g_subprocess_send_signal (p->proc, signo);
}

int
pty_process_wait_exit (PtyProcess *p, guint timeout_ms)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

        while (read_some (p, 100))
                if (g_get_monotonic_time () > deadline)
                        return -1;
        g_subprocess_wait (p->proc, NULL, NULL);
        if (g_subprocess_get_if_signaled (p->proc))
                return 128 + g_subprocess_get_term_sig (p->proc);
        return g_subprocess_get_exit_status (p->proc);
}
