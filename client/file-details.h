/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What `xferctl info` says of each file of a download job beyond the job's properties: the
 * URL in use, what is expected of the bytes and what they checked out against, from
 * Job.GetFileDetails. */

#include <stdio.h>
#include <systemd/sd-bus.h>

/* Prints one block per file of a download job to out; nothing for an upload job, or for a
 * daemon without GetFileDetails. */
int file_details_print(sd_bus *bus, const char *job_path, FILE *out);
