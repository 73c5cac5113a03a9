/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a D-Bus array of dictionary entries or structures: the one loop that enters each
 * element and hands it to the caller. On it, reading an a{sv} (GetAll, PropertiesChanged,
 * options, credentials): each key to the caller, what the caller does not read skipped. */

#include <systemd/sd-bus.h>

/* Called with m inside one element (entered); must read all of it. Returns 0 or more, or a
 * negative errno, which ends the reading. */
typedef int (*bus_element_t)(sd_bus_message *m, void *userdata);

/* Reads one array of elements of type (SD_BUS_TYPE_DICT_ENTRY or SD_BUS_TYPE_STRUCT) with
 * contents ("sv" for an a{sv}), calling fn inside each. Returns 1 when an array was read, 0
 * when m was at the end of the enclosing container (nothing read), or a negative errno. */
int bus_array_read(sd_bus_message *m, char type, const char *contents, bus_element_t fn, void *userdata);

/* Called with m before the variant of `key`; reads it, or leaves it to be skipped. Returns
 * 0 or more, or a negative errno, which ends the reading. */
typedef int (*bus_dict_entry_t)(sd_bus_message *m, const char *key, void *userdata);

/* Reads one a{sv}, calling fn on each entry. Returns 1 when a dictionary was read, 0 when m
 * was at the end of the enclosing container (nothing read), or a negative errno. */
int bus_dict_read(sd_bus_message *m, bus_dict_entry_t fn, void *userdata);

/* For an entry callback: reads a variant of type "s" into a copy in *field, replacing the
 * one there. Returns 1 when the value changed, 0 when it was the same, or a negative errno. */
int bus_dict_read_string(sd_bus_message *m, char **field);
