/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-errors.h"
#include "bus.h"
#include "log.h"

static Bus *job_bus(Job *j) {
        return manager_get_observer_userdata(j->manager);
}

/* sd-bus never checks who reads a property: the object lookup is the gate for every call and
 * property access on a job. Signals emitted outside a call have no current message and pass. */
int bus_job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                 sd_bus_error *error) {
        Bus *b = userdata;
        const char *id;
        sd_bus_message *m;
        uint8_t type;
        Job *j;
        int r;

        if (strncmp(path, XFERD_JOB_PREFIX "/", strlen(XFERD_JOB_PREFIX "/")) != 0)
                return 0;
        id = path + strlen(XFERD_JOB_PREFIX "/");
        j = manager_find_job(b->manager, id);
        if (!j)
                return 0;

        m = sd_bus_get_current_message(bus);
        if (m && sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_CALL) {
                r = bus_check_job_access(b, m, j, error);
                if (r < 0)
                        return r;
        }

        *found = j;
        return 1;
}

int bus_job_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Bus *b = userdata;
        sd_bus_message *m = sd_bus_get_current_message(bus);
        bool all = true;
        uid_t uid = 0;
        size_t n = 0, k = 0;
        char **l;

        /* Introspection and GetManagedObjects show a caller only the jobs it may use. */
        if (m && bus_get_caller_uid(b, m, &uid) >= 0)
                all = uid == 0;

        for (Job *j = manager_first_job(b->manager); j; j = j->next)
                n++;
        for (Job *j = manager_first_retained(b->manager); j; j = j->next)
                n++;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (int pass = 0; pass < 2; pass++)
                for (Job *j = pass == 0 ? manager_first_job(b->manager) : manager_first_retained(b->manager);
                     j; j = j->next) {
                        if (!all && j->owner != uid)
                                continue;
                        l[k] = strdup(bus_job_path(j).s);
                        if (!l[k]) {
                                strv_free(l);
                                return -ENOMEM;
                        }
                        k++;
                }
        *nodes = l;
        return 0;
}

static int reply_call(sd_bus_message *m, int r, const CallError *e, sd_bus_error *error) {
        if (r < 0)
                return bus_error_from_call(error, r, e);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_add_file(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        const char *url, *path;
        int r;

        r = sd_bus_message_read(m, "ss", &url, &path);
        if (r < 0)
                return r;
        char *urls[] = { (char *) url, NULL }, *paths[] = { (char *) path, NULL };
        r = job_add_files(j, urls, paths, 1, &e);
        return reply_call(m, r, &e, error);
}

static int method_add_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_free_ char **urls = NULL, **paths = NULL;
        size_t n = 0, allocated = 0;
        const char *url, *path;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &url, &path)) > 0) {
                if (n + 1 >= allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        char **u = realloc(urls, a * sizeof(char *)), **p;
                        if (!u)
                                return -ENOMEM;
                        urls = u;
                        p = realloc(paths, a * sizeof(char *));
                        if (!p)
                                return -ENOMEM;
                        paths = p;
                        allocated = a;
                }
                /* The strings live in the message, which outlives this call. */
                urls[n] = (char *) url;
                paths[n] = (char *) path;
                n++;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = job_add_files(j, urls, paths, n, &e);
        return reply_call(m, r, &e, error);
}

#define DEFINE_SIMPLE_METHOD(fn, call)                                                    \
        static int fn(sd_bus_message *m, void *userdata, sd_bus_error *error) {           \
                CallError e = { .kind = CALL_ERROR_NONE };                                 \
                int r = call(userdata, &e);                                               \
                return reply_call(m, r, &e, error);                                       \
        }

DEFINE_SIMPLE_METHOD(method_resume, job_resume)
DEFINE_SIMPLE_METHOD(method_suspend, job_suspend)
DEFINE_SIMPLE_METHOD(method_cancel, job_cancel)

static int method_complete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        bool partial = false;
        int r;

        r = job_complete(userdata, &partial, &e);
        if (r < 0)
                return bus_error_from_call(error, r, &e);
        return sd_bus_reply_method_return(m, "b", (int) partial);
}

