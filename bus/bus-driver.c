/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What xferd asks the bus driver (org.freedesktop.DBus) about other connections: who a caller
 * is, without waiting for the answer, and the answer read; and the match that tells when a
 * unique name leaves the bus. bus-creds.c is the one user. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bus-dict.h"
#include "bus.h"

#define DRIVER_NAME "org.freedesktop.DBus"
#define DRIVER_PATH "/org/freedesktop/DBus"
#define DRIVER_INTERFACE "org.freedesktop.DBus"

/* More than the kernel allows (NGROUPS_MAX): a reply claiming more is not believed. */
#define CREDS_MAX_GROUPS 65536

/* UnixGroupIDs of a GetConnectionCredentials reply, the variant entered. */
static int read_groups(sd_bus_message *reply, int *n_groups, gid_t **groups) {
        const void *p;
        size_t size;
        int r;

        r = sd_bus_message_read_array(reply, 'u', &p, &size);
        if (r < 0)
                return r;
        if (size / sizeof(uint32_t) > CREDS_MAX_GROUPS)
                return 0;  /* not believed: the user database then */
        free(*groups);
        *groups = malloc(size > 0 ? size : 1);
        if (!*groups)
                return -ENOMEM;
        memcpy(*groups, p, size);  /* gid_t is uint32_t on Linux */
        *n_groups = (int) (size / sizeof(uint32_t));
        return 0;
}

typedef struct CredentialsRead {
        uid_t uid;
        bool have_uid;
        int n_groups;
        gid_t *groups;
} CredentialsRead;

static int credentials_entry(sd_bus_message *m, const char *key, void *userdata) {
        CredentialsRead *c = userdata;
        uint32_t uid;
        int r;

        if (streq(key, "UnixUserID")) {
                r = sd_bus_message_read(m, "v", "u", &uid);
                if (r < 0)
                        return r;
                c->uid = (uid_t) uid;
                c->have_uid = true;
        } else if (streq(key, "UnixGroupIDs")) {
                r = sd_bus_message_enter_container(m, 'v', "au");
                if (r < 0)
                        return r;
                r = read_groups(m, &c->n_groups, &c->groups);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }
        return 0;
}

int bus_driver_read_creds(sd_bus_message *reply, bool uid_only, uid_t *ret_uid, int *ret_n_groups,
                          gid_t **ret_groups) {
        CredentialsRead read = { .n_groups = -1 };
        uint32_t uid;
        int r;

        assert(reply);
        assert(ret_uid);
        assert(ret_n_groups);
        assert(ret_groups);

        if (uid_only) {
                r = sd_bus_message_read(reply, "u", &uid);
                if (r < 0)
                        return r;
                *ret_uid = (uid_t) uid;
                *ret_n_groups = -1;
                *ret_groups = NULL;
                return 0;
        }
        r = bus_dict_read(reply, credentials_entry, &read);
        if (r >= 0 && !read.have_uid)
                r = -ENODATA;
        if (r < 0) {
                free(read.groups);
                return r;
        }
        *ret_uid = read.uid;
        *ret_n_groups = read.n_groups;
        *ret_groups = read.groups;
        return 0;
}

int bus_driver_ask_creds(sd_bus *bus, sd_bus_slot **ret_slot, const char *name, bool uid_only,
                         sd_bus_message_handler_t callback, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        assert(bus);
        assert(ret_slot);
        assert(name);
        assert(callback);

        r = sd_bus_message_new_method_call(bus, &call, DRIVER_NAME, DRIVER_PATH, DRIVER_INTERFACE,
                                           uid_only ? "GetConnectionUnixUser" : "GetConnectionCredentials");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "s", name);
        if (r < 0)
                return r;
        return sd_bus_call_async(bus, ret_slot, call, callback, userdata, UINT64_MAX);
}

int bus_driver_match_name_owner_changed(sd_bus *bus, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback,
                                        void *userdata) {
        assert(bus);
        assert(ret_slot);
        assert(callback);

        return sd_bus_match_signal(bus, ret_slot, DRIVER_NAME, DRIVER_PATH, DRIVER_INTERFACE, "NameOwnerChanged",
                                   callback, userdata);
}
