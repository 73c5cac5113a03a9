/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The rows of a large array reply in D-Bus's wire format, written by xferd into the body of an
 * sd-bus message, which sd-bus then sends as any other (its queue, its writes). sd-bus appends a
 * field at a time, about 5 000 instructions a row of ListJobs (each field's alignment, the body's
 * growth, a copy of the row's signature, every object path's check): most of xferd's CPU for a
 * ListJobs of 100 000 jobs. Here the rows are measured first, then written by the same code.
 *
 * Where they go: sd-bus opens the array and the first row, and its first field, a string, is
 * given room for every byte from that string's characters to the last row's first string's
 * (sd_bus_message_append_string_space()); the last row's other fields are appended through
 * sd-bus, which closes the row and the array as usual (the array's length counts every byte
 * appended). sd-bus wrote the room's size as the first string's length, in the 4 bytes before the
 * room (the marshalling of a string): that is set to the first string's own length. The caller
 * writes only what it knows to be valid (clean text, its own ids and paths): the bus checks every
 * string of a message it relays and drops a connection that sends an invalid one. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <systemd/sd-bus.h>

typedef struct BusRows {
        char *p;                /* NULL while measuring */
        uint64_t offset;        /* in the body: alignment is the body's */
} BusRows;

static inline void bus_rows_put(BusRows *w, const void *s, size_t n) {
        if (w->p) {
                memcpy(w->p, s, n);
                w->p += n;
        }
        w->offset += n;
}

static inline void bus_rows_align(BusRows *w, unsigned a) {
        size_t pad = (size_t) ((a - w->offset % a) % a);

        if (w->p) {
                memset(w->p, 0, pad);
                w->p += pad;
        }
        w->offset += pad;
}

static inline void bus_rows_u32(BusRows *w, uint32_t v) {
        bus_rows_align(w, 4);
        bus_rows_put(w, &v, sizeof v);
}

static inline void bus_rows_u64(BusRows *w, uint64_t v) {
        bus_rows_align(w, 8);
        bus_rows_put(w, &v, sizeof v);
}

/* A string or an object path of n bytes, which the caller knows to be valid for its type. */
static inline void bus_rows_string(BusRows *w, const char *s, size_t n) {
        bus_rows_u32(w, (uint32_t) n);
        bus_rows_put(w, s, n);
        bus_rows_put(w, "", 1);
}

/* A body that is the array alone: its length, the padding to the first row, which starts at 8,
 * with its first string's length; that string's characters start at 12. */
#define BUS_ROWS_FIRST_ROW 8
#define BUS_ROWS_ROOM 12

/* A measure starts at the first row. */
#define BUS_ROWS_MEASURE ((BusRows) { .p = NULL, .offset = BUS_ROWS_FIRST_ROW })

/* In reply, a method return whose array (the whole body) and first row are open, nothing
 * appended yet: the room of `bytes` (measured: from BUS_ROWS_ROOM to the end of the last row's
 * first string's characters) for the rows. Returns the writer at the first row's start (its first
 * string's length, which the caller writes over sd-bus's), or negative errno (-EPROTO when sd-bus
 * did not lay the string out as D-Bus does, a bug: nothing may be sent then). */
int bus_rows_begin(sd_bus_message *reply, uint64_t bytes, BusRows *ret);

/* The same for a string sd-bus is to begin at another place of the body than BUS_ROWS_FIRST_ROW
 * (a signal whose array follows other fields): its characters at the body's offset `room` (4 past
 * the string's length, which is 4-aligned), which the caller computed as D-Bus lays the body out.
 * The writer returned starts at that string's length. */
int bus_rows_begin_at(sd_bus_message *m, uint64_t bytes, uint64_t room, BusRows *ret);
