/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A closing batch's messages written whole in D-Bus's wire format and sent with one send()
 * (bus-out.h), and the tests' check that each reads as sd-bus's own. */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-out.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

/* What the buffer holds at most before it is sent: one send() of it takes one buffer of the
 * socket's (a stream socket's sendmsg() takes up to 32 KiB and a page at once). */
#define BUS_OUT_CAP ((size_t) 32 * 1024)
/* The room a send needs in the socket beyond its bytes: the kernel's accounting of its pieces
 * (measured at 2.3 % over the bytes for pieces of 256 KiB), as a quarter of them and 64 KiB. */
#define BUS_OUT_ROOM (BUS_OUT_CAP + BUS_OUT_CAP / 4 + (size_t) 64 * 1024)
/* A message's fixed header: endianness, type, flags, version, body length, serial, the fields'
 * length; and the padding after the fields. */
#define BUS_OUT_HEADER_FIXED ((size_t) (16 + 8))
/* The serials of these messages: from 2^31 on, apart from sd-bus's (counted from 1). */
#define BUS_OUT_SERIAL_FIRST UINT32_C(0x80000000)

struct BusOut {
        char *buf;              /* BUS_OUT_CAP bytes */
        size_t n;               /* held */
        bool open;
        int sndbuf;             /* the socket's SO_SNDBUF: 0 not read yet, -1 unknown */
        uint32_t serial;        /* the last one given */
        /* The message being written, and the one finished last. */
        size_t start, length_at, body_at, body_bound;
        size_t last, last_end;
};

int bus_out_new(BusOut **ret) {
        BusOut *o;

        assert(ret);

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->buf = malloc(BUS_OUT_CAP);
        if (!o->buf) {
                free(o);
                return -ENOMEM;
        }
        o->serial = BUS_OUT_SERIAL_FIRST - 1;
        *ret = o;
        return 0;
}

BusOut *bus_out_free(BusOut *o) {
        if (!o)
                return NULL;
        free(o->buf);
        return mfree(o);
}

bool bus_out_is_open(const Bus *b) {
        assert(b);

        return b->out && b->out->open;
}

void bus_out_open(Bus *b) {
        BusOut *o;
        int events, fd, queued = 0;

        assert(b);

        o = b->out;
        if (!o || o->open || sd_bus_is_ready(b->bus) <= 0)
                return;
        /* sd-bus's queue is empty (it polls for POLLOUT while it holds a message): nothing of
         * its own can be overtaken, and nothing of it is half written. */
        events = sd_bus_get_events(b->bus);
        if (events < 0 || (events & POLLOUT))
                return;
        fd = sd_bus_get_fd(b->bus);     /* fails for a connection of two descriptors */
        if (fd < 0)
                return;
        if (o->sndbuf == 0) {
                int type = 0, v = 0;
                socklen_t lt = sizeof type, l = sizeof v;

                /* A stream socket, as every bus connection is: anything else keeps sd-bus's way. */
                o->sndbuf = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &lt) >= 0 && type == SOCK_STREAM &&
                                            getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) >= 0 && v > 0
                                    ? v
                                    : -1;
        }
        /* Room for all the buffer may hold: its send is whole. */
        if (o->sndbuf < 0 || ioctl(fd, SIOCOUTQ, &queued) < 0 || queued < 0 ||
            (size_t) queued + BUS_OUT_ROOM > (size_t) o->sndbuf)
                return;
        o->open = true;
        o->n = 0;
}

/* All of it at once: the room was there when the buffer was opened, and only the loop writes
 * on the socket. A send that must wait regardless is a bug: after half a message nothing else
 * may follow, so it waits at most a second for the rest, then the connection goes (the bus may
 * not read xferd for as long as a client leaves its replies unread: the loop may not wait). */
static void out_send(Bus *b, const char *p, size_t n) {
        int fd = sd_bus_get_fd(b->bus);
        bool waited = false;

        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k >= 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN && !waited) {
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                        log_error("Bug: the bus socket took part of %zu bytes of signals and replies; waiting for it.", n);
                        waited = true;
                        if (poll(&pfd, 1, 1000) > 0)
                                continue;
                        errno = ETIMEDOUT;
                }
                log_error_errno(errno, "Cannot send %zu bytes of signals and replies to the bus, closing the connection",
                                n);
                (void) shutdown(fd, SHUT_RDWR);
                return;
        }
}

void bus_out_flush(Bus *b) {
        BusOut *o;

        assert(b);

        o = b->out;
        if (!o || !o->open)
                return;
        o->open = false;
        if (o->n > 0)
                out_send(b, o->buf, o->n);
        o->n = 0;
}

