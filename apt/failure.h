/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How an xferd error reads for apt: the FailReason of a 400 URI Failure (apt knows some of
 * them: HttpError<code>, Timeout, HashSumMismatch, MaximumSizeExceeded, ...) and whether
 * apt should try again (Transient-Failure). Pure: no bus, no files. */

#include <stdbool.h>
#include <stddef.h>

typedef enum FailureKind {
        FAILURE_FAIL,           /* report a 400 URI Failure */
        FAILURE_NOT_MODIFIED,   /* 304 to our If-Modified-Since: an IMS hit */
} FailureKind;

typedef struct Failure {
        FailureKind kind;
        char reason[32];        /* FailReason */
        bool transient;
} Failure;

/* error_name is xferd's ErrorName (with or without the org.xferd.Transfer1.Error. prefix),
 * summary the message of its Failed signal or its ErrorMessage ("HTTP 404 Not Found ..."). */
void failure_from_xferd(const char *error_name, const char *summary, Failure *ret);

/* The HTTP status at the start of an xferd Http error message ("HTTP 404 ..."), 0 if none. */
unsigned failure_http_status(const char *summary);

/* The D-Bus errors that mean xferd is not there or cannot be started (no such service, no
 * reply in time, the bus went away), as opposed to xferd refusing a request. */
bool failure_is_unavailable(const char *dbus_error_name);
