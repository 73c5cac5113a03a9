/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract's error names, spelled in one table: a job's ErrorName (the store keeps these
 * strings, so they never change) and the names of the errors calls fail with. bus/ puts
 * "org.xferd.Transfer1.Error." in front. */

#include <errno.h>

typedef enum ErrorName {
        /* A job's ErrorName, and the first argument of Failed. */
        ERROR_NAME_HTTP,
        ERROR_NAME_NETWORK,
        ERROR_NAME_TIMEOUT,
        ERROR_NAME_TLS,
        ERROR_NAME_TOO_MANY_REDIRECTS,
        ERROR_NAME_UNSUPPORTED_PROTOCOL,
        ERROR_NAME_LOCAL_FILE,
        ERROR_NAME_NO_PROGRESS,
        ERROR_NAME_COMPLETE_FAILED,
        ERROR_NAME_INTEGRITY,
        /* Only errors of calls. */
        ERROR_NAME_INVALID_STATE,
        ERROR_NAME_NO_SUCH_JOB,
        ERROR_NAME_EMPTY,
        ERROR_NAME_TOO_MANY_JOBS,
        ERROR_NAME_TOO_MANY_FILES,
        ERROR_NAME_INVALID_PATH,
        ERROR_NAME_STRING_TOO_LONG,
        _ERROR_NAME_MAX,
        _ERROR_NAME_INVALID = -EINVAL,
} ErrorName;

/* "LocalFile" for ERROR_NAME_LOCAL_FILE; NULL for a value out of range. */
const char *error_name_to_string(ErrorName e);
/* The other way; _ERROR_NAME_INVALID for NULL or an unknown name. */
ErrorName error_name_from_string(const char *s);
