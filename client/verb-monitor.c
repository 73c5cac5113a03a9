/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor [JOB]: print job changes as they happen, from JobNew, JobRemoved and
 * PropertiesChanged. The matches are installed before the first listing is asked for, so
 * nothing between the two is missed.
 *
 * Signals are broadcast, so other users' jobs show up too. Without --all only jobs whose
 * properties we may read are shown: a job first seen in a signal is read once (GetAll),
 * and shown from then on if that worked. */

#include <errno.h>
#include <stdio.h>
#include <sys/signalfd.h>

#include "bus-dict.h"
#include "job-json.h"
#include "job-list.h"
#include "job-id.h"
#include "job-status.h"
#include "json.h"
#include "monitor.h"
#include "names.h"
#include "report.h"
#include "bus-json.h"
#include "util.h"
#include "xferctl.h"

/* Ends `monitor JOB` once the job is final. */
static void check_final(Monitor *m, MonitorJob *j) {
        if (m->only_id && streq(j->id, m->only_id) && job_state_is_final(j->status.state))
                monitor_exit(m, EXIT_SUCCESS);
}

static int display_name_entry(sd_bus_message *m, const char *key, void *userdata) {
        if (!streq(key, "DisplayName") || sd_bus_message_verify_type(m, 'v', "s") <= 0)
                return 0;
        return bus_dict_read_string(m, userdata);
}

/* The DisplayName in an a{sv} of Job properties (only sent on request, never in signals). */
static int read_display_name(sd_bus_message *reply, char **name) {
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        return bus_dict_read(reply, display_name_entry, name);
}

/* After JobRemoved: its line, then the end of `monitor JOB`, or forgetting the job. j may be
 * freed. */
static void show_removed(Monitor *m, MonitorJob *j, const char *final_state) {
        if (m->json) {
                monitor_print_json_begin(m, "JobRemoved", j);
                json_member_string(m->json, "FinalState", final_state);
                monitor_print_json_end(m);
        } else
                monitor_print_line(j, "removed (%s)", final_state);

        if (m->only_id)
                monitor_exit(m, EXIT_SUCCESS);
        else
                monitor_remove(m, j);
}

static int on_job_read(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        MonitorJob *j = userdata;
        Monitor *m = j->monitor;
        const char *event = j->is_new ? "JobNew" : "Snapshot";
        bool first = j->access == ACCESS_UNKNOWN || j->is_new;
        unsigned changed = 0;
        int r;

        j->read = sd_bus_slot_unref(j->read);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                if (m->only_id) {
                        /* The one job we were asked for: not being able to read it is the end. */
                        report_bus_error(sd_bus_message_get_error(reply), -sd_bus_message_get_errno(reply),
                                         "cannot read job %s", j->id);
                        monitor_exit(m, EXIT_FAILURE);
                        return 0;
                }
                /* Someone else's job (AccessDenied), or already gone. With --all it is still
                 * shown, from what the signals carry. */
                if (j->access == ACCESS_UNKNOWN)
                        j->access = ACCESS_DENIED;
                if (j->is_new && m->ctl->all) {
                        if (m->json) {
                                monitor_print_json_begin(m, event, j);
                                monitor_print_json_end(m);
                        } else
                                monitor_print_line(j, "new job");
                }
                j->is_new = false;
                return 0;
        }

        r = job_status_read_dict(&j->status, reply, &changed);
        if (r >= 0)
                r = read_display_name(reply, &j->name);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot read the properties of job %s", j->id);
                monitor_exit(m, EXIT_FAILURE);
                return 0;
        }
        j->access = ACCESS_ALLOWED;

        if (m->json) {
                r = sd_bus_message_rewind(reply, true);
                if (r < 0)
                        return 0;
                monitor_print_json_begin(m, event, j);
                json_key(m->json, "Properties");
                (void) job_json_append_properties(m->json, reply);
                monitor_print_json_end(m);
        } else if (first)
                monitor_print_snapshot(j, j->is_new ? "new job" : "");
        else if (j->pending)
                /* The change that made us read, now with the values that were only
                 * invalidated (xferd sends ErrorMessage so). */
                monitor_print_changes(j, j->pending_old_state, (j->pending | changed) & ~(unsigned) JOB_FIELD_OTHER);
        j->is_new = false;
        j->pending = 0;
        free(j->pending_old_state);
        j->pending_old_state = NULL;

        if (j->removed_state) {
                _cleanup_free_ char *final_state = TAKE_PTR(j->removed_state);
                show_removed(m, j, final_state);
                return 0;
        }
        check_final(m, j);
        return 0;
}

