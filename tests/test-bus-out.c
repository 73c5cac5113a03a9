/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-out (bus/bus-out.c): messages written whole in the wire format into a buffer and sent with
 * one write, between two sd-bus connections over a socket pair (one of them a server). What the
 * buffer held arrives in order, read by sd-bus as the messages sd-bus would send, between the
 * messages sd-bus sent before and after it; more than the buffer holds is sent in parts; and the
 * buffer does not open while sd-bus holds messages it could not write (they would be
 * overtaken). */
#include <glib.h>
#include <poll.h>

#include "bus-out.h"
#include "bus-pair.h"
#include "bus-wire.h"
#include "bus.h"
#include "test-cases.h"

typedef struct Pair {
        BusPair pair;
        Bus bus;                /* on the client */
} Pair;

static void pair_open(Pair *p) {
        *p = (Pair) { .bus.bus = NULL };
        bus_pair_open(&p->pair);
        p->bus.bus = p->pair.client;
        g_assert_cmpint(bus_out_new(&p->bus.out), ==, 0);
}

static void pair_close(Pair *p) {
        bus_out_free(p->bus.out);
        bus_pair_close(&p->pair);
}

/* The next message the server reads. */
static sd_bus_message *pair_read(Pair *p) {
        return bus_pair_receive(&p->pair);
}

/* The signal Tick(u n) through sd-bus. */
static void send_sdbus(Pair *p, uint32_t n) {
        g_assert_cmpint(sd_bus_emit_signal(p->pair.client, "/org/xferd/Test", "org.xferd.Test", "Tick", "u", n), >=, 0);
}

/* The same signal whole into the buffer. */
static int send_out(Pair *p, uint32_t n) {
        static const BusOutField f[] = {
                { BUS_OUT_FIELD_PATH, 'o', "/org/xferd/Test", 0 },
                { BUS_OUT_FIELD_INTERFACE, 's', "org.xferd.Test", 0 },
                { BUS_OUT_FIELD_MEMBER, 's', "Tick", 0 },
                { BUS_OUT_FIELD_SIGNATURE, 'g', "u", 0 },
        };
        static BusOutFixed fixed = BUS_OUT_FIXED(f);
        BusRows w;
        int r;

        r = bus_out_begin(&p->bus, SD_BUS_MESSAGE_SIGNAL, &fixed, NULL, 0, 4, &w);
        if (r < 0)
                return r;
        bus_rows_u32(&w, n);
        bus_out_end(&p->bus, &w);
        return 0;
}

static void expect_tick(Pair *p, uint32_t n) {
        sd_bus_message *m = pair_read(p);
        uint32_t got = 0;

        g_assert_true(sd_bus_message_is_signal(m, "org.xferd.Test", "Tick"));
        g_assert_cmpstr(sd_bus_message_get_path(m), ==, "/org/xferd/Test");
        g_assert_cmpint(sd_bus_message_get_expect_reply(m), ==, 0);
        g_assert_cmpint(sd_bus_message_read(m, "u", &got), ==, 1);
        g_assert_cmpuint(got, ==, n);
        sd_bus_message_unref(m);
}

/* sd-bus's, the buffer's, sd-bus's: read in that order. */
static void test_order(void) {
        Pair p;

        pair_open(&p);
        send_sdbus(&p, 1);
        g_assert_cmpint(send_out(&p, 0), ==, -ENOBUFS);        /* not open */
        bus_out_open(&p.bus);
        g_assert_true(bus_out_is_open(&p.bus));
        g_assert_cmpint(send_out(&p, 2), ==, 0);
        g_assert_cmpint(send_out(&p, 3), ==, 0);
        bus_out_flush(&p.bus);
        g_assert_false(bus_out_is_open(&p.bus));
        send_sdbus(&p, 4);
        for (uint32_t i = 1; i <= 4; i++)
                expect_tick(&p, i);
        pair_close(&p);
}

/* More than the buffer takes at once: sent in parts, each whole, in order. */
static void test_parts(void) {
        Pair p;

        pair_open(&p);
        bus_out_open(&p.bus);
        for (uint32_t i = 0; i < 2000; i++)
                g_assert_cmpint(send_out(&p, i), ==, 0);
        bus_out_flush(&p.bus);
        for (uint32_t i = 0; i < 2000; i++)
                expect_tick(&p, i);
        pair_close(&p);
}

/* A body past its bound, or past what a message may take here: refused before it is written. */
static void test_bound(void) {
        Pair p;
        BusRows w;
        static const BusOutField f[] = { { BUS_OUT_FIELD_SIGNATURE, 'g', "u", 0 } };
        static BusOutFixed fixed = BUS_OUT_FIXED(f);

        pair_open(&p);
        bus_out_open(&p.bus);
        g_assert_cmpint(bus_out_begin(&p.bus, SD_BUS_MESSAGE_SIGNAL, &fixed, NULL, 0, BUS_OUT_BODY_MAX + 1, &w), ==,
                        -ENOBUFS);
        bus_out_flush(&p.bus);
        pair_close(&p);
}

/* While sd-bus holds a message it could not write (the server reads nothing), the buffer does
 * not open: it would overtake that message. Once the server read everything, it opens again. */
static void test_queued(void) {
        _cleanup_free_ char *big = calloc(1, 64 * 1024 + 1);
        Pair p;
        int i;

        g_assert_nonnull(big);
        memset(big, 'x', 64 * 1024);
        pair_open(&p);
        for (i = 0; i < 10000 && !(sd_bus_get_events(p.pair.client) & POLLOUT); i++)
                g_assert_cmpint(sd_bus_emit_signal(p.pair.client, "/org/xferd/Test", "org.xferd.Test", "Big", "s", big),
                                >=, 0);
        g_assert_true(sd_bus_get_events(p.pair.client) & POLLOUT);
        bus_out_open(&p.bus);
        g_assert_false(bus_out_is_open(&p.bus));
        g_assert_cmpint(send_out(&p, 1), ==, -ENOBUFS);
        /* Everything read: sd-bus's queue written, the socket empty. */
        for (int k = 0; k < i; k++)
                sd_bus_message_unref(pair_read(&p));
        g_assert_false(sd_bus_get_events(p.pair.client) & POLLOUT);
        bus_out_open(&p.bus);
        g_assert_true(bus_out_is_open(&p.bus));
        g_assert_cmpint(send_out(&p, 7), ==, 0);
        bus_out_flush(&p.bus);
        expect_tick(&p, 7);
        pair_close(&p);
}

const TestCase test_cases[] = {
        { "/bus-out/order", test_order },
        { "/bus-out/parts", test_parts },
        { "/bus-out/bound", test_bound },
        { "/bus-out/queued", test_queued },
        { NULL, NULL },
};
