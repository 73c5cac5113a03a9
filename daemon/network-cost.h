/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What NetworkManager says about the network: its Metered and Connectivity properties, read
 * from the system bus (for the --user instance too) and followed live through
 * PropertiesChanged, never polled. NetworkManager may start after xferd, stop and come back
 * (NameOwnerChanged). Without it, or without a system bus, the network counts as unmetered
 * with unknown connectivity, and the log says so once.
 *
 * The system-bus connection is open only between network_cost_start() and
 * network_cost_stop(): the owner starts it while a job needs the answer, so that an idle
 * daemon has no connection and no wake-ups. */

#include <systemd/sd-event.h>

#include "network-policy.h"

typedef struct NetworkCost NetworkCost;

/* Called from the event loop when the view changed (an answer arrived, a property changed,
 * NetworkManager came or went); never from network_cost_start()/_stop(), whose caller looks
 * at the view itself. `before` is the view until now. */
typedef void (*NetworkCostChanged)(void *userdata, const NetworkView *before);

int network_cost_new(sd_event *event, NetworkCostChanged changed, void *userdata, NetworkCost **ret);
NetworkCost *network_cost_free(NetworkCost *c);

/* Connects and asks (the view is "asking" until the answer); nothing when already started.
 * Without a system bus the view is "absent" when this returns, and it stays started (no
 * new attempt) until network_cost_stop(). */
void network_cost_start(NetworkCost *c);
/* Closes the connection; the view is "not watching". */
void network_cost_stop(NetworkCost *c);
bool network_cost_is_started(const NetworkCost *c);

const NetworkView *network_cost_view(const NetworkCost *c);
