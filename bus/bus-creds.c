/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's uid, cached per unique bus name. Asking the bus driver costs a synchronous
 * round trip per call; a unique name is never reused while the bus runs, so its uid cannot
 * change, and the entry goes when the name does (NameOwnerChanged). */
#include <string.h>

#include "bus.h"
#include "log.h"

typedef struct CredsEntry {
        struct CredsEntry *next;
        uid_t uid;
        char name[];
} CredsEntry;

#define CREDS_BUCKETS 256

struct BusCreds {
        CredsEntry *buckets[CREDS_BUCKETS];
        sd_bus_slot *match;
};

static unsigned hash_name(const char *s) {
        unsigned h = 5381;

        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h % CREDS_BUCKETS;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusCreds *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] != ':' || !isempty(new_owner))
                return 0;
        for (CredsEntry **p = &c->buckets[hash_name(name)]; *p; p = &(*p)->next)
                if (streq((*p)->name, name)) {
                        CredsEntry *e = *p;
                        *p = e->next;
                        free(e);
                        break;
                }
        return 0;
}

int bus_creds_new(sd_bus *bus, BusCreds **ret) {
        BusCreds *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        r = sd_bus_match_signal_async(bus, &c->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed,
                                      NULL, c);
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
        for (size_t i = 0; i < CREDS_BUCKETS; i++)
                while (c->buckets[i]) {
                        CredsEntry *e = c->buckets[i];
                        c->buckets[i] = e->next;
                        free(e);
                }
        sd_bus_slot_unref(c->match);
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
                e = malloc(sizeof *e + n + 1);
                if (e) {
                        e->uid = uid;
                        memcpy(e->name, sender, n + 1);
                        e->next = c->buckets[h];
                        c->buckets[h] = e;
                }
        }
        *ret = uid;
        return 0;
}
