/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "call-error.h"

int call_error_set(CallError *e, int r, CallErrorKind kind, const char *format, ...) {
        va_list ap;

        assert(format);

        if (e) {
                e->kind = kind;
                va_start(ap, format);
                vsnprintf(e->message, sizeof e->message, format, ap);
                va_end(ap);
        }
        return r < 0 ? r : -EINVAL;
}
