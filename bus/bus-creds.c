/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's uid and groups, cached per unique bus name; a unique name is never reused while
 * the bus runs, so its uid cannot change while the name lives.
 *
 * The loop never waits for the bus driver. A bus filter, before anything else reads the
 * caller, holds back each method call whose sender is not cached yet, asks the driver
 * asynchronously (GetConnectionCredentials), and with the answer queues the held calls for
 * reading again, in their order: each then passes the filter and its handler finds the answer.
 * While the bus reads none of xferd's messages (dbus-daemon stops reading a connection once
 * max_incoming_bytes of its messages wait at their receivers, which a client that leaves its
 * replies unread brings about) the question waits in xferd's queue, and the new caller's calls
 * with it, while every transfer and every known caller goes on. Calls of a sender arriving
 * while its question is out join its held calls (bounded in number and in bytes, of a sender
 * and of all, else LimitsExceeded at once); a failed lookup refuses each with
 * AccessDenied.
 *
 * Entries go when their name does. One NameOwnerChanged match, installed once before the
 * first call can arrive, serves every caller: the bus resources of xferd never grow with the
 * number of callers (dbus-daemon allows a connection a few hundred match rules and closes it
 * past that), and no match can be left behind by a caller that leaves before a per-caller
 * match would have been installed. Because the match exists before any call is read, the
 * signal for a name that leaves is always seen after that name's calls; a signal that comes
 * while the name's calls are held is held too, and queued again behind them, so the core hears
 * of the departure (CancelWhenOwnerGone) only after those calls ran, and no entry outlives its
 * name.
 *
 * The groups are the connection's, as the bus driver recorded them when it connected
 * (dbus-daemon's and dbus-broker's UnixGroupIDs): what the caller itself may use, which a
 * re-read of the user database would not tell (a group added since, one the caller dropped).
 * sd-bus does not read UnixGroupIDs, so the driver is asked directly; a driver without
 * GetConnectionCredentials is asked GetConnectionUnixUser (the uid only). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "hashmap.h"
#include "log.h"

typedef struct CredsEntry {
        uid_t uid;
        int n_groups;           /* < 0: the bus did not say */
        gid_t *groups;
        char name[];            /* the key */
} CredsEntry;

/* A sender whose credentials the driver is being asked for, and its calls held meanwhile. */
typedef struct CredsLookup {
        BusCreds *owner;
        sd_bus_slot *slot;              /* the question in flight, NULL once answered */
        bool uid_only;                  /* the question is GetConnectionUnixUser */
        bool answered;
        CredsEntry *entry;              /* the answer (cached once the last held call passed) */
        sd_bus_message **calls;         /* held, in order; NULL where one was dropped */
        size_t *sizes;                  /* the bytes of each (bus_message_size()) */
        size_t n_calls, allocated, allocated_sizes;
        size_t bytes;                   /* of the calls held */
        size_t next;                    /* once answered, calls[next] is the next to pass */
        sd_bus_message *gone;           /* the sender's NameOwnerChanged, held behind its calls */
        bool gone_queued;               /* ... and queued for reading again behind them */
        char name[];                    /* the key */
} CredsLookup;

/* Live connections are bounded by the bus (dbus-daemon's default is a few thousand): this only
 * caps memory should a bus allow more. Past it the cache starts over. */
#define CREDS_MAX_ENTRIES 16384

/* Calls held for one sender's answer: as many as dbus-daemon lets a system bus client have
 * awaiting replies (max_replies_per_connection); and for all senders at once. Held messages
 * are memory a caller chose, for as long as the bus keeps the answer back: their bytes are
 * bounded too (a sender's first held call and the first held of all pass whatever their size,
 * up to the bus's largest message, so that any call can wait). */
#define CREDS_MAX_HELD 128
#define CREDS_MAX_HELD_ALL 1024
#define CREDS_MAX_HELD_BYTES ((size_t) 16 * 1024 * 1024)
#define CREDS_MAX_HELD_BYTES_ALL ((size_t) 64 * 1024 * 1024)

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *match;
        sd_bus_slot *filter;
        Hashmap *entries;       /* CredsEntry by unique name */
        Hashmap *lookups;       /* CredsLookup by unique name */
        size_t n_held;          /* calls held by all lookups */
        size_t held_bytes;      /* their bytes */
        BusCredsNameGone name_gone;
        void *name_gone_userdata;
        BusCredsHeldLater held_later;
        void *held_later_userdata;
};

