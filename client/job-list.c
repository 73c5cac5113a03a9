/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "job-json.h"
#include "job-list.h"
#include "names.h"
#include "util.h"

int job_list_call(sd_bus *bus, bool all_users, sd_bus_error *error, sd_bus_message **ret_reply) {
        assert(bus);
        assert(ret_reply);

        return sd_bus_call_method(bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs", error,
                                  ret_reply, "b", all_users);
}

int job_list_read(sd_bus_message *reply, job_list_entry_t fn, void *userdata) {
        JobListEntry e;
        int r;

        assert(reply);
        assert(fn);

        r = sd_bus_message_enter_container(reply, 'a', "(ssssutto)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssssutto)", &e.id, &e.name, &e.type, &e.state, &e.uid,
                                        &e.bytes_transferred, &e.bytes_total, &e.path)) > 0) {
                r = fn(&e, userdata);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
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

/* The a{sa{sv}} of one object: its interfaces and their properties. */
static int read_interfaces(sd_bus_message *reply, const char *path, job_object_t fn, void *userdata) {
        const char *iface;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                r = sd_bus_message_read(reply, "s", &iface);
                if (r < 0)
                        return r;
                r = streq(iface, XFERD_JOB_IFACE) ? fn(path, reply, userdata) : sd_bus_message_skip(reply, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int job_objects_read(sd_bus_message *reply, job_object_t fn, void *userdata) {
        const char *path;
        int r;

        assert(reply);
        assert(fn);

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = read_interfaces(reply, path, fn, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}
