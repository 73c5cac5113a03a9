/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A method return written onto the bus's socket by xferd itself (bus-wire.h). */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bus-wire.h"
#include "log.h"
#include "util.h"

/* Pieces of 256 KiB: the bus starts reading the rows before the last ones are made, and the
 * buffer stays in the heap (below malloc's mapping threshold). */
#define WIRE_BUFFER (256 * 1024)

/* The bus reads as fast as it can; one that takes this long for a piece is stuck, and the
 * connection goes (sd-bus's default timeout of a call). */
#define WIRE_STALL_MS (25 * 1000)

/* The reply's own cookie: sd-bus numbers the messages it sends from 1 up, these count from the
 * top half down. Nothing refers to a method return's cookie (only a method call's is answered),
 * so one that met sd-bus's own after two billion messages would do no harm either. */
static uint32_t wire_cookie = UINT32_C(0xffffffff);

static int wire_write(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (k >= 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                /* The loop waits here: sd-bus must not write another message into the middle
                 * of this one, and the bus reads the socket while this waits. */
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                int r = poll(&pfd, 1, WIRE_STALL_MS);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
        }
        return 0;
}

/* The connection is unusable once part of a message went out and the rest cannot: shutting the
 * socket down makes sd-bus see the end of the connection as it would any other. */
static void wire_fail(BusWire *w, int r) {
        if (w->error == 0) {
                log_error_errno(r, "Cannot write a reply to the bus, closing the connection");
                (void) shutdown(w->fd, SHUT_RDWR);
        }
        w->error = r;
        w->used = 0;
}

void bus_wire_put_slow(BusWire *w, const void *p, size_t n) {
        int r;

        assert(w);
        assert(w->buf);

        if (w->error < 0)
                return;
        r = wire_write(w->fd, w->buf, w->used);
        w->used = 0;
        if (r >= 0 && n > w->size)
                r = wire_write(w->fd, p, n);    /* (a piece longer than the buffer) */
        else if (r >= 0) {
                memcpy(w->buf, p, n);
                w->used = n;
        }
        if (r < 0)
                wire_fail(w, r);
}

static void wire_byte(BusWire *w, uint8_t b) {
        bus_wire_put(w, &b, 1);
}

/* A header field: its code, then a variant of one basic type whose value follows. */
static void wire_field(BusWire *w, uint8_t code, char type) {
        bus_wire_align(w, 8);
        wire_byte(w, code);
        wire_byte(w, 1);
        wire_byte(w, (uint8_t) type);
        wire_byte(w, 0);
}

int bus_wire_begin(BusWire *w, sd_bus_message *call, const char *signature, uint64_t body_size) {
        sd_bus *bus;
        const char *destination;
        uint64_t cookie;
        size_t fields_at;
        uint32_t fields;
        int fd, r;

        assert(w);
        assert(call);
        assert(signature);
        assert(strlen(signature) < 256);

        bus = sd_bus_message_get_bus(call);
        if (body_size > BUS_WIRE_ARRAY_MAX + 8)
                return 0;
        fd = sd_bus_get_fd(bus);        /* fails for a connection of two descriptors */
        if (fd < 0 || sd_bus_is_ready(bus) <= 0 || sd_bus_message_get_cookie(call, &cookie) < 0 ||
            cookie > UINT32_MAX)
                return 0;
        /* Only behind nothing of sd-bus's: a message it has queued is partly written, or waits for
         * the socket (then this reply queues behind it through sd-bus, without waiting here). */
        r = sd_bus_get_events(bus);
        if (r < 0 || (r & POLLOUT))
                return 0;

        *w = (BusWire) { .buf = malloc(WIRE_BUFFER), .size = WIRE_BUFFER, .fd = fd, .bus = bus };
        if (!w->buf)
                return -ENOMEM;
        destination = sd_bus_message_get_sender(call);

        /* The fixed header: byte order, type, flags, version, body length, cookie. */
        wire_byte(w, __BYTE_ORDER == __LITTLE_ENDIAN ? 'l' : 'B');
        wire_byte(w, SD_BUS_MESSAGE_METHOD_RETURN);
        wire_byte(w, 1);        /* no reply expected, as sd-bus marks its replies */
        wire_byte(w, 1);
        bus_wire_u32(w, (uint32_t) body_size);
        bus_wire_u32(w, wire_cookie--);
        fields_at = w->used;
        bus_wire_u32(w, 0);     /* the fields' length, set below */

        wire_field(w, 5, 'u');  /* REPLY_SERIAL */
        bus_wire_u32(w, (uint32_t) cookie);
        if (destination) {
                wire_field(w, 6, 's');  /* DESTINATION: the caller's unique name */
                bus_wire_string(w, destination, strlen(destination));
        }
        wire_field(w, 8, 'g');  /* SIGNATURE */
        wire_byte(w, (uint8_t) strlen(signature));
        bus_wire_put(w, signature, strlen(signature) + 1);

        fields = (uint32_t) (w->offset - fields_at - sizeof fields);
        memcpy(w->buf + fields_at, &fields, sizeof fields);
        bus_wire_align(w, 8);   /* the body starts 8-aligned: its offsets align as the message's */

        w->offset = 0;
        w->body_size = body_size;
        return 1;
}

int bus_wire_end(BusWire *w) {
        int r = 0;

        assert(w);
        assert(w->buf);

        if (w->error == 0 && w->offset != w->body_size) {
                /* The measure and the writing disagree: a bug, and the message is broken. */
                log_error("A reply's body came out at %" PRIu64 " bytes, not the %" PRIu64 " announced.",
                          w->offset, w->body_size);
                wire_fail(w, -EPROTO);
        }
        if (w->error == 0) {
                r = wire_write(w->fd, w->buf, w->used);
                if (r < 0)
                        wire_fail(w, r);
        }
        w->buf = mfree(w->buf);
        return w->error;
}
