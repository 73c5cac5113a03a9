/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "util.h"
#include "xferd.h"

struct Xferd {
        sd_bus *bus;
        XferdState state;
        char *unavailable_reason;
        XferdFeatures features;
        sd_bus_slot *probe;
        sd_bus_slot *match_properties;
        sd_bus_slot *match_owner;
        uint64_t start_timeout_usec;
        const XferdHandlers *handlers;
        void *userdata;
};

Xferd *xferd_free(Xferd *x) {
        if (!x)
                return NULL;
        sd_bus_slot_unref(x->probe);
        sd_bus_slot_unref(x->match_properties);
        sd_bus_slot_unref(x->match_owner);
        sd_bus_flush_close_unref(x->bus);
        free(x->unavailable_reason);
        return mfree(x);
}

XferdState xferd_state(const Xferd *x) {
        assert(x);
        return x->state;
}

const char *xferd_unavailable_reason(const Xferd *x) {
        assert(x);
        return x->unavailable_reason;
}

sd_bus *xferd_bus(const Xferd *x) {
        assert(x);
        return x->bus;
}

XferdFeatures *xferd_features(Xferd *x) {
        assert(x);
        return &x->features;
}

static bool xml_has(const char *xml, const char *kind, const char *name) {
        char needle[128];

        snprintf(needle, sizeof needle, "<%s name=\"%s\"", kind, name);
        return strstr(xml, needle) != NULL;
}

void xferd_features_from_xml(XferdFeatures *f, const char *xml) {
        assert(f);
        assert(xml);

        *f = (XferdFeatures) {
                .owner_option_refused = f->owner_option_refused,
                .known = true,
                .add_file_with_options = xml_has(xml, "method", "AddFileWithOptions"),
                .cost_policy = xml_has(xml, "property", "CostPolicy"),
                .cancel_when_owner_gone = xml_has(xml, "property", "CancelWhenOwnerGone"),
        };
}

static void set_unavailable(Xferd *x, const char *fmt, ...) _printf_(2, 3);
static void set_unavailable(Xferd *x, const char *fmt, ...) {
        char *why = NULL;
        va_list ap;

        x->state = XFERD_UNAVAILABLE;
        va_start(ap, fmt);
        if (vasprintf(&why, fmt, ap) >= 0) {
                free(x->unavailable_reason);
                x->unavailable_reason = why;
        }
        va_end(ap);
        x->handlers->unavailable(strempty(x->unavailable_reason), x->userdata);
}

static int on_probe(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Xferd *x = userdata;
        const sd_bus_error *e;

        x->probe = sd_bus_slot_unref(x->probe);
        if (!sd_bus_message_is_method_error(m, NULL)) {
                x->state = XFERD_READY;
                x->handlers->ready(x->userdata);
                return 0;
        }
        e = sd_bus_message_get_error(m);
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT)) {
                char secs[32];

                snprintf(secs, sizeof secs, "%llu", (unsigned long long) (x->start_timeout_usec / 1000000));
                set_unavailable(x, "xferd (org.xferd.Transfer1 on the system bus) did not answer within %s s "
                                "(Acquire::xferd::StartTimeout)", secs);
        } else if (failure_is_unavailable(e->name))
                set_unavailable(x, "xferd (org.xferd.Transfer1 on the system bus) cannot be reached or started: %s",
                                strempty(e->message));
        else
                /* It answered, if only to refuse: it is there. */
                set_unavailable(x, "xferd refused the first call: %s", strempty(e->message));
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Xferd *x = userdata;
        const char *path = sd_bus_message_get_path(m);

        if (path && strncmp(path, XFERD_JOB_PATH_PREFIX, strlen(XFERD_JOB_PATH_PREFIX)) == 0)
                x->handlers->job_changed(path, m, x->userdata);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Xferd *x = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, XFERD_BUS_NAME))
                return 0;
        if (isempty(new_owner) && x->state == XFERD_READY)
                x->handlers->daemon_gone(x->userdata);
        return 0;
}

/* Connects x to the system bus and asks for xferd. What cannot be reached leaves x unavailable
 * (set_unavailable(), and 0): only a failure of the method's own is an error. */
static int xferd_connect(Xferd *x, sd_event *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_open_system(&x->bus);
        if (r < 0) {
                set_unavailable(x, "cannot connect to the system bus: %s", strerror(-r));
                return 0;
        }
        (void) sd_bus_set_description(x->bus, "xferd");
        r = sd_bus_attach_event(x->bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        /* Before any job exists, so that no change of ours can be missed. The bus handles the
         * AddMatch calls before the calls that follow on this connection. */
        r = sd_bus_add_match_async(x->bus, &x->match_properties, XFERD_MATCH_JOB_PROPERTIES,
                                   on_properties_changed, NULL, x);
        if (r >= 0)
                r = sd_bus_add_match_async(x->bus, &x->match_owner, XFERD_MATCH_OWNER_CHANGED,
                                           on_owner_changed, NULL, x);
        if (r < 0)
                return r;

        /* A harmless read that starts xferd by activation, with a deadline of its own: only
         * once it is answered do jobs get created, so a late activation cannot leave a job
         * nobody knows about. */
        r = sd_bus_message_new_method_call(x->bus, &call, XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                           "org.freedesktop.DBus.Properties", "Get");
        if (r >= 0)
                r = sd_bus_message_append(call, "ss", XFERD_MANAGER_IFACE, "Version");
        if (r >= 0)
                r = sd_bus_call_async(x->bus, &x->probe, call, on_probe, x, x->start_timeout_usec);
        if (r < 0)
                set_unavailable(x, "cannot call xferd on the system bus: %s", strerror(-r));
        return 0;
}

int xferd_new(Xferd **ret, sd_event *e, uint64_t start_timeout_usec, const XferdHandlers *h, void *userdata) {
        _cleanup_(xferd_freep) Xferd *x = NULL;
        int r;

        assert(ret);
        assert(e);
        assert(h);

        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->state = XFERD_CONNECTING;
        x->handlers = h;
        x->userdata = userdata;
        x->start_timeout_usec = start_timeout_usec;
        r = xferd_connect(x, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(x);
        return 0;
}
