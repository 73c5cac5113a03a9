/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How many bytes a received message holds. sd-bus does not tell; a filter that keeps messages
 * back (the caller's credentials, polkit) must bound what it keeps in bytes, not only in number:
 * a caller chooses every byte of its calls, up to the bus's largest message. */
#include <string.h>

#include "bus.h"

/* Past this many values the message counts as the largest the bus carries, so that reading a
 * caller's message to measure it costs the loop a bounded time (about a millisecond). */
#define SIZE_VALUES_MAX 16384

/* Room a value takes besides its bytes: its length or padding, and sd-bus's bookkeeping. */
#define SIZE_VALUE_ROOM 8
/* A header: path, interface, member, sender, destination, signature. */
#define SIZE_HEADER_ROOM 512

static bool type_is_fixed(char c) {
        return strchr("ybnqiuxtdh", c) != NULL;
}

/* Adds the bytes of the values from m's read position to the end of the container it is in;
 * -E2BIG past *values_left values or max bytes. */
static int size_walk(sd_bus_message *m, size_t max, size_t *bytes, size_t *values_left) {
        for (;;) {
                const char *contents;
                char type;
                int r;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r <= 0)
                        return r;
                if (*values_left == 0 || *bytes > max)
                        return -E2BIG;
                (*values_left)--;
                *bytes += SIZE_VALUE_ROOM;

                if (type == SD_BUS_TYPE_ARRAY && type_is_fixed(contents[0]) && contents[1] == '\0') {
                        /* Read at once, whatever its length. */
                        const void *p;
                        size_t n;

                        r = sd_bus_message_read_array(m, contents[0], &p, &n);
                        if (r < 0)
                                return r;
                        *bytes += n;
                } else if (strchr("avre", type)) {
                        r = sd_bus_message_enter_container(m, type, contents);
                        if (r >= 0)
                                r = size_walk(m, max, bytes, values_left);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                } else if (strchr("sog", type)) {
                        const char *s;

                        r = sd_bus_message_read_basic(m, type, &s);
                        if (r < 0)
                                return r;
                        *bytes += strlen(s);
                } else {
                        uint64_t v;     /* room for any fixed-size value (and an fd's index) */

                        r = sd_bus_message_read_basic(m, type, &v);
                        if (r < 0)
                                return r;
                }
        }
}

size_t bus_message_size(sd_bus_message *m, size_t max) {
        size_t bytes = SIZE_HEADER_ROOM, values_left = SIZE_VALUES_MAX;
        int r;

        assert(m);

        max = max < bus_message_max() ? max : bus_message_max();
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = size_walk(m, max, &bytes, &values_left);
        /* The handler reads it from the start. */
        (void) sd_bus_message_rewind(m, true);
        /* Past max, too many values to count, or a body sd-bus would not read: as large as
         * any. */
        if (r < 0 || bytes > max)
                return bus_message_max();
        return bytes;
}
