/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The jobs as the manager lists them: ListJobsCompact or ListJobs (the queue, in order) and GetManagedObjects
 * (every job object still on the bus, with the properties ListJobs does not carry). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "json.h"

/* One row of ListJobs' a(ssssutto) or ListJobsCompact's a(ssssutt) (whose path is the prefix
 * and the id, by contract); the strings point into the reply or, the path, into the reader's
 * own buffer, for the time of the callback. */
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

/* The method that lists the jobs: the rows without their paths, a third less to carry and check
 * (100 000 jobs: 10.6 MB instead of 16.8). */
#define JOB_LIST_METHOD "ListJobsCompact"

/* What to call once `method` failed with e: ListJobs after a daemon from before
 * ListJobsCompact answered UnknownMethod; NULL when the error stands. */
const char *job_list_fallback(const char *method, const sd_bus_error *e);

/* Calls JOB_LIST_METHOD, or ListJobs on an older daemon (all_users: also other users' jobs). */
int job_list_call(sd_bus *bus, bool all_users, sd_bus_error *error, sd_bus_message **ret_reply);

/* Reads a reply of either, calling fn on each job in order. */
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
