/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sd-bus appends a value of a{sv} in about 3 000 instructions: a new job's PropertiesChanged and
 * InterfacesAdded (bus-observer.c) write their dictionaries in D-Bus's wire format instead, into
 * the room sd-bus gives their first key (bus-rows.h), as ListJobs' rows are. Only what is known
 * to be valid goes this way: numbers, and the daemon's own ASCII (property and interface names,
 * tokens, ids). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-rows.h"

typedef struct WireValue {
        char type;              /* 't', 'u' or 's' */
        uint64_t n;
        const char *s;          /* 's': known text */
} WireValue;

typedef struct WireEntry {
        const char *name;       /* known text */
        WireValue v;
} WireEntry;

/* What is written first into this buffer (one pass, no measuring), then copied into the room: a
 * signal that would not fit goes through sd-bus. */
#define WIRE_BUFFER_SIZE 4096

/* A string: its length, its characters, its NUL. */
void wire_text(BusRows *w, const char *s);
/* Entries of a{sv}, from the first key's characters (its length is sd-bus's, at w's start) to
 * the last key's characters: the last value is sd-bus's to append. n ≥ 1. */
void wire_entries(BusRows *w, const WireEntry *e, size_t n);
/* A complete a{sv} (its length, the padding, the entries). */
void wire_dict(BusRows *w, const WireEntry *e, size_t n);
/* The value v through sd-bus, as a variant: the last entry's. */
int wire_append_value(sd_bus_message *m, const WireValue *v);
/* Opens the dictionary's first entry (signature `entry`) in m and fills sd-bus's room for its
 * first key with what `written` wrote into buffer from `room` on; the caller appends the last
 * value and closes the entry and the array. */
int wire_fill_room(sd_bus_message *m, const char *entry, uint64_t room, const char *buffer, const BusRows *written);
/* At least the bytes that n entries take, each with its padding (the buffer's bound). */
size_t wire_bound(const WireEntry *e, size_t n);
/* Where a dictionary's first key's characters begin in a body that starts with a string or
 * object path of `first` bytes. */
uint64_t wire_first_key_room(size_t first);

/* The same through sd-bus: a dictionary entry (signature `entry`) opened for the key `name`
 * (known text), and its value's container (`type`, holding `contents`); wire_entry_close()
 * closes both. */
int wire_entry_open(sd_bus_message *m, const char *entry, const char *name, char type, const char *contents);
int wire_entry_close(sd_bus_message *m);

/* Tests (XFERD_TEST_CHECK_SIGNALS): whether each signal written here is also built through
 * sd-bus and compared; wire_check_same() aborts when the two bodies differ. */
bool wire_check_enabled(void);
void wire_check_same(const char *what, sd_bus_message *wire, sd_bus_message *sdbus);
/* A message's body as sd-bus prints it (sealed first, if it is not), after `header` if given;
 * NULL when it cannot be read. */
char *wire_message_text(sd_bus_message *m, const char *header);
