/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NetworkManager watcher (daemon/network-cost.c) on its own, without the
 * daemon: its sd-event loop runs here, "the system bus" is a private bus of
 * the fixture (DBUS_SYSTEM_BUS_ADDRESS points at it), and NetworkManager is
 * python3-dbusmock's template (nm-mock.h). Every wait is for a condition, with
 * a deadline.
 */
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "bus-fixture.h"
#include "network-cost.h"
#include "nm-mock.h"
#include "test-cases.h"

typedef struct {
        BusFixture *fx;
        sd_event *event;
        NetworkCost *cost;
        guint changes;
        NetworkView before;             /* what the last change reported as before */
        NmMock *nm;                     /* watch_started()'s NetworkManager, or NULL */
} Watch;

static void
on_changed (void *userdata, const NetworkView *before)
{
        Watch *w = userdata;

        w->changes++;
        w->before = *before;
}

static Watch *
watch_new (void)
{
        Watch *w = g_new0 (Watch, 1);

        w->fx = bus_fixture_new (NULL);
        /* What sd_bus_open_system() connects to. */
        g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", w->fx->address, TRUE);
        g_assert_cmpint (sd_event_new (&w->event), >=, 0);
        g_assert_cmpint (network_cost_new (w->event, on_changed, w, &w->cost), >=, 0);
        return w;
}

static void
watch_free (Watch *w)
{
        g_clear_pointer (&w->nm, nm_mock_free);
        network_cost_free (w->cost);
        sd_event_unref (w->event);
        bus_fixture_free (w->fx);
        g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Watch, watch_free)

static gboolean
view_is (Watch *w, NetworkSource source, NetworkMetered metered, NetworkConnectivity connectivity)
{
        const NetworkView *v = network_cost_view (w->cost);

        if (v->source != source)
                return FALSE;
        return source != NETWORK_SOURCE_NETWORKMANAGER ||
               (v->metered == metered && v->connectivity == connectivity);
}

/* Runs the watcher's loop until its view is this one. */
static void
wait_view (Watch *w, NetworkSource source, NetworkMetered metered, NetworkConnectivity connectivity)
{
        gint64 deadline = g_get_monotonic_time () + (gint64) WAIT_TIMEOUT_MS * 1000;

        while (!view_is (w, source, metered, connectivity)) {
                gint64 left = deadline - g_get_monotonic_time ();
                const NetworkView *v = network_cost_view (w->cost);

                if (left <= 0)
                        g_error ("waited for the view %s/%s/%s, it is %s/%s/%s",
                                 network_source_to_string (source), network_metered_to_string (metered),
                                 network_connectivity_to_string (connectivity),
                                 network_source_to_string (v->source), network_metered_to_string (v->metered),
                                 network_connectivity_to_string (v->connectivity));
                g_assert_cmpint (sd_event_run (w->event, (uint64_t) left), >=, 0);
        }
}

/* A watcher, not started, and NetworkManager's mock in this state (w->nm, ended with the
 * watcher); NULL (the test skipped) without the mock. */
static Watch *
watch_with_networkmanager (guint32 metered, guint32 connectivity)
{
        if (nm_mock_skip_if_missing ())
                return NULL;
        Watch *w = watch_new ();
        w->nm = nm_mock_start (w->fx, metered, connectivity);
        return w;
}

/* watch_with_networkmanager(), started, once the watcher has seen that state. */
static Watch *
watch_started (guint32 metered, guint32 connectivity)
{
        Watch *w = watch_with_networkmanager (metered, connectivity);

        if (!w)
                return NULL;
        network_cost_start (w->cost);
        /* The mock's values are NetworkManager's, as are NetworkMetered's and NetworkConnectivity's. */
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, (NetworkMetered) metered, (NetworkConnectivity) connectivity);
        return w;
}

static GStrv
bus_names (BusFixture *fx)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_driver_call (fx, "ListNames", NULL, G_VARIANT_TYPE ("(as)"), &error);
        GStrv names;

        g_assert_no_error (error);
        g_variant_get (reply, "(^as)", &names);
        return names;
}

/* The one unique name in after that is not in before. */
static char *
new_name (GStrv before, GStrv after)
{
        char *found = NULL;

        for (guint i = 0; after[i]; i++)
                if (after[i][0] == ':' && !g_strv_contains ((const char *const *) before, after[i])) {
                        g_assert_null (found);
                        found = g_strdup (after[i]);
                }
        g_assert_nonnull (found);
        return found;
}

