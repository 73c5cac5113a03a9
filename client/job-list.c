/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "bus-dict.h"
#include "job-id.h"
#include "job-json.h"
#include "job-list.h"
#include "names.h"
#include "util.h"

const char *job_list_fallback(const char *method, const sd_bus_error *e) {
        assert(method);

        return streq(method, JOB_LIST_METHOD) && e && sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD) ?
                "ListJobs" : NULL;
}

int job_list_call(sd_bus *bus, bool all_users, sd_bus_error *error, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *method = JOB_LIST_METHOD;
        int r;

        assert(bus);
        assert(ret_reply);

        for (;;) {
                sd_bus_error_free(&e);
                r = sd_bus_call_method(bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, method, &e,
                                       ret_reply, "b", all_users);
                if (r >= 0 || !(method = job_list_fallback(method, &e)))
                        break;
        }
        if (r < 0 && error)
                sd_bus_error_move(error, &e);
        return r;
}

#define ROW_FIELDS "ssssutt"
#define ROW_FIELDS_PATH ROW_FIELDS "o"

typedef struct ListRead {
        job_list_entry_t fn;
        void *userdata;
        bool paths;             /* ListJobs' rows; ListJobsCompact's have no path */
} ListRead;

static int list_entry(sd_bus_message *m, void *userdata) {
        char path[sizeof(XFERD_JOB_PATH_PREFIX) + XFERD_JOB_ID_LEN];
        ListRead *l = userdata;
        JobListEntry e;
        int r;

        if (l->paths)
                r = sd_bus_message_read(m, ROW_FIELDS_PATH, &e.id, &e.name, &e.type, &e.state, &e.uid,
                                        &e.bytes_transferred, &e.bytes_total, &e.path);
        else {
                r = sd_bus_message_read(m, ROW_FIELDS, &e.id, &e.name, &e.type, &e.state, &e.uid,
                                        &e.bytes_transferred, &e.bytes_total);
                if (r >= 0 && !job_id_is_valid(e.id))
                        r = -EBADMSG;
                if (r >= 0) {
                        (void) snprintf(path, sizeof path, "%s%s", XFERD_JOB_PATH_PREFIX, e.id);
                        e.path = path;
                }
        }
        return r < 0 ? r : l->fn(&e, l->userdata);
}

int job_list_read(sd_bus_message *reply, job_list_entry_t fn, void *userdata) {
        ListRead l = { fn, userdata, true };
        const char *contents;
        int r;

        assert(reply);
        assert(fn);

        r = sd_bus_message_peek_type(reply, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0 || !contents)
                return -EBADMSG;
        if (streq(contents, "(" ROW_FIELDS ")"))
                l.paths = false;
        else if (!streq(contents, "(" ROW_FIELDS_PATH ")"))
                return -EBADMSG;
        return bus_array_read(reply, SD_BUS_TYPE_STRUCT, l.paths ? ROW_FIELDS_PATH : ROW_FIELDS, list_entry, &l);
}

void job_list_json_members(JsonWriter *w, const JobListEntry *e) {
        assert(w);
        assert(e);

        json_member_string(w, "DisplayName", e->name);
        json_member_string(w, "Type", e->type);
        json_member_string(w, "State", e->state);
        json_member_uint(w, "Owner", e->uid);
        json_member_uint(w, "BytesTransferred", e->bytes_transferred);
        job_json_member_bytes_total(w, e->bytes_total);
}

int job_objects_call(sd_bus *bus, sd_bus_message **ret_reply) {
        assert(bus);
        assert(ret_reply);

        return sd_bus_call_method(bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                  "GetManagedObjects", NULL, ret_reply, "");
}

typedef struct ObjectsRead {
        job_object_t fn;
        void *userdata;
        const char *path;       /* of the object being read */
} ObjectsRead;

/* One interface of an object and its properties: those of the Job interface to fn. */
static int interface_entry(sd_bus_message *m, void *userdata) {
        ObjectsRead *o = userdata;
        const char *iface;
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0)
                return r;
        return streq(iface, XFERD_JOB_IFACE) ? o->fn(o->path, m, o->userdata) : sd_bus_message_skip(m, "a{sv}");
}

static int object_entry(sd_bus_message *m, void *userdata) {
        ObjectsRead *o = userdata;
        int r;

        r = sd_bus_message_read(m, "o", &o->path);
        if (r < 0)
                return r;
        return bus_array_read(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}", interface_entry, o);
}

int job_objects_read(sd_bus_message *reply, job_object_t fn, void *userdata) {
        ObjectsRead o = { fn, userdata, NULL };

        assert(reply);
        assert(fn);

        return bus_array_read(reply, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}", object_entry, &o);
}
