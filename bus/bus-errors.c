/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"
#include "safe-text.h"
#include "util.h"

static const sd_bus_error_map xferd_errors[] = {
        SD_BUS_ERROR_MAP(XFERD_ERROR_INVALID_STATE, ESTALE),
        SD_BUS_ERROR_MAP(XFERD_ERROR_NO_SUCH_JOB, ENOENT),
        SD_BUS_ERROR_MAP(XFERD_ERROR_EMPTY, ENODATA),
        SD_BUS_ERROR_MAP(XFERD_ERROR_TOO_MANY_JOBS, EUSERS),
        SD_BUS_ERROR_MAP(XFERD_ERROR_TOO_MANY_FILES, E2BIG),
        SD_BUS_ERROR_MAP(XFERD_ERROR_UNSUPPORTED_PROTOCOL, EPROTONOSUPPORT),
        SD_BUS_ERROR_MAP(XFERD_ERROR_INVALID_PATH, ENOTDIR),
        SD_BUS_ERROR_MAP(XFERD_ERROR_STRING_TOO_LONG, ENAMETOOLONG),
        SD_BUS_ERROR_MAP(XFERD_ERROR_COMPLETE_FAILED, EIO),
        SD_BUS_ERROR_MAP_END
};

const char *bus_error_quote(char buf[static BUS_ERROR_QUOTE_SIZE], const char *s) {
        char head[BUS_ERROR_QUOTE_INPUT + 1];
        size_t n;

        assert(buf);
        assert(s);

        /* At most BUS_ERROR_QUOTE_INPUT bytes of s, cut between characters; each byte may
         * become the 3 bytes of U+FFFD, and "…" marks the cut. */
        n = strnlen(s, BUS_ERROR_QUOTE_INPUT + 1);
        if (n <= BUS_ERROR_QUOTE_INPUT)
                return safe_text_copy(buf, BUS_ERROR_QUOTE_SIZE, s);
        memcpy(head, s, BUS_ERROR_QUOTE_INPUT);
        head[BUS_ERROR_QUOTE_INPUT] = 0;
        utf8_trim_partial(head);
        safe_text_copy(buf, BUS_ERROR_QUOTE_SIZE - strlen("…"), head);
        strcat(buf, "…");
        return buf;
}

int bus_errors_register(void) {
        return sd_bus_error_add_map(xferd_errors);
}

static const char *const kind_names[_CALL_ERROR_MAX] = {
        [CALL_ERROR_INVALID_ARGS] = SD_BUS_ERROR_INVALID_ARGS,
        [CALL_ERROR_ACCESS_DENIED] = SD_BUS_ERROR_ACCESS_DENIED,
        [CALL_ERROR_INVALID_STATE] = XFERD_ERROR_INVALID_STATE,
        [CALL_ERROR_NO_SUCH_JOB] = XFERD_ERROR_NO_SUCH_JOB,
        [CALL_ERROR_EMPTY] = XFERD_ERROR_EMPTY,
        [CALL_ERROR_TOO_MANY_JOBS] = XFERD_ERROR_TOO_MANY_JOBS,
        [CALL_ERROR_TOO_MANY_FILES] = XFERD_ERROR_TOO_MANY_FILES,
        [CALL_ERROR_UNSUPPORTED_PROTOCOL] = XFERD_ERROR_UNSUPPORTED_PROTOCOL,
        [CALL_ERROR_INVALID_PATH] = XFERD_ERROR_INVALID_PATH,
        [CALL_ERROR_STRING_TOO_LONG] = XFERD_ERROR_STRING_TOO_LONG,
        [CALL_ERROR_COMPLETE_FAILED] = XFERD_ERROR_COMPLETE_FAILED,
        [CALL_ERROR_LIMITS_EXCEEDED] = SD_BUS_ERROR_LIMITS_EXCEEDED,
        [CALL_ERROR_IO] = SD_BUS_ERROR_IO_ERROR,
        [CALL_ERROR_INTERNAL] = SD_BUS_ERROR_FAILED,
};

int bus_error_from_call(sd_bus_error *error, int r, const CallError *e) {
        if (e && e->kind > CALL_ERROR_NONE && e->kind < _CALL_ERROR_MAX && kind_names[e->kind]) {
                /* sd-bus drops a reply whose text is not valid UTF-8: the caller would get a
                 * bare "Invalid argument" instead. call_error_set() made it so; this holds
                 * whatever filled *e. */
                char message[sizeof e->message];
                return sd_bus_error_set(error, kind_names[e->kind], safe_text_copy(message, sizeof message, e->message));
        }
        if (r == -ENOMEM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
        return sd_bus_error_set_errnof(error, r, "Internal error: %s", strerror(r < 0 ? -r : r));
}
