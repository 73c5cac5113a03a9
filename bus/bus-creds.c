/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's uid and groups, cached per unique bus name. Asking the bus driver costs a synchronous
 * round trip per call; a unique name is never reused while the bus runs, so its uid cannot
 * change while the name lives.
 *
 * Entries go when their name does. One NameOwnerChanged match, installed once before the
 * first call can arrive, serves every caller: the bus resources of xferd never grow with the
 * number of callers (dbus-daemon allows a connection a few hundred match rules and closes it
 * past that), and no match can be left behind by a caller that leaves before a per-caller
 * match would have been installed. Because the match exists before any call is read, the
 * signal for a name that leaves is always seen after that name's calls, so no entry outlives
 * its name.
 *
 * The groups are the connection's, as the bus driver recorded them when it connected
 * (dbus-daemon's and dbus-broker's UnixGroupIDs): what the caller itself may use, which a
 * re-read of the user database would not tell (a group added since, one the caller dropped).
 * sd-bus does not read UnixGroupIDs, so the driver is asked directly. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bus-dict.h"
#include "bus.h"
#include "hashmap.h"
#include "log.h"

typedef struct CredsEntry {
        uid_t uid;
        int n_groups;           /* < 0: the bus did not say */
        gid_t *groups;
        char name[];            /* the key */
} CredsEntry;

/* More than the kernel allows (NGROUPS_MAX): a reply claiming more is not believed. */
#define CREDS_MAX_GROUPS 65536

/* Live connections are bounded by the bus (dbus-daemon's default is a few thousand): this only
 * caps memory should a bus allow more. Past it the cache starts over. */
#define CREDS_MAX_ENTRIES 16384

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *match;
        Hashmap *entries;       /* CredsEntry by unique name */
        BusCredsNameGone name_gone;
        void *name_gone_userdata;
        CredsEntry *uncached;   /* the last answer that could not be cached, until the next call */
};

static void creds_entry_free(CredsEntry *e) {
        if (!e)
                return;
        free(e->groups);
        free(e);
}

static void creds_clear(BusCreds *c) {
        size_t i = 0;
        void *e;

        while (hashmap_iterate(c->entries, &i, &e))
                creds_entry_free(e);
        hashmap_clear(c->entries);
}

static void creds_forget(BusCreds *c, const char *name) {
        creds_entry_free(hashmap_remove(c->entries, name));
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusCreds *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        /* Only unique names leaving matter: well-known names come and go with their owners. */
        if (name[0] != ':' || !isempty(new_owner))
                return 0;
        creds_forget(c, name);
        if (c->name_gone)
                c->name_gone(name, c->name_gone_userdata);
        return 0;
}

