/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Messages for the user on stderr, all in the form "xferctl: <what failed>: <why>". */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "util.h"

/* Prints "xferctl: <what>" and returns r (-EIO if r was not negative), so callers can write
 * "return report_error(r, ...)". */
int report_error(int r, const char *fmt, ...) _printf_(2, 3);

/* Prints "xferctl: <what>: <why>", the why taken from the D-Bus error when it has a message,
 * else from errno r. Returns r (always negative; -EIO if r was not), or -EHOSTDOWN when the
 * error says that xferd or the bus cannot be reached (exit status EXIT_UNREACHABLE). */
int report_bus_error(const sd_bus_error *error, int r, const char *fmt, ...) _printf_(3, 4);

/* Prints "xferctl: <what>: <why>" for a reason that is already text (e.g. a job's
 * ErrorMessage); the why is sanitized. Returns r (-EIO if r was not negative). */
int report_reason(int r, const char *why, const char *fmt, ...) _printf_(3, 4);

/* "xferctl: <text>" without any error code; for notes the user should see on stderr. */
void report_note(const char *fmt, ...) _printf_(1, 2);

/* Whether a failed call means that xferd cannot be reached: not running and not
 * activatable, failed to start, or the bus connection is gone. */
bool bus_error_is_unreachable(const sd_bus_error *error, int r);

/* The message of a D-Bus error or of errno r, never NULL. */
const char *bus_error_text(const sd_bus_error *error, int r);
