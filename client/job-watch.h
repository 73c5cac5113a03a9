/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Following one job as it changes, driven by signals in the caller's sd-event loop: a
 * PropertiesChanged match on the job's path is installed first, then the properties are
 * read once (asynchronously, so the reply is ordered after any signal sent before it), so
 * no change can slip between reading and listening.
 *
 * xferd may exit while idle and come back by activation (its jobs are stored); when its bus
 * name goes away while the job was active, or comes back, the job is read again. */

#include <systemd/sd-bus.h>

#include "job-status.h"

typedef struct JobWatch JobWatch;

/* Called once the first read is in (changed = every field), then on every change. When the
 * job can no longer be followed (it vanished, xferd is gone and cannot be started) error is
 * set and s holds the last known status. The handler must not free the watch; it stops the
 * event loop instead. */
typedef void (*JobWatchHandler)(JobWatch *w, const JobStatus *s, unsigned changed,
                                const sd_bus_error *error, void *userdata);

/* The bus must be attached to an event loop. */
int job_watch_new(JobWatch **ret, sd_bus *bus, const char *path, JobWatchHandler handler, void *userdata);
JobWatch *job_watch_free(JobWatch *w);

const JobStatus *job_watch_status(const JobWatch *w);

static inline void job_watch_freep(JobWatch **w) {
        job_watch_free(*w);
}
