/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The connection to the bus, opened as sd_bus_open_system() and sd_bus_open_user() open it, but
 * without Unix fd passing: no method of xferd's takes a descriptor, and a call that carries some
 * keeps them open in xferd from the moment it is read until it is done with. Calls held before
 * their dispatch (a new caller's, while the bus says who it is; polkit's) could then pile up a
 * caller's descriptors (16 a call on the system bus) until xferd, out of descriptors, loses its
 * bus. Without fd passing dbus-daemon refuses such a call to its sender, and xferd never sees
 * it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

#define SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

/* A path as a D-Bus address value: bytes other than those the specification lets stand
 * ([-0-9A-Za-z_/.*]) escaped as %XX. */
static char *address_escape(const char *path) {
        size_t n = strlen(path);
        char *e = malloc(n * 3 + 1), *q = e;

        if (!e)
                return NULL;
        for (const char *p = path; *p; p++) {
                unsigned char ch = (unsigned char) *p;

                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    strchr("-_/.*", ch))
                        *q++ = (char) ch;
                else
                        q += sprintf(q, "%%%02x", ch);
        }
        *q = 0;
        return e;
}

/* Where the bus is, as sd-bus looks for it: the environment's address, else the well-known
 * place (the system bus's socket; the session bus in $XDG_RUNTIME_DIR). */
static int bus_address(bool system, char **ret) {
        const char *e = getenv(system ? "DBUS_SYSTEM_BUS_ADDRESS" : "DBUS_SESSION_BUS_ADDRESS");
        _cleanup_free_ char *dir = NULL;

        if (e && *e) {
                *ret = strdup(e);
                return *ret ? 0 : -ENOMEM;
        }
        if (system) {
                *ret = strdup(SYSTEM_BUS_ADDRESS);
                return *ret ? 0 : -ENOMEM;
        }
        e = getenv("XDG_RUNTIME_DIR");
        if (!e || e[0] != '/')
                return -ENOMEDIUM;
        dir = address_escape(e);
        if (!dir || asprintf(ret, "unix:path=%s/bus", dir) < 0)
                return -ENOMEM;
        return 0;
}

int bus_open(bool system, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *address = NULL;
        int r;

        assert(ret);

        r = bus_address(system, &address);
        if (r == -ENOMEDIUM)
                return log_error_errno(r, "No session bus: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set");
        if (r < 0)
                return log_oom();
        r = sd_bus_new(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate a bus connection");
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        /* The system bus's callers are other users: none of their messages is trusted. */
        if (r >= 0)
                r = sd_bus_set_trusted(bus, !system);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, false);
        if (r >= 0)
                r = sd_bus_set_description(bus, system ? "system-bus" : "user-bus");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus", system ? "system" : "session");
        *ret = TAKE_PTR(bus);
        return 0;
}
