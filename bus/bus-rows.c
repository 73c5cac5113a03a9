/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rows of a large array reply written into its sd-bus message (bus-rows.h). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>

#include "bus-rows.h"
#include "log.h"

int bus_rows_begin_at(sd_bus_message *m, uint64_t bytes, uint64_t room, BusRows *ret) {
        uint32_t length;
        char *p;
        int r;

        assert(m);
        assert(room >= sizeof length && room % 4 == 0);
        assert(ret);

        r = sd_bus_message_append_string_space(m, (size_t) bytes, &p);
        if (r < 0)
                return r;
        /* D-Bus's string: its length (4-aligned), then the characters and a NUL. The rows are
         * written so; anything else would make the message invalid, and the bus would drop xferd's
         * connection for it. The body is one block of malloc's (8-aligned), so a room at `room`
         * lies at the same place modulo 8: a body that held something the caller did not count
         * would show here. */
        memcpy(&length, p - sizeof length, sizeof length);
        if (length != bytes || (uintptr_t) p % 8 != room % 8 || p[bytes] != 0)
                return log_error_errno(EPROTO, "Bug: sd-bus did not lay out a string of %" PRIu64 " bytes as D-Bus "
                                       "does; the message is not sent.", bytes);
        *ret = (BusRows) { .p = p - sizeof length, .offset = room - sizeof length };
        return 0;
}

int bus_rows_begin(sd_bus_message *reply, uint64_t bytes, BusRows *ret) {
        assert(reply);
        assert(ret);

        return bus_rows_begin_at(reply, bytes, BUS_ROWS_ROOM, ret);
}