/* Reads all properties of a job: for its name, its owner (may we?) or a value sent only as
 * an invalidation. A read in flight is replaced. */
static void monitor_job_read(MonitorJob *j) {
        Monitor *m = j->monitor;
        int r;

        j->read = sd_bus_slot_unref(j->read);
        r = sd_bus_call_method_async(m->ctl->bus, &j->read, XFERD_BUS_NAME, j->path, "org.freedesktop.DBus.Properties",
                                     "GetAll", on_job_read, j, "s", XFERD_JOB_IFACE);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot read job %s", j->id);
                monitor_exit(m, EXIT_FAILURE);
        }
}

/* The job with this id, tracked from now on; out of memory ends the monitor. */
static MonitorJob *track(Monitor *m, const char *id) {
        MonitorJob *j = monitor_add(m, id);

        if (!j) {
                report_error(-ENOMEM, "out of memory");
                monitor_exit(m, EXIT_FAILURE);
        }
        return j;
}

static int on_job_new(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *id, *path;
        MonitorJob *j;

        if (sd_bus_message_read(msg, "so", &id, &path) < 0 || m->done)
                return 0;
        if (m->only_id && !streq(id, m->only_id))
                return 0;

        j = track(m, id);
        if (!j)
                return 0;

        /* Shown once read: "new job, queued, 0 B / 10.0 MiB (0%)" — and only if we may read
         * it (or with --all). */
        j->is_new = true;
        monitor_job_read(j);
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *id, *path, *final_state;
        MonitorJob *j;

        if (sd_bus_message_read(msg, "sos", &id, &path, &final_state) < 0 || m->done)
                return 0;
        j = monitor_find(m, id);
        if (!j || !monitor_shows(m, j))
                return 0;

        if (j->read && j->pending) {
                /* The change before it is still being read: show that first. */
                if (free_and_strdup(&j->removed_state, final_state) < 0)
                        show_removed(m, j, final_state);
                return 0;
        }
        show_removed(m, j, final_state);
        return 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        _cleanup_free_ char *old_state = NULL;
        unsigned changed = 0, invalidated = 0;
        const char *id;
        MonitorJob *j;
        bool hold;
        int r;

        if (m->done)
                return 0;
        id = job_id_from_path(sd_bus_message_get_path(msg));
        if (!id || (m->only_id && !streq(id, m->only_id)))
                return 0;

        j = track(m, id);
        if (!j)
                return 0;
        if (j->status.state) {
                old_state = strdup(j->status.state);
                if (!old_state)
                        return -ENOMEM;
        }

        r = job_status_read_changed(&j->status, msg, &changed, &invalidated);
        if (r <= 0)
                return 0;

        /* A job we have not read yet: the read shows its state once it is in, and tells
         * whether we may see it. */
        if (j->access == ACCESS_UNKNOWN) {
                if (!j->read)
                        monitor_job_read(j);
                return 0;
        }
        /* xferd sends ErrorMessage only as an invalidation (it names URLs): an error state
         * is shown once a read brings its message. A change behind such a read waits for it
         * too, to keep the order. */
        hold = j->access == ACCESS_ALLOWED &&
               ((invalidated & (JOB_FIELD_STATE | JOB_FIELD_PROGRESS)) ||
                ((invalidated & JOB_FIELD_ERROR) && job_state_has_error(j->status.state)));
        if (hold || (j->read && j->pending)) {
                if (!j->pending && old_state)
                        j->pending_old_state = TAKE_PTR(old_state);
                j->pending |= changed;
                changed = 0;
        }
        /* DisplayName and Description only announce that they changed: read the name for
         * later lines. */
        if (hold || (j->access == ACCESS_ALLOWED && (invalidated & JOB_FIELD_OTHER)))
                monitor_job_read(j);

        if (!monitor_shows(m, j))
                return 0;

        if (m->json) {
                r = sd_bus_message_rewind(msg, true);
                if (r >= 0)
                        r = sd_bus_message_skip(msg, "s");
                if (r < 0)
                        return 0;
                monitor_print_json_begin(m, "PropertiesChanged", j);
                json_key(m->json, "Properties");
                (void) job_json_append_properties(m->json, msg);
                json_key(m->json, "Invalidated");
                (void) bus_json_append(m->json, msg);
                monitor_print_json_end(m);
        } else if (changed)
                monitor_print_changes(j, old_state, changed);

        /* With a read in flight, its reply shows the rest and ends a finished `monitor JOB`. */
        if (!j->pending)
                check_final(m, j);
        return 0;
}

