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
        char *wait_reason;              /* "" while transferring */
        uint64_t bytes_total;           /* UINT64_MAX while unknown */
        uint64_t bytes_transferred;
        uint64_t rate;                  /* bytes/s */
        uint64_t expected_end_time;     /* µs since the epoch, 0 unknown */
        uint64_t next_retry_time;       /* µs since the epoch, 0 none */
        uint32_t files_total;
        uint32_t files_transferred;
        uint32_t current_file;
        uint32_t error_count;
        unsigned present;               /* JobProperty: which of the newer properties the daemon has */
} JobStatus;

#define JOB_STATUS_INIT { .bytes_total = UINT64_MAX }

/* Properties a daemon older than this client may lack; the client falls back to what it can
 * tell from the others. */
typedef enum JobProperty {
        JOB_HAS_RATE              = 1u << 0,
        JOB_HAS_EXPECTED_END_TIME = 1u << 1,
        JOB_HAS_NEXT_RETRY_TIME   = 1u << 2,
        JOB_HAS_WAIT_REASON       = 1u << 3,
        JOB_HAS_CURRENT_FILE      = 1u << 4,
} JobProperty;

/* Which parts changed, as a mask. */
typedef enum JobField {
        JOB_FIELD_STATE    = 1u << 0,
        JOB_FIELD_PROGRESS = 1u << 1,   /* bytes or files */
        JOB_FIELD_ERROR    = 1u << 2,   /* error name, message or count */
        JOB_FIELD_OTHER    = 1u << 3,   /* a property JobStatus does not keep */
        JOB_FIELD_WAIT     = 1u << 4,   /* why it waits, when it retries */
} JobField;

/* Every field JobStatus keeps. */
#define JOB_FIELDS_KNOWN (JOB_FIELD_STATE | JOB_FIELD_PROGRESS | JOB_FIELD_ERROR | JOB_FIELD_WAIT)

void job_status_done(JobStatus *s);

/* Replaces *dst with a deep copy of src; -ENOMEM leaves *dst alone. */
int job_status_copy(JobStatus *dst, const JobStatus *src);

/* Reads an a{sv} of Job properties into s; *ret_changed gets the fields whose value changed. */
int job_status_read_dict(JobStatus *s, sd_bus_message *m, unsigned *ret_changed);

/* Reads the body of a PropertiesChanged signal. Returns 0 when it is about another
 * interface (nothing read), 1 otherwise; *ret_invalidated gets the fields named in the
 * invalidated list, whose new values must be fetched. */
int job_status_read_changed(JobStatus *s, sd_bus_message *m, unsigned *ret_changed, unsigned *ret_invalidated);

/* The 0-based index of the file being transferred: CurrentFile, or (from a daemon without
 * it) the first file not yet transferred, since files go one after another. */
uint32_t job_status_current_file(const JobStatus *s);
