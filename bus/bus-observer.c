/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "bus-errors.h"
#include "bus-out.h"
#include "bus-rows.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

static Bus *job_bus(Job *j) {
        return manager_get_observer_userdata(j->manager);
}

static void observer_job_changed(Manager *m, Job *j, unsigned changes) {
        char *names[40];
        size_t n = 0;

#define ADD(s) names[n++] = (char *) (s)
        if (changes & JOB_CHANGE_STATE) {
                ADD("State");
                ADD("ModificationTime");
                ADD("TransferCompletionTime");
                ADD("ErrorName");
                ADD("ErrorMessage");
                ADD("ErrorCount");
                ADD("NextRetryTime");
        }
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_FILES)) {
                ADD("BytesTransferred");
                ADD("BytesTotal");
                ADD("FilesTransferred");
                ADD("FilesTotal");
                ADD("CurrentFile");
                ADD("Rate");
                ADD("ExpectedEndTime");
                ADD("BytesFromCache");
                ADD("BytesFromOrigin");
        }
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_WAIT))
                ADD("WaitReason");
        if (changes & JOB_CHANGE_SETTINGS) {
                ADD("Priority");
                ADD("CostPolicy");
                ADD("AutoComplete");
                ADD("BandwidthLimit");
                ADD("AllowInsecureRedirect");
                ADD("MinimumRetryDelay");
                ADD("NoProgressTimeout");
                ADD("MinimumNotificationInterval");
                ADD("HttpHeaderNames");
                ADD("CancelWhenOwnerGone");
                ADD("Proxy");
                ADD("MaxConcurrentFiles");
        }
        if (changes & JOB_CHANGE_UPLOAD_URL)
                ADD("UploadUrl");
        if (changes & JOB_CHANGE_TEXT) {
                ADD("DisplayName");
                ADD("Description");
        }
#undef ADD
        names[n] = NULL;
        if (n > 0)
                bus_job_changed_emit(job_bus(j), j, names);
}

static int build_job_new(sd_bus *bus, const Job *j, const char *path, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &s, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew");
        if (r >= 0)
                r = bus_append_known_text(s, j->id, NULL);
        if (r >= 0)
                r = sd_bus_message_append_basic(s, 'o', path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* JobNew whole into the batch's buffer (bus-out.h); -ENOBUFS when it does not go there. */
static int out_job_new(Bus *b, const Job *j, const char *path) {
        static const BusOutField f[] = {
                { BUS_OUT_FIELD_PATH, 'o', XFERD_MANAGER_PATH, 0 },
                { BUS_OUT_FIELD_INTERFACE, 's', XFERD_MANAGER_IFACE, 0 },
                { BUS_OUT_FIELD_MEMBER, 's', "JobNew", 0 },
                { BUS_OUT_FIELD_SIGNATURE, 'g', "so", 0 },
        };
        static BusOutFixed fixed = BUS_OUT_FIXED(f);
        BusRows w;
        int r;

        r = bus_out_begin(b, SD_BUS_MESSAGE_SIGNAL, &fixed, NULL, 0, 16 + strlen(j->id) + strlen(path), &w);
        if (r < 0)
                return r;
        wire_text(&w, j->id);
        wire_text(&w, path);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_job_new(b->bus, j, path, &m) < 0)
                        abort();
                bus_out_check_last(b, "JobNew", m);
        }
        return 0;
}

static void observer_job_new(Manager *m, Job *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL, *n = NULL;
        Bus *b = job_bus(j);
        BusJobPath path = bus_job_path(j);
        int r;

        /* Into the batch's buffer, or through sd-bus after it. It carries what the job's state
         * change would (bus-job-added.c): the job's first PropertiesChanged leaves out what
         * stayed zero since. */
        r = bus_job_added_out(b, path.s, j);
        if (r < 0) {
                bus_out_flush(b);
                r = bus_job_added_new(b->bus, path.s, j, &s);
                if (r >= 0)
                        r = sd_bus_send(b->bus, s, NULL);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit InterfacesAdded for job %s", j->id);
        }
        j->zero_told = r >= 0 ? bus_job_zero_told_all(j) : 0;

        if (out_job_new(b, j, path.s) >= 0)
                return;
        bus_out_flush(b);
        r = build_job_new(b->bus, j, path.s, &n);
        if (r >= 0)
                r = sd_bus_send(b->bus, n, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobNew for job %s", j->id);
}

static void observer_job_transferred(Manager *m, Job *j) {
        int r;

        bus_out_flush(job_bus(j));
        r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_IFACE, "Transferred", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit Transferred for job %s", j->id);
}

static void observer_job_failed(Manager *m, Job *j) {
        char buf[128];
        int r;

        bus_out_flush(job_bus(j));
        r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_IFACE, "Failed", "ss",
                                   bus_job_error_name(j, buf, sizeof buf), strempty(j->error_summary));
        if (r < 0)
                log_warning_errno(r, "Failed to emit Failed for job %s", j->id);
}

