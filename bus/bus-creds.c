/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's uid, cached per unique bus name. Asking the bus driver costs a synchronous
 * round trip per call; a unique name is never reused while the bus runs, so its uid cannot
 * change, and the entry goes when the name does: one NameOwnerChanged match per cached name
 * (arg0), so the daemon hears only of its own clients leaving, not of every bus client. */
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "log.h"

typedef struct CredsEntry {
        struct CredsEntry *next;
        struct BusCreds *owner;
        sd_bus_slot *match;
        uid_t uid;
        char name[];
} CredsEntry;

#define CREDS_BUCKETS 256

struct BusCreds {
        sd_bus *bus;
        CredsEntry *buckets[CREDS_BUCKETS];
};

static unsigned hash_name(const char *s) {
        unsigned h = 5381;

        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h % CREDS_BUCKETS;
}

static void entry_free(CredsEntry *e) {
        sd_bus_slot_unref(e->match);
        free(e);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        CredsEntry *entry = userdata;
        BusCreds *c = entry->owner;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !isempty(new_owner))
                return 0;
        for (CredsEntry **p = &c->buckets[hash_name(entry->name)]; *p; p = &(*p)->next)
                if (*p == entry) {
                        *p = entry->next;
                        entry_free(entry);
                        break;
                }
        return 0;
}

int bus_creds_new(sd_bus *bus, BusCreds **ret) {
        BusCreds *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->bus = bus;
        *ret = c;
        return 0;
}

BusCreds *bus_creds_free(BusCreds *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < CREDS_BUCKETS; i++)
                while (c->buckets[i]) {
                        CredsEntry *e = c->buckets[i];
                        c->buckets[i] = e->next;
                        entry_free(e);
                }
        free(c);
        return NULL;
}

int bus_creds_get_uid(BusCreds *c, sd_bus_message *m, uid_t *ret) {
        const char *sender = sd_bus_message_get_sender(m);
        sd_bus_creds *creds = NULL;
        CredsEntry *e;
        unsigned h;
        uid_t uid;
        int r;

        if (c && sender) {
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

        if (c && sender) {
                size_t n = strlen(sender);
                char match[256];

                e = calloc(1, sizeof *e + n + 1);
                if (!e)
                        goto done;
                e->owner = c;
                e->uid = uid;
                memcpy(e->name, sender, n + 1);
                snprintf(match, sizeof match,
                         "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                         "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", sender);
                /* Without the match the entry could outlive its name: do not cache then. */
                if (sd_bus_add_match_async(c->bus, &e->match, match, on_name_owner_changed, NULL, e) < 0) {
                        free(e);
                        goto done;
                }
                e->next = c->buckets[h];
                c->buckets[h] = e;
        }
done:
        *ret = uid;
        return 0;
}
