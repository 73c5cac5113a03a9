/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* xferd.conf: "[Daemon]" and Key=Value lines. Unknown keys are warned about and skipped,
 * so a newer file does not stop an older daemon. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* What the manager is told: limits, timeouts, where the store lives. */
typedef struct ManagerConfig {
        bool system;                    /* serving the system bus */
        uint64_t retention_usec;
        uint32_t retry_delay_floor;     /* seconds */
        uint32_t max_background_transfers;
        uint64_t background_bandwidth_limit;
        uint32_t max_jobs_per_user;
        uint32_t max_jobs;
        uint32_t max_files_per_job;
        uint32_t max_http_headers;              /* per job */
        uint64_t max_http_header_bytes;         /* per job, all headers together */
        uint64_t max_http_header_bytes_per_user; /* all non-final jobs of a user but root */
        size_t max_url_length;
        uint64_t job_inactivity_usec;   /* untouched this long → cancelled (BITS JobInactivityTimeout) */
        uint64_t time_slice_usec;       /* background jobs of one priority take turns this long */
        uint64_t delete_retry_base_usec; /* first retry of an undelivered tus DELETE; doubles */
        uint64_t foreground_retry_base_usec; /* first retry of a foreground job; doubles */
        const char *state_dir;          /* where the store lives (required) */
        const char *keys_dir;           /* the keyrings that check signed checksum lists */
        EngineSettings transfer;
} ManagerConfig;

/* The built-in defaults, before xferd.conf and the command line. */
void settings_manager_defaults(ManagerConfig *c);

typedef struct DaemonSettings {
        uint64_t idle_timeout_usec;
        ManagerConfig manager;
} DaemonSettings;

/* Reads `path` into *s, leaving what the file does not set untouched. A missing file is
 * fine (returns 0); a malformed value is an error naming the file and line. */
int settings_load(const char *path, DaemonSettings *s);
