/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd-bus-flood: many short-lived or long-lived bus connections that each
 * call xferd once, for tests/test-bus-resources.c. Runs as any user (the test
 * starts it with runuser) against $DBUS_SYSTEM_BUS_ADDRESS.
 *
 *   xferd-bus-flood hold N    opens N connections, each calls Manager.ListJobs
 *                             and waits for the reply; prints "held N", then
 *                             keeps them all open until stdin ends.
 *   xferd-bus-flood cycle N   N times: connect, call ListJobs, close. Every
 *                             other connection closes right after sending,
 *                             without waiting for the reply, so that it is
 *                             often gone before xferd reads the call.
 *                             Prints "cycled N replies R".
 *   xferd-bus-flood unread N  one connection calls ListJobs once and reads the
 *                             reply (xferd knows the caller then: its further
 *                             calls are not held until the bus says who it is),
 *                             then sends N ListJobs and never reads a reply;
 *                             once the bus driver answered a call sent after
 *                             them (the bus has passed them all on to xferd),
 *                             prints "sent N", then keeps the connection open
 *                             until stdin ends.
 *
 * sd-bus rather than GDBus: a connection costs a socket and a Hello, no thread.
 * Exit status 2 on anything unexpected, with a message on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

static int open_bus(sd_bus **ret) {
        int r = sd_bus_open_system(ret);

        if (r < 0)
                fprintf(stderr, "xferd-bus-flood: cannot connect: %s\n", strerror(-r));
        return r;
}

/* A new ListJobs(all) call in *m (the caller unrefs it, also on failure). */
static int new_list_jobs(sd_bus *bus, int all, sd_bus_message **m) {
        int r = sd_bus_message_new_method_call(bus, m, "org.xferd.Transfer1", "/org/xferd/Transfer1",
                                               "org.xferd.Transfer1.Manager", "ListJobs");

        if (r >= 0)
                r = sd_bus_message_append(*m, "b", all);
        return r;
}

static int call_list_jobs(sd_bus *bus, int wait) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = new_list_jobs(bus, 0, &m);
        if (r < 0)
                goto out;
        if (wait)
                r = sd_bus_call(bus, m, 30 * 1000000ULL, &error, &reply);
        else {
                r = sd_bus_send(bus, m, NULL);
                if (r >= 0)
                        r = sd_bus_flush(bus);
        }
        if (r < 0)
                fprintf(stderr, "xferd-bus-flood: ListJobs: %s\n", error.message ? error.message : strerror(-r));
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        return r;
}

static int hold(unsigned n) {
        sd_bus **buses = calloc(n, sizeof *buses);
        char buf[64];

        if (!buses)
                return 2;
        for (unsigned i = 0; i < n; i++)
                if (open_bus(&buses[i]) < 0 || call_list_jobs(buses[i], 1) < 0)
                        return 2;
        printf("held %u\n", n);
        fflush(stdout);
        while (fgets(buf, sizeof buf, stdin))
                ;
        for (unsigned i = 0; i < n; i++)
                sd_bus_flush_close_unref(buses[i]);
        free(buses);
        return 0;
}

static int cycle(unsigned n) {
        unsigned replies = 0;

        for (unsigned i = 0; i < n; i++) {
                sd_bus *bus = NULL;
                int wait = i % 2;

                if (open_bus(&bus) < 0)
                        return 2;
                if (call_list_jobs(bus, wait) < 0)
                        return 2;
                replies += wait;
                sd_bus_close_unref(bus);
        }
        printf("cycled %u replies %u\n", n, replies);
        return 0;
}

/* A call to the bus driver, answered: the driver handles a connection's messages in order, so
 * every message sent before has been passed on. (sd-bus keeps what it reads meanwhile, unread.) */
