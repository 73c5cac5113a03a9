/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Tells when connectivity may have come back: a link came up, or an address or route
 * appeared (rtnetlink). Open only while someone waits for it, so an idle daemon sleeps. */

#include <systemd/sd-event.h>

typedef struct NetWatch NetWatch;

int netwatch_new(sd_event *event, void (*changed)(void *userdata), void *userdata, NetWatch **ret);
NetWatch *netwatch_free(NetWatch *w);
