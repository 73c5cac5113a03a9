/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A python3-dbusmock template (`python3 -m dbusmock --system --template NAME`)
 * on a fixture's system-type bus, as the tests put NetworkManager (nm-mock.h)
 * and polkit (test-polkit) there: whether Debian's python has the module, the
 * mock started until it owns its name, and calls that drive it. It runs under
 * /usr/bin/python3, not a python3 from PATH, which may lack Debian's modules.
 */
#pragma once

#include "bus-fixture.h"

G_BEGIN_DECLS

#define DBUS_MOCK_PYTHON "/usr/bin/python3"

/* NULL when DBUS_MOCK_PYTHON imports module ("dbusmock", "dbusmock.templates.networkmanager"),
 * else why not (to free). */
char *dbus_mock_why_missing (const char *module);
/* Starts the template on fx's bus (DBUS_SYSTEM_BUS_ADDRESS) and returns once it owns name; the
 * test ends with an error when it does not within WAIT_TIMEOUT_MS. The mock's standard output
 * (a line a call) goes to the test log; it gets SIGTERM when the test process ends. */
GSubprocess *dbus_mock_start (BusFixture *fx, const char *template_name, const char *name);
/* A method of the mock's own interface (org.freedesktop.DBus.Mock) on the object at path, through
 * fx's connection (so that driving the mock makes no new bus connection, which xferd would
 * see come and go); the reply of reply_type (NULL: any), asserted within WAIT_TIMEOUT_MS. */
GVariant *dbus_mock_call (BusFixture *fx, const char *name, const char *path, const char *method,
                          GVariant *params, const GVariantType *reply_type);

G_END_DECLS