int bus_creds_new(sd_bus *bus, BusCreds **ret) {
        _cleanup_(bus_creds_freep) BusCreds *c = NULL;
        int r;

        assert(bus);
        assert(ret);

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->bus = bus;
        c->entries = hashmap_new();
        if (!c->entries)
                return -ENOMEM;
        /* Synchronous: the match is in place before xferd takes its name and reads a call. */
        r = sd_bus_match_signal(bus, &c->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

BusCreds *bus_creds_free(BusCreds *c) {
        if (!c)
                return NULL;
        creds_clear(c);
        hashmap_free(c->entries);
        creds_entry_free(c->uncached);
        sd_bus_slot_unref(c->match);
        return mfree(c);
}

void bus_creds_set_name_gone(BusCreds *c, BusCredsNameGone cb, void *userdata) {
        assert(c);
        c->name_gone = cb;
        c->name_gone_userdata = userdata;
}

/* UnixGroupIDs of a GetConnectionCredentials reply, the variant entered. */
static int read_groups(sd_bus_message *reply, CredsEntry *e) {
        const void *p;
        size_t size;
        int r;

        r = sd_bus_message_read_array(reply, 'u', &p, &size);
        if (r < 0)
                return r;
        if (size / sizeof(uint32_t) > CREDS_MAX_GROUPS)
                return 0;  /* not believed: the user database then */
        e->groups = malloc(size > 0 ? size : 1);
        if (!e->groups)
                return -ENOMEM;
        memcpy(e->groups, p, size);  /* gid_t is uint32_t on Linux */
        e->n_groups = (int) (size / sizeof(uint32_t));
        return 0;
}

typedef struct CredentialsRead {
        CredsEntry *entry;
        bool have_uid;
} CredentialsRead;

static int credentials_entry(sd_bus_message *m, const char *key, void *userdata) {
        CredentialsRead *c = userdata;
        uint32_t uid;
        int r;

        if (streq(key, "UnixUserID")) {
                r = sd_bus_message_read(m, "v", "u", &uid);
                if (r < 0)
                        return r;
                c->entry->uid = (uid_t) uid;
                c->have_uid = true;
        } else if (streq(key, "UnixGroupIDs")) {
                r = sd_bus_message_enter_container(m, 'v', "au");
                if (r < 0)
                        return r;
                r = read_groups(m, c->entry);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }
        return 0;
}

/* The bus driver's record of the connection `sender`: its uid and, where the bus has them,
 * its groups. -ENODATA when the driver gives no uid this way. */
static int query_credentials(BusCreds *c, const char *sender, CredsEntry *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        CredentialsRead read = { e, false };
        int r;

        r = sd_bus_call_method(c->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", &error, &reply, "s", sender);
        sd_bus_error_free(&error);
        if (r < 0)
                return r;
        r = bus_dict_read(reply, credentials_entry, &read);
        if (r < 0)
                return r;
        return read.have_uid ? 0 : -ENODATA;
}

/* Only the uid, as sd-bus learns it (a bus whose driver lacks GetConnectionCredentials, or a
 * message without a sender). */
static int query_uid(sd_bus_message *m, CredsEntry *e) {
        sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &e->uid);
        sd_bus_creds_unref(creds);
        return r;
}

int bus_creds_get_caller(BusCreds *c, sd_bus_message *m, BusCaller *ret) {
        const char *sender;
        CredsEntry *e;
        size_t n;
        int r;

        assert(c);
        assert(m);
        assert(ret);

        creds_entry_free(c->uncached);
        c->uncached = NULL;
        sender = sd_bus_message_get_sender(m);
        e = sender ? hashmap_get(c->entries, sender) : NULL;
        if (e) {
                *ret = (BusCaller) { .uid = e->uid, .n_groups = e->n_groups, .groups = e->groups };
                return 0;
        }

        n = sender ? strlen(sender) : 0;
        e = calloc(1, sizeof *e + n + 1);
        if (!e)
                return -ENOMEM;
        e->n_groups = -1;
        if (sender)
                memcpy(e->name, sender, n + 1);

        /* From the bus driver's record of the connection, never from the message's arguments. */
        r = sender ? query_credentials(c, sender, e) : -ENODATA;
        if (r < 0) {
                e->groups = mfree(e->groups);
                e->n_groups = -1;
                r = query_uid(m, e);
        }
        if (r < 0) {
                creds_entry_free(e);
                return r;
        }
        *ret = (BusCaller) { .uid = e->uid, .n_groups = e->n_groups, .groups = e->groups };

        /* A name the bus already forgot cannot call again: caching it would only leak. The
         * driver answered for it, so its NameOwnerChanged, if any, is still ahead of us. */
        if (!sender || sender[0] != ':') {
                c->uncached = e;  /* lives while this message is handled */
                return 0;
        }
        if (hashmap_size(c->entries) >= CREDS_MAX_ENTRIES)
                creds_clear(c);
        if (hashmap_put(c->entries, e->name, e) < 0)
                c->uncached = e;  /* not cached either */
        return 0;
}

int bus_creds_get_uid(BusCreds *c, sd_bus_message *m, uid_t *ret) {
        BusCaller caller;
        int r;

        assert(ret);

        r = bus_creds_get_caller(c, m, &caller);
        if (r < 0)
                return r;
        *ret = caller.uid;
        return 0;
}
