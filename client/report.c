/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exit-status.h"
#include "report.h"
#include "text.h"

static void report_vprintf(const char *fmt, va_list ap, const char *why) _printf_(1, 0);

static void report_vprintf(const char *fmt, va_list ap, const char *why) {
        /* One buffered line, so messages from several processes do not interleave mid-line. */
        char line[4096];
        int n;

        n = vsnprintf(line, sizeof line, fmt, ap);
        if (n < 0)
                line[0] = 0;

        if (why) {
                /* The why comes from the daemon or the network: keep control characters off
                 * the terminal. */
                _cleanup_free_ char *safe = text_sanitize(why);
                fprintf(stderr, "xferctl: %s: %s\n", line, safe ? safe : why);
        } else
                fprintf(stderr, "xferctl: %s\n", line);
}

int report_error(int r, const char *fmt, ...) {
        va_list ap;

        assert(fmt);

        va_start(ap, fmt);
        report_vprintf(fmt, ap, NULL);
        va_end(ap);
        return r < 0 ? r : -EIO;
}

int report_reason(int r, const char *why, const char *fmt, ...) {
        va_list ap;

        assert(fmt);

        va_start(ap, fmt);
        report_vprintf(fmt, ap, isempty(why) ? "no reason given" : why);
        va_end(ap);
        return r < 0 ? r : -EIO;
}

void report_note(const char *fmt, ...) {
        va_list ap;

        assert(fmt);

        va_start(ap, fmt);
        report_vprintf(fmt, ap, NULL);
        va_end(ap);
}

const char *bus_error_text(const sd_bus_error *error, int r) {
        if (error && !isempty(error->message))
                return error->message;
        if (error && !isempty(error->name))
                return error->name;
        return strerror(r < 0 ? -r : r);
}

bool bus_error_is_unreachable(const sd_bus_error *error, int r) {
        static const char *const names[] = {
                "org.freedesktop.DBus.Error.ServiceUnknown",    /* not activatable */
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.DBus.Error.NoServer",
                "org.freedesktop.DBus.Error.Disconnected",
        };

        if (error && sd_bus_error_is_set(error)) {
                /* Activation failed: the daemon did not start or died while starting. */
                if (strncmp(error->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0)
                        return true;
                return string_table_lookup(names, ELEMENTSOF(names), error->name) >= 0;
        }
        /* Without an error message the connection itself broke. */
        return r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED || r == -EHOSTDOWN;
}

int report_bus_error(const sd_bus_error *error, int r, const char *fmt, ...) {
        va_list ap;

        assert(fmt);

        if (r >= 0)
                r = -EIO;

        va_start(ap, fmt);
        report_vprintf(fmt, ap, bus_error_text(error, r));
        va_end(ap);
        return bus_error_is_unreachable(error, r) ? -EHOSTDOWN : r;
}

int exit_status_from_errno(int r) {
        return r == -EHOSTDOWN ? EXIT_UNREACHABLE : EXIT_FAILURE;
}
