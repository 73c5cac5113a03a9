/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A NetworkManager on a test bus: python3-dbusmock's `networkmanager`
 * template, run by Debian's python (/usr/bin/python3 -m dbusmock --template
 * networkmanager --system) with DBUS_SYSTEM_BUS_ADDRESS pointing at a
 * fixture's bus. The template has Connectivity but not Metered; the mock gets
 * Metered added before the test goes on, and every change goes out as the
 * standard org.freedesktop.DBus.Properties.PropertiesChanged, as
 * NetworkManager sends it.
 *
 * Every call to the mock goes through the fixture's own connection, so that
 * driving it makes no new bus connection (a NameOwnerChanged that would wake
 * xferd).
 */
#pragma once

#include "bus-fixture.h"

G_BEGIN_DECLS

#define NM_BUS_NAME "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"

/* NetworkManager's NMMetered and NMConnectivityState numbers. */
enum {
        NM_METERED_UNKNOWN = 0,
        NM_METERED_YES = 1,
        NM_METERED_NO = 2,
        NM_METERED_GUESS_YES = 3,
        NM_METERED_GUESS_NO = 4,
};
enum {
        NM_CONNECTIVITY_UNKNOWN = 0,
        NM_CONNECTIVITY_NONE = 1,
        NM_CONNECTIVITY_PORTAL = 2,
        NM_CONNECTIVITY_LIMITED = 3,
        NM_CONNECTIVITY_FULL = 4,
};

/* For BusFixtureOptions.extra_bus_policy of a system bus: root may own
 * NetworkManager's name, anyone may call it (as NetworkManager's own policy
 * file allows on a real system). */
extern const char nm_mock_bus_policy[];

/* TRUE when Debian's python3-dbusmock is missing: then the test is skipped,
 * or fails when CI=true. */
gboolean nm_mock_skip_if_missing (void);

typedef struct NmMock NmMock;

/* Starts NetworkManager on fx's bus with these Metered and Connectivity
 * values; returns once it owns its name and has both. */
NmMock *nm_mock_start (BusFixture *fx, guint32 metered, guint32 connectivity);
/* Changes both in one PropertiesChanged (as NetworkManager does when a
 * device's connection changes); returns once the mock has sent it. */
void nm_mock_set (NmMock *nm, guint32 metered, guint32 connectivity);
void nm_mock_set_metered (NmMock *nm, guint32 metered);
void nm_mock_set_connectivity (NmMock *nm, guint32 connectivity);
/* Makes Metered a property of another type, as a buggy peer might. */
void nm_mock_set_metered_string (NmMock *nm, const char *value);
/* Stops NetworkManager (SIGTERM) and returns once its name is gone. */
void nm_mock_stop (NmMock *nm);
/* The mock's bus went away (the test stopped it): waits until the mock, which exits then,
 * is gone; nothing is left to stop. */
void nm_mock_bus_gone (NmMock *nm);
/* Stops it if it runs, and frees. */
void nm_mock_free (NmMock *nm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NmMock, nm_mock_free)

G_END_DECLS
