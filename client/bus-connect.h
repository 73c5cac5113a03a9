/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which bus xferctl talks to, and the connection to it. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef enum BusChoice {
        BUS_CHOICE_DEFAULT,
        BUS_CHOICE_USER,
        BUS_CHOICE_SYSTEM,
} BusChoice;

/* The rule for BUS_CHOICE_DEFAULT (also in `xferctl --help`):
 *  - not root: the user (session) bus;
 *  - root: the system bus — unless DBUS_SESSION_BUS_ADDRESS is set, DBUS_SYSTEM_BUS_ADDRESS
 *    is not and no system bus socket exists; then root is clearly inside a session of its
 *    own (a container, a test with a private bus), and the user bus is what it means. */
bool bus_choice_is_user(BusChoice choice);

/* Connects to the chosen bus; reports a failure itself and returns -EHOSTDOWN then. */
int bus_connect(BusChoice choice, sd_bus **ret);