static void out_field(BusRows *w, const BusOutField *f) {
        const char sig[3] = { 1, f->type, 0 };

        bus_rows_align(w, 8);
        bus_rows_put(w, &f->code, 1);
        bus_rows_put(w, sig, sizeof sig);
        switch (f->type) {
        case 'u':
                bus_rows_u32(w, f->u);
                break;
        case 'g': {
                uint8_t n = (uint8_t) strlen(f->s);

                bus_rows_put(w, &n, 1);
                bus_rows_put(w, f->s, (size_t) n + 1);
                break;
        }
        default:        /* 'o', 's' */
                wire_text(w, f->s);
        }
}

/* The fixed fields written once, from an offset that is a multiple of 8 (where the header's
 * fields begin: they go there as they are). */
static void out_fixed_write(BusOutFixed *fixed) {
        BusRows w = { .p = fixed->bytes, .offset = 0 };
        BusRows measure = { .p = NULL, .offset = 0 };

        for (size_t i = 0; i < fixed->n; i++)
                out_field(&measure, &fixed->f[i]);
        /* The kinds' fields are a few names (none for a reply without a body): a bug otherwise. */
        if ((measure.offset == 0 && fixed->n > 0) || measure.offset > sizeof fixed->bytes) {
                log_error("Bug: fixed header fields of %" PRIu64 " bytes.", measure.offset);
                abort();
        }
        for (size_t i = 0; i < fixed->n; i++)
                out_field(&w, &fixed->f[i]);
        fixed->len = (size_t) w.offset;
}

/* Every integer of a message is written in the host's order, which its first byte names (sd-bus
 * does the same with its own messages). */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BUS_OUT_ENDIAN 'B'
#else
#define BUS_OUT_ENDIAN 'l'
#endif

int bus_out_begin(Bus *b, uint8_t type, BusOutFixed *fixed, const BusOutField *f, size_t n, size_t body_bound,
                  BusRows *ret) {
        const char start[4] = { BUS_OUT_ENDIAN, (char) type, 1 /* NO_REPLY_EXPECTED */, 1 };
        size_t bound = BUS_OUT_HEADER_FIXED;
        BusOut *o;
        char *fields_length;
        uint64_t fields_start;
        uint32_t length;
        BusRows w;

        assert(b);
        assert(fixed);
        assert(f || n == 0);
        assert(ret);

        o = b->out;
        if (!o || !o->open || body_bound > BUS_OUT_BODY_MAX)
                return -ENOBUFS;
        if (fixed->len == 0)
                out_fixed_write(fixed);
        bound += fixed->len + 8;
        for (size_t i = 0; i < n; i++)
                bound += 8 + 4 + 4 + (f[i].s ? strlen(f[i].s) + 1 : 0);
        if (o->n + bound + body_bound > BUS_OUT_CAP) {
                /* Sent, then opened again if the socket still has the room. */
                bus_out_flush(b);
                bus_out_open(b);
                if (!o->open || bound + body_bound > BUS_OUT_CAP)
                        return -ENOBUFS;
        }
        if (o->serial == UINT32_MAX)
                o->serial = BUS_OUT_SERIAL_FIRST - 1;
        o->serial++;

        w = (BusRows) { .p = o->buf + o->n, .offset = 0 };
        bus_rows_put(&w, start, sizeof start);
        bus_rows_u32(&w, 0);    /* the body's length, at the end */
        bus_rows_u32(&w, o->serial);
        fields_length = w.p;
        bus_rows_u32(&w, 0);
        bus_rows_align(&w, 8);
        fields_start = w.offset;
        bus_rows_put(&w, fixed->bytes, fixed->len);
        for (size_t i = 0; i < n; i++)
                out_field(&w, &f[i]);
        length = (uint32_t) (w.offset - fields_start);
        memcpy(fields_length, &length, sizeof length);
        bus_rows_align(&w, 8);

        o->start = o->n;
        o->length_at = o->n + 4;
        o->body_at = o->n + (size_t) w.offset;
        o->body_bound = body_bound;
        *ret = (BusRows) { .p = o->buf + o->body_at, .offset = 0 };
        return 0;
}

int bus_out_begin_return(Bus *b, sd_bus_message *call, BusOutFixed *fixed, size_t body_bound, BusRows *ret) {
        const char *sender;
        uint64_t cookie;
        BusOutField f[2];
        size_t n = 0;
        int r;

        assert(b);
        assert(call);
        assert(fixed);
        assert(ret);

        r = sd_bus_message_get_cookie(call, &cookie);
        if (r < 0 || cookie > UINT32_MAX)
                return -ENOBUFS;
        f[n++] = (BusOutField) { BUS_OUT_FIELD_REPLY_SERIAL, 'u', NULL, (uint32_t) cookie };
        sender = sd_bus_message_get_sender(call);
        if (sender)
                f[n++] = (BusOutField) { BUS_OUT_FIELD_DESTINATION, 's', sender, 0 };
        return bus_out_begin(b, SD_BUS_MESSAGE_METHOD_RETURN, fixed, f, n, body_bound, ret);
}

