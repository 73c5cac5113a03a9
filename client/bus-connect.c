/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-connect.h"
#include "report.h"
#include "util.h"

/* Where sd-bus and libdbus look for the system bus when DBUS_SYSTEM_BUS_ADDRESS is unset. */
static const char *const system_bus_sockets[] = {
        "/run/dbus/system_bus_socket",
        "/var/run/dbus/system_bus_socket",
};

static bool system_bus_socket_exists(void) {
        for (size_t i = 0; i < ELEMENTSOF(system_bus_sockets); i++)
                if (access(system_bus_sockets[i], F_OK) == 0)
                        return true;
        return false;
}

bool bus_choice_is_user(BusChoice choice) {
        if (choice != BUS_CHOICE_DEFAULT)
                return choice == BUS_CHOICE_USER;
        if (geteuid() != 0)
                return true;
        return !isempty(getenv("DBUS_SESSION_BUS_ADDRESS")) &&
               isempty(getenv("DBUS_SYSTEM_BUS_ADDRESS")) &&
               !system_bus_socket_exists();
}

int bus_connect(BusChoice choice, sd_bus **ret) {
        bool user = bus_choice_is_user(choice);
        int r;

        assert(ret);

        r = user ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot connect to the %s bus", user ? "user" : "system");
                report_note("%s", user ? "hint: the user bus is found through DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR; --system picks the system bus"
                                 : "hint: is dbus running? --user picks the user bus");
                return -EHOSTDOWN;
        }
        return 0;
}
