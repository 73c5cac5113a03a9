/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus_message_size() (bus/bus-message-size.c) on messages received as xferd receives them: over a
 * socket pair between two sd-bus connections, one of them a server. The size counts what the
 * caller sent; a message of too many values, or past the most the caller asks about, counts as
 * the largest; the message reads from its start afterwards. */
#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "test-cases.h"

typedef struct Pair {
        sd_bus *client, *server;
} Pair;

static void pair_open(Pair *p) {
        sd_id128_t id;
        int fds[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
        g_assert_cmpint(sd_id128_randomize(&id), ==, 0);
        g_assert_cmpint(sd_bus_new(&p->server), ==, 0);
        g_assert_cmpint(sd_bus_set_fd(p->server, fds[0], fds[0]), ==, 0);
        g_assert_cmpint(sd_bus_set_server(p->server, 1, id), ==, 0);
        g_assert_cmpint(sd_bus_set_anonymous(p->server, 1), ==, 0);
        g_assert_cmpint(sd_bus_start(p->server), ==, 0);
        g_assert_cmpint(sd_bus_new(&p->client), ==, 0);
        g_assert_cmpint(sd_bus_set_fd(p->client, fds[1], fds[1]), ==, 0);
        g_assert_cmpint(sd_bus_set_anonymous(p->client, 1), ==, 0);
        g_assert_cmpint(sd_bus_start(p->client), ==, 0);
}

static void pair_close(Pair *p) {
        sd_bus_close_unref(p->client);
        sd_bus_close_unref(p->server);
}

/* Sends m from the client; returns it as the server received it. */
static sd_bus_message *pair_pass(Pair *p, sd_bus_message *m) {
        sd_bus_message *got = NULL;

        g_assert_cmpint(sd_bus_send(p->client, m, NULL), >=, 0);
        for (int i = 0; i < 100000 && !got; i++) {
                int r = sd_bus_process(p->client, NULL);

                g_assert_cmpint(r, >=, 0);
                r = sd_bus_process(p->server, &got);
                g_assert_cmpint(r, >=, 0);
                if (!got && r == 0)
                        g_assert_cmpint(sd_bus_wait(p->server, 10000), >=, 0);
        }
        g_assert_nonnull(got);
        return got;
}

static sd_bus_message *call_new(Pair *p) {
        sd_bus_message *m = NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(p->client, &m, NULL, "/org/xferd/Transfer1",
                                                       "org.xferd.Transfer1.Manager", "Download"), ==, 0);
        return m;
}

static void test_strings(void) {
        Pair p;
        size_t n = 3 * 1024 * 1024;
        g_autofree char *big = g_malloc(n + 1);
        const char *s, *t;
        sd_bus_message *m, *got;
        size_t size;

        memset(big, 'u', n);
        big[n] = '\0';
        pair_open(&p);
        m = call_new(&p);
        g_assert_cmpint(sd_bus_message_append(m, "ssa{sv}", big, "/tmp/x", 1, "size", "t", (uint64_t) 5), >=, 0);
        got = pair_pass(&p, m);
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
        pair_close(&p);
}

static void test_fixed_array(void) {
        Pair p;
        size_t n = 5 * 1024 * 1024;
        g_autofree uint8_t *bytes = g_malloc0(n);
        sd_bus_message *m, *got;

        pair_open(&p);
        m = call_new(&p);
        g_assert_cmpint(sd_bus_message_append_array(m, 'y', bytes, n), >=, 0);
        got = pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), >=, n);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), <, n + 4096);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        pair_close(&p);
}

/* 20 000 empty strings: too many values to count, so as large as any message. */
static void test_many_values(void) {
        Pair p;
        sd_bus_message *m, *got;
        const char *s;

        pair_open(&p);
        m = call_new(&p);
        g_assert_cmpint(sd_bus_message_open_container(m, 'a', "s"), >=, 0);
        for (int i = 0; i < 20000; i++)
                g_assert_cmpint(sd_bus_message_append_basic(m, 's', ""), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
        got = pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), ==, bus_message_max());
        g_assert_cmpint(sd_bus_message_enter_container(got, 'a', "s"), ==, 1);
        g_assert_cmpint(sd_bus_message_read_basic(got, 's', &s), ==, 1);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        pair_close(&p);
}

/* No body: the header's room alone. */
static void test_empty(void) {
        Pair p;
        sd_bus_message *m, *got;

        pair_open(&p);
        m = call_new(&p);
        got = pair_pass(&p, m);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), >, 0);
        g_assert_cmpuint(bus_message_size(got, SIZE_MAX), <=, 1024);
        sd_bus_message_unref(m);
        sd_bus_message_unref(got);
        pair_close(&p);
}

const TestCase test_cases[] = {
        { "/bus-message-size/strings", test_strings },
        { "/bus-message-size/fixed-array", test_fixed_array },
        { "/bus-message-size/many-values", test_many_values },
        { "/bus-message-size/empty", test_empty },
        { NULL, NULL },
};
