/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus_driver_read_creds() (bus/bus-driver.c) on answers as the bus driver gives them, received
 * over a socket pair: GetConnectionCredentials' a{sv} (UnixUserID, UnixGroupIDs among keys it
 * skips) and GetConnectionUnixUser's u. An answer that fails sets nothing and keeps nothing
 * (LeakSanitizer, in the sanitizer build, sees a group list left behind). */
#include <errno.h>
#include <glib.h>

#include "bus-pair.h"
#include "bus.h"
#include "test-cases.h"

/* What the outputs hold before a read: a read that fails must leave them so. */
#define UNTOUCHED_UID ((uid_t) 4242)
#define UNTOUCHED_N_GROUPS 4243

/* An answer as the driver would give it, and what the read must make of it. */
typedef struct Answer {
        void (*fill)(sd_bus_message *m);        /* appends the answer's body */
        bool uid_only;                          /* GetConnectionUnixUser's */
        int r;                                  /* what the read returns; < 0: nothing set */
        uid_t uid;
        int n_groups;                           /* < 0: none (the user database decides) */
        uint32_t groups[3];
} Answer;

static void fill_uid_and_groups(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 3, "ProcessID", "u", (uint32_t) 42, "UnixUserID", "u",
                                              (uint32_t) 1000, "UnixGroupIDs", "au", 3, (uint32_t) 1000,
                                              (uint32_t) 27, (uint32_t) 100),
                        >=, 0);
}

static void fill_no_groups(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "UnixUserID", "u", (uint32_t) 0), >=, 0);
}

/* The groups read are not kept. */
static void fill_no_uid(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "UnixGroupIDs", "au", 2, (uint32_t) 5, (uint32_t) 6),
                        >=, 0);
}

/* The last list counts, the first is not left behind. */
static void fill_groups_twice(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 3, "UnixGroupIDs", "au", 1, (uint32_t) 1, "UnixUserID", "u",
                                              (uint32_t) 7, "UnixGroupIDs", "au", 2, (uint32_t) 2, (uint32_t) 3),
                        >=, 0);
}

/* More groups than the kernel allows: not believed, as if the driver had said nothing. */
static void fill_too_many_groups(sd_bus_message *m) {
        const size_t n = 65537;
        g_autofree uint32_t *gids = g_new0(uint32_t, n);

        g_assert_cmpint(sd_bus_message_open_container(m, 'a', "{sv}"), >=, 0);
        g_assert_cmpint(sd_bus_message_open_container(m, 'e', "sv"), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "s", "UnixGroupIDs"), >=, 0);
        g_assert_cmpint(sd_bus_message_open_container(m, 'v', "au"), >=, 0);
        g_assert_cmpint(sd_bus_message_append_array(m, 'u', gids, n * sizeof *gids), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
        g_assert_cmpint(sd_bus_message_append(m, "{sv}", "UnixUserID", "u", (uint32_t) 1001), >=, 0);
        g_assert_cmpint(sd_bus_message_close_container(m), >=, 0);
}

static void fill_unix_user(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "u", (uint32_t) 1002), >=, 0);
}

static void fill_wrong_type(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_append(m, "s", "1003"), >=, 0);
}

static const Answer uid_and_groups = { fill_uid_and_groups, false, 0, 1000, 3, { 1000, 27, 100 } };
static const Answer no_groups = { fill_no_groups, false, 0, 0, -1, { 0 } };
static const Answer no_uid = { fill_no_uid, false, -ENODATA, 0, 0, { 0 } };
static const Answer groups_twice = { fill_groups_twice, false, 0, 7, 2, { 2, 3 } };
static const Answer too_many_groups = { fill_too_many_groups, false, 0, 1001, -1, { 0 } };
static const Answer unix_user = { fill_unix_user, true, 0, 1002, -1, { 0 } };
static const Answer wrong_type = { fill_wrong_type, true, -ENXIO, 0, 0, { 0 } };

static void test_answer(gconstpointer data) {
        const Answer *a = data;
        uid_t uid = UNTOUCHED_UID;
        int n_groups = UNTOUCHED_N_GROUPS;
        gid_t *groups = NULL;
        sd_bus_message *m, *got;
        BusPair p;

        bus_pair_open(&p);
        m = bus_pair_call_new(&p);
        a->fill(m);
        got = bus_pair_pass(&p, m);
        g_assert_cmpint(bus_driver_read_creds(got, a->uid_only, &uid, &n_groups, &groups), ==, a->r);
        if (a->r < 0) {
                g_assert_cmpuint(uid, ==, UNTOUCHED_UID);
                g_assert_cmpint(n_groups, ==, UNTOUCHED_N_GROUPS);
                g_assert_null(groups);
        } else {
                g_assert_cmpuint(uid, ==, a->uid);
                g_assert_cmpint(n_groups, ==, a->n_groups);
                if (a->n_groups < 0)
                        g_assert_null(groups);
                else
                        g_assert_cmpmem(groups, a->n_groups * sizeof *groups, a->groups,
                                        a->n_groups * sizeof *a->groups);
        }
        g_free(groups);
        sd_bus_message_unref(got);
        sd_bus_message_unref(m);
        bus_pair_close(&p);
}

const TestCase test_cases[] = {
        { NULL, NULL },
};

const TestDataCase test_data_cases[] = {
        { "/bus-driver/uid-and-groups", test_answer, &uid_and_groups },
        { "/bus-driver/no-groups", test_answer, &no_groups },
        { "/bus-driver/no-uid", test_answer, &no_uid },
        { "/bus-driver/groups-twice", test_answer, &groups_twice },
        { "/bus-driver/too-many-groups", test_answer, &too_many_groups },
        { "/bus-driver/unix-user", test_answer, &unix_user },
        { "/bus-driver/wrong-type", test_answer, &wrong_type },
        { NULL, NULL, NULL },
};
