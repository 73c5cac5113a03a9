/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's uid, cached per unique bus name. Asking the bus driver costs a synchronous
 * round trip per call; a unique name is never reused while the bus runs, so its uid cannot
 * change while the name lives.
 *
 * Entries go when their name does. One NameOwnerChanged match, installed once before the
 * first call can arrive, serves every caller: the bus resources of xferd never grow with the
 * number of callers (dbus-daemon allows a connection a few hundred match rules and closes it
 * past that), and no match can be left behind by a caller that leaves before a per-caller
 * match would have been installed. Because the match exists before any call is read, the
 * signal for a name that leaves is always seen after that name's calls, so no entry outlives
 * its name. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "hashmap.h"
#include "log.h"

typedef struct CredsEntry {
        uid_t uid;
        char name[];    /* the key */
} CredsEntry;

/* Live connections are bounded by the bus (dbus-daemon's default is a few thousand): this only
 * caps memory should a bus allow more. Past it the cache starts over. */
#define CREDS_MAX_ENTRIES 16384

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *match;
        Hashmap *entries;       /* CredsEntry by unique name */
        BusCredsNameGone name_gone;
        void *name_gone_userdata;
};

static void creds_clear(BusCreds *c) {
        size_t i = 0;
        void *e;

        while (hashmap_iterate(c->entries, &i, &e))
                free(e);
        hashmap_clear(c->entries);
}

static void creds_forget(BusCreds *c, const char *name) {
        free(hashmap_remove(c->entries, name));
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
        BusCreds *c;
        int r;

        assert(bus);
        assert(ret);

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->bus = bus;
        c->entries = hashmap_new();
        if (!c->entries) {
                free(c);
                return -ENOMEM;
        }
        /* Synchronous: the match is in place before xferd takes its name and reads a call. */
        r = sd_bus_match_signal(bus, &c->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, c);
        if (r < 0) {
                hashmap_free(c->entries);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

BusCreds *bus_creds_free(BusCreds *c) {
        if (!c)
                return NULL;
        creds_clear(c);
        hashmap_free(c->entries);
        sd_bus_slot_unref(c->match);
        free(c);
        return NULL;
}

void bus_creds_set_name_gone(BusCreds *c, BusCredsNameGone cb, void *userdata) {
        assert(c);
        c->name_gone = cb;
        c->name_gone_userdata = userdata;
}

size_t bus_creds_size(const BusCreds *c) {
        assert(c);
        return hashmap_size(c->entries);
}

int bus_creds_get_uid(BusCreds *c, sd_bus_message *m, uid_t *ret) {
        const char *sender;
        sd_bus_creds *creds = NULL;
        CredsEntry *e;
        size_t n;
        uid_t uid;
        int r;

        assert(c);
        assert(m);
        assert(ret);

        sender = sd_bus_message_get_sender(m);
        e = sender ? hashmap_get(c->entries, sender) : NULL;
        if (e) {
                *ret = e->uid;
                return 0;
        }

        /* From the bus driver's record of the connection, never from the message's arguments. */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        sd_bus_creds_unref(creds);
        if (r < 0)
                return r;
        *ret = uid;

        /* A name the bus already forgot cannot call again: caching it would only leak. The
         * driver answered for it, so its NameOwnerChanged, if any, is still ahead of us. */
        if (!sender || sender[0] != ':')
                return 0;
        if (hashmap_size(c->entries) >= CREDS_MAX_ENTRIES)
                creds_clear(c);
        n = strlen(sender);
        e = malloc(sizeof *e + n + 1);
        if (!e)
                return 0;       /* Not cached: the next call asks the bus again. */
        e->uid = uid;
        memcpy(e->name, sender, n + 1);
        if (hashmap_put(c->entries, e->name, e) < 0)
                free(e);        /* Not cached either. */
        return 0;
}
