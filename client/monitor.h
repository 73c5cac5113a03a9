/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state of `xferctl monitor` (verb-monitor.c): the jobs it tracks (monitor.c) and how
 * their changes are printed (monitor-print.c). */

#include <systemd/sd-bus.h>

#include "job-status.h"
#include "json.h"
#include "util.h"
#include "xferctl.h"

typedef enum Access {
        ACCESS_UNKNOWN,         /* a read is in flight */
        ACCESS_ALLOWED,
        ACCESS_DENIED,
} Access;

typedef struct Monitor Monitor;

typedef struct MonitorJob {
        Monitor *monitor;
        char *id;
        char *path;
        char *name;             /* NULL while unknown */
        JobStatus status;
        Access access;
        bool is_new;            /* announced by JobNew, not shown yet */
        unsigned pending;       /* changes shown once the read in flight is in */
        char *pending_old_state;
        char *removed_state;    /* JobRemoved came while a change was being read */
        sd_bus_slot *read;      /* GetAll in flight */
} MonitorJob;

struct Monitor {
        Ctl *ctl;
        const char *only_id;    /* monitor JOB; NULL for all jobs */
        const char *only_path;
        MonitorJob **jobs;
        size_t n_jobs, n_jobs_allocated;
        JsonWriter *json;
        sd_bus_slot *slots[5];
        sd_bus_slot *initial;
        const char *listing;    /* the method of the initial listing */
        bool done;
};

MonitorJob *monitor_job_free(MonitorJob *j);
void monitor_done(Monitor *m);
void monitor_exit(Monitor *m, int status);
MonitorJob *monitor_find(Monitor *m, const char *id);
MonitorJob *monitor_add(Monitor *m, const char *id);
void monitor_remove(Monitor *m, MonitorJob *j);
bool monitor_shows(Monitor *m, MonitorJob *j);

/* "12:34:56  1a2b3c4d  photo.jpg: <text>"; j NULL for a line about the service. */
void monitor_print_line(MonitorJob *j, const char *fmt, ...) _printf_(2, 3);
void monitor_print_json_begin(Monitor *m, const char *event, MonitorJob *j);
void monitor_print_json_end(Monitor *m);
void monitor_print_snapshot(MonitorJob *j, const char *event);
void monitor_print_changes(MonitorJob *j, const char *old_state, unsigned changed);
