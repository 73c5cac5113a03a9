/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Two sd-bus connections over a socket pair, one of them a server: a unit test of bus/ passes
 * a message it built from one to the other and reads it as xferd reads what it receives. */

#include <systemd/sd-bus.h>

typedef struct BusPair {
        sd_bus *client, *server;
} BusPair;

/* Both connections authenticated on return: nothing waits in the client's queue. */
void bus_pair_open(BusPair *p);
void bus_pair_close(BusPair *p);
/* The next message the server receives (the client's queue written meanwhile). */
sd_bus_message *bus_pair_receive(BusPair *p);
/* Sends m from the client; returns it as the server received it. */
sd_bus_message *bus_pair_pass(BusPair *p, sd_bus_message *m);
/* A method call of the client's (Manager.Download on xferd's path), for a test to fill in and pass. */
sd_bus_message *bus_pair_call_new(BusPair *p);
