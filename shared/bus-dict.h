/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a D-Bus array of dictionary entries or structures: the one loop that enters each
 * element and hands it to the caller. On it, reading an a{sv} (GetAll, PropertiesChanged,
 * options, credentials): each key to the caller, what the caller does not read skipped. */

#include <stddef.h>
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

/* What a field read from a variant is. */
typedef enum BusValueKind {
        BUS_VALUE_STRING,               /* "s" into a char *: a copy, replacing the one there */
        BUS_VALUE_STRING_BORROWED,      /* "s" into a const char *: into the message */
        BUS_VALUE_U32,                  /* "u" into a uint32_t */
        BUS_VALUE_U64,                  /* "t" into a uint64_t */
} BusValueKind;

/* For an entry callback: reads a variant of kind into *p. Returns 1 when the value changed (a
 * borrowed string always counts as changed), 0 when it was the same, or a negative errno. */
int bus_dict_read_value(sd_bus_message *m, BusValueKind kind, void *p);

/* A key of a dictionary and where its value goes in a structure. */
typedef struct BusDictField {
        const char *key;
        BusValueKind kind;
        size_t offset;
} BusDictField;

/* The field of key in fields[0..n), or NULL. */
const BusDictField *bus_dict_field_find(const BusDictField *fields, size_t n, const char *key);

/* Reads one a{sv} into the fields of base that the table names (other keys are skipped).
 * Returns how many of them changed, or a negative errno. */
int bus_dict_read_fields(sd_bus_message *m, const BusDictField *fields, size_t n, void *base);
