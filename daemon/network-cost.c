/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-bus.h>

#include "bus-dict.h"
#include "log.h"
#include "network-cost.h"
#include "util.h"

#define NM_NAME "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"
#define NM_INTERFACE "org.freedesktop.NetworkManager"

/* Only the bus driver's news about NetworkManager's name, and only NetworkManager's own
 * property changes of its main object: nothing else on the system bus reaches us. */
#define OWNER_RULE                                                                              \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"             \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" NM_NAME "'"
#define PROPERTIES_RULE                                                                         \
        "type='signal',sender='" NM_NAME "',path='" NM_PATH "',"                                \
        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',arg0='" NM_INTERFACE "'"

struct NetworkCost {
        sd_event *event;
        sd_bus *bus;                    /* the system bus, between start and stop */
        bool started;                   /* between start and stop, connected or not */
        sd_bus_slot *question;          /* the one call in flight: GetNameOwner or GetAll */
        char *owner;                    /* NetworkManager's unique name while it has one */
        NetworkView view;
        NetworkView logged;             /* what the log said last, so it says each view once */
        bool said_absent;               /* "no NetworkManager" is said once per daemon */
        NetworkCostChanged changed;
        void *userdata;
};

int network_cost_new(sd_event *event, NetworkCostChanged changed, void *userdata, NetworkCost **ret) {
        NetworkCost *c;

        assert(event);
        assert(changed);
        assert(ret);

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->changed = changed;
        c->userdata = userdata;
        c->view.source = NETWORK_SOURCE_NOT_WATCHING;
        c->logged.source = NETWORK_SOURCE_NOT_WATCHING;
        *ret = c;
        return 0;
}

static void disconnect(NetworkCost *c) {
        /* The question first: a pending call holds a reference on the bus. The matches are
         * floating, owned by the bus, and go with it. */
        c->question = sd_bus_slot_unref(c->question);
        c->bus = sd_bus_close_unref(c->bus);
        c->owner = mfree(c->owner);
}

NetworkCost *network_cost_free(NetworkCost *c) {
        if (!c)
                return NULL;
        disconnect(c);
        sd_event_unref(c->event);
        return mfree(c);
}

static bool view_equal(const NetworkView *a, const NetworkView *b) {
        if (a->source != b->source)
                return false;
        if (a->source != NETWORK_SOURCE_NETWORKMANAGER)
                return true;
        return a->metered == b->metered && a->connectivity == b->connectivity;
}

static void log_view(NetworkCost *c, const char *why) {
        const NetworkView *v = &c->view;

        if (view_equal(v, &c->logged))
                return;
        if (v->source == NETWORK_SOURCE_NETWORKMANAGER) {
                log_info("NetworkManager says: metered %s, connectivity %s.", network_metered_to_string(v->metered),
                         network_connectivity_to_string(v->connectivity));
                c->logged = *v;
        } else if (v->source == NETWORK_SOURCE_ABSENT) {
                /* The rule without NetworkManager is how xferd always behaved: said once, not
                 * every time a job makes us look. */
                if (!c->said_absent || c->logged.source == NETWORK_SOURCE_NETWORKMANAGER)
                        log_info("%s: the network counts as unmetered, its connectivity as unknown.", why);
                c->said_absent = true;
                c->logged = *v;
        }
}

/* Applies a new view and tells the owner, when it changed. */
static void set_view(NetworkCost *c, const NetworkView *v, const char *why) {
        NetworkView before = c->view;

        c->view = *v;
        log_view(c, why);
        if (!view_equal(&before, v))
                c->changed(c->userdata, &before);
}

static void set_absent(NetworkCost *c, const char *why) {
        c->question = sd_bus_slot_unref(c->question);
        c->owner = mfree(c->owner);
        set_view(c, &(NetworkView) { .source = NETWORK_SOURCE_ABSENT }, why);
}

static int read_property(sd_bus_message *m, const char *key, void *userdata) {
        NetworkView *v = userdata;
        uint32_t u = 0;
        int r;

        bool metered = streq(key, "Metered"), connectivity = streq(key, "Connectivity");
        if (!metered && !connectivity)
                return 0;
        /* A value of the wrong type is left to be skipped, and counts as unknown (0). */
        r = sd_bus_message_read(m, "v", "u", &u);
        if (r < 0 && r != -ENXIO)
                return r;
        if (metered)
                v->metered = network_metered_from_uint(u);
        else
                v->connectivity = network_connectivity_from_uint(u);
        return 0;
}

/* Reads Metered and Connectivity out of an a{sv}; other properties are skipped. A message
 * without the dictionary is malformed. */
static int read_properties(sd_bus_message *m, NetworkView *v) {
        int r;

        r = bus_dict_read(m, read_property, v);
        return r < 0 ? r : r == 0 ? -EBADMSG : 0;
}

static int on_get_all(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        NetworkCost *c = userdata;
        NetworkView v = {
                .source = NETWORK_SOURCE_NETWORKMANAGER,
                .metered = NETWORK_METERED_UNKNOWN,
                .connectivity = NETWORK_CONNECTIVITY_UNKNOWN,
        };
        const sd_bus_error *e;
        int r;

        c->question = sd_bus_slot_unref(c->question);
        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("Cannot read NetworkManager's properties: %s", e->message ? e->message : e->name);
                set_absent(c, "Without NetworkManager's properties");
                return 0;
        }
        r = read_properties(reply, &v);
        if (r < 0) {
                log_warning_errno(r, "Cannot parse NetworkManager's properties");
                set_absent(c, "Without NetworkManager's properties");
                return 0;
        }
        set_view(c, &v, NULL);
        return 0;
}