static CredsEntry *creds_entry_new(const char *name) {
        size_t n = strlen(name);
        CredsEntry *e = calloc(1, sizeof *e + n + 1);

        if (!e)
                return NULL;
        e->n_groups = -1;
        memcpy(e->name, name, n + 1);
        return e;
}

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

static void creds_cache(BusCreds *c, CredsEntry *e) {
        if (hashmap_size(c->entries) >= CREDS_MAX_ENTRIES)
                creds_clear(c);
        if (hashmap_put(c->entries, e->name, e) < 0)
                creds_entry_free(e);  /* asked again with the sender's next call */
}

/* The name left the bus: nothing of it is kept, and the core is told. */
static void creds_name_left(BusCreds *c, const char *name) {
        creds_entry_free(hashmap_remove(c->entries, name));
        if (c->name_gone)
                c->name_gone(name, c->name_gone_userdata);
}

/* Drops a held call (its reply, if any, sent already). */
static void lookup_drop_call(CredsLookup *l, size_t i) {
        if (!l->calls[i])
                return;
        l->calls[i] = sd_bus_message_unref(l->calls[i]);
        l->owner->n_held--;
        l->owner->held_bytes -= l->sizes[i];
        l->bytes -= l->sizes[i];
}

static CredsLookup *lookup_free(CredsLookup *l) {
        if (!l)
                return NULL;
        (void) hashmap_remove(l->owner->lookups, l->name);
        sd_bus_slot_unref(l->slot);
        for (size_t i = 0; i < l->n_calls; i++)
                lookup_drop_call(l, i);
        free(l->calls);
        free(l->sizes);
        sd_bus_message_unref(l->gone);
        creds_entry_free(l->entry);
        return mfree(l);
}

/* The held departure, behind the held calls queued already. */
static void lookup_queue_gone(CredsLookup *l) {
        int r = sd_bus_enqueue_for_read(l->owner->bus, l->gone);

        if (r < 0)
                log_warning_errno(r, "Cannot queue the departure of %s behind its calls; told before its last one",
                                  l->name);
        l->gone_queued = r >= 0;
}

/* Past the dropped calls; whether a held call is still to pass. */
static bool lookup_skip_dropped(CredsLookup *l) {
        while (l->next < l->n_calls && !l->calls[l->next])
                l->next++;
        return l->next < l->n_calls;
}

/* The answered lookup is done once no held call is left to pass: the answer goes to the
 * cache, for the handler of the call that passed last. A departure that could not be queued
 * is told now instead, and nothing is cached: that call finds no uid and is refused (its
 * caller is gone anyway). */
static void lookup_done(CredsLookup *l) {
        BusCreds *c = l->owner;

        if (l->gone && !l->gone_queued)
                creds_name_left(c, l->name);
        else
                creds_cache(c, TAKE_PTR(l->entry));
        lookup_free(l);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusCreds *c = userdata;
        const char *name, *old_owner, *new_owner;
        CredsLookup *l;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        /* Only unique names leaving matter: well-known names come and go with their owners. */
        if (name[0] != ':' || !isempty(new_owner))
                return 0;

        /* Calls of the name still held: their handlers run first, then this signal again. */
        l = hashmap_get(c->lookups, name);
        if (l && l->gone != m) {
                if (l->gone)
                        return 0;
                l->gone = sd_bus_message_ref(m);
                if (l->answered)
                        lookup_queue_gone(l);
                return 0;
        }
        creds_name_left(c, name);
        return 0;
}

static int on_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* Asks the driver about the lookup's sender. */
static int lookup_ask(CredsLookup *l, bool uid_only) {
        l->uid_only = uid_only;
        return bus_driver_ask_creds(l->owner->bus, &l->slot, l->name, uid_only, on_answer, l);
}

/* No answer: every held call is refused, and a held departure told. */
static void lookup_failed(CredsLookup *l, const char *why) {
        log_debug("Cannot learn the user of %s from the bus (%s): refusing its held calls.", l->name, why);
        for (size_t i = 0; i < l->n_calls; i++)
                if (l->calls[i])
                        (void) sd_bus_reply_method_errorf(l->calls[i], SD_BUS_ERROR_ACCESS_DENIED,
                                                          "The bus did not tell the caller's user: %s", why);
        if (l->gone)
                creds_name_left(l->owner, l->name);
        lookup_free(l);
}