static int build_job_removed(sd_bus *bus, const Job *j, const char *path, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &s, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobRemoved");
        if (r >= 0)
                r = sd_bus_message_append(s, "sos", j->id, path, job_state_to_string(j->state));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* JobRemoved whole into the buffer (bus-out.h) when it is open; -ENOBUFS otherwise. */
static int out_job_removed(Bus *b, const Job *j, const char *path) {
        static const BusOutField f[] = {
                { BUS_OUT_FIELD_PATH, 'o', XFERD_MANAGER_PATH, 0 },
                { BUS_OUT_FIELD_INTERFACE, 's', XFERD_MANAGER_IFACE, 0 },
                { BUS_OUT_FIELD_MEMBER, 's', "JobRemoved", 0 },
                { BUS_OUT_FIELD_SIGNATURE, 'g', "sos", 0 },
        };
        static BusOutFixed fixed = BUS_OUT_FIXED(f);
        const char *state = job_state_to_string(j->state);
        BusRows w;
        int r;

        r = bus_out_begin(b, SD_BUS_MESSAGE_SIGNAL, &fixed, NULL, 0, 24 + strlen(j->id) + strlen(path) + strlen(state),
                          &w);
        if (r < 0)
                return r;
        wire_text(&w, j->id);
        wire_text(&w, path);
        wire_text(&w, state);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_job_removed(b->bus, j, path, &m) < 0)
                        abort();
                bus_out_check_last(b, "JobRemoved", m);
        }
        return 0;
}

static void observer_job_removed(Manager *m, Job *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        Bus *b = job_bus(j);
        BusJobPath path = bus_job_path(j);
        int r;

        if (out_job_removed(b, j, path.s) >= 0)
                return;
        bus_out_flush(b);
        r = build_job_removed(b->bus, j, path.s, &s);
        if (r >= 0)
                r = sd_bus_send(b->bus, s, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobRemoved for job %s", j->id);
}

static void observer_job_gone(Manager *m, Job *j) {
        int r;

        bus_out_flush(job_bus(j));
        r = sd_bus_emit_object_removed(job_bus(j)->bus, bus_job_path(j).s);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for job %s", j->id);
}

static void observer_network_changed(Manager *m) {
        Bus *b = manager_get_observer_userdata(m);
        int r;

        bus_out_flush(b);
        r = sd_bus_emit_properties_changed(b->bus, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "NetworkSource",
                                               "NetworkMetered", "NetworkConnectivity", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for the network");
}

/* The batch's signals and replies into one buffer, sent once its replies are in (bus-out.h). */
static void observer_batch_closing(Manager *m) {
        bus_out_open(manager_get_observer_userdata(m));
}

static void observer_batch_closed(Manager *m, int r, const CallError *e) {
        bus_batch_closed(manager_get_observer_userdata(m), r, e);
}

/* A Cancel's signals and reply into one buffer, sent after the reply (bus-out.h). */
static void observer_unlinked_begin(Manager *m) {
        bus_out_open(manager_get_observer_userdata(m));
}

static void observer_unlinked_end(Manager *m) {
        bus_out_flush(manager_get_observer_userdata(m));
}

static void observer_idle_changed(Manager *m, bool idle) {
        Bus *b = manager_get_observer_userdata(m);

        /* What the batch's buffer holds goes before whatever the daemon's idleness sends. */
        bus_out_flush(b);
        if (b->idle_changed)
                b->idle_changed(b->idle_userdata, idle);
}

const ManagerObserver bus_observer_template = {
        .idle_changed = observer_idle_changed,
        .batch_closing = observer_batch_closing,
        .unlinked_begin = observer_unlinked_begin,
        .unlinked_end = observer_unlinked_end,
        .batch_closed = observer_batch_closed,
        .network_changed = observer_network_changed,
        .job_new = observer_job_new,
        .job_changed = observer_job_changed,
        .job_transferred = observer_job_transferred,
        .job_failed = observer_job_failed,
        .job_removed = observer_job_removed,
        .job_gone = observer_job_gone,
};
