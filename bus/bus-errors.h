/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "call-error.h"
#include "error-name.h"
#include "names.h"

/* Room for the prefix and the longest name of the table. */
#define XFERD_ERROR_NAME_MAX 64

/* "org.xferd.Transfer1.Error.LocalFile" for ERROR_NAME_LOCAL_FILE: built from the one table of
 * names (error-name.c); "" for a value out of range. */
const char *bus_error_name(ErrorName e);

/* Registers the contract's error names with sd-bus, so errno and names convert both ways. */
int bus_errors_register(void);

/* A caller's string for an error message that names it: at most BUS_ERROR_QUOTE_INPUT bytes
 * of it, as safe text (see safe-text.h), "…" where it was cut. Returns buf. */
#define BUS_ERROR_QUOTE_INPUT 64
#define BUS_ERROR_QUOTE_SIZE (BUS_ERROR_QUOTE_INPUT * 3 + sizeof "…")
const char *bus_error_quote(char buf[static BUS_ERROR_QUOTE_SIZE], const char *s);

/* Turns a failed daemon call into the reply's error. `r` is the call's negative errno. */
int bus_error_from_call(sd_bus_error *error, int r, const CallError *e);
