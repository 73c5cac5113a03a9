/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd-test-sysbus
 *
 * The system-type test bus of bus-fixture.h as a program of its own, for tests written in
 * another language (tests/test-cockpit.py): a private dbus-daemon configured like the
 * system bus, with xferd's bus policy, that activates the real xferd ($XFERD_BINARY) as
 * root with --system. Prints
 *
 *   ADDRESS=<the bus address>
 *   STATE_DIR=<xferd's --state-dir>
 *
 * once the bus is up, then runs until its standard input is closed (or it gets SIGTERM),
 * and then stops the bus and every xferd it activated. Exits with status 1 when one of them
 * ended other than with exit status 0 (a failed assertion, a sanitizer's report, a crash; the
 * fixture's teardown says which on stderr). Needs root (xferd --system changes
 * to the job owners' identities). XFERD_SOURCE_ROOT names the tree whose
 * data/org.xferd.Transfer1.conf is the policy.
 */
#include <glib-unix.h>
#include <stdio.h>
#include <unistd.h>

#include "bus-fixture.h"

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer data)
{
        char buf[256];
        ssize_t n = read (fd, buf, sizeof buf);

        if (n > 0)
                return G_SOURCE_CONTINUE;
        g_main_loop_quit (data);
        return G_SOURCE_REMOVE;
}

static gboolean
on_sigterm (gpointer data)
{
        g_main_loop_quit (data);
        return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
        BusFixtureOptions options = {
                .system_bus = TRUE,
                /* The browser test watches jobs for minutes with pauses of its own. */
                .idle_timeout = 0,
        };

        if (argc != 1) {
                fprintf (stderr, "usage: xferd-test-sysbus (no arguments; close stdin to stop)\n");
                return 2;
        }
        if (geteuid () != 0) {
                fprintf (stderr, "xferd-test-sysbus: needs root (xferd --system)\n");
                return 1;
        }

        BusFixture *fx = bus_fixture_new (&options);
        printf ("ADDRESS=%s\nSTATE_DIR=%s\n", fx->address, fx->state_dir);
        fflush (stdout);

        /* The fixture pushed a main context of its own as the thread default; run that one. */
        g_autoptr(GMainLoop) loop = g_main_loop_new (fx->ctx, FALSE);
        GSource *in = g_unix_fd_source_new (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR);
        g_source_set_callback (in, G_SOURCE_FUNC (on_stdin), loop, NULL);
        g_source_attach (in, fx->ctx);
        g_source_unref (in);
        GSource *term = g_unix_signal_source_new (SIGTERM);
        g_source_set_callback (term, on_sigterm, loop, NULL);
        g_source_attach (term, fx->ctx);
        g_source_unref (term);

        g_main_loop_run (loop);
        g_clear_pointer (&loop, g_main_loop_unref);
        /* Teardown judges how every xferd ended, and says on stderr what it found wrong. */
        bus_fixture_free (fx);
        return bus_fixture_teardown_failures () > 0 ? 1 : 0;
}
