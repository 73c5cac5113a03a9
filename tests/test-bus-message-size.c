/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus_message_size() (bus/bus-message-size.c) on messages received as xferd receives them: over a
 * socket pair between two sd-bus connections, one of them a server. The size counts what the
 * caller sent; a message of too many values, or past the most the caller asks about, counts as
 * the largest; the message reads from its start afterwards. */
#include <glib.h>

#include "bus-pair.h"
#include "bus.h"
#include "test-cases.h"

static void test_strings(void) {
        BusPair p;
        size_t n = 3 * 1024 * 1024;
        g_autofree char *big = g_malloc(n + 1);
        const char *s, *t;
        sd_bus_message *m, *got;
        size_t size;

        memset(big, 'u', n);
        big[n] = '\0';
        bus_pair_open(&p);
        m = bus_pair_call_new(&p);
        g_assert_cmpint(sd_bus_message_append(m, "ssa{sv}", big, "/tmp/x", 1, "size", "t", (uint64_t) 5), >=, 0);
        got = bus_pair_pass(&p, m);
        size = bus_message_size(got, SIZE_MAX);
        g_assert_cmpuint(size, >=, n + strlen("/tmp/x") + strlen("size"));
        g_assert_cmpuint(size, <, n + 4096);
        /* Past a smaller max it stops: as large as any. */
        g_assert_cmpuint(bus_message_size(got, n / 2), ==, bus_message_max());
        g_assert_cmpuint(bus_message_size(got, n + 4096), ==, size);
        /* The handler reads it from the start. */
        g_assert_cmpint(sd_bus_message_read(got, "ss", &s, &t), ==, 1);
        g_assert_cmpuint(strlen(s), ==, n);
        g_assert_cmpstr(t, ==, "/tmp/x");
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        bus_pair_close(&p);
}

static void test_fixed_array(void) {
        BusPair p;
        size_t n = 5 * 1024 * 1024;
        g_autofree uint8_t *bytes = g_malloc0(n);
        sd_bus_message *m, *got;

        bus_pair_open(&p);
        m = bus_pair_call_new(&p);
        g_assert_cmpint(sd_bus_message_append_array(m, 'y', bytes, n), >=, 0);
        got = bus_pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), >=, n);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), <, n + 4096);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        bus_pair_close(&p);
}

/* 20 000 empty strings: too many values to count, so as large as any message. */
static void test_many_values(void) {
        BusPair p;
        sd_bus_message *m, *got;
        const char *s;

        bus_pair_open(&p);
        m = bus_pair_call_new(&p);
        g_assert_cmpint(sd_bus_message_open_container(m, 'a', "s"), >=, 0);
        for (int i = 0; i < 20000; i++)
                g_assert_cmpint(sd_bus_message_append_basic(m, 's', ""), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
        got = bus_pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), ==, bus_message_max());
        g_assert_cmpint(sd_bus_message_enter_container(got, 'a', "s"), ==, 1);
        g_assert_cmpint(sd_bus_message_read_basic(got, 's', &s), ==, 1);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        bus_pair_close(&p);
}

/* No body: the header's room alone. */
static void test_empty(void) {
        BusPair p;
        sd_bus_message *m, *got;

        bus_pair_open(&p);
        m = bus_pair_call_new(&p);
        got = bus_pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), >, 0);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), <=, 1024);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        bus_pair_close(&p);
}

const TestCase test_cases[] = {
        { "/bus-message-size/strings", test_strings },
        { "/bus-message-size/fixed-array", test_fixed_array },
        { "/bus-message-size/many-values", test_many_values },
        { "/bus-message-size/empty", test_empty },
        { NULL, NULL },
};