void bus_out_end(Bus *b, const BusRows *body) {
        BusOut *o;
        uint32_t length;

        assert(b);
        assert(body);

        o = b->out;
        assert(o && o->open);
        /* The caller's bound was wrong: the buffer may be overrun. */
        if (body->offset > o->body_bound || body->p != o->buf + o->body_at + body->offset) {
                log_error("Bug: a message's body took %" PRIu64 " bytes, bound %zu.", body->offset, o->body_bound);
                abort();
        }
        length = (uint32_t) body->offset;
        memcpy(o->buf + o->length_at, &length, sizeof length);
        o->last = o->start;
        o->n = o->last_end = o->body_at + length;
}

/* ---- the tests' check ----------------------------------------------------------------- */

/* The message in bytes as a peer's sd-bus reads it: a connection of its own on a socket pair,
 * as a server that takes an anonymous client, which these bytes follow. */
static int out_parse(const char *bytes, size_t n, sd_bus_message **ret) {
        static const char auth[] = "\0AUTH ANONYMOUS\r\nBEGIN\r\n";
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int peer = -1;
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        peer = pair[1];
        r = sd_bus_new(&bus);
        if (r < 0) {
                safe_close(pair[0]);
                return r;
        }
        r = sd_bus_set_fd(bus, pair[0], pair[0]);       /* the bus owns it now */
        if (r < 0) {
                safe_close(pair[0]);
                return r;
        }
        r = sd_bus_set_server(bus, 1, SD_ID128_MAKE(5b, 1e, 0c, 7a, 33, 9d, 4f, 02, 8e, 61, a4, 17, d0, c2, 99, 3b));
        if (r >= 0)
                r = sd_bus_set_anonymous(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        if (write(peer, auth, sizeof auth - 1) != (ssize_t) (sizeof auth - 1) || write(peer, bytes, n) != (ssize_t) n)
                return -EIO;
        for (unsigned i = 0; i < 1000; i++) {
                sd_bus_message *m = NULL;

                r = sd_bus_process(bus, &m);
                if (r < 0)
                        return r;
                if (m) {
                        *ret = m;
                        return 0;
                }
                if (r == 0) {
                        r = sd_bus_wait(bus, 100 * 1000);
                        if (r < 0)
                                return r;
                }
        }
        return -ETIMEDOUT;
}

static const char *or_none(const char *s) {
        return s ? s : "(none)";
}

/* Its header fields as sd-bus reads them, and its body as sd-bus prints it. */
static char *out_describe(sd_bus_message *m) {
        _cleanup_free_ char *header = NULL;
        uint64_t reply = 0;
        uint8_t type = 0;

        (void) sd_bus_message_get_type(m, &type);
        (void) sd_bus_message_get_reply_cookie(m, &reply);
        if (asprintf(&header,
                     "type=%u expect_reply=%d auto_start=%d path=%s interface=%s member=%s destination=%s "
                     "reply_cookie=%" PRIu64 " signature=%s\n",
                     type, sd_bus_message_get_expect_reply(m), sd_bus_message_get_auto_start(m),
                     or_none(sd_bus_message_get_path(m)), or_none(sd_bus_message_get_interface(m)),
                     or_none(sd_bus_message_get_member(m)), or_none(sd_bus_message_get_destination(m)), reply,
                     or_none(sd_bus_message_get_signature(m, true))) < 0)
                return NULL;
        return wire_message_text(m, header);
}

void bus_out_check_last(Bus *b, const char *what, sd_bus_message *sdbus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *read = NULL;
        _cleanup_free_ char *a = NULL, *c = NULL;
        BusOut *o;
        int r;

        assert(b);
        assert(what);
        assert(sdbus);

        o = b->out;
        assert(o);
        r = out_parse(o->buf + o->last, o->last_end - o->last, &read);
        if (r >= 0)
                a = out_describe(read);
        c = out_describe(sdbus);
        if (r < 0 || !a || !c || !streq(a, c)) {
                log_error_errno(r < 0 ? r : 0, "Bug: %s written whole in the wire format differs from sd-bus's:\n%s\nsd-bus:\n%s",
                                what, a ? a : "(unreadable)", c ? c : "(none)");
                abort();
        }
}
