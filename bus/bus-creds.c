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
#include "log.h"

typedef struct CredsEntry {
        struct CredsEntry *next;
        uid_t uid;
        char name[];
} CredsEntry;

#define CREDS_BUCKETS 256
/* Live connections are bounded by the bus (dbus-daemon's default is a few thousand): this only
 * caps memory should a bus allow more. Past it the cache starts over. */
#define CREDS_MAX_ENTRIES 16384

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *match;
        size_t n_entries;
        CredsEntry *buckets[CREDS_BUCKETS];
        BusCredsNameGone name_gone;
        void *name_gone_userdata;
};

static unsigned hash_name(const char *s) {
        unsigned h = 5381;

        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h % CREDS_BUCKETS;
}

static void creds_clear(BusCreds *c) {
        for (size_t i = 0; i < CREDS_BUCKETS; i++)
                while (c->buckets[i]) {
                        CredsEntry *e = c->buckets[i];
                        c->buckets[i] = e->next;
                        free(e);
                }
        c->n_entries = 0;
}

static void creds_forget(BusCreds *c, const char *name) {
        for (CredsEntry **p = &c->buckets[hash_name(name)]; *p; p = &(*p)->next)
                if (streq((*p)->name, name)) {
                        CredsEntry *e = *p;
                        *p = e->next;
                        free(e);
                        c->n_entries--;
                        return;
                }
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
        /* Synchronous: the match is in place before xferd takes its name and reads a call. */
        r = sd_bus_match_signal(bus, &c->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, c);
        if (r < 0) {
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
        return c->n_entries;
}

int bus_creds_get_uid(BusCreds *c, sd_bus_message *m, uid_t *ret) {
        const char *sender;
        sd_bus_creds *creds = NULL;
        CredsEntry *e;
        unsigned h = 0;
        size_t n;
        uid_t uid;
        int r;

        assert(c);
        assert(m);
        assert(ret);

        sender = sd_bus_message_get_sender(m);
        if (sender) {
                h = hash_name(sender);
                for (e = c->buckets[h]; e; e = e->next)
                        if (streq(e->name, sender)) {
                                *ret = e->uid;
                                return 0;
                        }
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
        if (c->n_entries >= CREDS_MAX_ENTRIES)
                creds_clear(c);
        n = strlen(sender);
        e = malloc(sizeof *e + n + 1);
        if (!e)
                return 0;       /* Not cached: the next call asks the bus again. */
        e->uid = uid;
        memcpy(e->name, sender, n + 1);
        e->next = c->buckets[h];
        c->buckets[h] = e;
        c->n_entries++;
        return 0;
}
