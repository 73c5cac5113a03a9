/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A method return written onto the bus's socket by xferd itself (bus-wire.h). */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "bus-wire.h"
#include "log.h"
#include "util.h"

/* Pieces of 256 KiB: the bus starts reading the rows before the last ones are made, and the
 * buffer stays in the heap (below malloc's mapping threshold). */
#define WIRE_BUFFER (256 * 1024)

/* A reply is only started when all of it fits in the socket's free send space (wire_fits()), so
 * a send never has to wait for the bus to read. The kernel charges each piece by its buffers'
 * size (truesize): 2.3 % above the bytes for pieces of 256 KiB, 7.7 times for one of 100 bytes
 * (measured on 6.18 with a reader that never reads); a quarter more and 64 KiB cover both. */
#define WIRE_MARGIN (64 * 1024)

/* A send that has to wait anyway is a bug of wire_fits(): the loop waits this long at most for
 * the whole message (it cannot let sd-bus write into the middle of it), then the connection goes
 * rather than the loop stalling on a bus that may not read again for a long time. */
#define WIRE_STALL_USEC (1000 * 1000)

/* Room for the header of a method return beyond the destination's name: 16 fixed bytes, three
 * fields of at most 8 + 8 bytes besides the name and the signature, padding. */
#define WIRE_HEADER_MAX 128

/* The reply's own cookie: sd-bus numbers the messages it sends from 1 up, these count from the
 * top half down. Nothing refers to a method return's cookie (only a method call's is answered),
 * so one that met sd-bus's own after two billion messages would do no harm either. */
static uint32_t wire_cookie = UINT32_C(0xffffffff);

static int wire_write(BusWire *w, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(w->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (k >= 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                /* Not expected (wire_fits()). sd-bus must not write another message into the
                 * middle of this one, so the loop waits, but only briefly. */
                uint64_t t = now_monotonic_usec();
                if (w->deadline == 0) {
                        log_error("Bug: the bus socket's send space ran out in the middle of a reply.");
                        w->deadline = t + WIRE_STALL_USEC;
                }
                if (t >= w->deadline)
                        return -ETIMEDOUT;
                struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
                int r = poll(&pfd, 1, (int) ((w->deadline - t + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
        return 0;
}

/* The largest message that fits in the socket's free send space now, so that sending it never
 * waits for the bus to read: the bus stops reading a connection whose messages still queued at
 * their receivers exceed its limit (max_incoming_bytes), which any client reaches by not reading
 * its replies, and may not read again for as long as that client likes. SO_SNDBUF is the
 * kernel's (doubled) figure, SIOCOUTQ what the sent pieces not yet read take of it. */
static uint64_t wire_free(int fd) {
        int sndbuf, queued;
        socklen_t l = sizeof sndbuf;

        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) < 0 || ioctl(fd, SIOCOUTQ, &queued) < 0)
                return 0;
        if (queued < 0 || sndbuf - queued <= WIRE_MARGIN)
                return 0;
        return (uint64_t) (sndbuf - queued - WIRE_MARGIN) * 4 / 5;
}

/* The largest body the reply to call may have to be written by xferd itself now: 0 unless the
 * connection is one socket, ready, and sd-bus has nothing queued on it (a message of its own
 * is partly written, or waits for the socket: then this reply queues behind it through sd-bus,
 * without waiting here). */
static uint64_t wire_room(sd_bus_message *call, int *ret_fd) {
        sd_bus *bus = sd_bus_message_get_bus(call);
        const char *destination = sd_bus_message_get_sender(call);
        uint64_t cookie, free_bytes, header;
        int fd, r;

        fd = sd_bus_get_fd(bus);        /* fails for a connection of two descriptors */
        if (fd < 0 || sd_bus_is_ready(bus) <= 0 || sd_bus_message_get_cookie(call, &cookie) < 0 ||
            cookie > UINT32_MAX)
                return 0;
        r = sd_bus_get_events(bus);
        if (r < 0 || (r & POLLOUT))
                return 0;
        free_bytes = wire_free(fd);
        header = WIRE_HEADER_MAX + strlen(strempty(destination));
        if (free_bytes <= header)
                return 0;
        *ret_fd = fd;
        return free_bytes - header;
}

uint64_t bus_wire_room(sd_bus_message *call) {
        int fd;

        assert(call);

        return wire_room(call, &fd);
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
        r = wire_write(w, w->buf, w->used);
        w->used = 0;
        if (r >= 0 && n > w->size)
                r = wire_write(w, p, n);    /* (a piece longer than the buffer) */
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
        int fd;

        assert(w);
        assert(call);
        assert(signature);
        assert(strlen(signature) < 256);

        bus = sd_bus_message_get_bus(call);
        if (body_size > BUS_WIRE_ARRAY_MAX + 8 || body_size > wire_room(call, &fd))
                return 0;
        destination = sd_bus_message_get_sender(call);
        (void) sd_bus_message_get_cookie(call, &cookie);

        *w = (BusWire) { .buf = malloc(WIRE_BUFFER), .size = WIRE_BUFFER, .fd = fd, .bus = bus };
        if (!w->buf)
                return -ENOMEM;

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
                r = wire_write(w, w->buf, w->used);
                if (r < 0)
                        wire_fail(w, r);
        }
        w->buf = mfree(w->buf);
        return w->error;
}

int bus_wire_grow_send_buffer(sd_bus *bus) {
        int fd, size = BUS_WIRE_SNDBUF;

        assert(bus);

        fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return fd;
        /* Only a process with CAP_NET_ADMIN (the system service, as root) may go above wmem_max;
         * anyone else keeps what sd-bus set, and writes only smaller lists itself. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
                return -errno;
        return 0;
}
