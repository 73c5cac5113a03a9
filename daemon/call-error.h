/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Why a call failed, in the contract's terms, with a sentence for a person. The daemon fills
 * it; bus/ turns it into a D-Bus error name. */

#include <stdarg.h>

#include "util.h"

typedef enum CallErrorKind {
        CALL_ERROR_NONE,
        CALL_ERROR_INVALID_ARGS,
        CALL_ERROR_ACCESS_DENIED,
        CALL_ERROR_INVALID_STATE,
        CALL_ERROR_NO_SUCH_JOB,
        CALL_ERROR_EMPTY,
        CALL_ERROR_TOO_MANY_JOBS,
        CALL_ERROR_TOO_MANY_FILES,
        CALL_ERROR_UNSUPPORTED_PROTOCOL,
        CALL_ERROR_INVALID_PATH,
        CALL_ERROR_STRING_TOO_LONG,
        CALL_ERROR_COMPLETE_FAILED,
        CALL_ERROR_LIMITS_EXCEEDED,     /* a configured limit on the size of an input */
        CALL_ERROR_IO,                  /* the job store could not save the change */
        CALL_ERROR_INTERNAL,
        _CALL_ERROR_MAX,
} CallErrorKind;

typedef struct CallError {
        CallErrorKind kind;
        char message[768];
} CallError;

/* Fills *e (when not NULL) and returns `r` (a negative errno), for `return call_error_set(…)`.
 * The message goes to the caller as it is, so it is made safe here: URLs in it lose their
 * credentials, and it is valid UTF-8 without control characters, cut between characters. */
int call_error_set(CallError *e, int r, CallErrorKind kind, const char *format, ...) _printf_(4, 5);
int call_error_setv(CallError *e, int r, CallErrorKind kind, const char *format, va_list ap) _printf_(4, 0);