/* The answer is in: the held calls, then a held departure, are queued for reading again. */
static void lookup_answered(CredsLookup *l) {
        BusCreds *c = l->owner;
        int r;

        l->answered = true;
        if (l->n_calls > 1)
                log_debug("The user of %s is known: %zu calls held meanwhile go on.", l->name, l->n_calls);
        for (size_t i = 0; i < l->n_calls; i++) {
                if (!l->calls[i])
                        continue;
                r = sd_bus_enqueue_for_read(c->bus, l->calls[i]);
                if (r < 0) {
                        log_warning_errno(r, "Cannot dispatch a call held for its caller's credentials");
                        (void) sd_bus_reply_method_errorf(l->calls[i], SD_BUS_ERROR_NO_MEMORY,
                                                          "The call could not be dispatched.");
                        lookup_drop_call(l, i);
                }
        }
        if (!lookup_skip_dropped(l)) {
                /* Nothing will pass the filter: the departure now, if any. */
                if (l->gone)
                        creds_name_left(c, l->name);
                else
                        creds_cache(c, TAKE_PTR(l->entry));
                lookup_free(l);
                return;
        }
        if (l->gone)
                lookup_queue_gone(l);
}

static int on_answer(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CredsLookup *l = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        l->slot = sd_bus_slot_unref(l->slot);
        if (!e) {
                r = bus_driver_read_creds(reply, l->uid_only, &l->entry->uid, &l->entry->n_groups,
                                          &l->entry->groups);
                if (r >= 0) {
                        lookup_answered(l);
                        return 0;
                }
                log_debug_errno(r, "The bus's credentials of %s cannot be read", l->name);
        }
        /* A driver without GetConnectionCredentials (or without a uid in its answer) may know
         * the uid another way. */
        if (!l->uid_only && (!e || sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))) {
                r = lookup_ask(l, true);
                if (r < 0)
                        lookup_failed(l, strerror(-r));
                return 0;
        }
        lookup_failed(l, e ? e->message : "no uid in its answer");
        return 0;
}

