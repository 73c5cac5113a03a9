/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "names.h"
#include "util.h"

unsigned failure_http_status(const char *summary) {
        char *end;
        unsigned long s;

        if (!summary || strncmp(summary, "HTTP ", 5) != 0)
                return 0;
        s = strtoul(summary + 5, &end, 10);
        if (end == summary + 5 || s < 100 || s > 999)
                return 0;
        return (unsigned) s;
}

static void set(Failure *f, const char *reason, bool transient) {
        snprintf(f->reason, sizeof f->reason, "%s", reason);
        f->transient = transient;
}

void failure_from_xferd(const char *error_name, const char *summary, Failure *ret) {
        const char *name = strempty(error_name);

        assert(ret);

        if (strncmp(name, XFERD_ERROR_PREFIX, strlen(XFERD_ERROR_PREFIX)) == 0)
                name += strlen(XFERD_ERROR_PREFIX);
        *ret = (Failure) { .kind = FAILURE_FAIL };

        if (streq(name, "Http")) {
                unsigned status = failure_http_status(summary);

                if (status == 304) {
                        ret->kind = FAILURE_NOT_MODIFIED;
                        return;
                }
                if (status == 0) {
                        set(ret, "HttpError", false);
                        return;
                }
                /* As apt's http method: HttpError<code>; a server error or an overload may pass. */
                snprintf(ret->reason, sizeof ret->reason, "HttpError%u", status);
                ret->transient = status >= 500 || status == 408 || status == 429;
        } else if (streq(name, "Network"))
                set(ret, "ConnectionFailed", true);
        else if (streq(name, "Timeout") || streq(name, "NoProgress"))
                set(ret, "Timeout", true);
        else if (streq(name, "Tls"))
                set(ret, "TLSError", false);
        else if (streq(name, "TooManyRedirects"))
                set(ret, "RedirectionLoop", false);
        else if (streq(name, "Integrity"))
                set(ret, "HashSumMismatch", false);
        else if (isempty(name))
                set(ret, "XferdError", false);
        else {
                /* UnsupportedProtocol, LocalFile, CompleteFailed and whatever comes later. */
                snprintf(ret->reason, sizeof ret->reason, "Xferd%s", name);
                ret->transient = false;
        }
}

bool failure_is_unavailable(const char *dbus_error_name) {
        static const char *const names[] = {
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.DBus.Error.NoReply",
                "org.freedesktop.DBus.Error.Timeout",
                "org.freedesktop.DBus.Error.TimedOut",
                "org.freedesktop.DBus.Error.NoServer",
                "org.freedesktop.DBus.Error.Disconnected",
                "org.freedesktop.DBus.Error.Spawn.ChildExited",
                "org.freedesktop.DBus.Error.Spawn.ChildSignaled",
                "org.freedesktop.DBus.Error.Spawn.ExecFailed",
                "org.freedesktop.DBus.Error.Spawn.Failed",
                "org.freedesktop.DBus.Error.Spawn.ServiceNotValid",
                "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
                "org.freedesktop.DBus.Error.Spawn.PermissionsInvalid",
                "org.freedesktop.DBus.Error.Spawn.FileInvalid",
                "org.freedesktop.DBus.Error.Spawn.NoMemory",
                "org.freedesktop.DBus.Error.Spawn.Setup",
                "org.freedesktop.DBus.Error.Spawn.ConfigInvalid",
                "org.freedesktop.systemd1.NoSuchUnit",
                "org.freedesktop.systemd1.UnitMasked",
        };

        return string_table_lookup(names, ELEMENTSOF(names), dbus_error_name) >= 0;
}
