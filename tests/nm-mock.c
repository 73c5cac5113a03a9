/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NetworkManager on a test bus: see nm-mock.h. */
#include "nm-mock.h"

#include <signal.h>

#include "dbus-mock.h"
#include "peer.h"

#define NM_IFACE "org.freedesktop.NetworkManager"

const char nm_mock_bus_policy[] =
        "  <policy user=\"root\">\n"
        "    <allow own=\"org.freedesktop.NetworkManager\"/>\n"
        "  </policy>\n"
        "  <policy context=\"default\">\n"
        "    <allow send_destination=\"org.freedesktop.NetworkManager\"/>\n"
        "  </policy>\n";

struct NmMock {
        BusFixture *fx;
        GSubprocess *proc;
};

gboolean
nm_mock_skip_if_missing (void)
{
        static int available = -1;
        static char why[256];

        if (available < 0) {
                g_autofree char *missing = dbus_mock_why_missing ("dbusmock.templates.networkmanager");

                if (missing)
                        g_strlcpy (why, missing, sizeof why);
                available = !missing;
        }
        if (available)
                return FALSE;
        peer_skip_or_fail ("NetworkManager mock: %s", why);
        return TRUE;
}

static void
mock_call (NmMock *nm, const char *method, GVariant *params)
{
        g_autoptr(GVariant) reply = dbus_mock_call (nm->fx, NM_BUS_NAME, NM_PATH, method, params, G_VARIANT_TYPE_UNIT);
}

static void
update (NmMock *nm, GVariant *properties)
{
        /* The standard PropertiesChanged (the template's own setters send NetworkManager's
         * old private signal, which it no longer sends). */
        mock_call (nm, "UpdateProperties", g_variant_new ("(s@a{sv})", NM_IFACE, properties));
}

NmMock *
nm_mock_start (BusFixture *fx, guint32 metered, guint32 connectivity)
{
        NmMock *nm = g_new0 (NmMock, 1);

        nm->fx = fx;
        nm->proc = dbus_mock_start (fx, "networkmanager", NM_BUS_NAME);

        /* The template lacks Metered. Until the update below says both, a client that
         * asked in between has Metered unknown: as from a NetworkManager that does not
         * know yet. */
        mock_call (nm, "AddProperty", g_variant_new ("(ssv)", NM_IFACE, "Metered", g_variant_new_uint32 (metered)));
        nm_mock_set (nm, metered, connectivity);
        return nm;
}

void
nm_mock_set (NmMock *nm, guint32 metered, guint32 connectivity)
{
        update (nm, g_variant_new_parsed ("@a{sv} {'Metered': <%u>, 'Connectivity': <%u>}", metered, connectivity));
}

void
nm_mock_set_metered (NmMock *nm, guint32 metered)
{
        update (nm, g_variant_new_parsed ("@a{sv} {'Metered': <%u>}", metered));
}

void
nm_mock_set_connectivity (NmMock *nm, guint32 connectivity)
{
        update (nm, g_variant_new_parsed ("@a{sv} {'Connectivity': <%u>}", connectivity));
}

void
nm_mock_set_metered_string (NmMock *nm, const char *value)
{
        update (nm, g_variant_new_parsed ("@a{sv} {'Metered': <%s>}", value));
}

void
nm_mock_stop (NmMock *nm)
{
        guint from;

        if (!nm->proc)
                return;
        from = bus_count_signals (nm->fx, NULL, NULL, NULL, NULL, NULL);
        peer_stop (&nm->proc, SIGTERM);
        if (!bus_wait_name_owner (nm->fx, &from, NM_BUS_NAME, FALSE, WAIT_TIMEOUT_MS))
                g_error ("NetworkManager mock: its name was not released in time");
}

void
nm_mock_bus_gone (NmMock *nm)
{
        g_autoptr(GError) error = NULL;

        g_assert_nonnull (nm->proc);
        g_subprocess_wait (nm->proc, NULL, &error);
        g_assert_no_error (error);
        g_clear_object (&nm->proc);
}

void
nm_mock_free (NmMock *nm)
{
        if (!nm)
                return;
        nm_mock_stop (nm);
        g_free (nm);
}