static int lookup_start(BusCreds *c, const char *sender, CredsLookup **ret) {
        size_t n = strlen(sender);
        CredsLookup *l;
        int r;

        l = calloc(1, sizeof *l + n + 1);
        if (!l)
                return -ENOMEM;
        l->owner = c;
        memcpy(l->name, sender, n + 1);
        l->entry = creds_entry_new(sender);
        if (!l->entry) {
                free(l);
                return -ENOMEM;
        }
        r = hashmap_put(c->lookups, l->name, l);
        if (r < 0) {
                creds_entry_free(l->entry);
                free(l);
                return r;
        }
        r = lookup_ask(l, false);
        if (r < 0) {
                lookup_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

/* Holds m until the answer (queued for reading again at once when it is in already), or
 * refuses it past the bounds. */
static int lookup_hold(CredsLookup *l, sd_bus_message *m) {
        BusCreds *c = l->owner;
        size_t room = SIZE_MAX, size = 0;
        int r;

        if (l->n_calls - l->next < CREDS_MAX_HELD && c->n_held < CREDS_MAX_HELD_ALL) {
                /* A sender's first held call, and the first of all, may be as large as any. */
                if (l->bytes > 0)
                        room = l->bytes < CREDS_MAX_HELD_BYTES ? CREDS_MAX_HELD_BYTES - l->bytes : 0;
                if (c->held_bytes > 0) {
                        size_t all = c->held_bytes < CREDS_MAX_HELD_BYTES_ALL ? CREDS_MAX_HELD_BYTES_ALL - c->held_bytes : 0;
                        room = all < room ? all : room;
                }
                size = bus_message_size(m, room);
        }
        if (l->n_calls - l->next >= CREDS_MAX_HELD || c->n_held >= CREDS_MAX_HELD_ALL || size > room)
                return sd_bus_reply_method_errorf(
                        m, SD_BUS_ERROR_LIMITS_EXCEEDED,
                        "Too many calls before xferd learned the caller's user from the bus; try again later.");
        r = array_reserve((void **) &l->calls, &l->allocated, l->n_calls + 1, sizeof *l->calls);
        if (r < 0)
                return r;
        r = array_reserve((void **) &l->sizes, &l->allocated_sizes, l->n_calls + 1, sizeof *l->sizes);
        if (r < 0)
                return r;
        if (l->answered) {
                r = sd_bus_enqueue_for_read(c->bus, m);
                if (r < 0)
                        return r;
        }
        l->sizes[l->n_calls] = size;
        l->calls[l->n_calls++] = sd_bus_message_ref(m);
        c->n_held++;
        c->held_bytes += size;
        l->bytes += size;
        return 0;
}

/* Whether m is the held call whose turn it is; then it passes, and after the last one the
 * lookup is done. */
static bool lookup_pass(CredsLookup *l, sd_bus_message *m) {
        if (!l->answered || l->next >= l->n_calls || l->calls[l->next] != m)
                return false;
        lookup_drop_call(l, l->next++);
        /* (A held departure is queued behind m, and forgets the entry after m ran.) */
        if (!lookup_skip_dropped(l))
                lookup_done(l);
        return true;
}

static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusCreds *c = userdata;
        CredsLookup *l;
        const char *sender;
        uint8_t type;
        int r;

        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        /* Without a unique name nobody can be asked about: the handlers refuse what needs a uid. */
        sender = sd_bus_message_get_sender(m);
        if (!sender || sender[0] != ':')
                return 0;

        l = hashmap_size(c->lookups) > 0 ? hashmap_get(c->lookups, sender) : NULL;
        if (l && lookup_pass(l, m))
                return 0;
        if (!l && hashmap_get(c->entries, sender))
                return 0;
        /* Passed here before, and held by a later filter since (polkit), whose caller left
         * meanwhile (or whose entry went otherwise): that filter must see it again, whatever
         * this one does with the sender's other calls; the handlers refuse what needs a uid. */
        if (c->held_later && c->held_later(m, c->held_later_userdata))
                return 0;
        if (!l) {
                r = lookup_start(c, sender, &l);
                if (r < 0) {
                        log_warning_errno(r, "Cannot ask the bus for the user of %s", sender);
                        return 0;  /* the handlers refuse what needs a uid */
                }
        }
        r = lookup_hold(l, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot hold a call of %s for its credentials", sender);
                (void) sd_bus_reply_method_errorf(m, SD_BUS_ERROR_NO_MEMORY, "The call could not be held.");
        }
        if (l->n_calls == 0)
                lookup_free(l);  /* its first call refused: asked again with the next */
        return 1;
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
        c->lookups = hashmap_new();
        if (!c->entries || !c->lookups)
                return -ENOMEM;
        r = bus_driver_match_name_owner_changed(bus, &c->match, on_name_owner_changed, c);
        if (r < 0)
                return r;
        r = sd_bus_add_filter(bus, &c->filter, on_filter, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

BusCreds *bus_creds_free(BusCreds *c) {
        size_t i = 0;
        void *l;

        if (!c)
                return NULL;
        sd_bus_slot_unref(c->filter);
        /* Each lookup leaves the map as it goes: the walk starts over. */
        while (c->lookups && hashmap_iterate(c->lookups, &i, &l)) {
                lookup_free(l);
                i = 0;
        }
        hashmap_free(c->lookups);
        if (c->entries)
                creds_clear(c);
        hashmap_free(c->entries);
        sd_bus_slot_unref(c->match);
        return mfree(c);
}

void bus_creds_set_name_gone(BusCreds *c, BusCredsNameGone cb, void *userdata) {
        assert(c);
        c->name_gone = cb;
        c->name_gone_userdata = userdata;
}

void bus_creds_set_held_later(BusCreds *c, BusCredsHeldLater cb, void *userdata) {
        assert(c);
        c->held_later = cb;
        c->held_later_userdata = userdata;
}

bool bus_creds_holds_calls(const BusCreds *c) {
        return c && hashmap_size(c->lookups) > 0;
}

int bus_creds_get_caller(BusCreds *c, sd_bus_message *m, BusCaller *ret) {
        const char *sender;
        CredsEntry *e = NULL;
        CredsLookup *l;

        assert(c);
        assert(m);
        assert(ret);

        /* The filter held the call until its sender was known: a look into memory, never a
         * question to the bus. */
        sender = sd_bus_message_get_sender(m);
        if (sender) {
                e = hashmap_get(c->entries, sender);
                l = e ? NULL : hashmap_get(c->lookups, sender);
                if (l && l->answered)
                        e = l->entry;  /* its held calls are passing */
        }
        if (!e)
                return -ENODATA;
        *ret = (BusCaller) { .uid = e->uid, .n_groups = e->n_groups, .groups = e->groups };
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
