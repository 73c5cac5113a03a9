/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a D-Bus a{sv} (GetAll, PropertiesChanged, options, credentials): the one loop that
 * enters each entry, hands its key to the caller and skips what the caller does not read. */

#include <systemd/sd-bus.h>

/* Called with m before the variant of `key`; reads it, or leaves it to be skipped. Returns
 * 0 or more, or a negative errno, which ends the reading. */
typedef int (*bus_dict_entry_t)(sd_bus_message *m, const char *key, void *userdata);

/* Reads one a{sv}, calling fn on each entry. Returns 1 when a dictionary was read, 0 when m
 * was at the end of the enclosing container (nothing read), or a negative errno. */
int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata);

/* For an entry callback: reads a variant of type "s" into a copy in *field, replacing the
 * one there. Returns 1 when the value changed, 0 when it was the same, or a negative errno. */
int bus_dict_read_string(sd_bus_message *m, char **field);
