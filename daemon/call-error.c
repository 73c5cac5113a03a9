/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "call-error.h"
#include "safe-text.h"

int call_error_setv(CallError *e, int r, CallErrorKind kind, const char *format, va_list ap) {
        char raw[sizeof e->message];

        assert(format);

        if (e) {
                e->kind = kind;
                vsnprintf(raw, sizeof raw, format, ap);
                safe_message_copy(e->message, sizeof e->message, raw);
        }
        return r < 0 ? r : -EINVAL;
}

int call_error_set(CallError *e, int r, CallErrorKind kind, const char *format, ...) {
        va_list ap;

        assert(format);

        va_start(ap, format);
        r = call_error_setv(e, r, kind, format, ap);
        va_end(ap);
        return r;
}
