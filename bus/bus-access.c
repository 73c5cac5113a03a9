/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus.h"

int bus_access_get_caller_uid(Bus *b, sd_bus_message *m, uid_t *ret) {
        assert(b);
        assert(m);
        assert(ret);

        return bus_creds_get_uid(b->creds, m, ret);
}

bool bus_access_caller_is_privileged(Bus *b, uid_t uid) {
        assert(b);

        /* On the session bus the daemon's own user administers it. */
        return uid == 0 || (!b->system && uid == getuid());
}

int bus_access_check_job(Bus *b, sd_bus_message *m, const Job *j, sd_bus_error *error) {
        uid_t uid;
        int r;

        assert(b);
        assert(m);
        assert(j);

        r = bus_access_get_caller_uid(b, m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot determine the caller's user: %s", strerror(-r));
        if (uid != 0 && uid != j->owner)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Job %s belongs to another user; only its owner or root may use it.", j->id);
        return 0;
}
