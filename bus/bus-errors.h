/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "call-error.h"

#define XFERD_ERROR_PREFIX "org.xferd.Transfer1.Error."
#define XFERD_ERROR_INVALID_STATE XFERD_ERROR_PREFIX "InvalidState"
#define XFERD_ERROR_NO_SUCH_JOB XFERD_ERROR_PREFIX "NoSuchJob"
#define XFERD_ERROR_EMPTY XFERD_ERROR_PREFIX "Empty"
#define XFERD_ERROR_TOO_MANY_JOBS XFERD_ERROR_PREFIX "TooManyJobs"
#define XFERD_ERROR_TOO_MANY_FILES XFERD_ERROR_PREFIX "TooManyFiles"
#define XFERD_ERROR_UNSUPPORTED_PROTOCOL XFERD_ERROR_PREFIX "UnsupportedProtocol"
#define XFERD_ERROR_INVALID_PATH XFERD_ERROR_PREFIX "InvalidPath"
#define XFERD_ERROR_STRING_TOO_LONG XFERD_ERROR_PREFIX "StringTooLong"
#define XFERD_ERROR_COMPLETE_FAILED XFERD_ERROR_PREFIX "CompleteFailed"

/* Registers the contract's error names with sd-bus, so errno and names convert both ways. */
int bus_errors_register(void);

/* A caller's string for an error message that names it: at most BUS_ERROR_QUOTE_INPUT bytes
 * of it, as safe text (see safe-text.h), "…" where it was cut. Returns buf. */
#define BUS_ERROR_QUOTE_INPUT 64
#define BUS_ERROR_QUOTE_SIZE (BUS_ERROR_QUOTE_INPUT * 3 + sizeof "…")
const char *bus_error_quote(char buf[static BUS_ERROR_QUOTE_SIZE], const char *s);

/* Turns a failed daemon call into the reply's error. `r` is the call's negative errno. */
int bus_error_from_call(sd_bus_error *error, int r, const CallError *e);
