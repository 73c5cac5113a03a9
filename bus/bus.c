/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-out.h"
#include "bus.h"
#include "log.h"

static bool held_by_polkit(sd_bus_message *m, void *userdata) {
        Bus *b = userdata;

        return bus_polkit_holds(b->polkit, m);
}

int bus_install(Bus *b) {
        ManagerObserver o = bus_observer_template;
        int r;

        assert(b);
        assert(b->bus);
        assert(b->manager);

        if (b->system) {
                r = bus_polkit_new(b, &b->polkit);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up polkit checks");
        }
        /* After polkit's: sd-bus runs the filter added last first, and polkit's asks who the
         * caller is, which the credentials' filter makes known. */
        r = bus_creds_new(b->bus, &b->creds);
        if (r < 0)
                return log_error_errno(r, "Failed to watch bus names");
        if (b->polkit)
                bus_creds_set_held_later(b->creds, held_by_polkit, b);
        r = bus_owner_install(b);
        if (r < 0)
                return r;
        r = bus_batch_new(b, &b->batch);
        if (r < 0)
                return log_error_errno(r, "Failed to set up batched replies");
        r = bus_out_new(&b->out);
        if (r < 0)
                return log_oom();
        r = sd_bus_add_object_vtable(b->bus, NULL, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                     bus_manager_vtable, b);
        if (r < 0)
                return log_error_errno(r, "Failed to install the Manager object");
        r = sd_bus_add_fallback_vtable(b->bus, NULL, XFERD_JOB_PATH_ROOT, XFERD_JOB_IFACE,
                                       bus_job_vtable, bus_job_find, b);
        if (r < 0)
                return log_error_errno(r, "Failed to install the job objects");
        r = sd_bus_add_node_enumerator(b->bus, NULL, XFERD_JOB_PATH_ROOT, bus_job_enumerate, b);
        if (r < 0)
                return log_error_errno(r, "Failed to install the job enumerator");
        r = sd_bus_add_object_manager(b->bus, NULL, XFERD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to install the object manager");
        r = sd_bus_add_object(b->bus, NULL, XFERD_MANAGER_PATH, bus_objects_guard, b);
        if (r < 0)
                return log_error_errno(r, "Failed to install the object manager's guard");

        o.userdata = b;
        manager_set_observer(b->manager, &o);
        return 0;
}

void bus_uninstall(Bus *b) {
        assert(b);

        /* The manager, freed first, closed its batch: no reply is kept any more. */
        b->batch = bus_batch_free(b->batch);
        b->out = bus_out_free(b->out);
        b->polkit = bus_polkit_free(b->polkit);
        b->creds = bus_creds_free(b->creds);
}

bool bus_holds_calls(const Bus *b) {
        assert(b);

        return bus_creds_holds_calls(b->creds) || bus_polkit_holds_calls(b->polkit);
}