/* Before the first answer nothing is known; the answer comes from the properties. */
static void
test_present (void)
{
        g_autoptr(Watch) w = watch_with_networkmanager (NM_METERED_YES, NM_CONNECTIVITY_FULL);

        if (!w)
                return;
        g_assert_false (network_cost_is_started (w->cost));
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_NOT_WATCHING);
        network_cost_start (w->cost);
        g_assert_true (network_cost_is_started (w->cost));
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_ASKING);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_YES, NETWORK_CONNECTIVITY_FULL);
        g_assert_cmpuint (w->changes, ==, 1);
        g_assert_cmpint (w->before.source, ==, NETWORK_SOURCE_ASKING);
}

/* Every change arrives by PropertiesChanged, one property or two at a time. */
static void
test_live (void)
{
        g_autoptr(Watch) w = watch_started (NM_METERED_NO, NM_CONNECTIVITY_FULL);

        if (!w)
                return;
        nm_mock_set_metered (w->nm, NM_METERED_GUESS_YES);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_GUESS_YES, NETWORK_CONNECTIVITY_FULL);
        g_assert_true (network_view_is_metered (network_cost_view (w->cost)));
        g_assert_cmpint (w->before.metered, ==, NETWORK_METERED_NO);

        nm_mock_set_connectivity (w->nm, NM_CONNECTIVITY_PORTAL);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_GUESS_YES, NETWORK_CONNECTIVITY_PORTAL);

        nm_mock_set (w->nm, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_NO, NETWORK_CONNECTIVITY_FULL);
        g_assert_cmpuint (w->changes, ==, 4);

        /* The same values again are no change to report. */
        nm_mock_set (w->nm, NM_METERED_NO, NM_CONNECTIVITY_FULL);
        nm_mock_set_connectivity (w->nm, NM_CONNECTIVITY_LIMITED);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_NO, NETWORK_CONNECTIVITY_LIMITED);
        g_assert_cmpuint (w->changes, ==, 5);
}

/* No NetworkManager: unmetered, connectivity unknown; then it starts, stops, comes back. */
static void
test_appear_disappear (void)
{
        if (nm_mock_skip_if_missing ())
                return;
        g_autoptr(Watch) w = watch_new ();

        network_cost_start (w->cost);
        wait_view (w, NETWORK_SOURCE_ABSENT, 0, 0);
        g_assert_false (network_view_is_metered (network_cost_view (w->cost)));
        g_assert_cmpint (network_may_start (network_cost_view (w->cost), COST_POLICY_UNMETERED), ==,
                         NETWORK_VERDICT_GO);

        g_autoptr(NmMock) nm = nm_mock_start (w->fx, NM_METERED_YES, NM_CONNECTIVITY_FULL);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_YES, NETWORK_CONNECTIVITY_FULL);

        nm_mock_stop (nm);
        wait_view (w, NETWORK_SOURCE_ABSENT, 0, 0);
        g_assert_cmpint (w->before.source, ==, NETWORK_SOURCE_NETWORKMANAGER);

        g_autoptr(NmMock) again = nm_mock_start (w->fx, NM_METERED_NO, NM_CONNECTIVITY_PORTAL);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_NO, NETWORK_CONNECTIVITY_PORTAL);
        nm_mock_set_metered (again, NM_METERED_YES);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_YES, NETWORK_CONNECTIVITY_PORTAL);
}

/* Between stop and start there is no connection at all; a start asks again. */
static void
test_stop_start (void)
{
        g_autoptr(Watch) w = watch_with_networkmanager (NM_METERED_NO, NM_CONNECTIVITY_FULL);

        if (!w)
                return;
        g_auto(GStrv) before = bus_names (w->fx);
        network_cost_start (w->cost);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_NO, NETWORK_CONNECTIVITY_FULL);
        g_auto(GStrv) during = bus_names (w->fx);
        g_autofree char *ours = new_name (before, during);
        guint from = bus_count_signals (w->fx, NULL, NULL, NULL, NULL, NULL);

        network_cost_stop (w->cost);
        g_assert_false (network_cost_is_started (w->cost));
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_NOT_WATCHING);
        g_assert_true (bus_wait_name_lost (w->fx, &from, ours, WAIT_TIMEOUT_MS));

        /* What changed meanwhile is read afresh. */
        nm_mock_set_metered (w->nm, NM_METERED_YES);
        guint changes = w->changes;
        network_cost_start (w->cost);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_YES, NETWORK_CONNECTIVITY_FULL);
        g_assert_cmpuint (w->changes, ==, changes + 1);
        network_cost_stop (w->cost);
        network_cost_stop (w->cost);
}

