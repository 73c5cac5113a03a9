/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CancelWhenOwnerGone on the bus. A job is bound to the connection that asked for it (the
 * option of CreateJob and Download, or a write of the property), by the connection's unique
 * name. Unique names are never reused while a bus runs, but a restarted dbus-daemon hands out
 * ":1.42" again: the binding is "<bus id>/<unique name>", and a binding of another bus never
 * matches a name of this one.
 *
 * The departure of a name comes from bus-creds.c's one NameOwnerChanged match for all callers
 * (no match per job or per client), installed before xferd reads a call: a name's calls are
 * always handled before the signal that it left, so a job bound by a client that leaves at
 * once is still cancelled. The job is cancelled at once, with Cancel's guarantees; there is no
 * grace period, since a new connection could not take the binding over anyway.
 *
 * Bindings are stored with the job. A name that left while xferd did not run sent its signal
 * to nobody: after the stored jobs are loaded, each bound job's name is looked up once. */
#include <stdio.h>

#include "bus.h"
#include "log.h"

int bus_owner_binding(Bus *b, sd_bus_message *m, char **ret) {
        const char *sender;

        assert(b);
        assert(m);
        assert(ret);

        sender = sd_bus_message_get_sender(m);
        if (isempty(sender) || sender[0] != ':')
                return -EINVAL;
        return asprintf(ret, "%s/%s", b->bus_id, sender) < 0 ? -ENOMEM : 0;
}

static void on_name_gone(const char *unique_name, void *userdata) {
        Bus *b = userdata;
        char binding[128];
        unsigned n;

        if (snprintf(binding, sizeof binding, "%s/%s", b->bus_id, unique_name) >= (int) sizeof binding)
                return;  /* longer than any binding made here */
        n = manager_client_gone(b->manager, binding);
        if (n > 0)
                log_debug("%s left the bus: cancelled %u job(s) bound to it.", unique_name, n);
}

int bus_owner_install(Bus *b) {
        sd_id128_t id;
        int r;

        assert(b);
        assert(b->creds);

        r = sd_bus_get_bus_id(b->bus, &id);
        if (r < 0)
                return log_error_errno(r, "Failed to learn the bus id");
        sd_id128_to_string(id, b->bus_id);
        bus_creds_set_name_gone(b->creds, on_name_gone, b);
        return 0;
}

typedef struct OwnerCheck {
        Bus *bus;
        char *binding;
} OwnerCheck;

static void owner_check_free(void *userdata) {
        OwnerCheck *c = userdata;

        free(c->binding);
        free(c);
}

static int on_name_owner(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        OwnerCheck *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        /* Gone, and its NameOwnerChanged went to an xferd that was not there. Any other error
         * leaves the job alone: a binding is only ever dropped for a name known to be gone. */
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                unsigned n = manager_client_gone(c->bus->manager, c->binding);
                log_debug("%s left the bus while xferd did not run: cancelled %u job(s).", c->binding, n);
        } else if (e)
                log_warning("Cannot look up %s: %s", c->binding, e->message);
        return 0;
}

static bool binding_of_this_bus(const Bus *b, const char *binding) {
        size_t n = strlen(b->bus_id);

        return strncmp(binding, b->bus_id, n) == 0 && binding[n] == '/';
}

int bus_owner_check_stored(Bus *b) {
        Job *j;
        int r;

        assert(b);

        if (!manager_has_bindings(b->manager))
                return 0;
        /* Bindings of an earlier bus first: those connections are gone for sure. Cancelled jobs
         * leave the queue, so each cancellation starts the walk over. */
        do {
                for (j = manager_first_job(b->manager); j; j = job_next(j))
                        if (j->cancel_with && !binding_of_this_bus(b, j->cancel_with))
                                break;
                if (j) {
                        log_job_info(j->id, j->owner, NULL, "Bound to a connection of an earlier bus: cancelling.");
                        (void) manager_client_gone(b->manager, j->cancel_with);
                }
        } while (j);

        for (j = manager_first_job(b->manager); j; j = job_next(j)) {
                _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
                OwnerCheck *c;

                if (!j->cancel_with)
                        continue;
                c = calloc(1, sizeof *c);
                if (!c || !(c->binding = strdup(j->cancel_with))) {
                        free(c);
                        return log_oom();
                }
                c->bus = b;
                r = sd_bus_call_method_async(b->bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetNameOwner", on_name_owner, c, "s",
                                             strchr(c->binding, '/') + 1);
                if (r < 0) {
                        owner_check_free(c);
                        return log_error_errno(r, "Failed to look up the connection of job %s", j->id);
                }
                (void) sd_bus_slot_set_destroy_callback(slot, owner_check_free);
                r = sd_bus_slot_set_floating(slot, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to look up the connection of job %s", j->id);
        }
        return 0;
}