static int on_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || m->done ||
            !streq(name, XFERD_BUS_NAME))
                return 0;

        if (m->json) {
                monitor_print_json_begin(m, isempty(new_owner) ? "ServiceStopped" : "ServiceStarted", NULL);
                monitor_print_json_end(m);
        } else
                /* xferd exits when idle and is started again on demand: worth a line, not an
                 * error. */
                monitor_print_line(NULL, "xferd %s", isempty(new_owner) ? "exited" : "started");
        return 0;
}

static int snapshot_listed(const JobListEntry *e, void *userdata) {
        Monitor *m = userdata;
        MonitorJob *j = monitor_add(m, e->id);

        if (!j || free_and_strdup(&j->name, e->name) < 0 || free_and_strdup(&j->status.state, e->state) < 0)
                return -ENOMEM;
        j->status.bytes_transferred = e->bytes_transferred;
        j->status.bytes_total = e->bytes_total;
        j->access = ACCESS_ALLOWED;

        if (m->json) {
                monitor_print_json_begin(m, "Snapshot", j);
                json_key(m->json, "Properties");
                json_begin_object(m->json);
                job_list_json_members(m->json, e);
                json_end_object(m->json);
                monitor_print_json_end(m);
        } else
                monitor_print_snapshot(j, "");
        return 0;
}

static int on_list_jobs(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int list_jobs(Monitor *m, const char *method) {
        m->listing = method;
        return sd_bus_call_method_async(m->ctl->bus, &m->initial, XFERD_BUS_NAME, XFERD_MANAGER_PATH,
                                        XFERD_MANAGER_IFACE, method, on_list_jobs, m, "b", m->ctl->all);
}

static int on_list_jobs(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Monitor *m = userdata;
        const char *fallback;
        int r;

        m->initial = sd_bus_slot_unref(m->initial);
        fallback = job_list_fallback(m->listing, sd_bus_message_get_error(reply));
        if (fallback && list_jobs(m, fallback) >= 0)
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                report_bus_error(sd_bus_message_get_error(reply), -sd_bus_message_get_errno(reply), "cannot list jobs");
                monitor_exit(m, EXIT_FAILURE);
                return 0;
        }

        r = job_list_read(reply, snapshot_listed, m);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot read the reply of ListJobs");
                monitor_exit(m, EXIT_FAILURE);
        }
        return 0;
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        /* Ctrl-C is how monitoring all jobs ends: not a failure. */
        monitor_exit(userdata, EXIT_SUCCESS);
        return 0;
}

static int monitor_match(Monitor *m, size_t slot, const char *path, const char *iface, const char *member,
                         sd_bus_message_handler_t handler) {
        return sd_bus_match_signal(m->ctl->bus, &m->slots[slot], XFERD_BUS_NAME, path, iface, member, handler, m);
}

int verb_monitor(Ctl *c, int argc, char **argv) {
        _cleanup_(monitor_done) Monitor m = { .ctl = c, .only_id = c->job_id, .only_path = c->job_path };
        int r;

        assert(c);
        assert(argv);

        if (c->json) {
                m.json = json_writer_new(stdout, false);
                if (!m.json)
                        return report_error(-ENOMEM, "out of memory");
        }

        r = ctl_handle_signals(c, on_signal, &m);
        if (r < 0)
                return r;

        /* Matches first (synchronously), the initial listing after. */
        r = monitor_match(&m, 0, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobNew", on_job_new);
        if (r >= 0)
                r = monitor_match(&m, 1, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "JobRemoved", on_job_removed);
        if (r >= 0) {
                if (m.only_path)
                        r = monitor_match(&m, 2, m.only_path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                          on_properties_changed);
                else
                        /* Every job: path_namespace is not expressible with sd_bus_match_signal(). */
                        r = sd_bus_add_match(c->bus, &m.slots[2], XFERD_MATCH_JOB_PROPERTIES,
                                             on_properties_changed, &m);
        }
        if (r >= 0)
                r = sd_bus_add_match(c->bus, &m.slots[3], XFERD_MATCH_OWNER_CHANGED, on_owner_changed, &m);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot subscribe to xferd's signals");

        if (m.only_id) {
                MonitorJob *j = monitor_add(&m, m.only_id);

                if (!j)
                        return report_error(-ENOMEM, "out of memory");
                monitor_job_read(j);
        } else {
                r = list_jobs(&m, JOB_LIST_METHOD);
                if (r < 0)
                        return report_bus_error(NULL, r, "cannot list jobs");
        }

        r = sd_event_loop(c->event);
        if (r < 0)
                return report_bus_error(NULL, r, "event loop failed");
        return r;
}
