/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd-test-httpd --root DIR [--port N] [--throttle PATH=BYTES_PER_SECOND]...
 *
 * Serves the files under DIR on 127.0.0.1 (GET/HEAD, single Range requests)
 * for demos, manual testing and tests in other languages; --throttle sends the
 * body of PATH (e.g. /slow.bin) at that rate. Prints "PORT=<n>" once listening
 * so a script can read the port, then runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-server.h"

int
main (int argc, char **argv)
{
        g_autofree char *root = NULL;
        int port = 0;
        g_auto(GStrv) throttles = NULL;
        g_autoptr(GError) error = NULL;
        GOptionEntry entries[] = {
                { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "Directory to serve", "DIR" },
                { "port", 0, 0, G_OPTION_ARG_INT, &port, "Port (default: any free port)", "N" },
                { "throttle", 0, 0, G_OPTION_ARG_STRING_ARRAY, &throttles,
                  "Send PATH's body at this rate (repeatable)", "PATH=BYTES_PER_SECOND" },
                { NULL, 0, 0, 0, NULL, NULL, NULL },
        };
        g_autoptr(GOptionContext) options = g_option_context_new ("- serve a directory over HTTP for xferd tests");

        g_option_context_add_main_entries (options, entries, NULL);
        if (!g_option_context_parse (options, &argc, &argv, &error)) {
                fprintf (stderr, "xferd-test-httpd: %s\n", error->message);
                return 2;
        }
        if (!root || port < 0 || port > 65535) {
                fprintf (stderr, "xferd-test-httpd: --root DIR is required, --port must be 0..65535\n");
                return 2;
        }
        if (!g_file_test (root, G_FILE_TEST_IS_DIR)) {
                fprintf (stderr, "xferd-test-httpd: %s is not a directory\n", root);
                return 1;
        }

        g_autoptr(HttpServer) server = http_server_new_on_port ((guint16) port, &error);
        if (!server) {
                fprintf (stderr, "xferd-test-httpd: cannot listen: %s\n", error->message);
                return 1;
        }
        http_server_set_root (server, root);
        for (guint i = 0; throttles && throttles[i]; i++) {
                const char *eq = strrchr (throttles[i], '=');
                guint64 rate = 0;

                if (!eq || throttles[i][0] != '/' ||
                    !g_ascii_string_to_unsigned (eq + 1, 10, 1, G_MAXUINT64, &rate, NULL)) {
                        fprintf (stderr, "xferd-test-httpd: --throttle wants /PATH=BYTES_PER_SECOND, not '%s'\n",
                                 throttles[i]);
                        return 2;
                }
                g_autofree char *path = g_strndup (throttles[i], (gsize) (eq - throttles[i]));
                http_server_set_rate (server, path, rate);
        }
        printf ("PORT=%u\n", http_server_get_port (server));
        fflush (stdout);

        /* The server has its own thread; this one only has to stay alive. */
        g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
        g_main_loop_run (loop);
        return 0;
}
