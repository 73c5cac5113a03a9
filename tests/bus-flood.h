/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The flood client, tests/xferd-bus-flood.c ($XFERD_BUS_FLOOD): connections of a test user
 * that call xferd in ways a single GDBus connection of the test cannot (many at once, calls
 * left unread, calls sent together). */
#include <gio/gio.h>

#include "bus-fixture.h"

/* A copy of the client where the test users can run it. */
char *flood_binary (BusFixture *fx);
/* Starts the client (binary) as user (NULL: root) in mode with count n, stdin and stdout
 * piped. */
GSubprocess *flood_spawn (BusFixture *fx, const char *binary, const char *user, const char *mode, guint n);
/* The client's next line of output (without its newline). */
char *flood_read_line (GSubprocess *proc);
/* Closes the client's stdin (it then ends) and checks that it succeeded. */
void flood_finish (GSubprocess *proc);
