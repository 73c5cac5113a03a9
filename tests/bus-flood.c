/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flood client (xferd-bus-flood) for the tests: many calls from connections of a test
 * user, as bus-flood.h says. */
#include <glib.h>

#include "bus-flood.h"

/* The flood client, copied where the test users can run it. */
char *
flood_binary (BusFixture *fx)
{
        const char *built = g_getenv ("XFERD_BUS_FLOOD");
        g_autoptr(GError) error = NULL;
        g_autofree char *contents = NULL;
        char *copy;
        gsize len;

        g_assert_nonnull (built);
        g_file_get_contents (built, &contents, &len, &error);
        g_assert_no_error (error);
        copy = g_build_filename (fx->tmpdir, "xferd-bus-flood", NULL);
        g_file_set_contents_full (copy, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0755, &error);
        g_assert_no_error (error);
        return copy;
}

/* Starts the flood client as user (NULL: root) with stdin and stdout piped. */
GSubprocess *
flood_spawn (BusFixture *fx, const char *binary, const char *user, const char *mode, guint n)
{
        g_autoptr(GSubprocessLauncher) launcher =
                g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_autofree char *address = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", fx->address);
        g_autofree char *count = g_strdup_printf ("%u", n);
        g_autoptr(GError) error = NULL;
        GSubprocess *proc;

        /* The client is no subject of this test: no leak check of it in a sanitizer build
         * (the users could not read the suppressions file). */
        if (g_getenv ("ASAN_OPTIONS")) {
                g_autofree char *opts = g_strconcat (g_getenv ("ASAN_OPTIONS"), ":detect_leaks=0", NULL);
                g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", opts, TRUE);
        }
        if (user)
                proc = g_subprocess_launcher_spawn (launcher, &error, "runuser", "-u", user, "--", "env",
                                                    address, binary, mode, count, NULL);
        else
                proc = g_subprocess_launcher_spawn (launcher, &error, "env", address, binary, mode, count, NULL);
        g_assert_no_error (error);
        return proc;
}

char *
flood_read_line (GSubprocess *proc)
{
        g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
        g_autoptr(GError) error = NULL;
        char *line;

        g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
        line = g_data_input_stream_read_line (out, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (line);
        return line;
}

void
flood_finish (GSubprocess *proc)
{
        g_autoptr(GError) error = NULL;

        g_output_stream_close (g_subprocess_get_stdin_pipe (proc), NULL, NULL);
        g_subprocess_wait_check (proc, NULL, &error);
        g_assert_no_error (error);
}

