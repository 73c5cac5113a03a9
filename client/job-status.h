/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a watcher needs to know about a job: its state, progress and error, read from a
 * GetAll reply or a PropertiesChanged signal. Other properties are skipped. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "job-state.h"

typedef struct JobStatus {
        char *state;
        char *error_name;
        char *error_message;
        uint64_t bytes_total;           /* UINT64_MAX while unknown */
        uint64_t bytes_transferred;
        uint32_t files_total;
        uint32_t files_transferred;
        uint32_t error_count;
} JobStatus;

#define JOB_STATUS_INIT { .bytes_total = UINT64_MAX }

/* Which parts changed, as a mask. */
typedef enum JobField {
        JOB_FIELD_STATE    = 1u << 0,
        JOB_FIELD_PROGRESS = 1u << 1,   /* bytes or files */
        JOB_FIELD_ERROR    = 1u << 2,   /* error name, message or count */
        JOB_FIELD_OTHER    = 1u << 3,   /* a property JobStatus does not keep */
} JobField;

void job_status_done(JobStatus *s);

/* Reads an a{sv} of Job properties into s; *ret_changed gets the fields whose value changed. */
int job_status_read_dict(JobStatus *s, sd_bus_message *m, unsigned *ret_changed);

/* Reads the body of a PropertiesChanged signal. Returns 0 when it is about another
 * interface (nothing read), 1 otherwise; *ret_invalidated gets the fields named in the
 * invalidated list, whose new values must be fetched. */
int job_status_read_changed(JobStatus *s, sd_bus_message *m, unsigned *ret_changed, unsigned *ret_invalidated);
