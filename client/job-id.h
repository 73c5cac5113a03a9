/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Job ids and the object paths that carry them. */

#include <stdbool.h>

/* Whether s is a job id: 32 lowercase hex digits. */
bool job_id_is_valid(const char *s);

/* The id at the end of a job object path, or NULL when path is not one. */
const char *job_id_from_path(const char *path);

/* The object path of job id; NULL on allocation failure. */
char *job_id_to_path(const char *id);