static int method_list_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssttb)");
        for (size_t i = 0; r >= 0 && i < j->n_files; i++) {
                const JobFile *f = j->files[i];
                _cleanup_free_ char *temp = NULL;

                if (asprintf(&temp, "%s%s%s", f->dir, streq(f->dir, "/") ? "" : "/", f->temp_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = sd_bus_message_append(reply, "(sssttb)", f->url, f->path, temp, f->bytes_total,
                                          f->bytes_transferred, (int) f->completed);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_set_http_headers(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_strv_free_ char **headers = NULL;
        int r;

        r = sd_bus_message_read_strv(m, &headers);
        if (r < 0)
                return r;
        r = job_set_http_headers(userdata, headers, &e);
        return reply_call(m, r, &e, error);
}

/* ---- properties ----------------------------------------------------------------------- */

#define PROPERTY_GETTER(fn, sig, expr)                                                           \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property, \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {              \
                const Job *j = userdata;                                                         \
                return sd_bus_message_append(reply, sig, expr);                                  \
        }

static const char *full_error_name(const Job *j, char *buf, size_t size) {
        if (!j->error_name)
                return "";
        snprintf(buf, size, XFERD_ERROR_PREFIX "%s", j->error_name);
        return buf;
}

PROPERTY_GETTER(property_get_id, "s", j->id)
PROPERTY_GETTER(property_get_type, "s", job_type_to_string(j->type))
PROPERTY_GETTER(property_get_owner, "u", (uint32_t) j->owner)
PROPERTY_GETTER(property_get_display_name, "s", j->display_name)
PROPERTY_GETTER(property_get_description, "s", j->description)
PROPERTY_GETTER(property_get_state, "s", job_state_to_string(j->state))
PROPERTY_GETTER(property_get_priority, "s", job_priority_to_string(j->priority))
PROPERTY_GETTER(property_get_auto_complete, "b", (int) j->auto_complete)
PROPERTY_GETTER(property_get_bandwidth_limit, "t", j->bandwidth_limit)
PROPERTY_GETTER(property_get_allow_insecure_redirect, "b", (int) j->allow_insecure_redirect)
PROPERTY_GETTER(property_get_bytes_total, "t", job_bytes_total(j))
PROPERTY_GETTER(property_get_bytes_transferred, "t", job_bytes_transferred(j))
PROPERTY_GETTER(property_get_files_total, "u", (uint32_t) j->n_files)
PROPERTY_GETTER(property_get_files_transferred, "u", job_files_transferred(j))
PROPERTY_GETTER(property_get_creation_time, "t", j->creation_time)
PROPERTY_GETTER(property_get_modification_time, "t", j->modification_time)
PROPERTY_GETTER(property_get_completion_time, "t", j->completion_time)
PROPERTY_GETTER(property_get_error_message, "s", strempty(j->error_message))
PROPERTY_GETTER(property_get_error_count, "u", j->error_count)
PROPERTY_GETTER(property_get_minimum_retry_delay, "u", j->minimum_retry_delay)
PROPERTY_GETTER(property_get_no_progress_timeout, "u", j->no_progress_timeout)
PROPERTY_GETTER(property_get_upload_url, "s", strempty(j->upload_url))


static int property_get_error_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char buf[128];
        return sd_bus_message_append(reply, "s", full_error_name(userdata, buf, sizeof buf));
}

static int property_get_header_names(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Job *j = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (char **h = j->http_headers; r >= 0 && h && *h; h++) {
                const char *colon = strchr(*h, ':');
                _cleanup_free_ char *name = strndup(*h, colon ? (size_t) (colon - *h) : strlen(*h));
                if (!name)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "s", name);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int set_result(int r, const CallError *e, sd_bus_error *error) {
        return r < 0 ? bus_error_from_call(error, r, e) : 0;
}

static int property_set_string(sd_bus_message *value, Job *j, const char *property, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        const char *s;
        int r;

        r = sd_bus_message_read(value, "s", &s);
        if (r < 0)
                return r;
        if (streq(property, "DisplayName"))
                r = job_set_display_name(j, s, &e);
        else if (streq(property, "Description"))
                r = job_set_description(j, s, &e);
        else {
                JobPriority p = job_priority_from_string(s);
                /* A final job says so first, whatever the value. */
                if (p < 0 && !job_state_is_final(j->state))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown priority '%s'; use foreground, high, normal or low.", s);
                r = job_set_priority(j, p < 0 ? j->priority : p, &e);
        }
        return set_result(r, &e, error);
}

static int property_set(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *value, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        Job *j = userdata;
        uint64_t t;
        uint32_t u;
        int b, r;

        if (streq(property, "DisplayName") || streq(property, "Description") || streq(property, "Priority"))
                return property_set_string(value, j, property, error);

        if (streq(property, "AutoComplete") || streq(property, "AllowInsecureRedirect")) {
                r = sd_bus_message_read(value, "b", &b);
                if (r < 0)
                        return r;
                r = streq(property, "AutoComplete") ? job_set_auto_complete(j, b, &e)
                                                    : job_set_allow_insecure_redirect(j, b, &e);
                return set_result(r, &e, error);
        }
        if (streq(property, "BandwidthLimit")) {
                r = sd_bus_message_read(value, "t", &t);
                if (r < 0)
                        return r;
                return set_result(job_set_bandwidth_limit(j, t, &e), &e, error);
        }
        r = sd_bus_message_read(value, "u", &u);
        if (r < 0)
                return r;
        if (streq(property, "MinimumRetryDelay"))
                r = job_set_minimum_retry_delay(j, u, &e);
        else
                r = job_set_no_progress_timeout(j, u, &e);
        return set_result(r, &e, error);
}

#define RO(name, sig, getter, flags) \
        SD_BUS_PROPERTY(name, sig, getter, 0, (flags))
#define RW(name, sig, getter, flags) \
        SD_BUS_WRITABLE_PROPERTY(name, sig, getter, property_set, 0, (flags) | SD_BUS_VTABLE_UNPRIVILEGED)
#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define INVAL SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

const sd_bus_vtable bus_job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AddFile", SD_BUS_ARGS("s", url, "s", local_path), SD_BUS_NO_RESULT,
                                method_add_file, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddFiles", SD_BUS_ARGS("a(ss)", files), SD_BUS_NO_RESULT,
                                method_add_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", NULL, NULL, method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Suspend", NULL, NULL, method_suspend, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Complete", SD_BUS_NO_ARGS, SD_BUS_RESULT("b", partial),
                                method_complete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListFiles", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssttb)", files),
                                method_list_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetHttpHeaders", SD_BUS_ARGS("as", headers), SD_BUS_NO_RESULT,
                                method_set_http_headers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("Transferred", NULL, 0),
        SD_BUS_SIGNAL_WITH_ARGS("Failed", SD_BUS_ARGS("s", error_name, "s", message), 0),
        RO("Id", "s", property_get_id, CONST),
        RO("Type", "s", property_get_type, CONST),
        RO("Owner", "u", property_get_owner, CONST),
        /* Names, paths and messages may be private: their values never travel in broadcasts. */
        RW("DisplayName", "s", property_get_display_name, INVAL),
        RW("Description", "s", property_get_description, INVAL),
        RO("State", "s", property_get_state, CHANGE),
        RW("Priority", "s", property_get_priority, CHANGE),
        RW("AutoComplete", "b", property_get_auto_complete, CHANGE),
        RW("BandwidthLimit", "t", property_get_bandwidth_limit, CHANGE),
        RW("AllowInsecureRedirect", "b", property_get_allow_insecure_redirect, CHANGE),
        RO("BytesTotal", "t", property_get_bytes_total, CHANGE),
        RO("BytesTransferred", "t", property_get_bytes_transferred, CHANGE),
        RO("FilesTotal", "u", property_get_files_total, CHANGE),
        RO("FilesTransferred", "u", property_get_files_transferred, CHANGE),
        RO("CreationTime", "t", property_get_creation_time, CONST),
        RO("ModificationTime", "t", property_get_modification_time, CHANGE),
        RO("TransferCompletionTime", "t", property_get_completion_time, CHANGE),
        RO("ErrorName", "s", property_get_error_name, CHANGE),
        RO("ErrorMessage", "s", property_get_error_message, INVAL),
        RO("ErrorCount", "u", property_get_error_count, CHANGE),
        RW("MinimumRetryDelay", "u", property_get_minimum_retry_delay, CHANGE),
        RW("NoProgressTimeout", "u", property_get_no_progress_timeout, CHANGE),
        RO("HttpHeaderNames", "as", property_get_header_names, INVAL),
        RO("UploadUrl", "s", property_get_upload_url, INVAL),
        SD_BUS_VTABLE_END
};