/* Only NetworkManager's own signals count: another client sending a PropertiesChanged in its
 * name's place changes nothing; nor does a value of the wrong type count as metered. */
static void
test_untrusted (void)
{
        g_autoptr(Watch) w = watch_started (NM_METERED_NO, NM_CONNECTIVITY_FULL);
        g_autoptr(GError) error = NULL;
        GVariantDict d;

        if (!w)
                return;
        g_variant_dict_init (&d, NULL);
        g_variant_dict_insert (&d, "Metered", "u", (guint32) NM_METERED_YES);
        g_dbus_connection_emit_signal (w->fx->conn, NULL, NM_PATH, "org.freedesktop.DBus.Properties",
                                       "PropertiesChanged",
                                       g_variant_new ("(s@a{sv}as)", "org.freedesktop.NetworkManager",
                                                      g_variant_dict_end (&d), NULL),
                                       &error);
        g_assert_no_error (error);
        /* NetworkManager's next change is routed after the spoof: once it is seen, the
         * spoof was seen (or filtered) before it. */
        nm_mock_set_connectivity (w->nm, NM_CONNECTIVITY_LIMITED);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_NO, NETWORK_CONNECTIVITY_LIMITED);

        nm_mock_set_metered_string (w->nm, "yes");
        nm_mock_set_connectivity (w->nm, NM_CONNECTIVITY_FULL);
        wait_view (w, NETWORK_SOURCE_NETWORKMANAGER, NETWORK_METERED_UNKNOWN, NETWORK_CONNECTIVITY_FULL);
        g_assert_false (network_view_is_metered (network_cost_view (w->cost)));
}

/* The system bus goes away under the watcher: the rule without NetworkManager, at once; the
 * next start finds no bus and says so without waiting. */
static void
test_bus_lost (void)
{
        g_autoptr(Watch) w = watch_started (NM_METERED_YES, NM_CONNECTIVITY_FULL);

        if (!w)
                return;
        g_subprocess_send_signal (w->fx->dbus_daemon, SIGTERM);
        g_assert_true (g_subprocess_wait (w->fx->dbus_daemon, NULL, NULL));
        nm_mock_bus_gone (w->nm);
        wait_view (w, NETWORK_SOURCE_ABSENT, 0, 0);
        g_assert_cmpint (w->before.source, ==, NETWORK_SOURCE_NETWORKMANAGER);
        g_assert_false (network_view_is_metered (network_cost_view (w->cost)));

        network_cost_stop (w->cost);
        network_cost_start (w->cost);
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_ABSENT);
        network_cost_stop (w->cost);
}

/* No system bus at all (the --user instance in a container, say): the rule without
 * NetworkManager, decided at once. The watcher stays started until it is stopped, so the
 * daemon does not try to connect again at every change of a job. */
static void
test_no_bus (void)
{
        g_autoptr(Watch) w = watch_new ();
        g_autofree char *nowhere = g_strdup_printf ("unix:path=%s/no-such-bus", w->fx->tmpdir);

        g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", nowhere, TRUE);
        network_cost_start (w->cost);
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_ABSENT);
        g_assert_true (network_cost_is_started (w->cost));
        g_assert_cmpuint (w->changes, ==, 0);
        network_cost_stop (w->cost);
        g_assert_false (network_cost_is_started (w->cost));
        g_assert_cmpint (network_cost_view (w->cost)->source, ==, NETWORK_SOURCE_NOT_WATCHING);
}

const TestCase test_cases[] = {
        { "/network-cost/present", test_present },
        { "/network-cost/live", test_live },
        { "/network-cost/appear-disappear", test_appear_disappear },
        { "/network-cost/stop-start", test_stop_start },
        { "/network-cost/untrusted", test_untrusted },
        { "/network-cost/bus-lost", test_bus_lost },
        { "/network-cost/no-bus", test_no_bus },
        { NULL, NULL }
};
