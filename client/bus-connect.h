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

/* Connects to the chosen bus; reports a failure itself. */
int bus_connect(BusChoice choice, sd_bus **ret);
