/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "job-watch.h"
#include "names.h"
#include "util.h"

/* A daemon that keeps dying would otherwise be restarted by activation forever. */
#define MAX_RESTARTS 3

struct JobWatch {
        sd_bus *bus;
        char *path;
        JobStatus status;
        bool ready;             /* the first read is in */
        bool daemon_gone;
        unsigned restarts;
        unsigned pending;       /* changes held back until the read in flight is in */

        sd_bus_slot *match_properties;
        sd_bus_slot *match_owner;
        sd_bus_slot *get_all;

        JobWatchHandler handler;
        void *userdata;
};

static void watch_fail(JobWatch *w, int r, const sd_bus_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (!error || !sd_bus_error_is_set(error)) {
                sd_bus_error_set_errno(&e, r < 0 ? r : -EIO);
                error = &e;
        }
        w->handler(w, &w->status, 0, error, w->userdata);
}

static int on_get_all(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWatch *w = userdata;
        unsigned changed;
        bool first = !w->ready;
        int r;

        w->get_all = sd_bus_slot_unref(w->get_all);

        if (sd_bus_message_is_method_error(m, NULL)) {
                watch_fail(w, -sd_bus_message_get_errno(m), sd_bus_message_get_error(m));
                return 0;
        }

        r = job_status_read_dict(&w->status, m, &changed);
        if (r < 0) {
                watch_fail(w, r, NULL);
                return 0;
        }

        w->ready = true;
        /* The first read tells everything; later ones what differs, plus what the signals
         * that asked for this read changed. */
        changed |= w->pending;
        w->pending = 0;
        if (first)
                changed = JOB_FIELDS_KNOWN;
        changed &= ~(unsigned) JOB_FIELD_OTHER;
        if (changed)
                w->handler(w, &w->status, changed, NULL, w->userdata);
        return 0;
}

/* (Re)reads every property. A read still in flight may predate the change that made us ask
 * again, so it is dropped in favour of the new one. */
static int watch_refresh(JobWatch *w) {
        w->get_all = sd_bus_slot_unref(w->get_all);
        return sd_bus_call_method_async(w->bus, &w->get_all, XFERD_BUS_NAME, w->path,
                                        "org.freedesktop.DBus.Properties", "GetAll",
                                        on_get_all, w, "s", XFERD_JOB_IFACE);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWatch *w = userdata;
        unsigned changed = 0, invalidated = 0;
        int r;

        r = job_status_read_changed(&w->status, m, &changed, &invalidated);
        if (r < 0) {
                watch_fail(w, r, NULL);
                return 0;
        }
        if (r == 0)
                return 0;

        changed &= ~(unsigned) JOB_FIELD_OTHER;

        /* A followed property that comes as a bare invalidation must be read. xferd sends
         * ErrorMessage that way (it names URLs and paths, which broadcast signals must not
         * carry), together with the State it belongs to. In an error state hold the whole
         * change back until the read is in, so "error" is never reported without its
         * message; in other states the message is empty and not worth a read. */
        if ((invalidated & (JOB_FIELD_STATE | JOB_FIELD_PROGRESS | JOB_FIELD_WAIT)) ||
            ((invalidated & JOB_FIELD_ERROR) && job_state_has_error(w->status.state))) {
                w->pending |= changed;
                r = watch_refresh(w);
                if (r < 0)
                        watch_fail(w, r, NULL);
                return 0;
        }
        /* A read is already on its way for an earlier change: keep the order, report both
         * together. */
        if (w->get_all && w->pending) {
                w->pending |= changed;
                return 0;
        }

        /* Before the first read completes, only collect: the read reports everything. */
        if (w->ready && changed)
                w->handler(w, &w->status, changed, NULL, w->userdata);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobWatch *w = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, XFERD_BUS_NAME))
                return 0;

        if (isempty(new_owner)) {
                w->daemon_gone = true;
                /* xferd only exits by itself when no job needs it. If ours did, it crashed
                 * or was stopped: ask again, which starts it by activation, and it recovers
                 * its stored jobs — or we learn that the job is gone. An idle exit with our
                 * job suspended or in error is normal; wait for xferd to come back. */
                if (!job_state_is_active(w->status.state))
                        return 0;
                if (++w->restarts > MAX_RESTARTS) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        sd_bus_error_set(&e, SD_BUS_ERROR_NO_SERVER,
                                         "xferd exited repeatedly while working on the job");
                        watch_fail(w, -ESRCH, &e);
                        return 0;
                }
        } else {
                if (!w->daemon_gone)
                        return 0;
                w->daemon_gone = false;
        }

        r = watch_refresh(w);
        if (r < 0)
                watch_fail(w, r, NULL);
        return 0;
}

int job_watch_new(JobWatch **ret, sd_bus *bus, const char *path, JobWatchHandler handler, void *userdata) {
        _cleanup_(job_watch_freep) JobWatch *w = NULL;
        int r;

        assert(ret);
        assert(bus);
        assert(path);
        assert(handler);

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->status = (JobStatus) JOB_STATUS_INIT;
        w->bus = sd_bus_ref(bus);
        w->handler = handler;
        w->userdata = userdata;
        w->path = strdup(path);
        if (!w->path)
                return -ENOMEM;

        /* Synchronous matches: once they return, the bus delivers every later signal. */
        r = sd_bus_match_signal(bus, &w->match_properties, XFERD_BUS_NAME, path,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                on_properties_changed, w);
        if (r < 0)
                return r;

        r = sd_bus_add_match(bus, &w->match_owner, XFERD_MATCH_OWNER_CHANGED, on_owner_changed, w);
        if (r < 0)
                return r;

        r = watch_refresh(w);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}

JobWatch *job_watch_free(JobWatch *w) {
        if (!w)
                return NULL;
        sd_bus_slot_unref(w->match_properties);
        sd_bus_slot_unref(w->match_owner);
        sd_bus_slot_unref(w->get_all);
        sd_bus_unref(w->bus);
        job_status_done(&w->status);
        free(w->path);
        return mfree(w);
}

const JobStatus *job_watch_status(const JobWatch *w) {
        assert(w);

        return &w->status;
}
