/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Turning a JOB argument into a job: a full id (or a job object path) is used as it is, so
 * even a job that just became final — gone from ListJobs but still on the bus — can be
 * addressed. Anything else is matched against ListJobs — or, when nothing there matches,
 * against the finished jobs still on the bus: an id prefix (any length, like git) or an
 * exact display name, which must pick exactly one job. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "job-id.h"

/* Resolves arg; on failure reports why (no match, ambiguous with the candidates, the bus
 * error) and returns a negative errno. ret_id or ret_path may be NULL. */
int job_lookup(sd_bus *bus, const char *arg, char **ret_id, char **ret_path);