static void ask_properties(NetworkCost *c) {
        int r;

        c->question = sd_bus_slot_unref(c->question);
        /* Held back until the answer: for a moment nothing starts, rather than something
         * starting on a metered network. */
        if (c->view.source != NETWORK_SOURCE_ASKING)
                set_view(c, &(NetworkView) { .source = NETWORK_SOURCE_ASKING }, NULL);
        r = sd_bus_call_method_async(c->bus, &c->question, c->owner, NM_PATH, "org.freedesktop.DBus.Properties",
                                     "GetAll", on_get_all, c, "s", NM_INTERFACE);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask NetworkManager for its properties");
                set_absent(c, "Without NetworkManager's properties");
        }
}

static int set_owner(NetworkCost *c, const char *owner) {
        if (isempty(owner)) {
                bool was_there = c->owner || c->view.source == NETWORK_SOURCE_NETWORKMANAGER;
                set_absent(c, was_there ? "NetworkManager left the system bus"
                                        : "NetworkManager is not on the system bus");
                return 0;
        }
        if (free_and_strdup(&c->owner, owner) < 0) {
                set_absent(c, "Out of memory while watching NetworkManager");
                return -ENOMEM;
        }
        ask_properties(c);
        return 0;
}

static int on_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        NetworkCost *c = userdata;
        const sd_bus_error *e;
        const char *owner = NULL;

        c->question = sd_bus_slot_unref(c->question);
        e = sd_bus_message_get_error(reply);
        if (e) {
                if (!sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.NameHasNoOwner"))
                        log_debug("GetNameOwner(" NM_NAME ") failed: %s", e->message ? e->message : e->name);
                return set_owner(c, NULL);
        }
        if (sd_bus_message_read(reply, "s", &owner) < 0)
                owner = NULL;
        return set_owner(c, owner);
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        NetworkCost *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, NM_NAME))
                return 0;
        if (streq_ptr(new_owner, c->owner))
                return 0;
        log_debug("NetworkManager's name moved from '%s' to '%s'.", old_owner, new_owner);
        return set_owner(c, new_owner);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        NetworkCost *c = userdata;
        NetworkView v = c->view;
        const char *interface;
        char **invalidated = NULL;
        int r;

        /* Only from the owner we asked; and while the answer to GetAll is on its way it
         * already holds this change (NetworkManager sent the signal before the reply). */
        if (!c->owner || !streq_ptr(sd_bus_message_get_sender(m), c->owner) ||
            c->view.source != NETWORK_SOURCE_NETWORKMANAGER)
                return 0;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || !streq(interface, NM_INTERFACE))
                return 0;
        r = read_properties(m, &v);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &invalidated);
        if (r < 0) {
                log_debug_errno(r, "Ignoring a malformed PropertiesChanged from NetworkManager");
                return 0;
        }
        bool lost = strv_contains_case(invalidated, "Metered") || strv_contains_case(invalidated, "Connectivity");
        strv_free(invalidated);
        if (lost)
                ask_properties(c);
        else
                set_view(c, &v, NULL);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        NetworkCost *c = userdata;

        /* The closed connection stays until network_cost_stop(); it has no event sources
         * left. The next start connects again. */
        set_absent(c, "Lost the connection to the system bus");
        return 0;
}

static int on_match_installed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Cannot follow NetworkManager's changes: %s", e->message ? e->message : e->name);
        return 0;
}

static int connect_and_ask(NetworkCost *c) {
        int r;

        r = sd_bus_open_system_with_description(&c->bus, "network-cost");
        if (r < 0)
                return r;
        r = sd_bus_attach_event(c->bus, c->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* sd-bus makes this signal itself when the connection goes: a local match, nothing
         * is sent to the bus for it. */
        r = sd_bus_match_signal(c->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r < 0)
                return r;
        /* Matches before the question, on one connection: the bus handles them in order, so
         * no change between the answer and the matches can be missed. */
        r = sd_bus_add_match_async(c->bus, NULL, OWNER_RULE, on_owner_changed, on_match_installed, c);
        if (r < 0)
                return r;
        r = sd_bus_add_match_async(c->bus, NULL, PROPERTIES_RULE, on_properties_changed, on_match_installed, c);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(c->bus, &c->question, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetNameOwner", on_name_owner, c, "s", NM_NAME);
}

void network_cost_start(NetworkCost *c) {
        int r;

        assert(c);
        if (c->started)
                return;
        /* Started even when the connection fails: a missing system bus is not asked again
         * on every change of a job, only at the next start. */
        c->started = true;
        c->view = (NetworkView) { .source = NETWORK_SOURCE_ASKING };
        r = connect_and_ask(c);
        if (r < 0) {
                char why[128];

                disconnect(c);
                c->view = (NetworkView) { .source = NETWORK_SOURCE_ABSENT };
                snprintf(why, sizeof why, "Cannot connect to the system bus (%s)", strerror(-r));
                log_view(c, why);
        }
}

void network_cost_stop(NetworkCost *c) {
        assert(c);
        disconnect(c);
        c->started = false;
        c->view = (NetworkView) { .source = NETWORK_SOURCE_NOT_WATCHING };
}

bool network_cost_is_started(const NetworkCost *c) {
        assert(c);
        return c->started;
}

const NetworkView *network_cost_view(const NetworkCost *c) {
        assert(c);
        return &c->view;
}