/* ---- signals -------------------------------------------------------------------------- */

static void emit_changed(Job *j, char **names) {
        Bus *b = job_bus(j);
        int r = sd_bus_emit_properties_changed_strv(b->bus, bus_job_path(j).s, XFERD_JOB_INTERFACE, names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for job %s", j->id);
}

static void observer_job_changed(Manager *m, Job *j, unsigned changes) {
        char *names[24];
        size_t n = 0;

#define ADD(s) names[n++] = (char *) (s)
        if (changes & JOB_CHANGE_STATE) {
                ADD("State");
                ADD("ModificationTime");
                ADD("TransferCompletionTime");
                ADD("ErrorName");
                ADD("ErrorMessage");
                ADD("ErrorCount");
        }
        if (changes & (JOB_CHANGE_STATE | JOB_CHANGE_PROGRESS | JOB_CHANGE_FILES)) {
                ADD("BytesTransferred");
                ADD("BytesTotal");
                ADD("FilesTransferred");
                ADD("FilesTotal");
        }
        if (changes & JOB_CHANGE_SETTINGS) {
                ADD("Priority");
                ADD("AutoComplete");
                ADD("BandwidthLimit");
                ADD("AllowInsecureRedirect");
                ADD("MinimumRetryDelay");
                ADD("NoProgressTimeout");
                ADD("HttpHeaderNames");
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
                emit_changed(j, names);
}

/* InterfacesAdded is built by hand: sd-bus would put every property's value in it, names and
 * descriptions included, and this signal is broadcast. */
static void observer_job_new(Manager *m, Job *j) {
        Bus *b = job_bus(j);
        sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(b->bus, &s, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                      "InterfacesAdded");
        if (r >= 0)
                r = sd_bus_message_append(s, "o", bus_job_path(j).s);
        if (r >= 0)
                r = sd_bus_message_append(s, "a{sa{sv}}", 4,
                                          "org.freedesktop.DBus.Peer", 0,
                                          "org.freedesktop.DBus.Introspectable", 0,
                                          "org.freedesktop.DBus.Properties", 0,
                                          XFERD_JOB_INTERFACE, 5,
                                          "Id", "s", j->id,
                                          "Type", "s", job_type_to_string(j->type),
                                          "Owner", "u", (uint32_t) j->owner,
                                          "State", "s", job_state_to_string(j->state),
                                          "CreationTime", "t", j->creation_time);
        if (r >= 0)
                r = sd_bus_send(b->bus, s, NULL);
        sd_bus_message_unref(s);
        if (r < 0)
                log_warning_errno(r, "Failed to emit InterfacesAdded for job %s", j->id);

        r = sd_bus_emit_signal(b->bus, XFERD_MANAGER_PATH, XFERD_MANAGER_INTERFACE, "JobNew", "so",
                               j->id, bus_job_path(j).s);
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobNew for job %s", j->id);
}

static void observer_job_transferred(Manager *m, Job *j) {
        int r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_INTERFACE, "Transferred", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit Transferred for job %s", j->id);
}

static void observer_job_failed(Manager *m, Job *j) {
        char buf[128];
        int r = sd_bus_emit_signal(job_bus(j)->bus, bus_job_path(j).s, XFERD_JOB_INTERFACE, "Failed", "ss",
                                   full_error_name(j, buf, sizeof buf), strempty(j->error_summary));
        if (r < 0)
                log_warning_errno(r, "Failed to emit Failed for job %s", j->id);
}

static void observer_job_removed(Manager *m, Job *j) {
        int r = sd_bus_emit_signal(job_bus(j)->bus, XFERD_MANAGER_PATH, XFERD_MANAGER_INTERFACE, "JobRemoved",
                                   "sos", j->id, bus_job_path(j).s, job_state_to_string(j->state));
        if (r < 0)
                log_warning_errno(r, "Failed to emit JobRemoved for job %s", j->id);
}

static void observer_job_gone(Manager *m, Job *j) {
        int r = sd_bus_emit_object_removed(job_bus(j)->bus, bus_job_path(j).s);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for job %s", j->id);
}

static void observer_idle_changed(Manager *m, bool idle) {
        Bus *b = manager_get_observer_userdata(m);

        if (b->idle_changed)
                b->idle_changed(b->idle_userdata, idle);
}

const ManagerObserver bus_observer_template = {
        .idle_changed = observer_idle_changed,
        .job_new = observer_job_new,
        .job_changed = observer_job_changed,
        .job_transferred = observer_job_transferred,
        .job_failed = observer_job_failed,
        .job_removed = observer_job_removed,
        .job_gone = observer_job_gone,
};
