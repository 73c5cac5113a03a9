/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The messages of a closing batch of Download calls (its signals, then its replies), written by
 * xferd whole in D-Bus's wire format into one buffer and sent with one send() when the batch's
 * replies are in: sd-bus writes every message with a sendmsg() of its own, four a call, which
 * were a fifth of xferd's CPU on a Download call (and woke the bus for each).
 *
 * The buffer is opened for a batch only when sd-bus has nothing queued (so nothing of sd-bus's
 * can be overtaken) and the socket has room for all the buffer may hold (so its one send() is
 * whole: a message half written would be followed by sd-bus's next one). While it is open, every
 * message of the bus layer goes into it, or the buffer is sent first and the message then through
 * sd-bus: the order is the one of the calls that made them. The messages carry serials of their
 * own, counted from 2^31 (sd-bus counts its own from 1): a signal's or a reply's serial only has
 * to be nonzero. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-rows.h"

typedef struct Bus Bus;
typedef struct BusOut BusOut;

/* A header field: its code (D-Bus's), its type ('o', 's', 'g' or 'u') and value. */
typedef struct BusOutField {
        uint8_t code;
        char type;
        const char *s;          /* 'o', 's', 'g': known valid for its type */
        uint32_t u;
} BusOutField;

enum {
        BUS_OUT_FIELD_PATH = 1,
        BUS_OUT_FIELD_INTERFACE = 2,
        BUS_OUT_FIELD_MEMBER = 3,
        BUS_OUT_FIELD_REPLY_SERIAL = 5,
        BUS_OUT_FIELD_DESTINATION = 6,
        BUS_OUT_FIELD_SIGNATURE = 8,
};

/* The header fields every message of a kind has alike (its interface, member, signature, a
 * fixed path), written once on the first use into `bytes`: a caller's static. */
typedef struct BusOutFixed {
        const BusOutField *f;
        size_t n;
        size_t len;             /* of bytes; 0 until written */
        char bytes[256];
} BusOutFixed;

#define BUS_OUT_FIXED(fields) { .f = (fields), .n = sizeof(fields) / sizeof((fields)[0]) }

/* A message's body may take this much at most here; a larger one goes through sd-bus. */
#define BUS_OUT_BODY_MAX ((size_t) 6144)

int bus_out_new(BusOut **ret);
BusOut *bus_out_free(BusOut *o);

/* Opens the buffer for a closing batch, when it can be (above); bus_out_flush() sends what it
 * holds and closes it, and comes before any message sent through sd-bus while it is open. */
void bus_out_open(Bus *b);
bool bus_out_is_open(const Bus *b);
void bus_out_flush(Bus *b);

/* A signal (type 4) or a method return (type 2) with the header fields of `fixed` and f (the
 * signature's among them) and NO_REPLY_EXPECTED, as sd-bus sends them: the header is written,
 * and *ret is the body's writer (at its offset 0), with room for body_bound bytes. -ENOBUFS when the buffer is not
 * open or cannot take the message, or body_bound passes BUS_OUT_BODY_MAX (the caller sends it
 * through sd-bus, after bus_out_flush()). bus_out_end() finishes the message the writer wrote
 * (a body past its bound aborts). */
int bus_out_begin(Bus *b, uint8_t type, BusOutFixed *fixed, const BusOutField *f, size_t n, size_t body_bound,
                  BusRows *ret);
/* bus_out_begin() for the method return to `call`: its REPLY_SERIAL and, when the call has a
 * sender, DESTINATION, beside the fields of `fixed`. -ENOBUFS as bus_out_begin(), and for a
 * call whose serial does not fit the header's 32 bits. */
int bus_out_begin_return(Bus *b, sd_bus_message *call, BusOutFixed *fixed, size_t body_bound, BusRows *ret);
void bus_out_end(Bus *b, const BusRows *body);

/* Tests (XFERD_TEST_CHECK_SIGNALS, bus-wire.h): the message bus_out_end() finished last, read
 * back by sd-bus's own parser, must read as `sdbus` (header fields and body); a difference
 * aborts. */
void bus_out_check_last(Bus *b, const char *what, sd_bus_message *sdbus);
