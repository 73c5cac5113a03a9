/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two sd-bus connections over a socket pair, one of them a server: messages received as xferd
 * receives them, without a bus daemon. */
#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-pair.h"

void bus_pair_open(BusPair *p) {
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
        /* Both authenticated: the client's queue is empty. */
        for (int i = 0; i < 1000 && (sd_bus_is_ready(p->client) <= 0 || sd_bus_is_ready(p->server) <= 0); i++) {
                g_assert_cmpint(sd_bus_process(p->client, NULL), >=, 0);
                g_assert_cmpint(sd_bus_process(p->server, NULL), >=, 0);
        }
        g_assert_cmpint(sd_bus_is_ready(p->client), >, 0);
}

void bus_pair_close(BusPair *p) {
        sd_bus_close_unref(p->client);
        sd_bus_close_unref(p->server);
}

sd_bus_message *bus_pair_receive(BusPair *p) {
        sd_bus_message *got = NULL;

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

sd_bus_message *bus_pair_pass(BusPair *p, sd_bus_message *m) {
        g_assert_cmpint(sd_bus_send(p->client, m, NULL), >=, 0);
        return bus_pair_receive(p);
}

sd_bus_message *bus_pair_call_new(BusPair *p) {
        sd_bus_message *m = NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(p->client, &m, NULL, "/org/xferd/Transfer1",
                                                       "org.xferd.Transfer1.Manager", "Download"), ==, 0);
        return m;
}
