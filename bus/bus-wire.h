/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A method return written onto the bus connection's socket by xferd itself, in D-Bus's wire
 * format, for a reply whose rows sd-bus would append a field at a time: ListJobs of 100 000 jobs
 * cost sd-bus about 5 000 instructions a row (each field's alignment, the body's growth, a copy
 * of each row's signature, every object path's check), most of xferd's CPU for the call. The
 * body is produced twice by the same code: first only measured (its size goes into the header),
 * then written out in pieces as it is made, so the bus reads the first rows while xferd makes the
 * next. The caller writes only what it knows to be valid (clean text, its own ids and paths): the
 * bus checks every string of a message it relays and drops a connection that sends an invalid
 * one. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <systemd/sd-bus.h>

typedef struct BusWire {
        uint8_t *buf;           /* NULL while measuring */
        size_t used, size;      /* bytes in buf not yet written; its size */
        uint64_t offset;        /* bytes of the body so far (its alignment is the message's) */
        uint64_t body_size;     /* as announced in the header (writing) */
        int fd;
        int error;              /* the first failed write's (negative errno); later puts do nothing */
        sd_bus *bus;
} BusWire;

#define BUS_WIRE_MEASURE ((BusWire) { .fd = -1 })

/* The body of one array may hold at most 64 MiB (D-Bus's limit; the bus refuses more). */
#define BUS_WIRE_ARRAY_MAX (UINT64_C(64) * 1024 * 1024)

/* What does not fit in the buffer: the buffer written out, then p kept or written too. */
void bus_wire_put_slow(BusWire *w, const void *p, size_t n);

static inline void bus_wire_put(BusWire *w, const void *p, size_t n) {
        if (w->buf && w->used + n <= w->size) {
                memcpy(w->buf + w->used, p, n);
                w->used += n;
        } else if (w->buf)
                bus_wire_put_slow(w, p, n);
        w->offset += n;
}

static inline void bus_wire_align(BusWire *w, unsigned a) {
        static const uint8_t zeros[8] = { 0 };
        size_t pad = (size_t) ((a - w->offset % a) % a);

        if (pad > 0)
                bus_wire_put(w, zeros, pad);
}

static inline void bus_wire_u32(BusWire *w, uint32_t v) {
        bus_wire_align(w, 4);
        bus_wire_put(w, &v, sizeof v);
}

static inline void bus_wire_u64(BusWire *w, uint64_t v) {
        bus_wire_align(w, 8);
        bus_wire_put(w, &v, sizeof v);
}

/* A string or an object path of n bytes, which the caller knows to be valid for its type. */
static inline void bus_wire_string(BusWire *w, const char *s, size_t n) {
        bus_wire_u32(w, (uint32_t) n);
        bus_wire_put(w, s, n + 1);      /* with its NUL */
}

/* The array's length and the padding to its first element of alignment a, for a body that is
 * this one array (its length is the body's size less these 8 bytes). */
static inline void bus_wire_array_begin(BusWire *w, unsigned a) {
        bus_wire_u32(w, w->buf ? (uint32_t) (w->body_size - 8) : 0);
        bus_wire_align(w, a);
}

/* Whether the reply to call can be written so: a connection of one socket, ready, on which sd-bus
 * has nothing queued. Then writes the header of a method return of `signature` whose body is
 * body_size bytes (measured with BUS_WIRE_MEASURE). Returns 1 when the body is to be written
 * (bus_wire_end() after), 0 when it must go through sd-bus instead, negative errno when the
 * memory for the pieces is lacking. */
int bus_wire_begin(BusWire *w, sd_bus_message *call, const char *signature, uint64_t body_size);

/* Writes the rest out. Returns 0, or negative errno when the socket failed or stalled: the
 * connection has then been closed, since part of a message may have gone out. */
int bus_wire_end(BusWire *w);