static int driver_round_trip(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
                               &error, &reply, NULL);
        if (r < 0)
                fprintf(stderr, "xferd-bus-flood: GetId: %s\n", error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

static int unread(unsigned n) {
        sd_bus *bus = NULL;
        char buf[64];

        if (open_bus(&bus) < 0 || call_list_jobs(bus, 1) < 0)
                return 2;
        for (unsigned i = 0; i < n; i++) {
                sd_bus_message *m = NULL;
                uint64_t cookie;
                int r;

                /* With a cookie asked for: sd-bus sends a call without as one that wants no reply. */
                r = new_list_jobs(bus, 0, &m);
                if (r >= 0)
                        r = sd_bus_send(bus, m, &cookie);
                if (r >= 0)
                        r = sd_bus_flush(bus);
                sd_bus_message_unref(m);
                if (r < 0) {
                        fprintf(stderr, "xferd-bus-flood: ListJobs: %s\n", strerror(-r));
                        return 2;
                }
        }
        /* Every call above on its way to xferd, ahead of anything another connection sends
         * later. */
        if (driver_round_trip(bus) < 0)
                return 2;
        printf("sent %u\n", n);
        fflush(stdout);
        while (fgets(buf, sizeof buf, stdin))
                ;
        sd_bus_close_unref(bus);
        return 0;
}

typedef struct {
        unsigned replies, ok, refused;
} Replies;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Replies *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->replies++;
        if (!e)
                c->ok++;
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_LIMITS_EXCEEDED))
                c->refused++;
        else
                fprintf(stderr, "xferd-bus-flood: ListJobs(true): %s: %s\n", e->name, e->message);
        return 0;
}

#define POLKIT_PAD_MAX ((size_t) 6 * 1024 * 1024)

/* n ListJobs(true), which polkit must allow a user, sent together; then a call polkit has no
 * part in, whose reply comes after xferd's answers to every call before it: "refused R", the
 * calls xferd refused with LimitsExceeded meanwhile. After a line on stdin (polkit answers
 * then), every call's answer: "ok O". With pad, each call carries pad bytes more (a string
 * after its argument: sd-bus refuses it once polkit answered). */
static int polkit(unsigned n, size_t pad) {
        static char padding[POLKIT_PAD_MAX + 1];
        sd_bus *bus = NULL;
        Replies c = { 0, 0, 0 };
        char buf[64];
        int r;

        memset(padding, 'x', pad);
        if (open_bus(&bus) < 0)
                return 2;
        for (unsigned i = 0; i < n; i++) {
                sd_bus_message *m = NULL;

                r = new_list_jobs(bus, 1, &m);
                if (r >= 0 && pad > 0)
                        r = sd_bus_message_append(m, "s", padding);
                if (r >= 0)
                        r = sd_bus_call_async(bus, NULL, m, on_reply, &c, 120 * 1000000ULL);
                sd_bus_message_unref(m);
                if (r < 0) {
                        fprintf(stderr, "xferd-bus-flood: ListJobs(true): %s\n", strerror(-r));
                        return 2;
                }
        }
        if (call_list_jobs(bus, 1) < 0)
                return 2;
        /* The answers that came meanwhile, queued by sd_bus_call(). */
        while ((r = sd_bus_process(bus, NULL)) > 0)
                ;
        if (r < 0)
                return 2;
        printf("refused %u\n", c.refused);
        fflush(stdout);
        if (!fgets(buf, sizeof buf, stdin))
                return 2;
        while (c.replies < n) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0) {
                        fprintf(stderr, "xferd-bus-flood: waiting for answers: %s\n", strerror(-r));
                        return 2;
                }
        }
        printf("ok %u\n", c.ok);
        fflush(stdout);
        sd_bus_close_unref(bus);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned long n;
        char *end;

        if (argc != 3) {
                fprintf(stderr, "usage: xferd-bus-flood hold|cycle|unread|polkit|polkit-big N\n");
                return 2;
        }
        errno = 0;
        n = strtoul(argv[2], &end, 10);
        if (errno || *end || n == 0 || n > 100000) {
                fprintf(stderr, "xferd-bus-flood: bad count '%s'\n", argv[2]);
                return 2;
        }
        if (strcmp(argv[1], "hold") == 0)
                return hold((unsigned) n);
        if (strcmp(argv[1], "cycle") == 0)
                return cycle((unsigned) n);
        if (strcmp(argv[1], "unread") == 0)
                return unread((unsigned) n);
        if (strcmp(argv[1], "polkit") == 0)
                return polkit((unsigned) n, 0);
        /* Calls of 6 MiB: past polkit's bound of a sender's held bytes before its count. */
        if (strcmp(argv[1], "polkit-big") == 0)
                return polkit((unsigned) n, POLKIT_PAD_MAX);
        fprintf(stderr, "xferd-bus-flood: unknown mode '%s'\n", argv[1]);
        return 2;
}
