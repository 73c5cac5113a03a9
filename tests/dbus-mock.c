/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A python3-dbusmock template on a test bus: see dbus-mock.h. */
#include "dbus-mock.h"

#include <signal.h>
#include <unistd.h>

#include "peer.h"

char *
dbus_mock_why_missing (const char *module)
{
        g_autofree char *import = g_strconcat ("import ", module, NULL);
        const char *argv[] = { DBUS_MOCK_PYTHON, "-c", import, NULL };
        g_autoptr(GError) error = NULL;

        if (peer_run (NULL, NULL, argv, NULL, &error))
                return NULL;
        return g_strdup_printf ("no dbusmock for " DBUS_MOCK_PYTHON " (Debian's python3-dbusmock; "
                                "scripts/setup-deps.sh installs it): %s", error->message);
}

GSubprocess *
dbus_mock_start (BusFixture *fx, const char *template_name, const char *name)
{
        g_autoptr(GSubprocessLauncher) launcher = peer_launcher_new (G_SUBPROCESS_FLAGS_NONE, SIGTERM);
        g_autoptr(GError) error = NULL;
        guint from = bus_count_signals (fx, NULL, NULL, NULL, NULL, NULL);
        GSubprocess *proc;

        g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", fx->address, TRUE);
        /* The mock logs every call on stdout: into the test's log, not its TAP output. */
        g_subprocess_launcher_take_stdout_fd (launcher, dup (STDERR_FILENO));
        proc = g_subprocess_launcher_spawn (launcher, &error, DBUS_MOCK_PYTHON, "-m", "dbusmock", "--system",
                                            "--template", template_name, NULL);
        g_assert_no_error (error);
        /* The mock announces itself only by taking its name. */
        if (!bus_wait_name_owner (fx, &from, name, TRUE, WAIT_TIMEOUT_MS))
                g_error ("the %s mock did not take the name %s in time", template_name, name);
        return proc;
}

GVariant *
dbus_mock_call (BusFixture *fx, const char *name, const char *path, const char *method, GVariant *params,
                const GVariantType *reply_type)
{
        g_autoptr(GError) error = NULL;
        GVariant *reply = g_dbus_connection_call_sync (fx->conn, name, path, "org.freedesktop.DBus.Mock", method,
                                                       params, reply_type, G_DBUS_CALL_FLAGS_NONE, WAIT_TIMEOUT_MS,
                                                       NULL, &error);

        g_assert_no_error (error);
        return reply;
}
