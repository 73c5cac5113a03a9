/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what: a job's owner uses the job; root (on a session bus, the daemon's own
 * user) and administrators polkit authorizes (bus-polkit.c) may use every job and change the
 * daemon's settings. */
#include <string.h>

#include "bus.h"

int bus_access_get_caller_uid(Bus *b, sd_bus_message *m, uid_t *ret) {
        assert(b);
        assert(m);
        assert(ret);

        return bus_creds_get_uid(b->creds, m, ret);
}

int bus_access_get_caller(Bus *b, sd_bus_message *m, BusCaller *ret) {
        assert(b);
        assert(m);
        assert(ret);

        return bus_creds_get_caller(b->creds, m, ret);
}

static bool uid_is_privileged(Bus *b, uid_t uid) {
        /* On the session bus the daemon's own user administers it. */
        return uid == 0 || (!b->system && uid == getuid());
}

bool bus_access_is_admin(Bus *b, sd_bus_message *m, uid_t uid) {
        assert(b);

        return uid_is_privileged(b, uid) || bus_polkit_authorized(b->polkit, m);
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
        if (uid != 0 && uid != j->owner && !bus_polkit_authorized(b->polkit, m))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Job %s belongs to another user; only its owner, root or an "
                                         "administrator polkit allows (org.xferd.Transfer1.manage-all) may use it.",
                                         j->id);
        return 0;
}

/* Reads the first argument of m if it has the type `type`, and rewinds m for its handler. */
static bool peek_first(sd_bus_message *m, char type, void *ret) {
        int r = sd_bus_message_read_basic(m, type, ret);

        (void) sd_bus_message_rewind(m, true);
        return r > 0;
}

static BusAction job_action(Bus *b, const char *id, uid_t uid) {
        const Job *j = manager_find_job(b->manager, id);

        return j && j->owner != uid ? BUS_ACTION_MANAGE_ALL : BUS_ACTION_NONE;
}

BusAction bus_access_needed_action(Bus *b, sd_bus_message *m) {
        const char *path, *s;
        uid_t uid;
        int all;

        assert(b);
        assert(m);

        /* A session bus has one administrator, its user; polkit is the system's. */
        if (!b->system || bus_access_get_caller_uid(b, m, &uid) < 0 || uid == 0)
                return BUS_ACTION_NONE;
        path = sd_bus_message_get_path(m);
        if (!path)
                return BUS_ACTION_NONE;

        if (strncmp(path, XFERD_JOB_PATH_PREFIX, strlen(XFERD_JOB_PATH_PREFIX)) == 0)
                return job_action(b, path + strlen(XFERD_JOB_PATH_PREFIX), uid);
        if (!streq(path, XFERD_MANAGER_PATH))
                return BUS_ACTION_NONE;

        if (sd_bus_message_is_method_call(m, XFERD_MANAGER_IFACE, "ListJobs") ||
            sd_bus_message_is_method_call(m, XFERD_MANAGER_IFACE, "ListJobsCompact"))
                return peek_first(m, 'b', &all) && all ? BUS_ACTION_MANAGE_ALL : BUS_ACTION_NONE;
        if (sd_bus_message_is_method_call(m, XFERD_MANAGER_IFACE, "GetJob"))
                return peek_first(m, 's', &s) ? job_action(b, s, uid) : BUS_ACTION_NONE;
        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"))
                return BUS_ACTION_MANAGE_ALL;
        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Set"))
                return peek_first(m, 's', &s) && streq(s, XFERD_MANAGER_IFACE) ? BUS_ACTION_CONFIGURE
                                                                                 : BUS_ACTION_NONE;
        return BUS_ACTION_NONE;
}
