/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The jobs as the manager lists them: ListJobs (the queue, in order) and GetManagedObjects
 * (every job object still on the bus, with the properties ListJobs does not carry). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "json.h"

/* One row of ListJobs' a(ssssutto); the strings point into the reply. */
typedef struct JobListEntry {
        const char *id;
        const char *name;
        const char *type;
        const char *state;
        const char *path;
        uint32_t uid;
        uint64_t bytes_transferred;
        uint64_t bytes_total;
} JobListEntry;

/* Returns 0 to go on, or a negative errno, which ends the reading. */
typedef int (*job_list_entry_t)(const JobListEntry *e, void *userdata);

/* Calls ListJobs (all_users: also other users' jobs). */
int job_list_call(sd_bus *bus, bool all_users, sd_bus_error *error, sd_bus_message **ret_reply);

/* Reads a reply of ListJobs, calling fn on each job in order. */
int job_list_read(sd_bus_message *reply, job_list_entry_t fn, void *userdata);

/* The members DisplayName, Type, State, Owner, BytesTransferred and BytesTotal of e, into
 * an open JSON object. */
void job_list_json_members(JsonWriter *w, const JobListEntry *e);

/* Called with m at the a{sv} of the Job interface of the object at path; must read it. */
typedef int (*job_object_t)(const char *path, sd_bus_message *m, void *userdata);

/* Calls GetManagedObjects on the manager. */
int job_objects_call(sd_bus *bus, sd_bus_message **ret_reply);

/* Reads a reply of GetManagedObjects, calling fn on the Job interface of each object. */
int job_objects_read(sd_bus_message *reply, job_object_t fn, void *userdata);
